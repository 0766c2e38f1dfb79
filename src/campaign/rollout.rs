//! How a campaign rolls out over weeks: the order of its targets, the gate
//! between tranches, when it pauses itself, how fast it opens pull requests
//! and when, and when it nudges a pull request nobody reviews.
//!
//! These are the campaign file's `order`, `gate`, `pause_when`, `throttle`
//! and `stale` sections, checked here (every problem at its place in the
//! file); the reconciler in `src/engine/rollout.rs` applies them.

use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::diag::FileDiagnostic;
use crate::yaml::{self, OneOrMany, Spanned};

/// The rollout policy of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollout {
    /// How targets are ordered before they are cut into tranches.
    pub order: Vec<OrderKey>,
    pub gate: Gate,
    /// Pause the campaign when this share (percent) of the pull requests of
    /// the newest open tranche fail CI.
    pub pause_on_ci_failures: Option<u32>,
    pub throttle: Throttle,
    pub stale: Option<Stale>,
}

/// One ordering key (`order: [lifecycle, team-size, repo]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// `experimental`, then `development`, then `production`, then the rest.
    Lifecycle,
    /// Targets of teams with fewer targets first.
    TeamSize,
    /// By repository name.
    Repo,
}

/// The default order: the least risky lifecycle first, then by name.
pub const DEFAULT_ORDER: [OrderKey; 2] = [OrderKey::Lifecycle, OrderKey::Repo];

/// When the next tranche may open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Share (percent) of the previous tranche's pull requests that must be
    /// merged (or merged or declined, with `count_declined`).
    pub merged: u32,
    pub count_declined: bool,
    /// The previous tranche's share of pull requests failing CI must be
    /// below this (percent).
    pub max_ci_failures: Option<u32>,
}

impl Default for Gate {
    /// Every pull request of the previous tranche merged or declined.
    fn default() -> Self {
        Gate {
            merged: 100,
            count_declined: true,
            max_ci_failures: None,
        }
    }
}

/// How fast, and when, pull requests are opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Throttle {
    /// At most this many of the campaign's pull requests open at once.
    pub max_open: Option<usize>,
    /// At most this many pull requests opened in any hour.
    pub per_hour: Option<usize>,
    /// Pull requests are opened only inside this window.
    pub window: Option<Window>,
}

/// Days and hours in a time zone (`mon-fri`, `09:00-17:00`, `Europe/Berlin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight; the window is `start..end` (over midnight
    /// when `end <= start`).
    pub start: u16,
    pub end: u16,
    /// An IANA time zone name.
    pub timezone: String,
}

/// When a pull request is stale, and what the nudge says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub after_days: u32,
    /// A template (`{{ days }}`, `{{ campaign }}`, `{{ repo }}`, `{{ owner }}`).
    pub comment: String,
}

/// The built-in nudge.
pub const DEFAULT_NUDGE: &str = "Hello from the platform team's `{{ campaign }}` campaign: this pull request has been waiting for a review for {{ days }} days. \
It is a mechanical change, explained above; if it is not right for this repository, closing it with a comment saying why is a fine answer too, and it will not be opened again. \
This is the only reminder fleetwright will post here.";

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Days written in full, with their short names.
const FULL_DAYS: [(&str, &&str); 7] = [
    ("monday", &"mon"),
    ("tuesday", &"tue"),
    ("wednesday", &"wed"),
    ("thursday", &"thu"),
    ("friday", &"fri"),
    ("saturday", &"sat"),
    ("sunday", &"sun"),
];

