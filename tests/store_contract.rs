//! The store contract: the same tests against the embedded SQLite store
//! and the shared PostgreSQL store (a fresh database per test on the server
//! `TRIAGE_TEST_POSTGRES` names; without it the PostgreSQL half says so on
//! one line and checks nothing). Then what only a shared database has:
//! several stores ("processes") on one database at once. The archive's
//! half (transcripts, search, logins, sessions) is `store_contract/archive.rs`.

#[path = "store_contract/archive.rs"]
mod archive;
#[path = "support/postgres.rs"]
mod pg;

use std::sync::{Arc, Barrier};
use std::thread;

use archive::{
    a_login_link_works_once_within_its_expiry, a_tickets_timeline_and_ranking_are_read_back,
    places_learn_their_guild_once_and_scope_tickets, sessions_last_until_they_expire_or_end,
    ticket_search_filters_and_pages_newest_first,
    transcripts_are_recorded_once_in_order_with_edits_and_deletions,
};
use time::OffsetDateTime;
use triage::kb::{CheckId, EntryId, FieldId, ProductId};
use triage::matcher::Decision;
use triage::tickets::{
    Applied, ConversationKey, Feedback, FieldValue, InputId, InputMeta, Lifecycle, LoggedResult,
    NewEvent, NewQuery, NewTicket, PgStore, Place, QueryUpdate, SqliteStore, Store, StoreError,
    Survey, TicketId, TicketStatus, TimerKind, TimerState, UserId,
};

/// Runs each contract test against both backends.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&super::SqliteStore::in_memory().unwrap()); })*
        }
        mod postgres {
            $(#[test] fn $name() {
                let Some(db) = super::pg::TestDb::new() else { return };
                let store = super::PgStore::connect(&db.url).unwrap();
                super::$name(&store);
            })*
        }
    };
}

contract!(
    an_input_applies_once_and_a_redelivery_returns_the_first_reply,
    a_failed_step_writes_nothing,
    tickets_round_trip_with_fields_status_and_places,
    the_query_log_records_and_updates_questions,
    delivery_parts_keep_their_first_record_and_go_once_delivered,
    undelivered_replies_are_listed_until_marked,
    a_due_timer_is_claimed_once_and_cancelled_timers_never,
    lifecycle_and_surveys_round_trip,
    collecting_conversations_list_their_thread_and_last_numeric_input,
    an_undelivered_reply_is_leased_by_one_process_until_its_lease_runs_out,
    transcripts_are_recorded_once_in_order_with_edits_and_deletions,
    places_learn_their_guild_once_and_scope_tickets,
    ticket_search_filters_and_pages_newest_first,
    a_tickets_timeline_and_ranking_are_read_back,
    a_login_link_works_once_within_its_expiry,
    sessions_last_until_they_expire_or_end,
);

