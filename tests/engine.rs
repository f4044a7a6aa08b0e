//! The conversation engine through its public API, on a scripted matcher
//! (so decisions are fixed) and a real SQLite store: transitions, ticket
//! fields, duplicates, restarts, staff actions, redaction and the report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use triage::engine::{
    Action, ConversationKey, Engine, Event, FieldPrompt, Input, ManualClock, Matching, Output,
    Phase, Reply, StaffAction, StaffInput, TicketStatus, UserId, FIELD_LIMIT,
};
use triage::kb::{CheckId, EntryId, KnowledgeBase, ProductId};
use triage::matcher::{Candidate, Decision, Match, Query};
use triage::report;
use triage::tickets::{SqliteStore, Store, Ticket};

const DEMO: &str = r#"
product:
  id: demo
  name: Demo Widget
  ticket_fields:
    - id: app_key
      label: App key
      question: "What is your app key?"
      example: "app_123"
      validate:
        prefix: "app_"
        reason: "an app key starts with `app_`"
    - id: page_url
      label: Page URL
      question: "Which page?"
      example: "https://example.com"
      validate:
        format: url
        reason: "a full URL, e.g. https://example.com"
    - id: when
      label: When
      question: "When did it happen, with timezone?"
      example: "14:05 CET"
      validate:
        format: timestamp_tz
        reason: "please include a timezone, e.g. 14:05 CET"
    - id: steps
      label: Steps
      question: "What did you do?"
      example: "open the page, click call"
      validate:
        min_len: 10
        reason: "at least a sentence, please"
entries:
  - id: demo/no-audio
    title: No audio in calls
    symptoms: [no audio]
    checks:
      - id: mic
        cause: The microphone is blocked
        verify: Look at the address bar
        fix: Allow the microphone
      - id: speaker
        cause: The speaker is muted
        verify: Check the volume
        fix: Unmute
      - id: proxy
        cause: A corporate proxy blocks media
        verify: Try another network
        fix: Allow the TURN ports
  - id: demo/blank
    title: The widget is blank
    symptoms: [blank widget]
    checks:
      - id: key
        cause: Wrong key
        verify: Compare keys
        fix: Paste the right key
  - id: demo/bot-silent
    title: The bot never replies
    symptoms: [bot silent]
    escalate_only: true
    note: The vendor gives no self-service check for this.
"#;

const OTHER: &str = r#"
product:
  id: other
  name: Other Thing
  ticket_fields:
    - id: details
      label: Details
      question: "Tell us more"
      example: "it broke"
entries:
  - id: other/broken
    title: It is broken
    symptoms: [broken]
    checks:
      - id: restart
        cause: Needs a restart
        verify: Restart
        fix: Restart it
"#;

fn kb() -> KnowledgeBase {
    KnowledgeBase::from_sources(&[
        (PathBuf::from("demo.yaml"), DEMO.to_owned()),
        (PathBuf::from("other.yaml"), OTHER.to_owned()),
    ])
    .expect("fixture knowledge base is valid")
}

/// A matcher with fixed answers: the first rule whose words appear in the
/// question (and whose product fits) decides.
struct Script {
    kb: KnowledgeBase,
}

fn cand(id: &str) -> Candidate {
    Candidate {
        id: EntryId::new(id),
        title: id.to_owned(),
        score: 0.5,
    }
}

impl Matching for Script {
    fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    fn find(&self, q: &Query<'_>) -> Match {
        let t = q.text.to_lowercase();
        let product = q.product.map(|p| p.as_str().to_owned());
        let m = |decision, ids: &[&str], check: Option<&str>| Match {
            decision,
            product: None,
            results: ids.iter().map(|i| cand(i)).collect(),
            check: check.map(CheckId::new),
        };
        if t.contains("proxy") {
            m(
                Decision::Answer,
                &["demo/no-audio", "demo/blank"],
                Some("proxy"),
            )
        } else if t.contains("audio") {
            m(Decision::Answer, &["demo/no-audio", "demo/blank"], None)
        } else if t.contains("bot") {
            m(Decision::Answer, &["demo/bot-silent"], None)
        } else if t.contains("weird") {
            m(Decision::Suggest, &["demo/blank", "demo/no-audio"], None)
        } else if t.contains("vague") && product.as_deref() == Some("demo") {
            m(Decision::Answer, &["demo/blank"], None)
        } else {
            m(Decision::None, &[], None)
        }
    }
}

