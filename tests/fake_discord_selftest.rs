//! Tests of the fake Discord itself (tests/support/fake_discord/): the gateway protocol and the
//! REST rules, driven by a bare websocket client and raw HTTP, plus a smoke test of a real
//! serenity + poise client against it (connect, register, answer, RESUME, bad token).

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;

use std::time::{Duration, Instant};

use fake_discord::payloads::{self, ids, intents, perms};
use fake_discord::{Direction, FakeDiscord, FakeOptions, GatewayClient, WsEvent};
use serde_json::{json, Value};
use serenity::all::{
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
    FullEvent, GatewayIntents, GuildId, Interaction,
};
use serenity::http::HttpBuilder;

const T: Duration = Duration::from_secs(5);

fn ix_path(ix: &Value, tail: &str) -> String {
    format!(
        "/interactions/{}/{}/{tail}",
        ix["id"].as_str().unwrap(),
        ix["token"].as_str().unwrap()
    )
}

fn webhook_path(ix: &Value, tail: &str) -> String {
    format!(
        "/webhooks/{}/{}{tail}",
        ids::APPLICATION,
        ix["token"].as_str().unwrap()
    )
}

async fn connected(fake: &FakeDiscord, bits: u64) -> GatewayClient {
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    client.identify(fake.token(), bits).await;
    let guild = client.frame(T).await;
    assert_eq!(guild["t"], "GUILD_CREATE");
    client
}

const ALL_MESSAGES: u64 = intents::GUILDS | intents::GUILD_MESSAGES | intents::MESSAGE_CONTENT;

// ---------------------------------------------------------------------------------------------
// Gateway protocol, with a bare client.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn identify_gets_ready_then_guild_create_and_heartbeats_are_acked() {
    let fake = FakeDiscord::start(FakeOptions {
        heartbeat_interval: Duration::from_millis(1234),
        ..Default::default()
    })
    .await;
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    let ready = client.identify(fake.token(), ALL_MESSAGES).await;
    assert_eq!(ready["s"], 1);
    assert_eq!(ready["d"]["resume_gateway_url"], fake.gateway_url());
    let guild = client.frame(T).await;
    assert_eq!(
        (guild["t"].as_str(), guild["s"].as_u64()),
        (Some("GUILD_CREATE"), Some(2))
    );
    let hello = fake.wait_gateway(T, |f| f.op() == Some(10)).await;
    assert_eq!(hello.d()["heartbeat_interval"], 1234);

    client.send(json!({"op": 1, "d": 2})).await;
    assert_eq!(client.frame(T).await, json!({"op": 11}));
    assert_eq!(fake.wait_gateway_op(1, T).await.d(), &json!(2));

    fake.set_heartbeat_ack(false);
    client.send(json!({"op": 1, "d": 2})).await;
    assert_eq!(
        client.recv(Duration::from_millis(200)).await,
        WsEvent::Timeout,
        "a zombied gateway stays silent"
    );
}

#[tokio::test]
async fn resume_replays_what_the_bot_missed_then_resumed() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut client = connected(&fake, ALL_MESSAGES).await;
    let session = fake.wait_ready(T).await.d()["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = payloads::message_create(fake.world(), ids::ALICE, ids::HELP_CHANNEL, "one");
    assert_eq!(fake.dispatch("MESSAGE_CREATE", first), Some(3));
    assert_eq!(client.frame(T).await["s"], 3);

    fake.drop_connection().await;
    assert_eq!(
        client.recv(T).await,
        WsEvent::Closed(None),
        "no close frame on a drop"
    );
    let missed = payloads::message_create(fake.world(), ids::ALICE, ids::HELP_CHANNEL, "two");
    assert_eq!(
        fake.dispatch("MESSAGE_CREATE", missed),
        Some(4),
        "buffered while disconnected"
    );

    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    assert_eq!(client.frame(T).await["op"], 10);
    client.send(json!({"op": 6, "d": {"token": format!("Bot {}", fake.token()), "session_id": session, "seq": 3}})).await;
    let replayed = client.frame(T).await;
    assert_eq!(
        (replayed["s"].as_u64(), replayed["d"]["content"].as_str()),
        (Some(4), Some("two"))
    );
    let resumed = client.frame(T).await;
    assert_eq!(
        (resumed["t"].as_str(), resumed["s"].as_u64()),
        (Some("RESUMED"), Some(5))
    );
    assert_eq!(fake.connections(), 2);

    let mut stranger = GatewayClient::connect(&fake.gateway_url()).await;
    stranger.frame(T).await;
    stranger.send(json!({"op": 6, "d": {"token": format!("Bot {}", fake.token()), "session_id": "nope", "seq": 1}})).await;
    assert_eq!(
        stranger.frame(T).await,
        json!({"op": 9, "d": false}),
        "an unknown session is invalid"
    );
}