fn an_undelivered_reply_is_leased_by_one_process_until_its_lease_runs_out(store: &dyn Store) {
    let key = ConversationKey::new("chan", "jo");
    for id in ["r1", "r2"] {
        apply(store, id, &key, &mut |_| Ok(format!("reply {id}"))).unwrap();
    }
    let (r1, r2) = (InputId::new("r1"), InputId::new("r2"));
    assert!(store.claim_reply(&r1, "proc-a", at(5), at(65)).unwrap());
    // Another process cannot take it while the lease holds; its holder can
    // renew it.
    assert!(!store.claim_reply(&r1, "proc-b", at(6), at(66)).unwrap());
    assert!(store.claim_reply(&r1, "proc-a", at(7), at(67)).unwrap());
    // Leases are per reply.
    assert!(store.claim_reply(&r2, "proc-b", at(8), at(68)).unwrap());
    // A delivered reply is nobody's to post; an expired lease is free.
    store.mark_delivered(&r1, at(9)).unwrap();
    assert!(!store.claim_reply(&r1, "proc-a", at(10), at(70)).unwrap());
    assert!(!store.claim_reply(&r2, "proc-a", at(60), at(120)).unwrap());
    assert!(store.claim_reply(&r2, "proc-a", at(69), at(129)).unwrap());
    assert!(!store
        .claim_reply(&InputId::new("never"), "proc-a", at(70), at(130))
        .unwrap());
    // The lease does not hide the reply from the list of undelivered ones.
    let left: Vec<String> = store
        .undelivered(at(-10))
        .unwrap()
        .into_iter()
        .map(|u| u.id.as_str().to_owned())
        .collect();
    assert_eq!(left, ["r2"]);
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

fn apply(
    store: &dyn Store,
    id: &str,
    key: &ConversationKey,
    step: &mut dyn FnMut(&mut dyn triage::tickets::Tx) -> Result<String, StoreError>,
) -> Result<Applied, StoreError> {
    let id = InputId::new(id);
    let meta = InputMeta {
        id: &id,
        key: Some(key),
        author: &key.user,
        at: at(0),
        origin: None,
    };
    store.apply(&meta, step)
}

fn new_ticket(key: &ConversationKey) -> NewTicket {
    NewTicket {
        product: ProductId::new("router"),
        entry: Some(EntryId::new("no-internet")),
        question: Some("no internet".into()),
        tried: vec![CheckId::new("reboot")],
        fields: vec![
            FieldValue {
                id: FieldId::new("serial"),
                label: "Serial".into(),
                value: "AB-1".into(),
            },
            FieldValue {
                id: FieldId::new("firmware"),
                label: "Firmware".into(),
                value: "2.1".into(),
            },
        ],
        key: key.clone(),
        opened_by: key.user.clone(),
        query: None,
    }
}

/// A step that counts its runs in the conversation's state and files a ticket.
fn file_ticket(
    key: &ConversationKey,
) -> impl FnMut(&mut dyn triage::tickets::Tx) -> Result<String, StoreError> + '_ {
    move |tx| {
        let n = tx
            .conversation(key)?
            .map(|c| c.state.parse::<u64>().unwrap())
            .unwrap_or(0);
        let t = tx.insert_ticket(&new_ticket(key), at(1))?;
        tx.save_conversation(key, &(n + 1).to_string(), "idle", at(1))?;
        Ok(format!("filed {}", t.id))
    }
}

fn an_input_applies_once_and_a_redelivery_returns_the_first_reply(store: &dyn Store) {
    let key = ConversationKey::new("chan", "alice");
    let first = apply(store, "m1", &key, &mut file_ticket(&key)).unwrap();
    let Applied::Fresh(reply) = first else {
        panic!("{first:?}")
    };
    let again = apply(store, "m1", &key, &mut |_| {
        panic!("a redelivery runs nothing")
    })
    .unwrap();
    assert_eq!(
        again,
        Applied::Duplicate {
            reply: reply.clone(),
            delivered: false
        }
    );
    store.mark_delivered(&InputId::new("m1"), at(2)).unwrap();
    let again = apply(store, "m1", &key, &mut |_| panic!("no")).unwrap();
    assert_eq!(
        again,
        Applied::Duplicate {
            reply,
            delivered: true
        }
    );
    assert_eq!(store.tickets(None).unwrap().len(), 1);
    let conv = store.conversation(&key).unwrap().unwrap();
    assert_eq!((conv.state.as_str(), conv.inputs_seen), ("1", 1));
}

fn a_failed_step_writes_nothing(store: &dyn Store) {
    let key = ConversationKey::new("chan", "bob");
    let err = apply(store, "m1", &key, &mut |tx| {
        tx.insert_ticket(&new_ticket(&key), at(1))?;
        tx.save_conversation(&key, "1", "idle", at(1))?;
        Err(StoreError::Corrupt {
            what: "test",
            detail: "the step fails after writing".into(),
        })
    });
    assert!(err.is_err());
    assert!(store.tickets(None).unwrap().is_empty());
    assert_eq!(store.conversation(&key).unwrap(), None);
    // The id was not recorded either: the input can be applied later.
    let later = apply(store, "m1", &key, &mut file_ticket(&key)).unwrap();
    assert!(matches!(later, Applied::Fresh(_)), "{later:?}");
}

