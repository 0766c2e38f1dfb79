//! What needs a person, grouped by cause: one entry per cause (a paused
//! campaign, a waiting gate, a step that failed, CI failing, no reviewer,
//! stale, declined…) with its count, the teams it touches, the next step
//! said once, and the repositories behind it.
//!
//! At an organisation's size one cause holds hundreds of repositories (a
//! thousand pull requests with no reviewer are one problem, not a thousand):
//! the renderers show each cause once and the repositories behind a
//! disclosure. The causes come in the order of how much of the campaign
//! they hold up: the campaign itself (paused, a gate waiting) first, then
//! the causes that hold the tranche the gate waits on, then the largest,
//! and the owners' "no" (declined, opted out) last: settled, nothing to
//! unblock, but leadership wants the reasons.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::campaign::{PrLink, TargetLine, short_ref, trim_problem};
use crate::state::{CampaignRow, CampaignStatus, ReviewState, Step, TargetRow, TargetState};

/// The command that retries failed targets, named in "what to do next".
const RUN: &str = "fleetwright run";

/// How many distinct reasons a cause keeps (the most frequent).
const MAX_REASONS: usize = 20;

/// Why something needs a person. The order of the variants breaks ties
/// between causes of the same size: the ones the platform team must fix
/// before the ones the owners must act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionKind {
    /// The campaign is paused.
    Paused,
    /// The next tranche waits for its gate.
    GateWaiting,
    /// A repository's own opt-out file is broken.
    OptOutBroken,
    /// The clone failed.
    CloneFailed,
    /// The recipe failed on the repository.
    ApplyFailed,
    /// The commit could not be made.
    CommitFailed,
    /// The push was refused.
    PushRefused,
    /// The pull request could not be opened.
    OpenPrFailed,
    /// A step failed (no step recorded).
    Failed,
    /// The verify command failed on the rewritten checkout.
    VerifyFailed,
    /// The pull request needs a person (`needs_attention`).
    NeedsAttention,
    /// An open pull request whose CI fails.
    CiFailing,
    /// The owners asked for changes.
    ChangesRequested,
    /// An open pull request nobody was asked to review.
    NoReviewer,
    /// An open pull request nobody reviewed for a while (nudged once).
    Stale,
    /// The owners closed the pull request without merging it.
    Declined,
    /// The owners opted the repository out.
    OptedOut,
    /// The platform team closed the pull request when it cancelled.
    ClosedByPlatformTeam,
}

impl AttentionKind {
    /// Every cause, in the order of the variants.
    pub const ALL: [AttentionKind; 18] = [
        AttentionKind::Paused,
        AttentionKind::GateWaiting,
        AttentionKind::OptOutBroken,
        AttentionKind::CloneFailed,
        AttentionKind::ApplyFailed,
        AttentionKind::CommitFailed,
        AttentionKind::PushRefused,
        AttentionKind::OpenPrFailed,
        AttentionKind::Failed,
        AttentionKind::VerifyFailed,
        AttentionKind::NeedsAttention,
        AttentionKind::CiFailing,
        AttentionKind::ChangesRequested,
        AttentionKind::NoReviewer,
        AttentionKind::Stale,
        AttentionKind::Declined,
        AttentionKind::OptedOut,
        AttentionKind::ClosedByPlatformTeam,
    ];

