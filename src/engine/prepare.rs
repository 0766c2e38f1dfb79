//! One target, from clone to pull request. Each step either moves the target
//! forward in the state or returns the [`Failure`] that names it.

use std::sync::Arc;

use super::{Failure, Shared, error_chain, record_pull_request, repo_ref};
use crate::campaign::Campaign;
use crate::campaign::template::{
    self, DEFAULT_BODY, DEFAULT_COMMIT, FileSummary, RecipeInfo, TemplateContext,
};
use crate::forge::NewPullRequest;
use crate::git::{CAMPAIGN_TRAILER, Checkout, RemoteBranch};
use crate::recipe::{ApplyOptions, Changes, Facts, Recipe};
use crate::state::{Step, TargetRow, TargetState, Transition};

type Result<T> = std::result::Result<T, Failure>;

/// A fresh checkout of the default branch with the recipe's changes computed.
struct Prepared {
    checkout: Checkout,
    remote: RemoteBranch,
    changes: Changes,
}

/// Bring `target` as far as it goes: to `pr_open` (with its pull request
/// number), or `no_change`.
pub(super) async fn run(
    shared: &Shared,
    campaign: &Campaign,
    recipe: &Arc<Recipe>,
    facts: Option<Facts>,
    target: &TargetRow,
) -> Result<(TargetState, Option<i64>)> {
    let mut ctx = context(campaign, recipe, target);
    let branch = template::render(&campaign.pull_request.branch, &ctx)
        .map_err(|e| Failure::new(Step::Clone, format!("pull_request.branch: {e}")))?;

    enter(shared, &target.repo, Step::Clone);
    let prepared = {
        let workspace = shared.workspace.clone();
        let recipe = recipe.clone();
        let (url, repo, branch, name) = (
            target.url.clone(),
            target.repo.clone(),
            branch.clone(),
            campaign.name.clone(),
        );
        blocking(move || prepare(&workspace, &recipe, facts, &url, &repo, &branch, &name)).await?
    };
    let Prepared {
        checkout,
        remote,
        changes,
    } = prepared;
    // A branch of ours on the remote was pushed when the recipe applied:
    // it is carried on (adopted) even if the preconditions changed since.
    if !matches!(remote, RemoteBranch::Ours(_))
        && let Some(reason) = &changes.not_applicable
    {
        let change = Transition {
            reason: Some(reason.clone()),
            ..base_of(&checkout)
        };
        shared
            .state
            .transition(target, TargetState::NotApplicable, &change)
            .await?;
        return Ok((TargetState::NotApplicable, None));
    }
    ctx.files = summarize(&changes);
    ctx.matches = changes.total_matches();
    let base = base_of(&checkout);

    let head = match remote {
        RemoteBranch::Foreign(_) if changes.is_empty() => {
            shared
                .state
                .transition(target, TargetState::NoChange, &base)
                .await?;
            return Ok((TargetState::NoChange, None));
        }
        RemoteBranch::Foreign(tip) => {
            return Err(Failure::new(
                Step::Push,
                format!(
                    "branch `{branch}` already exists on the remote (at {tip}) with commits fleetwright did not make; \
                     fleetwright never overwrites them: delete that branch or set `pull_request.branch` to another name"
                ),
            ));
        }
        RemoteBranch::Ours(tip) => {
            shared
                .state
                .record_event(target, "branch_adopted", &format!("{branch} at {tip}"))
                .await?;
            if target.state != TargetState::Pushed || target.head_commit.is_none() {
                let pushed = Transition {
                    head_commit: Some(tip.to_string()),
                    ..base.clone()
                };
                shared
                    .state
                    .transition(target, TargetState::Pushed, &pushed)
                    .await?;
            }
            tip.to_string()
        }
        RemoteBranch::Absent => {
            if changes.is_empty() {
                shared
                    .state
                    .transition(target, TargetState::NoChange, &base)
                    .await?;
                return Ok((TargetState::NoChange, None));
            }
            enter(shared, &target.repo, Step::Commit);
            ctx.title = render(
                &campaign.pull_request.title,
                &ctx,
                Step::Commit,
                "pull_request.title",
            )?;
            let message = commit_message(campaign, recipe, &ctx)?;
            let identity = campaign.commit.author.clone();
            let (checkout, commit) = {
                let branch = branch.clone();
                blocking(move || {
                    changes
                        .write(&checkout.path)
                        .map_err(|e| Failure::new(Step::Apply, error_chain(&e)))?;
                    let commit = checkout
                        .commit_all(&branch, &message, &identity)
                        .map_err(|e| Failure::new(Step::Commit, error_chain(&e)))?;
                    Ok((checkout, commit))
                })
                .await?
            };
            let Some(commit) = commit else {
                shared
                    .state
                    .transition(target, TargetState::NoChange, &base)
                    .await?;
                return Ok((TargetState::NoChange, None));
            };
            enter(shared, &target.repo, Step::Push);
            shared
                .state
                .record_event(target, "push_intended", &format!("{branch} at {commit}"))
                .await?;
            {
                let branch = branch.clone();
                blocking(move || {
                    checkout
                        .push(&branch)
                        .map_err(|e| Failure::new(Step::Push, error_chain(&e)))
                })
                .await?;
            }
            let pushed = Transition {
                head_commit: Some(commit.to_string()),
                ..base.clone()
            };
            shared
                .state
                .transition(target, TargetState::Pushed, &pushed)
                .await?;
            commit.to_string()
        }
    };

    enter(shared, &target.repo, Step::OpenPr);
    let default_branch = base.default_branch.clone().unwrap_or_default();
    shared
        .state
        .ensure_changeset(target, shared.forge.kind(), &branch, &default_branch)
        .await?;
    let repo = repo_ref(target);
    let forge_err = |e: crate::forge::ForgeError| Failure::new(Step::OpenPr, error_chain(&e));
    let pr = match shared
        .forge
        .find_pull_request(&repo, &branch)
        .await
        .map_err(forge_err)?
    {
        Some(pr) => {
            shared
                .state
                .record_event(target, "pull_request_adopted", &format!("#{}", pr.number))
                .await?;
            pr
        }
        None => {
            if ctx.title.is_empty() {
                ctx.title = render(
                    &campaign.pull_request.title,
                    &ctx,
                    Step::OpenPr,
                    "pull_request.title",
                )?;
            }
            let body_template = campaign
                .pull_request
                .body
                .as_deref()
                .unwrap_or(DEFAULT_BODY);
            let body = render(body_template, &ctx, Step::OpenPr, "pull_request.body")?;
            shared
                .state
                .record_event(target, "open_pr_intended", &format!("{branch} at {head}"))
                .await?;
            let new = NewPullRequest {
                title: ctx.title.clone(),
                body,
                head: branch.clone(),
                base: default_branch,
                head_commit: head,
                draft: campaign.pull_request.draft,
                labels: campaign.pull_request.labels.clone(),
                reviewers: Vec::new(),
                team_reviewers: Vec::new(),
                assignees: Vec::new(),
            };
            let pr = shared
                .forge
                .open_pull_request(&repo, &new)
                .await
                .map_err(forge_err)?;
            shared
                .state
                .record_event(
                    target,
                    "pull_request_opened",
                    &format!("#{} {}", pr.number, pr.url),
                )
                .await?;
            pr
        }
    };
    let state = record_pull_request(&shared.state, target, &pr).await?;
    Ok((state, Some(pr.number)))
}

