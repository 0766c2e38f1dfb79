//! Recipe-exact pull requests: a pull request whose branch holds exactly
//! the recipe's change, and nothing else.
//!
//! The change is derived again from the recipe (of the campaign's current
//! fingerprint) applied to the branch's base commit (where the branch forked
//! from the default branch), and compared with the branch head's tree. A
//! branch fleetwright pushed is recipe-exact by construction (recorded when
//! it is pushed); `sync` checks again only when the branch head or the
//! recipe changed, so an unchanged pull request costs nothing. A person's
//! commit that changes the tree makes it not exact, visibly: the pull
//! request loses the [`LABEL`] and the event log says so. The campaign
//! policy `pull_request.auto_merge: {when: recipe_exact}` merges recipe-exact
//! pull requests whose checks pass ([`crate::campaign::AutoMerge`]).

use std::collections::HashMap;
use std::sync::Arc;

use super::{Engine, Shared, error_chain, repo_ref};
use crate::campaign::Loaded;
use crate::git::{Checkout, RemoteBranch, TreeEdit, Workspace};
use crate::recipe::{ApplyOptions, Changes, Facts, FileStatus, Recipe};
use crate::state::{RecipeExact, TargetRow};

/// The label a recipe-exact pull request carries.
pub const LABEL: &str = "fleetwright/recipe-exact";

/// The edits that make `changes` in a tree.
pub(super) fn tree_edits(changes: &Changes) -> impl Iterator<Item = TreeEdit<'_>> {
    changes.files.iter().map(|file| {
        // The walk names files with `/`-separated UTF-8 (lossily).
        let path = file.path.to_str().unwrap_or_default();
        match file.status {
            FileStatus::Modified | FileStatus::Added => TreeEdit::Write {
                path,
                content: file.after.as_bytes(),
            },
            FileStatus::Deleted => TreeEdit::Remove { path },
        }
    })
}

/// Record `check` for `target` (pull request `number`), and put the label on
/// or take it off when the answer changed. `labelled` says the pull request
/// carries the label already when the answer is new (it was opened with
/// it).
pub(super) async fn mark(
    shared: &Shared,
    target: &TargetRow,
    number: i64,
    check: &RecipeExact,
    labelled: bool,
) -> Result<(), crate::state::StateError> {
    let before = target
        .changeset
        .as_ref()
        .and_then(|c| c.recipe_exact.as_ref())
        .map(|e| e.exact);
    let detail = if check.exact {
        format!(
            "#{number} at {} holds exactly the recipe's change",
            check.head
        )
    } else {
        format!(
            "#{number} at {} holds more or other than the recipe's change (a commit by a person, or an edit by hand): it is no longer recipe-exact",
            check.head
        )
    };
    shared
        .state
        .record_recipe_exact(target, check, &detail)
        .await?;
    let label_on = before.or(labelled.then_some(true));
    if label_on != Some(check.exact)
        && let Err(e) = shared
            .forge
            .set_label(&repo_ref(target), number, LABEL, check.exact)
            .await
    {
        tracing::warn!(repo = %target.repo, "cannot set the label {LABEL} on #{number}: {}", error_chain(&e));
    }
    Ok(())
}