fn tickets_round_trip_with_fields_status_and_places(store: &dyn Store) {
    let key = ConversationKey::new("chan", "carol");
    let mut ids = Vec::new();
    for n in 0..2 {
        apply(store, &format!("m{n}"), &key, &mut |tx| {
            let t = tx.insert_ticket(&new_ticket(&key), at(n))?;
            ids.push(t.id);
            Ok(String::new())
        })
        .unwrap();
    }
    assert!(ids[1].0 > ids[0].0, "ticket numbers grow: {ids:?}");
    let t = store.ticket(ids[0]).unwrap().unwrap();
    assert_eq!(t.field("serial"), Some("AB-1"));
    assert_eq!(
        t.fields[1].id.as_str(),
        "firmware",
        "fields keep their order"
    );
    assert_eq!(t.tried, vec![CheckId::new("reboot")]);
    assert_eq!(t.status, TicketStatus::Open);
    apply(store, "claim", &key, &mut |tx| {
        tx.set_ticket_status(
            ids[0],
            TicketStatus::Closed,
            Some(&UserId::new("staff")),
            Some("fixed"),
            at(5),
        )?;
        Ok(String::new())
    })
    .unwrap();
    let t = store.ticket(ids[0]).unwrap().unwrap();
    assert_eq!(t.status, TicketStatus::Closed);
    assert_eq!(t.claimed_by, Some(UserId::new("staff")));
    assert_eq!(t.close_reason.as_deref(), Some("fixed"));
    assert_eq!(t.updated_at, at(5));
    let open: Vec<TicketId> = store
        .tickets(Some(TicketStatus::Open))
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(open, vec![ids[1]]);
    let all: Vec<TicketId> = store.tickets(None).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(all, vec![ids[1], ids[0]], "newest first");
    // Places: the conversation's place finds the newest; an attached
    // thread finds its own ticket, and is where the ticket is handled.
    assert_eq!(store.ticket_at(&Place::new("chan")).unwrap(), Some(ids[1]));
    store.attach_place(ids[0], &Place::new("thread-a")).unwrap();
    store.attach_place(ids[0], &Place::new("thread-b")).unwrap();
    assert_eq!(
        store.ticket_at(&Place::new("thread-a")).unwrap(),
        Some(ids[0])
    );
    assert_eq!(
        store.place_of(ids[0]).unwrap(),
        Some(Place::new("thread-b"))
    );
    store.attach_place(ids[0], &Place::new("thread-a")).unwrap();
    assert_eq!(store.place_of(ids[1]).unwrap(), Some(Place::new("chan")));
    assert_eq!(store.ticket(TicketId(9999)).unwrap(), None);
}

fn the_query_log_records_and_updates_questions(store: &dyn Store) {
    let key = ConversationKey::new("chan", "dave");
    apply(store, "q", &key, &mut |tx| {
        let q = tx.insert_query(&NewQuery {
            at: at(10),
            key: key.clone(),
            asked_by: key.user.clone(),
            product: None,
            text: "wifi drops".into(),
            decision: Decision::Suggest,
            results: vec![LoggedResult {
                id: EntryId::new("wifi"),
                score: 0.5,
            }],
            check: None,
            entry: None,
        })?;
        tx.update_query(
            q,
            &QueryUpdate {
                product: Some(ProductId::new("router")),
                feedback: Some(Feedback::StillBroken),
                tried: Some(vec![CheckId::new("reboot")]),
                ..Default::default()
            },
        )?;
        tx.log_event(&NewEvent {
            at: at(10),
            key: Some(key.clone()),
            author: key.user.clone(),
            ticket: None,
            kind: "asked".into(),
            detail: serde_json::json!({"q": 1}),
        })?;
        Ok(String::new())
    })
    .unwrap();
    let log = store.queries_since(at(0)).unwrap();
    assert_eq!(log.len(), 1);
    let q = &log[0];
    assert_eq!(q.text, "wifi drops");
    assert_eq!(q.decision, Decision::Suggest);
    assert_eq!(q.product, Some(ProductId::new("router")));
    assert_eq!(q.feedback, Some(Feedback::StillBroken));
    assert_eq!(q.tried, vec![CheckId::new("reboot")]);
    assert_eq!(q.results[0].id, EntryId::new("wifi"));
    assert!(store.queries_since(at(11)).unwrap().is_empty());
}

