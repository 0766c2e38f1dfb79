//! The campaign report's model: everything `fleetwright report` shows,
//! computed from the state alone (the campaign row, its targets, tranches,
//! event log and scans) and the state's "now".
//!
//! [`CampaignReport::build`] is pure: no SQL, no clock, no printing. The
//! burndown is replayed from the append-only event log, so the report of a
//! campaign can be drawn for any past day from the same rows. The renderers
//! (`html`, `markdown`, `csv`) only format this model; `--format json`
//! prints it as it is, so its field names are documented and stable
//! ([`SCHEMA`] is bumped on an incompatible change).

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::state::{self, CampaignRow, EventRow, ScanRow, TargetRow, TargetState, TrancheRow};

/// The version of the report's JSON shape.
pub const SCHEMA: u32 = 1;

/// The command that retries failed targets, named in "what to do next".
const RUN: &str = "fleetwright run";

/// Longest burndown drawn, in days (a campaign older than this shows its
/// last ten years).
const MAX_DAYS: i64 = 3660;

/// A campaign's progress report (`fleetwright report --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignReport {
    /// The version of this shape ([`SCHEMA`]).
    pub schema: u32,
    /// When the report was computed (RFC 3339, UTC, by the state's clock).
    pub generated_at: String,
    /// The campaign as recorded.
    pub campaign: CampaignInfo,
    /// The numbers at the top.
    pub headline: Headline,
    /// The burndown: one point per UTC day from the campaign's creation day
    /// to the day of `generated_at`, oldest first.
    pub days: Vec<DayPoint>,
    /// Progress of each tranche, in order.
    pub tranches: Vec<TrancheProgress>,
    /// Progress of each owning team, by owner.
    pub teams: Vec<TeamProgress>,
    /// What a person should look at, most urgent first: the campaign itself
    /// (paused, gate waiting), then targets in plan order.
    pub attention: Vec<AttentionItem>,
    /// Every target, in plan order.
    pub targets: Vec<TargetLine>,
}

/// The campaign as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignInfo {
    /// The campaign's name (unique in the state).
    pub name: String,
    /// The id of the recipe it runs.
    pub recipe: String,
    /// `local` or `github`.
    pub forge: String,
    /// active | paused | completed | cancelled
    pub status: String,
    /// Why it is paused, cancelled or completed.
    pub status_reason: Option<String>,
    /// The last evaluation of the gate to the next tranche, in words, while
    /// that tranche waits (`None` once it passed).
    pub gate_note: Option<String>,
    /// Tranches planned.
    pub tranche_count: i64,
    /// Tranches opened so far (the first `tranches_open`).
    pub tranches_open: i64,
    /// When it was launched (RFC 3339).
    pub created_at: String,
}

/// The numbers at the top of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Repositories in the campaign.
    pub targets: usize,
    /// Settled: merged, declined, no change needed, not applicable or
    /// opted out. Nothing more will happen to them.
    pub done: usize,
    /// `done` of `targets`, in percent, rounded down (100 only when all are).
    pub done_percent: u32,
    /// Pull requests merged.
    pub merged: usize,
    /// Pull requests open now (targets in `pr_open`).
    pub open_prs: usize,
    /// Pull requests the owners closed without merging.
    pub declined: usize,
    /// Targets stuck on an error: failed, verify_failed, needs_attention.
    pub failed: usize,
    /// Targets whose tranche is not open or that were not prepared yet
    /// (pending, queued).
    pub not_started: usize,
    /// Places the recipe still matches across the fleet: the sum of each
    /// scanned target's latest successful scan. `None`: never scanned.
    pub remaining_matches: Option<i64>,
    /// Targets with at least one successful scan.
    pub scanned_targets: usize,
    /// Targets whose latest scan failed (their last good count is used).
    pub scan_errors: usize,
    /// When the newest scan ran (RFC 3339).
    pub last_scan_at: Option<String>,
}

