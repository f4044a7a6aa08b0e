//! Logging setup: `tracing` to stderr, filtered by `RUST_LOG` (default `info`
//! for triage, `warn` for everything else).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (tests).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,triage=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
