//! The HTTP side of the simulator: every request goes through one handler
//! that applies, in GitHub's order, an injected fault, authentication, the
//! primary limit, the secondary limits (writes), the endpoint, and
//! conditional requests, then adds GitHub's headers.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::json::{self, Urls};
use super::limits::{Primary, RateLimiter, RetryAfter};
use super::model::{World, fake_sha, fnv};
use super::routes::{self, Call, Reply};
use super::{Fault, SimOptions, Stats, WriteRecord};
use crate::clock::Clock;
use crate::sim::SimClock;
use crate::sim::net::{KillSwitch, Shutdown, base64_decode};

/// What the handle and the handler share.
#[derive(Debug)]
pub(super) struct Shared {
    pub clock: SimClock,
    pub token: String,
    pub login: String,
    pub app_login: String,
    pub timeout_hold: Duration,
    pub urls: Urls,
    pub started: Instant,
    pub shutdown: Shutdown,
    pub inner: Mutex<Inner>,
}

/// The mutable part, under one lock: a request sees one consistent world.
#[derive(Debug)]
pub(super) struct Inner {
    pub world: World,
    pub limiter: RateLimiter,
    pub faults: VecDeque<Armed>,
    pub stats: Stats,
    /// Installation tokens handed out (they do not expire here).
    pub app_tokens: BTreeSet<String>,
}

/// A fault waiting for a request that matches.
#[derive(Debug, Clone)]
pub(super) struct Armed {
    pub fault: Fault,
    pub method: Option<String>,
    pub path_contains: Option<String>,
}

impl Armed {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

impl Shared {
    pub fn new(options: SimOptions, addr: std::net::SocketAddr, shutdown: Shutdown) -> Self {
        let api = format!("http://{addr}");
        let urls = Urls {
            git: options.git_base_url.clone().unwrap_or_else(|| api.clone()),
            web: api.clone(),
            api,
        };
        let clock = options.clock;
        let inner = Inner {
            world: World::default(),
            limiter: RateLimiter::new(options.limits, clock.now(), clock.wall()),
            faults: VecDeque::new(),
            stats: Stats::default(),
            app_tokens: BTreeSet::new(),
        };
        Shared {
            started: clock.now(),
            clock,
            token: options.token,
            login: options.login,
            app_login: options.app_login,
            timeout_hold: options.timeout_hold,
            urls,
            shutdown,
            inner: Mutex::new(inner),
        }
    }

    /// The lock; a panic in another holder leaves data that is still
    /// usable for a test, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<KillSwitch>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return plain(StatusCode::BAD_REQUEST, "could not read the request body");
    };
    match take_fault(&shared, &parts) {
        None => process(&shared, &parts, &body),
        Some(Fault::ServerError { status, .. }) => server_error(status),
        Some(Fault::Timeout) => {
            let mut stopping = shared.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(shared.timeout_hold) => {}
                () = stopping.wait() => {}
            }
            let message = "We couldn't respond to your request in time. Sorry about that.";
            json_response(StatusCode::GATEWAY_TIMEOUT, &json::error(message, 504))
        }
        Some(Fault::DropConnection) => {
            kill.cut();
            plain(StatusCode::INTERNAL_SERVER_ERROR, "")
        }
        Some(Fault::LostResponse) => {
            let _done = process(&shared, &parts, &body);
            kill.cut();
            plain(StatusCode::INTERNAL_SERVER_ERROR, "")
        }
        Some(Fault::SecondaryLimit) => {
            let mut inner = shared.lock();
            inner.stats.secondary_limited += 1;
            let primary = inner
                .limiter
                .primary(shared.clock.now(), shared.clock.wall());
            secondary_limited(primary, RetryAfter(60))
        }
    }
}

/// Counts the request and takes the first armed fault that matches it.
fn take_fault(shared: &Shared, parts: &Parts) -> Option<Fault> {
    let mut inner = shared.lock();
    inner.stats.requests += 1;
    let (method, path) = (parts.method.as_str(), parts.uri.path());
    let index = inner.faults.iter().position(|a| a.matches(method, path))?;
    inner.stats.faults += 1;
    let armed = &mut inner.faults[index];
    if let Fault::ServerError { times, .. } = &mut armed.fault
        && *times > 1
    {
        *times -= 1;
        return Some(armed.fault.clone());
    }
    inner.faults.remove(index).map(|armed| armed.fault)
}

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "PUT" | "DELETE")
}