impl Engine {
    /// Whether the branch of `target`'s open pull request is recipe-exact at
    /// `head` (the head the forge reports): the recorded answer when it was
    /// checked at that head with this recipe, else checked now (and
    /// recorded, and the label set). `None` when it cannot be told (the
    /// branch is gone, a fetch failed: logged).
    pub(super) async fn recipe_exact(
        &self,
        loaded: &Loaded,
        facts: &HashMap<String, Facts>,
        target: &TargetRow,
        number: i64,
        head: Option<&str>,
    ) -> Result<Option<bool>, crate::state::StateError> {
        let Some(changeset) = &target.changeset else {
            return Ok(None);
        };
        let fingerprint = &loaded.recipe.fingerprint;
        let head = head.or(target.head_commit.as_deref());
        if let Some(known) = head.and_then(|h| changeset.known_exactness(h, fingerprint)) {
            return Ok(Some(known));
        }
        // Made with another recipe: this run brings the branch up to date
        // (and marks it), or says why it cannot; checking it against the new
        // recipe first would rewrite every such repository for nothing.
        if target
            .recipe_fingerprint
            .as_deref()
            .is_some_and(|made_with| made_with != fingerprint)
        {
            return Ok(None);
        }
        // A repository the campaign's forge cannot hold is never fetched
        // (its token must not go there).
        if loaded.campaign.repository_refusal(&target.url).is_some() {
            return Ok(None);
        }
        let shared = self.shared.clone();
        shared.workspace.set_ssh(loaded.campaign.ssh.clone());
        super::preview::credentials(&shared, &target.repo).await;
        let options = ApplyOptions {
            facts: Some(facts.get(&target.component).cloned().unwrap_or_default()),
            sandbox: loaded.campaign.sandbox.clone(),
            ..ApplyOptions::default()
        };
        let (recipe, url, repo, branch, campaign) = (
            loaded.recipe.clone(),
            target.url.clone(),
            target.repo.clone(),
            changeset.branch.clone(),
            loaded.campaign.name.clone(),
        );
        let worker = shared.clone();
        let checked = tokio::task::spawn_blocking(move || {
            check(
                &worker.workspace,
                &worker.rewriter,
                &recipe,
                &options,
                (&url, &repo, &branch),
                &campaign,
            )
        })
        .await
        .unwrap_or_else(|e| Err(format!("a worker failed: {e}")));
        let (tip, exact) = match checked {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(why) => {
                tracing::warn!(repo = %target.repo, "cannot tell whether #{number} is recipe-exact: {why}");
                return Ok(None);
            }
        };
        let check = RecipeExact {
            head: tip.clone(),
            fingerprint: fingerprint.clone(),
            exact,
        };
        mark(&shared, target, number, &check, false).await?;
        // Exact at another head than the forge reports: not for merging.
        Ok(Some(exact && head.is_none_or(|h| h == tip)))
    }
}

/// Fetch the branch, derive the recipe's change at the commit it forked
/// from, and compare: `(branch head, exact)`; `None` when the branch is gone.
fn check(
    workspace: &Workspace,
    rewriter: &super::Rewriter,
    recipe: &Arc<Recipe>,
    options: &ApplyOptions,
    (url, repo, branch): (&str, &str, &str),
    campaign: &str,
) -> Result<Option<(String, bool)>, String> {
    let checkout = workspace
        .sync_branch(url, repo, branch)
        .map_err(|e| error_chain(&e))?;
    let tip = match checkout
        .remote_branch(branch, campaign)
        .map_err(|e| error_chain(&e))?
    {
        RemoteBranch::Absent => return Ok(None),
        RemoteBranch::Ours(tip) | RemoteBranch::Shared(tip) | RemoteBranch::Foreign(tip) => tip,
    };
    // The clone is left at the fork point: every use of a clone checks out
    // what it needs first (`reset_to_base`, `reset_to`).
    let exact = derive_and_compare(&checkout, rewriter, recipe, options, tip)?;
    Ok(Some((tip.to_string(), exact)))
}

fn derive_and_compare(
    checkout: &Checkout,
    rewriter: &super::Rewriter,
    recipe: &Recipe,
    options: &ApplyOptions,
    tip: git2::Oid,
) -> Result<bool, String> {
    let base = checkout.fork_point(tip).map_err(|e| error_chain(&e))?;
    if base == tip {
        // Nothing on the branch the default branch does not have.
        return Ok(false);
    }
    checkout.reset_to(base).map_err(|e| error_chain(&e))?;
    let changes = rewriter.apply(recipe, &checkout.path, options)?;
    if changes.not_applicable.is_some() || !changes.rejected.is_empty() || changes.is_empty() {
        return Ok(false);
    }
    checkout
        .tree_is(base, tip, tree_edits(&changes))
        .map_err(|e| error_chain(&e))
}
