//! Requests to GitHub's REST API: octocrab sends them, the [`Pacer`] paces
//! them, and this module turns what comes back into text, JSON and
//! [`ForgeError`]s.
//!
//! Requests use octocrab's raw methods (`build_request` + `execute`) rather
//! than its typed handlers, for three reasons: the pacer must see every
//! status and header (`retry-after`, `x-ratelimit-*`, `ETag`, `Link`); a
//! conditional GET needs `If-None-Match`; and GitHub's (or a simulator's)
//! answers are read leniently, field by field, so that an unexpected shape
//! is an error message, never a panic. Paths are always relative: octocrab
//! prefixes the configured API URL and only then adds the credentials, so a
//! token never travels to a host it was not meant for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue, Method, Uri};
use octocrab::Octocrab;
use serde_json::Value;

use super::pacing::{Kind, Pacer, RawResponse, SendError};
use crate::forge::ForgeError;
use crate::state::{ForgeAnswer, State};

/// The most pages one listing follows (100 items each): a guard against a
/// `Link` header that never ends.
const MAX_PAGES: usize = 50;

/// The API's base URL, split for relativizing `Link` URLs.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    text: String,
    scheme: String,
    authority: String,
    /// The path prefix without a trailing slash (`""` or `/api/v3`).
    prefix: String,
}

impl BaseUrl {
    /// Parse and check an API URL such as `https://api.github.com` or
    /// `https://ghe.example.com/api/v3`.
    pub(crate) fn parse(text: &str) -> Result<Self, ForgeError> {
        Self::parse_for(text, "GitHub")
    }

    /// [`BaseUrl::parse`] for `forge`'s API (named in messages).
    pub(crate) fn parse_for(text: &str, forge: &str) -> Result<Self, ForgeError> {
        let bad = |why: &str| ForgeError::Refused(format!("{forge} API URL `{text}`: {why}"));
        let uri: Uri = text.parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri.scheme_str().ok_or_else(|| bad("no scheme"))?;
        if scheme != "https" && scheme != "http" {
            return Err(bad("not http(s)"));
        }
        if !crate::urls::Origin::parse(text).is_some_and(|o| o.may_carry_token()) {
            return Err(bad(
                "plain http to another machine: the token goes only over https",
            ));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("credentials do not belong in the URL"));
        }
        if uri.query().is_some() {
            return Err(bad("a query does not belong in the base URL"));
        }
        Ok(BaseUrl {
            text: text.trim_end_matches('/').to_string(),
            scheme: scheme.to_string(),
            authority: authority.as_str().to_string(),
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The URL as configured.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The path and query of an absolute URL under this base, relative to
    /// it; `None` for a URL elsewhere (never followed: the token would go
    /// with it).
    pub(crate) fn relative(&self, url: &str) -> Option<String> {
        let uri: Uri = url.parse().ok()?;
        if uri.scheme_str() != Some(self.scheme.as_str())
            || uri.authority().map(|a| a.as_str()) != Some(self.authority.as_str())
        {
            return None;
        }
        let path_and_query = uri.path_and_query()?.as_str();
        let rest = path_and_query.strip_prefix(self.prefix.as_str())?;
        rest.starts_with('/').then(|| rest.to_string())
    }
}

/// Replaces known secrets by `***` in every message that leaves the forge.
///
/// GitHub never echoes a token, but an error from a proxy or a library
/// might; this is the last line of defence, applied in one place. It keeps
/// no list of its own: secrets are the process's ([`crate::secret`]), and
/// URLs in messages go through [`crate::urls::redact_text`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Redactor;

impl Redactor {
    /// Remember a secret to hide (anywhere in the process).
    pub(crate) fn add(&self, secret: &str) {
        crate::secret::remember(secret);
    }

    /// `text` with every known secret replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        crate::urls::redact_text(text).into_owned()
    }
}

/// Where the answers of conditional GETs are kept: in memory for this
/// process, or in the state, where the next process finds them.
#[derive(Debug)]
enum Answers {
    Memory(Mutex<HashMap<String, ForgeAnswer>>),
    /// `forge_answers` rows of this API URL; `pruned`: the rows unused for
    /// 30 days were deleted (once per process).
    State {
        state: State,
        pruned: AtomicBool,
    },
}

/// The request layer shared by all of the forge's calls.
#[derive(Debug)]
pub(crate) struct Api {
    base: BaseUrl,
    pacer: Arc<Pacer>,
    redactor: Redactor,
    /// Last `ETag` and answer per path, for `If-None-Match`. Each answer is
    /// cut to the fields fleetwright reads (a pull request: a few hundred
    /// bytes, not GitHub's 20 KB), so 10,000 pull requests stay small.
    answers: Answers,
}

impl Api {
    pub(crate) fn new(base: BaseUrl, pacer: Arc<Pacer>, redactor: Redactor) -> Self {
        Api {
            base,
            pacer,
            redactor,
            answers: Answers::Memory(Mutex::new(HashMap::new())),
        }
    }

