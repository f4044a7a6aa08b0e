//! Faults on the gateway side: a RESUME refused while the customer answers
//! a question, and a member flooding a help channel with questions.

use super::*;

/// A refused RESUME: the session is gone while the customer answers the
/// first question. The bot re-identifies (about 5 s, serenity's wait),
/// reads the ticket thread since the last message it saw, and takes the
/// answer, once; the ticket is filed with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_typed_while_the_session_could_not_resume_still_counts_once() {
    let mut h = Harness::ready(Policy::default()).await;
    h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    let asked = h.posted(tid, "1/3").await;
    let identified = h.fake.connections();
    h.fake.invalidate_session();
    h.fake.drop_connection().await;
    // Typed during the gap: stored by Discord, never dispatched.
    h.fake.store_message(payloads::message_create(
        h.fake.world(),
        ids::ALICE,
        tid,
        "app_12345",
    ));
    h.fake.wait_gateway_op_count(2, 2, T).await;
    assert!(h.fake.connections() > identified);
    let taken = h.posted(tid, "2/3").await;
    eprintln!(
        "FIGURE refused RESUME: answer typed in the gap taken {} ms after the question (re-identify included)",
        taken.at.duration_since(asked.at).as_millis()
    );
    let history = h
        .fake
        .wait_request(T, |r| {
            r.is("GET", &format!("/channels/{tid}/messages")) && r.query.contains("after=")
        })
        .await;
    assert_eq!(history.status, 200);
    h.say(tid, "https://example.com/pricing");
    h.posted(tid, "3/3").await;
    h.say(tid, "nothing in the console at all");
    h.posted(tid, PING).await;
    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    h.stop().await;
    let ticket = &h.store.tickets(None).unwrap()[0];
    assert_eq!(ticket.field("app_key"), Some("app_12345"));
    h.fake.assert_no_violations();
}

/// 30 questions from one member in 2 seconds: the first 5 (the default
/// `help_answers_per_minute`) are answered, the rest ignored; a minute later
/// (the injected clock moved on) the member is answered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_flooding_a_help_channel_gets_at_most_n_answers_a_minute() {
    let mut h = Harness::ready(Policy::default()).await;
    let sent: Vec<Value> = (0..30)
        .map(|i| h.say(ids::HELP_CHANNEL, &format!("the widget is missing ({i})")))
        .collect();
    // Handled after all 30 (one line per member and channel), and not a
    // help-channel question: its answer says the 30 were dealt with.
    let sentinel = h
        .slash(
            "diagnose",
            vec![opt_string("symptom", "the widget is missing")],
        )
        .await;
    h.fake.wait_callback(&sentinel, T).await;
    *h.clock.ahead.lock().unwrap() = time::Duration::seconds(61);
    let last = h.say(ids::HELP_CHANNEL, "the widget is missing again");
    let path = format!("/channels/{}/messages", ids::HELP_CHANNEL);
    let last_id = last["id"].clone();
    h.fake
        .wait_request(T, |r| {
            r.is("POST", &path) && r.body["message_reference"]["message_id"] == last_id
        })
        .await;
    let answered: Vec<usize> = sent
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            h.fake.requests().iter().any(|r| {
                r.is("POST", &path) && r.body["message_reference"]["message_id"] == m["id"]
            })
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(answered, [0, 1, 2, 3, 4], "the first five, once each");
    h.stop().await;
    h.fake.assert_no_violations();
}
