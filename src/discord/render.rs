//! Engine outputs → Discord messages: checklist embeds, choice buttons and
//! select menus, field prompts and ticket summaries, each kept within
//! Discord's limits (`text`). Nothing sent here pings anyone unless it says so.

use poise::serenity_prelude as serenity;
use serenity::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

use super::route::{Conv, Route};
use super::text::{self, len, truncate};
use crate::engine::{
    Action, CheckItem, Checklist, Choice, Choices, FieldPrompt, Output, TicketCard, TicketStatus,
    TicketUpdate,
};
use crate::kb::{Entry, KnowledgeBase};
use crate::report::Report;

/// Button labels are shorter than other labels.
const BUTTON_LABEL_MAX: usize = 80;
/// Embed colours: answers, tickets, "don't know".
const ANSWER_COLOUR: u32 = 0x2b_8a_3e;
const TICKET_COLOUR: u32 = 0xe6_7e_22;

/// One message to send, whatever it is sent through (interaction response,
/// follow-up, channel message).
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub content: String,
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
    /// The only roles this message may ping (the ticket hand-off: the
    /// support role, once).
    pub ping_roles: Vec<u64>,
    /// The only users this message may ping.
    pub ping_users: Vec<u64>,
    /// Characters of embed text so far, against the 6,000 total.
    embed_chars: usize,
}

impl Message {
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.content.trim().is_empty() && self.embeds.is_empty() && self.components.is_empty()
    }

    pub(crate) fn allowed_mentions(&self) -> serenity::CreateAllowedMentions {
        serenity::CreateAllowedMentions::new()
            .roles(self.ping_roles.iter().map(|&r| serenity::RoleId::new(r)))
            .users(self.ping_users.iter().map(|&u| serenity::UserId::new(u)))
    }

    /// As a poise reply (slash command response or follow-up).
    pub fn reply(&self, ephemeral: bool) -> poise::CreateReply {
        let r = poise::CreateReply::default()
            .content(self.content.clone())
            .components(self.components.clone())
            .ephemeral(ephemeral)
            .allowed_mentions(self.allowed_mentions());
        self.embeds
            .iter()
            .cloned()
            .fold(r, poise::CreateReply::embed)
    }

    /// As the first response to a component click.
    pub fn interaction(&self, ephemeral: bool) -> serenity::CreateInteractionResponseMessage {
        self.reply(ephemeral)
            .to_slash_initial_response(serenity::CreateInteractionResponseMessage::new())
    }

    /// As a follow-up to an acknowledged interaction.
    pub fn followup(&self, ephemeral: bool) -> serenity::CreateInteractionResponseFollowup {
        self.reply(ephemeral)
            .to_slash_followup_response(serenity::CreateInteractionResponseFollowup::new())
    }

    /// As the edit of a deferred interaction response.
    pub fn edit(&self) -> serenity::EditInteractionResponse {
        self.reply(false)
            .to_slash_initial_response_edit(serenity::EditInteractionResponse::new())
    }

    /// As a channel message.
    pub fn channel(&self) -> serenity::CreateMessage {
        serenity::CreateMessage::new()
            .content(self.content.clone())
            .embeds(self.embeds.clone())
            .components(self.components.clone())
            .allowed_mentions(self.allowed_mentions())
    }

    fn push_line(&mut self, line: &str) {
        if !self.content.is_empty() {
            self.content.push('\n');
        }
        self.content.push_str(line);
    }
}

/// A plain ephemeral poise reply (errors, refusals).
pub fn ephemeral(text: &str) -> poise::CreateReply {
    Message::text(truncate(text, text::CONTENT_MAX)).reply(true)
}

