//! `scan`: how much of the old code each target's default branch still
//! holds, counted by the recipe itself.
//!
//! For every target of a recorded campaign (every state, every tranche,
//! opened or not) it fetches the repository into the clone cache, resets the
//! clone to the default-branch head and computes the recipe's changes there
//! without writing them: the number of places the recipe would rewrite is
//! what is left to migrate. Each count is recorded in the state's `scans`
//! table with the commit it was taken at, so that the history is kept and a
//! burndown can be drawn from the code rather than from pull requests
//! (declined pull requests and repositories fixed by hand count right).
//!
//! A scan of a recorded campaign records, with each count, what it was
//! taken with (`scan_key`: the recipe's fingerprint and the target's
//! catalog facts, hashed). The next scan fetches each repository, and when
//! its default-branch head and the key are those of its last successful
//! scan, records that count again without checking the clone out or
//! running the recipe (`reused` in the report): a daily scan of a fleet
//! that moved little costs a fetch per repository.
//!
//! Invariants:
//! - a scan writes nothing to any repository or remote: it fetches, and
//!   resets the clone cache's working tree, and that is all; it never looks
//!   at the campaign branch and never pushes;
//! - a scan never changes a target's state, only adds `scans` rows;
//! - one repository that cannot be scanned is recorded with its error and
//!   never stops the others.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::preview::{Inspected, Subject, credentials, fetch, inspect_synced, rejected_note};
use super::{Engine, EngineError, Result, Shared, facts};
use crate::campaign::Loaded;
use crate::git::Checkout;
use crate::recipe::{ApplyOptions, Recipe};
use crate::state::{NewScan, ScanRow, TargetRow, TargetState, format_time};

/// What `fleetwright scan --json` prints: one campaign's scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanReport {
    /// The campaign's name.
    pub campaign: String,
    /// The id of the recipe that counted.
    pub recipe: String,
    /// When the scan began (RFC 3339, UTC, by the state's clock); each
    /// target's row in the state carries its own time.
    pub at: String,
    /// Every target of the campaign, in plan order.
    pub targets: Vec<TargetScan>,
    pub totals: ScanTotals,
}

/// One target's scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetScan {
    /// Repository display name.
    pub repo: String,
    /// Catalog entity ref of the component.
    pub component: String,
    /// The target's campaign state (a scan never changes it): `pending`,
    /// `pr_open`, `merged`, `declined`, …
    pub state: String,
    /// The repository's default branch; absent when it could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// The default-branch head that was scanned; absent when the scan failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Places the recipe would rewrite at `commit` (the edits a dry run
    /// would make); 0 when the recipe's `applies_when` does not hold;
    /// absent when the scan failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<usize>,
    /// Files those places are in.
    #[serde(default)]
    pub files: usize,
    /// Something to know about the count: why the recipe does not apply,
    /// or files it matches but whose rewrite it rejects (not counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why the target could not be scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The count is the last scan's: the head and the recipe are unchanged
    /// since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
}

/// The scan in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanTotals {
    /// Targets of the campaign (every one is scanned).
    pub targets: usize,
    /// Targets scanned (a count was taken).
    pub scanned: usize,
    /// Targets that could not be scanned.
    pub failed: usize,
    /// Places the recipe would rewrite, over every scanned target.
    pub matches: usize,
    /// Scanned targets with at least one such place.
    pub repositories_with_matches: usize,
    /// Scanned targets whose count is their last scan's (unchanged head
    /// and recipe).
    #[serde(default)]
    pub reused: usize,
}

impl ScanTotals {
    fn of(targets: &[TargetScan]) -> Self {
        ScanTotals {
            targets: targets.len(),
            scanned: targets.iter().filter(|t| t.matches.is_some()).count(),
            failed: targets.iter().filter(|t| t.error.is_some()).count(),
            matches: targets.iter().filter_map(|t| t.matches).sum(),
            repositories_with_matches: targets
                .iter()
                .filter(|t| t.matches.is_some_and(|n| n > 0))
                .count(),
            reused: targets.iter().filter(|t| t.reused).count(),
        }
    }
}

impl TargetScan {
    /// What the state records of it, taken with `key`.
    fn record(&self, key: &str) -> NewScan {
        NewScan {
            commit: self.commit.clone(),
            matches: self.matches.map(|n| n as i64),
            error: self.error.clone(),
            key: self.matches.is_some().then(|| key.to_string()),
            files: Some(self.files as i64),
            note: self.note.clone(),
        }
    }
}

