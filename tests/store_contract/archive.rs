//! The archive's half of the store contract (`Store::archive()`):
//! transcripts, place guilds, ticket search, event timelines, login links
//! and sessions, run against both backends by `store_contract.rs`'s
//! `contract!`. Then what only a shared database has: two processes
//! redeeming one login link, recording and editing one message at once.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::thread;

use time::OffsetDateTime;
use triage::archive::{
    Archive, Attachment, NewMessage, Principal, Redeemed, Role, Session, TicketFilter,
};
use triage::kb::{EntryId, ProductId};
use triage::matcher::Decision;
use triage::tickets::{
    ConversationKey, LoggedResult, NewEvent, NewQuery, Place, Store, Ticket, TicketId,
    TicketStatus, UserId,
};

use super::{apply, at, new_ticket, pg_pair};

fn archive(store: &dyn Store) -> &dyn Archive {
    store.archive().expect("both stores keep an archive")
}

/// Files a ticket for `key` (as input `input`), optionally of another
/// product, question and field value; returns it.
fn file(
    store: &dyn Store,
    input: &str,
    key: &ConversationKey,
    product: &str,
    question: &str,
    serial: &str,
) -> Ticket {
    let mut t = new_ticket(key);
    t.product = ProductId::new(product);
    t.question = Some(question.into());
    t.fields[0].value = serial.into();
    let mut made = None;
    apply(store, input, key, &mut |tx| {
        made = Some(tx.insert_ticket(&t, at(1))?.id);
        Ok(String::new())
    })
    .unwrap();
    store.ticket(made.unwrap()).unwrap().unwrap()
}

fn msg(id: &str, place: &str, secs: i64, text: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        place: Place::new(place),
        guild: None,
        conv_user: None,
        author: UserId::new("carol"),
        author_name: "Carol".into(),
        role: Role::Customer,
        at: at(secs),
        content: text.into(),
        attachments: vec![],
    }
}

fn contents(a: &dyn Archive, t: &Ticket) -> Vec<String> {
    a.transcript(t)
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect()
}

pub fn transcripts_are_recorded_once_in_order_with_edits_and_deletions(store: &dyn Store) {
    let a = archive(store);
    let key = ConversationKey::new("chan", "carol");
    let t = file(store, "t1", &key, "router", "no internet", "AB-1");
    store.attach_place(t.id, &Place::new("thread-1")).unwrap();
    // Handled out of order: by time, then by snowflake within a second.
    let mut staff = msg("1002", "thread-1", 50, "second");
    staff.role = Role::Staff;
    staff.author = UserId::new("sam");
    staff.author_name = "Sam".into();
    staff.attachments = vec![Attachment {
        name: "log.txt".into(),
        url: "https://cdn.example/log.txt".into(),
    }];
    assert!(a.record_message(&staff).unwrap());
    assert!(a
        .record_message(&msg("999", "thread-1", 50, "first"))
        .unwrap());
    assert!(a
        .record_message(&msg("5000", "thread-1", 40, "zeroth"))
        .unwrap());
    assert!(
        !a.record_message(&msg("999", "thread-1", 50, "again"))
            .unwrap(),
        "a redelivered message id changes nothing"
    );
    assert!(a
        .record_message(&msg("1003", "thread-2", 50, "other thread"))
        .unwrap());
    // The conversation's own place: terminal lines (not snowflakes) keep
    // the order recorded; another customer's lines there are not this
    // ticket's.
    let line = |id: &str, user: &str, text: &str| {
        let mut m = msg(id, "chan", 10, text);
        m.conv_user = Some(UserId::new(user));
        a.record_message(&m).unwrap()
    };
    assert!(line("terminal:carol:9", "carol", "hello"));
    assert!(line("terminal:carol:10", "carol", "it is broken"));
    assert!(line("terminal:dave:1", "dave", "not carol's"));
    assert_eq!(
        contents(a, &t),
        ["hello", "it is broken", "zeroth", "first", "second"]
    );
    let last = &a.transcript(&t).unwrap()[4];
    assert_eq!(last.id, "1002");
    assert_eq!(
        (last.role, last.author.as_str(), last.author_name.as_str()),
        (Role::Staff, "sam", "Sam")
    );
    assert_eq!(last.place, Place::new("thread-1"));
    assert_eq!(last.at, at(50));
    assert_eq!(last.attachments, staff.attachments);
    assert!(last.edits.is_empty() && last.deleted_at.is_none());

    // Edits keep the earlier text, oldest first; a redelivered edit (same
    // text) and an unknown message change nothing.
    assert!(a.record_edit("999", at(60), "first, edited", None).unwrap());
    assert!(!a.record_edit("999", at(61), "first, edited", None).unwrap());
    assert!(a.record_edit("999", at(70), "first, again", None).unwrap());
    assert!(!a.record_edit("nope", at(70), "x", None).unwrap());
    let files = [Attachment {
        name: "shot.png".into(),
        url: "https://cdn.example/shot.png".into(),
    }];
    assert!(
        !a.record_edit("999", at(71), "first, again", Some(&files[..]))
            .unwrap(),
        "same text: no new version"
    );
    let m = a
        .transcript(&t)
        .unwrap()
        .into_iter()
        .find(|m| m.id == "999")
        .unwrap();
    assert_eq!(m.content, "first, again");
    assert_eq!(m.at, at(50), "a message keeps its place in the transcript");
    assert_eq!(m.attachments, files, "the edit's attachments replace them");
    let history: Vec<(OffsetDateTime, &str)> = m
        .edits
        .iter()
        .map(|e| (e.at, e.previous.as_str()))
        .collect();
    assert_eq!(history, [(at(60), "first"), (at(70), "first, edited")]);

    // A deletion marks the message once and keeps its text for staff.
    assert!(a.record_delete("1002", at(80)).unwrap());
    assert!(!a.record_delete("1002", at(81)).unwrap());
    assert!(!a.record_delete("nope", at(81)).unwrap());
    let m = a
        .transcript(&t)
        .unwrap()
        .into_iter()
        .find(|m| m.id == "1002")
        .unwrap();
    assert_eq!((m.content.as_str(), m.deleted_at), ("second", Some(at(80))));
    assert_eq!(contents(a, &t).len(), 5, "deleted messages stay listed");
}