    /// The name JSON gives it (`push_refused`), also the CSS and filter key.
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionKind::Paused => "paused",
            AttentionKind::GateWaiting => "gate_waiting",
            AttentionKind::OptOutBroken => "opt_out_broken",
            AttentionKind::CloneFailed => "clone_failed",
            AttentionKind::ApplyFailed => "apply_failed",
            AttentionKind::CommitFailed => "commit_failed",
            AttentionKind::PushRefused => "push_refused",
            AttentionKind::OpenPrFailed => "open_pr_failed",
            AttentionKind::Failed => "failed",
            AttentionKind::VerifyFailed => "verify_failed",
            AttentionKind::NeedsAttention => "needs_attention",
            AttentionKind::CiFailing => "ci_failing",
            AttentionKind::ChangesRequested => "changes_requested",
            AttentionKind::NoReviewer => "no_reviewer",
            AttentionKind::Stale => "stale",
            AttentionKind::Declined => "declined",
            AttentionKind::OptedOut => "opted_out",
            AttentionKind::ClosedByPlatformTeam => "closed_by_platform_team",
        }
    }

    /// A short label for people.
    pub fn label(self) -> &'static str {
        match self {
            AttentionKind::Paused => "campaign paused",
            AttentionKind::GateWaiting => "gate waiting",
            AttentionKind::OptOutBroken => "opt-out file broken",
            AttentionKind::CloneFailed => "clone failed",
            AttentionKind::ApplyFailed => "recipe failed",
            AttentionKind::CommitFailed => "commit failed",
            AttentionKind::PushRefused => "push refused",
            AttentionKind::OpenPrFailed => "pull request not opened",
            AttentionKind::Failed => "failed",
            AttentionKind::VerifyFailed => "verify failed",
            AttentionKind::NeedsAttention => "needs attention",
            AttentionKind::CiFailing => "CI failing",
            AttentionKind::ChangesRequested => "changes requested",
            AttentionKind::NoReviewer => "no reviewer",
            AttentionKind::Stale => "stale",
            AttentionKind::Declined => "declined by the owners",
            AttentionKind::OptedOut => "opted out",
            AttentionKind::ClosedByPlatformTeam => "closed by the platform team",
        }
    }

    /// About the campaign as a whole, not about repositories.
    pub fn is_campaign_wide(self) -> bool {
        matches!(self, AttentionKind::Paused | AttentionKind::GateWaiting)
    }

    /// The owners said no (or the platform team closed): settled, listed
    /// with the reasons given, after everything that holds the campaign up.
    pub fn said_no(self) -> bool {
        matches!(
            self,
            AttentionKind::Declined | AttentionKind::OptedOut | AttentionKind::ClosedByPlatformTeam
        )
    }

    /// Its problems are a command's or a forge's output (kept with their
    /// lines, in a monospace block), not our own sentences.
    pub fn shows_output(self) -> bool {
        matches!(
            self,
            AttentionKind::OptOutBroken
                | AttentionKind::CloneFailed
                | AttentionKind::ApplyFailed
                | AttentionKind::CommitFailed
                | AttentionKind::PushRefused
                | AttentionKind::OpenPrFailed
                | AttentionKind::Failed
                | AttentionKind::VerifyFailed
                | AttentionKind::NeedsAttention
        )
    }

    /// What every repository of this cause shares, said once; `None` when
    /// each has its own problem (an error, a reason).
    fn common_problem(self) -> Option<&'static str> {
        match self {
            AttentionKind::CiFailing => Some("their pull requests' checks fail"),
            AttentionKind::ChangesRequested => {
                Some("the owners asked for changes on their pull requests")
            }
            AttentionKind::NoReviewer => Some("nobody was asked to review their pull requests"),
            AttentionKind::Stale => Some(
                "nobody reviewed their pull requests for a while; the owners were reminded once",
            ),
            _ => None,
        }
    }

    /// The next thing to do, for every repository of the cause.
    fn next(self, campaign: &str) -> String {
        let retry = format!("then `{RUN} {campaign}` retries them");
        match self {
            AttentionKind::Paused => format!(
                "No pull request is opened while it is paused. Deal with the reason, then `fleetwright resume {campaign}`."
            ),
            AttentionKind::GateWaiting => format!(
                "The next tranche opens when the gate is met: get the open pull requests reviewed and merged (or `fleetwright advance {campaign} --force` opens it anyway)."
            ),
            AttentionKind::OptOutBroken => format!(
                "The repositories' own opt-out file is broken: ask their owners to fix `{}` (the error says where), {retry}.",
                crate::optout::FILE
            ),
            AttentionKind::CloneFailed => format!(
                "Check the repository URLs and that fleetwright can reach them (access, token), {retry}."
            ),
            AttentionKind::ApplyFailed => format!(
                "Run `fleetwright recipe apply` on a checkout of one of them to see what the recipe trips on, fix the recipe, {retry}."
            ),
            AttentionKind::CommitFailed => {
                format!("Check the disk and the clone cache next to the state database, {retry}.")
            }
            AttentionKind::PushRefused => format!(
                "Check write access to the repositories; if a branch of the campaign's name exists without fleetwright's commits, delete it or choose another `pull_request.branch`, {retry}."
            ),
            AttentionKind::OpenPrFailed => format!(
                "Check that the forge token may open pull requests in these repositories, {retry} (an existing pull request is adopted, never duplicated)."
            ),
            AttentionKind::Failed => format!("Read the errors, fix their cause, {retry}."),
            AttentionKind::VerifyFailed => "Run the campaign's verify command in a checkout with the recipe applied (`fleetwright preview --verify` does it for every target), fix the recipe; the next run retries them.".into(),
            AttentionKind::NeedsAttention => "Do what each reason says: fleetwright leaves these pull requests alone until a person settles them (merges or closes them, or restores the branch).".into(),
            AttentionKind::CiFailing => "Look at the checks of one of them: if the change broke them, fix the recipe (the next run updates every branch); if they failed before, tell the owners.".into(),
            AttentionKind::ChangesRequested => "Read the reviews: if the recipe is wrong, fix it (the next run updates every branch); if the owners want something else, answer on the pull request.".into(),
            AttentionKind::NoReviewer => "Give the owners a GitHub team in the catalog (`github.com/team-slug`) or add a CODEOWNERS line, or ask someone to review by hand.".into(),
            AttentionKind::Stale => "Ask the teams below directly: a reminder was already posted on each pull request.".into(),
            AttentionKind::Declined => "Read the owners' reasons below: when one is about the recipe, fix it and talk to them; otherwise the old way stays there.".into(),
            AttentionKind::OptedOut => format!(
                "The owners opted out with a `{}` file, for the reasons below: talk to them if the migration is mandatory.",
                crate::optout::FILE
            ),
            AttentionKind::ClosedByPlatformTeam => "Nothing, unless the campaign is launched again: these pull requests were closed when it was cancelled.".into(),
        }
    }
}

