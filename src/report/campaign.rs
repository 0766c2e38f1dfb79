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

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::attention::{self, AttentionGroup, AttentionKind};
use super::pace::{DEFAULT_WINDOW_DAYS, Progress};
use crate::state::{
    self, CampaignRow, CampaignStatus, EventRow, ScanRow, TargetRow, TargetState, TrancheRow,
};

/// The team a report of `report --split-by team` is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamScope {
    /// The owner's entity ref (`group:default/payments`).
    pub owner: String,
    /// Its short name (`payments`).
    pub name: String,
}

/// The version of the report's JSON shape.
pub const SCHEMA: u32 = 3;

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
    /// Progress of each owning team, the most left to do first.
    pub teams: Vec<TeamProgress>,
    /// The team this report is about (a page of `report --split-by
    /// team`); `None`: the whole campaign.
    pub team: Option<TeamScope>,
    /// What moved since a date and where that pace leads.
    pub progress: Progress,
    /// What a person should look at, grouped by cause, in the order of how
    /// much of the campaign each holds up (see `attention.rs`).
    pub attention: Vec<AttentionGroup>,
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

/// The numbers at the top of the report. Two questions, kept apart: what
/// the campaign *did* to each repository (its pull request merged, declined,
/// closed; no change needed; opted out; still in progress), and how much of
/// the fleet is *migrated* (off the old way, by the latest scan).
///
/// The counts from `merged` to `not_started` add up to `targets`; the
/// first five of them (and `closed_by_platform_team`) are `settled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Repositories in the campaign.
    pub targets: usize,
    /// Migrated: merged, no change needed or not applicable, and the latest
    /// successful scan (when there is one) finds no place left there.
    /// Declined, opted-out and closed repositories are never migrated.
    pub migrated: usize,
    /// `migrated` of `targets`, in percent, rounded down: 100 only when every
    /// repository is migrated, so never while a scan finds a place left.
    pub migrated_percent: u32,
    /// Settled: nothing more will happen to them (merged, not needed,
    /// declined, closed by the platform team, opted out). Not the same as
    /// migrated: a declined repository is settled and still on the old way.
    pub settled: usize,
    /// Pull requests merged.
    pub merged: usize,
    /// No pull request needed: the recipe changes nothing (no_change) or
    /// does not apply (not_applicable). Opted-out repositories are not here.
    pub not_needed: usize,
    /// Pull requests the owners closed without merging.
    pub declined: usize,
    /// Pull requests the platform team closed when it cancelled the
    /// campaign (`cancel --close-prs`): not the owners' decline.
    pub closed_by_platform_team: usize,
    /// Repositories whose owners opted out (a `.fleetwright.yaml` file).
    pub opted_out: usize,
    /// A branch pushed or a pull request open, waiting for CI and review.
    pub in_progress: usize,
    /// Pull requests open now (`in_progress`, and drafts of verify_failed
    /// or needs_attention targets).
    pub open_prs: usize,
    /// Targets stuck on an error: failed, verify_failed, needs_attention.
    pub failed: usize,
    /// Targets whose tranche is not open or that were not prepared yet
    /// (pending, queued).
    pub not_started: usize,
    /// Merged or not needed, yet the latest scan still finds places there
    /// (the recipe missed some, or they came back): not migrated.
    pub not_clean: usize,
    /// Places the recipe still matches across the fleet: the sum of each
    /// scanned target's latest successful scan. `None`: never scanned.
    pub remaining_matches: Option<i64>,
    /// Repositories whose latest successful scan finds at least one place:
    /// still on the old way, whatever the campaign did there.
    pub repos_left: usize,
    /// Targets with at least one successful scan.
    pub scanned_targets: usize,
    /// Targets whose latest scan failed (their last good count is used).
    pub scan_errors: usize,
    /// When the newest scan ran (RFC 3339).
    pub last_scan_at: Option<String>,
}

/// One day of the burndown: the targets per state at the end of that UTC
/// day, replayed from the event log. The eight counts add up to the targets
/// the log knew of that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPoint {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// Pull requests merged.
    pub merged: usize,
    /// A branch pushed or a pull request open (pushed, pr_open).
    pub open: usize,
    /// Pull requests the owners closed without merging.
    pub declined: usize,
    /// Pull requests the platform team closed when it cancelled the campaign.
    pub closed_by_platform_team: usize,
    /// No pull request needed (no_change, not_applicable).
    pub not_needed: usize,
    /// The owners opted out (opted_out).
    pub opted_out: usize,
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

