//! Logging setup: `tracing` to stderr, filtered by `RUST_LOG`, else by a
//! default that depends on the command (info for the bot, warn in a terminal).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `default` is the filter used when
/// `RUST_LOG` is unset: the bot logs at info, terminal commands only warn so
/// that logs don't interleave with what the user reads. Safe to call more
/// than once (tests).
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
