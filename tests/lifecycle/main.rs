//! The ticket lifecycle through the engine's public API, with a manual
//! clock and a real SQLite store: stale reminders and auto-close, close
//! requests, hold, the survey, support hours, and timers that survive a
//! restart and fire once even with two pollers on one database.
//!
//! This file holds what the tests share: the fixture knowledge base, the
//! policy, the engine harness `H` on a manual clock, the helpers that read
//! its outputs, and Berlin's support hours. The tests are in the topic
//! modules declared below.

// The built binary as a terminal user runs it, shared with tests/chat.rs.
#[path = "../support/cli.rs"]
mod cli;
// Matches nothing: tickets come from direct escalation.
#[path = "../support/no_match.rs"]
mod no_match;

mod binary;
mod restarts;
mod stale_and_close;
mod support_hours;
mod survey;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use triage::engine::hours::{HoursFile, SupportHours};
use triage::engine::{
    Action, ConversationKey, Engine, Fired, Input, ManualClock, NoteKind, Output, Policy, Reply,
    StaffAction, StaffInput, TicketAction, TicketId, TicketInput, TicketNote, TicketStatus, UserId,
};
use triage::kb::{KnowledgeBase, ProductId};
use triage::tickets::{SqliteStore, Store, TimerKind, TimerState};

const KB: &str = r#"
product:
  id: demo
  name: Demo Widget
  ticket_fields:
    - id: details
      label: Details
      question: "Tell us more"
      example: "it broke"
entries:
  - id: demo/broken
    title: It is broken
    symptoms: [broken]
    checks:
      - id: restart
        cause: Needs a restart
        verify: Restart
        fix: Restart it
"#;

fn policy() -> Policy {
    Policy {
        stale_after: Some(Duration::hours(48)),
        auto_close_after: Some(Duration::hours(24)),
        close_request_timeout: Duration::hours(24),
        hours: None,
    }
}

struct H {
    engine: Engine,
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    next: u32,
}

const START: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

impl H {
    fn new(policy: Policy) -> Self {
        Self::with(Arc::new(SqliteStore::in_memory().unwrap()), policy, START)
    }

    fn with(store: Arc<SqliteStore>, policy: Policy, at: OffsetDateTime) -> Self {
        let clock = Arc::new(ManualClock::new(at));
        let kb =
            KnowledgeBase::from_sources(&[(PathBuf::from("demo.yaml"), KB.to_owned())]).unwrap();
        let engine = Engine::new(
            Arc::new(no_match::NoMatch(Arc::new(kb))),
            store.clone(),
            clock.clone(),
        )
        .with_policy(policy);
        Self {
            engine,
            clock,
            store,
            next: 0,
        }
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("in-{}", self.next)
    }

    /// Alice escalates in the demo channel and files a ticket.
    fn file(&mut self) -> (TicketId, Reply) {
        let key = ConversationKey::new("chan-1", "alice");
        let id = self.id();
        self.engine
            .handle(
                &Input::act(id, key.clone(), Action::Escalate)
                    .in_product(Some(ProductId::new("demo"))),
            )
            .unwrap();
        let id = self.id();
        let r = self
            .engine
            .handle(&Input::say(id, key, "it broke when I clicked call"))
            .unwrap();
        let t = r
            .outputs
            .iter()
            .find_map(|o| match o {
                Output::TicketFiled(c) => Some(c.id),
                _ => None,
            })
            .expect("a ticket is filed");
        (t, r)
    }

    fn input(&mut self, ticket: TicketId, who: &str, staff: bool, action: TicketAction) -> Reply {
        let id = self.id();
        self.engine
            .ticket_input(&TicketInput {
                id: id.as_str().into(),
                ticket,
                author: UserId::new(who),
                staff,
                action,
                reason: None,
            })
            .unwrap()
    }

    fn customer(&mut self, t: TicketId, a: TicketAction) -> Reply {
        self.input(t, "alice", false, a)
    }

    fn staff(&mut self, t: TicketId, a: TicketAction) -> Reply {
        self.input(t, "sam", true, a)
    }

    /// Moves the clock and fires what is due, marking it posted.
    fn advance(&mut self, by: Duration) -> Vec<Fired> {
        self.clock.advance(by);
        let fired = self.engine.fire_due("test", 100).unwrap();
        for f in &fired {
            self.engine.mark_delivered(&f.id).unwrap();
        }
        fired
    }

    fn status(&self, t: TicketId) -> TicketStatus {
        self.store.ticket(t).unwrap().unwrap().status
    }
}

fn notes(outs: &[Output]) -> Vec<&TicketNote> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Ticket(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn kinds(fired: &[Fired]) -> Vec<NoteKind> {
    fired
        .iter()
        .flat_map(|f| notes(&f.outputs))
        .map(|n| n.kind)
        .collect()
}

fn closed_reason(fired: &[Fired]) -> Option<String> {
    fired.iter().flat_map(|f| &f.outputs).find_map(|o| match o {
        Output::TicketUpdated(u) if u.status == TicketStatus::Closed => u.reason.clone(),
        _ => None,
    })
}

fn notice(r: &Reply) -> String {
    r.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Notice { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn berlin_hours() -> SupportHours {
    let mut f = HoursFile {
        timezone: "Europe/Berlin".into(),
        hold_staff_ping: true,
        ..Default::default()
    };
    for d in ["mon", "tue", "wed", "thu", "fri"] {
        f.weekly.insert(d.into(), vec!["09:00-17:00".into()]);
    }
    SupportHours::parse(&f).unwrap()
}
