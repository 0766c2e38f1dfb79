//! A tiny stand-in for the few GitHub endpoints the forge's tests need, on
//! a loopback axum server. (The faithful simulator lives elsewhere; this one
//! only answers as GitHub's documentation says these endpoints answer.)
//!
//! One repository, `acme/api`, plus repositories whose answers are fixed
//! errors for the error-mapping tests. Every request is recorded, with the
//! manual clock's time, so that tests can check pacing and headers.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::clock::{Clock, ManualClock};

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and query, as sent.
    pub target: String,
    pub auth: Option<String>,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
    pub body: Value,
    pub at: Instant,
    /// What the fake answered.
    pub status: u16,
}

/// The fake's state.
#[derive(Debug)]
pub struct Fake {
    pub addr: String,
    pub clock: ManualClock,
    pub pulls: Vec<Value>,
    pub labels: HashMap<i64, Vec<String>>,
    pub reviewers: HashMap<i64, Value>,
    pub assignees: HashMap<i64, Vec<String>>,
    pub comments: HashMap<i64, Vec<String>>,
    pub reviews: Vec<Value>,
    pub check_runs: Vec<Value>,
    pub statuses: Vec<Value>,
    pub page_size: usize,
    /// Answer the next create with GitHub's "already exists" 422.
    pub create_conflict: bool,
    /// Installation tokens the fake refuses (revoked).
    pub revoked: Vec<String>,
    pub minted: u32,
    /// Answer the next write with a secondary-limit 403 and this
    /// `retry-after`.
    pub limit_next_write: Option<u64>,
    pub seen: Vec<Seen>,
}

pub type Shared = Arc<Mutex<Fake>>;

/// A reply before ETag handling.
struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        headers: Vec::new(),
    }
}

fn message(status: u16, text: &str) -> Reply {
    reply(
        status,
        json!({ "message": text, "documentation_url": "https://docs.github.com/rest" }),
    )
}

/// Wall-clock seconds now (octocrab checks installation token expiry
/// against the real clock, so the fake's manual clock starts there).
pub fn real_unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Start a fake GitHub; returns its state and its base URL.
pub async fn start() -> (Shared, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let fake = Arc::new(Mutex::new(Fake {
        addr: addr.clone(),
        clock: ManualClock::new(real_unix_now()),
        pulls: Vec::new(),
        labels: HashMap::new(),
        reviewers: HashMap::new(),
        assignees: HashMap::new(),
        comments: HashMap::new(),
        reviews: Vec::new(),
        check_runs: Vec::new(),
        statuses: Vec::new(),
        page_size: 30,
        create_conflict: false,
        revoked: Vec::new(),
        minted: 0,
        limit_next_write: None,
        seen: Vec::new(),
    }));
    let app = Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (fake, format!("http://{addr}"))
}

pub fn lock(fake: &Shared) -> MutexGuard<'_, Fake> {
    fake.lock().unwrap()
}