/// Targets of a group (a tranche), by what happened to them. The counts
/// from `merged` to `not_started` add up to `targets`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Targets in the group.
    pub targets: usize,
    /// Pull requests merged.
    pub merged: usize,
    /// pushed or pr_open.
    pub open: usize,
    /// Pull requests the owners closed without merging.
    pub declined: usize,
    /// Pull requests the platform team closed when it cancelled the campaign.
    pub closed_by_platform_team: usize,
    /// no_change, not_applicable.
    pub not_needed: usize,
    /// The owners opted out.
    pub opted_out: usize,
    /// failed, verify_failed, needs_attention.
    pub failed: usize,
    /// pending, queued.
    pub not_started: usize,
    /// Nothing more will happen: merged, declined, closed by the platform
    /// team, not needed, opted out.
    pub settled: usize,
    /// `settled` of `targets`, in percent, rounded down.
    pub settled_percent: u32,
    /// Merged or not needed, with no place left by the latest scan (see
    /// [`Headline::migrated`]).
    pub migrated: usize,
    /// `migrated` of `targets`, in percent, rounded down.
    pub migrated_percent: u32,
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
    /// Targets not settled yet (open, failed, not started): what the team
    /// still has to do; the table is sorted by it.
    pub left: usize,
    /// Pull requests merged.
    pub merged: usize,
    /// No pull request needed (no_change, not_applicable).
    pub not_needed: usize,
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
    /// Pull requests the platform team closed when it cancelled the campaign.
    pub closed_by_platform_team: usize,
    /// Repositories the team opted out.
    pub opted_out: usize,
    /// failed, verify_failed, needs_attention.
    pub failed: usize,
    /// pending, queued.
    pub not_started: usize,
    /// Settled targets (merged, declined, closed, not needed, opted out).
    pub settled: usize,
    /// `settled` of `targets`, in percent, rounded down.
    pub settled_percent: u32,
    /// Migrated targets (see [`Headline::migrated`]).
    pub migrated: usize,
    /// `migrated` of `targets`, in percent, rounded down.
    pub migrated_percent: u32,
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
    /// The target state (`pending` … `opted_out`, see docs/architecture.md),
    /// as the state stores it.
    pub state: String,
    /// The state in words people use (`declined by its owners`); a pull
    /// request the platform team closed is `closed by the platform team`.
    pub state_label: String,
    /// What became of it, as the report counts it.
    pub outcome: Outcome,
    /// True when nothing more will happen to it.
    pub settled: bool,
    /// Merged or not needed, with no place left by its latest scan.
    pub migrated: bool,
    /// The step that failed.
    pub step: Option<String>,
    /// Why it failed, was declined, or is not applicable (as recorded).
    pub reason: Option<String>,
    /// Its pull request, once opened.
    pub pr: Option<PrLink>,
    /// none | pending | success | failure
    pub ci: Option<crate::state::CiState>,
    /// approved | changes_requested | pending
    pub review: Option<crate::state::ReviewState>,
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
    /// Whether its branch holds exactly the recipe's change, as last
    /// checked (`None`: never checked).
    #[serde(default)]
    pub recipe_exact: Option<bool>,
    /// The causes of `attention` it is under (none: nothing to look at).
    #[serde(default)]
    pub attention: Vec<AttentionKind>,
}

impl TargetLine {
    /// Its reason as shown beside its label: without the label said again
    /// (`closed by the platform team: superseded` shows `superseded`).
    pub fn reason_shown(&self) -> Option<&str> {
        let reason = self.reason.as_deref()?;
        let rest = reason
            .strip_prefix(self.state_label.as_str())
            .and_then(|r| r.strip_prefix(':'))
            .map_or(reason, str::trim_start);
        (!rest.trim().is_empty()).then_some(rest)
    }
}

/// What became of a target, as the report counts it: its state, with the
/// pull requests the platform team closed told apart from the owners'
/// declines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The pull request was merged.
    Merged,
    /// No pull request needed: no_change, not_applicable.
    NotNeeded,
    /// The owners closed the pull request without merging it.
    Declined,
    /// The platform team closed the pull request when it cancelled the
    /// campaign (`cancel --close-prs`).
    ClosedByPlatformTeam,
    /// The owners opted the repository out.
    OptedOut,
    /// A branch pushed or a pull request open.
    InProgress,
    /// failed, verify_failed, needs_attention.
    Failed,
    /// pending, queued.
    NotStarted,
}

