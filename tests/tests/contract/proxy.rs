//! A recording proxy between the GitHub forge and prism: it keeps every
//! request and answer (with prism's `sl-violations` header, which the forge
//! never shows), and bridges the four places where prism, a stateless mock
//! of a description, is not GitHub:
//!
//! * **Accept**: GitHub's media type `application/vnd.github+json` (what
//!   fleetwright sends, as GitHub asks) is not in the description, which
//!   lists `application/json`; prism answers 406 to it. The proxy sends
//!   `application/json` in its place and records what the client sent.
//! * **Link**: prism answers listings with the description's placeholder
//!   `<https://api.github.com/resource?page=2>; rel="next"`, a path GitHub
//!   does not have. The proxy links the first page to page 2 of the same
//!   listing (under the proxy's URL, as GitHub links under its own) and
//!   page 2 to nothing, so that following pages is checked too.
//! * **ETag**: prism sends none and keeps no state. The proxy tags every
//!   200 answer to a GET with a hash of its body, as GitHub does, and turns
//!   the answer into a 304 when the request's `If-None-Match` names that
//!   tag, so the forge's conditional reads are exercised. Prism still sees
//!   and validates every request.
//! * **Example objects**: where the description's example `value` is a
//!   `$ref` to an Example Object (its own defect: `GET
//!   /repos/{owner}/{repo}/issues/{issue_number}` refers to
//!   `#/components/examples/issue`), prism answers that object,
//!   `{"value": {...}}`, instead of the example. The proxy answers its
//!   `value`, and notes it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// One violation prism lists in `sl-violations`.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    /// `["request", "body", "title"]` or `["response", "body", ...]`.
    #[serde(default)]
    pub location: Vec<String>,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub message: String,
}

impl Violation {
    /// Whether the request broke the description (else the answer did).
    pub fn of_request(&self) -> bool {
        self.location.first().map(String::as_str) == Some("request")
    }
}

/// One request through the proxy and its answer.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub method: String,
    /// Path and query, as the client sent them.
    pub target: String,
    /// The `Accept` header the client sent.
    pub accept: Option<String>,
    /// The scheme of the `Authorization` header (`Bearer`), never the
    /// credentials.
    pub auth_scheme: Option<String>,
    pub content_type: Option<String>,
    pub request_body: String,
    /// The status the client got.
    pub status: u16,
    /// The status prism answered (differs when the proxy made it a 304).
    pub prism_status: u16,
    pub response_content_type: Option<String>,
    /// Prism's `sl-violations`, request and response alike.
    pub violations: Vec<Violation>,
    /// `sl-violations` when it was not a JSON list (prism cuts long ones).
    pub violations_raw: Option<String>,
    /// Prism's answer body.
    pub response_body: String,
    /// What the proxy changed.
    pub notes: Vec<String>,
}

impl Exchange {
    /// `GET /repos/...`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }
}

struct Inner {
    prism: String,
    /// The proxy's own URL, for the `Link`s it writes.
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    log: Mutex<Vec<Exchange>>,
}

/// The running proxy.
pub struct Recorder {
    /// `http://127.0.0.1:PORT`: the forge's API URL.
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Listen on a free port of 127.0.0.1 and forward to `prism`.
    pub async fn start(prism: &str) -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the recording proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Inner {
            prism: prism.trim_end_matches('/').to_string(),
            url: url.clone(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(forward).with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("recording proxy");
        });
        Recorder { url, inner, task }
    }

    /// Every exchange since the last call.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.inner.log.lock().unwrap())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// GitHub's JSON media types (`application/vnd.github+json`,
/// `application/vnd.github.v3+json`), which the description spells
/// `application/json`.
fn is_github_json(accept: &str) -> bool {
    accept
        .split(',')
        .map(|part| part.split(';').next().unwrap_or("").trim())
        .all(|t| t.starts_with("application/vnd.github") && t.ends_with("+json"))
}