    /// Keep the answers of conditional GETs in `state` (table
    /// `forge_answers`, under this API URL), so that the next process
    /// sends their ETags too.
    pub(crate) fn keep_answers_in(&mut self, state: State) {
        self.answers = Answers::State {
            state,
            pruned: AtomicBool::new(false),
        };
    }

    pub(crate) fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Send one request through the pacer and return GitHub's answer,
    /// whatever its status (the caller decides what a 404 or 422 means).
    pub(crate) async fn send(
        &self,
        crab: &Octocrab,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
    ) -> Result<RawResponse, ForgeError> {
        let kind = Kind::of(&method);
        let result = self
            .pacer
            .send(kind, || self.attempt(crab, &method, path, body, headers))
            .await;
        result.map_err(|e| self.forge_error(e.status, &e.message))
    }

    /// [`Api::send`] for a request that must not be sent twice: a
    /// transient failure is not retried (see [`Pacer::send_once`]).
    pub(crate) async fn send_once(
        &self,
        crab: &Octocrab,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        let kind = Kind::of(&method);
        let headers = HeaderMap::new();
        let result = self
            .pacer
            .send_once(kind, || self.attempt(crab, &method, path, body, &headers))
            .await;
        result.map_err(|e| self.forge_error(e.status, &e.message))
    }

    /// Send and require a 2xx answer; anything else becomes a
    /// [`ForgeError`] that says `what` failed.
    pub(crate) async fn call(
        &self,
        crab: &Octocrab,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<RawResponse, ForgeError> {
        let response = self
            .send(crab, method, path, body, &HeaderMap::new())
            .await?;
        self.success(response, what)
    }

    /// GET with `If-None-Match` when this path was read before: an
    /// unchanged resource comes back as 304, costs no rate limit, and is
    /// answered from what was kept (its body and `Link` header). The body
    /// is cut to `fields` (see [`slim`]) whether it came fresh or kept, so
    /// both read the same.
    pub(crate) async fn get_cached(
        &self,
        crab: &Octocrab,
        path: &str,
        fields: &[&str],
        what: &str,
    ) -> Result<RawResponse, ForgeError> {
        let fields_text = fields.join(",");
        // An answer cut to other fields (another version) is not used.
        let kept = self.kept(path).await.filter(|k| k.fields == fields_text);
        let mut headers = HeaderMap::new();
        if let Some(value) = kept
            .as_ref()
            .and_then(|c| HeaderValue::from_str(&c.etag).ok())
        {
            headers.insert(http::header::IF_NONE_MATCH, value);
        }
        let response = self.send(crab, Method::GET, path, None, &headers).await?;
        if response.status == 304
            && let Some(kept) = kept
        {
            self.confirm(path).await;
            let mut headers = HeaderMap::new();
            if let Some(link) = kept
                .link
                .as_deref()
                .and_then(|l| HeaderValue::from_str(l).ok())
            {
                headers.insert(http::header::LINK, link);
            }
            return Ok(RawResponse {
                status: 200,
                headers,
                body: kept.body,
            });
        }
        let mut response = self.success(response, what)?;
        response.body = slim(&response.body, fields);
        if let Some(etag) = response.header("etag") {
            let answer = ForgeAnswer {
                etag: etag.to_string(),
                body: response.body.clone(),
                fields: fields_text,
                link: response.header("link").map(str::to_string),
            };
            self.remember(path, answer).await;
        }
        Ok(response)
    }

    /// Every page of a listing (a JSON array per page, or the array under
    /// `field` of an object), following `Link: rel="next"`, each page a
    /// conditional GET whose items are cut to `fields`.
    pub(crate) async fn get_all(
        &self,
        crab: &Octocrab,
        first: &str,
        field: Option<&str>,
        fields: &[&str],
        what: &str,
    ) -> Result<Vec<Value>, ForgeError> {
        let mut items = Vec::new();
        let mut next = Some(first.to_string());
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else {
                return Ok(items);
            };
            let response = self.get_cached(crab, &path, fields, what).await?;
            items.extend(self.page_items(&response, field, what)?);
            next = next_page(&self.base, &response, "GitHub", what)
                .map_err(|why| self.forge_error(None, &why))?;
        }
        if next.is_some() {
            tracing::warn!("{what}: stopped after {MAX_PAGES} pages");
        }
        Ok(items)
    }