/// Everything but faults: auth, limits, the endpoint, ETags, headers.
fn process(shared: &Shared, parts: &Parts, body: &[u8]) -> Response {
    let mut inner = shared.lock();
    let (now, wall) = (shared.clock.now(), shared.clock.wall());
    let (method, path) = (parts.method.as_str(), parts.uri.path());
    if method == "POST" && installation_id(path).is_some() {
        return issue_installation_token(shared, &mut inner, &parts.headers);
    }
    let Some(actor) = authenticate(shared, &inner, &parts.headers) else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json::error("Bad credentials", 401),
        );
    };
    let primary = inner.limiter.primary(now, wall);
    if primary.remaining == 0 {
        inner.stats.primary_limited += 1;
        return primary_limited(primary);
    }
    let write = is_write(method);
    if write && let Err(retry) = inner.limiter.admit_write(now) {
        inner.limiter.count();
        inner.stats.violations += 1;
        inner.stats.secondary_limited += 1;
        record_write(shared, &mut inner, method, path, 403);
        let primary = inner.limiter.primary(now, wall);
        return secondary_limited(primary, retry);
    }
    let call = Call {
        method,
        path,
        query: query_pairs(parts),
        body,
        actor: &actor,
        wall,
    };
    let reply = routes::route(&mut inner.world, &shared.urls, &call);
    let body = reply
        .body
        .as_ref()
        .map(|v| serde_json::to_vec(v).unwrap_or_default());
    let etag = (method == "GET" && reply.status == StatusCode::OK)
        .then(|| format!("W/\"{:016x}\"", fnv(body.as_deref().unwrap_or_default())));
    if let Some(tag) = &etag
        && none_match(&parts.headers, tag)
    {
        inner.stats.not_modified += 1;
        let primary = inner.limiter.primary(now, wall);
        return not_modified(primary, tag);
    }
    inner.limiter.count();
    if write {
        record_write(shared, &mut inner, method, path, reply.status.as_u16());
    }
    let primary = inner.limiter.primary(now, wall);
    finish(reply, body, etag, primary)
}

fn record_write(shared: &Shared, inner: &mut Inner, method: &str, path: &str, status: u16) {
    inner.stats.writes.push(WriteRecord {
        at: shared.clock.now().duration_since(shared.started),
        method: method.to_string(),
        path: path.to_string(),
        status,
    });
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// The token of `Authorization: Bearer <t>` or `token <t>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    known.then(|| token.trim())
}

/// Who the request's token belongs to, if it is one the simulator knows.
fn authenticate(shared: &Shared, inner: &Inner, headers: &HeaderMap) -> Option<String> {
    let token = bearer(headers)?;
    if token == shared.token {
        Some(shared.login.clone())
    } else if inner.app_tokens.contains(token) {
        Some(shared.app_login.clone())
    } else {
        None
    }
}

/// The installation id of `/app/installations/{id}/access_tokens`.
fn installation_id(path: &str) -> Option<u64> {
    let rest = path.strip_prefix("/app/installations/")?;
    rest.strip_suffix("/access_tokens")?.parse().ok()
}

/// `POST /app/installations/{id}/access_tokens` with an app's JWT: a new
/// `ghs_` token valid for an hour (its expiry is stated, not enforced).
fn issue_installation_token(shared: &Shared, inner: &mut Inner, headers: &HeaderMap) -> Response {
    if !bearer(headers).is_some_and(well_formed_jwt) {
        let message = "A JSON web token could not be decoded";
        return json_response(StatusCode::UNAUTHORIZED, &json::error(message, 401));
    }
    let wall = shared.clock.wall();
    let seed = format!("{}:{}", inner.app_tokens.len(), json::time(wall));
    let token = format!("ghs_{}", &fake_sha(&seed)[..36]);
    inner.app_tokens.insert(token.clone());
    let body = json!({
        "token": token,
        "expires_at": json::time(wall + Duration::from_secs(3600)),
        "permissions": {
            "contents": "write", "pull_requests": "write", "issues": "write",
            "checks": "read", "statuses": "read", "metadata": "read",
        },
        "repository_selection": "all",
    });
    json_response(StatusCode::CREATED, &body)
}

