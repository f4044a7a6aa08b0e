//! The survey and what is reported from it: a survey is answered once,
//! and response times and ratings are reported per product and staff
//! member.

use super::*;

#[test]
fn survey_is_answered_once_and_a_second_answer_is_refused() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    let r = h.customer(t, TicketAction::Rate { stars: 5 });
    assert!(notice(&r).contains("no survey"), "not closed yet");
    let id = h.id();
    let closed = h
        .engine
        .staff(&StaffInput {
            id: id.as_str().into(),
            staff: UserId::new("sam"),
            ticket: t,
            action: StaffAction::Close,
            reason: None,
        })
        .unwrap();
    let survey = notes(&closed.outputs)
        .into_iter()
        .find(|n| n.kind == NoteKind::Survey)
        .expect("closing asks the survey")
        .clone();
    assert_eq!(survey.options.len(), 5);

    assert!(
        notice(&h.input(t, "mallory", false, TicketAction::Rate { stars: 1 }))
            .contains("Only the customer")
    );
    assert!(notice(&h.customer(t, TicketAction::Rate { stars: 9 })).contains("1 to 5"));
    let r = h.customer(t, TicketAction::Rate { stars: 4 });
    assert_eq!(notes(&r.outputs)[0].kind, NoteKind::SurveyAnswered);
    let r = h.customer(t, TicketAction::Rate { stars: 1 });
    assert!(notice(&r).contains("already rated"));
    let r = h.customer(
        t,
        TicketAction::Comment {
            text: "quick and kind".into(),
        },
    );
    assert!(notice(&r).is_empty());
    let r = h.customer(
        t,
        TicketAction::Comment {
            text: "again".into(),
        },
    );
    assert!(notice(&r).contains("already commented"));

    let s = &h.store.surveys().unwrap()[0];
    assert_eq!(
        (s.rating, s.comment.as_deref()),
        (Some(4), Some("quick and kind"))
    );
    // Reopened and closed again: not asked twice.
    for action in [StaffAction::Reopen, StaffAction::Close] {
        let id = h.id();
        let r = h
            .engine
            .staff(&StaffInput {
                id: id.as_str().into(),
                staff: UserId::new("sam"),
                ticket: t,
                action,
                reason: None,
            })
            .unwrap();
        assert!(notes(&r.outputs).is_empty());
    }
}

#[test]
fn response_times_and_ratings_are_reported_per_product_and_staff_member() {
    let mut h = H::new(policy());
    let (t, _) = h.file();
    h.clock.advance(Duration::hours(2));
    h.staff(t, TicketAction::Message);
    h.clock.advance(Duration::hours(1));
    h.staff(t, TicketAction::Message); // not the first reply
    h.clock.advance(Duration::hours(2));
    let id = h.id();
    h.engine
        .staff(&StaffInput {
            id: id.as_str().into(),
            staff: UserId::new("sam"),
            ticket: t,
            action: StaffAction::Close,
            reason: None,
        })
        .unwrap();
    h.customer(t, TicketAction::Rate { stars: 4 });

    let all = |hours: Option<&SupportHours>| {
        triage::service::compute(
            &h.store.tickets(None).unwrap(),
            &h.store.lifecycles().unwrap(),
            &h.store.surveys().unwrap(),
            hours,
            START - Duration::days(1),
            START + Duration::days(1),
        )
    };
    let r = all(None);
    assert!(!r.business_hours);
    let g = &r.by_product["demo"];
    assert_eq!(g.first_response.median_secs, Some(2 * 3600));
    assert_eq!(g.resolution.p90_secs, Some(5 * 3600));
    assert_eq!((g.rated, g.mean_rating), (1, Some(4.0)));
    assert_eq!(r.by_staff["sam"].first_response.median_secs, Some(2 * 3600));

    // Monday 2 Mar 2026 10:00 UTC is 11:00 in Berlin: all within hours.
    let b = all(Some(&berlin_hours()));
    assert!(b.business_hours);
    assert_eq!(b.overall.resolution.median_secs, Some(5 * 3600));
    // Filed at 16:00 Berlin, answered 09:30 the next morning: 1.5 h of
    // business time, not 17.5 h.
    let mut h = H::new(policy());
    h.clock.set(datetime!(2026-03-02 15:00 UTC));
    let (t, _) = h.file();
    h.clock.set(datetime!(2026-03-03 08:30 UTC));
    h.staff(t, TicketAction::Message);
    let r = triage::service::compute(
        &h.store.tickets(None).unwrap(),
        &h.store.lifecycles().unwrap(),
        &h.store.surveys().unwrap(),
        Some(&berlin_hours()),
        START - Duration::days(1),
        START + Duration::days(3),
    );
    assert_eq!(r.overall.first_response.median_secs, Some(90 * 60));
}
