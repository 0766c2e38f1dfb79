//! One target, from clone to pull request. Each step either moves the target
//! forward in the state or returns the [`Failure`] that names it.

use std::ops::ControlFlow;
use std::sync::Arc;

use super::exact::{self, tree_edits};
use super::{Failure, Shared, error_chain, record_pull_request, repo_ref};
use crate::campaign::Campaign;
use crate::campaign::template::{
    self, DEFAULT_BODY, DEFAULT_COMMIT, FileSummary, Part, RecipeInfo, StepSummary, TemplateContext,
};
use crate::forge::NewPullRequest;
use crate::git::{CAMPAIGN_TRAILER, Checkout, RemoteBranch};
use crate::recipe::{ApplyOptions, Changes, Facts, Recipe};
use crate::reviewers::Reviewers;
use crate::state::{Opened, RecipeExact, Step, TargetRow, TargetState, Transition};

type Result<T> = std::result::Result<T, Failure>;

/// A fresh checkout of the default branch with the recipe's changes computed.
struct Prepared {
    checkout: Checkout,
    remote: RemoteBranch,
    changes: Changes,
    /// Why the repository opts out of the campaign (`.fleetwright.yaml`).
    opted_out: Option<String>,
}

/// Bring `target` as far as it goes: to `pr_open` (with its pull request
/// number), or `no_change`.
pub(super) async fn run(
    shared: &Shared,
    campaign: &Campaign,
    recipe: &Arc<Recipe>,
    facts: Option<Facts>,
    reviewers: Reviewers,
    target: &TargetRow,
) -> Result<(TargetState, Option<i64>)> {
    let mut ctx = context(campaign, recipe, target);
    let branch = template::render(&campaign.pull_request.branch, &ctx)
        .map_err(|e| Failure::new(Step::Clone, format!("pull_request.branch: {e}")))?;

    enter(shared, &target.repo, Step::Clone);
    let prepared = fetch_and_apply(shared, campaign, recipe, facts, target, &branch).await?;
    if let Some((state, change)) = left_out(&prepared) {
        shared.state.transition(target, state, &change).await?;
        return Ok((state, None));
    }
    let Prepared {
        checkout,
        remote,
        changes,
        ..
    } = prepared;
    (ctx.files, ctx.steps) = summarize(&changes, recipe);
    ctx.matches = changes.total_matches();
    let base = base_of(&checkout);
    let reviewers = if reviewers.is_empty() {
        let changed: Vec<String> = ctx.files.iter().map(|f| f.path.clone()).collect();
        crate::reviewers::from_codeowners(&checkout.path, &changed)
    } else {
        reviewers
    };
    let on = Branch {
        name: &branch,
        base: &base,
    };
    let step = match remote {
        RemoteBranch::Absent => {
            commit_and_push(
                shared, campaign, recipe, target, &mut ctx, checkout, changes, &on,
            )
            .await?
        }
        RemoteBranch::Ours(tip) | RemoteBranch::Shared(tip) => {
            adopt_branch(shared, target, tip, &on).await?
        }
        RemoteBranch::Foreign(_) if changes.is_empty() => no_change(shared, target, &base).await?,
        RemoteBranch::Foreign(tip) => {
            return Err(Failure::new(
                Step::Push,
                format!(
                    "branch `{branch}` already exists on the remote (at {tip}) with commits fleetwright did not make; \
                     fleetwright never overwrites them: delete that branch or set `pull_request.branch` to another name"
                ),
            ));
        }
    };
    let Pushed {
        head,
        pushed_now,
        failed_verify,
    } = match step {
        ControlFlow::Continue(pushed) => pushed,
        ControlFlow::Break(state) => return Ok((state, None)),
    };

    enter(shared, &target.repo, Step::OpenPr);
    let draft = campaign.pull_request.draft || failed_verify.is_some();
    let (pr, opened) = open_or_adopt(
        shared, campaign, target, &mut ctx, &on, &reviewers, &head, draft, pushed_now,
    )
    .await?;
    let opened = opened
        .as_ref()
        .map(|(detail, reviewers)| Opened { detail, reviewers });
    let labelled = opened.is_some();
    let state = record_pull_request(&shared.state, target, &pr, opened).await?;
    if pushed_now {
        let check = RecipeExact {
            head: head.clone(),
            fingerprint: recipe.fingerprint.clone(),
            exact: true,
        };
        exact::mark(shared, target, pr.number, &check, labelled).await?;
    }
    if let Some(reason) = failed_verify.filter(|_| state == TargetState::PrOpen) {
        let state = verify_failed(shared, target, reason, None, &Transition::default()).await?;
        return Ok((state, Some(pr.number)));
    }
    Ok((state, Some(pr.number)))
}

