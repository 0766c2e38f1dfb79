//! GitHub and GitHub Enterprise Server, through octocrab, paced under
//! GitHub's limits.
//!
//! [`GitHubForge`] implements [`Forge`] on the REST API. Every request goes
//! through one [`Pacer`](pacing::Pacer) (writes one at a time within the
//! budget, rate-limit answers waited out, transient failures retried);
//! `api` sends them with octocrab and maps answers to [`ForgeError`]s;
//! `model` reads GitHub's JSON and draws the review and CI verdicts;
//! `auth` signs in with a token or as a GitHub App.
//!
//! Repositories are named `owner/repo` ([`RepoRef::name`]). Reads of a
//! pull request, its reviews and its CI are conditional (`If-None-Match`
//! with the last `ETag` of each path), so syncing an unchanged pull request
//! costs no rate limit.

pub(crate) mod api;
mod auth;
mod model;
pub use super::pacing;

use std::sync::Arc;

use async_trait::async_trait;
use http::Method;
use octocrab::Octocrab;
use serde_json::{Value, json};

pub use auth::{GIT_TOKEN_MARGIN, GitHubAuth};
pub use pacing::PacingConfig;

use self::api::{Api, BaseUrl, Redactor, query_value};
use self::auth::Clients;
use self::model::{GhIssue, GhPull};
use super::{
    Forge, ForgeError, Issue, NewIssue, NewPullRequest, PullRequest, RepoRef, TRACKING_LABEL,
};
use crate::clock::{Clock, SystemClock};
use crate::git::GitCredentials;
use crate::state::PrState;
use crate::urls::Origin;

/// GitHub's public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The longest issue (or pull request) body GitHub takes, in characters.
pub const BODY_LIMIT: usize = 65_536;

/// The merge methods GitHub knows.
pub const MERGE_METHODS: [&str; 3] = ["merge", "squash", "rebase"];

/// Where and how to reach GitHub.
#[derive(Debug, Clone)]
pub struct GitHubConfig {
    /// `https://api.github.com`, or `https://HOST/api/v3` for GitHub
    /// Enterprise Server.
    pub api_url: String,
    pub auth: GitHubAuth,
    pub pacing: PacingConfig,
    /// The time the pacer waits on (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// `merge`, `squash` or `rebase`.
    pub merge_method: String,
    /// Where git clones and pushes this GitHub's repositories, when it is
    /// not the host of `api_url` (see [`git_origins`]).
    pub git_url: Option<String>,
    /// The proxy settings the API client follows; `None`: the
    /// environment's (`https_proxy`, `no_proxy`).
    pub proxies: Option<crate::proxy::ProxyEnv>,
    /// The write budget this process shares with the other processes of
    /// its state (`None`: its own only).
    pub shared_budget: Option<Arc<dyn pacing::SharedBudget>>,
}

impl GitHubConfig {
    /// github.com with default pacing, the system clock and merge commits.
    pub fn new(auth: GitHubAuth) -> Self {
        GitHubConfig {
            api_url: DEFAULT_API_URL.to_string(),
            auth,
            pacing: PacingConfig::default(),
            clock: Arc::new(SystemClock),
            merge_method: "merge".to_string(),
            git_url: None,
            proxies: None,
            shared_budget: None,
        }
    }
}

/// The origins git reaches a GitHub's repositories at, the only ones its
/// token is offered to: `git_url`'s when given; else `https://github.com`
/// for `https://api.github.com`, and the API's own host for GitHub
/// Enterprise Server (`https://HOST/api/v3` serves git at `https://HOST`).
/// Each must be https, or plain http on this machine's loopback.
pub fn git_origins(api_url: &str, git_url: Option<&str>) -> Result<Vec<Origin>, String> {
    let (url, what) = match git_url {
        Some(url) => (url, "github.git_url"),
        None => (api_url, "github.api_url"),
    };
    let mut origin = super::token_origin(url, what, "github.token_env")?;
    if git_url.is_none() && origin.host == "api.github.com" {
        origin.host = "github.com".to_string();
    }
    Ok(vec![origin])
}

/// What is wrong with `name` as a GitHub repository name (`owner/repo`,
/// each part letters, digits, `-`, `_`, `.`, and neither `.` nor `..`);
/// `None` when it is one. The name goes into API paths.
pub fn repository_name_problem(name: &str) -> Option<String> {
    let Some((owner, repo)) = name.split_once('/') else {
        return Some("is not owner/name".to_string());
    };
    let fine = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (!fine(owner) || !fine(repo)).then(|| {
        "is not a GitHub repository name (owner/name: letters, digits, `-`, `_` and `.`)"
            .to_string()
    })
}

