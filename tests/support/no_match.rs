//! A matcher that never matches, for tests about where things go rather
//! than what is answered. It needs nothing but the library, so test crates
//! without the fake Discord include it directly
//! (`#[path = "../support/no_match.rs"] mod no_match;`), and
//! `bot_fixture` re-exports it.

use std::sync::Arc;

use triage::engine::Matching;
use triage::kb::KnowledgeBase;
use triage::matcher::{Decision, Match, Query};

/// Never matches: every question gets `none`.
pub struct NoMatch(pub Arc<KnowledgeBase>);

impl Matching for NoMatch {
    fn kb(&self) -> &KnowledgeBase {
        &self.0
    }

    fn find(&self, _: &Query<'_>) -> Match {
        Match {
            decision: Decision::None,
            product: None,
            results: Vec::new(),
            check: None,
        }
    }
}
