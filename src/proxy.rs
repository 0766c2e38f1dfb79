//! Which HTTP proxy a connection goes through, from the standard variables
//! (`https_proxy`/`HTTPS_PROXY` for https URLs, `http_proxy` for plain
//! http, `no_proxy`/`NO_PROXY` for the hosts that go direct), as curl and
//! git read them. One function decides it for git (libgit2's explicit
//! proxy option: fleetwright reads no git config, and `main` takes these
//! variables out of the environment, so libgit2's own lookup would see
//! nothing) and for the GitHub API client.
//!
//! This machine's loopback is never proxied: the tests' servers live there,
//! and a token travels over plain http only to loopback, never through a
//! proxy. Through a proxy an https connection is a `CONNECT host:port`
//! tunnel: the proxy sees the host and port, never a header or a token.
//! A proxy URL may carry its own credentials (`http://user:pw@proxy:3128`):
//! then the URL and its password are remembered as secrets
//! ([`crate::secret::remember`]), scrubbed from every text.

use crate::urls::Origin;

/// The proxy settings of the environment.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    https: Option<Proxy>,
    http: Option<Proxy>,
    /// `no_proxy` entries, lower-cased, leading `.` removed; `*` is all.
    no_proxy: Vec<String>,
}

/// A proxy to connect through.
#[derive(Clone)]
pub struct Proxy {
    /// `http://host:port` (the scheme added when the variable had none).
    url: String,
    /// The URL as it may be shown (credentials hidden).
    shown: String,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Proxy {
    fn new(value: &str) -> Option<Proxy> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        let url = if value.contains("://") {
            value.to_string()
        } else {
            format!("http://{value}")
        };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if scheme.as_deref() != Some("http") {
            tracing::warn!(
                proxy = %crate::urls::redact(&url),
                "only http:// proxies are supported (libgit2 tunnels https through them); going direct"
            );
            return None;
        }
        let shown = crate::urls::redact(&url).into_owned();
        // A proxy password is scrubbed like a token; a plain URL is not a
        // secret (and would blank every message naming the proxy).
        if crate::urls::has_userinfo(&url) {
            crate::secret::remember(&url);
            let authority = url.split_once("://").map_or("", |(_, r)| r);
            let authority = authority.split('/').next().unwrap_or_default();
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
            {
                crate::secret::remember(password);
            }
        }
        Some(Proxy { url, shown })
    }

    /// The URL to hand the client (it may hold the proxy's credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `user:password` of the proxy URL, base64 (a `Proxy-Authorization:
    /// Basic` value), when it has credentials.
    pub fn basic_auth(&self) -> Option<String> {
        use base64::Engine as _;
        let authority = self.url.split_once("://")?.1.split('/').next()?;
        let (userinfo, _) = authority.rsplit_once('@')?;
        Some(base64::engine::general_purpose::STANDARD.encode(userinfo))
    }

    /// The proxy's own address (`host:port`), for a client that connects
    /// to it.
    pub fn origin(&self) -> Option<Origin> {
        Origin::parse(&self.url)
    }
}

impl ProxyEnv {
    /// The settings of fleetwright's environment (as `main` took it).
    pub fn from_env() -> ProxyEnv {
        Self::from_vars(crate::secret::plain_env_var)
    }