impl Outcome {
    /// The outcome of a target in `state`; `closed_by_platform_team`: its
    /// pull request was closed by `cancel --close-prs`.
    pub fn of(state: TargetState, closed_by_platform_team: bool) -> Outcome {
        match state {
            TargetState::Merged => Outcome::Merged,
            TargetState::Pushed | TargetState::PrOpen => Outcome::InProgress,
            TargetState::Declined if closed_by_platform_team => Outcome::ClosedByPlatformTeam,
            TargetState::Declined => Outcome::Declined,
            TargetState::NoChange | TargetState::NotApplicable => Outcome::NotNeeded,
            TargetState::OptedOut => Outcome::OptedOut,
            TargetState::Pending | TargetState::Queued => Outcome::NotStarted,
            TargetState::Failed | TargetState::VerifyFailed | TargetState::NeedsAttention => {
                Outcome::Failed
            }
        }
    }

    /// The name JSON and CSV give it (`closed_by_platform_team`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Merged => "merged",
            Outcome::NotNeeded => "not_needed",
            Outcome::Declined => "declined",
            Outcome::ClosedByPlatformTeam => "closed_by_platform_team",
            Outcome::OptedOut => "opted_out",
            Outcome::InProgress => "in_progress",
            Outcome::Failed => "failed",
            Outcome::NotStarted => "not_started",
        }
    }

    /// The pull request was merged or none is needed: migrated unless a
    /// scan still finds places there.
    pub fn done(self) -> bool {
        matches!(self, Outcome::Merged | Outcome::NotNeeded)
    }

    /// Its owners said no (declined, opted out), or the platform team
    /// closed its pull request: listed with the reason given.
    pub fn said_no(self) -> bool {
        matches!(
            self,
            Outcome::Declined | Outcome::OptedOut | Outcome::ClosedByPlatformTeam
        )
    }
}

/// What the report knows of each target beyond its row: its latest
/// successful scan, and whether the platform team closed its pull request.
struct Known {
    latest: BTreeMap<i64, i64>,
    closed_by_platform_team: HashSet<i64>,
}

impl Known {
    fn outcome(&self, t: &TargetRow) -> Outcome {
        Outcome::of(t.state, self.closed_by_platform_team.contains(&t.id))
    }

    /// Merged or not needed, and no place left by its latest scan.
    fn migrated(&self, t: &TargetRow) -> bool {
        self.outcome(t).done() && self.places_left(t) == 0
    }

    fn places_left(&self, t: &TargetRow) -> i64 {
        self.latest.get(&t.id).copied().unwrap_or(0)
    }
}

/// The targets whose pull request the platform team closed: a
/// `closed_by_platform_team` event (written by `cancel --close-prs`), or,
/// in a cancelled campaign recorded before that event existed, a move to
/// `declined` logged after the campaign's `cancelled` event (nothing syncs
/// a cancelled campaign, so only `cancel --close-prs` declines then).
fn closed_by_platform_team(campaign: &CampaignRow, events: &[EventRow]) -> HashSet<i64> {
    let mut closed = HashSet::new();
    let mut cancelled = false;
    for e in events {
        match (e.kind.as_str(), e.target_id) {
            (CLOSED_BY_PLATFORM_TEAM, Some(t)) => {
                closed.insert(t);
            }
            ("cancelled", None) => cancelled = true,
            ("state", Some(t))
                if cancelled
                    && campaign.status == CampaignStatus::Cancelled
                    && e.to_state.as_deref() == Some(TargetState::Declined.as_str()) =>
            {
                closed.insert(t);
            }
            _ => {}
        }
    }
    closed
}

/// The event `cancel --close-prs` logs for each pull request it closed.
pub const CLOSED_BY_PLATFORM_TEAM: &str = "closed_by_platform_team";

/// How the report names a pull request the platform team closed.
pub const CLOSED_LABEL: &str = "closed by the platform team";

/// `part` of `whole` in percent, rounded down; 0 of 0 is 0.
fn percent(part: usize, whole: usize) -> u32 {
    part.saturating_mul(100)
        .checked_div(whole)
        .map_or(0, |p| u32::try_from(p).unwrap_or(100))
}

