//! Chat decoration: what a message in a chat channel carries besides its
//! words, and that says nothing of the problem it reports. Emoji
//! shortcodes (`:sob:`, `:pepe_cry:`) and @-mentions (`@kenji`,
//! `@support`) are the conventions of Discord, Slack, GitHub and Teams
//! alike; read as words they are words no entry knows, and one such word
//! in a short question weighs as much as a real one. The matcher reads a
//! question without them (`without_decoration`). Code keeps its `@`: a
//! scoped package (`@widgetclient/sdk`) or an address (`ops@example.com`)
//! is not a mention.

use std::borrow::Cow;

/// The longest shortcode or handle read as decoration; anything longer is
/// something else (a path, an id).
const MAX_NAME_CHARS: usize = 32;

/// `text` without its emoji shortcodes and @-mentions, each taken out with
/// the space before it (so no run of spaces is left), and unchanged (not
/// copied) when it has none.
pub fn without_decoration(text: &str) -> Cow<'_, str> {
    let spans = decorations(text);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        let kept = &text[at..start];
        let trimmed = kept.trim_end_matches(char::is_whitespace);
        out.push_str(trimmed);
        at = end;
        // With no space before it (the text's start, an opening bracket),
        // the space after it goes instead.
        if trimmed.len() == kept.len() {
            let rest = &text[end..];
            at += rest.len() - rest.trim_start_matches(char::is_whitespace).len();
        }
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// The byte spans of the decorations in `text`, in order.
fn decorations(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let opens = matches!(c, ':' | '@')
            && prev.is_none_or(|p| p.is_whitespace() || "([{\"'".contains(p));
        if opens {
            let rest = &text[i + 1..];
            let name = rest
                .char_indices()
                .find(|&(_, n)| !is_name_char(n, c))
                .map_or(rest.len(), |(j, _)| j);
            let count = rest[..name].chars().count();
            let after = rest[name..].chars().next();
            let end = match c {
                // `:name:`, then a space, punctuation or the end.
                ':' if after == Some(':') => {
                    let next = rest[name + 1..].chars().next();
                    let closed = next.is_none_or(|n| !n.is_alphanumeric() && n != ':');
                    (closed && count > 0).then_some(i + 1 + name + 1)
                }
                // `@name`, not `@scope/package` nor `@name@host`.
                '@' if !matches!(after, Some('/' | '@')) && count > 0 => {
                    // A sentence's full stop after a mention is not the
                    // mention's.
                    let handle = rest[..name].trim_end_matches(['.', '-']);
                    (!handle.is_empty()).then_some(i + 1 + handle.len())
                }
                _ => None,
            };
            if let Some(end) = end.filter(|_| count <= MAX_NAME_CHARS) {
                spans.push((i, end));
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
                prev = text[..end].chars().next_back();
                continue;
            }
        }
        prev = Some(c);
    }
    spans
}

/// A character of a shortcode's name (`+1`, `thumbs_up`) or a handle's.
fn is_name_char(c: char, opener: char) -> bool {
    c.is_alphanumeric()
        || c == '_'
        || match opener {
            ':' => matches!(c, '+' | '-'),
            _ => matches!(c, '.' | '-'),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> String {
        without_decoration(s).into_owned()
    }

    #[test]
    fn shortcodes_and_mentions_go_with_their_space() {
        assert_eq!(plain("the widget is gone :sob:"), "the widget is gone");
        assert_eq!(plain("@kenji the widget is gone"), "the widget is gone");
        assert_eq!(
            plain("hey @support-team, calls drop :pepe_cry: :+1: again"),
            "hey, calls drop again"
        );
        assert_eq!(plain("ping @mod."), "ping.");
        assert_eq!(plain(":wave: :wave:"), "");
    }

    #[test]
    fn text_without_decoration_is_not_copied() {
        for s in ["calls drop", "", "error: 403", "a : b"] {
            assert!(matches!(without_decoration(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn code_addresses_times_and_error_codes_stay() {
        for s in [
            "npm i @widgetclient/sdk fails",
            "mail ops@example.com about it",
            "it failed at 10:30:45 again",
            "got cobrowse:consent:required back",
            "Code: 202 and status: 500",
            "listen on [::1]:8080",
            "user@host@relay bounced",
            "a lone @. stays",
        ] {
            assert_eq!(plain(s), s);
        }
    }

    #[test]
    fn long_names_are_not_decoration() {
        let long = format!("see :{}: there", "x".repeat(MAX_NAME_CHARS + 1));
        assert_eq!(plain(&long), long);
    }
}