/// The `value` of a body that is an OpenAPI Example Object (`value`, with
/// at most `summary`, `description` and `x-` extensions beside it), not a
/// resource.
fn example_value(body: &[u8]) -> Option<Bytes> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let only_example_keys = map
        .keys()
        .all(|k| matches!(k.as_str(), "value" | "summary" | "description") || k.starts_with("x-"));
    let value = map.get("value").filter(|_| only_example_keys)?;
    serde_json::to_vec(value).ok().map(Bytes::from)
}

fn etag_of(body: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let target = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        target: target.clone(),
        accept: header_text(&parts.headers, header::ACCEPT),
        auth_scheme: header_text(&parts.headers, header::AUTHORIZATION)
            .map(|a| a.split_whitespace().next().unwrap_or("").to_string()),
        content_type: header_text(&parts.headers, header::CONTENT_TYPE),
        request_body: String::from_utf8_lossy(&body).into_owned(),
        ..Exchange::default()
    };

    let mut upstream = http::Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{target}", inner.prism));
    for (name, value) in &parts.headers {
        if matches!(
            *name,
            header::HOST | header::CONTENT_LENGTH | header::CONNECTION | header::ACCEPT
        ) {
            continue;
        }
        upstream = upstream.header(name, value);
    }
    if let Some(accept) = &exchange.accept {
        let sent = if is_github_json(accept) {
            exchange.notes.push(format!(
                "Accept `{accept}` sent to prism as `application/json`"
            ));
            "application/json"
        } else {
            accept.as_str()
        };
        upstream = upstream.header(header::ACCEPT, sent);
    }
    let upstream = upstream.body(Full::new(body)).expect("a request to prism");
    let answer = match inner.client.request(upstream).await {
        Ok(answer) => answer,
        Err(e) => {
            exchange.status = 502;
            exchange.notes.push(format!("prism did not answer: {e}"));
            inner.log.lock().unwrap().push(exchange);
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(format!("prism did not answer: {e}")))
                .unwrap();
        }
    };
    let (mut answer_parts, answer_body) = answer.into_parts();
    let answer_body = answer_body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    exchange.prism_status = answer_parts.status.as_u16();
    exchange.response_content_type = header_text(&answer_parts.headers, header::CONTENT_TYPE);
    exchange.response_body = String::from_utf8_lossy(&answer_body).into_owned();
    if let Some(raw) = header_text(&answer_parts.headers, "sl-violations") {
        match serde_json::from_str::<Vec<Violation>>(&raw) {
            Ok(list) => exchange.violations = list,
            Err(_) => exchange.violations_raw = Some(raw),
        }
    }

    let answer_body = match example_value(&answer_body) {
        Some(inner_value) if answer_parts.status.is_success() => {
            exchange.notes.push(
                "the description's example is an Example Object: its `value` answered".into(),
            );
            inner_value
        }
        _ => answer_body,
    };

    let headers = &mut answer_parts.headers;
    for name in [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    let is_get = parts.method == http::Method::GET;
    if is_get && answer_parts.status == StatusCode::OK {
        if headers.contains_key(header::LINK) {
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let first_page = !query.split('&').any(|p| p.starts_with("page="));
            if first_page {
                let sep = if query.is_empty() { "" } else { "&" };
                let next = format!("{}{path}?{query}{sep}page=2", inner.url);
                let link = format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"");
                exchange.notes.push("Link: next is page 2".into());
                headers.insert(header::LINK, HeaderValue::from_str(&link).unwrap());
            } else {
                exchange.notes.push("Link: none, the last page".into());
                headers.remove(header::LINK);
            }
        }
        if !headers.contains_key(header::ETAG) {
            let etag = etag_of(&answer_body);
            headers.insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
            let matched = parts
                .headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
            if matched {
                exchange
                    .notes
                    .push("If-None-Match matched its ETag: 304".into());
                answer_parts.status = StatusCode::NOT_MODIFIED;
                headers.remove(header::CONTENT_TYPE);
                headers.remove("sl-violations");
                exchange.status = 304;
                inner.log.lock().unwrap().push(exchange);
                return Response::from_parts(answer_parts, Body::empty());
            }
        }
    }
    exchange.status = answer_parts.status.as_u16();
    inner.log.lock().unwrap().push(exchange);
    Response::from_parts(answer_parts, Body::from(answer_body))
}
