//! Delivery progress of one reply: the parts of it a front end has posted
//! (and what they made, such as a thread), so that a reply cut off halfway
//! resumes from the first part not out, and the ticket thread a
//! conversation already has is found before another is opened.

use std::collections::HashMap;

use super::{ConversationKey, Engine, EngineError, InputId, Place};

/// The parts of one reply that went out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Part name → what it made (`None` when nothing worth keeping).
    done: HashMap<String, Option<String>>,
}

impl Progress {
    pub fn is_done(&self, part: &str) -> bool {
        self.done.contains_key(part)
    }

    /// What the part made, if it went out and made something.
    pub fn detail(&self, part: &str) -> Option<&str> {
        self.done.get(part).and_then(|d| d.as_deref())
    }

    /// Notes a part as out (after `Engine::mark_part` stored it).
    pub fn note(&mut self, part: &str, detail: Option<String>) {
        self.done.entry(part.to_owned()).or_insert(detail);
    }

    /// How many parts went out.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

impl Engine {
    /// What of the reply to `id` went out so far.
    pub fn progress(&self, id: &InputId) -> Result<Progress, EngineError> {
        Ok(Progress {
            done: self.store.parts(id)?.into_iter().collect(),
        })
    }

    /// Records that part `part` of the reply to `id` went out, with what it
    /// made. Recording a part twice keeps the first record.
    pub fn mark_part(
        &self,
        id: &InputId,
        part: &str,
        detail: Option<&str>,
    ) -> Result<(), EngineError> {
        Ok(self.store.mark_part(id, part, detail, self.clock.now())?)
    }

    /// The ticket thread opened for the conversation, if one was.
    pub fn conversation_thread(&self, key: &ConversationKey) -> Result<Option<Place>, EngineError> {
        Ok(self.store.conversation_thread(key)?)
    }

    /// Records the ticket thread opened for the conversation.
    pub fn set_conversation_thread(
        &self,
        key: &ConversationKey,
        thread: &Place,
    ) -> Result<(), EngineError> {
        Ok(self
            .store
            .set_conversation_thread(key, thread, self.clock.now())?)
    }

    /// Ticket threads waiting for their customer's answers, with the
    /// newest input seen in each conversation.
    pub fn open_threads(&self) -> Result<Vec<crate::tickets::OpenThread>, EngineError> {
        Ok(self.store.open_threads()?)
    }

    /// The engine's clock, for front ends that judge the age of things
    /// (an interaction token) by the same time as the store.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}
