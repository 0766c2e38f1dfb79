//! `preview`: what a campaign would change across the fleet, before it
//! pushes anything or records anything.
//!
//! For every scheduled target of a campaign file's plan it fetches the
//! repository into the clone cache, applies the recipe to a checkout of the
//! default-branch head (and, when asked, runs the campaign's `verify` on the
//! result, in the sandbox), and keeps what it found: the diffs, the edits
//! per rule, why a repository is left out. `scan` of a campaign that was not
//! launched counts from the same inspection.
//!
//! Invariants:
//! - a preview pushes nothing, opens nothing and writes nothing to the
//!   state: it needs no campaign in the state at all;
//! - the clone's working tree is set back to the default-branch head after
//!   each target (a `verify` leaves nothing behind for the next command);
//! - one repository that cannot be previewed is reported with why and never
//!   stops the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Engine, Progress, Result, Shared, error_chain, facts};
use crate::campaign::{Loaded, Verify};
use crate::git::{Checkout, Workspace};
use crate::recipe::{ApplyOptions, Changes, FileStatus, Recipe};
use crate::state::{Step, TargetState, format_time};

/// The version of the preview's JSON shape.
pub const SCHEMA: u32 = 1;

/// What `fleetwright preview` writes (`preview.json`) and renders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preview {
    /// The version of this shape ([`SCHEMA`]).
    pub schema: u32,
    /// The campaign's name.
    pub campaign: String,
    /// The id of the recipe.
    pub recipe: String,
    /// The recipe's fingerprint: a preview of the same fingerprint on the
    /// same commits makes the same changes.
    pub fingerprint: String,
    /// When the preview began (RFC 3339, UTC).
    pub at: String,
    /// The campaign's `verify` command, when the preview ran it.
    pub verify: Option<String>,
    pub totals: PreviewTotals,
    /// Edits per rule (or edit) of the recipe, over the fleet, most first.
    pub rules: Vec<RuleTotal>,
    /// Every scheduled target, in plan order.
    pub targets: Vec<TargetPreview>,
}

/// What became of a repository in the preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewOutcome {
    /// The recipe changes it: a pull request would be opened.
    Changed,
    /// The recipe changes nothing in it.
    Unchanged,
    /// The recipe's `applies_when` does not hold there.
    NotApplicable,
    /// It opted out of the campaign (`.fleetwright.yaml`).
    OptedOut,
    /// It could not be fetched, the recipe could not run or would break a
    /// file, or `verify` failed on the change.
    Failing,
}

impl PreviewOutcome {
    /// Every outcome, in the order the review page lists them.
    pub const ALL: [PreviewOutcome; 5] = [
        PreviewOutcome::Changed,
        PreviewOutcome::Failing,
        PreviewOutcome::Unchanged,
        PreviewOutcome::NotApplicable,
        PreviewOutcome::OptedOut,
    ];

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            PreviewOutcome::Changed => "changed",
            PreviewOutcome::Unchanged => "unchanged",
            PreviewOutcome::NotApplicable => "not applicable",
            PreviewOutcome::OptedOut => "opted out",
            PreviewOutcome::Failing => "failing",
        }
    }
}

/// The preview in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewTotals {
    pub targets: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub not_applicable: usize,
    pub opted_out: usize,
    pub failing: usize,
    /// Edits over every changed repository.
    pub edits: usize,
    /// Files those edits are in.
    pub files: usize,
}

/// One rule's edits over the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTotal {
    /// The rule's id, or the edit's label.
    pub rule: String,
    pub edits: usize,
    /// Repositories it edits.
    pub repositories: usize,
}

