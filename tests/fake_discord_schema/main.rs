//! Schema tests for the fake Discord (see tests/support/fake_discord/mod.rs).
//!
//! Two directions. Fake → bot: every payload the fake sends must deserialize with serenity's own
//! types, because serenity silently drops a dispatch it cannot parse (`Event::Unknown`) and a test
//! would only time out. Bot → fake: the fake's OpenAPI check must refuse what Discord refuses (a
//! 2,001-character interaction message, 26 choices) and accept what serenity really sends.
//!
//! This file holds what the tests share: the parse helpers and a fake with a gateway session and
//! a serenity `Http` pointed at it. The tests are in the topic modules declared below.

#[path = "../support/fake_discord/mod.rs"]
mod fake_discord;

mod payload_parsing;
mod serenity_rest;
mod spec_check;

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
