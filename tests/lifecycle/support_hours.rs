//! Support hours: a ticket filed out of hours is told the next opening
//! (daylight saving included) and staff are pinged then; in hours at once.

use super::*;

#[test]
fn a_friday_evening_ticket_is_told_mondays_opening_and_staff_are_pinged_then() {
    let hours = Policy {
        hours: Some(berlin_hours()),
        ..policy()
    };
    // Friday 4 Dec 2026, 19:30 in Berlin.
    let mut h = H::with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        hours,
        datetime!(2026-12-04 18:30 UTC),
    );
    let (t, r) = h.file();
    let ns = notes(&r.outputs);
    let told = ns
        .iter()
        .find(|n| n.kind == NoteKind::OutsideHours)
        .unwrap();
    // Monday 09:00 Berlin = 08:00 UTC; the front end shows it in the
    // reader's zone (Discord <t:UNIX:F>).
    assert_eq!(told.when, Some(datetime!(2026-12-07 08:00 UTC)));
    assert!(told
        .when_text
        .as_deref()
        .unwrap()
        .starts_with("Mon 7 Dec 2026 09:00"));
    assert!(ns.iter().any(|n| n.kind == NoteKind::StaffPingHeld));

    assert!(!kinds(&h.advance(Duration::hours(61))).contains(&NoteKind::StaffPing));
    let fired = h.advance(Duration::hours(1) + Duration::minutes(30));
    assert_eq!(kinds(&fired), vec![NoteKind::StaffPing]);
    assert!(notes(&fired[0].outputs)[0].ping_staff);
    let _ = t;
}

#[test]
fn the_opening_time_follows_daylight_saving() {
    let hours = Policy {
        hours: Some(berlin_hours()),
        ..policy()
    };
    // Friday 27 Mar 2026 evening; clocks go forward on Sunday.
    let mut h = H::with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        hours,
        datetime!(2026-03-27 19:00 UTC),
    );
    let (_, r) = h.file();
    let told = notes(&r.outputs)
        .into_iter()
        .find(|n| n.kind == NoteKind::OutsideHours)
        .unwrap()
        .clone();
    assert_eq!(told.when, Some(datetime!(2026-03-30 07:00 UTC)));
}

#[test]
fn a_ticket_filed_in_hours_pings_staff_at_once() {
    let mut h = H::with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        Policy {
            hours: Some(berlin_hours()),
            ..policy()
        },
        datetime!(2026-12-07 10:00 UTC),
    );
    let (_, r) = h.file();
    assert!(notes(&r.outputs).is_empty());
}