fn delivery_parts_keep_their_first_record_and_go_once_delivered(store: &dyn Store) {
    let id = InputId::new("1310000000000000000");
    let t = at(0);
    store
        .mark_part(&id, "via", Some("{\"token\":\"t\"}"), t)
        .unwrap();
    store.mark_part(&id, "thread", Some("42"), t).unwrap();
    store.mark_part(&id, "thread", Some("43"), t).unwrap();
    let parts = store.parts(&id).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1], ("thread".to_owned(), Some("42".to_owned())));
    store.mark_delivered(&id, t).unwrap();
    assert!(store.parts(&id).unwrap().is_empty(), "no token kept");
    let key = ConversationKey::new("1", "2");
    assert_eq!(store.conversation_thread(&key).unwrap(), None);
    store
        .set_conversation_thread(&key, &Place::new("42"), t)
        .unwrap();
    store
        .set_conversation_thread(&key, &Place::new("44"), t)
        .unwrap();
    assert_eq!(
        store.conversation_thread(&key).unwrap(),
        Some(Place::new("44"))
    );
}

fn undelivered_replies_are_listed_until_marked(store: &dyn Store) {
    let key = ConversationKey::new("chan", "erin");
    for (n, id) in ["a", "b", "c"].iter().enumerate() {
        let id = InputId::new(*id);
        let origin = Place::new("thread");
        let meta = InputMeta {
            id: &id,
            key: Some(&key),
            author: &key.user,
            at: at(n as i64),
            origin: Some(&origin),
        };
        store
            .apply(&meta, &mut |_| Ok(format!("reply {n}")))
            .unwrap();
    }
    store.mark_delivered(&InputId::new("b"), at(9)).unwrap();
    let left = store.undelivered(at(0)).unwrap();
    let ids: Vec<&str> = left.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "c"], "oldest first, delivered ones gone");
    assert_eq!(left[1].reply, "reply 2");
    assert_eq!(left[1].key.as_ref(), Some(&key));
    assert_eq!(left[1].origin, Some(Place::new("thread")));
    assert_eq!(store.undelivered(at(1)).unwrap().len(), 1);
}

fn a_due_timer_is_claimed_once_and_cancelled_timers_never(store: &dyn Store) {
    let key = ConversationKey::new("chan", "frank");
    let mut ids = Vec::new();
    apply(store, "t", &key, &mut |tx| {
        let t = tx.insert_ticket(&new_ticket(&key), at(0))?;
        ids.push(tx.add_timer(t.id, TimerKind::StalePing, at(100), at(0))?);
        ids.push(tx.add_timer(t.id, TimerKind::AutoClose, at(200), at(0))?);
        ids.push(tx.add_timer(t.id, TimerKind::CloseRequest, at(100), at(0))?);
        let n = tx.cancel_timers(t.id, &[TimerKind::CloseRequest, TimerKind::StaffPing])?;
        assert_eq!(n, 1);
        Ok(String::new())
    })
    .unwrap();
    assert!(store.due_timers(at(99), 10).unwrap().is_empty());
    let due = store.due_timers(at(150), 10).unwrap();
    assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![ids[0]]);
    let mut claims = Vec::new();
    for (n, id) in [ids[0], ids[0], ids[1], ids[2]].into_iter().enumerate() {
        apply(store, &format!("fire{n}"), &key, &mut |tx| {
            claims.push(tx.claim_timer(id, "poller", at(150))?.map(|t| t.state));
            Ok(String::new())
        })
        .unwrap();
    }
    assert_eq!(claims, vec![Some(TimerState::Done), None, None, None]);
    let all = store.timers(None).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].claim_token.as_deref(), Some("poller"));
    assert_eq!(all[0].fired_at, Some(at(150)));
    assert_eq!(all[2].state, TimerState::Cancelled);
    assert_eq!(store.timers(Some(all[0].ticket)).unwrap().len(), 3);
}