impl Window {
    fn zone(&self) -> TimeZone {
        TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC)
    }

    /// True when `t` is inside the window.
    pub fn contains(&self, t: jiff::Timestamp) -> bool {
        let local = t.to_zoned_datetime(self.zone());
        let day = local.weekday().to_monday_zero_offset() as usize;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        if self.start < self.end {
            self.days[day] && (self.start..self.end).contains(&minute)
        } else {
            // Over midnight: the part after midnight belongs to the day before.
            let before = (day + 6) % 7;
            (self.days[day] && minute >= self.start) || (self.days[before] && minute < self.end)
        }
    }

    /// The next time the window opens at or after `t` (`t` itself when it
    /// is open); `None` when it never opens.
    pub fn next_open(&self, t: jiff::Timestamp) -> Option<jiff::Timestamp> {
        if self.contains(t) {
            return Some(t);
        }
        let zone = self.zone();
        let local = t.to_zoned_datetime(zone.clone());
        let start =
            jiff::civil::Time::new((self.start / 60) as i8, (self.start % 60) as i8, 0, 0).ok()?;
        (0..8).find_map(|offset| {
            let date = local
                .date()
                .checked_add(jiff::Span::new().days(offset))
                .ok()?;
            let at = date
                .to_datetime(start)
                .to_zoned_datetime(zone.clone())
                .ok()?;
            let at = at.timestamp();
            (at >= t && self.contains(at)).then_some(at)
        })
    }

    /// `mon-fri 09:00-17:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        // Runs of consecutive days, Monday first: `mon-fri`, `mon,wed`.
        let mut runs: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            if !self.days[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < 7 && self.days[i + 1] {
                i += 1;
            }
            runs.push(match i - start {
                0 => DAYS[start].to_string(),
                1 => format!("{},{}", DAYS[start], DAYS[i]),
                _ => format!("{}-{}", DAYS[start], DAYS[i]),
            });
            i += 1;
        }
        let days = if self.days.iter().all(|d| *d) {
            "every day".to_string()
        } else {
            runs.join(",")
        };
        format!(
            "{days} {:02}:{:02}-{:02}:{:02} {}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60,
            self.timezone
        )
    }
}

// ----- the campaign file ---------------------------------------------------

