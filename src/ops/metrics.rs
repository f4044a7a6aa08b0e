//! The process's Prometheus metrics: one registry, created on first use,
//! with typed counters, gauges and histograms from the `prometheus` crate.
//! The Discord adapter, the REST layer and the metered store record into
//! it; `/metrics` encodes it in Prometheus' text format.

use std::sync::OnceLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Everything `/metrics` shows.
pub struct Metrics {
    registry: Registry,
    /// Inputs handled, by kind (`ask`, `say`, `act`, `staff`).
    pub inputs: IntCounterVec,
    /// The matcher's decisions (`answer`, `suggest`, `none`).
    pub decisions: IntCounterVec,
    /// Tickets filed (escalations that completed).
    pub escalations: IntCounterVec,
    /// Seconds per store call, by operation.
    pub store_seconds: HistogramVec,
    /// Discord REST answers passed on with an error status, by status.
    pub rest_errors: IntCounterVec,
    /// 1 while a shard's gateway is connected, 0 otherwise, by shard id.
    pub shard_connected: IntGaugeVec,
}

fn build() -> prometheus::Result<Metrics> {
    let registry = Registry::new_custom(Some("triage".into()), None)?;
    let inputs = IntCounterVec::new(
        Opts::new("inputs_total", "Inputs handled by the engine, by kind"),
        &["kind"],
    )?;
    let decisions = IntCounterVec::new(
        Opts::new("decisions_total", "Matcher decisions for questions"),
        &["decision"],
    )?;
    let escalations = IntCounterVec::new(
        Opts::new("escalations_total", "Tickets filed after an escalation"),
        &["product"],
    )?;
    let store_seconds = HistogramVec::new(
        HistogramOpts::new("store_seconds", "Latency of store calls").buckets(vec![
            0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]),
        &["op"],
    )?;
    let rest_errors = IntCounterVec::new(
        Opts::new(
            "rest_errors_total",
            "Discord REST calls that ended in an error status",
        ),
        &["status"],
    )?;
    let shard_connected = IntGaugeVec::new(
        Opts::new(
            "shard_connected",
            "1 while the shard's gateway connection is up",
        ),
        &["shard"],
    )?;
    registry.register(Box::new(inputs.clone()))?;
    registry.register(Box::new(decisions.clone()))?;
    registry.register(Box::new(escalations.clone()))?;
    registry.register(Box::new(store_seconds.clone()))?;
    registry.register(Box::new(rest_errors.clone()))?;
    registry.register(Box::new(shard_connected.clone()))?;
    Ok(Metrics {
        registry,
        inputs,
        decisions,
        escalations,
        store_seconds,
        rest_errors,
        shard_connected,
    })
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| build().expect("the metric definitions are valid and distinct"))
}

impl Metrics {
    /// The registry in Prometheus' text exposition format.
    pub fn encode(&self) -> String {
        let mut out = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Whether the shard's gateway is connected, as last recorded.
    pub fn shard_is_connected(&self, shard: u32) -> bool {
        self.shard_connected
            .get_metric_with_label_values(&[&shard.to_string()])
            .is_ok_and(|g| g.get() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_every_family_once_recorded() {
        let m = metrics();
        m.inputs.with_label_values(&["ask"]).inc();
        m.decisions.with_label_values(&["answer"]).inc();
        m.escalations.with_label_values(&["convot"]).inc();
        m.store_seconds.with_label_values(&["apply"]).observe(0.003);
        m.rest_errors.with_label_values(&["429"]).inc();
        m.shard_connected.with_label_values(&["7"]).set(1);
        let text = m.encode();
        for family in [
            "triage_inputs_total{kind=\"ask\"}",
            "triage_decisions_total{decision=\"answer\"}",
            "triage_escalations_total{product=\"convot\"}",
            "triage_store_seconds_bucket{op=\"apply\",le=\"0.005\"}",
            "triage_rest_errors_total{status=\"429\"}",
            "triage_shard_connected{shard=\"7\"} 1",
        ] {
            assert!(text.contains(family), "{family} missing from\n{text}");
        }
        assert!(m.shard_is_connected(7));
        assert!(!m.shard_is_connected(8));
    }
}
