//! Delivery at the wire: redelivered events and a resumed session answer
//! once, a reply that failed to post is posted on redelivery, a reply
//! committed before a restart is posted at startup, and an interaction that
//! waited in a queue is acknowledged by its age.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_and_redelivered_events_answer_once() {
    let h = Harness::ready().await;
    h.fake.drop_connection().await;
    let resume = h.fake.wait_gateway_op(6, T).await;
    assert!(resume.d()["session_id"].is_string());
    h.fake.wait_dispatch_sent("RESUMED", T).await;

    // The same interaction delivered twice (Discord retrying after the
    // reconnect): one answer, and one conversation step in the store.
    let ix = h.slash_ix(
        ids::ALICE,
        ids::HELP_CHANNEL,
        "diagnose",
        vec![opt_string("symptom", "widget is missing")],
    );
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    // The same message delivered twice.
    let mark = h.fake.mark();
    let m = payloads::message_create(
        h.world(),
        ids::OWNER,
        ids::HELP_CHANNEL,
        "my widget is missing",
    );
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    h.fake.wait_callback(&ix, T).await;
    // A sentinel after both: once it is answered, the duplicates have been handled.
    let mark = h.fake.mark();
    let s = h.say(ids::BOB, ids::STAFF_CHANNEL, "unrelated");
    let _ = s;
    let sentinel = h.slash_ix(
        ids::OWNER,
        ids::HELP_CHANNEL,
        "diagnose",
        vec![opt_string("symptom", "widget is missing")],
    );
    h.interact(&sentinel).await;
    let _ = mark;
    let callbacks = h
        .fake
        .requests()
        .iter()
        .filter(|r| {
            r.path
                .starts_with(&format!("/interactions/{}/", payloads::id_of(&ix, "id")))
        })
        .count();
    assert_eq!(callbacks, 1, "one response to a redelivered interaction");
    let replies = h.replies_to(&m["id"]);
    assert_eq!(replies, 1, "one reply to a redelivered message");
    let queries = h.queries();
    assert_eq!(
        queries.len(),
        3,
        "alice, the owner's message and the sentinel"
    );
    h.stop().await.unwrap();
}

/// Discord fails the bot's answer (a 500 after the engine committed the
/// step); the redelivered message is answered then, exactly once, and a
/// further redelivery gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_that_failed_to_post_is_posted_on_redelivery_exactly_once() {
    let h = Harness::ready().await;
    let path = format!("/channels/{}/messages", ids::HELP_CHANNEL);
    h.fake.override_route_times(
        "POST",
        &path,
        500,
        payloads::error_body(0, "500: Internal Server Error"),
        1,
    );
    let mark = h.fake.mark();
    let m = h.say(ids::ALICE, ids::HELP_CHANNEL, "my widget is missing");
    h.fake
        .wait_request_after(mark, T, |r| r.is("POST", &path) && r.status == 500)
        .await;
    let answers = || {
        h.fake
            .requests()
            .iter()
            .filter(|r| {
                r.is("POST", &path)
                    && r.status == 200
                    && r.body["message_reference"]["message_id"] == m["id"]
            })
            .count()
    };
    assert_eq!(answers(), 0);
    // Discord redelivers the message (a resumed session replays it).
    let mark = h.fake.mark();
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    let answer = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(answer.body["message_reference"]["message_id"], m["id"]);
    assert!(answer.body["embeds"][0]["title"].is_string());
    // Once more, then a sentinel from the same user in the same channel,
    // handled after it: the second redelivery posted nothing.
    h.fake.dispatch("MESSAGE_CREATE", m.clone());
    let mark = h.fake.mark();
    let sentinel = h.say(ids::ALICE, ids::HELP_CHANNEL, "widget is missing again");
    let s = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(s.body["message_reference"]["message_id"], sentinel["id"]);
    assert_eq!(answers(), 1, "answered exactly once");
    assert_eq!(h.queries().len(), 2, "the redeliveries changed nothing");
    // Marked delivered before the sentinel (next in line) was handled.
    let m_id = payloads::id_of(&m, "id").to_string();
    assert!(!h
        .store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .iter()
        .any(|u| u.id.as_str() == m_id));
    h.stop().await.unwrap();
}

/// The process died between committing a step and posting its reply: the
/// next start posts it as a plain channel message (the interaction token
/// would be long gone), opening the ticket thread the reply needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_committed_before_a_restart_is_posted_at_startup() {
    let key =
        triage::engine::ConversationKey::new(ids::HELP_CHANNEL.to_string(), ids::ALICE.to_string());
    let h = Harness::start_seeded(FakeOptions::default(), None, |core| {
        let engine = triage::engine::Engine::new(
            core.matcher.clone(),
            core.store.clone(),
            core.clock.clone(),
        );
        let esc = triage::engine::Input::act("1", key.clone(), triage::engine::Action::Escalate)
            .in_product(Some("convot".into()));
        let r = engine.handle(&esc).unwrap();
        assert!(r.undelivered);
    })
    .await;
    // Any request since the start (mark 0): the bot posts these by itself.
    let created = h.help_thread_after(0).await;
    let tid = payloads::id_of(&created.response, "id");
    h.post_containing_after(0, tid, "1/3").await;
    let pointer = h
        .post_containing_after(0, ids::HELP_CHANNEL, &format!("<#{tid}>"))
        .await;
    no_pings(&pointer.body);
    assert!(content(&pointer.body).starts_with(&format!("<@{}>", ids::ALICE)));
    assert_eq!(
        pointer.body["allowed_mentions"]["users"],
        json!([ids::ALICE.to_string()]),
        "the customer is told whose answer it is"
    );
    // The customer answers in the thread as usual.
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "app_12345");
    assert!(content(&h.bot_post_after(mark, tid).await.body).contains("2/3"));
    let store = h.store.clone();
    h.stop().await.unwrap();
    assert!(store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .is_empty());
}

/// An interaction snowflake created `ago` before now (Discord's ids carry
/// their creation time).
fn snowflake_from(ago: Duration) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        - ago;
    let ms = now.as_millis() as u64 - 1_420_070_400_000;
    ((ms << 22) | (payloads::next_id() & 0x3f_ffff)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_that_waited_in_a_queue_is_acknowledged_by_its_age() {
    // The same slow answer (0.7 s): a fresh interaction gets it directly,
    // well inside the 1.5 s mark; one created 1.4 s before it reached the
    // bot (queued behind a burst) would pass that mark before the answer
    // is ready, so it is acknowledged first and its answer goes into the
    // deferred response.
    let h = Harness::ready().await;
    for (ago, deferred) in [(Duration::ZERO, false), (Duration::from_millis(1400), true)] {
        let mut ix = h.slash_ix(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "diagnose",
            vec![opt_string("symptom", "widget is missing, slowly")],
        );
        if !ago.is_zero() {
            ix["id"] = json!(snowflake_from(ago));
        }
        let mark = h.fake.mark();
        let cb = h.interact(&ix).await;
        if deferred {
            assert_eq!(cb.body["type"], 5, "acknowledged first: {}", cb.body);
            let answer = h.original_edit_after(mark).await;
            assert!(
                answer.body["embeds"][0]["title"].is_string(),
                "{}",
                answer.body
            );
        } else {
            assert_eq!(cb.body["type"], 4, "answered directly: {}", cb.body);
        }
    }
    h.fake.assert_no_violations();
    h.stop().await.unwrap();
}