/// One repository's preview.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetPreview {
    pub repo: String,
    /// Catalog entity ref of the component.
    pub component: String,
    /// Catalog entity ref of the owner.
    pub owner: String,
    /// 1-based.
    pub tranche: usize,
    pub tranche_name: String,
    pub outcome: PreviewOutcome,
    /// The default branch; absent when it could not be fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// The default-branch head the recipe ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Edits the recipe makes here.
    pub edits: usize,
    /// The files it changes, each with its diff.
    pub files: Vec<FilePreview>,
    /// Why it is not applicable, opted out or failing; or something to
    /// know (files the recipe would break are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How `verify` went on the change, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyPreview>,
}

/// One changed file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilePreview {
    /// Relative to the repository, `/`-separated.
    pub path: String,
    pub status: FileStatus,
    /// Edits per rule (id or label, count).
    pub rules: Vec<(String, usize)>,
    /// Its unified diff.
    pub diff: String,
}

/// `verify` on a previewed change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyPreview {
    pub passed: bool,
    /// `exit 0`, `exit 3`, `killed after 600 s`, …
    pub status: String,
    /// The end of its output, scrubbed.
    pub tail: String,
}

impl PreviewTotals {
    fn of(targets: &[TargetPreview]) -> Self {
        let mut totals = PreviewTotals {
            targets: targets.len(),
            ..PreviewTotals::default()
        };
        for t in targets {
            match t.outcome {
                PreviewOutcome::Changed => totals.changed += 1,
                PreviewOutcome::Unchanged => totals.unchanged += 1,
                PreviewOutcome::NotApplicable => totals.not_applicable += 1,
                PreviewOutcome::OptedOut => totals.opted_out += 1,
                PreviewOutcome::Failing => totals.failing += 1,
            }
            totals.edits += t.edits;
            totals.files += t.files.len();
        }
        totals
    }

    /// The count of `outcome`.
    pub fn count(&self, outcome: PreviewOutcome) -> usize {
        match outcome {
            PreviewOutcome::Changed => self.changed,
            PreviewOutcome::Unchanged => self.unchanged,
            PreviewOutcome::NotApplicable => self.not_applicable,
            PreviewOutcome::OptedOut => self.opted_out,
            PreviewOutcome::Failing => self.failing,
        }
    }
}

/// Edits per rule over `targets`, most first (ties by name).
fn rule_totals(targets: &[TargetPreview]) -> Vec<RuleTotal> {
    let mut by_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for t in targets {
        let mut here: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &t.files {
            for (rule, n) in &f.rules {
                *here.entry(rule).or_default() += n;
            }
        }
        for (rule, n) in here {
            let entry = by_rule.entry(rule).or_default();
            entry.0 += n;
            entry.1 += 1;
        }
    }
    let mut rules: Vec<RuleTotal> = by_rule
        .into_iter()
        .map(|(rule, (edits, repositories))| RuleTotal {
            rule: rule.to_string(),
            edits,
            repositories,
        })
        .collect();
    rules.sort_by(|a, b| b.edits.cmp(&a.edits).then_with(|| a.rule.cmp(&b.rule)));
    rules
}

/// A repository to inspect: where it is and what the campaign knows of it.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub repo: String,
    pub url: String,
    pub component: String,
    /// Why the campaign's forge cannot take it.
    pub refusal: Option<String>,
}

/// A default-branch head with the recipe's changes computed on it (not
/// written).
pub(super) struct Inspected {
    pub checkout: Checkout,
    pub changes: Changes,
}

/// Fetch `subject` into the clone cache, reset the clone to its
/// default-branch head and compute the recipe's changes there, without
/// writing them. The one inspection `scan` and `preview` share.
pub(super) fn inspect(
    workspace: &Workspace,
    rewriter: &super::Rewriter,
    recipe: &Recipe,
    options: &ApplyOptions,
    subject: &Subject,
    progress: &dyn Progress,
) -> std::result::Result<Inspected, String> {
    let checkout = fetch(workspace, subject, progress)?;
    inspect_synced(checkout, rewriter, recipe, options, subject, progress)
}

