//! The transitions: what each input does in each state, and what is written
//! on the way. Runs inside one store transaction per input.
//!
//! `ask`: a question is matched and answered (checklist, choices, no match).
//! `feedback`: typed keywords and what solved, still broken, more and tried do.
//! `fields`: escalation, ticket fields one at a time, filing, the ticket card.
//! `staff`: claim, close and reopen by staff.

mod ask;
mod feedback;
mod fields;
mod staff;

use ask::*;
pub(super) use feedback::keyword;
pub(super) use fields::card;
use fields::*;
use staff::staff_step;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::redact::{redact, Redacted};
use super::{
    Action, Clock, Engine, EngineError, Event, Input, Output, Phase, Reply, Resume, StaffInput,
};
use crate::kb::{CheckId, EntryId, FieldId, KnowledgeBase, ProductId};
use crate::tickets::{
    Applied, ConversationKey, InputMeta, NewEvent, QueryId, Store, StoreError, Ticket, Tx, UserId,
};

/// A conversation's state, stored as JSON between inputs. Entry, check and
/// field ids refer to the knowledge base; a reload that removes them is
/// handled where they are looked up.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum State {
    #[default]
    Idle,
    ChoosingProduct {
        asked: Option<Asked>,
        then: Then,
        /// The products offered where the choice was shown (`None`: all),
        /// so showing it again offers the same ones.
        #[serde(default)]
        offered: Option<Vec<ProductId>>,
    },
    ChoosingEntry {
        asked: Asked,
        options: Vec<EntryId>,
    },
    Answered {
        asked: Option<Asked>,
        entry: EntryId,
        /// Check ids in the order shown, so "tried 1,3" means what the user saw.
        order: Vec<CheckId>,
        tried: Vec<CheckId>,
    },
    NoMatch {
        asked: Asked,
        product: ProductId,
    },
    Collecting(Draft),
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::ChoosingProduct { .. } => "choosing_product",
            State::ChoosingEntry { .. } => "choosing_entry",
            State::Answered { .. } => "answered",
            State::NoMatch { .. } => "no_match",
            State::Collecting(_) => "collecting",
        }
    }
}

/// The question a conversation is about.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Asked {
    query: QueryId,
    /// Redacted.
    text: String,
    /// Every candidate, best first (for "other matches").
    results: Vec<EntryId>,
    /// The check the words point at.
    check: Option<CheckId>,
    /// The product, once known.
    product: Option<ProductId>,
}

/// What picking a product leads to.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Then {
    /// Match the question again within the product.
    Rematch,
    /// Start collecting that product's ticket fields.
    Escalate,
}

/// A ticket being written.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Draft {
    product: ProductId,
    entry: Option<EntryId>,
    question: Option<String>,
    query: Option<QueryId>,
    tried: Vec<CheckId>,
    /// Answers so far, by field id (kept when going back).
    answers: Vec<(FieldId, String)>,
    /// The index of the field being asked.
    at: usize,
    opened_by: UserId,
}

impl Draft {
    fn answer(&self, id: &FieldId) -> Option<&str> {
        self.answers
            .iter()
            .find(|(f, _)| f == id)
            .map(|(_, v)| v.as_str())
    }

    fn set(&mut self, id: &FieldId, value: String) {
        match self.answers.iter_mut().find(|(f, _)| f == id) {
            Some(slot) => slot.1 = value,
            None => self.answers.push((id.clone(), value)),
        }
    }
}

/// One transition in progress.
struct Step<'a> {
    kb: &'a KnowledgeBase,
    engine: &'a Engine,
    tx: &'a mut dyn Tx,
    input: &'a Input,
    now: OffsetDateTime,
    out: Vec<Output>,
}

pub(super) fn handle(engine: &Engine, input: &Input) -> Result<Reply, EngineError> {
    let now = engine.clock.now();
    let meta = InputMeta {
        id: &input.id,
        key: Some(&input.key),
        author: &input.author,
        at: now,
        origin: input.origin.as_ref(),
    };
    let kb = engine.kb();
    let mut run = |tx: &mut dyn Tx| -> Result<String, StoreError> {
        let (state, mut out) = load_state(tx, &input.key)?;
        let mut step = Step {
            kb,
            engine,
            tx,
            input,
            now,
            out: Vec::new(),
        };
        let next = step.run(state)?;
        let state_json = serde_json::to_string(&next)?;
        step.tx
            .save_conversation(&input.key, &state_json, next.name(), now)?;
        out.append(&mut step.out);
        Ok(serde_json::to_string(&out)?)
    };
    reply(engine.store.apply(&meta, &mut run)?)
}

