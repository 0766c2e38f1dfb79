//! Reading entities from Backstage's catalog API: `GET
//! {url}/api/catalog/entities/by-query`, the first request with the
//! campaign's filter sets, the next ones with `pageInfo.nextCursor` only
//! (Backstage takes the filter from the cursor), each asking for
//! [`FIELDS`] and [`DEFAULT_PAGE_SIZE`] entities, with the bearer token.
//!
//! The HTTP stack is the one octocrab already brings (hyper, hyper-util's
//! client, hyper-rustls with the system's roots). Redirects are not
//! followed: the token goes to the campaign's origin only.

use std::time::Duration;

use bytes_free::collect_limited;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::Value;

use super::{BackstageSource, FIELDS, Snapshot};
use crate::secret::Secret;
use crate::urls::Origin;

/// Entities asked for per request (Backstage may send fewer; the cursor
/// says when there are more).
pub const DEFAULT_PAGE_SIZE: u32 = 500;
/// How long one request may take, answer included.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read for one page.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// Why a live catalog could not be read. Every message names the URL
/// (never the token) and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackstageError {
    #[error(
        "the environment variable {var} holds no Backstage token (catalog.backstage.token_env, to read {url})"
    )]
    NoToken { var: String, url: String },
    #[error("Backstage at {url} refused the token ({status}): {message}")]
    Unauthorized {
        url: String,
        status: StatusCode,
        message: String,
        var: String,
    },
    #[error("{url} answered 404 Not Found: no Backstage catalog API there")]
    NotFound { url: String },
    #[error("Backstage at {url} answered {status}: {message}")]
    Status {
        url: String,
        status: StatusCode,
        message: String,
    },
    #[error("Backstage at {url} answered a redirect ({status}) to {to}")]
    Redirect {
        url: String,
        status: StatusCode,
        to: String,
    },
    #[error("{url} did not answer JSON ({content_type}): {excerpt}")]
    NotJson {
        url: String,
        content_type: String,
        excerpt: String,
    },
    #[error("cannot reach Backstage at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("Backstage at {url} did not answer within {} s", .seconds)]
    Timeout { url: String, seconds: u64 },
    #[error(
        "Backstage at {url} gave a page cursor it gave before: its paging goes round in circles"
    )]
    CursorLoop { url: String },
    #[error("cannot set up the HTTPS client for {url}: {message}")]
    Setup { url: String, message: String },
}

impl BackstageError {
    /// What to do now, in one sentence.
    pub fn hint(&self) -> String {
        match self {
            BackstageError::NoToken { var, .. } => format!(
                "export {var}=<token> (a Backstage static token or service token allowed to read the catalog), or name another variable in catalog.backstage.token_env"
            ),
            BackstageError::Unauthorized { var, .. } => format!(
                "check the token in {var}: it must be one this Backstage accepts (backend.auth.externalAccess) and allowed to read catalog entities"
            ),
            BackstageError::NotFound { .. } => "catalog.backstage.url is the base URL of Backstage's backend (the catalog API is at <url>/api/catalog): check it".to_string(),
            BackstageError::Status { status, .. } if status.is_server_error() => {
                "Backstage failed: try again later, or ask its operators (the error above is what it said)".to_string()
            }
            BackstageError::Status { .. } => {
                "the request was refused as written: check catalog.backstage.filter in the campaign".to_string()
            }
            BackstageError::Redirect { .. } => "point catalog.backstage.url at the address the redirect names (the token is not sent on to another address)".to_string(),
            BackstageError::NotJson { .. } => "catalog.backstage.url must be Backstage's backend, not its web page or a login proxy: check it".to_string(),
            BackstageError::Unreachable { .. } | BackstageError::Timeout { .. } => {
                "check the URL and the network, then run the same command again".to_string()
            }
            BackstageError::CursorLoop { .. } => "this is Backstage's defect: report it to its operators".to_string(),
            BackstageError::Setup { .. } => "check the system's TLS root certificates".to_string(),
        }
    }

