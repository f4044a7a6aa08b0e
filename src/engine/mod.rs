//! The conversation engine: one transport-agnostic state machine per
//! conversation (question → checklist → feedback → ticket fields → ticket).
//! Front ends turn what people do into `Input`s and render the `Output`s.
//!
//! # Driving it
//! ```text
//! let engine = Engine::new(matcher, store, clock);
//! let reply = engine.handle(&Input::say(id, key, author, "mic blocked in chrome"))?;
//! for out in &reply.outputs { render(out) }        // empty for a delivered duplicate
//! engine.mark_delivered(&id)?;                     // posted: a redelivery needs nothing
//! engine.staff(&StaffInput { id, staff, ticket, action: StaffAction::Claim, reason: None })?;
//! let r = engine.resume(&key)?;                    // where a conversation stands
//! ```
//! Every call commits its transition (state, ticket, logs, the input id and
//! the reply) in one transaction before returning, so a crash after `handle`
//! returns loses nothing and a redelivered input id changes nothing. A reply
//! counts as delivered once the front end says so (`mark_delivered`): until
//! then a redelivery returns it again, and `undelivered` lists it.
//!
//! Calls are synchronous and short (one SQLite transaction). From async code
//! call them directly or through `spawn_blocking`; the engine holds no lock
//! between calls, so nothing is ever held across an `.await`.

mod delivery;
mod flow;
mod greeting;
pub mod hours;
pub mod lifecycle;
pub mod redact;
pub mod schedule;

pub use delivery::Progress;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kb::{CheckId, EntryId, FieldId, KnowledgeBase, ProductId};
use crate::matcher::{Match, Matcher, Query};
pub use crate::tickets::{
    ConversationKey, InputId, Place, Store, StoreError, TicketId, TicketStatus, UserId,
};
pub use lifecycle::{
    ticket_action, NoteKind, Policy, TicketAction, TicketChoice, TicketInput, TicketNote,
};
pub use schedule::{fire_due, unposted, Fired};

/// The longest ticket field answer kept, in characters. Longer answers are
/// refused with the count (never cut).
pub const FIELD_LIMIT: usize = 4000;

/// The source of the current time. The engine never reads the system clock
/// itself, so tests and replays control time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock, for front ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that shows whatever it was last set to, for tests.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> Self {
        Self(std::sync::Mutex::new(at))
    }
    pub fn set(&self, at: OffsetDateTime) {
        // A poisoned lock still holds a valid time; keep going.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Something a person did in a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Unique per delivery (a Discord message or interaction id). Seen twice,
    /// the second is ignored and answered with the first reply.
    pub id: InputId,
    /// Whose conversation, and where.
    pub key: ConversationKey,
    /// Who did it: the customer, or staff acting for them (`/diagnose`).
    pub author: UserId,
    /// The product of the place (a product channel, `--product`), if any.
    pub product: Option<ProductId>,
    /// The products offered where the input was made (a server that
    /// supports some of the knowledge base's products): questions are
    /// matched and products offered for choice among these only. `None`:
    /// every product.
    #[serde(default)]
    pub offered: Option<Vec<ProductId>>,
    pub event: Event,
    /// Where the input was made, when that differs from `key.place` (a
    /// ticket thread inside the conversation's channel): where a reply that
    /// was never delivered is posted later.
    #[serde(default)]
    pub origin: Option<Place>,
}

impl Input {
    /// A message typed by the conversation's own user.
    pub fn say(id: impl Into<String>, key: ConversationKey, text: impl Into<String>) -> Self {
        let author = key.user.clone();
        Self {
            id: InputId::new(id),
            key,
            author,
            product: None,
            offered: None,
            event: Event::Say { text: text.into() },
            origin: None,
        }
    }

    /// A button pressed by the conversation's own user.
    pub fn act(id: impl Into<String>, key: ConversationKey, action: Action) -> Self {
        let author = key.user.clone();
        Self {
            id: InputId::new(id),
            key,
            author,
            product: None,
            offered: None,
            event: Event::Act(action),
            origin: None,
        }
    }