/// One day of the burndown: the targets per state at the end of that UTC
/// day, replayed from the event log. The six counts add up to the targets
/// the log knew of that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPoint {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// Pull requests merged.
    pub merged: usize,
    /// A branch pushed or a pull request open (pushed, pr_open).
    pub open: usize,
    /// Pull requests closed without merging.
    pub declined: usize,
    /// No pull request needed (no_change, not_applicable, opted_out).
    pub not_needed: usize,
    /// Tranche not open or not prepared yet (pending, queued).
    pub not_started: usize,
    /// Everything else: failed, verify_failed, needs_attention.
    pub other: usize,
    /// Sum over targets of their latest successful scan at or before the end
    /// of the day; `None` before the first scan.
    pub remaining_matches: Option<i64>,
}

/// One tranche's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrancheProgress {
    /// 1-based.
    pub number: i64,
    /// Its name in the campaign file (`tranche N` for campaigns recorded
    /// before tranches had names).
    pub name: String,
    /// How it was written: `1`, `25%`, `rest`, `owner: payments`.
    pub spec: Option<String>,
    /// True once the tranche is open (its targets are worked on).
    pub opened: bool,
    /// When it was opened (RFC 3339).
    pub opened_at: Option<String>,
    /// Its targets by what happened to them (flattened into this object).
    #[serde(flatten)]
    pub counts: Counts,
}

/// Targets of a group (a tranche), by what happened to them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Targets in the group.
    pub targets: usize,
    /// Pull requests merged.
    pub merged: usize,
    /// pushed or pr_open.
    pub open: usize,
    /// Pull requests closed without merging.
    pub declined: usize,
    /// no_change, not_applicable, opted_out.
    pub not_needed: usize,
    /// failed, verify_failed, needs_attention.
    pub failed: usize,
    /// pending, queued.
    pub not_started: usize,
    /// merged + declined + not_needed.
    pub settled: usize,
    /// `settled` of `targets`, in percent, rounded down.
    pub settled_percent: u32,
}

/// One owning team's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamProgress {
    /// The catalog entity ref of the owner (`group:default/payments`).
    pub owner: String,
    /// Its short name (`payments`).
    pub name: String,
    /// Targets the team owns.
    pub targets: usize,
    /// Pull requests merged.
    pub merged: usize,
    /// pushed or pr_open.
    pub open: usize,
    /// Open pull requests whose CI fails.
    pub failing_ci: usize,
    /// Open pull requests, CI not failing, with no review verdict yet
    /// (neither approved nor changes requested).
    pub awaiting_review: usize,
    /// Open pull requests that went stale and were nudged.
    pub stale: usize,
    /// Pull requests the team closed without merging.
    pub declined: usize,
    /// failed, verify_failed, needs_attention.
    pub failed: usize,
    /// pending, queued.
    pub not_started: usize,
    /// Settled targets (merged, declined, not needed).
    pub settled: usize,
    /// `settled` of `targets`, in percent, rounded down.
    pub settled_percent: u32,
}

/// Why something is on the needs-attention list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// The campaign is paused; `problem` is why.
    Paused,
    /// The next tranche waits for its gate; `problem` is the gate note.
    GateWaiting,
    /// A step failed (`failed`).
    Failed,
    /// The verify command failed on the rewritten checkout.
    VerifyFailed,
    /// The pull request needs a person (`needs_attention`).
    NeedsAttention,
    /// An open pull request whose CI fails.
    CiFailing,
    /// An open pull request nobody was asked to review.
    NoReviewer,
}

impl AttentionKind {
    /// A short label for people.
    pub fn label(self) -> &'static str {
        match self {
            AttentionKind::Paused => "campaign paused",
            AttentionKind::GateWaiting => "gate waiting",
            AttentionKind::Failed => "failed",
            AttentionKind::VerifyFailed => "verify failed",
            AttentionKind::NeedsAttention => "needs attention",
            AttentionKind::CiFailing => "CI failing",
            AttentionKind::NoReviewer => "no reviewer",
        }
    }
}

