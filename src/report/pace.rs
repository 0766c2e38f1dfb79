//! Progress and pace: what moved since a date, and when the campaign ends
//! at the pace of that window (or that it stalled, and since when).
//!
//! Computed from the same event log the burndown replays, with the same
//! rule ([`state::Replayer`]): the targets' states at the start of the
//! window and now, and the scans' latest counts at both ends. Pure: the
//! window and "now" are given.

use std::collections::{BTreeMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::campaign::{Outcome, count, plural};
use crate::state::{self, EventRow, ScanRow, TargetState};

/// How far back `report` looks by default.
pub const DEFAULT_WINDOW_DAYS: i64 = 7;

/// A pace that would take longer than this is "not within ten years".
const MAX_DAYS_AHEAD: i64 = 3660;

/// What moved in a window, and where that pace leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The start of the window (RFC 3339): `--since`, else seven days
    /// before the report, never before the campaign's launch.
    pub since: String,
    /// The window's length in days (fractions kept), from `since` to the
    /// report's time.
    pub window_days: f64,
    /// Pull requests merged in the window.
    pub merged: usize,
    /// Pull requests the owners declined in the window.
    pub declined: usize,
    /// Repositories opted out in the window.
    pub opted_out: usize,
    /// Repositories found to need no change in the window.
    pub not_needed: usize,
    /// Repositories settled in the window, net (settled now less settled
    /// at `since`; a reopened decline counts back).
    pub settled: i64,
    /// Places the scan no longer finds, between its latest counts at
    /// `since` and now (negative: places came back). `None` when there is
    /// no scan at either end.
    pub places_removed: Option<i64>,
    /// Repositories not settled now.
    pub left: usize,
    /// Where the window's pace leads.
    pub pace: Pace,
}

/// Where the pace of the window leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Pace {
    /// Nothing is left to settle.
    Finished,
    /// Repositories settle: at `per_day`, the last of them around
    /// `ends_on` (`None`: not within ten years).
    Moving {
        /// Repositories settled per day in the window.
        per_day: f64,
        /// Days until the last one settles at that pace (rounded up).
        days_left: i64,
        /// The UTC day that is (`YYYY-MM-DD`).
        ends_on: Option<String>,
    },
    /// Nothing settled in the window.
    Stalled {
        /// When a repository last settled (RFC 3339), or the launch when
        /// none ever did.
        since: String,
        /// True when no repository settled since the launch.
        never_moved: bool,
    },
}

