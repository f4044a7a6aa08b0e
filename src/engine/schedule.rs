//! The timer scheduler: finds due timer rows and fires each in one store
//! transaction that claims the row (pending → done), applies its action and
//! stores the messages to post as the reply of the input `timer:<id>`.
//! Posting is the front end's part: it posts `Fired::outputs`, then marks
//! the input delivered. A process that dies between commit and post finds
//! the reply again with `unposted` at startup; one that dies after posting
//! but before marking posts it again with the same idempotency key
//! (`Fired::id`), which a front end must use to make the repost a no-op
//! (Discord: the message nonce with `enforce_nonce`).
//!
//! Missed deadlines (the process was down) are simply due at startup: the
//! first pass fires each once. Several pollers may run against one shared
//! database; see `tickets::lifecycle` for why a timer fires once.

use serde::Serialize;
use time::OffsetDateTime;

use super::lifecycle::{self, describe, key_of, note, NoteKind, Policy, BOT};
use super::{Clock, Engine, EngineError, Output};
use crate::tickets::{
    Applied, ConversationKey, InputId, InputMeta, Place, Store, StoreError, Timer, TimerKind, Tx,
    UserId,
};

/// What the front end posts for one fired timer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fired {
    /// `timer:<id>`: mark it delivered once posted; use it as the
    /// idempotency key of the post.
    pub id: InputId,
    /// The customer's conversation.
    pub key: ConversationKey,
    /// Where to post (the ticket's thread).
    pub place: Place,
    pub outputs: Vec<Output>,
    /// Fired before (a restart): posting it may be a repeat.
    pub repeat: bool,
}

/// The input id of a timer's firing.
pub fn timer_input(id: crate::tickets::TimerId) -> InputId {
    InputId::new(format!("timer:{}", id.0))
}

impl Engine {
    /// Fires every timer due now (at most `limit`), oldest first, as the
    /// poller `poller` (any id unique to this process). Returns what to
    /// post; timers that fire into nothing (the ticket closed meanwhile)
    /// and timers another poller fired are left out.
    pub fn fire_due(&self, poller: &str, limit: usize) -> Result<Vec<Fired>, EngineError> {
        fire_due(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.lifecycle,
            poller,
            limit,
        )
    }

    /// Timer firings committed but never marked delivered (the process
    /// stopped in between), oldest first, within `within` of now.
    pub fn unposted(&self, within: time::Duration) -> Result<Vec<Fired>, EngineError> {
        unposted(self.store.as_ref(), self.clock.as_ref(), within)
    }
}

/// `Engine::fire_due` without an engine (no knowledge base needed).
pub fn fire_due(
    store: &dyn Store,
    clock: &dyn Clock,
    policy: &Policy,
    poller: &str,
    limit: usize,
) -> Result<Vec<Fired>, EngineError> {
    let now = clock.now();
    let mut out = Vec::new();
    for t in store.due_timers(now, limit)? {
        if let Some(f) = fire(store, clock, policy, &t, poller)? {
            out.push(f);
        }
    }
    Ok(out)
}

/// Fires one timer (if still pending and due).
pub fn fire(
    store: &dyn Store,
    clock: &dyn Clock,
    policy: &Policy,
    timer: &Timer,
    poller: &str,
) -> Result<Option<Fired>, EngineError> {
    {
        let now = clock.now();
        let Some(t) = store.ticket(timer.ticket)? else {
            return Ok(None);
        };
        let key = key_of(&t);
        let place = store.place_of(t.id)?.unwrap_or_else(|| t.place.clone());
        let id = timer_input(timer.id);
        let bot = UserId::new(BOT);
        let meta = InputMeta {
            id: &id,
            key: Some(&key),
            author: &bot,
            at: now,
            origin: Some(&place),
        };
        let mut run = |tx: &mut dyn Tx| -> Result<String, StoreError> {
            let out = act(tx, policy, timer, poller, now)?;
            Ok(serde_json::to_string(&out)?)
        };
        // A duplicate was fired by another poller (which posts it) or by
        // this process before a restart (`unposted` lists it): not ours.
        let json = match store.apply(&meta, &mut run)? {
            Applied::Fresh(s) => s,
            Applied::Duplicate { .. } => return Ok(None),
        };
        let outputs: Vec<Output> = serde_json::from_str(&json).map_err(StoreError::Encode)?;
        if outputs.is_empty() {
            // Nothing to post: count it delivered so it is never listed.
            store.mark_delivered(&id, now)?;
            return Ok(None);
        }
        Ok(Some(Fired {
            id,
            key,
            place,
            outputs,
            repeat: false,
        }))
    }
}

