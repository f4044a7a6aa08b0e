//! Service figures over tickets: satisfaction (survey ratings) and response
//! times (first staff reply, resolution), with median and p90, overall, per
//! product and per staff member. Counted in business hours only when
//! support hours are set. Pure: takes the stored rows, returns figures;
//! `triage report` and `/stats` render them.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::engine::hours::SupportHours;
use crate::tickets::{Lifecycle, Survey, Ticket, TicketId};

/// The figures for tickets filed in a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServiceReport {
    /// Whether durations count business hours only.
    pub business_hours: bool,
    pub overall: Group,
    pub by_product: BTreeMap<String, Group>,
    /// By the staff member who handled the ticket (claimed it, else the
    /// first to reply); tickets nobody handled are left out.
    pub by_staff: BTreeMap<String, Group>,
}

/// Figures for one group of tickets.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Group {
    pub tickets: usize,
    /// Surveys asked (tickets closed) and answered.
    pub surveys: usize,
    pub rated: usize,
    /// How many gave 1, 2, 3, 4, 5.
    pub ratings: [usize; 5],
    pub mean_rating: Option<f64>,
    /// Filing to the first staff message in the ticket.
    pub first_response: Durations,
    /// Filing to closing.
    pub resolution: Durations,
}

/// Median and 90th percentile (nearest rank) of some durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
}

impl Durations {
    fn of(mut v: Vec<i64>) -> Self {
        v.sort_unstable();
        Self {
            count: v.len(),
            median_secs: rank(&v, 0.5),
            p90_secs: rank(&v, 0.9),
        }
    }
}

/// The nearest-rank percentile of sorted values.
fn rank(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[k - 1])
}

#[derive(Default)]
struct Acc {
    tickets: usize,
    surveys: usize,
    ratings: [usize; 5],
    first: Vec<i64>,
    resolution: Vec<i64>,
}

impl Acc {
    fn into_group(self) -> Group {
        let rated: usize = self.ratings.iter().sum();
        let sum: usize = self
            .ratings
            .iter()
            .enumerate()
            .map(|(i, n)| (i + 1) * n)
            .sum();
        Group {
            tickets: self.tickets,
            surveys: self.surveys,
            rated,
            ratings: self.ratings,
            mean_rating: (rated > 0).then(|| sum as f64 / rated as f64),
            first_response: Durations::of(self.first),
            resolution: Durations::of(self.resolution),
        }
    }
}

/// Computes the figures for tickets filed in `[since, until)`.
pub fn compute(
    tickets: &[Ticket],
    lifecycles: &[Lifecycle],
    surveys: &[Survey],
    hours: Option<&SupportHours>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> ServiceReport {
    let life: BTreeMap<TicketId, &Lifecycle> = lifecycles.iter().map(|l| (l.ticket, l)).collect();
    let survey: BTreeMap<TicketId, &Survey> = surveys.iter().map(|s| (s.ticket, s)).collect();
    let span = |a: OffsetDateTime, b: OffsetDateTime| match hours {
        Some(h) => h.business_seconds(a, b),
        None => (b - a).whole_seconds().max(0),
    };
    let mut overall = Acc::default();
    let mut by_product: BTreeMap<String, Acc> = BTreeMap::new();
    let mut by_staff: BTreeMap<String, Acc> = BTreeMap::new();
    for t in tickets
        .iter()
        .filter(|t| t.created_at >= since && t.created_at < until)
    {
        let l = life.get(&t.id);
        let s = survey.get(&t.id);
        let staff = s
            .and_then(|s| s.staff.clone())
            .or_else(|| t.claimed_by.clone())
            .or_else(|| l.and_then(|l| l.first_staff_by.clone()));
        let first = l
            .and_then(|l| l.first_staff_reply_at)
            .map(|at| span(t.created_at, at));
        let resolved = l
            .and_then(|l| l.resolved_at)
            .map(|at| span(t.created_at, at));
        let rating = s.and_then(|s| s.rating);
        let add = |a: &mut Acc| {
            a.tickets += 1;
            a.surveys += usize::from(s.is_some());
            if let Some(r) = rating.filter(|r| (1..=5).contains(r)) {
                a.ratings[usize::from(r) - 1] += 1;
            }
            a.first.extend(first);
            a.resolution.extend(resolved);
        };
        add(&mut overall);
        add(by_product.entry(t.product.to_string()).or_default());
        if let Some(who) = staff {
            add(by_staff.entry(who.to_string()).or_default());
        }
    }
    ServiceReport {
        business_hours: hours.is_some(),
        overall: overall.into_group(),
        by_product: by_product
            .into_iter()
            .map(|(k, a)| (k, a.into_group()))
            .collect(),
        by_staff: by_staff
            .into_iter()
            .map(|(k, a)| (k, a.into_group()))
            .collect(),
    }
}

/// A duration for people: `45m`, `3h 05m`, `2d 4h`.
pub fn human(secs: i64) -> String {
    let m = secs / 60;
    match (m / (60 * 24), (m / 60) % 24, m % 60) {
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m:02}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// The report as lines of text, for a terminal or a Discord message.
pub fn lines(r: &ServiceReport) -> Vec<String> {
    let mut out = Vec::new();
    let unit = if r.business_hours {
        " (business hours)"
    } else {
        ""
    };
    let fmt = |g: &Group| {
        let rating = match g.mean_rating {
            Some(m) => format!("{m:.1}/5 from {} of {} surveys", g.rated, g.surveys),
            None => format!("no ratings ({} surveys)", g.surveys),
        };
        let d = |x: &Durations| match (x.median_secs, x.p90_secs) {
            (Some(m), Some(p)) => format!("median {} · p90 {}", human(m), human(p)),
            _ => "none yet".into(),
        };
        format!(
            "{} tickets · satisfaction {rating} · first reply {} · resolution {}",
            g.tickets,
            d(&g.first_response),
            d(&g.resolution)
        )
    };
    out.push(format!("Tickets{unit}: {}", fmt(&r.overall)));
    for (p, g) in &r.by_product {
        out.push(format!("  product {p}: {}", fmt(g)));
    }
    for (s, g) in &r.by_staff {
        out.push(format!("  staff {s}: {}", fmt(g)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(rank(&v, 0.5), Some(5));
        assert_eq!(rank(&v, 0.9), Some(9));
        assert_eq!(rank(&[7], 0.9), Some(7));
        assert_eq!(rank(&[], 0.5), None);
        assert_eq!(human(45 * 60), "45m");
        assert_eq!(human(3 * 3600 + 5 * 60), "3h 05m");
        assert_eq!(human(2 * 86400 + 4 * 3600), "2d 4h");
    }
}
