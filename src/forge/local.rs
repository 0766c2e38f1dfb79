//! The embedded local forge: bare repositories on this machine, with pull
//! requests recorded in the state. It serves `demo`, dry runs and tests, and
//! lets a person act as the app team (`fleetwright local merge|close`).
//!
//! A merge is real: the head branch is merged into the base branch of the
//! bare repository with a merge commit, as a forge's merge button does.
//!
//! It keeps no conversation: reviewers and assignees of a new pull request
//! are not stored, and a comment is checked against an existing pull
//! request and written to the log only.
//!
//! Issues (a campaign's tracking issue) are rows of the state too
//! (`local_issues`), numbered per repository apart from its pull requests,
//! at `local://<repo>/issues/<n>`.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{
    Forge, ForgeError, Issue, NewIssue, NewPullRequest, PullRequest, RepoRef, TRACKING_LABEL,
};
use crate::git::{self, Identity};
use crate::state::{
    LocalIssue, LocalPrChange, LocalPullRequest, NewLocalPullRequest, PrState, State,
};

/// The local forge, backed by the state database.
#[derive(Debug, Clone)]
pub struct LocalForge {
    state: State,
}

impl LocalForge {
    pub fn new(state: State) -> Self {
        LocalForge { state }
    }

    fn bare_path(repo: &RepoRef) -> Result<PathBuf, ForgeError> {
        git::local_path(&repo.url).ok_or_else(|| {
            ForgeError::Refused(format!(
                "the local forge works on repositories on this machine (a path or a file:// URL); `{}` is not one",
                repo.url
            ))
        })
    }

    fn to_pull_request(repo: &RepoRef, pr: LocalPullRequest) -> PullRequest {
        PullRequest {
            number: pr.number,
            url: pull_request_url(&repo.name, pr.number),
            state: pr.state,
            draft: pr.draft,
            head: pr.head,
            base: pr.base,
            ci_state: Some(pr.ci_state),
            close_comment: pr.close_comment,
            // Nobody reviews on the local forge, and it keeps no times.
            review_state: None,
            head_sha: Some(pr.head_commit),
            merged_at: None,
            closed_at: None,
        }
    }

    async fn get_open(&self, repo: &RepoRef, number: i64) -> Result<LocalPullRequest, ForgeError> {
        let pr = self.get(repo, number).await?;
        if pr.state != PrState::Open {
            return Err(ForgeError::Refused(format!(
                "{} #{number} is {}, not open",
                repo.name,
                pr.state.as_str()
            )));
        }
        Ok(pr)
    }

    async fn get(&self, repo: &RepoRef, number: i64) -> Result<LocalPullRequest, ForgeError> {
        self.state
            .local_pr(&repo.url, number)
            .await?
            .ok_or_else(|| {
                ForgeError::NotFound(format!("{} has no pull request #{number}", repo.name))
            })
    }
}

impl LocalForge {
    fn to_issue(repo: &RepoRef, issue: &LocalIssue) -> Issue {
        Issue {
            number: issue.number,
            url: issue_url(&repo.name, issue.number),
            state: issue.state,
        }
    }

    async fn get_issue(&self, repo: &RepoRef, number: i64) -> Result<LocalIssue, ForgeError> {
        self.state
            .local_issue(&repo.url, number)
            .await?
            .ok_or_else(|| ForgeError::NotFound(format!("{} has no issue #{number}", repo.name)))
    }
}

/// The address the local forge gives an issue.
pub fn issue_url(repo_name: &str, number: i64) -> String {
    format!("local://{repo_name}/issues/{number}")
}

/// The address the local forge gives a pull request.
pub fn pull_request_url(repo_name: &str, number: i64) -> String {
    format!("local://{repo_name}/pull/{number}")
}

