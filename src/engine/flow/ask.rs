//! Asking and answering a question: matching it, the checklist or choices it
//! leads to, and the no-match escalation offer.

use super::*;
use crate::engine::{Action, CheckItem, Checklist, Choice, Choices, GuideLink, Output};
use crate::kb::{CheckId, Entry, EntryId, KnowledgeBase, ProductId};
use crate::matcher::{Decision, Query};
use crate::tickets::{LoggedResult, NewQuery, QueryUpdate, StoreError};

impl Step<'_> {
    pub(super) fn ask(&mut self, raw: &str) -> Result<State, StoreError> {
        let red = self.redacted(raw);
        let text = red.text.trim().to_owned();
        if text.is_empty() {
            self.notice("Tell me what goes wrong, in your own words.");
            return Ok(State::Idle);
        }
        let m = self.engine.matcher.find(&Query {
            text: &text,
            product: self.input.product.as_ref(),
            among: self.input.offered.as_deref(),
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
            _ if crate::engine::greeting::only_greeting(self.kb, &asked.text) => {
                self.text(crate::engine::greeting::REPLY);
                Ok(State::Idle)
            }
            _ => {
                self.text("I couldn't match that to a problem I know.");
                self.no_match(asked, product)
            }
        }
    }

    /// Nothing matched: offer escalation, asking the product first if unknown.
    pub(super) fn no_match(
        &mut self,
        asked: Asked,
        product: Option<ProductId>,
    ) -> Result<State, StoreError> {
        match product.filter(|p| self.kb.product(p.as_str()).is_some()) {
            Some(product) => {
                self.out.push(escalation_offer(
                    "Try rephrasing with the exact error you see, or open a ticket with support.",
                ));
                Ok(State::NoMatch { asked, product })
            }
            None => Ok(self.choose_product(Some(asked), Then::Rematch)),
        }
    }

    /// Asks which product the conversation is about, among those offered
    /// where the input was made, and waits for the answer.
    pub(super) fn choose_product(&mut self, asked: Option<Asked>, then: Then) -> State {
        self.out
            .push(product_choices(self.kb, self.input.offered.as_deref()));
        State::ChoosingProduct {
            asked,
            then,
            offered: self.input.offered.clone(),
        }
    }

    pub(super) fn show_entry(
        &mut self,
        asked: Option<Asked>,
        id: &EntryId,
        tried: Vec<CheckId>,
    ) -> State {
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

    pub(super) fn rematch(
        &mut self,
        mut asked: Asked,
        product: ProductId,
    ) -> Result<State, StoreError> {
        let m = self.engine.matcher.find(&Query {
            text: &asked.text,
            product: Some(&product),
            among: None,
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
}

/// The pinpointed check first, then the rest in the entry's order.
pub(super) fn check_order(entry: &Entry, pin: Option<&CheckId>) -> Vec<CheckId> {
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

pub(super) fn checklist(
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

pub(super) fn feedback_choices(_e: &Entry, asked: Option<&Asked>) -> Output {
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

pub(super) fn entry_choices(kb: &KnowledgeBase, prompt: &str, options: &[EntryId]) -> Output {
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

/// The knowledge base's products that are offered where the input was
/// made (`None`: all), in the knowledge base's order.
pub(super) fn offered_products<'k>(
    kb: &'k KnowledgeBase,
    offered: Option<&[ProductId]>,
) -> Vec<&'k crate::kb::Product> {
    kb.products()
        .iter()
        .filter(|p| offered.is_none_or(|o| o.contains(&p.id)))
        .collect()
}

pub(super) fn product_choices(kb: &KnowledgeBase, offered: Option<&[ProductId]>) -> Output {
    Output::Choices(Choices {
        prompt: "Which product is this about?".into(),
        options: offered_products(kb, offered)
            .into_iter()
            .map(|p| Choice {
                label: p.name.clone(),
                action: Action::PickProduct {
                    product: p.id.clone(),
                },
            })
            .collect(),
    })
}