pub fn places_learn_their_guild_once_and_scope_tickets(store: &dyn Store) {
    let a = archive(store);
    a.note_place_guild(&Place::new("chan"), "g1").unwrap();
    a.note_place_guild(&Place::new("chan"), "g2").unwrap();
    assert_eq!(
        a.place_guild(&Place::new("chan")).unwrap().as_deref(),
        Some("g1"),
        "the first guild seen stays"
    );
    assert_eq!(a.place_guild(&Place::new("elsewhere")).unwrap(), None);
    // A message with a guild teaches its place's guild.
    let mut m = msg("1", "thread-1", 1, "hi");
    m.guild = Some("g1".into());
    a.record_message(&m).unwrap();
    let mut m = msg("2", "thread-9", 1, "hi");
    m.guild = Some("g2".into());
    a.record_message(&m).unwrap();
    let places = |g: &str| -> BTreeSet<String> {
        a.guild_places(g)
            .unwrap()
            .into_iter()
            .map(|p| p.as_str().to_owned())
            .collect()
    };
    assert_eq!(
        places("g1"),
        BTreeSet::from(["chan".into(), "thread-1".into()])
    );
    assert_eq!(places("g2"), BTreeSet::from(["thread-9".into()]));
    assert!(places("g3").is_empty());
    // A ticket's guild: its conversation's place, else an attached thread's.
    let in_chan = file(
        store,
        "t1",
        &ConversationKey::new("chan", "carol"),
        "router",
        "q",
        "s",
    );
    assert_eq!(a.ticket_guild(&in_chan).unwrap().as_deref(), Some("g1"));
    let key = ConversationKey::new("dm", "dave");
    let by_thread = file(store, "t2", &key, "router", "q", "s");
    assert_eq!(a.ticket_guild(&by_thread).unwrap(), None);
    store
        .attach_place(by_thread.id, &Place::new("thread-9"))
        .unwrap();
    assert_eq!(a.ticket_guild(&by_thread).unwrap().as_deref(), Some("g2"));
    let mut places_of = a.places_of(by_thread.id).unwrap();
    places_of.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(places_of, [Place::new("dm"), Place::new("thread-9")]);
}

