//! Discord's size limits and the text operations that respect them:
//! splitting long content at line or word boundaries (never mid-word unless
//! a single "word" is longer than the limit) and truncating with an ellipsis.

/// Message content.
pub const CONTENT_MAX: usize = 2000;
/// Embed description.
pub const EMBED_DESCRIPTION_MAX: usize = 4096;
/// Embed title, field name, author name.
pub const EMBED_TITLE_MAX: usize = 256;
/// Embed field value.
pub const EMBED_FIELD_VALUE_MAX: usize = 1024;
/// Embed footer.
pub const EMBED_FOOTER_MAX: usize = 2048;
/// All text of all embeds of one message together.
pub const EMBED_TOTAL_MAX: usize = 6000;
/// Fields per embed.
pub const EMBED_FIELDS_MAX: usize = 25;
/// Autocomplete choices, select options.
pub const CHOICES_MAX: usize = 25;
/// Action rows per message.
pub const ROWS_MAX: usize = 5;
/// Buttons per action row.
pub const BUTTONS_PER_ROW_MAX: usize = 5;
/// Button labels, select option labels/values/descriptions, choice names.
pub const LABEL_MAX: usize = 100;
/// Select menu placeholder.
pub const PLACEHOLDER_MAX: usize = 150;
/// Thread names.
pub const THREAD_NAME_MAX: usize = 100;

/// Discord counts characters, not bytes.
pub fn len(s: &str) -> usize {
    s.chars().count()
}

/// Byte index just past the first `n` characters of `s` (or `s.len()`).
fn byte_at(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
}

/// Shortens `s` to at most `max` characters, cutting at a word boundary
/// when one is reasonably close and marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if len(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let head = &s[..byte_at(s, max - 1)];
    let cut = head
        .rfind(char::is_whitespace)
        .filter(|&i| len(&head[..i]) >= (max - 1) / 2)
        .unwrap_or(head.len());
    format!("{}…", head[..cut].trim_end())
}

/// Splits `s` into pieces of at most `max` characters. Prefers a line
/// break, then a space, in the second half of each piece; a piece is cut
/// mid-word only when one word alone is longer than `max`. A code block
/// (```) cut in two is closed at the end of one piece and reopened at the
/// start of the next.
pub fn split(s: &str, max: usize) -> Vec<String> {
    const FENCE: &str = "```";
    // Room for closing "\n```" and reopening "```\n" around a piece.
    let room = if s.contains(FENCE) { 8 } else { 0 };
    assert!(max > room + 16, "split limit too small");
    let budget = max - room;

    let mut pieces = Vec::new();
    let mut rest = s.trim_end();
    let mut in_fence = false;
    while !rest.is_empty() {
        let (piece, next) = if len(rest) <= budget {
            (rest, "")
        } else {
            let window = &rest[..byte_at(rest, budget)];
            let half = byte_at(window, budget / 2);
            let at = |pat: &dyn Fn(char) -> bool, from: usize| {
                window[from..].rfind(pat).map(|i| i + from)
            };
            let cut = at(&|c| c == '\n', half)
                .or_else(|| at(&char::is_whitespace, half))
                .or_else(|| at(&|c| c == '\n', 0).filter(|&i| i > 0))
                .or_else(|| at(&char::is_whitespace, 0).filter(|&i| i > 0));
            match cut {
                // The whitespace itself is dropped: it is the break.
                Some(i) => {
                    let ws = window[i..].chars().next().map_or(1, char::len_utf8);
                    (&window[..i], &rest[i + ws..])
                }
                None => (window, &rest[window.len()..]),
            }
        };
        let mut out = String::with_capacity(piece.len() + room);
        if in_fence {
            out.push_str(FENCE);
            out.push('\n');
        }
        out.push_str(piece.trim_end());
        if piece.matches(FENCE).count() % 2 == 1 {
            in_fence = !in_fence;
        }
        if in_fence && !next.trim().is_empty() {
            out.push('\n');
            out.push_str(FENCE);
        }
        if !out.trim().is_empty() {
            pieces.push(out);
        }
        rest = next.trim_start_matches(['\n', '\r']);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split("hello world", 2000), vec!["hello world"]);
        assert!(split("", 2000).is_empty());
    }

    #[test]
    fn a_4000_char_paste_splits_at_lines_and_keeps_every_word() {
        let line = "error: Failed to load resource: net::ERR_BLOCKED_BY_CLIENT at widget.js:12";
        let paste: String = (0..60).map(|i| format!("{i:02} {line}\n")).collect();
        assert!(len(&paste) > 4000);
        let pieces = split(&paste, CONTENT_MAX);
        assert!(pieces.len() >= 3);
        for p in &pieces {
            assert!(len(p) <= CONTENT_MAX, "{}", len(p));
            // Every piece ends at the end of a line of the paste.
            assert!(p.ends_with("widget.js:12"), "{p:?}");
        }
        assert_eq!(words(&pieces.join("\n")), words(&paste));
    }

    #[test]
    fn prose_without_newlines_splits_between_words() {
        let prose = "the widget does not load on safari ".repeat(120);
        let pieces = split(&prose, CONTENT_MAX);
        for p in &pieces {
            assert!(len(p) <= CONTENT_MAX);
            assert!(!p.starts_with(' ') && !p.ends_with(' '));
        }
        assert_eq!(words(&pieces.join(" ")), words(&prose));
    }

    #[test]
    fn a_single_3000_char_word_is_cut_only_because_it_must() {
        let word = "x".repeat(3000);
        let text = format!("before {word} after");
        let pieces = split(&text, CONTENT_MAX);
        for p in &pieces {
            assert!(len(p) <= CONTENT_MAX);
        }
        // "before" is not glued to a fragment of the long word.
        assert_eq!(pieces[0], "before");
        assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));
    }

    #[test]
    fn multibyte_text_is_counted_in_characters() {
        let text = "ünïcödé ".repeat(600);
        for p in split(&text, CONTENT_MAX) {
            assert!(len(&p) <= CONTENT_MAX);
        }
    }

    #[test]
    fn a_cut_code_block_is_closed_and_reopened() {
        let body: String = (0..200).map(|i| format!("console line {i}\n")).collect();
        let text = format!("Here is my console:\n```\n{body}```\nthanks");
        let pieces = split(&text, CONTENT_MAX);
        assert!(pieces.len() >= 2);
        for p in &pieces {
            assert!(len(p) <= CONTENT_MAX);
            assert_eq!(p.matches("```").count() % 2, 0, "unbalanced fence in {p:?}");
        }
    }

    #[test]
    fn truncate_cuts_at_a_word_and_marks_it() {
        assert_eq!(truncate("short", 100), "short");
        let t = truncate(
            "The microphone permission prompt never appears in Safari",
            30,
        );
        assert!(len(&t) <= 30);
        assert!(t.ends_with('…'));
        assert!(!t.contains("Safar…"), "{t}");
        let t = truncate(&"y".repeat(300), 100);
        assert_eq!(len(&t), 100);
    }
}
