//! Stateless routing of message components: every button and select menu
//! carries what it means in its `custom_id` (`t:<verb>:<place>.<user>[:arg]`,
//! ids in base 36), so a click needs no collector and survives a restart; the
//! engine holds the state.

use std::fmt;

use crate::engine::{Action, ConversationKey};

/// The conversation a component belongs to: the channel (or thread) it
/// happens in and the customer it belongs to, as Discord ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    pub place: u64,
    pub user: u64,
}

impl Conv {
    /// The engine's key for this conversation.
    pub fn key(self) -> ConversationKey {
        ConversationKey::new(self.place.to_string(), self.user.to_string())
    }

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

/// Discord's limit on a `custom_id` and on a select option's value.
pub const CUSTOM_ID_MAX: usize = 100;

/// Every custom id this bot sends starts with this, so components of other
/// apps (or of an older scheme) are recognised and ignored.
const PREFIX: &str = "t";

/// What a component does when used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A button: the engine action is in the id (`t:solved:…`, `t:pick:…:c2c/no-audio`).
    Act { conv: Conv, action: Action },
    /// A select menu of choices; each value is an encoded action.
    Menu { conv: Conv },
    /// The "which checks have you tried" menu; values are check numbers.
    Tried { conv: Conv },
}

/// Why a route could not be encoded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("custom_id would be {0} characters; Discord allows {CUSTOM_ID_MAX}")]
    TooLong(usize),
    #[error("'{0}' cannot be part of a custom_id (empty, or contains ':')")]
    BadPart(String),
}

impl Route {
    /// The conversation the component belongs to.
    pub fn conv(&self) -> Conv {
        match self {
            Route::Act { conv, .. } | Route::Menu { conv } | Route::Tried { conv } => *conv,
        }
    }

    /// The `custom_id` for this route, checked against Discord's limit.
    pub fn encode(&self) -> Result<String, RouteError> {
        let conv = self.conv().encode();
        let id = match self {
            Route::Act { action, .. } => {
                let (verb, arg) = action_parts(action)?;
                match arg {
                    Some(a) => format!("{PREFIX}:{verb}:{conv}:{a}"),
                    None => format!("{PREFIX}:{verb}:{conv}"),
                }
            }
            Route::Menu { .. } => format!("{PREFIX}:menu:{conv}"),
            Route::Tried { .. } => format!("{PREFIX}:tried:{conv}"),
        };
        checked(id)
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
        match (verb, arg) {
            ("menu", None) => Some(Route::Menu { conv }),
            ("tried", None) => Some(Route::Tried { conv }),
            _ => Some(Route::Act {
                conv,
                action: action_from_parts(verb, arg)?,
            }),
        }
    }
}

/// An action as a select option value (`solved`, `pick:c2c/no-audio`).
pub fn encode_action(action: &Action) -> Result<String, RouteError> {
    let (verb, arg) = action_parts(action)?;
    checked(match arg {
        Some(a) => format!("{verb}:{a}"),
        None => verb.to_owned(),
    })
}

/// The inverse of `encode_action`.
pub fn decode_action(value: &str) -> Option<Action> {
    let (verb, arg) = match value.split_once(':') {
        Some((v, a)) => (v, Some(a)),
        None => (value, None),
    };
    action_from_parts(verb, arg)
}

fn checked(id: String) -> Result<String, RouteError> {
    let n = id.chars().count();
    if n > CUSTOM_ID_MAX {
        return Err(RouteError::TooLong(n));
    }
    Ok(id)
}

fn action_parts(action: &Action) -> Result<(&'static str, Option<String>), RouteError> {
    let arg = |s: &str| {
        if s.is_empty() || s.contains(':') {
            Err(RouteError::BadPart(s.to_owned()))
        } else {
            Ok(Some(s.to_owned()))
        }
    };
    Ok(match action {
        Action::Solved => ("solved", None),
        Action::Escalate => ("esc", None),
        Action::More => ("more", None),
        Action::Back => ("back", None),
        Action::Cancel => ("cancel", None),
        Action::Tried { checks } => {
            let list: Vec<String> = checks.iter().map(usize::to_string).collect();
            ("tried", arg(&list.join(","))?)
        }
        Action::PickEntry { entry } => ("pick", arg(entry.as_str())?),
        Action::PickProduct { product } => ("prod", arg(product.as_str())?),
    })
}

fn action_from_parts(verb: &str, arg: Option<&str>) -> Option<Action> {
    let arg = arg.filter(|a| !a.is_empty() && !a.contains(':'));
    Some(match (verb, arg) {
        ("solved", None) => Action::Solved,
        ("esc", None) => Action::Escalate,
        ("more", None) => Action::More,
        ("back", None) => Action::Back,
        ("cancel", None) => Action::Cancel,
        ("tried", Some(a)) => Action::Tried {
            checks: a
                .split(',')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<usize>>>()?,
        },
        ("pick", Some(a)) => Action::PickEntry { entry: a.into() },
        ("prod", Some(a)) => Action::PickProduct { product: a.into() },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONV: Conv = Conv {
        place: 1234567890123456789,
        user: u64::MAX,
    };

    #[test]
    fn every_route_round_trips() {
        let actions = [
            Action::Solved,
            Action::Escalate,
            Action::More,
            Action::Back,
            Action::Cancel,
            Action::Tried { checks: vec![1, 3] },
            Action::PickEntry {
                entry: "widget-sdk/conference-script-network-error".into(),
            },
            Action::PickProduct {
                product: "c2c".into(),
            },
        ];
        let mut routes: Vec<Route> = actions
            .iter()
            .map(|a| Route::Act {
                conv: CONV,
                action: a.clone(),
            })
            .collect();
        routes.push(Route::Menu { conv: CONV });
        routes.push(Route::Tried { conv: CONV });
        for r in routes {
            let id = r.encode().unwrap();
            assert!(id.len() <= CUSTOM_ID_MAX);
            assert_eq!(Route::decode(&id), Some(r));
        }
        for a in actions {
            assert_eq!(decode_action(&encode_action(&a).unwrap()), Some(a));
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
            "t:tried:1.2:x",
            "t:solved:1.2:extra",
        ] {
            assert_eq!(Route::decode(id), None, "{id}");
        }
    }

    #[test]
    fn over_long_ids_are_refused_not_truncated() {
        let conv = Conv { place: 1, user: 2 };
        let long = Route::Act {
            conv,
            action: Action::PickEntry {
                entry: "x".repeat(120).as_str().into(),
            },
        };
        assert!(matches!(long.encode(), Err(RouteError::TooLong(_))));
        let colon = Route::Act {
            conv,
            action: Action::PickEntry {
                entry: "a:b".into(),
            },
        };
        assert!(matches!(colon.encode(), Err(RouteError::BadPart(_))));
    }
}