/// A body within [`BODY_LIMIT`], or the typed refusal (nothing is sent).
fn check_body(body: &str) -> Result<(), ForgeError> {
    super::check_length("the issue's body", "GitHub", body, BODY_LIMIT)
}

/// The GitHub forge.
#[derive(Debug)]
pub struct GitHubForge {
    api: Api,
    clients: Clients,
    merge_method: String,
    /// Where git may offer the token (see [`git_origins`]).
    git_origins: Vec<Origin>,
}

/// A repository's owner and name, checked.
struct Repo<'a> {
    owner: &'a str,
    name: &'a str,
}

impl Repo<'_> {
    /// `owner/repo`, for messages.
    fn full(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The API path of the repository, `/repos/owner/repo`.
    fn path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }
}

impl GitHubForge {
    /// A forge for one GitHub. Must be called inside a tokio runtime.
    pub fn new(config: GitHubConfig) -> Result<Self, ForgeError> {
        if !MERGE_METHODS.contains(&config.merge_method.as_str()) {
            return Err(ForgeError::Refused(format!(
                "merge method `{}`: GitHub knows {}",
                config.merge_method,
                MERGE_METHODS.join(", ")
            )));
        }
        let base = BaseUrl::parse(&config.api_url)?;
        let git_origins =
            git_origins(&config.api_url, config.git_url.as_deref()).map_err(ForgeError::Refused)?;
        let redactor = Redactor;
        let proxies = config
            .proxies
            .unwrap_or_else(crate::proxy::ProxyEnv::from_env);
        let clients = Clients::new(&base, &config.auth, &redactor, &proxies)?;
        let mut pacer = pacing::Pacer::new(config.pacing, config.clock);
        if let Some(budget) = config.shared_budget {
            pacer = pacer.share_budget(budget);
        }
        let pacer = Arc::new(pacer);
        Ok(GitHubForge {
            api: Api::new(base, pacer, redactor),
            clients,
            merge_method: config.merge_method,
            git_origins,
        })
    }

    /// Keep the answers of conditional GETs in `state` (the
    /// `forge_answers` table, under this forge's API URL) instead of this
    /// process's memory: the next `sync` or `run` sends their ETags, and an
    /// unchanged pull request costs nothing against the rate limit.
    pub fn keep_answers_in(mut self, state: crate::state::State) -> Self {
        self.api.keep_answers_in(state);
        self
    }

