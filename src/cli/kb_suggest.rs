//! `triage kb suggest` (the query log -> a review file) and `triage kb
//! apply` (the accepted items -> the knowledge files, validated first).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use time::{Duration, OffsetDateTime};

use crate::kb::suggest::{self, Asked, Review, REVIEW_HEADER};
use crate::kb::KnowledgeBase;
use crate::tickets::Feedback;

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// Only questions from the last DAYS days.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub since: u32,
    /// The review file to write.
    #[arg(long, default_value = "suggestions.yaml")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The review file with `accept: true` on the items to take in.
    pub file: PathBuf,
}

pub fn suggest(kb_dir: &Path, db: &Path, args: SuggestArgs) -> anyhow::Result<ExitCode> {
    let kb = super::load_kb(kb_dir)?;
    let store = super::tickets::open_store(db)?;
    let since = OffsetDateTime::now_utc() - Duration::days(i64::from(args.since));
    let log: Vec<Asked> = store
        .queries_since(since)?
        .into_iter()
        .map(|q| Asked {
            conversation: q.key.to_string(),
            text: q.text,
            product: q.product,
            entry: q.entry,
            solved: q.feedback == Some(Feedback::Solved),
            escalated: q.ticket.is_some(),
            tried: q.tried,
        })
        .collect();
    let review = suggest::suggest(&log, &kb);
    let yaml = serde_yaml::to_string(&review)?;
    std::fs::write(&args.out, format!("{REVIEW_HEADER}{yaml}"))
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{} questions in the last {} days: {} phrasings, {} gaps, {} weak checks -> {}",
        log.len(),
        args.since,
        review.phrasings.len(),
        review.gaps.len(),
        review.weak_checks.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn apply(kb_dir: &Path, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let src = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let review: Review = serde_yaml::from_str(&src)
        .with_context(|| format!("{} is not a review file", args.file.display()))?;
    let files = read_yaml_files(kb_dir)?;
    let applied = suggest::apply(&review, &files)?;
    if applied.done.is_empty() {
        println!(
            "nothing accepted in {}: set `accept: true` on the items to take in",
            args.file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Validate the knowledge base as it would be before writing anything.
    let mut after = files.clone();
    for (p, s) in &applied.files {
        if let Some(f) = after.iter_mut().find(|(q, _)| q == p) {
            f.1 = s.clone();
        }
    }
    if let Err(problems) = KnowledgeBase::from_sources(&after) {
        let mut err = std::io::stderr().lock();
        for p in &problems {
            writeln!(err, "{p}")?;
        }
        writeln!(err, "{} problem(s); nothing written", problems.len())?;
        return Ok(ExitCode::from(1));
    }
    for (p, s) in &applied.files {
        std::fs::write(p, s).with_context(|| format!("writing {}", p.display()))?;
    }
    for d in &applied.done {
        println!("applied: {d}");
    }
    Ok(ExitCode::SUCCESS)
}

fn read_yaml_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let s =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            Ok((p, s))
        })
        .collect()
}