/// A team a cause touches, and how many of its repositories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCount {
    /// The owner's entity ref.
    pub owner: String,
    /// Its short name.
    pub name: String,
    /// Repositories of the team under this cause.
    pub count: usize,
}

/// One distinct problem of a cause (the first line of an error or a
/// reason), and how many repositories have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: usize,
}

/// A repository under a cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionRepo {
    /// The repository's display name.
    pub repo: String,
    /// Its owner's entity ref.
    pub owner: String,
    /// Its own problem (an error, trimmed to a few lines, or the reason the
    /// owners gave); `None` when the cause's `problem` says it (the same
    /// for every repository of the cause).
    pub problem: Option<String>,
    /// Its pull request, when it has one.
    pub pr: Option<PrLink>,
}

/// One cause, with everything behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionGroup {
    /// The cause.
    pub kind: AttentionKind,
    /// Its label for people (`push refused`).
    pub label: String,
    /// Repositories under it (0 for the campaign-wide causes).
    pub count: usize,
    /// Of them, in the tranche the gate waits on (they hold it closed).
    pub holds_gate: usize,
    /// The teams it touches, the most touched first.
    pub teams: Vec<TeamCount>,
    /// What is wrong, when it is the same for all (the pause reason, the
    /// gate note, "nobody was asked to review", one error on every
    /// repository).
    pub problem: Option<String>,
    /// The distinct problems (their first lines), the most frequent first
    /// (at most twenty), when the repositories do not all share one.
    pub reasons: Vec<ReasonCount>,
    /// How many distinct problems there are (`reasons` keeps twenty).
    pub distinct_reasons: usize,
    /// The next thing to do, said once.
    pub next: String,
    /// The repositories, in plan order.
    pub repos: Vec<AttentionRepo>,
}

