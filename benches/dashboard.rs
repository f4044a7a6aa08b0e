//! How fast the dashboard renders with 10,000 tickets in the store (each
//! with two fields and six transcript messages): the ticket list (first
//! page, a status filter, and a transcript text search) and a ticket page,
//! from the store query to the finished HTML, as the handlers do it.
//!
//! `cargo bench --bench dashboard` (prints median, p90, p99, max per page).

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use triage::archive::{Principal, Session};
use triage::dashboard::pages::{self, ListQuery};
use triage::dashboard::{Dashboard, Offline};
use triage::engine::SystemClock;
use triage::kb::EntryId;
use triage::matcher::Matcher;
use triage::tickets::{SqliteStore, Store, TicketStatus, UserId};

const TICKETS: i64 = 10_000;
const RUNS: usize = 300;

fn main() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).expect("the store opens"));
    let kb_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let kb = Arc::new(triage::kb::load_dir(&kb_dir).expect("the shipped knowledge base loads"));
    let products: Vec<String> = kb.products().iter().map(|p| p.id.to_string()).collect();
    let entries: Vec<_> = kb.entries().iter().map(|e| e.id.clone()).collect();
    let start = Instant::now();
    seed(&dir.path().join("bench.db"), &products, &entries);
    // Reopened, so the store's connection sees the seeded file as it is.
    drop(store);
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("bench.db")).expect("the store reopens"));
    eprintln!(
        "seeded {TICKETS} tickets with 6 messages each in {:.1?}",
        start.elapsed()
    );

    let matcher = Matcher::new(kb).expect("the matcher builds");
    let dash = Dashboard {
        store: store.clone(),
        matcher: Arc::new(matcher),
        clock: Arc::new(SystemClock),
        notifier: Arc::new(Offline),
        public_url: "http://127.0.0.1:8080".into(),
        kb_dir: None,
        kb_loaded_at: OffsetDateTime::now_utc(),
    };
    let session = Session {
        principal: Principal {
            user: UserId::new("1"),
            guild: Some("42".into()),
        },
        csrf: "0".repeat(64),
        expires_at: OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    let refs: Vec<&str> = products.iter().map(String::as_str).collect();
    let list = |q: &ListQuery| {
        let found = store
            .archive()
            .expect("an archive")
            .find_tickets(&pages::filter(q, &session))
            .expect("a page of tickets");
        assert!(!found.tickets.is_empty());
        pages::list_body(q, &refs, &found, false).into_string()
    };
    report("ticket list, page 1 of 200", || {
        list(&ListQuery {
            page: 1,
            ..Default::default()
        })
    });
    report("ticket list, status=closed, page 50", || {
        list(&ListQuery {
            status: Some(TicketStatus::Closed),
            page: 50,
            ..Default::default()
        })
    });
    report("ticket list, transcript search (one match)", || {
        list(&ListQuery {
            q: Some("of ticket 7777:".into()),
            page: 1,
            ..Default::default()
        })
    });
    let mut n = 0u64;
    report("ticket page (fields, 6 messages, timeline)", || {
        n += 1;
        let id = format!("{}", 1 + (n * 7919) % TICKETS as u64);
        let v = pages::load_view(&dash, &session, &id).expect("a visible ticket");
        pages::ticket_body(&v, &session.csrf, &"0".repeat(64), None).into_string()
    });
}

fn report(name: &str, mut f: impl FnMut() -> String) {
    for _ in 0..10 {
        std::hint::black_box(f());
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{name:<46} median {:>8.2?}  p90 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}  ({RUNS} renders)",
        at(0.5),
        at(0.9),
        at(0.99),
        times[times.len() - 1]
    );
}

/// Writes the tickets straight into the migrated file in one transaction
/// (through the store's API each would be its own fsync'd commit, which
/// only makes seeding slow): what 10,000 escalations leave behind.
fn seed(db: &std::path::Path, products: &[String], entries: &[EntryId]) {
    let mut conn = rusqlite::Connection::open(db).expect("the bench database opens");
    let tx = conn.transaction().expect("a transaction");
    let t0 = (OffsetDateTime::now_utc() - time::Duration::days(30)).unix_timestamp();
    for i in 0..TICKETS {
        let product = &products[i as usize % products.len()];
        let entry = entries
            .iter()
            .find(|e| e.as_str().starts_with(&format!("{product}/")))
            .map(|e| e.to_string());
        let at = t0 + i * 240;
        let (status, reason) = if i % 3 == 1 {
            ("closed", Some("fixed"))
        } else {
            ("open", None)
        };
        let place = format!("{}", 2_000_000 + i);
        let customer = format!("{}", 3_000_000 + i);
        tx.execute(
            "INSERT INTO tickets (id, product, entry, status, question, tried, place, customer,
                                  opened_by, created_at, updated_at, close_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, '[]', ?6, ?7, ?7, ?8, ?8, ?9)",
            rusqlite::params![
                i + 1,
                product,
                entry,
                status,
                format!("the widget stops loading after the update, case {i}"),
                format!("{}", 1_000_000 + i % 50),
                customer,
                at,
                reason
            ],
        )
        .expect("a ticket");
        for (pos, (fid, label, value)) in [
            ("app_key", "App key", format!("app_{i:06}")),
            (
                "page_url",
                "Page URL",
                format!("https://shop{i}.example.com/checkout"),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            tx.execute(
                "INSERT INTO ticket_fields (ticket_id, position, field_id, label, value)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![i + 1, pos as i64, fid, label, value],
            )
            .expect("a field");
        }
        tx.execute(
            "INSERT INTO ticket_places (place, ticket_id) VALUES (?1, ?2)",
            rusqlite::params![place, i + 1],
        )
        .expect("its thread");
        tx.execute(
            "INSERT INTO place_guilds (place, guild) VALUES (?1, '42')",
            rusqlite::params![place],
        )
        .expect("its guild");
        tx.execute(
            "INSERT INTO events (at, place, user, author, ticket_id, kind, detail)
             VALUES (?1, ?2, ?3, ?3, ?4, 'ticket_filed', '{}')",
            rusqlite::params![at, place, customer, i + 1],
        )
        .expect("an event");
        for m in 0..6i64 {
            let (author, name, role) = if m % 2 == 0 {
                (customer.as_str(), "customer", "customer")
            } else {
                ("1", "triage", "bot")
            };
            tx.execute(
                "INSERT INTO transcript_messages
                    (id, place, guild, author, author_name, role, at, content)
                 VALUES (?1, ?2, '42', ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    format!("{}", 9_000_000 + i * 10 + m),
                    place,
                    author,
                    name,
                    role,
                    at + m,
                    format!(
                        "message {m} of ticket {i}: the console shows a CSP error for app.convot.com and the bubble never appears on the pricing page"
                    ),
                ],
            )
            .expect("a message");
        }
    }
    tx.commit().expect("the seed commits");
}