/// Fetch, look at the remote branch, reset to the default branch, apply.
fn prepare(
    workspace: &crate::git::Workspace,
    recipe: &Recipe,
    facts: Option<Facts>,
    url: &str,
    repo: &str,
    branch: &str,
    campaign: &str,
) -> Result<Prepared> {
    let checkout = workspace
        .sync(url, repo)
        .map_err(|e| Failure::new(Step::Clone, error_chain(&e)))?;
    let remote = checkout
        .remote_branch(branch, campaign)
        .map_err(|e| Failure::new(Step::Clone, error_chain(&e)))?;
    checkout
        .reset_to_base()
        .map_err(|e| Failure::new(Step::Clone, error_chain(&e)))?;
    let options = ApplyOptions {
        facts,
        ..ApplyOptions::default()
    };
    let changes = recipe
        .apply_with(&checkout.path, &options)
        .map_err(|e| Failure::new(Step::Apply, error_chain(&e)))?;
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
        matches: 0,
    }
}

fn summarize(changes: &Changes) -> Vec<FileSummary> {
    changes
        .files
        .iter()
        .map(|f| FileSummary {
            path: f.path.to_string_lossy().replace('\\', "/"),
            rules: f
                .matches
                .iter()
                .map(|(rule, n)| format!("{rule} ×{n}"))
                .collect(),
            matches: f.matches.iter().map(|(_, n)| n).sum(),
        })
        .collect()
}

fn render(template: &str, ctx: &TemplateContext, step: Step, what: &str) -> Result<String> {
    template::render(template, ctx).map_err(|e| Failure::new(step, format!("{what}: {e}")))
}

fn commit_message(campaign: &Campaign, recipe: &Recipe, ctx: &TemplateContext) -> Result<String> {
    let template = campaign.commit.message.as_deref().unwrap_or(DEFAULT_COMMIT);
    let message = render(template, ctx, Step::Commit, "commit.message")?;
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