    /// True when the campaign or the environment is wrong (bad input),
    /// false when Backstage or the network failed.
    pub fn is_bad_input(&self) -> bool {
        match self {
            BackstageError::NoToken { .. }
            | BackstageError::Unauthorized { .. }
            | BackstageError::NotFound { .. }
            | BackstageError::Redirect { .. }
            | BackstageError::NotJson { .. } => true,
            BackstageError::Status { status, .. } => status.is_client_error(),
            BackstageError::Unreachable { .. }
            | BackstageError::Timeout { .. }
            | BackstageError::CursorLoop { .. }
            | BackstageError::Setup { .. } => false,
        }
    }
}

/// The token for `source`, from its environment variable.
pub fn token(source: &BackstageSource) -> Result<Secret, BackstageError> {
    let token = crate::secret::env_var(&source.token_env);
    match token.as_ref().map(|t| t.expose().trim()) {
        Some(t) if !t.is_empty() => Ok(Secret::new(t)),
        _ => Err(BackstageError::NoToken {
            var: source.token_env.clone(),
            url: source.url.clone(),
        }),
    }
}

/// What one page brought, for progress.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based.
    pub number: usize,
    /// Entities read so far.
    pub read: usize,
    /// What Backstage says the query holds.
    pub total: Option<u64>,
}

/// A client of one Backstage's catalog.
pub struct Client {
    source: BackstageSource,
    token: Secret,
    http: HyperClient<hyper_rustls::HttpsConnector<crate::proxy::Connector>, Empty<Bytes>>,
    page_size: u32,
}

impl Client {
    /// A client for `source` with `token`, through the environment's proxy
    /// for its host (`https_proxy`, `no_proxy`). Refused when the URL may
    /// not carry a token (plain http to another machine: the campaign check
    /// refuses it first).
    pub fn new(source: &BackstageSource, token: Secret) -> Result<Client, BackstageError> {
        Self::with_proxies(source, token, &crate::proxy::ProxyEnv::from_env())
    }

    /// [`Client::new`], with the proxies given (tests).
    pub fn with_proxies(
        source: &BackstageSource,
        token: Secret,
        proxies: &crate::proxy::ProxyEnv,
    ) -> Result<Client, BackstageError> {
        let setup = |message: String| BackstageError::Setup {
            url: source.url.clone(),
            message,
        };
        if !Origin::parse(&source.url).is_some_and(|o| o.may_carry_token()) {
            return Err(setup(
                "the URL is not https (plain http only on this machine's loopback)".to_string(),
            ));
        }
        let proxy = proxies.for_url(&source.url);
        if let Some(proxy) = proxy {
            tracing::debug!(%proxy, "the Backstage catalog goes through a proxy");
        }
        let https = crate::proxy::https_connector(proxy).map_err(setup)?;
        let http = HyperClient::builder(TokioExecutor::new()).build(https);
        Ok(Client {
            source: source.clone(),
            token,
            http,
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    /// Ask for `size` entities a page (tests page through small catalogs).
    pub fn with_page_size(mut self, size: u32) -> Client {
        self.page_size = size.max(1);
        self
    }

    /// The query string of the first request.
    pub fn first_query(&self) -> String {
        let mut parts: Vec<String> = self
            .source
            .filter_sets()
            .iter()
            .map(|f| format!("filter={}", encode(f)))
            .collect();
        parts.push(format!("fields={}", encode(&FIELDS.join(","))));
        parts.push(format!("limit={}", self.page_size));
        parts.join("&")
    }

    /// The query string of a next request.
    pub fn next_query(&self, cursor: &str) -> String {
        format!(
            "cursor={}&fields={}&limit={}",
            encode(cursor),
            encode(&FIELDS.join(",")),
            self.page_size
        )
    }

    /// Read every entity the campaign's filter selects, and every Group
    /// and User, page after page; `progress` hears of each page.
    pub async fn read(&self, progress: &mut dyn FnMut(Page)) -> Result<Snapshot, BackstageError> {
        let mut entities = Vec::new();
        let mut query = self.first_query();
        let mut seen = std::collections::HashSet::new();
        for number in 1.. {
            let page = self.page(&query).await?;
            entities.extend(page.items.iter().map(Value::to_string));
            progress(Page {
                number,
                read: entities.len(),
                total: page.total_items,
            });
            tracing::info!(
                page = number,
                read = entities.len(),
                "read a page of the Backstage catalog"
            );
            match page.page_info.and_then(|p| p.next_cursor) {
                Some(cursor) if !cursor.is_empty() => {
                    if !seen.insert(cursor.clone()) {
                        return Err(BackstageError::CursorLoop {
                            url: self.source.query_url(),
                        });
                    }
                    query = self.next_query(&cursor);
                }
                _ => break,
            }
        }
        Ok(Snapshot {
            source: self.source.url.clone(),
            entities,
        })
    }

    /// One request.
    async fn page(&self, query: &str) -> Result<QueryPage, BackstageError> {
        let url = self.source.query_url();
        let uri = format!("{url}?{query}");
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", self.token.expose())).map_err(|_| {
                BackstageError::Unauthorized {
                    url: url.clone(),
                    status: StatusCode::UNAUTHORIZED,
                    message: "the token holds characters no HTTP header can carry".to_string(),
                    var: self.source.token_env.clone(),
                }
            })?;
        auth.set_sensitive(true);
        let request = Request::get(uri.as_str())
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, auth)
            .body(Empty::new())
            .map_err(|e| BackstageError::Setup {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let exchange = async {
            let response =
                self.http
                    .request(request)
                    .await
                    .map_err(|e| BackstageError::Unreachable {
                        url: url.clone(),
                        message: error_chain(&e),
                    })?;
            let (parts, body) = response.into_parts();
            let body = collect_limited(body, MAX_PAGE_BYTES)
                .await
                .map_err(|message| BackstageError::Unreachable {
                    url: url.clone(),
                    message,
                })?;
            Ok::<_, BackstageError>((parts, body))
        };
        let (parts, body) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| BackstageError::Timeout {
                url: url.clone(),
                seconds: TIMEOUT.as_secs(),
            })??;
        let status = parts.status;
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_string();
        if status.is_redirection() {
            let to = parts
                .headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map_or_else(
                    || "nowhere".to_string(),
                    |l| crate::urls::redact(l).into_owned(),
                );
            return Err(BackstageError::Redirect { url, status, to });
        }
        if !status.is_success() {
            let message = error_message(&body);
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => BackstageError::Unauthorized {
                    url,
                    status,
                    message,
                    var: self.source.token_env.clone(),
                },
                StatusCode::NOT_FOUND => BackstageError::NotFound { url },
                _ => BackstageError::Status {
                    url,
                    status,
                    message,
                },
            });
        }
        serde_json::from_slice::<QueryPage>(&body).map_err(|e| BackstageError::NotJson {
            url,
            content_type,
            excerpt: format!("{e}; it begins `{}`", excerpt(&body)),
        })
    }
}