impl Progress {
    /// What moved between `since` and `now` in the log of a campaign
    /// launched at `created_at` with `targets` targets; pull requests the
    /// platform team closed (`closed`) are not the owners' declines.
    pub fn compute(
        events: &[EventRow],
        scans: &[ScanRow],
        created_at: &str,
        closed: &HashSet<i64>,
        since: Timestamp,
        now: Timestamp,
    ) -> Progress {
        let launched = state::parse_time(created_at).unwrap_or(now).min(now);
        let start = since.clamp(launched, now);
        let mut log = state::Replayer::new(events);
        let then: BTreeMap<i64, &str> = log.advance(Some(start)).clone();
        let current = log.advance(Some(now));

        let outcome = |target: i64, stored: Option<&str>| -> Option<Outcome> {
            let s: TargetState = stored?.parse().ok()?;
            Some(Outcome::of(s, closed.contains(&target)))
        };
        let (mut merged, mut declined, mut opted_out, mut not_needed) = (0, 0, 0, 0);
        let (mut settled_then, mut settled_now, mut left) = (0i64, 0i64, 0usize);
        for (&target, &now_state) in current {
            let before = then.get(&target).copied();
            settled_then += i64::from(settles(before));
            let is_settled = settles(Some(now_state));
            settled_now += i64::from(is_settled);
            left += usize::from(!is_settled);
            let (was, is) = (outcome(target, before), outcome(target, Some(now_state)));
            if was == is {
                continue;
            }
            match is {
                Some(Outcome::Merged) => merged += 1,
                Some(Outcome::Declined) => declined += 1,
                Some(Outcome::OptedOut) => opted_out += 1,
                Some(Outcome::NotNeeded) => not_needed += 1,
                _ => {}
            }
        }
        let places_removed = match (places(scans, start), places(scans, now)) {
            (Some(then), Some(now)) => Some(then - now),
            _ => None,
        };
        let window = now.duration_since(start);
        let window_days = window.as_secs_f64() / 86_400.0;
        let gained = settled_now - settled_then;
        let pace = if left == 0 {
            Pace::Finished
        } else if gained <= 0 {
            let last = last_settled(events, now);
            Pace::Stalled {
                since: state::format_time(last.unwrap_or(launched)),
                never_moved: last.is_none(),
            }
        } else {
            // A window shorter than a day counts as a day: a campaign
            // launched an hour ago does not project its first hour.
            let per_day = gained as f64 / window_days.max(1.0);
            let days_left = (left as f64 / per_day).ceil() as i64;
            let ends_on = (days_left <= MAX_DAYS_AHEAD)
                .then(|| {
                    now.checked_add(SignedDuration::from_hours(24 * days_left))
                        .ok()
                })
                .flatten()
                .map(|t| t.strftime("%Y-%m-%d").to_string());
            Pace::Moving {
                per_day,
                days_left,
                ends_on,
            }
        };
        Progress {
            since: state::format_time(start),
            window_days,
            merged,
            declined,
            opted_out,
            not_needed,
            settled: gained,
            places_removed,
            left,
            pace,
        }
    }

