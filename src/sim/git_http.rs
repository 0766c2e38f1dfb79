//! A real git smart-HTTP server on loopback: `git http-backend` run as CGI
//! for each request, over a folder of bare repositories, behind HTTP Basic
//! auth.
//!
//! It exists so clones and pushes in tests go through real git over real
//! HTTP, credential callbacks included: a request without the configured
//! token as its Basic password is answered 401 with
//! `WWW-Authenticate: Basic realm="git"`, exactly the challenge git
//! clients and libgit2 answer with credentials. Every request's method,
//! URI and headers are recorded, so a test can prove the token only ever
//! travelled in the `Authorization` header.
//!
//! Repositories are `<root>/<owner>/<repo>.git`, served at
//! `http://127.0.0.1:PORT/<owner>/<repo>.git`; pushes are enabled
//! (`http.receivepack`). The backend runs with a cleared environment and
//! no system or user git config, so the machine's git setup does not leak
//! in.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::sim::net::{Server, base64_decode, percent_decode};

/// The largest request body accepted (a push of a test repository is far
/// smaller).
const MAX_BODY: usize = 256 << 20;

/// One request as the server received it, with its answer's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Every header, lower-case names, values as text.
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl RecordedRequest {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A running git server; it stops when dropped.
#[derive(Debug)]
pub struct GitHttpServer {
    server: Server,
    backend: Arc<Backend>,
}

#[derive(Debug)]
struct Backend {
    program: PathBuf,
    root: PathBuf,
    token: String,
    path: OsString,
    log: Mutex<Vec<RecordedRequest>>,
}

impl GitHttpServer {
    /// Serves the bare repositories under `root` to whoever presents
    /// `token` as the Basic-auth password (any user name).
    ///
    /// Fails when git is not installed (it runs `git --exec-path` to find
    /// `git-http-backend`).
    pub async fn start(root: PathBuf, token: String) -> io::Result<GitHttpServer> {
        let backend = Arc::new(Backend {
            program: http_backend().await?,
            root,
            token,
            path: std::env::var_os("PATH").unwrap_or_default(),
            log: Mutex::new(Vec::new()),
        });
        let state = backend.clone();
        let server =
            Server::start(move |_, _| Router::new().fallback(handle).with_state(state)).await?;
        Ok(GitHttpServer { server, backend })
    }

    /// `http://127.0.0.1:PORT/<owner>/<repo>.git`.
    pub fn url(&self, owner: &str, repo: &str) -> String {
        format!("{}/{owner}/{repo}.git", self.server.base_url())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The folder of bare repositories.
    pub fn root(&self) -> &std::path::Path {
        &self.backend.root
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.backend.log).clone()
    }

    /// Stops and waits until every connection is closed.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `$(git --exec-path)/git-http-backend`.
async fn http_backend() -> io::Result<PathBuf> {
    let output = Command::new("git").arg("--exec-path").output().await?;
    if !output.status.success() {
        return Err(io::Error::other("`git --exec-path` failed"));
    }
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let program = PathBuf::from(dir).join("git-http-backend");
    if !program.is_file() {
        let shown = program.display();
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{shown} not found"),
        ));
    }
    Ok(program)
}

async fn handle(State(backend): State<Arc<Backend>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let response = match basic_user(&parts.headers, &backend.token) {
        None => unauthorized(),
        Some(user) => match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(body) => cgi(&backend, &parts, &user, &body).await,
            Err(_) => text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
        },
    };
    record(&backend, &parts, response.status());
    response
}

fn record(backend: &Backend, parts: &Parts, status: StatusCode) {
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let uri = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    lock(&backend.log).push(RecordedRequest {
        method: parts.method.to_string(),
        uri,
        headers,
        status: status.as_u16(),
    });
}

/// The user name of `Authorization: Basic` credentials whose password is
/// `token`.
fn basic_user(headers: &HeaderMap, token: &str) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (password == token).then(|| user.to_string())
}

fn unauthorized() -> Response {
    let mut response = text(StatusCode::UNAUTHORIZED, "authentication required\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"git\""),
    );
    response
}

