//! A GitLab REST API v4 simulator on loopback, for what fleetwright uses,
//! with GitLab's JSON shapes, status codes and rate-limit headers.
//!
//! Endpoints under `/api/v4` (everything else is 404 `{"message":"404 Not
//! Found"}`); `:id` is a project's URL-encoded path (`acme%2Fbilling`,
//! nested groups too): `GET /users?username=`; `GET
//! /groups/:id/members/all`; `GET|POST /projects/:id/merge_requests`
//! (`source_branch`, `state` filters); `GET|PUT
//! …/merge_requests/:iid` (`title`, `description`, `state_event`,
//! `add_labels`, `remove_labels`); `PUT …/merge_requests/:iid/merge`
//! (`sha`, `merge_when_pipeline_succeeds`); `GET …/approvals`; `GET
//! …/pipelines`; `POST …/notes`; `GET|POST /projects/:id/issues`
//! (`labels`, `state` filters); `GET|PUT /projects/:id/issues/:iid`.
//!
//! Simulated: token auth (`PRIVATE-TOKEN` or `Authorization: Bearer`,
//! 401 otherwise); `RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset` and `RateLimit-Observed` on every answer; 429 with
//! `Retry-After` on demand ([`Fault::TooManyRequests`]); GitLab's 400 for a
//! missing field, 409 for a second open merge request from one branch and
//! for a merge whose `sha` is not the head, 405 for merging what is not
//! open; drafts from the `Draft:` title prefix. Every request is recorded
//! ([`SimRequest`]) for the contract test. What people do on GitLab
//! (pipelines, approvals, merging, closing) is the test's to do through the
//! handle. Git is served apart, by a [`GitHttpServer`](crate::sim::GitHttpServer):
//! a project linked to a bare repository reads its branch heads there.
//!
//! Not simulated: pagination past one page, ETags, approval rules,
//! protected branches, webhooks, GraphQL.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::sim::net::{Server, percent_decode};

/// The API prefix.
const PREFIX: &str = "/api/v4";

/// GitLab.com's authenticated API limit, sent in `RateLimit-Limit`.
const RATE_LIMIT: u64 = 2000;

/// A failure armed for the next request whose method and path match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 `Retry-After: secs` with `RateLimit-Remaining: 0`; no effect.
    TooManyRequests { retry_after: u64 },
    /// A 5xx with no effect.
    ServerError { status: u16 },
    /// The request takes effect, then the answer is a 502 (a proxy that
    /// lost GitLab's answer): the client cannot know it worked.
    LostResponse,
}

/// A request as the simulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRequest {
    pub method: String,
    /// The path under `/api/v4`, still encoded (`/projects/a%2Fb/issues`).
    pub path: String,
    /// The query, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
    /// The header the token came in (`private-token`, `authorization`), if any.
    pub token_header: Option<String>,
    pub status: u16,
}

/// A merge request in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMergeRequest {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    /// `opened`, `closed` or `merged`.
    pub state: String,
    pub labels: Vec<String>,
    pub reviewer_ids: Vec<u64>,
    pub assignee_ids: Vec<u64>,
    pub sha: Option<String>,
    /// Bodies of the notes, oldest first.
    pub notes: Vec<String>,
    /// The head pipeline's status, when there is one.
    pub pipeline: Option<String>,
    /// Usernames of approvers.
    pub approved_by: Vec<String>,
    pub merge_when_pipeline_succeeds: bool,
    pub merged_at: Option<String>,
    pub closed_at: Option<String>,
    pub created_at: String,
}

impl SimMergeRequest {
    pub fn is_draft(&self) -> bool {
        let t = self.title.to_ascii_lowercase();
        t.starts_with("draft:") || t.starts_with("[draft]") || t.starts_with("(draft)")
    }
}

/// An issue in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimIssue {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub labels: Vec<String>,
    /// `opened` or `closed`.
    pub state: String,
}

#[derive(Debug, Default)]
struct Project {
    id: u64,
    default_branch: String,
    git: Option<PathBuf>,
    mrs: Vec<SimMergeRequest>,
    issues: Vec<SimIssue>,
    /// The status a new merge request's pipeline starts in.
    new_pipeline: Option<String>,
}