    /// Forget what was kept of `prefix` and every path under it (a pull
    /// request no longer open, a commit whose CI is no longer read).
    pub(crate) async fn forget(&self, prefix: &str) {
        match &self.answers {
            Answers::Memory(map) => {
                let under = |p: &str| {
                    p == prefix
                        || p.strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with(['/', '?']))
                };
                lock(map).retain(|p, _| !under(p));
            }
            Answers::State { state, .. } => {
                if let Err(e) = state.forget_forge_answers(self.base.as_str(), prefix).await {
                    tracing::warn!("cannot forget the kept GitHub answers of {prefix}: {e}");
                }
            }
        }
    }

    async fn kept(&self, path: &str) -> Option<ForgeAnswer> {
        match &self.answers {
            Answers::Memory(map) => lock(map).get(path).cloned(),
            Answers::State { state, pruned } => {
                if !pruned.swap(true, Ordering::Relaxed)
                    && let Err(e) = state.prune_forge_answers().await
                {
                    tracing::warn!("cannot prune the kept GitHub answers: {e}");
                }
                // A state that cannot be read costs a full GET, not the sync.
                state
                    .forge_answer(self.base.as_str(), path)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!("cannot read the kept GitHub answer of {path}: {e}");
                        None
                    })
            }
        }
    }

    async fn remember(&self, path: &str, answer: ForgeAnswer) {
        match &self.answers {
            Answers::Memory(map) => {
                lock(map).insert(path.to_string(), answer);
            }
            Answers::State { state, .. } => {
                if let Err(e) = state
                    .remember_forge_answer(self.base.as_str(), path, &answer)
                    .await
                {
                    tracing::warn!("cannot keep the GitHub answer of {path}: {e}");
                }
            }
        }
    }

    async fn confirm(&self, path: &str) {
        if let Answers::State { state, .. } = &self.answers
            && let Err(e) = state.confirm_forge_answer(self.base.as_str(), path).await
        {
            tracing::warn!("cannot mark the kept GitHub answer of {path} used: {e}");
        }
    }

    /// The items of one page.
    fn page_items(
        &self,
        response: &RawResponse,
        field: Option<&str>,
        what: &str,
    ) -> Result<Vec<Value>, ForgeError> {
        let value = self.json(&response.body, what)?;
        let list = match field {
            Some(field) => value.get(field).cloned().unwrap_or(Value::Null),
            None => value,
        };
        match list {
            Value::Array(items) => Ok(items),
            _ => Err(self.forge_error(None, &format!("{what}: GitHub did not answer a list"))),
        }
    }

    /// Parse an answer as JSON.
    pub(crate) fn json(&self, body: &str, what: &str) -> Result<Value, ForgeError> {
        serde_json::from_str(body).map_err(|e| {
            self.forge_error(None, &format!("{what}: GitHub's answer is not JSON ({e})"))
        })
    }

    /// A 2xx answer passes; any other becomes the matching error.
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

    /// The error for a non-2xx answer: 404 is [`ForgeError::NotFound`],
    /// anything else [`ForgeError::Forge`] with GitHub's own words.
    pub(crate) fn status_error(&self, response: &RawResponse, what: &str) -> ForgeError {
        let said = github_message(&response.body);
        let status = response.status;
        let message = match status {
            401 => format!("{what}: GitHub refused the credentials (401: {said})"),
            403 => format!("{what}: GitHub refused (403: {said})"),
            _ => format!("{what}: GitHub answered {status}: {said}"),
        };
        if status == 404 {
            return ForgeError::NotFound(self.redactor.redact(&message));
        }
        self.forge_error(Some(status), &message)
    }

    /// A [`ForgeError::Forge`] with every secret taken out.
    pub(crate) fn forge_error(&self, status: Option<u16>, message: &str) -> ForgeError {
        ForgeError::Forge {
            status,
            message: self.redactor.redact(message),
        }
    }

    /// One try of a request.
    async fn attempt(
        &self,
        crab: &Octocrab,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
    ) -> Result<RawResponse, SendError> {
        let mut builder = http::Request::builder().method(method.clone()).uri(path);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = crab
            .build_request(builder, body)
            .map_err(|e| self.send_error(&e))?;
        let response = crab
            .execute(request)
            .await
            .map_err(|e| self.send_error(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = crab.body_to_string(response).await.map_err(|e| SendError {
            message: self.redactor.redact(&format!(
                "reading GitHub's answer failed: {}",
                first_line(&e.to_string())
            )),
            status: Some(status),
            transient: true,
        })?;
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// What an octocrab error means for the pacer: connection trouble and
    /// timeouts are worth a retry; a refused installation token or a bad
    /// key is not.
    fn send_error(&self, error: &octocrab::Error) -> SendError {
        let (message, status, transient) = match error {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code.as_u16();
                (
                    format!(
                        "GitHub refused the app's installation token ({status}: {})",
                        source.message
                    ),
                    Some(status),
                    source.status_code.is_server_error(),
                )
            }
            octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => (
                format!(
                    "could not reach GitHub at {}: {}",
                    self.base.as_str(),
                    error_chain(error)
                ),
                None,
                true,
            ),
            other => (
                format!("GitHub request failed: {}", first_line(&other.to_string())),
                None,
                false,
            ),
        };
        SendError {
            message: self.redactor.redact(&message),
            status,
            transient,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `body` (JSON) cut to `fields`, dotted paths into objects (`head.sha`)
/// that pass through arrays (`check_runs.status` keeps the `status` of each
/// run; a top-level array keeps `fields` of each item). Everything else is
/// left out, so what is kept of an answer is what fleetwright reads. An
/// empty `fields`, or a body that is not JSON, is kept as it is.
pub(crate) fn slim(body: &str, fields: &[&str]) -> String {
    if fields.is_empty() {
        return body.to_string();
    }
    match serde_json::from_str::<Value>(body) {
        Ok(value) => {
            let paths: Vec<Vec<&str>> = fields.iter().map(|f| f.split('.').collect()).collect();
            let refs: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
            slim_value(&value, &refs).to_string()
        }
        Err(_) => body.to_string(),
    }
}

fn slim_value(value: &Value, paths: &[&[&str]]) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|i| slim_value(i, paths)).collect()),
        Value::Object(map) => {
            let mut kept = serde_json::Map::new();
            for (key, inner) in map {
                let tails: Vec<&[&str]> = paths
                    .iter()
                    .filter(|p| p.first() == Some(&key.as_str()))
                    .map(|p| &p[1..])
                    .collect();
                if tails.is_empty() {
                    continue;
                }
                if tails.iter().any(|t| t.is_empty()) {
                    kept.insert(key.clone(), inner.clone());
                } else {
                    kept.insert(key.clone(), slim_value(inner, &tails));
                }
            }
            Value::Object(kept)
        }
        other => other.clone(),
    }
}

