//! Support hours: a timezone, weekly opening ranges and holidays. Answers
//! "open now?", "when does it next open?" and "how many business seconds
//! between two instants?", all in the support team's zone, so daylight
//! saving changes move the opening instant, not the wall-clock time.
//! Parsed from config text with errors that name the key.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use time::OffsetDateTime;

/// The config's `support_hours` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursFile {
    /// An IANA zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// `mon: ["09:00-12:00", "13:00-17:00"]`; days left out are closed.
    #[serde(default)]
    pub weekly: std::collections::BTreeMap<String, Vec<String>>,
    /// `YYYY-MM-DD` dates closed all day, in the support zone.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Whether the staff ping of a ticket filed outside hours waits for
    /// opening time (default true).
    #[serde(default = "yes")]
    pub hold_staff_ping: bool,
}

fn yes() -> bool {
    true
}

/// Parsed support hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportHours {
    pub tz: Tz,
    /// Monday first; each day's ranges sorted and disjoint.
    pub weekly: [Vec<(NaiveTime, NaiveTime)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
    pub hold_staff_ping: bool,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl SupportHours {
    /// Checks and converts the config section. Errors name the key:
    /// `support_hours.timezone: ...`, `support_hours.weekly.mon[1]: ...`.
    pub fn parse(f: &HoursFile) -> Result<Self, String> {
        let tz: Tz = f.timezone.parse().map_err(|_| {
            format!(
                "support_hours.timezone: unknown timezone '{}' (use an IANA name such as Europe/Berlin)",
                f.timezone
            )
        })?;
        let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (day, ranges) in &f.weekly {
            let Some(i) = DAYS.iter().position(|d| d == &day.to_lowercase()) else {
                return Err(format!(
                    "support_hours.weekly.{day}: unknown day (use {})",
                    DAYS.join(", ")
                ));
            };
            let mut parsed = Vec::new();
            for (k, r) in ranges.iter().enumerate() {
                let key = format!("support_hours.weekly.{day}[{k}]");
                parsed.push(parse_range(r).map_err(|e| format!("{key}: {e}"))?);
            }
            parsed.sort();
            for w in parsed.windows(2) {
                if w[1].0 < w[0].1 {
                    return Err(format!(
                        "support_hours.weekly.{day}: {}-{} overlaps {}-{}",
                        hm(w[0].0),
                        hm(w[0].1),
                        hm(w[1].0),
                        hm(w[1].1)
                    ));
                }
            }
            weekly[i] = parsed;
        }
        let mut holidays = BTreeSet::new();
        for (k, h) in f.holidays.iter().enumerate() {
            let d = NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d").map_err(|_| {
                format!("support_hours.holidays[{k}]: '{h}' is not a date YYYY-MM-DD")
            })?;
            holidays.insert(d);
        }
        if weekly.iter().all(Vec::is_empty) {
            return Err("support_hours.weekly: no opening hours on any day".into());
        }
        Ok(Self {
            tz,
            weekly,
            holidays,
            hold_staff_ping: f.hold_staff_ping,
        })
    }

    /// Whether support is open at `at`.
    pub fn is_open(&self, at: OffsetDateTime) -> bool {
        self.open_ranges_on(self.local(at).date())
            .any(|(a, b)| a <= at && at < b)
    }

    /// `at` itself when open, else the next opening instant (within a
    /// year; `None` if there is none).
    pub fn next_open(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        let day = self.local(at).date();
        for d in day.iter_days().take(370) {
            for (a, b) in self.open_ranges_on(d) {
                if at < b {
                    return Some(a.max(at));
                }
            }
        }
        None
    }

    /// Seconds within opening hours between `from` and `to`.
    pub fn business_seconds(&self, from: OffsetDateTime, to: OffsetDateTime) -> i64 {
        if to <= from {
            return 0;
        }
        let (first, last) = (self.local(from).date(), self.local(to).date());
        let mut total = 0;
        for d in first.iter_days() {
            if d > last {
                break;
            }
            for (a, b) in self.open_ranges_on(d) {
                let (s, e) = (a.max(from), b.min(to));
                if s < e {
                    total += (e - s).whole_seconds();
                }
            }
        }
        total
    }

    /// The day's opening ranges as instants (none on a holiday).
    fn open_ranges_on(
        &self,
        d: NaiveDate,
    ) -> impl Iterator<Item = (OffsetDateTime, OffsetDateTime)> + '_ {
        let ranges: &[(NaiveTime, NaiveTime)] = if self.holidays.contains(&d) {
            &[]
        } else {
            &self.weekly[d.weekday().num_days_from_monday() as usize]
        };
        ranges
            .iter()
            .map(move |&(a, b)| (self.instant(d.and_time(a)), self.instant_end(d, b)))
    }

    fn instant_end(&self, d: NaiveDate, t: NaiveTime) -> OffsetDateTime {
        // "24:00" is stored as 23:59:59 + 1 s.
        if t == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default() {
            return self.instant(d.and_time(t)) + time::Duration::seconds(1);
        }
        self.instant(d.and_time(t))
    }

    /// A local wall-clock time as an instant: the earlier one when the
    /// clock goes back, and the first valid minute after a spring-forward
    /// gap.
    fn instant(&self, local: NaiveDateTime) -> OffsetDateTime {
        let mut l = local;
        for _ in 0..180 {
            match self.tz.from_local_datetime(&l) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    return from_unix(t.timestamp());
                }
                LocalResult::None => l += chrono::Duration::minutes(1),
            }
        }
        from_unix(self.tz.from_utc_datetime(&local).timestamp())
    }

    fn local(&self, at: OffsetDateTime) -> NaiveDateTime {
        self.tz
            .timestamp_opt(at.unix_timestamp(), 0)
            .single()
            .map(|t| t.naive_local())
            .unwrap_or_default()
    }

    /// `at` as the support team reads it: `Mon 8 Dec 2025 09:00 Europe/Berlin`.
    pub fn describe(&self, at: OffsetDateTime) -> String {
        let l = self.local(at);
        format!(
            "{} {} {} {} {} ({})",
            weekday(l.weekday()),
            l.day(),
            month(l.month()),
            l.year(),
            l.format("%H:%M"),
            self.tz.name()
        )
    }
}