impl AttentionGroup {
    /// How many of `reasons` are worth listing, at most `max`: when no two
    /// repositories share one, three show what they look like.
    pub fn reasons_listed(&self, max: usize) -> usize {
        let all_different = self.reasons.first().is_some_and(|r| r.count == 1);
        self.reasons
            .len()
            .min(if all_different { max.min(3) } else { max })
    }

    fn new(kind: AttentionKind, campaign: &str) -> AttentionGroup {
        AttentionGroup {
            kind,
            label: kind.label().to_string(),
            count: 0,
            holds_gate: 0,
            teams: Vec::new(),
            problem: kind.common_problem().map(str::to_string),
            reasons: Vec::new(),
            distinct_reasons: 0,
            next: kind.next(campaign),
            repos: Vec::new(),
        }
    }
}

/// The causes a target is under (a pull request can fail CI and have no
/// reviewer): the one rule, kept in its report line.
pub fn causes(t: &TargetRow, line: &TargetLine) -> Vec<AttentionKind> {
    let mut kinds = Vec::new();
    match t.state {
        TargetState::Failed => kinds.push(failure_kind(t)),
        TargetState::VerifyFailed => kinds.push(AttentionKind::VerifyFailed),
        TargetState::NeedsAttention => kinds.push(AttentionKind::NeedsAttention),
        _ => {}
    }
    if t.ci_failing() {
        kinds.push(AttentionKind::CiFailing);
    }
    if t.has_open_pr() && line.review == Some(ReviewState::ChangesRequested) {
        kinds.push(AttentionKind::ChangesRequested);
    }
    if line.no_reviewer {
        kinds.push(AttentionKind::NoReviewer);
    }
    if line.stale {
        kinds.push(AttentionKind::Stale);
    }
    match line.outcome {
        super::campaign::Outcome::Declined => kinds.push(AttentionKind::Declined),
        super::campaign::Outcome::OptedOut => kinds.push(AttentionKind::OptedOut),
        super::campaign::Outcome::ClosedByPlatformTeam => {
            kinds.push(AttentionKind::ClosedByPlatformTeam);
        }
        _ => {}
    }
    kinds
}

/// The cause of a failed target, by the step that failed.
fn failure_kind(t: &TargetRow) -> AttentionKind {
    if t.reason
        .as_deref()
        .is_some_and(|r| r.starts_with(crate::optout::FILE))
    {
        return AttentionKind::OptOutBroken;
    }
    match t.step.as_deref().and_then(|s| s.parse::<Step>().ok()) {
        Some(Step::Clone) => AttentionKind::CloneFailed,
        Some(Step::Apply) => AttentionKind::ApplyFailed,
        Some(Step::Commit) => AttentionKind::CommitFailed,
        Some(Step::Push) => AttentionKind::PushRefused,
        Some(Step::OpenPr) => AttentionKind::OpenPrFailed,
        None => AttentionKind::Failed,
    }
}

