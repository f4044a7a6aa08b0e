//! `triage match` and `triage eval`.
//!
//! PLACEHOLDER: issue 3 implements these.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// The question. Omit with --jsonl.
    pub text: Option<String>,
    /// Only search this product's entries (the channel's product).
    #[arg(long)]
    pub product: Option<String>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Read `{"query": "...", "product": ...}` lines on stdin, write one result per line.
    #[arg(long, conflicts_with = "text")]
    pub jsonl: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Evaluation files (the format of eval/dev.yaml).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run_match(_kb: &Path, _args: MatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`triage match` is not implemented yet")
}

pub fn run_eval(_kb: &Path, _args: EvalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`triage eval` is not implemented yet")
}
