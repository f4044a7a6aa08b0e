//! Staff actions on a ticket: claim, close and reopen.

use super::*;
use crate::engine::redact::redact;
use crate::engine::{Output, StaffAction, StaffInput, TicketUpdate};
use crate::tickets::{ConversationKey, NewEvent, StoreError, TicketStatus, Tx};
use time::OffsetDateTime;

pub(super) fn staff_step(
    tx: &mut dyn Tx,
    policy: &crate::engine::Policy,
    input: &StaffInput,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    let Some(t) = tx.ticket(input.ticket)? else {
        return Ok(vec![Output::Notice {
            text: format!("There is no ticket {}.", input.ticket),
        }]);
    };
    let (status, claimed_by, verb) = match (input.action, t.status) {
        (StaffAction::Claim, TicketStatus::Closed) => {
            return Ok(notice(format!(
                "Ticket {} is closed; reopen it first.",
                t.id
            )));
        }
        (StaffAction::Claim, TicketStatus::Claimed)
            if t.claimed_by.as_ref() == Some(&input.staff) =>
        {
            return Ok(notice(format!("Ticket {} is already yours.", t.id)));
        }
        (StaffAction::Claim, _) => (TicketStatus::Claimed, Some(&input.staff), "claimed"),
        (StaffAction::Close, TicketStatus::Closed) => {
            return Ok(notice(format!("Ticket {} is already closed.", t.id)));
        }
        (StaffAction::Close, _) => (TicketStatus::Closed, None, "closed"),
        (StaffAction::Reopen, TicketStatus::Closed) => (TicketStatus::Open, None, "reopened"),
        (StaffAction::Reopen, _) => {
            return Ok(notice(format!("Ticket {} is not closed.", t.id)));
        }
    };
    // Staff type the reason in a shared channel; it is stored and shown,
    // so it is redacted like anything a customer types.
    let reason = match input.action {
        StaffAction::Close => input
            .reason
            .as_deref()
            .map(|r| redact(r).text.trim().to_owned())
            .filter(|r| !r.is_empty()),
        _ => None,
    };
    tx.set_ticket_status(t.id, status, claimed_by, reason.as_deref(), now)?;
    let key = ConversationKey {
        place: t.place.clone(),
        user: t.customer.clone(),
    };
    tx.log_event(&NewEvent {
        at: now,
        key: Some(key.clone()),
        author: input.staff.clone(),
        ticket: Some(t.id),
        kind: format!("ticket_{verb}"),
        detail: match &reason {
            Some(r) => serde_json::json!({"from": t.status, "to": status, "reason": r}),
            None => serde_json::json!({"from": t.status, "to": status}),
        },
    })?;
    tracing::info!(ticket.id = %t.id, by = %input.staff, "ticket {verb}");
    let after = match status {
        TicketStatus::Closed => crate::engine::lifecycle::closed(tx, &t, Some(&input.staff), now)?,
        TicketStatus::Open => {
            crate::engine::lifecycle::reopened(tx, policy, &t, now)?;
            Vec::new()
        }
        TicketStatus::Claimed => Vec::new(),
    };
    let mut out = vec![Output::TicketUpdated(TicketUpdate {
        id: t.id,
        status,
        by: input.staff.clone(),
        key,
        text: match &reason {
            Some(r) => format!("Ticket {} {verb} by {}: {r}", t.id, input.staff),
            None => format!("Ticket {} {verb} by {}.", t.id, input.staff),
        },
        reason,
    })];
    out.extend(after);
    Ok(out)
}