#[tokio::test]
async fn bad_token_or_rejecting_fake_closes_with_4004() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    client.frame(T).await;
    client
        .send(json!({"op": 2, "d": {"token": "Bot wrong", "intents": 1, "properties": {}}}))
        .await;
    assert_eq!(client.recv(T).await, WsEvent::Closed(Some(4004)));

    fake.set_reject_identify(true);
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    client.frame(T).await;
    client.send(json!({"op": 2, "d": {"token": format!("Bot {}", fake.token()), "intents": 1, "properties": {}}})).await;
    assert_eq!(client.recv(T).await, WsEvent::Closed(Some(4004)));
    let closes: Vec<_> = fake
        .gateway_frames()
        .into_iter()
        .filter(|f| f.direction == Direction::Sent && f.is_close)
        .collect();
    assert_eq!(closes.len(), 2);
}

#[tokio::test]
async fn zlib_mode_sends_binary_frames_and_close_gateway_sends_its_code() {
    let fake = FakeDiscord::start(FakeOptions {
        zlib: true,
        ..Default::default()
    })
    .await;
    let mut client = connected(&fake, ALL_MESSAGES).await; // GatewayClient inflates binary frames
    fake.send_raw(json!({"op": 7, "d": null}));
    assert_eq!(client.frame(T).await["op"], 7);
    // Read while closing: the close handshake needs the client to answer.
    let ((), got) = tokio::join!(fake.close_gateway(4000), client.recv(T));
    assert_eq!(got, WsEvent::Closed(Some(4000)));
}

#[tokio::test]
async fn message_events_follow_the_bots_intents() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut client = connected(&fake, intents::GUILDS | intents::GUILD_MESSAGES).await;
    let plain =
        payloads::message_create(fake.world(), ids::ALICE, ids::HELP_CHANNEL, "secret words");
    fake.dispatch("MESSAGE_CREATE", plain);
    assert_eq!(
        client.frame(T).await["d"]["content"],
        "",
        "no MESSAGE_CONTENT intent: content is withheld"
    );
    let mention = payloads::message_create(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        "<@1300000000000000001> help",
    );
    fake.dispatch("MESSAGE_CREATE", mention);
    assert_eq!(
        client.frame(T).await["d"]["content"],
        "<@1300000000000000001> help",
        "mentions keep content"
    );

    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let _client = connected(&fake, intents::GUILDS).await;
    let msg = payloads::message_create(fake.world(), ids::ALICE, ids::HELP_CHANNEL, "hi");
    assert_eq!(
        fake.dispatch("MESSAGE_CREATE", msg),
        None,
        "no GUILD_MESSAGES intent: not sent"
    );
}

