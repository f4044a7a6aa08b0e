//! Load through real processes: `PROCS` `triage run` processes (each its own
//! shard of `PROCS`) against the fake Discord and one shared database, and
//! `CUSTOMERS` customers at once, each doing `/diagnose`, Still broken and
//! four ticket fields in the thread. Customers are split over two guilds,
//! one on each shard of 2, so with two processes each handles half.
//!
//! ```text
//! cargo bench --bench load                          # 2 processes, 500 customers, SQLite file
//! LOAD_PROCS=1 cargo bench --bench load             # 1 process
//! TRIAGE_TEST_DB_URL=postgres://... cargo bench --bench load   # an empty PostgreSQL database
//! ```
//!
//! Prints FIGURE lines: tickets expected, filed, lost, duplicated, staff
//! summaries, inputs per second, p50/p99 INTERACTION_CREATE -> callback.

#[path = "../tests/support/fake_discord/mod.rs"]
mod fake_discord;
#[path = "../tests/support/bot_fixture.rs"]
mod fixture;
#[path = "../tests/support/processes.rs"]
mod processes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use fake_discord::payloads::{self, ids, opt_string, World};
use fake_discord::{FakeDiscord, FakeOptions};
use processes::Bot;
use serde_json::{json, Value};

/// A fourth ticket field after the escalation fixture's three: every
/// customer gives four answers (`ANSWERS`).
const BROWSER_FIELD: &str = r#"
id: browser
label: Browser
question: "Which browser and version?"
example: "Firefox 128"
"#;

const ANSWERS: [&str; 4] = [
    "app_12345",
    "https://example.com/pricing",
    "no errors at all",
    "Firefox 128",
];

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(bench());
}

/// The second guild: the fake world's guild moved to the other shard of 2.
fn other_guild() -> u64 {
    ids::GUILD + (1 << 22)
}

