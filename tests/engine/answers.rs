//! Answering a question: the checklist (pinpointed check first, tried
//! checks), solved, suggestions and `more`, no match and the product
//! choice (only the offered products), escalate-only entries and direct
//! escalation up to the first field.

use super::*;

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