/// The campaign branch of a target: its name, and the transition every
/// state change of the target starts from.
struct Branch<'a> {
    name: &'a str,
    base: &'a Transition,
}

/// The campaign branch on the remote at `head`: pushed by this run
/// (`pushed_now`: the recipe's change by construction) or adopted;
/// `failed_verify` when it went out as a draft that shows verify's failure.
struct Pushed {
    head: String,
    pushed_now: bool,
    failed_verify: Option<String>,
}

/// A step either goes on to the next with what it made, or the target
/// ended in this state (no change; verify failed and nothing was pushed).
type Next<T> = ControlFlow<TargetState, T>;

/// A repository that opted out, or where the recipe does not apply, ends
/// here (the state it ends in, and why), unless a branch of ours is on the
/// remote already (it was pushed when the recipe applied, and is carried
/// on; a pull request already open is left to its people, who can close
/// it).
fn left_out(prepared: &Prepared) -> Option<(TargetState, Transition)> {
    if matches!(
        prepared.remote,
        RemoteBranch::Ours(_) | RemoteBranch::Shared(_)
    ) {
        return None;
    }
    let (state, reason) = match (&prepared.opted_out, &prepared.changes.not_applicable) {
        (Some(reason), _) => (TargetState::OptedOut, reason.clone()),
        (None, Some(reason)) => (TargetState::NotApplicable, reason.clone()),
        (None, None) => return None,
    };
    let change = Transition {
        reason: Some(reason),
        ..base_of(&prepared.checkout)
    };
    Some((state, change))
}

/// A campaign branch of ours already on the remote (perhaps with a
/// person's commits on top): adopted as it is.
async fn adopt_branch(
    shared: &Shared,
    target: &TargetRow,
    tip: git2::Oid,
    on: &Branch<'_>,
) -> Result<Next<Pushed>> {
    let branch = on.name;
    shared
        .state
        .record_event(target, "branch_adopted", &format!("{branch} at {tip}"))
        .await?;
    let change =
        (target.state != TargetState::Pushed || target.head_commit.is_none()).then(|| Transition {
            head_commit: Some(tip.to_string()),
            ..on.base.clone()
        });
    let adopted = Pushed {
        head: tip.to_string(),
        pushed_now: false,
        failed_verify: None,
    };
    on_remote(shared, target, change, adopted).await
}

/// The recipe changes nothing here: the target ends `no_change`.
async fn no_change(shared: &Shared, target: &TargetRow, base: &Transition) -> Result<Next<Pushed>> {
    shared
        .state
        .transition(target, TargetState::NoChange, base)
        .await?;
    Ok(ControlFlow::Break(TargetState::NoChange))
}

/// The branch is on the remote at `pushed.head`: record it (`pushed`, with
/// `change`, when there is one to record) and go on to the pull request.
async fn on_remote(
    shared: &Shared,
    target: &TargetRow,
    change: Option<Transition>,
    pushed: Pushed,
) -> Result<Next<Pushed>> {
    if let Some(change) = change {
        shared
            .state
            .transition(target, TargetState::Pushed, &change)
            .await?;
    }
    Ok(ControlFlow::Continue(pushed))
}

