//! Durability: redelivered inputs change nothing and repeat the reply until
//! it is delivered, a new id is a new answer, a restart resumes at the
//! field where it stopped, conversations are kept apart, and the engine is
//! shared across threads.

use super::*;

#[test]
fn a_redelivered_input_changes_nothing_and_gets_the_same_reply() {
    let h = Harness::new();
    let key = h.key.clone();
    let script = [
        "no audio",
        "escalate",
        "app_abc123",
        "https://shop.example.com",
        "14:05 CET",
        "I open the page and click call",
    ];
    for (i, line) in script.iter().enumerate() {
        let input = Input::say(format!("msg-{i}"), key.clone(), *line);
        let first = h.engine.handle(&input).unwrap();
        assert!(!first.duplicate);
        // Discord redelivers after a reconnect: same id, maybe twice.
        for _ in 0..2 {
            let again = h.engine.handle(&input).unwrap();
            assert!(again.duplicate);
            assert_eq!(again.outputs, first.outputs);
        }
    }
    assert_eq!(h.tickets().len(), 1);
    assert_eq!(
        h.store
            .queries_since(OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        1
    );
    // A replayed last line after filing does not file a second ticket.
    let last = Input::say("msg-5", key, "I open the page and click call");
    assert!(h.engine.handle(&last).unwrap().duplicate);
    assert_eq!(h.tickets().len(), 1);
}

#[test]
fn a_redelivered_input_whose_reply_was_never_delivered_gets_it_again() {
    let mut h = Harness::new();
    h.say("no audio at all");
    let input = Input::say("esc-1", h.key.clone(), "escalate").made_in(Some("thread-7".into()));
    let first = h.engine.handle(&input).unwrap();
    assert!(!first.duplicate && first.undelivered);
    // The post failed (or the process died): the redelivery carries the
    // reply again, and changes nothing.
    let again = h.engine.handle(&input).unwrap();
    assert!(again.duplicate && again.undelivered);
    assert_eq!(again.outputs, first.outputs);
    assert_eq!(prompt(&again).k, 1);
    assert!(matches!(h.phase(), Phase::Collecting { k: 1, .. }));
    // Listed for a late post, with where the input was made.
    let pending = h.engine.undelivered(Duration::days(1)).unwrap();
    let late = pending.iter().find(|p| p.id == input.id).unwrap();
    assert_eq!(late.origin.as_ref().map(|o| o.as_str()), Some("thread-7"));
    assert_eq!(late.key.as_ref(), Some(&h.key));
    assert_eq!(late.outputs, first.outputs);
}

#[test]
fn a_delivered_reply_is_not_repeated_or_listed() {
    let h = Harness::new();
    let input = Input::say("q-1", h.key.clone(), "no audio at all");
    h.engine.handle(&input).unwrap();
    h.engine.mark_delivered(&input.id).unwrap();
    let again = h.engine.handle(&input).unwrap();
    assert!(again.duplicate && !again.undelivered);
    assert!(again.outputs.is_empty(), "{:?}", again.outputs);
    assert!(h.engine.undelivered(Duration::days(1)).unwrap().is_empty());
    // Old undelivered replies are past the window.
    let old = Input::say("q-2", h.key.clone(), "solved");
    h.engine.handle(&old).unwrap();
    assert_eq!(h.engine.undelivered(Duration::days(1)).unwrap().len(), 1);
    h.clock.advance(Duration::days(2));
    assert!(h.engine.undelivered(Duration::days(1)).unwrap().is_empty());
}

#[test]
fn the_same_text_under_a_new_id_is_a_new_answer() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.say("app_abc123");
    // Same words again, new delivery: it answers the next field (and fails
    // its validation), it is not dropped as a duplicate.
    let r = h.say("app_abc123");
    assert!(!r.duplicate);
    assert_eq!(prompt(&r).k, 2);
    assert!(prompt(&r).problem.is_some());
}

#[test]
fn a_restart_resumes_the_escalation_at_the_field_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("triage.db");
    {
        let mut h = Harness::on_disk(&db);
        h.escalate_audio();
        h.say("app_abc123");
        h.say("https://shop.example.com");
    } // dropped: as good as a crash, since every step was committed
    let mut h = Harness::on_disk(&db);
    h.next = 100;
    let resume = h.engine.resume(&h.key).unwrap();
    assert_eq!(
        resume.phase,
        Phase::Collecting {
            product: ProductId::new("demo"),
            k: 3,
            n: 4
        }
    );
    assert_eq!(resume.inputs_seen, 4);
    assert!(resume
        .outputs
        .iter()
        .any(|o| matches!(o, Output::FieldPrompt(p) if p.k == 3)));
    h.say("14:05 CET");
    assert!(filed(&h.say("I open the page and click call")));
    let t = &h.tickets()[0];
    assert_eq!(t.field("app_key"), Some("app_abc123"));
    assert_eq!(t.field("page_url"), Some("https://shop.example.com"));
}

#[test]
fn conversations_are_kept_apart_by_place_and_user() {
    let mut h = Harness::new();
    h.escalate_audio();
    let bob = ConversationKey::new("chan-1", "bob");
    let r = h
        .engine
        .handle(&Input::say("bob-1", bob.clone(), "no audio"))
        .unwrap();
    assert_eq!(checklist(&r).entry.as_str(), "demo/no-audio");
    let thread = ConversationKey::new("thread-9", "alice");
    assert_eq!(h.engine.resume(&thread).unwrap().phase, Phase::Idle);
    assert!(matches!(h.phase(), Phase::Collecting { k: 1, .. }));
}

#[test]
fn engine_and_store_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<SqliteStore>();
    let h = Harness::new();
    let engine = Arc::new(h.engine);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let e = engine.clone();
            std::thread::spawn(move || {
                let key = ConversationKey::new("chan", format!("user-{i}"));
                e.handle(&Input::say(format!("t{i}-1"), key.clone(), "no audio"))
                    .unwrap();
                e.handle(&Input::say(format!("t{i}-2"), key, "solved"))
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        h.store
            .queries_since(OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        4
    );
}
