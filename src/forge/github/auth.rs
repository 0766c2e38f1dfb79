//! Signing in to GitHub: a token, or a GitHub App.
//!
//! A **token** (personal access token, fine-grained token, or any token
//! GitHub takes as `Bearer`) is read by the caller from an environment
//! variable, never from a command-line argument, where `ps` and the shell
//! history would show it.
//!
//! A **GitHub App** signs a short JWT with its private key, and trades it
//! for an installation token per installation (an organization or user that
//! installed the app). octocrab does the trade and refreshes the API token
//! before it expires (and once more on a 401). When the installation is not
//! configured, it is looked up per repository owner
//! (`GET /repos/{owner}/{repo}/installation`) and remembered.
//!
//! Git needs a token too (HTTPS pushes). For an App that is a separate
//! installation token, minted here so that it is handed out with at least
//! [`GIT_TOKEN_MARGIN`] of life left on the injectable clock: a push must
//! not outlive its token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use octocrab::models::{AppId, InstallationId};
use octocrab::{
    AuthState, DefaultOctocrabBuilderConfig, NoAuth, NoSvc, NotLayerReady, Octocrab,
    OctocrabBuilder,
};
use serde_json::Value;

use super::api::{Api, BaseUrl, Redactor};
use crate::forge::ForgeError;
use crate::secret::Secret;

/// The least life a git token has left when it is handed out.
pub const GIT_TOKEN_MARGIN: Duration = Duration::from_secs(10 * 60);

/// How fleetwright signs in to GitHub.
#[derive(Debug, Clone)]
pub enum GitHubAuth {
    /// A token, sent as `Authorization: Bearer`; also the token git uses.
    Token(Secret),
    /// A GitHub App and its private key (PEM). Without `installation_id`,
    /// the installation is looked up for each repository's owner.
    App {
        app_id: u64,
        private_key_pem: Secret,
        installation_id: Option<u64>,
    },
}

/// The octocrab clients for one GitHub: one for a token, or the app's
/// plus one per installation.
#[derive(Debug)]
pub(crate) struct Clients {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Token { crab: Arc<Octocrab>, token: Secret },
    App(Box<App>),
}

/// A GitHub App's clients and what it learnt about its installations.
#[derive(Debug)]
struct App {
    app_id: u64,
    /// Signs requests as the app itself (JWT).
    jwt: Arc<Octocrab>,
    configured: Option<u64>,
    /// Installation per repository owner (lowercase).
    owners: Mutex<HashMap<String, u64>>,
    /// One client per installation: each caches and refreshes its token.
    installations: Mutex<HashMap<u64, Arc<Octocrab>>>,
    /// The installation used last, for the git token.
    last: Mutex<Option<u64>>,
    git_tokens: tokio::sync::Mutex<HashMap<u64, GitToken>>,
}

/// An installation token minted for git.
#[derive(Debug, Clone)]
struct GitToken {
    token: Secret,
    /// Expiry in Unix seconds; `None` when GitHub gave none.
    expires: Option<u64>,
}

type Builder = OctocrabBuilder<NoSvc, DefaultOctocrabBuilderConfig, NoAuth, NotLayerReady>;

impl Clients {
    /// Build the clients. Must run inside a tokio runtime (octocrab spawns
    /// its connection worker there).
    pub(crate) fn new(
        base: &BaseUrl,
        auth: &GitHubAuth,
        redactor: &Redactor,
        proxies: &crate::proxy::ProxyEnv,
    ) -> Result<Self, ForgeError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ForgeError::Refused(
                "the GitHub forge must be created inside a tokio runtime".into(),
            ));
        }
        // The environment's proxy for the API's host (`https_proxy`, unless
        // `no_proxy` names it; loopback never). Only the API's own host is
        // ever asked: every request goes to it (`BaseUriLayer`).
        let proxy = proxies.for_url(base.as_str()).cloned();
        if let Some(proxy) = &proxy {
            tracing::debug!(%proxy, "the GitHub API goes through a proxy");
        }
        let mode = match auth {
            GitHubAuth::Token(token) => {
                let token = checked_token(token)?;
                redactor.add(token.expose());
                let crab = match &proxy {
                    Some(proxy) => {
                        let mut bearer =
                            http::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                                .map_err(|_| {
                                    ForgeError::Refused(
                                        "the GitHub token cannot travel in a header".into(),
                                    )
                                })?;
                        bearer.set_sensitive(true);
                        through_proxy(base, proxy, Some(bearer), AuthState::None)?
                    }
                    None => builder(base)?
                        .personal_token(token.expose().to_string())
                        .build()
                        .map_err(|e| build_error(&e, redactor))?,
                };
                Mode::Token {
                    crab: Arc::new(crab),
                    token,
                }
            }
            GitHubAuth::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                redactor.add(private_key_pem.expose());
                let not_rsa = || {
                    ForgeError::Refused(format!(
                        "the private key of GitHub App {app_id} is not an RSA key in PEM format"
                    ))
                };
                let crab = match &proxy {
                    Some(proxy) => {
                        let key = octocrab::EncodingKey::from_rsa_pem(
                            private_key_pem.expose().as_bytes(),
                        )
                        .map_err(|_| not_rsa())?;
                        let app = octocrab::auth::AppAuth {
                            app_id: AppId(*app_id),
                            key,
                        };
                        through_proxy(base, proxy, None, AuthState::App(app))?
                    }
                    None => builder(base)?
                        .app_from_rsa_pem(AppId(*app_id), private_key_pem.expose())
                        .map_err(|_| not_rsa())?
                        .build()
                        .map_err(|e| build_error(&e, redactor))?,
                };
                Mode::App(Box::new(App {
                    app_id: *app_id,
                    jwt: Arc::new(crab),
                    configured: *installation_id,
                    owners: Mutex::new(HashMap::new()),
                    installations: Mutex::new(HashMap::new()),
                    last: Mutex::new(*installation_id),
                    git_tokens: tokio::sync::Mutex::new(HashMap::new()),
                }))
            }
        };
        Ok(Clients { mode })
    }

    /// The client that acts on `owner/repo`.
    pub(crate) async fn for_repo(
        &self,
        api: &Api,
        owner: &str,
        repo: &str,
    ) -> Result<Arc<Octocrab>, ForgeError> {
        match &self.mode {
            Mode::Token { crab, .. } => Ok(crab.clone()),
            Mode::App(app) => {
                let id = match app.configured {
                    Some(id) => id,
                    None => app.installation_for(api, owner, repo).await?,
                };
                *lock(&app.last) = Some(id);
                app.client(id, api)
            }
        }
    }

    /// The token git uses over HTTPS.
    pub(crate) async fn git_token(&self, api: &Api) -> Result<Secret, ForgeError> {
        match &self.mode {
            Mode::Token { token, .. } => Ok(token.clone()),
            Mode::App(app) => app.git_token(api).await,
        }
    }
}