/// A share as written: `"80%"` or `80`.
#[derive(Debug)]
pub(super) enum RawShare {
    Number(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawShare {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawShare;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a share: a whole percentage like \"80%\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawShare, E> {
                Ok(RawShare::Number(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawShare, E> {
                Err(E::custom(format!("{v} is not a share between 0% and 100%")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawShare, E> {
                Err(E::custom(format!(
                    "{v} is not a share: write a whole percentage like \"80%\""
                )))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawShare, E> {
                Ok(RawShare::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    #[serde(default)]
    merged: Option<Spanned<RawShare>>,
    #[serde(default)]
    count_declined: Option<bool>,
    #[serde(default)]
    max_ci_failures: Option<Spanned<RawShare>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPauseWhen {
    ci_failures: Spanned<RawShare>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThrottle {
    #[serde(default)]
    max_open: Option<Spanned<u64>>,
    #[serde(default)]
    per_hour: Option<Spanned<u64>>,
    #[serde(default)]
    window: Option<RawWindow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    days: Spanned<OneOrMany>,
    hours: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStale {
    after_days: Spanned<u64>,
    #[serde(default)]
    comment: Option<Spanned<String>>,
}

/// The rollout sections of a campaign file, as written.
#[derive(Debug, Default)]
pub(super) struct RawRollout {
    pub order: Option<Spanned<OneOrMany>>,
    pub gate: Option<RawGate>,
    pub pause_when: Option<RawPauseWhen>,
    pub throttle: Option<RawThrottle>,
    pub stale: Option<RawStale>,
}

/// Where problems go, and the file they are in.
pub(super) struct Place<'a> {
    pub problems: &'a mut Vec<FileDiagnostic>,
    pub path: &'a std::path::Path,
    pub text: &'a crate::diag::Source,
    pub doc: &'a yaml::Document<'a>,
}

impl Place<'_> {
    fn problem<T>(&mut self, at: &Spanned<T>, message: impl Into<String>, help: &str) {
        self.problems.push(
            yaml::diagnostic_at(self.path, self.text, self.doc, at, message.into()).with_help(help),
        );
    }
}

/// Check the rollout sections; the defaults where a section is absent.
pub(super) fn check(raw: RawRollout, place: &mut Place<'_>) -> Rollout {
    let mut rollout = Rollout {
        order: DEFAULT_ORDER.to_vec(),
        ..Rollout::default()
    };
    if let Some(order) = &raw.order {
        let mut keys = Vec::new();
        for key in order.value.clone().into_vec() {
            match key.as_str() {
                "lifecycle" => keys.push(OrderKey::Lifecycle),
                "team-size" | "team_size" => keys.push(OrderKey::TeamSize),
                "repo" | "name" => keys.push(OrderKey::Repo),
                other => place.problem(
                    order,
                    format!("`{other}` is not an ordering key"),
                    "order targets by `lifecycle` (experimental first), `team-size` (smallest teams first) and `repo` (by name), e.g. order: [lifecycle, team-size]",
                ),
            }
        }
        if !keys.contains(&OrderKey::Repo) {
            keys.push(OrderKey::Repo);
        }
        rollout.order = keys;
    }
    const SHARE_HELP: &str = "a share is written `\"80%\"` (or 80), between 0% and 100%";
    let share = |v: Option<&Spanned<RawShare>>, place: &mut Place<'_>| -> Option<u32> {
        let v = v?;
        let parsed = match &v.value {
            RawShare::Number(n) if *n <= 100 => Some(*n as u32),
            RawShare::Number(_) => None,
            RawShare::Text(s) => s
                .trim()
                .strip_suffix('%')
                .unwrap_or(s.trim())
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|p| *p <= 100),
        };
        if parsed.is_none() {
            place.problem(v, "not a share between 0% and 100%", SHARE_HELP);
        }
        parsed
    };
    if let Some(gate) = &raw.gate {
        let defaults = Gate::default();
        rollout.gate = Gate {
            merged: share(gate.merged.as_ref(), place).unwrap_or(defaults.merged),
            count_declined: gate.count_declined.unwrap_or(defaults.count_declined),
            max_ci_failures: share(gate.max_ci_failures.as_ref(), place),
        };
    }
    if let Some(pause) = &raw.pause_when {
        rollout.pause_on_ci_failures = share(Some(&pause.ci_failures), place);
        if rollout.pause_on_ci_failures == Some(0) {
            place.problem(
                &pause.ci_failures,
                "a pause at 0% would pause before anything fails",
                SHARE_HELP,
            );
        }
    }
    if let Some(throttle) = &raw.throttle {
        let positive = |v: &Option<Spanned<u64>>, what: &str, place: &mut Place<'_>| {
            let v = v.as_ref()?;
            if v.value == 0 {
                place.problem(
                    v,
                    format!("`throttle.{what}` of 0 would never open a pull request"),
                    "leave it out for no limit, or use `fleetwright pause` to stop the campaign",
                );
            }
            Some(v.value as usize)
        };
        rollout.throttle.max_open = positive(&throttle.max_open, "max_open", place);
        rollout.throttle.per_hour = positive(&throttle.per_hour, "per_hour", place);
        if let Some(w) = &throttle.window {
            rollout.throttle.window = window(w, place);
        }
    }
    if let Some(stale) = &raw.stale {
        if stale.after_days.value == 0 || stale.after_days.value > 365 {
            place.problem(
                &stale.after_days,
                "`stale.after_days` must be between 1 and 365",
                "a pull request is nudged once, after this many days without a review",
            );
        }
        let comment = stale
            .comment
            .as_ref()
            .map_or(DEFAULT_NUDGE.to_string(), |c| c.value.clone());
        if let Some(c) = &stale.comment
            && let Err(e) = render_nudge(&comment, "campaign", "org/repo", "group:default/team", 7)
        {
            place.problem(
                c,
                format!("stale.comment is not a valid template: {e}"),
                "the nudge can use {{ days }}, {{ campaign }}, {{ repo }} and {{ owner }}",
            );
        }
        rollout.stale = Some(Stale {
            after_days: stale.after_days.value.clamp(1, 365) as u32,
            comment,
        });
    }
    rollout
}

fn window(raw: &RawWindow, place: &mut Place<'_>) -> Option<Window> {
    const DAYS_HELP: &str = "days are mon, tue, wed, thu, fri, sat, sun, or ranges like mon-fri";
    let mut days = [false; 7];
    let mut ok = true;
    for part in raw.days.value.clone().into_vec() {
        for item in part.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let item = item.to_ascii_lowercase();
            let day = |s: &str| {
                DAYS.iter()
                    .position(|d| s == *d || FULL_DAYS.contains(&(s, d)))
            };
            let range = match item.split_once('-') {
                Some((a, b)) => day(a.trim()).zip(day(b.trim())),
                None => day(&item).map(|d| (d, d)),
            };
            match range {
                Some((a, b)) => {
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => {
                    ok = false;
                    place.problem(&raw.days, format!("`{item}` is not a day"), DAYS_HELP);
                }
            }
        }
    }
    if ok && !days.iter().any(|d| *d) {
        ok = false;
        place.problem(
            &raw.days,
            "the window has no day: it would never open",
            DAYS_HELP,
        );
    }
    let hours = raw.hours.value.trim();
    let minutes = |s: &str| -> Option<u16> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    let span = hours
        .split_once('-')
        .and_then(|(a, b)| minutes(a).zip(minutes(b)))
        .filter(|(a, b)| a != b && *a < 24 * 60);
    if span.is_none() {
        ok = false;
        place.problem(
            &raw.hours,
            format!("`{hours}` is not a span of hours"),
            "write the hours as `09:00-17:00` (24-hour clock; `22:00-06:00` runs over midnight)",
        );
    }
    let timezone = raw
        .timezone
        .as_ref()
        .map_or("UTC".to_string(), |t| t.value.clone());
    if let Some(tz) = &raw.timezone
        && TimeZone::get(&tz.value).is_err()
    {
        ok = false;
        place.problem(
            tz,
            format!("`{}` is not a time zone", tz.value),
            "use an IANA time zone name such as Europe/Berlin, America/New_York or UTC",
        );
    }
    let (start, end) = span?;
    ok.then_some(Window {
        days,
        start,
        end: end % (24 * 60),
        timezone,
    })
}

/// Render the stale nudge, a Markdown comment: `repo` and `owner` come
/// from the catalog and are escaped as in a pull request body.
pub fn render_nudge(
    template: &str,
    campaign: &str,
    repo: &str,
    owner: &str,
    days: i64,
) -> Result<String, String> {
    let campaign = minijinja::Value::from_safe_string(campaign.to_string());
    super::template::render_comment(
        template,
        minijinja::context! { campaign, repo, owner, days },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin_weekdays() -> Window {
        Window {
            days: [true, true, true, true, true, false, false],
            start: 9 * 60,
            end: 17 * 60,
            timezone: "Europe/Berlin".into(),
        }
    }

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_window_is_read_in_its_time_zone() {
        let w = berlin_weekdays();
        // 2026-11-30 is a Monday; Berlin is UTC+1 in winter.
        assert!(w.contains(at("2026-11-30T08:00:00Z")), "09:00 in Berlin");
        assert!(!w.contains(at("2026-11-30T07:59:00Z")), "08:59 in Berlin");
        assert!(
            !w.contains(at("2026-11-30T16:00:00Z")),
            "17:00 in Berlin is out"
        );
        assert!(!w.contains(at("2026-11-28T10:00:00Z")), "a Saturday");
    }

    #[test]
    fn the_next_opening_skips_the_weekend() {
        let w = berlin_weekdays();
        assert_eq!(
            w.next_open(at("2026-11-28T10:00:00Z")),
            Some(at("2026-11-30T08:00:00Z"))
        );
        let open = at("2026-11-30T10:00:00Z");
        assert_eq!(w.next_open(open), Some(open));
    }

    #[test]
    fn a_window_over_midnight_belongs_to_the_day_it_starts() {
        let w = Window {
            days: [false, false, false, false, true, false, false],
            start: 22 * 60,
            end: 6 * 60,
            timezone: "UTC".into(),
        };
        assert!(w.contains(at("2026-12-04T23:00:00Z")), "Friday 23:00");
        assert!(w.contains(at("2026-12-05T05:00:00Z")), "Saturday 05:00");
        assert!(!w.contains(at("2026-12-04T05:00:00Z")), "Friday 05:00");
        assert_eq!(w.describe(), "fri 22:00-06:00 UTC");
    }
}
