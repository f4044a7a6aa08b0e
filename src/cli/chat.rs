//! `triage chat`: the engine's conversations in a terminal, on the embedded
//! store. Interactive on a TTY; with piped stdin each line is one message,
//! so sessions can be scripted and replayed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::kb::Style;
use crate::engine::{
    Action, Checklist, Choices, ConversationKey, Engine, FieldPrompt, Input, Output, Phase,
    TicketCard,
};
use crate::kb::ProductId;
use crate::matcher::Matcher;

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The product you are asking about, as a product channel would set it.
    #[arg(long)]
    pub product: Option<String>,
    /// Who you are. Running again with the same name resumes an unfinished
    /// conversation where it stopped.
    #[arg(long)]
    pub user: Option<String>,
    /// A bot config file to take the `lifecycle` and `support_hours`
    /// settings from (stale reminders, close requests, support hours).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
}

/// Where terminal conversations happen (the `place` of their key).
const PLACE: &str = "terminal";

const HELP: &str = "\
Describe your problem in your own words and I'll look it up.
After an answer:   solved · escalate (still broken) · more (other matches) · tried 1,3
Choosing:          type the number of an option
Ticket questions:  each line answers the current question · back · cancel
Your ticket:       close · keep open (a close request) · rate 1-5 · comment <words>
Any time:          help · quit";

