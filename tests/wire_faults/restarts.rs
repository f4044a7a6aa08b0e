//! Faults a restart repairs: a reply cut off halfway resumes without a
//! second thread, a private reply is re-posted privately (or dropped once
//! its token expired), and a SIGKILL between a post and its record posts
//! it once (the real binary, `enforce_nonce`).

use super::*;

/// A reply cut off halfway (Discord refused the first question: the bot
/// lacked a permission) resumes after a restart from the first part not
/// out: in the same thread, no second thread, nothing posted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_delivered_reply_resumes_after_a_restart_without_a_second_thread() {
    let mut h = Harness::ready(Policy::default()).await;
    h.fake.inject(
        "POST",
        "/channels/*/messages",
        Some("1/3"),
        Fault::Answer,
        403,
        payloads::error_body(50013, "Missing Permissions"),
        1,
    );
    h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.fake
        .wait_request(T, |r| r.status == 403 && content(&r.body).contains("1/3"))
        .await;
    assert_eq!(
        h.store
            .undelivered(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        1,
        "not delivered"
    );
    h.restart().await;
    h.posted(tid, "1/3").await;
    h.answer_fields(tid).await;
    h.posted(tid, PING).await;
    let threads = h.attempts(
        "POST",
        &format!("/channels/{}/threads", ids::HELP_CHANNEL),
        "",
    );
    assert_eq!(threads.len(), 1, "one thread for the conversation");
    once_in_order(&h.texts(tid), &[GREETING, "1/3", "2/3", "3/3", PING]);
    figure(
        "restart with a half-delivered reply",
        &h.attempts("POST", &format!("/channels/{tid}/messages"), "1/3"),
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// The private answer to `/escalate` (the pointer to the thread) could not
/// be edited into the deferral; after a restart within the token's 15
/// minutes it goes out as a private follow-up, and the questions follow in
/// the same thread. Nothing of it is posted in the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_reply_is_reposted_privately_after_a_restart() {
    let (mut h, ix, tid) = escalate_while_private_edits_fail().await;
    h.restart().await;
    let token = ix["token"].as_str().unwrap().to_owned();
    let follow = h
        .fake
        .wait_request(T, |r| {
            r.is("POST", &format!("/webhooks/*/{token}"))
                && content(&r.body).contains(&format!("<#{tid}>"))
        })
        .await;
    assert_ne!(
        follow.body["flags"].as_u64().unwrap_or(0) & payloads::EPHEMERAL_FLAG,
        0,
        "private"
    );
    h.posted(tid, "1/3").await;
    assert!(
        !h.public_texts(ids::HELP_CHANNEL)
            .iter()
            .any(|t| t.contains(&format!("<#{tid}>"))),
        "never public"
    );
    once_in_order(&h.texts(tid), &[GREETING, "1/3"]);
    let edits = h.attempts(
        "PATCH",
        "/webhooks/*/*/messages/@original",
        &format!("<#{tid}>"),
    );
    figure(
        "500 on a private edit until the budget (0.6 s) is spent",
        &edits,
    );
    h.stop().await;
    h.fake.assert_no_violations();
}

/// The same, when the restart comes after the token expired (the clock is
/// moved 16 minutes on): the private part is dropped, never posted in the
/// channel; the thread's questions still go out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_reply_is_dropped_once_its_token_expired() {
    let (mut h, ix, tid) = escalate_while_private_edits_fail().await;
    *h.clock.ahead.lock().unwrap() = time::Duration::minutes(16);
    h.restart().await;
    h.posted(tid, "1/3").await;
    let token = ix["token"].as_str().unwrap().to_owned();
    let pointer = format!("<#{tid}>");
    assert!(
        h.attempts("POST", &format!("/webhooks/*/{token}"), &pointer)
            .is_empty(),
        "dropped"
    );
    assert!(
        !h.public_texts(ids::HELP_CHANNEL)
            .iter()
            .any(|t| t.contains(&pointer)),
        "never public"
    );
    h.stop().await;
    assert!(h
        .store
        .undelivered(time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
        .is_empty());
    h.fake.assert_no_violations();
}

#[cfg(unix)]
fn spawn_bot(fake: &FakeDiscord, config: &Path) -> KillOnDrop {
    KillOnDrop(Some(fixture::triage_run(fake, config).spawn().unwrap()))
}

/// SIGKILL between a post and its record: the first question reached
/// Discord, which never answered before the process died. The next start
/// resumes the reply and sends that question again with the same nonce;
/// Discord (`enforce_nonce`) returns the first message instead of posting
/// it twice. One thread, one question, in order.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_a_post_and_its_record_posts_it_once() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    fixture::write_kb(
        &dir.path().join("knowledge"),
        &[("convot.yaml", ESCALATION_CONVOT)],
    );
    let cfg = format!(
        "{}db: {}\n",
        config_text(dir.path()),
        dir.path().join("triage.db").display()
    );
    let config = dir.path().join("triage.yaml");
    std::fs::write(&config, cfg).unwrap();
    fake.inject(
        "POST",
        "/channels/*/messages",
        Some("1/3"),
        Fault::Stall,
        200,
        Value::Null,
        1,
    );

    let mut bot = spawn_bot(&fake, &config);
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let ix = payloads::slash_command(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("escalate"),
        "escalate",
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", ix);
    // The question is posted in Discord; its answer never reaches the bot.
    let stalled = fake
        .wait_request(T, |r| r.status == 0 && content(&r.body).contains("1/3"))
        .await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &bot.0.as_ref().unwrap().id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = bot.0.take().unwrap().wait();

    let mark = fake.mark();
    let _bot = spawn_bot(&fake, &config);
    let again = fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &stalled.path) && content(&r.body).contains("1/3")
        })
        .await;
    assert_eq!(
        again.body["nonce"], stalled.body["nonce"],
        "the same part, the same nonce"
    );
    assert_eq!(again.status, 200);
    let tid = payloads::id_of(&fake.threads()[0], "id");
    let texts: Vec<String> = fake
        .messages_in(tid)
        .iter()
        .map(|m| content(m).to_owned())
        .collect();
    once_in_order(&texts, &[GREETING, "1/3"]);
    assert_eq!(fake.threads().len(), 1, "no second thread");
    let tries: Vec<Recorded> = fake
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", &stalled.path) && content(&r.body).contains("1/3"))
        .collect();
    figure("SIGKILL between a post and its record", &tries);
    // The customer carries on in the same thread.
    let mark = fake.mark();
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(fake.world(), ids::ALICE, tid, "app_12345"),
    );
    fake.wait_request_after(mark, T, |r| {
        r.is("POST", &stalled.path) && content(&r.body).contains("2/3")
    })
    .await;
    fake.assert_no_violations();
}

/// `/escalate` while every edit of the deferral (the private pointer to
/// the thread) answers 500, on a 0.6 s retry budget: returns once the bot
/// has given up on the edit and told the user, with the fault cleared.
/// The harness, the interaction and the ticket thread.
async fn escalate_while_private_edits_fail() -> (Harness, Value, u64) {
    let quick = Policy {
        budget: Duration::from_millis(600),
        ..Policy::default()
    };
    let h = Harness::ready(quick).await;
    h.fake.inject(
        "PATCH",
        "/webhooks/*/*/messages/@original",
        None,
        Fault::Answer,
        500,
        payloads::error_body(0, "500: Internal Server Error"),
        1000,
    );
    let ix = h.slash("escalate", vec![]).await;
    let tid = h.thread().await;
    h.fake
        .wait_request(T, |r| {
            r.is("POST", "/webhooks/*/*") && content(&r.body).contains("went wrong")
        })
        .await;
    h.fake.clear_overrides();
    (h, ix, tid)
}
