//! Stale tickets and closing: the stale reminder (reset by the customer,
//! not by staff, stopped by hold) and the auto-close for no reply, and
//! close requests accepted, refused and unanswered.

use super::*;

#[test]
fn stale_ticket_is_pinged_once_reset_by_the_customer_then_closed_for_no_reply() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    assert!(h.advance(Duration::hours(47)).is_empty(), "not stale yet");
    let fired = h.advance(Duration::hours(2));
    assert_eq!(kinds(&fired), vec![NoteKind::StalePing]);
    let ping = notes(&fired[0].outputs)[0];
    assert!(ping.ping_customer);
    assert_eq!(ping.when, Some(START + Duration::hours(49 + 24)));
    assert!(h.advance(Duration::hours(1)).is_empty(), "pinged once only");

    // The customer answers: both clocks start again.
    h.customer(t, TicketAction::Message);
    assert!(
        h.advance(Duration::hours(30)).is_empty(),
        "the auto-close was cancelled"
    );
    assert!(h.advance(Duration::hours(17)).is_empty());
    let fired = h.advance(Duration::hours(2));
    assert_eq!(kinds(&fired), vec![NoteKind::StalePing]);
    assert_eq!(h.status(t), TicketStatus::Open);

    let fired = h.advance(Duration::hours(24));
    assert_eq!(closed_reason(&fired).as_deref(), Some("no reply"));
    assert_eq!(h.status(t), TicketStatus::Closed);
    assert_eq!(
        h.store.ticket(t).unwrap().unwrap().close_reason.as_deref(),
        Some("no reply")
    );
    // Closing asks the survey.
    assert!(kinds(&fired).contains(&NoteKind::Survey));
    assert!(
        h.advance(Duration::days(30)).is_empty(),
        "nothing left to fire"
    );
}

#[test]
fn staff_messages_do_not_reset_the_stale_clock_and_hold_stops_it() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    h.clock.advance(Duration::hours(1));
    h.staff(t, TicketAction::Message);
    assert_eq!(
        kinds(&h.advance(Duration::hours(48))),
        vec![NoteKind::StalePing]
    );

    let (t2, _) = {
        let mut h2 = H::new(policy());
        let r = h2.file();
        let hold = h2.staff(r.0, TicketAction::Hold { on: true });
        assert_eq!(notes(&hold.outputs)[0].kind, NoteKind::Hold);
        assert!(
            h2.advance(Duration::days(10)).is_empty(),
            "held: no ping, no close"
        );
        assert_eq!(h2.status(r.0), TicketStatus::Open);
        h2.staff(r.0, TicketAction::Hold { on: false });
        assert_eq!(
            kinds(&h2.advance(Duration::hours(48))),
            vec![NoteKind::StalePing]
        );
        r
    };
    let _ = t2;
    // Customers cannot put their own ticket on hold.
    let r = h.customer(t, TicketAction::Hold { on: true });
    assert!(notice(&r).contains("Only the support team"));
}

#[test]
fn close_request_accepted_closes_with_the_reason() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    let id = h.id();
    let r = h
        .engine
        .ticket_input(&TicketInput {
            id: id.as_str().into(),
            ticket: t,
            author: UserId::new("sam"),
            staff: true,
            action: TicketAction::RequestClose,
            reason: Some("fixed in 2.3".into()),
        })
        .unwrap();
    let n = notes(&r.outputs)[0].clone();
    assert_eq!(n.kind, NoteKind::CloseRequest);
    assert_eq!(
        n.options
            .iter()
            .map(|o| o.action.clone())
            .collect::<Vec<_>>(),
        vec![TicketAction::AcceptClose, TicketAction::KeepOpen]
    );
    assert_eq!(n.when, Some(START + Duration::hours(24)));
    // Someone else's click is refused.
    let r = h.input(t, "mallory", false, TicketAction::AcceptClose);
    assert!(notice(&r).contains("Only the customer"));
    assert_eq!(h.status(t), TicketStatus::Open);

    let r = h.customer(t, TicketAction::AcceptClose);
    assert_eq!(h.status(t), TicketStatus::Closed);
    assert!(r.outputs.iter().any(|o| matches!(o,
        Output::TicketUpdated(u) if u.reason.as_deref() == Some("fixed in 2.3"))));
    assert!(notes(&r.outputs).iter().any(|n| n.kind == NoteKind::Survey));
    assert!(
        h.advance(Duration::days(3)).is_empty(),
        "the request's timer is gone"
    );
}

#[test]
fn close_request_refused_keeps_the_ticket_open() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    h.staff(t, TicketAction::RequestClose);
    let r = h.customer(t, TicketAction::KeepOpen);
    assert_eq!(notes(&r.outputs)[0].kind, NoteKind::CloseRequestAnswered);
    assert!(
        h.advance(Duration::hours(25)).is_empty(),
        "no timeout close"
    );
    assert_eq!(h.status(t), TicketStatus::Open);
    // A second answer finds no request.
    let r = h.customer(t, TicketAction::AcceptClose);
    assert!(notice(&r).contains("no close request"));
    assert_eq!(h.status(t), TicketStatus::Open);
}

#[test]
fn close_request_unanswered_closes_at_the_timeout() {
    let mut h = H::new(Policy {
        stale_after: None,
        ..policy()
    });
    let (t, _) = h.file();
    h.staff(t, TicketAction::RequestClose);
    assert!(h.advance(Duration::hours(23)).is_empty());
    let fired = h.advance(Duration::hours(2));
    assert_eq!(
        closed_reason(&fired).as_deref(),
        Some("no answer to the close request")
    );
    assert_eq!(h.status(t), TicketStatus::Closed);
}
