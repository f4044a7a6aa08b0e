//! Answering customers: `/diagnose` (checklist, choices, no match,
//! autocomplete), the answer's buttons and select (solved, tried, more),
//! questions in help channels and forum posts, and staff diagnosing for a
//! customer by command or on their message.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_answers_with_the_checklist_pinpointed_check_first() {
    let h = Harness::ready().await;
    let (_, cb) = h
        .diagnose(ids::ALICE, "my widget is missing, adblock?")
        .await;
    assert_eq!(cb.status, 204);
    assert_eq!(cb.body["type"], 4);
    let data = &cb.body["data"];
    assert!(is_ephemeral(data), "a diagnosis for yourself is ephemeral");
    no_pings(data);
    let embed = &data["embeds"][0];
    let entry = triage::kb::load_dir(&h.kb_dir)
        .unwrap()
        .entry(ANSWERED)
        .unwrap()
        .clone();
    assert_eq!(embed["title"], entry.title.as_str());
    let desc = embed["description"].as_str().unwrap();
    assert!(
        desc.starts_with(&format!("**1. {}**", entry.checks[1].cause)),
        "pinpointed check first: {desc}"
    );
    assert!(desc.contains("this matches what you described"));
    let ids: Vec<String> = payloads::custom_ids(data)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    for prefix in ["t:solved:", "t:esc:", "t:more:", "t:tried:"] {
        assert!(
            ids.iter().any(|i| i.starts_with(prefix)),
            "{prefix} missing in {ids:?}"
        );
    }
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_offers_choices_and_a_pick_shows_the_checklist() {
    let h = Harness::ready().await;
    let (ix, cb) = h.diagnose(ids::ALICE, "something odd with chat").await;
    let buttons: Vec<String> = payloads::custom_ids(&cb.body["data"])
        .into_iter()
        .map(|(i, _)| i)
        .filter(|i| i.starts_with("t:pick:"))
        .collect();
    assert_eq!(buttons.len(), 3, "one button per suggestion");
    let msg = h.fake.original_message(&ix).unwrap();
    let pick = buttons.iter().find(|b| b.ends_with(SUGGESTED[1])).unwrap();
    let (_, cb) = h.click(ids::ALICE, &msg, pick).await;
    assert_eq!(cb.status, 204);
    let title = cb.body["data"]["embeds"][0]["title"].as_str().unwrap();
    let kb = triage::kb::load_dir(&h.kb_dir).unwrap();
    assert_eq!(title, kb.entry(SUGGESTED[1]).unwrap().title);
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_with_no_match_says_so_and_offers_escalation() {
    let h = Harness::ready().await;
    let (_, cb) = h.diagnose(ids::ALICE, "how do I bake bread").await;
    let data = &cb.body["data"];
    assert!(content(data).contains("couldn't match"), "{data}");
    assert!(data["embeds"].as_array().is_none_or(|e| e.is_empty()));
    let ids = payloads::custom_ids(data);
    assert!(
        ids.iter()
            .any(|(i, kind)| i.starts_with("t:esc:") && *kind == 2),
        "{ids:?}"
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_entries_by_id() {
    let h = Harness::ready().await;
    let id = h.fake.command_id("diagnose");
    let ix = payloads::autocomplete(
        h.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        id,
        "diagnose",
        vec![opt_focused("symptom", "my widget is missing")],
    );
    let cb = h.interact(&ix).await;
    assert_eq!(cb.body["type"], 8);
    let choices = cb.body["data"]["choices"].as_array().unwrap();
    assert_eq!(choices[0]["value"], ANSWERED);
    assert!(choices
        .iter()
        .all(|c| c["name"].as_str().unwrap().chars().count() <= 100));
    // Picking it runs /diagnose with the id: the entry is shown directly.
    let (_, cb) = h.diagnose(ids::ALICE, ANSWERED).await;
    let kb = triage::kb::load_dir(&h.kb_dir).unwrap();
    assert_eq!(
        cb.body["data"]["embeds"][0]["title"],
        kb.entry(ANSWERED).unwrap().title.as_str()
    );
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solved_is_acknowledged_and_recorded() {
    let h = Harness::ready().await;
    let (ix, _) = h.diagnose(ids::ALICE, "widget is missing").await;
    let msg = h.fake.original_message(&ix).unwrap();
    let solved = custom_id_starting(&msg, "t:solved:");
    let (_, cb) = h.click(ids::ALICE, &msg, &solved).await;
    assert_eq!(cb.status, 204);
    assert!(content(&cb.body["data"]).contains("Glad"), "{}", cb.body);
    let q = h.queries();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].feedback, Some(triage::tickets::Feedback::Solved));
    // Someone else's click is refused without touching the conversation.
    let (_, cb) = h.click(ids::OWNER, &msg, &solved).await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("belong to"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tried_checks_update_the_answer_in_place_and_other_matches_are_offered() {
    let h = Harness::ready().await;
    let (ix, _) = h.diagnose(ids::ALICE, "widget is missing").await;
    let msg = h.fake.original_message(&ix).unwrap();
    let tried = custom_id_starting(&msg, "t:tried:");
    let sel = payloads::select_choice(h.world(), ids::ALICE, &msg, &tried, &["2"]);
    let cb = h.interact(&sel).await;
    assert_eq!(cb.body["type"], 7, "the answer is updated in place");
    let data = &cb.body["data"];
    assert!(content(data).contains("Noted"), "{data}");
    let desc = data["embeds"][0]["description"].as_str().unwrap();
    assert!(desc.contains("✓ _tried_"), "{desc}");
    let menu = &data["components"][0]["components"][0];
    assert_eq!(
        menu["options"][1]["default"], true,
        "the tried check stays selected: {menu}"
    );

    let msg = h.fake.original_message(&ix).unwrap();
    let more = custom_id_starting(&msg, "t:more:");
    let (_, cb) = h.click(ids::ALICE, &msg, &more).await;
    let picks: Vec<String> = payloads::custom_ids(&cb.body["data"])
        .into_iter()
        .map(|(i, _)| i)
        .filter(|i| i.starts_with("t:pick:"))
        .collect();
    assert_eq!(picks.len(), 1, "the other candidate: {picks:?}");
    assert!(picks[0].ends_with(SUGGESTED[1]));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forum_post_is_answered_in_the_post_and_edits_are_ignored() {
    let h = Harness::ready().await;
    let (post_id, starter) = h.open_forum_post(
        ids::ALICE,
        "Widget gone",
        "my widget is missing since friday",
    );
    let mark = h.fake.mark();
    h.fake.dispatch("MESSAGE_CREATE", starter.clone());
    let answer = h.bot_post_after(mark, post_id).await;
    assert_eq!(
        answer.body["message_reference"]["message_id"],
        starter["id"]
    );
    assert!(answer.body["embeds"][0]["title"].is_string());
    // Editing the post does not ask again; someone else in the post is not asked.
    h.fake.dispatch(
        "MESSAGE_UPDATE",
        payloads::message_update(&starter, "my widget is missing, still"),
    );
    h.say(ids::OWNER, post_id, "same here, widget is missing");
    // A later question in the help channel is answered, so the two above were handled.
    let mark = h.fake.mark();
    h.say(ids::ALICE, ids::HELP_CHANNEL, "widget is missing again");
    h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    let posts_in_thread = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", &format!("/channels/{post_id}/messages")))
        .count();
    assert_eq!(posts_in_thread, 1);
    assert_eq!(h.queries().len(), 2);
    h.stop().await.unwrap();
}

/// `/diagnose symptom:"widget is missing" for:customer` run by `user` in
/// the help channel.
async fn diagnose_for(h: &Harness, user: u64, customer: u64) -> (Value, Recorded) {
    h.slash(
        user,
        ids::HELP_CHANNEL,
        "diagnose",
        vec![
            opt_string("symptom", "widget is missing"),
            payloads::opt_user("for", customer),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_diagnose_for_a_customer_is_public_and_theirs() {
    let h = Harness::ready().await;
    let (ix, cb) = diagnose_for(&h, ids::BOB, ids::ALICE).await;
    let data = &cb.body["data"];
    assert!(!is_ephemeral(data), "the customer must see it");
    assert!(content(data).starts_with(&format!("<@{}>", ids::ALICE)));
    assert_eq!(
        data["allowed_mentions"]["users"],
        json!([ids::ALICE.to_string()])
    );
    assert_eq!(data["allowed_mentions"]["parse"], json!([]));
    // The buttons are the customer's.
    let msg = h.fake.original_message(&ix).unwrap();
    let solved = custom_id_starting(&msg, "t:solved:");
    let (_, cb) = h.click(ids::ALICE, &msg, &solved).await;
    assert!(content(&cb.body["data"]).contains("Glad"));
    // A customer cannot diagnose for someone else.
    let (_, cb) = diagnose_for(&h, ids::ALICE, ids::OWNER).await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_diagnose_on_a_customers_message_replies_to_it() {
    let h = Harness::ready().await;
    let question = h.say(
        ids::ALICE,
        ids::STAFF_CHANNEL,
        "hi, my widget is missing since yesterday",
    );
    let mark = h.fake.mark();
    let ix = payloads::message_command(
        h.world(),
        ids::BOB,
        h.fake.command_id("Diagnose"),
        "Diagnose",
        &question,
    );
    let cb = h.interact(&ix).await;
    assert_eq!(cb.body["type"], 5, "deferred");
    assert!(is_ephemeral(&cb.body["data"]));
    let post = h.bot_post_after(mark, ids::STAFF_CHANNEL).await;
    assert_eq!(post.body["message_reference"]["message_id"], question["id"]);
    assert!(post.body["embeds"][0]["title"].is_string());
    // The answer's buttons belong to the customer, not to staff.
    let ids_in: Vec<String> = payloads::custom_ids(&post.body)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let alice36 = radix36(ids::ALICE);
    assert!(
        ids_in.iter().all(|i| i.contains(&format!(".{alice36}"))),
        "{ids_in:?}"
    );
    let edit = h.original_edit_after(mark).await;
    assert!(content(&edit.body).contains("Answered"));
    let q = h.queries();
    assert_eq!(q[0].key.user.as_str(), ids::ALICE.to_string());
    assert_eq!(q[0].asked_by.as_str(), ids::BOB.to_string());
    h.stop().await.unwrap();
}

fn radix36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// Discord markup in a question (a member mention, custom emoji, a
/// timestamp) is read as a client shows it: the same entry answers as for
/// the bare question, and the log keeps the readable text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_with_mentions_and_custom_emoji_is_answered_as_without() {
    let h = Harness::ready().await;
    let mark = h.fake.mark();
    h.say(
        ids::ALICE,
        ids::HELP_CHANNEL,
        "the chat widget is missing on our shop",
    );
    let bare = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    let mark = h.fake.mark();
    let decorated = format!(
        "<@{}> the chat widget is missing on our shop since <t:1765000000:R> \
         <:pepe_cry:1234567890123456789> <a:sob:987654321>",
        ids::BOB
    );
    let q = h.say(ids::OWNER, ids::HELP_CHANNEL, &decorated);
    let answer = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(answer.body["message_reference"]["message_id"], q["id"]);
    let title = &bare.body["embeds"][0]["title"];
    assert!(title.is_string(), "the bare question is answered: {bare:?}");
    assert_eq!(&answer.body["embeds"][0]["title"], title);
    no_pings(&answer.body);
    let logged: Vec<String> = h.queries().into_iter().map(|q| q.text).collect();
    assert!(
        logged.contains(
            &"@bob the chat widget is missing on our shop since 2025-12-06 05:46 UTC \
              :pepe_cry: :sob:"
                .to_owned()
        ),
        "{logged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_help_channel_question_is_answered_and_bots_are_ignored() {
    let h = Harness::ready().await;
    let mark = h.fake.mark();
    let q = h.say(
        ids::ALICE,
        ids::HELP_CHANNEL,
        "the chat widget is missing on our shop",
    );
    let answer = h.bot_post_after(mark, ids::HELP_CHANNEL).await;
    assert_eq!(answer.body["message_reference"]["message_id"], q["id"]);
    assert!(answer.body["embeds"][0]["title"].is_string());
    no_pings(&answer.body);
    // The bot's own answer came back as MESSAGE_CREATE (the fake echoes it,
    // like Discord); another bot posting "widget is missing" is ignored too.
    let bot_msg = payloads::message_create(
        h.world(),
        ids::BOT_USER,
        ids::HELP_CHANNEL,
        "widget is missing",
    );
    h.fake.dispatch("MESSAGE_CREATE", bot_msg.clone());
    // A question nobody can answer: the channel stays quiet (humans answer).
    h.say(ids::ALICE, ids::HELP_CHANNEL, "how do I bake bread");
    // Staff answering in the channel are not asked anything.
    h.say(
        ids::BOB,
        ids::HELP_CHANNEL,
        "alice, the widget is missing because of the CSP",
    );
    // A later question is answered: everything before it has been handled.
    let mark2 = h.fake.mark();
    let q2 = h.say(ids::OWNER, ids::HELP_CHANNEL, "our widget is missing too");
    let a2 = h.bot_post_after(mark2, ids::HELP_CHANNEL).await;
    assert_eq!(a2.body["message_reference"]["message_id"], q2["id"]);
    // Different users' messages are handled concurrently: alice's quiet
    // question may still be in flight when the owner's answer is posted.
    // Wait (bounded) for the log to settle, then check what was logged.
    let mut queries = Vec::new();
    for _ in 0..100 {
        queries = h.queries();
        if queries.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let asked: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(
        asked.len(),
        3,
        "alice twice and the owner; not the bots, not staff: {asked:?}"
    );
    assert_eq!(h.replies_to(&bot_msg["id"]), 0);
    assert_eq!(h.replies_to(&q["id"]), 1);
    h.stop().await.unwrap();
}