/// The `rel="next"` URL of a `Link` header.
/// The path of the next page of a listing under `base` (`None`: the last
/// page); a next page outside `base` is refused, with what to say (the
/// forge's `name` in it): a token never follows a link elsewhere.
pub(crate) fn next_page(
    base: &BaseUrl,
    response: &RawResponse,
    name: &str,
    what: &str,
) -> Result<Option<String>, String> {
    match next_link(response) {
        Some(url) => base.relative(&url).map(Some).ok_or_else(|| {
            format!(
                "{what}: {name} pointed the next page at {url}, outside {}",
                base.as_str()
            )
        }),
        None => Ok(None),
    }
}

pub(crate) fn next_link(response: &RawResponse) -> Option<String> {
    let link = response.header("link")?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

/// GitHub's explanation in an error body: `message`, then the `message`
/// (or `code` and `field`) of each entry of `errors`.
pub(crate) fn github_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        let text = first_line(body.trim());
        return if text.is_empty() {
            "no explanation".into()
        } else {
            text.chars().take(200).collect()
        };
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(message) = value.get("message").and_then(Value::as_str) {
        parts.push(message.to_string());
    }
    for error in value
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        parts.push(error_entry(error));
    }
    if parts.is_empty() {
        "no explanation".into()
    } else {
        parts.join("; ")
    }
}

/// One entry of GitHub's `errors` array.
fn error_entry(error: &Value) -> String {
    if let Some(text) = error.as_str() {
        return text.to_string();
    }
    if let Some(message) = error.get("message").and_then(Value::as_str) {
        return message.to_string();
    }
    let field = |name: &str| error.get(name).and_then(Value::as_str).unwrap_or("?");
    format!("{} {} {}", field("resource"), field("field"), field("code"))
}