// ---------------------------------------------------------------------------------------------
// REST rules, with raw HTTP.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rest_needs_the_bot_token_and_unknown_routes_are_404() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let none = fake.raw_request_with("GET", "/gateway", &[], None).await;
    assert_eq!(
        (none.status, none.body.clone()),
        (401, json!({"message": "401: Unauthorized", "code": 0}))
    );
    let wrong = fake
        .raw_request_with("GET", "/gateway", &[("Authorization", "Bot nope")], None)
        .await;
    assert_eq!(wrong.status, 401);
    let bearer = fake
        .raw_request_with("GET", "/gateway", &[("Authorization", fake.token())], None)
        .await;
    assert_eq!(bearer.status, 401, "the `Bot ` prefix is required");
    let ok = fake.raw_request("GET", "/gateway", None).await;
    assert_eq!(ok.body, json!({"url": fake.gateway_url()}));

    let missing = fake.raw_request("GET", "/nothing/here", None).await;
    assert_eq!(
        (missing.status, missing.body),
        (404, json!({"message": "404: Not Found", "code": 0}))
    );
    let ws_less = fake
        .raw_request_with(
            "POST",
            "/interactions/1/x/callback",
            &[],
            Some(&json!({"type": 1})),
        )
        .await;
    assert_eq!(
        ws_less.body["code"], 10062,
        "interaction callbacks need no bot token"
    );

    let recorded = fake.requests();
    assert_eq!(recorded.len(), 6);
    assert_eq!(
        recorded[3].header("authorization"),
        Some(format!("Bot {}", fake.token()).as_str())
    );
    assert_eq!(recorded[4].status, 404);
    fake.assert_no_violations();
}

#[tokio::test]
async fn overrides_inject_faults_then_clear() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let _client = connected(&fake, ALL_MESSAGES).await;
    let path = format!("/channels/{}/messages", ids::HELP_CHANNEL);
    let body = json!({"content": "hello"});

    fake.override_route_times(
        "POST",
        "/channels/*/messages",
        500,
        payloads::error_body(0, "500: Internal Server Error"),
        1,
    );
    assert_eq!(
        fake.raw_request("POST", &path, Some(&body)).await.status,
        500
    );
    assert_eq!(
        fake.raw_request("POST", &path, Some(&body)).await.status,
        200,
        "only once"
    );

    fake.override_route(
        "POST",
        "/channels/{channel_id}/messages",
        429,
        payloads::rate_limited(1.5, false),
    );
    let limited = fake.raw_request("POST", &path, Some(&body)).await;
    assert_eq!(
        (limited.status, limited.header("retry-after")),
        (429, Some("2"))
    );
    assert_eq!(limited.body["retry_after"], 1.5);
    fake.clear_overrides();
    assert_eq!(
        fake.raw_request("POST", &path, Some(&body)).await.status,
        200
    );
    assert_eq!(
        fake.messages_in(ids::HELP_CHANNEL).len(),
        2,
        "overridden requests have no effect"
    );
}

