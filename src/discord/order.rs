//! Handling in arrival order per channel and person. serenity runs every
//! event handler in its own task, so two answers sent milliseconds apart
//! could reach the engine in either order. A shard collector, which serenity
//! calls in gateway order before it spawns the handlers, gives each message
//! and interaction a turn behind the previous one from the same user in the
//! same channel; the handler waits for that turn before it starts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use serenity::{Event, FullEvent, Interaction};
use tokio::sync::oneshot;
use tracing::warn;

/// How long a handler waits for the one before it. Past this it goes ahead:
/// one stuck handler must not silence a conversation for good.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Above this many remembered (channel, user) pairs, finished ones are
/// dropped on the next hand-out.
const PRUNE_ABOVE: usize = 64;

/// The turns handed out and not yet taken, and the last one per
/// (channel, user).
#[derive(Default)]
pub(crate) struct Turns {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Per (channel, user): resolves when the latest event handed a turn is
    /// done.
    last: HashMap<(u64, u64), oneshot::Receiver<()>>,
    /// Per event id (message or interaction): its turns, until its handlers
    /// take them. One id can arrive twice (Discord redelivering it), and
    /// the second must wait for the first like any other.
    waiting: HashMap<u64, VecDeque<Turn>>,
}

/// One event's place in line.
pub(crate) struct Turn {
    /// Resolves (with an error: the sender is dropped) when the previous
    /// event of the same channel and user is done.
    before: Option<oneshot::Receiver<()>>,
    /// Dropped when this event is done, which lets the next one go.
    _done: oneshot::Sender<()>,
}

impl Turn {
    /// Waits until the previous event of the same channel and user is done.
    pub(crate) async fn wait(&mut self) {
        if let Some(before) = self.before.take() {
            if tokio::time::timeout(MAX_WAIT, before).await.is_err() {
                warn!(
                    "the previous event from this user and channel is still running; going ahead"
                );
            }
        }
    }
}

impl Turns {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The maps stay consistent whatever panicked while holding them.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives event `id` a turn behind the last one of `key`.
    fn hand_out(&self, id: u64, key: (u64, u64)) {
        let (done, next) = oneshot::channel();
        let mut inner = self.lock();
        if inner.last.len() > PRUNE_ABOVE {
            inner
                .last
                .retain(|_, rx| matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        }
        let before = inner.last.insert(key, next);
        inner.waiting.entry(id).or_default().push_back(Turn {
            before,
            _done: done,
        });
    }

    /// The turn of this event, if it was given one. Take it first thing
    /// and hold it until the event is handled.
    pub(crate) fn take(&self, event: &FullEvent) -> Option<Turn> {
        let id = match event {
            FullEvent::Message { new_message } => new_message.id.get(),
            FullEvent::InteractionCreate { interaction } => interaction.id().get(),
            _ => return None,
        };
        let mut inner = self.lock();
        let turns = inner.waiting.get_mut(&id)?;
        let turn = turns.pop_front();
        if turns.is_empty() {
            inner.waiting.remove(&id);
        }
        turn
    }
}

/// The collector to add to each shard: hands out turns in gateway order.
pub(crate) fn collector(turns: Arc<Turns>) -> serenity::CollectorCallback {
    serenity::CollectorCallback(Box::new(move |event| {
        if let Some((id, key)) = keyed(event) {
            turns.hand_out(id, key);
        }
        true
    }))
}

/// The event id and (channel, user) of what people do: messages (not
/// bots') and interactions other than autocomplete, which changes nothing.
fn keyed(event: &Event) -> Option<(u64, (u64, u64))> {
    match event {
        Event::MessageCreate(e) if !e.message.author.bot => Some((
            e.message.id.get(),
            (e.message.channel_id.get(), e.message.author.id.get()),
        )),
        Event::InteractionCreate(e) => {
            let (id, channel, user) = match &e.interaction {
                Interaction::Command(c) => (c.id, c.channel_id, c.user.id),
                Interaction::Component(c) => (c.id, c.channel_id, c.user.id),
                Interaction::Modal(m) => (m.id, m.channel_id, m.user.id),
                _ => return None,
            };
            Some((id.get(), (channel.get(), user.get())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the turn's predecessor is done (without waiting).
    fn free(turn: &mut Turn) -> bool {
        !matches!(
            turn.before.as_mut().map(|b| b.try_recv()),
            Some(Err(oneshot::error::TryRecvError::Empty))
        )
    }

    #[test]
    fn a_turn_waits_for_the_one_before_it_and_others_do_not() {
        let turns = Turns::default();
        turns.hand_out(1, (10, 7));
        turns.hand_out(2, (10, 7));
        turns.hand_out(3, (11, 7));
        let take = |id: u64| {
            turns
                .lock()
                .waiting
                .remove(&id)
                .unwrap()
                .pop_front()
                .unwrap()
        };
        let mut first = take(1);
        let mut second = take(2);
        let mut other = take(3);
        assert!(free(&mut first) && free(&mut other));
        assert!(!free(&mut second), "the second waits for the first");
        drop(first);
        assert!(free(&mut second), "the second goes once the first is done");
    }
}