/// One thing a person should look at, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionItem {
    /// Why it is listed.
    pub kind: AttentionKind,
    /// The repository (`None` for the campaign itself).
    pub repo: Option<String>,
    /// Its owner's entity ref.
    pub owner: Option<String>,
    /// The step that failed (clone, apply, commit, push, open_pr).
    pub step: Option<String>,
    /// What is wrong, trimmed to a few lines.
    pub problem: String,
    /// The next thing to do, in one or two sentences.
    pub next: String,
    /// The target's pull request, when it has one.
    pub pr: Option<PrLink>,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrLink {
    /// Its number on the forge.
    pub number: i64,
    /// Its address (`https://…`, or `local://repo/pull/N` on the local forge).
    pub url: String,
    /// open | merged | closed
    pub state: String,
    /// Opened as a draft.
    pub draft: bool,
}

/// One target, as the tables show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetLine {
    /// The repository's display name.
    pub repo: String,
    /// Catalog entity ref of the component.
    pub component: String,
    /// Catalog entity ref of the owner.
    pub owner: String,
    /// 1-based.
    pub tranche: i64,
    /// The tranche's name.
    pub tranche_name: String,
    /// The target state (`pending` … `opted_out`, see docs/architecture.md).
    pub state: String,
    /// True when nothing more will happen to it.
    pub settled: bool,
    /// The step that failed.
    pub step: Option<String>,
    /// Why it failed, was declined, or is not applicable (as recorded).
    pub reason: Option<String>,
    /// Its pull request, once opened.
    pub pr: Option<PrLink>,
    /// none | pending | success | failure
    pub ci: Option<String>,
    /// approved | changes_requested | pending
    pub review: Option<String>,
    /// Who was asked to review; empty: nobody.
    pub reviewers: Option<String>,
    /// An open pull request nobody was asked to review.
    pub no_reviewer: bool,
    /// An open pull request that went stale and was nudged.
    pub stale: bool,
    /// Places the recipe still matches here (latest successful scan).
    pub remaining_matches: Option<i64>,
    /// When the pull request was first recorded open (RFC 3339).
    pub opened_at: Option<String>,
    /// When it was merged (RFC 3339).
    pub merged_at: Option<String>,
}

/// Which column of the burndown a target state falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Merged,
    Open,
    Declined,
    NotNeeded,
    NotStarted,
    Failed,
}

fn bucket(state: TargetState) -> Bucket {
    match state {
        TargetState::Merged => Bucket::Merged,
        TargetState::Pushed | TargetState::PrOpen => Bucket::Open,
        TargetState::Declined => Bucket::Declined,
        TargetState::NoChange | TargetState::NotApplicable | TargetState::OptedOut => {
            Bucket::NotNeeded
        }
        TargetState::Pending | TargetState::Queued => Bucket::NotStarted,
        TargetState::Failed | TargetState::VerifyFailed | TargetState::NeedsAttention => {
            Bucket::Failed
        }
    }
}

/// `part` of `whole` in percent, rounded down; 0 of 0 is 0.
fn percent(part: usize, whole: usize) -> u32 {
    part.saturating_mul(100)
        .checked_div(whole)
        .map_or(0, |p| u32::try_from(p).unwrap_or(100))
}

impl Counts {
    fn add(&mut self, state: TargetState) {
        self.targets += 1;
        match bucket(state) {
            Bucket::Merged => self.merged += 1,
            Bucket::Open => self.open += 1,
            Bucket::Declined => self.declined += 1,
            Bucket::NotNeeded => self.not_needed += 1,
            Bucket::NotStarted => self.not_started += 1,
            Bucket::Failed => self.failed += 1,
        }
        if state.is_settled() {
            self.settled += 1;
        }
        self.settled_percent = percent(self.settled, self.targets);
    }
}

