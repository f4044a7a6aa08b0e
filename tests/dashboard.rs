//! The staff dashboard in a real browser: Debian's headless Chromium driven
//! through chromedriver (WebDriver, fantoccini), against the bot running
//! in-process on the fake Discord. Logs in with a `/dashboard` link, finds a
//! ticket by its transcript, closes it from the page and checks what Discord
//! received; refuses a reused link and a request without the CSRF token;
//! renders hostile text escaped; keeps other guilds' tickets out of sight.
//! Screenshots of every page go to target/dashboard-screenshots/.
//!
//! Needs `chromium` and `chromedriver` on PATH (`apt-get install chromium
//! chromium-driver`; .ci/run installs them). Without them each test prints
//! one line saying it was skipped.

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;

#[path = "support/bot_fixture.rs"]
mod fixture;
#[path = "support/dashboard_harness.rs"]
mod harness;

use std::path::PathBuf;
use std::sync::Arc;

use fake_discord::payloads::{self, ids};
use fantoccini::Locator;
use fixture::NoMatch;
use harness::{
    body_text, browser_and_harness, click, commands_registered, dashboard_command, finish, get, kb,
    poll, raw, screenshot, session_cookie, visit, wait_for, Harness, T,
};
use serde_json::json;

use triage::archive::{Archive, NewMessage, Role};
use triage::engine::{Action, ConversationKey, Engine, Input, SystemClock};
use triage::kb::KnowledgeBase;
use triage::tickets::{Place, Store, TicketStatus, UserId};