/// No campaign branch on the remote: commit the recipe's change, run
/// `verify`, and push (with the intent recorded first).
#[allow(
    clippy::too_many_arguments,
    reason = "one call, each argument a plain value"
)]
async fn commit_and_push(
    shared: &Shared,
    campaign: &Campaign,
    recipe: &Recipe,
    target: &TargetRow,
    ctx: &mut TemplateContext,
    checkout: Checkout,
    changes: Changes,
    on: &Branch<'_>,
) -> Result<Next<Pushed>> {
    let (branch, base) = (on.name, on.base);
    if changes.is_empty() {
        return no_change(shared, target, base).await;
    }
    enter(shared, &target.repo, Step::Commit);
    ctx.title = render(Part::Title, &campaign.pull_request.title, ctx, Step::Commit)?;
    let message = commit_message(campaign, recipe, ctx)?;
    let draft_on_failure = campaign.verify.as_ref().is_some_and(|v| v.draft_on_failure);
    let Committed {
        checkout,
        commit,
        verified,
    } = write_verify_commit(
        campaign,
        checkout,
        changes,
        branch,
        message,
        draft_on_failure,
    )
    .await?;
    let mut failed_verify = None;
    if let Some(failed) = verified.as_ref().and_then(|v| v.failure()) {
        let tail = verified.as_ref().map_or("", |v| v.outcome.tail.as_str());
        let what = if draft_on_failure {
            "pushed as a draft pull request that shows the failure"
        } else {
            "nothing was pushed"
        };
        let reason = format!("{failed}; {what}:\n{tail}");
        shared
            .state
            .record_event(target, "verify_failed", &reason)
            .await?;
        if !draft_on_failure {
            let state = verify_failed(shared, target, reason, Some(recipe), base).await?;
            return Ok(ControlFlow::Break(state));
        }
        ctx.verify_failure = Some(format!("{failed}\n{}", tail.trim_end()));
        failed_verify = Some(reason);
    } else {
        ctx.verified = verified.map(|v| v.command);
    }
    let Some(commit) = commit else {
        return no_change(shared, target, base).await;
    };
    enter(shared, &target.repo, Step::Push);
    shared
        .state
        .record_event(target, "push_intended", &format!("{branch} at {commit}"))
        .await?;
    {
        let branch = branch.to_string();
        blocking(move || {
            checkout
                .push(&branch)
                .map_err(|e| Failure::new(Step::Push, error_chain(&e)))
        })
        .await?;
    }
    let change = Transition {
        head_commit: Some(commit.to_string()),
        recipe_fingerprint: Some(recipe.fingerprint.clone()),
        ..base.clone()
    };
    let pushed = Pushed {
        head: commit.to_string(),
        pushed_now: true,
        failed_verify,
    };
    on_remote(shared, target, Some(change), pushed).await
}