#[derive(Debug, Default)]
struct World {
    projects: BTreeMap<String, Project>,
    /// (id, username)
    users: Vec<(u64, String)>,
    groups: BTreeMap<String, Vec<u64>>,
    requests: Vec<SimRequest>,
    faults: Vec<(String, String, Fault)>,
    next_id: u64,
    /// Requests in the current minute, and the minute.
    window: (u64, u64),
}

impl World {
    fn fresh(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

#[derive(Debug)]
struct Shared {
    token: String,
    base: String,
    world: Mutex<World>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running GitLab simulator; it stops when dropped.
#[derive(Debug)]
pub struct GitlabSim {
    server: Server,
    shared: Arc<Shared>,
}

impl GitlabSim {
    /// Serve on loopback, accepting `token`.
    pub async fn start(token: &str) -> io::Result<GitlabSim> {
        let token = token.to_string();
        let mut made: Option<Arc<Shared>> = None;
        let server = Server::start(|addr, _| {
            let shared = Arc::new(Shared {
                token,
                base: format!("http://{addr}"),
                world: Mutex::new(World::default()),
            });
            made = Some(shared.clone());
            Router::new().fallback(handle).with_state(shared)
        })
        .await?;
        let shared = made.expect("the router was built");
        Ok(GitlabSim { server, shared })
    }

    /// `http://127.0.0.1:PORT/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}{PREFIX}", self.server.base_url())
    }

    /// Add a project `path` (`group/project`, groups may nest).
    pub fn add_project(&self, path: &str, default_branch: &str) {
        let mut w = self.shared.lock();
        let id = w.fresh();
        w.projects.insert(
            path.to_string(),
            Project {
                id,
                default_branch: default_branch.to_string(),
                ..Project::default()
            },
        );
    }

    /// Read the project's branch heads from a bare repository (the one a
    /// git server serves for it).
    pub fn link_git(&self, path: &str, bare: impl Into<PathBuf>) {
        if let Some(p) = self.shared.lock().projects.get_mut(path) {
            p.git = Some(bare.into());
        }
    }

    /// New merge requests of `path` start with a pipeline in `status`.
    pub fn set_new_pipeline(&self, path: &str, status: Option<&str>) {
        if let Some(p) = self.shared.lock().projects.get_mut(path) {
            p.new_pipeline = status.map(str::to_string);
        }
    }

    /// Add a user; returns its id.
    pub fn add_user(&self, username: &str) -> u64 {
        let mut w = self.shared.lock();
        let id = w.fresh() + 1000;
        w.users.push((id, username.to_string()));
        id
    }

    /// A group (full path) and its members by username (added as users).
    pub fn add_group(&self, path: &str, members: &[&str]) {
        let ids = members.iter().map(|m| self.user_id(m)).collect();
        self.shared.lock().groups.insert(path.to_string(), ids);
    }

    fn user_id(&self, username: &str) -> u64 {
        let found = self
            .shared
            .lock()
            .users
            .iter()
            .find(|(_, u)| u == username)
            .map(|(id, _)| *id);
        found.unwrap_or_else(|| self.add_user(username))
    }

    pub fn merge_requests(&self, path: &str) -> Vec<SimMergeRequest> {
        self.shared
            .lock()
            .projects
            .get(path)
            .map(|p| p.mrs.clone())
            .unwrap_or_default()
    }

    pub fn issues(&self, path: &str) -> Vec<SimIssue> {
        self.shared
            .lock()
            .projects
            .get(path)
            .map(|p| p.issues.clone())
            .unwrap_or_default()
    }

    fn with_mr(&self, path: &str, iid: u64, f: impl FnOnce(&mut SimMergeRequest)) {
        let mut w = self.shared.lock();
        if let Some(mr) = w
            .projects
            .get_mut(path)
            .and_then(|p| p.mrs.iter_mut().find(|m| m.iid == iid))
        {
            f(mr);
        }
    }

    /// The head pipeline of a merge request ends, or starts, in `status`.
    pub fn set_pipeline(&self, path: &str, iid: u64, status: &str) {
        self.with_mr(path, iid, |mr| mr.pipeline = Some(status.to_string()));
    }

    /// `username` approves a merge request.
    pub fn approve(&self, path: &str, iid: u64, username: &str) {
        self.with_mr(path, iid, |mr| mr.approved_by.push(username.to_string()));
    }

    /// A person merges a merge request in GitLab's web UI.
    pub fn merge_by_person(&self, path: &str, iid: u64) {
        let now = now_text();
        self.with_mr(path, iid, |mr| {
            mr.state = "merged".into();
            mr.merged_at = Some(now);
        });
    }

    /// A person closes a merge request in GitLab's web UI.
    pub fn close_by_person(&self, path: &str, iid: u64) {
        let now = now_text();
        self.with_mr(path, iid, |mr| {
            mr.state = "closed".into();
            mr.closed_at = Some(now);
        });
    }

    /// Arm `fault` for the next request whose method is `method` and whose
    /// path (under `/api/v4`, encoded) contains `path_contains`.
    pub fn inject(&self, method: &str, path_contains: &str, fault: Fault) {
        self.shared
            .lock()
            .faults
            .push((method.to_string(), path_contains.to_string(), fault));
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<SimRequest> {
        self.shared.lock().requests.clone()
    }

    /// Stops and waits until every connection is closed.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_text() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// What a handler answers.
struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Answer {
            status: StatusCode::OK,
            body,
            retry_after: None,
        }
    }
    fn created(body: Value) -> Self {
        Answer {
            status: StatusCode::CREATED,
            body,
            retry_after: None,
        }
    }
    fn error(status: StatusCode, message: Value) -> Self {
        Answer {
            status,
            body: json!({ "message": message }),
            retry_after: None,
        }
    }
    fn not_found(what: &str) -> Self {
        Self::error(
            StatusCode::NOT_FOUND,
            json!(format!("404 {what} Not Found")),
        )
    }
    fn bad(field: &str) -> Self {
        Answer {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": format!("{field} is missing") }),
            retry_after: None,
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.to_string();
    let raw_path = parts.uri.path().to_string();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let decode = |s: &str| percent_decode(&s.replace('+', " ")).unwrap_or_default();
            (decode(k), decode(v))
        })
        .collect();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(&bytes).ok().or(Some(Value::Null))
    };
    let token_header = token_header(&parts.headers, &shared.token);
    let path = raw_path
        .strip_prefix(PREFIX)
        .unwrap_or(&raw_path)
        .to_string();

    let mut w = shared.lock();
    let fault = w
        .faults
        .iter()
        .position(|(m, p, _)| *m == method && path.contains(p.as_str()))
        .map(|i| w.faults.remove(i).2);
    let answer = if !raw_path.starts_with(PREFIX) {
        Answer::error(StatusCode::NOT_FOUND, json!("404 Not Found"))
    } else if token_header.is_none() {
        Answer::error(StatusCode::UNAUTHORIZED, json!("401 Unauthorized"))
    } else {
        match fault {
            Some(Fault::TooManyRequests { retry_after }) => Answer {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: json!({ "message": "Retry later" }),
                retry_after: Some(retry_after),
            },
            Some(Fault::ServerError { status }) => Answer::error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!("500 Internal Server Error"),
            ),
            Some(Fault::LostResponse) => {
                let _ = route(&shared, &mut w, &method, &path, &query, body.as_ref());
                Answer::error(StatusCode::BAD_GATEWAY, json!("502 Bad Gateway"))
            }
            None => route(&shared, &mut w, &method, &path, &query, body.as_ref()),
        }
    };
    let minute = unix_now() / 60;
    if w.window.1 != minute {
        w.window = (0, minute);
    }
    w.window.0 += 1;
    let used = w.window.0;
    w.requests.push(SimRequest {
        method,
        path,
        query,
        body,
        token_header: token_header.map(str::to_string),
        status: answer.status.as_u16(),
    });
    drop(w);
    let remaining = if answer.retry_after.is_some() {
        0
    } else {
        RATE_LIMIT.saturating_sub(used)
    };
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", "application/json")
        .header("ratelimit-limit", RATE_LIMIT.to_string())
        .header("ratelimit-observed", used.to_string())
        .header("ratelimit-remaining", remaining.to_string())
        .header("ratelimit-reset", ((minute + 1) * 60).to_string());
    if let Some(secs) = answer.retry_after {
        response = response.header("retry-after", secs.to_string());
    }
    response
        .body(Body::from(answer.body.to_string()))
        .unwrap_or_default()
}

