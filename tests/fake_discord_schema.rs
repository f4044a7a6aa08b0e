//! Schema tests for the fake Discord (see tests/support/fake_discord/mod.rs).
//!
//! Two directions. Fake → bot: every payload the fake sends must deserialize with serenity's own
//! types, because serenity silently drops a dispatch it cannot parse (`Event::Unknown`) and a test
//! would only time out. Bot → fake: the fake's OpenAPI check must refuse what Discord refuses (a
//! 2,001-character interaction message, 26 choices) and accept what serenity really sends.

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;

use std::time::Duration;

use fake_discord::openapi::{self, OpenApi};
use fake_discord::payloads::{self, ids};
use fake_discord::{FakeDiscord, FakeOptions, GatewayClient};
use serde_json::{json, Value};
use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, Command, CommandInteraction, CommandOptionType,
    CommandType, ComponentInteractionDataKind, CreateActionRow, CreateAttachment,
    CreateAutocompleteResponse, CreateButton, CreateCommand, CreateCommandOption, CreateEmbed,
    CreateForumPost, CreateInputText, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, CreateModal, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, CreateThread, EditInteractionResponse,
    EditMessage, GetMessages, GuildId, InputTextStyle, Interaction, Permissions, UserId,
};
use serenity::http::{Http, HttpBuilder};
use serenity::model::application::CurrentApplicationInfo;
use serenity::model::channel::{GuildChannel, Message};
use serenity::model::event::{Event, GatewayEvent, MessageUpdateEvent, ResumedEvent};
use serenity::model::gateway::{BotGateway, Ready};
use serenity::model::guild::Guild;

const T: Duration = Duration::from_secs(5);

/// Parses a dispatch the way serenity's shard does and fails on `Event::Unknown`.
fn parse_dispatch(t: &str, d: &Value) -> Event {
    let frame = json!({"op": 0, "s": 1, "t": t, "d": d});
    match serde_json::from_value::<GatewayEvent>(frame) {
        Ok(GatewayEvent::Dispatch(1, Event::Unknown(unknown))) => {
            panic!("{t} becomes Event::Unknown, serenity would drop it: {unknown:?}")
        }
        Ok(GatewayEvent::Dispatch(_, event)) => event,
        Ok(other) => panic!("{t} parsed as {other:?}"),
        Err(e) => panic!("{t} does not parse as a gateway event: {e}"),
    }
}

/// Deserializes with a precise error (the untagged `Unknown` fallback hides the real one).
fn typed<T: serde::de::DeserializeOwned>(what: &str, v: &Value) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what} does not deserialize: {e}\n{v:#}"))
}

fn interaction(what: &str, d: &Value) -> Interaction {
    let ix: Interaction = typed(what, d);
    assert!(matches!(
        parse_dispatch("INTERACTION_CREATE", d),
        Event::InteractionCreate(_)
    ));
    ix
}

#[test]
fn ready_and_guild_create_parse_as_serenity_types() {
    let world = payloads::World::default();
    let ready_d = world.ready("session-1", "ws://127.0.0.1:1/ws");
    let ready: Ready = typed("READY", &ready_d);
    assert_eq!(ready.application.id.get(), ids::APPLICATION);
    assert!(ready.user.bot);
    assert!(matches!(parse_dispatch("READY", &ready_d), Event::Ready(_)));

    let guild_d = world.guild_create();
    let guild: Guild = typed("GUILD_CREATE", &guild_d);
    assert!(guild.roles.keys().any(|r| r.get() == ids::SUPPORT_ROLE));
    let forum = &guild.channels[&ChannelId::new(ids::FORUM_CHANNEL)];
    assert_eq!(forum.kind, ChannelType::Forum);
    assert_eq!(forum.available_tags.len(), 1);
    assert_eq!(
        guild.channels[&ChannelId::new(ids::STAFF_CHANNEL)]
            .permission_overwrites
            .len(),
        3
    );
    assert_eq!(guild.members.len(), 4);
    assert!(matches!(
        parse_dispatch("GUILD_CREATE", &guild_d),
        Event::GuildCreate(_)
    ));

    // Permissions as serenity computes them from the cached guild agree with the fake's.
    let staff = ChannelId::new(ids::STAFF_CHANNEL);
    let channel = &guild.channels[&staff];
    for user in [ids::ALICE, ids::BOB, ids::BOT_USER] {
        let member = &guild.members[&UserId::new(user)];
        let serenity_bits = guild.user_permissions_in(channel, member).bits();
        assert_eq!(
            serenity_bits,
            world.permissions_in(world.member(user), ids::STAFF_CHANNEL),
            "user {user}"
        );
    }
    assert!(!guild
        .user_permissions_in(channel, &guild.members[&UserId::new(ids::ALICE)])
        .view_channel());
}