/// An error and its sources, on one line (octocrab's own Display may add
/// a backtrace).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = first_line(&error.to_string()).to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(first_line(&e.to_string()));
        source = e.source();
    }
    text
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// Percent-encode a query value (everything but RFC 3986's unreserved
/// characters), so a branch such as `fleetwright/a+b` survives the trip.
pub(crate) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_with_link(link: &str) -> RawResponse {
        let mut headers = HeaderMap::new();
        headers.insert("link", link.parse().unwrap());
        RawResponse {
            status: 200,
            headers,
            body: "[]".into(),
        }
    }

    #[test]
    fn next_link_is_found_among_others() {
        let r = response_with_link(
            r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next", <https://api.github.com/repositories/1/pulls?page=5>; rel="last""#,
        );
        assert_eq!(
            next_link(&r).as_deref(),
            Some("https://api.github.com/repositories/1/pulls?page=2")
        );
        let r = response_with_link(r#"<https://api.github.com/x?page=1>; rel="prev""#);
        assert_eq!(next_link(&r), None);
    }

    #[test]
    fn links_are_made_relative_to_the_base_and_never_leave_it() {
        let base = BaseUrl::parse("https://ghe.example.com/api/v3/").unwrap();
        assert_eq!(
            base.relative("https://ghe.example.com/api/v3/repositories/1/pulls?page=2")
                .as_deref(),
            Some("/repositories/1/pulls?page=2")
        );
        assert_eq!(base.relative("https://evil.example.com/api/v3/x"), None);
        assert_eq!(base.relative("http://ghe.example.com/api/v3/x"), None);
        assert_eq!(base.relative("https://ghe.example.com/other/x"), None);
        let base = BaseUrl::parse("https://api.github.com").unwrap();
        assert_eq!(
            base.relative("https://api.github.com/repos/a/b/pulls?page=3")
                .as_deref(),
            Some("/repos/a/b/pulls?page=3")
        );
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in [
            "api.github.com",
            "ftp://x",
            "https://user:pw@x",
            "https://x/?a=b",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn github_messages_include_the_errors() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:fw."},{"resource":"Issue","field":"title","code":"missing_field"}]}"#;
        assert_eq!(
            github_message(body),
            "Validation Failed; A pull request already exists for acme:fw.; Issue title missing_field"
        );
        assert_eq!(
            github_message("<html>bad gateway</html>\nmore"),
            "<html>bad gateway</html>"
        );
        assert_eq!(github_message(""), "no explanation");
    }

    #[test]
    fn redactor_hides_every_known_secret() {
        let r = Redactor;
        r.add("ghp_abcdef");
        r.add("ghs_123456");
        assert_eq!(r.redact("a ghp_abcdef b ghs_123456"), "a *** b ***");
        assert_eq!(
            r.redact("proxy said: https://u:p@proxy.example/x"),
            "proxy said: https://***@proxy.example/x"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("acme:fw/a+b c"), "acme%3Afw%2Fa%2Bb%20c");
    }

    #[test]
    fn slim_keeps_only_the_fields_named_through_objects_and_arrays() {
        let pull = r#"{"number":7,"title":"secret-looking text","head":{"ref":"b","sha":"abc","repo":{"big":1}},"user":{"login":"x"}}"#;
        assert_eq!(
            slim(pull, &["number", "head.ref", "head.sha"]),
            r#"{"head":{"ref":"b","sha":"abc"},"number":7}"#
        );
        let runs = r#"{"total_count":2,"check_runs":[{"status":"completed","conclusion":"success","output":{"text":"log"}},{"status":"queued"}]}"#;
        assert_eq!(
            slim(
                runs,
                &["total_count", "check_runs.status", "check_runs.conclusion"]
            ),
            r#"{"check_runs":[{"conclusion":"success","status":"completed"},{"status":"queued"}],"total_count":2}"#
        );
        let reviews =
            r#"[{"state":"APPROVED","user":{"login":"a","id":1,"avatar":"u"},"body":"lgtm"}]"#;
        assert_eq!(
            slim(reviews, &["state", "user.login"]),
            r#"[{"state":"APPROVED","user":{"login":"a"}}]"#
        );
        // Nothing to cut to, or not JSON: kept as it is.
        assert_eq!(slim(pull, &[]), pull);
        assert_eq!(slim("not json", &["a"]), "not json");
    }
}
