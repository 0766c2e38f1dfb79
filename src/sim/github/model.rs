//! The simulator's world: repositories and their pull requests, reviews,
//! checks, statuses and files, as plain data a test can inspect.
//!
//! Repositories are found by owner and name ignoring case, as on GitHub.
//! A repository may be *backed* by a bare git repository (`link_git`):
//! then branches and file contents come from it, and a pull request's head
//! must exist there. Otherwise any head is accepted and its commit is a
//! stable made-up SHA (or one the test set with `set_branch`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A pull request as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPull {
    pub number: u64,
    pub id: u64,
    pub title: String,
    pub body: Option<String>,
    /// The head branch name (no `owner:` prefix).
    pub head: String,
    pub head_sha: String,
    /// The base branch name.
    pub base: String,
    pub base_sha: String,
    pub state: PullState,
    pub draft: bool,
    /// Whether GitHub would call it mergeable (the test decides).
    pub mergeable: bool,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
    pub reviews: Vec<SimReview>,
    pub comments: Vec<SimComment>,
    /// `merge`, `squash` or `rebase`, once merged through the API.
    pub merge_method: Option<String>,
    pub merge_commit_sha: Option<String>,
    /// Login of whoever opened it.
    pub author: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub closed_at: Option<SystemTime>,
    pub merged_at: Option<SystemTime>,
}

/// Open, closed without merging, or merged (GitHub's `state` is `closed`
/// for both of the last two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Closed,
    Merged,
}

/// An issue that is not a pull request (numbered in the same sequence as
/// the repository's pull requests, as on GitHub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimIssue {
    pub number: u64,
    pub id: u64,
    pub title: String,
    pub body: Option<String>,
    /// `open` or `closed`.
    pub open: bool,
    /// `completed`, `not_planned` or `reopened`, once closed or reopened.
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    /// Login of whoever opened it.
    pub author: String,
    /// Login of whoever closed it last.
    pub closed_by: Option<String>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub closed_at: Option<SystemTime>,
}

impl SimIssue {
    /// Closes it, as `who` would in the web UI.
    pub fn close(&mut self, who: &str, reason: &str, now: SystemTime) {
        self.open = false;
        self.state_reason = Some(reason.to_string());
        self.closed_by = Some(who.to_string());
        self.closed_at = Some(now);
        self.updated_at = now;
    }

    /// Reopens it.
    pub fn reopen(&mut self, now: SystemTime) {
        self.open = true;
        self.state_reason = Some("reopened".to_string());
        self.closed_at = None;
        self.updated_at = now;
    }
}

