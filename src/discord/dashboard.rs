//! The dashboard's Discord side: `/dashboard` hands a support-role member
//! an ephemeral one-time login link for their guild, and `DiscordNotifier`
//! tells Discord what a staff action taken on the dashboard did, the same
//! messages the slash command would send.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use poise::serenity_prelude as serenity;
use tracing::{info, warn};

use super::route::Conv;
use super::{blocking, render, transcripts, Context, Error};
use crate::archive::Principal;
use crate::config::Config;
use crate::dashboard::{auth, Notifier};
use crate::engine::{Matching, Output};
use crate::tickets::{Store, Ticket, UserId};

async fn support_role(ctx: Context<'_>) -> Result<bool, Error> {
    let member = match ctx {
        poise::Context::Application(a) => a.interaction.member.as_deref(),
        poise::Context::Prefix(_) => None,
    };
    Ok(ctx.data().is_staff(ctx.guild_id(), member))
}

/// A one-time login link to the staff dashboard (only you see it; it works once, for 10 minutes).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_THREADS",
    check = "support_role",
    ephemeral
)]
pub(super) async fn dashboard(ctx: Context<'_>) -> Result<(), Error> {
    let data = ctx.data();
    let Some(dash) = data.config().dashboard.clone() else {
        return Err(Error::user(
            "The dashboard is not set up: add a `dashboard:` section (listen, public_url) to the bot's config file.",
        ));
    };
    let guild = ctx.guild_id().ok_or_else(|| {
        Error::user("Run /dashboard in the server whose tickets you want to see.")
    })?;
    let who = Principal {
        user: UserId::new(ctx.author().id.to_string()),
        guild: Some(guild.to_string()),
    };
    let core = data.slot().core;
    let token = blocking(move || {
        let archive = core
            .store
            .archive()
            .ok_or_else(|| anyhow::anyhow!("the store keeps no dashboard logins"))?;
        Ok::<_, anyhow::Error>(auth::issue_login(archive, &who, core.clock.now())?)
    })
    .await??;
    info!(user = %ctx.author().id, "dashboard login link issued");
    let url = auth::login_url(&dash.public_url, &token);
    // In angle brackets: Discord then fetches no preview of the link, which
    // would use up the single-use token before the member clicks it.
    ctx.send(render::ephemeral(&format!(
        "Your dashboard login link (works once, for 10 minutes; don't share it):\n<{url}>"
    )))
    .await?;
    Ok(())
}

/// Posts what a dashboard staff action did in the ticket's thread, and on
/// close the summary with the transcript to the staff channel.
pub struct DiscordNotifier {
    /// A REST client of its own (`build_http`), so the dashboard does not
    /// need the gateway.
    pub http: Arc<serenity::Http>,
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub matcher: Arc<dyn Matching>,
}

impl Notifier for DiscordNotifier {
    fn staff_action<'a>(
        &'a self,
        ticket: &'a Ticket,
        outputs: &'a [Output],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let store = self.store.clone();
            let id = ticket.id;
            let places = blocking(move || store.archive().map(|a| a.places_of(id)))
                .await
                .map_err(|e| e.to_string())?
                .transpose()
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            // The thread the ticket was handed off in, else its forum post.
            let here = places
                .iter()
                .find(|p| **p != ticket.place)
                .or(places.first())
                .and_then(|p| p.as_str().parse::<u64>().ok());
            match here {
                Some(channel) => {
                    let conv = Conv {
                        place: channel,
                        user: ticket.customer.as_str().parse().unwrap_or(0),
                    };
                    for m in render::outputs(outputs, conv) {
                        serenity::ChannelId::new(channel)
                            .send_message(&self.http, m.channel())
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                None => {
                    warn!(ticket = %ticket.id, "no Discord place to tell about a dashboard action")
                }
            }
            transcripts::after_staff_action(
                &self.http,
                &self.config,
                self.store.clone(),
                self.matcher.clone(),
                outputs,
            )
            .await;
            Ok(())
        })
    }
}
