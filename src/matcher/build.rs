//! Building a matcher: which embedding model it reads questions with
//! (the process's choice, `semantic::chosen`, or the shipped tables when
//! that cannot be used), which fitted parameters go with that model, and
//! what is prepared once per knowledge base (its index and embeddings,
//! the twins of each entry).

use std::sync::Arc;

use super::*;

impl Matcher {
    /// A matcher with the process's embedding model (`semantic::chosen`:
    /// the shipped tables unless `--model` named a transformer). A
    /// transformer that does not load, or that the knowledge base has no
    /// parameters fitted for, gives way to the shipped tables; tables
    /// that do not load give way to the words alone. Each says so.
    pub fn new(kb: Arc<KnowledgeBase>) -> anyhow::Result<Self> {
        let shipped = || match Semantic::shipped() {
            Ok(m) => Some(m),
            Err(err) => {
                tracing::warn!(error = %err, "the embedding model did not load; matching on words only");
                None
            }
        };
        let (model, fitted) = match Semantic::chosen() {
            Ok(m) => match m.name() {
                None => (Some(m), None),
                Some(name) => match fitted_for_model(&kb, &m) {
                    Some(fitted) => {
                        tracing::info!(model = name, "matching with a sentence transformer");
                        (Some(m), Some(fitted))
                    }
                    None => {
                        let why = format!(
                            "the knowledge base has no parameters fitted for the sentence transformer {name} ({}; `triage fit --model DIR --write` makes them); matching with the shipped embeddings",
                            crate::kb::fitted_file(Some(name))
                        );
                        if semantic::chosen_by_operator() {
                            tracing::warn!("{why}");
                        } else {
                            tracing::info!("{why}");
                        }
                        (shipped(), None)
                    }
                },
            },
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "the sentence transformer did not load; matching with the shipped embeddings");
                (shipped(), None)
            }
        };
        match fitted {
            Some(fitted) => Self::with_fitted(kb, model, fitted),
            None => Self::with_model(kb, model),
        }
    }

    /// A matcher with the given embedding model, or lexical only. The
    /// parameters are the knowledge base's for that model, or, for a
    /// model it has none for (while `triage fit` fits them), the shipped
    /// tables' as a start.
    pub fn with_model(kb: Arc<KnowledgeBase>, model: Option<Semantic>) -> anyhow::Result<Self> {
        let fitted = starting_params(&kb, model.as_ref().and_then(Semantic::name))?;
        Self::with_fitted(kb, model, fitted)
    }

    /// A matcher with the given embedding model and parameters.
    fn with_fitted(
        kb: Arc<KnowledgeBase>,
        model: Option<Semantic>,
        fitted: Fitted,
    ) -> anyhow::Result<Self> {
        // The knowledge base's words and its embeddings are built side by
        // side: the words on this thread (mostly one thread's work), the
        // embeddings on the pool.
        let mut semantic = None;
        let prep = rayon::in_place_scope(|scope| {
            if let Some(m) = model {
                let (kb, fitted, semantic) = (&kb, &fitted, &mut semantic);
                scope.spawn(move |_| {
                    *semantic = Some(SemanticIndex::new(
                        m,
                        kb,
                        &fitted.prototypes,
                        &fitted.classifier,
                    ));
                });
            }
            Prepared::new(&kb)
        })?;
        let cues = CueSet::new(kb.cues());
        let weights = Weights::from(match &semantic {
            Some(s) if !s.learned_applies() => {
                fitted.unlearned.as_ref().unwrap_or(&fitted.semantic)
            }
            Some(_) => &fitted.semantic,
            None => &fitted.lexical,
        });
        let twins = twins(&kb);
        let added = fitted.entries_added_since(&kb);
        if !added.is_empty() {
            tracing::info!(
                entries = %added.join(", "),
                "entries added since the last `triage fit`: matched by their own words until refitted"
            );
        }
        let words = Bound::new(&fitted.word_classifier, &prototypes::keys(&kb), None);
        Ok(Self {
            kb,
            prep,
            cues,
            semantic,
            words,
            fitted,
            weights,
            twins,
        })
    }
}

/// The parameters a matcher with the model `name` (None: the shipped
/// tables) starts from: the knowledge base's for that model, else its
/// own for the tables, else the compiled-in ones. `triage fit` starts
/// from these too.
pub fn starting_params(kb: &KnowledgeBase, name: Option<&str>) -> anyhow::Result<Fitted> {
    let json = name.and_then(|n| kb.fitted_for(Some(n))).or(kb.fitted());
    Fitted::parse(json.unwrap_or(model::SHIPPED))
        .map_err(|e| anyhow::anyhow!("the matcher's fitted parameters: {e:#}"))
}

/// The parameters `kb` has fitted for the model `m` from outside the
/// binary, when its file parses and names this model's fingerprint.
fn fitted_for_model(kb: &KnowledgeBase, m: &Semantic) -> Option<Fitted> {
    let f = Fitted::parse(kb.fitted_for(m.name())?).ok()?;
    (f.model.as_deref() == Some(model_tag(m).as_str())).then_some(f)
}

/// How fitted parameters name the model they were fitted with.
pub fn model_tag(m: &Semantic) -> String {
    format!(
        "{} {}",
        m.name().unwrap_or("shipped"),
        m.fingerprint().unwrap_or("-")
    )
}

/// For each entry, the entries of other products that are the same symptom:
/// the same name after the product, or `related` either way. Found by
/// name and id lookups, not by comparing every pair (10,000 entries).
fn twins(kb: &KnowledgeBase) -> Vec<Vec<usize>> {
    let entries = kb.entries();
    fn slug(id: &EntryId) -> &str {
        let s = id.as_str();
        s.split_once('/').map_or(s, |(_, rest)| rest)
    }
    let mut by_slug: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut related_to: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_slug.entry(slug(&e.id)).or_default().push(i);
        by_id.insert(e.id.as_str(), i);
        for r in &e.related {
            related_to.entry(r.as_str()).or_default().push(i);
        }
    }
    entries
        .iter()
        .map(|e| {
            let mut out: Vec<usize> = by_slug[slug(&e.id)]
                .iter()
                .copied()
                .chain(
                    e.related
                        .iter()
                        .filter_map(|r| by_id.get(r.as_str()).copied()),
                )
                .chain(related_to.get(e.id.as_str()).into_iter().flatten().copied())
                .filter(|&o| entries[o].id.product() != e.id.product())
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `twins` by its definition: every pair compared.
    fn twins_pairwise(kb: &KnowledgeBase) -> Vec<Vec<usize>> {
        let entries = kb.entries();
        let slug = |id: &EntryId| id.as_str().split_once('/').map(|(_, r)| r.to_owned());
        entries
            .iter()
            .map(|e| {
                (0..entries.len())
                    .filter(|&i| {
                        let o = &entries[i];
                        o.id.product() != e.id.product()
                            && (slug(&o.id) == slug(&e.id)
                                || e.related.contains(&o.id)
                                || o.related.contains(&e.id))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn twins_by_lookup_are_the_pairwise_twins() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let kb = crate::kb::load_dir(&dir).expect("the shipped knowledge base loads");
        let twins = twins(&kb);
        assert_eq!(twins, twins_pairwise(&kb));
        // The shipped base has twins by name, and entries with `related`.
        assert!(twins.iter().any(|t| !t.is_empty()), "{twins:?}");
        assert!(kb.entries().iter().any(|e| !e.related.is_empty()));
    }
}
