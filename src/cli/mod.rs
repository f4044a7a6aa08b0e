//! The command line: parses arguments with clap and dispatches to one small
//! module per verb. Only this module and its children know about clap or
//! the terminal.

mod chat;
mod dashboard;
mod fit;
mod kb;
mod kb_import;
mod kb_suggest;
mod lifecycle;
mod matching;
mod report;
mod run;
mod tickets;
mod transcript;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// triage: match customer questions to a troubleshooting knowledge base and
/// escalate to humans with complete tickets.
#[derive(Debug, Parser)]
#[command(name = "triage", version, about)]
pub struct Cli {
    /// The knowledge directory.
    #[arg(long, global = true, env = "TRIAGE_KB", default_value = "knowledge")]
    pub kb: PathBuf,

    /// The ticket database: an SQLite file path, or a shared PostgreSQL
    /// database as postgres://USER:PASSWORD@HOST:PORT/DB[?pool_size=N].
    /// Default: ./triage.db in a container, else the user's data directory
    /// (e.g. ~/.local/share/triage/triage.db).
    #[arg(long, global = true, env = "TRIAGE_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// The sentence transformer to match with instead of the shipped
    /// static embeddings: a local directory in the Hugging Face layout
    /// (config.json, model.safetensors, tokenizer.json), or `shipped` for
    /// the static embeddings. Default: models/all-mpnet-base-v2, else
    /// models/all-minilm-l6-v2 (where scripts/fetch-transformer puts
    /// them), if a model is there; else the static embeddings. Slower
    /// and more accurate; the knowledge base needs parameters fitted for
    /// it (matcher.NAME.json, `triage fit --model DIR --write`).
    #[arg(long, global = true, env = "TRIAGE_MODEL", value_name = "DIR|shipped")]
    pub model: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Discord bot (token in DISCORD_TOKEN; settings in --config).
    Run(run::RunArgs),
    /// Check, list and show the knowledge base; import a page; learn from the query log.
    #[command(subcommand)]
    Kb(kb::KbCommand),
    /// Match a question (or a JSONL stream of them) to entries.
    Match(matching::MatchArgs),
    /// Score the matcher on evaluation files.
    Eval(matching::EvalArgs),
    /// Refit the matcher's weights and thresholds on labelled questions.
    Fit(fit::FitArgs),
    /// Talk to triage in the terminal: ask, get a checklist, escalate to a ticket.
    Chat(chat::ChatArgs),
    /// List, show, claim, close and reopen tickets.
    #[command(subcommand)]
    Tickets(tickets::TicketsCommand),
    /// What the query log says: answer rate, resolution, escalations, gaps.
    Report(report::ReportArgs),
    /// Serve the staff dashboard without Discord; prints a one-time login URL.
    Dashboard(dashboard::DashboardArgs),
}

/// Parses the command line, runs the command, and turns errors into a
/// message on stderr and exit code 2 (1 is reserved for "checked and found
/// problems").
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Run(_) | Command::Dashboard(_));
    crate::telemetry::init(if quiet { "warn" } else { "warn,triage=info" });
    let (model, asked) = model_choice(cli.model.as_deref());
    crate::matcher::semantic::choose(model, asked, Some(cli.kb.clone()));
    let result = match cli.command {
        Command::Run(args) => run::run(&cli.kb, cli.db.as_deref(), args),
        Command::Kb(cmd) => kb::run(&cli.kb, &db_path(&cli.db), cmd),
        Command::Match(args) => matching::run_match(&cli.kb, args),
        Command::Eval(args) => matching::run_eval(&cli.kb, args),
        Command::Fit(args) => fit::run(&cli.kb, args),
        Command::Chat(args) => chat::run(&cli.kb, &db_path(&cli.db), args),
        Command::Tickets(cmd) => tickets::run(&db_path(&cli.db), cmd),
        Command::Report(args) => report::run(&cli.kb, &db_path(&cli.db), args),
        Command::Dashboard(args) => dashboard::run(&cli.kb, &db_path(&cli.db), args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Where `scripts/fetch-transformer` puts its models, under the working
/// directory, the more accurate first: the first one there is used when
/// `--model` is not given.
const INSTALLED_MODELS: [&str; 2] = ["models/all-mpnet-base-v2", "models/all-minilm-l6-v2"];

/// The transformer to match with, and whether the operator named it:
/// `--model DIR`, none for `--model shipped`, else the installed one if
/// there is one.
fn model_choice(arg: Option<&std::path::Path>) -> (Option<PathBuf>, bool) {
    match arg {
        Some(p) if p == std::path::Path::new("shipped") => (None, true),
        Some(p) => (Some(p.to_owned()), true),
        None => {
            let installed = INSTALLED_MODELS
                .iter()
                .map(PathBuf::from)
                .find(|d| d.join("config.json").is_file());
            (installed, false)
        }
    }
}

/// The ticket database: `--db`/`TRIAGE_DB`, else the default location.
fn db_path(arg: &Option<PathBuf>) -> PathBuf {
    arg.clone().unwrap_or_else(crate::tickets::default_db_path)
}

/// Loads the knowledge base for a command, with the path in the error.
/// A directory that cannot be read says how to point at another one.
pub(crate) fn load_kb(dir: &std::path::Path) -> anyhow::Result<crate::kb::KnowledgeBase> {
    use anyhow::Context;
    match crate::kb::load_dir(dir) {
        Err(crate::kb::KbError::Io { path, error }) if path == dir => Err(anyhow::anyhow!(
            "cannot read the knowledge base directory {}: {error}\npoint triage at one with --kb DIR or TRIAGE_KB=DIR (the repository's is knowledge/)",
            dir.display()
        )),
        r => r.with_context(|| format!("loading the knowledge base from {}", dir.display())),
    }
}
