//! Staff-only commands: members without the support role are refused,
//! `/stats` reports the query log, and `/kb reload` keeps the old knowledge
//! base when the new one is broken.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_the_support_role_is_refused_staff_commands() {
    let h = Harness::ready().await;
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "ticket",
            vec![opt_subcommand(
                "claim",
                vec![payloads::opt_integer("ticket", 1)],
            )],
        )
        .await;
    assert!(is_ephemeral(&cb.body["data"]));
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    let (_, cb) = kb_reload(&h, ids::ALICE, ids::HELP_CHANNEL).await;
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    h.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_reports_the_query_log_to_staff() {
    let h = Harness::ready().await;
    for q in ["widget is missing", "something odd", "how do I bake bread"] {
        h.diagnose(ids::ALICE, q).await;
    }
    let (_, cb) = h.slash(ids::BOB, ids::STAFF_CHANNEL, "stats", vec![]).await;
    let data = &cb.body["data"];
    assert!(is_ephemeral(data));
    let desc = data["embeds"][0]["description"].as_str().unwrap();
    assert!(desc.contains("**3** questions"), "{desc}");
    assert!(desc.contains("answer 1 · suggest 1 · none 1"), "{desc}");
    let (_, cb) = h
        .slash(ids::ALICE, ids::HELP_CHANNEL, "stats", vec![])
        .await;
    assert!(content(&cb.body["data"]).contains("Only the support team"));
    h.stop().await.unwrap();
}

/// `/kb reload` run by `user` in `channel`.
async fn kb_reload(h: &Harness, user: u64, channel: u64) -> (Value, Recorded) {
    h.slash(user, channel, "kb", vec![opt_subcommand("reload", vec![])])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_reload_with_a_broken_knowledge_base_keeps_the_old_one() {
    let h = Harness::ready().await;
    let file = h.kb_dir.join("convot.yaml");
    let src = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, src.replacen("title:", "titel:", 1)).unwrap();
    let mark = h.fake.mark();
    let (ix, cb) = kb_reload(&h, ids::BOB, ids::STAFF_CHANNEL).await;
    assert_eq!(cb.body["type"], 5);
    let _ = ix;
    let reply = h.original_edit_after(mark).await;
    let text = content(&reply.body);
    assert!(text.contains("Kept the current knowledge base"), "{text}");
    assert!(
        text.contains("convot.yaml:"),
        "the problem is located: {text}"
    );
    // The old knowledge base still answers.
    let (_, cb) = h
        .slash(
            ids::ALICE,
            ids::HELP_CHANNEL,
            "kb",
            vec![opt_subcommand("show", vec![opt_string("entry", ANSWERED)])],
        )
        .await;
    assert!(cb.body["data"]["embeds"][0]["title"].is_string());
    // Fixed on disk, it reloads.
    std::fs::write(&file, src).unwrap();
    let mark = h.fake.mark();
    kb_reload(&h, ids::BOB, ids::STAFF_CHANNEL).await;
    let reply = h.original_edit_after(mark).await;
    assert!(content(&reply.body).contains("Reloaded"), "{}", reply.body);
    h.stop().await.unwrap();
}
