//! Tests of the fake Discord's sharding (tests/support/fake_discord/): several gateway
//! connections, each identifying as one shard, and each guild's events sent only to the
//! connection of shard `(guild_id >> 22) % total`, as Discord routes them.

#[path = "support/fake_discord/mod.rs"]
mod fake_discord;

use std::time::Duration;

use fake_discord::payloads::{self, ids, intents};
use fake_discord::{Direction, FakeDiscord, FakeOptions, GatewayClient, WsEvent};
use serde_json::json;

const T: Duration = Duration::from_secs(5);

const ALL_MESSAGES: u64 = intents::GUILDS | intents::GUILD_MESSAGES | intents::MESSAGE_CONTENT;

/// A guild id on shard `shard` of 2: Discord routes by `(guild_id >> 22) % total`.
fn guild_on(shard: u64) -> u64 {
    (1_000_000 * 2 + shard) << 22 | 777
}

#[tokio::test]
async fn each_guild_s_events_go_only_to_the_connection_of_its_shard() {
    let fake = FakeDiscord::start(FakeOptions {
        shards: 2,
        ..Default::default()
    })
    .await;
    let bot = fake.raw_request("GET", "/gateway/bot", None).await.body;
    assert_eq!(bot["shards"], 2);
    assert_eq!(bot["session_start_limit"]["max_concurrency"], 1);

    // The default world's guild is on shard 0 of 2.
    assert_eq!((ids::GUILD >> 22) % 2, 0);
    let mut zero = GatewayClient::connect(&fake.gateway_url()).await;
    let ready0 = zero.identify_shard(fake.token(), ALL_MESSAGES, 0, 2).await;
    assert_eq!(ready0["d"]["shard"], json!([0, 2]));
    assert_eq!(ready0["d"]["guilds"].as_array().unwrap().len(), 1);
    assert_eq!(zero.frame(T).await["t"], "GUILD_CREATE");
    let mut one = GatewayClient::connect(&fake.gateway_url()).await;
    let ready1 = one.identify_shard(fake.token(), ALL_MESSAGES, 1, 2).await;
    assert_eq!(ready1["d"]["shard"], json!([1, 2]));
    assert_eq!(
        ready1["d"]["guilds"],
        json!([]),
        "shard 1 has none of the world's guilds"
    );
    assert_eq!(fake.shard_connections().len(), 2);

    let world = fake.world();
    for (shard, text) in [(0, "to shard zero"), (1, "to shard one")] {
        let mut msg = payloads::message_create(world, ids::ALICE, ids::HELP_CHANNEL, text);
        msg["guild_id"] = json!(guild_on(shard).to_string());
        fake.dispatch("MESSAGE_CREATE", msg)
            .expect("a shard runs it");
    }
    let got0 = zero.frame(T).await;
    let got1 = one.frame(T).await;
    assert_eq!(got0["d"]["content"], "to shard zero");
    assert_eq!(got1["d"]["content"], "to shard one");
    // Each connection numbers its own session's events.
    assert_eq!((got0["s"].as_u64(), got1["s"].as_u64()), (Some(3), Some(2)));
    for c in [&mut zero, &mut one] {
        assert_eq!(
            c.recv(Duration::from_millis(200)).await,
            WsEvent::Timeout,
            "nothing went to the other shard"
        );
    }

    // A shard that is down gets nothing, and the other shard still gets only its own.
    drop(one);
    fake.wait_gateway(T, |f| f.is_close && f.direction == Direction::Received)
        .await;
    let mut msg = payloads::message_create(world, ids::ALICE, ids::HELP_CHANNEL, "lost");
    msg["guild_id"] = json!(guild_on(1).to_string());
    assert_eq!(fake.dispatch("MESSAGE_CREATE", msg), None);
    assert_eq!(
        zero.recv(Duration::from_millis(200)).await,
        WsEvent::Timeout
    );
}

#[tokio::test]
async fn a_single_shard_identify_gets_every_guild_as_before() {
    let fake = FakeDiscord::start(FakeOptions::default()).await;
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    let ready = client
        .identify_shard(fake.token(), ALL_MESSAGES, 0, 1)
        .await;
    assert_eq!(ready["s"], 1);
    assert_eq!(client.frame(T).await["t"], "GUILD_CREATE");
    let world = fake.world();
    let mut msg = payloads::message_create(world, ids::ALICE, ids::HELP_CHANNEL, "anywhere");
    msg["guild_id"] = json!(guild_on(1).to_string());
    fake.dispatch("MESSAGE_CREATE", msg);
    assert_eq!(client.frame(T).await["d"]["content"], "anywhere");
    assert!(fake.shard_connections().is_empty());
}