pub fn ticket_search_filters_and_pages_newest_first(store: &dyn Store) {
    let a = archive(store);
    let carol = ConversationKey::new("chan", "carol");
    let dave = ConversationKey::new("chan", "dave");
    let erin = ConversationKey::new("other", "erin");
    let t1 = file(store, "t1", &carol, "router", "No Internet at all", "AB-1");
    let t2 = file(store, "t2", &dave, "router", "100% packet loss", "CD-2");
    let t3 = file(store, "t3", &erin, "modem", "slow", "EF_3");
    let t4 = file(store, "t4", &carol, "modem", "lights blink", "GH-4");
    let t5 = file(store, "t5", &dave, "router", "fan noise", "IJ-5");
    let ids = [t1.id, t2.id, t3.id, t4.id, t5.id];
    a.note_place_guild(&Place::new("chan"), "g1").unwrap();
    a.note_place_guild(&Place::new("thread-3"), "g1").unwrap();
    store.attach_place(t3.id, &Place::new("thread-3")).unwrap();
    apply(store, "claim", &carol, &mut |tx| {
        let staff = UserId::new("sam");
        tx.set_ticket_status(t1.id, TicketStatus::Claimed, Some(&staff), None, at(2))?;
        tx.set_ticket_status(
            t4.id,
            TicketStatus::Closed,
            Some(&staff),
            Some("Replaced PSU"),
            at(2),
        )?;
        Ok(String::new())
    })
    .unwrap();
    // Transcript text: t3's thread; the conversation place "chan" holds
    // carol's and dave's lines, each only their own tickets'.
    a.record_message(&msg("31", "thread-3", 5, "the cable is FRAYED"))
        .unwrap();
    let mut line = msg("terminal:dave:1", "chan", 5, "my router hums loudly");
    line.conv_user = Some(UserId::new("dave"));
    a.record_message(&line).unwrap();

    let find = |f: TicketFilter| -> (usize, Vec<TicketId>) {
        let page = a
            .find_tickets(&TicketFilter {
                limit: if f.limit == 0 { 50 } else { f.limit },
                ..f
            })
            .unwrap();
        (page.total, page.tickets.iter().map(|t| t.id).collect())
    };
    let text = |s: &str| TicketFilter {
        text: Some(s.into()),
        ..TicketFilter::default()
    };
    let all: Vec<TicketId> = ids.iter().rev().copied().collect();
    assert_eq!(
        find(TicketFilter::default()),
        (5, all.clone()),
        "newest first"
    );
    let (_, open) = find(TicketFilter {
        status: Some(TicketStatus::Open),
        ..TicketFilter::default()
    });
    assert_eq!(open, [t5.id, t3.id, t2.id]);
    let (_, modem) = find(TicketFilter {
        product: Some(ProductId::new("modem")),
        ..TicketFilter::default()
    });
    assert_eq!(modem, [t4.id, t3.id]);
    let (_, sams) = find(TicketFilter {
        claimed_by: Some(UserId::new("sam")),
        ..TicketFilter::default()
    });
    assert_eq!(sams, [t4.id, t1.id]);
    let (_, g1) = find(TicketFilter {
        guild: Some("g1".into()),
        ..TicketFilter::default()
    });
    assert_eq!(g1, [t5.id, t4.id, t3.id, t2.id, t1.id], "t3 by its thread");
    a.note_place_guild(&Place::new("other"), "g2").unwrap();
    let (_, g2) = find(TicketFilter {
        guild: Some("g2".into()),
        ..TicketFilter::default()
    });
    assert_eq!(g2, [t3.id], "by its conversation's place");
    assert_eq!(
        find(TicketFilter {
            guild: Some("g9".into()),
            ..TicketFilter::default()
        })
        .0,
        0
    );

    // Text: question, field, close reason, transcript; ASCII case folded;
    // LIKE's wildcards literal; another customer's lines not searched.
    assert_eq!(find(text("internet")).1, [t1.id]);
    assert_eq!(find(text("  cd-2 ")).1, [t2.id], "trimmed, any case");
    assert_eq!(find(text("psu")).1, [t4.id]);
    assert_eq!(find(text("frayed")).1, [t3.id]);
    assert_eq!(
        find(text("hums")).1,
        [t5.id, t2.id],
        "dave's line: both his"
    );
    assert_eq!(find(text("0%")).1, [t2.id]);
    assert_eq!(find(text("F_3")).1, [t3.id]);
    assert_eq!(find(text("%")).0, 1, "a literal percent sign");
    assert_eq!(find(text("_")).1, [t3.id], "a literal underscore");
    assert_eq!(find(text("nowhere")).0, 0);
    let combined = find(TicketFilter {
        status: Some(TicketStatus::Open),
        product: Some(ProductId::new("router")),
        text: Some("HUMS".into()),
        ..TicketFilter::default()
    });
    assert_eq!(combined, (2, vec![t5.id, t2.id]));

    // Paging: the total is every match, the page a slice of them.
    let page = |limit, offset| {
        find(TicketFilter {
            limit,
            offset,
            ..TicketFilter::default()
        })
    };
    assert_eq!(page(2, 0), (5, all[0..2].to_vec()));
    assert_eq!(page(2, 2), (5, all[2..4].to_vec()));
    assert_eq!(page(2, 4), (5, all[4..].to_vec()));
    assert_eq!(page(2, 6), (5, vec![]));
    let t = &a
        .find_tickets(&TicketFilter {
            limit: 1,
            offset: 4,
            ..TicketFilter::default()
        })
        .unwrap()
        .tickets[0];
    assert_eq!(t, &store.ticket(t1.id).unwrap().unwrap(), "whole tickets");
}

