//! A ticket's life after filing: stale reminders and auto-close, close
//! requests, hold, the satisfaction survey, support hours at filing, and
//! the first staff reply. Everything is a `TicketInput` applied in one store
//! transaction (timers scheduled or cancelled in the same transaction as
//! the change that makes them), plus hooks that `flow` calls when a ticket
//! is filed, closed or reopened. Timers fire in `schedule`.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::hours::SupportHours;
use super::redact::redact;
use super::{Clock, Engine, EngineError, Output, Reply, TicketUpdate};
use crate::tickets::{
    CloseRequest, ConversationKey, InputId, InputMeta, NewEvent, Store, StoreError, Survey, Ticket,
    TicketId, TicketStatus, TimerKind, Tx, UserId,
};

/// Who the bot is when it acts on its own (a timer closing a ticket).
pub const BOT: &str = "triage";

/// The longest survey comment kept, in characters.
pub const COMMENT_LIMIT: usize = 1000;

/// The lifecycle settings. The default has no stale reminders and no
/// support hours; close requests time out after a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// After this long without a customer message, ping them once.
    pub stale_after: Option<Duration>,
    /// After the ping, this long more without a reply closes the ticket
    /// ("no reply").
    pub auto_close_after: Option<Duration>,
    /// An unanswered close request closes the ticket after this long.
    pub close_request_timeout: Duration,
    pub hours: Option<SupportHours>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            stale_after: None,
            auto_close_after: None,
            close_request_timeout: Duration::hours(24),
            hours: None,
        }
    }
}

/// Something done to a ticket after filing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TicketAction {
    /// A message in the ticket (by the customer: resets the stale clock;
    /// by staff: the first one counts as the first response).
    Message,
    /// Staff ask the customer whether the ticket can be closed.
    RequestClose,
    /// The customer agrees to close.
    AcceptClose,
    /// The customer wants it kept open.
    KeepOpen,
    /// Staff switch stale reminders and auto-close off (`on`) or back on.
    Hold { on: bool },
    /// The customer's survey rating, 1 to 5.
    Rate { stars: u8 },
    /// The customer's survey comment.
    Comment { text: String },
}

/// One input on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketInput {
    /// Unique per delivery; a redelivery changes nothing.
    pub id: InputId,
    pub ticket: TicketId,
    pub author: UserId,
    /// The front end checked that `author` is staff.
    pub staff: bool,
    pub action: TicketAction,
    /// Why (a close request's reason).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A lifecycle message about a ticket, for the customer or staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketNote {
    pub ticket: TicketId,
    pub kind: NoteKind,
    /// The customer's conversation (who to ping, whose buttons).
    pub key: ConversationKey,
    /// The words; `{when}` stands for `when`, which each front end writes
    /// its own way (a Discord timestamp in the reader's zone; the support
    /// zone in a terminal, as `when_text`).
    pub text: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub when: Option<OffsetDateTime>,
    #[serde(default)]
    pub when_text: Option<String>,
    /// Mention the customer.
    pub ping_customer: bool,
    /// Mention the support role.
    pub ping_staff: bool,
    /// Buttons (words in a terminal).
    pub options: Vec<TicketChoice>,
}

impl TicketNote {
    /// The text with `{when}` written by `f`.
    pub fn render_when(&self, f: impl Fn(OffsetDateTime) -> String) -> String {
        match self.when {
            Some(w) => self.text.replace("{when}", &f(w)),
            None => self.text.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// "Are you still there?"
    StalePing,
    /// Close / Keep open.
    CloseRequest,
    /// The request was answered or withdrawn.
    CloseRequestAnswered,
    /// Rate 1-5.
    Survey,
    /// Thanks; optional comment.
    SurveyAnswered,
    /// Filed outside support hours: when a person will be there.
    OutsideHours,
    /// The staff ping of this ticket waits for opening time: front ends
    /// leave the role out of the hand-off.
    StaffPingHeld,
    /// Opening time came: the held staff ping.
    StaffPing,
    /// Hold switched on or off.
    Hold,
}

/// A button of a `TicketNote`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketChoice {
    pub label: String,
    pub action: TicketAction,
}

impl Engine {
    /// Applies one input on a ticket, committed before it returns; a
    /// redelivered id changes nothing (as `handle`).
    #[tracing::instrument(skip_all, fields(input = %input.id, ticket = %input.ticket))]
    pub fn ticket_input(&self, input: &TicketInput) -> Result<Reply, EngineError> {
        ticket_action(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.lifecycle,
            input,
        )
    }