/// Renders one engine reply as messages for conversation `conv`. Text goes
/// first, a checklist becomes an embed with a "tried" menu, choices become
/// buttons (or a select menu when they do not fit); a field prompt starts
/// its own message. Over-long content is split over several messages, the
/// components staying with the last one. `TicketFiled` is rendered by
/// `ticket_summary` instead and skipped here.
pub fn outputs(outs: &[Output], conv: Conv) -> Vec<Message> {
    let mut msgs = vec![Message::default()];
    for out in outs {
        let cur = msgs.last_mut().expect("msgs is never empty");
        match out {
            Output::Text { text } => cur.push_line(text),
            Output::Notice { text } => cur.push_line(&format!("⚠️ {text}")),
            Output::Checklist(c) => {
                if !cur.embeds.is_empty() || !cur.components.is_empty() {
                    msgs.push(Message::default());
                }
                let cur = msgs.last_mut().expect("just pushed");
                let embed = checklist_embed(c, &mut cur.embed_chars);
                cur.embeds.push(embed);
                if let Some(row) = tried_menu(c, conv) {
                    cur.components.push(row);
                }
            }
            Output::Choices(ch) => {
                if cur.components.len() >= text::ROWS_MAX {
                    msgs.push(Message::default());
                }
                let cur = msgs.last_mut().expect("msgs is never empty");
                if !ch.prompt.is_empty() {
                    cur.push_line(&ch.prompt);
                }
                let room = text::ROWS_MAX - cur.components.len();
                cur.components.extend(choice_rows(ch, conv, room));
            }
            Output::FieldPrompt(f) => {
                if !cur.is_empty() {
                    msgs.push(Message::default());
                }
                msgs.last_mut()
                    .expect("msgs is never empty")
                    .push_line(&field_prompt(f));
            }
            Output::TicketUpdated(u) => cur.push_line(&ticket_update(u)),
            Output::TicketFiled(_) => {}
            Output::Ticket(n) => {
                if !cur.is_empty() {
                    msgs.push(Message::default());
                }
                msgs.push(super::lifecycle::note_message(n, None));
                msgs.push(Message::default());
            }
        }
    }
    msgs.into_iter()
        .flat_map(split_content)
        .filter(|m| !m.is_empty())
        .collect()
}

/// Splits a message whose content is over the limit; embeds and components
/// go with the last piece.
fn split_content(m: Message) -> Vec<Message> {
    if len(&m.content) <= text::CONTENT_MAX {
        return vec![m];
    }
    let mut pieces = text::split(&m.content, text::CONTENT_MAX);
    let last = pieces.pop().unwrap_or_default();
    let mut out: Vec<Message> = pieces.into_iter().map(Message::text).collect();
    out.push(Message { content: last, ..m });
    out
}

/// The checklist embed: the entry title, the checks numbered as the engine
/// gave them (the pinpointed one first), the guide. Checks that do not fit
/// are counted, not cut silently.
fn checklist_embed(c: &Checklist, total: &mut usize) -> CreateEmbed {
    let title = truncate(&c.title, text::EMBED_TITLE_MAX);
    let footer = truncate(
        &format!("{} · {}", c.product_name, c.entry),
        text::EMBED_FOOTER_MAX,
    );
    let guide = c.guide.as_ref().map(|g| {
        let v = match &g.url {
            Some(url) => format!("[{}]({url})", g.title),
            None => g.title.clone(),
        };
        truncate(&v, text::EMBED_FIELD_VALUE_MAX)
    });
    const GUIDE_NAME: &str = "Guide";
    let fixed =
        len(&title) + len(&footer) + guide.as_ref().map_or(0, |g| len(g) + GUIDE_NAME.len());
    // What the description may use: its own limit, and what is left of the
    // message's 6,000 after this embed's other parts and earlier embeds.
    let budget =
        text::EMBED_DESCRIPTION_MAX.min(text::EMBED_TOTAL_MAX.saturating_sub(*total + fixed));

    let mut desc = String::new();
    if let Some(note) = &c.note {
        desc.push_str(&format!("_{note}_\n\n"));
    }
    if c.checks.is_empty() && c.escalate_only {
        desc.push_str("There is no check you can run yourself for this one: press **Still broken** and a person will take it from here.");
    }
    let more_note = |n: usize| format!("\n…and {n} more check(s): `/kb show entry:{}`", c.entry);
    for (i, item) in c.checks.iter().enumerate() {
        let block = check_block(item);
        let left_after = c.checks.len() - i - 1;
        let reserve = if left_after > 0 {
            len(&more_note(left_after))
        } else {
            0
        };
        if len(&desc) + len(&block) + reserve <= budget {
            desc.push_str(&block);
            continue;
        }
        if i == 0 {
            // One check longer than the whole budget: shorten it rather
            // than show nothing.
            desc.push_str(&truncate(
                &block,
                budget.saturating_sub(len(&desc) + reserve),
            ));
            if left_after > 0 {
                desc.push_str(&more_note(left_after));
            }
        } else {
            desc.push_str(&more_note(c.checks.len() - i));
        }
        break;
    }
    let desc = truncate(desc.trim_end(), budget);
    *total += fixed + len(&desc);

    let mut e = CreateEmbed::new()
        .title(title)
        .description(desc)
        .colour(ANSWER_COLOUR)
        .footer(CreateEmbedFooter::new(footer));
    if let Some(g) = guide {
        e = e.field(GUIDE_NAME, g, false);
    }
    e
}

