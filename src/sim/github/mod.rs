//! A GitHub REST API simulator on loopback, faithful where fleetwright
//! depends on GitHub: JSON shapes octocrab reads, validation errors, rate
//! limits, conditional requests and failures.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fleetwright::sim::{GithubSim, Limits, SimClock, SimOptions};
//! let sim = GithubSim::start(SimOptions {
//!     clock: SimClock::manual(),
//!     limits: Limits::github(),
//!     token: "ghp_test".into(),
//!     ..SimOptions::default()
//! })
//! .await?;
//! sim.add_repo("acme", "billing-api", "main");
//! // point octocrab's base_uri at sim.api_url(), with the token
//! # Ok(()) }
//! ```
//!
//! Endpoints (everything else is 404 `{"message":"Not Found"}`):
//! `GET /repos/{o}/{r}`; `GET|POST /repos/{o}/{r}/pulls`;
//! `GET|PATCH .../pulls/{n}`; `GET|PUT .../pulls/{n}/merge`;
//! `GET .../pulls/{n}/reviews`; `GET|POST .../pulls/{n}/requested_reviewers`;
//! `GET|POST .../issues` (issues and pull requests, filtered by `state` and
//! `labels`); `GET|PATCH .../issues/{n}`;
//! `GET|POST .../issues/{n}/comments`; `GET|POST .../issues/{n}/labels`;
//! `POST .../issues/{n}/assignees`; `GET .../commits/{ref}/check-runs`;
//! `GET .../commits/{ref}/status`; `GET .../contents/{path}`;
//! `POST /app/installations/{id}/access_tokens`.
//!
//! What is simulated: token auth (`Bearer` or `token`, 401 `Bad
//! credentials`) and GitHub App installation tokens (a well-formed JWT
//! buys a `ghs_` token); primary limit headers on every authenticated
//! answer and 403 when spent; secondary limits on content-creating
//! requests (per minute, per hour, minimum interval) as 403 with
//! `retry-after`; `ETag` on every 200 GET and 304 for a matching
//! `If-None-Match`, not counted against the primary limit; `Link`
//! pagination; GitHub's 422s (duplicate head, missing fields, unknown
//! branches of a git-backed repository, no commits, author as reviewer,
//! non-collaborators); 405/409 on merge; faults (5xx, a held response, a
//! cut connection, a response lost after its effect, an injected secondary
//! limit). State changes that people make on GitHub (reviews, checks,
//! statuses, merges and closes in the web UI) are the test's to make
//! through the handle.
//!
//! Issues that are not pull requests can be opened, read, listed and edited
//! (title, body, state), numbered with the pull requests; GitHub's 422s for
//! a missing title and a title or body over its limits (256 and 65,536
//! characters). Comments and labels endpoints serve pull requests only.
//!
//! Not simulated: forks, review comments, branch protection and required checks (use `set_mergeable`),
//! git operations on merge (a merge records a made-up merge commit),
//! GraphQL, webhooks, per-endpoint points and concurrency limits,
//! installation token expiry, JWT signatures.

mod json;
mod limits;
mod model;
mod routes;
mod server;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use limits::Limits;
pub use model::{CheckRunState, PullState, SimComment, SimIssue, SimPull, SimReview};

use self::model::{Ids, Repo, World, fake_sha};
use self::server::{Armed, Shared};
use crate::clock::Clock;
use crate::sim::SimClock;
use crate::sim::net::Server;

/// How to start a [`GithubSim`].
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The simulator's time, shareable with the client under test.
    pub clock: SimClock,
    pub limits: Limits,
    /// The one personal access token accepted.
    pub token: String,
    /// The login the token belongs to (author of the pull requests it opens).
    pub login: String,
    /// The login of installation tokens (a bot: ends with `[bot]`).
    pub app_login: String,
    /// How long [`Fault::Timeout`] holds a response (real time; cut short
    /// when the simulator stops).
    pub timeout_hold: Duration,
    /// Root of `clone_url`s (e.g. a [`GitHttpServer`](crate::sim::GitHttpServer)'s
    /// base URL); the simulator's own URL when `None`.
    pub git_base_url: Option<String>,
}

