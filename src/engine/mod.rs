//! The engine: runs a campaign's open tranches to their pull requests.
//!
//! For each target of an open tranche it clones or fetches the repository,
//! applies the recipe on a fresh checkout of the default branch, commits,
//! pushes the campaign branch and opens the pull request on the forge,
//! recording every step in the state. It owns the order of those steps and
//! the invariants below; it never prints (progress goes through
//! [`Progress`]) and never reads a terminal.
//!
//! Invariants:
//! - the intent to cause a forge or remote side effect (push, pull request)
//!   is recorded in the state before it is attempted, and its outcome after;
//! - a target whose branch or pull request already exists adopts it: a run
//!   never creates a second branch, commit or pull request for a target;
//! - a failure in one repository is recorded on its target (with the step
//!   and the reason) and never stops the others.

pub mod exact;
pub mod isolate;
mod prepare;
mod rollout;
pub mod tracking;

pub use rollout::{
    Budget, GateEval, Left, Reconciled, Worked, cancel, evaluate_gate, pause, resume,
};
pub mod preview;
pub mod scan;

pub use isolate::Rewriter;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::campaign::{Campaign, Loaded};
use crate::catalog::Catalog;
use crate::forge::{Forge, ForgeError, PullRequest, RepoRef};
use crate::git::Workspace;
use crate::recipe::{Facts, Recipe};
use crate::report::CampaignReport;
use crate::reviewers::Reviewers;
use crate::state::{
    CampaignRow, CampaignStatus, NewCampaign, NewTarget, PrState, PullRequestRecord, State,
    StateError, Step, Synced, TargetRow, TargetState, Transition,
};

/// Reports what the engine is doing; the command layer draws it.
pub trait Progress: Send + Sync {
    /// Work on `total` targets begins.
    fn start(&self, _label: &str, _total: usize) {}
    /// A target enters a step.
    fn step(&self, _repo: &str, _step: Step) {}
    /// A target is done for this run.
    fn done(&self, _repo: &str, _state: TargetState) {}
    /// The forge is waiting (`waiting until 10:42:07: secondary rate limit
    /// (retry-after 60 s)`), or no longer (`None`).
    fn waiting(&self, _why: Option<&str>) {}
    /// The run is over.
    fn finish(&self) {}
}

/// Progress that goes nowhere (tests, `--quiet`).
pub struct NoProgress;
impl Progress for NoProgress {}

/// Engine failures that stop a whole command (per-target failures never do).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("no campaign named `{0}` in the state")]
    UnknownCampaign(String),
    #[error("campaign `{name}` was launched from {recorded}, not from {given}")]
    OtherFile {
        name: String,
        recorded: String,
        given: String,
    },
    #[error("campaign `{campaign}` has no target `{repo}`")]
    UnknownTarget { campaign: String, repo: String },
    #[error("{repo}: {source}")]
    Forge {
        repo: String,
        #[source]
        source: ForgeError,
    },
    /// Not possible in the campaign's current state (merging a pull
    /// request that is not open, syncing a cancelled campaign).
    #[error("{0}")]
    Refused(String),
    /// A template of the campaign file cannot be rendered (the campaign
    /// file's fault: exit 3).
    #[error("{field}: {message}")]
    Template {
        field: &'static str,
        message: String,
    },
    /// A task of the engine panicked or was cancelled: a bug (exit 1).
    #[error("{0} failed unexpectedly (a bug in fleetwright)")]
    Panicked(String),
}

type Result<T, E = EngineError> = std::result::Result<T, E>;

/// What one target ended as in a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetOutcome {
    pub repo: String,
    pub state: TargetState,
    pub step: Option<Step>,
    pub reason: Option<String>,
    pub pr: Option<i64>,
}

/// How many of `outcomes` failed (a step, or `verify`).
pub fn failures(outcomes: &[TargetOutcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o.state, TargetState::Failed | TargetState::VerifyFailed))
        .count()
}

/// What `sync` did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Open pull requests asked about.
    pub checked: usize,
    /// Targets whose state changed: (repo, from, to).
    pub moved: Vec<(String, TargetState, TargetState)>,
    /// Targets the forge could not tell about: (repo, why).
    pub failed: Vec<(String, String)>,
    /// Pull requests `pull_request.auto_merge` merged: (repo, why).
    pub auto_merged: Vec<(String, &'static str)>,
}

impl SyncReport {
    /// How `repo` moved to `to`, for people: ` by auto_merge (checks pass,
    /// recipe-exact)` when the campaign's policy merged it; empty otherwise.
    pub fn how(&self, repo: &str) -> String {
        self.auto_merged
            .iter()
            .find(|(r, _)| r == repo)
            .map(|(_, why)| format!(" by auto_merge ({why})"))
            .unwrap_or_default()
    }
}