    /// Sets the product of the place.
    pub fn in_product(mut self, product: Option<ProductId>) -> Self {
        self.product = product;
        self
    }

    /// Sets the products offered where the input was made.
    pub fn offering(mut self, products: Option<Vec<ProductId>>) -> Self {
        self.offered = products;
        self
    }

    /// Sets where the input was made.
    pub fn made_in(mut self, origin: Option<Place>) -> Self {
        self.origin = origin;
        self
    }

    /// Marks the input as done by someone other than the customer.
    pub fn by(mut self, author: UserId) -> Self {
        self.author = author;
        self
    }
}

/// What kind of input it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new question, whatever the conversation was doing (a slash command
    /// such as `/ask` or `/diagnose`). Abandons an escalation in progress.
    Ask { text: String },
    /// A typed message, read in the light of the conversation's state: the
    /// answer to the current ticket field; `cancel`/`back`; a keyword
    /// (`solved`, `escalate`, `more`, `tried 1,3`); a number picking a
    /// choice; otherwise a new question. See [`keyword`].
    Say { text: String },
    /// A button or menu choice.
    Act(Action),
}

/// The buttons. Choice outputs carry the action to send back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The checklist solved it.
    Solved,
    /// Still broken, or "talk to a human": start the escalation.
    Escalate,
    /// Show the other matches.
    More,
    /// The customer already tried these checks (1-based numbers of the
    /// checklist as shown).
    Tried { checks: Vec<usize> },
    /// Pick one of the offered entries.
    PickEntry { entry: EntryId },
    /// Pick the product (after "which product?").
    PickProduct { product: ProductId },
    /// Re-ask the previous ticket field.
    Back,
    /// Stop: ends an escalation or a pending choice.
    Cancel,
}

/// A staff action on a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffInput {
    /// Unique per delivery, as for `Input`.
    pub id: InputId,
    /// The staff member (the front end checks the role).
    pub staff: UserId,
    pub ticket: TicketId,
    pub action: StaffAction,
    /// Why (closing): stored with the ticket and in the event log, and told
    /// to the customer. Ignored for other actions.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffAction {
    /// Take the ticket (open or claimed by someone else → claimed by me).
    Claim,
    /// Close it.
    Close,
    /// Reopen a closed ticket.
    Reopen,
}

/// What the engine says back, in order. Front ends render; they decide
/// nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// What to show: empty for a duplicate whose reply was delivered.
    pub outputs: Vec<Output>,
    /// The input id was seen before: nothing changed. `outputs` repeat the
    /// first reply if it was never marked delivered, else they are empty.
    pub duplicate: bool,
    /// The reply is not marked delivered yet (always so for a fresh input):
    /// post `outputs`, then `Engine::mark_delivered`.
    #[serde(default)]
    pub undelivered: bool,
}

/// A reply committed but never marked delivered, for a front end to post
/// late (after a restart, or a failed post).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pending {
    pub id: InputId,
    /// The conversation; `None` for a staff action.
    pub key: Option<ConversationKey>,
    /// Where the input was made, if the front end said.
    pub origin: Option<Place>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub outputs: Vec<Output>,
}

/// One render-agnostic message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Output {
    /// Plain information.
    Text { text: String },
    /// Something the user must notice: a secret removed, an action that
    /// does not apply now, a refused answer's context.
    Notice { text: String },
    /// An entry's checklist.
    Checklist(Checklist),
    /// Options to pick from (entries, products, feedback buttons).
    Choices(Choices),
    /// Asks one ticket field: "field k of n".
    FieldPrompt(FieldPrompt),
    /// A ticket was filed: the hand-off for staff (ping the role once).
    TicketFiled(TicketCard),
    /// A staff action changed a ticket.
    TicketUpdated(TicketUpdate),
    /// A lifecycle message about a ticket (close request, stale ping,
    /// survey, support hours), possibly with buttons.
    Ticket(TicketNote),
}