/// Fetch `subject` into the clone cache (refused when the campaign refuses
/// its repository): the clone, its default branch and that branch's head.
pub(super) fn fetch(
    workspace: &Workspace,
    subject: &Subject,
    progress: &dyn Progress,
) -> std::result::Result<Checkout, String> {
    if let Some(why) = &subject.refusal {
        return Err(why.clone());
    }
    progress.step(&subject.repo, Step::Clone);
    workspace
        .sync(&subject.url, &subject.repo)
        .map_err(|e| error_chain(&e))
}

/// [`inspect`] of a clone already fetched (`checkout`): reset it to the
/// default-branch head and apply the recipe there without writing.
pub(super) fn inspect_synced(
    checkout: Checkout,
    rewriter: &super::Rewriter,
    recipe: &Recipe,
    options: &ApplyOptions,
    subject: &Subject,
    progress: &dyn Progress,
) -> std::result::Result<Inspected, String> {
    checkout.reset_to_base().map_err(|e| {
        format!(
            "cannot check out {} in the clone cache ({}): {}",
            checkout.default_branch,
            checkout.path.display(),
            error_chain(&e)
        )
    })?;
    progress.step(&subject.repo, Step::Apply);
    let changes = rewriter
        .apply(recipe, &checkout.path, options)
        .map_err(|e| {
            format!(
                "the recipe cannot run on {} at {}: {e}",
                checkout.default_branch, checkout.base,
            )
        })?;
    Ok(Inspected { checkout, changes })
}

/// The files `changes` rejects, in one sentence; `None` when it rejects none.
pub(super) fn rejected_note(changes: &Changes) -> Option<String> {
    changes.rejected.first().map(|first| {
        let more = changes.rejected.len() - 1;
        format!(
            "the recipe matches {}{} but would break it (rule {}, line {}: {})",
            first.path.display(),
            if more > 0 {
                format!(" and {more} more file(s)")
            } else {
                String::new()
            },
            first.rule_ids.join(", "),
            first.line,
            first.message
        )
    })
}