    /// The lifecycle settings.
    pub fn policy(&self) -> &Policy {
        &self.lifecycle
    }
}

/// `Engine::ticket_input` without an engine (no knowledge base needed), for
/// `triage tickets close-request` and `hold`.
pub fn ticket_action(
    store: &dyn Store,
    clock: &dyn Clock,
    policy: &Policy,
    input: &TicketInput,
) -> Result<Reply, EngineError> {
    let now = clock.now();
    let Some(t) = store.ticket(input.ticket)? else {
        return Ok(Reply {
            outputs: notice(format!("There is no ticket {}.", input.ticket)),
            duplicate: false,
            undelivered: false,
        });
    };
    let key = key_of(&t);
    let place = store.place_of(t.id)?;
    let meta = InputMeta {
        id: &input.id,
        key: Some(&key),
        author: &input.author,
        at: now,
        origin: place.as_ref(),
    };
    let mut run = |tx: &mut dyn Tx| -> Result<String, StoreError> {
        let out = step(tx, policy, input, now)?;
        Ok(serde_json::to_string(&out)?)
    };
    super::flow::reply_of(store.apply(&meta, &mut run)?)
}

fn step(
    tx: &mut dyn Tx,
    policy: &Policy,
    input: &TicketInput,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    let Some(t) = tx.ticket(input.ticket)? else {
        return Ok(notice(format!("There is no ticket {}.", input.ticket)));
    };
    let is_customer = input.author == t.customer;
    let mut life = tx.lifecycle(t.id)?;
    let open = t.status != TicketStatus::Closed;
    let mut out = Vec::new();
    match &input.action {
        TicketAction::Message => {
            if is_customer {
                life.last_customer_at = Some(now);
                if open && !life.hold {
                    restart_stale(tx, policy, t.id, now)?;
                }
            } else if input.staff && life.first_staff_reply_at.is_none() {
                life.first_staff_reply_at = Some(now);
                life.first_staff_by = Some(input.author.clone());
                event(
                    tx,
                    &t,
                    &input.author,
                    "first_staff_reply",
                    serde_json::json!({}),
                    now,
                )?;
            }
        }
        TicketAction::RequestClose => {
            if !input.staff {
                return Ok(notice(
                    "Only the support team can ask to close a ticket.".into(),
                ));
            }
            if !open {
                return Ok(notice(format!("Ticket {} is already closed.", t.id)));
            }
            let reason = clean(input.reason.as_deref());
            tx.cancel_timers(t.id, &[TimerKind::CloseRequest])?;
            let due = now + policy.close_request_timeout;
            tx.add_timer(t.id, TimerKind::CloseRequest, due, now)?;
            life.close_request = Some(CloseRequest {
                by: input.author.clone(),
                reason: reason.clone(),
                at: now,
            });
            event(
                tx,
                &t,
                &input.author,
                "close_requested",
                serde_json::json!({"reason": reason, "due": due.unix_timestamp()}),
                now,
            )?;
            let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            out.push(Output::Ticket(TicketNote {
                ticket: t.id,
                kind: NoteKind::CloseRequest,
                key: key_of(&t),
                text: format!(
                    "Support thinks ticket {} can be closed{why}. Close it, or keep it open? Without an answer it closes {{when}}.",
                    t.id
                ),
                when: Some(due),
                when_text: describe(policy, due),
                ping_customer: true,
                ping_staff: false,
                options: vec![
                    TicketChoice {
                        label: "Close".into(),
                        action: TicketAction::AcceptClose,
                    },
                    TicketChoice {
                        label: "Keep open".into(),
                        action: TicketAction::KeepOpen,
                    },
                ],
            }));
        }
        TicketAction::AcceptClose | TicketAction::KeepOpen => {
            if !is_customer {
                return Ok(notice(format!(
                    "Only the customer of ticket {} can answer its close request.",
                    t.id
                )));
            }
            let Some(req) = life.close_request.take().filter(|_| open) else {
                return Ok(notice(format!(
                    "There is no close request on ticket {}.",
                    t.id
                )));
            };
            tx.cancel_timers(t.id, &[TimerKind::CloseRequest])?;
            if input.action == TicketAction::AcceptClose {
                tx.save_lifecycle(&life)?;
                let reason = req
                    .reason
                    .unwrap_or_else(|| "closed at the customer's request".into());
                return close(tx, &t, &input.author, Some(reason), now);
            }
            life.last_customer_at = Some(now);
            if !life.hold {
                restart_stale(tx, policy, t.id, now)?;
            }
            event(
                tx,
                &t,
                &input.author,
                "close_refused",
                serde_json::json!({}),
                now,
            )?;
            out.push(Output::Ticket(note(
                &t,
                NoteKind::CloseRequestAnswered,
                format!("Ticket {} stays open; support will carry on here.", t.id),
            )));
        }
        TicketAction::Hold { on } => {
            if !input.staff {
                return Ok(notice(
                    "Only the support team can put a ticket on hold.".into(),
                ));
            }
            life.hold = *on;
            if *on {
                tx.cancel_timers(t.id, &[TimerKind::StalePing, TimerKind::AutoClose])?;
            } else if open {
                restart_stale(tx, policy, t.id, now)?;
            }
            event(
                tx,
                &t,
                &input.author,
                "hold",
                serde_json::json!({"on": on}),
                now,
            )?;
            out.push(Output::Ticket(note(
                &t,
                NoteKind::Hold,
                if *on {
                    format!(
                        "Ticket {} is on hold: no reminders and no automatic close.",
                        t.id
                    )
                } else {
                    format!(
                        "Ticket {} is off hold: reminders and automatic close are back on.",
                        t.id
                    )
                },
            )));
        }
        TicketAction::Rate { stars } => {
            if !is_customer {
                return Ok(notice(format!(
                    "Only the customer of ticket {} can rate it.",
                    t.id
                )));
            }
            if !(1..=5).contains(stars) {
                return Ok(notice("A rating is a number from 1 to 5.".into()));
            }
            let Some(mut s) = tx.survey(t.id)? else {
                return Ok(notice(format!("Ticket {} has no survey to answer.", t.id)));
            };
            if s.rating.is_some() {
                return Ok(notice(format!(
                    "You already rated ticket {}. Thank you!",
                    t.id
                )));
            }
            s.rating = Some(*stars);
            s.answered_at = Some(now);
            tx.save_survey(&s)?;
            event(
                tx,
                &t,
                &input.author,
                "survey_rated",
                serde_json::json!({"stars": stars}),
                now,
            )?;
            let mut n = note(
                &t,
                NoteKind::SurveyAnswered,
                format!(
                    "Thank you for rating ticket {} {stars}/5. You may add a comment.",
                    t.id
                ),
            );
            n.options.push(TicketChoice {
                label: "Add a comment".into(),
                action: TicketAction::Comment {
                    text: String::new(),
                },
            });
            out.push(Output::Ticket(n));
        }
        TicketAction::Comment { text } => {
            if !is_customer {
                return Ok(notice(format!(
                    "Only the customer of ticket {} can comment on it.",
                    t.id
                )));
            }
            let Some(mut s) = tx.survey(t.id)?.filter(|s| s.rating.is_some()) else {
                return Ok(notice(format!(
                    "Rate ticket {} first; then you can add a comment.",
                    t.id
                )));
            };
            if s.comment.is_some() {
                return Ok(notice(format!(
                    "You already commented on ticket {}. Thank you!",
                    t.id
                )));
            }
            let text = redact(text).text.trim().to_owned();
            let n = text.chars().count();
            if n == 0 {
                return Ok(notice("The comment is empty.".into()));
            }
            if n > COMMENT_LIMIT {
                return Ok(notice(format!(
                    "The comment is {n} characters; at most {COMMENT_LIMIT} are kept. Please shorten it."
                )));
            }
            s.comment = Some(text);
            tx.save_survey(&s)?;
            event(
                tx,
                &t,
                &input.author,
                "survey_commented",
                serde_json::json!({}),
                now,
            )?;
            out.push(Output::Text {
                text: "Thank you for the comment.".into(),
            });
        }
    }
    tx.save_lifecycle(&life)?;
    Ok(out)
}

/// Called by `flow` in the transaction that files a ticket: starts the
/// stale clock and, outside support hours, tells the customer when a
/// person will be there (and holds the staff ping until then).
pub(super) fn filed(
    tx: &mut dyn Tx,
    policy: &Policy,
    t: &Ticket,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    let mut life = tx.lifecycle(t.id)?;
    life.last_customer_at = Some(now);
    tx.save_lifecycle(&life)?;
    restart_stale(tx, policy, t.id, now)?;
    let mut out = Vec::new();
    let Some(h) = &policy.hours else {
        return Ok(out);
    };
    if h.is_open(now) {
        return Ok(out);
    }
    let Some(opens) = h.next_open(now) else {
        return Ok(out);
    };
    let mut n = note(
        t,
        NoteKind::OutsideHours,
        "Support is closed right now. A person will be here from {when}; your ticket keeps its place in the queue.".into(),
    );
    n.when = Some(opens);
    n.when_text = Some(h.describe(opens));
    out.push(Output::Ticket(n));
    if h.hold_staff_ping {
        tx.add_timer(t.id, TimerKind::StaffPing, opens, now)?;
        let mut n = note(
            t,
            NoteKind::StaffPingHeld,
            format!(
                "The support team will be notified of ticket {} when support opens ({{when}}).",
                t.id
            ),
        );
        n.when = Some(opens);
        n.when_text = Some(h.describe(opens));
        out.push(Output::Ticket(n));
    }
    Ok(out)
}

/// Called in the transaction that closes a ticket (by staff, by the
/// customer, or by a timer): cancels its timers, records the resolution
/// time and asks the survey once.
pub(super) fn closed(
    tx: &mut dyn Tx,
    t: &Ticket,
    closer: Option<&UserId>,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    tx.cancel_timers(
        t.id,
        &[
            TimerKind::StalePing,
            TimerKind::AutoClose,
            TimerKind::CloseRequest,
            TimerKind::StaffPing,
        ],
    )?;
    let mut life = tx.lifecycle(t.id)?;
    life.resolved_at = Some(now);
    life.close_request = None;
    tx.save_lifecycle(&life)?;
    if tx.survey(t.id)?.is_some_and(|s| s.rating.is_some()) {
        return Ok(Vec::new());
    }
    tx.save_survey(&Survey {
        ticket: t.id,
        product: t.product.clone(),
        // Who handled it: the claimer, else the staff member who closed
        // it, else the first to reply.
        staff: t
            .claimed_by
            .clone()
            .or_else(|| closer.cloned())
            .or(life.first_staff_by.clone()),
        asked_at: now,
        rating: None,
        comment: None,
        answered_at: None,
    })?;
    let mut n = note(
        t,
        NoteKind::Survey,
        format!(
            "How did we do on ticket {}? Rate it from 1 (poor) to 5 (great).",
            t.id
        ),
    );
    n.ping_customer = true;
    n.options = (1..=5)
        .map(|stars| TicketChoice {
            label: stars.to_string(),
            action: TicketAction::Rate { stars },
        })
        .collect();
    Ok(vec![Output::Ticket(n)])
}

/// Called in the transaction that reopens a ticket: the stale clock starts
/// again and the resolution time is cleared.
pub(super) fn reopened(
    tx: &mut dyn Tx,
    policy: &Policy,
    t: &Ticket,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut life = tx.lifecycle(t.id)?;
    life.resolved_at = None;
    tx.save_lifecycle(&life)?;
    if !life.hold {
        restart_stale(tx, policy, t.id, now)?;
    }
    Ok(())
}

/// Closes a ticket on its own (a customer's "Close", a timer): the status,
/// the event, and the `closed` hook, with the same update staff closing
/// produces.
pub(super) fn close(
    tx: &mut dyn Tx,
    t: &Ticket,
    by: &UserId,
    reason: Option<String>,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    tx.set_ticket_status(t.id, TicketStatus::Closed, None, reason.as_deref(), now)?;
    event(
        tx,
        t,
        by,
        "ticket_closed",
        serde_json::json!({"from": t.status, "to": TicketStatus::Closed, "reason": reason}),
        now,
    )?;
    tracing::info!(ticket.id = %t.id, by = %by, "ticket closed");
    let mut out = vec![Output::TicketUpdated(TicketUpdate {
        id: t.id,
        status: TicketStatus::Closed,
        by: by.clone(),
        key: key_of(t),
        text: match &reason {
            Some(r) => format!("Ticket {} closed by {by}: {r}", t.id),
            None => format!("Ticket {} closed by {by}.", t.id),
        },
        reason,
    })];
    out.extend(closed(tx, t, None, now)?);
    Ok(out)
}

/// Cancels the stale ping and auto-close and schedules a fresh stale ping.
fn restart_stale(
    tx: &mut dyn Tx,
    policy: &Policy,
    ticket: TicketId,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.cancel_timers(ticket, &[TimerKind::StalePing, TimerKind::AutoClose])?;
    if let Some(after) = policy.stale_after {
        tx.add_timer(ticket, TimerKind::StalePing, now + after, now)?;
    }
    Ok(())
}

pub(super) fn key_of(t: &Ticket) -> ConversationKey {
    ConversationKey {
        place: t.place.clone(),
        user: t.customer.clone(),
    }
}

pub(super) fn note(t: &Ticket, kind: NoteKind, text: String) -> TicketNote {
    TicketNote {
        ticket: t.id,
        kind,
        key: key_of(t),
        text,
        when: None,
        when_text: None,
        ping_customer: false,
        ping_staff: false,
        options: Vec::new(),
    }
}

pub(super) fn describe(policy: &Policy, at: OffsetDateTime) -> Option<String> {
    match &policy.hours {
        Some(h) => Some(h.describe(at)),
        None => at
            .format(&time::format_description::well_known::Rfc3339)
            .ok(),
    }
}

pub(super) fn event(
    tx: &mut dyn Tx,
    t: &Ticket,
    by: &UserId,
    kind: &str,
    detail: serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.log_event(&NewEvent {
        at: now,
        key: Some(key_of(t)),
        author: by.clone(),
        ticket: Some(t.id),
        kind: kind.into(),
        detail,
    })
}

fn notice(text: String) -> Vec<Output> {
    vec![Output::Notice { text }]
}

fn clean(r: Option<&str>) -> Option<String> {
    r.map(|r| redact(r).text.trim().to_owned())
        .filter(|r| !r.is_empty())
}