/// An entry's checklist as shown to the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    pub entry: EntryId,
    pub title: String,
    pub product: ProductId,
    pub product_name: String,
    /// The entry's note (e.g. why there is no self-service check).
    pub note: Option<String>,
    /// In the order to try them: the pinpointed check first.
    pub checks: Vec<CheckItem>,
    /// True for an entry with no self-service checks.
    pub escalate_only: bool,
    pub guide: Option<GuideLink>,
}

/// One check of a shown checklist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckItem {
    /// The number the user refers to (`tried 1,3`): its position as shown.
    pub number: usize,
    pub id: CheckId,
    pub cause: String,
    pub verify: String,
    pub fix: String,
    /// The user's words point at this check.
    pub pinpointed: bool,
    /// The user said they already tried it.
    pub tried: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuideLink {
    pub title: String,
    pub url: Option<String>,
}

/// A set of options; each carries the action to send back when picked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choices {
    pub prompt: String,
    pub options: Vec<Choice>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    pub action: Action,
}

/// "Field k of n": one ticket field to answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldPrompt {
    /// 1-based position.
    pub k: usize,
    pub n: usize,
    pub product: ProductId,
    pub field: FieldId,
    pub label: String,
    pub question: String,
    pub example: String,
    /// Why the previous answer was refused, when this is a re-ask.
    pub problem: Option<String>,
    /// The answer given before, when going back to a field.
    pub previous: Option<String>,
}

/// A filed ticket, complete, for the staff hand-off and the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketCard {
    pub id: TicketId,
    pub status: TicketStatus,
    pub product: ProductId,
    pub product_name: String,
    pub entry: Option<EntryId>,
    pub entry_title: Option<String>,
    pub question: Option<String>,
    pub tried: Vec<TriedCheck>,
    pub fields: Vec<crate::tickets::FieldValue>,
    pub key: ConversationKey,
    pub opened_by: UserId,
}

/// A check the customer tried, as shown in a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TriedCheck {
    pub id: CheckId,
    pub cause: String,
}

/// A ticket's status changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketUpdate {
    pub id: TicketId,
    pub status: TicketStatus,
    pub by: UserId,
    /// The customer's conversation, to tell them.
    pub key: ConversationKey,
    /// Why it was closed, as stored (secrets removed).
    pub reason: Option<String>,
    pub text: String,
}

/// Where a conversation stands, for resuming it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    pub phase: Phase,
    /// How many inputs the conversation has taken (a terminal derives input
    /// ids from it).
    pub inputs_seen: u64,
    /// What to show to pick up where it stood (empty when idle).
    pub outputs: Vec<Output>,
}

/// The coarse state of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Nothing pending.
    Idle,
    /// Waiting for the product to be named.
    ChoosingProduct,
    /// Waiting for one of several entries to be picked.
    ChoosingEntry,
    /// A checklist is out; waiting for feedback.
    Answered { entry: EntryId },
    /// Nothing matched; escalation offered.
    NoMatch,
    /// Collecting ticket fields; the next is field `k` of `n`.
    Collecting {
        product: ProductId,
        k: usize,
        n: usize,
    },
}

/// Why the engine failed: internal errors only. Everything the user got
/// wrong is an `Output`, not an error.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the engine needs from matching: the `Matcher`, or a scripted stand-in
/// in tests.
pub trait Matching: Send + Sync {
    /// The knowledge base the results refer to.
    fn kb(&self) -> &KnowledgeBase;
    fn find(&self, q: &Query<'_>) -> Match;
}

impl Matching for Matcher {
    fn kb(&self) -> &KnowledgeBase {
        Matcher::kb(self)
    }
    fn find(&self, q: &Query<'_>) -> Match {
        Matcher::find(self, q)
    }
}

/// The engine. `Send + Sync`; share it with an `Arc`.
pub struct Engine {
    /// Matches questions; also holds the knowledge base the conversation
    /// refers to.
    matcher: Arc<dyn Matching>,
    /// Where every transition is committed.
    store: Arc<dyn Store>,
    /// The only source of time.
    clock: Arc<dyn Clock>,
    /// Stale reminders, close requests, support hours.
    lifecycle: Policy,
}

impl Engine {
    /// `matcher` is usually an `Arc<Matcher>`.
    pub fn new(matcher: Arc<dyn Matching>, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            matcher,
            store,
            clock,
            lifecycle: Policy::default(),
        }
    }