fn check_block(item: &CheckItem) -> String {
    let mut head = format!("**{}. {}**", item.number, item.cause);
    if item.pinpointed {
        head.push_str("  ← _this matches what you described_");
    }
    if item.tried {
        head.push_str("  ✓ _tried_");
    }
    format!(
        "{head}\n**Check:** {}\n**Fix:** {}\n\n",
        item.verify, item.fix
    )
}

/// "Which checks have you tried?": a multi-select of the checks by number.
fn tried_menu(c: &Checklist, conv: Conv) -> Option<CreateActionRow> {
    if c.checks.is_empty() {
        return None;
    }
    let id = Route::Tried { conv }.encode().ok()?;
    let options: Vec<_> = c
        .checks
        .iter()
        .take(text::CHOICES_MAX)
        .map(|item| {
            serenity::CreateSelectMenuOption::new(
                truncate(&format!("{}. {}", item.number, item.cause), text::LABEL_MAX),
                item.number.to_string(),
            )
            .default_selection(item.tried)
        })
        .collect();
    let n = u8::try_from(options.len()).unwrap_or(25);
    Some(CreateActionRow::SelectMenu(
        serenity::CreateSelectMenu::new(id, serenity::CreateSelectMenuKind::String { options })
            .placeholder("Which checks have you already tried?")
            .min_values(1)
            .max_values(n),
    ))
}

/// Buttons, five to a row, when they all fit in `room` rows and every
/// custom_id fits; otherwise one select menu whose values carry the actions.
fn choice_rows(ch: &Choices, conv: Conv, room: usize) -> Vec<CreateActionRow> {
    if room == 0 || ch.options.is_empty() {
        return Vec::new();
    }
    let buttons: Option<Vec<CreateButton>> = ch
        .options
        .iter()
        .map(|c| {
            let id = Route::Act {
                conv,
                action: c.action.clone(),
            }
            .encode()
            .ok()?;
            Some(
                CreateButton::new(id)
                    .label(truncate(&c.label, BUTTON_LABEL_MAX))
                    .style(button_style(&c.action)),
            )
        })
        .collect();
    match buttons {
        Some(b) if b.len() <= room * text::BUTTONS_PER_ROW_MAX => b
            .chunks(text::BUTTONS_PER_ROW_MAX)
            .map(|row| CreateActionRow::Buttons(row.to_vec()))
            .collect(),
        _ => choice_menu(&ch.options, conv).into_iter().collect(),
    }
}

fn choice_menu(options: &[Choice], conv: Conv) -> Option<CreateActionRow> {
    let id = Route::Menu { conv }.encode().ok()?;
    let options: Vec<_> = options
        .iter()
        .filter_map(|c| {
            let value = super::route::encode_action(&c.action).ok()?;
            Some(serenity::CreateSelectMenuOption::new(
                truncate(&c.label, text::LABEL_MAX),
                value,
            ))
        })
        .take(text::CHOICES_MAX)
        .collect();
    (!options.is_empty()).then(|| {
        CreateActionRow::SelectMenu(
            serenity::CreateSelectMenu::new(id, serenity::CreateSelectMenuKind::String { options })
                .placeholder("Choose one"),
        )
    })
}

fn button_style(a: &Action) -> ButtonStyle {
    match a {
        Action::Solved => ButtonStyle::Success,
        Action::Escalate => ButtonStyle::Danger,
        Action::PickEntry { .. } | Action::PickProduct { .. } => ButtonStyle::Primary,
        _ => ButtonStyle::Secondary,
    }
}

fn field_prompt(f: &FieldPrompt) -> String {
    let mut s = String::new();
    if let Some(problem) = &f.problem {
        s.push_str(&format!(
            "⚠️ That answer doesn't work: {problem}. Please try again.\n"
        ));
    }
    s.push_str(&format!(
        "**{}/{} · {}**\n{}\n_Example:_ `{}`",
        f.k, f.n, f.label, f.question, f.example
    ));
    if let Some(prev) = &f.previous {
        s.push_str(&format!("\n_Your previous answer:_ {prev}"));
    }
    s.push_str(
        "\n_Reply with a message here · `back` to change the previous answer · `cancel` to stop._",
    );
    s
}

