//! Starting and stopping: the token checked and the commands registered at
//! startup, a rejected token ending the run instead of hanging, and the
//! shipped binary as a process (a whole escalation, SIGTERM, exit codes,
//! config errors).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_checks_the_token_then_registers_commands_in_the_guild() {
    let h = Harness::start().await;
    let put = h
        .fake
        .wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    assert_eq!(put.segment(3), Some(ids::GUILD.to_string().as_str()));
    let cmds = put.body.as_array().unwrap();
    let names: Vec<&str> = cmds.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for n in ["diagnose", "Diagnose", "kb", "escalate", "ticket", "stats"] {
        assert!(names.contains(&n), "{n} not registered: {names:?}");
    }
    let by_name = |n: &str| cmds.iter().find(|c| c["name"] == n).unwrap();
    assert_eq!(
        by_name("Diagnose")["type"],
        3,
        "a message context-menu command"
    );
    // Staff commands are hidden from members without Manage Threads.
    for n in ["ticket", "stats"] {
        assert_eq!(
            by_name(n)["default_member_permissions"],
            json!((1u64 << 34).to_string())
        );
    }
    assert!(by_name("diagnose")["options"][0]["autocomplete"] == json!(true));
    // The token was checked before connecting, and every call carried it.
    let reqs = h.fake.requests();
    assert!(
        reqs[0].is("GET", "/users/@me"),
        "first request: {} {}",
        reqs[0].method,
        reqs[0].path
    );
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("Bot fake-token")));
    let identify = h.fake.wait_gateway_op(2, T).await;
    let intents = identify.d()["intents"].as_u64().unwrap();
    assert_eq!(
        intents,
        (1 << 0) | (1 << 9) | (1 << 15),
        "GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT"
    );
    h.stop().await.unwrap();
}

/// What the bot's `run` returned when it ended on its own (within `T`).
async fn run_result(h: &mut Harness) -> Result<(), RunError> {
    tokio::time::timeout(T, h.bot.task.take().unwrap())
        .await
        .expect("no hang")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_stops_with_a_clear_error_instead_of_hanging() {
    // REST says 401: refused before connecting.
    let mut h = Harness::start_with(FakeOptions::default(), Some("not-the-token")).await;
    let result = run_result(&mut h).await;
    assert!(matches!(result, Err(RunError::InvalidToken)), "{result:?}");
    assert!(RunError::InvalidToken
        .to_string()
        .contains("rejected the bot token"));

    // The gateway closes with 4004 (a token revoked between the two).
    let opts = FakeOptions {
        reject_identify: true,
        ..FakeOptions::default()
    };
    let mut h = Harness::start_with(opts, None).await;
    let result = run_result(&mut h).await;
    assert!(matches!(result, Err(RunError::InvalidToken)), "{result:?}");
}

/// A directory for the shipped binary: the fixture knowledge base and a
/// triage.yaml naming it and a database beside it.
#[cfg(unix)]
fn run_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_kb(&dir.path().join("knowledge"));
    let cfg = format!("{}kb: knowledge\ndb: triage.db\n", config_text());
    std::fs::write(dir.path().join("triage.yaml"), cfg).unwrap();
    dir
}

/// The shipped binary, as a separate process with `DISCORD_TOKEN` and
/// `DISCORD_API_BASE`, through a whole escalation; SIGTERM stops it cleanly.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_binary_escalates_end_to_end_and_stops_on_sigterm() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = run_dir();
    let child = fixture::triage_run(&fake, &dir.path().join("triage.yaml"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(Some(child));
    fake.wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    let world = fake.world();

    let ix = payloads::slash_command(
        world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("escalate"),
        "escalate",
        vec![],
    );
    let mark = fake.mark();
    fake.dispatch("INTERACTION_CREATE", ix.clone());
    let created = fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{}/threads", ids::HELP_CHANNEL))
        })
        .await;
    let tid = payloads::id_of(&created.response, "id");
    let thread_path = format!("/channels/{tid}/messages");
    let asked = |needle: &'static str| {
        let thread_path = thread_path.clone();
        move |r: &Recorded| r.is("POST", &thread_path) && content(&r.body).contains(needle)
    };
    fake.wait_request_after(mark, T, asked("1/3")).await;
    for (answer, next) in [("app_98765", "2/3"), ("https://shop.example.com/", "3/3")] {
        let mark = fake.mark();
        fake.dispatch(
            "MESSAGE_CREATE",
            payloads::message_create(world, ids::ALICE, tid, answer),
        );
        fake.wait_request_after(mark, T, asked(next)).await;
    }
    let mark = fake.mark();
    fake.dispatch(
        "MESSAGE_CREATE",
        payloads::message_create(world, ids::ALICE, tid, "nothing in the console at all"),
    );
    let staff = fake
        .wait_request_after(mark, T, |r| {
            r.is(
                "POST",
                &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
            )
        })
        .await;
    assert!(staff.body["embeds"][0].to_string().contains("app_98765"));

    let child = child.0.take().unwrap();
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(
        T,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("exits after SIGTERM")
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(
        !stderr.contains(fake.token()),
        "the token never appears in the logs"
    );
    // The ticket survived in the database the config names.
    let store = SqliteStore::open(&dir.path().join("triage.db")).unwrap();
    assert_eq!(store.tickets(None).unwrap().len(), 1);
    fake.assert_no_violations();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_with_code_3_on_a_rejected_token() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let dir = run_dir();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_triage"));
    cmd.env("TRIAGE_MODEL", "shipped");
    cmd.args(["run", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .env("DISCORD_TOKEN", "definitely-wrong")
        .env("DISCORD_API_BASE", fake.base_url());
    let out = tokio::time::timeout(T, tokio::task::spawn_blocking(move || cmd.output()))
        .await
        .expect("no hang")
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rejected the bot token"), "{stderr}");
    assert!(
        !stderr.contains("definitely-wrong"),
        "the token is never echoed"
    );
}

#[cfg(unix)]
#[test]
fn a_config_error_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("triage.yaml"),
        "support_role_id: 1\nstaff_channel: 2\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .env("TRIAGE_MODEL", "shipped")
        .args(["run", "--config"])
        .arg(dir.path().join("triage.yaml"))
        .env("DISCORD_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("staff_channel"), "{stderr}");
}
