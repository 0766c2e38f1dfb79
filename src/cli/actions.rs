//! `--json` of `run`, `launch`, `advance` and `sync`: what the command did,
//! per target, in one documented shape (docs/campaigns.md, "What a command
//! did, as JSON") for cron jobs, CI and other tools.
//!
//! One shape for the four commands: the parts a command does not do are
//! empty (`sync` opens no tranche; `launch` syncs nothing). Text from
//! outside is data here (JSON escapes it); nothing is a token.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{Reconciled, RunReport, SyncReport, TargetOutcome};
use crate::state::{CampaignRow, TargetState};

/// The version of this shape.
pub const SCHEMA: u32 = 1;

/// Which command it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Run,
    Launch,
    Advance,
    Sync,
}

/// What a command did.
#[derive(Debug, Serialize)]
pub struct Actions {
    pub schema: u32,
    pub command: Kind,
    pub campaign: Campaign,
    /// This command recorded the campaign (`launch`, or `run` of a file).
    pub launched: bool,
    /// It finished an interrupted tranche instead of opening one.
    pub resumed: bool,
    /// It paused the campaign, and why.
    pub paused: Option<String>,
    /// The gate between the newest open tranche and the next, as evaluated.
    pub gate: Option<Gate>,
    /// Tranches it opened (1-based).
    pub opened_tranches: Vec<i64>,
    /// Why fewer pull requests were opened than could be.
    pub throttled: Option<String>,
    /// What the forge said of the open pull requests (`run`, `sync`).
    pub sync: Option<Sync>,
    /// The targets it worked on, in plan order.
    pub targets: Vec<Target>,
    /// Stale pull requests it nudged.
    pub nudged: Vec<Nudged>,
    /// Nudges the forge refused.
    pub nudge_failed: Vec<NotDone>,
    /// The campaign's tracking issue, when `report.issue` names one (`run`).
    pub tracking_issue: Option<TrackingIssue>,
    /// `targets` by state.
    pub counts: BTreeMap<TargetState, usize>,
    /// Targets left failed (a step or `verify`) and pull requests the forge
    /// could not tell about: the command exits 4 when this is not 0.
    pub failed: usize,
}

/// The campaign after the command.
#[derive(Debug, Serialize)]
pub struct Campaign {
    pub name: String,
    pub status: crate::state::CampaignStatus,
    pub status_reason: Option<String>,
    pub tranches_open: i64,
    pub tranche_count: i64,
}

/// A gate, as evaluated.
#[derive(Debug, Serialize)]
pub struct Gate {
    /// In words: `tranche 1 (canary): 1 of 1 merged (100%), gate needs 80%`.
    pub note: String,
    /// It passed (and the next tranche opened).
    pub passed: bool,
}

/// What a sync learned.
#[derive(Debug, Serialize)]
pub struct Sync {
    /// Open pull requests asked about.
    pub checked: usize,
    /// Targets the forge moved.
    pub moved: Vec<Moved>,
    /// Pull requests the forge could not tell about.
    pub failed: Vec<NotDone>,
}

/// A target the forge moved.
#[derive(Debug, Serialize)]
pub struct Moved {
    pub repo: String,
    pub from: TargetState,
    pub to: TargetState,
    /// Merged by `pull_request.auto_merge`, and why it could be.
    pub auto_merged: Option<&'static str>,
}

/// Something that could not be done to a repository, and why.
#[derive(Debug, Serialize)]
pub struct NotDone {
    pub repo: String,
    pub why: String,
}

/// A pull request nudged.
#[derive(Debug, Serialize)]
pub struct Nudged {
    pub repo: String,
    pub pr: i64,
}

/// A target worked on.
#[derive(Debug, Serialize)]
pub struct Target {
    pub repo: String,
    /// Its state after the command.
    pub state: TargetState,
    /// The step that failed.
    pub step: Option<crate::state::Step>,
    /// Why it failed or needs no pull request.
    pub reason: Option<String>,
    /// Its pull request's number.
    pub pr: Option<i64>,
}

/// What became of the tracking issue.
#[derive(Debug, Serialize)]
pub struct TrackingIssue {
    pub action: IssueAction,
    pub url: Option<String>,
    /// Why publishing failed (the run does not fail for it).
    pub error: Option<String>,
}