/// What a launch or advance did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub campaign: CampaignRow,
    /// Tranches (0-based) this run opened.
    pub opened: Vec<i64>,
    /// True when the run finished an interrupted tranche instead of opening one.
    pub resumed: bool,
    /// The gate to the next tranche, in words, when it was evaluated.
    pub gate: Option<String>,
    /// Why fewer pull requests were opened than could be.
    pub throttled: Option<String>,
    /// The targets this run worked on, in plan order.
    pub outcomes: Vec<TargetOutcome>,
}

impl RunReport {
    /// Number of targets this run left failed.
    pub fn failed(&self) -> usize {
        failures(&self.outcomes)
    }

    /// Outcome counts by state.
    pub fn counts(&self) -> BTreeMap<TargetState, usize> {
        let mut counts = BTreeMap::new();
        for o in &self.outcomes {
            *counts.entry(o.state).or_default() += 1;
        }
        counts
    }
}

/// What the report of a recorded campaign is built from: its rows, event
/// log and scans, and the state's clock (read once, cut many ways: the
/// whole campaign and each team's page).
pub struct ReportRows {
    pub campaign: CampaignRow,
    pub targets: Vec<crate::state::TargetRow>,
    pub tranches: Vec<crate::state::TrancheRow>,
    pub events: Vec<crate::state::EventRow>,
    pub scans: Vec<crate::state::ScanRow>,
    pub now: jiff::Timestamp,
}

impl ReportRows {
    /// Read `row`'s rows from the state.
    pub async fn read(state: &State, row: &CampaignRow) -> Result<ReportRows, StateError> {
        Ok(ReportRows {
            campaign: row.clone(),
            targets: state.targets(row.id).await?,
            tranches: state.tranches(row.id).await?,
            events: state.events(row.id).await?,
            scans: state.scans(row.id).await?,
            now: state.now(),
        })
    }

    /// The campaign's report, cut by `options`.
    pub fn report(&self, options: &crate::report::campaign::Options) -> CampaignReport {
        CampaignReport::build_with(
            &self.campaign,
            &self.targets,
            &self.tranches,
            &self.events,
            &self.scans,
            self.now,
            options,
        )
    }

    /// One report per owning team (`report --split-by team`).
    pub fn by_team(&self, options: &crate::report::campaign::Options) -> Vec<CampaignReport> {
        CampaignReport::split_by_team(
            &self.campaign,
            &self.targets,
            &self.tranches,
            &self.events,
            &self.scans,
            self.now,
            options,
        )
    }
}

/// The report of a recorded campaign, with the default options, as of the
/// state's clock.
pub async fn campaign_report(
    state: &State,
    row: &CampaignRow,
) -> Result<CampaignReport, StateError> {
    Ok(ReportRows::read(state, row)
        .await?
        .report(&Default::default()))
}

/// The engine, with its state, forge and clone cache.
pub struct Engine {
    shared: Arc<Shared>,
}

struct Shared {
    state: State,
    forge: Arc<dyn Forge>,
    workspace: Workspace,
    progress: Arc<dyn Progress>,
    concurrency: usize,
    /// Where each target's rewrite runs (a child process from the CLI).
    rewriter: Rewriter,
    /// Who this process is when it leases targets.
    worker: Worker,
}

/// The process that leases targets ([`crate::state::Lease`]): its name in
/// the `leases` table, how long its leases hold without a heartbeat, and,
/// for `fleetwright worker`, when it started: a worker works on each
/// target at most once, so a target that failed since it started (on it
/// or on another worker) is not tried again until the next `run`.
#[derive(Debug, Clone)]
pub struct Worker {
    pub name: String,
    pub lease: std::time::Duration,
    pub once_since: Option<String>,
    /// The targets this process leased (for `once_since`: each at most
    /// once).
    pub leased: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
}

impl Worker {
    /// `run`, `launch`, `advance`: `{what}@{host}:{pid}`, leases of
    /// [`crate::state::LEASE_SECS`].
    pub fn process(what: &str) -> Worker {
        Worker {
            name: format!("{what}@{}:{}", hostname(), std::process::id()),
            lease: std::time::Duration::from_secs(crate::state::LEASE_SECS),
            once_since: None,
            leased: Arc::default(),
        }
    }
}

pub use crate::state::hostname;

/// Why a target failed: the step and what happened.
#[derive(Debug)]
struct Failure {
    step: Step,
    reason: String,
}

