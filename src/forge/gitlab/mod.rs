//! GitLab.com and self-managed GitLab, on the REST API v4, paced under
//! GitLab's limits.
//!
//! [`GitLabForge`] implements [`Forge`]: merge requests are pull requests
//! (numbered by their `iid`), pipelines are CI, approvals are reviews.
//! Every request goes through the shared [`Pacer`](crate::forge::pacing::Pacer)
//! in GitLab's dialect (`RateLimit-*` headers, 429 with `Retry-After`).
//!
//! A project is named by its full path (`group/subgroup/project`), taken
//! from the repository URL under the forge's git origin (else from
//! [`RepoRef::name`]) and sent URL-encoded as `:id` (`group%2Fsubgroup%2Fproject`).

mod api;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use http::Method;
use serde_json::{Value, json};

use self::api::Api;
pub use self::api::TokenHeader;
use self::model::{Approvals, DRAFT_PREFIX, GlIssue, GlMergeRequest, GlUser, Pipeline};
use super::github::api::{BaseUrl, query_value};
use super::pacing::{Pacer, PacingConfig};
use super::{
    Forge, ForgeError, Issue, NewIssue, NewPullRequest, PullRequest, RepoRef, TRACKING_LABEL,
};
use crate::clock::{Clock, SystemClock};
use crate::git::GitCredentials;
use crate::secret::Secret;
use crate::state::PrState;
use crate::urls::Origin;

/// GitLab.com's API.
pub const DEFAULT_API_URL: &str = "https://gitlab.com/api/v4";

/// The longest issue or merge request description GitLab takes, in
/// characters (docs.gitlab.com, "Issues API": 1,048,576).
pub const BODY_LIMIT: usize = 1_048_576;

/// fleetwright's write budget on GitLab by default: 60 writes a minute,
/// 1 s apart. GitLab.com allows far more API traffic (2,000 authenticated
/// requests a minute per user) but limits creating issues and notes
/// separately (docs.gitlab.com, "GitLab.com settings": 200 issues a minute,
/// 300 notes a minute); 60 also keeps shared CI runners from being flooded
/// by pipelines.
pub const DEFAULT_PER_MINUTE: u32 = 60;

/// GitLab's pacing: [`PacingConfig`] with GitLab's defaults (60 writes a
/// minute, 1,000 an hour, 1 s apart).
pub fn default_pacing() -> PacingConfig {
    PacingConfig {
        per_minute: DEFAULT_PER_MINUTE,
        per_hour: 1_000,
        ..PacingConfig::default()
    }
}

/// Where and how to reach a GitLab.
#[derive(Debug, Clone)]
pub struct GitLabConfig {
    /// `https://gitlab.com/api/v4`, or `https://HOST/api/v4`.
    pub api_url: String,
    /// Where git clones and pushes, when not the host of `api_url`.
    pub git_url: Option<String>,
    pub token: Secret,
    pub token_header: TokenHeader,
    pub pacing: PacingConfig,
    pub clock: Arc<dyn Clock>,
    /// Merge with `merge_when_pipeline_succeeds` (GitLab's auto-merge): a
    /// merge asked while the pipeline still runs happens when it passes.
    pub merge_when_pipeline_succeeds: bool,
    /// The proxies to use (`None`: the environment's, `https_proxy` and
    /// `no_proxy`).
    pub proxies: Option<crate::proxy::ProxyEnv>,
    /// The write budget shared with the other processes of the state.
    pub shared_budget: Option<Arc<dyn crate::forge::pacing::SharedBudget>>,
}

impl GitLabConfig {
    /// GitLab.com with its default pacing and the system clock.
    pub fn new(token: Secret) -> Self {
        GitLabConfig {
            api_url: DEFAULT_API_URL.to_string(),
            git_url: None,
            token,
            token_header: TokenHeader::PrivateToken,
            pacing: default_pacing(),
            clock: Arc::new(SystemClock),
            merge_when_pipeline_succeeds: false,
            proxies: None,
            shared_budget: None,
        }
    }
}

/// The origins git reaches a GitLab's repositories at, the only ones its
/// token is offered to: `git_url`'s when given, else the host of `api_url`
/// (GitLab serves git and the API on one host). Each must be https, or
/// plain http on loopback.
pub fn git_origins(api_url: &str, git_url: Option<&str>) -> Result<Vec<Origin>, String> {
    let (url, what) = match git_url {
        Some(url) => (url, "gitlab.git_url"),
        None => (api_url, "gitlab.api_url"),
    };
    Ok(vec![super::token_origin(url, what, "gitlab.token_env")?])
}