/// `GET …/entities/by-query`'s answer, as far as it is read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    items: Vec<Value>,
    #[serde(default)]
    total_items: Option<u64>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    #[serde(default)]
    next_cursor: Option<String>,
}

/// Backstage's error body (`{"error": {"name", "message"}}`), else the
/// start of the text; escaped for a terminal, secrets scrubbed.
fn error_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let e = v.get("error")?;
        let name = e.get("name").and_then(Value::as_str).unwrap_or("Error");
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        Some(format!("{name}: {message}"))
    });
    let text = from_json.unwrap_or_else(|| format!("`{}`", excerpt(body)));
    crate::secret::scrub(&crate::escape::terminal(&text))
}

/// The first 120 characters of a body, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::secret::scrub(one_line.trim())
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    crate::secret::scrub(&out)
}

/// Percent-encode a query value: everything but unreserved characters and
/// the separators Backstage's filter and field syntax use (`=`, `,`, `.`,
/// `/`, `:`), which its OpenAPI description allows as they are.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~=,/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reading a body with a size limit, without a bytes dependency.
mod bytes_free {
    use http_body_util::BodyExt;

    pub(super) async fn collect_limited(
        body: hyper::body::Incoming,
        limit: usize,
    ) -> Result<Vec<u8>, String> {
        let limited = http_body_util::Limited::new(body, limit);
        match limited.collect().await {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(e) => Err(format!("reading the answer: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_the_filter_syntax_and_escapes_the_rest() {
        assert_eq!(
            encode("kind=component,spec.lifecycle=production"),
            "kind=component,spec.lifecycle=production"
        );
        assert_eq!(encode("a b&c#d?e+f"), "a%20b%26c%23d%3Fe%2Bf");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