/// The pull request of the branch: adopted when the forge has one for it,
/// else opened (with the intent recorded first). The second value says
/// what was opened (`#N url`, and who was asked to review) when it was.
#[allow(
    clippy::too_many_arguments,
    reason = "one call, each argument a plain value"
)]
async fn open_or_adopt(
    shared: &Shared,
    campaign: &Campaign,
    target: &TargetRow,
    ctx: &mut TemplateContext,
    on: &Branch<'_>,
    reviewers: &Reviewers,
    head: &str,
    draft: bool,
    pushed_now: bool,
) -> Result<(crate::forge::PullRequest, Option<(String, String)>)> {
    let branch = on.name;
    let default_branch = on.base.default_branch.clone().unwrap_or_default();
    let repo = repo_ref(target);
    let forge_err = |e: crate::forge::ForgeError| Failure::new(Step::OpenPr, error_chain(&e));
    // The changeset and what is about to happen, in one write.
    let changeset = |event| {
        shared.state.ensure_changeset_with_event(
            target,
            shared.forge.kind(),
            branch,
            &default_branch,
            event,
        )
    };
    if let Some(pr) = shared
        .forge
        .find_pull_request(&repo, branch)
        .await
        .map_err(forge_err)?
    {
        changeset(("pull_request_adopted", &format!("#{}", pr.number))).await?;
        return Ok((pr, None));
    }
    if ctx.title.is_empty() {
        ctx.title = render(Part::Title, &campaign.pull_request.title, ctx, Step::OpenPr)?;
    }
    let body = render_body(campaign, ctx)?;
    changeset(("open_pr_intended", &format!("{branch} at {head}"))).await?;
    let new = NewPullRequest {
        title: ctx.title.clone(),
        body,
        head: branch.to_string(),
        base: default_branch.clone(),
        head_commit: head.to_string(),
        draft,
        labels: campaign
            .pull_request
            .labels
            .iter()
            .cloned()
            .chain(pushed_now.then(|| exact::LABEL.to_string()))
            .collect(),
        reviewers: reviewers.users.clone(),
        team_reviewers: reviewers.teams.clone(),
        assignees: assignees(reviewers),
    };
    let asked: Vec<String> = reviewers
        .users
        .iter()
        .map(|u| format!("@{u}"))
        .chain(reviewers.teams.iter().map(|t| format!("team:{t}")))
        .collect();
    let pr = shared
        .forge
        .open_pull_request(&repo, &new)
        .await
        .map_err(forge_err)?;
    let opened = (format!("#{} {}", pr.number, pr.url), asked.join(" "));
    Ok((pr, Some(opened)))
}