/// What publishing the tracking issue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueAction {
    Opened,
    Updated,
    /// The report did not change: nothing was sent.
    Unchanged,
    /// A person closed it: left as it is.
    LeftClosed,
    /// The forge refused or could not be reached (`error` says why).
    Failed,
}

impl From<crate::engine::tracking::Action> for IssueAction {
    fn from(action: crate::engine::tracking::Action) -> Self {
        use crate::engine::tracking::Action;
        match action {
            Action::Opened => IssueAction::Opened,
            Action::Updated => IssueAction::Updated,
            Action::Unchanged => IssueAction::Unchanged,
            Action::LeftClosed => IssueAction::LeftClosed,
        }
    }
}

impl Actions {
    fn new(command: Kind, c: &CampaignRow, outcomes: &[TargetOutcome]) -> Actions {
        let mut counts = BTreeMap::new();
        for o in outcomes {
            *counts.entry(o.state).or_default() += 1;
        }
        Actions {
            schema: SCHEMA,
            command,
            campaign: Campaign {
                name: c.name.clone(),
                status: c.status,
                status_reason: c.status_reason.clone(),
                tranches_open: c.tranches_open,
                tranche_count: c.tranche_count,
            },
            launched: false,
            resumed: false,
            paused: None,
            gate: None,
            opened_tranches: Vec::new(),
            throttled: None,
            sync: None,
            targets: outcomes
                .iter()
                .map(|o| Target {
                    repo: o.repo.clone(),
                    state: o.state,
                    step: o.step,
                    reason: o.reason.clone(),
                    pr: o.pr,
                })
                .collect(),
            nudged: Vec::new(),
            nudge_failed: Vec::new(),
            tracking_issue: None,
            counts,
            failed: crate::engine::failures(outcomes),
        }
    }

    /// What `launch` or `advance` did.
    pub fn of_run(command: Kind, r: &RunReport) -> Actions {
        let mut a = Actions::new(command, &r.campaign, &r.outcomes);
        a.launched = command == Kind::Launch;
        a.resumed = r.resumed;
        a.gate = r.gate.clone().map(|note| Gate {
            note,
            passed: !r.opened.is_empty(),
        });
        a.opened_tranches = r.opened.iter().map(|t| t + 1).collect();
        a.throttled = r.throttled.clone();
        a
    }

    /// What `sync` did to `campaign`.
    pub fn of_sync(campaign: &CampaignRow, s: &SyncReport) -> Actions {
        let mut a = Actions::new(Kind::Sync, campaign, &[]);
        a.sync = Some(sync(s));
        a.failed = s.failed.len();
        a
    }

    /// What `run` did.
    pub fn of_reconciled(done: &Reconciled) -> Actions {
        let mut a = Actions::new(Kind::Run, &done.campaign, &done.outcomes);
        a.launched = done.launched;
        a.paused = done.paused.clone();
        a.gate = done.gate.clone().map(|note| Gate {
            note,
            passed: done.gate_passed,
        });
        a.opened_tranches = done.opened.iter().map(|t| t + 1).collect();
        a.throttled = done.throttled.clone();
        a.sync = Some(sync(&done.sync));
        a.nudged = done
            .nudged
            .iter()
            .map(|(repo, pr)| Nudged {
                repo: repo.clone(),
                pr: *pr,
            })
            .collect();
        a.nudge_failed = not_done(&done.nudge_failed);
        a.failed = done.failed() + done.sync.failed.len();
        a
    }

    /// Print it on stdout: indented, or on one line (one object a line,
    /// for `run --watch --json`).
    pub fn print(&self, one_line: bool) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let text = if one_line {
            serde_json::to_string(self)?
        } else {
            serde_json::to_string_pretty(self)?
        };
        super::output::write_stdout(&format!("{text}\n")).context("cannot write to stdout")
    }
}

fn sync(s: &SyncReport) -> Sync {
    Sync {
        checked: s.checked,
        moved: s
            .moved
            .iter()
            .map(|(repo, from, to)| Moved {
                repo: repo.clone(),
                from: *from,
                to: *to,
                auto_merged: s
                    .auto_merged
                    .iter()
                    .find(|(r, _)| r == repo)
                    .map(|(_, why)| *why),
            })
            .collect(),
        failed: not_done(&s.failed),
    }
}

fn not_done(list: &[(String, String)]) -> Vec<NotDone> {
    list.iter()
        .map(|(repo, why)| NotDone {
            repo: repo.clone(),
            why: why.clone(),
        })
        .collect()
}