pub fn a_tickets_timeline_and_ranking_are_read_back(store: &dyn Store) {
    let a = archive(store);
    let key = ConversationKey::new("chan", "carol");
    let mut made = None;
    apply(store, "t1", &key, &mut |tx| {
        let q = tx.insert_query(&NewQuery {
            at: at(1),
            key: key.clone(),
            asked_by: key.user.clone(),
            product: None,
            text: "no internet".into(),
            decision: Decision::Suggest,
            results: vec![
                LoggedResult {
                    id: EntryId::new("dns"),
                    score: 0.75,
                },
                LoggedResult {
                    id: EntryId::new("wifi"),
                    score: 0.5,
                },
            ],
            check: None,
            entry: None,
        })?;
        let mut nt = new_ticket(&key);
        nt.query = Some(q);
        let t = tx.insert_ticket(&nt, at(1))?;
        for (secs, kind) in [(3, "claimed"), (2, "ticket_filed"), (3, "closed")] {
            tx.log_event(&NewEvent {
                at: at(secs),
                key: Some(key.clone()),
                author: UserId::new("sam"),
                ticket: Some(t.id),
                kind: kind.into(),
                detail: serde_json::json!({ "n": secs }),
            })?;
        }
        made = Some(t.id);
        Ok(String::new())
    })
    .unwrap();
    let id = made.unwrap();
    let events = a.ticket_events(id).unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["ticket_filed", "claimed", "closed"],
        "by time, then logged"
    );
    assert_eq!(events[0].detail, serde_json::json!({ "n": 2 }));
    assert_eq!(events[0].author, UserId::new("sam"));
    assert_eq!(events[0].at, at(2));
    let ranking = a.ranking_of(id).unwrap();
    assert_eq!(
        ranking
            .iter()
            .map(|r| (r.id.as_str(), r.score))
            .collect::<Vec<_>>(),
        [("dns", 0.75), ("wifi", 0.5)]
    );
    let direct = file(store, "t2", &key, "router", "q", "s");
    assert!(a.ranking_of(direct.id).unwrap().is_empty());
    assert!(a.ticket_events(TicketId(9999)).unwrap().is_empty());
}

pub fn a_login_link_works_once_within_its_expiry(store: &dyn Store) {
    let a = archive(store);
    let staff = Principal {
        user: UserId::new("sam"),
        guild: Some("g1".into()),
    };
    let local = Principal {
        user: UserId::new("local"),
        guild: None,
    };
    a.create_login("h1", &staff, at(0), at(600)).unwrap();
    a.create_login("h2", &local, at(0), at(600)).unwrap();
    a.create_login("h3", &staff, at(0), at(600)).unwrap();
    assert!(
        a.create_login("h1", &local, at(0), at(600)).is_err(),
        "a hash is issued once"
    );
    assert_eq!(
        a.redeem_login("h1", at(599)).unwrap(),
        Redeemed::Ok(staff.clone())
    );
    assert_eq!(a.redeem_login("h1", at(599)).unwrap(), Redeemed::Used);
    assert_eq!(
        a.redeem_login("h1", at(900)).unwrap(),
        Redeemed::Used,
        "used, then late"
    );
    assert_eq!(a.redeem_login("h2", at(1)).unwrap(), Redeemed::Ok(local));
    assert_eq!(a.redeem_login("h3", at(600)).unwrap(), Redeemed::Expired);
    // The expired attempt used nothing up: the same link still works at a
    // time within its expiry (a clock moved back, here).
    assert_eq!(a.redeem_login("h3", at(10)).unwrap(), Redeemed::Ok(staff));
    assert_eq!(a.redeem_login("nope", at(1)).unwrap(), Redeemed::Unknown);
}