#[tokio::test]
async fn interaction_callbacks_follow_discords_rules() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let _client = connected(&fake, ALL_MESSAGES).await;
    let world = fake.world().clone();
    let slash = |name: &str| {
        payloads::slash_command(&world, ids::ALICE, ids::HELP_CHANNEL, 1, name, vec![])
    };

    let ix = slash("diagnose");
    fake.dispatch("INTERACTION_CREATE", ix.clone());
    let early = fake
        .raw_request_with(
            "POST",
            &webhook_path(&ix, ""),
            &[],
            Some(&json!({"content": "too early"})),
        )
        .await;
    assert_eq!(
        early.body["code"], 10015,
        "no follow-up before the interaction is acknowledged"
    );
    let wrong_type = fake
        .raw_request_with(
            "POST",
            &ix_path(&ix, "callback"),
            &[],
            Some(&json!({"type": 8, "data": {"choices": []}})),
        )
        .await;
    assert_eq!(
        wrong_type.status, 400,
        "autocomplete results answer autocomplete only"
    );
    let empty = fake
        .raw_request_with(
            "POST",
            &ix_path(&ix, "callback"),
            &[],
            Some(&json!({"type": 4, "data": {"content": ""}})),
        )
        .await;
    assert_eq!(empty.body["code"], 50006);
    let buttons = json!({"type": 4, "data": {"content": "x", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "custom_id": "same", "label": "a"}, {"type": 2, "style": 1, "custom_id": "same", "label": "b"}]}]}});
    let dup = fake
        .raw_request_with("POST", &ix_path(&ix, "callback"), &[], Some(&buttons))
        .await;
    assert_eq!(
        dup.body["errors"]["components"]["_errors"][0]["code"],
        "COMPONENT_CUSTOM_ID_DUPLICATED"
    );
    assert_eq!(fake.violations().len(), 3, "refused bodies are violations");

    let reply = json!({"type": 4, "data": {"content": "checks", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "custom_id": "diag:escalate", "label": "Escalate"}]}]}});
    assert_eq!(
        fake.raw_request_with("POST", &ix_path(&ix, "callback"), &[], Some(&reply))
            .await
            .status,
        204
    );
    let again = fake
        .raw_request_with("POST", &ix_path(&ix, "callback"), &[], Some(&reply))
        .await;
    assert_eq!(
        (again.status, again.body["code"].as_u64()),
        (400, Some(40060)),
        "single acknowledgement"
    );
    assert_eq!(
        fake.wait_callback(&ix, T).await.status,
        400,
        "wait_callback returns the first callback"
    );
    fake.dispatch("INTERACTION_CREATE", ix.clone()); // Discord may deliver an event twice
    let redelivered = fake
        .raw_request_with("POST", &ix_path(&ix, "callback"), &[], Some(&reply))
        .await;
    assert_eq!(
        redelivered.body["code"], 40060,
        "a redelivered interaction is still acknowledged"
    );

    let original = fake
        .raw_request_with("GET", &webhook_path(&ix, "/messages/@original"), &[], None)
        .await;
    assert_eq!(original.body["content"], "checks");
    let edit = fake
        .raw_request_with(
            "PATCH",
            &webhook_path(&ix, "/messages/@original"),
            &[],
            Some(&json!({"content": "edited"})),
        )
        .await;
    assert_eq!(edit.body["content"], "edited");
    let follow = fake
        .raw_request_with(
            "POST",
            &webhook_path(&ix, ""),
            &[],
            Some(&json!({"content": "more"})),
        )
        .await;
    assert_eq!(follow.status, 200);

    // The button on the recorded response can be clicked; the click can update that message.
    let message = fake
        .original_message(&ix)
        .expect("the response is the original message");
    let click = payloads::button_click(&world, ids::ALICE, &message, "diag:escalate");
    fake.dispatch("INTERACTION_CREATE", click.clone());
    let update = json!({"type": 7, "data": {"content": "escalating", "components": []}});
    assert_eq!(
        fake.raw_request_with("POST", &ix_path(&click, "callback"), &[], Some(&update))
            .await
            .status,
        204
    );
    assert_eq!(
        fake.message(payloads::id_of(&message, "id")).unwrap()["content"],
        "escalating"
    );

    let unknown = fake
        .raw_request_with("POST", "/interactions/42/nope/callback", &[], Some(&reply))
        .await;
    assert_eq!(
        (unknown.status, unknown.body["code"].as_u64()),
        (404, Some(10062))
    );
}

