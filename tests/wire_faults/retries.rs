//! Faults the REST layer rides out within one run: a 500 on each part of
//! an escalation, 429s from a rate-limit proxy (per route and global), a
//! connection broken on an interaction callback, and a click whose work
//! fails ending with an edit that says so.

use super::*;

/// A 500, then success, on each part of an escalation: the thread greeting,
/// the first question, the summary with the support role's ping, and the
/// staff channel's summary. Each is retried by the REST layer and appears
/// exactly once; the ticket is delivered whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_on_each_part_of_an_escalation_is_retried_and_posted_once() {
    let h = Harness::ready(Policy::default()).await;
    let e500 = payloads::error_body(0, "500: Internal Server Error");
    for needle in [GREETING, "1/3", PING] {
        h.fake.inject(
            "POST",
            "/channels/*/messages",
            Some(needle),
            Fault::Answer,
            500,
            e500.clone(),
            1,
        );
    }
    let staff = format!("/channels/{}/messages", ids::STAFF_CHANNEL);
    h.fake
        .inject("POST", &staff, None, Fault::Answer, 500, e500, 1);

    let ix = h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.posted(tid, "1/3").await;
    h.answer_fields(tid).await;
    h.posted(ids::STAFF_CHANNEL, "Ticket").await;
    h.posted(tid, PING).await;

    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    once_in_order(&h.texts(ids::STAFF_CHANNEL), &["Ticket"]);
    let thread_path = format!("/channels/{tid}/messages");
    for (fault, needle, path) in [
        ("500 on the thread greeting", GREETING, thread_path.as_str()),
        ("500 on the first question", "1/3", thread_path.as_str()),
        (
            "500 on the summary with the ping",
            PING,
            thread_path.as_str(),
        ),
        ("500 on the staff summary", "Ticket", staff.as_str()),
    ] {
        let tries = h.attempts("POST", path, needle);
        assert_eq!(tries.len(), 2, "{fault}: one failure, one success");
        assert_eq!((tries[0].status, tries[1].status), (500, 200));
        assert_eq!(
            tries[0].body["nonce"], tries[1].body["nonce"],
            "the retry is the same message"
        );
        assert_eq!(tries[1].body["enforce_nonce"], true);
        figure(fault, &tries);
    }
    // The private /escalate answer was the pointer, edited into the deferral.
    let pointer = h.fake.original_message(&ix).unwrap();
    assert!(content(&pointer).contains(&format!("<#{tid}>")));
    assert!(
        !h.public_texts(ids::HELP_CHANNEL)
            .iter()
            .any(|t| t.contains(&format!("<#{tid}>"))),
        "nothing private in public"
    );
    let mut h = h;
    h.stop().await;
    // Stopped: every handler finished its writes.
    assert!(h
        .store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .is_empty());
    h.fake.assert_no_violations();
}