impl App {
    /// The installation of the app on `owner` (looked up once per owner).
    async fn installation_for(
        &self,
        api: &Api,
        owner: &str,
        repo: &str,
    ) -> Result<u64, ForgeError> {
        let key = owner.to_ascii_lowercase();
        if let Some(id) = lock(&self.owners).get(&key) {
            return Ok(*id);
        }
        let path = format!("/repos/{owner}/{repo}/installation");
        let what = format!(
            "finding the installation of GitHub App {} for {owner}/{repo}",
            self.app_id
        );
        let response = api
            .send(&self.jwt, Method::GET, &path, None, &http::HeaderMap::new())
            .await?;
        if response.status == 404 {
            return Err(ForgeError::NotFound(format!(
                "GitHub App {} is not installed on {owner}/{repo}: install it there, or check the app id",
                self.app_id
            )));
        }
        let response = api.success(response, &what)?;
        let id = id_of(&api.json(&response.body, &what)?).ok_or_else(|| {
            api.forge_error(None, &format!("{what}: GitHub sent no installation id"))
        })?;
        lock(&self.owners).insert(key, id);
        Ok(id)
    }

    /// The client of installation `id`, made once.
    fn client(&self, id: u64, api: &Api) -> Result<Arc<Octocrab>, ForgeError> {
        let mut installations = lock(&self.installations);
        if let Some(crab) = installations.get(&id) {
            return Ok(crab.clone());
        }
        let crab = Arc::new(
            self.jwt
                .installation(InstallationId(id))
                .map_err(|e| build_error(&e, api.redactor()))?,
        );
        installations.insert(id, crab.clone());
        Ok(crab)
    }

    /// A git token with at least [`GIT_TOKEN_MARGIN`] to live, minted when
    /// the cached one is too old.
    async fn git_token(&self, api: &Api) -> Result<Secret, ForgeError> {
        let id = self.git_installation(api).await?;
        let mut tokens = self.git_tokens.lock().await;
        let now = api.pacer().clock().unix_now();
        if let Some(cached) = tokens.get(&id)
            && cached
                .expires
                .is_none_or(|at| at > now + GIT_TOKEN_MARGIN.as_secs())
        {
            return Ok(cached.token.clone());
        }
        let minted = self.mint(api, id).await?;
        tokens.insert(id, minted.clone());
        Ok(minted.token)
    }

    /// The installation whose token git gets: the configured one, else the
    /// one used last, else the app's only installation.
    async fn git_installation(&self, api: &Api) -> Result<u64, ForgeError> {
        if let Some(id) = *lock(&self.last) {
            return Ok(id);
        }
        let what = format!("listing the installations of GitHub App {}", self.app_id);
        let installations = api
            .get_all(
                &self.jwt,
                "/app/installations?per_page=100",
                None,
                &["id"],
                &what,
            )
            .await?;
        match installations.as_slice() {
            [only] => id_of(only).ok_or_else(|| {
                api.forge_error(None, &format!("{what}: GitHub sent no installation id"))
            }),
            [] => Err(ForgeError::Refused(format!(
                "GitHub App {} is installed nowhere: install it on the repositories' organization",
                self.app_id
            ))),
            many => Err(ForgeError::Refused(format!(
                "GitHub App {} has {} installations: configure the installation id",
                self.app_id,
                many.len()
            ))),
        }
    }