impl Default for SimOptions {
    /// The real clock, GitHub's limits, token `ghp_test`.
    fn default() -> Self {
        SimOptions {
            clock: SimClock::real(),
            limits: Limits::github(),
            token: "ghp_test".into(),
            login: "fleetwright-bot".into(),
            app_login: "fleetwright[bot]".into(),
            timeout_hold: Duration::from_secs(30),
            git_base_url: None,
        }
    }
}

/// A failure to serve, armed for the next request (or the next matching
/// one, with [`GithubSim::inject_matching`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The next `times` requests get `status` (500, 502, 503...) with a
    /// JSON body, and have no effect.
    ServerError { status: u16, times: u32 },
    /// The response is held for `SimOptions::timeout_hold`, then a 504;
    /// the request has no effect.
    Timeout,
    /// The connection is closed without a response; no effect.
    DropConnection,
    /// The request takes effect, then the connection is closed without a
    /// response: the client cannot know that its pull request exists.
    LostResponse,
    /// A 403 secondary-limit answer with `retry-after: 60`, whatever the
    /// counts (not counted as a violation).
    SecondaryLimit,
}

/// What the simulator saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every request received, faulted ones included.
    pub requests: usize,
    /// Every content-creating request that reached the limits (accepted or
    /// refused), in order.
    pub writes: Vec<WriteRecord>,
    /// Writes refused because they broke a secondary limit.
    pub violations: usize,
    /// Secondary-limit answers, violations and injected ones.
    pub secondary_limited: usize,
    /// Answers refused because the primary limit was spent.
    pub primary_limited: usize,
    /// 304 answers to conditional requests.
    pub not_modified: usize,
    /// Faults served.
    pub faults: usize,
}

/// One content-creating request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// When, on the simulator's clock, since it started.
    pub at: Duration,
    pub method: String,
    pub path: String,
    /// The answer's status (403 for a secondary-limit refusal).
    pub status: u16,
}

/// A running simulator; it stops when dropped.
///
/// Handle methods that name a repository or pull request panic when it
/// does not exist: that is a mistake in the test, not a GitHub answer.
#[derive(Debug)]
pub struct GithubSim {
    shared: Arc<Shared>,
    server: Server,
}

impl GithubSim {
    /// Binds 127.0.0.1 on a free port and serves on a task of the current
    /// tokio runtime.
    pub async fn start(options: SimOptions) -> io::Result<GithubSim> {
        let mut shared = None;
        let server = Server::start(|addr, shutdown| {
            let state = Arc::new(Shared::new(options, addr, shutdown));
            shared = Some(state.clone());
            server::router(state)
        })
        .await?;
        let shared = shared.ok_or_else(|| io::Error::other("simulator did not start"))?;
        Ok(GithubSim { shared, server })
    }

    /// `http://127.0.0.1:PORT`: octocrab's `base_uri`.
    pub fn api_url(&self) -> String {
        self.server.base_url()
    }

