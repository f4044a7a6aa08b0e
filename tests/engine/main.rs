//! The conversation engine through its public API, on a scripted matcher
//! (so decisions are fixed) and a real SQLite store: transitions, ticket
//! fields, duplicates, restarts, staff actions, redaction and the report.
//!
//! This file holds what the tests share: the fixture knowledge base, the
//! scripted matcher, the `Harness` and the reply helpers. The tests are in
//! the topic modules declared below.

mod answers;
mod durability;
mod fields;
mod reporting;
mod staff;
mod timing;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use triage::engine::{
    Action, ConversationKey, Engine, Event, FieldPrompt, Input, ManualClock, Matching, Output,
    Phase, Reply, StaffAction, StaffInput, TicketStatus, UserId, FIELD_LIMIT,
};
use triage::kb::{CheckId, EntryId, KnowledgeBase, ProductId};
use triage::matcher::{Candidate, Decision, Match, Query};
use triage::report;
use triage::tickets::{SqliteStore, Store, Ticket};

const DEMO: &str = r#"
product:
  id: demo
  name: Demo Widget
  ticket_fields:
    - id: app_key
      label: App key
      question: "What is your app key?"
      example: "app_123"
      validate:
        prefix: "app_"
        reason: "an app key starts with `app_`"
    - id: page_url
      label: Page URL
      question: "Which page?"
      example: "https://example.com"
      validate:
        format: url
        reason: "a full URL, e.g. https://example.com"
    - id: when
      label: When
      question: "When did it happen, with timezone?"
      example: "14:05 CET"
      validate:
        format: timestamp_tz
        reason: "please include a timezone, e.g. 14:05 CET"
    - id: steps
      label: Steps
      question: "What did you do?"
      example: "open the page, click call"
      validate:
        min_len: 10
        reason: "at least a sentence, please"
entries:
  - id: demo/no-audio
    title: No audio in calls
    symptoms: [no audio]
    checks:
      - id: mic
        cause: The microphone is blocked
        verify: Look at the address bar
        fix: Allow the microphone
      - id: speaker
        cause: The speaker is muted
        verify: Check the volume
        fix: Unmute
      - id: proxy
        cause: A corporate proxy blocks media
        verify: Try another network
        fix: Allow the TURN ports
  - id: demo/blank
    title: The widget is blank
    symptoms: [blank widget]
    checks:
      - id: key
        cause: Wrong key
        verify: Compare keys
        fix: Paste the right key
  - id: demo/bot-silent
    title: The bot never replies
    symptoms: [bot silent]
    escalate_only: true
    note: The vendor gives no self-service check for this.
"#;

const OTHER: &str = r#"
product:
  id: other
  name: Other Thing
  ticket_fields:
    - id: details
      label: Details
      question: "Tell us more"
      example: "it broke"
entries:
  - id: other/broken
    title: It is broken
    symptoms: [broken]
    checks:
      - id: restart
        cause: Needs a restart
        verify: Restart
        fix: Restart it
"#;

fn kb() -> KnowledgeBase {
    KnowledgeBase::from_sources(&[
        (PathBuf::from("demo.yaml"), DEMO.to_owned()),
        (PathBuf::from("other.yaml"), OTHER.to_owned()),
    ])
    .expect("fixture knowledge base is valid")
}

/// A matcher with fixed answers: the first rule whose words appear in the
/// question (and whose product fits) decides.
struct Script {
    kb: KnowledgeBase,
}

fn cand(id: &str) -> Candidate {
    Candidate {
        id: EntryId::new(id),
        title: id.to_owned(),
        score: 0.5,
    }
}

impl Matching for Script {
    fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    fn find(&self, q: &Query<'_>) -> Match {
        let t = q.text.to_lowercase();
        let product = q.product.map(|p| p.as_str().to_owned());
        let m = |decision, ids: &[&str], check: Option<&str>| Match {
            decision,
            product: None,
            results: ids.iter().map(|i| cand(i)).collect(),
            check: check.map(CheckId::new),
        };
        if t.contains("proxy") {
            m(
                Decision::Answer,
                &["demo/no-audio", "demo/blank"],
                Some("proxy"),
            )
        } else if t.contains("audio") {
            m(Decision::Answer, &["demo/no-audio", "demo/blank"], None)
        } else if t.contains("bot") {
            m(Decision::Answer, &["demo/bot-silent"], None)
        } else if t.contains("weird") {
            m(Decision::Suggest, &["demo/blank", "demo/no-audio"], None)
        } else if t.contains("vague") && product.as_deref() == Some("demo") {
            m(Decision::Answer, &["demo/blank"], None)
        } else {
            m(Decision::None, &[], None)
        }
    }
}

/// One engine on one database, with a clock and a conversation to drive.
struct Harness {
    engine: Engine,
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    key: ConversationKey,
    next: u32,
}

impl Harness {
    fn new() -> Self {
        Self::with_store(Arc::new(SqliteStore::in_memory().unwrap()))
    }

    fn on_disk(path: &Path) -> Self {
        Self::with_store(Arc::new(SqliteStore::open(path).unwrap()))
    }

    fn with_store(store: Arc<SqliteStore>) -> Self {
        let clock = Arc::new(ManualClock::new(datetime!(2026-03-02 10:00 UTC)));
        let engine = Engine::new(Arc::new(Script { kb: kb() }), store.clone(), clock.clone());
        Self {
            engine,
            clock,
            store,
            key: ConversationKey::new("chan-1", "alice"),
            next: 0,
        }
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("in-{}", self.next)
    }

    fn say(&mut self, text: &str) -> Reply {
        let id = self.id();
        self.engine
            .handle(&Input::say(id, self.key.clone(), text))
            .unwrap()
    }

    fn act(&mut self, action: Action) -> Reply {
        let id = self.id();
        self.engine
            .handle(&Input::act(id, self.key.clone(), action))
            .unwrap()
    }

    fn phase(&self) -> Phase {
        self.engine.resume(&self.key).unwrap().phase
    }

    fn tickets(&self) -> Vec<Ticket> {
        self.store.tickets(None).unwrap()
    }

    /// Asks the audio question and escalates: now at field 1 of 4.
    fn escalate_audio(&mut self) {
        self.say("no audio at all");
        let r = self.say("escalate");
        assert_eq!(prompt(&r).k, 1);
    }

    fn fill_valid(&mut self) -> Reply {
        self.say("app_abc123");
        self.say("https://shop.example.com/contact");
        self.say("2026-03-02 09:40 CET");
        self.say("I open the page, click call, and hear nothing at all")
    }
}

fn prompt(r: &Reply) -> &FieldPrompt {
    r.outputs
        .iter()
        .find_map(|o| match o {
            Output::FieldPrompt(p) => Some(p),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field prompt in {:#?}", r.outputs))
}

fn checklist(r: &Reply) -> &triage::engine::Checklist {
    r.outputs
        .iter()
        .find_map(|o| match o {
            Output::Checklist(c) => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no checklist in {:#?}", r.outputs))
}

fn choices(r: &Reply) -> Vec<Action> {
    r.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Choices(c) => Some(c.options.iter().map(|o| o.action.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

fn notices(r: &Reply) -> String {
    r.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Notice { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn filed(r: &Reply) -> bool {
    r.outputs
        .iter()
        .any(|o| matches!(o, Output::TicketFiled(_)))
}