/// The page's title and `window.pwned`: what a hostile payload that ran
/// would have changed.
async fn page_state(c: &fantoccini::Client) -> serde_json::Value {
    c.execute("return [document.title, String(window.pwned)];", vec![])
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_log_in_find_a_ticket_by_its_transcript_and_close_it_from_the_page() {
    let Some((b, h)) = browser_and_harness(
        "staff_log_in_find_a_ticket_by_its_transcript_and_close_it_from_the_page",
    )
    .await
    else {
        return;
    };
    let c = &b.client;
    let tid = h.plain_ticket().await;
    // Said in the thread after the hand-off: only the transcript holds it.
    let said = h.say(
        ids::ALICE,
        tid,
        "the tangerine-okapi banner covers the widget",
    );
    h.recorded(1, "tangerine-okapi").await;
    // An edit and a deletion are kept in the transcript.
    h.edit(&said, "the tangerine-okapi banner still covers the widget");
    h.recorded(1, "still covers").await;
    // A customer cannot get a link.
    let refused = h.dashboard_command(ids::ALICE).await;
    assert!(
        !refused.to_string().contains("/login/"),
        "a customer got a login link: {refused}"
    );

    let link = h.login_link().await;
    c.goto(&link).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/tickets");
    screenshot(c, "tickets").await;

    // Search the transcript text.
    let search = c.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys("tangerine-okapi").await.unwrap();
    click(c, Locator::Css("form.filters button")).await;
    wait_for(c, Locator::Css("table tbody tr")).await;
    let rows = c.find_all(Locator::Css("table tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(body_text(c).await.contains("1 ticket(s)"));
    screenshot(c, "tickets-search").await;
    // A phrase nobody said finds nothing.
    let text = visit(c, &h.page("/tickets?q=zebra-kumquat")).await;
    assert!(text.contains("0 ticket(s)"));
    // A malformed filter gets a clear page.
    let text = visit(c, &h.page("/tickets?status=opne")).await;
    assert!(
        text.contains("Malformed filter") && text.contains("status 'opne'"),
        "{text}"
    );
    screenshot(c, "error-malformed-filter").await;
    let text = visit(c, &h.page("/tickets/999")).await;
    assert!(text.contains("There is no ticket #999"));

    // The ticket page: fields, transcript (with the edit), timeline.
    c.goto(&h.page("/tickets?q=tangerine-okapi")).await.unwrap();
    click(c, Locator::Css("table tbody tr a")).await;
    wait_for(c, Locator::Id("close")).await;
    let text = body_text(c).await;
    for needle in [
        "app_12345",
        "still covers the widget",
        "ticket_filed",
        "Earlier versions (1)",
    ] {
        assert!(
            text.contains(needle),
            "'{needle}' missing from the ticket page: {text}"
        );
    }
    screenshot(c, "ticket").await;

    // Close it with a reason, from the page.
    let mark = h.fake.mark();
    c.find(Locator::Id("reason"))
        .await
        .unwrap()
        .send_keys("fixed the banner z-index")
        .await
        .unwrap();
    click(c, Locator::Id("close")).await;
    wait_for(c, Locator::Css("p.flash")).await;
    assert!(body_text(c).await.contains("the ticket is now closed"));
    screenshot(c, "ticket-closed").await;
    let t = h.ticket(1);
    assert_eq!(t.status, TicketStatus::Closed);
    assert_eq!(t.close_reason.as_deref(), Some("fixed the banner z-index"));
    assert_eq!(t.claimed_by, None);
    // Discord shows what the slash command would: the update in the thread...
    let told = h
        .fake
        .wait_request_after(mark, T, |r| {
            r.is("POST", &format!("/channels/{tid}/messages"))
        })
        .await;
    let content = told.body["content"].as_str().unwrap();
    assert!(
        content.contains("closed") && content.contains("fixed the banner z-index"),
        "{content}"
    );
    // ...and the staff channel gets the summary with the transcript file.
    let staff = h.staff_file_after(mark).await;
    assert_eq!(staff.status, 200, "{:?}", staff.response);
    assert_eq!(staff.files, vec!["ticket-1-transcript.html".to_owned()]);
    assert!(staff.body["content"].as_str().unwrap().contains("closed"));

    // The same link is refused the second time.
    let text = visit(c, &link).await;
    assert!(text.contains("already used"), "{text}");
    screenshot(c, "login-refused").await;
    let (status, _) = get(&link, None).await;
    assert_eq!(status, 403);

    // The report and knowledge pages render with their charts: two
    // questions nobody could answer, asked in the help channel.
    for q in [
        "is there a dark theme for the bubble",
        "is there a dark theme for the chat bubble",
    ] {
        h.say(ids::ALICE, ids::HELP_CHANNEL, q);
    }
    poll("the questions were never logged", || {
        let logged = h
            .store
            .queries_since(time::OffsetDateTime::UNIX_EPOCH)
            .unwrap();
        (logged.len() >= 2).then_some(())
    })
    .await;
    c.goto(&h.page("/report?days=7")).await.unwrap();
    assert_eq!(
        c.find_all(Locator::Css("svg")).await.unwrap().len(),
        3,
        "per day, self-service, unanswered"
    );
    let text = body_text(c).await;
    assert!(text.contains("dark theme"), "{text}");
    screenshot(c, "report").await;
    let text = visit(c, &h.page("/report?days=zero")).await;
    assert!(text.contains("days 'zero'"));
    let text = visit(c, &h.page("/knowledge")).await;
    assert!(
        text.contains("No problems") && text.contains("convot/widget-not-appearing"),
        "{text}"
    );
    screenshot(c, "knowledge").await;

    finish(b, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_without_the_csrf_token_is_refused() {
    let Some((b, h)) =
        browser_and_harness("a_state_change_without_the_csrf_token_is_refused").await
    else {
        return;
    };
    let c = &b.client;
    h.plain_ticket().await;
    c.goto(&h.login_link().await).await.unwrap();
    c.goto(&h.page("/tickets/1")).await.unwrap();
    wait_for(c, Locator::Id("claim")).await;
    let cookie = c.get_named_cookie("triage_session").await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    let session = cookie.value().to_owned();
    let action = h.page("/tickets/1/action");
    let mark = h.fake.mark();
    // With the session but no token, or a wrong one: refused, nothing changes.
    for form in [
        vec![("action", "close"), ("reason", "forged")],
        vec![("action", "close"), ("reason", "forged"), ("csrf", "0000")],
    ] {
        let (status, body) = raw(reqwest::Method::POST, &action, Some(&session), &form).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("security token"), "{body}");
    }
    // The page's own form, with its token taken out, is refused too.
    c.execute(
        "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove());",
        vec![],
    )
    .await
    .unwrap();
    click(c, Locator::Id("claim")).await;
    wait_for(c, Locator::Css("p.problem")).await;
    assert!(body_text(c).await.contains("security token"));
    screenshot(c, "error-csrf").await;
    let t = h.ticket(1);
    assert_eq!(
        t.status,
        TicketStatus::Open,
        "a forged request changed the ticket"
    );
    assert!(
        h.fake
            .requests()
            .iter()
            .skip(mark)
            .all(|r| r.method != "POST" || !r.path.starts_with("/channels/")),
        "Discord was told about a refused request"
    );
    // Signing out ends the session on the server, not just in the browser.
    c.goto(&h.page("/tickets")).await.unwrap();
    click(c, Locator::Css("header form button")).await;
    wait_for(c, Locator::Css("main h1")).await;
    assert!(body_text(c).await.contains("You are signed out"));
    let (status, _) = get(&h.page("/tickets"), Some(&session)).await;
    assert_eq!(status, 401, "the old session cookie still works");
    // Without a session nothing is readable.
    let (status, _) = get(&h.page("/tickets/1"), None).await;
    assert_eq!(status, 401);
    let (status, _) = get(&h.page("/tickets/1/transcript.html"), Some("not-a-session")).await;
    assert_eq!(status, 401);
    finish(b, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_in_fields_and_thread_messages_shows_escaped_and_never_runs() {
    let Some((b, h)) = browser_and_harness(
        "hostile_text_in_fields_and_thread_messages_shows_escaped_and_never_runs",
    )
    .await
    else {
        return;
    };
    let c = &b.client;
    let field = "app_<script>document.title='PWNED'</script>";
    let console =
        "<img src=x onerror=\"document.title='PWNED'\"> [docs](javascript:document.title='PWNED')";
    let tid = h.ticket_from_alice(field, console).await;
    let message = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"> [click me](javascript:window.pwned=3)";
    h.say(ids::ALICE, tid, message);
    h.recorded(1, "click me").await;

    c.goto(&h.login_link().await).await.unwrap();
    c.goto(&h.page("/tickets/1")).await.unwrap();
    wait_for(c, Locator::Id("close")).await;
    screenshot(c, "ticket-hostile").await;
    let text = body_text(c).await;
    for shown in [field, console, message] {
        assert!(
            text.contains(shown),
            "'{shown}' is not shown as text: {text}"
        );
    }
    let state = page_state(c).await;
    assert_eq!(
        state,
        json!(["Ticket #1 · triage", "undefined"]),
        "a payload ran"
    );
    assert!(c
        .find_all(Locator::Css("main img, main script"))
        .await
        .unwrap()
        .is_empty());
    assert!(c
        .find_all(Locator::Css("a[href^='javascript']"))
        .await
        .unwrap()
        .is_empty());

    // The list, and the standalone transcript file, escape it too.
    let text = visit(c, &h.page("/tickets?q=PWNED")).await;
    assert!(text.contains("1 ticket(s)"));
    let session = session_cookie(c).await;
    let (status, file) = get(&h.page("/tickets/1/transcript.html"), Some(&session)).await;
    assert_eq!(status, 200);
    assert!(
        !file.contains("<script>window") && !file.contains("<img src=x"),
        "{file}"
    );
    assert!(file.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;"));
    let path = std::env::temp_dir().join(format!("triage-transcript-{}.html", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    c.goto(&format!("file://{}", path.display())).await.unwrap();
    let state = page_state(c).await;
    assert_eq!(state, json!(["Ticket #1 transcript", "undefined"]));
    assert!(body_text(c).await.contains(message));
    screenshot(c, "transcript-file").await;
    let _ = std::fs::remove_file(&path);
    finish(b, h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_of_one_guild_see_none_of_another_guilds_tickets() {
    let Some((b, h)) =
        browser_and_harness("staff_of_one_guild_see_none_of_another_guilds_tickets").await
    else {
        return;
    };
    let c = &b.client;
    h.plain_ticket().await;
    // Ticket #2 is filed in another guild's channel (another server the bot
    // is in), with a message in its transcript.
    let other_place = "1400000000000000001";
    let other_guild = "1400000000000000000";
    let engine = Engine::new(
        Arc::new(NoMatch(Arc::new(
            KnowledgeBase::from_sources(&[(PathBuf::from("convot.yaml"), kb())]).unwrap(),
        ))),
        h.store.clone(),
        Arc::new(SystemClock),
    );
    let key = ConversationKey::new(other_place, "1400000000000000002");
    engine
        .handle(&Input::act("o1", key.clone(), Action::Escalate).in_product(Some("convot".into())))
        .unwrap();
    engine
        .handle(&Input::say("o2", key.clone(), "app_other"))
        .unwrap();
    engine
        .handle(&Input::say(
            "o3",
            key.clone(),
            "the other guild's secret-walrus console",
        ))
        .unwrap();
    let t2 = h
        .store
        .ticket(triage::tickets::TicketId(2))
        .unwrap()
        .expect("ticket #2 filed");
    assert_eq!(t2.place.as_str(), other_place);
    Archive::record_message(
        h.store.as_ref(),
        &NewMessage {
            id: "1400000000000000003".into(),
            place: Place::new(other_place),
            guild: Some(other_guild.into()),
            conv_user: None,
            author: UserId::new("1400000000000000002"),
            author_name: "mallory".into(),
            role: Role::Customer,
            at: time::OffsetDateTime::now_utc(),
            content: "secret-walrus details".into(),
            attachments: vec![],
        },
    )
    .unwrap();

    let text = visit(c, &h.login_link().await).await;
    assert!(text.contains("1 ticket(s)"), "{text}");
    assert!(!text.contains("secret-walrus"));
    // Not by search, not by id, not by its transcript, not by asking for the guild.
    let text = visit(c, &h.page("/tickets?q=secret-walrus")).await;
    assert!(text.contains("0 ticket(s)"));
    let text = visit(c, &h.page(&format!("/tickets?guild={other_guild}"))).await;
    assert!(!text.contains("#2"));
    let text = visit(c, &h.page("/tickets/2")).await;
    assert!(text.contains("There is no ticket #2"));
    screenshot(c, "error-unknown-ticket").await;
    let text = visit(c, &h.page("/tickets/2/transcript.html")).await;
    assert!(!text.contains("secret-walrus"));
    // Staff actions on it are refused the same way.
    let session = session_cookie(c).await;
    c.goto(&h.page("/tickets/1")).await.unwrap();
    let csrf = c
        .find(Locator::Css("input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let (status, _) = raw(
        reqwest::Method::POST,
        &h.page("/tickets/2/action"),
        Some(&session),
        &[("action", "close"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(h.ticket(2).status, TicketStatus::Open);
    finish(b, h).await;
}

/// No browser needed: the gateway side of transcripts and the close hand-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_messages_edits_and_deletions_are_recorded_once_and_close_sends_the_transcript() {
    let h = Harness::start().await;
    let tid = h.plain_ticket().await;
    let first = h.say(ids::ALICE, tid, "first version of my note");
    // A redelivered MESSAGE_CREATE is one message.
    h.fake.dispatch("MESSAGE_CREATE", first.clone());
    h.recorded(1, "first version").await;
    h.edit(&first, "second version of my note");
    h.recorded(1, "second version").await;
    let mut shot = payloads::message_create(h.world(), ids::ALICE, tid, "here is the console");
    shot["attachments"] = json!([{
        "id": "1500000000000000001",
        "filename": "console.png",
        "size": 1234,
        "url": "https://cdn.discordapp.com/attachments/1/2/console.png",
        "proxy_url": "https://media.discordapp.net/attachments/1/2/console.png",
        "content_type": "image/png"
    }]);
    h.fake.dispatch("MESSAGE_CREATE", shot);
    h.recorded(1, "here is the console").await;
    let gone = h.say(ids::BOB, tid, "staff note that gets deleted");
    h.recorded(1, "gets deleted").await;
    h.fake.dispatch(
        "MESSAGE_DELETE",
        json!({"id": gone["id"], "channel_id": gone["channel_id"], "guild_id": gone["guild_id"]}),
    );
    let ticket = h.ticket(1);
    let msgs = poll("the deletion was never recorded", || {
        let msgs = Archive::transcript(h.store.as_ref(), &ticket).unwrap();
        msgs.iter().any(|m| m.deleted_at.is_some()).then_some(msgs)
    })
    .await;
    let note: Vec<_> = msgs
        .iter()
        .filter(|m| m.content.contains("version of my note"))
        .collect();
    assert_eq!(note.len(), 1, "recorded once");
    assert_eq!(note[0].role, Role::Customer);
    assert_eq!(note[0].edits.len(), 1);
    assert_eq!(note[0].edits[0].previous, "first version of my note");
    let with_file = msgs
        .iter()
        .find(|m| m.content == "here is the console")
        .unwrap();
    assert_eq!(with_file.attachments.len(), 1);
    assert_eq!(with_file.attachments[0].name, "console.png");
    assert!(with_file.attachments[0].url.ends_with("/console.png"));
    let staff = msgs
        .iter()
        .find(|m| m.content.contains("gets deleted"))
        .unwrap();
    assert_eq!(staff.role, Role::Staff);
    assert!(staff.deleted_at.is_some());
    // The bot's own posts (the field prompts, the hand-off) are there too.
    assert!(msgs
        .iter()
        .any(|m| m.role == Role::Bot && m.content.contains("1/2")));
    assert!(msgs
        .iter()
        .any(|m| m.role == Role::Customer && m.content == "app_12345"));

    // /ticket close in the thread: the staff channel gets the summary with the file.
    let mark = h.fake.mark();
    let thread = h.fake.thread(tid).unwrap();
    let id = h.fake.command_id("ticket");
    let ix = payloads::slash_command_in_thread(
        h.world(),
        ids::BOB,
        &thread,
        id,
        "ticket",
        vec![payloads::opt_subcommand(
            "close",
            vec![payloads::opt_string("reason", "done")],
        )],
    );
    h.fake.dispatch("INTERACTION_CREATE", ix.clone());
    h.fake.wait_callback(&ix, T).await;
    let staff = h.staff_file_after(mark).await;
    assert_eq!(staff.status, 200);
    assert_eq!(staff.files, vec!["ticket-1-transcript.html".to_owned()]);
    let content = staff.body["content"].as_str().unwrap();
    assert!(
        content.contains("closed") && content.contains("done"),
        "{content}"
    );
    assert_eq!(staff.body["allowed_mentions"]["parse"], json!([]));
    h.stop().await;
}

/// No browser needed: `triage run` with a `dashboard:` section serves the
/// dashboard beside the bot, and `/dashboard` links into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_run_serves_the_dashboard_its_config_names() {
    let fake = fake_discord::FakeDiscord::start(fake_discord::FakeOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    fixture::write_kb(&dir.path().join("knowledge"), &[("convot.yaml", &kb())]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!(
        "guild_id: {}\nsupport_role_id: {}\nstaff_channel_id: {}\nkb: knowledge\ndb: triage.db\ndashboard:\n  listen: 127.0.0.1:{port}\n  public_url: http://127.0.0.1:{port}/\n",
        ids::GUILD,
        ids::SUPPORT_ROLE,
        ids::STAFF_CHANNEL
    );
    std::fs::write(dir.path().join("triage.yaml"), cfg).unwrap();
    let mut child = fixture::triage_run(&fake, &dir.path().join("triage.yaml"))
        .spawn()
        .unwrap();
    commands_registered(&fake).await;
    let body = dashboard_command(&fake, ids::BOB).await;
    let text = body["data"]["content"].as_str().unwrap_or("").to_owned();
    let prefix = format!("<http://127.0.0.1:{port}/login/");
    let start = text.find(&prefix).unwrap_or_else(|| panic!("{text}"));
    let link = text[start + 1..].split('>').next().unwrap().to_owned();
    let (status, _) = get(&link, None).await;
    let (again, page) = get(&link, None).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 303, "the link signs in");
    assert_eq!(again, 403, "{page}");
    fake.assert_no_violations();
}