/// In Discord's words: who did it is a mention (mentions never ping here).
fn ticket_update(u: &TicketUpdate) -> String {
    let verb = match u.status {
        TicketStatus::Open => "reopened",
        TicketStatus::Claimed => "claimed",
        TicketStatus::Closed => "closed",
    };
    let by = if u.by.as_str().chars().all(|c| c.is_ascii_digit()) {
        format!("<@{}>", u.by)
    } else {
        u.by.to_string()
    };
    match &u.reason {
        Some(r) => format!("**Ticket {}** was {verb} by {by}.\nReason: {r}", u.id),
        None => format!("**Ticket {}** was {verb} by {by}.", u.id),
    }
}

/// An entry's full checklist, for `/kb show`.
pub fn entry(kb: &KnowledgeBase, e: &Entry) -> Message {
    let c = Checklist::of_entry(kb, e);
    let mut m = Message::default();
    let embed = checklist_embed(&c, &mut m.embed_chars);
    m.embeds.push(embed);
    m
}

/// `/stats`: the report's headline figures and its top lists.
pub fn report(r: &Report, days: u32) -> Message {
    const TOP: usize = 5;
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let desc = format!(
        "**{}** questions · answered {} · solved by the checklist {} · escalated {}\n\
         Decisions: answer {} · suggest {} · none {}",
        r.questions,
        pct(r.answer_rate),
        pct(r.self_service_rate),
        pct(r.escalation_rate),
        r.decisions.answer,
        r.decisions.suggest,
        r.decisions.none,
    );
    let list = |lines: Vec<String>| {
        if lines.is_empty() {
            "—".to_owned()
        } else {
            truncate(&lines.join("\n"), text::EMBED_FIELD_VALUE_MAX)
        }
    };
    let unanswered = r
        .unanswered
        .iter()
        .take(TOP)
        .map(|g| format!("• {}× {}", g.count, truncate(&g.example, 150)))
        .collect();
    let funnel = r
        .funnel
        .iter()
        .take(TOP)
        .map(|f| {
            format!(
                "• {}: shown {}, solved {}, escalated {}",
                truncate(&f.title, 80),
                f.answered,
                f.solved,
                f.escalated
            )
        })
        .collect();
    let tried = r
        .tried
        .iter()
        .take(TOP)
        .map(|t| format!("• {}× {} (`{}`)", t.count, truncate(&t.cause, 100), t.entry))
        .collect();
    let embed = CreateEmbed::new()
        .title(format!("The last {days} day(s)"))
        .description(desc)
        .colour(ANSWER_COLOUR)
        .field("Unanswered questions", list(unanswered), false)
        .field("Entries shown", list(funnel), false)
        .field("Checks customers had already tried", list(tried), false);
    Message {
        embeds: vec![embed],
        ..Message::default()
    }
}

