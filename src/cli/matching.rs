//! `triage match` (one question, or a JSONL stream of them, per DESIGN.md
//! §2's contract) and `triage eval` (top-1, top-3, MRR, abstention and
//! false abstention over evaluation files, per kind, with every miss).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use crate::kb::{KnowledgeBase, ProductId};
use crate::matcher::fit::Scores;
use crate::matcher::{Decision, Explanation, Match, Matcher, Query};

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
    /// Print the evidence behind the ranking (terms, detected product, each
    /// candidate's scores) as JSON, for tuning the knowledge base.
    #[arg(long, conflicts_with = "jsonl")]
    pub explain: bool,
    /// Match on the words alone, without sentence similarity.
    #[arg(long)]
    pub lexical: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Evaluation files (the format of eval/dev.yaml).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also write each item with the matcher's evidence (`match --explain`)
    /// as one JSON line to this file, for fitting the calibration.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Match on the words alone, without sentence similarity.
    #[arg(long)]
    pub lexical: bool,
}

fn matcher(dir: &Path, lexical: bool) -> anyhow::Result<Matcher> {
    let kb = Arc::new(super::load_kb(dir)?);
    if lexical {
        Matcher::with_model(kb, None).context("building the matcher")
    } else {
        Matcher::new(kb).context("building the matcher")
    }
}

/// Resolves a product name against the knowledge base, with the known ones
/// in the error.
fn product_id(kb: &KnowledgeBase, name: &str) -> Result<ProductId, String> {
    match kb.product(name) {
        Some(p) => Ok(p.id.clone()),
        None => {
            let known: Vec<&str> = kb.products().iter().map(|p| p.id.as_str()).collect();
            Err(format!(
                "unknown product '{name}' (known: {})",
                known.join(", ")
            ))
        }
    }
}

