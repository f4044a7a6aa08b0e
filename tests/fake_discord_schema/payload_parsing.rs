//! Fake → bot: READY, GUILD_CREATE, every interaction kind, messages, threads and RESUMED as the
//! fake builds them deserialize as serenity's own types and never become `Event::Unknown`.

use super::*;

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