/// The header the right token came in, if any.
fn token_header(headers: &HeaderMap, token: &str) -> Option<&'static str> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if value("private-token") == Some(token) {
        return Some("private-token");
    }
    if value("authorization").and_then(|v| v.strip_prefix("Bearer ")) == Some(token) {
        return Some("authorization");
    }
    None
}

fn route(
    shared: &Shared,
    w: &mut World,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Answer {
    let segments: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|s| percent_decode(s).unwrap_or_default())
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let empty = json!({});
    let body = body.unwrap_or(&empty);
    match (method, seg.as_slice()) {
        ("GET", ["users"]) => {
            let wanted = q("username").unwrap_or("");
            let users: Vec<Value> = w
                .users
                .iter()
                .filter(|(_, u)| u.eq_ignore_ascii_case(wanted))
                .map(|(id, u)| user_json(*id, u))
                .collect();
            Answer::ok(json!(users))
        }
        ("GET", ["groups", group, "members", "all"]) => match w.groups.get(*group) {
            None => Answer::not_found("Group"),
            Some(ids) => {
                let members: Vec<Value> = ids
                    .iter()
                    .filter_map(|id| w.users.iter().find(|(u, _)| u == id))
                    .map(|(id, u)| {
                        let mut m = user_json(*id, u);
                        m["access_level"] = json!(30);
                        m
                    })
                    .collect();
                Answer::ok(json!(members))
            }
        },
        (_, ["projects", project, rest @ ..]) => {
            let base = format!("{}/{project}", shared.base);
            let users = w.users.clone();
            let fresh = w.fresh();
            let Some(p) = w.projects.get_mut(*project) else {
                return Answer::not_found("Project");
            };
            project_route(p, &base, &users, fresh, method, rest, query, body)
        }
        _ => Answer::error(StatusCode::NOT_FOUND, json!("404 Not Found")),
    }
}