/// What is wrong with `path` as a GitLab project path (`group/project`, or
/// nested groups `a/b/c`: each part letters, digits, `-`, `_`, `.`, not
/// `.` or `..`); `None` when it is one.
pub fn project_path_problem(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let fine = |part: &&str| {
        !part.is_empty()
            && *part != "."
            && *part != ".."
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (parts.len() < 2 || !parts.iter().all(fine)).then(|| {
        "is not a GitLab project path (group/project, groups nested as a/b/project: letters, digits, `-`, `_` and `.`)".to_string()
    })
}

/// The project path of a repository URL on one of `origins`:
/// `https://gitlab.example.com/a/b/c.git` → `a/b/c`; over SSH, on the
/// host of one of them (`git@gitlab.example.com:a/b/c.git`,
/// `ssh://git@gitlab.example.com:2222/a/b/c.git`) too.
pub fn project_path_of_url(url: &str, origins: &[Origin]) -> Option<String> {
    let path = match crate::urls::SshRemote::parse(url) {
        Some(remote) => {
            if !origins.iter().any(|o| o.host == remote.host) {
                return None;
            }
            match url.split_once("://") {
                Some((_, rest)) => rest.split_once('/')?.1,
                None => url.split_once(':')?.1.trim_start_matches('/'),
            }
        }
        None => {
            let origin = Origin::parse(url)?;
            if !origins.contains(&origin) {
                return None;
            }
            url.split_once("://")?.1.split_once('/')?.1
        }
    };
    let path = path.split(['?', '#']).next()?.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    project_path_problem(path)
        .is_none()
        .then(|| path.to_string())
}

/// A body within [`BODY_LIMIT`], or the typed refusal (nothing is sent).
fn check_body(what: &'static str, body: &str) -> Result<(), ForgeError> {
    super::check_length(what, "GitLab", body, BODY_LIMIT)
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A merge request title as GitLab reads drafts: `Draft: ` first.
pub fn draft_title(title: &str, draft: bool) -> String {
    let bare = strip_draft(title);
    if draft {
        format!("{DRAFT_PREFIX}{bare}")
    } else {
        bare.to_string()
    }
}

fn strip_draft(title: &str) -> &str {
    for prefix in [
        "Draft: ", "Draft:", "[Draft] ", "[Draft]", "(Draft) ", "(Draft)",
    ] {
        if let Some(rest) = title.strip_prefix(prefix) {
            return rest.trim_start();
        }
    }
    title
}

/// The GitLab forge.
#[derive(Debug)]
pub struct GitLabForge {
    api: Api,
    git_origins: Vec<Origin>,
    token: Secret,
    merge_when_pipeline_succeeds: bool,
    /// User ids by lowercase username (`None`: no such active user), and
    /// group members' ids by group path, looked up once per process: a
    /// campaign asks the same people on hundreds of merge requests.
    people: std::sync::Mutex<std::collections::HashMap<String, Option<u64>>>,
    groups: std::sync::Mutex<std::collections::HashMap<String, Vec<u64>>>,
}

/// A project's path, checked, and its `:id` in API paths.
struct Project {
    path: String,
}

impl Project {
    fn api(&self) -> String {
        format!("/projects/{}", query_value(&self.path))
    }
}

impl GitLabForge {
    /// A forge for one GitLab.
    pub fn new(config: GitLabConfig) -> Result<Self, ForgeError> {
        let base = BaseUrl::parse_for(&config.api_url, "GitLab")?;
        let git_origins =
            git_origins(&config.api_url, config.git_url.as_deref()).map_err(ForgeError::Refused)?;
        if config.token.expose().trim().is_empty() {
            return Err(ForgeError::Refused("the GitLab token is empty".into()));
        }
        let mut pacer = Pacer::with_dialect(config.pacing, config.clock, api::DIALECT);
        if let Some(budget) = config.shared_budget.clone() {
            pacer = pacer.share_budget(budget);
        }
        let pacer = Arc::new(pacer);
        Ok(GitLabForge {
            api: Api::new(
                base.clone(),
                config.token.clone(),
                config.token_header,
                pacer,
                config
                    .proxies
                    .unwrap_or_else(crate::proxy::ProxyEnv::from_env)
                    .for_url(base.as_str()),
            )?,
            git_origins,
            token: config.token,
            merge_when_pipeline_succeeds: config.merge_when_pipeline_succeeds,
            people: Default::default(),
            groups: Default::default(),
        })
    }

    /// The project a repository is: its URL's path on this GitLab, else its
    /// name.
    fn project(&self, repo: &RepoRef) -> Result<Project, ForgeError> {
        if let Some(path) = project_path_of_url(&repo.url, &self.git_origins) {
            return Ok(Project { path });
        }
        let name = repo.name.trim_end_matches(".git");
        if project_path_problem(name).is_some() {
            return Err(ForgeError::Refused(format!(
                "`{}` is not a GitLab project (group/project), and its URL {} is not on this GitLab",
                repo.name,
                crate::urls::redact(&repo.url)
            )));
        }
        Ok(Project {
            path: name.to_string(),
        })
    }

    fn mr(&self, value: Value) -> Result<GlMergeRequest, ForgeError> {
        GlMergeRequest::from_value(value).map_err(|e| self.api.error(None, &e))
    }

    fn gl_issue(&self, value: Value) -> Result<GlIssue, ForgeError> {
        GlIssue::from_value(value).map_err(|e| self.api.error(None, &e))
    }

    async fn get(&self, p: &Project, iid: i64) -> Result<GlMergeRequest, ForgeError> {
        let what = format!("reading merge request !{iid} of {}", p.path);
        let value = self
            .api
            .call(
                Method::GET,
                &format!("{}/merge_requests/{iid}", p.api()),
                None,
                &what,
            )
            .await?;
        self.mr(value)
    }

    /// The ids of people by username (`GET /users?username=`); unknown or
    /// inactive people are logged and left out.
    async fn user_ids(&self, usernames: &[String]) -> Result<Vec<u64>, ForgeError> {
        let mut ids = Vec::new();
        for name in usernames {
            let key = name.to_ascii_lowercase();
            let known = lock(&self.people).get(&key).copied();
            if let Some(known) = known {
                ids.extend(known);
                continue;
            }
            let what = format!("looking up the GitLab user {name}");
            let path = format!("/users?username={}", query_value(name));
            let users = self.api.get_all(&path, &what).await?;
            let found = users
                .into_iter()
                .filter_map(|u| serde_json::from_value::<GlUser>(u).ok())
                .find(|u| u.username.eq_ignore_ascii_case(name) && u.is_active());
            match &found {
                Some(user) => ids.push(user.id),
                None => tracing::warn!("{what}: no such active user; not asked to review"),
            }
            lock(&self.people).insert(key, found.map(|u| u.id));
        }
        Ok(ids)
    }

    /// The active members of a group (with inherited ones), for a team
    /// asked to review: `team` is a full group path, or a group under the
    /// project's top-level group.
    async fn group_member_ids(&self, p: &Project, team: &str) -> Result<Vec<u64>, ForgeError> {
        let group = if team.contains('/') {
            team.to_string()
        } else {
            let top = p.path.split('/').next().unwrap_or_default();
            format!("{top}/{team}")
        };
        if let Some(known) = lock(&self.groups).get(&group) {
            return Ok(known.clone());
        }
        let what = format!("reading the members of the GitLab group {group}");
        let path = format!("/groups/{}/members/all?per_page=100", query_value(&group));
        let ids: Vec<u64> = match self.api.get_all(&path, &what).await {
            Ok(members) => members
                .into_iter()
                .filter_map(|m| serde_json::from_value::<GlUser>(m).ok())
                .filter(GlUser::is_active)
                .map(|m| m.id)
                .collect(),
            Err(ForgeError::NotFound(message)) => {
                tracing::warn!("{message}: the group is not asked to review");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        lock(&self.groups).insert(group, ids.clone());
        Ok(ids)
    }

    /// Create the merge request, or adopt the one GitLab says already exists
    /// for the branch (409: a run that died after creating it).
    async fn create(
        &self,
        repo: &RepoRef,
        p: &Project,
        new: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        let what = format!("opening a merge request from {} in {}", new.head, p.path);
        let mut reviewers = self.user_ids(&new.reviewers).await?;
        for team in &new.team_reviewers {
            reviewers.extend(self.group_member_ids(p, team).await?);
        }
        reviewers.sort_unstable();
        reviewers.dedup();
        let assignees = self.user_ids(&new.assignees).await?;
        let mut body = json!({
            "source_branch": new.head,
            "target_branch": new.base,
            "title": draft_title(&new.title, new.draft),
            "description": new.body,
            "remove_source_branch": true,
        });
        if !new.labels.is_empty() {
            body["labels"] = json!(new.labels.join(","));
        }
        if !reviewers.is_empty() {
            body["reviewer_ids"] = json!(reviewers);
        }
        if !assignees.is_empty() {
            body["assignee_ids"] = json!(assignees);
        }
        let path = format!("{}/merge_requests", p.api());
        let response = self.api.send(Method::POST, &path, Some(&body)).await?;
        if response.status == 409 {
            return self.find_pull_request(repo, &new.head).await?.ok_or_else(|| {
                self.api.error(
                    Some(409),
                    &format!("{what}: GitLab says one already exists, but none was found for the branch"),
                )
            });
        }
        let response = self.api.success(response, &what)?;
        let mr = self.mr(self.api.json(&response.body, &what)?)?;
        Ok(mr.to_pull_request())
    }

    /// The CI state: the merge request's head pipeline, else the newest of
    /// its pipelines; none when it has none.
    async fn ci(
        &self,
        p: &Project,
        mr: &GlMergeRequest,
    ) -> Result<crate::state::CiState, ForgeError> {
        if let Some(pipeline) = &mr.head_pipeline {
            return Ok(pipeline.status.ci_state());
        }
        let what = format!(
            "reading the pipelines of merge request !{} of {}",
            mr.iid, p.path
        );
        let path = format!("{}/merge_requests/{}/pipelines", p.api(), mr.iid);
        let value = self.api.call(Method::GET, &path, None, &what).await?;
        let newest = value
            .as_array()
            .and_then(|list| list.first())
            .and_then(|v| serde_json::from_value::<Pipeline>(v.clone()).ok());
        Ok(newest.map_or(crate::state::CiState::None, |p| p.status.ci_state()))
    }

    async fn approvals(
        &self,
        p: &Project,
        iid: i64,
    ) -> Result<crate::state::ReviewState, ForgeError> {
        let what = format!(
            "reading the approvals of merge request !{iid} of {}",
            p.path
        );
        let path = format!("{}/merge_requests/{iid}/approvals", p.api());
        let value = self.api.call(Method::GET, &path, None, &what).await?;
        let approvals: Approvals = serde_json::from_value(value)
            .map_err(|e| self.api.error(None, &format!("{what}: {e}")))?;
        Ok(approvals.review_state())
    }

    async fn put_mr(
        &self,
        p: &Project,
        iid: i64,
        body: &Value,
        what: &str,
    ) -> Result<GlMergeRequest, ForgeError> {
        let path = format!("{}/merge_requests/{iid}", p.api());
        let value = self.api.call(Method::PUT, &path, Some(body), what).await?;
        self.mr(value)
    }
}

#[async_trait]
impl Forge for GitLabForge {
    fn kind(&self) -> &'static str {
        "gitlab"
    }

    async fn find_pull_request(
        &self,
        repo: &RepoRef,
        head: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let p = self.project(repo)?;
        let what = format!("looking for a merge request from {head} in {}", p.path);
        let path = format!(
            "{}/merge_requests?source_branch={}&state=all&order_by=created_at&sort=desc&per_page=100",
            p.api(),
            query_value(head)
        );
        let mut newest: Option<GlMergeRequest> = None;
        for value in self.api.get_all(&path, &what).await? {
            let mr = self.mr(value)?;
            if mr.source_branch == head && newest.as_ref().is_none_or(|n| n.iid < mr.iid) {
                newest = Some(mr);
            }
        }
        Ok(newest.map(|m| m.to_pull_request()))
    }

    async fn open_pull_request(
        &self,
        repo: &RepoRef,
        pr: &NewPullRequest,
    ) -> Result<PullRequest, ForgeError> {
        check_body("the merge request's description", &pr.body)?;
        let p = self.project(repo)?;
        self.create(repo, &p, pr).await
    }

    async fn pull_request(&self, repo: &RepoRef, number: i64) -> Result<PullRequest, ForgeError> {
        let p = self.project(repo)?;
        Ok(self.get(&p, number).await?.to_pull_request())
    }

    async fn merge_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        head: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        let p = self.project(repo)?;
        let what = format!("merging merge request !{number} of {}", p.path);
        let path = format!("{}/merge_requests/{number}/merge", p.api());
        // With `sha`, GitLab merges only while the head is still there
        // (409 otherwise).
        let mut body = json!({});
        if let Some(sha) = head {
            body["sha"] = json!(sha);
        }
        if self.merge_when_pipeline_succeeds {
            body["merge_when_pipeline_succeeds"] = json!(true);
        }
        let response = self.api.send(Method::PUT, &path, Some(&body)).await?;
        if !(200..300).contains(&response.status) {
            let error = self.api.status_error(&response, &what);
            let mr = self.get(&p, number).await?;
            if mr.state.pr_state() == PrState::Merged {
                return Ok(mr.to_pull_request());
            }
            return Err(error);
        }
        Ok(self
            .mr(self.api.json(&response.body, &what)?)?
            .to_pull_request())
    }

    async fn close_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
        comment: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        let p = self.project(repo)?;
        let current = self.get(&p, number).await?.to_pull_request();
        match current.state {
            PrState::Merged => {
                return Err(ForgeError::Refused(format!(
                    "{} !{number} is merged, not open",
                    p.path
                )));
            }
            PrState::Closed => return Ok(current),
            PrState::Open => {}
        }
        if let Some(comment) = comment {
            self.comment(repo, number, comment).await?;
        }
        let what = format!("closing merge request !{number} of {}", p.path);
        let mr = self
            .put_mr(&p, number, &json!({ "state_event": "close" }), &what)
            .await?;
        let mut closed = mr.to_pull_request();
        closed.close_comment = comment.map(str::to_string);
        Ok(closed)
    }

    async fn sync_pull_request(
        &self,
        repo: &RepoRef,
        number: i64,
    ) -> Result<PullRequest, ForgeError> {
        let p = self.project(repo)?;
        let mr = self.get(&p, number).await?;
        let mut pr = mr.to_pull_request();
        pr.review_state = Some(self.approvals(&p, number).await?);
        pr.ci_state = Some(self.ci(&p, &mr).await?);
        Ok(pr)
    }

    async fn set_label(
        &self,
        repo: &RepoRef,
        number: i64,
        label: &str,
        on: bool,
    ) -> Result<(), ForgeError> {
        let p = self.project(repo)?;
        let (key, what) = if on {
            (
                "add_labels",
                format!("labelling merge request !{number} of {}", p.path),
            )
        } else {
            (
                "remove_labels",
                format!(
                    "taking the label {label} off merge request !{number} of {}",
                    p.path
                ),
            )
        };
        let mut body = json!({});
        body[key] = json!(label);
        self.put_mr(&p, number, &body, &what).await.map(|_| ())
    }

    async fn comment(&self, repo: &RepoRef, number: i64, body: &str) -> Result<(), ForgeError> {
        let p = self.project(repo)?;
        let what = format!("commenting on merge request !{number} of {}", p.path);
        let path = format!("{}/merge_requests/{number}/notes", p.api());
        self.api
            .call(Method::POST, &path, Some(&json!({ "body": body })), &what)
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
        check_body("the merge request's description", body)?;
        let p = self.project(repo)?;
        // The title says whether it is a draft: keep what it is.
        let current = self.get(&p, number).await?;
        let what = format!(
            "updating the title and description of merge request !{number} of {}",
            p.path
        );
        let text = json!({
            "title": draft_title(title, current.is_draft()),
            "description": body,
        });
        self.put_mr(&p, number, &text, &what).await.map(|_| ())
    }

    async fn find_tracking_issue(
        &self,
        repo: &RepoRef,
        marker: &str,
    ) -> Result<Option<Issue>, ForgeError> {
        let p = self.project(repo)?;
        let what = format!("looking for the tracking issue in {}", p.path);
        let path = format!(
            "{}/issues?labels={}&state=all&per_page=100",
            p.api(),
            query_value(TRACKING_LABEL)
        );
        let mut found = Vec::new();
        for value in self.api.get_all(&path, &what).await? {
            let issue = self.gl_issue(value)?;
            if issue
                .description
                .as_deref()
                .is_some_and(|d| d.contains(marker))
            {
                found.push(issue.to_issue());
            }
        }
        Ok(super::pick_tracking_issue(found))
    }

    async fn issue(&self, repo: &RepoRef, number: i64) -> Result<Issue, ForgeError> {
        let p = self.project(repo)?;
        let what = format!("reading issue #{number} of {}", p.path);
        let path = format!("{}/issues/{number}", p.api());
        let value = self.api.call(Method::GET, &path, None, &what).await?;
        Ok(self.gl_issue(value)?.to_issue())
    }

    /// `POST …/issues`, sent once: after a lost answer GitLab may hold the
    /// issue, so the caller looks for it instead of sending it again.
    async fn open_issue(&self, repo: &RepoRef, issue: &NewIssue) -> Result<Issue, ForgeError> {
        check_body("the issue's description", &issue.body)?;
        let p = self.project(repo)?;
        let what = format!("opening an issue in {}", p.path);
        let path = format!("{}/issues", p.api());
        let body = json!({
            "title": issue.title,
            "description": issue.body,
            "labels": issue.labels.join(","),
        });
        let response = self.api.send_once(Method::POST, &path, Some(&body)).await?;
        let response = self.api.success(response, &what)?;
        Ok(self
            .gl_issue(self.api.json(&response.body, &what)?)?
            .to_issue())
    }

    async fn update_issue(
        &self,
        repo: &RepoRef,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<Issue, ForgeError> {
        check_body("the issue's description", body)?;
        let p = self.project(repo)?;
        let what = format!(
            "updating the title and description of issue #{number} of {}",
            p.path
        );
        let path = format!("{}/issues/{number}", p.api());
        let text = json!({ "title": title, "description": body });
        let value = self
            .api
            .call(Method::PUT, &path, Some(&text), &what)
            .await?;
        Ok(self.gl_issue(value)?.to_issue())
    }

    fn issue_body_limit(&self) -> Option<usize> {
        Some(BODY_LIMIT)
    }

    async fn git_credentials(&self) -> Result<Option<GitCredentials>, ForgeError> {
        Ok(Some(GitCredentials {
            token: self.token.clone(),
            username: "oauth2",
            origins: self.git_origins.clone(),
        }))
    }

    fn pacing_status(&self) -> Option<String> {
        self.api.pacer().status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_come_from_urls_on_the_forge_only() {
        let origins = git_origins("https://gitlab.example.com/api/v4", None).unwrap();
        assert_eq!(
            project_path_of_url("https://gitlab.example.com/acme/billing.git", &origins).as_deref(),
            Some("acme/billing")
        );
        assert_eq!(
            project_path_of_url("https://gitlab.example.com/a/b/c/d", &origins).as_deref(),
            Some("a/b/c/d")
        );
        assert_eq!(
            project_path_of_url("https://evil.example.com/a/b.git", &origins),
            None
        );
        assert_eq!(
            project_path_of_url("https://gitlab.example.com/a/../b", &origins),
            None
        );
        // SSH remotes on the GitLab host name their project too.
        for url in [
            "git@gitlab.example.com:acme/sub/billing.git",
            "ssh://git@gitlab.example.com:2222/acme/sub/billing.git",
            "gitlab.example.com:/acme/sub/billing",
        ] {
            assert_eq!(
                project_path_of_url(url, &origins).as_deref(),
                Some("acme/sub/billing"),
                "{url}"
            );
        }
        assert_eq!(
            project_path_of_url("git@evil.example.com:acme/billing.git", &origins),
            None
        );
        assert_eq!(
            project_path_of_url("git@gitlab.example.com:acme/../billing.git", &origins),
            None
        );
        assert_eq!(
            Project {
                path: "acme/sub/billing".into()
            }
            .api(),
            "/projects/acme%2Fsub%2Fbilling"
        );
    }

    #[test]
    fn tokens_go_over_https_or_to_loopback_only() {
        assert!(git_origins("http://gitlab.example.com/api/v4", None).is_err());
        assert!(git_origins("http://127.0.0.1:9/api/v4", None).is_ok());
        assert!(git_origins("https://u:p@gitlab.example.com/api/v4", None).is_err());
    }

    #[test]
    fn draft_titles_are_prefixed_once() {
        assert_eq!(draft_title("Fix", true), "Draft: Fix");
        assert_eq!(draft_title("Draft: Fix", true), "Draft: Fix");
        assert_eq!(draft_title("Draft: Fix", false), "Fix");
        assert_eq!(draft_title("[Draft] Fix", false), "Fix");
    }

    #[test]
    fn long_bodies_are_refused_before_sending() {
        assert!(check_body("x", &"a".repeat(BODY_LIMIT)).is_ok());
        assert!(matches!(
            check_body("x", &"a".repeat(BODY_LIMIT + 1)),
            Err(ForgeError::TooLong { .. })
        ));
    }
}
