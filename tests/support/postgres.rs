//! A fresh PostgreSQL database per test, on the server `TRIAGE_TEST_POSTGRES`
//! names (`bash .ci/run` and `scripts/pg-test-cluster.sh` start one). Each
//! `TestDb` is `CREATE DATABASE` with a unique name, dropped (with its
//! connections) when the value goes, so tests run in parallel. Without the
//! variable, `TestDb::new` prints one line saying the PostgreSQL suite was
//! skipped and how to run it, and returns `None`.
#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

pub const ENV: &str = "TRIAGE_TEST_POSTGRES";

pub struct TestDb {
    /// The test database's URL, for `PgStore::connect` or `triage --db`.
    pub url: String,
    /// The database's name.
    pub name: String,
    server: String,
}

static SKIPPED: Once = Once::new();
static NEXT: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A new empty database, or `None` (said once) without a server.
    pub fn new() -> Option<Self> {
        let Ok(server) = std::env::var(ENV) else {
            SKIPPED.call_once(|| {
                // Straight to stderr: libtest would swallow eprintln! of a
                // passing test, and this line must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL suite skipped: set {ENV}=postgres://USER@HOST:PORT/postgres \
                     (bash .ci/run, or scripts/pg-test-cluster.sh run -- cargo test, starts a cluster)"
                );
            });
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "triage_test_{}_{}_{}",
            std::process::id(),
            nanos,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(&server, &format!("CREATE DATABASE {name}"));
        let url = with_dbname(&server, &name);
        Some(Self { url, name, server })
    }

    /// Runs `sql` on the server's admin database (not this one).
    pub fn admin(&self, sql: &str) {
        admin(&self.server, sql);
    }

    /// Ends every connection to this database but the caller's: what a
    /// restarted server or a dropped network does to the store's pool.
    pub fn terminate_connections(&self) {
        admin(
            &self.server,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        );
    }

    /// Runs `sql` in this database and returns the first column of the
    /// first row as text (for checks the store's API does not offer).
    pub fn query_text(&self, sql: &str) -> Option<String> {
        run(&self.url, |c| async move {
            let row = c.query_opt(sql, &[]).await.expect(sql);
            row.and_then(|r| r.get::<_, Option<String>>(0))
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        admin(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn with_dbname(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}

fn admin(server: &str, sql: &str) {
    let sql = sql.to_owned();
    run(server, |c| async move {
        c.batch_execute(&sql).await.expect(&sql);
    })
}

/// Runs `f` on a connection to `url`, on a thread of its own so it works
/// from sync tests and from inside a test's tokio runtime alike.
fn run<T, F, Fut>(url: &str, f: F) -> T
where
    T: Send,
    F: FnOnce(tokio_postgres::Client) -> Fut + Send,
    Fut: std::future::Future<Output = T>,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
                let driver = tokio::spawn(conn);
                let out = f(client).await;
                let _ = driver.await;
                out
            })
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