    /// The headline's second part: what moved, and where the pace leads.
    ///
    /// "Since 2026-11-28: 12 merged, 2 declined; the scan finds 40 fewer
    /// places. At this pace (1.7 repositories settled a day) the 310 left
    /// settle by about 2027-01-14."
    pub fn sentence(&self) -> String {
        let day = day_of(&self.since);
        let moved: Vec<String> = [
            (self.merged, "merged"),
            (self.not_needed, "needed no change"),
            (self.declined, "declined"),
            (self.opted_out, "opted out"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", count(n)))
        .collect();
        let places = match self.places_removed {
            Some(n) if n > 0 => Some(format!(
                "the scan finds {} fewer {}",
                count(n),
                plural(n.unsigned_abs() as usize, "place", "places")
            )),
            Some(n) if n < 0 => Some(format!(
                "the scan finds {} more {} than then",
                count(-n),
                plural(n.unsigned_abs() as usize, "place", "places")
            )),
            _ => None,
        };
        let mut s = match (moved.is_empty(), places) {
            (true, None) => format!("Since {day}, nothing moved."),
            (true, Some(p)) => format!("Since {day}, no repository settled; {p}."),
            (false, None) => format!("Since {day}: {}.", moved.join(", ")),
            (false, Some(p)) => format!("Since {day}: {}; {p}.", moved.join(", ")),
        };
        let left = format!(
            "{} {}",
            count(self.left),
            plural(self.left, "repository is", "repositories are")
        );
        match &self.pace {
            Pace::Finished => s.push_str(" Every repository is settled."),
            Pace::Moving {
                per_day, ends_on, ..
            } => {
                let rate = if *per_day >= 10.0 {
                    format!("{per_day:.0} a day")
                } else if *per_day >= 1.0 {
                    format!("{per_day:.1} a day")
                } else {
                    format!("{:.1} a week", per_day * 7.0)
                };
                match ends_on {
                    Some(on) => s.push_str(&format!(
                        " At this pace ({rate}) the last of the {} left settles around {on}.",
                        count(self.left)
                    )),
                    None => s.push_str(&format!(
                        " At this pace ({rate}) the {} left take more than ten years.",
                        count(self.left)
                    )),
                }
            }
            Pace::Stalled { since, never_moved } => {
                if *never_moved {
                    s.push_str(&format!(
                        " Stalled: no repository has settled since the launch on {}; {left} left.",
                        day_of(since)
                    ));
                } else {
                    s.push_str(&format!(
                        " Stalled: no repository has settled since {}; {left} left.",
                        day_of(since)
                    ));
                }
            }
        }
        s
    }
}

/// `YYYY-MM-DD` of a stored time.
fn day_of(at: &str) -> String {
    state::parse_time(at).map_or_else(|| at.to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// The sum of each target's latest counted scan at or before `until`;
/// `None` before any.
fn places(scans: &[ScanRow], until: Timestamp) -> Option<i64> {
    let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
    for s in scans {
        match state::parse_time(&s.at) {
            Some(at) if at > until => break,
            Some(_) => {
                if let Some(m) = s.matches {
                    latest.insert(s.target_id, m);
                }
            }
            None => {}
        }
    }
    (!latest.is_empty()).then(|| latest.values().sum())
}

/// When a target last moved into a settled state, at or before `now`.
fn last_settled(events: &[EventRow], now: Timestamp) -> Option<Timestamp> {
    events
        .iter()
        .filter(|e| e.target_id.is_some())
        .filter(|e| settles(e.to_state.as_deref()) && !settles(e.from_state.as_deref()))
        .filter_map(|e| state::parse_time(&e.at))
        .filter(|at| *at <= now)
        .max()
}

/// A stored state is settled (nothing more will happen to the target).
fn settles(stored: Option<&str>) -> bool {
    stored
        .and_then(|s| s.parse::<TargetState>().ok())
        .is_some_and(TargetState::is_settled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{EventRow, ScanRow};

    /// A move of target `t` from `from` to `to` at `at`.
    fn moved(id: i64, t: i64, from: Option<&str>, to: &str, at: &str) -> EventRow {
        EventRow {
            id,
            target_id: Some(t),
            kind: "state".into(),
            from_state: from.map(str::to_string),
            to_state: Some(to.into()),
            detail: None,
            at: at.into(),
        }
    }

    /// Ten targets launched on 2026-01-01 (pending); t0 merged on the 2nd,
    /// t1 on the 4th, t2 on the 6th, t3 on the 8th, t4 declined on the
    /// 9th, all at noon; t9 failed on the 5th (not settled). t5's scan
    /// counted 4 places on the 2nd and 1 on the 7th.
    fn log() -> (Vec<EventRow>, Vec<ScanRow>) {
        let mut events: Vec<EventRow> = (0..10)
            .map(|t| moved(t, t, None, "pending", "2026-01-01T00:00:00Z"))
            .collect();
        for (t, to, at) in [
            (0, "merged", "2026-01-02T12:00:00Z"),
            (1, "merged", "2026-01-04T12:00:00Z"),
            (9, "failed", "2026-01-05T12:00:00Z"),
            (2, "merged", "2026-01-06T12:00:00Z"),
            (3, "merged", "2026-01-08T12:00:00Z"),
            (4, "declined", "2026-01-09T12:00:00Z"),
        ] {
            let id = events.len() as i64;
            events.push(moved(id, t, Some("pending"), to, at));
        }
        let scan = |matches, at: &str| ScanRow {
            target_id: 5,
            commit_id: Some("abc".into()),
            matches: Some(matches),
            error: None,
            at: at.into(),
            scan_key: None,
            files: None,
            note: None,
        };
        (
            events,
            vec![
                scan(4, "2026-01-02T09:00:00Z"),
                scan(1, "2026-01-07T09:00:00Z"),
            ],
        )
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// The progress of [`log`] as of `now`, over the default week.
    fn progress(now: &str) -> Progress {
        let (events, scans) = log();
        let now = at(now);
        let since = now
            .checked_sub(SignedDuration::from_hours(24 * DEFAULT_WINDOW_DAYS))
            .unwrap();
        Progress::compute(
            &events,
            &scans,
            "2026-01-01T00:00:00Z",
            &HashSet::new(),
            since,
            now,
        )
    }

    #[test]
    fn a_moving_campaign_ends_at_the_pace_of_its_last_week() {
        // The week from the 3rd: t1, t2, t3 merged and t4 declined (t0
        // merged before it); 4 settled in 7 days, 5 left (t5 to t9): 5 /
        // (4 / 7) = 8.75, so 9 days: the 19th.
        let p = progress("2026-01-10T00:00:00Z");
        assert_eq!(p.since, "2026-01-03T00:00:00.000000Z");
        assert_eq!(
            (p.merged, p.declined, p.opted_out, p.not_needed),
            (3, 1, 0, 0)
        );
        assert_eq!((p.settled, p.left), (4, 5));
        assert_eq!(p.places_removed, Some(3));
        assert_eq!(
            p.pace,
            Pace::Moving {
                per_day: 4.0 / 7.0,
                days_left: 9,
                ends_on: Some("2026-01-19".into()),
            }
        );
        assert_eq!(
            p.sentence(),
            "Since 2026-01-03: 3 merged, 1 declined; the scan finds 3 fewer places. At this pace (4.0 a week) the last of the 5 left settles around 2026-01-19."
        );
    }

    #[test]
    fn a_campaign_that_stopped_moving_says_since_when() {
        // The week from the 13th: nothing; the last repository settled on
        // the 9th (t4's decline).
        let p = progress("2026-01-20T00:00:00Z");
        assert_eq!((p.merged, p.declined, p.settled, p.left), (0, 0, 0, 5));
        assert_eq!(p.places_removed, Some(0));
        assert_eq!(
            p.pace,
            Pace::Stalled {
                since: "2026-01-09T12:00:00.000000Z".into(),
                never_moved: false,
            }
        );
        assert_eq!(
            p.sentence(),
            "Since 2026-01-13, nothing moved. Stalled: no repository has settled since 2026-01-09; 5 repositories are left."
        );

        // Before anything settled: stalled since the launch.
        let p = progress("2026-01-02T06:00:00Z");
        assert_eq!(
            p.pace,
            Pace::Stalled {
                since: "2026-01-01T00:00:00.000000Z".into(),
                never_moved: true,
            }
        );
        // The window starts at the launch, not a week before it.
        assert_eq!(p.since, "2026-01-01T00:00:00.000000Z");
        assert!(
            p.sentence()
                .ends_with("Stalled: no repository has settled since the launch on 2026-01-01; 10 repositories are left."),
            "{}",
            p.sentence()
        );
    }

    #[test]
    fn a_settled_campaign_is_finished_and_a_crawl_is_not_promised_a_date() {
        let (mut events, scans) = log();
        for t in 5..10 {
            let id = events.len() as i64;
            events.push(moved(
                id,
                t,
                Some("pending"),
                "no_change",
                "2026-01-09T13:00:00Z",
            ));
        }
        let now = at("2026-01-10T00:00:00Z");
        let since = at("2026-01-03T00:00:00Z");
        let p = Progress::compute(
            &events,
            &scans,
            "2026-01-01T00:00:00Z",
            &HashSet::new(),
            since,
            now,
        );
        assert_eq!(p.pace, Pace::Finished);
        assert_eq!(p.not_needed, 5);

        // Five repositories in twenty years, five left: no date.
        let (events, scans) = log();
        let now = at("2046-01-01T00:00:00Z");
        let since = at("2026-01-01T00:00:00Z");
        let p = Progress::compute(
            &events,
            &scans,
            "2026-01-01T00:00:00Z",
            &HashSet::new(),
            since,
            now,
        );
        match &p.pace {
            Pace::Moving {
                ends_on, days_left, ..
            } => {
                assert_eq!(*ends_on, None);
                assert!(*days_left > 3660, "{days_left}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            p.sentence().ends_with("take more than ten years."),
            "{}",
            p.sentence()
        );
    }
}