    /// The settings `var` gives (a lookup by name, so tests pass a map).
    /// Lower-case names first, as curl reads them; `HTTP_PROXY` is not read
    /// (a CGI request can set it), as curl does not.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: &[&str]| names.iter().find_map(|n| var(n).filter(|v| !v.is_empty()));
        ProxyEnv {
            https: first(&["https_proxy", "HTTPS_PROXY"]).and_then(|v| Proxy::new(&v)),
            http: first(&["http_proxy"]).and_then(|v| Proxy::new(&v)),
            no_proxy: first(&["no_proxy", "NO_PROXY"])
                .map(|v| {
                    v.split([',', ' '])
                        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                        .filter(|e| !e.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The proxy for `url`, `None` to connect directly: an `https://` URL
    /// through `https_proxy`, `http://` through `http_proxy`, except
    /// loopback and the hosts `no_proxy` names (a name matches itself and
    /// its subdomains, `host:port` that port only, `*` everything). Any
    /// other URL (SSH, a path) has no proxy: libgit2 cannot take SSH
    /// through one.
    pub fn for_url(&self, url: &str) -> Option<&Proxy> {
        let origin = Origin::parse(url)?;
        let proxy = match origin.scheme.as_str() {
            "https" => self.https.as_ref()?,
            "http" => self.http.as_ref()?,
            _ => return None,
        };
        if origin.is_loopback() || self.bypassed(&origin) {
            return None;
        }
        Some(proxy)
    }

    fn bypassed(&self, origin: &Origin) -> bool {
        let host = origin.host.trim_start_matches('[').trim_end_matches(']');
        self.no_proxy.iter().any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, port) = match entry.rsplit_once(':') {
                Some((name, port)) if !name.contains(':') || name.ends_with(']') => {
                    match port.parse::<u16>() {
                        Ok(port) => (name, Some(port)),
                        Err(_) => (entry.as_str(), None),
                    }
                }
                _ => (entry.as_str(), None),
            };
            let name = name.trim_start_matches('[').trim_end_matches(']');
            let host_matches = host == name
                || host
                    .strip_suffix(name)
                    .is_some_and(|rest| rest.ends_with('.'));
            host_matches && port.is_none_or(|p| p == origin.port)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_vars(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn proxy_of(e: &ProxyEnv, url: &str) -> Option<String> {
        e.for_url(url).map(|p| p.url().to_string())
    }

    #[test]
    fn https_goes_through_https_proxy_unless_no_proxy_or_loopback() {
        let e = env(&[
            ("https_proxy", "proxy.corp:3128"),
            ("no_proxy", "internal.corp, .ghe.corp,git.example:8443"),
        ]);
        let via = Some("http://proxy.corp:3128".to_string());
        assert_eq!(proxy_of(&e, "https://github.com/org/r.git"), via);
        assert_eq!(proxy_of(&e, "https://api.github.com/repos"), via);
        // no_proxy: the name, its subdomains, not a longer name.
        assert_eq!(proxy_of(&e, "https://internal.corp/x"), None);
        assert_eq!(proxy_of(&e, "https://git.internal.corp/x"), None);
        assert_eq!(proxy_of(&e, "https://notinternal.corp/x"), via);
        assert_eq!(proxy_of(&e, "https://ghe.corp/api/v3"), None);
        // host:port: that port only.
        assert_eq!(proxy_of(&e, "https://git.example:8443/x"), None);
        assert_eq!(proxy_of(&e, "https://git.example/x"), via);
        // Loopback never; plain http has its own variable (unset here);
        // SSH and paths never.
        assert_eq!(proxy_of(&e, "https://127.0.0.1:9/x"), None);
        assert_eq!(proxy_of(&e, "https://localhost/x"), None);
        assert_eq!(proxy_of(&e, "http://example.com/x"), None);
        assert_eq!(proxy_of(&e, "ssh://git@github.com/o/r.git"), None);
        assert_eq!(proxy_of(&e, "git@github.com:o/r.git"), None);
        assert_eq!(proxy_of(&e, "/srv/git/r.git"), None);
    }

    #[test]
    fn upper_case_names_star_and_http_proxy() {
        let e = env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("http_proxy", "http://plain:2"),
            ("NO_PROXY", "*"),
        ]);
        assert_eq!(proxy_of(&e, "https://github.com/x"), None);
        let e = env(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
            ("http_proxy", "http://plain:2"),
        ]);
        assert_eq!(
            proxy_of(&e, "https://github.com/x").as_deref(),
            Some("http://lower:1")
        );
        assert_eq!(
            proxy_of(&e, "http://example.com/x").as_deref(),
            Some("http://plain:2")
        );
        // HTTP_PROXY is not read (CGI's httpoxy), nor a socks proxy.
        let e = env(&[
            ("HTTP_PROXY", "http://cgi:3"),
            ("https_proxy", "socks5://s:1"),
        ]);
        assert_eq!(proxy_of(&e, "http://example.com/x"), None);
        assert_eq!(proxy_of(&e, "https://example.com/x"), None);
    }

    #[test]
    fn a_proxy_password_is_a_secret_and_never_shown() {
        let e = env(&[("https_proxy", "http://me:proxypass123@proxy.corp:3128")]);
        let proxy = e.for_url("https://github.com/x").unwrap();
        assert_eq!(proxy.to_string(), "http://***@proxy.corp:3128");
        assert_eq!(format!("{proxy:?}"), "http://***@proxy.corp:3128");
        assert!(
            !crate::secret::scrub("via http://me:proxypass123@proxy.corp:3128")
                .contains("proxypass123")
        );
    }
}

/// The connection under an HTTP client of fleetwright's own (the GitLab
/// forge, the live Backstage catalog, the GitHub API through a proxy):
/// straight to the host, or through a proxy's `CONNECT` tunnel. One type
/// for both, so a client is built the same way with or without a proxy.
#[derive(Clone)]
pub enum Connector {
    Direct(hyper_util::client::legacy::connect::HttpConnector),
    Tunnel(
        hyper_util::client::legacy::connect::proxy::Tunnel<
            hyper_util::client::legacy::connect::HttpConnector,
        >,
    ),
}

/// The boxed error of a [`Connector`].
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower::Service<http::Uri> for Connector {
    type Response = hyper_util::rt::TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        match self {
            Connector::Direct(c) => c.poll_ready(cx).map_err(Into::into),
            Connector::Tunnel(t) => t.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        match self {
            Connector::Direct(c) => {
                let connecting = c.call(uri);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Connector::Tunnel(t) => {
                let connecting = t.call(uri);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
        }
    }
}

/// An HTTPS connector (plain http too, which the callers allow to
/// loopback only) with this machine's root certificates and the ring
/// provider, through `proxy` when given: a `CONNECT host:port` tunnel
/// (with `Proxy-Authorization: Basic` when the proxy URL has
/// credentials), so the proxy never sees a header or a token. The error
/// says what is wrong, for the caller to put in its own words.
pub fn https_connector(
    proxy: Option<&Proxy>,
) -> Result<hyper_rustls::HttpsConnector<Connector>, String> {
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::client::legacy::connect::proxy::Tunnel;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(std::time::Duration::from_secs(10)));
    let connector = match proxy {
        None => Connector::Direct(http),
        Some(proxy) => {
            let origin = proxy
                .origin()
                .ok_or_else(|| format!("the proxy {proxy} is not http://HOST:PORT"))?;
            let uri: http::Uri = format!("http://{}:{}", origin.host, origin.port)
                .parse()
                .map_err(|_| format!("the proxy {proxy} is not http://HOST:PORT"))?;
            let mut tunnel = Tunnel::new(uri, http);
            if let Some(basic) = proxy.basic_auth() {
                let mut value =
                    http::HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                        format!("the credentials of the proxy {proxy} cannot travel in a header")
                    })?;
                value.set_sensitive(true);
                tunnel = tunnel.with_auth(value);
            }
            Connector::Tunnel(tunnel)
        }
    };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::ring::default_provider()));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("no TLS root certificates on this machine: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector))
}