pub(super) fn staff(
    store: &dyn Store,
    clock: &dyn Clock,
    policy: &crate::engine::Policy,
    input: &StaffInput,
) -> Result<Reply, EngineError> {
    let now = clock.now();
    let meta = InputMeta {
        id: &input.id,
        key: None,
        author: &input.staff,
        at: now,
        origin: None,
    };
    let mut run = |tx: &mut dyn Tx| -> Result<String, StoreError> {
        let out = staff_step(tx, policy, input, now)?;
        Ok(serde_json::to_string(&out)?)
    };
    reply(store.apply(&meta, &mut run)?)
}

pub(super) fn resume(engine: &Engine, key: &ConversationKey) -> Result<Resume, EngineError> {
    let stored = engine.store.conversation(key)?;
    let inputs_seen = stored.as_ref().map_or(0, |s| s.inputs_seen);
    let state: State = match stored {
        Some(s) => serde_json::from_str(&s.state).unwrap_or_else(|e| {
            tracing::warn!(conv = %key, error = %e, "unreadable conversation state; treating it as idle");
            State::Idle
        }),
        None => State::Idle,
    };
    let kb = engine.kb();
    let mut outputs = Vec::new();
    let phase = match &state {
        State::Idle => Phase::Idle,
        State::ChoosingProduct { offered, .. } => {
            outputs.push(product_choices(kb, offered.as_deref()));
            Phase::ChoosingProduct
        }
        State::ChoosingEntry { options, .. } => {
            outputs.push(entry_choices(kb, "Which of these is it?", options));
            Phase::ChoosingEntry
        }
        State::Answered { entry, asked, .. } => {
            if let Some(e) = kb.entry(entry.as_str()) {
                outputs.push(Output::Text {
                    text: format!("You were looking at: {}.", e.title),
                });
                outputs.push(if e.checks.is_empty() || e.escalate_only {
                    escalation_offer("Shall I open a ticket with support?")
                } else {
                    feedback_choices(e, asked.as_ref())
                });
            }
            Phase::Answered {
                entry: entry.clone(),
            }
        }
        State::NoMatch { .. } => {
            outputs.push(escalation_offer("Shall I open a ticket with support?"));
            Phase::NoMatch
        }
        State::Collecting(d) => {
            let n = kb
                .product(d.product.as_str())
                .map_or(0, |p| p.ticket_fields.len());
            if let Some(p) = kb.product(d.product.as_str()) {
                outputs.push(Output::Text {
                    text: format!(
                        "Resuming your ticket for {} at field {} of {} ({} answered).",
                        p.name,
                        d.at + 1,
                        n,
                        d.at
                    ),
                });
                if let Some(fp) = prompt(p, d, None) {
                    outputs.push(Output::FieldPrompt(fp));
                }
            }
            Phase::Collecting {
                product: d.product.clone(),
                k: d.at + 1,
                n,
            }
        }
    };
    Ok(Resume {
        phase,
        inputs_seen,
        outputs,
    })
}

pub(super) fn reply_of(applied: Applied) -> Result<Reply, EngineError> {
    reply(applied)
}

fn reply(applied: Applied) -> Result<Reply, EngineError> {
    let (json, duplicate) = match applied {
        Applied::Fresh(s) => (s, false),
        Applied::Duplicate {
            delivered: true, ..
        } => {
            return Ok(Reply {
                outputs: Vec::new(),
                duplicate: true,
                undelivered: false,
            })
        }
        Applied::Duplicate { reply, .. } => (reply, true),
    };
    let outputs = serde_json::from_str(&json).map_err(StoreError::Encode)?;
    Ok(Reply {
        outputs,
        duplicate,
        undelivered: true,
    })
}

