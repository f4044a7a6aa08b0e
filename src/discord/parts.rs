//! Exactly-once posting of a reply's parts. Each part has a stable name
//! (`here:0`, `greeting`, `thread:1`, `summary:7`, `staff:7`) and is sent
//! with a `nonce` derived from the reply's input id and that name, with
//! `enforce_nonce`, so Discord returns the first message instead of posting
//! a retried one twice; once out it is recorded, and a resumed reply skips
//! it. `via` records how an interaction can still be answered (its token and
//! whether its answer was private) before the input is applied.

use poise::serenity_prelude as serenity;
use serde::{Deserialize, Serialize};
use serenity::ChannelId;

use super::render::Message;
use super::{blocking, Data, Error};
use crate::engine::{InputId, Progress};

/// The part naming how an interaction is answered (see `Via`).
pub(crate) const VIA: &str = "via";

/// How to answer an interaction later, recorded before its input is
/// applied: a reply that never got out is then sent as a follow-up with
/// this token while it is valid, privately when the answer was private.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Via {
    pub token: String,
    pub ephemeral: bool,
}

/// Interaction tokens are valid this long.
pub(crate) const TOKEN_LIFETIME: time::Duration = time::Duration::minutes(15);

/// The reply being delivered and what of it went out.
pub(crate) struct Sent {
    id: InputId,
    progress: Progress,
}

impl Sent {
    pub(crate) async fn load(data: &Data, id: InputId) -> Result<Sent, Error> {
        let engine = data.engine();
        let key = id.clone();
        let progress = blocking(move || engine.progress(&key)).await??;
        Ok(Sent { id, progress })
    }

    pub(crate) fn is_done(&self, part: &str) -> bool {
        self.progress.is_done(part)
    }

    pub(crate) fn detail(&self, part: &str) -> Option<&str> {
        self.progress.detail(part)
    }

    /// Records that `part` went out.
    pub(crate) async fn record(
        &mut self,
        data: &Data,
        part: &str,
        detail: Option<String>,
    ) -> Result<(), Error> {
        let engine = data.engine();
        let (id, name, d) = (self.id.clone(), part.to_owned(), detail.clone());
        blocking(move || engine.mark_part(&id, &name, d.as_deref())).await??;
        self.progress.note(part, detail);
        Ok(())
    }

    /// How the input can be answered later, if it was an interaction.
    pub(crate) fn via(&self) -> Option<Via> {
        serde_json::from_str(self.detail(VIA)?).ok()
    }

    /// Posts `m` in `channel` as part `part`, unless it went out already;
    /// the first part of an answer may reply to `reference` (pinging its
    /// author when the flag says so). Returns the message when one was
    /// posted now.
    pub(crate) async fn post(
        &mut self,
        ctx: &serenity::Context,
        data: &Data,
        channel: ChannelId,
        part: &str,
        m: &Message,
        reference: Option<(&serenity::Message, bool)>,
    ) -> Result<Option<serenity::Message>, Error> {
        if self.is_done(part) {
            return Ok(None);
        }
        let mut out = m
            .channel()
            .nonce(serenity::Nonce::String(nonce(self.id.as_str(), part)))
            .enforce_nonce(true);
        if let Some((r, ping)) = reference {
            out = out.reference_message(r);
            if ping {
                out = out.allowed_mentions(m.allowed_mentions().replied_user(true));
            }
        }
        let posted = channel.send_message(ctx, out).await?;
        self.record(data, part, Some(posted.id.to_string())).await?;
        Ok(Some(posted))
    }
}

/// Records `via` for input `id` before it is applied.
pub(crate) async fn record_via(data: &Data, id: &InputId, via: &Via) -> Result<(), Error> {
    let engine = data.engine();
    let (id, detail) = (
        id.clone(),
        serde_json::to_string(via).map_err(anyhow::Error::from)?,
    );
    blocking(move || engine.mark_part(&id, VIA, Some(&detail))).await??;
    Ok(())
}

/// The nonce of part `part` of the reply to `input`: the same on every
/// attempt and after a restart, different for every part; at most 25
/// characters, as Discord allows. FNV-1a, 64 bits: stable across builds.
pub(crate) fn nonce(input: &str, part: &str) -> String {
    let h = crate::fnv::fnv1a64(input.bytes().chain([0u8]).chain(part.bytes()));
    format!("t{h:016x}")
}

/// When a Discord id (snowflake) was made, if `id` is one.
pub(crate) fn snowflake_time(id: &str) -> Option<time::OffsetDateTime> {
    let n: u64 = id.parse().ok()?;
    let ms = (n >> 22) + 1_420_070_400_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_stable_short_and_distinct_per_part() {
        let a = nonce("1310000000000000000", "here:0");
        assert_eq!(a, nonce("1310000000000000000", "here:0"));
        assert!(a.len() <= 25);
        assert_ne!(a, nonce("1310000000000000000", "here:1"));
        assert_ne!(a, nonce("1310000000000000001", "here:0"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(nonce("ab", "c"), nonce("a", "bc"));
    }

    #[test]
    fn snowflakes_tell_their_time() {
        // Discord's documented example: 175928847299117063 is 2016-04-30 11:18:25.796 UTC.
        let t = snowflake_time("175928847299117063").unwrap();
        assert_eq!(t.unix_timestamp(), 1_462_015_105);
        assert_eq!(snowflake_time("terminal:bob:1"), None);
    }
}
