//! Bounded work per member in help channels: at most N questions a minute
//! (config `help_answers_per_minute`) are answered per member and channel;
//! the rest are ignored, with one log line per member and minute, instead
//! of being queued without limit.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// Forgotten after this long without a message.
const WINDOW: Duration = Duration::minutes(1);
/// Past this many members tracked, idle ones are forgotten.
const PRUNE_AT: usize = 10_000;

/// Per-member counters.
pub(crate) struct Flood {
    per_minute: u32,
    windows: Mutex<HashMap<(u64, u64), Window>>,
}

struct Window {
    start: OffsetDateTime,
    count: u32,
}

/// Whether to handle a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    Yes,
    /// The first message over the limit in this minute: log it.
    NoFirst,
    /// Over the limit again: nothing more to log.
    No,
}

impl Flood {
    pub(crate) fn new(per_minute: u32) -> Self {
        Flood {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// Counts a question from `user` in `channel` at `now`.
    pub(crate) fn admit(&self, channel: u64, user: u64, now: OffsetDateTime) -> Admit {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > PRUNE_AT {
            windows.retain(|_, w| now - w.start < WINDOW);
        }
        let w = windows.entry((channel, user)).or_insert(Window {
            start: now,
            count: 0,
        });
        if now - w.start >= WINDOW {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        w.count += 1;
        if w.count <= self.per_minute {
            Admit::Yes
        } else if w.count == self.per_minute + 1 {
            Admit::NoFirst
        } else {
            Admit::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_flood_is_cut_at_the_limit_and_logged_once_per_minute() {
        let f = Flood::new(3);
        let t = datetime!(2026-01-01 12:00 UTC);
        let got: Vec<Admit> = (0..30)
            .map(|i| f.admit(1, 7, t + Duration::milliseconds(i * 60)))
            .collect();
        assert_eq!(
            &got[..4],
            [Admit::Yes, Admit::Yes, Admit::Yes, Admit::NoFirst]
        );
        assert!(got[4..].iter().all(|a| *a == Admit::No));
        // Someone else, or elsewhere, is counted apart.
        assert_eq!(f.admit(1, 8, t), Admit::Yes);
        assert_eq!(f.admit(2, 7, t), Admit::Yes);
        // A minute later the member is answered again.
        assert_eq!(f.admit(1, 7, t + Duration::seconds(61)), Admit::Yes);
    }
}