/// Reads the state; an unreadable one (e.g. written by a newer triage) is
/// reset with an apology rather than blocking the conversation forever.
fn load_state(tx: &mut dyn Tx, key: &ConversationKey) -> Result<(State, Vec<Output>), StoreError> {
    let Some(stored) = tx.conversation(key)? else {
        return Ok((State::Idle, Vec::new()));
    };
    match serde_json::from_str(&stored.state) {
        Ok(s) => Ok((s, Vec::new())),
        Err(e) => {
            tracing::warn!(conv = %key, error = %e, "unreadable conversation state; starting over");
            Ok((
                State::Idle,
                vec![Output::Notice {
                    text: "I lost track of where we were; let's start again.".into(),
                }],
            ))
        }
    }
}

impl Step<'_> {
    fn run(&mut self, state: State) -> Result<State, StoreError> {
        match &self.input.event {
            Event::Ask { text } => {
                let text = text.clone();
                self.set_aside(&state)?;
                self.ask(&text)
            }
            Event::Act(a) => self.act(state, a.clone()),
            Event::Say { text } => {
                let text = text.clone();
                self.say(state, &text)
            }
        }
    }

    fn say(&mut self, state: State, text: &str) -> Result<State, StoreError> {
        if let State::Collecting(draft) = state {
            return match keyword(text) {
                Some(a @ (Action::Cancel | Action::Back)) => self.act(State::Collecting(draft), a),
                _ => self.answer_field(draft, text),
            };
        }
        if let Some(a) = keyword(text) {
            return self.act(state, a);
        }
        let pick = text.trim().parse::<usize>().ok().filter(|&n| n >= 1);
        match (&state, pick) {
            (State::ChoosingEntry { options, .. }, Some(n)) if n <= options.len() => {
                let entry = options[n - 1].clone();
                return self.act(state, Action::PickEntry { entry });
            }
            (State::ChoosingProduct { .. }, _) => {
                let products = offered_products(self.kb, self.input.offered.as_deref());
                let t = text.trim();
                let chosen = match pick {
                    Some(n) => products.get(n - 1),
                    None => products.iter().find(|p| {
                        p.id.as_str().eq_ignore_ascii_case(t) || p.name.eq_ignore_ascii_case(t)
                    }),
                };
                if let Some(p) = chosen {
                    let product = p.id.clone();
                    return self.act(state, Action::PickProduct { product });
                }
            }
            _ => {}
        }
        self.set_aside(&state)?;
        self.ask(text)
    }

    /// A new question replaces whatever was pending; an unfinished ticket
    /// is worth a word, since its answers are dropped.
    fn set_aside(&mut self, state: &State) -> Result<(), StoreError> {
        if let State::Collecting(d) = state {
            self.event(
                "escalation_abandoned",
                None,
                serde_json::json!({"answered": d.at}),
            )?;
            self.notice("I set aside the unfinished ticket; say `escalate` to start one again.");
        }
        Ok(())
    }
}

impl Step<'_> {
    /// Redacts and tells the user what was removed and why.
    fn redacted(&mut self, raw: &str) -> Redacted {
        let red = redact(raw);
        if !red.is_clean() {
            let what: Vec<&str> = red.found.iter().map(|k| k.describe()).collect();
            self.notice(&format!(
                "I removed {} from your message before saving it: never post secrets in a support chat. \
                 If it was real, rotate it now.",
                join_and(&what)
            ));
        }
        red
    }

    fn event(
        &mut self,
        kind: &str,
        ticket: Option<&Ticket>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.tx.log_event(&NewEvent {
            at: self.now,
            key: Some(self.input.key.clone()),
            author: self.input.author.clone(),
            ticket: ticket.map(|t| t.id),
            kind: kind.to_owned(),
            detail,
        })
    }

    fn text(&mut self, s: &str) {
        self.out.push(Output::Text { text: s.to_owned() });
    }

    fn notice(&mut self, s: &str) {
        self.out.push(Output::Notice { text: s.to_owned() });
    }
}

fn asked_of(state: &State) -> Option<Asked> {
    match state {
        State::Idle | State::Collecting(_) => None,
        State::ChoosingProduct { asked, .. } | State::Answered { asked, .. } => asked.clone(),
        State::ChoosingEntry { asked, .. } | State::NoMatch { asked, .. } => Some(asked.clone()),
    }
}

fn notice(text: String) -> Vec<Output> {
    vec![Output::Notice { text }]
}

fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}