    /// Mint an installation token (a write: it goes through the queue).
    async fn mint(&self, api: &Api, id: u64) -> Result<GitToken, ForgeError> {
        let what = format!(
            "minting a token of installation {id} of GitHub App {}",
            self.app_id
        );
        let path = format!("/app/installations/{id}/access_tokens");
        let response = api
            .call(&self.jwt, Method::POST, &path, None, &what)
            .await?;
        let value = api.json(&response.body, &what)?;
        let token = value
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| api.forge_error(None, &format!("{what}: GitHub sent no token")))?;
        api.redactor().add(token);
        let expires = value
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .and_then(|t| u64::try_from(t.as_second()).ok());
        Ok(GitToken {
            token: Secret::new(token),
            expires,
        })
    }
}

/// The octocrab builder every client starts from: the API URL, GitHub's
/// JSON media type, and timeouts so that a stalled connection becomes a
/// retry instead of a hang.
fn builder(base: &BaseUrl) -> Result<Builder, ForgeError> {
    let builder = OctocrabBuilder::new()
        .base_uri(base.as_str())
        .map_err(|_| {
            ForgeError::Refused(format!("GitHub API URL `{}` is not a URL", base.as_str()))
        })?
        .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(60)))
        .set_write_timeout(Some(Duration::from_secs(60)));
    Ok(builder)
}

/// A client like [`builder`]'s whose connections are `CONNECT` tunnels
/// through `proxy`, with TLS to GitHub inside the tunnel: the proxy sees
/// the API's host and port, never a header. octocrab's own client has no
/// proxy, so the same stack is put together here (hyper-util's `Tunnel`
/// under hyper-rustls under the timeouts; then octocrab's layers: its
/// headers, the base URI, and the `Authorization` header for the API's
/// host only).
fn through_proxy(
    base: &BaseUrl,
    proxy: &crate::proxy::Proxy,
    auth_header: Option<http::HeaderValue>,
    auth_state: AuthState,
) -> Result<Octocrab, ForgeError> {
    use octocrab::service::middleware::auth_header::AuthHeaderLayer;
    use octocrab::service::middleware::base_uri::BaseUriLayer;
    use octocrab::service::middleware::extra_headers::ExtraHeadersLayer;
    use tower::Layer as _;

    let refused = |what: &str| {
        ForgeError::Refused(format!(
            "cannot reach the GitHub API through the proxy {proxy}: {what}"
        ))
    };
    let https = crate::proxy::https_connector(Some(proxy)).map_err(|why| refused(&why))?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(Some(Duration::from_secs(10)));
    connector.set_read_timeout(Some(Duration::from_secs(60)));
    connector.set_write_timeout(Some(Duration::from_secs(60)));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, octocrab::OctoBody>(connector);
    let headers = vec![
        (
            http::header::USER_AGENT,
            http::HeaderValue::from_static("octocrab"),
        ),
        (
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/vnd.github+json"),
        ),
    ];
    let service = ExtraHeadersLayer::new(Arc::new(headers)).layer(client);
    let base_uri: http::Uri = base.as_str().parse().map_err(|_| {
        ForgeError::Refused(format!("GitHub API URL `{}` is not a URL", base.as_str()))
    })?;
    let service = BaseUriLayer::new(base_uri.clone()).layer(service);
    // Uploads are not used: the API's own host is the only one the
    // header goes to.
    let service = AuthHeaderLayer::new(auth_header, base_uri.clone(), base_uri).layer(service);
    match OctocrabBuilder::new_empty()
        .with_service(service)
        .with_auth(auth_state)
        .build()
    {
        Ok(crab) => Ok(crab),
        Err(never) => match never {},
    }
}

/// The token, trimmed, if it can travel in a header (a stray newline from
/// `$(cat token-file)` would otherwise make octocrab panic).
fn checked_token(token: &Secret) -> Result<Secret, ForgeError> {
    let trimmed = token.expose().trim();
    if trimmed.is_empty() {
        return Err(ForgeError::Refused("the GitHub token is empty".into()));
    }
    if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ForgeError::Refused(
            "the GitHub token holds spaces or characters a header cannot carry".into(),
        ));
    }
    Ok(Secret::new(trimmed))
}

fn build_error(error: &octocrab::Error, redactor: &Redactor) -> ForgeError {
    let text = error.to_string();
    ForgeError::Refused(redactor.redact(&format!(
        "could not set up the GitHub client: {}",
        text.lines().next().unwrap_or("")
    )))
}

fn id_of(value: &Value) -> Option<u64> {
    value.get("id").and_then(Value::as_u64)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_trimmed_and_checked() {
        assert_eq!(
            checked_token(&Secret::new(" ghp_x1\n")).unwrap().expose(),
            "ghp_x1"
        );
        assert!(checked_token(&Secret::new("  ")).is_err());
        let err = checked_token(&Secret::new("ghp_a b")).unwrap_err();
        assert!(!err.to_string().contains("ghp_a"));
    }
}
