//! `triage dashboard`: the staff dashboard without Discord, for `triage
//! chat` users. Prints a one-time login URL as a line on stdout (so scripts
//! can read it), then serves until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::archive::Principal;
use crate::dashboard::{self, Dashboard, Offline};
use crate::engine::{Clock, SystemClock, UserId};
use crate::matcher::Matcher;

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// The address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The address people reach it at, for the login link (default: the
    /// listening address).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

pub fn run(kb_dir: &Path, db: &Path, args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let kb = super::load_kb(kb_dir)?;
    let store = super::tickets::open_store(db)?;
    let matcher = Matcher::new(Arc::new(kb)).context("building the matcher")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let public_url = args
            .public_url
            .unwrap_or_else(|| format!("http://{addr}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            anyhow::bail!("--public-url '{public_url}' is not an http:// or https:// URL");
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let dash = Arc::new(Dashboard {
            store,
            matcher: Arc::new(matcher),
            clock: clock.clone(),
            notifier: Arc::new(Offline),
            public_url,
            kb_dir: Some(kb_dir.to_owned()),
            kb_loaded_at: clock.now(),
        });
        let user = std::env::var("USER").unwrap_or_else(|_| "local".into());
        let link = dash
            .login_link(&Principal {
                user: UserId::new(user),
                guild: None,
            })
            .context("issuing the login link")?;
        eprintln!("triage dashboard on {addr} (tickets in {}); the login link works once, for 10 minutes:", db.display());
        let mut out = std::io::stdout().lock();
        writeln!(out, "{link}")?;
        out.flush()?;
        drop(out);
        dashboard::serve(listener, dash, super::run::shutdown_signal())
            .await
            .context("serving the dashboard")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `triage run`'s dashboard, when the config has a `dashboard:` section:
/// bound before the bot starts (a taken port is an error at startup), told
/// about staff actions through Discord's REST API.
pub(super) async fn start_with_bot(
    settings: &crate::discord::Settings,
    core: &crate::discord::Core,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(cfg) = settings.config.dashboard.clone() else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("dashboard.listen: cannot listen on {}", cfg.listen))?;
    // The REST layer lives as long as the dashboard task holds it.
    let (http, rest) = crate::discord::build_http(&settings.connection).await?;
    let notifier = crate::discord::dashboard::DiscordNotifier {
        http: Arc::new(http),
        config: settings.config.clone(),
        store: core.store.clone(),
        matcher: core.matcher.clone(),
    };
    let dash = Arc::new(Dashboard {
        store: core.store.clone(),
        matcher: core.matcher.clone(),
        clock: core.clock.clone(),
        notifier: Arc::new(notifier),
        public_url: cfg.public_url,
        kb_dir: Some(settings.kb_dir.clone()),
        kb_loaded_at: core.clock.now(),
    });
    Ok(Some(tokio::spawn(async move {
        let _rest = rest;
        if let Err(e) = dashboard::serve(listener, dash, shutdown).await {
            tracing::error!(error = %e, "the dashboard stopped");
        }
    })))
}
