//! Forges: where repositories and pull requests live.
//!
//! The engine talks to one trait, [`Forge`]; each forge (the embedded
//! [`local`] forge, [`github`] and [`gitlab`]) lives behind it, so that a campaign file
//! switches forge with one line and nothing else in the engine changes.
//! A forge never decides anything about a campaign: it opens, finds, merges
//! and closes pull requests, and reports what it sees.

pub mod github;
pub mod gitlab;
pub mod local;
pub mod pacing;

use async_trait::async_trait;

use crate::git::{GitCredentials, GitError};
pub use crate::state::IssueState;
use crate::state::{PrState, StateError};

/// The label every tracking issue carries: with the marker in its body
/// (`engine::tracking::marker`), how a campaign finds its issue again when
/// the state does not say (a crash after it was opened, a lost state).
pub const TRACKING_LABEL: &str = "fleetwright/tracking";

/// The forges a campaign can name (`forge:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgeKind {
    /// Bare repositories on this machine, pull requests in the state.
    Local,
    /// GitHub.com or GitHub Enterprise Server.
    Github,
    /// GitLab.com or a self-managed GitLab.
    Gitlab,
}

impl ForgeKind {
    pub const ALL: [ForgeKind; 3] = [ForgeKind::Local, ForgeKind::Github, ForgeKind::Gitlab];

    /// The word in campaign files and the state.
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Local => "local",
            ForgeKind::Github => "github",
            ForgeKind::Gitlab => "gitlab",
        }
    }
}

impl std::fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ForgeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ForgeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("forge `{s}` is unknown: `forge` is `local`, `github` or `gitlab`")
            })
    }
}

/// A repository on a forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// Display name, e.g. `acme/billing-api`.
    pub name: String,
    /// What git clones and pushes to.
    pub url: String,
}

/// A pull request to open.
#[derive(Debug, Clone)]
pub struct NewPullRequest {
    pub title: String,
    pub body: String,
    /// The branch holding the change.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    /// The commit the head branch must point at.
    pub head_commit: String,
    pub draft: bool,
    pub labels: Vec<String>,
    /// People asked to review (logins).
    pub reviewers: Vec<String>,
    /// Teams asked to review (slugs, without the organization).
    pub team_reviewers: Vec<String>,
    /// People the pull request is assigned to (logins).
    pub assignees: Vec<String>,
}

/// A pull request as the forge reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: i64,
    pub url: String,
    pub state: PrState,
    pub draft: bool,
    pub head: String,
    pub base: String,
    /// Combined CI state (`none` when the forge runs no CI).
    pub ci_state: Option<crate::state::CiState>,
    /// Why it was closed, when a closing comment said so.
    pub close_comment: Option<String>,
    /// `approved`, `changes_requested` or `pending`; `None` when the forge
    /// was not asked (only a sync reads reviews).
    pub review_state: Option<crate::state::ReviewState>,
    /// The commit the head branch points at, when the forge says.
    pub head_sha: Option<String>,
    /// When it was merged (RFC 3339), when the forge says.
    pub merged_at: Option<String>,
    /// When it was closed or merged (RFC 3339), when the forge says.
    pub closed_at: Option<String>,
}

/// An issue to open (a campaign's tracking issue).
#[derive(Debug, Clone)]
pub struct NewIssue {
    pub title: String,
    pub body: String,
    /// Created on the forge when they do not exist.
    pub labels: Vec<String>,
}

/// An issue as the forge reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub number: i64,
    pub url: String,
    pub state: IssueState,
}

/// Of the issues holding a campaign's marker, the one it tracks: the
/// oldest open one, else (a person closed it) the newest closed one.
pub fn pick_tracking_issue(found: impl IntoIterator<Item = Issue>) -> Option<Issue> {
    found.into_iter().min_by_key(|i| match i.state {
        IssueState::Open => (0, i.number),
        IssueState::Closed => (1, -i.number),
    })
}

/// A text within `limit` characters, or the typed refusal (nothing is
/// sent): the one check of every forge's body limit.
pub fn check_length(
    what: &'static str,
    forge: &'static str,
    text: &str,
    limit: usize,
) -> Result<(), ForgeError> {
    let chars = text.chars().count();
    if chars > limit {
        return Err(ForgeError::TooLong {
            what,
            forge,
            chars,
            limit,
        });
    }
    Ok(())
}

