//! Timing, not a timed test: per-input latency on an on-disk database,
//! printed by an ignored test.

use super::*;

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