/// Whether `token` is three base64url parts: a header naming an `alg`,
/// claims with `iat`, `exp` (at most ten minutes apart, as GitHub
/// requires) and `iss`, and a signature. The signature is not checked.
fn well_formed_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let [head, claims, signature] = parts.as_slice() else {
        return false;
    };
    let decode =
        |part: &str| -> Option<Value> { serde_json::from_slice(&base64_decode(part)?).ok() };
    let (Some(head), Some(claims)) = (decode(head), decode(claims)) else {
        return false;
    };
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    head["alg"].is_string()
        && !claims["iss"].is_null()
        && matches!((iat, exp), (Some(iat), Some(exp)) if exp > iat && exp - iat <= 660)
        && !signature.is_empty()
        && base64_decode(signature).is_some()
}

/// Whether `If-None-Match` names `tag` (weak comparison, `*` matches).
fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let wanted = strip(tag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == wanted)
}

fn rate_headers(response: &mut Response, primary: Primary) {
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("x-ratelimit-limit", primary.limit.to_string());
    set("x-ratelimit-remaining", primary.remaining.to_string());
    set("x-ratelimit-used", primary.used.to_string());
    set("x-ratelimit-reset", primary.reset.to_string());
    set("x-ratelimit-resource", "core".to_string());
}

fn github_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    headers.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    headers.insert(
        "x-github-request-id",
        HeaderValue::from_static("0000:SIM:0000"),
    );
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    github_headers(&mut response);
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// An injected 5xx, with the JSON body GitHub's API answers with.
fn server_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let message = match status {
        StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
        StatusCode::BAD_GATEWAY => "Server Error",
        _ => "Internal Server Error",
    };
    json_response(status, &json::error(message, status.as_u16()))
}

fn primary_limited(primary: Primary) -> Response {
    let message = "API rate limit exceeded for user ID 1. If you reach out to GitHub Support \
                   for help, please include the request ID 0000:SIM:0000.";
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        "status": "403",
    });
    let mut response = json_response(StatusCode::FORBIDDEN, &body);
    rate_headers(&mut response, primary);
    response
}

fn secondary_limited(primary: Primary, retry: RetryAfter) -> Response {
    let message = "You have exceeded a secondary rate limit. Please wait a few minutes before \
                   you try again. If you reach out to GitHub Support for help, please include \
                   the request ID 0000:SIM:0000.";
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        "status": "403",
    });
    let mut response = json_response(StatusCode::FORBIDDEN, &body);
    rate_headers(&mut response, primary);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry.0));
    response
}

fn not_modified(primary: Primary, tag: &str) -> Response {
    let mut response = plain(StatusCode::NOT_MODIFIED, "");
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    github_headers(&mut response);
    rate_headers(&mut response, primary);
    response
}

/// An endpoint's reply with GitHub's headers.
fn finish(reply: Reply, body: Option<Vec<u8>>, etag: Option<String>, primary: Primary) -> Response {
    let mut response = match body {
        Some(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        None => Response::new(Body::empty()),
    };
    *response.status_mut() = reply.status;
    github_headers(&mut response);
    rate_headers(&mut response, primary);
    let headers = response.headers_mut();
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(header::ETAG, tag);
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=60, s-maxage=60"),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Authorization, Cookie"),
        );
    }
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::net::base64_encode;

    fn jwt(head: &str, claims: &str) -> String {
        let enc = |s: &str| {
            base64_encode(s.as_bytes())
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_")
        };
        format!("{}.{}.{}", enc(head), enc(claims), enc("signature"))
    }

    #[test]
    fn a_jwt_needs_three_parts_an_alg_and_iat_exp_iss_ten_minutes_apart() {
        let head = r#"{"alg":"RS256","typ":"JWT"}"#;
        assert!(well_formed_jwt(&jwt(
            head,
            r#"{"iat":1000,"exp":1540,"iss":"42"}"#
        )));
        assert!(!well_formed_jwt(&jwt(
            head,
            r#"{"iat":1000,"exp":5000,"iss":"42"}"#
        )));
        assert!(!well_formed_jwt(&jwt(head, r#"{"iat":1000,"exp":1540}"#)));
        assert!(!well_formed_jwt(&jwt(
            r#"{"typ":"JWT"}"#,
            r#"{"iat":1,"exp":2,"iss":1}"#
        )));
        assert!(!well_formed_jwt("ghp_not_a_jwt"));
        assert!(!well_formed_jwt("a.b"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(none_match(&headers, "W/\"abc\""));
        assert!(!none_match(&headers, "W/\"abd\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match(&headers, "W/\"anything\""));
        assert!(!none_match(&HeaderMap::new(), "W/\"abc\""));
    }
}