impl CampaignReport {
    /// Compute the report of `campaign` from what the state holds, as of
    /// `now` (the state's clock: `State::now`).
    ///
    /// `events` and `scans` are oldest first, as the state returns them.
    /// Nothing here fails: a time or state the state cannot parse counts as
    /// "other" in the burndown rather than hiding the whole report.
    pub fn build(
        campaign: &CampaignRow,
        targets: &[TargetRow],
        tranches: &[TrancheRow],
        events: &[EventRow],
        scans: &[ScanRow],
        now: Timestamp,
    ) -> CampaignReport {
        let latest = latest_scans(scans, None);
        let tranche_names = tranche_names(campaign, targets, tranches);
        let lines: Vec<TargetLine> = targets
            .iter()
            .map(|t| target_line(t, &tranche_names, latest.get(&t.id).copied()))
            .collect();
        CampaignReport {
            schema: SCHEMA,
            generated_at: state::format_time(now),
            campaign: CampaignInfo {
                name: campaign.name.clone(),
                recipe: campaign.recipe_id.clone(),
                forge: campaign.forge.clone(),
                status: campaign.status.clone(),
                status_reason: non_empty(campaign.status_reason.as_deref()),
                gate_note: non_empty(campaign.gate_note.as_deref()),
                tranche_count: campaign.tranche_count,
                tranches_open: campaign.tranches_open,
                created_at: campaign.created_at.clone(),
            },
            headline: headline(targets, scans),
            days: burndown(campaign, events, scans, now),
            tranches: tranche_progress(campaign, targets, tranches),
            teams: team_progress(targets),
            attention: attention(campaign, targets),
            targets: lines,
        }
    }
}

impl Headline {
    /// The report's first sentence: "62% of 24 repositories done; 41
    /// places still to migrate."
    pub fn sentence(&self) -> String {
        let repos = plural(self.targets, "repository", "repositories");
        let mut s = format!("{}% of {} {repos} done", self.done_percent, self.targets);
        if let Some(left) = self.remaining_matches {
            let places = plural(usize::try_from(left).unwrap_or(0), "place", "places");
            s.push_str(&format!("; {left} {places} still to migrate"));
        }
        s.push('.');
        s
    }
}

/// `one` or `many`, by `n`.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The latest scan of each target that counted matches, among the scans at
/// or before `until` (`None`: all of them).
fn latest_scans(scans: &[ScanRow], until: Option<Timestamp>) -> BTreeMap<i64, i64> {
    let mut latest = BTreeMap::new();
    for s in scans {
        if let Some(until) = until
            && state::parse_time(&s.at).is_none_or(|at| at > until)
        {
            continue;
        }
        if let Some(matches) = s.matches {
            latest.insert(s.target_id, matches);
        }
    }
    latest
}

fn headline(targets: &[TargetRow], scans: &[ScanRow]) -> Headline {
    let mut counts = Counts::default();
    for t in targets {
        counts.add(t.state);
    }
    let latest = latest_scans(scans, None);
    // A target whose newest scan failed: its last good count stands, and it
    // is counted as a scan error.
    let mut newest: HashMap<i64, &ScanRow> = HashMap::new();
    for s in scans {
        newest.insert(s.target_id, s);
    }
    let scan_errors = newest.values().filter(|s| s.matches.is_none()).count();
    let last_scan_at = scans
        .iter()
        .filter_map(|s| state::parse_time(&s.at).map(|t| (t, &s.at)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, at)| at.clone());
    Headline {
        targets: counts.targets,
        done: counts.settled,
        done_percent: counts.settled_percent,
        merged: counts.merged,
        open_prs: targets.iter().filter(|t| t.has_open_pr()).count(),
        declined: counts.declined,
        failed: counts.failed,
        not_started: counts.not_started,
        remaining_matches: (!latest.is_empty()).then(|| latest.values().sum()),
        scanned_targets: latest.len(),
        scan_errors,
        last_scan_at,
    }
}

/// The UTC day of `t`.
fn day_of(t: Timestamp) -> Date {
    t.to_zoned_datetime(TimeZone::UTC).date()
}

/// The last instant of `day` (UTC): everything stamped at or before it
/// happened that day or earlier.
fn end_of_day(day: Date) -> Option<Timestamp> {
    let next = day.tomorrow().ok()?;
    let start = next.to_zoned_datetime(TimeZone::UTC).ok()?.timestamp();
    start.checked_sub(SignedDuration::from_nanos(1)).ok()
}