/// The causes of `campaign`'s targets (`lines` are `targets`' report lines,
/// in the same order), in the order of how much they hold up.
pub fn build(
    campaign: &CampaignRow,
    targets: &[TargetRow],
    lines: &[TargetLine],
) -> Vec<AttentionGroup> {
    let name = &campaign.name;
    let mut wide = Vec::new();
    if campaign.status == CampaignStatus::Paused {
        let mut g = AttentionGroup::new(AttentionKind::Paused, name);
        g.problem = Some(
            non_empty(campaign.status_reason.as_deref())
                .map_or_else(|| "paused by hand".to_string(), trim_problem),
        );
        wide.push(g);
    }
    // The tranche the gate waits on (0-based), while it waits.
    let gate_tranche = (campaign.status == CampaignStatus::Active
        && campaign.tranches_open < campaign.tranche_count)
        .then_some(campaign.gate_note.as_deref())
        .flatten()
        .and_then(|n| non_empty(Some(n)))
        .map(|note| {
            let mut g = AttentionGroup::new(AttentionKind::GateWaiting, name);
            g.problem = Some(trim_problem(note));
            wide.push(g);
            campaign.tranches_open - 1
        });

    let mut groups: BTreeMap<AttentionKind, AttentionGroup> = BTreeMap::new();
    let mut teams: HashMap<AttentionKind, HashMap<&str, usize>> = HashMap::new();
    let mut reasons: HashMap<AttentionKind, HashMap<String, usize>> = HashMap::new();
    for (t, line) in targets.iter().zip(lines) {
        for &kind in &line.attention {
            let g = groups
                .entry(kind)
                .or_insert_with(|| AttentionGroup::new(kind, name));
            g.count += 1;
            g.holds_gate += usize::from(Some(t.tranche) == gate_tranche && !t.state.is_settled());
            *teams
                .entry(kind)
                .or_default()
                .entry(t.owner.as_str())
                .or_default() += 1;
            let problem = if g.problem.is_some() {
                None
            } else if kind.said_no() {
                Some(
                    line.reason_shown()
                        .map_or_else(|| "no reason given".to_string(), str::to_string),
                )
            } else {
                Some(
                    t.reason
                        .as_deref()
                        .map(trim_problem)
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "no reason recorded".to_string()),
                )
            };
            if let Some(p) = &problem {
                *reasons
                    .entry(kind)
                    .or_default()
                    .entry(first_line(p))
                    .or_default() += 1;
            }
            g.repos.push(AttentionRepo {
                repo: t.repo.clone(),
                owner: t.owner.clone(),
                problem,
                pr: line.pr.clone(),
            });
        }
    }
    let mut groups: Vec<AttentionGroup> = groups
        .into_values()
        .map(|mut g| {
            g.teams = most_first(teams.remove(&g.kind).unwrap_or_default())
                .into_iter()
                .map(|(owner, count)| TeamCount {
                    name: short_ref(owner).to_string(),
                    owner: owner.to_string(),
                    count,
                })
                .collect();
            let distinct = most_first(reasons.remove(&g.kind).unwrap_or_default());
            g.distinct_reasons = distinct.len();
            g.reasons = distinct
                .into_iter()
                .take(MAX_REASONS)
                .map(|(reason, count)| ReasonCount { reason, count })
                .collect();
            // The same problem everywhere (a thousand identical clone
            // errors, one reason to opt out) is said once, for the cause.
            if g.problem.is_none()
                && let Some(first) = g.repos.first().and_then(|r| r.problem.clone())
                && g.repos.iter().all(|r| r.problem.as_ref() == Some(&first))
            {
                g.problem = Some(first);
                g.reasons.clear();
                g.distinct_reasons = 0;
                for r in &mut g.repos {
                    r.problem = None;
                }
            }
            g
        })
        .collect();
    // What holds the campaign up first: the gate's tranche, then size; the
    // owners' "no" last.
    groups.sort_by(|a, b| {
        (a.kind.said_no(), std::cmp::Reverse(a.holds_gate))
            .cmp(&(b.kind.said_no(), std::cmp::Reverse(b.holds_gate)))
            .then(b.count.cmp(&a.count))
            .then(a.kind.cmp(&b.kind))
    });
    wide.extend(groups);
    wide
}

/// Counted keys, the most counted first (ties by key, for a stable order).
fn most_first<K: Ord>(counts: HashMap<K, usize>) -> Vec<(K, usize)> {
    let mut v: Vec<(K, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The first non-empty line of a problem, cut to 200 characters.
fn first_line(problem: &str) -> String {
    let line = problem
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    super::shorten(line, 200)
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}
