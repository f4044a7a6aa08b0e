//! `triage run`: the Discord bot. Reads the config file and `DISCORD_TOKEN`,
//! opens the store, and runs until SIGTERM or Ctrl-C, letting handlers in
//! flight finish. Exit codes: 0 stopped cleanly, 2 error, 3 token rejected, 4 intents refused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Args;

use crate::config::Config;
use crate::discord::{self, Connection, Core, RunError, Settings, Token};
use crate::matcher::Matcher;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The bot's config file (see triage.example.yaml).
    #[arg(
        long,
        short,
        env = "TRIAGE_CONFIG",
        default_value = "triage.yaml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

/// Discord rejected the token.
pub const EXIT_BAD_TOKEN: u8 = 3;
/// Discord refused the gateway intents (MESSAGE CONTENT not enabled).
pub const EXIT_INTENTS: u8 = 4;

/// `kb_flag` is the global `--kb` (used when the config sets no `kb`);
/// `db_flag` the global `--db` (wins over the config's `db`).
pub fn run(kb_flag: &Path, db_flag: Option<&Path>, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let kb_dir = config.kb.clone().unwrap_or_else(|| kb_flag.to_owned());
    let kb = super::load_kb(&kb_dir)?;
    config
        .validate(&kb)
        .map_err(|e| anyhow!("{}: {e}", args.config.display()))?;
    let token = std::env::var("DISCORD_TOKEN")
        .map_err(|_| anyhow!("DISCORD_TOKEN is not set: export the bot token from the Developer Portal (Bot → Reset Token)"))?;
    let token = match Token::new(&token) {
        Ok(t) => t,
        Err(e) => return Ok(refused(&e)),
    };
    let api_base = std::env::var("DISCORD_API_BASE")
        .ok()
        .filter(|b| !b.trim().is_empty());
    let db = db_flag
        .map(Path::to_owned)
        .or_else(|| config.db.clone())
        .unwrap_or_else(crate::tickets::default_db_path);
    let shown_db = crate::tickets::redact_target(&db.to_string_lossy());
    let store = crate::tickets::open(&db)
        .with_context(|| format!("opening the ticket database {shown_db}"))?;
    let matcher = Matcher::new(Arc::new(kb)).context("building the matcher")?;
    tracing::info!(config = %args.config.display(), kb = %kb_dir.display(), db = %shown_db, local_api = api_base.is_some(), semantic = matcher.is_semantic(), "starting the Discord bot");

    let settings = Settings {
        config,
        connection: Connection {
            token,
            api_base,
            rest: discord::rest::Policy::default(),
        },
        kb_dir,
    };
    let store: Arc<dyn crate::engine::Store> = Arc::new(crate::ops::Metered::new(store));
    let ops = settings.config.ops.clone().map(|o| {
        let health = crate::ops::Health {
            store: store.clone(),
            shards: settings.config.shards.map_or(0..=0, |p| p.first..=p.last),
        };
        (o.listen, health)
    });
    let core = Core {
        matcher: Arc::new(matcher),
        store,
        clock: super::lifecycle::clock()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = rt.block_on(async move {
        // One signal stops both the bot and the dashboard.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let web =
            super::dashboard::start_with_bot(&settings, &core, until(stopped.clone())).await?;
        let ops = match ops {
            Some((listen, health)) => Some(
                crate::ops::serve(listen, health)
                    .await
                    .with_context(|| format!("ops.listen: cannot listen on {listen}"))?,
            ),
            None => None,
        };
        let r = discord::run(settings, core, until(stopped)).await;
        if let Some(w) = web {
            w.abort();
        }
        if let Some(o) = ops {
            o.abort();
        }
        anyhow::Ok(r)
    })?;
    rt.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(
            e @ (RunError::InvalidToken | RunError::MalformedToken | RunError::DisallowedIntents),
        ) => Ok(refused(&e)),
        Err(e) => Err(e.into()),
    }
}

fn refused(e: &RunError) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        RunError::DisallowedIntents => ExitCode::from(EXIT_INTENTS),
        _ => ExitCode::from(EXIT_BAD_TOKEN),
    }
}

/// Completes on SIGTERM (docker stop, systemd) or Ctrl-C.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
