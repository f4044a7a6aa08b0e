//! Discord's message markup, read as a person reads it: what a customer's
//! message says before the engine keeps it (transcripts, ticket fields,
//! the dashboard) and the matcher reads it. On the wire a custom emoji is
//! `<:pepe_cry:123…>`, a member `<@123…>`, a command `</diagnose:123…>`
//! and a timestamp `<t:1765000000:R>`; a Discord client shows `:pepe_cry:`,
//! `@kenji`, `/diagnose` and a date, and so does `readable`. Role and
//! channel mentions stay as they are: a message does not carry their
//! names.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serenity::all::{Message, User};

/// Custom emoji, member mentions, command mentions and timestamps.
static MARKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"<a?:(?P<emoji>\w{1,32}):\d{1,20}>",
        r"|<@!?(?P<user>\d{1,20})>",
        r"|</(?P<command>[\w -]{1,100}):\d{1,20}>",
        r"|<t:(?P<time>-?\d{1,13})(?::[tTdDfFR])?>",
    ))
    .expect("a valid pattern")
});

/// What a customer's message says, as the engine keeps it: its content
/// as a client shows it, with the members it mentions by name.
pub fn message_text(msg: &Message) -> String {
    readable(&msg.content, &msg.mentions).into_owned()
}

/// `content` as a Discord client shows it. `mentions` are the message's
/// mentioned users (`Message::mentions`); a member mention of anyone else
/// stays as it is.
pub fn readable<'a>(content: &'a str, mentions: &[User]) -> Cow<'a, str> {
    MARKUP.replace_all(content, |c: &Captures<'_>| {
        if let Some(name) = c.name("emoji") {
            format!(":{}:", name.as_str())
        } else if let Some(id) = c.name("user") {
            id.as_str()
                .parse::<u64>()
                .ok()
                .and_then(|id| mentions.iter().find(|u| u.id.get() == id))
                .map_or_else(|| c[0].to_owned(), |u| format!("@{}", u.name))
        } else if let Some(command) = c.name("command") {
            format!("/{}", command.as_str())
        } else {
            c.name("time")
                .and_then(|t| t.as_str().parse::<i64>().ok())
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                .and_then(|t| t.format(DATE).ok())
                .unwrap_or_else(|| c[0].to_owned())
        }
    })
}

/// How a timestamp reads: to the minute, in UTC.
const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::all::UserId;

    fn user(id: u64, name: &str) -> User {
        let mut u = User::default();
        u.id = UserId::new(id);
        u.name = name.to_owned();
        u
    }

    #[test]
    fn markup_reads_as_a_client_shows_it() {
        let kenji = user(80351110224678912, "kenji");
        let text = "<@80351110224678912> <@!80351110224678912> the widget is gone \
                    <:pepe_cry:1234567890123456789> <a:spin:98765> since <t:1765000000:R>, \
                    tried </diagnose:111222333>";
        assert_eq!(
            readable(text, &[kenji]),
            "@kenji @kenji the widget is gone :pepe_cry: :spin: since 2025-12-06 05:46 UTC, \
             tried /diagnose"
        );
    }

    #[test]
    fn unknown_members_roles_and_channels_stay() {
        let text = "<@123> <@&456> <#789> said hi";
        assert_eq!(readable(text, &[]), text);
    }

    #[test]
    fn plain_text_and_lookalikes_are_not_copied() {
        for text in [
            "calls drop after 30 seconds",
            "a <b> tag, <:no id:> and <t:soon>",
            "List<T> and Map<K, V>",
        ] {
            assert!(matches!(readable(text, &[]), Cow::Borrowed(_)), "{text}");
        }
    }
}