pub fn run_match(kb: &Path, args: MatchArgs) -> anyhow::Result<ExitCode> {
    if args.jsonl {
        if args.product.is_some() || args.json {
            anyhow::bail!("--jsonl takes the product from each line; drop --product/--json");
        }
        let m = matcher(kb, args.lexical)?;
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        stream(&m, stdin.lock(), &mut stdout.lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = args.text else {
        anyhow::bail!("give the question to match, e.g. `triage match \"the widget doesn't show\"`, or use --jsonl");
    };
    let m = matcher(kb, args.lexical)?;
    let product = match &args.product {
        Some(p) => Some(product_id(m.kb(), p).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let query = Query {
        text: &text,
        product: product.as_ref(),
        among: None,
    };
    let mut out = std::io::stdout().lock();
    if args.explain {
        match m.explain(&query) {
            Some(x) if args.json => {
                serde_json::to_writer_pretty(&mut out, &x)?;
                writeln!(out)?;
            }
            Some(x) => render_explanation(&m, &x, &mut out)?,
            None => writeln!(out, "nothing to match")?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let result = m.find(&query);
    if args.json {
        serde_json::to_writer(&mut out, &result)?;
        writeln!(out)?;
    } else {
        render(&m, &result, &mut out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of `match --jsonl` input.
#[derive(Debug, Deserialize)]
struct JsonlQuery {
    query: String,
    #[serde(default)]
    product: Option<String>,
}

/// Answers each input line with one output line, in order, flushing as it
/// goes. A malformed line gets `{"error": "..."}` and the stream goes on.
pub fn stream(m: &Matcher, input: impl BufRead, out: &mut impl Write) -> anyhow::Result<()> {
    for (n, line) in input.lines().enumerate() {
        let line = line.context("reading stdin")?;
        // Results are written directly (not through `serde_json::Value`) so
        // that each line reads exactly like `match --json`: same key order,
        // same score formatting.
        match answer_line(m, &line) {
            Ok(result) => serde_json::to_writer(&mut *out, &result)?,
            Err(msg) => serde_json::to_writer(
                &mut *out,
                &serde_json::json!({ "error": format!("line {}: {msg}", n + 1) }),
            )?,
        }
        writeln!(out)?;
        out.flush()?;
    }
    Ok(())
}

fn answer_line(m: &Matcher, line: &str) -> Result<Match, String> {
    let q: JsonlQuery =
        serde_json::from_str(line).map_err(|e| format!("not a query object: {e}"))?;
    let product = match q.product.as_deref() {
        Some(p) => Some(product_id(m.kb(), p)?),
        None => None,
    };
    Ok(m.find(&Query {
        text: &q.query,
        product: product.as_ref(),
        among: None,
    }))
}

/// `match --explain` for people: each option's probability and the
/// features that made its score.
fn render_explanation(m: &Matcher, x: &Explanation, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "decision: {:?}", x.decision)?;
    writeln!(out, "terms:    {}", x.terms.join(" "))?;
    if !x.statuses.is_empty() {
        writeln!(out, "statuses: {:?}", x.statuses)?;
    }
    if let Some(p) = &x.detected {
        writeln!(out, "product:  {p} (named in the text)")?;
    }
    if !x.cues.is_empty() {
        writeln!(out, "cues:     {}", x.cues.join(", "))?;
    }
    if let Some(t) = &x.topic {
        writeln!(
            out,
            "closest out-of-scope topic: {} (explains {:.2} of the words; the best entry {:.2})",
            t.id, t.share, t.entry_share
        )?;
    }
    writeln!(
        out,
        "semantic: {}",
        if x.semantic { "on" } else { "off (words only)" }
    )?;
    writeln!(out)?;
    for o in x.options.iter().take(6) {
        let name = match (&o.id, &o.topic) {
            (Some(id), _) => id.to_string(),
            (None, Some(t)) => format!("(out of scope: {t})"),
            (None, None) => "(none of them)".to_owned(),
        };
        let title =
            o.id.as_ref()
                .and_then(|id| m.kb().entry(id.as_str()))
                .map_or("", |e| e.title.as_str());
        writeln!(out, "{:.3}  {name}  {title}", o.probability)?;
        let parts: Vec<String> = o
            .features
            .iter()
            .map(|c| format!("{} {:+.2} (={:.2})", c.feature, c.contribution, c.value))
            .collect();
        writeln!(out, "       score {:+.2}: {}", o.score, parts.join(", "))?;
    }
    Ok(())
}

fn render(m: &Matcher, r: &Match, out: &mut impl Write) -> std::io::Result<()> {
    let product = r.product.as_ref().map_or("unknown", |p| p.as_str());
    let what = match r.decision {
        Decision::Answer => "answer",
        Decision::Suggest => "suggest (close or weak: offer these to choose from)",
        Decision::None => "none (no confident match; offer escalation)",
    };
    writeln!(out, "decision: {what}")?;
    writeln!(out, "product:  {product}")?;
    for (i, c) in r.results.iter().enumerate() {
        writeln!(out, "{}. {}  ({:.2})  {}", i + 1, c.id, c.score, c.title)?;
        if i == 0 {
            if let Some(check) = &r.check {
                let cause = m
                    .kb()
                    .entry(c.id.as_str())
                    .and_then(|e| e.checks.iter().find(|k| k.id == *check))
                    .map_or("", |k| k.cause.as_str());
                writeln!(out, "   points at check '{check}': {cause}")?;
            }
        }
    }
    Ok(())
}

/// One evaluation item (the format of eval/dev.yaml).
#[derive(Debug, Deserialize)]
pub struct EvalItem {
    pub query: String,
    #[serde(default)]
    pub expect: Vec<String>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
}

/// Counts for one group of items.
#[derive(Debug, Default, Clone)]
struct Tally {
    items: usize,
    in_scope: usize,
    top1: usize,
    top3: usize,
    rr: f64,
    false_none: usize,
    negatives: usize,
    abstained: usize,
}

impl Tally {
    fn add(&mut self, item: &EvalItem, r: &Match) {
        self.items += 1;
        if item.expect.is_empty() {
            self.negatives += 1;
            if r.decision == Decision::None {
                self.abstained += 1;
            }
            return;
        }
        self.in_scope += 1;
        if r.decision == Decision::None {
            self.false_none += 1;
            return;
        }
        let rank = r
            .results
            .iter()
            .position(|c| item.expect.iter().any(|e| e == c.id.as_str()));
        if let Some(k) = rank {
            if k == 0 {
                self.top1 += 1;
            }
            if k < 3 {
                self.top3 += 1;
            }
            self.rr += 1.0 / (k as f64 + 1.0);
        }
    }
}

fn ratio(n: usize, d: usize) -> String {
    if d == 0 {
        "   -".into()
    } else {
        format!("{:.3}", n as f64 / d as f64)
    }
}

/// One JSON line per item: the item and the matcher's explanation of it.
fn write_evidence(m: &Matcher, items: &[EvalItem], path: &Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for item in items {
        let product = match item.product.as_deref() {
            Some(p) => Some(product_id(m.kb(), p).map_err(anyhow::Error::msg)?),
            None => None,
        };
        let explanation = m.explain(&Query {
            text: &item.query,
            product: product.as_ref(),
            among: None,
        });
        let line = serde_json::json!({
            "query": item.query,
            "product": item.product,
            "expect": item.expect,
            "kind": item.kind,
            "explanation": explanation,
        });
        writeln!(w, "{line}")?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run_eval(kb: &Path, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let m = matcher(kb, args.lexical)?;
    let mut items: Vec<EvalItem> = Vec::new();
    for f in &args.files {
        let src = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let mut v: Vec<EvalItem> =
            serde_yaml::from_str(&src).with_context(|| format!("parsing {}", f.display()))?;
        items.append(&mut v);
    }
    let mut out = std::io::stdout().lock();
    for item in &items {
        for id in &item.expect {
            if m.kb().entry(id).is_none() {
                writeln!(
                    out,
                    "warning: expected id '{id}' is not in the knowledge base"
                )?;
            }
        }
    }
    if let Some(path) = &args.evidence {
        write_evidence(&m, &items, path)?;
    }
    let mut scores = Scores::default();
    let mut total = Tally::default();
    let mut kinds: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    for item in &items {
        let product = match item.product.as_deref() {
            Some(p) => Some(product_id(m.kb(), p).map_err(anyhow::Error::msg)?),
            None => None,
        };
        let r = m.find(&Query {
            text: &item.query,
            product: product.as_ref(),
            among: None,
        });
        total.add(item, &r);
        let expect: Vec<_> = item
            .expect
            .iter()
            .filter_map(|id| m.kb().entry(id).map(|e| e.id.clone()))
            .collect();
        scores.add(&expect, r.decision, r.results.first().map(|c| &c.id));
        let kind = item.kind.clone().unwrap_or_else(|| "-".into());
        kinds.entry(kind.clone()).or_default().add(item, &r);
        let hit = if item.expect.is_empty() {
            r.decision == Decision::None
        } else {
            r.decision != Decision::None
                && r.results
                    .first()
                    .is_some_and(|c| item.expect.iter().any(|e| e == c.id.as_str()))
        };
        if !hit {
            misses.push(describe_miss(item, &kind, &r));
        }
    }

    writeln!(
        out,
        "items: {} ({} in scope, {} negatives)",
        total.items, total.in_scope, total.negatives
    )?;
    writeln!(
        out,
        "top-1:             {}",
        ratio(total.top1, total.in_scope)
    )?;
    writeln!(
        out,
        "top-3:             {}",
        ratio(total.top3, total.in_scope)
    )?;
    writeln!(
        out,
        "MRR:               {}",
        if total.in_scope == 0 {
            "   -".into()
        } else {
            format!("{:.3}", total.rr / total.in_scope as f64)
        }
    )?;
    writeln!(
        out,
        "abstention:        {}  (negatives answered none)",
        ratio(total.abstained, total.negatives)
    )?;
    writeln!(
        out,
        "false abstention:  {}  (in-scope answered none)",
        ratio(total.false_none, total.in_scope)
    )?;
    writeln!(out, "{}", Scores::HEADER)?;
    writeln!(out, "{}", scores.row())?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<14} {:>5} {:>6} {:>6} {:>6} {:>8} {:>8}",
        "kind", "n", "top-1", "top-3", "MRR", "abstain", "false-0"
    )?;
    for (k, t) in &kinds {
        let mrr = if t.in_scope == 0 {
            "   -".into()
        } else {
            format!("{:.3}", t.rr / t.in_scope as f64)
        };
        writeln!(
            out,
            "{:<14} {:>5} {:>6} {:>6} {:>6} {:>8} {:>8}",
            k,
            t.items,
            ratio(t.top1, t.in_scope),
            ratio(t.top3, t.in_scope),
            mrr,
            ratio(t.abstained, t.negatives),
            ratio(t.false_none, t.in_scope)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "misses: {}", misses.len())?;
    for m in &misses {
        writeln!(out, "{m}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_miss(item: &EvalItem, kind: &str, r: &Match) -> String {
    let q: String = item.query.split_whitespace().collect::<Vec<_>>().join(" ");
    let q = if q.chars().count() > 140 {
        format!("{}…", q.chars().take(140).collect::<String>())
    } else {
        q
    };
    let expect = if item.expect.is_empty() {
        "none".to_owned()
    } else {
        item.expect.join(" | ")
    };
    let got: Vec<String> = r
        .results
        .iter()
        .take(3)
        .map(|c| format!("{} {:.2}", c.id, c.score))
        .collect();
    let channel = item
        .product
        .as_deref()
        .map(|p| format!(" [channel {p}]"))
        .unwrap_or_default();
    format!(
        "- [{kind}]{channel} {q}\n    expected {expect}; got {:?}: {}",
        r.decision,
        if got.is_empty() {
            "-".into()
        } else {
            got.join(", ")
        }
    )
}