impl Engine {
    /// Count, at each target's default-branch head, the places the recipe
    /// still matches, and record each count in the state. Every target of
    /// the campaign is scanned, `concurrency` at a time, through the clone
    /// cache; nothing is written to any repository or remote, and no
    /// target's state changes. A target that cannot be scanned is in the
    /// report (and the state) with its error; only a failure of the state
    /// itself stops the scan.
    pub async fn scan(&self, loaded: &Loaded) -> Result<ScanReport> {
        let row = self.campaign(&loaded.campaign.name).await?;
        let targets = self.state().targets(row.id).await?;
        let mut last = self.state().latest_scans(row.id).await?;
        let facts = facts(&loaded.catalog);
        let subjects = targets
            .into_iter()
            .map(|target| {
                let subject = Subject {
                    repo: target.repo.clone(),
                    url: target.url.clone(),
                    component: target.component.clone(),
                    refusal: loaded.campaign.repository_refusal(&target.url),
                };
                let previous = last.remove(&target.id);
                (
                    subject,
                    target.state.as_str().to_string(),
                    Some((target, previous)),
                )
            })
            .collect();
        self.scan_subjects(loaded, &facts, subjects).await
    }

    /// [`Engine::scan`] of a campaign that was not launched: every
    /// scheduled target of its plan, recording nothing (there is no
    /// campaign in the state to record it in). Sizes a campaign before its
    /// launch.
    pub async fn scan_plan(&self, loaded: &Loaded) -> Result<ScanReport> {
        let facts = facts(&loaded.catalog);
        let subjects = loaded
            .plan
            .targets()
            .map(|(_, t)| {
                let subject = Subject {
                    repo: t.repo.clone(),
                    url: t.url.clone(),
                    component: t.component.to_string(),
                    refusal: t.refusal.clone(),
                };
                (subject, NOT_LAUNCHED.to_string(), None)
            })
            .collect();
        self.scan_subjects(loaded, &facts, subjects).await
    }

    /// Scan `subjects` (each with the state shown for it, and its target
    /// row when the count is to be recorded).
    async fn scan_subjects(
        &self,
        loaded: &Loaded,
        facts: &std::collections::HashMap<String, crate::recipe::Facts>,
        subjects: Vec<(Subject, String, Option<Recorded>)>,
    ) -> Result<ScanReport> {
        let at = format_time(self.state().now());
        // How git reaches SSH remotes (the campaign's key, known hosts).
        self.shared.workspace.set_ssh(loaded.campaign.ssh.clone());
        let progress = self.shared.progress.clone();
        progress.start(
            &format!("{}: scanning", loaded.campaign.name),
            subjects.len(),
        );
        let limit = Arc::new(Semaphore::new(self.shared.concurrency));
        let mut tasks = JoinSet::new();
        for (position, (subject, state, target)) in subjects.into_iter().enumerate() {
            let shared = self.shared.clone();
            let recipe = loaded.recipe.clone();
            let limit = limit.clone();
            // A component gone from the catalog has no facts: its catalog
            // preconditions do not hold (as in a run).
            let target_facts = facts.get(&subject.component).cloned().unwrap_or_default();
            let key = scan_key(&recipe, &target_facts);
            let options = ApplyOptions {
                facts: Some(target_facts),
                sandbox: loaded.campaign.sandbox.clone(),
                ..ApplyOptions::default()
            };
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let repo = subject.repo.clone();
                let (target, previous) = target.unzip();
                // The last count still holds at the same head, with the same key.
                let reusable = previous
                    .flatten()
                    .filter(|p| p.error.is_none() && p.scan_key.as_deref() == Some(key.as_str()));
                let scanned =
                    scan_target(&shared, &recipe, options, subject, state, reusable).await;
                let recorded = match &target {
                    Some(target) => {
                        shared
                            .state
                            .record_scan(target, &scanned.record(&key))
                            .await
                    }
                    None => Ok(()),
                };
                let shown = target.map_or(TargetState::Pending, |t| t.state);
                shared.progress.done(&repo, shown);
                (position, scanned, recorded)
            });
        }
        let mut scanned = Vec::new();
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((position, target, Ok(()))) => scanned.push((position, target)),
                Ok((_, _, Err(e))) => {
                    failure.get_or_insert(EngineError::State(e));
                }
                Err(e) => {
                    failure.get_or_insert(EngineError::Panicked(format!("a target's scan: {e}")));
                }
            }
        }
        progress.finish();
        if let Some(e) = failure {
            return Err(e);
        }
        scanned.sort_by_key(|(position, _)| *position);
        let targets: Vec<TargetScan> = scanned.into_iter().map(|(_, t)| t).collect();
        Ok(ScanReport {
            campaign: loaded.campaign.name.clone(),
            recipe: loaded.recipe.id.clone(),
            at,
            totals: ScanTotals::of(&targets),
            targets,
        })
    }
}