fn text(status: StatusCode, body: &str) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// The decoded request path when it is safe to hand to the backend: no
/// `..` or `.` segment, no backslash.
fn path_info(parts: &Parts) -> Option<String> {
    let path = percent_decode(parts.uri.path())?;
    let bad = path
        .split('/')
        .any(|segment| segment == ".." || segment == "." || segment.contains('\\'));
    (!bad && path.starts_with('/')).then_some(path)
}

/// Runs `git http-backend` for one request and turns its CGI output into
/// the response.
async fn cgi(backend: &Backend, parts: &Parts, user: &str, body: &[u8]) -> Response {
    let Some(path) = path_info(parts) else {
        return text(StatusCode::FORBIDDEN, "bad path\n");
    };
    let mut command = backend_command(backend, parts, user, &path, body.len());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
    };
    let stdin = child.stdin.take();
    let feed = async move {
        if let Some(mut stdin) = stdin {
            // A backend that stops reading early answers anyway; its
            // answer is what matters.
            let _ = stdin.write_all(body).await;
        }
    };
    let ((), output) = tokio::join!(feed, child.wait_with_output());
    match output {
        Ok(output) if !output.stdout.is_empty() => cgi_response(&output.stdout),
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("git http-backend: {stderr}\n"),
            )
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
    }
}

/// The CGI environment of one request (RFC 3875), nothing inherited but
/// `PATH`. The `Authorization` header is not passed on, as CGI servers do
/// not: the token stays in this process.
fn backend_command(
    backend: &Backend,
    parts: &Parts,
    user: &str,
    path: &str,
    length: usize,
) -> Command {
    let mut command = Command::new(&backend.program);
    command
        .env_clear()
        .env("PATH", &backend.path)
        .env("HOME", &backend.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_COUNT", "2")
        .env("GIT_CONFIG_KEY_0", "http.receivepack")
        .env("GIT_CONFIG_VALUE_0", "true")
        .env("GIT_CONFIG_KEY_1", "safe.directory")
        .env("GIT_CONFIG_VALUE_1", "*")
        .env("GIT_PROJECT_ROOT", &backend.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("SERVER_SOFTWARE", "fleetwright-sim")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", path)
        .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", length.to_string());
    if let Some(kind) = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        command.env("CONTENT_TYPE", kind);
    }
    if let Some(version) = parts
        .headers
        .get("git-protocol")
        .and_then(|v| v.to_str().ok())
    {
        command.env("GIT_PROTOCOL", version);
    }
    for (name, value) in &parts.headers {
        if let Some((key, value)) = cgi_header(name, value) {
            command.env(key, value);
        }
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// `HTTP_<NAME>` for a request header, except those CGI carries otherwise
/// or must not see.
fn cgi_header(name: &HeaderName, value: &HeaderValue) -> Option<(String, String)> {
    let skipped = [
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
    ];
    if skipped.contains(name) {
        return None;
    }
    let key = format!(
        "HTTP_{}",
        name.as_str().to_ascii_uppercase().replace('-', "_")
    );
    Some((key, value.to_str().ok()?.to_string()))
}

/// A response from CGI output: header lines (`Status:` sets the status),
/// a blank line, the body.
fn cgi_response(output: &[u8]) -> Response {
    let (head, body) = split_cgi(output);
    let mut response = Response::new(Body::from(body.to_vec()));
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse().ok());
            if let Some(status) = code.and_then(|c| StatusCode::from_u16(c).ok()) {
                *response.status_mut() = status;
            }
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.trim()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// Splits CGI output at the first blank line (`\r\n\r\n` or `\n\n`).
fn split_cgi(output: &[u8]) -> (&[u8], &[u8]) {
    let crlf = find(output, b"\r\n\r\n").map(|i| (i, 4));
    let lf = find(output, b"\n\n").map(|i| (i, 2));
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match end {
        Some((at, len)) => (&output[..at], &output[at + len..]),
        None => (output, &[]),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests;

/// Assert that git itself (`git fsck --strict`) finds the bare repository
/// at `bare` whole: what a push through the server left is readable.
#[track_caller]
pub fn assert_fsck(bare: &std::path::Path) {
    let fsck = std::process::Command::new("git")
        .args(["fsck", "--strict", "--no-dangling"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_DIR", bare)
        .output()
        .expect("git fsck (install git)");
    assert!(
        fsck.status.success(),
        "git fsck {}: {}",
        bare.display(),
        String::from_utf8_lossy(&fsck.stderr)
    );
}