/// The staff hand-off: product, matched entry, checks tried, fields, the
/// original question. Values are user text: they go in an embed (never
/// pings) and are cut to the field limits.
pub fn ticket_summary(card: &TicketCard, customer: u64) -> CreateEmbed {
    let value = |s: &str| {
        truncate(
            if s.trim().is_empty() { "—" } else { s },
            text::EMBED_FIELD_VALUE_MAX,
        )
    };
    let mut total = 0usize;
    let mut fields: Vec<(String, String, bool)> = Vec::new();
    let mut add =
        |name: &str, v: String, inline: bool, fields: &mut Vec<(String, String, bool)>| {
            let name = truncate(name, text::EMBED_TITLE_MAX);
            // Keep 300 characters for the title and the footer.
            if fields.len() < text::EMBED_FIELDS_MAX
                && total + len(&name) + len(&v) <= text::EMBED_TOTAL_MAX - 300
            {
                total += len(&name) + len(&v);
                fields.push((name, v, inline));
            }
        };
    add("Customer", format!("<@{customer}>"), true, &mut fields);
    add("Product", value(&card.product_name), true, &mut fields);
    let entry = match (&card.entry, &card.entry_title) {
        (Some(id), Some(t)) => format!("{t} (`{id}`)"),
        (Some(id), None) => format!("`{id}`"),
        _ => "— (escalated directly)".into(),
    };
    add("Matched entry", value(&entry), false, &mut fields);
    let tried = if card.tried.is_empty() {
        "none reported".to_owned()
    } else {
        card.tried
            .iter()
            .map(|t| format!("• {}", t.cause))
            .collect::<Vec<_>>()
            .join("\n")
    };
    add("Checks tried", value(&tried), false, &mut fields);
    for f in &card.fields {
        add(&f.label, value(&f.value), false, &mut fields);
    }
    if let Some(q) = &card.question {
        add("Original question", value(q), false, &mut fields);
    }
    CreateEmbed::new()
        .title(truncate(
            &format!("Ticket {} · {}", card.id, card.product_name),
            text::EMBED_TITLE_MAX,
        ))
        .colour(TICKET_COLOUR)
        .fields(fields)
        .footer(CreateEmbedFooter::new(format!("status: {}", card.status)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ConversationKey;
    use crate::engine::{GuideLink, TicketId, TriedCheck};
    use crate::tickets::FieldValue;
    use serde_json::Value;

    const CONV: Conv = Conv {
        place: 10,
        user: 20,
    };

    fn check(n: usize, size: usize) -> CheckItem {
        CheckItem {
            number: n,
            id: format!("c{n}").as_str().into(),
            cause: format!("cause {n} {}", "c".repeat(size / 3)),
            verify: format!("verify {}", "v ".repeat(size / 6)),
            fix: format!("fix {}", "f ".repeat(size / 6)),
            pinpointed: n == 1,
            tried: false,
        }
    }

    fn checklist(n: usize, size: usize) -> Checklist {
        Checklist {
            entry: "c2c/no-audio".into(),
            title: "No audio on the call".into(),
            product: "c2c".into(),
            product_name: "c2c".into(),
            note: None,
            checks: (1..=n).map(|i| check(i, size)).collect(),
            escalate_only: false,
            guide: Some(GuideLink {
                title: "Audio guide".into(),
                url: Some("https://example.com/audio".into()),
            }),
        }
    }

    fn json<T: serde::Serialize>(t: &T) -> Value {
        serde_json::to_value(t).unwrap()
    }

    fn embed_chars(e: &Value) -> usize {
        let s = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
        s(&e["title"])
            + s(&e["description"])
            + s(&e["footer"]["text"])
            + e["fields"].as_array().map_or(0, |f| {
                f.iter().map(|f| s(&f["name"]) + s(&f["value"])).sum()
            })
    }

    fn feedback() -> Output {
        Output::Choices(Choices {
            prompt: String::new(),
            options: vec![
                Choice {
                    label: "Solved".into(),
                    action: Action::Solved,
                },
                Choice {
                    label: "Still broken".into(),
                    action: Action::Escalate,
                },
                Choice {
                    label: "Other matches".into(),
                    action: Action::More,
                },
            ],
        })
    }

    #[test]
    fn an_answer_is_one_embed_with_feedback_buttons_and_a_tried_menu() {
        let msgs = outputs(&[Output::Checklist(checklist(3, 60)), feedback()], CONV);
        assert_eq!(msgs.len(), 1);
        let v = json(&msgs[0].channel());
        let desc = v["embeds"][0]["description"].as_str().unwrap();
        assert!(desc.starts_with("**1. cause 1"), "{desc}");
        assert!(desc.contains("← _this matches"));
        let rows = v["components"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0]["components"][0]["type"], 3,
            "tried menu first: {rows:?}"
        );
        assert_eq!(rows[0]["components"][0]["max_values"], 3);
        let ids: Vec<&str> = rows[1]["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["custom_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.iter().all(|id| Route::decode(id).is_some()));
        assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
    }

    #[test]
    fn a_huge_checklist_stays_within_embed_limits_and_says_what_was_left_out() {
        let msgs = outputs(&[Output::Checklist(checklist(30, 900)), feedback()], CONV);
        let v = json(&msgs[0].channel());
        let e = &v["embeds"][0];
        let desc = e["description"].as_str().unwrap();
        assert!(desc.chars().count() <= text::EMBED_DESCRIPTION_MAX);
        assert!(embed_chars(e) <= text::EMBED_TOTAL_MAX);
        assert!(desc.contains("more check(s)"), "{desc}");
        let menu = &v["components"][0]["components"][0];
        assert_eq!(menu["options"].as_array().unwrap().len(), 25);
        for o in menu["options"].as_array().unwrap() {
            assert!(o["label"].as_str().unwrap().chars().count() <= text::LABEL_MAX);
        }
    }

    #[test]
    fn a_single_enormous_check_is_shortened_not_dropped() {
        let msgs = outputs(&[Output::Checklist(checklist(1, 9000))], CONV);
        let v = json(&msgs[0].channel());
        let desc = v["embeds"][0]["description"].as_str().unwrap();
        assert!(desc.starts_with("**1. cause 1"));
        assert!(desc.chars().count() <= text::EMBED_DESCRIPTION_MAX);
    }

    /// The channel message rendering `n` choices, the i-th labelled
    /// `label(i)`.
    fn rendered_choices(n: usize, label: impl Fn(usize) -> String) -> serde_json::Value {
        let options: Vec<Choice> = (0..n)
            .map(|i| Choice {
                label: label(i),
                action: Action::PickEntry {
                    entry: format!("c2c/e{i}").as_str().into(),
                },
            })
            .collect();
        let msgs = outputs(
            &[Output::Choices(Choices {
                prompt: "Which one?".into(),
                options,
            })],
            CONV,
        );
        json(&msgs[0].channel())
    }

    #[test]
    fn many_choices_become_a_select_menu_within_limits() {
        let v = rendered_choices(40, |i| format!("entry {i} {}", "long ".repeat(40)));
        let rows = v["components"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        let opts = rows[0]["components"][0]["options"].as_array().unwrap();
        assert_eq!(opts.len(), 25);
        assert!(opts
            .iter()
            .all(|o| o["label"].as_str().unwrap().chars().count() <= 100));
    }

    #[test]
    fn a_few_choices_are_buttons_with_short_labels() {
        let v = rendered_choices(7, |i| format!("{i} {}", "label ".repeat(30)));
        let rows = v["components"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
        for b in rows
            .iter()
            .flat_map(|r| r["components"].as_array().unwrap())
        {
            assert!(b["label"].as_str().unwrap().chars().count() <= BUTTON_LABEL_MAX);
            assert!(b["custom_id"].as_str().unwrap().len() <= 100);
        }
    }

    #[test]
    fn long_text_is_split_and_components_stay_with_the_last_piece() {
        let long = "word ".repeat(900);
        let msgs = outputs(&[Output::Text { text: long }, feedback()], CONV);
        assert!(msgs.len() >= 3);
        for m in &msgs {
            assert!(len(&m.content) <= text::CONTENT_MAX);
        }
        assert!(msgs[..msgs.len() - 1]
            .iter()
            .all(|m| m.components.is_empty()));
        assert!(!msgs.last().unwrap().components.is_empty());
    }

    #[test]
    fn a_ticket_summary_fits_and_pings_nobody_by_itself() {
        let card = TicketCard {
            id: TicketId(7),
            status: TicketStatus::Open,
            product: "convot".into(),
            product_name: "Convot".into(),
            entry: Some("convot/widget-not-appearing".into()),
            entry_title: Some("Widget does not appear".into()),
            question: Some("@everyone help ".repeat(200)),
            tried: vec![TriedCheck {
                id: "c1".into(),
                cause: "Script tag missing".into(),
            }],
            fields: (0..30)
                .map(|i| FieldValue {
                    id: format!("f{i}").as_str().into(),
                    label: format!("Field {i}"),
                    value: "x".repeat(1500),
                })
                .collect(),
            key: ConversationKey::new("1", "2"),
            opened_by: "2".into(),
        };
        let e = json(&ticket_summary(&card, 2));
        assert!(embed_chars(&e) <= text::EMBED_TOTAL_MAX);
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= 25);
        assert!(fields
            .iter()
            .all(|f| f["value"].as_str().unwrap().chars().count() <= 1024));
        let m = Message {
            embeds: vec![ticket_summary(&card, 2)],
            ..Message::default()
        };
        let v = json(&m.channel());
        assert_eq!(
            v["allowed_mentions"],
            serde_json::json!({"parse": [], "users": [], "roles": []})
        );
    }

    #[test]
    fn a_field_prompt_says_why_the_last_answer_was_refused() {
        let f = FieldPrompt {
            k: 1,
            n: 3,
            product: "convot".into(),
            field: "app_key".into(),
            label: "App key".into(),
            question: "What is your app key?".into(),
            example: "app_12ab".into(),
            problem: Some("an app key starts with `app_`".into()),
            previous: None,
        };
        let msgs = outputs(
            &[
                Output::Text {
                    text: "Thanks.".into(),
                },
                Output::FieldPrompt(f),
            ],
            CONV,
        );
        assert_eq!(msgs.len(), 2);
        assert!(msgs[1].content.contains("starts with `app_`"));
        assert!(msgs[1].content.contains("1/3"));
    }
}
