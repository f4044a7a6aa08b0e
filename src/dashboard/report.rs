//! The Report page (the `triage report` figures over a chosen period, with
//! charts) and the Knowledge page (each entry's funnel and most-tried
//! checks, `kb check` problems, when the knowledge base was loaded).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use maud::{html, PreEscaped};
use time::{Duration, OffsetDateTime};

use super::charts::{self, Day};
use super::layout::{page, Nav, Problem};
use super::{blocking, session, Dashboard};
use crate::archive::html::when;
use crate::kb::{self, KbError};
use crate::report::{self, Report};
use crate::tickets::{Feedback, QueryRecord};

/// Reads `days` (1-365, default 30).
fn period(raw: &HashMap<String, String>) -> Result<i64, Problem> {
    for k in raw.keys() {
        if k != "days" {
            return Err(Problem::bad_request(&format!(
                "Malformed filter: unknown parameter '{k}' (the report takes days=N)."
            )));
        }
    }
    match raw.get("days").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(30),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| {
                Problem::bad_request(&format!(
                    "Malformed filter: days '{v}' is not a number of days from 1 to 365."
                ))
            }),
    }
}

/// The figures of each UTC day in the period, oldest first; `since` is
/// the first day's midnight.
pub fn per_day(records: &[QueryRecord], since: OffsetDateTime, days: i64) -> Vec<Day> {
    let mut by_day: BTreeMap<i64, (usize, usize, usize, usize)> = BTreeMap::new();
    for q in records {
        let d = (q.at.date() - since.date()).whole_days();
        let e = by_day.entry(d).or_default();
        e.0 += 1;
        if q.entry.is_some() {
            e.1 += 1;
        }
        if q.ticket.is_some() {
            e.2 += 1;
        }
        if q.feedback == Some(Feedback::Solved) {
            e.3 += 1;
        }
    }
    (0..days)
        .map(|i| {
            let date = (since + Duration::days(i)).date();
            let (questions, answered, escalated, solved) =
                by_day.get(&i).copied().unwrap_or_default();
            Day {
                label: format!("{:02}-{:02}", u8::from(date.month()), date.day()),
                questions,
                answered,
                escalated,
                self_service: (answered > 0).then(|| solved as f64 / answered as f64),
            }
        })
        .collect()
}