/// 429s behind a rate-limit proxy (bodies without `code`, with the
/// `Retry-After` and `X-RateLimit-*` headers): a per-route one on a field
/// question and a global one on the staff summary. Both are waited out and
/// sent once; during the global pause nothing at all is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_from_a_proxy_are_waited_out_and_global_ones_pause_every_send() {
    let mut h = Harness::ready(Policy::default()).await;
    // As twilight-http-proxy and nirn-proxy answer: no `code`.
    let limited = |global: bool| json!({"message": "You are being rate limited.", "retry_after": 0.3, "global": global});
    h.fake.inject(
        "POST",
        "/channels/*/messages",
        Some("1/3"),
        Fault::Answer,
        429,
        limited(false),
        1,
    );
    let staff = format!("/channels/{}/messages", ids::STAFF_CHANNEL);
    h.fake
        .inject("POST", &staff, None, Fault::Answer, 429, limited(true), 1);

    h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.posted(tid, "1/3").await;
    h.answer_fields(tid).await;
    h.posted(ids::STAFF_CHANNEL, "Ticket").await;
    h.posted(tid, PING).await;

    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    once_in_order(&h.texts(ids::STAFF_CHANNEL), &["Ticket"]);
    let question = h.attempts("POST", &format!("/channels/{tid}/messages"), "1/3");
    assert_eq!(
        question.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(
        question[0].response.get("code").is_none(),
        "the proxy's body had no code"
    );
    figure("429 per route (proxy body, retry_after 0.3 s)", &question);
    let summary = h.attempts("POST", &staff, "Ticket");
    assert_eq!(
        summary.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    figure("429 global (retry_after 0.3 s)", &summary);
    // The global pause: no request of any kind reached Discord between the
    // 429 and the end of its retry_after (the fake's clock, not a timing).
    let limited_at = summary[0].at;
    let during: Vec<String> = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.at > limited_at && r.at < limited_at + Duration::from_millis(300))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        during.is_empty(),
        "sent during a global rate limit: {during:?}"
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// The connection breaks on an interaction callback: once after Discord
/// took it (the retry is refused as already acknowledged, which counts as
/// done) and once before (the retry is the answer). Each command is
/// answered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_error_on_the_callback_is_retried_and_answered_once() {
    let mut h = Harness::ready(Policy::default()).await;
    for applied in [true, false] {
        h.fake.inject(
            "POST",
            "/interactions/*/*/callback",
            None,
            Fault::Reset { applied },
            200,
            Value::Null,
            1,
        );
        let ix = h
            .slash(
                "diagnose",
                vec![opt_string("symptom", "the widget is missing")],
            )
            .await;
        let path = format!(
            "/interactions/{}/{}/callback",
            payloads::id_of(&ix, "id"),
            ix["token"].as_str().unwrap()
        );
        h.fake
            .wait_request(T, |r| r.is("POST", &path) && r.status != 0)
            .await;
        // Then a sentinel from the same user, handled after it.
        let sentinel = h
            .slash(
                "diagnose",
                vec![opt_string("symptom", "nothing to do with it")],
            )
            .await;
        h.fake.wait_callback(&sentinel, T).await;
        let tries: Vec<Recorded> = h
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.is("POST", &path))
            .collect();
        assert_eq!(tries.len(), 2, "one broken attempt, one retry");
        let answer = h.fake.original_message(&ix).expect("answered");
        assert!(answer["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .contains("widget"));
        assert_ne!(
            answer["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG,
            0,
            "still private"
        );
        assert!(
            !h.public_texts(ids::HELP_CHANNEL)
                .iter()
                .any(|t| t.contains("widget")),
            "nothing private in public"
        );
        let what = if applied {
            "network error after the callback landed (40060 on retry)"
        } else {
            "network error before the callback landed"
        };
        assert_eq!(tries[1].status, if applied { 400 } else { 204 }, "{what}");
        figure(what, &tries);
    }
    h.stop().await;
    h.fake.assert_no_violations();
}

/// A click whose work fails (the ticket thread cannot be opened) ends with
/// an edit of the deferred response saying what happened, never a spinner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_whose_work_fails_ends_with_an_edit_saying_so() {
    let mut h = Harness::ready(Policy::default()).await;
    let ix = h
        .slash(
            "diagnose",
            vec![opt_string("symptom", "the widget is missing")],
        )
        .await;
    h.fake.wait_callback(&ix, T).await;
    let msg = h.fake.original_message(&ix).unwrap();
    let broken = payloads::custom_ids(&msg)
        .into_iter()
        .map(|(id, _)| id)
        .find(|id| id.starts_with("t:esc:"))
        .unwrap();
    h.fake.inject(
        "POST",
        "/channels/*/threads",
        None,
        Fault::Answer,
        403,
        payloads::error_body(50013, "Missing Permissions"),
        1,
    );
    let click = payloads::button_click(h.fake.world(), ids::ALICE, &msg, &broken);
    h.fake.dispatch("INTERACTION_CREATE", click.clone());
    let cb = h.fake.wait_callback(&click, T).await;
    assert_eq!(cb.body["type"], 5, "deferred");
    let edit = h
        .fake
        .wait_request(T, |r| r.is("PATCH", "/webhooks/*/*/messages/@original"))
        .await;
    assert!(
        content(&edit.body).contains("could not open a ticket thread"),
        "{}",
        edit.body
    );
    h.stop().await;
    h.fake.assert_no_violations();
}