#[test]
fn every_interaction_kind_parses_as_serenity_interaction() {
    let world = payloads::World::default();
    let cmd = 1_300_000_000_000_009_001;

    let slash = payloads::slash_command(
        &world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        cmd,
        "diagnose",
        vec![
            payloads::opt_string("symptom", "widget not showing"),
            payloads::opt_user("for", ids::BOB),
        ],
    );
    let Interaction::Command(c) = interaction("slash command", &slash) else {
        panic!("not a command")
    };
    assert_eq!(c.data.name, "diagnose");
    assert_eq!(c.data.options[0].value.as_str(), Some("widget not showing"));
    assert!(c.data.resolved.users.contains_key(&UserId::new(ids::BOB)));
    assert!(c.data.resolved.members.contains_key(&UserId::new(ids::BOB)));
    assert_eq!(c.member.as_ref().map(|m| m.user.id.get()), Some(ids::ALICE));
    assert!(c.app_permissions.is_some_and(|p| p.send_messages()));

    let thread = payloads::thread(
        &world,
        payloads::next_id(),
        ids::HELP_CHANNEL,
        ids::BOT_USER,
        "ticket",
        12,
    );
    let in_thread =
        payloads::slash_command_in_thread(&world, ids::BOB, &thread, cmd, "claim", vec![]);
    let Interaction::Command(c) = interaction("slash command in a thread", &in_thread) else {
        panic!()
    };
    assert_eq!(
        c.channel.as_ref().map(|ch| ch.kind),
        Some(ChannelType::PrivateThread)
    );

    let auto = payloads::autocomplete(
        &world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        cmd,
        "diagnose",
        vec![payloads::opt_focused("symptom", "wid")],
    );
    let Interaction::Autocomplete(a) = interaction("autocomplete", &auto) else {
        panic!("not autocomplete")
    };
    assert_eq!(
        a.data.autocomplete().map(|o| o.value.to_string()),
        Some("wid".into())
    );

    let target =
        payloads::message_create(&world, ids::ALICE, ids::HELP_CHANNEL, "my widget is blank");
    let menu = payloads::message_command(&world, ids::BOB, cmd, "Diagnose this", &target);
    let Interaction::Command(c) = interaction("message command", &menu) else {
        panic!()
    };
    assert_eq!(c.data.kind, CommandType::Message);
    assert_eq!(
        c.data
            .resolved
            .messages
            .values()
            .next()
            .map(|m| m.content.as_str()),
        Some("my widget is blank")
    );

    let body = json!({"content": "Try these checks", "components": [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Escalate", "custom_id": "diag:escalate"}]},
        {"type": 1, "components": [{"type": 3, "custom_id": "diag:pick", "options": [
            {"label": "Widget", "value": "widget"}, {"label": "SDK", "value": "sdk"}]}]},
    ]});
    let bot_msg = payloads::bot_message(&world, payloads::next_id(), ids::HELP_CHANNEL, &body, 20);
    let click = payloads::button_click(&world, ids::ALICE, &bot_msg, "diag:escalate");
    let Interaction::Component(b) = interaction("button click", &click) else {
        panic!()
    };
    assert_eq!(b.data.custom_id, "diag:escalate");
    assert!(matches!(b.data.kind, ComponentInteractionDataKind::Button));
    assert_eq!(b.message.components.len(), 2);

    let pick = payloads::select_choice(&world, ids::ALICE, &bot_msg, "diag:pick", &["sdk"]);
    let Interaction::Component(s) = interaction("string select", &pick) else {
        panic!()
    };
    let ComponentInteractionDataKind::StringSelect { values } = &s.data.kind else {
        panic!("not a string select")
    };
    assert_eq!(values, &vec!["sdk".to_string()]);

    let modal = json!({"custom_id": "ticket:convot", "title": "Ticket", "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "app_key", "style": 1, "label": "App key"}]}]});
    let submit = payloads::modal_submit(
        &world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        &modal,
        &[("app_key", "app_123")],
    );
    let Interaction::Modal(m) = interaction("modal submit", &submit) else {
        panic!()
    };
    assert_eq!(m.data.custom_id, "ticket:convot");
    assert_eq!(m.data.components.len(), 1);
}

#[test]
fn messages_threads_and_resumed_parse_as_serenity_events() {
    let world = payloads::World::default();
    let by_user = payloads::message_create(
        &world,
        ids::ALICE,
        ids::HELP_CHANNEL,
        "hello <@1300000000000000001>",
    );
    let msg: Message = typed("MESSAGE_CREATE (user)", &by_user);
    assert!(!msg.author.bot);
    assert_eq!(msg.mentions.len(), 1, "the bot mention is resolved");
    assert!(matches!(
        parse_dispatch("MESSAGE_CREATE", &by_user),
        Event::MessageCreate(_)
    ));

    let by_bot = payloads::message_create(&world, ids::BOT_USER, ids::HELP_CHANNEL, "I am the bot");
    assert!(typed::<Message>("MESSAGE_CREATE (bot)", &by_bot).author.bot);

    let thread = payloads::thread(
        &world,
        payloads::next_id(),
        ids::HELP_CHANNEL,
        ids::BOT_USER,
        "ticket-alice",
        12,
    );
    let thread_id = payloads::id_of(&thread, "id");
    let in_thread = payloads::message_create(&world, ids::ALICE, thread_id, "app_123");
    assert_eq!(
        typed::<Message>("MESSAGE_CREATE (thread)", &in_thread)
            .channel_id
            .get(),
        thread_id
    );

    let edited = payloads::message_update(&by_user, "edited");
    let update: MessageUpdateEvent = typed("MESSAGE_UPDATE", &edited);
    assert_eq!(update.content.as_deref(), Some("edited"));
    assert!(matches!(
        parse_dispatch("MESSAGE_UPDATE", &edited),
        Event::MessageUpdate(_)
    ));

    let created = payloads::thread_create(&thread);
    let channel: GuildChannel = typed("THREAD_CREATE", &created);
    assert_eq!(channel.kind, ChannelType::PrivateThread);
    assert!(matches!(
        parse_dispatch("THREAD_CREATE", &created),
        Event::ThreadCreate(_)
    ));

    let _: ResumedEvent = typed("RESUMED", &payloads::resumed());
    assert!(matches!(
        parse_dispatch("RESUMED", &payloads::resumed()),
        Event::Resumed(_)
    ));

    for c in &world.channels {
        let _: GuildChannel = typed(&format!("channel {}", c.name), &world.channel_json(c));
    }
    let _: CurrentApplicationInfo = typed("application info", &world.application_info());
    let _: BotGateway = typed(
        "gateway/bot",
        &payloads::gateway_bot("ws://127.0.0.1:1/ws", 2),
    );
}

/// A fake with a gateway session (opened by a bare client) and a serenity Http pointed at it.
async fn fake_with_session() -> (FakeDiscord, GatewayClient, Http) {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut gateway = GatewayClient::connect(&fake.gateway_url()).await;
    gateway
        .identify(
            fake.token(),
            payloads::intents::GUILDS | payloads::intents::GUILD_MESSAGES,
        )
        .await;
    let http = HttpBuilder::new(fake.token())
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build();
    http.set_application_id(ids::APPLICATION.into());
    (fake, gateway, http)
}

fn dispatch_command(fake: &FakeDiscord, name: &str) -> (Value, CommandInteraction) {
    let d = payloads::slash_command(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        payloads::next_id(),
        name,
        vec![],
    );
    fake.dispatch("INTERACTION_CREATE", d.clone());
    let Interaction::Command(c) = typed::<Interaction>("slash", &d) else {
        panic!()
    };
    (d, c)
}

/// Every REST answer the fake gives is parsed by serenity's real client, and every body
/// serenity's builders put on the wire passes the OpenAPI check.
#[tokio::test]
async fn rest_answers_parse_with_serenity_and_serenity_bodies_pass_the_spec() {
    let (fake, _gateway, http) = fake_with_session().await;

    assert_eq!(
        http.get_current_application_info().await.unwrap().id.get(),
        ids::APPLICATION
    );
    assert_eq!(http.get_gateway().await.unwrap().url, fake.gateway_url());
    assert_eq!(http.get_bot_gateway().await.unwrap().shards, 1);
    assert_eq!(
        http.get_current_user().await.unwrap().id.get(),
        ids::BOT_USER
    );

    // Command registration (poise's register_in_guild and register_globally send these PUTs).
    let diagnose = CreateCommand::new("diagnose")
        .description("Find the fix for a problem")
        .default_member_permissions(Permissions::SEND_MESSAGES)
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "symptom", "What is wrong")
                .required(true)
                .set_autocomplete(true)
                .max_length(500),
        )
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "product", "Which product")
                .add_string_choice("Convot", "convot")
                .add_string_choice("c2c", "c2c"),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::User,
            "for",
            "On behalf of",
        ));
    let menu = CreateCommand::new("Diagnose this").kind(CommandType::Message);
    let guild_cmds = GuildId::new(ids::GUILD)
        .set_commands(&http, vec![diagnose.clone(), menu])
        .await
        .unwrap();
    assert_eq!(guild_cmds.len(), 2);
    assert_eq!(fake.command_id("diagnose"), guild_cmds[0].id.get());
    let again = GuildId::new(ids::GUILD)
        .set_commands(&http, vec![diagnose.clone()])
        .await
        .unwrap();
    assert_eq!(
        again[0].id, guild_cmds[0].id,
        "re-registering keeps the command id"
    );
    let global: Vec<Command> = Command::set_global_commands(&http, vec![diagnose])
        .await
        .unwrap();
    assert_eq!(global[0].guild_id, None);

    // Channel messages, with components, an embed, a reply, and a file (multipart).
    let help = ChannelId::new(ids::HELP_CHANNEL);
    let sent = help
        .send_message(
            &http,
            CreateMessage::new()
                .content("Checklist")
                .embed(
                    CreateEmbed::new()
                        .title("Widget not showing")
                        .description("1. Check the key")
                        .field("Cause", "Bad key", false),
                )
                .components(vec![CreateActionRow::Buttons(vec![
                    CreateButton::new("diag:solved")
                        .label("Solved")
                        .style(ButtonStyle::Success),
                    CreateButton::new("diag:escalate")
                        .label("Still broken")
                        .style(ButtonStyle::Danger),
                    CreateButton::new_link("https://example.com/guide").label("Guide"),
                ])]),
        )
        .await
        .unwrap();
    assert_eq!(sent.content, "Checklist");
    assert_eq!(sent.components.len(), 1);
    let reply = help
        .send_message(
            &http,
            CreateMessage::new().content("re").reference_message(&sent),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.message_reference.and_then(|r| r.message_id),
        Some(sent.id)
    );
    let with_file = help
        .send_message(
            &http,
            CreateMessage::new()
                .content("log")
                .add_file(CreateAttachment::bytes(b"hello".to_vec(), "log.txt")),
        )
        .await
        .unwrap();
    assert_eq!(with_file.attachments[0].filename, "log.txt");
    let upload = fake.wait_request(T, |r| r.files == ["log.txt"]).await;
    assert_eq!(
        upload.body["content"], "log",
        "payload_json is recorded as the body"
    );

    let edited = help
        .edit_message(
            &http,
            sent.id,
            EditMessage::new().content("Checklist (updated)"),
        )
        .await
        .unwrap();
    assert!(edited.edited_timestamp.is_some());
    assert_eq!(
        help.message(&http, sent.id).await.unwrap().content,
        "Checklist (updated)"
    );
    assert_eq!(
        help.messages(&http, GetMessages::new().limit(2))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(help.to_channel(&http).await.unwrap().guild(), Some(c) if c.name == "help"));

    // Threads: private, from a message, a forum post; membership.
    let private = help
        .create_thread(
            &http,
            CreateThread::new("ticket-alice")
                .kind(ChannelType::PrivateThread)
                .invitable(false),
        )
        .await
        .unwrap();
    assert_eq!(private.kind, ChannelType::PrivateThread);
    private
        .id
        .add_thread_member(&http, UserId::new(ids::ALICE))
        .await
        .unwrap();
    assert_eq!(
        fake.thread_members(private.id.get()),
        vec![ids::BOT_USER, ids::ALICE]
    );
    let in_thread = private
        .id
        .say(&http, "What is your app key?")
        .await
        .unwrap();
    assert_eq!(in_thread.channel_id, private.id);
    let public = help
        .create_thread_from_message(&http, sent.id, CreateThread::new("discussion"))
        .await
        .unwrap();
    assert_eq!(
        public.id.get(),
        sent.id.get(),
        "a thread from a message has the message's id"
    );
    let post = ChannelId::new(ids::FORUM_CHANNEL)
        .create_forum_post(
            &http,
            CreateForumPost::new("Widget blank", CreateMessage::new().content("Details")),
        )
        .await
        .unwrap();
    assert_eq!(post.kind, ChannelType::PublicThread);
    assert_eq!(http.get_channel(private.id).await.unwrap().id(), private.id);

    // Interaction responses: message, get/edit/delete @original, follow-up.
    let (slash_d, slash) = dispatch_command(&fake, "diagnose");
    slash
        .create_response(
            &http,
            CreateInteractionResponse::Message(
                CreateInteractionResponseMessage::new()
                    .content("Try these checks")
                    .components(vec![
                        CreateActionRow::Buttons(vec![
                            CreateButton::new("diag:escalate").label("Escalate")
                        ]),
                        CreateActionRow::SelectMenu(CreateSelectMenu::new(
                            "diag:pick",
                            CreateSelectMenuKind::String {
                                options: vec![
                                    CreateSelectMenuOption::new("Widget", "widget"),
                                    CreateSelectMenuOption::new("SDK", "sdk"),
                                ],
                            },
                        )),
                    ]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        slash.get_response(&http).await.unwrap().content,
        "Try these checks"
    );
    let edited = slash
        .edit_response(&http, EditInteractionResponse::new().content("Edited"))
        .await
        .unwrap();
    assert_eq!(edited.content, "Edited");
    let follow = slash
        .create_followup(
            &http,
            CreateInteractionResponseFollowup::new()
                .content("More")
                .ephemeral(true),
        )
        .await
        .unwrap();
    assert!(follow
        .flags
        .is_some_and(|f| f.contains(serenity::all::MessageFlags::EPHEMERAL)));
    slash.delete_response(&http).await.unwrap();

    // Deferred ephemeral, then the edit that fills it.
    let (_, deferred) = dispatch_command(&fake, "diagnose");
    deferred
        .create_response(
            &http,
            CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(true),
            ),
        )
        .await
        .unwrap();
    deferred
        .edit_response(&http, EditInteractionResponse::new().content("Done"))
        .await
        .unwrap();

    // A modal, autocomplete choices, and an update of the clicked message.
    let (_, modal) = dispatch_command(&fake, "ticket");
    let inputs = vec![
        CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Short, "App key", "app_key")
                .placeholder("app_..."),
        ),
        CreateActionRow::InputText(
            CreateInputText::new(
                InputTextStyle::Paragraph,
                "What the console shows",
                "console",
            )
            .required(false)
            .max_length(4000),
        ),
    ];
    modal
        .create_response(
            &http,
            CreateInteractionResponse::Modal(
                CreateModal::new("ticket:convot", "Open a ticket").components(inputs),
            ),
        )
        .await
        .unwrap();

    let auto_d = payloads::autocomplete(
        fake.world(),
        ids::ALICE,
        ids::HELP_CHANNEL,
        1,
        "diagnose",
        vec![payloads::opt_focused("symptom", "wid")],
    );
    fake.dispatch("INTERACTION_CREATE", auto_d.clone());
    let Interaction::Autocomplete(auto) = typed::<Interaction>("autocomplete", &auto_d) else {
        panic!()
    };
    let choices = CreateAutocompleteResponse::new()
        .add_string_choice("Widget not showing", "convot/widget-not-showing");
    auto.create_response(&http, CreateInteractionResponse::Autocomplete(choices))
        .await
        .unwrap();

    assert!(
        fake.original_message(&slash_d).is_none(),
        "the slash response was deleted"
    );
    let bot_msg = payloads::bot_message(
        fake.world(),
        payloads::next_id(),
        ids::HELP_CHANNEL,
        &json!({"content": "x", "components": [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Solved", "custom_id": "diag:solved"}]}]}),
        0,
    );
    let click_d = payloads::button_click(fake.world(), ids::ALICE, &bot_msg, "diag:solved");
    fake.dispatch("INTERACTION_CREATE", click_d.clone());
    let Interaction::Component(click) = typed::<Interaction>("click", &click_d) else {
        panic!()
    };
    click
        .create_response(
            &http,
            CreateInteractionResponse::UpdateMessage(
                CreateInteractionResponseMessage::new()
                    .content("Glad it worked")
                    .components(vec![]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        fake.original_message(&click_d).unwrap()["content"],
        "Glad it worked"
    );

    fake.assert_no_violations();

    // A new session's GUILD_CREATE lists the threads made so far; then every dispatch the fake
    // sent in this test (READY, GUILD_CREATE, THREAD_CREATE, the echoes of the bot's messages,
    // the interactions) must parse as a known serenity event.
    let mut again = GatewayClient::connect(&fake.gateway_url()).await;
    again
        .identify(fake.token(), payloads::intents::GUILDS)
        .await;
    let guild = again.frame(T).await;
    let guild: Guild = typed("GUILD_CREATE with threads", &guild["d"]);
    assert_eq!(guild.threads.len(), 3);
    let sent: Vec<_> = fake
        .gateway_frames()
        .into_iter()
        .filter(|f| f.direction == fake_discord::Direction::Sent && f.op() == Some(0))
        .collect();
    let kinds: std::collections::BTreeSet<&str> = sent.iter().filter_map(|f| f.t()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "GUILD_CREATE",
            "INTERACTION_CREATE",
            "MESSAGE_CREATE",
            "MESSAGE_UPDATE",
            "READY",
            "THREAD_CREATE"
        ]
    );
    for frame in &sent {
        let parsed: GatewayEvent = typed("a dispatch the fake sent", &frame.payload);
        assert!(
            matches!(parsed, GatewayEvent::Dispatch(_, ref e) if !matches!(e, Event::Unknown(_))),
            "serenity would drop {}",
            frame.payload
        );
    }
}

/// Sends raw bodies (serenity refuses to build some of these) to the callback endpoint.
#[tokio::test]
async fn the_openapi_check_refuses_what_discord_refuses() {
    let (fake, _gateway, _http) = fake_with_session().await;
    let (ix, _) = dispatch_command(&fake, "diagnose");
    let callback = format!(
        "/interactions/{}/{}/callback",
        ix["id"].as_str().unwrap(),
        ix["token"].as_str().unwrap()
    );

    let too_long = json!({"type": 4, "data": {"content": "x".repeat(2001)}});
    let r = fake
        .raw_request_with("POST", &callback, &[], Some(&too_long))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], 50035);
    assert_eq!(r.body["message"], "Invalid Form Body");
    assert_eq!(
        r.body["errors"]["data"]["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH",
        "{}",
        r.body
    );

    let choices: Vec<Value> = (0..26)
        .map(|i| json!({"name": format!("c{i}"), "value": format!("v{i}")}))
        .collect();
    let too_many = json!({"type": 8, "data": {"choices": choices}});
    let r = fake
        .raw_request_with("POST", &callback, &[], Some(&too_many))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"]["data"]["choices"]["_errors"][0]["message"],
        "Must be 25 or fewer in length.",
        "{}",
        r.body
    );

    let label = json!({"type": 4, "data": {"content": "hi", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "custom_id": "a", "label": "L".repeat(81)}]}]}});
    let r = fake
        .raw_request_with("POST", &callback, &[], Some(&label))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["errors"]["data"]["components"]["0"]["components"]["0"]["label"]["_errors"][0]
            ["code"],
        "BASE_TYPE_MAX_LENGTH",
        "the error points into the button's oneOf branch: {}",
        r.body
    );

    let bad_command = json!([{"name": "diagnose", "description": "d", "options": [
        {"type": 3, "name": "product", "description": "p", "choices": (0..26).map(|i| json!({"name": format!("c{i}"), "value": "v"})).collect::<Vec<_>>()}]}]);
    let path = format!(
        "/applications/{}/guilds/{}/commands",
        ids::APPLICATION,
        ids::GUILD
    );
    assert_eq!(
        fake.raw_request("PUT", &path, Some(&bad_command))
            .await
            .status,
        400
    );

    assert_eq!(fake.violations().len(), 4);
    assert!(
        fake.violations()[0].messages[0].contains("/data/content"),
        "{}",
        fake.violations()[0]
    );
    assert!(fake.requests().iter().all(|r| r.status == 400));

    let ok = json!({"type": 4, "data": {"content": "x".repeat(2000)}});
    let r = fake
        .raw_request_with("POST", &callback, &[], Some(&ok))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(fake.violations().len(), 4, "a valid body is no violation");
}

