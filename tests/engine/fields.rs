//! Collecting the ticket fields during an escalation: each field in turn,
//! re-asks with the reason, the length limit, `back` and `cancel`, keywords
//! as answers, a new question setting the draft aside, and secrets redacted
//! from answers before they are stored.

use super::*;

#[test]
fn escalation_asks_each_field_in_turn_and_files_one_complete_ticket() {
    let mut h = Harness::new();
    h.escalate_audio();
    let r = h.say("app_abc123");
    assert_eq!((prompt(&r).k, prompt(&r).field.as_str()), (2, "page_url"));
    let r = h.say("https://shop.example.com/contact");
    assert_eq!(prompt(&r).k, 3);
    let r = h.say("2026-03-02 09:40 CET");
    assert_eq!(prompt(&r).k, 4);
    let r = h.say("I open the page, click call, and hear nothing at all");
    assert!(filed(&r));
    assert_eq!(h.phase(), Phase::Idle);

    let tickets = h.tickets();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t.status, TicketStatus::Open);
    assert_eq!(t.entry.as_ref().map(|e| e.as_str()), Some("demo/no-audio"));
    assert_eq!(t.question.as_deref(), Some("no audio at all"));
    assert_eq!(t.field("app_key"), Some("app_abc123"));
    assert_eq!(
        t.field("page_url"),
        Some("https://shop.example.com/contact")
    );
    assert_eq!(t.field("when"), Some("2026-03-02 09:40 CET"));
    assert_eq!(t.customer.as_str(), "alice");
    let json = serde_json::to_value(t).unwrap();
    assert_eq!(json["fields"]["app_key"], "app_abc123");
    assert_eq!(json["entry"], "demo/no-audio");
}

#[test]
fn every_invalid_field_answer_is_reasked_with_its_reason() {
    let mut h = Harness::new();
    h.escalate_audio();
    let r = h.say("abc123");
    assert_eq!(
        (prompt(&r).k, prompt(&r).problem.as_deref()),
        (1, Some("an app key starts with `app_`"))
    );
    let r = h.say("   ");
    assert_eq!(
        (prompt(&r).k, prompt(&r).problem.as_deref()),
        (1, Some("the answer is empty"))
    );
    let r = h.say("app_abc123");
    assert_eq!((prompt(&r).k, prompt(&r).problem.as_deref()), (2, None));
    let r = h.say("shop.example.com");
    assert_eq!(
        prompt(&r).problem.as_deref(),
        Some("a full URL, e.g. https://example.com")
    );
    h.say("https://shop.example.com");
    let r = h.say("yesterday afternoon");
    assert_eq!(
        (prompt(&r).k, prompt(&r).problem.as_deref()),
        (3, Some("please include a timezone, e.g. 14:05 CET"))
    );
    let r = h.say("14:05");
    assert_eq!(prompt(&r).k, 3);
    let r = h.say("14:05 CET");
    assert_eq!(prompt(&r).k, 4);
    let r = h.say("broken");
    assert_eq!(
        (prompt(&r).k, prompt(&r).problem.as_deref()),
        (4, Some("at least a sentence, please"))
    );
    assert!(h.tickets().is_empty());
}

#[test]
fn an_overlong_answer_is_refused_with_its_length_and_the_limit_is_kept_whole() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.say("app_abc123");
    h.say("https://shop.example.com");
    h.say("14:05 CET");
    let long = "step ".repeat(900); // 4500 characters with the spaces
    let r = h.say(&long);
    let n = long.trim().chars().count();
    assert_eq!(
        prompt(&r).problem.as_deref(),
        Some(format!("too long: {n} characters, the limit is {FIELD_LIMIT}").as_str())
    );
    let exact = format!("{}.", "x".repeat(FIELD_LIMIT - 1));
    assert!(filed(&h.say(&exact)));
    assert_eq!(
        h.tickets()[0].field("steps").map(str::len),
        Some(FIELD_LIMIT)
    );
}

#[test]
fn back_reasks_the_previous_field_showing_the_answer_given() {
    let mut h = Harness::new();
    h.escalate_audio();
    let r = h.say("back");
    assert_eq!(prompt(&r).k, 1);
    assert!(notices(&r).contains("first"));
    h.say("app_first");
    h.say("https://a.example.com");
    let r = h.say("back");
    assert_eq!(
        (prompt(&r).k, prompt(&r).previous.as_deref()),
        (2, Some("https://a.example.com"))
    );
    let r = h.say("back");
    assert_eq!(
        (prompt(&r).k, prompt(&r).previous.as_deref()),
        (1, Some("app_first"))
    );
    h.say("app_second");
    h.say("https://b.example.com");
    h.say("14:05 CET");
    h.say("open the page and click the call button");
    let t = &h.tickets()[0];
    assert_eq!(t.field("app_key"), Some("app_second"));
    assert_eq!(t.field("page_url"), Some("https://b.example.com"));
}

#[test]
fn cancel_ends_the_escalation_and_files_nothing() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.say("app_abc123");
    let r = h.say("cancel");
    assert!(!filed(&r));
    assert_eq!(h.phase(), Phase::Idle);
    assert!(h.tickets().is_empty());
    // Nothing pending any more: cancel says so.
    let r = h.say("cancel");
    assert!(notices(&r).contains("nothing to cancel"));
}

#[test]
fn keywords_other_than_cancel_and_back_are_field_answers_during_escalation() {
    let mut h = Harness::new();
    h.say("the bot is silent");
    h.say("escalate");
    h.say("app_x1");
    h.say("https://example.com");
    h.say("10:00 UTC");
    let r = h.say("solved solved solved");
    assert!(filed(&r));
    assert_eq!(h.tickets()[0].field("steps"), Some("solved solved solved"));
}

#[test]
fn a_new_question_during_escalation_via_ask_sets_the_draft_aside() {
    let mut h = Harness::new();
    h.escalate_audio();
    let id = h.id();
    let ask = Input {
        event: Event::Ask {
            text: "the widget is weird".into(),
        },
        ..Input::say(id, h.key.clone(), "")
    };
    let r = h.engine.handle(&ask).unwrap();
    assert!(notices(&r).contains("set aside"));
    assert_eq!(h.phase(), Phase::ChoosingEntry);
}

// ---------------------------------------------------------------- secrets

#[test]
fn secrets_in_answers_are_redacted_before_storing_and_the_user_is_told() {
    let mut h = Harness::new();
    let token = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456";
    let r = h.say(&format!("no audio, my bot token is {token}"));
    assert!(notices(&r).contains("Discord bot token"));
    h.say("escalate");
    h.say("app_abc123");
    h.say("https://shop.example.com/contact");
    let r = h.say("14:05 CET, identity secret: hmacS3cret");
    assert!(notices(&r).contains("password or secret"));
    let r = h.say("open the page; password: hunter2; then click call");
    assert!(filed(&r));
    let t = &h.tickets()[0];
    let all = serde_json::to_string(t).unwrap();
    for secret in [token, "hmacS3cret", "hunter2"] {
        assert!(!all.contains(secret), "{secret} leaked into {all}");
    }
    assert!(t.field("when").unwrap().starts_with("14:05 CET"));
    assert_eq!(t.field("app_key"), Some("app_abc123"));
    let log =
        serde_json::to_string(&h.store.queries_since(OffsetDateTime::UNIX_EPOCH).unwrap()).unwrap();
    assert!(!log.contains(token));
}
