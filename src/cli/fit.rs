//! `triage fit`: refits the matcher's weights and thresholds on labelled
//! question files, prints the grouped cross-validated figures per file,
//! and with `--write` saves them as the knowledge directory's
//! `matcher.json`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use crate::kb::{fitted_file, EntryId};
use crate::matcher::classifier::Classifier;
use crate::matcher::fit::{self, Labelled, OutOfFold, Ranking, Scores};
use crate::matcher::model;
use crate::matcher::prototypes::Prototypes;
use crate::matcher::semantic::Semantic;
use crate::matcher::{self, Matcher};

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Labelled question files (the format of eval/dev.yaml; items may
    /// carry a `group`, e.g. their source repository, kept in one fold).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the fitted parameters to the knowledge directory's matcher.json.
    #[arg(long)]
    pub write: bool,
    /// Fit without this feature (an entry or question feature's name, as
    /// matcher.json names them; repeatable): its weight stays 0. To see
    /// what a feature adds to the cross-validated figures.
    #[arg(long, value_name = "FEATURE")]
    pub without: Vec<String>,
    /// Write every labelled question's cross-validated outcome to this
    /// file, one JSON object per line (its set, source group, text,
    /// expected ids, the decision, the first three entries with their
    /// probabilities, and whether it counts as a miss): to see which
    /// questions the model gets wrong without being fitted on them.
    #[arg(long, value_name = "PATH")]
    pub out_of_fold: Option<PathBuf>,
}