/// One engine on one database, with a clock and a conversation to drive.
struct Harness {
    engine: Engine,
    clock: Arc<ManualClock>,
    store: Arc<SqliteStore>,
    key: ConversationKey,
    next: u32,
}

impl Harness {
    fn new() -> Self {
        Self::with_store(Arc::new(SqliteStore::in_memory().unwrap()))
    }

    fn on_disk(path: &Path) -> Self {
        Self::with_store(Arc::new(SqliteStore::open(path).unwrap()))
    }

    fn with_store(store: Arc<SqliteStore>) -> Self {
        let clock = Arc::new(ManualClock::new(datetime!(2026-03-02 10:00 UTC)));
        let engine = Engine::new(Arc::new(Script { kb: kb() }), store.clone(), clock.clone());
        Self {
            engine,
            clock,
            store,
            key: ConversationKey::new("chan-1", "alice"),
            next: 0,
        }
    }

    fn id(&mut self) -> String {
        self.next += 1;
        format!("in-{}", self.next)
    }

    fn say(&mut self, text: &str) -> Reply {
        let id = self.id();
        self.engine
            .handle(&Input::say(id, self.key.clone(), text))
            .unwrap()
    }

    fn act(&mut self, action: Action) -> Reply {
        let id = self.id();
        self.engine
            .handle(&Input::act(id, self.key.clone(), action))
            .unwrap()
    }

    fn phase(&self) -> Phase {
        self.engine.resume(&self.key).unwrap().phase
    }

    fn tickets(&self) -> Vec<Ticket> {
        self.store.tickets(None).unwrap()
    }

    /// Asks the audio question and escalates: now at field 1 of 4.
    fn escalate_audio(&mut self) {
        self.say("no audio at all");
        let r = self.say("escalate");
        assert_eq!(prompt(&r).k, 1);
    }

    fn fill_valid(&mut self) -> Reply {
        self.say("app_abc123");
        self.say("https://shop.example.com/contact");
        self.say("2026-03-02 09:40 CET");
        self.say("I open the page, click call, and hear nothing at all")
    }
}