impl Engine {
    /// Preview `loaded` on every scheduled target of its plan: fetch, apply
    /// and (with `verify`) run the campaign's check on the change; push,
    /// open and record nothing. A target that cannot be previewed is in the
    /// preview as `failing`, with why.
    pub async fn preview(&self, loaded: &Loaded, verify: bool) -> Result<Preview> {
        let at = format_time(self.state().now());
        let facts = facts(&loaded.catalog);
        // How git reaches SSH remotes (the campaign's key, known hosts).
        self.shared.workspace.set_ssh(loaded.campaign.ssh.clone());
        let planned: Vec<_> = loaded.plan.targets().collect();
        let progress = self.shared.progress.clone();
        progress.start(
            &format!("{}: previewing", loaded.campaign.name),
            planned.len(),
        );
        let limit = Arc::new(Semaphore::new(self.shared.concurrency));
        let verify_with = verify.then(|| loaded.campaign.verify.clone()).flatten();
        let mut tasks = JoinSet::new();
        for (position, (tranche, t)) in planned.into_iter().enumerate() {
            let shared = self.shared.clone();
            let recipe = loaded.recipe.clone();
            let limit = limit.clone();
            let subject = Subject {
                repo: t.repo.clone(),
                url: t.url.clone(),
                component: t.component.to_string(),
                refusal: t.refusal.clone(),
            };
            let options = ApplyOptions {
                facts: Some(facts.get(&subject.component).cloned().unwrap_or_default()),
                sandbox: loaded.campaign.sandbox.clone(),
                ..ApplyOptions::default()
            };
            let mut preview = TargetPreview {
                repo: t.repo.clone(),
                component: subject.component.clone(),
                owner: t.owner.to_string(),
                tranche: tranche + 1,
                tranche_name: loaded
                    .plan
                    .tranches
                    .get(tranche)
                    .map_or_else(|| format!("tranche {}", tranche + 1), |p| p.name.clone()),
                outcome: PreviewOutcome::Failing,
                default_branch: None,
                commit: None,
                edits: 0,
                files: Vec::new(),
                reason: None,
                verify: None,
            };
            let campaign = loaded.campaign.name.clone();
            let (verify_with, sandbox) = (verify_with.clone(), loaded.campaign.sandbox.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                credentials(&shared, &subject.repo).await;
                let worker = shared.clone();
                let found = tokio::task::spawn_blocking(move || {
                    let inspected = inspect(
                        &worker.workspace,
                        &worker.rewriter,
                        &recipe,
                        &options,
                        &subject,
                        worker.progress.as_ref(),
                    );
                    inspected.map(|i| look(i, &campaign, verify_with.as_ref(), &sandbox))
                })
                .await
                .unwrap_or_else(|e| Err(format!("a worker failed: {e}")));
                match found {
                    Ok(found) => found.fill(&mut preview),
                    Err(why) => preview.reason = Some(why),
                }
                let shown = match preview.outcome {
                    PreviewOutcome::Changed => TargetState::PrOpen,
                    PreviewOutcome::Unchanged => TargetState::NoChange,
                    PreviewOutcome::NotApplicable => TargetState::NotApplicable,
                    PreviewOutcome::OptedOut => TargetState::OptedOut,
                    PreviewOutcome::Failing => TargetState::Failed,
                };
                shared.progress.done(&preview.repo, shown);
                (position, preview)
            });
        }
        let mut previews = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(done) => previews.push(done),
                Err(e) => {
                    progress.finish();
                    return Err(super::EngineError::Panicked(format!(
                        "a target's preview: {e}"
                    )));
                }
            }
        }
        progress.finish();
        previews.sort_by_key(|(position, _)| *position);
        let targets: Vec<TargetPreview> = previews.into_iter().map(|(_, t)| t).collect();
        Ok(Preview {
            schema: SCHEMA,
            campaign: loaded.campaign.name.clone(),
            recipe: loaded.recipe.id.clone(),
            fingerprint: loaded.recipe.fingerprint.clone(),
            at,
            verify: verify_with.map(|v| v.command),
            totals: PreviewTotals::of(&targets),
            rules: rule_totals(&targets),
            targets,
        })
    }
}

/// The token git offers, set on the clone cache (a GitHub App's is renewed
/// before it expires); without one, the fetch says why it failed.
pub(super) async fn credentials(shared: &Shared, repo: &str) {
    match shared.forge.git_credentials().await {
        Ok(credentials) => shared.workspace.set_credentials(credentials),
        Err(e) => tracing::warn!(repo, "no git token: {}", error_chain(&e)),
    }
}

/// What a preview found in one repository.
struct Found {
    default_branch: String,
    commit: String,
    outcome: PreviewOutcome,
    changes: Changes,
    reason: Option<String>,
    verify: Option<VerifyPreview>,
}

impl Found {
    fn fill(self, preview: &mut TargetPreview) {
        preview.default_branch = Some(self.default_branch);
        preview.commit = Some(self.commit);
        preview.outcome = self.outcome;
        preview.reason = self.reason;
        preview.verify = self.verify;
        preview.edits = self.changes.total_matches();
        preview.files = self
            .changes
            .files
            .iter()
            .map(|f| FilePreview {
                path: f.path.to_string_lossy().replace('\\', "/"),
                status: f.status,
                rules: f.matches.clone(),
                diff: capped(f.unified_diff()),
            })
            .collect();
    }
}

/// The most of one file's diff a preview keeps: a generated or vendored
/// file rewritten whole (a lockfile) would otherwise make the review page,
/// and the preview held in memory for every repository, that large.
const MAX_DIFF: usize = 256 * 1024;

