//! Requests to GitLab's REST API v4: a thin layer on hyper + rustls (the
//! stack octocrab already brings), paced by the shared
//! [`Pacer`](crate::forge::pacing::Pacer) in GitLab's [`Dialect`].
//!
//! Paths are always relative to the configured API URL (`…/api/v4`); the
//! token goes in one header (`PRIVATE-TOKEN`, or `Authorization: Bearer`),
//! marked sensitive, and only to that URL: redirects are never followed,
//! and a `Link` to another origin is never followed either.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::forge::ForgeError;
use crate::forge::github::api::{BaseUrl, error_chain, next_page};
use crate::forge::pacing::{Dialect, Kind, Pacer, RawResponse, SendError};
use crate::secret::Secret;

/// The most pages one listing follows (100 items each).
const MAX_PAGES: usize = 50;

/// How long one attempt may take before it counts as a timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How the token is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenHeader {
    /// `PRIVATE-TOKEN: <token>`: personal, project and group access tokens.
    #[default]
    PrivateToken,
    /// `Authorization: Bearer <token>`: OAuth tokens (and access tokens too).
    Bearer,
}

impl TokenHeader {
    /// The word in campaign files.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenHeader::PrivateToken => "private_token",
            TokenHeader::Bearer => "bearer",
        }
    }
}

impl std::str::FromStr for TokenHeader {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [TokenHeader::PrivateToken, TokenHeader::Bearer]
            .into_iter()
            .find(|h| h.as_str() == s)
            .ok_or_else(|| format!("token header `{s}` is unknown: `private_token` or `bearer`"))
    }
}

type Https = hyper_rustls::HttpsConnector<crate::proxy::Connector>;

/// The request layer of the GitLab forge.
#[derive(Debug)]
pub(crate) struct Api {
    base: BaseUrl,
    client: Client<Https, Full<Bytes>>,
    token: Secret,
    header: TokenHeader,
    pacer: Arc<Pacer>,
}

impl Api {
    /// The request layer for `base`, through `proxy` when the environment
    /// names one for its host (a `CONNECT` tunnel: the proxy never sees
    /// the token).
    pub(crate) fn new(
        base: BaseUrl,
        token: Secret,
        header: TokenHeader,
        pacer: Arc<Pacer>,
        proxy: Option<&crate::proxy::Proxy>,
    ) -> Result<Self, ForgeError> {
        if let Some(proxy) = proxy {
            tracing::debug!(%proxy, "the GitLab API goes through a proxy");
        }
        let https = crate::proxy::https_connector(proxy).map_err(|why| {
            ForgeError::Refused(format!("cannot set up the connection to GitLab: {why}"))
        })?;
        let client = Client::builder(TokioExecutor::new()).build(https);
        crate::secret::remember(token.expose());
        Ok(Api {
            base,
            client,
            token,
            header,
            pacer,
        })
    }