/// Bring the branch of an open pull request up to date with a recipe that
/// changed since the branch was made: recompute the change on the default
/// branch as it is now and replace the branch with it, by force, but only
/// while it holds nothing but fleetwright's commits and is where fleetwright
/// left it (a lease). A branch someone pushed to is left alone and the
/// target needs attention.
pub(super) async fn refresh(
    shared: &Shared,
    campaign: &Campaign,
    recipe: &Arc<Recipe>,
    facts: Option<Facts>,
    target: &TargetRow,
) -> Result<(TargetState, Option<i64>)> {
    let mut ctx = context(campaign, recipe, target);
    let branch = template::render(&campaign.pull_request.branch, &ctx)
        .map_err(|e| Failure::new(Step::Clone, format!("pull_request.branch: {e}")))?;
    let number = target.changeset.as_ref().and_then(|c| c.number);
    enter(shared, &target.repo, Step::Clone);
    let Prepared {
        checkout,
        remote,
        changes,
        ..
    } = fetch_and_apply(shared, campaign, recipe, facts, target, &branch).await?;
    let base = base_of(&checkout);
    let attention = |reason: String| Transition {
        reason: Some(reason),
        ..base.clone()
    };
    let tip = match remote {
        RemoteBranch::Ours(tip) => tip,
        RemoteBranch::Shared(tip) | RemoteBranch::Foreign(tip) => {
            let change = attention(format!(
                "the recipe changed since {branch} was pushed, and someone else pushed commits to it (now at {tip}); \
                 fleetwright never overwrites them: update the branch by hand, or close the pull request"
            ));
            shared
                .state
                .transition(target, TargetState::NeedsAttention, &change)
                .await?;
            return Ok((TargetState::NeedsAttention, number));
        }
        RemoteBranch::Absent => {
            let change = attention(format!(
                "the recipe changed, and {branch} is gone from the remote while its pull request is open"
            ));
            shared
                .state
                .transition(target, TargetState::NeedsAttention, &change)
                .await?;
            return Ok((TargetState::NeedsAttention, number));
        }
    };
    if changes.not_applicable.is_some() || changes.is_empty() {
        let why = changes
            .not_applicable
            .clone()
            .unwrap_or_else(|| "it changes nothing here any more".to_string());
        let change = attention(format!(
            "the recipe changed and no longer applies to this repository ({why}); close the pull request if it is not wanted"
        ));
        shared
            .state
            .transition(target, TargetState::NeedsAttention, &change)
            .await?;
        return Ok((TargetState::NeedsAttention, number));
    }
    (ctx.files, ctx.steps) = summarize(&changes, recipe);
    ctx.matches = changes.total_matches();
    ctx.title = render(
        Part::Title,
        &campaign.pull_request.title,
        &ctx,
        Step::Commit,
    )?;
    let message = commit_message(campaign, recipe, &ctx)?;
    let Committed {
        checkout,
        commit,
        verified,
    } = write_verify_commit(campaign, checkout, changes, &branch, message, false).await?;
    if let Some(failed) = verified.as_ref().and_then(|v| v.failure())
        && target.state == TargetState::VerifyFailed
    {
        // The draft of a failing change, and the new recipe fails too: the
        // draft stays as it is, with the new failure, until the next change.
        let tail = verified.as_ref().map_or("", |v| v.outcome.tail.as_str());
        let reason = format!(
            "the recipe changed, and {failed} on its new change too; the draft pull request was left as it was:\n{tail}"
        );
        let state = verify_failed(shared, target, reason, Some(recipe), &base).await?;
        return Ok((state, number));
    }
    if let Some(failed) = verified.as_ref().and_then(|v| v.failure()) {
        let tail = verified.as_ref().map_or("", |v| v.outcome.tail.as_str());
        let change = attention(format!(
            "the recipe changed, and {failed} on its new change; {branch} was left as it was:\n{tail}"
        ));
        shared
            .state
            .transition(target, TargetState::NeedsAttention, &change)
            .await?;
        return Ok((TargetState::NeedsAttention, number));
    }
    ctx.verified = verified
        .as_ref()
        .filter(|v| v.outcome.passed)
        .map(|v| v.command.clone());
    let (checkout, same) = match commit {
        Some(commit) => {
            blocking(move || {
                let same = checkout
                    .same_tree(commit, tip)
                    .map_err(|e| Failure::new(Step::Commit, error_chain(&e)))?;
                Ok((checkout, same))
            })
            .await?
        }
        None => (checkout, true),
    };
    let updated = Transition {
        recipe_fingerprint: Some(recipe.fingerprint.clone()),
        ..base.clone()
    };
    let Some(commit) = commit.filter(|_| !same) else {
        // The new recipe makes the same change: nothing to push.
        shared
            .state
            .transition(target, TargetState::PrOpen, &updated)
            .await?;
        update_text(shared, campaign, target, number, &ctx).await;
        ready_for_review(shared, target, number, verified.as_ref()).await?;
        return Ok((TargetState::PrOpen, number));
    };
    enter(shared, &target.repo, Step::Push);
    shared
        .state
        .record_event(
            target,
            "force_push_intended",
            &format!("{branch} from {tip} to {commit} (recipe changed)"),
        )
        .await?;
    {
        let branch = branch.clone();
        blocking(move || {
            checkout
                .force_push(&branch, tip)
                .map_err(|e| Failure::new(Step::Push, error_chain(&e)))
        })
        .await?;
    }
    let pushed = Transition {
        head_commit: Some(commit.to_string()),
        ..updated
    };
    shared
        .state
        .transition(target, TargetState::PrOpen, &pushed)
        .await?;
    if let Some(number) = number {
        let check = RecipeExact {
            head: commit.to_string(),
            fingerprint: recipe.fingerprint.clone(),
            exact: true,
        };
        exact::mark(shared, target, number, &check, false).await?;
    }
    update_text(shared, campaign, target, number, &ctx).await;
    ready_for_review(shared, target, number, verified.as_ref()).await?;
    Ok((TargetState::PrOpen, number))
}

/// Render the pull request's title and body again for the change its
/// branch now holds (`ctx`, the title rendered) and put them on the forge:
/// the text a reviewer reads explains the recipe as it is now. A template
/// that fails or a forge that refuses is logged, not a failure: the branch
/// is up to date either way.
async fn update_text(
    shared: &Shared,
    campaign: &Campaign,
    target: &TargetRow,
    number: Option<i64>,
    ctx: &TemplateContext,
) {
    let Some(number) = number else {
        return;
    };
    let body = match render_body(campaign, ctx) {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(repo = %target.repo, "cannot update the text of #{number}: {}", e.reason);
            return;
        }
    };
    if let Err(e) = shared
        .forge
        .update_pull_request(&repo_ref(target), number, &ctx.title, &body)
        .await
    {
        tracing::warn!(repo = %target.repo, "cannot update the text of #{number}: {}", error_chain(&e));
    }
}