fn lifecycle_and_surveys_round_trip(store: &dyn Store) {
    let key = ConversationKey::new("chan", "gina");
    let mut id = None;
    apply(store, "l", &key, &mut |tx| {
        let t = tx.insert_ticket(&new_ticket(&key), at(0))?;
        id = Some(t.id);
        assert_eq!(tx.lifecycle(t.id)?, Lifecycle::new(t.id));
        let mut l = Lifecycle::new(t.id);
        l.hold = true;
        l.last_customer_at = Some(at(3));
        l.first_staff_by = Some(UserId::new("staff"));
        tx.save_lifecycle(&l)?;
        assert_eq!(tx.lifecycle(t.id)?, l);
        assert_eq!(tx.survey(t.id)?, None);
        tx.save_survey(&Survey {
            ticket: t.id,
            product: ProductId::new("router"),
            staff: None,
            asked_at: at(4),
            rating: Some(5),
            comment: Some("thanks".into()),
            answered_at: Some(at(5)),
        })?;
        assert_eq!(tx.place_of(t.id)?, Some(Place::new("chan")));
        Ok(String::new())
    })
    .unwrap();
    let lifes = store.lifecycles().unwrap();
    assert!(lifes[0].hold);
    let surveys = store.surveys().unwrap();
    assert_eq!(surveys[0].ticket, id.unwrap());
    assert_eq!(surveys[0].rating, Some(5));
}

fn collecting_conversations_list_their_thread_and_last_numeric_input(store: &dyn Store) {
    let key = ConversationKey::new("chan", "hank");
    for id in ["1310000000000000001", "1310000000000000009", "terminal:x"] {
        apply(store, id, &key, &mut |tx| {
            tx.save_conversation(&key, "{}", "collecting", at(0))?;
            Ok(String::new())
        })
        .unwrap();
    }
    let idle = ConversationKey::new("chan", "ivy");
    apply(store, "5", &idle, &mut |tx| {
        tx.save_conversation(&idle, "{}", "idle", at(0))?;
        Ok(String::new())
    })
    .unwrap();
    store
        .set_conversation_thread(&key, &Place::new("t1"), at(0))
        .unwrap();
    let open = store.open_threads().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, key);
    assert_eq!(open[0].thread, Place::new("t1"));
    assert_eq!(open[0].last_input, Some(1310000000000000009));
}

// --- What only a shared database has: several stores on one database. ---

fn pg_pair() -> Option<(pg::TestDb, Arc<PgStore>, Arc<PgStore>)> {
    let db = pg::TestDb::new()?;
    let a = Arc::new(PgStore::connect(&db.url).unwrap());
    let b = Arc::new(PgStore::connect(&db.url).unwrap());
    Some((db, a, b))
}