impl Failure {
    fn new(step: Step, reason: impl Into<String>) -> Self {
        Failure {
            step,
            reason: reason.into(),
        }
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::new(Step::OpenPr, format!("the state database failed: {e}"))
    }
}

impl Engine {
    pub fn new(
        state: State,
        forge: Arc<dyn Forge>,
        workspace: Workspace,
        progress: Arc<dyn Progress>,
        concurrency: usize,
    ) -> Self {
        Engine {
            shared: Arc::new(Shared {
                state,
                forge,
                workspace,
                progress,
                concurrency: concurrency.max(1),
                rewriter: Rewriter::InProcess,
                worker: Worker::process("run"),
            }),
        }
    }

    /// Lease targets as `worker` (`fleetwright worker`).
    pub fn with_worker(mut self, worker: Worker) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.worker = worker;
        }
        self
    }

    /// Run each target's rewrite with `rewriter` (the command line runs
    /// them in child processes: [`Rewriter::child`]).
    pub fn with_rewriter(mut self, rewriter: Rewriter) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.rewriter = rewriter;
        }
        self
    }

    fn state(&self) -> &State {
        &self.shared.state
    }

    /// The recorded campaign `name`.
    pub async fn campaign(&self, name: &str) -> Result<CampaignRow> {
        self.state()
            .campaign(name)
            .await?
            .ok_or_else(|| EngineError::UnknownCampaign(name.to_string()))
    }

    /// Record the campaign (first time) with its plan and open its first
    /// tranche; a campaign recorded before is returned as it is (refused
    /// when recorded from another file).
    async fn record(&self, loaded: &Loaded) -> Result<CampaignRow> {
        let campaign = &loaded.campaign;
        let file = campaign.file.display().to_string();
        match self.state().campaign(&campaign.name).await? {
            Some(row) if row.file != file => Err(EngineError::OtherFile {
                name: campaign.name.clone(),
                recorded: row.file,
                given: file,
            }),
            Some(row) => Ok(row),
            None => {
                let targets: Vec<NewTarget> = loaded
                    .plan
                    .targets()
                    .enumerate()
                    .map(|(position, (tranche, t))| NewTarget {
                        repo: t.repo.clone(),
                        url: t.url.clone(),
                        component: t.component.to_string(),
                        owner: t.owner.to_string(),
                        tranche: tranche as i64,
                        position: position as i64,
                    })
                    .collect();
                let new = NewCampaign {
                    name: campaign.name.clone(),
                    file,
                    recipe_id: loaded.recipe.id.clone(),
                    forge: campaign.forge.as_str().to_string(),
                    tranche_count: loaded.plan.tranches.len() as i64,
                    tranches: loaded
                        .plan
                        .tranches
                        .iter()
                        .map(|t| crate::state::NewTranche {
                            name: t.name.clone(),
                            spec: t.size.clone(),
                        })
                        .collect(),
                };
                // A live catalog's snapshot is recorded with the plan made
                // from it: every later run works from it.
                let lines;
                let snapshot = match &loaded.catalog_origin {
                    crate::campaign::CatalogOrigin::Read(snapshot) => {
                        lines = snapshot.to_lines();
                        Some(crate::state::NewSnapshot {
                            source: &snapshot.source,
                            entity_count: snapshot.entities.len() as i64,
                            entities: &lines,
                        })
                    }
                    _ => None,
                };
                let row = self
                    .state()
                    .create_campaign_with_snapshot(&new, &targets, snapshot.as_ref())
                    .await?;
                let tranches: Vec<i64> = targets.iter().map(|t| t.tranche).collect();
                self.open_next(&row, &tranches).await
            }
        }
    }

    /// Record the campaign (first time) with its plan, open the first
    /// tranche, and run every open tranche. Running it again resumes.
    pub async fn launch(&self, loaded: &Loaded) -> Result<RunReport> {
        let launched = self
            .state()
            .campaign(&loaded.campaign.name)
            .await?
            .is_none();
        let row = self.record(loaded).await?;
        let opened = if launched {
            (0..row.tranches_open).collect()
        } else {
            Vec::new()
        };
        let budget = self.budget(&row, &loaded.campaign).await?;
        let (outcomes, waiting) = self.run_open(&row, loaded, &budget).await?;
        Ok(RunReport {
            campaign: self.campaign(&row.name).await?,
            opened,
            resumed: false,
            gate: None,
            throttled: rollout::throttled(&budget, waiting),
            outcomes,
        })
    }

    /// Open the next tranche when its gate passes (or `force`), and run
    /// every open tranche. When the last run was interrupted, finish the
    /// open tranches first and open nothing.
    pub async fn advance(&self, loaded: &Loaded, force: bool) -> Result<RunReport> {
        let row = self.campaign(&loaded.campaign.name).await?;
        if row.status != CampaignStatus::Active {
            return Err(EngineError::Refused(format!(
                "campaign `{}` is {}{}",
                row.name,
                row.status,
                row.status_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )));
        }
        let targets = self.state().targets(row.id).await?;
        // A branch pushed without its pull request: a run died between the
        // two (targets still `queued` may just be waiting for the throttles;
        // the gate sees those).
        let interrupted = !force
            && targets
                .iter()
                .any(|t| t.tranche < row.tranches_open && t.state == TargetState::Pushed);
        let before = row.tranches_open;
        let mut gate = None;
        let row = if interrupted || row.tranches_open >= row.tranche_count {
            row
        } else {
            let eval = self
                .gate(&row, &targets, &loaded.campaign.rollout.gate)
                .await?;
            gate = Some(eval.note.clone());
            if eval.pass || force {
                let kind = if eval.pass {
                    "gate_passed"
                } else {
                    "gate_forced"
                };
                self.state()
                    .record_campaign_event(&row, kind, &eval.note)
                    .await?;
                self.state().set_gate_note(&row, None).await?;
                let tranches: Vec<i64> = targets.iter().map(|t| t.tranche).collect();
                self.open_next(&row, &tranches).await?
            } else {
                self.state().set_gate_note(&row, Some(&eval.note)).await?;
                row
            }
        };
        let budget = self.budget(&row, &loaded.campaign).await?;
        let (outcomes, waiting) = self.run_open(&row, loaded, &budget).await?;
        Ok(RunReport {
            campaign: self.campaign(&row.name).await?,
            opened: (before..row.tranches_open).collect(),
            resumed: interrupted,
            gate,
            throttled: rollout::throttled(&budget, waiting),
            outcomes,
        })
    }

    /// Open the next tranche that has targets (empty tranches open with it);
    /// `tranches` holds the tranche of every target.
    async fn open_next(&self, row: &CampaignRow, tranches: &[i64]) -> Result<CampaignRow> {
        let mut upto = row.tranches_open + 1;
        while upto < row.tranche_count && !tranches.contains(&(upto - 1)) {
            upto += 1;
        }
        Ok(self.state().open_tranches(row, upto).await?)
    }

    /// The targets of the open tranches this process would work on now,
    /// in plan order, each with whether it may open a pull request (it
    /// takes a throttle slot): first the refresh of open pull requests made
    /// with another recipe, then every target that needs work. Held or not
    /// by another process.
    pub async fn candidates(
        &self,
        row: &CampaignRow,
        recipe: &Recipe,
    ) -> Result<Vec<(TargetRow, bool)>> {
        if row.status != CampaignStatus::Active {
            return Ok(Vec::new());
        }
        let once_since = self.shared.worker.once_since.as_deref();
        let leased = self
            .shared
            .worker
            .leased
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        let (refresh, fresh): (Vec<TargetRow>, Vec<TargetRow>) = self
            .state()
            .targets(row.id)
            .await?
            .into_iter()
            .filter(|t| {
                t.tranche < row.tranches_open
                    && (t.state.needs_work() || stale(t, recipe))
                    && !(once_since.is_some_and(|since| {
                        leased.contains(&t.id)
                            || (t.state == TargetState::Failed && t.updated_at.as_str() >= since)
                    }))
            })
            // Only the refresh of an open pull request's branch opens
            // nothing new; every other target may open a pull request and
            // takes a slot (a `verify_failed` target retried on a new recipe
            // too).
            .partition(TargetRow::has_open_pr);
        Ok(refresh
            .into_iter()
            .map(|t| (t, false))
            .chain(fresh.into_iter().map(|t| (t, true)))
            .collect())
    }

    /// Work on every target of the open tranches that needs it and that no
    /// other process holds, each under a lease this process takes before
    /// it starts and gives back when it ends (renewed meanwhile): `run` and
    /// any number of `worker`s, on one machine or many, never work on one
    /// target at once. A target that may open a pull request takes one of
    /// the budget's slots (less those other processes' leases hold) before
    /// it starts, and gives it back when it ends without one; the targets
    /// left without a slot stay `queued` for a later run (their number is
    /// returned with the outcomes).
    async fn run_open(
        &self,
        row: &CampaignRow,
        loaded: &Loaded,
        budget: &Budget,
    ) -> Result<(Vec<TargetOutcome>, usize)> {
        let recipe = &loaded.recipe;
        let facts = Arc::new(facts(&loaded.catalog));
        let worker = self.shared.worker.clone();
        let mut remaining: Vec<(TargetRow, bool)> = if row.status == CampaignStatus::Active {
            self.candidates(row, recipe).await?
        } else {
            Vec::new()
        };
        // Slots that other processes' leases hold are taken.
        let mut slots = budget.slots;
        if let Some(s) = slots.as_mut() {
            let held = self
                .state()
                .live_leases(row.id)
                .await?
                .iter()
                .filter(|(_, by, fresh)| *fresh && *by != worker.name)
                .count();
            *s = s.saturating_sub(held);
        }
        let progress = self.shared.progress.clone();
        let refresh = remaining.iter().filter(|(_, fresh)| !fresh).count();
        let fresh_count = remaining.len() - refresh;
        let planned = refresh + slots.map_or(fresh_count, |s| s.min(fresh_count));
        progress.start(&format!("{}: preparing", row.name), planned);
        let campaign = Arc::new(loaded.campaign.clone());
        let mut tasks: JoinSet<(i64, bool, TargetOutcome)> = JoinSet::new();
        // One look-up in the catalog per owner, not per target.
        let mut reviewers_of: HashMap<String, Reviewers> = HashMap::new();
        // The heartbeat: this process's leases hold while it lives.
        let heartbeat = {
            let (state, worker) = (self.state().clone(), worker.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(worker.lease / 3).await;
                    if let Err(e) = state.renew_leases(&worker.name, worker.lease).await {
                        tracing::warn!("cannot renew the leases of {}: {e}", worker.name);
                    }
                }
            })
        };
        // Say on the progress line when, and why, the forge makes us wait.
        let watcher = {
            let (forge, progress) = (self.shared.forge.clone(), progress.clone());
            tokio::spawn(async move {
                let mut last = None;
                loop {
                    let now = forge.pacing_status();
                    if now != last {
                        progress.waiting(now.as_deref());
                        last = now;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            })
        };
        let stop = |e: EngineError| {
            heartbeat.abort();
            watcher.abort();
            e
        };
        let mut outcomes = Vec::new();
        loop {
            // Start what the concurrency and the slots allow, each under
            // its lease.
            while tasks.len() < self.shared.concurrency {
                let eligible: Vec<(&TargetRow, bool)> = remaining
                    .iter()
                    .filter(|(_, fresh)| !fresh || slots.is_none_or(|s| s > 0))
                    .map(|(t, fresh)| (t, *fresh))
                    .collect();
                if eligible.is_empty() {
                    break;
                }
                let lease = self
                    .state()
                    .lease_first(&worker.name, &eligible, worker.lease)
                    .await
                    .map_err(|e| stop(e.into()))?;
                // The candidates before the leased one (all of them when
                // none was) are another process's, or moved on.
                let passed: std::collections::HashSet<i64> = match &lease {
                    Some(lease) => eligible
                        .iter()
                        .take_while(|(t, _)| t.id != lease.target_id)
                        .map(|(t, _)| t.id)
                        .collect(),
                    None => eligible.iter().map(|(t, _)| t.id).collect(),
                };
                drop(eligible);
                remaining.retain(|(t, _)| !passed.contains(&t.id));
                let Some(lease) = lease else {
                    break;
                };
                let at = remaining
                    .iter()
                    .position(|(t, _)| t.id == lease.target_id)
                    .expect("the leased target is a candidate");
                let (target, fresh) = remaining.remove(at);
                if let Ok(mut leased) = worker.leased.lock() {
                    leased.insert(target.id);
                }
                if fresh && let Some(s) = slots.as_mut() {
                    *s -= 1;
                }
                let shared = self.shared.clone();
                let campaign = campaign.clone();
                let recipe = recipe.clone();
                // A component gone from the catalog has no facts: its catalog
                // preconditions do not hold (rather than hold unchecked).
                let facts = Some(facts.get(&target.component).cloned().unwrap_or_default());
                let reviewers = reviewers_of
                    .entry(target.owner.clone())
                    .or_insert_with(|| crate::reviewers::of_owner(&loaded.catalog, &target.owner))
                    .clone();
                tasks.spawn(async move {
                    let (position, id) = (target.position, target.id);
                    let outcome =
                        run_target(&shared, &campaign, &recipe, facts, reviewers, target).await;
                    if let Err(e) = shared.state.release_lease(&shared.worker.name, id).await {
                        tracing::warn!("cannot give the lease of target {id} back: {e}");
                    }
                    (position, fresh, outcome)
                });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            match joined {
                Ok((position, slot, outcome)) => {
                    // A slot not used for a pull request goes to the next
                    // target (a draft that shows a verify failure uses it).
                    if slot
                        && outcome.pr.is_none()
                        && let Some(s) = slots.as_mut()
                    {
                        *s += 1;
                    }
                    outcomes.push((position, outcome));
                }
                Err(e) => {
                    return Err(stop(EngineError::Panicked(format!("a target's task: {e}"))));
                }
            }
        }
        heartbeat.abort();
        watcher.abort();
        progress.finish();
        outcomes.sort_by_key(|(position, _)| *position);
        let waiting = remaining.iter().filter(|(_, fresh)| *fresh).count();
        Ok((outcomes.into_iter().map(|(_, o)| o).collect(), waiting))
    }

    /// Find a target by repository name or component name.
    pub async fn target(&self, row: &CampaignRow, repo: &str) -> Result<TargetRow> {
        self.state()
            .targets(row.id)
            .await?
            .into_iter()
            .find(|t| {
                t.repo == repo
                    || t.repo.rsplit('/').next() == Some(repo)
                    || t.component == repo
                    || t.component.rsplit('/').next() == Some(repo)
            })
            .ok_or_else(|| EngineError::UnknownTarget {
                campaign: row.name.clone(),
                repo: repo.to_string(),
            })
    }

    /// Ask the forge about every open pull request of the campaign and
    /// record what it says: state, draft, CI, reviews. A merged pull request
    /// moves its target to `merged`, a closed one to `declined` (with the
    /// closing comment as the reason). One target's forge error is reported
    /// and the others go on.
    pub async fn sync(&self, loaded: &Loaded) -> Result<SyncReport> {
        let campaign = &loaded.campaign;
        let row = self.campaign(&campaign.name).await?;
        if row.status == CampaignStatus::Cancelled {
            return Err(EngineError::Refused(format!(
                "campaign `{}` is cancelled: nothing more is synced or merged",
                row.name
            )));
        }
        let targets: Vec<TargetRow> = self
            .state()
            .targets(row.id)
            .await?
            .into_iter()
            .filter(TargetRow::has_open_pr)
            .collect();
        let mut report = SyncReport::default();
        // What the forge says is written in batches, one transaction each
        // (a sync of 10,000 unchanged pull requests is 100 writes, not
        // 20,000); a merge is recorded before the next is asked for.
        let mut batch: Vec<(&TargetRow, PullRequest)> = Vec::new();
        let policy = campaign.pull_request.auto_merge;
        // The catalog's facts, made when a branch is first checked.
        let mut facts_of: Option<HashMap<String, Facts>> = None;
        for target in &targets {
            let Ok((repo, number)) = open_pull_request_of(target) else {
                continue;
            };
            report.checked += 1;
            let synced = self.shared.forge.sync_pull_request(&repo, number).await;
            let mut merged = false;
            let synced = match synced {
                Ok(pr) if pr.state == PrState::Open => {
                    let facts = facts_of.get_or_insert_with(|| facts(&loaded.catalog));
                    let exact = self
                        .recipe_exact(loaded, facts, target, number, pr.head_sha.as_deref())
                        .await?;
                    if policy.merges(&pr, exact == Some(true)) {
                        self.state()
                            .record_event(
                                target,
                                "merge_intended",
                                &format!("#{number} ({})", policy.reason()),
                            )
                            .await?;
                        merged = true;
                        report
                            .auto_merged
                            .push((target.repo.clone(), policy.reason()));
                        // Only the head that was found exact and green.
                        let head = pr.head_sha.clone();
                        self.shared
                            .forge
                            .merge_pull_request(&repo, number, head.as_deref())
                            .await
                    } else {
                        Ok(pr)
                    }
                }
                other => other,
            };
            match synced {
                Ok(pr) => {
                    let to = synced_state(target, &pr).map_or(target.state, |(to, _)| to);
                    if to != target.state {
                        report.moved.push((target.repo.clone(), target.state, to));
                    }
                    batch.push((target, pr));
                }
                Err(e) => report.failed.push((target.repo.clone(), error_chain(&e))),
            }
            if merged || batch.len() >= SYNC_BATCH {
                record_synced(self.state(), &batch).await?;
                batch.clear();
            }
        }
        record_synced(self.state(), &batch).await?;
        Ok(report)
    }

    /// Merge a target's pull request on the forge, and record it.
    pub async fn merge(&self, target: &TargetRow) -> Result<TargetRow> {
        self.settle(target, Settle::Merge).await
    }

    /// Close a target's pull request without merging, as its owners would
    /// (`local close`), and record it as declined with the comment as its
    /// reason.
    pub async fn close(&self, target: &TargetRow, comment: Option<&str>) -> Result<TargetRow> {
        self.settle(target, Settle::Close(comment)).await
    }

    /// Close a target's pull request as the platform team (`cancel
    /// --close-prs`): it is recorded as declined with the reason `closed by
    /// the platform team: <comment>`, and a `closed_by_platform_team` event,
    /// so the report never counts it as the owners' decline.
    pub async fn close_as_platform_team(
        &self,
        target: &TargetRow,
        comment: &str,
    ) -> Result<TargetRow> {
        self.settle(target, Settle::CloseAsPlatformTeam(comment))
            .await
    }

    /// Merge or close the open pull request of `target`, and record what
    /// the forge then says of it.
    async fn settle(&self, target: &TargetRow, how: Settle<'_>) -> Result<TargetRow> {
        let (repo, number) = open_pull_request_of(target)?;
        let (intent, detail) = match how {
            Settle::Merge => ("merge_intended", format!("#{number}")),
            Settle::Close(_) => ("close_intended", format!("#{number}")),
            Settle::CloseAsPlatformTeam(_) => {
                ("close_intended", format!("#{number}, by the platform team"))
            }
        };
        self.state().record_event(target, intent, &detail).await?;
        let forge = &self.shared.forge;
        let pr = match how {
            Settle::Merge => forge.merge_pull_request(&repo, number, None).await,
            Settle::Close(comment) => forge.close_pull_request(&repo, number, comment).await,
            Settle::CloseAsPlatformTeam(comment) => {
                forge.close_pull_request(&repo, number, Some(comment)).await
            }
        }
        .map_err(|source| EngineError::Forge {
            repo: repo.name.clone(),
            source,
        })?;
        match how {
            Settle::CloseAsPlatformTeam(comment) => {
                use crate::report::campaign::{CLOSED_BY_PLATFORM_TEAM, CLOSED_LABEL};
                let comment = comment.trim();
                let reason = if comment.is_empty() {
                    CLOSED_LABEL.to_string()
                } else {
                    format!("{CLOSED_LABEL}: {comment}")
                };
                let now = self
                    .state()
                    .record_pull_request_and_state(
                        target,
                        &pull_request_record(&pr),
                        None,
                        |current| {
                            synced_state(current, &pr).map(|(to, mut change)| {
                                if to == TargetState::Declined {
                                    change.reason = Some(reason.clone());
                                }
                                (to, change)
                            })
                        },
                    )
                    .await?;
                if now == TargetState::Declined {
                    self.state()
                        .record_event(
                            target,
                            CLOSED_BY_PLATFORM_TEAM,
                            &format!("#{number}: {reason}"),
                        )
                        .await?;
                }
            }
            Settle::Merge | Settle::Close(_) => {
                record_pull_request(&self.shared.state, target, &pr, None).await?;
            }
        }
        Ok(self.state().target(target.id).await?)
    }
}

/// How [`Engine::settle`] settles a pull request, and who does.
#[derive(Clone, Copy)]
enum Settle<'a> {
    /// Merge it.
    Merge,
    /// Close it as its owners would, with their comment.
    Close(Option<&'a str>),
    /// Close it as the platform team (`cancel --close-prs`), with its comment.
    CloseAsPlatformTeam(&'a str),
}

fn open_pull_request_of(target: &TargetRow) -> Result<(RepoRef, i64)> {
    let number = target
        .changeset
        .as_ref()
        .and_then(|c| c.number)
        .filter(|_| target.has_open_pr())
        .ok_or_else(|| {
            EngineError::Refused(format!(
                "{} has no open pull request (it is {})",
                target.repo, target.state
            ))
        })?;
    Ok((repo_ref(target), number))
}

fn repo_ref(target: &TargetRow) -> RepoRef {
    RepoRef {
        name: target.repo.clone(),
        url: target.url.clone(),
    }
}

/// Pull requests a sync records in one transaction.
const SYNC_BATCH: usize = 100;

/// What the changeset records of a pull request the forge described.
fn pull_request_record(pr: &PullRequest) -> PullRequestRecord {
    PullRequestRecord {
        number: pr.number,
        url: pr.url.clone(),
        state: pr.state,
        draft: pr.draft,
        ci_state: pr.ci_state,
        review_state: pr.review_state,
        merged_at: pr.merged_at.clone(),
        closed_at: pr.closed_at.clone(),
    }
}

/// The state a target in `target.state` moves to when its pull request is
/// `pr`, with why; `None` when it stays.
fn synced_state(target: &TargetRow, pr: &PullRequest) -> Option<(TargetState, Transition)> {
    let (to, reason) = match pr.state {
        PrState::Open => (TargetState::PrOpen, None),
        PrState::Merged => (TargetState::Merged, None),
        PrState::Closed => (
            TargetState::Declined,
            Some(
                pr.close_comment
                    .clone()
                    .unwrap_or_else(|| "closed without a comment".into()),
            ),
        ),
    };
    // An open pull request keeps the state that says more (a failing
    // draft's `verify_failed`, `needs_attention`) while it is open.
    if to == target.state || (pr.state == PrState::Open && target.has_open_pr()) {
        return None;
    }
    Some((
        to,
        Transition {
            reason,
            ..Transition::default()
        },
    ))
}

/// Record a batch of what a sync read, in one transaction.
async fn record_synced(
    state: &State,
    batch: &[(&TargetRow, PullRequest)],
) -> Result<(), StateError> {
    let synced: Vec<Synced<'_>> = batch
        .iter()
        .map(|(target, pr)| Synced {
            target,
            record: pull_request_record(pr),
            to: synced_state(target, pr),
        })
        .collect();
    state.record_synced(&synced).await
}

/// Record what the forge says of a target's pull request and move the target
/// to the matching state (as recorded now), in one transaction; with
/// `opened`, that it was just opened too.
async fn record_pull_request(
    state: &State,
    target: &TargetRow,
    pr: &PullRequest,
    opened: Option<crate::state::Opened<'_>>,
) -> Result<TargetState, StateError> {
    state
        .record_pull_request_and_state(target, &pull_request_record(pr), opened, |current| {
            synced_state(current, pr)
        })
        .await
}

/// An open pull request whose branch was made with another recipe (or other
/// parameters) than the campaign's now.
fn stale(target: &TargetRow, recipe: &Recipe) -> bool {
    matches!(
        target.state,
        TargetState::PrOpen | TargetState::VerifyFailed
    ) && target
        .recipe_fingerprint
        .as_deref()
        .is_some_and(|f| f != recipe.fingerprint)
}

/// What the catalog says about each component (by entity ref), for the
/// recipe's `catalog` preconditions.
fn facts(catalog: &Catalog) -> HashMap<String, Facts> {
    catalog
        .components
        .iter()
        .map(|c| {
            let facts = Facts {
                spec_type: c.spec_type.clone(),
                lifecycle: c.lifecycle.clone(),
                tags: c.tags.clone(),
                owner: c.owner.to_string(),
                system: c.system.as_ref().map(ToString::to_string),
            };
            (c.entity.to_string(), facts)
        })
        .collect()
}

/// Run one target and record how it ended; never fails the run.
async fn run_target(
    shared: &Shared,
    campaign: &Campaign,
    recipe: &Arc<Recipe>,
    facts: Option<Facts>,
    reviewers: Reviewers,
    target: TargetRow,
) -> TargetOutcome {
    // Paused or cancelled while this run was going: what has not started
    // is left for a run after `resume`.
    if !target.has_open_pr()
        && let Ok(Some(status)) = shared.state.campaign_status(target.campaign_id).await
        && status != "active"
    {
        shared.progress.done(&target.repo, target.state);
        return TargetOutcome {
            repo: target.repo,
            state: target.state,
            step: None,
            reason: Some(format!("not started: the campaign is {status}")),
            pr: None,
        };
    }
    // How git reaches SSH remotes (the campaign's key, known hosts).
    shared.workspace.set_ssh(campaign.ssh.clone());
    // The token git offers (a GitHub App's is renewed before it expires).
    match shared.forge.git_credentials().await {
        Ok(credentials) => shared.workspace.set_credentials(credentials),
        Err(e) => tracing::warn!(repo = %target.repo, "no git token: {}", error_chain(&e)),
    }
    let result = if target.has_open_pr() && stale(&target, recipe) {
        prepare::refresh(shared, campaign, recipe, facts, &target).await
    } else {
        prepare::run(shared, campaign, recipe, facts, reviewers, &target).await
    };
    let (state, pr, step, reason) = match result {
        Ok((state, pr)) => (state, pr, None, None),
        Err(failure) => {
            let change = Transition::failed(failure.step, &failure.reason);
            if let Err(e) = shared
                .state
                .transition(&target, TargetState::Failed, &change)
                .await
            {
                tracing::error!(repo = %target.repo, "cannot record the failure: {e}");
            }
            (
                TargetState::Failed,
                None,
                Some(failure.step),
                Some(failure.reason),
            )
        }
    };
    match &reason {
        Some(reason) => tracing::info!(repo = %target.repo, "failed: {reason}"),
        None => tracing::info!(repo = %target.repo, state = state.as_str(), "done"),
    }
    shared.progress.done(&target.repo, state);
    TargetOutcome {
        repo: target.repo,
        state,
        step,
        reason,
        pr,
    }
}

/// The error and each of its sources, joined, without repeating a source
/// whose text its parent already shows.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests;