/// Move `target` to `verify_failed` with `reason` (and, with `recipe`, the
/// fingerprint it failed with: it is tried again only on another recipe).
async fn verify_failed(
    shared: &Shared,
    target: &TargetRow,
    reason: String,
    recipe: Option<&Recipe>,
    base: &Transition,
) -> Result<TargetState> {
    let change = Transition {
        reason: Some(reason),
        recipe_fingerprint: recipe.map(|r| r.fingerprint.clone()),
        ..base.clone()
    };
    shared
        .state
        .transition(target, TargetState::VerifyFailed, &change)
        .await?;
    Ok(TargetState::VerifyFailed)
}

/// A draft opened for a change that failed `verify`, brought up to date
/// with a recipe whose change passes: say so on the pull request (the
/// forge's REST API cannot take a pull request out of draft; its people
/// mark it ready).
async fn ready_for_review(
    shared: &Shared,
    target: &TargetRow,
    number: Option<i64>,
    verified: Option<&Verified>,
) -> Result<()> {
    let (Some(number), TargetState::VerifyFailed) = (number, target.state) else {
        return Ok(());
    };
    let ran = verified.map_or("the campaign's check".to_string(), |v| {
        crate::escape::code(&v.command)
    });
    let body = format!(
        "The recipe of this campaign changed, and {ran} now passes on the updated change. \
         This pull request was opened as a draft because the check failed before: \
         it is ready for review now; please mark it ready."
    );
    shared
        .state
        .record_event(target, "ready_comment_intended", &format!("#{number}"))
        .await?;
    if let Err(e) = shared.forge.comment(&repo_ref(target), number, &body).await {
        tracing::warn!(repo = %target.repo, "cannot comment on #{number}: {}", error_chain(&e));
    }
    Ok(())
}

/// A rewritten checkout, verified and committed.
struct Committed {
    checkout: Checkout,
    /// `None` when there was nothing to commit, or verify failed.
    commit: Option<git2::Oid>,
    verified: Option<Verified>,
}

/// The campaign's `verify` command and how it went.
struct Verified {
    command: String,
    outcome: crate::verify::Outcome,
}

impl Verified {
    /// `verify `cmd` failed (exit 3)` when it did not pass.
    fn failure(&self) -> Option<String> {
        (!self.outcome.passed)
            .then(|| format!("verify `{}` failed ({})", self.command, self.outcome.status))
    }
}

/// Write `changes` into the checkout and commit them on `branch`, then run
/// the campaign's `verify` on it; the commit is kept when verify passes (or
/// anyway, with `commit_on_failure`): one path for a new branch and for a
/// branch brought up to date. The commit is made before verify runs, so
/// that what the repository's code leaves in the tree (build byproducts,
/// or files it means to slip into the pull request) is never in it.
async fn write_verify_commit(
    campaign: &Campaign,
    checkout: Checkout,
    changes: Changes,
    branch: &str,
    message: String,
    commit_on_failure: bool,
) -> Result<Committed> {
    let identity = campaign.commit.author.clone();
    let verify = campaign.verify.clone();
    let sandbox = campaign.sandbox.clone();
    let branch = branch.to_string();
    blocking(move || {
        changes
            .write(&checkout.path)
            .map_err(|e| Failure::new(Step::Apply, error_chain(&e)))?;
        // The commit is the recipe's change and nothing else; the checkout
        // holds it too, for verify (and `write` refused any path that goes
        // through a symlink or out of the repository).
        let commit = checkout
            .commit_edits(&branch, tree_edits(&changes), &message, &identity)
            .map_err(|e| Failure::new(Step::Commit, error_chain(&e)))?;
        let verified = match verify {
            Some(v) => Some(Verified {
                outcome: crate::verify::run(&v, &checkout.path, &sandbox)
                    .map_err(|e| Failure::new(Step::Apply, format!("cannot run verify: {e}")))?,
                command: v.command,
            }),
            None => None,
        };
        if !commit_on_failure && verified.as_ref().is_some_and(|v| !v.outcome.passed) {
            // Not pushed: the local branch is replaced by the next run.
            return Ok(Committed {
                checkout,
                commit: None,
                verified,
            });
        }
        Ok(Committed {
            checkout,
            commit,
            verified,
        })
    })
    .await
}

