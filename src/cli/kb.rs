//! `triage kb check | list | show`: what the knowledge base's editors run
//! (`import` is in `kb_import`, `suggest` and `apply` in `kb_suggest`).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use crate::kb::{self, Entry, KbError, KnowledgeBase};
use crate::matcher::model::Fitted;

#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Validate the knowledge base; prints one problem per line on stderr.
    Check,
    /// List the entries.
    List {
        /// Print a JSON array of {"id","product","title","checks"}.
        #[arg(long)]
        json: bool,
    },
    /// Show one entry the way a person reads it.
    Show {
        /// The entry id, e.g. c2c/no-audio.
        id: String,
    },
    /// Draft a product file from a troubleshooting page (Markdown, HTML or text).
    Import(super::kb_import::ImportArgs),
    /// Write a review file of what the query log suggests (never the knowledge files).
    Suggest(super::kb_suggest::SuggestArgs),
    /// Take the accepted items of a review file into the knowledge files.
    Apply(super::kb_suggest::ApplyArgs),
}

pub fn run(dir: &Path, db: &Path, cmd: KbCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KbCommand::Check => check(dir),
        KbCommand::List { json } => list(&super::load_kb(dir)?, json),
        KbCommand::Show { id } => show(&super::load_kb(dir)?, &id),
        KbCommand::Import(args) => super::kb_import::run(args),
        KbCommand::Suggest(args) => super::kb_suggest::suggest(dir, db, args),
        KbCommand::Apply(args) => super::kb_suggest::apply(dir, args),
    }
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    match kb::load_dir(dir) {
        Ok(kb) => {
            println!(
                "ok: {} products, {} entries, {} checks, {} synonym groups, {} out-of-scope topics",
                kb.products().len(),
                kb.entries().len(),
                kb.entries().iter().map(|e| e.checks.len()).sum::<usize>(),
                kb.synonyms().groups.len(),
                kb.out_of_scope().len()
            );
            let unfitted = entries_not_fitted(&kb);
            if !unfitted.is_empty() {
                println!(
                    "note: {} entr{} added since the last `triage fit` ({}): matched by {} own words until questions about {} are labelled and the matcher is refitted",
                    unfitted.len(),
                    if unfitted.len() == 1 { "y" } else { "ies" },
                    unfitted.join(", "),
                    if unfitted.len() == 1 { "its" } else { "their" },
                    if unfitted.len() == 1 { "it" } else { "them" },
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(KbError::Invalid(problems)) => {
            let mut err = std::io::stderr().lock();
            for p in &problems {
                writeln!(err, "{p}")?;
            }
            writeln!(err, "{} problem(s) found", problems.len())?;
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

/// The entries the fitted parameters (`matcher.json`) learned nothing
/// about: added since the last fit.
fn entries_not_fitted(kb: &KnowledgeBase) -> Vec<&str> {
    kb.fitted()
        .and_then(|json| Fitted::parse(json).ok())
        .map_or_else(Vec::new, |f| f.entries_added_since(kb))
}

#[derive(Serialize)]
struct ListItem<'a> {
    id: &'a str,
    product: &'a str,
    title: &'a str,
    checks: usize,
}

fn list(kb: &KnowledgeBase, json: bool) -> anyhow::Result<ExitCode> {
    let items: Vec<ListItem> = kb
        .entries()
        .iter()
        .map(|e| ListItem {
            id: e.id.as_str(),
            product: e.id.product(),
            title: &e.title,
            checks: e.checks.len(),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &items)?;
        writeln!(out)?;
    } else {
        let w = items.iter().map(|i| i.id.len()).max().unwrap_or(0);
        for i in &items {
            writeln!(out, "{:w$}  {:>2} checks  {}", i.id, i.checks, i.title)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(kb: &KnowledgeBase, id: &str) -> anyhow::Result<ExitCode> {
    let entry = kb
        .entry(id)
        .with_context(|| format!("no entry '{id}' (see `triage kb list`)"))?;
    let style = Style::detect();
    print!("{}", render_entry(kb, entry, &style));
    Ok(ExitCode::SUCCESS)
}

/// Terminal styling: ANSI only when stdout is a terminal and NO_COLOR is unset.
pub(crate) struct Style {
    color: bool,
}

impl Style {
    pub(crate) fn detect() -> Self {
        Self {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    /// No colours (text that is stored, not shown).
    pub(crate) fn plain() -> Self {
        Self { color: false }
    }
    pub(crate) fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub(crate) fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    pub(crate) fn accent(&self, s: &str) -> String {
        self.wrap("36", s)
    }
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

/// Renders an entry for reading in a terminal.
pub(crate) fn render_entry(kb: &KnowledgeBase, e: &Entry, st: &Style) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let product = kb
        .product(e.id.product())
        .map_or(e.id.product(), |p| p.name.as_str());
    let _ = writeln!(s, "{}", st.bold(&e.title));
    let _ = writeln!(s, "{}", st.dim(&format!("{}  ·  {}", e.id, product)));
    if let Some(note) = &e.note {
        let _ = writeln!(s, "\n{note}");
    }
    if !e.symptoms.is_empty() {
        let _ = writeln!(s, "\n{}", st.accent("Customers say"));
        for sym in &e.symptoms {
            let _ = writeln!(s, "  • {sym}");
        }
    }
    if !e.errors.is_empty() || !e.statuses.is_empty() {
        let _ = writeln!(s, "\n{}", st.accent("Errors"));
        for err in &e.errors {
            let _ = writeln!(s, "  • {err}");
        }
        for code in &e.statuses {
            let _ = writeln!(s, "  • HTTP {code}");
        }
    }
    if e.escalate_only {
        let _ = writeln!(
            s,
            "\n{}",
            st.accent("No self-service check: this goes straight to support.")
        );
    }
    if !e.checks.is_empty() {
        let _ = writeln!(s, "\n{}", st.accent("Checklist"));
        for (i, c) in e.checks.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {}. {}  {}",
                i + 1,
                st.bold(&c.cause),
                st.dim(&format!("[{}]", c.id))
            );
            let _ = writeln!(s, "     Check: {}", c.verify);
            let _ = writeln!(s, "     Fix:   {}", c.fix);
        }
    }
    if let Some(g) = &e.guide {
        let _ = match &g.url {
            Some(u) => writeln!(s, "\n{} {} ({u})", st.accent("Guide:"), g.title),
            None => writeln!(s, "\n{} {}", st.accent("Guide:"), g.title),
        };
    }
    if !e.related.is_empty() {
        let rel: Vec<&str> = e.related.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(s, "{} {}", st.accent("Related:"), rel.join(", "));
    }
    s
}