#[test]
fn operations_resolve_by_method_and_template() {
    let spec = openapi::spec();
    let op = |m: &str, p: &str| spec.operation(m, p).map(|o| o.template);
    assert_eq!(
        op("POST", "/channels/1/messages").as_deref(),
        Some("/channels/{channel_id}/messages")
    );
    assert_eq!(
        op("PATCH", "/webhooks/1/tok/messages/@original").as_deref(),
        Some("/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    );
    assert_eq!(
        op("PUT", "/channels/1/thread-members/@me").as_deref(),
        Some("/channels/{channel_id}/thread-members/@me")
    );
    assert_eq!(op("GET", "/no/such/route"), None);
    let callback = spec
        .operation("POST", "/interactions/1/t/callback")
        .unwrap();
    assert_eq!(callback.operation_id, "create_interaction_response");
    let schema = spec.request_schema("POST", &callback.template).unwrap();
    assert!(
        schema["components"]["schemas"]
            .get("IncomingWebhookInteractionRequest")
            .is_some(),
        "refs are bundled"
    );
}

/// Quirk 1: serenity sends `default_member_permissions` as a string, which Discord documents
/// and accepts but the spec types as an integer.
#[test]
fn the_default_member_permissions_quirk_is_needed_and_narrow() {
    let body = serde_json::to_value(vec![CreateCommand::new("staff")
        .description("Staff only")
        .default_member_permissions(Permissions::MANAGE_THREADS)])
    .unwrap();
    assert!(
        body[0]["default_member_permissions"].is_string(),
        "serenity sends a string: {body}"
    );
    let path = format!("/applications/{}/commands", ids::APPLICATION);

    let raw = OpenApi::from_document_with(openapi::spec_document(), &[]).unwrap();
    assert!(
        raw.check("PUT", &path, &body).is_err(),
        "the published spec rejects serenity's body"
    );
    assert!(
        openapi::spec().check("PUT", &path, &body).is_ok(),
        "the patched spec accepts it"
    );

    for bad in [
        json!("not a number"),
        json!(-1),
        json!(18_014_398_509_481_984u64),
    ] {
        let body =
            json!([{"name": "staff", "description": "d", "default_member_permissions": bad}]);
        assert!(
            openapi::spec().check("PUT", &path, &body).is_err(),
            "{bad} is still refused"
        );
    }
    assert!(openapi::QUIRKS.iter().all(|q| !q.why.is_empty()));
}

/// Quirk 2: serenity sends a new attachment's id and select defaults' ids as integers, which
/// Discord accepts but the spec's string-only SnowflakeType refuses.
#[test]
fn the_integer_snowflake_quirk_is_needed_and_narrow() {
    let path = format!("/channels/{}/messages", ids::HELP_CHANNEL);
    let attachment = json!({"content": "log", "attachments": [{"id": 0, "filename": "log.txt"}]});
    let select = json!({"content": "who?", "components": [{"type": 1, "components": [
        {"type": 5, "custom_id": "pick", "default_values": [{"id": ids::BOB, "type": "user"}]}]}]});
    let raw = OpenApi::from_document_with(openapi::spec_document(), &[]).unwrap();
    for body in [&attachment, &select] {
        assert!(
            raw.check("POST", &path, body).is_err(),
            "the published spec rejects {body}"
        );
        assert!(
            openapi::spec().check("POST", &path, body).is_ok(),
            "the patched spec accepts {body}"
        );
    }
    for bad in [json!(-1), json!("12abc"), json!(1.5)] {
        let body = json!({"content": "x", "attachments": [{"id": bad, "filename": "a.txt"}]});
        assert!(
            openapi::spec().check("POST", &path, &body).is_err(),
            "{bad} is still refused"
        );
    }
}

/// Serenity builders with most of their fields set, checked offline against the operations
/// serenity sends them to. The live test above covers the common shapes on the wire; this one
/// covers the fields a richer bot will reach for (embeds, mentions, emoji, selects, options).
#[test]
fn richer_serenity_bodies_pass_the_spec() {
    use serenity::all::{
        AutoArchiveDuration, CreateAllowedMentions, CreateEmbedAuthor, CreateEmbedFooter,
        EditThread, ReactionType, Timestamp,
    };
    let embed = CreateEmbed::new()
        .title("Widget not showing")
        .description("1. Check the app key")
        .url("https://example.com/guide#widget")
        .colour(0x5865F2)
        .timestamp(Timestamp::from_unix_timestamp(1_735_689_600).unwrap())
        .author(
            CreateEmbedAuthor::new("triage")
                .url("https://example.com")
                .icon_url("https://example.com/a.png"),
        )
        .footer(
            CreateEmbedFooter::new("convot/widget-not-showing")
                .icon_url("https://example.com/f.png"),
        )
        .thumbnail("https://example.com/t.png")
        .image("attachment://diagram.png")
        .field("Cause", "Wrong key", true);
    let mentions = CreateAllowedMentions::new()
        .roles([ids::SUPPORT_ROLE])
        .users([ids::ALICE])
        .replied_user(false);
    let rows = vec![
        CreateActionRow::Buttons(vec![
            CreateButton::new("fb:solved")
                .label("Solved")
                .emoji('✅')
                .style(ButtonStyle::Success),
            CreateButton::new("fb:other").emoji(ReactionType::Custom {
                animated: false,
                id: 1.into(),
                name: Some("x".into()),
            }),
        ]),
        CreateActionRow::SelectMenu(
            CreateSelectMenu::new(
                "pick:user",
                CreateSelectMenuKind::User {
                    default_users: Some(vec![ids::BOB.into()]),
                },
            )
            .placeholder("Who?")
            .min_values(1)
            .max_values(1),
        ),
        CreateActionRow::SelectMenu(CreateSelectMenu::new(
            "pick:role",
            CreateSelectMenuKind::Role {
                default_roles: None,
            },
        )),
        CreateActionRow::SelectMenu(CreateSelectMenu::new(
            "pick:channel",
            CreateSelectMenuKind::Channel {
                channel_types: Some(vec![ChannelType::Text]),
                default_channels: None,
            },
        )),
        CreateActionRow::SelectMenu(CreateSelectMenu::new(
            "pick:entry",
            CreateSelectMenuKind::String {
                options: vec![CreateSelectMenuOption::new("Widget", "w")
                    .description("The chat widget")
                    .emoji('💬')
                    .default_selection(true)],
            },
        )),
    ];
    let message = CreateMessage::new()
        .content("<@&1300000000000000101> new ticket")
        .embed(embed.clone())
        .allowed_mentions(mentions.clone())
        .components(rows.clone());
    let followup = CreateInteractionResponseFollowup::new()
        .content("more")
        .embed(embed.clone())
        .allowed_mentions(mentions);
    let edit = EditInteractionResponse::new()
        .content("edited")
        .embeds(vec![embed])
        .components(rows);
    let command = CreateCommand::new("tickets")
        .description("Staff ticket tools")
        .description_localized("de", "Ticket-Werkzeuge")
        .dm_permission(false)
        .nsfw(false)
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommand, "close", "Close a ticket")
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::Integer, "id", "Ticket id")
                        .min_int_value(1)
                        .max_int_value(1_000_000)
                        .required(true),
                )
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::Channel, "thread", "Thread")
                        .channel_types(vec![ChannelType::PrivateThread]),
                )
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::Number, "score", "Score")
                        .min_number_value(0.0)
                        .max_number_value(1.0),
                )
                .add_sub_option(CreateCommandOption::new(
                    CommandOptionType::Boolean,
                    "notify",
                    "Tell the user",
                )),
        )
        .add_option(
            CreateCommandOption::new(CommandOptionType::SubCommandGroup, "claim", "Claiming")
                .add_sub_option(CreateCommandOption::new(
                    CommandOptionType::SubCommand,
                    "take",
                    "Take it",
                )),
        );
    let thread_edit = EditThread::new()
        .archived(true)
        .locked(true)
        .auto_archive_duration(AutoArchiveDuration::OneWeek);
    let thread_create = CreateThread::new("ticket")
        .kind(ChannelType::PrivateThread)
        .auto_archive_duration(AutoArchiveDuration::OneDay)
        .rate_limit_per_user(0);

    let to_value = |v: &dyn erased::Ser| v.value();
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            format!("/channels/{}/messages", ids::HELP_CHANNEL),
            to_value(&message),
        ),
        (
            "POST",
            format!("/webhooks/{}/tok", ids::APPLICATION),
            to_value(&followup),
        ),
        (
            "PATCH",
            format!("/webhooks/{}/tok/messages/@original", ids::APPLICATION),
            to_value(&edit),
        ),
        (
            "PUT",
            format!("/applications/{}/commands", ids::APPLICATION),
            serde_json::to_value(vec![command]).unwrap(),
        ),
        (
            "PATCH",
            format!("/channels/{}", ids::HELP_CHANNEL),
            to_value(&thread_edit),
        ),
        (
            "POST",
            format!("/channels/{}/threads", ids::HELP_CHANNEL),
            to_value(&thread_create),
        ),
        (
            "POST",
            "/interactions/1/tok/callback".into(),
            to_value(&CreateInteractionResponse::Acknowledge),
        ),
        (
            "POST",
            "/interactions/1/tok/callback".into(),
            to_value(&CreateInteractionResponse::Pong),
        ),
    ];
    for (method, path, body) in cases {
        match openapi::spec().check(method, &path, &body) {
            Ok(Some(_)) => {}
            Ok(None) => panic!("{method} {path} is not in the spec"),
            Err(invalid) => panic!("{method} {path} refused: {:#?}\n{body:#}", invalid.messages),
        }
    }
}

/// Serialize builders behind one trait object so the cases above fit in one list.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("builders serialize")
        }
    }
}