#[allow(clippy::too_many_arguments)]
fn project_route(
    p: &mut Project,
    base: &str,
    users: &[(u64, String)],
    fresh: u64,
    method: &str,
    rest: &[&str],
    query: &[(String, String)],
    body: &Value,
) -> Answer {
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let ids = |name: &str| -> Vec<u64> {
        body.get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    };
    let labels_of = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let project_id = p.id;
    let mr_json = |mr: &SimMergeRequest| mr_json(mr, project_id, base, users);
    match (method, rest) {
        ("GET", []) => Answer::ok(json!({
            "id": project_id, "default_branch": p.default_branch,
            "web_url": base,
        })),
        ("GET", ["merge_requests"]) => {
            let state = q("state").unwrap_or("all");
            let mut list: Vec<&SimMergeRequest> = p
                .mrs
                .iter()
                .filter(|m| q("source_branch").is_none_or(|b| m.source_branch == b))
                .filter(|m| state == "all" || m.state == state)
                .collect();
            list.sort_by_key(|m| std::cmp::Reverse(m.iid));
            Answer::ok(json!(list.into_iter().map(mr_json).collect::<Vec<_>>()))
        }
        ("POST", ["merge_requests"]) => {
            let (Some(source), Some(target), Some(title)) =
                (text("source_branch"), text("target_branch"), text("title"))
            else {
                let missing = ["source_branch", "target_branch", "title"]
                    .into_iter()
                    .find(|f| text(f).is_none())
                    .unwrap_or("title");
                return Answer::bad(missing);
            };
            if let Some(open) = p
                .mrs
                .iter()
                .find(|m| m.source_branch == source && m.state == "opened")
            {
                return Answer::error(
                    StatusCode::CONFLICT,
                    json!([format!(
                        "Another open merge request already exists for this source branch: !{}",
                        open.iid
                    )]),
                );
            }
            let sha = match &p.git {
                Some(git) => match branch_sha(git, &source) {
                    Some(sha) => Some(sha),
                    None => {
                        return Answer::error(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            json!(["Source branch does not exist"]),
                        );
                    }
                },
                None => Some(format!("{:040x}", fresh)),
            };
            let iid = p.mrs.iter().map(|m| m.iid).max().unwrap_or(0) + 1;
            let mr = SimMergeRequest {
                id: fresh,
                iid,
                title,
                description: text("description").unwrap_or_default(),
                source_branch: source,
                target_branch: target,
                state: "opened".into(),
                labels: labels_of(body.get("labels")),
                reviewer_ids: ids("reviewer_ids"),
                assignee_ids: ids("assignee_ids"),
                sha,
                notes: Vec::new(),
                pipeline: p.new_pipeline.clone(),
                approved_by: Vec::new(),
                merge_when_pipeline_succeeds: false,
                merged_at: None,
                closed_at: None,
                created_at: now_text(),
            };
            let answer = Answer::created(mr_json(&mr));
            p.mrs.push(mr);
            answer
        }
        (_, ["merge_requests", iid, tail @ ..]) => {
            let iid: u64 = iid.parse().unwrap_or(0);
            let Some(mr) = p.mrs.iter_mut().find(|m| m.iid == iid) else {
                return Answer::not_found("Merge Request");
            };
            match (method, tail) {
                ("GET", []) => Answer::ok(mr_json(mr)),
                ("PUT", []) => {
                    if let Some(t) = text("title") {
                        mr.title = t;
                    }
                    if let Some(d) = text("description") {
                        mr.description = d;
                    }
                    for label in labels_of(body.get("add_labels")) {
                        if !mr.labels.contains(&label) {
                            mr.labels.push(label);
                        }
                    }
                    let off = labels_of(body.get("remove_labels"));
                    mr.labels.retain(|l| !off.contains(l));
                    match text("state_event").as_deref() {
                        Some("close") if mr.state == "opened" => {
                            mr.state = "closed".into();
                            mr.closed_at = Some(now_text());
                        }
                        Some("reopen") if mr.state == "closed" => mr.state = "opened".into(),
                        _ => {}
                    }
                    Answer::ok(mr_json(mr))
                }
                ("PUT", ["merge"]) => {
                    if mr.state != "opened" || mr.is_draft() {
                        return Answer::error(
                            StatusCode::METHOD_NOT_ALLOWED,
                            json!("405 Method Not Allowed"),
                        );
                    }
                    if let Some(sha) = text("sha")
                        && mr.sha.as_deref() != Some(sha.as_str())
                    {
                        return Answer::error(
                            StatusCode::CONFLICT,
                            json!("SHA does not match HEAD of source branch"),
                        );
                    }
                    let running = mr.pipeline.as_deref().is_some_and(|s| {
                        !matches!(s, "success" | "failed" | "canceled" | "skipped")
                    });
                    if body.get("merge_when_pipeline_succeeds") == Some(&json!(true)) && running {
                        mr.merge_when_pipeline_succeeds = true;
                        return Answer::ok(mr_json(mr));
                    }
                    if mr.pipeline.as_deref() == Some("failed") {
                        return Answer::error(
                            StatusCode::METHOD_NOT_ALLOWED,
                            json!("405 Method Not Allowed"),
                        );
                    }
                    mr.state = "merged".into();
                    mr.merged_at = Some(now_text());
                    Answer::ok(mr_json(mr))
                }
                ("GET", ["approvals"]) => {
                    let by: Vec<Value> = mr
                        .approved_by
                        .iter()
                        .map(|u| {
                            let id = users.iter().find(|(_, n)| n == u).map_or(0, |(id, _)| *id);
                            json!({ "user": user_json(id, u) })
                        })
                        .collect();
                    Answer::ok(json!({
                        "id": mr.id, "iid": mr.iid, "project_id": project_id,
                        "state": mr.state, "approved": !by.is_empty(),
                        "approvals_required": 1, "approvals_left": u8::from(by.is_empty()),
                        "approved_by": by,
                    }))
                }
                ("GET", ["pipelines"]) => {
                    let list: Vec<Value> = mr
                        .pipeline
                        .iter()
                        .map(|s| json!({ "id": mr.id, "sha": mr.sha, "ref": mr.source_branch, "status": s }))
                        .collect();
                    Answer::ok(json!(list))
                }
                ("POST", ["notes"]) => match text("body") {
                    None => Answer::bad("body"),
                    Some(note) => {
                        mr.notes.push(note.clone());
                        Answer::created(json!({
                            "id": fresh, "body": note, "noteable_type": "MergeRequest",
                            "noteable_iid": mr.iid, "system": false,
                        }))
                    }
                },
                _ => Answer::error(StatusCode::NOT_FOUND, json!("404 Not Found")),
            }
        }
        ("GET", ["issues"]) => {
            let state = q("state").unwrap_or("all");
            let wanted = q("labels")
                .map(|l| labels_of(Some(&json!(l))))
                .unwrap_or_default();
            let list: Vec<Value> = p
                .issues
                .iter()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| wanted.iter().all(|l| i.labels.contains(l)))
                .map(|i| issue_json(i, project_id, base))
                .collect();
            Answer::ok(json!(list))
        }
        ("POST", ["issues"]) => {
            let Some(title) = text("title") else {
                return Answer::bad("title");
            };
            let description = text("description").unwrap_or_default();
            if description.chars().count() > 1_048_576 {
                return Answer::error(
                    StatusCode::BAD_REQUEST,
                    json!({ "description": ["is too long (maximum is 1048576 characters)"] }),
                );
            }
            let iid = p.issues.iter().map(|i| i.iid).max().unwrap_or(0) + 1;
            let issue = SimIssue {
                id: fresh,
                iid,
                title,
                description,
                labels: labels_of(body.get("labels")),
                state: "opened".into(),
            };
            let answer = Answer::created(issue_json(&issue, project_id, base));
            p.issues.push(issue);
            answer
        }
        (_, ["issues", iid]) => {
            let iid: u64 = iid.parse().unwrap_or(0);
            let Some(issue) = p.issues.iter_mut().find(|i| i.iid == iid) else {
                return Answer::not_found("Issue");
            };
            if method == "PUT" {
                if let Some(t) = text("title") {
                    issue.title = t;
                }
                if let Some(d) = text("description") {
                    issue.description = d;
                }
            } else if method != "GET" {
                return Answer::error(StatusCode::NOT_FOUND, json!("404 Not Found"));
            }
            Answer::ok(issue_json(issue, project_id, base))
        }
        _ => Answer::error(StatusCode::NOT_FOUND, json!("404 Not Found")),
    }
}