/// One point per UTC day, from the creation day to `now`'s day.
///
/// The states come from one `state::Replayer` moved to the end of each day
/// in turn: one pass over the log, by the rule `state::replay` uses.
fn burndown(
    campaign: &CampaignRow,
    events: &[EventRow],
    scans: &[ScanRow],
    now: Timestamp,
) -> Vec<DayPoint> {
    let last = day_of(now);
    let first = state::parse_time(&campaign.created_at)
        .map(day_of)
        .unwrap_or(last)
        .min(last);
    let first = match last.checked_sub(SignedDuration::from_hours(24 * (MAX_DAYS - 1))) {
        Ok(earliest) if earliest > first => earliest,
        _ => first,
    };
    let mut log = state::Replayer::new(events);
    let mut scanned = ScanReplayer::new(scans);
    let mut days = Vec::new();
    let mut day = first;
    while let Some(until) = end_of_day(day) {
        log.advance(Some(until));
        // None: a state this version does not know (counted as "other").
        let states = log
            .counts()
            .iter()
            .map(|(s, n)| (s.parse::<TargetState>().ok(), *n));
        let mut point = DayPoint {
            date: day.to_string(),
            merged: 0,
            open: 0,
            declined: 0,
            not_needed: 0,
            not_started: 0,
            other: 0,
            remaining_matches: None,
        };
        for (s, n) in states {
            match s.map(bucket) {
                Some(Bucket::Merged) => point.merged += n,
                Some(Bucket::Open) => point.open += n,
                Some(Bucket::Declined) => point.declined += n,
                Some(Bucket::NotNeeded) => point.not_needed += n,
                Some(Bucket::NotStarted) => point.not_started += n,
                Some(Bucket::Failed) | None => point.other += n,
            }
        }
        point.remaining_matches = scanned.advance(until);
        days.push(point);
        if day >= last {
            break;
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    days
}

/// The latest count of each target's scans, moved forward one cut-off
/// after another (the burndown's days) in one pass over the scans. Scans
/// are in log order, and stamped in order: the pass stops at the first one
/// after the cut-off, as [`state::Replayer`] does with events; a scan whose
/// time cannot be read is passed over.
struct ScanReplayer<'a> {
    scans: &'a [ScanRow],
    next: usize,
    latest: HashMap<i64, i64>,
    sum: i64,
}

impl<'a> ScanReplayer<'a> {
    fn new(scans: &'a [ScanRow]) -> Self {
        ScanReplayer {
            scans,
            next: 0,
            latest: HashMap::new(),
            sum: 0,
        }
    }

    /// The sum of the latest counts as of `until` (`None` before any scan
    /// counted matches).
    fn advance(&mut self, until: Timestamp) -> Option<i64> {
        while let Some(s) = self.scans.get(self.next) {
            match state::parse_time(&s.at) {
                Some(at) if at > until => break,
                Some(_) => {
                    if let Some(matches) = s.matches {
                        let old = self.latest.insert(s.target_id, matches).unwrap_or(0);
                        self.sum += matches - old;
                    }
                }
                None => {}
            }
            self.next += 1;
        }
        (!self.latest.is_empty()).then_some(self.sum)
    }
}

/// The display name of each tranche index (0-based), from the recorded
/// tranches, else "tranche N".
fn tranche_names(
    campaign: &CampaignRow,
    targets: &[TargetRow],
    tranches: &[TrancheRow],
) -> BTreeMap<i64, String> {
    let mut names: BTreeMap<i64, String> = (0..campaign.tranche_count.max(0))
        .chain(targets.iter().map(|t| t.tranche))
        .map(|i| (i, format!("tranche {}", i + 1)))
        .collect();
    for t in tranches {
        if !t.name.trim().is_empty() {
            names.insert(t.idx, t.name.clone());
        }
    }
    names
}

fn tranche_progress(
    campaign: &CampaignRow,
    targets: &[TargetRow],
    tranches: &[TrancheRow],
) -> Vec<TrancheProgress> {
    let names = tranche_names(campaign, targets, tranches);
    // Counted in one pass over the targets, not one per tranche.
    let mut counted: BTreeMap<i64, Counts> = BTreeMap::new();
    for t in targets {
        counted.entry(t.tranche).or_default().add(t.state);
    }
    let rows: BTreeMap<i64, &TrancheRow> = tranches.iter().map(|t| (t.idx, t)).collect();
    names
        .into_iter()
        .map(|(idx, name)| {
            let row = rows.get(&idx).copied();
            let counts = counted.remove(&idx).unwrap_or_default();
            let opened_at = row.and_then(|r| r.opened_at.clone());
            // Campaigns recorded before tranches had rows: `tranches_open`.
            let opened = match row {
                Some(_) => opened_at.is_some(),
                None => idx < campaign.tranches_open,
            };
            TrancheProgress {
                number: idx + 1,
                name,
                spec: row.map(|r| r.spec.clone()),
                opened,
                opened_at,
                counts,
            }
        })
        .collect()
}

/// The name of a catalog entity ref: `group:default/payments` → `payments`.
pub fn short_ref(owner: &str) -> &str {
    let name = owner.rsplit_once('/').map_or(owner, |(_, name)| name);
    let name = name.rsplit_once(':').map_or(name, |(_, name)| name);
    if name.is_empty() { owner } else { name }
}

fn awaiting_review(t: &TargetRow) -> bool {
    t.has_open_pr()
        && !t.ci_failing()
        && !t.changeset.as_ref().is_some_and(|c| {
            matches!(
                c.review_state.as_deref(),
                Some("approved" | "changes_requested")
            )
        })
}

fn stale(t: &TargetRow) -> bool {
    t.has_open_pr() && t.changeset.as_ref().is_some_and(|c| c.nudged_at.is_some())
}

fn no_reviewer(t: &TargetRow) -> bool {
    t.has_open_pr()
        && t.changeset
            .as_ref()
            .is_some_and(|c| c.reviewers.as_deref().is_some_and(|r| r.trim().is_empty()))
}

fn team_progress(targets: &[TargetRow]) -> Vec<TeamProgress> {
    let mut teams: BTreeMap<&str, (Counts, TeamProgress)> = BTreeMap::new();
    for t in targets {
        let (counts, team) = teams.entry(t.owner.as_str()).or_insert_with(|| {
            (
                Counts::default(),
                TeamProgress {
                    owner: t.owner.clone(),
                    name: short_ref(&t.owner).to_string(),
                    targets: 0,
                    merged: 0,
                    open: 0,
                    failing_ci: 0,
                    awaiting_review: 0,
                    stale: 0,
                    declined: 0,
                    failed: 0,
                    not_started: 0,
                    settled: 0,
                    settled_percent: 0,
                },
            )
        });
        counts.add(t.state);
        team.failing_ci += usize::from(t.ci_failing());
        team.awaiting_review += usize::from(awaiting_review(t));
        team.stale += usize::from(stale(t));
    }
    teams
        .into_values()
        .map(|(c, team)| TeamProgress {
            targets: c.targets,
            merged: c.merged,
            open: c.open,
            declined: c.declined,
            failed: c.failed,
            not_started: c.not_started,
            settled: c.settled,
            settled_percent: c.settled_percent,
            ..team
        })
        .collect()
}

fn pr_link(t: &TargetRow) -> Option<PrLink> {
    let c = t.changeset.as_ref()?;
    Some(PrLink {
        number: c.number?,
        url: c.url.clone()?,
        state: c.pr_state.map_or("open", |s| s.as_str()).to_string(),
        draft: c.draft,
    })
}

fn target_line(
    t: &TargetRow,
    tranche_names: &BTreeMap<i64, String>,
    remaining_matches: Option<i64>,
) -> TargetLine {
    let cs = t.changeset.as_ref();
    TargetLine {
        repo: t.repo.clone(),
        component: t.component.clone(),
        owner: t.owner.clone(),
        tranche: t.tranche + 1,
        tranche_name: tranche_names
            .get(&t.tranche)
            .cloned()
            .unwrap_or_else(|| format!("tranche {}", t.tranche + 1)),
        state: t.state.as_str().to_string(),
        settled: t.state.is_settled(),
        step: t.step.clone(),
        reason: t.reason.clone(),
        pr: pr_link(t),
        ci: cs.and_then(|c| c.ci_state.clone()),
        review: cs.and_then(|c| c.review_state.clone()),
        reviewers: cs.and_then(|c| c.reviewers.clone()),
        no_reviewer: no_reviewer(t),
        stale: stale(t),
        remaining_matches,
        opened_at: cs.and_then(|c| c.opened_at.clone()),
        merged_at: cs.and_then(|c| c.merged_at.clone()),
    }
}

/// `text` cut to what a list item can hold: at most six lines (the first
/// and the last four when longer: a command's error is at its end) and 600
/// characters.
pub fn trim_problem(text: &str) -> String {
    const MAX_CHARS: usize = 600;
    let lines: Vec<&str> = text
        .trim()
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut kept = if lines.len() > 6 {
        let mut kept = vec![lines[0], "…"];
        kept.extend(&lines[lines.len() - 4..]);
        kept.join("\n")
    } else {
        lines.join("\n")
    };
    if kept.chars().count() > MAX_CHARS {
        kept = format!("{}…", kept.chars().take(MAX_CHARS).collect::<String>());
    }
    kept
}

/// What to do about a failed target, by the step that failed.
fn next_for_failure(campaign: &str, step: Option<&str>, reason: Option<&str>) -> String {
    let retry = format!("then `{RUN} {campaign}` retries it");
    if reason.is_some_and(|r| r.starts_with(crate::optout::FILE)) {
        return format!(
            "The repository's own opt-out file is broken: ask its owners to fix `{}` (the error says where), {retry}.",
            crate::optout::FILE
        );
    }
    match step {
        Some("clone") => format!(
            "Check the repository URL and that fleetwright can reach it (access, token), {retry}."
        ),
        Some("apply") => format!(
            "Run `fleetwright recipe apply` on a checkout of the repository to see what the recipe trips on, fix the recipe, {retry}."
        ),
        Some("commit") => {
            format!("Check the disk and the clone cache next to the state database, {retry}.")
        }
        Some("push") => format!(
            "Check write access to the repository; if a branch of the campaign's name exists without fleetwright's commits, delete it or choose another `pull_request.branch`, {retry}."
        ),
        Some("open_pr") => format!(
            "Check that the forge token may open pull requests in this repository, {retry} (an existing pull request is adopted, never duplicated)."
        ),
        _ => format!("Read the error, fix its cause, {retry}."),
    }
}

fn attention(campaign: &CampaignRow, targets: &[TargetRow]) -> Vec<AttentionItem> {
    let name = &campaign.name;
    let mut items = Vec::new();
    if campaign.status == "paused" {
        items.push(AttentionItem {
            kind: AttentionKind::Paused,
            repo: None,
            owner: None,
            step: None,
            problem: non_empty(campaign.status_reason.as_deref())
                .map_or_else(|| "paused by hand".to_string(), |r| trim_problem(&r)),
            next: format!(
                "No pull request is opened while it is paused. Deal with the reason, then `fleetwright resume {name}`."
            ),
            pr: None,
        });
    }
    if campaign.status == "active"
        && campaign.tranches_open < campaign.tranche_count
        && let Some(note) = non_empty(campaign.gate_note.as_deref())
    {
        items.push(AttentionItem {
            kind: AttentionKind::GateWaiting,
            repo: None,
            owner: None,
            step: None,
            problem: trim_problem(&note),
            next: format!(
                "The next tranche opens when the gate is met: get the open pull requests reviewed and merged (or `fleetwright advance {name} --force` opens it anyway)."
            ),
            pr: None,
        });
    }
    for t in targets {
        let item = |kind, problem: String, next: String| AttentionItem {
            kind,
            repo: Some(t.repo.clone()),
            owner: Some(t.owner.clone()),
            step: t.step.clone(),
            problem,
            next,
            pr: pr_link(t),
        };
        let reason = || {
            t.reason
                .as_deref()
                .map(trim_problem)
                .filter(|r| !r.is_empty())
        };
        match t.state {
            TargetState::Failed => items.push(item(
                AttentionKind::Failed,
                reason().unwrap_or_else(|| "failed (no reason recorded)".into()),
                next_for_failure(name, t.step.as_deref(), t.reason.as_deref()),
            )),
            TargetState::VerifyFailed => items.push(item(
                AttentionKind::VerifyFailed,
                reason().unwrap_or_else(|| "the verify command failed".into()),
                "Run the campaign's verify command in a checkout of the repository with the recipe applied, fix the recipe; the next run retries it.".into(),
            )),
            TargetState::NeedsAttention => items.push(item(
                AttentionKind::NeedsAttention,
                reason().unwrap_or_else(|| "needs a person (no reason recorded)".into()),
                "Do what the reason says: fleetwright leaves this pull request alone until a person settles it (merges or closes it, or restores the branch).".into(),
            )),
            _ => {}
        }
        if t.ci_failing() {
            items.push(item(
                AttentionKind::CiFailing,
                "the pull request's checks fail".into(),
                "Look at the PR's checks: if the change broke them, fix the recipe (the next run updates the branch); if they failed before, tell the owners.".into(),
            ));
        }
        if no_reviewer(t) {
            items.push(item(
                AttentionKind::NoReviewer,
                "nobody was asked to review this pull request".into(),
                "Give the owner a GitHub team in the catalog (`github.com/team-slug`) or add a CODEOWNERS line, or ask someone to review it by hand.".into(),
            ));
        }
    }
    items
}

/// A target state in plain words, for people who do not know fleetwright.
pub fn state_label(state: &str) -> &str {
    match state {
        "pending" => "not started",
        "queued" => "queued",
        "pushed" => "branch pushed",
        "pr_open" => "PR open",
        "merged" => "merged",
        "declined" => "declined",
        "no_change" => "no change needed",
        "not_applicable" => "not applicable",
        "failed" => "failed",
        "verify_failed" => "verify failed",
        "needs_attention" => "needs attention",
        "opted_out" => "opted out",
        other => other,
    }
}

/// The words of the report, explained for someone who has never seen
/// fleetwright (the HTML and Markdown reports end with them).
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "Campaign",
        "One code change (the recipe) rolled out to many repositories, each getting its own pull request.",
    ),
    (
        "Tranche",
        "A batch of repositories. Tranches open one after another, smallest risk first, so a problem shows up on a few repositories before it reaches all of them.",
    ),
    (
        "Gate",
        "The condition a tranche must meet (for example, 80% of its pull requests merged) before the next one opens.",
    ),
    (
        "Done",
        "Nothing more will happen to the repository: its pull request was merged or declined, or it needs none (no change needed, not applicable, opted out).",
    ),
    (
        "No PR needed",
        "The recipe changes nothing in the repository, does not apply to it, or its owners opted out of the campaign.",
    ),
    (
        "Open",
        "A branch was pushed or a pull request is open, waiting for CI and review.",
    ),
    (
        "Declined",
        "The owners closed the pull request without merging it; the reason they gave is shown.",
    ),
    (
        "Not started",
        "The repository's tranche has not opened yet, or its turn has not come.",
    ),
    (
        "Failed",
        "Fleetwright could not prepare the change (clone, apply, commit, push, open the pull request) or the verify command failed; someone has to look.",
    ),
    (
        "Stale",
        "An open pull request nobody reviewed for a while; the owners were reminded once.",
    ),
    (
        "Places to migrate",
        "How many places the recipe still finds on the repositories' default branches, from the latest scan. It reaches 0 when the old way is gone.",
    ),
];