impl Counts {
    fn add(&mut self, outcome: Outcome, migrated: bool) {
        self.targets += 1;
        match outcome {
            Outcome::Merged => self.merged += 1,
            Outcome::InProgress => self.open += 1,
            Outcome::Declined => self.declined += 1,
            Outcome::ClosedByPlatformTeam => self.closed_by_platform_team += 1,
            Outcome::NotNeeded => self.not_needed += 1,
            Outcome::OptedOut => self.opted_out += 1,
            Outcome::NotStarted => self.not_started += 1,
            Outcome::Failed => self.failed += 1,
        }
        if !matches!(
            outcome,
            Outcome::InProgress | Outcome::NotStarted | Outcome::Failed
        ) {
            self.settled += 1;
        }
        self.migrated += usize::from(migrated);
        self.settled_percent = percent(self.settled, self.targets);
        self.migrated_percent = percent(self.migrated, self.targets);
    }
}

/// How a report is cut.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The start of the "what moved" window (`report --since`); `None`:
    /// seven days before the report.
    pub since: Option<Timestamp>,
}

impl CampaignReport {
    /// Compute the report of `campaign` from what the state holds, as of
    /// `now` (the state's clock: `State::now`), with the default options.
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
        Self::build_with(
            campaign,
            targets,
            tranches,
            events,
            scans,
            now,
            &Options::default(),
        )
    }

    /// [`CampaignReport::build`], cut by `options`.
    pub fn build_with(
        campaign: &CampaignRow,
        targets: &[TargetRow],
        tranches: &[TrancheRow],
        events: &[EventRow],
        scans: &[ScanRow],
        now: Timestamp,
        options: &Options,
    ) -> CampaignReport {
        let known = Known {
            latest: latest_scans(scans, None),
            closed_by_platform_team: closed_by_platform_team(campaign, events),
        };
        let tranche_names = tranche_names(campaign, targets, tranches);
        let lines: Vec<TargetLine> = targets
            .iter()
            .map(|t| {
                let mut line = target_line(t, &tranche_names, &known);
                line.attention = attention::causes(t, &line);
                line
            })
            .collect();
        let since = options.since.unwrap_or_else(|| {
            now.checked_sub(SignedDuration::from_hours(24 * DEFAULT_WINDOW_DAYS))
                .unwrap_or(now)
        });
        CampaignReport {
            schema: SCHEMA,
            generated_at: state::format_time(now),
            campaign: CampaignInfo {
                name: campaign.name.clone(),
                recipe: campaign.recipe_id.clone(),
                forge: campaign.forge.clone(),
                status: campaign.status.to_string(),
                status_reason: non_empty(campaign.status_reason.as_deref()),
                gate_note: non_empty(campaign.gate_note.as_deref()),
                tranche_count: campaign.tranche_count,
                tranches_open: campaign.tranches_open,
                created_at: campaign.created_at.clone(),
            },
            team: None,
            headline: headline(targets, scans, &known),
            progress: Progress::compute(
                events,
                scans,
                &campaign.created_at,
                &known.closed_by_platform_team,
                since,
                now,
            ),
            days: burndown(campaign, events, scans, now, &known.closed_by_platform_team),
            tranches: tranche_progress(campaign, targets, tranches, &known),
            teams: team_progress(targets, &known),
            attention: attention::build(campaign, targets, &lines),
            targets: lines,
        }
    }

    /// One report per owning team (`report --split-by team`), in the order
    /// of the whole campaign's teams table: each computed from the team's
    /// targets, their events and scans alone (the campaign's own events,
    /// a pause or a cancel, go to every team).
    pub fn split_by_team(
        campaign: &CampaignRow,
        targets: &[TargetRow],
        tranches: &[TrancheRow],
        events: &[EventRow],
        scans: &[ScanRow],
        now: Timestamp,
        options: &Options,
    ) -> Vec<CampaignReport> {
        // Every row sorted to its team in one pass over each list.
        let owner_of: HashMap<i64, &str> =
            targets.iter().map(|t| (t.id, t.owner.as_str())).collect();
        /// One team's rows.
        #[derive(Default)]
        struct TeamRows {
            targets: Vec<TargetRow>,
            events: Vec<EventRow>,
            scans: Vec<ScanRow>,
        }
        let mut rows: BTreeMap<&str, TeamRows> = BTreeMap::new();
        for t in targets {
            rows.entry(t.owner.as_str())
                .or_default()
                .targets
                .push(t.clone());
        }
        for e in events {
            match e.target_id {
                Some(id) => {
                    if let Some(team) = owner_of.get(&id).and_then(|o| rows.get_mut(o)) {
                        team.events.push(e.clone());
                    }
                }
                None => {
                    for team in rows.values_mut() {
                        team.events.push(e.clone());
                    }
                }
            }
        }
        for s in scans {
            if let Some(team) = owner_of.get(&s.target_id).and_then(|o| rows.get_mut(o)) {
                team.scans.push(s.clone());
            }
        }
        let mut reports: Vec<CampaignReport> = rows
            .into_iter()
            .map(|(owner, rows)| {
                let mut report = Self::build_with(
                    campaign,
                    &rows.targets,
                    tranches,
                    &rows.events,
                    &rows.scans,
                    now,
                    options,
                );
                report.team = Some(TeamScope {
                    owner: owner.to_string(),
                    name: short_ref(owner).to_string(),
                });
                report
            })
            .collect();
        // The teams table's order: the most left first.
        reports.sort_by(|a, b| team_order(&a.teams[0], &b.teams[0]));
        reports
    }
}

