//! Bot → fake: the OpenAPI check refuses what Discord refuses, resolves operations by method and
//! template, keeps its two quirks needed and narrow, and accepts serenity's richer builders.

use super::*;

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
