//! The report's figures, computed from a scripted query history.

use super::*;

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
