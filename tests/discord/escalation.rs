//! Escalation into a ticket: the private thread (or the forum post itself),
//! the field questions and re-asks, the hand-off summary and the one ping of
//! the support role, answers sent in a burst, and staff claiming, closing
//! and reopening with `/ticket`.

use super::*;

/// In a forum post the post itself is the ticket thread: no new thread,
/// no rename, and `/ticket` run there finds the ticket by its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalating_in_a_forum_post_stays_in_the_post() {
    let h = Harness::ready().await;
    let (post_id, starter) = h.open_forum_post(ids::ALICE, "Call widget", "widget is missing");
    let mark = h.fake.mark();
    h.fake.dispatch("MESSAGE_CREATE", starter);
    let answer = h.bot_post_after(mark, post_id).await;
    let answer_msg = answer.response.clone();
    let broken = custom_id_starting(&answer_msg, "t:esc:");
    let mark = h.fake.mark();
    let (_, cb) = h.click(ids::ALICE, &answer_msg, &broken).await;
    assert_eq!(cb.status, 204);
    // The questions come right there, as follow-ups to the click.
    let first = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", "/webhooks/*/*") && content(&r.body).contains("1/3")
        })
        .await;
    assert!(!is_ephemeral(&first.body), "the post is public");
    for (answer, next) in [("app_12345", "2/3"), ("https://example.com/x", "3/3")] {
        let m = h.fake.mark();
        h.say(ids::ALICE, post_id, answer);
        assert!(content(&h.bot_post_after(m, post_id).await.body).contains(next));
    }
    h.say(ids::ALICE, post_id, "nothing in the console at all");
    let staff = h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    assert!(staff.body["embeds"][0].to_string().contains("app_12345"));
    let reqs = h.fake.requests();
    assert!(
        !reqs.iter().any(|r| r.is("POST", "/channels/*/threads")),
        "no thread inside the post"
    );
    assert!(
        !reqs
            .iter()
            .any(|r| r.is("PATCH", &format!("/channels/{post_id}"))),
        "the post keeps its title"
    );
    let ping = reqs
        .iter()
        .find(|r| {
            r.body["allowed_mentions"]["roles"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .expect("the support role is pinged");
    assert_eq!(ping.path, format!("/channels/{post_id}/messages"));
    let post = h.fake.thread(post_id).unwrap();
    let cb = h
        .ticket_in_thread(ids::BOB, &post, opt_subcommand("claim", vec![]))
        .await;
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    h.stop().await.unwrap();
}

/// Still broken → a private thread with the customer; three fields, one
/// answered wrongly and re-asked; the summary in the thread (the one ping
/// of the support role) and in the staff channel; staff claim and close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn still_broken_escalates_in_a_thread_and_staff_claim_and_close_it() {
    let h = Harness::ready().await;
    let (ix, _) = h.diagnose(ids::ALICE, "widget is missing").await;
    let msg = h.fake.original_message(&ix).unwrap();
    let broken = custom_id_starting(&msg, "t:esc:");
    let mark = h.fake.mark();
    let (click, cb) = h.click(ids::ALICE, &msg, &broken).await;
    assert_eq!(cb.body["type"], 5, "acknowledged before opening the thread");
    let created = h.help_thread_after(mark).await;
    assert_eq!(created.body["type"], 12, "private thread");
    assert_eq!(created.body["invitable"], false);
    let thread = created.response.clone();
    let tid = payloads::id_of(&thread, "id");
    h.fake
        .wait_request_after(mark, T, |r| {
            r.is(
                "PUT",
                &format!("/channels/{tid}/thread-members/{}", ids::ALICE),
            )
        })
        .await;
    let pointer = h.original_edit_after(mark).await;
    assert!(
        content(&pointer.body).contains(&format!("<#{tid}>")),
        "{}",
        pointer.body
    );
    let _ = click;

    // The first question arrives in the thread.
    let first = h.post_containing_after(mark, tid, "1/3").await;
    assert!(content(&first.body).contains("App key"));
    no_pings(&first.body);

    // A wrong app key is refused with the reason and asked again.
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "12345");
    let again = h.bot_post_after(mark, tid).await;
    assert!(
        content(&again.body).contains("starts with `app_`"),
        "{}",
        again.body
    );
    assert!(content(&again.body).contains("1/3"));

    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "app_12345");
    assert!(content(&h.bot_post_after(mark, tid).await.body).contains("2/3"));
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "https://example.com/pricing");
    assert!(content(&h.bot_post_after(mark, tid).await.body).contains("3/3"));
    let mark = h.fake.mark();
    h.say(
        ids::ALICE,
        tid,
        "@everyone the console shows nothing at all",
    );

    // The hand-off: summary in the thread pinging the role, and in the staff channel.
    let staff_post = h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    no_pings(&staff_post.body);
    let summary = &staff_post.body["embeds"][0];
    let text = summary.to_string();
    for needle in [
        "Convot",
        "App key",
        "app_12345",
        "https://example.com/pricing",
        "@everyone the console",
        "widget is missing",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from the summary: {text}"
        );
    }
    assert!(content(&staff_post.body).contains(&format!("<#{tid}>")));
    let rename = h
        .fake
        .wait_request_after(mark, T, |r| r.is("PATCH", &format!("/channels/{tid}")))
        .await;
    assert!(
        rename.body["name"].as_str().unwrap().starts_with("#1 "),
        "{}",
        rename.body
    );
    let pings: Vec<Recorded> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "POST"
                && r.body["allowed_mentions"]["roles"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
        })
        .collect();
    assert_eq!(pings.len(), 1, "the support role is pinged exactly once");
    assert_eq!(pings[0].path, format!("/channels/{tid}/messages"));
    assert_eq!(
        pings[0].body["allowed_mentions"]["roles"],
        json!([ids::SUPPORT_ROLE.to_string()])
    );
    assert_eq!(
        pings[0].body["allowed_mentions"]["parse"],
        json!([]),
        "@everyone in a field pings nobody"
    );
    assert!(content(&pings[0].body).contains(&format!("<@&{}>", ids::SUPPORT_ROLE)));
    // Every message the bot sent anywhere had mentions restricted.
    for r in h
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", "/channels/*/messages"))
    {
        assert_eq!(r.body["allowed_mentions"]["parse"], json!([]), "{}", r.body);
    }

    // Staff claim and close in the thread; the customer sees it there.
    let thread = h.fake.thread(tid).unwrap();
    let cb = h
        .ticket_in_thread(ids::BOB, &thread, opt_subcommand("claim", vec![]))
        .await;
    assert_eq!(cb.status, 204);
    assert!(!is_ephemeral(&cb.body["data"]), "the customer is told");
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    let cb = h
        .ticket_in_thread(
            ids::BOB,
            &thread,
            opt_subcommand("close", vec![opt_string("reason", "fixed the CSP")]),
        )
        .await;
    assert!(content(&cb.body["data"]).contains("closed"));
    assert!(content(&cb.body["data"]).contains("fixed the CSP"));
    let t = h.store.tickets(None).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].status, TicketStatus::Closed);
    assert_eq!(t[0].close_reason.as_deref(), Some("fixed the CSP"));
    assert_eq!(
        t[0].claimed_by.as_ref().map(|u| u.as_str().to_owned()),
        Some(ids::BOB.to_string())
    );
    // Reopened from the staff channel by number.
    let (_, cb) = h
        .slash(
            ids::BOB,
            ids::STAFF_CHANNEL,
            "ticket",
            vec![opt_subcommand(
                "reopen",
                vec![payloads::opt_integer("ticket", 1)],
            )],
        )
        .await;
    assert!(
        content(&cb.body["data"]).contains("reopened"),
        "{}",
        cb.body
    );
    assert_eq!(h.store.tickets(None).unwrap()[0].status, TicketStatus::Open);
    h.stop().await.unwrap();
}

/// Opens a ticket thread with /escalate in the help channel and waits for
/// the first field prompt; returns the thread id.
async fn escalate_to_thread(h: &Harness) -> u64 {
    let mark = h.fake.mark();
    h.slash(ids::ALICE, ids::HELP_CHANNEL, "escalate", vec![])
        .await;
    let created = h.help_thread_after(mark).await;
    let tid = payloads::id_of(&created.response, "id");
    h.post_containing_after(mark, tid, "1/3").await;
    tid
}

/// The bot's posts in `channel` (accepted by the fake), in order.
fn posts_in(h: &Harness, channel: u64) -> Vec<String> {
    let path = format!("/channels/{channel}/messages");
    h.fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path && r.status == 200)
        .map(|r| content(&r.body).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_sent_in_a_burst_are_applied_in_order() {
    let h = Harness::ready().await;
    let tid = escalate_to_thread(&h).await;
    let mark = h.fake.mark();
    // Back to back, no wait between: Discord delivers them in this order.
    h.say(ids::ALICE, tid, "app_12345");
    h.say(ids::ALICE, tid, "https://example.com/pricing");
    h.post_containing_after(mark, tid, "3/3").await;
    let posts = posts_in(&h, tid);
    assert!(
        !posts.iter().any(|p| p.contains("starts with `app_`")),
        "an answer was applied to the wrong field: {posts:?}"
    );
    let two = posts.iter().position(|p| p.contains("2/3")).unwrap();
    let three = posts.iter().position(|p| p.contains("3/3")).unwrap();
    assert!(two < three, "{posts:?}");
    let mark = h.fake.mark();
    h.say(ids::ALICE, tid, "nothing in the console at all");
    h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    let t = &h.store.tickets(None).unwrap()[0];
    assert_eq!(t.field("app_key"), Some("app_12345"));
    assert_eq!(t.field("page_url"), Some("https://example.com/pricing"));
    h.stop().await.unwrap();
}

/// `/ticket` in a ticket thread finds the ticket by the thread's id, so a
/// thread renamed by staff (no `#N` in its name) still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_works_in_a_renamed_ticket_thread() {
    let h = Harness::ready().await;
    let tid = escalate_to_thread(&h).await;
    for answer in [
        "app_12345",
        "https://example.com/pricing",
        "nothing in the console at all",
    ] {
        let mark = h.fake.mark();
        h.say(ids::ALICE, tid, answer);
        h.bot_post_after(mark, tid).await;
    }
    h.fake
        .wait_request(T, |r| {
            r.is(
                "POST",
                &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
            )
        })
        .await;
    // Staff renamed the thread; Discord sends the new name with commands.
    let mut thread = h.fake.thread(tid).unwrap();
    thread["name"] = json!("alice: widget gone after the CSP change");
    h.fake.dispatch("THREAD_UPDATE", thread.clone());
    let cb = h
        .ticket_in_thread(ids::BOB, &thread, opt_subcommand("claim", vec![]))
        .await;
    assert!(content(&cb.body["data"]).contains("claimed"), "{}", cb.body);
    let t = &h.store.tickets(None).unwrap()[0];
    assert_eq!(t.status, TicketStatus::Claimed);
    h.stop().await.unwrap();
}
