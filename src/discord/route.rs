//! Stateless routing of message components: every button and select menu
//! carries what it means in its `custom_id` (`t:<verb>:<place>.<user>[:arg]`,
//! ids in base 36), so a click needs no collector and survives a restart; the
//! engine holds the state.

use std::fmt;

/// The conversation a component belongs to: the channel (or thread) it
/// happens in and the customer it belongs to, as Discord ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    pub place: u64,
    pub user: u64,
}

impl Conv {
    fn encode(self) -> String {
        format!("{}.{}", base36(self.place), base36(self.user))
    }

    fn decode(s: &str) -> Option<Conv> {
        let (p, u) = s.split_once('.')?;
        Some(Conv {
            place: u64::from_str_radix(p, 36).ok()?,
            user: u64::from_str_radix(u, 36).ok()?,
        })
    }
}

impl fmt::Display for Conv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.place, self.user)
    }
}

/// Snowflakes are 19-20 digits; base 36 makes them 12-13 characters, which
/// leaves room for long entry ids within the 100-character limit.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(13);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Discord's limit on a `custom_id`.
pub const CUSTOM_ID_MAX: usize = 100;

/// Every custom id this bot sends starts with this, so components of other
/// apps (or of an older scheme) are recognised and ignored.
const PREFIX: &str = "t";

/// What a component does when used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The checklist solved it.
    Solved { conv: Conv },
    /// Still broken after the checklist: escalate.
    Broken { conv: Conv },
    /// Show the other candidate entries.
    Others { conv: Conv },
    /// Select menu: the checks the user already tried (values are check ids).
    Tried { conv: Conv },
    /// A suggested entry was picked (button: the entry id is in the id).
    Pick { conv: Conv, entry: String },
    /// Select menu of suggested entries (values are entry ids).
    PickMenu { conv: Conv },
    /// Open a ticket from an answer, a suggestion list or "I don't know".
    Escalate { conv: Conv },
}

/// Why a route could not be encoded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("custom_id would be {0} characters; Discord allows {CUSTOM_ID_MAX}")]
    TooLong(usize),
    #[error("'{0}' cannot be part of a custom_id (it contains ':')")]
    BadPart(String),
}

impl Route {
    /// The conversation the component belongs to.
    pub fn conv(&self) -> Conv {
        match self {
            Route::Solved { conv }
            | Route::Broken { conv }
            | Route::Others { conv }
            | Route::Tried { conv }
            | Route::Pick { conv, .. }
            | Route::PickMenu { conv }
            | Route::Escalate { conv } => *conv,
        }
    }

    fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Route::Solved { .. } => ("solved", None),
            Route::Broken { .. } => ("broken", None),
            Route::Others { .. } => ("others", None),
            Route::Tried { .. } => ("tried", None),
            Route::Pick { entry, .. } => ("pick", Some(entry)),
            Route::PickMenu { .. } => ("pickm", None),
            Route::Escalate { .. } => ("esc", None),
        }
    }

    /// The `custom_id` for this route, checked against Discord's limit.
    pub fn encode(&self) -> Result<String, RouteError> {
        let (verb, arg) = self.parts();
        let conv = self.conv().encode();
        let id = match arg {
            Some(a) if a.contains(':') || a.is_empty() => {
                return Err(RouteError::BadPart(a.to_owned()))
            }
            Some(a) => format!("{PREFIX}:{verb}:{conv}:{a}"),
            None => format!("{PREFIX}:{verb}:{conv}"),
        };
        let n = id.chars().count();
        if n > CUSTOM_ID_MAX {
            return Err(RouteError::TooLong(n));
        }
        Ok(id)
    }

    /// Parses a `custom_id`; `None` for ids this bot did not make.
    pub fn decode(id: &str) -> Option<Route> {
        let mut it = id.splitn(4, ':');
        if it.next()? != PREFIX {
            return None;
        }
        let verb = it.next()?;
        let conv = Conv::decode(it.next()?)?;
        let arg = it.next();
        let route = match (verb, arg) {
            ("solved", None) => Route::Solved { conv },
            ("broken", None) => Route::Broken { conv },
            ("others", None) => Route::Others { conv },
            ("tried", None) => Route::Tried { conv },
            ("pickm", None) => Route::PickMenu { conv },
            ("esc", None) => Route::Escalate { conv },
            ("pick", Some(entry)) if !entry.is_empty() && !entry.contains(':') => Route::Pick {
                conv,
                entry: entry.to_owned(),
            },
            _ => return None,
        };
        Some(route)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, arg) = self.parts();
        write!(f, "{verb} {}", self.conv())?;
        if let Some(a) = arg {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_round_trips() {
        let conv = Conv {
            place: 1234567890123456789,
            user: u64::MAX,
        };
        let routes = [
            Route::Solved { conv },
            Route::Broken { conv },
            Route::Others { conv },
            Route::Tried { conv },
            Route::PickMenu { conv },
            Route::Escalate { conv },
            Route::Pick {
                conv,
                entry: "widget-sdk/conference-script-network-error".into(),
            },
        ];
        for r in routes {
            let id = r.encode().unwrap();
            assert!(id.len() <= CUSTOM_ID_MAX);
            assert_eq!(Route::decode(&id), Some(r));
        }
    }

    #[test]
    fn foreign_and_malformed_ids_are_ignored() {
        for id in [
            "",
            "x:solved:1.2",
            "t",
            "t:solved",
            "t:solved:",
            "t:solved:1",
            "t:solved:1.!",
            "t:fly:1.2",
            "t:pick:1.2",
            "t:solved:1.2:extra",
        ] {
            assert_eq!(Route::decode(id), None, "{id}");
        }
    }

    #[test]
    fn over_long_ids_are_refused_not_truncated() {
        let conv = Conv { place: 1, user: 2 };
        let r = Route::Pick {
            conv,
            entry: "x".repeat(120),
        };
        assert!(matches!(r.encode(), Err(RouteError::TooLong(_))));
        let r = Route::Pick {
            conv,
            entry: "a:b".into(),
        };
        assert!(matches!(r.encode(), Err(RouteError::BadPart(_))));
    }
}
