//! `triage tickets list | show | claim | close | reopen`: the ticket store
//! from a terminal. Staff actions go through the engine's staff path, so
//! they are logged like the ones taken in Discord.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use super::kb::Style;
use crate::engine::{
    self, Clock, InputId, Output, StaffAction, StaffInput, SystemClock, TicketId, UserId,
};
use crate::tickets::{Store, Ticket, TicketStatus};

#[derive(Debug, Subcommand)]
pub enum TicketsCommand {
    /// List tickets, newest first.
    List {
        /// Print a JSON array of tickets (fields as an object keyed by field id).
        #[arg(long)]
        json: bool,
        /// Only tickets with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
    /// Show one ticket in full.
    Show {
        /// The ticket number (`#12` or `12`).
        id: String,
        /// Print the ticket as JSON.
        #[arg(long)]
        json: bool,
        /// Also print the transcript: every message of the ticket's thread or
        /// terminal conversation, with edits and deletions.
        #[arg(long)]
        transcript: bool,
    },
    /// Take a ticket.
    Claim(StaffArgs),
    /// Close a ticket.
    Close {
        #[command(flatten)]
        args: StaffArgs,
        /// Why (stored with the ticket and shown to the customer).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reopen a closed ticket.
    Reopen(StaffArgs),
    /// Ask the customer whether the ticket can be closed (Close / Keep
    /// open); unanswered, it closes after `lifecycle.close_request_timeout`.
    CloseRequest {
        #[command(flatten)]
        args: StaffArgs,
        /// Why (shown to the customer).
        #[arg(long)]
        reason: Option<String>,
        /// The bot config to take the lifecycle settings from.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Stop stale reminders and auto-close for a ticket.
    Hold(StaffArgs),
    /// Switch stale reminders and auto-close back on.
    Unhold {
        #[command(flatten)]
        args: StaffArgs,
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
    /// Fire the timers that are due (stale pings, auto-close, close-request
    /// timeouts) and print what they say.
    Timers {
        #[arg(long)]
        config: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct StaffArgs {
    /// The ticket number (`#12` or `12`).
    pub id: String,
    /// Who is acting (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    Open,
    Claimed,
    Closed,
}

impl From<StatusArg> for TicketStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Open => TicketStatus::Open,
            StatusArg::Claimed => TicketStatus::Claimed,
            StatusArg::Closed => TicketStatus::Closed,
        }
    }
}

/// Opens the store `db` names (a SQLite path or a `postgres://` URL), with
/// where in the error (a URL's password redacted).
pub(crate) fn open_store(db: &Path) -> anyhow::Result<Arc<dyn Store>> {
    crate::tickets::open(db).with_context(|| {
        format!(
            "opening the ticket database {}",
            crate::tickets::redact_target(&db.to_string_lossy())
        )
    })
}

pub fn run(db: &Path, cmd: TicketsCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(db)?;
    let mut out = std::io::stdout().lock();
    let st = Style::detect();
    match cmd {
        TicketsCommand::List { json, status } => {
            let tickets = store.tickets(status.map(Into::into))?;
            if json {
                serde_json::to_writer_pretty(&mut out, &tickets)?;
                writeln!(out)?;
            } else if tickets.is_empty() {
                writeln!(out, "no tickets")?;
            } else {
                for t in &tickets {
                    list_line(&mut out, &st, t)?;
                }
            }
        }
        TicketsCommand::Show {
            id,
            json,
            transcript,
        } => {
            let id = parse_id(&id)?;
            let t = store
                .ticket(id)?
                .with_context(|| format!("no ticket {id}"))?;
            let msgs = if transcript {
                Some(super::transcript::read(store.as_ref(), &t)?)
            } else {
                None
            };
            if json {
                let mut v = serde_json::to_value(&t)?;
                if let Some(m) = &msgs {
                    v["transcript"] = serde_json::to_value(m)?;
                }
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            } else {
                show(&mut out, &st, &t)?;
                if let Some(m) = &msgs {
                    super::transcript::print(&mut out, &st, m)?;
                }
            }
        }
        TicketsCommand::Claim(a) => {
            return staff(&mut out, store.as_ref(), a, StaffAction::Claim, None)
        }
        TicketsCommand::Close { args, reason } => {
            return staff(&mut out, store.as_ref(), args, StaffAction::Close, reason)
        }
        TicketsCommand::Reopen(a) => {
            return staff(&mut out, store.as_ref(), a, StaffAction::Reopen, None)
        }
        TicketsCommand::CloseRequest {
            args,
            reason,
            config,
        } => {
            return super::lifecycle::staff_ticket(
                &mut out,
                &st,
                store,
                config.as_deref(),
                lifecycle_target(args)?,
                engine::TicketAction::RequestClose,
                reason,
            );
        }
        TicketsCommand::Hold(args) => {
            return super::lifecycle::staff_ticket(
                &mut out,
                &st,
                store,
                None,
                lifecycle_target(args)?,
                engine::TicketAction::Hold { on: true },
                None,
            );
        }
        TicketsCommand::Unhold { args, config } => {
            return super::lifecycle::staff_ticket(
                &mut out,
                &st,
                store,
                config.as_deref(),
                lifecycle_target(args)?,
                engine::TicketAction::Hold { on: false },
                None,
            );
        }
        TicketsCommand::Timers { config } => {
            super::lifecycle::timers(&mut out, &st, store, config.as_deref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The ticket and the acting staff member of a lifecycle command (default:
/// $USER, else "staff").
fn lifecycle_target(args: StaffArgs) -> anyhow::Result<(TicketId, String)> {
    let id = parse_id(&args.id)?;
    let by = args
        .by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "staff".into());
    Ok((id, by))
}

fn parse_id(s: &str) -> anyhow::Result<TicketId> {
    s.trim_start_matches('#')
        .parse::<i64>()
        .map(TicketId)
        .with_context(|| format!("'{s}' is not a ticket number"))
}

/// Exit 0 when the action took effect, 1 when it did not apply (e.g. the
/// ticket was already closed).
fn staff(
    out: &mut impl Write,
    store: &dyn Store,
    a: StaffArgs,
    action: StaffAction,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let ticket = parse_id(&a.id)?;
    let by =
        a.by.or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into());
    // A command typed by a person is a new delivery every time.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let input = StaffInput {
        id: InputId::new(format!("cli:{}:{ticket}:{by}:{nonce}", std::process::id())),
        staff: UserId::new(by),
        ticket,
        action,
        reason,
    };
    let reply = engine::staff_action(store, &SystemClock, &input)?;
    let mut changed = false;
    for o in &reply.outputs {
        match o {
            Output::TicketUpdated(u) => {
                changed = true;
                writeln!(out, "{}", u.text)?;
            }
            Output::Notice { text } | Output::Text { text } => writeln!(out, "{text}")?,
            _ => {}
        }
    }
    store.mark_delivered(&input.id, SystemClock.now())?;
    Ok(if changed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn list_line(out: &mut impl Write, st: &Style, t: &Ticket) -> std::io::Result<()> {
    let about = t
        .question
        .as_deref()
        .or_else(|| t.fields.first().map(|f| f.value.as_str()))
        .unwrap_or("");
    // Display only: the stored question is whole.
    let about: String = about
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    writeln!(
        out,
        "{:>5}  {:<7}  {:<10}  {:<34}  {}",
        t.id.to_string(),
        t.status.as_str(),
        t.product.as_str(),
        t.entry.as_ref().map_or("-", |e| e.as_str()),
        st.dim(&about)
    )
}

fn show(out: &mut impl Write, st: &Style, t: &Ticket) -> std::io::Result<()> {
    let fmt = |d: time::OffsetDateTime| {
        d.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| d.to_string())
    };
    writeln!(
        out,
        "{}",
        st.bold(&format!("Ticket {} · {} · {}", t.id, t.product, t.status))
    )?;
    writeln!(
        out,
        "  Entry:     {}",
        t.entry.as_ref().map_or("-", |e| e.as_str())
    )?;
    writeln!(out, "  Customer:  {} in {}", t.customer, t.place)?;
    if t.opened_by != t.customer {
        writeln!(out, "  Opened by: {}", t.opened_by)?;
    }
    if let Some(c) = &t.claimed_by {
        writeln!(out, "  Claimed:   {c}")?;
    }
    if let Some(r) = &t.close_reason {
        writeln!(out, "  Closed:    {r}")?;
    }
    writeln!(out, "  Created:   {}", fmt(t.created_at))?;
    writeln!(out, "  Updated:   {}", fmt(t.updated_at))?;
    if let Some(q) = &t.question {
        writeln!(out, "\n{}\n  {q}", st.accent("Question"))?;
    }
    if !t.tried.is_empty() {
        let tried: Vec<&str> = t.tried.iter().map(|c| c.as_str()).collect();
        writeln!(
            out,
            "\n{}\n  {}",
            st.accent("Already tried"),
            tried.join(", ")
        )?;
    }
    writeln!(out, "\n{}", st.accent("Fields"))?;
    for f in &t.fields {
        writeln!(out, "  {} ({}):", f.label, st.dim(f.id.as_str()))?;
        for l in f.value.lines() {
            writeln!(out, "    {l}")?;
        }
    }
    Ok(())
}
