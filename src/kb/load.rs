//! Reading a knowledge directory from disk: the only I/O of `kb`.

use std::path::{Path, PathBuf};

use super::{KbError, KnowledgeBase, Problem, Span};

/// Reads every `*.yaml`/`*.yml` file of `dir` (sorted by name) and validates
/// them together.
pub fn load_dir(dir: &Path) -> Result<KnowledgeBase, KbError> {
    let io = |error| KbError::Io {
        path: dir.to_owned(),
        error,
    };
    let listed: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut paths: Vec<PathBuf> = listed
        .iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .cloned()
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let src = std::fs::read_to_string(&p).map_err(|error| KbError::Io {
            path: p.clone(),
            error,
        })?;
        files.push((p, src));
    }
    if files.is_empty() {
        return Err(KbError::Invalid(vec![Problem {
            span: Span {
                path: dir.to_owned(),
                line: 1,
                col: 1,
            },
            message: "no knowledge files (*.yaml) in this directory".into(),
        }]));
    }
    let mut kb = KnowledgeBase::from_sources(&files).map_err(KbError::Invalid)?;
    for path in listed {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(model) = name.as_deref().and_then(fitted_model) else {
            continue;
        };
        let json = std::fs::read_to_string(&path).map_err(|error| KbError::Io { path, error })?;
        kb.set_fitted_for(model.as_deref(), Some(json));
    }
    Ok(kb)
}

/// The matcher's fitted parameters in a knowledge directory, written by
/// `triage fit`: for the shipped embedding tables.
pub const FITTED_FILE: &str = "matcher.json";

/// The file of the fitted parameters for a model from outside the binary
/// (`--model`), by its name; `FITTED_FILE` for the shipped tables.
pub fn fitted_file(model: Option<&str>) -> String {
    model.map_or_else(|| FITTED_FILE.to_owned(), |m| format!("matcher.{m}.json"))
}

/// Which model's fitted parameters the file `name` holds: `Some(None)` for
/// `matcher.json`, `Some(Some(m))` for `matcher.m.json`, `None` for any
/// other file.
fn fitted_model(name: &str) -> Option<Option<String>> {
    if name == FITTED_FILE {
        return Some(None);
    }
    let model = name.strip_prefix("matcher.")?.strip_suffix(".json")?;
    (!model.is_empty()).then(|| Some(model.to_owned()))
}

#[cfg(test)]
mod fitted_tests {
    use super::*;

    #[test]
    fn each_model_reads_its_own_parameters_file() {
        assert_eq!(fitted_model("matcher.json"), Some(None));
        assert_eq!(
            fitted_model("matcher.all-minilm-l6-v2.json"),
            Some(Some("all-minilm-l6-v2".to_owned()))
        );
        assert_eq!(fitted_model("matcher..json"), None);
        assert_eq!(fitted_model("cues.yaml"), None);
        assert_eq!(fitted_file(Some("m")), "matcher.m.json");
        assert_eq!(fitted_file(None), FITTED_FILE);
    }
}