/// `diff`, cut after the last whole line within [`MAX_DIFF`] bytes, with a
/// line that says how much was left out.
fn capped(diff: String) -> String {
    if diff.len() <= MAX_DIFF {
        return diff;
    }
    let mut end = MAX_DIFF;
    while !diff.is_char_boundary(end) {
        end -= 1;
    }
    let end = diff[..end].rfind('\n').map_or(end, |i| i + 1);
    format!(
        "{}… {} more bytes of this diff are not shown\n",
        &diff[..end],
        diff.len() - end
    )
}

/// Decide what `inspected` means for the campaign `campaign`, running
/// `verify` on the change when given; the clone is set back to its
/// default-branch head afterwards.
fn look(
    inspected: Inspected,
    campaign: &str,
    verify: Option<&Verify>,
    sandbox: &crate::sandbox::Policy,
) -> Found {
    let Inspected { checkout, changes } = inspected;
    let mut found = Found {
        default_branch: checkout.default_branch.clone(),
        commit: checkout.base.to_string(),
        outcome: PreviewOutcome::Changed,
        changes: Changes::default(),
        reason: None,
        verify: None,
    };
    match crate::optout::read(&checkout.path, campaign) {
        Ok(Some(reason)) => {
            found.outcome = PreviewOutcome::OptedOut;
            found.reason = Some(reason);
            return found;
        }
        Ok(None) => {}
        Err(e) => {
            found.outcome = PreviewOutcome::Failing;
            found.reason = Some(e);
            return found;
        }
    }
    if let Some(reason) = changes.not_applicable {
        found.outcome = PreviewOutcome::NotApplicable;
        found.reason = Some(reason);
        return found;
    }
    if let Some(note) = rejected_note(&changes) {
        found.outcome = PreviewOutcome::Failing;
        found.reason = Some(format!("{note}; the file was left untouched"));
    } else if changes.is_empty() {
        found.outcome = PreviewOutcome::Unchanged;
    }
    if let (Some(verify), PreviewOutcome::Changed) = (verify, found.outcome) {
        found.verify = Some(verify_change(&checkout, &changes, verify, sandbox));
        if found.verify.as_ref().is_some_and(|v| !v.passed) {
            found.outcome = PreviewOutcome::Failing;
            found.reason = Some(format!("verify `{}` failed", verify.command));
        }
    }
    found.changes = changes;
    found
}

/// Write `changes` into the clone, run `verify` on them in the sandbox,
/// and set the clone back to its default-branch head.
fn verify_change(
    checkout: &Checkout,
    changes: &Changes,
    verify: &Verify,
    sandbox: &crate::sandbox::Policy,
) -> VerifyPreview {
    let ran = changes
        .write(&checkout.path)
        .map_err(|e| format!("cannot write the change: {e}"))
        .and_then(|()| {
            crate::verify::run(verify, &checkout.path, sandbox)
                .map_err(|e| format!("cannot run verify: {e}"))
        });
    if let Err(e) = checkout.reset_to_base() {
        tracing::warn!(
            "cannot set {} back after verify: {}",
            checkout.path.display(),
            error_chain(&e)
        );
    }
    match ran {
        Ok(outcome) => VerifyPreview {
            passed: outcome.passed,
            status: outcome.status,
            tail: outcome.tail,
        },
        Err(why) => VerifyPreview {
            passed: false,
            status: "not run".to_string(),
            tail: why,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_diff_is_cut_at_a_line_and_says_so() {
        let line = "+ a line of a generated file, é\n";
        let diff = line.repeat(MAX_DIFF / line.len() * 3);
        let cut = capped(diff.clone());
        assert!(cut.len() < MAX_DIFF + 100, "{}", cut.len());
        let (kept, note) = cut.rsplit_once("… ").unwrap();
        assert!(kept.ends_with('\n') && diff.starts_with(kept));
        assert_eq!(
            note,
            format!(
                "{} more bytes of this diff are not shown\n",
                diff.len() - kept.len()
            )
        );
        assert_eq!(capped(line.to_string()), line);
    }
}
