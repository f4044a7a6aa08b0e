//! Cross-file validation: a whole knowledge base from `(path, source)`
//! pairs, with duplicate products and entries, entries in the wrong file and
//! dangling related ids reported beside each file's own problems.

use std::collections::HashMap;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::parse::{locate, locate_after, parse_file};
use super::{
    cues, parse_cues, parse_out_of_scope, parse_synonyms, EntryId, KnowledgeBase, Problem,
    ProductId, Span,
};

impl KnowledgeBase {
    /// Validates a whole knowledge base given as `(path, source)` pairs.
    /// Pure: `load_dir` does the I/O. Files named `synonyms.yaml` hold
    /// synonyms, files named `out-of-scope.yaml` hold out-of-scope topics;
    /// every other file holds one product.
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut kb = KnowledgeBase::default();
        let mut product_spans: HashMap<ProductId, Span> = HashMap::new();
        let mut first_seen: HashMap<EntryId, Span> = HashMap::new();
        let mut wrong_file: Vec<(EntryId, ProductId)> = Vec::new();

        for (path, src) in files {
            if is_synonyms_file(path) {
                match parse_synonyms(src, path) {
                    Ok(s) => {
                        kb.synonyms.groups.extend(s.groups);
                        kb.synonyms.stopwords.extend(s.stopwords);
                        kb.synonyms.trouble.extend(s.trouble);
                        kb.synonyms.protect.extend(s.protect);
                        kb.synonyms.generic.extend(s.generic);
                    }
                    Err(mut p) => problems.append(&mut p),
                }
                continue;
            }
            if cues::is_cues_file(path) {
                match parse_cues(src, path) {
                    Ok(c) => cues::merge(&mut kb.cues, c),
                    Err(mut p) => problems.append(&mut p),
                }
                continue;
            }
            if is_out_of_scope_file(path) {
                match parse_out_of_scope(src, path) {
                    Ok(o) => {
                        for t in o.topics {
                            if kb.out_of_scope.iter().any(|x| x.id == t.id) {
                                problems.push(Problem {
                                    span: locate(src, path, "id", &t.id, 0),
                                    message: format!("duplicate out-of-scope topic id '{}'", t.id),
                                });
                            } else {
                                kb.out_of_scope.push(t);
                            }
                        }
                    }
                    Err(mut p) => problems.append(&mut p),
                }
                continue;
            }
            let file = match parse_file(src, path) {
                Ok((f, mut p)) => {
                    problems.append(&mut p);
                    f
                }
                Err(mut p) => {
                    problems.append(&mut p);
                    continue;
                }
            };
            let pspan = locate(src, path, "id", file.product.id.as_str(), 0);
            if let Some(prev) = product_spans.get(&file.product.id) {
                problems.push(Problem {
                    span: pspan.clone(),
                    message: format!(
                        "duplicate product id '{}' (first defined at {}:{})",
                        file.product.id,
                        prev.path.display(),
                        prev.line
                    ),
                });
            }
            product_spans.insert(file.product.id.clone(), pspan);
            for entry in &file.entries {
                if entry.id.product() != file.product.id.as_str() && !entry.id.product().is_empty()
                {
                    wrong_file.push((entry.id.clone(), file.product.id.clone()));
                }
            }
            kb.products.push(file.product);
            for entry in file.entries {
                if let Some(prev) = first_seen.get(&entry.id) {
                    problems.push(Problem {
                        span: entry.span.clone(),
                        message: format!(
                            "duplicate entry id '{}' (first defined at {}:{})",
                            entry.id,
                            prev.path.display(),
                            prev.line
                        ),
                    });
                    continue;
                }
                first_seen.insert(entry.id.clone(), entry.span.clone());
                kb.entries.push(entry);
            }
        }

        // Cross-file checks: entry products and related ids.
        let known: HashSet<&str> = kb.products.iter().map(|p| p.id.as_str()).collect();
        for e in &kb.entries {
            let prod = e.id.product();
            if !prod.is_empty() && !known.contains(prod) {
                problems.push(Problem {
                    span: e.span.clone(),
                    message: format!("entry '{}' names unknown product '{prod}'", e.id),
                });
            } else if let Some((_, file_product)) = wrong_file.iter().find(|(id, _)| *id == e.id) {
                problems.push(Problem {
                    span: e.span.clone(),
                    message: format!(
                        "entry '{}' belongs to product '{prod}' but is in the file of '{file_product}'",
                        e.id
                    ),
                });
            }
            for r in &e.related {
                if !first_seen.contains_key(r) {
                    let src = files
                        .iter()
                        .find(|(p, _)| *p == e.span.path)
                        .map(|(_, s)| s.as_str())
                        .unwrap_or("");
                    let span = locate_after(src, &e.span, r.as_str());
                    problems.push(Problem {
                        span,
                        message: format!(
                            "entry '{}' is related to '{r}', which does not exist",
                            e.id
                        ),
                    });
                }
            }
        }

        if problems.is_empty() {
            kb.by_id = kb
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.id.clone(), i))
                .collect();
            Ok(kb)
        } else {
            problems.sort_by(|a, b| {
                (&a.span.path, a.span.line, a.span.col).cmp(&(
                    &b.span.path,
                    b.span.line,
                    b.span.col,
                ))
            });
            Err(problems)
        }
    }
}

fn is_synonyms_file(path: &Path) -> bool {
    path.file_stem().and_then(|s| s.to_str()) == Some("synonyms")
}

fn is_out_of_scope_file(path: &Path) -> bool {
    path.file_stem().and_then(|s| s.to_str()) == Some("out-of-scope")
}