/// [`prepare`], off the async threads.
async fn fetch_and_apply(
    shared: &Shared,
    campaign: &Campaign,
    recipe: &Arc<Recipe>,
    facts: Option<Facts>,
    target: &TargetRow,
    branch: &str,
) -> Result<Prepared> {
    // Refused before anything reaches the network: a repository the
    // campaign's forge cannot hold (and its token must not go to).
    if let Some(why) = campaign.repository_refusal(&target.url) {
        return Err(Failure::new(Step::Clone, why));
    }
    let workspace = shared.workspace.clone();
    let rewriter = shared.rewriter.clone();
    let recipe = recipe.clone();
    let (url, repo, branch, name) = (
        target.url.clone(),
        target.repo.clone(),
        branch.to_string(),
        campaign.name.clone(),
    );
    let sandbox = campaign.sandbox.clone();
    blocking(move || {
        prepare(
            &workspace, &rewriter, &recipe, facts, sandbox, &url, &repo, &branch, &name,
        )
    })
    .await
}

/// Fetch, look at the remote branch, reset to the default branch, apply.
#[allow(
    clippy::too_many_arguments,
    reason = "one call, each argument a plain value"
)]
fn prepare(
    workspace: &crate::git::Workspace,
    rewriter: &super::Rewriter,
    recipe: &Recipe,
    facts: Option<Facts>,
    sandbox: crate::sandbox::Policy,
    url: &str,
    repo: &str,
    branch: &str,
    campaign: &str,
) -> Result<Prepared> {
    let checkout = workspace
        .sync_branch(url, repo, branch)
        .map_err(|e| Failure::new(Step::Clone, error_chain(&e)))?;
    let remote = checkout
        .remote_branch(branch, campaign)
        .map_err(|e| Failure::new(Step::Clone, error_chain(&e)))?;
    checkout
        .reset_to_base()
        .map_err(|e| Failure::new(Step::Clone, error_chain(&e)))?;
    let opted_out =
        crate::optout::read(&checkout.path, campaign).map_err(|e| Failure::new(Step::Clone, e))?;
    // A repository that opted out is not rewritten at all (unless a branch
    // of ours is already there, which is carried on).
    if opted_out.is_some() && !matches!(remote, RemoteBranch::Ours(_) | RemoteBranch::Shared(_)) {
        return Ok(Prepared {
            checkout,
            remote,
            changes: Changes::default(),
            opted_out,
        });
    }
    let options = ApplyOptions {
        facts,
        sandbox,
        ..ApplyOptions::default()
    };
    let changes = rewriter
        .apply(recipe, &checkout.path, &options)
        .map_err(|e| Failure::new(Step::Apply, e))?;
    if let Some(rejected) = changes.rejected.first() {
        let more = changes.rejected.len() - 1;
        return Err(Failure::new(
            Step::Apply,
            format!(
                "rule {} would break {} at line {} ({}); the file was left untouched{}",
                rejected.rule_ids.join(", "),
                rejected.path.display(),
                rejected.line,
                rejected.message,
                if more > 0 {
                    format!(", and {more} more file(s) likewise")
                } else {
                    String::new()
                }
            ),
        ));
    }
    Ok(Prepared {
        checkout,
        remote,
        changes,
        opted_out,
    })
}