pub fn run(kb_dir: &Path, db: &Path, args: ChatArgs) -> anyhow::Result<ExitCode> {
    let kb = super::load_kb(kb_dir)?;
    let product = match args.product {
        Some(p) => {
            if kb.product(&p).is_none() {
                let known: Vec<&str> = kb.products().iter().map(|p| p.id.as_str()).collect();
                anyhow::bail!(
                    "no product '{p}' in the knowledge base (known: {})",
                    known.join(", ")
                );
            }
            Some(ProductId::new(p))
        }
        None => None,
    };
    if let (true, Some(dir)) = (
        std::io::stdin().is_terminal(),
        crate::matcher::semantic::chosen_dir(),
    ) {
        eprintln!(
            "loading the sentence transformer in {} (its first start embeds the knowledge base: up to a minute; kept on disk after)",
            dir.display()
        );
    }
    let matcher = Matcher::new(Arc::new(kb)).context("building the search index")?;
    let matching = match (matcher.is_semantic(), matcher.transformer()) {
        (true, Some(name)) => {
            format!("words and sentence similarity (sentence transformer {name})")
        }
        (true, None) => "words and sentence similarity (built-in model)".to_owned(),
        (false, _) => "words only (the embedding model did not load)".to_owned(),
    };
    let added = matcher.entries_added_since_fit().join(", ");
    let store = super::tickets::open_store(db)?;
    let policy = match &args.config {
        Some(path) => crate::config::Config::load(path)?.policy,
        None => crate::engine::Policy::default(),
    };
    let engine =
        Engine::new(Arc::new(matcher), store, super::lifecycle::clock()?).with_policy(policy);
    let user = args.user.unwrap_or_else(default_user);
    let key = ConversationKey::new(PLACE, user.clone());

    let interactive = std::io::stdin().is_terminal();
    let st = Style::detect();
    let mut out = std::io::stdout().lock();
    if interactive {
        writeln!(out, "{}", st.bold("triage chat"))?;
        writeln!(
            out,
            "{}",
            st.dim(&format!(
                "as {user} · tickets in {} · matching on {matching} · `help` for commands, `quit` to leave",
                db.display()
            ))
        )?;
        if !added.is_empty() {
            let note = format!(
                "added since the last `triage fit`, matched by their own words until it is rerun: {added}"
            );
            writeln!(out, "{}", st.dim(&note))?;
        }
    }

    // Deadlines missed while nobody ran (stale pings, timed-out close
    // requests) are caught up first, once.
    super::lifecycle::run_timers(&engine, &mut out, &st, Some(&user))?;
    let resume = engine.resume(&key).context("reading the conversation")?;
    let mut seen = resume.inputs_seen;
    let mut phase = resume.phase;
    if !resume.outputs.is_empty() {
        render(&mut out, &st, &resume.outputs)?;
    } else if interactive {
        writeln!(out, "\nWhat's going wrong?")?;
    }

    let stdin = std::io::stdin().lock();
    let mut lines = stdin.lines();
    loop {
        if interactive {
            let cue = match &phase {
                Phase::Collecting { k, n, .. } => format!("[{k}/{n}]> "),
                _ => "> ".into(),
            };
            write!(out, "\n{}", st.accent(&cue))?;
            out.flush()?;
        }
        let Some(line) = lines.next() else {
            if interactive {
                writeln!(out)?;
            }
            break;
        };
        let line = line.context("reading stdin")?;
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        if !interactive {
            // The transcript shows what is stored: secrets already removed.
            let shown = crate::engine::redact::redact(text).text;
            writeln!(out, "\n{} {}", st.accent(">"), shown)?;
        }
        match text.to_lowercase().as_str() {
            "quit" | "exit" | ":q" => break,
            "help" | "?" => {
                writeln!(out, "{HELP}")?;
                continue;
            }
            _ => {}
        }
        super::lifecycle::run_timers(&engine, &mut out, &st, Some(&user))?;
        // Words for the buttons of the user's ticket (close, keep open,
        // rate N, comment ...); any other line also counts as the
        // customer's reply on their open ticket (the stale clock restarts).
        if super::lifecycle::customer_turn(&engine, &mut out, &st, &user, PLACE, text)? {
            continue;
        }
        // The input id is this line's position in the conversation: a line
        // is a duplicate only if it claims a position already taken (another
        // session of the same user got there first); the same words typed
        // again take the next position and count again.
        seen += 1;
        let id = format!("{PLACE}:{user}:{seen}");
        let input = Input::say(id, key.clone(), text).in_product(product.clone());
        let reply = engine.handle(&input).context("handling the message")?;
        if reply.duplicate {
            let r = engine.resume(&key).context("reading the conversation")?;
            writeln!(
                out,
                "{}",
                st.dim("This conversation moved on in another session; that line was not used. Here is where it stands:")
            )?;
            render(&mut out, &st, &r.outputs)?;
            seen = r.inputs_seen;
            phase = r.phase;
            continue;
        }
        render(&mut out, &st, &reply.outputs)?;
        super::transcript::record_chat(&engine, &key, &input.id, text, &reply.outputs);
        engine
            .mark_delivered(&input.id)
            .context("recording the reply as shown")?;
        phase = engine
            .resume(&key)
            .context("reading the conversation")?
            .phase;
    }

    if let Phase::Collecting { k, n, .. } = phase {
        writeln!(
            out,
            "{}",
            st.dim(&format!(
                "Your ticket is saved at question {k} of {n}; run `triage chat --user {user}` to finish it."
            ))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn default_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "local".into())
}

/// Renders engine outputs for a terminal.
pub(crate) fn render(out: &mut impl Write, st: &Style, outputs: &[Output]) -> std::io::Result<()> {
    for o in outputs {
        match o {
            Output::Text { text } => writeln!(out, "{text}")?,
            Output::Notice { text } => writeln!(out, "{} {text}", st.bold("note:"))?,
            Output::Checklist(c) => checklist(out, st, c)?,
            Output::Choices(c) => choices(out, st, c)?,
            Output::FieldPrompt(p) => field(out, st, p)?,
            Output::TicketFiled(t) => ticket(out, st, t)?,
            Output::TicketUpdated(u) => writeln!(out, "{}", u.text)?,
            Output::Ticket(n) => super::lifecycle::note(out, st, n)?,
        }
    }
    Ok(())
}

fn checklist(out: &mut impl Write, st: &Style, c: &Checklist) -> std::io::Result<()> {
    writeln!(out, "\n{}", st.bold(&c.title))?;
    writeln!(
        out,
        "{}",
        st.dim(&format!("{} · {}", c.entry, c.product_name))
    )?;
    if let Some(note) = &c.note {
        writeln!(out, "{note}")?;
    }
    for k in &c.checks {
        let mut tags = Vec::new();
        if k.pinpointed {
            tags.push("matches what you described");
        }
        if k.tried {
            tags.push("already tried");
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!("  {}", st.dim(&format!("({})", tags.join(", "))))
        };
        writeln!(out, "\n  {}. {}{tags}", k.number, st.bold(&k.cause))?;
        writeln!(out, "     Check: {}", k.verify)?;
        writeln!(out, "     Fix:   {}", k.fix)?;
    }
    if let Some(g) = &c.guide {
        match &g.url {
            Some(u) => writeln!(out, "\n{} {} ({u})", st.accent("Guide:"), g.title)?,
            None => writeln!(out, "\n{} {}", st.accent("Guide:"), g.title)?,
        }
    }
    Ok(())
}

fn choices(out: &mut impl Write, st: &Style, c: &Choices) -> std::io::Result<()> {
    writeln!(out, "\n{}", c.prompt)?;
    let mut buttons = Vec::new();
    let mut n = 0;
    for o in &c.options {
        let word = match &o.action {
            Action::PickEntry { .. } | Action::PickProduct { .. } => {
                n += 1;
                writeln!(out, "  {}. {}", st.bold(&n.to_string()), o.label)?;
                continue;
            }
            Action::Solved => "solved",
            Action::Escalate => "escalate",
            Action::More => "more",
            Action::Cancel => "cancel",
            Action::Back => "back",
            Action::Tried { .. } => "tried N,M",
        };
        buttons.push(format!("{} {}", st.accent(&format!("[{word}]")), o.label));
    }
    if c.options.iter().any(|o| o.action == Action::Solved) {
        buttons.push(format!("{} I already tried some", st.accent("[tried N,M]")));
    }
    if !buttons.is_empty() {
        writeln!(out, "  {}", buttons.join("   "))?;
    }
    Ok(())
}

fn field(out: &mut impl Write, st: &Style, p: &FieldPrompt) -> std::io::Result<()> {
    if let Some(problem) = &p.problem {
        writeln!(out, "{} {problem}", st.bold("not accepted:"))?;
    }
    writeln!(
        out,
        "\n{} {}",
        st.accent(&format!("Question {} of {}", p.k, p.n)),
        st.dim(&format!("· {}", p.label))
    )?;
    writeln!(out, "{}", p.question)?;
    writeln!(out, "{}", st.dim(&format!("e.g. {}", p.example)))?;
    if let Some(prev) = &p.previous {
        writeln!(out, "{}", st.dim(&format!("before: {prev}")))?;
    }
    Ok(())
}

fn ticket(out: &mut impl Write, st: &Style, t: &TicketCard) -> std::io::Result<()> {
    writeln!(
        out,
        "\n{}",
        st.bold(&format!(
            "Ticket {} · {} · {}",
            t.id, t.product_name, t.status
        ))
    )?;
    if let (Some(id), Some(title)) = (&t.entry, &t.entry_title) {
        writeln!(out, "  Entry:    {title} ({id})")?;
    }
    if let Some(q) = &t.question {
        writeln!(out, "  Question: {q}")?;
    }
    if !t.tried.is_empty() {
        let causes: Vec<&str> = t.tried.iter().map(|c| c.cause.as_str()).collect();
        writeln!(out, "  Tried:    {}", causes.join("; "))?;
    }
    for f in &t.fields {
        let mut lines = f.value.lines();
        writeln!(out, "  {}: {}", f.label, lines.next().unwrap_or_default())?;
        for l in lines {
            writeln!(out, "    {l}")?;
        }
    }
    Ok(())
}