/// `Engine::unposted` without an engine.
pub fn unposted(
    store: &dyn Store,
    clock: &dyn Clock,
    within: time::Duration,
) -> Result<Vec<Fired>, EngineError> {
    let since = clock.now() - within;
    let mut out = Vec::new();
    for u in store.undelivered(since)? {
        if !u.id.as_str().starts_with("timer:") {
            continue;
        }
        let (Some(key), outputs) = (
            u.key,
            serde_json::from_str::<Vec<Output>>(&u.reply).map_err(StoreError::Encode)?,
        ) else {
            continue;
        };
        out.push(Fired {
            place: u.origin.unwrap_or_else(|| key.place.clone()),
            key,
            id: u.id,
            outputs,
            repeat: true,
        });
    }
    Ok(out)
}

/// The timer's action, inside the claiming transaction.
fn act(
    tx: &mut dyn Tx,
    policy: &lifecycle::Policy,
    timer: &Timer,
    poller: &str,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    if tx.claim_timer(timer.id, poller, now)?.is_none() {
        return Ok(Vec::new());
    }
    let Some(t) = tx.ticket(timer.ticket)? else {
        return Ok(Vec::new());
    };
    let life = tx.lifecycle(t.id)?;
    if t.status == crate::tickets::TicketStatus::Closed {
        return Ok(Vec::new());
    }
    let bot = UserId::new(BOT);
    tracing::info!(ticket.id = %t.id, timer = timer.id.0, kind = timer.kind.as_str(), "timer fired");
    match timer.kind {
        TimerKind::StalePing => {
            if life.hold {
                return Ok(Vec::new());
            }
            lifecycle::event(tx, &t, &bot, "stale_ping", serde_json::json!({}), now)?;
            let mut n = note(
                &t,
                NoteKind::StalePing,
                format!(
                    "Are you still there? Ticket {} is waiting for your reply.",
                    t.id
                ),
            );
            n.ping_customer = true;
            if let Some(after) = policy.auto_close_after {
                let due = now + after;
                tx.add_timer(t.id, TimerKind::AutoClose, due, now)?;
                n.text
                    .push_str(" Without one it closes automatically {when}.");
                n.when = Some(due);
                n.when_text = describe(policy, due);
            }
            Ok(vec![Output::Ticket(n)])
        }
        TimerKind::AutoClose => {
            if life.hold {
                return Ok(Vec::new());
            }
            lifecycle::close(tx, &t, &bot, Some("no reply".into()), now)
        }
        TimerKind::CloseRequest => {
            let Some(req) = life.close_request else {
                return Ok(Vec::new());
            };
            let reason = req
                .reason
                .unwrap_or_else(|| "no answer to the close request".into());
            lifecycle::close(tx, &t, &bot, Some(reason), now)
        }
        TimerKind::StaffPing => {
            lifecycle::event(tx, &t, &bot, "staff_pinged", serde_json::json!({}), now)?;
            let mut n = note(
                &t,
                NoteKind::StaffPing,
                format!(
                    "Support is open: ticket {} has been waiting since it was filed outside hours.",
                    t.id
                ),
            );
            n.ping_staff = true;
            Ok(vec![Output::Ticket(n)])
        }
    }
}