fn user_json(id: u64, username: &str) -> Value {
    json!({
        "id": id, "username": username, "name": username, "state": "active",
        "web_url": format!("https://gitlab.example.com/{username}"),
    })
}

fn mr_json(mr: &SimMergeRequest, project_id: u64, base: &str, users: &[(u64, String)]) -> Value {
    let people = |ids: &[u64]| -> Vec<Value> {
        ids.iter()
            .filter_map(|id| users.iter().find(|(u, _)| u == id))
            .map(|(id, u)| user_json(*id, u))
            .collect()
    };
    let pipeline = mr.pipeline.as_ref().map(|s| {
        json!({ "id": mr.id, "iid": 1, "project_id": project_id, "sha": mr.sha, "ref": mr.source_branch, "status": s })
    });
    json!({
        "id": mr.id, "iid": mr.iid, "project_id": project_id,
        "title": mr.title, "description": mr.description, "state": mr.state,
        "created_at": mr.created_at, "updated_at": mr.created_at,
        "merged_at": mr.merged_at, "closed_at": mr.closed_at,
        "target_branch": mr.target_branch, "source_branch": mr.source_branch,
        "draft": mr.is_draft(), "work_in_progress": mr.is_draft(),
        "labels": mr.labels, "reviewers": people(&mr.reviewer_ids),
        "assignees": people(&mr.assignee_ids),
        "author": user_json(1, "fleetwright-bot"),
        "merge_when_pipeline_succeeds": mr.merge_when_pipeline_succeeds,
        "detailed_merge_status": if mr.state == "opened" { "mergeable" } else { "not_open" },
        "sha": mr.sha, "head_pipeline": pipeline,
        "web_url": format!("{base}/-/merge_requests/{}", mr.iid),
    })
}

fn issue_json(issue: &SimIssue, project_id: u64, base: &str) -> Value {
    json!({
        "id": issue.id, "iid": issue.iid, "project_id": project_id,
        "title": issue.title, "description": issue.description,
        "state": issue.state, "labels": issue.labels,
        "web_url": format!("{base}/-/issues/{}", issue.iid),
    })
}

/// The commit a branch of a bare repository points at.
fn branch_sha(git: &std::path::Path, branch: &str) -> Option<String> {
    let repo = git2::Repository::open_bare(git).ok()?;
    let reference = repo.find_reference(&format!("refs/heads/{branch}")).ok()?;
    reference.target().map(|oid| oid.to_string())
}
