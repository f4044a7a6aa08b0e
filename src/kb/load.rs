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
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
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
    let fitted = dir.join(FITTED_FILE);
    if fitted.exists() {
        let json = std::fs::read_to_string(&fitted).map_err(|error| KbError::Io {
            path: fitted.clone(),
            error,
        })?;
        kb.fitted = Some(json);
    }
    Ok(kb)
}

/// The matcher's fitted parameters in a knowledge directory, written by
/// `triage fit`.
pub const FITTED_FILE: &str = "matcher.json";