fn prompt(r: &Reply) -> &FieldPrompt {
    r.outputs
        .iter()
        .find_map(|o| match o {
            Output::FieldPrompt(p) => Some(p),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field prompt in {:#?}", r.outputs))
}

fn checklist(r: &Reply) -> &triage::engine::Checklist {
    r.outputs
        .iter()
        .find_map(|o| match o {
            Output::Checklist(c) => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no checklist in {:#?}", r.outputs))
}

fn choices(r: &Reply) -> Vec<Action> {
    r.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Choices(c) => Some(c.options.iter().map(|o| o.action.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

fn notices(r: &Reply) -> String {
    r.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Notice { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn filed(r: &Reply) -> bool {
    r.outputs
        .iter()
        .any(|o| matches!(o, Output::TicketFiled(_)))
}

// ---------------------------------------------------------------- answers

#[test]
fn confident_match_answers_with_the_checklist_and_feedback_buttons() {
    let mut h = Harness::new();
    let r = h.say("no audio on calls");
    let c = checklist(&r);
    assert_eq!(c.entry.as_str(), "demo/no-audio");
    assert_eq!(
        c.checks.iter().map(|c| c.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let acts = choices(&r);
    assert!(
        acts.contains(&Action::Solved)
            && acts.contains(&Action::Escalate)
            && acts.contains(&Action::More)
    );
    assert_eq!(
        h.phase(),
        Phase::Answered {
            entry: EntryId::new("demo/no-audio")
        }
    );
}

#[test]
fn pinpointed_check_comes_first_and_tried_numbers_follow_the_shown_order() {
    let mut h = Harness::new();
    let r = h.say("audio fails behind our corporate proxy");
    let c = checklist(&r);
    let ids: Vec<&str> = c.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["proxy", "mic", "speaker"]);
    assert!(c.checks[0].pinpointed && !c.checks[1].pinpointed);

    // "1" is the proxy check as shown, not the entry's first check.
    let r = h.say("tried 1");
    let c = checklist(&r);
    assert!(c.checks[0].tried && !c.checks[1].tried);
}

#[test]
fn trying_every_check_offers_escalation_and_the_ticket_lists_them() {
    let mut h = Harness::new();
    h.say("no audio");
    let r = h.say("I already tried checks 1 and 3");
    assert!(!r.outputs.is_empty());
    let r = h.act(Action::Tried { checks: vec![2] });
    assert!(choices(&r).contains(&Action::Escalate));
    h.say("escalate");
    h.fill_valid();
    let t = &h.tickets()[0];
    let tried: Vec<&str> = t.tried.iter().map(|c| c.as_str()).collect();
    assert_eq!(tried, ["mic", "speaker", "proxy"]);
}

#[test]
fn tried_with_a_number_outside_the_checklist_is_refused() {
    let mut h = Harness::new();
    h.say("no audio");
    let r = h.say("tried 7");
    assert!(notices(&r).contains("1 to 3"));
    assert_eq!(
        h.phase(),
        Phase::Answered {
            entry: EntryId::new("demo/no-audio")
        }
    );
}

#[test]
fn solved_ends_the_conversation_and_is_logged() {
    let mut h = Harness::new();
    h.say("no audio");
    h.say("solved");
    assert_eq!(h.phase(), Phase::Idle);
    let q = h.store.queries_since(OffsetDateTime::UNIX_EPOCH).unwrap();
    assert_eq!(q[0].feedback, Some(triage::tickets::Feedback::Solved));
    assert!(h.tickets().is_empty());
}

#[test]
fn suggest_offers_choices_and_a_number_picks_one() {
    let mut h = Harness::new();
    let r = h.say("something weird happens");
    let acts = choices(&r);
    assert_eq!(
        acts[..2],
        [
            Action::PickEntry {
                entry: EntryId::new("demo/blank")
            },
            Action::PickEntry {
                entry: EntryId::new("demo/no-audio")
            }
        ]
    );
    assert_eq!(h.phase(), Phase::ChoosingEntry);
    let r = h.say("2");
    assert_eq!(checklist(&r).entry.as_str(), "demo/no-audio");
}

#[test]
fn more_shows_the_other_matches() {
    let mut h = Harness::new();
    h.say("no audio");
    h.say("tried 1");
    let r = h.say("more");
    assert_eq!(
        choices(&r)[0],
        Action::PickEntry {
            entry: EntryId::new("demo/blank")
        }
    );
    let r = h.say("1");
    assert_eq!(checklist(&r).entry.as_str(), "demo/blank");
    // The log follows the entry shown; "tried 1" was about the other one.
    let q = &h.store.queries_since(OffsetDateTime::UNIX_EPOCH).unwrap()[0];
    assert_eq!(q.entry.as_ref().map(|e| e.as_str()), Some("demo/blank"));
    assert!(q.tried.is_empty());
}

#[test]
fn no_match_asks_the_product_then_matches_again_within_it() {
    let mut h = Harness::new();
    let r = h.say("something vague");
    assert!(choices(&r).contains(&Action::PickProduct {
        product: ProductId::new("demo")
    }));
    assert_eq!(h.phase(), Phase::ChoosingProduct);
    let r = h.say("Demo Widget");
    assert_eq!(checklist(&r).entry.as_str(), "demo/blank");
}

#[test]
fn where_only_some_products_are_offered_only_they_are_offered_for_choice() {
    let mut h = Harness::new();
    let offered = Some(vec![ProductId::new("other")]);
    for (text, n) in [("something vague", 0), ("escalate", 1)] {
        let id = h.id();
        let key = ConversationKey::new(format!("chan-{n}"), "alice");
        let r = h
            .engine
            .handle(&Input::say(id, key.clone(), text).offering(offered.clone()))
            .unwrap();
        let picks = |outputs: Vec<Output>| {
            choices(&Reply {
                outputs,
                ..r.clone()
            })
            .into_iter()
            .filter(|a| matches!(a, Action::PickProduct { .. }))
            .collect::<Vec<_>>()
        };
        let only_other = [Action::PickProduct {
            product: ProductId::new("other"),
        }];
        assert_eq!(picks(r.outputs.clone()), only_other, "{text}");
        // Picking the conversation up later shows the same choice.
        let resumed = h.engine.resume(&key).unwrap();
        assert_eq!(resumed.phase, Phase::ChoosingProduct);
        assert_eq!(picks(resumed.outputs), only_other, "{text}, resumed");
        // "1" is the first offered product, not the knowledge base's first.
        let id = h.id();
        let r = h
            .engine
            .handle(&Input::say(id, key, "1").offering(offered.clone()))
            .unwrap();
        if text == "escalate" {
            assert_eq!(prompt(&r).product.as_str(), "other");
        }
    }
    // A product that is not offered here cannot be picked, even by a
    // crafted button.
    let key = ConversationKey::new("chan-2", "alice");
    let id = h.id();
    h.engine
        .handle(&Input::say(id, key.clone(), "escalate").offering(offered.clone()))
        .unwrap();
    let id = h.id();
    let r = h
        .engine
        .handle(
            &Input::act(
                id,
                key,
                Action::PickProduct {
                    product: ProductId::new("demo"),
                },
            )
            .offering(offered),
        )
        .unwrap();
    assert!(notices(&r).contains("don't know a product"), "{r:#?}");
    assert!(!choices(&r).contains(&Action::PickProduct {
        product: ProductId::new("demo")
    }));
}

#[test]
fn no_match_in_a_product_then_escalates_with_the_question() {
    let mut h = Harness::new();
    h.say("the moon is purple");
    let r = h.act(Action::PickProduct {
        product: ProductId::new("other"),
    });
    assert!(choices(&r).contains(&Action::Escalate));
    assert_eq!(h.phase(), Phase::NoMatch);
    let r = h.say("escalate");
    assert_eq!((prompt(&r).k, prompt(&r).n), (1, 1));
    let r = h.say("it is still purple");
    assert!(filed(&r));
    let t = &h.tickets()[0];
    assert_eq!(t.product.as_str(), "other");
    assert_eq!(t.entry, None);
    assert_eq!(t.question.as_deref(), Some("the moon is purple"));
}

#[test]
fn escalate_only_entry_goes_straight_to_the_escalation_offer() {
    let mut h = Harness::new();
    let r = h.say("the bot is silent");
    let c = checklist(&r);
    assert!(c.escalate_only && c.checks.is_empty());
    assert_eq!(choices(&r), [Action::Escalate, Action::Cancel]);
    let r = h.act(Action::Escalate);
    assert_eq!(prompt(&r).field.as_str(), "app_key");
}

#[test]
fn direct_escalation_without_a_question_asks_the_product_first() {
    let mut h = Harness::new();
    let r = h.say("escalate");
    assert!(choices(&r).contains(&Action::PickProduct {
        product: ProductId::new("other")
    }));
    let r = h.say("2");
    assert_eq!(prompt(&r).product.as_str(), "other");
    h.say("it broke after the update");
    let t = &h.tickets()[0];
    assert_eq!(t.question, None);
    assert_eq!(t.field("details"), Some("it broke after the update"));
}

#[test]
fn direct_escalation_in_a_product_channel_starts_collecting() {
    let mut h = Harness::new();
    let id = h.id();
    let input =
        Input::act(id, h.key.clone(), Action::Escalate).in_product(Some(ProductId::new("demo")));
    let r = h.engine.handle(&input).unwrap();
    assert_eq!((prompt(&r).k, prompt(&r).n), (1, 4));
}

// ---------------------------------------------------------------- fields

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

// ---------------------------------------------------------------- durability

#[test]
fn a_redelivered_input_changes_nothing_and_gets_the_same_reply() {
    let h = Harness::new();
    let key = h.key.clone();
    let script = [
        "no audio",
        "escalate",
        "app_abc123",
        "https://shop.example.com",
        "14:05 CET",
        "I open the page and click call",
    ];
    for (i, line) in script.iter().enumerate() {
        let input = Input::say(format!("msg-{i}"), key.clone(), *line);
        let first = h.engine.handle(&input).unwrap();
        assert!(!first.duplicate);
        // Discord redelivers after a reconnect: same id, maybe twice.
        for _ in 0..2 {
            let again = h.engine.handle(&input).unwrap();
            assert!(again.duplicate);
            assert_eq!(again.outputs, first.outputs);
        }
    }
    assert_eq!(h.tickets().len(), 1);
    assert_eq!(
        h.store
            .queries_since(OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        1
    );
    // A replayed last line after filing does not file a second ticket.
    let last = Input::say("msg-5", key, "I open the page and click call");
    assert!(h.engine.handle(&last).unwrap().duplicate);
    assert_eq!(h.tickets().len(), 1);
}

#[test]
fn a_redelivered_input_whose_reply_was_never_delivered_gets_it_again() {
    let mut h = Harness::new();
    h.say("no audio at all");
    let input = Input::say("esc-1", h.key.clone(), "escalate").made_in(Some("thread-7".into()));
    let first = h.engine.handle(&input).unwrap();
    assert!(!first.duplicate && first.undelivered);
    // The post failed (or the process died): the redelivery carries the
    // reply again, and changes nothing.
    let again = h.engine.handle(&input).unwrap();
    assert!(again.duplicate && again.undelivered);
    assert_eq!(again.outputs, first.outputs);
    assert_eq!(prompt(&again).k, 1);
    assert!(matches!(h.phase(), Phase::Collecting { k: 1, .. }));
    // Listed for a late post, with where the input was made.
    let pending = h.engine.undelivered(Duration::days(1)).unwrap();
    let late = pending.iter().find(|p| p.id == input.id).unwrap();
    assert_eq!(late.origin.as_ref().map(|o| o.as_str()), Some("thread-7"));
    assert_eq!(late.key.as_ref(), Some(&h.key));
    assert_eq!(late.outputs, first.outputs);
}

#[test]
fn a_delivered_reply_is_not_repeated_or_listed() {
    let h = Harness::new();
    let input = Input::say("q-1", h.key.clone(), "no audio at all");
    h.engine.handle(&input).unwrap();
    h.engine.mark_delivered(&input.id).unwrap();
    let again = h.engine.handle(&input).unwrap();
    assert!(again.duplicate && !again.undelivered);
    assert!(again.outputs.is_empty(), "{:?}", again.outputs);
    assert!(h.engine.undelivered(Duration::days(1)).unwrap().is_empty());
    // Old undelivered replies are past the window.
    let old = Input::say("q-2", h.key.clone(), "solved");
    h.engine.handle(&old).unwrap();
    assert_eq!(h.engine.undelivered(Duration::days(1)).unwrap().len(), 1);
    h.clock.advance(Duration::days(2));
    assert!(h.engine.undelivered(Duration::days(1)).unwrap().is_empty());
}

#[test]
fn the_same_text_under_a_new_id_is_a_new_answer() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.say("app_abc123");
    // Same words again, new delivery: it answers the next field (and fails
    // its validation), it is not dropped as a duplicate.
    let r = h.say("app_abc123");
    assert!(!r.duplicate);
    assert_eq!(prompt(&r).k, 2);
    assert!(prompt(&r).problem.is_some());
}

#[test]
fn a_restart_resumes_the_escalation_at_the_field_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("triage.db");
    {
        let mut h = Harness::on_disk(&db);
        h.escalate_audio();
        h.say("app_abc123");
        h.say("https://shop.example.com");
    } // dropped: as good as a crash, since every step was committed
    let mut h = Harness::on_disk(&db);
    h.next = 100;
    let resume = h.engine.resume(&h.key).unwrap();
    assert_eq!(
        resume.phase,
        Phase::Collecting {
            product: ProductId::new("demo"),
            k: 3,
            n: 4
        }
    );
    assert_eq!(resume.inputs_seen, 4);
    assert!(resume
        .outputs
        .iter()
        .any(|o| matches!(o, Output::FieldPrompt(p) if p.k == 3)));
    h.say("14:05 CET");
    assert!(filed(&h.say("I open the page and click call")));
    let t = &h.tickets()[0];
    assert_eq!(t.field("app_key"), Some("app_abc123"));
    assert_eq!(t.field("page_url"), Some("https://shop.example.com"));
}

#[test]
fn conversations_are_kept_apart_by_place_and_user() {
    let mut h = Harness::new();
    h.escalate_audio();
    let bob = ConversationKey::new("chan-1", "bob");
    let r = h
        .engine
        .handle(&Input::say("bob-1", bob.clone(), "no audio"))
        .unwrap();
    assert_eq!(checklist(&r).entry.as_str(), "demo/no-audio");
    let thread = ConversationKey::new("thread-9", "alice");
    assert_eq!(h.engine.resume(&thread).unwrap().phase, Phase::Idle);
    assert!(matches!(h.phase(), Phase::Collecting { k: 1, .. }));
}

#[test]
fn engine_and_store_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<SqliteStore>();
    let h = Harness::new();
    let engine = Arc::new(h.engine);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let e = engine.clone();
            std::thread::spawn(move || {
                let key = ConversationKey::new("chan", format!("user-{i}"));
                e.handle(&Input::say(format!("t{i}-1"), key.clone(), "no audio"))
                    .unwrap();
                e.handle(&Input::say(format!("t{i}-2"), key, "solved"))
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        h.store
            .queries_since(OffsetDateTime::UNIX_EPOCH)
            .unwrap()
            .len(),
        4
    );
}

// ---------------------------------------------------------------- staff

fn staff(h: &Harness, id: &str, ticket: triage::tickets::TicketId, action: StaffAction) -> Reply {
    h.engine
        .staff(&StaffInput {
            id: id.into(),
            staff: UserId::new("sam"),
            ticket,
            action,
            reason: None,
        })
        .unwrap()
}

#[test]
fn staff_claim_close_and_reopen_a_ticket() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.fill_valid();
    let id = h.tickets()[0].id;
    staff(&h, "s1", id, StaffAction::Claim);
    let t = h.store.ticket(id).unwrap().unwrap();
    assert_eq!(
        (t.status, t.claimed_by.as_ref().map(|u| u.as_str())),
        (TicketStatus::Claimed, Some("sam"))
    );
    let r = staff(&h, "s2", id, StaffAction::Close);
    match &r.outputs[0] {
        Output::TicketUpdated(u) => {
            assert_eq!(u.status, TicketStatus::Closed);
            assert_eq!(u.key, h.key);
        }
        other => panic!("unexpected {other:?}"),
    }
    let r = staff(&h, "s3", id, StaffAction::Claim);
    assert!(notices(&r).contains("reopen it first"));
    staff(&h, "s4", id, StaffAction::Reopen);
    assert_eq!(
        h.store.ticket(id).unwrap().unwrap().status,
        TicketStatus::Open
    );
    // A redelivered close does not close the reopened ticket again.
    assert!(staff(&h, "s2", id, StaffAction::Close).duplicate);
    assert_eq!(
        h.store.ticket(id).unwrap().unwrap().status,
        TicketStatus::Open
    );
    let r = staff(&h, "s5", triage::tickets::TicketId(999), StaffAction::Close);
    assert!(notices(&r).contains("no ticket #999"));
}

#[test]
fn a_close_reason_is_stored_with_the_ticket_until_it_is_reopened() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.fill_valid();
    let id = h.tickets()[0].id;
    let close = |input: &str, reason: &str| {
        h.engine
            .staff(&StaffInput {
                id: input.into(),
                staff: UserId::new("sam"),
                ticket: id,
                action: StaffAction::Close,
                reason: Some(reason.into()),
            })
            .unwrap()
    };
    let r = close("s1", "  fixed the TURN ports  ");
    match &r.outputs[0] {
        Output::TicketUpdated(u) => {
            assert_eq!(u.reason.as_deref(), Some("fixed the TURN ports"));
            assert!(u.text.contains("fixed the TURN ports"), "{}", u.text);
        }
        other => panic!("unexpected {other:?}"),
    }
    let t = h.store.ticket(id).unwrap().unwrap();
    assert_eq!(t.close_reason.as_deref(), Some("fixed the TURN ports"));
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["close_reason"], "fixed the TURN ports");
    staff(&h, "s2", id, StaffAction::Reopen);
    assert_eq!(h.store.ticket(id).unwrap().unwrap().close_reason, None);
    // A reason with a secret in it is stored without the secret.
    close(
        "s3",
        "rotated ghp_0123456789abcdefghijklmnopqrstuvwxyzAB for them",
    );
    let stored = h.store.ticket(id).unwrap().unwrap().close_reason.unwrap();
    assert!(!stored.contains("ghp_0123"), "{stored}");
}

#[test]
fn a_ticket_is_found_by_the_place_it_was_attached_to_or_asked_in() {
    let mut h = Harness::new();
    h.escalate_audio();
    h.fill_valid();
    let id = h.tickets()[0].id;
    let thread = triage::tickets::Place::new("thread-42");
    assert_eq!(h.store.ticket_at(&thread).unwrap(), None);
    // Where the conversation happened (a forum post is its own thread).
    assert_eq!(h.store.ticket_at(&h.key.place).unwrap(), Some(id));
    h.store.attach_place(id, &thread).unwrap();
    assert_eq!(h.store.ticket_at(&thread).unwrap(), Some(id));
    // A second ticket handed off in the same place takes it over.
    h.escalate_audio();
    h.fill_valid();
    let second = h.tickets()[0].id;
    assert_ne!(second, id);
    h.store.attach_place(second, &thread).unwrap();
    assert_eq!(h.store.ticket_at(&thread).unwrap(), Some(second));
}

#[test]
fn staff_diagnosing_for_a_customer_files_the_ticket_as_the_customers() {
    let mut h = Harness::new();
    let sam = UserId::new("sam");
    let ask = Input::say("d1", h.key.clone(), "no audio for this customer").by(sam.clone());
    h.engine.handle(&ask).unwrap();
    h.engine
        .handle(&Input::act("d2", h.key.clone(), Action::Escalate).by(sam.clone()))
        .unwrap();
    h.next = 10;
    h.fill_valid();
    let t = &h.tickets()[0];
    assert_eq!(t.customer.as_str(), "alice");
    assert_eq!(t.opened_by, sam);
    let q = &h.store.queries_since(OffsetDateTime::UNIX_EPOCH).unwrap()[0];
    assert_eq!((q.key.user.as_str(), q.asked_by.as_str()), ("alice", "sam"));
}

// ---------------------------------------------------------------- report

#[test]
fn report_figures_follow_the_scripted_history() {
    let mut h = Harness::new();
    let start = datetime!(2026-03-02 10:00 UTC);
    let mut user = 0;
    let mut conv = |h: &mut Harness, days_ago: i64, lines: &[&str]| {
        user += 1;
        h.key = ConversationKey::new("chan", format!("u{user}"));
        h.clock.set(start - Duration::days(days_ago));
        for l in lines {
            h.say(l);
        }
    };
    // Within the last 7 days: 6 questions.
    conv(&mut h, 1, &["no audio", "tried 1", "solved"]);
    conv(
        &mut h,
        1,
        &[
            "no audio",
            "tried 1,2",
            "escalate",
            "app_a1",
            "https://x.io",
            "9:00 UTC",
            "clicked call, silence",
        ],
    );
    conv(&mut h, 2, &["the blue screen of doom"]);
    conv(&mut h, 2, &["Blue screen of DOOM!"]);
    conv(&mut h, 3, &["printer on fire"]);
    conv(&mut h, 3, &["something weird", "1", "solved"]);
    // Too old for --since 7.
    conv(&mut h, 30, &["no audio", "solved"]);
    h.clock.set(start);

    let since = start - Duration::days(7);
    let records = h.store.queries_since(since).unwrap();
    let r = report::compute(&records, h.engine.kb(), since, start);
    assert_eq!(r.questions, 6);
    assert_eq!(r.answered, 3); // two direct answers, one picked from suggestions
    assert_eq!(r.solved, 2);
    assert_eq!(r.escalated, 1);
    assert_eq!(r.decisions.answer, 2);
    assert_eq!(r.decisions.suggest, 1);
    assert_eq!(r.decisions.none, 3);
    assert!((r.answer_rate - 0.5).abs() < 1e-9);
    assert!((r.self_service_rate - 2.0 / 3.0).abs() < 1e-9);

    // The two "blue screen" questions group together, first.
    assert_eq!(r.unanswered[0].count, 2);
    assert_eq!(r.unanswered.len(), 2);

    let audio = r
        .funnel
        .iter()
        .find(|f| f.entry.as_str() == "demo/no-audio")
        .unwrap();
    assert_eq!((audio.answered, audio.solved, audio.escalated), (2, 1, 1));
    let blank = r
        .funnel
        .iter()
        .find(|f| f.entry.as_str() == "demo/blank")
        .unwrap();
    assert_eq!((blank.answered, blank.solved, blank.escalated), (1, 1, 0));

    // "mic" was tried twice, "speaker" once.
    assert_eq!(r.tried[0].check.as_str(), "mic");
    assert_eq!(r.tried[0].count, 2);
    assert_eq!(r.tried[1].count, 1);
}

// ---------------------------------------------------------------- timing

/// Not a timed test: prints per-input latency on an on-disk database
/// (`cargo test --release --test engine -- --ignored --nocapture`).
#[test]
#[ignore]
fn measure_input_latency_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::on_disk(&dir.path().join("triage.db"));
    let script = [
        "no audio",
        "tried 1",
        "escalate",
        "app_abc123",
        "https://shop.example.com",
        "14:05 CET",
        "I open the page and click call",
    ];
    let mut times = Vec::new();
    for round in 0..200 {
        h.key = ConversationKey::new("chan", format!("u{round}"));
        for line in script {
            let t = std::time::Instant::now();
            h.say(line);
            times.push(t.elapsed());
        }
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "{} inputs: p50 {:?}, p99 {:?}, max {:?}; {} tickets",
        times.len(),
        pct(0.5),
        pct(0.99),
        times[times.len() - 1],
        h.tickets().len()
    );
}
