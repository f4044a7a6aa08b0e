//! Which guild an event belongs to and what it may see there: the
//! settings of the guild it came from, the guild recorded for each
//! conversation place (before its first input is applied), and the checks
//! that keep one guild's staff off another guild's tickets and buttons.
//! Events from a guild the config does not serve are dropped at dispatch.

use std::sync::PoisonError;

use poise::serenity_prelude as serenity;
use tracing::info;

use super::{blocking, Data, Error};
use crate::config::GuildSettings;

impl Data {
    /// The settings of the guild an event came from; `None` outside a
    /// guild or in a guild the bot does not serve.
    pub(crate) fn settings(&self, guild: Option<serenity::GuildId>) -> Option<&GuildSettings> {
        guild.and_then(|g| self.config.guild(g.get()))
    }

    /// Whether events from `guild` are handled: outside a guild (DMs) or
    /// in a guild served. Logs the first event of each stranger guild.
    pub(crate) fn serves(&self, guild: Option<serenity::GuildId>) -> bool {
        let Some(g) = guild else { return true };
        if self.config.guild(g.get()).is_some() {
            return true;
        }
        let mut seen = self
            .strangers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if seen.insert(g.get()) {
            info!(guild = %g, "an event from a guild not in the config; ignoring this guild's events");
        }
        false
    }

    /// The guild a conversation place (channel, thread) belongs to, as
    /// recorded when its first input arrived.
    pub(crate) async fn guild_of_place(&self, place: u64) -> Result<Option<u64>, Error> {
        let store = self.slot().core.store;
        let place = crate::engine::Place::new(place.to_string());
        let g =
            blocking(move || store.archive().map(|a| a.place_guild(&place)).transpose()).await??;
        Ok(g.flatten().and_then(|g| g.parse().ok()))
    }

    /// The settings of the guild a conversation place belongs to: the
    /// single guild's in the single-guild form; else the recorded guild's.
    pub(crate) async fn settings_at(&self, place: u64) -> Result<Option<&GuildSettings>, Error> {
        if let crate::config::Guilds::One { settings, .. } = &self.config.guilds {
            return Ok(Some(settings));
        }
        Ok(self
            .guild_of_place(place)
            .await?
            .and_then(|g| self.config.guild(g)))
    }

    /// Records the guild of a conversation place before its input is
    /// applied, so its tickets are scoped to that guild.
    pub(crate) async fn note_guild(
        &self,
        place: u64,
        guild: serenity::GuildId,
    ) -> Result<(), Error> {
        let store = self.slot().core.store;
        let place = crate::engine::Place::new(place.to_string());
        let g = guild.to_string();
        blocking(move || match store.archive() {
            Some(a) => a.note_place_guild(&place, &g),
            None => Ok(()),
        })
        .await??;
        Ok(())
    }

    /// Whether a conversation place named by a button belongs to the guild
    /// it was clicked in: its recorded guild, or (not recorded yet) the
    /// channel clicked in itself. Always in the single-guild form.
    pub(crate) async fn place_in_guild(
        &self,
        place: u64,
        clicked_in: u64,
        guild: Option<serenity::GuildId>,
    ) -> Result<bool, Error> {
        if let crate::config::Guilds::One { .. } = &self.config.guilds {
            return Ok(true);
        }
        let Some(guild) = guild else { return Ok(false) };
        Ok(match self.guild_of_place(place).await? {
            Some(g) => g == guild.get(),
            None => place == clicked_in,
        })
    }

    /// Whether `ticket` belongs to `guild`: refuses a ticket of another
    /// guild, and (with `guilds:`) one whose guild is unknown.
    pub(crate) async fn ticket_in_guild(
        &self,
        ticket: crate::engine::TicketId,
        guild: Option<serenity::GuildId>,
    ) -> Result<bool, Error> {
        let Some(guild) = guild else { return Ok(false) };
        let store = self.slot().core.store;
        let found = blocking(
            move || -> Result<Option<String>, crate::engine::StoreError> {
                let Some(t) = store.ticket(ticket)? else {
                    return Ok(None);
                };
                Ok(match store.archive() {
                    Some(a) => a.ticket_guild(&t)?,
                    None => None,
                })
            },
        )
        .await??;
        Ok(match found {
            Some(g) => g == guild.to_string(),
            // Tickets from before guilds were recorded: the single guild's.
            None => matches!(self.config.guilds, crate::config::Guilds::One { .. }),
        })
    }
}

/// The guild an event came from, for the events the bot handles.
pub(super) fn event_guild(event: &serenity::FullEvent) -> Option<serenity::GuildId> {
    use serenity::{FullEvent as E, Interaction as I};
    match event {
        E::InteractionCreate { interaction } => match interaction {
            I::Command(c) | I::Autocomplete(c) => c.guild_id,
            I::Component(c) => c.guild_id,
            I::Modal(m) => m.guild_id,
            _ => None,
        },
        E::Message { new_message } => new_message.guild_id,
        E::MessageUpdate { event, .. } => event.guild_id,
        E::MessageDelete { guild_id, .. } => *guild_id,
        _ => None,
    }
}
