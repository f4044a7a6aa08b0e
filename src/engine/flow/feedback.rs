//! Feedback on an answer and typed keywords: solved, still broken, more,
//! tried N, escalate, back and cancel, in whatever state they arrive.

use super::*;
use crate::engine::{Action, Output};
use crate::kb::{EntryId, ProductId};
use crate::tickets::{Feedback, QueryId, QueryUpdate, StoreError};

impl Step<'_> {
    pub(super) fn act(&mut self, state: State, action: Action) -> Result<State, StoreError> {
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
                _ => Ok(self.choose_product(None, Then::Escalate)),
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
                        Ok(self.choose_product(Some(asked), Then::Escalate))
                    }
                }
            }
            (State::NoMatch { asked, product }, Action::Escalate) => {
                self.start_escalation(product, Some(&asked), None, Vec::new())
            }
            (State::ChoosingProduct { asked, .. }, Action::Escalate) => {
                Ok(self.choose_product(asked, Then::Escalate))
            }

            (State::ChoosingProduct { asked, then, .. }, Action::PickProduct { product }) => {
                // A product of the knowledge base, and offered here.
                let known = offered_products(self.kb, self.input.offered.as_deref())
                    .iter()
                    .any(|p| p.id == product);
                if !known {
                    self.notice(&format!("I don't know a product called `{product}`."));
                    return Ok(self.choose_product(asked, then));
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

    pub(super) fn feedback(&mut self, q: QueryId, f: Feedback) -> Result<(), StoreError> {
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
}

pub(in crate::engine) fn keyword(text: &str) -> Option<Action> {
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
pub(super) fn tried(t: &str) -> Option<Action> {
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