async fn handle(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut f = lock(&fake);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let auth = header("authorization");
    let if_none_match = header("if-none-match");
    let query = parse_query(uri.query().unwrap_or(""));
    let mut r = if auth
        .as_deref()
        .is_some_and(|a| f.revoked.iter().any(|t| a == format!("Bearer {t}")))
    {
        message(401, "Bad credentials")
    } else if method != Method::GET
        && let Some(secs) = f.limit_next_write.take()
    {
        let mut r = message(403, "You have exceeded a secondary rate limit.");
        r.headers.push(("retry-after".into(), secs.to_string()));
        r
    } else {
        f.route(&method, uri.path(), &query, &body, auth.as_deref())
    };
    let mut text = if r.body.is_null() {
        String::new()
    } else {
        r.body.to_string()
    };
    if method == Method::GET && r.status == 200 {
        let etag = etag_of(&text);
        if if_none_match.as_deref() == Some(etag.as_str()) {
            r.status = 304;
            text.clear();
        }
        r.headers.push(("etag".into(), etag));
    }
    let seen = Seen {
        method,
        target: uri
            .path_and_query()
            .map_or(String::new(), |p| p.as_str().to_string()),
        auth,
        accept: header("accept"),
        if_none_match,
        body,
        at: f.clock.now(),
        status: r.status,
    };
    f.seen.push(seen);
    let mut response = (StatusCode::from_u16(r.status).unwrap(), text).into_response();
    for (name, value) in r.headers {
        response.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}

fn etag_of(text: &str) -> String {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    format!("\"{:x}\"", hasher.finish())
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

impl Fake {
    /// A pull request as GitHub shows it.
    pub fn add_pull(&mut self, head: &str, state: &str) -> i64 {
        let number = self.pulls.len() as i64 + 1;
        let sha = format!("{:040x}", number);
        let merged_at = (state == "merged").then_some("2024-01-02T03:04:05Z");
        let closed_at = (state != "open").then_some("2024-01-02T03:04:05Z");
        self.pulls.push(json!({
            "number": number,
            "html_url": format!("https://github.com/acme/api/pull/{number}"),
            "state": if state == "open" { "open" } else { "closed" },
            "draft": false,
            "merged_at": merged_at,
            "closed_at": closed_at,
            "created_at": "2024-01-01T00:00:00Z",
            "head": { "ref": head, "sha": sha, "label": format!("acme:{head}") },
            "base": { "ref": "main", "sha": "0".repeat(40) },
            "user": { "login": "fleetwright-bot" },
        }));
        number
    }

    fn pull_mut(&mut self, number: i64) -> Option<&mut Value> {
        self.pulls.iter_mut().find(|p| p["number"] == number)
    }

    fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &HashMap<String, String>,
        body: &Value,
        auth: Option<&str>,
    ) -> Reply {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["repos", "acme", "forbidden", ..]) => {
                message(403, "Resource not accessible by integration")
            }
            ("GET", ["repos", "acme", "unauthorized", ..]) => message(401, "Bad credentials"),
            ("GET", ["repos", "acme", "echo", ..]) => {
                // A hostile proxy that echoes the credentials back.
                message(403, &format!("refused {}", auth.unwrap_or("")))
            }
            ("POST", ["repos", "acme", "invalid", "pulls"]) => reply(
                422,
                json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "No commits between main and fw"}]}),
            ),
            ("GET", ["repos", "acme", "api", "installation"]) => reply(200, json!({"id": 42})),
            ("GET", ["app", "installations"]) => reply(200, json!([{"id": 42}])),
            ("POST", ["app", "installations", "42", "access_tokens"]) => self.mint(),
            ("GET", ["repos", "acme", "api", "pulls"]) => self.list(query),
            ("POST", ["repos", "acme", "api", "pulls"]) => self.create(body),
            ("GET", ["repos", "acme", "api", "pulls", n]) => self.get(n),
            ("PATCH", ["repos", "acme", "api", "pulls", n]) => self.close(n),
            ("PUT", ["repos", "acme", "api", "pulls", n, "merge"]) => self.merge(n),
            ("GET", ["repos", "acme", "api", "pulls", _, "reviews"]) => {
                reply(200, Value::Array(self.reviews.clone()))
            }
            ("POST", ["repos", "acme", "api", "pulls", n, "requested_reviewers"]) => {
                let people = body["reviewers"].as_array().cloned().unwrap_or_default();
                if people.iter().any(|p| p == "ghost") {
                    return message(422, "Reviews may only be requested from collaborators.");
                }
                self.reviewers.insert(n.parse().unwrap(), body.clone());
                self.get(n).with_status(201)
            }
            ("POST", ["repos", "acme", "api", "issues", n, "labels"]) => {
                let labels = strings(&body["labels"]);
                self.labels.insert(n.parse().unwrap(), labels.clone());
                reply(
                    200,
                    json!(
                        labels
                            .iter()
                            .map(|l| json!({"name": l}))
                            .collect::<Vec<_>>()
                    ),
                )
            }
            ("POST", ["repos", "acme", "api", "issues", n, "assignees"]) => {
                self.assignees
                    .insert(n.parse().unwrap(), strings(&body["assignees"]));
                reply(201, json!({"number": n.parse::<i64>().unwrap()}))
            }
            ("POST", ["repos", "acme", "api", "issues", n, "comments"]) => {
                let text = body["body"].as_str().unwrap_or("").to_string();
                self.comments
                    .entry(n.parse().unwrap())
                    .or_default()
                    .push(text);
                reply(201, json!({"id": 1}))
            }
            ("GET", ["repos", "acme", "api", "commits", _, "check-runs"]) => reply(
                200,
                json!({"total_count": self.check_runs.len(), "check_runs": self.check_runs}),
            ),
            ("GET", ["repos", "acme", "api", "commits", _, "status"]) => {
                let state = if self.statuses.is_empty() {
                    "pending"
                } else {
                    "success"
                };
                reply(
                    200,
                    json!({"state": state, "total_count": self.statuses.len(), "statuses": self.statuses}),
                )
            }
            _ => message(404, "Not Found"),
        }
    }

    fn list(&self, query: &HashMap<String, String>) -> Reply {
        let head = query.get("head").cloned().unwrap_or_default();
        let mut matching: Vec<Value> = self
            .pulls
            .iter()
            .filter(|p| head.is_empty() || p["head"]["label"] == head.as_str())
            .cloned()
            .collect();
        matching.reverse(); // newest first
        let per_page = self.page_size;
        let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let pages = matching.len().div_ceil(per_page).max(1);
        let items: Vec<Value> = matching
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let mut r = reply(200, Value::Array(items));
        if page < pages {
            let next = format!(
                "http://{}/repos/acme/api/pulls?head={}&state=all&page={}",
                self.addr,
                head.replace(':', "%3A").replace('/', "%2F"),
                page + 1
            );
            r.headers
                .push(("link".into(), format!("<{next}>; rel=\"next\"")));
        }
        r
    }

    fn create(&mut self, body: &Value) -> Reply {
        if std::mem::take(&mut self.create_conflict) {
            let head = body["head"].as_str().unwrap_or("");
            return reply(
                422,
                json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for acme:{head}.")}]}),
            );
        }
        let number = self.add_pull(body["head"].as_str().unwrap_or(""), "open");
        let pull = self.pull_mut(number).unwrap();
        pull["title"] = body["title"].clone();
        pull["draft"] = body["draft"].clone();
        reply(201, pull.clone())
    }

    fn get(&mut self, n: &str) -> Reply {
        let Ok(number) = n.parse::<i64>() else {
            return message(404, "Not Found");
        };
        match self.pull_mut(number) {
            Some(pull) => reply(200, pull.clone()),
            None => message(404, "Not Found"),
        }
    }

    fn close(&mut self, n: &str) -> Reply {
        let number: i64 = n.parse().unwrap_or(0);
        match self.pull_mut(number) {
            Some(pull) => {
                pull["state"] = json!("closed");
                pull["closed_at"] = json!("2024-01-03T00:00:00Z");
                reply(200, pull.clone())
            }
            None => message(404, "Not Found"),
        }
    }

    fn merge(&mut self, n: &str) -> Reply {
        let number: i64 = n.parse().unwrap_or(0);
        match self.pull_mut(number) {
            Some(pull) if pull["state"] == "open" => {
                pull["state"] = json!("closed");
                pull["merged_at"] = json!("2024-01-03T00:00:00Z");
                pull["closed_at"] = json!("2024-01-03T00:00:00Z");
                reply(
                    200,
                    json!({"merged": true, "message": "Pull Request successfully merged"}),
                )
            }
            Some(_) => message(405, "Pull Request is not mergeable"),
            None => message(404, "Not Found"),
        }
    }

    fn mint(&mut self) -> Reply {
        self.minted += 1;
        let expires = self.clock.unix_now() + 3600;
        let expires_at = jiff::Timestamp::from_second(expires as i64)
            .unwrap()
            .to_string();
        reply(
            201,
            json!({
                "token": format!("ghs_minted{}", self.minted),
                "expires_at": expires_at,
                "permissions": {"pull_requests": "write", "contents": "write"},
                "repository_selection": "all",
            }),
        )
    }

    /// The requests with this method whose path starts with `prefix`.
    pub fn seen(&self, method: &str, prefix: &str) -> Vec<Seen> {
        self.seen
            .iter()
            .filter(|s| s.method == method && s.target.starts_with(prefix))
            .cloned()
            .collect()
    }
}

impl Reply {
    fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The least gap between consecutive requests.
pub fn min_gap(seen: &[Seen]) -> Duration {
    seen.windows(2)
        .map(|w| w[1].at - w[0].at)
        .min()
        .unwrap_or(Duration::MAX)
}