impl fmt::Display for SupportHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "support hours in {}", self.tz.name())
    }
}

fn parse_range(r: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let bad = || format!("'{r}' is not a time range HH:MM-HH:MM");
    let (a, b) = r.split_once('-').ok_or_else(bad)?;
    let a = parse_time(a.trim()).ok_or_else(bad)?;
    let b = if b.trim() == "24:00" {
        NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(bad)?
    } else {
        parse_time(b.trim()).ok_or_else(bad)?
    };
    if b <= a {
        return Err(format!("'{r}' ends before it starts"));
    }
    Ok((a, b))
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

fn hm(t: NaiveTime) -> String {
    if t == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default() {
        return "24:00".into();
    }
    t.format("%H:%M").to_string()
}

fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn weekday(w: Weekday) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][w.num_days_from_monday() as usize]
}

fn month(m: u32) -> &'static str {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m.clamp(1, 12) - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn berlin() -> SupportHours {
        let mut f = HoursFile {
            timezone: "Europe/Berlin".into(),
            hold_staff_ping: true,
            ..Default::default()
        };
        for d in ["mon", "tue", "wed", "thu", "fri"] {
            f.weekly.insert(d.into(), vec!["09:00-17:00".into()]);
        }
        f.holidays.push("2026-12-25".into());
        SupportHours::parse(&f).unwrap()
    }

    #[test]
    fn friday_evening_opens_monday_morning_in_the_support_zone() {
        let h = berlin();
        // Fri 4 Dec 2026 19:30 Berlin = 18:30 UTC.
        let fri = datetime!(2026-12-04 18:30 UTC);
        assert!(!h.is_open(fri));
        assert_eq!(h.next_open(fri), Some(datetime!(2026-12-07 08:00 UTC)));
        assert!(h
            .describe(datetime!(2026-12-07 08:00 UTC))
            .starts_with("Mon 7 Dec 2026 09:00"));
    }

    #[test]
    fn opening_follows_daylight_saving_changes() {
        let h = berlin();
        // Sat 28 Mar 2026: the clocks go forward on Sunday 29 Mar.
        let sat = datetime!(2026-03-28 12:00 UTC);
        // Monday 09:00 CEST is 07:00 UTC (it was 08:00 UTC the week before).
        assert_eq!(h.next_open(sat), Some(datetime!(2026-03-30 07:00 UTC)));
        assert_eq!(
            h.next_open(datetime!(2026-03-21 12:00 UTC)),
            Some(datetime!(2026-03-23 08:00 UTC))
        );
        // Autumn: back to 08:00 UTC after 25 Oct.
        assert_eq!(
            h.next_open(datetime!(2026-10-24 12:00 UTC)),
            Some(datetime!(2026-10-26 08:00 UTC))
        );
    }

    #[test]
    fn holidays_are_closed_and_business_time_skips_nights() {
        let h = berlin();
        // Thu 24 Dec 2026 17:00 Berlin -> Fri 25 is a holiday -> Mon 28.
        assert_eq!(
            h.next_open(datetime!(2026-12-24 16:00 UTC)),
            Some(datetime!(2026-12-28 08:00 UTC))
        );
        // Mon 16:00 -> Tue 10:00 Berlin: one hour Monday, one hour Tuesday.
        assert_eq!(
            h.business_seconds(
                datetime!(2026-12-07 15:00 UTC),
                datetime!(2026-12-08 09:00 UTC)
            ),
            2 * 3600
        );
    }

    #[test]
    fn bad_settings_name_the_key() {
        let mut f = HoursFile {
            timezone: "Mars/Olympus".into(),
            ..Default::default()
        };
        f.weekly.insert("mon".into(), vec!["09:00-17:00".into()]);
        assert!(SupportHours::parse(&f)
            .unwrap_err()
            .starts_with("support_hours.timezone: unknown timezone 'Mars/Olympus'"));
        f.timezone = "UTC".into();
        f.weekly.insert(
            "tue".into(),
            vec!["09:00-12:00".into(), "11:00-13:00".into()],
        );
        assert_eq!(
            SupportHours::parse(&f).unwrap_err(),
            "support_hours.weekly.tue: 09:00-12:00 overlaps 11:00-13:00"
        );
        f.weekly.insert("tue".into(), vec!["9h-17h".into()]);
        assert!(SupportHours::parse(&f)
            .unwrap_err()
            .starts_with("support_hours.weekly.tue[0]: '9h-17h' is not a time range"));
        f.weekly.insert("tue".into(), vec!["25:00-26:00".into()]);
        assert!(SupportHours::parse(&f)
            .unwrap_err()
            .starts_with("support_hours.weekly.tue[0]:"));
    }
}