    /// Sets the lifecycle settings (stale reminders, support hours).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.lifecycle = policy;
        self
    }

    pub fn kb(&self) -> &KnowledgeBase {
        self.matcher.kb()
    }

    /// The store, for reading tickets and the query log.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Applies one input and returns what to say, committed first.
    #[tracing::instrument(skip_all, fields(input = %input.id, conv = %input.key))]
    pub fn handle(&self, input: &Input) -> Result<Reply, EngineError> {
        flow::handle(self, input)
    }

    /// Applies a staff action on a ticket.
    #[tracing::instrument(skip_all, fields(input = %input.id, ticket = %input.ticket))]
    pub fn staff(&self, input: &StaffInput) -> Result<Reply, EngineError> {
        flow::staff(
            self.store.as_ref(),
            self.clock.as_ref(),
            &self.lifecycle,
            input,
        )
    }

    /// Records that the reply to `id` was posted: a redelivery of `id` then
    /// returns no outputs, and `undelivered` no longer lists it.
    pub fn mark_delivered(&self, id: &InputId) -> Result<(), EngineError> {
        Ok(self.store.mark_delivered(id, self.clock.now())?)
    }

    /// Replies of inputs applied within `within` of now that were never
    /// marked delivered, oldest first.
    pub fn undelivered(&self, within: time::Duration) -> Result<Vec<Pending>, EngineError> {
        let since = self.clock.now() - within;
        self.store
            .undelivered(since)?
            .into_iter()
            .map(|u| {
                Ok(Pending {
                    outputs: serde_json::from_str(&u.reply).map_err(StoreError::Encode)?,
                    id: u.id,
                    key: u.key,
                    origin: u.origin,
                    at: u.at,
                })
            })
            .collect()
    }

    /// Leases the undelivered reply to `id` to `owner` (one process) for
    /// `lease`, before it is re-posted: false when another owner holds it
    /// or it was delivered meanwhile, so no two processes post it.
    pub fn claim_reply(
        &self,
        id: &InputId,
        owner: &str,
        lease: time::Duration,
    ) -> Result<bool, EngineError> {
        let now = self.clock.now();
        Ok(self.store.claim_reply(id, owner, now, now + lease)?)
    }

    /// Where a conversation stands, with what to show to pick it up. Reads
    /// only.
    pub fn resume(&self, key: &ConversationKey) -> Result<Resume, EngineError> {
        flow::resume(self, key)
    }
}

/// Applies a staff action on a ticket without an `Engine` (no knowledge
/// base needed), e.g. `triage tickets close`. Same semantics as
/// `Engine::staff`.
pub fn staff_action(
    store: &dyn Store,
    clock: &dyn Clock,
    input: &StaffInput,
) -> Result<Reply, EngineError> {
    flow::staff(store, clock, &Policy::default(), input)
}

/// A stored ticket as the card front ends show (product and entry names,
/// tried checks by cause), from the knowledge base as it is now.
pub fn ticket_card(kb: &KnowledgeBase, t: &crate::tickets::Ticket) -> TicketCard {
    flow::card(kb, t)
}

/// Reads a typed line as one of the keywords front ends share: `solved`,
/// `escalate` / `still broken`, `more`, `tried 1,3` / `tried 1 and 3`,
/// `back`, `cancel`. `None` for anything else.
pub fn keyword(text: &str) -> Option<Action> {
    flow::keyword(text)
}