#[async_trait]
impl Forge for LocalForge {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn find_pull_request(
        &self,
        repo: &RepoRef,
        head: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        Ok(self
            .state
            .local_pr_for_head(&repo.url, head)
            .await?
            .map(|pr| Self::to_pull_request(repo, pr)))
    }

    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        let bare = Self::bare_path(repo)?;
        // One open of the repository for both looks.
        let local = git::LocalRepo::open(&bare)?;
        let head = local.branch_head(&pr.head)?;
        if head.map(|h| h.to_string()) != Some(pr.head_commit.clone()) {
            return Err(ForgeError::Refused(format!(
                "branch {} of {} does not point at {} (it points at {}); push it first",
                pr.head,
                repo.name,
                pr.head_commit,
                head.map_or("nothing".to_string(), |h| h.to_string())
            )));
        }
        if let Some(head) = head
            && local.contains(&pr.base, head)?
        {
            return Err(ForgeError::Refused(format!(
                "no commits between {} and {} in {}: the change is already on {}",
                pr.base, pr.head, repo.name, pr.base
            )));
        }
        let row = self
            .state
            .insert_local_pr(&NewLocalPullRequest {
                repo_url: repo.url.clone(),
                title: pr.title.clone(),
                body: pr.body.clone(),
                head: pr.head.clone(),
                base: pr.base.clone(),
                head_commit: pr.head_commit.clone(),
                draft: pr.draft,
                labels: pr.labels.clone(),
            })
            .await?;
        Ok(Self::to_pull_request(repo, row))
    }

    async fn pull_request(&self, repo: &RepoRef, number: i64) -> Result<PullRequest, ForgeError> {
        Ok(Self::to_pull_request(repo, self.get(repo, number).await?))
    }

    async fn merge_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        expected: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        let pr = self.get_open(repo, number).await?;
        let bare = Self::bare_path(repo)?;
        let message = format!(
            "Merge pull request #{number} from {}\n\n{}",
            pr.head, pr.title
        );
        let head = pr.head.clone();
        let base = pr.base.clone();
        // A merge that happened before a crash is not made twice.
        let head_commit = git2::Oid::from_str(&pr.head_commit)
            .map_err(|e| ForgeError::Refused(format!("bad head commit {}: {e}", pr.head_commit)))?;
        let expected = expected.map(str::to_string);
        let merge = tokio::task::spawn_blocking(move || {
            let local = git::LocalRepo::open(&bare)?;
            if local.contains(&base, head_commit)? {
                return local
                    .branch_head(&base)
                    .map(|tip| tip.unwrap_or(head_commit));
            }
            if let Some(expected) = expected {
                let now = local.branch_head(&head)?.map(|h| h.to_string());
                if now.as_deref() != Some(expected.as_str()) {
                    return Err(git::GitError::Refused(format!(
                        "branch {head} moved since it was checked (to {}, not {expected}): not merged",
                        now.as_deref().unwrap_or("nothing")
                    )));
                }
            }
            drop(local);
            git::merge_in_bare(&bare, &head, &base, &message, &Identity::default())
        })
        .await
        .map_err(|e| ForgeError::Refused(format!("the merge task failed: {e}")))??;
        self.state
            .set_local_pr_state(
                &repo.url,
                number,
                PrState::Merged,
                Some(&merge.to_string()),
                None,
            )
            .await?;
        self.pull_request(repo, number).await
    }

    async fn close_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        comment: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        self.get_open(repo, number).await?;
        self.state
            .set_local_pr_state(&repo.url, number, PrState::Closed, None, comment)
            .await?;
        self.pull_request(repo, number).await
    }

    async fn set_label(
        &self,
        repo: &RepoRef,
        number: i64,
        label: &str,
        on: bool,
    ) -> Result<(), ForgeError> {
        let pr = self.get(repo, number).await?;
        let mut labels = pr.labels;
        labels.retain(|l| l != label);
        if on {
            labels.push(label.to_string());
        }
        self.state
            .update_local_pr(&repo.url, number, LocalPrChange::Labels(&labels))
            .await?;
        Ok(())
    }

    /// A pull request as [`Forge::pull_request`] tells it, with the head its
    /// branch has now in the bare repository (a person may have pushed).
    async fn sync_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
    ) -> Result<PullRequest, ForgeError> {
        let mut pr = self.pull_request(repo, number).await?;
        if pr.state == PrState::Open {
            let bare = Self::bare_path(repo)?;
            let head = pr.head.clone();
            let now = tokio::task::spawn_blocking(move || {
                git::LocalRepo::open(&bare)?.branch_head(&head)
            })
            .await
            .map_err(|e| ForgeError::Refused(format!("a worker failed: {e}")))??;
            if let Some(now) = now {
                pr.head_sha = Some(now.to_string());
            }
        }
        Ok(pr)
    }

    async fn update_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        self.get(repo, number).await?;
        self.state
            .update_local_pr(&repo.url, number, LocalPrChange::Text { title, body })
            .await?;
        Ok(())
    }

    async fn find_tracking_issue(
        &self,
        repo: &RepoRef,
        marker: &str,
    ) -> Result<Option<Issue>, ForgeError> {
        let issues = self.state.local_issues(&repo.url).await?;
        Ok(super::pick_tracking_issue(
            issues
                .iter()
                .filter(|i| i.labels.iter().any(|l| l == TRACKING_LABEL) && i.body.contains(marker))
                .map(|i| Self::to_issue(repo, i)),
        ))
    }

    async fn issue(&self, repo: &RepoRef, number: i64) -> Result<Issue, ForgeError> {
        Ok(Self::to_issue(repo, &self.get_issue(repo, number).await?))
    }

    /// The repository must be a git repository on this machine.
    async fn open_issue(&self, repo: &RepoRef, issue: &NewIssue) -> Result<Issue, ForgeError> {
        let bare = Self::bare_path(repo)?;
        tokio::task::spawn_blocking(move || git::LocalRepo::open(&bare).map(drop))
            .await
            .map_err(|e| ForgeError::Refused(format!("a worker failed: {e}")))??;
        let row = self
            .state
            .insert_local_issue(&repo.url, &issue.title, &issue.body, &issue.labels)
            .await?;
        Ok(Self::to_issue(repo, &row))
    }

    async fn update_issue(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<Issue, ForgeError> {
        self.get_issue(repo, number).await?;
        self.state
            .update_local_issue(&repo.url, number, title, body)
            .await?;
        self.issue(repo, number).await
    }

    /// The local forge has no comment thread: the pull request must exist,
    /// and the comment goes to the log.
    async fn comment(&self, repo: &RepoRef, number: i64, body: &str) -> Result<(), ForgeError> {
        self.get(repo, number).await?;
        tracing::info!(repo = %repo.name, number, comment = body, "local forge comment");
        Ok(())
    }
}