/// A target of a recorded campaign, with its last scan: where a scan's
/// count is recorded, and what it may reuse.
type Recorded = (TargetRow, Option<ScanRow>);

/// The state a scan of a campaign that was not launched shows for each
/// target.
pub const NOT_LAUNCHED: &str = "not launched";

/// What a scan counts with: the recipe's fingerprint (its text and
/// parameters) and the target's catalog facts (its `applies_when`), hashed.
fn scan_key(recipe: &Recipe, facts: &crate::recipe::Facts) -> String {
    use sha1::Digest as _;
    let mut hasher = sha1::Sha1::new();
    hasher.update(recipe.fingerprint.as_bytes());
    hasher.update(b"\0");
    hasher.update(serde_json::to_string(facts).unwrap_or_default().as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Scan one target; never fails: what went wrong is in its `error`. With
/// `previous` (its last successful scan, taken with the same key), a head
/// that has not moved since reuses that count.
async fn scan_target(
    shared: &Arc<Shared>,
    recipe: &Arc<Recipe>,
    options: ApplyOptions,
    subject: Subject,
    state: String,
    previous: Option<ScanRow>,
) -> TargetScan {
    let mut scan = TargetScan {
        repo: subject.repo.clone(),
        component: subject.component.clone(),
        state,
        default_branch: None,
        commit: None,
        matches: None,
        files: 0,
        note: None,
        error: None,
        reused: false,
    };
    if subject.refusal.is_none() {
        credentials(shared, &subject.repo).await;
    }
    let (worker, recipe) = (shared.clone(), recipe.clone());
    let counted = tokio::task::spawn_blocking(move || {
        let checkout = fetch(&worker.workspace, &subject, worker.progress.as_ref())?;
        let head = checkout.base.to_string();
        if let Some(previous) = previous.filter(|p| p.commit_id.as_deref() == Some(&head))
            && let Some(matches) = previous.matches
        {
            let as_count = |n: i64| usize::try_from(n).unwrap_or(0);
            let files = previous.files.map_or(0, as_count);
            let found = Found::at(&checkout, as_count(matches), files, previous.note);
            return Ok((found, true));
        }
        inspect_synced(
            checkout,
            &worker.rewriter,
            &recipe,
            &options,
            &subject,
            worker.progress.as_ref(),
        )
        .map(|inspected| (count(&inspected), false))
    })
    .await
    .unwrap_or_else(|e| Err(format!("a worker failed: {e}")));
    match counted {
        Ok((found, reused)) => {
            tracing::info!(repo = %scan.repo, matches = found.matches, reused, "scanned");
            found.fill(&mut scan);
            scan.reused = reused;
        }
        Err(error) => {
            tracing::info!(repo = %scan.repo, "not scanned: {error}");
            scan.error = Some(error);
        }
    }
    scan
}

/// What the recipe finds at a default-branch head.
pub(super) struct Found {
    default_branch: String,
    commit: String,
    matches: usize,
    files: usize,
    note: Option<String>,
}

impl Found {
    /// What was found at `checkout`'s default-branch head.
    fn at(checkout: &Checkout, matches: usize, files: usize, note: Option<String>) -> Found {
        Found {
            default_branch: checkout.default_branch.clone(),
            commit: checkout.base.to_string(),
            matches,
            files,
            note,
        }
    }

    pub(super) fn fill(self, scan: &mut TargetScan) {
        scan.default_branch = Some(self.default_branch);
        scan.commit = Some(self.commit);
        scan.matches = Some(self.matches);
        scan.files = self.files;
        scan.note = self.note;
    }
}

/// The places the recipe would still rewrite at an inspected head.
pub(super) fn count(inspected: &Inspected) -> Found {
    let Inspected { checkout, changes } = inspected;
    let found = |matches, files, note| Found::at(checkout, matches, files, note);
    if let Some(reason) = &changes.not_applicable {
        return found(
            0,
            0,
            Some(format!("the recipe does not apply here: {reason}")),
        );
    }
    let note = rejected_note(changes).map(|n| format!("not counted: {n}"));
    found(changes.total_matches(), changes.files.len(), note)
}