/// The origin of a forge URL a token may be offered to, checked: an
/// http(s) URL, no credentials in it (`token_key` says where the token
/// comes from), https or plain http on loopback. `what` names the setting
/// in messages (`github.api_url`).
pub fn token_origin(url: &str, what: &str, token_key: &str) -> Result<crate::urls::Origin, String> {
    let origin = crate::urls::Origin::parse(url).ok_or_else(|| {
        format!(
            "{what} `{}` is not an http(s) URL",
            crate::urls::redact(url)
        )
    })?;
    if crate::urls::has_userinfo(url) {
        return Err(format!(
            "{what} `{}`: credentials do not belong in a URL (the token comes from {token_key})",
            crate::urls::redact(url)
        ));
    }
    if !origin.may_carry_token() {
        return Err(format!(
            "{what} `{url}` is plain http to another machine: a token goes only over https"
        ));
    }
    Ok(origin)
}

/// A forge failure.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    /// The forge said no (GitHub's status and message). The message never
    /// holds a token.
    #[error("{message}")]
    Forge {
        status: Option<u16>,
        message: String,
    },
    /// A text longer than the forge takes, refused before it is sent.
    #[error("{what} is {chars} characters long; {forge} takes at most {limit}")]
    TooLong {
        what: &'static str,
        forge: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// What every forge does for the engine.
#[async_trait]
pub trait Forge: Send + Sync {
    /// The name a campaign file uses for this forge (`local`, `github`).
    fn kind(&self) -> &'static str;

    /// The newest pull request whose head is `head`, in any state: a re-run
    /// adopts it instead of opening a second one.
    async fn find_pull_request(
        &self,
        repo: &RepoRef,
        head: &str,
    ) -> Result<Option<PullRequest>, ForgeError>;

    /// Open a pull request.
    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError>;

    /// A pull request by number.
    async fn pull_request(&self, repo: &RepoRef, number: i64) -> Result<PullRequest, ForgeError>;

    /// Merge a pull request into its base; with `head`, only while its
    /// branch is still at that commit (what was checked is what is merged:
    /// a push since makes the merge refused).
    async fn merge_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        head: Option<&str>,
    ) -> Result<PullRequest, ForgeError>;

    /// Close a pull request without merging, with an optional comment.
    async fn close_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        comment: Option<&str>,
    ) -> Result<PullRequest, ForgeError>;

    /// A full refresh of a pull request: state, draft, CI and reviews. A
    /// forge that has nothing more to say than [`Forge::pull_request`]
    /// keeps this default.
    async fn sync_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
    ) -> Result<PullRequest, ForgeError> {
        self.pull_request(repo, number).await
    }

    /// Put `label` on a pull request (`on`), or take it off; taking off a
    /// label it does not carry is no error.
    async fn set_label(
        &self,
        repo: &RepoRef,
        number: i64,
        label: &str,
        on: bool,
    ) -> Result<(), ForgeError>;

    /// Post a comment on a pull request.
    async fn comment(&self, repo: &RepoRef, number: i64, body: &str) -> Result<(), ForgeError>;

    /// Replace the title and body of a pull request (its text rendered
    /// again, when the recipe changed).
    async fn update_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError>;

    /// The tracking issue of `repo` whose body holds `marker`, in any
    /// state: among the issues carrying [`TRACKING_LABEL`], the one
    /// [`pick_tracking_issue`] picks (pull requests are never issues here).
    async fn find_tracking_issue(
        &self,
        repo: &RepoRef,
        marker: &str,
    ) -> Result<Option<Issue>, ForgeError>;

    /// An issue by number.
    async fn issue(&self, repo: &RepoRef, number: i64) -> Result<Issue, ForgeError>;

    /// Open an issue. Not retried after a failure that may have opened it
    /// (a lost answer): the caller looks for it first.
    async fn open_issue(&self, repo: &RepoRef, issue: &NewIssue) -> Result<Issue, ForgeError>;

    /// Replace an issue's title and body; its state, labels and comments
    /// stay as they are (a closed issue is not reopened).
    async fn update_issue(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<Issue, ForgeError>;

    /// The longest issue body the forge takes, in characters; `None`: no
    /// limit. A longer one is refused before anything is sent.
    fn issue_body_limit(&self) -> Option<usize> {
        None
    }

    /// The token git uses over HTTPS for this forge's repositories, with
    /// the origins it may be offered to; `None` when git needs none (local
    /// repositories). Fetch it just before use: some tokens expire within
    /// the hour.
    async fn git_credentials(&self) -> Result<Option<GitCredentials>, ForgeError> {
        Ok(None)
    }

    /// What the forge is waiting for right now, for the progress line, e.g.
    /// `waiting until 10:42:07: secondary rate limit (retry-after 60 s)`;
    /// `None` when it is not waiting.
    fn pacing_status(&self) -> Option<String> {
        None
    }
}