pub fn sessions_last_until_they_expire_or_end(store: &dyn Store) {
    let a = archive(store);
    let s = Session {
        principal: Principal {
            user: UserId::new("sam"),
            guild: Some("g1".into()),
        },
        csrf: "csrf-token".into(),
        expires_at: at(3600),
    };
    a.create_session("s1", &s, at(0)).unwrap();
    let local = Session {
        principal: Principal {
            user: UserId::new("local"),
            guild: None,
        },
        ..s.clone()
    };
    a.create_session("s2", &local, at(0)).unwrap();
    assert_eq!(a.session("s1", at(3599)).unwrap(), Some(s.clone()));
    assert_eq!(a.session("s2", at(1)).unwrap(), Some(local));
    assert_eq!(a.session("s1", at(3600)).unwrap(), None, "expired");
    assert_eq!(a.session("nope", at(1)).unwrap(), None);
    a.end_session("s1").unwrap();
    assert_eq!(a.session("s1", at(1)).unwrap(), None, "ended");
    assert!(a.session("s2", at(1)).unwrap().is_some(), "only that one");
    a.end_session("nope").unwrap();
}

// --- PostgreSQL only: two processes on one database at once. ---

#[test]
fn postgres_a_login_link_redeemed_by_two_processes_at_once_is_used_once() {
    let Some((_db, a, b)) = pg_pair() else { return };
    const THREADS: usize = 8;
    let who = Principal {
        user: UserId::new("sam"),
        guild: Some("g1".into()),
    };
    for round in 0..5 {
        let token = format!("token-{round}");
        a.create_login(&token, &who, at(0), at(600)).unwrap();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|n| {
                let store = if n % 2 == 0 { a.clone() } else { b.clone() };
                let (barrier, token) = (barrier.clone(), token.clone());
                thread::spawn(move || {
                    barrier.wait();
                    store.redeem_login(&token, at(10)).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<Redeemed> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let won: Vec<&Redeemed> = outcomes
            .iter()
            .filter(|r| matches!(r, Redeemed::Ok(_)))
            .collect();
        assert_eq!(won, [&Redeemed::Ok(who.clone())], "{outcomes:?}");
        assert_eq!(
            outcomes.iter().filter(|r| **r == Redeemed::Used).count(),
            THREADS - 1,
            "{outcomes:?}"
        );
    }
}

/// What each thread does: its number, its process's archive.
type Step = dyn Fn(usize, &dyn Archive) -> bool + Send + Sync;

#[test]
fn postgres_one_message_recorded_and_edited_by_two_processes_at_once() {
    let Some((_db, a, b)) = pg_pair() else { return };
    const THREADS: usize = 6;
    let key = ConversationKey::new("chan", "carol");
    let t = file(a.as_ref(), "t1", &key, "router", "q", "s");
    a.attach_place(t.id, &Place::new("thread-1")).unwrap();
    let run = |f: Arc<Step>| -> Vec<bool> {
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|n| {
                let store = if n % 2 == 0 { a.clone() } else { b.clone() };
                let (barrier, f) = (barrier.clone(), f.clone());
                thread::spawn(move || {
                    barrier.wait();
                    f(n, store.as_ref() as &dyn Archive)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let recorded = run(Arc::new(|n, s: &dyn Archive| {
        s.record_message(&msg("777", "thread-1", 5, &format!("v{n}")))
            .unwrap()
    }));
    assert_eq!(recorded.iter().filter(|r| **r).count(), 1, "{recorded:?}");
    // Concurrent edits (one second, so the history is in the order
    // recorded): each replaces the text the one before it left, so the
    // history is one unbroken chain from the original, no version lost.
    let original = a.transcript(&t).unwrap()[0].content.clone();
    let edited = run(Arc::new(|n, s: &dyn Archive| {
        s.record_edit("777", at(10), &format!("edit {n}"), None)
            .unwrap()
    }));
    assert!(
        edited.iter().all(|e| *e),
        "every edit changed the text: {edited:?}"
    );
    let m = a.transcript(&t).unwrap().remove(0);
    let mut chain: Vec<String> = m.edits.iter().map(|e| e.previous.clone()).collect();
    chain.push(m.content.clone());
    assert_eq!(chain[0], original, "{chain:?}");
    let mut expected: BTreeSet<String> = (0..THREADS).map(|n| format!("edit {n}")).collect();
    expected.insert(original);
    assert_eq!(chain.len(), THREADS + 1, "{chain:?}");
    assert_eq!(chain.into_iter().collect::<BTreeSet<_>>(), expected);
}
