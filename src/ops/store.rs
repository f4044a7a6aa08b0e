//! `Metered`: a `Store` that times every call into the `store_seconds`
//! histogram (labelled by operation) and hands it to the store it wraps.
//! It changes nothing else: errors, results and transactions pass through.

use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

use crate::tickets::*;

/// A store whose calls are timed.
pub struct Metered {
    inner: Arc<dyn Store>,
}

impl Metered {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }

    fn timed<T>(&self, op: &str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        super::metrics()
            .store_seconds
            .with_label_values(&[op])
            .observe(started.elapsed().as_secs_f64());
        out
    }
}

impl Store for Metered {
    fn apply(
        &self,
        input: &InputMeta<'_>,
        step: &mut dyn FnMut(&mut dyn Tx) -> Result<String, StoreError>,
    ) -> Result<Applied, StoreError> {
        self.timed("apply", || self.inner.apply(input, step))
    }

    fn mark_delivered(&self, id: &InputId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.timed("mark_delivered", || self.inner.mark_delivered(id, at))
    }

    fn undelivered(&self, since: OffsetDateTime) -> Result<Vec<UndeliveredReply>, StoreError> {
        self.timed("undelivered", || self.inner.undelivered(since))
    }

    fn claim_reply(
        &self,
        id: &InputId,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.timed("claim_reply", || {
            self.inner.claim_reply(id, owner, now, until)
        })
    }

    fn conversation(
        &self,
        key: &ConversationKey,
    ) -> Result<Option<StoredConversation>, StoreError> {
        self.timed("conversation", || self.inner.conversation(key))
    }

    fn ticket(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        self.timed("ticket", || self.inner.ticket(id))
    }

    fn attach_place(&self, ticket: TicketId, place: &Place) -> Result<(), StoreError> {
        self.timed("attach_place", || self.inner.attach_place(ticket, place))
    }

    fn mark_part(
        &self,
        id: &InputId,
        part: &str,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.timed("mark_part", || self.inner.mark_part(id, part, detail, at))
    }

    fn parts(&self, id: &InputId) -> Result<Vec<(String, Option<String>)>, StoreError> {
        self.timed("parts", || self.inner.parts(id))
    }

    fn set_conversation_thread(
        &self,
        key: &ConversationKey,
        thread: &Place,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.timed("set_conversation_thread", || {
            self.inner.set_conversation_thread(key, thread, at)
        })
    }

    fn conversation_thread(&self, key: &ConversationKey) -> Result<Option<Place>, StoreError> {
        self.timed("conversation_thread", || {
            self.inner.conversation_thread(key)
        })
    }

    fn open_threads(&self) -> Result<Vec<OpenThread>, StoreError> {
        self.timed("open_threads", || self.inner.open_threads())
    }

    fn ticket_at(&self, place: &Place) -> Result<Option<TicketId>, StoreError> {
        self.timed("ticket_at", || self.inner.ticket_at(place))
    }

    fn tickets(&self, status: Option<TicketStatus>) -> Result<Vec<Ticket>, StoreError> {
        self.timed("tickets", || self.inner.tickets(status))
    }

    fn queries_since(&self, since: OffsetDateTime) -> Result<Vec<QueryRecord>, StoreError> {
        self.timed("queries_since", || self.inner.queries_since(since))
    }

    fn due_timers(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<Timer>, StoreError> {
        self.timed("due_timers", || self.inner.due_timers(now, limit))
    }

    fn timers(&self, ticket: Option<TicketId>) -> Result<Vec<Timer>, StoreError> {
        self.timed("timers", || self.inner.timers(ticket))
    }

    fn lifecycles(&self) -> Result<Vec<Lifecycle>, StoreError> {
        self.timed("lifecycles", || self.inner.lifecycles())
    }

    fn surveys(&self) -> Result<Vec<Survey>, StoreError> {
        self.timed("surveys", || self.inner.surveys())
    }

    fn place_of(&self, ticket: TicketId) -> Result<Option<Place>, StoreError> {
        self.timed("place_of", || self.inner.place_of(ticket))
    }

    fn archive(&self) -> Option<&dyn crate::archive::Archive> {
        self.inner.archive()
    }
}