/// A submitted review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReview {
    pub id: u64,
    pub user: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`.
    pub state: String,
    pub body: String,
    pub commit_id: String,
    pub submitted_at: SystemTime,
}

/// An issue comment on a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimComment {
    pub id: u64,
    pub user: String,
    pub body: String,
    pub created_at: SystemTime,
}

/// A check run's state: `status` is `queued`, `in_progress` or
/// `completed`; `conclusion` (when completed) `success`, `failure`,
/// `neutral`, `cancelled`, `skipped`, `timed_out` or `action_required`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunState {
    pub status: String,
    pub conclusion: Option<String>,
}

impl CheckRunState {
    /// A completed run with `conclusion`.
    pub fn completed(conclusion: &str) -> Self {
        CheckRunState {
            status: "completed".into(),
            conclusion: Some(conclusion.into()),
        }
    }

    /// A run not finished yet (`queued` or `in_progress`).
    pub fn running(status: &str) -> Self {
        CheckRunState {
            status: status.into(),
            conclusion: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct CheckRun {
    pub id: u64,
    pub name: String,
    pub state: CheckRunState,
    pub started_at: SystemTime,
    pub completed_at: Option<SystemTime>,
}

#[derive(Debug, Clone)]
pub(super) struct CommitStatus {
    pub id: u64,
    pub context: String,
    /// `error`, `failure`, `pending` or `success`.
    pub state: String,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
}

#[derive(Debug, Clone)]
pub(super) struct Label {
    pub id: u64,
    pub color: String,
}

#[derive(Debug)]
pub(super) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    pub created_at: SystemTime,
    /// Branch name → commit, for repositories not backed by git.
    pub branches: BTreeMap<String, String>,
    pub git_dir: Option<PathBuf>,
    pub pulls: Vec<SimPull>,
    /// Issues that are not pull requests.
    pub issues: Vec<SimIssue>,
    pub files: BTreeMap<String, String>,
    /// Commit SHA → check runs, one per name.
    pub checks: BTreeMap<String, Vec<CheckRun>>,
    /// Commit SHA → statuses, one per context.
    pub statuses: BTreeMap<String, Vec<CommitStatus>>,
    pub labels: BTreeMap<String, Label>,
    /// `None`: anyone may be asked to review or be assigned.
    pub collaborators: Option<BTreeSet<String>>,
    pub teams: Option<BTreeSet<String>>,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn pull(&self, number: u64) -> Option<&SimPull> {
        self.pulls.iter().find(|pull| pull.number == number)
    }

    pub fn pull_mut(&mut self, number: u64) -> Option<&mut SimPull> {
        self.pulls.iter_mut().find(|pull| pull.number == number)
    }

    pub fn issue(&self, number: u64) -> Option<&SimIssue> {
        self.issues.iter().find(|issue| issue.number == number)
    }

    pub fn issue_mut(&mut self, number: u64) -> Option<&mut SimIssue> {
        self.issues.iter_mut().find(|issue| issue.number == number)
    }

    /// The next issue or pull request number: they share one sequence.
    pub fn next_number(&self) -> u64 {
        let pulls = self.pulls.iter().map(|p| p.number);
        let issues = self.issues.iter().map(|i| i.number);
        pulls.chain(issues).max().unwrap_or(0) + 1
    }

    /// The open pull request with this head branch, if any.
    pub fn open_pull_for_head(&self, head: &str) -> Option<&SimPull> {
        self.pulls
            .iter()
            .find(|pull| pull.state == PullState::Open && pull.head == head)
    }

    /// The commit a branch points at: from git when backed, else what the
    /// test set, else the head of an open pull request on it.
    pub fn branch_sha(&self, branch: &str) -> Option<String> {
        if let Some(dir) = &self.git_dir {
            return git_branch_sha(dir, branch);
        }
        self.branches.get(branch).cloned().or_else(|| {
            self.pulls
                .iter()
                .find(|pull| pull.head == branch)
                .map(|pull| pull.head_sha.clone())
        })
    }

    /// Whether branches are known exactly (backed by git), so a missing
    /// head or base is an error rather than something made up.
    pub fn strict(&self) -> bool {
        self.git_dir.is_some()
    }

    /// A branch, tag-less ref or SHA as the commits endpoints take it,
    /// resolved to a SHA when it names a branch.
    pub fn resolve_ref(&self, git_ref: &str) -> String {
        let name = git_ref.strip_prefix("refs/").unwrap_or(git_ref);
        let name = name.strip_prefix("heads/").unwrap_or(name);
        self.branch_sha(name).unwrap_or_else(|| git_ref.to_string())
    }

    /// Refreshes the head commits of open pull requests from git, so a
    /// push to a backed branch shows, as it does on GitHub.
    pub fn sync_heads(&mut self) {
        let Some(dir) = self.git_dir.clone() else {
            return;
        };
        for pull in self.pulls.iter_mut().filter(|p| p.state == PullState::Open) {
            if let Some(sha) = git_branch_sha(&dir, &pull.head) {
                pull.head_sha = sha;
            }
        }
    }

    /// A file's text at a ref (default branch when `None`): what the test
    /// set, else what git holds for a backed repository.
    pub fn file(&self, path: &str, git_ref: Option<&str>) -> Option<String> {
        if let Some(text) = self.files.get(path) {
            return Some(text.clone());
        }
        let dir = self.git_dir.as_ref()?;
        git_file(dir, git_ref.unwrap_or(&self.default_branch), path)
    }

    /// The repository's label `name`, created (with `id` and a stable
    /// colour) on first use, as GitHub creates labels a request names.
    pub fn ensure_label(&mut self, name: &str, id: u64) -> Label {
        let color = format!("{:06x}", stable_hash(name) & 0xff_ffff);
        self.labels
            .entry(name.to_string())
            .or_insert(Label { id, color })
            .clone()
    }
}

impl Repo {
    /// Sets the check run `name` on a commit, replacing the one before
    /// (GitHub's default `filter=latest` shows one run per name).
    pub fn set_check(
        &mut self,
        ids: &mut Ids,
        sha: String,
        name: &str,
        state: CheckRunState,
        now: SystemTime,
    ) {
        let completed_at = (state.status == "completed").then_some(now);
        let runs = self.checks.entry(sha).or_default();
        match runs.iter_mut().find(|run| run.name == name) {
            Some(run) => {
                run.state = state;
                run.completed_at = completed_at;
            }
            None => runs.push(CheckRun {
                id: ids.fresh(),
                name: name.to_string(),
                state,
                started_at: now,
                completed_at,
            }),
        }
    }

    /// Sets the commit status of `context`, replacing the one before.
    pub fn set_status(
        &mut self,
        ids: &mut Ids,
        sha: String,
        context: &str,
        state: &str,
        now: SystemTime,
    ) {
        let list = self.statuses.entry(sha).or_default();
        match list.iter_mut().find(|status| status.context == context) {
            Some(status) => {
                status.state = state.to_string();
                status.updated_at = now;
            }
            None => list.push(CommitStatus {
                id: ids.fresh(),
                context: context.to_string(),
                state: state.to_string(),
                created_at: now,
                updated_at: now,
            }),
        }
    }
}

impl SimPull {
    /// Records a submitted review; the reviewer is no longer requested,
    /// as on GitHub.
    pub fn add_review(&mut self, id: u64, user: &str, state: &str, now: SystemTime) {
        self.reviews.push(SimReview {
            id,
            user: user.to_string(),
            state: state.to_string(),
            body: String::new(),
            commit_id: self.head_sha.clone(),
            submitted_at: now,
        });
        self.requested_reviewers
            .retain(|login| !login.eq_ignore_ascii_case(user));
        self.updated_at = now;
    }

    /// Records a merge (through the API, or by the test).
    pub fn mark_merged(&mut self, method: Option<&str>, sha: String, now: SystemTime) {
        self.state = PullState::Merged;
        self.merge_method = method.map(str::to_string);
        self.merge_commit_sha = Some(sha);
        self.merged_at = Some(now);
        self.closed_at = Some(now);
        self.updated_at = now;
    }

    /// Closes without merging.
    pub fn close(&mut self, now: SystemTime) {
        self.state = PullState::Closed;
        self.closed_at = Some(now);
        self.updated_at = now;
    }
}

/// Every repository, by lower-cased `owner/name`, and the id counter all
/// objects share (ids are unique across kinds, as GitHub's happen to be).
#[derive(Debug, Default)]
pub(super) struct World {
    pub repos: BTreeMap<String, Repo>,
    pub ids: Ids,
}

/// The id counter, apart from the repositories so both can be borrowed.
#[derive(Debug, Default)]
pub(super) struct Ids(u64);

impl Ids {
    pub fn fresh(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

impl World {
    pub fn key(owner: &str, name: &str) -> String {
        format!("{owner}/{name}").to_lowercase()
    }
}

/// The commit of `refs/heads/<branch>` in a bare repository.
fn git_branch_sha(dir: &Path, branch: &str) -> Option<String> {
    let repo = git2::Repository::open_bare(dir).ok()?;
    let reference = repo.find_reference(&format!("refs/heads/{branch}")).ok()?;
    Some(reference.peel_to_commit().ok()?.id().to_string())
}

/// A file's text at a ref of a bare repository.
fn git_file(dir: &Path, git_ref: &str, path: &str) -> Option<String> {
    let repo = git2::Repository::open_bare(dir).ok()?;
    let object = repo.revparse_single(&format!("{git_ref}:{path}")).ok()?;
    let blob = object.as_blob()?;
    String::from_utf8(blob.content().to_vec()).ok()
}

/// A stable 64-bit hash (FNV-1a): same input, same value, on every run
/// and every platform (unlike `DefaultHasher`).
pub(super) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// [`fnv`] of a text.
pub(super) fn stable_hash(text: &str) -> u64 {
    fnv(text.as_bytes())
}

/// A made-up but stable 40-hex commit SHA for `seed`.
pub(super) fn fake_sha(seed: &str) -> String {
    let a = stable_hash(seed);
    let b = stable_hash(&format!("{seed}#2"));
    let c = stable_hash(&format!("{seed}#3"));
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_shas_are_stable_and_look_like_shas() {
        let sha = fake_sha("acme/api:main");
        assert_eq!(sha.len(), 40);
        assert!(sha.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(sha, fake_sha("acme/api:main"));
        assert_ne!(sha, fake_sha("acme/api:other"));
    }
}