async fn bench() {
    let procs = env_num("LOAD_PROCS", 2).clamp(1, 2) as u32;
    let customers = env_num("LOAD_CUSTOMERS", 500);
    let mut world = World::default();
    let template = world.member(ids::ALICE).clone();
    let users: Vec<u64> = (0..customers as u64)
        .map(|i| 1_400_000_000_000_000_000 + i)
        .collect();
    for &u in &users {
        let mut m = template.clone();
        m.user.id = u;
        m.user.username = format!("customer{u}");
        world.members.push(m);
    }
    let fake = FakeDiscord::start(FakeOptions {
        shards: procs,
        world,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let kb = fixture::with_field(fixture::ESCALATION_CONVOT, BROWSER_FIELD);
    fixture::write_kb(&dir.path().join("knowledge"), &[("convot.yaml", &kb)]);
    let db = processes::shared_db(dir.path());
    let config = |first: u32| {
        let mut c = format!(
            "{}kb: {}\ndb: {db}\nhelp_answers_per_minute: 60\n",
            fixture::config_text(&[(ids::HELP_CHANNEL, "convot")]),
            dir.path().join("knowledge").display()
        );
        if procs > 1 {
            c += &format!("shards:\n  total: {procs}\n  range: [{first}, {first}]\n");
        }
        c
    };
    let mut bots: Vec<Bot> = Vec::new();
    for p in 0..procs {
        bots.push(Bot::start(
            dir.path(),
            &format!("p{p}"),
            &config(p),
            &fake.base_url(),
            fake.token(),
        ));
        // One at a time: the first start creates the schema.
        let t0 = Instant::now();
        while fake
            .requests()
            .iter()
            .filter(|r| r.is("PUT", "/applications/*/guilds/*/commands"))
            .count()
            <= p as usize
        {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "process {p} did not start:\n{}",
                bots[p as usize].log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let command = fake.command_id("diagnose");

    // Everyone asks at once; with two shards, odd customers are in the other guild.
    let guild_of = |i: usize| {
        if procs > 1 && i % 2 == 1 {
            other_guild()
        } else {
            ids::GUILD
        }
    };
    let started = Instant::now();
    let mut pending: Vec<(usize, Value)> = Vec::new();
    for (i, &u) in users.iter().enumerate() {
        let mut ix = payloads::slash_command(
            fake.world(),
            u,
            ids::HELP_CHANNEL,
            command,
            "diagnose",
            vec![opt_string(
                "symptom",
                "chat bubble not showing on my website",
            )],
        );
        ix["guild_id"] = json!(guild_of(i).to_string());
        fake.dispatch("INTERACTION_CREATE", ix.clone());
        pending.push((i, ix));
    }
    let user_index: HashMap<u64, usize> = users.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    let mut thread_of: HashMap<u64, usize> = HashMap::new();
    let mut answered: HashSet<(u64, usize)> = HashSet::new();
    let mut seen = 0;
    let mut summaries = 0;
    let mut inputs = customers; // the /diagnose commands
    let deadline = Duration::from_secs(env_num("LOAD_TIMEOUT_S", 300) as u64);
    // When the last staff summary came: the run's length, whatever the deadline.
    let mut last_summary = Duration::ZERO;
    while summaries < customers && started.elapsed() < deadline {
        // Checklists that arrived: click Still broken.
        pending.retain(|(i, ix)| {
            let Some(msg) = fake.original_message(ix) else {
                return true;
            };
            let Some((broken, _)) = payloads::custom_ids(&msg)
                .into_iter()
                .find(|(id, _)| id.starts_with("t:esc:"))
            else {
                return true;
            };
            let mut click = payloads::button_click(fake.world(), users[*i], &msg, &broken);
            click["guild_id"] = json!(guild_of(*i).to_string());
            fake.dispatch("INTERACTION_CREATE", click);
            inputs += 1;
            false
        });
        let reqs = fake.requests_from(seen);
        for r in &reqs {
            let parts: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
            match (r.method.as_str(), parts.as_slice()) {
                ("PUT", ["channels", tid, "thread-members", uid]) if r.status < 300 => {
                    if let (Ok(t), Some(i)) = (
                        tid.parse::<u64>(),
                        uid.parse::<u64>().ok().and_then(|u| user_index.get(&u)),
                    ) {
                        thread_of.insert(t, *i);
                    }
                }
                ("POST", ["channels", ch, "messages"]) if r.status < 300 => {
                    let ch: u64 = ch.parse().unwrap_or(0);
                    if ch == ids::STAFF_CHANNEL {
                        summaries += 1;
                        last_summary = started.elapsed();
                        continue;
                    }
                    let Some(&i) = thread_of.get(&ch) else {
                        continue;
                    };
                    let text = r.body["content"].as_str().unwrap_or("");
                    for k in 1..=4 {
                        if text.contains(&format!("{k}/4")) && answered.insert((ch, k)) {
                            let mut m = payloads::message_create(
                                fake.world(),
                                users[i],
                                ch,
                                ANSWERS[k - 1],
                            );
                            m["guild_id"] = json!(guild_of(i).to_string());
                            fake.dispatch("MESSAGE_CREATE", m);
                            inputs += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        seen += reqs.len();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = if summaries >= customers {
        last_summary
    } else {
        started.elapsed()
    };
    // Where the customers without a ticket stopped.
    let fields_given: HashMap<u64, usize> =
        answered.iter().fold(HashMap::new(), |mut m, (t, _)| {
            *m.entry(*t).or_default() += 1;
            m
        });
    println!(
        "FIGURE load stuck no_checklist {} no_thread {} threads_short_of_fields {}",
        pending.len(),
        customers - pending.len() - thread_of.len().min(customers - pending.len()),
        thread_of
            .keys()
            .filter(|t| fields_given.get(t).copied().unwrap_or(0) < 4)
            .count()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let summaries_after = fake
        .requests()
        .iter()
        .filter(|r| {
            r.is(
                "POST",
                &format!("/channels/{}/messages", ids::STAFF_CHANNEL),
            ) && r.status < 300
        })
        .count();

    // The shared database says what was filed, on either backend.
    let store = triage::tickets::open(Path::new(&db)).expect("open the database");
    let tickets = store.tickets(None).expect("list tickets");
    let mut per_user: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tickets {
        *per_user.entry(t.customer.as_str().to_owned()).or_default() += 1;
    }
    let complete = tickets.iter().filter(|t| t.fields.len() == 4).count();
    println!("FIGURE load tickets_complete {complete}");
    let (filed, distinct) = (tickets.len(), per_user.len());
    let mut lat: Vec<Duration> = fake
        .callback_latencies()
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let store_kind = if db.contains("://") {
        "postgres"
    } else {
        "sqlite"
    };
    println!("FIGURE load processes {procs} customers {customers} store {store_kind}");
    println!(
        "FIGURE load tickets expected {customers} filed {filed} lost {} duplicated {}",
        customers.saturating_sub(distinct),
        filed.saturating_sub(distinct)
    );
    println!("FIGURE load staff_summaries {summaries_after}");
    println!(
        "FIGURE load inputs {inputs} in {:.1} s = {:.1} inputs/s",
        elapsed.as_secs_f64(),
        inputs as f64 / elapsed.as_secs_f64()
    );
    if !lat.is_empty() {
        println!("FIGURE load interaction_create_to_callback n {} p50 {:.1} ms p99 {:.1} ms max {:.1} ms", lat.len(), ms(pct(0.50)), ms(pct(0.99)), ms(*lat.last().unwrap()));
    }
    let links = fake.shard_connections();
    for (shard, conn) in &links {
        let n = fake
            .gateway_frames()
            .iter()
            .filter(|f| f.connection == *conn && f.payload["t"] == "INTERACTION_CREATE")
            .count();
        println!("FIGURE load shard {shard} interactions_dispatched {n}");
    }
    let refused = fake
        .requests()
        .iter()
        .filter(|r| r.is("POST", "/interactions/*/*/callback") && r.status >= 400)
        .count();
    println!("FIGURE load callbacks_refused {refused}");
    let late = fake.violations().len();
    println!("FIGURE load fake_discord_violations {late}");
    drop(bots);
}