    /// Check `owner/repo`: the name goes into API paths.
    fn repo(repo: &RepoRef) -> Result<Repo<'_>, ForgeError> {
        let bad = || {
            ForgeError::Refused(format!(
                "`{}` is not a GitHub repository name (owner/repo)",
                repo.name
            ))
        };
        if repository_name_problem(&repo.name).is_some() {
            return Err(bad());
        }
        let (owner, name) = repo.name.split_once('/').ok_or_else(bad)?;
        Ok(Repo { owner, name })
    }

    /// The checked name and the client that acts on it.
    async fn client<'r>(&self, repo: &'r RepoRef) -> Result<(Repo<'r>, Arc<Octocrab>), ForgeError> {
        let r = Self::repo(repo)?;
        let crab = self.clients.for_repo(&self.api, r.owner, r.name).await?;
        Ok((r, crab))
    }

    /// A pull request from GitHub's JSON.
    fn pull(&self, value: Value) -> Result<GhPull, ForgeError> {
        GhPull::from_value(value).map_err(|e| self.api.forge_error(None, &e))
    }

    /// An issue from GitHub's JSON.
    fn gh_issue(&self, value: Value) -> Result<GhIssue, ForgeError> {
        GhIssue::from_value(value).map_err(|e| self.api.forge_error(None, &e))
    }

    fn issue_of(&self, value: Value) -> Result<Issue, ForgeError> {
        self.gh_issue(value)?
            .to_issue()
            .map_err(|e| self.api.forge_error(None, &e))
    }

    fn pull_request_of(&self, pull: &GhPull) -> Result<PullRequest, ForgeError> {
        pull.to_pull_request()
            .map_err(|e| self.api.forge_error(None, &e))
    }

    /// One pull request (a conditional GET).
    async fn get(&self, crab: &Octocrab, r: &Repo<'_>, number: i64) -> Result<GhPull, ForgeError> {
        let what = format!("reading pull request #{number} of {}", r.full());
        let path = format!("{}/pulls/{number}", r.path());
        let response = self
            .api
            .get_cached(crab, &path, model::PULL_FIELDS, &what)
            .await?;
        self.pull(self.api.json(&response.body, &what)?)
    }

    /// A write that must succeed.
    async fn write(
        &self,
        crab: &Octocrab,
        method: Method,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<Value, ForgeError> {
        let response = self.api.call(crab, method, path, Some(body), what).await?;
        if response.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        self.api.json(&response.body, what)
    }

    /// Create the pull request, or adopt the one GitHub says already exists
    /// for the head branch (a run that died after creating it).
    async fn create(
        &self,
        crab: &Octocrab,
        repo: &RepoRef,
        r: &Repo<'_>,
        new: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        let what = format!("opening a pull request from {} in {}", new.head, r.full());
        let body = json!({
            "title": new.title,
            "body": new.body,
            "head": new.head,
            "base": new.base,
            "draft": new.draft,
        });
        let path = format!("{}/pulls", r.path());
        let response = self
            .api
            .send(
                crab,
                Method::POST,
                &path,
                Some(&body),
                &http::HeaderMap::new(),
            )
            .await?;
        if response.status == 422 && already_exists(&response.body) {
            return self.find_pull_request(repo, &new.head).await?.ok_or_else(|| {
                self.api.forge_error(
                    Some(422),
                    &format!("{what}: GitHub says one already exists, but none was found for the branch"),
                )
            });
        }
        let response = self.api.success(response, &what)?;
        let pull = self.pull(self.api.json(&response.body, &what)?)?;
        self.pull_request_of(&pull)
    }

    /// Labels, reviewers and assignees, each a separate write. GitHub
    /// refuses unknown people with a 422; that leaves the pull request
    /// without them (logged) rather than failing a pull request that
    /// exists.
    async fn decorate(
        &self,
        crab: &Octocrab,
        r: &Repo<'_>,
        number: i64,
        new: &NewPullRequest,
    ) -> Result<(), ForgeError> {
        let issue = format!("{}/issues/{number}", r.path());
        if !new.labels.is_empty() {
            let what = format!("labelling pull request #{number} of {}", r.full());
            let body = json!({ "labels": new.labels });
            self.write(crab, Method::POST, &format!("{issue}/labels"), &body, &what)
                .await?;
        }
        if !new.reviewers.is_empty() || !new.team_reviewers.is_empty() {
            let what = format!(
                "requesting reviews of pull request #{number} of {}",
                r.full()
            );
            let body = json!({ "reviewers": new.reviewers, "team_reviewers": new.team_reviewers });
            let path = format!("{}/pulls/{number}/requested_reviewers", r.path());
            self.write_people(crab, &path, &body, &what).await?;
        }
        if !new.assignees.is_empty() {
            let what = format!("assigning pull request #{number} of {}", r.full());
            let body = json!({ "assignees": new.assignees });
            self.write_people(crab, &format!("{issue}/assignees"), &body, &what)
                .await?;
        }
        Ok(())
    }

    /// A write naming people: a 422 (no such user or team, or not a
    /// collaborator) is logged and passed over.
    async fn write_people(
        &self,
        crab: &Octocrab,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<(), ForgeError> {
        let response = self
            .api
            .send(
                crab,
                Method::POST,
                path,
                Some(body),
                &http::HeaderMap::new(),
            )
            .await?;
        if response.status == 422 {
            let error = self.api.status_error(&response, what);
            tracing::warn!("{error}");
            return Ok(());
        }
        self.api.success(response, what).map(|_| ())
    }

    /// The review state of a pull request.
    async fn reviews(
        &self,
        crab: &Octocrab,
        r: &Repo<'_>,
        number: i64,
    ) -> Result<crate::state::ReviewState, ForgeError> {
        let what = format!(
            "reading the reviews of pull request #{number} of {}",
            r.full()
        );
        let path = format!("{}/pulls/{number}/reviews?per_page=100", r.path());
        let reviews = self
            .api
            .get_all(crab, &path, None, model::REVIEW_FIELDS, &what)
            .await?;
        Ok(model::review_state(&reviews))
    }

    /// The combined CI state of a commit: check runs and commit statuses.
    async fn ci(
        &self,
        crab: &Octocrab,
        r: &Repo<'_>,
        sha: &str,
    ) -> Result<crate::state::CiState, ForgeError> {
        let what = format!("reading the CI of {sha} in {}", r.full());
        let commit = format!("{}/commits/{sha}", r.path());
        let runs = self
            .api
            .get_all(
                crab,
                &format!("{commit}/check-runs?per_page=100"),
                Some("check_runs"),
                model::CHECK_RUNS_FIELDS,
                &what,
            )
            .await?;
        let mut signals = model::check_runs(&runs);
        let status = self
            .api
            .get_cached(
                crab,
                &format!("{commit}/status?per_page=100"),
                model::STATUS_FIELDS,
                &what,
            )
            .await?;
        signals.extend(model::combined_status(&self.api.json(&status.body, &what)?));
        Ok(model::ci_state(&signals))
    }
}

/// GitHub's 422 for a second pull request from the same head.
fn already_exists(body: &str) -> bool {
    api::github_message(body)
        .to_ascii_lowercase()
        .contains("a pull request already exists")
}

/// A commit id that may go into a path.
fn is_sha(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[async_trait]
impl Forge for GitHubForge {
    fn kind(&self) -> &'static str {
        "github"
    }

    async fn find_pull_request(
        &self,
        repo: &RepoRef,
        head: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let what = format!("looking for a pull request from {head} in {}", r.full());
        let path = format!(
            "{}/pulls?state=all&head={}&sort=created&direction=desc&per_page=100",
            r.path(),
            query_value(&format!("{}:{head}", r.owner))
        );
        let mut newest: Option<GhPull> = None;
        for value in self
            .api
            .get_all(&crab, &path, None, model::PULL_FIELDS, &what)
            .await?
        {
            let pull = self.pull(value)?;
            // The filter is GitHub's; checking it costs nothing.
            if pull.head.branch == head && newest.as_ref().is_none_or(|n| n.number < pull.number) {
                newest = Some(pull);
            }
        }
        newest.map(|p| self.pull_request_of(&p)).transpose()
    }

    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let opened = self.create(&crab, repo, &r, pr).await?;
        if opened.state == PrState::Open {
            self.decorate(&crab, &r, opened.number, pr).await?;
        }
        Ok(opened)
    }

    async fn pull_request(&self, repo: &RepoRef, number: i64) -> Result<PullRequest, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let pull = self.get(&crab, &r, number).await?;
        self.pull_request_of(&pull)
    }

    async fn merge_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        head: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let what = format!("merging pull request #{number} of {}", r.full());
        let path = format!("{}/pulls/{number}/merge", r.path());
        // With `sha`, GitHub merges only while the head is still there
        // (409 otherwise).
        let body = match head {
            Some(sha) => json!({ "merge_method": self.merge_method, "sha": sha }),
            None => json!({ "merge_method": self.merge_method }),
        };
        let response = self
            .api
            .send(
                &crab,
                Method::PUT,
                &path,
                Some(&body),
                &http::HeaderMap::new(),
            )
            .await?;
        if !(200..300).contains(&response.status) {
            // Merged already (by a run that died after the merge, or a
            // person): that is the outcome asked for.
            let error = self.api.status_error(&response, &what);
            let pull = self.get(&crab, &r, number).await?;
            if pull.pr_state().ok() == Some(PrState::Merged) {
                return self.pull_request_of(&pull);
            }
            return Err(error);
        }
        let pull = self.get(&crab, &r, number).await?;
        self.pull_request_of(&pull)
    }

    async fn close_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        comment: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let current = self.pull_request_of(&self.get(&crab, &r, number).await?)?;
        match current.state {
            PrState::Merged => {
                return Err(ForgeError::Refused(format!(
                    "{} #{number} is merged, not open",
                    r.full()
                )));
            }
            // Closed already (a run that died after closing it): done.
            PrState::Closed => return Ok(current),
            PrState::Open => {}
        }
        if let Some(comment) = comment {
            self.comment(repo, number, comment).await?;
        }
        let what = format!("closing pull request #{number} of {}", r.full());
        let path = format!("{}/pulls/{number}", r.path());
        let value = self
            .write(
                &crab,
                Method::PATCH,
                &path,
                &json!({ "state": "closed" }),
                &what,
            )
            .await?;
        let mut closed = self.pull_request_of(&self.pull(value)?)?;
        closed.close_comment = comment.map(str::to_string);
        Ok(closed)
    }

    async fn sync_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
    ) -> Result<PullRequest, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let pull = self.get(&crab, &r, number).await?;
        let mut pr = self.pull_request_of(&pull)?;
        pr.review_state = Some(self.reviews(&crab, &r, number).await?);
        if is_sha(&pull.head.sha) {
            pr.ci_state = Some(self.ci(&crab, &r, &pull.head.sha).await?);
        }
        if pr.state != PrState::Open {
            // Nobody syncs a merged or closed pull request again: what was
            // kept of it (and of its head's CI) goes.
            self.api
                .forget(&format!("{}/pulls/{number}", r.path()))
                .await;
            if is_sha(&pull.head.sha) {
                self.api
                    .forget(&format!("{}/commits/{}", r.path(), pull.head.sha))
                    .await;
            }
        }
        Ok(pr)
    }

    async fn set_label(
        &self,
        repo: &RepoRef,
        number: i64,
        label: &str,
        on: bool,
    ) -> Result<(), ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let issue = format!("{}/issues/{number}/labels", r.path());
        if on {
            let what = format!("labelling pull request #{number} of {}", r.full());
            let body = json!({ "labels": [label] });
            return self
                .write(&crab, Method::POST, &issue, &body, &what)
                .await
                .map(|_| ());
        }
        let what = format!(
            "taking the label {label} off pull request #{number} of {}",
            r.full()
        );
        let path = format!("{issue}/{}", query_value(label));
        let response = self
            .api
            .send(&crab, Method::DELETE, &path, None, &http::HeaderMap::new())
            .await?;
        // 404: the pull request does not carry it (any more).
        if response.status == 404 {
            return Ok(());
        }
        self.api.success(response, &what).map(|_| ())
    }

    async fn comment(&self, repo: &RepoRef, number: i64, body: &str) -> Result<(), ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let what = format!("commenting on pull request #{number} of {}", r.full());
        let path = format!("{}/issues/{number}/comments", r.path());
        self.write(&crab, Method::POST, &path, &json!({ "body": body }), &what)
            .await
            .map(|_| ())
    }

    async fn update_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<(), ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let what = format!(
            "updating the title and body of pull request #{number} of {}",
            r.full()
        );
        let path = format!("{}/pulls/{number}", r.path());
        let text = json!({ "title": title, "body": body });
        self.write(&crab, Method::PATCH, &path, &text, &what)
            .await
            .map(|_| ())
    }

    async fn find_tracking_issue(
        &self,
        repo: &RepoRef,
        marker: &str,
    ) -> Result<Option<Issue>, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let what = format!("looking for the tracking issue in {}", r.full());
        let path = format!(
            "{}/issues?labels={}&state=all&per_page=100",
            r.path(),
            query_value(TRACKING_LABEL)
        );
        let mut found = Vec::new();
        for value in self
            .api
            .get_all(&crab, &path, None, model::ISSUE_LIST_FIELDS, &what)
            .await?
        {
            let issue = self.gh_issue(value)?;
            if !issue.is_pull_request() && issue.body.as_deref().is_some_and(|b| b.contains(marker))
            {
                found.push(
                    issue
                        .to_issue()
                        .map_err(|e| self.api.forge_error(None, &e))?,
                );
            }
        }
        Ok(super::pick_tracking_issue(found))
    }

    async fn issue(&self, repo: &RepoRef, number: i64) -> Result<Issue, ForgeError> {
        let (r, crab) = self.client(repo).await?;
        let what = format!("reading issue #{number} of {}", r.full());
        let path = format!("{}/issues/{number}", r.path());
        let response = self
            .api
            .get_cached(&crab, &path, model::ISSUE_FIELDS, &what)
            .await?;
        self.issue_of(self.api.json(&response.body, &what)?)
    }

    /// `POST …/issues`, sent once: after a lost answer GitHub may hold the
    /// issue, so the caller looks for it instead of sending it again.
    async fn open_issue(&self, repo: &RepoRef, issue: &NewIssue) -> Result<Issue, ForgeError> {
        check_body(&issue.body)?;
        let (r, crab) = self.client(repo).await?;
        let what = format!("opening an issue in {}", r.full());
        let path = format!("{}/issues", r.path());
        let body = json!({ "title": issue.title, "body": issue.body, "labels": issue.labels });
        let response = self
            .api
            .send_once(&crab, Method::POST, &path, Some(&body))
            .await?;
        let response = self.api.success(response, &what)?;
        self.issue_of(self.api.json(&response.body, &what)?)
    }

    async fn update_issue(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<Issue, ForgeError> {
        check_body(body)?;
        let (r, crab) = self.client(repo).await?;
        let what = format!(
            "updating the title and body of issue #{number} of {}",
            r.full()
        );
        let path = format!("{}/issues/{number}", r.path());
        let text = json!({ "title": title, "body": body });
        let value = self
            .write(&crab, Method::PATCH, &path, &text, &what)
            .await?;
        self.issue_of(value)
    }

    fn issue_body_limit(&self) -> Option<usize> {
        Some(BODY_LIMIT)
    }

    async fn git_credentials(&self) -> Result<Option<GitCredentials>, ForgeError> {
        let token = self.clients.git_token(&self.api).await?;
        Ok(Some(GitCredentials {
            token,
            username: "x-access-token",
            origins: self.git_origins.clone(),
        }))
    }

    fn pacing_status(&self) -> Option<String> {
        self.api.pacer().status()
    }
}

#[cfg(test)]
mod tests;
