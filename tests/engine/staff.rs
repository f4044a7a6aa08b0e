//! Staff actions on tickets: claim, close (with a reason) and reopen,
//! finding a ticket by its place, and staff diagnosing for a customer.

use super::*;

fn staff(h: &Harness, id: &str, ticket: triage::tickets::TicketId, action: StaffAction) -> Reply {
    h.engine
        .staff(&StaffInput {
            id: id.into(),
            staff: UserId::new("sam"),
            ticket,
            action,
            reason: None,
        })
        .unwrap()
}

#[test]
fn staff_claim_close_and_reopen_a_ticket() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.fill_valid();
    let id = h.tickets()[0].id;
    staff(&h, "s1", id, StaffAction::Claim);
    let t = h.store.ticket(id).unwrap().unwrap();
    assert_eq!(
        (t.status, t.claimed_by.as_ref().map(|u| u.as_str())),
        (TicketStatus::Claimed, Some("sam"))
    );
    let r = staff(&h, "s2", id, StaffAction::Close);
    match &r.outputs[0] {
        Output::TicketUpdated(u) => {
            assert_eq!(u.status, TicketStatus::Closed);
            assert_eq!(u.key, h.key);
        }
        other => panic!("unexpected {other:?}"),
    }
    let r = staff(&h, "s3", id, StaffAction::Claim);
    assert!(notices(&r).contains("reopen it first"));
    staff(&h, "s4", id, StaffAction::Reopen);
    assert_eq!(
        h.store.ticket(id).unwrap().unwrap().status,
        TicketStatus::Open
    );
    // A redelivered close does not close the reopened ticket again.
    assert!(staff(&h, "s2", id, StaffAction::Close).duplicate);
    assert_eq!(
        h.store.ticket(id).unwrap().unwrap().status,
        TicketStatus::Open
    );
    let r = staff(&h, "s5", triage::tickets::TicketId(999), StaffAction::Close);
    assert!(notices(&r).contains("no ticket #999"));
}

#[test]
fn a_close_reason_is_stored_with_the_ticket_until_it_is_reopened() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.fill_valid();
    let id = h.tickets()[0].id;
    let close = |input: &str, reason: &str| {
        h.engine
            .staff(&StaffInput {
                id: input.into(),
                staff: UserId::new("sam"),
                ticket: id,
                action: StaffAction::Close,
                reason: Some(reason.into()),
            })
            .unwrap()
    };
    let r = close("s1", "  fixed the TURN ports  ");
    match &r.outputs[0] {
        Output::TicketUpdated(u) => {
            assert_eq!(u.reason.as_deref(), Some("fixed the TURN ports"));
            assert!(u.text.contains("fixed the TURN ports"), "{}", u.text);
        }
        other => panic!("unexpected {other:?}"),
    }
    let t = h.store.ticket(id).unwrap().unwrap();
    assert_eq!(t.close_reason.as_deref(), Some("fixed the TURN ports"));
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["close_reason"], "fixed the TURN ports");
    staff(&h, "s2", id, StaffAction::Reopen);
    assert_eq!(h.store.ticket(id).unwrap().unwrap().close_reason, None);
    // A reason with a secret in it is stored without the secret.
    close(
        "s3",
        "rotated ghp_0123456789abcdefghijklmnopqrstuvwxyzAB for them",
    );
    let stored = h.store.ticket(id).unwrap().unwrap().close_reason.unwrap();
    assert!(!stored.contains("ghp_0123"), "{stored}");
}

#[test]
fn a_ticket_is_found_by_the_place_it_was_attached_to_or_asked_in() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.fill_valid();
    let id = h.tickets()[0].id;
    let thread = triage::tickets::Place::new("thread-42");
    assert_eq!(h.store.ticket_at(&thread).unwrap(), None);
    // Where the conversation happened (a forum post is its own thread).
    assert_eq!(h.store.ticket_at(&h.key.place).unwrap(), Some(id));
    h.store.attach_place(id, &thread).unwrap();
    assert_eq!(h.store.ticket_at(&thread).unwrap(), Some(id));
    // A second ticket handed off in the same place takes it over.
    h.escalate_audio();
    h.fill_valid();
    let second = h.tickets()[0].id;
    assert_ne!(second, id);
    h.store.attach_place(second, &thread).unwrap();
    assert_eq!(h.store.ticket_at(&thread).unwrap(), Some(second));
}

#[test]
fn staff_diagnosing_for_a_customer_files_the_ticket_as_the_customers() {
    let mut h = Harness::new();
    let sam = UserId::new("sam");
    let ask = Input::say("d1", h.key.clone(), "no audio for this customer").by(sam.clone());
    h.engine.handle(&ask).unwrap();
    h.engine
        .handle(&Input::act("d2", h.key.clone(), Action::Escalate).by(sam.clone()))
        .unwrap();
    h.next = 10;
    h.fill_valid();
    let t = &h.tickets()[0];
    assert_eq!(t.customer.as_str(), "alice");
    assert_eq!(t.opened_by, sam);
    let q = &h.store.queries_since(OffsetDateTime::UNIX_EPOCH).unwrap()[0];
    assert_eq!((q.key.user.as_str(), q.asked_by.as_str()), ("alice", "sam"));
}
