//! `Counted`: a matcher that counts its decisions (`answer`, `suggest`,
//! `none`) into the `decisions_total` metric and otherwise is the matcher
//! it wraps.

use std::sync::Arc;

use crate::engine::Matching;
use crate::kb::KnowledgeBase;
use crate::matcher::{Decision, Match, Query};

/// A matcher whose decisions are counted.
pub struct Counted {
    inner: Arc<dyn Matching>,
}

impl Counted {
    pub fn new(inner: Arc<dyn Matching>) -> Self {
        Self { inner }
    }
}

impl Matching for Counted {
    fn kb(&self) -> &KnowledgeBase {
        self.inner.kb()
    }

    fn find(&self, q: &Query<'_>) -> Match {
        let m = self.inner.find(q);
        let label = match m.decision {
            Decision::Answer => "answer",
            Decision::Suggest => "suggest",
            Decision::None => "none",
        };
        super::metrics().decisions.with_label_values(&[label]).inc();
        m
    }
}