#[test]
fn postgres_the_same_input_from_two_processes_at_once_applies_exactly_once() {
    let Some((_db, a, b)) = pg_pair() else { return };
    const THREADS: usize = 8;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            thread::spawn(move || {
                let key = ConversationKey::new("chan", "alice");
                barrier.wait();
                let r = apply(store.as_ref(), "same-id", &key, &mut file_ticket(&key)).unwrap();
                r
            })
        })
        .collect();
    let results: Vec<Applied> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Applied::Fresh(_)))
        .count();
    assert_eq!(fresh, 1, "{results:?}");
    let Some(Applied::Fresh(reply)) = results.iter().find(|r| matches!(r, Applied::Fresh(_)))
    else {
        unreachable!()
    };
    for r in &results {
        match r {
            Applied::Fresh(_) => {}
            Applied::Duplicate { reply: dup, .. } => assert_eq!(dup, reply),
        }
    }
    assert_eq!(
        a.tickets(None).unwrap().len(),
        1,
        "one ticket, not one per thread"
    );
}

#[test]
fn postgres_inputs_of_one_conversation_from_two_processes_serialize() {
    let Some((_db, a, b)) = pg_pair() else { return };
    const THREADS: usize = 6;
    const EACH: usize = 5;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            thread::spawn(move || {
                let key = ConversationKey::new("chan", "bob");
                barrier.wait();
                for i in 0..EACH {
                    // Read-modify-write of the conversation: without the
                    // per-conversation lock, concurrent steps lose counts.
                    let r = apply(
                        store.as_ref(),
                        &format!("{n}-{i}"),
                        &key,
                        &mut file_ticket(&key),
                    );
                    assert!(matches!(r, Ok(Applied::Fresh(_))), "{r:?}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let conv = a
        .conversation(&ConversationKey::new("chan", "bob"))
        .unwrap()
        .unwrap();
    assert_eq!(conv.state, (THREADS * EACH).to_string(), "no lost update");
    assert_eq!(conv.inputs_seen, (THREADS * EACH) as u64);
    assert_eq!(b.tickets(None).unwrap().len(), THREADS * EACH);
}

#[test]
fn postgres_a_due_timer_is_fired_by_exactly_one_of_many_pollers() {
    let Some((_db, a, b)) = pg_pair() else { return };
    let key = ConversationKey::new("chan", "carol");
    let mut timer = None;
    apply(a.as_ref(), "setup", &key, &mut |tx| {
        let t = tx.insert_ticket(&new_ticket(&key), at(0))?;
        timer = Some(tx.add_timer(t.id, TimerKind::StalePing, at(10), at(0))?);
        Ok(String::new())
    })
    .unwrap();
    let timer = timer.unwrap();
    const POLLERS: usize = 8;
    let barrier = Arc::new(Barrier::new(POLLERS));
    let handles: Vec<_> = (0..POLLERS)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            thread::spawn(move || {
                let due = store.due_timers(at(20), 10).unwrap();
                assert_eq!(due.len(), 1, "every poller sees the due timer");
                barrier.wait();
                // Each poller fires under its own input id and conversation
                // (a staff-less timer input), as the lifecycle poller does.
                let key = ConversationKey::new("timers", format!("poller-{n}"));
                let mut fired = false;
                apply(store.as_ref(), &format!("poll-{n}"), &key, &mut |tx| {
                    fired = tx.claim_timer(timer, &format!("p{n}"), at(20))?.is_some();
                    Ok(String::new())
                })
                .unwrap();
                fired
            })
        })
        .collect();
    let fired = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|f| *f)
        .count();
    assert_eq!(fired, 1);
    assert!(a.due_timers(at(20), 10).unwrap().is_empty());
}

#[test]
fn postgres_an_undelivered_reply_is_leased_by_exactly_one_of_many_processes() {
    let Some((_db, a, b)) = pg_pair() else { return };
    let key = ConversationKey::new("chan", "kim");
    for n in 0..20 {
        apply(a.as_ref(), &format!("r{n}"), &key, &mut |_| {
            Ok(String::new())
        })
        .unwrap();
    }
    const POLLERS: usize = 8;
    let barrier = Arc::new(Barrier::new(POLLERS));
    let handles: Vec<_> = (0..POLLERS)
        .map(|n| {
            let store = if n % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                // Every process tries every reply, as each would on startup.
                (0..20)
                    .map(|r| InputId::new(format!("r{r}")))
                    .filter(|id| {
                        store
                            .claim_reply(id, &format!("p{n}"), at(5), at(65))
                            .unwrap()
                    })
                    .map(|id| id.as_str().to_owned())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, all.len(), "no reply leased twice");
    assert_eq!(all.len(), 20, "every reply leased by someone");
}

#[test]
fn postgres_a_database_newer_than_this_triage_is_refused() {
    let Some(db) = pg::TestDb::new() else { return };
    drop(PgStore::connect(&db.url).unwrap());
    let v: i64 = db
        .query_text("SELECT MAX(version)::text FROM schema_version")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(v, 9, "every migration applied once");
    // Reopening changes nothing.
    drop(PgStore::connect(&db.url).unwrap());
    db.query_text("UPDATE schema_version SET version = 99 RETURNING NULL::text");
    let err = PgStore::connect(&db.url)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("schema version 99") && err.contains("upgrade triage"),
        "{err}"
    );
}

#[test]
fn postgres_two_processes_starting_together_migrate_once() {
    let Some(db) = pg::TestDb::new() else { return };
    let url = Arc::new(db.url.clone());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                PgStore::connect(&url).map(drop)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(
        db.query_text("SELECT COUNT(*)::text FROM schema_version")
            .as_deref(),
        Some("1")
    );
}

#[test]
fn postgres_a_dropped_connection_mid_input_leaves_nothing_half_written() {
    let Some(db) = pg::TestDb::new() else { return };
    let store = PgStore::connect(&db.url).unwrap();
    let key = ConversationKey::new("chan", "dave");
    apply(&store, "warm", &key, &mut file_ticket(&key)).unwrap();

    // The server drops every connection while a step is half done: the
    // ticket is inserted, the conversation not yet saved.
    let mut runs = 0;
    let result = apply(&store, "m1", &key, &mut |tx| {
        runs += 1;
        let t = tx.insert_ticket(&new_ticket(&key), at(1))?;
        if runs == 1 {
            db.terminate_connections();
        }
        tx.save_conversation(&key, "100", "idle", at(1))?;
        Ok(format!("filed {}", t.id))
    });
    match &result {
        // Retried on a new connection: the first attempt left nothing.
        Ok(Applied::Fresh(_)) => assert_eq!(runs, 2),
        Err(e) => assert!(e.to_string().contains("PostgreSQL"), "a clear error: {e}"),
        other => panic!("{other:?}"),
    }
    let filed = if result.is_ok() { 1 } else { 0 };
    assert_eq!(
        store.tickets(None).unwrap().len(),
        1 + filed,
        "no half-written ticket"
    );

    // And the store keeps working after the server dropped it again.
    db.terminate_connections();
    let next = apply(&store, "m2", &key, &mut file_ticket(&key))
        .or_else(|_| apply(&store, "m2", &key, &mut file_ticket(&key)))
        .unwrap();
    assert!(matches!(next, Applied::Fresh(_)), "{next:?}");
}

#[test]
fn postgres_the_store_works_from_async_code_and_drops_there() {
    let Some(db) = pg::TestDb::new() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = db.url.clone();
    rt.block_on(async move {
        let store = tokio::task::spawn_blocking(move || Arc::new(PgStore::connect(&url).unwrap()))
            .await
            .unwrap();
        let key = ConversationKey::new("chan", "erin");
        let s = store.clone();
        let k = key.clone();
        let r = tokio::task::spawn_blocking(move || {
            let r = apply(s.as_ref(), "m1", &k, &mut file_ticket(&k));
            r
        })
        .await
        .unwrap()
        .unwrap();
        assert!(matches!(r, Applied::Fresh(_)));
        // Called straight from async code (blocks, does not panic).
        assert!(store.conversation(&key).unwrap().is_some());
        drop(store);
    });
}
