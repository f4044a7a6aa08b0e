//! Serenity's real client against the fake's REST API: every answer parses, and every body
//! serenity's builders put on the wire (commands, messages, threads, interaction responses)
//! passes the OpenAPI check; the dispatches sent along the way parse as known events.

use super::*;

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