#[tokio::test]
async fn a_late_callback_is_unknown_interaction() {
    // A zero deadline makes every callback late without waiting three seconds.
    let fake = FakeDiscord::start(FakeOptions {
        interaction_deadline: Duration::ZERO,
        ..Default::default()
    })
    .await;
    let _client = connected(&fake, ALL_MESSAGES).await;
    let ix = payloads::slash_command(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        1,
        "diagnose",
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", ix.clone());
    let late = fake
        .raw_request_with(
            "POST",
            &ix_path(&ix, "callback"),
            &[],
            Some(&json!({"type": 5})),
        )
        .await;
    assert_eq!(
        (late.status, late.body["code"].as_u64()),
        (404, Some(10062))
    );
}

#[tokio::test]
async fn threads_are_announced_and_permissions_are_enforced() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut client = connected(&fake, ALL_MESSAGES).await;
    let thread = fake
        .raw_request(
            "POST",
            &format!("/channels/{}/threads", ids::HELP_CHANNEL),
            Some(&json!({"name": "ticket-alice", "type": 12, "invitable": false})),
        )
        .await;
    assert_eq!(
        (thread.status, thread.body["type"].as_u64()),
        (201, Some(12))
    );
    let announced = client.frame(T).await;
    assert_eq!(
        (announced["t"].as_str(), announced["d"]["id"].clone()),
        (Some("THREAD_CREATE"), thread.body["id"].clone())
    );
    let thread_id = payloads::id_of(&thread.body, "id");
    assert_eq!(
        fake.raw_request(
            "PUT",
            &format!("/channels/{thread_id}/thread-members/{}", ids::ALICE),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        fake.thread_members(thread_id),
        vec![ids::BOT_USER, ids::ALICE]
    );

    let posted = fake
        .raw_request(
            "POST",
            &format!("/channels/{thread_id}/messages"),
            Some(&json!({"content": "App key?"})),
        )
        .await;
    assert_eq!(posted.status, 200);
    let echo = client.frame(T).await;
    assert_eq!(
        (echo["t"].as_str(), echo["d"]["author"]["bot"].as_bool()),
        (Some("MESSAGE_CREATE"), Some(true)),
        "the bot sees its own message, as on Discord"
    );

    assert_eq!(
        fake.raw_request("GET", "/channels/1/messages", None)
            .await
            .body["code"],
        10003
    );
    let no_thread = fake
        .raw_request(
            "POST",
            &format!("/channels/{thread_id}/threads"),
            Some(&json!({"name": "nested"})),
        )
        .await;
    assert_eq!(no_thread.body["code"], 50024);

    // A bot role without CREATE_PRIVATE_THREADS gets Discord's 403.
    let mut world = payloads::World::default();
    world
        .roles
        .iter_mut()
        .for_each(|r| r.permissions &= !perms::CREATE_PRIVATE_THREADS);
    let strict = FakeDiscord::start(FakeOptions {
        world,
        ..Default::default()
    })
    .await;
    let denied = strict
        .raw_request(
            "POST",
            &format!("/channels/{}/threads", ids::HELP_CHANNEL),
            Some(&json!({"name": "t", "type": 12})),
        )
        .await;
    assert_eq!(
        (denied.status, denied.body["code"].as_u64()),
        (403, Some(50013))
    );
    let staff_hidden = strict
        .world()
        .permissions_in(strict.world().member(ids::ALICE), ids::STAFF_CHANNEL);
    assert_eq!(
        staff_hidden & perms::VIEW_CHANNEL,
        0,
        "customers cannot see the staff channel"
    );
}

// ---------------------------------------------------------------------------------------------
// A real serenity + poise client.
// ---------------------------------------------------------------------------------------------

type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, (), Error>;

/// Answers with pong and a button
#[poise::command(slash_command)]
async fn ping(
    ctx: Context<'_>,
    #[description = "Echoed back"] text: Option<String>,
) -> Result<(), Error> {
    let button = CreateActionRow::Buttons(vec![CreateButton::new("ping:again").label("Again")]);
    ctx.send(
        poise::CreateReply::default()
            .content(format!("pong {}", text.unwrap_or_default()))
            .components(vec![button]),
    )
    .await?;
    Ok(())
}

/// Components are routed statelessly by custom_id, as the note recommends.
fn on_event<'a>(
    fw: poise::FrameworkContext<'a, (), Error>,
    event: &'a FullEvent,
) -> poise::BoxFuture<'a, Result<(), Error>> {
    Box::pin(async move {
        if let FullEvent::InteractionCreate {
            interaction: Interaction::Component(click),
        } = event
        {
            let update = CreateInteractionResponseMessage::new()
                .content("pong again")
                .components(vec![]);
            click
                .create_response(
                    fw.serenity_context,
                    CreateInteractionResponse::UpdateMessage(update),
                )
                .await?;
        }
        Ok(())
    })
}

