//! Ticket fields: starting an escalation, asking and validating each field,
//! filing the ticket, and the card that shows it.

use super::*;
use crate::engine::{
    Action, Choice, Choices, FieldPrompt, Output, TicketCard, TriedCheck, FIELD_LIMIT,
};
use crate::kb::{CheckId, EntryId, FieldId, KnowledgeBase, Product, ProductId};
use crate::tickets::{ConversationKey, FieldValue, NewTicket, QueryUpdate, StoreError, Ticket};

impl Step<'_> {
    pub(super) fn start_escalation(
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

    pub(super) fn answer_field(&mut self, mut d: Draft, raw: &str) -> Result<State, StoreError> {
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

    pub(super) fn file(&mut self, d: Draft, p: &Product) -> Result<State, StoreError> {
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
        let notes =
            crate::engine::lifecycle::filed(self.tx, &self.engine.lifecycle, &ticket, self.now)?;
        self.out.extend(notes);
        Ok(State::Idle)
    }

    pub(super) fn product_gone(&mut self, d: &Draft) -> State {
        tracing::warn!(product = %d.product, "product vanished from the knowledge base mid-escalation");
        self.notice(
            "This product is no longer in the knowledge base, so I can't finish the ticket.",
        );
        State::Idle
    }

    pub(super) fn ask_field(&mut self, p: &Product, d: &Draft, problem: Option<String>) {
        if let Some(fp) = prompt(p, d, problem) {
            self.out.push(Output::FieldPrompt(fp));
        }
    }

    pub(super) fn refused(&mut self, field: &FieldId, why: &str) -> Result<(), StoreError> {
        self.event(
            "field_refused",
            None,
            serde_json::json!({"field": field, "reason": why}),
        )
    }
}

pub(super) fn escalation_offer(prompt: &str) -> Output {
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

pub(super) fn prompt(p: &Product, d: &Draft, problem: Option<String>) -> Option<FieldPrompt> {
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

pub(in crate::engine) fn card(kb: &KnowledgeBase, t: &Ticket) -> TicketCard {
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
