//! The shared store: PostgreSQL through tokio-postgres with a deadpool
//! connection pool, for several triage processes on one database. This
//! module owns connecting (URL, pool size, the store's own runtime) and
//! running async driver calls from the synchronous `Store` trait;
//! `migrate` the schema, `store` the `Store` calls, `tx` the transaction
//! of one input, `archive` the `Archive` (transcripts, search, dashboard
//! logins and sessions).
//!
//! The store owns a small tokio runtime: the pool's connections live on
//! it. A call from a plain thread blocks on that runtime; a call from a
//! thread already inside some tokio runtime (a `spawn_blocking` thread,
//! or async code) runs the future on a scoped helper thread instead, so
//! nothing panics with "cannot start a runtime from within a runtime".

mod archive;
mod migrate;
mod store;
mod tx;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::{redact_target, StoreError};

/// Connections in the pool when the URL does not say (`?pool_size=N`).
pub const DEFAULT_POOL_SIZE: usize = 8;

/// The PostgreSQL store. `Send + Sync`; cheap to share behind an `Arc`.
pub struct PgStore {
    pool: Pool,
    /// Where it connects, password redacted: for errors and logs.
    target: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db?pool_size=N`),
    /// checks the server answers, and migrates the schema.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let (config, pool_size) = parse_url(url)?;
        let target = describe(&config, url);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("triage-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Connect {
                target: target.clone(),
                error: format!("starting the driver's runtime: {e}"),
            })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Connect {
                target: target.clone(),
                error: e.to_string(),
            })?;
        let store = Self {
            pool,
            target,
            rt: Some(rt),
        };
        // Fail now, clearly, rather than at the first input.
        drop(store.client()?);
        migrate::migrate(&store)?;
        tracing::info!(target = %store.target, pool_size, "connected to PostgreSQL");
        Ok(store)
    }

    /// Where this store connects (`host:port/db`), for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs `fut` to completion on the store's runtime, from any thread.
    pub(crate) fn wait<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self.rt.as_ref().expect("the runtime lives until drop");
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(fut);
        }
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A pooled connection; a broken one is replaced by a new one.
    pub(crate) fn client(&self) -> Result<Object, StoreError> {
        self.wait(self.pool.get()).map_err(|e| StoreError::Connect {
            target: self.target.clone(),
            error: pool_error(e),
        })
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Dropping a runtime inside async code panics; this does not.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => error_text(&e),
        other => other.to_string(),
    }
}

/// A driver error with its cause (tokio-postgres's Display alone says
/// only "error connecting to server").
pub(crate) fn error_text(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// The driver's config and the pool size from a URL; `pool_size` is ours
/// and taken out before the driver parses the rest.
fn parse_url(url: &str) -> Result<(tokio_postgres::Config, usize), StoreError> {
    let bad = |reason: String| StoreError::BadUrl {
        given: redact_target(url),
        reason,
    };
    let mut pool_size = DEFAULT_POOL_SIZE;
    let driver_url = match url.split_once('?') {
        None => url.to_owned(),
        Some((base, query)) => {
            let mut kept = Vec::new();
            for kv in query.split('&').filter(|kv| !kv.is_empty()) {
                match kv.split_once('=') {
                    Some(("pool_size", n)) => {
                        pool_size =
                            n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                                bad(format!("pool_size must be a positive number, not '{n}'"))
                            })?;
                    }
                    _ => kept.push(kv),
                }
            }
            if kept.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
    };
    let mut config =
        tokio_postgres::Config::from_str(&driver_url).map_err(|e| bad(e.to_string()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("triage");
    }
    Ok((config, pool_size))
}

/// `host:port/db` for messages, never the password.
fn describe(config: &tokio_postgres::Config, url: &str) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_dbname() {
        Some(db) => format!("{host}:{port}/{db}"),
        None => format!("{host}:{port} ({})", redact_target(url)),
    }
}

/// A stable 64-bit key for `pg_advisory_xact_lock` (FNV-1a): the same in
/// every process and every build.
pub(crate) fn lock_key(parts: &[&str]) -> i64 {
    let bytes = parts.iter().enumerate().flat_map(|(i, p)| {
        let sep = (i > 0).then_some(0xffu8);
        sep.into_iter().chain(p.bytes())
    });
    crate::fnv::fnv1a64(bytes) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_is_ours_and_the_rest_goes_to_the_driver() {
        let (c, n) =
            parse_url("postgres://t:pw@db:6543/triage?pool_size=3&sslmode=disable").unwrap();
        assert_eq!(n, 3);
        assert_eq!(c.get_dbname(), Some("triage"));
        assert_eq!(describe(&c, ""), "db:6543/triage");
        let (_, n) = parse_url("postgres://t@db/triage").unwrap();
        assert_eq!(n, DEFAULT_POOL_SIZE);
        let err = parse_url("postgres://t:pw@db/triage?pool_size=0")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("pool_size") && !err.contains("pw@"), "{err}");
    }

    #[test]
    fn lock_keys_are_stable_and_separate_parts() {
        assert_eq!(lock_key(&["1", "2"]), lock_key(&["1", "2"]));
        assert_ne!(lock_key(&["12", ""]), lock_key(&["1", "2"]));
    }

    #[test]
    fn a_refused_connection_is_a_clear_error_naming_the_server() {
        // Port 1 on loopback: nothing listens there.
        let err = PgStore::connect("postgres://triage:pw@127.0.0.1:1/triage_db")
            .err()
            .expect("nothing listens on port 1")
            .to_string();
        assert!(err.contains("127.0.0.1:1/triage_db"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn the_store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<PgStore>();
    }
}