pub async fn report(
    State(dash): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Html<String>, Problem> {
    let s = session(&dash, &headers).await?;
    let days = period(&raw)?;
    let d = dash.clone();
    let (rep, daily) = blocking(move || {
        // Whole UTC days, today the last of them.
        let until = d.clock.now();
        let since = (until.date() - Duration::days(days - 1))
            .midnight()
            .assume_utc();
        let records = d.store.queries_since(since)?;
        Ok((
            report::compute(&records, d.matcher.kb(), since, until),
            per_day(&records, since, days),
        ))
    })
    .await?;
    Ok(page(
        "Report",
        Nav::Report,
        &s,
        report_body(&rep, &daily, days),
    ))
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn report_body(r: &Report, daily: &[Day], days: i64) -> maud::Markup {
    let funnel_rows: Vec<Vec<usize>> = r
        .funnel
        .iter()
        .map(|f| vec![f.solved, f.escalated, f.more, f.silent])
        .collect();
    let colours: Vec<&str> = charts::FUNNEL_SERIES.iter().map(|(_, c)| *c).collect();
    let unanswered_rows: Vec<Vec<usize>> = r.unanswered.iter().map(|g| vec![g.count]).collect();
    html! {
        form.filters method="get" action="/report" {
            label { "Days" input type="number" name="days" min="1" max="365" value=(days); }
            button type="submit" { "Show" }
        }
        p { "From " (when(r.since)) " to " (when(r.until)) "." }
        div.figures {
            div { (r.questions) small { "questions" } }
            div { (pct(r.answer_rate)) small { "answered" } }
            div { (pct(r.self_service_rate)) small { "self-service resolution" } }
            div { (pct(r.escalation_rate)) small { "escalated" } }
        }
        h2 { "Questions, answers and escalations per day" }
        p { span style="color:#1f6feb" { "■ questions " } span style="color:#2b8a3e" { "■ answered " } span style="color:#e67e22" { "■ escalated" } }
        div.chart-box { (PreEscaped(charts::per_day(daily))) }
        h2 { "Self-service resolution over time" }
        div.chart-box { (PreEscaped(charts::self_service(daily))) }
        h2 { "Funnel per entry" }
        p { @for (name, colour) in charts::FUNNEL_SERIES { span style=(format!("color:{colour}")) { "■ " (name) " " } } }
        @if r.funnel.is_empty() { p { "No entry was shown in this period." } } @else {
            div.chart-box { (PreEscaped(charts::stacked_rows(&funnel_rows, &colours))) }
            table {
                thead { tr { th { "#" } th { "Entry" } th { "Shown" } th { "Solved" } th { "Escalated" } th { "More" } th { "Silent" } } }
                tbody { @for (i, f) in r.funnel.iter().enumerate() {
                    tr { td { (i + 1) } td { (f.title) " (" (f.entry) ")" } td { (f.answered) } td { (f.solved) } td { (f.escalated) } td { (f.more) } td { (f.silent) } }
                } }
            }
        }
        h2 { "Unanswered questions, grouped" }
        @if r.unanswered.is_empty() { p { "Every question got an answer in this period." } } @else {
            div.chart-box { (PreEscaped(charts::stacked_rows(&unanswered_rows, &[charts::UNANSWERED_COLOUR]))) }
            table {
                thead { tr { th { "#" } th { "Count" } th { "Most common wording" } th { "Other wordings" } } }
                tbody { @for (i, g) in r.unanswered.iter().enumerate() {
                    tr { td { (i + 1) } td { (g.count) } td { (g.example) } td { (g.variants.join(" · ")) } }
                } }
            }
        }
    }
}

pub async fn knowledge(
    State(dash): State<Arc<Dashboard>>,
    headers: HeaderMap,
) -> Result<Html<String>, Problem> {
    let s = session(&dash, &headers).await?;
    let d = dash.clone();
    let (rep, problems) = blocking(move || {
        let until = d.clock.now();
        let since = until - Duration::days(90);
        let records = d.store.queries_since(since)?;
        let problems = d.kb_dir.as_ref().map(|dir| match kb::load_dir(dir) {
            Ok(_) => Vec::new(),
            Err(KbError::Invalid(ps)) => ps.iter().map(|p| p.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        });
        Ok((
            report::compute(&records, d.matcher.kb(), since, until),
            problems,
        ))
    })
    .await?;
    let kb = dash.matcher.kb();
    let funnel: HashMap<&str, &report::EntryFunnel> =
        rep.funnel.iter().map(|f| (f.entry.as_str(), f)).collect();
    let body = html! {
        p { "Knowledge base loaded " (when(dash.kb_loaded_at)) ": " (kb.products().len()) " products, " (kb.entries().len()) " entries. Figures over the last 90 days." }
        h2 { "kb check" }
        @match &problems {
            None => p { "The knowledge directory is not known to this process." },
            Some(ps) if ps.is_empty() => p { "No problems: the knowledge directory loads cleanly." },
            Some(ps) => {
                p.problem { (ps.len()) " problem(s) in the knowledge directory (the bot keeps the last good load):" }
                ul { @for p in ps { li { code { (p) } } } }
            }
        }
        h2 { "Entries" }
        table {
            thead { tr { th { "Entry" } th { "Shown" } th { "Solved" } th { "Escalated" } th { "Most often already tried" } } }
            tbody {
                @for e in kb.entries() {
                    @let f = funnel.get(e.id.as_str());
                    tr {
                        td { (e.title) br; small { (e.id) } }
                        td { (f.map_or(0, |f| f.answered)) }
                        td { (f.map_or(0, |f| f.solved)) }
                        td { (f.map_or(0, |f| f.escalated)) }
                        td {
                            ul { @for t in rep.tried.iter().filter(|t| t.entry == e.id) { li { (t.cause) " · " (t.count) } } }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Knowledge", Nav::Knowledge, &s, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Decision;
    use crate::tickets::{ConversationKey, QueryId, TicketId, UserId};

    fn q(at: OffsetDateTime, entry: bool, solved: bool, ticket: bool) -> QueryRecord {
        QueryRecord {
            id: QueryId(1),
            at,
            key: ConversationKey::new("p", "u"),
            asked_by: UserId::new("u"),
            product: None,
            text: "x".into(),
            decision: Decision::Answer,
            results: vec![],
            check: None,
            entry: entry.then(|| "convot/x".into()),
            feedback: solved.then_some(Feedback::Solved),
            tried: vec![],
            ticket: ticket.then_some(TicketId(1)),
        }
    }

    #[test]
    fn days_are_calendar_days_ending_today() {
        let since = time::macros::datetime!(2026-03-01 00:00 UTC);
        let recs = [
            q(since + Duration::hours(1), true, true, false),
            q(since + Duration::hours(23), true, false, true),
            q(
                since + Duration::days(2) + Duration::hours(5),
                false,
                false,
                false,
            ),
        ];
        let days = per_day(&recs, since, 3);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].label, "03-01");
        assert_eq!(
            (days[0].questions, days[0].answered, days[0].escalated),
            (2, 2, 1)
        );
        assert_eq!(days[0].self_service, Some(0.5));
        assert_eq!(days[1].questions, 0);
        assert_eq!(days[1].self_service, None);
        assert_eq!((days[2].label.as_str(), days[2].questions), ("03-03", 1));
    }
}
