//! The transitions: what each input does in each state, and what is written
//! on the way. Runs inside one store transaction per input.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::redact::{redact, Redacted};
use super::{
    Action, CheckItem, Checklist, Choice, Choices, Clock, Engine, EngineError, Event, FieldPrompt,
    GuideLink, Input, Output, Phase, Reply, Resume, StaffAction, StaffInput, TicketCard,
    TicketUpdate, TriedCheck, FIELD_LIMIT,
};
use crate::kb::{CheckId, Entry, EntryId, FieldId, KnowledgeBase, Product, ProductId};
use crate::matcher::{Decision, Query};
use crate::tickets::{
    Applied, ConversationKey, Feedback, FieldValue, InputMeta, LoggedResult, NewEvent, NewQuery,
    NewTicket, QueryId, QueryUpdate, Store, StoreError, Ticket, TicketStatus, Tx, UserId,
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
    policy: &super::Policy,
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
        State::ChoosingProduct { .. } => {
            outputs.push(product_choices(kb));
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
                let products = self.kb.products();
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

    fn ask(&mut self, raw: &str) -> Result<State, StoreError> {
        let red = self.redacted(raw);
        let text = red.text.trim().to_owned();
        if text.is_empty() {
            self.notice("Tell me what goes wrong, in your own words.");
            return Ok(State::Idle);
        }
        let m = self.engine.matcher.find(&Query {
            text: &text,
            product: self.input.product.as_ref(),
        });
        let top = m.results.first().map(|c| c.id.clone());
        let product = m
            .product
            .clone()
            .or_else(|| self.input.product.clone())
            .or_else(|| {
                // Candidates that all belong to one product name it.
                let first = m.results.first()?.id.product();
                (m.decision != Decision::None && m.results.iter().all(|c| c.id.product() == first))
                    .then(|| ProductId::new(first))
            });
        let shown = match m.decision {
            Decision::Answer => top.clone(),
            _ => None,
        };
        let query = self.tx.insert_query(&NewQuery {
            at: self.now,
            key: self.input.key.clone(),
            asked_by: self.input.author.clone(),
            product: product.clone(),
            text: text.clone(),
            decision: m.decision,
            results: m
                .results
                .iter()
                .map(|c| LoggedResult {
                    id: c.id.clone(),
                    score: c.score,
                })
                .collect(),
            check: m.check.clone(),
            entry: shown.clone(),
        })?;
        self.event(
            "asked",
            None,
            serde_json::json!({"query": query.0, "decision": m.decision, "top": top}),
        )?;
        let asked = Asked {
            query,
            text,
            results: m.results.iter().map(|c| c.id.clone()).collect(),
            check: m.check.clone(),
            product: product.clone(),
        };
        match (m.decision, top) {
            (Decision::Answer, Some(entry)) => Ok(self.show_entry(Some(asked), &entry, Vec::new())),
            (Decision::Suggest, Some(_)) => {
                let options: Vec<EntryId> = asked.results.iter().take(5).cloned().collect();
                self.out.push(entry_choices(
                    self.kb,
                    "A few entries could fit. Which is it?",
                    &options,
                ));
                Ok(State::ChoosingEntry { asked, options })
            }
            // Nothing to match in "hello": greet, and wait for the question.
            _ if super::greeting::only_greeting(self.kb, &asked.text) => {
                self.text(super::greeting::REPLY);
                Ok(State::Idle)
            }
            _ => {
                self.text("I couldn't match that to a problem I know.");
                self.no_match(asked, product)
            }
        }
    }

    /// Nothing matched: offer escalation, asking the product first if unknown.
    fn no_match(&mut self, asked: Asked, product: Option<ProductId>) -> Result<State, StoreError> {
        match product.filter(|p| self.kb.product(p.as_str()).is_some()) {
            Some(product) => {
                self.out.push(escalation_offer(
                    "Try rephrasing with the exact error you see, or open a ticket with support.",
                ));
                Ok(State::NoMatch { asked, product })
            }
            None => {
                self.out.push(product_choices(self.kb));
                Ok(State::ChoosingProduct {
                    asked: Some(asked),
                    then: Then::Rematch,
                })
            }
        }
    }

    fn show_entry(&mut self, asked: Option<Asked>, id: &EntryId, tried: Vec<CheckId>) -> State {
        let Some(entry) = self.kb.entry(id.as_str()) else {
            self.notice("That entry is no longer in the knowledge base.");
            return State::Idle;
        };
        let pin = asked.as_ref().and_then(|a| {
            // The pinpointed check belongs to the top result only.
            (a.results.first() == Some(id))
                .then_some(a.check.as_ref())
                .flatten()
        });
        let order = check_order(entry, pin);
        self.out.push(Output::Checklist(checklist(
            self.kb, entry, &order, pin, &tried,
        )));
        if entry.checks.is_empty() || entry.escalate_only {
            self.out.push(escalation_offer(
                "There is no self-service check for this one. Shall I open a ticket with support?",
            ));
        } else {
            self.out.push(feedback_choices(entry, asked.as_ref()));
        }
        State::Answered {
            asked,
            entry: id.clone(),
            order,
            tried,
        }
    }

    fn act(&mut self, state: State, action: Action) -> Result<State, StoreError> {
        match (state, action) {
            (State::Collecting(d), Action::Cancel) => {
                self.event(
                    "escalation_cancelled",
                    None,
                    serde_json::json!({"answered": d.at}),
                )?;
                self.text("Escalation cancelled; nothing was filed.");
                Ok(State::Idle)
            }
            (State::Collecting(mut d), Action::Back) => {
                let Some(p) = self.kb.product(d.product.as_str()).cloned() else {
                    return Ok(self.product_gone(&d));
                };
                if d.at == 0 {
                    self.notice("This is the first question.");
                } else {
                    d.at -= 1;
                }
                self.ask_field(&p, &d, None);
                Ok(State::Collecting(d))
            }
            (State::Collecting(d), Action::Solved) => {
                if let Some(q) = d.query {
                    self.feedback(q, Feedback::Solved)?;
                }
                self.text("Glad it's sorted. I dropped the unfinished ticket.");
                Ok(State::Idle)
            }
            (State::Collecting(d), _) => {
                self.notice(
                    "We're in the middle of your ticket: answer the question, or `cancel`.",
                );
                if let Some(p) = self.kb.product(d.product.as_str()).cloned() {
                    self.ask_field(&p, &d, None);
                }
                Ok(State::Collecting(d))
            }

            (State::Idle, Action::Escalate) => match self.input.product.clone() {
                Some(p) if self.kb.product(p.as_str()).is_some() => {
                    self.start_escalation(p, None, None, Vec::new())
                }
                _ => {
                    self.out.push(product_choices(self.kb));
                    Ok(State::ChoosingProduct {
                        asked: None,
                        then: Then::Escalate,
                    })
                }
            },
            (State::Idle, Action::Cancel) => {
                self.notice("There is nothing to cancel.");
                Ok(State::Idle)
            }
            (State::Idle, Action::PickEntry { entry }) => {
                Ok(self.show_entry(None, &entry, Vec::new()))
            }
            (State::Idle, _) => {
                self.notice("There is no open question right now; ask me one.");
                Ok(State::Idle)
            }

            (state, Action::Cancel) => {
                self.text("OK, dropped.");
                drop(state);
                Ok(State::Idle)
            }
            (state, Action::Back) => {
                self.notice("There is nothing to go back to.");
                Ok(state)
            }

            (state, Action::Solved) => {
                if let Some(a) = asked_of(&state) {
                    self.feedback(a.query, Feedback::Solved)?;
                }
                self.text("Glad that fixed it!");
                Ok(State::Idle)
            }

            (
                State::Answered {
                    asked,
                    entry,
                    tried,
                    ..
                },
                Action::Escalate,
            ) => {
                if let Some(a) = &asked {
                    self.feedback(a.query, Feedback::StillBroken)?;
                }
                let product = ProductId::new(entry.product());
                self.start_escalation(product, asked.as_ref(), Some(entry), tried)
            }
            (State::ChoosingEntry { asked, options }, Action::Escalate) => {
                self.feedback(asked.query, Feedback::StillBroken)?;
                match asked.product.clone() {
                    Some(p) if self.kb.product(p.as_str()).is_some() => {
                        self.start_escalation(p, Some(&asked), None, Vec::new())
                    }
                    _ => {
                        drop(options);
                        self.out.push(product_choices(self.kb));
                        Ok(State::ChoosingProduct {
                            asked: Some(asked),
                            then: Then::Escalate,
                        })
                    }
                }
            }
            (State::NoMatch { asked, product }, Action::Escalate) => {
                self.start_escalation(product, Some(&asked), None, Vec::new())
            }
            (State::ChoosingProduct { asked, .. }, Action::Escalate) => {
                self.out.push(product_choices(self.kb));
                Ok(State::ChoosingProduct {
                    asked,
                    then: Then::Escalate,
                })
            }

            (State::ChoosingProduct { asked, then }, Action::PickProduct { product }) => {
                if self.kb.product(product.as_str()).is_none() {
                    self.notice(&format!("I don't know a product called `{product}`."));
                    self.out.push(product_choices(self.kb));
                    return Ok(State::ChoosingProduct { asked, then });
                }
                match (then, asked) {
                    (Then::Escalate, asked) => {
                        self.start_escalation(product, asked.as_ref(), None, Vec::new())
                    }
                    (Then::Rematch, None) => self.start_escalation(product, None, None, Vec::new()),
                    (Then::Rematch, Some(asked)) => self.rematch(asked, product),
                }
            }
            (state, Action::PickProduct { .. }) => {
                self.notice("That choice is no longer open.");
                Ok(state)
            }

            (state, Action::PickEntry { entry }) => {
                let asked = asked_of(&state);
                if let Some(a) = &asked {
                    // The log follows the entry now shown; checks tried on
                    // an earlier one stay in the event log.
                    self.tx.update_query(
                        a.query,
                        &QueryUpdate {
                            entry: Some(entry.clone()),
                            tried: Some(Vec::new()),
                            ..Default::default()
                        },
                    )?;
                }
                Ok(self.show_entry(asked, &entry, Vec::new()))
            }

            (state, Action::More) => {
                let asked = asked_of(&state);
                let current = match &state {
                    State::Answered { entry, .. } => Some(entry.clone()),
                    _ => None,
                };
                let Some(asked) = asked else {
                    self.notice("There are no other matches to show.");
                    return Ok(state);
                };
                self.feedback(asked.query, Feedback::More)?;
                let options: Vec<EntryId> = asked
                    .results
                    .iter()
                    .filter(|e| Some(*e) != current.as_ref())
                    .take(5)
                    .cloned()
                    .collect();
                if options.is_empty() {
                    self.notice("There are no other matches for that question.");
                    self.out
                        .push(escalation_offer("Shall I open a ticket with support?"));
                    return Ok(state);
                }
                self.out
                    .push(entry_choices(self.kb, "Other matches:", &options));
                Ok(State::ChoosingEntry { asked, options })
            }

            (
                State::Answered {
                    asked,
                    entry,
                    order,
                    mut tried,
                },
                Action::Tried { checks },
            ) => {
                let bad: Vec<String> = checks
                    .iter()
                    .filter(|&&n| n == 0 || n > order.len())
                    .map(|n| n.to_string())
                    .collect();
                if !bad.is_empty() || checks.is_empty() {
                    self.notice(&format!(
                        "The checklist has checks 1 to {}; say e.g. `tried 1,3`.",
                        order.len()
                    ));
                    return Ok(State::Answered {
                        asked,
                        entry,
                        order,
                        tried,
                    });
                }
                for n in &checks {
                    let id = &order[n - 1];
                    if !tried.contains(id) {
                        tried.push(id.clone());
                    }
                }
                tried.sort_by_key(|id| order.iter().position(|o| o == id));
                if let Some(a) = &asked {
                    self.tx.update_query(
                        a.query,
                        &QueryUpdate {
                            tried: Some(tried.clone()),
                            ..Default::default()
                        },
                    )?;
                }
                self.event(
                    "tried",
                    None,
                    serde_json::json!({"entry": entry, "checks": tried}),
                )?;
                let nums: Vec<String> = checks.iter().map(usize::to_string).collect();
                self.text(&format!("Noted: you already tried {}.", join_and(&nums)));
                let Some(e) = self.kb.entry(entry.as_str()) else {
                    return Ok(State::Idle);
                };
                if tried.len() >= order.len() {
                    self.out.push(escalation_offer(
                        "You've tried every check, so this needs a person. Shall I open a ticket?",
                    ));
                } else {
                    let pin = asked.as_ref().and_then(|a| a.check.as_ref());
                    self.out.push(Output::Checklist(checklist(
                        self.kb, e, &order, pin, &tried,
                    )));
                    self.out.push(feedback_choices(e, asked.as_ref()));
                }
                Ok(State::Answered {
                    asked,
                    entry,
                    order,
                    tried,
                })
            }
            (state, Action::Tried { .. }) => {
                self.notice("There is no checklist to tick off right now.");
                Ok(state)
            }
        }
    }

    fn rematch(&mut self, mut asked: Asked, product: ProductId) -> Result<State, StoreError> {
        let m = self.engine.matcher.find(&Query {
            text: &asked.text,
            product: Some(&product),
        });
        asked.results = m.results.iter().map(|c| c.id.clone()).collect();
        asked.check = m.check.clone();
        asked.product = Some(product.clone());
        let shown = match (m.decision, m.results.first()) {
            (Decision::Answer, Some(c)) => Some(c.id.clone()),
            _ => None,
        };
        self.tx.update_query(
            asked.query,
            &QueryUpdate {
                product: Some(product.clone()),
                entry: shown.clone(),
                ..Default::default()
            },
        )?;
        match (m.decision, shown) {
            (Decision::Answer, Some(entry)) => Ok(self.show_entry(Some(asked), &entry, Vec::new())),
            (Decision::Suggest, _) if !asked.results.is_empty() => {
                let options: Vec<EntryId> = asked.results.iter().take(5).cloned().collect();
                self.out.push(entry_choices(
                    self.kb,
                    "These could fit. Which is it?",
                    &options,
                ));
                Ok(State::ChoosingEntry { asked, options })
            }
            _ => {
                self.out.push(escalation_offer(
                    "Nothing in that product matches either. Shall I open a ticket with support?",
                ));
                Ok(State::NoMatch { asked, product })
            }
        }
    }

    fn start_escalation(
        &mut self,
        product: ProductId,
        asked: Option<&Asked>,
        entry: Option<EntryId>,
        tried: Vec<CheckId>,
    ) -> Result<State, StoreError> {
        let Some(p) = self.kb.product(product.as_str()).cloned() else {
            self.notice(&format!("I don't know a product called `{product}`."));
            return Ok(State::Idle);
        };
        let d = Draft {
            product,
            entry,
            question: asked.map(|a| a.text.clone()),
            query: asked.map(|a| a.query),
            tried,
            answers: Vec::new(),
            at: 0,
            opened_by: self.input.author.clone(),
        };
        self.event(
            "escalation_started",
            None,
            serde_json::json!({"product": d.product, "entry": d.entry}),
        )?;
        self.text(&format!(
            "Let's get this to {} support. I need {} answers; `back` changes the previous one, `cancel` stops.",
            p.name,
            p.ticket_fields.len()
        ));
        self.ask_field(&p, &d, None);
        Ok(State::Collecting(d))
    }

    fn answer_field(&mut self, mut d: Draft, raw: &str) -> Result<State, StoreError> {
        let Some(p) = self.kb.product(d.product.as_str()).cloned() else {
            return Ok(self.product_gone(&d));
        };
        let Some(spec) = p.ticket_fields.get(d.at) else {
            return self.file(d, &p);
        };
        let chars = raw.trim().chars().count();
        if chars > FIELD_LIMIT {
            let why = format!("too long: {chars} characters, the limit is {FIELD_LIMIT}");
            self.refused(&spec.id, &why)?;
            self.ask_field(&p, &d, Some(why));
            return Ok(State::Collecting(d));
        }
        let red = self.redacted(raw);
        let value = red.text.trim().to_owned();
        if let Err(why) = spec.check(&value) {
            self.refused(&spec.id, &why)?;
            self.ask_field(&p, &d, Some(why));
            return Ok(State::Collecting(d));
        }
        self.event(
            "field_answered",
            None,
            serde_json::json!({"field": spec.id, "k": d.at + 1, "redacted": !red.is_clean()}),
        )?;
        d.set(&spec.id, value);
        d.at += 1;
        if d.at >= p.ticket_fields.len() {
            return self.file(d, &p);
        }
        self.ask_field(&p, &d, None);
        Ok(State::Collecting(d))
    }

    fn file(&mut self, d: Draft, p: &Product) -> Result<State, StoreError> {
        let fields: Vec<FieldValue> = p
            .ticket_fields
            .iter()
            .map(|f| FieldValue {
                id: f.id.clone(),
                label: f.label.clone(),
                value: d.answer(&f.id).unwrap_or_default().to_owned(),
            })
            .collect();
        let ticket = self.tx.insert_ticket(
            &NewTicket {
                product: d.product.clone(),
                entry: d.entry.clone(),
                question: d.question.clone(),
                tried: d.tried.clone(),
                fields,
                key: self.input.key.clone(),
                opened_by: d.opened_by.clone(),
                query: d.query,
            },
            self.now,
        )?;
        if let Some(q) = d.query {
            self.tx.update_query(
                q,
                &QueryUpdate {
                    escalated: Some(ticket.id),
                    ..Default::default()
                },
            )?;
        }
        self.event(
            "ticket_filed",
            Some(&ticket),
            serde_json::json!({"product": ticket.product}),
        )?;
        tracing::info!(ticket.id = %ticket.id, product = %ticket.product, "ticket filed");
        self.text(&format!(
            "Ticket {} is filed. Support has everything they need and will reply here.",
            ticket.id
        ));
        self.out.push(Output::TicketFiled(card(self.kb, &ticket)));
        let notes = super::lifecycle::filed(self.tx, &self.engine.lifecycle, &ticket, self.now)?;
        self.out.extend(notes);
        Ok(State::Idle)
    }

    fn product_gone(&mut self, d: &Draft) -> State {
        tracing::warn!(product = %d.product, "product vanished from the knowledge base mid-escalation");
        self.notice(
            "This product is no longer in the knowledge base, so I can't finish the ticket.",
        );
        State::Idle
    }

    fn ask_field(&mut self, p: &Product, d: &Draft, problem: Option<String>) {
        if let Some(fp) = prompt(p, d, problem) {
            self.out.push(Output::FieldPrompt(fp));
        }
    }

    fn refused(&mut self, field: &FieldId, why: &str) -> Result<(), StoreError> {
        self.event(
            "field_refused",
            None,
            serde_json::json!({"field": field, "reason": why}),
        )
    }

    fn feedback(&mut self, q: QueryId, f: Feedback) -> Result<(), StoreError> {
        self.tx.update_query(
            q,
            &QueryUpdate {
                feedback: Some(f),
                ..Default::default()
            },
        )?;
        self.event(
            "feedback",
            None,
            serde_json::json!({"query": q.0, "feedback": f}),
        )
    }

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

fn staff_step(
    tx: &mut dyn Tx,
    policy: &super::Policy,
    input: &StaffInput,
    now: OffsetDateTime,
) -> Result<Vec<Output>, StoreError> {
    let Some(t) = tx.ticket(input.ticket)? else {
        return Ok(vec![Output::Notice {
            text: format!("There is no ticket {}.", input.ticket),
        }]);
    };
    let (status, claimed_by, verb) = match (input.action, t.status) {
        (StaffAction::Claim, TicketStatus::Closed) => {
            return Ok(notice(format!(
                "Ticket {} is closed; reopen it first.",
                t.id
            )));
        }
        (StaffAction::Claim, TicketStatus::Claimed)
            if t.claimed_by.as_ref() == Some(&input.staff) =>
        {
            return Ok(notice(format!("Ticket {} is already yours.", t.id)));
        }
        (StaffAction::Claim, _) => (TicketStatus::Claimed, Some(&input.staff), "claimed"),
        (StaffAction::Close, TicketStatus::Closed) => {
            return Ok(notice(format!("Ticket {} is already closed.", t.id)));
        }
        (StaffAction::Close, _) => (TicketStatus::Closed, None, "closed"),
        (StaffAction::Reopen, TicketStatus::Closed) => (TicketStatus::Open, None, "reopened"),
        (StaffAction::Reopen, _) => {
            return Ok(notice(format!("Ticket {} is not closed.", t.id)));
        }
    };
    // Staff type the reason in a shared channel; it is stored and shown,
    // so it is redacted like anything a customer types.
    let reason = match input.action {
        StaffAction::Close => input
            .reason
            .as_deref()
            .map(|r| redact(r).text.trim().to_owned())
            .filter(|r| !r.is_empty()),
        _ => None,
    };
    tx.set_ticket_status(t.id, status, claimed_by, reason.as_deref(), now)?;
    let key = ConversationKey {
        place: t.place.clone(),
        user: t.customer.clone(),
    };
    tx.log_event(&NewEvent {
        at: now,
        key: Some(key.clone()),
        author: input.staff.clone(),
        ticket: Some(t.id),
        kind: format!("ticket_{verb}"),
        detail: match &reason {
            Some(r) => serde_json::json!({"from": t.status, "to": status, "reason": r}),
            None => serde_json::json!({"from": t.status, "to": status}),
        },
    })?;
    tracing::info!(ticket.id = %t.id, by = %input.staff, "ticket {verb}");
    let after = match status {
        TicketStatus::Closed => super::lifecycle::closed(tx, &t, Some(&input.staff), now)?,
        TicketStatus::Open => {
            super::lifecycle::reopened(tx, policy, &t, now)?;
            Vec::new()
        }
        TicketStatus::Claimed => Vec::new(),
    };
    let mut out = vec![Output::TicketUpdated(TicketUpdate {
        id: t.id,
        status,
        by: input.staff.clone(),
        key,
        text: match &reason {
            Some(r) => format!("Ticket {} {verb} by {}: {r}", t.id, input.staff),
            None => format!("Ticket {} {verb} by {}.", t.id, input.staff),
        },
        reason,
    })];
    out.extend(after);
    Ok(out)
}

fn notice(text: String) -> Vec<Output> {
    vec![Output::Notice { text }]
}

/// The pinpointed check first, then the rest in the entry's order.
fn check_order(entry: &Entry, pin: Option<&CheckId>) -> Vec<CheckId> {
    let pin = pin.filter(|p| entry.checks.iter().any(|c| &c.id == *p));
    pin.into_iter()
        .cloned()
        .chain(
            entry
                .checks
                .iter()
                .map(|c| c.id.clone())
                .filter(|id| Some(id) != pin),
        )
        .collect()
}

impl Checklist {
    /// An entry's whole checklist in the knowledge base's order, with nothing
    /// pinpointed or tried: what `/kb show` displays.
    pub fn of_entry(kb: &KnowledgeBase, e: &Entry) -> Self {
        checklist(kb, e, &check_order(e, None), None, &[])
    }
}

fn checklist(
    kb: &KnowledgeBase,
    e: &Entry,
    order: &[CheckId],
    pin: Option<&CheckId>,
    tried: &[CheckId],
) -> Checklist {
    let product = ProductId::new(e.id.product());
    let checks = order
        .iter()
        .filter_map(|id| e.checks.iter().find(|c| &c.id == id))
        .enumerate()
        .map(|(i, c)| CheckItem {
            number: i + 1,
            id: c.id.clone(),
            cause: c.cause.clone(),
            verify: c.verify.clone(),
            fix: c.fix.clone(),
            pinpointed: pin == Some(&c.id),
            tried: tried.contains(&c.id),
        })
        .collect();
    Checklist {
        entry: e.id.clone(),
        title: e.title.clone(),
        product_name: kb
            .product(product.as_str())
            .map_or_else(|| product.to_string(), |p| p.name.clone()),
        product,
        note: e.note.clone(),
        checks,
        escalate_only: e.escalate_only || e.checks.is_empty(),
        guide: e.guide.as_ref().map(|g| GuideLink {
            title: g.title.clone(),
            url: g.url.clone(),
        }),
    }
}

fn feedback_choices(_e: &Entry, asked: Option<&Asked>) -> Output {
    let mut options = vec![
        Choice {
            label: "Solved".into(),
            action: Action::Solved,
        },
        Choice {
            label: "Still broken".into(),
            action: Action::Escalate,
        },
    ];
    if asked.is_some_and(|a| a.results.len() > 1) {
        options.push(Choice {
            label: "Other matches".into(),
            action: Action::More,
        });
    }
    Output::Choices(Choices {
        prompt: "Did that fix it? Tell me which checks you already tried, too.".into(),
        options,
    })
}

fn escalation_offer(prompt: &str) -> Output {
    Output::Choices(Choices {
        prompt: prompt.to_owned(),
        options: vec![
            Choice {
                label: "Open a ticket".into(),
                action: Action::Escalate,
            },
            Choice {
                label: "Cancel".into(),
                action: Action::Cancel,
            },
        ],
    })
}

fn entry_choices(kb: &KnowledgeBase, prompt: &str, options: &[EntryId]) -> Output {
    let mut opts: Vec<Choice> = options
        .iter()
        .map(|id| Choice {
            label: kb
                .entry(id.as_str())
                .map_or_else(|| id.to_string(), |e| e.title.clone()),
            action: Action::PickEntry { entry: id.clone() },
        })
        .collect();
    opts.push(Choice {
        label: "None of these: open a ticket".into(),
        action: Action::Escalate,
    });
    Output::Choices(Choices {
        prompt: prompt.to_owned(),
        options: opts,
    })
}

fn product_choices(kb: &KnowledgeBase) -> Output {
    Output::Choices(Choices {
        prompt: "Which product is this about?".into(),
        options: kb
            .products()
            .iter()
            .map(|p| Choice {
                label: p.name.clone(),
                action: Action::PickProduct {
                    product: p.id.clone(),
                },
            })
            .collect(),
    })
}

fn prompt(p: &Product, d: &Draft, problem: Option<String>) -> Option<FieldPrompt> {
    let spec = p.ticket_fields.get(d.at)?;
    Some(FieldPrompt {
        k: d.at + 1,
        n: p.ticket_fields.len(),
        product: p.id.clone(),
        field: spec.id.clone(),
        label: spec.label.clone(),
        question: spec.question.clone(),
        example: spec.example.clone(),
        problem,
        previous: d.answer(&spec.id).map(str::to_owned),
    })
}

pub(super) fn card(kb: &KnowledgeBase, t: &Ticket) -> TicketCard {
    let entry = t.entry.as_ref().and_then(|e| kb.entry(e.as_str()));
    TicketCard {
        id: t.id,
        status: t.status,
        product_name: kb
            .product(t.product.as_str())
            .map_or_else(|| t.product.to_string(), |p| p.name.clone()),
        product: t.product.clone(),
        entry: t.entry.clone(),
        entry_title: entry.map(|e| e.title.clone()),
        question: t.question.clone(),
        tried: t
            .tried
            .iter()
            .map(|id| TriedCheck {
                id: id.clone(),
                cause: entry
                    .and_then(|e| e.checks.iter().find(|c| &c.id == id))
                    .map_or_else(|| id.to_string(), |c| c.cause.clone()),
            })
            .collect(),
        fields: t.fields.clone(),
        key: ConversationKey {
            place: t.place.clone(),
            user: t.customer.clone(),
        },
        opened_by: t.opened_by.clone(),
    }
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

pub(super) fn keyword(text: &str) -> Option<Action> {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    let action = match t.as_str() {
        "solved" | "fixed" | "that fixed it" | "it works now" => Action::Solved,
        "escalate" | "still broken" | "still not working" => Action::Escalate,
        "more" | "other matches" => Action::More,
        "back" => Action::Back,
        "cancel" => Action::Cancel,
        _ => return tried(&t),
    };
    Some(action)
}

/// `tried 1,3`, `tried 1 and 3`, `I already tried checks 1 & 3`.
fn tried(t: &str) -> Option<Action> {
    let rest = ["i already tried", "already tried", "i tried", "tried"]
        .iter()
        .find_map(|p| t.strip_prefix(p))?;
    let mut checks = Vec::new();
    for word in rest.split(|c: char| c.is_whitespace() || c == ',' || c == '&' || c == '+') {
        match word {
            "" | "and" | "check" | "checks" | "number" | "numbers" | "#" => {}
            w => checks.push(w.trim_start_matches('#').parse::<usize>().ok()?),
        }
    }
    (!checks.is_empty()).then_some(Action::Tried { checks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_read_from_typed_lines() {
        assert_eq!(keyword(" Solved. "), Some(Action::Solved));
        assert_eq!(keyword("escalate"), Some(Action::Escalate));
        assert_eq!(
            keyword("tried 1,3"),
            Some(Action::Tried { checks: vec![1, 3] })
        );
        assert_eq!(
            keyword("I already tried checks 1 and 3"),
            Some(Action::Tried { checks: vec![1, 3] })
        );
        assert_eq!(keyword("tried restarting the browser"), None);
        assert_eq!(keyword("tried 2 browsers"), None);
        assert_eq!(keyword("the microphone is blocked"), None);
    }
}