/// One labelled item as the files hold it.
#[derive(Debug, Deserialize)]
struct Item {
    query: String,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

/// Reads labelled files into items for fitting, checking every id.
pub(super) fn read_labelled(m: &Matcher, files: &[PathBuf]) -> anyhow::Result<Vec<Labelled>> {
    let mut out = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let items: Vec<Item> =
            serde_yaml::from_str(&src).with_context(|| format!("parsing {}", f.display()))?;
        let set = f.file_stem().map_or_else(
            || f.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let set = match f.parent().and_then(Path::file_name) {
            Some(dir) => format!("{}/{set}", dir.to_string_lossy()),
            None => set,
        };
        for (i, it) in items.into_iter().enumerate() {
            let mut expect = Vec::new();
            for id in &it.expect {
                let e = m.kb().entry(id).with_context(|| {
                    format!("{}: item {}: unknown entry id '{id}'", f.display(), i + 1)
                })?;
                expect.push(EntryId::clone(&e.id));
            }
            let product = match it.product.as_deref() {
                Some(p) => Some(
                    m.kb()
                        .product(p)
                        .with_context(|| {
                            format!("{}: item {}: unknown product '{p}'", f.display(), i + 1)
                        })?
                        .id
                        .clone(),
                ),
                None => None,
            };
            // Without a source group, a set's items about one entry form a
            // group, and its out-of-scope items groups of ten in file order.
            let group = it.group.unwrap_or_else(|| {
                if it.expect.is_empty() {
                    format!("{set}:none:{}", i / 10)
                } else {
                    format!("{set}:{}", it.expect.join("+"))
                }
            });
            out.push(Labelled {
                query: it.query,
                product,
                expect,
                group,
                set: set.clone(),
            });
        }
    }
    Ok(out)
}

pub fn run(kb_dir: &Path, args: FitArgs) -> anyhow::Result<ExitCode> {
    let mut kb = super::load_kb(kb_dir)?;
    // Features are read without learned prototypes or classifier: the fit
    // learns them afresh, and recall must not lean on ones learned from
    // these items.
    let model = Semantic::chosen().context("loading the embedding model")?;
    let name = model.name().map(str::to_owned);
    let mut fitted = matcher::starting_params(&kb, name.as_deref())?;
    fitted.prototypes = Prototypes::default();
    fitted.classifier = Classifier::default();
    fitted.word_classifier = Classifier::default();
    kb.set_fitted_for(name.as_deref(), Some(serde_json::to_string(&fitted)?));
    let kb = Arc::new(kb);
    let tag = name.is_some().then(|| matcher::model_tag(&model));
    let semantic =
        Matcher::with_model(Arc::clone(&kb), Some(model)).context("building the matcher")?;
    anyhow::ensure!(
        semantic.is_semantic(),
        "the embedding model did not load, so the semantic parameters cannot be fitted"
    );
    let lexical = Matcher::with_model(Arc::clone(&kb), None).context("building the matcher")?;
    let items = read_labelled(&semantic, &args.files)?;
    let about = format!(
        "Fitted by `triage fit` on {} labelled questions from {}; thresholds chosen on {}-fold grouped cross-validation.",
        items.len(),
        args.files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        fit::FOLDS
    );
    for name in &args.without {
        anyhow::ensure!(
            model::ENTRY_FEATURES.contains(&name.as_str())
                || model::QUERY_FEATURES.contains(&name.as_str()),
            "--without {name}: no such feature (entry features: {}; question features: {})",
            model::ENTRY_FEATURES.join(", "),
            model::QUERY_FEATURES.join(", ")
        );
    }
    let about = if args.without.is_empty() {
        about
    } else {
        format!("{about} Without: {}.", args.without.join(", "))
    };
    let mut report = fit::fit(&semantic, &lexical, &items, &args.without, about);
    report.fitted.model = tag;
    if let Some(path) = &args.out_of_fold {
        write_out_of_fold(path, &items, &report.out_of_fold)?;
    }
    let mut out = std::io::stdout().lock();
    for (name, table, utility) in [
        ("semantic", &report.semantic, report.utility.0),
        ("lexical only", &report.lexical, report.utility.1),
    ] {
        let log_likelihood = table
            .get("all")
            .map_or(0.0, |s| s.ranking.mean_log_likelihood());
        writeln!(
            out,
            "cross-validated, {name} (utility {utility:.4} per question, \
             log-likelihood {log_likelihood:.4}):"
        )?;
        writeln!(out, "{:<28} {}  {}", "set", Scores::HEADER, Ranking::HEADER)?;
        for (set, s) in table {
            writeln!(out, "{set:<28} {}  {}", s.row(), s.ranking.row())?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "cross-validated, semantic for a knowledge base the labelled questions do not cover \
         (utility {:.4} per question)\n",
        report.unlearned_utility
    )?;
    let json = serde_json::to_string_pretty(&report.fitted)? + "\n";
    if args.write {
        let path = kb_dir.join(fitted_file(name.as_deref()));
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
        writeln!(out, "wrote {}", path.display())?;
    } else {
        writeln!(out, "{json}")?;
        writeln!(
            out,
            "(not written: add --write to save it as {})",
            fitted_file(name.as_deref())
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes each item's cross-validated outcome as a JSON line.
fn write_out_of_fold(
    path: &Path,
    items: &[Labelled],
    outcomes: &[OutOfFold],
) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for o in outcomes {
        let it = &items[o.item];
        let line = serde_json::json!({
            "set": it.set,
            "group": it.group,
            "query": it.query,
            "expect": it.expect.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
            "decision": o.decision,
            "ranked": o.ranked.iter().map(|(id, p)| serde_json::json!({
                "id": id.as_str(),
                "probability": (f64::from(*p) * 1e4).round() / 1e4,
            })).collect::<Vec<_>>(),
            "miss": o.missed(&it.expect),
        });
        writeln!(w, "{line}")?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Decision;

    #[test]
    fn each_out_of_fold_line_names_its_set_group_and_outcome() {
        let item = |query: &str, expect: &[&str], group: &str| Labelled {
            query: query.into(),
            product: None,
            expect: expect.iter().map(|&e| EntryId::from(e)).collect(),
            group: group.into(),
            set: "real/train".into(),
        };
        let items = [
            item("no sound on calls", &["c2c/no-audio"], "github.com/a/b"),
            item("how do I pay", &[], "forum:billing"),
        ];
        let outcomes = [
            OutOfFold {
                item: 1,
                decision: Decision::Suggest,
                ranked: vec![(EntryId::from("c2c/no-audio"), 0.4)],
            },
            OutOfFold {
                item: 0,
                decision: Decision::Answer,
                ranked: vec![(EntryId::from("c2c/no-audio"), 0.91)],
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oof.jsonl");
        write_out_of_fold(&path, &items, &outcomes).unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["group"], "forum:billing");
        assert_eq!(lines[0]["query"], "how do I pay");
        assert_eq!(lines[0]["decision"], "suggest");
        assert_eq!(lines[0]["miss"], true);
        assert_eq!(lines[1]["group"], "github.com/a/b");
        assert_eq!(lines[1]["set"], "real/train");
        assert_eq!(lines[1]["expect"][0], "c2c/no-audio");
        assert_eq!(lines[1]["ranked"][0]["probability"], 0.91);
        assert_eq!(lines[1]["miss"], false);
    }
}