/// What every transition of a prepared target records: where it started.
fn base_of(checkout: &Checkout) -> Transition {
    Transition {
        default_branch: Some(checkout.default_branch.clone()),
        base_commit: Some(checkout.base.to_string()),
        ..Transition::default()
    }
}

fn context(campaign: &Campaign, recipe: &Recipe, target: &TargetRow) -> TemplateContext {
    TemplateContext {
        campaign: campaign.name.clone(),
        title: String::new(),
        recipe: RecipeInfo {
            id: recipe.id.clone(),
            title: recipe.title.clone(),
            description: recipe.description.clone(),
            why: recipe.why.clone(),
            link: recipe.link.clone().unwrap_or_default(),
            parameters: recipe.values.clone(),
        },
        repo: target.repo.clone(),
        component: target.component.clone(),
        owner: target.owner.clone(),
        tranche: target.tranche + 1,
        files: Vec::new(),
        steps: Vec::new(),
        matches: 0,
        verified: None,
        report_url: campaign.report_url.clone().unwrap_or_default(),
        verify_failure: None,
        contact: campaign.contact.clone().unwrap_or_default(),
    }
}

/// What `changes` did, for the templates: each file with its rules, and
/// each rule or edit of `recipe` that changed something here, in plain
/// words (a rule's `message` and `note` when it has them).
fn summarize(changes: &Changes, recipe: &Recipe) -> (Vec<FileSummary>, Vec<StepSummary>) {
    let path = |f: &crate::recipe::FileChange| f.path.to_string_lossy().replace('\\', "/");
    let files = changes
        .files
        .iter()
        .map(|f| FileSummary {
            path: path(f),
            rules: f
                .matches
                .iter()
                .map(|(rule, n)| format!("{rule} ×{n}"))
                .collect(),
            matches: f.matches.iter().map(|(_, n)| n).sum(),
        })
        .collect();
    let steps = template::steps(
        changes
            .files
            .iter()
            .map(|f| (path(f), f.matches.as_slice())),
        |id| {
            recipe
                .rules()
                .find(|r| r.id == id)
                .map(|r| (r.message.as_str(), r.note.as_str()))
        },
    );
    (files, steps)
}

/// Whom a new pull request is assigned to: the people the catalog names
/// as the owner (a User's login, or the logins of a Group's members, the
/// Group's team being asked to review), at most 10 (GitHub's limit). The
/// people CODEOWNERS names for some paths are asked to review, not assigned.
fn assignees(reviewers: &Reviewers) -> Vec<String> {
    reviewers.members.iter().take(10).cloned().collect()
}

/// The pull request's body: the campaign's template, else the built-in one.
fn render_body(campaign: &Campaign, ctx: &TemplateContext) -> Result<String> {
    let template = campaign
        .pull_request
        .body
        .as_deref()
        .unwrap_or(DEFAULT_BODY);
    let title = &campaign.pull_request.title;
    render(Part::Body { title }, template, ctx, Step::OpenPr)
}

/// Render `template` for `part`, its values escaped for where it lands.
fn render(part: Part<'_>, template: &str, ctx: &TemplateContext, step: Step) -> Result<String> {
    template::render_part(part, template, ctx)
        .map_err(|e| Failure::new(step, format!("{}: {e}", part.field())))
}

fn commit_message(campaign: &Campaign, recipe: &Recipe, ctx: &TemplateContext) -> Result<String> {
    let template = campaign.commit.message.as_deref().unwrap_or(DEFAULT_COMMIT);
    let message = render(Part::CommitMessage, template, ctx, Step::Commit)?;
    Ok(format!(
        "{}\n\n{CAMPAIGN_TRAILER}: {}\nFleetwright-Recipe: {}\n",
        message.trim_end(),
        campaign.name,
        recipe.id
    ))
}

/// A target enters a step: tell the progress display and the log.
fn enter(shared: &Shared, repo: &str, step: Step) {
    tracing::debug!(repo, step = step.as_str(), "step");
    shared.progress.step(repo, step);
}

/// Run blocking work (git, file system) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::new(Step::Clone, format!("a worker failed: {e}")))?
}
