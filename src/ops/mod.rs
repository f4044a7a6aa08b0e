//! Operations: what `triage run` shows the people and machines running it.
//! `/healthz` answers 200 when the gateway of every shard this process runs
//! is connected and the store answers a trivial query, else 503 with the
//! reason in plain text; `/metrics` is the Prometheus registry
//! (`metrics`). `Metered` (store latency) and `Counted` (matcher decisions)
//! wrap the core's traits by delegation, so the core knows nothing of
//! HTTP or metrics.

mod matching;
mod metrics;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

pub use matching::Counted;
pub use metrics::{metrics, Metrics};
pub use store::Metered;

use crate::engine::Store;

/// What `/healthz` checks.
#[derive(Clone)]
pub struct Health {
    /// The store; asked for the conversations at an unused key.
    pub store: Arc<dyn Store>,
    /// The shards this process runs (first..=last).
    pub shards: std::ops::RangeInclusive<u32>,
}

impl Health {
    /// `Ok` when healthy, else why not (one short line).
    pub fn check(&self) -> Result<(), String> {
        let down: Vec<String> = self
            .shards
            .clone()
            .filter(|s| !metrics().shard_is_connected(*s))
            .map(|s| s.to_string())
            .collect();
        if !down.is_empty() {
            return Err(format!(
                "gateway not connected for shard {}",
                down.join(", ")
            ));
        }
        let probe = crate::tickets::ConversationKey::new("healthz", "healthz");
        self.store
            .conversation(&probe)
            .map(|_| ())
            .map_err(|e| format!("store unreachable: {e}"))
    }
}

/// Serves `/healthz` and `/metrics` on `listen` until the task is aborted.
pub async fn serve(
    listen: SocketAddr,
    health: Health,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%listen, "operations endpoint: /healthz and /metrics");
    let app = router(health);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the operations endpoint stopped");
        }
    }))
}

/// The routes, for `serve` and tests.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(health)
}

async fn healthz(State(health): State<Health>) -> impl IntoResponse {
    let result = tokio::task::spawn_blocking(move || health.check())
        .await
        .unwrap_or_else(|e| Err(format!("health check failed: {e}")));
    let plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    match result {
        Ok(()) => (StatusCode::OK, plain, "ok\n".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, plain, format!("{why}\n")),
    }
}

async fn metrics_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        metrics().encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_needs_every_shard_connected_and_the_store_answering() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::tickets::SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let health = Health {
            store: Arc::new(Metered::new(Arc::new(store))),
            shards: 40..=41,
        };
        let g = |s: &str| metrics().shard_connected.with_label_values(&[s]);
        g("40").set(1);
        g("41").set(0);
        assert_eq!(
            health.check().unwrap_err(),
            "gateway not connected for shard 41"
        );
        g("41").set(1);
        health.check().unwrap();
        // The probe went through the metered store.
        assert!(metrics()
            .encode()
            .contains("triage_store_seconds_count{op=\"conversation\"}"));
    }
}