    /// The simulator's clock (advance it when it is manual).
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// The personal access token it accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Adds a repository with a default branch (whose commit is made up
    /// until [`set_branch`](Self::set_branch) or [`link_git`](Self::link_git)).
    ///
    /// # Panics
    ///
    /// If the repository exists already.
    pub fn add_repo(&self, owner: &str, name: &str, default_branch: &str) {
        let mut inner = self.shared.lock();
        let id = inner.world.ids.fresh();
        let key = World::key(owner, name);
        assert!(
            !inner.world.repos.contains_key(&key),
            "sim: {owner}/{name} exists already"
        );
        let sha = fake_sha(&format!("{owner}/{name}:{default_branch}"));
        let repo = Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            default_branch: default_branch.to_string(),
            created_at: self.shared.clock.wall(),
            branches: BTreeMap::from([(default_branch.to_string(), sha)]),
            git_dir: None,
            pulls: Vec::new(),
            issues: Vec::new(),
            files: BTreeMap::new(),
            checks: BTreeMap::new(),
            statuses: BTreeMap::new(),
            labels: BTreeMap::new(),
            collaborators: None,
            teams: None,
        };
        inner.world.repos.insert(key, repo);
    }

    /// Backs a repository with a bare git repository: branch commits and
    /// file contents are read from it, and pull requests need real heads.
    pub fn link_git(&self, owner: &str, name: &str, bare_repo: impl Into<PathBuf>) {
        let dir = bare_repo.into();
        self.with_repo(owner, name, |repo, _, _| repo.git_dir = Some(dir));
    }

    /// Sets the commit of a branch (repositories not backed by git).
    pub fn set_branch(&self, owner: &str, name: &str, branch: &str, sha: &str) {
        self.with_repo(owner, name, |repo, _, _| {
            repo.branches.insert(branch.to_string(), sha.to_string());
        });
    }

    /// Only these users may be requested as reviewers or assigned (by
    /// default anyone may).
    pub fn set_collaborators(&self, owner: &str, name: &str, logins: &[&str]) {
        let set = logins.iter().map(|l| l.to_string()).collect();
        self.with_repo(owner, name, |repo, _, _| repo.collaborators = Some(set));
    }

    /// Only these team slugs may be requested as reviewers (by default
    /// any may).
    pub fn set_teams(&self, owner: &str, name: &str, slugs: &[&str]) {
        let set = slugs.iter().map(|s| s.to_string()).collect();
        self.with_repo(owner, name, |repo, _, _| repo.teams = Some(set));
    }

    /// Sets a file's text (any ref), e.g. `.github/CODEOWNERS`.
    pub fn set_file(&self, owner: &str, name: &str, path: &str, text: &str) {
        self.with_repo(owner, name, |repo, _, _| {
            repo.files.insert(path.to_string(), text.to_string());
        });
    }

    /// Every pull request of a repository, by number.
    pub fn pulls(&self, owner: &str, name: &str) -> Vec<SimPull> {
        self.with_repo(owner, name, |repo, _, _| {
            repo.sync_heads();
            let mut pulls = repo.pulls.clone();
            pulls.sort_by_key(|p| p.number);
            pulls
        })
    }

    /// One pull request, if it exists.
    pub fn pull(&self, owner: &str, name: &str, number: u64) -> Option<SimPull> {
        self.with_repo(owner, name, |repo, _, _| {
            repo.sync_heads();
            repo.pull(number).cloned()
        })
    }

    /// Every issue of a repository that is not a pull request, by number.
    pub fn issues(&self, owner: &str, name: &str) -> Vec<SimIssue> {
        self.with_repo(owner, name, |repo, _, _| {
            let mut issues = repo.issues.clone();
            issues.sort_by_key(|i| i.number);
            issues
        })
    }

    /// Closes an issue as `who` would in the web UI (`completed`).
    pub fn close_issue(&self, owner: &str, name: &str, number: u64, who: &str) {
        self.with_issue(owner, name, number, |issue, now| {
            issue.close(who, "completed", now)
        });
    }

    /// Reopens an issue as someone in the web UI would.
    pub fn reopen_issue(&self, owner: &str, name: &str, number: u64) {
        self.with_issue(owner, name, number, |issue, now| issue.reopen(now));
    }

    /// Merges a pull request as someone in the web UI would.
    pub fn set_pull_merged(&self, owner: &str, name: &str, number: u64) {
        let sha = fake_sha(&format!("{owner}/{name}#{number}:merge"));
        self.with_pull(owner, name, number, |pull, _, now| {
            pull.mark_merged(None, sha, now);
        });
    }

    /// Closes a pull request without merging it.
    pub fn close_pull(&self, owner: &str, name: &str, number: u64) {
        self.with_pull(owner, name, number, |pull, _, now| pull.close(now));
    }

    /// Whether GitHub can merge it (false: merge is 405, state `dirty`).
    pub fn set_mergeable(&self, owner: &str, name: &str, number: u64, mergeable: bool) {
        self.with_pull(owner, name, number, |pull, _, _| pull.mergeable = mergeable);
    }

    /// A review by `user`: `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`
    /// or `DISMISSED`; the user is no longer a requested reviewer.
    pub fn add_review(&self, owner: &str, name: &str, number: u64, state: &str, user: &str) {
        self.with_pull(owner, name, number, |pull, ids, now| {
            pull.add_review(ids.fresh(), user, state, now);
        });
    }

    /// Sets check run `check` on a commit (a SHA or a branch name).
    pub fn set_check(
        &self,
        owner: &str,
        name: &str,
        git_ref: &str,
        check: &str,
        state: CheckRunState,
    ) {
        self.with_repo(owner, name, |repo, ids, now| {
            let sha = repo.resolve_ref(git_ref);
            repo.set_check(ids, sha, check, state, now);
        });
    }

    /// Sets the commit status of `context` (`error`, `failure`, `pending`,
    /// `success`) on a commit (a SHA or a branch name).
    pub fn set_status(&self, owner: &str, name: &str, git_ref: &str, context: &str, state: &str) {
        self.with_repo(owner, name, |repo, ids, now| {
            let sha = repo.resolve_ref(git_ref);
            repo.set_status(ids, sha, context, state, now);
        });
    }

    /// Arms a fault for the next request(s), in order after those armed
    /// before.
    pub fn inject(&self, fault: Fault) {
        self.arm(fault, None, None);
    }

    /// Arms a fault for the next request with this method (any case) whose
    /// path contains `path_contains`, e.g. `("POST", "/pulls")`.
    pub fn inject_matching(&self, method: &str, path_contains: &str, fault: Fault) {
        self.arm(
            fault,
            Some(method.to_string()),
            Some(path_contains.to_string()),
        );
    }

    fn arm(&self, fault: Fault, method: Option<String>, path_contains: Option<String>) {
        self.shared.lock().faults.push_back(Armed {
            fault,
            method,
            path_contains,
        });
    }

    /// A copy of what the simulator saw so far.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Stops and waits until every connection is closed.
    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// Runs `change` on a repository with the id counter and the wall
    /// clock's now.
    fn with_repo<T>(
        &self,
        owner: &str,
        name: &str,
        change: impl FnOnce(&mut Repo, &mut Ids, std::time::SystemTime) -> T,
    ) -> T {
        let now = self.shared.clock.wall();
        let mut inner = self.shared.lock();
        let World { repos, ids } = &mut inner.world;
        let repo = repos
            .get_mut(&World::key(owner, name))
            .unwrap_or_else(|| panic!("sim: no repository {owner}/{name}"));
        change(repo, ids, now)
    }

    fn with_issue(
        &self,
        owner: &str,
        name: &str,
        number: u64,
        change: impl FnOnce(&mut SimIssue, std::time::SystemTime),
    ) {
        self.with_repo(owner, name, |repo, _, now| {
            let issue = repo
                .issue_mut(number)
                .unwrap_or_else(|| panic!("sim: no issue {owner}/{name}#{number}"));
            change(issue, now);
        });
    }

    fn with_pull(
        &self,
        owner: &str,
        name: &str,
        number: u64,
        change: impl FnOnce(&mut SimPull, &mut Ids, std::time::SystemTime),
    ) {
        self.with_repo(owner, name, |repo, ids, now| {
            let pull = repo
                .pull_mut(number)
                .unwrap_or_else(|| panic!("sim: no pull request {owner}/{name}#{number}"));
            change(pull, ids, now);
        });
    }
}