/// The teams table's order: the most repositories left to settle first,
/// then the most not migrated, then by name.
fn team_order(a: &TeamProgress, b: &TeamProgress) -> std::cmp::Ordering {
    b.left
        .cmp(&a.left)
        .then((b.targets - b.migrated).cmp(&(a.targets - a.migrated)))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.owner.cmp(&b.owner))
}

impl Headline {
    /// The report's first sentences: how much is migrated and what the
    /// campaign did, then what the latest scan finds. `campaign` is named
    /// in the command that scans, when nothing was scanned yet:
    ///
    /// "19 of 23 repositories migrated (82%): 15 merged, 4 needed no
    /// change; 3 declined by their owners, 1 opted out. The latest scan
    /// finds 17 places still to migrate in 4 repositories."
    pub fn sentence(&self, campaign: &str) -> String {
        let repos = plural(self.targets, "repository", "repositories");
        let mut s = format!(
            "{} of {} {repos} migrated ({}%)",
            count(self.migrated),
            count(self.targets),
            self.migrated_percent
        );
        // What made them migrated: merged, or needing no change (less
        // those where the scan still finds places).
        let mut done: Vec<String> = [
            (self.merged, "merged"),
            (self.not_needed, "needed no change"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", count(n)))
        .collect();
        if self.not_clean > 0 {
            let done_count = self.merged + self.not_needed;
            if let Some(last) = done.last_mut() {
                last.push_str(&format!(
                    " (but the scan still finds places in {} of {})",
                    count(self.not_clean),
                    if done_count == 1 { "it" } else { "them" }
                ));
            }
        }
        // The others, by what the campaign did there.
        let in_progress = self.in_progress + self.failed + self.not_started;
        let rest: Vec<String> = [
            (
                self.declined,
                format!(
                    "{} declined by {} owners",
                    count(self.declined),
                    plural(self.declined, "its", "their")
                ),
            ),
            (
                self.closed_by_platform_team,
                format!(
                    "{} closed by the platform team",
                    count(self.closed_by_platform_team)
                ),
            ),
            (
                self.opted_out,
                format!("{} opted out", count(self.opted_out)),
            ),
            (
                in_progress,
                format!("{} still in progress", count(in_progress)),
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, what)| what)
        .collect();
        match (done.is_empty(), rest.is_empty()) {
            (true, true) => {}
            (false, true) => s.push_str(&format!(": {}", done.join(", "))),
            (true, false) => s.push_str(&format!(": {}", rest.join(", "))),
            (false, false) => {
                s.push_str(&format!(": {}; {}", done.join(", "), rest.join(", ")));
            }
        }
        s.push_str(". ");
        match self.remaining_matches {
            None => s.push_str(&format!(
                "The migration is not measured yet: `fleetwright scan {campaign}` counts the places still to migrate."
            )),
            Some(left) => {
                let all = self.scanned_targets >= self.targets;
                let scanned = plural(self.scanned_targets, "repository", "repositories");
                let places = plural(usize::try_from(left).unwrap_or(0), "place", "places");
                let in_repos = plural(self.repos_left, "repository", "repositories");
                s.push_str(&match (left > 0, all) {
                    (true, true) => format!(
                        "The latest scan finds {} {places} still to migrate in {} {in_repos}.",
                        count(left),
                        count(self.repos_left)
                    ),
                    (true, false) => format!(
                        "The latest scan finds {} {places} still to migrate in {} of the {} {scanned} scanned.",
                        count(left),
                        count(self.repos_left),
                        count(self.scanned_targets)
                    ),
                    (false, true) => "The latest scan finds no place left to migrate.".to_string(),
                    (false, false) => format!(
                        "The latest scan finds no place left to migrate in the {} {scanned} scanned.",
                        count(self.scanned_targets)
                    ),
                });
            }
        }
        s
    }
}

/// `n` as people read a count: `10,000`.
pub fn count(n: impl TryInto<i64>) -> String {
    let n: i64 = n.try_into().unwrap_or(i64::MAX);
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
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

fn headline(targets: &[TargetRow], scans: &[ScanRow], known: &Known) -> Headline {
    let mut counts = Counts::default();
    let mut not_clean = 0;
    for t in targets {
        counts.add(known.outcome(t), known.migrated(t));
        not_clean += usize::from(known.outcome(t).done() && known.places_left(t) > 0);
    }
    let latest = &known.latest;
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
    let remaining_matches: Option<i64> = (!latest.is_empty()).then(|| latest.values().sum());
    let repos_left = latest.values().filter(|m| **m > 0).count();
    // Never 100% while a scan finds a place left, whatever the rows say.
    let mut migrated_percent = counts.migrated_percent;
    if migrated_percent >= 100 && (repos_left > 0 || remaining_matches.is_some_and(|m| m > 0)) {
        migrated_percent = 99;
    }
    Headline {
        targets: counts.targets,
        migrated: counts.migrated,
        migrated_percent,
        settled: counts.settled,
        merged: counts.merged,
        not_needed: counts.not_needed,
        declined: counts.declined,
        closed_by_platform_team: counts.closed_by_platform_team,
        opted_out: counts.opted_out,
        in_progress: counts.open,
        open_prs: targets.iter().filter(|t| t.has_open_pr()).count(),
        failed: counts.failed,
        not_started: counts.not_started,
        not_clean,
        remaining_matches,
        repos_left,
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
    closed_by_platform_team: &HashSet<i64>,
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
        let by_target = log.advance(Some(until));
        // Declined by the platform team, not the owners (a few targets of
        // a cancelled campaign, looked up one by one).
        let withdrawn = closed_by_platform_team
            .iter()
            .filter(|t| by_target.get(t).copied() == Some(TargetState::Declined.as_str()))
            .count();
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
            closed_by_platform_team: withdrawn,
            not_needed: 0,
            opted_out: 0,
            not_started: 0,
            other: 0,
            remaining_matches: None,
        };
        for (s, n) in states {
            match s.map(|s| Outcome::of(s, false)) {
                Some(Outcome::Merged) => point.merged += n,
                Some(Outcome::InProgress) => point.open += n,
                Some(Outcome::Declined) => point.declined += n.saturating_sub(withdrawn),
                Some(Outcome::NotNeeded) => point.not_needed += n,
                Some(Outcome::OptedOut) => point.opted_out += n,
                Some(Outcome::NotStarted) => point.not_started += n,
                Some(Outcome::Failed | Outcome::ClosedByPlatformTeam) | None => point.other += n,
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
    known: &Known,
) -> Vec<TrancheProgress> {
    let names = tranche_names(campaign, targets, tranches);
    // Counted in one pass over the targets, not one per tranche.
    let mut counted: BTreeMap<i64, Counts> = BTreeMap::new();
    for t in targets {
        counted
            .entry(t.tranche)
            .or_default()
            .add(known.outcome(t), known.migrated(t));
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
        && !t
            .changeset
            .as_ref()
            .is_some_and(|c| c.review_state.is_some_and(|r| r.is_verdict()))
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

fn team_progress(targets: &[TargetRow], known: &Known) -> Vec<TeamProgress> {
    // Per owner: the counts, and what only open pull requests tell.
    let mut teams: BTreeMap<&str, (Counts, [usize; 3])> = BTreeMap::new();
    for t in targets {
        let (counts, [failing_ci, awaiting, stale_prs]) =
            teams.entry(t.owner.as_str()).or_default();
        counts.add(known.outcome(t), known.migrated(t));
        *failing_ci += usize::from(t.ci_failing());
        *awaiting += usize::from(awaiting_review(t));
        *stale_prs += usize::from(stale(t));
    }
    let mut teams: Vec<TeamProgress> = teams
        .into_iter()
        .map(
            |(owner, (c, [failing_ci, awaiting_review, stale]))| TeamProgress {
                owner: owner.to_string(),
                name: short_ref(owner).to_string(),
                targets: c.targets,
                left: c.targets - c.settled,
                merged: c.merged,
                not_needed: c.not_needed,
                open: c.open,
                failing_ci,
                awaiting_review,
                stale,
                declined: c.declined,
                closed_by_platform_team: c.closed_by_platform_team,
                opted_out: c.opted_out,
                failed: c.failed,
                not_started: c.not_started,
                settled: c.settled,
                settled_percent: c.settled_percent,
                migrated: c.migrated,
                migrated_percent: c.migrated_percent,
            },
        )
        .collect();
    teams.sort_by(team_order);
    teams
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

fn target_line(t: &TargetRow, tranche_names: &BTreeMap<i64, String>, known: &Known) -> TargetLine {
    let cs = t.changeset.as_ref();
    let outcome = known.outcome(t);
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
        state_label: match outcome {
            Outcome::ClosedByPlatformTeam => CLOSED_LABEL,
            _ => t.state.label(),
        }
        .to_string(),
        outcome,
        settled: t.state.is_settled(),
        migrated: known.migrated(t),
        step: t.step.clone(),
        reason: t.reason.clone(),
        pr: pr_link(t),
        ci: cs.and_then(|c| c.ci_state),
        review: cs.and_then(|c| c.review_state),
        reviewers: cs.and_then(|c| c.reviewers.clone()),
        no_reviewer: no_reviewer(t),
        stale: stale(t),
        remaining_matches: known.latest.get(&t.id).copied(),
        opened_at: cs.and_then(|c| c.opened_at.clone()),
        merged_at: cs.and_then(|c| c.merged_at.clone()),
        recipe_exact: cs.and_then(|c| c.recipe_exact.as_ref()).map(|e| e.exact),
        attention: Vec::new(),
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

/// The words of the report, explained for someone who has never seen
/// fleetwright (the HTML and Markdown reports end with them; so does
/// docs/campaigns.md, "Reading the report").
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "Campaign",
        "One code change (the recipe) rolled out to many repositories, each getting its own pull request.",
    ),
    (
        "Migrated",
        "The repository is off the old way: its pull request was merged, or it needed no change (or the recipe does not apply to it), and the latest scan finds no place left there. Declined and opted-out repositories are never migrated. The headline's percentage counts these, and reaches 100% only when every repository is migrated.",
    ),
    (
        "Places to migrate",
        "How many places the recipe still finds on the repositories' default branches, from the latest scan (`fleetwright scan`), whatever the campaign did there. It reaches 0 when the old way is gone.",
    ),
    (
        "Settled",
        "Nothing more will happen to the repository in this campaign: merged, no change needed, not applicable, declined, closed by the platform team or opted out. Settled is not migrated: a declined repository is settled and still on the old way.",
    ),
    ("Merged", "The owners merged the pull request."),
    (
        "No change needed",
        "The recipe changes nothing in the repository (no change needed), or does not apply to it (not applicable): no pull request was opened.",
    ),
    (
        "Declined by its owners",
        "The owners closed the pull request without merging it; the reason they gave is shown. The repository is still on the old way.",
    ),
    (
        "Opted out",
        "The owners opted the repository out of the campaign (a `.fleetwright.yaml` file); the reason they gave is shown. No pull request was opened.",
    ),
    (
        "Closed by the platform team",
        "The campaign was cancelled and the platform team closed its open pull requests (`fleetwright cancel --close-prs`): not a decision of the owners.",
    ),
    (
        "In progress",
        "A branch was pushed or a pull request is open, waiting for CI and review; or the repository is waiting for its tranche, or failed and needs a person.",
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
        "Not started",
        "The repository is waiting for its tranche, or is queued: its turn has not come.",
    ),
    (
        "Failed",
        "Fleetwright could not prepare the change (clone, apply, commit, push, open the pull request) or the verify command failed; someone has to look.",
    ),
    (
        "Stale",
        "An open pull request nobody reviewed for a while; the owners were reminded once.",
    ),
];