/// Builds the client exactly as the note's production code does, pointed at the fake.
async fn serenity_client(fake: &FakeDiscord) -> serenity::Client {
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![ping()],
            event_handler: on_event,
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_in_guild(
                    ctx,
                    &framework.options().commands,
                    GuildId::new(ids::GUILD),
                )
                .await?;
                Ok(())
            })
        })
        .build();
    let http = HttpBuilder::new(fake.token())
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    serenity::client::ClientBuilder::new_with_http(http, GatewayIntents::non_privileged())
        .framework(framework)
        .await
        .expect("the client builds (GET /gateway answered)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_and_poise_run_against_the_fake() {
    let started = Instant::now();
    let fake = FakeDiscord::start(FakeOptions {
        heartbeat_interval: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let mut client = serenity_client(&fake).await;
    let shards = client.shard_manager.clone();
    let running = tokio::spawn(async move { client.start().await });

    // Ready: poise's setup registers the guild command.
    let put = fake
        .wait_request(T, |r| r.is("PUT", "/applications/*/guilds/*/commands"))
        .await;
    assert_eq!(put.body[0]["name"], "ping");
    assert_eq!(
        put.header("user-agent")
            .map(|ua| ua.starts_with("DiscordBot")),
        Some(true)
    );
    let identify = fake.wait_gateway_op(2, T).await;
    assert_eq!(identify.d()["token"], format!("Bot {}", fake.token()));

    // A slash command is answered with a message and a button; clicking the button updates it.
    let cmd = payloads::slash_command(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("ping"),
        "ping",
        vec![payloads::opt_string("text", "hi")],
    );
    fake.dispatch("INTERACTION_CREATE", cmd.clone());
    let answer = fake.wait_callback(&cmd, T).await;
    assert_eq!(
        (answer.status, answer.body["type"].as_u64()),
        (204, Some(4))
    );
    assert_eq!(answer.body["data"]["content"], "pong hi");
    let message = fake
        .original_message(&cmd)
        .expect("the callback created the original message");
    let click = payloads::button_click(fake.world(), ids::ALICE, &message, "ping:again");
    fake.dispatch("INTERACTION_CREATE", click.clone());
    assert_eq!(fake.wait_callback(&click, T).await.body["type"], 7);
    fake.wait_gateway_op(1, T).await; // heartbeats flow (and are acked)

    // A dropped connection is resumed, and what was dispatched meanwhile is replayed.
    fake.drop_connection().await;
    let missed = payloads::slash_command(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        fake.command_id("ping"),
        "ping",
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", missed.clone());
    let resume = fake.wait_gateway_op(6, T).await;
    assert_eq!(
        resume.d()["session_id"],
        fake.wait_ready(T).await.d()["session_id"]
    );
    fake.wait_dispatch_sent("RESUMED", T).await;
    assert_eq!(
        fake.wait_callback(&missed, T).await.status,
        204,
        "the replayed interaction is answered"
    );
    assert_eq!(fake.connections(), 2);

    shards.shutdown_all().await;
    let result = tokio::time::timeout(T, running)
        .await
        .expect("client stops after shutdown_all")
        .expect("client task");
    assert!(result.is_ok(), "{result:?}");
    fake.assert_no_violations();
    eprintln!("serenity smoke test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_makes_client_start_fail() {
    let fake = FakeDiscord::start(FakeOptions {
        reject_identify: true,
        ..Default::default()
    })
    .await;
    let mut client = serenity_client(&fake).await;
    let result = tokio::time::timeout(T, client.start())
        .await
        .expect("start() returns instead of retrying");
    assert!(
        matches!(
            result,
            Err(serenity::Error::Gateway(
                serenity::gateway::GatewayError::InvalidAuthentication
            ))
        ),
        "{result:?}"
    );
}
