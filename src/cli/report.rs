//! `triage report`: what the query log says, for a terminal or as JSON.
//! The figures come from `crate::report`; this only renders them.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use time::Duration;

use super::kb::Style;
use crate::kb::KnowledgeBase;
use crate::report::{self, Report};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only the last DAYS days.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub since: u32,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A bot config whose `support_hours` make response times count
    /// business hours only.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Only this Discord server's questions and tickets (its id), for a
    /// bot serving several under `guilds:`.
    #[arg(long, value_name = "GUILD_ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub guild: Option<u64>,
}

pub fn run(kb_dir: &Path, db: &Path, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let store = super::tickets::open_store(db)?;
    // Titles and check names only; a broken knowledge base must not hide
    // the figures.
    let kb = match crate::kb::load_dir(kb_dir) {
        Ok(kb) => kb,
        Err(e) => {
            tracing::warn!(error = %e, "knowledge base not loaded; the report shows ids only");
            KnowledgeBase::default()
        }
    };
    let until = crate::engine::Clock::now(super::lifecycle::clock()?.as_ref());
    let since = until - Duration::days(i64::from(args.since));
    let guild = args.guild.map(|g| g.to_string());
    if guild.is_some() && store.archive().is_none() {
        anyhow::bail!("this database does not record which server a conversation is in, so --guild cannot filter it");
    }
    let d = crate::archive::ReportData::load(store.as_ref(), since, guild.as_deref())?;
    let r = report::compute(&d.records, &kb, since, until);
    let hours = match &args.config {
        Some(p) => crate::config::Config::load(p)?.policy.hours,
        None => None,
    };
    let service = crate::service::compute(
        &d.tickets,
        &d.lifecycles,
        &d.surveys,
        hours.as_ref(),
        since,
        until,
    );
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&r)?;
        v["service"] = serde_json::to_value(&service)?;
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        render(&mut out, &Style::detect(), &r, args.since)?;
        for line in crate::service::lines(&service) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn render(out: &mut impl Write, st: &Style, r: &Report, days: u32) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Last {days} days: {} question{}",
            r.questions,
            if r.questions == 1 { "" } else { "s" }
        ))
    )?;
    if r.questions == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "  answered           {:>5}  {:>4}   (answer {}, suggest {}, none {})",
        r.answered,
        pct(r.answer_rate),
        r.decisions.answer,
        r.decisions.suggest,
        r.decisions.none
    )?;
    writeln!(
        out,
        "  solved by checklist{:>5}  {:>4}   of answered",
        r.solved,
        pct(r.self_service_rate)
    )?;
    writeln!(
        out,
        "  escalated          {:>5}  {:>4}   of questions",
        r.escalated,
        pct(r.escalation_rate)
    )?;

    if !r.unanswered.is_empty() {
        writeln!(out, "\n{}", st.accent("Top unanswered questions"))?;
        for g in &r.unanswered {
            writeln!(out, "  {:>4}×  {}", g.count, g.example)?;
            for v in &g.variants {
                writeln!(out, "         {}", st.dim(v))?;
            }
        }
    }
    if !r.funnel.is_empty() {
        writeln!(
            out,
            "\n{}",
            st.accent("Per entry: answered → solved / escalated / other / silent")
        )?;
        let w = r
            .funnel
            .iter()
            .map(|f| f.entry.as_str().len())
            .max()
            .unwrap_or(0);
        for f in &r.funnel {
            writeln!(
                out,
                "  {:w$}  {:>4} → {:>3} / {:>3} / {:>3} / {:>3}",
                f.entry.as_str(),
                f.answered,
                f.solved,
                f.escalated,
                f.more,
                f.silent
            )?;
        }
    }
    if !r.tried.is_empty() {
        writeln!(out, "\n{}", st.accent("Checks most often already tried"))?;
        for t in &r.tried {
            writeln!(
                out,
                "  {:>4}×  {}  {}",
                t.count,
                t.cause,
                st.dim(&format!("[{} · {}]", t.entry, t.check))
            )?;
        }
    }
    Ok(())
}