    pub(crate) fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// Send through the pacer; GitLab's answer whatever its status.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.paced(false, method, path, body).await
    }

    /// [`Api::send`] for a write that must not be sent twice (opening an
    /// issue): a transient failure is returned, not retried.
    pub(crate) async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.paced(true, method, path, body).await
    }

    async fn paced(
        &self,
        once: bool,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        let kind = Kind::of(&method);
        let attempt = || self.attempt(&method, path, body);
        let sent = if once {
            self.pacer.send_once(kind, attempt).await
        } else {
            self.pacer.send(kind, attempt).await
        };
        sent.map_err(|e| self.error(e.status, &e.message))
    }

    /// Send, require a 2xx, and read the JSON.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, ForgeError> {
        let response = self.send(method, path, body).await?;
        let response = self.success(response, what)?;
        self.json(&response.body, what)
    }

    /// Every page of a listing, following `Link: rel="next"` under the API
    /// URL only.
    pub(crate) async fn get_all(&self, first: &str, what: &str) -> Result<Vec<Value>, ForgeError> {
        let mut items = Vec::new();
        let mut next = Some(first.to_string());
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else {
                return Ok(items);
            };
            let response = self.send(Method::GET, &path, None).await?;
            let response = self.success(response, what)?;
            match self.json(&response.body, what)? {
                Value::Array(page) => items.extend(page),
                _ => {
                    return Err(self.error(None, &format!("{what}: GitLab did not answer a list")));
                }
            }
            next = next_page(&self.base, &response, "GitLab", what)
                .map_err(|why| self.error(None, &why))?;
        }
        if next.is_some() {
            tracing::warn!("{what}: stopped after {MAX_PAGES} pages");
        }
        Ok(items)
    }

    pub(crate) fn json(&self, body: &str, what: &str) -> Result<Value, ForgeError> {
        serde_json::from_str(body)
            .map_err(|e| self.error(None, &format!("{what}: GitLab's answer is not JSON ({e})")))
    }

    pub(crate) fn success(
        &self,
        response: RawResponse,
        what: &str,
    ) -> Result<RawResponse, ForgeError> {
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        Err(self.status_error(&response, what))
    }

    /// 404 is [`ForgeError::NotFound`]; anything else [`ForgeError::Forge`]
    /// with GitLab's own words and what to do about a 401 or 403.
    pub(crate) fn status_error(&self, response: &RawResponse, what: &str) -> ForgeError {
        let said = gitlab_message(&response.body);
        let status = response.status;
        let message = match status {
            401 => format!(
                "{what}: GitLab refused the token (401: {said}); check that it has not expired and has the `api` scope"
            ),
            403 => format!(
                "{what}: GitLab refused (403: {said}); the token's user needs at least the Developer role on the project"
            ),
            _ => format!("{what}: GitLab answered {status}: {said}"),
        };
        if status == 404 {
            return ForgeError::NotFound(crate::urls::redact_text(&message).into_owned());
        }
        self.error(Some(status), &message)
    }

    /// A [`ForgeError::Forge`] with every secret taken out.
    pub(crate) fn error(&self, status: Option<u16>, message: &str) -> ForgeError {
        ForgeError::Forge {
            status,
            message: crate::urls::redact_text(message).into_owned(),
        }
    }

    /// One try.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, SendError> {
        let url = format!("{}{path}", self.base.as_str());
        let mut token = match self.header {
            TokenHeader::PrivateToken => HeaderValue::from_str(self.token.expose()),
            TokenHeader::Bearer => {
                HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            }
        }
        .map_err(|_| SendError {
            message: "the GitLab token holds characters a header cannot carry".into(),
            status: None,
            transient: false,
        })?;
        token.set_sensitive(true);
        let name = match self.header {
            TokenHeader::PrivateToken => "private-token",
            TokenHeader::Bearer => "authorization",
        };
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(name, token)
            .header("accept", "application/json")
            .header(
                "user-agent",
                concat!("fleetwright/", env!("CARGO_PKG_VERSION")),
            );
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| SendError {
                message: format!("cannot build a request to GitLab: {e}"),
                status: None,
                transient: false,
            })?;
        let unreachable = |e: &dyn std::fmt::Display| SendError {
            message: crate::urls::redact_text(&format!(
                "could not reach GitLab at {}: {e}",
                self.base.as_str()
            ))
            .into_owned(),
            status: None,
            transient: true,
        };
        let response =
            match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(request)).await {
                Err(_) => return Err(unreachable(&"no answer within 60 s")),
                Ok(Err(e)) => return Err(unreachable(&error_chain(&e))),
                Ok(Ok(response)) => response,
            };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| SendError {
                message: format!("reading GitLab's answer failed: {e}"),
                status: Some(status),
                transient: true,
            })?
            .to_bytes();
        Ok(RawResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// The pacer dialect of GitLab.
pub(crate) const DIALECT: Dialect = Dialect::GITLAB;

/// GitLab's explanation in an error body: `message` (a string, a list, or
/// an object of field → messages) or `error`.
pub(crate) fn gitlab_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        let text = body.trim().lines().next().unwrap_or("").trim();
        return if text.is_empty() {
            "no explanation".into()
        } else {
            text.chars().take(200).collect()
        };
    };
    let flatten = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("; "),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::Array(items) => format!(
                        "{k} {}",
                        items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    other => format!("{k} {other}"),
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    };
    if let Some(message) = value.get("message") {
        return flatten(message);
    }
    if let Some(error) = value.get("error") {
        return flatten(error);
    }
    "no explanation".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_messages_in_each_shape() {
        assert_eq!(
            gitlab_message(r#"{"message":"404 Project Not Found"}"#),
            "404 Project Not Found"
        );
        assert_eq!(
            gitlab_message(
                r#"{"message":["Another open merge request already exists for this source branch: !1"]}"#
            ),
            "Another open merge request already exists for this source branch: !1"
        );
        assert_eq!(
            gitlab_message(r#"{"message":{"title":["can't be blank"]}}"#),
            "title can't be blank"
        );
        assert_eq!(
            gitlab_message(r#"{"error":"title is missing"}"#),
            "title is missing"
        );
        assert_eq!(gitlab_message(""), "no explanation");
    }

    #[test]
    fn token_headers_read_from_campaign_words() {
        assert_eq!("bearer".parse(), Ok(TokenHeader::Bearer));
        assert_eq!("private_token".parse(), Ok(TokenHeader::PrivateToken));
        assert!("basic".parse::<TokenHeader>().is_err());
    }
}
