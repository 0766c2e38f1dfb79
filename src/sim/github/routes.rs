//! The REST endpoints: a request that passed auth and the rate limits,
//! applied to the world, answered as GitHub answers.
//!
//! Everything here is synchronous and runs under the simulator's lock, so
//! each request sees and leaves a consistent world.

use std::ops::Range;
use std::time::SystemTime;

use axum::http::{HeaderName, StatusCode, header};
use serde_json::{Map, Value, json};

use super::json::{self, Urls, encode_component};
use super::model::{Ids, PullState, Repo, SimComment, SimIssue, SimPull, World, fake_sha};
use crate::sim::net::percent_decode;

/// One request as the endpoints see it.
#[derive(Debug)]
pub(super) struct Call<'a> {
    pub method: &'a str,
    /// The raw path, e.g. `/repos/acme/api/pulls`.
    pub path: &'a str,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub body: &'a [u8],
    /// Login of whoever the token belongs to.
    pub actor: &'a str,
    /// The simulator's wall-clock now.
    pub wall: SystemTime,
}

impl Call<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// An answer: status, JSON body (none for 204), extra headers.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(HeaderName, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn ok(body: Value) -> Self {
        Reply::json(StatusCode::OK, body)
    }

    fn created(body: Value) -> Self {
        Reply::json(StatusCode::CREATED, body)
    }

    fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }

    /// GitHub's error: `{"message": ..}` with the status.
    pub fn error(status: StatusCode, message: &str) -> Self {
        Reply::json(status, json::error(message, status.as_u16()))
    }

    pub fn not_found() -> Self {
        Reply::error(StatusCode::NOT_FOUND, "Not Found")
    }

    fn unprocessable(errors: Vec<Value>) -> Self {
        Reply::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json::validation_failed(errors),
        )
    }

    /// 422 with one `custom` error on a pull request, as for a duplicate.
    fn custom(message: &str) -> Self {
        Reply::unprocessable(vec![json!({
            "resource": "PullRequest",
            "code": "custom",
            "message": message,
        })])
    }

    fn field_error(field: &str, code: &str) -> Self {
        Reply::unprocessable(vec![json!({
            "resource": "PullRequest",
            "field": field,
            "code": code,
        })])
    }

    fn bad_json() -> Self {
        Reply::error(StatusCode::BAD_REQUEST, "Problems parsing JSON")
    }

    pub fn with_header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Answers one request.
pub(super) fn route(world: &mut World, urls: &Urls, call: &Call) -> Reply {
    let Some(segments) = segments(call.path) else {
        return Reply::not_found();
    };
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ["repos", owner, name, rest @ ..] = parts.as_slice() else {
        return Reply::not_found();
    };
    let World { repos, ids } = world;
    let Some(repo) = repos.get_mut(&World::key(owner, name)) else {
        return Reply::not_found();
    };
    repo.sync_heads();
    repo_route(repo, ids, urls, call, rest)
}

/// The decoded, non-empty path segments; `None` if one is not UTF-8.
fn segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn repo_route(repo: &mut Repo, ids: &mut Ids, urls: &Urls, call: &Call, rest: &[&str]) -> Reply {
    let number = |text: &str| text.parse::<u64>().ok();
    match (call.method, rest) {
        ("GET", []) => Reply::ok(json::repository(urls, repo)),
        ("GET", ["pulls"]) => list_pulls(repo, urls, call),
        ("POST", ["pulls"]) => create_pull(repo, ids, urls, call),
        ("GET", ["pulls", n]) => with_pull(repo, number(n), |repo, pull| {
            Reply::ok(json::pull_full(urls, repo, pull))
        }),
        ("PATCH", ["pulls", n]) => update_pull(repo, number(n), urls, call),
        ("PUT", ["pulls", n, "merge"]) => merge_pull(repo, number(n), call),
        ("GET", ["pulls", n, "merge"]) => with_pull(repo, number(n), |_, pull| {
            if pull.state == PullState::Merged {
                Reply::no_content()
            } else {
                Reply::not_found()
            }
        }),
        ("GET", ["pulls", n, "reviews"]) => list_reviews(repo, number(n), urls, call),
        ("GET", ["pulls", n, "requested_reviewers"]) => with_pull(repo, number(n), |repo, pull| {
            Reply::ok(requested_reviewers_json(urls, repo, pull))
        }),
        ("POST", ["pulls", n, "requested_reviewers"]) => {
            request_reviewers(repo, number(n), urls, call)
        }
        ("GET", ["issues"]) => list_issues(repo, urls, call),
        ("POST", ["issues"]) => create_issue(repo, ids, urls, call),
        ("GET", ["issues", n]) => get_issue(repo, number(n), urls),
        ("PATCH", ["issues", n]) => update_issue(repo, number(n), urls, call),
        ("GET", ["issues", n, "comments"]) => list_comments(repo, number(n), urls, call),
        ("POST", ["issues", n, "comments"]) => add_comment(repo, ids, number(n), urls, call),
        ("GET", ["issues", n, "labels"]) => with_pull(repo, number(n), |repo, pull| {
            Reply::ok(json::labels(urls, repo, pull))
        }),
        ("POST", ["issues", n, "labels"]) => add_labels(repo, ids, number(n), urls, call),
        ("DELETE", ["issues", n, "labels", name]) => {
            remove_label(repo, number(n), name, urls, call)
        }
        ("POST", ["issues", n, "assignees"]) => add_assignees(repo, number(n), urls, call),
        ("GET", ["commits", git_ref @ .., "check-runs"]) if !git_ref.is_empty() => {
            check_runs(repo, &git_ref.join("/"), urls, call)
        }
        ("GET", ["commits", git_ref @ .., "status"]) if !git_ref.is_empty() => {
            let sha = repo.resolve_ref(&git_ref.join("/"));
            Reply::ok(json::combined_status(urls, repo, &sha))
        }
        ("GET", ["contents", path @ ..]) => contents(repo, &path.join("/"), urls, call),
        _ => Reply::not_found(),
    }
}

/// The longest title GitHub takes for an issue, in characters.
const ISSUE_TITLE_LIMIT: usize = 256;
/// The longest body GitHub takes for an issue, in characters.
const ISSUE_BODY_LIMIT: usize = 65_536;

/// 422 with one error on an issue's field.
fn issue_field_error(field: &str, code: &str, message: Option<&str>) -> Reply {
    let mut error = json!({ "resource": "Issue", "field": field, "code": code });
    if let Some(message) = message {
        error["message"] = Value::String(message.to_string());
    }
    Reply::unprocessable(vec![error])
}

/// An issue's title and body within GitHub's limits, or GitHub's 422.
fn issue_text_fits(body: &Map<String, Value>) -> Result<(), Reply> {
    if string_field(body, "title").is_some_and(|t| t.chars().count() > ISSUE_TITLE_LIMIT) {
        return Err(issue_field_error(
            "title",
            "custom",
            Some("title is too long (maximum is 256 characters)"),
        ));
    }
    if string_field(body, "body").is_some_and(|b| b.chars().count() > ISSUE_BODY_LIMIT) {
        return Err(issue_field_error(
            "body",
            "custom",
            Some("body is too long (maximum is 65536 characters)"),
        ));
    }
    Ok(())
}

/// `GET .../issues`: issues and pull requests, as on GitHub (a pull
/// request carries `pull_request`); `state` (open, closed, all; default
/// open), `labels` (comma-separated, all of them), `sort` (created,
/// updated), `direction` (default desc).
fn list_issues(repo: &Repo, urls: &Urls, call: &Call) -> Reply {
    let state = call.param("state").unwrap_or("open");
    let wanted: Vec<&str> = call
        .param("labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let keep = |open: bool, labels: &[String]| {
        let state_ok = match state {
            "all" => true,
            "closed" => !open,
            _ => open,
        };
        state_ok && wanted.iter().all(|w| labels.iter().any(|l| l == w))
    };
    // (number, created, updated, value)
    let mut items: Vec<(u64, SystemTime, SystemTime, Value)> = Vec::new();
    for issue in repo.issues.iter().filter(|i| keep(i.open, &i.labels)) {
        items.push((
            issue.number,
            issue.created_at,
            issue.updated_at,
            json::plain_issue(urls, repo, issue),
        ));
    }
    for pull in repo
        .pulls
        .iter()
        .filter(|p| keep(p.state == PullState::Open, &p.labels))
    {
        items.push((
            pull.number,
            pull.created_at,
            pull.updated_at,
            json::issue(urls, repo, pull),
        ));
    }
    if call.param("sort") == Some("updated") {
        items.sort_by_key(|(n, _, updated, _)| (*updated, *n));
    } else {
        items.sort_by_key(|(n, created, _, _)| (*created, *n));
    }
    if call.param("direction") != Some("asc") {
        items.reverse();
    }
    let (range, link) = paginate(call, urls, items.len());
    let values = items.drain(range).map(|(_, _, _, value)| value).collect();
    page_reply(values, link)
}

/// `POST .../issues`: `title` required; `body`, `labels` (created when
/// unknown); 422 for a title or body over GitHub's limits.
fn create_issue(repo: &mut Repo, ids: &mut Ids, urls: &Urls, call: &Call) -> Reply {
    let body = match body_object(call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if string_field(&body, "title").is_none_or(str::is_empty) {
        return issue_field_error("title", "missing_field", None);
    }
    if let Err(reply) = issue_text_fits(&body) {
        return reply;
    }
    let labels = match string_list(call, "labels") {
        Ok(labels) => labels,
        Err(reply) => return reply,
    };
    let mut unique = Vec::new();
    add_unique(&mut unique, labels);
    for name in &unique {
        repo.ensure_label(name, ids.fresh());
    }
    let issue = SimIssue {
        number: repo.next_number(),
        id: ids.fresh(),
        title: string_field(&body, "title").unwrap_or_default().to_string(),
        body: string_field(&body, "body").map(str::to_string),
        open: true,
        state_reason: None,
        labels: unique,
        author: call.actor.to_string(),
        closed_by: None,
        created_at: call.wall,
        updated_at: call.wall,
        closed_at: None,
    };
    let value = json::plain_issue(urls, repo, &issue);
    let location = format!(
        "{}/repos/{}/issues/{}",
        urls.api,
        repo.full_name(),
        issue.number
    );
    repo.issues.push(issue);
    Reply::created(value).with_header(header::LOCATION, location)
}

/// `GET .../issues/{n}`: an issue, or a pull request's issue side.
fn get_issue(repo: &Repo, number: Option<u64>, urls: &Urls) -> Reply {
    if let Some(issue) = number.and_then(|n| repo.issue(n)) {
        return Reply::ok(json::plain_issue(urls, repo, issue));
    }
    with_pull(repo, number, |repo, pull| {
        Reply::ok(json::issue(urls, repo, pull))
    })
}

/// `PATCH .../issues/{n}`: `title`, `body`, `state` (`open`, `closed`)
/// and `state_reason` of an issue; of a pull request, its title and body.
fn update_issue(repo: &mut Repo, number: Option<u64>, urls: &Urls, call: &Call) -> Reply {
    let body = match body_object(call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Err(reply) = issue_text_fits(&body) {
        return reply;
    }
    let state = string_field(&body, "state");
    if state.is_some_and(|s| s != "open" && s != "closed") {
        return issue_field_error("state", "invalid", None);
    }
    if let Some(issue) = number.and_then(|n| repo.issue_mut(n)) {
        if let Some(title) = string_field(&body, "title") {
            issue.title = title.to_string();
        }
        if let Some(text) = string_field(&body, "body") {
            issue.body = Some(text.to_string());
        }
        match state {
            Some("closed") if issue.open => {
                let reason = string_field(&body, "state_reason").unwrap_or("completed");
                issue.close(call.actor, reason, call.wall);
            }
            Some("open") if !issue.open => issue.reopen(call.wall),
            _ => {}
        }
        issue.updated_at = call.wall;
        let issue = issue.clone();
        return Reply::ok(json::plain_issue(urls, repo, &issue));
    }
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    let target = pull.state;
    apply_update(pull, &body, target, call.wall);
    let pull = pull.clone();
    Reply::ok(json::issue(urls, repo, &pull))
}

/// Runs `answer` on pull request `number`, or 404.
fn with_pull(
    repo: &Repo,
    number: Option<u64>,
    answer: impl FnOnce(&Repo, &SimPull) -> Reply,
) -> Reply {
    match number.and_then(|n| repo.pull(n)) {
        Some(pull) => answer(repo, pull),
        None => Reply::not_found(),
    }
}

/// The request body as a JSON object, or the 400 GitHub sends.
fn body_object(call: &Call) -> Result<Map<String, Value>, Reply> {
    if call.body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(call.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Reply::bad_json()),
    }
}

fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// A list of strings in `body[name]`, or the body itself when it is a
/// bare array (GitHub accepts both for labels).
fn string_list(call: &Call, name: &str) -> Result<Vec<String>, Reply> {
    let value: Value = if call.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(call.body).map_err(|_| Reply::bad_json())?
    };
    let list = match &value {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => map
            .get(name)
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice),
        _ => &[],
    };
    Ok(list
        .iter()
        .filter_map(|item| match item {
            Value::String(text) => Some(text.clone()),
            Value::Object(map) => map.get("name").and_then(Value::as_str).map(str::to_string),
            _ => None,
        })
        .collect())
}

/// Which slice of `len` items a `page`/`per_page` request gets, and the
/// `Link` header (`prev`, `next`, `last`, `first`) when there is more than
/// one page. `per_page` defaults to 30 and is at most 100, as on GitHub.
fn paginate(call: &Call, urls: &Urls, len: usize) -> (Range<usize>, Option<String>) {
    let per_page = call
        .param("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = call
        .param("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = len.div_ceil(per_page).max(1);
    let start = ((page - 1).saturating_mul(per_page)).min(len);
    let end = start.saturating_add(per_page).min(len);
    if last == 1 {
        return (start..end, None);
    }
    let link = |page: usize, rel: &str| format!("<{}>; rel=\"{rel}\"", page_url(call, urls, page));
    let mut links = Vec::new();
    if page > 1 {
        links.push(link((page - 1).min(last), "prev"));
    }
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
    }
    (start..end, Some(links.join(", ")))
}

/// This request's URL with `page` set.
fn page_url(call: &Call, urls: &Urls, page: usize) -> String {
    let mut pairs: Vec<String> = call
        .query
        .iter()
        .filter(|(key, _)| key != "page")
        .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
        .collect();
    pairs.push(format!("page={page}"));
    format!("{}{}?{}", urls.api, call.path, pairs.join("&"))
}

/// `items[range]` as a JSON array, with the `Link` header if any.
fn page_reply(values: Vec<Value>, link: Option<String>) -> Reply {
    let reply = Reply::ok(Value::Array(values));
    match link {
        Some(link) => reply.with_header(header::LINK, link),
        None => reply,
    }
}

/// `GET .../pulls`: `state` (open, closed, all), `head` as `owner:branch`
/// (a head without an owner is ignored, as GitHub ignores it), `base`,
/// `sort` (created, updated), `direction`; newest first by default.
fn list_pulls(repo: &Repo, urls: &Urls, call: &Call) -> Reply {
    let state = call.param("state").unwrap_or("open");
    let head = call.param("head").and_then(|h| h.split_once(':'));
    let base = call.param("base");
    let mut pulls: Vec<&SimPull> = repo
        .pulls
        .iter()
        .filter(|p| match state {
            "all" => true,
            "closed" => p.state != PullState::Open,
            _ => p.state == PullState::Open,
        })
        .filter(|p| head.is_none_or(|(o, b)| o.eq_ignore_ascii_case(&repo.owner) && p.head == b))
        .filter(|p| base.is_none_or(|b| p.base == b))
        .collect();
    if call.param("sort") == Some("updated") {
        pulls.sort_by_key(|p| (p.updated_at, p.number));
    } else {
        pulls.sort_by_key(|p| p.number);
    }
    if call.param("direction") != Some("asc") {
        pulls.reverse();
    }
    let (range, link) = paginate(call, urls, pulls.len());
    let values = pulls[range]
        .iter()
        .map(|p| json::pull_simple(urls, repo, p))
        .collect();
    page_reply(values, link)
}

/// `POST .../pulls`: 422 for a missing field, a head of another owner, a
/// head or base unknown to a git-backed repository, no commits between
/// them, or an open pull request on the same head.
fn create_pull(repo: &mut Repo, ids: &mut Ids, urls: &Urls, call: &Call) -> Reply {
    let body = match body_object(call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    for field in ["title", "head", "base"] {
        if string_field(&body, field).is_none_or(str::is_empty) {
            return Reply::field_error(field, "missing_field");
        }
    }
    let (title, head, base) = (
        string_field(&body, "title").unwrap_or_default(),
        string_field(&body, "head").unwrap_or_default(),
        string_field(&body, "base").unwrap_or_default(),
    );
    let head = match head.split_once(':') {
        Some((owner, _)) if !owner.eq_ignore_ascii_case(&repo.owner) => {
            return Reply::field_error("head", "invalid");
        }
        Some((_, branch)) => branch,
        None => head,
    };
    let (head_sha, base_sha) = match branch_shas(repo, head, base) {
        Ok(shas) => shas,
        Err(reply) => return reply,
    };
    if repo.open_pull_for_head(head).is_some() {
        let owner = &repo.owner;
        return Reply::custom(&format!(
            "A pull request already exists for {owner}:{head}."
        ));
    }
    let pull = SimPull {
        number: repo.next_number(),
        id: ids.fresh(),
        title: title.to_string(),
        body: string_field(&body, "body").map(str::to_string),
        head: head.to_string(),
        head_sha,
        base: base.to_string(),
        base_sha,
        state: PullState::Open,
        draft: body.get("draft").and_then(Value::as_bool).unwrap_or(false),
        mergeable: true,
        labels: Vec::new(),
        assignees: Vec::new(),
        requested_reviewers: Vec::new(),
        requested_teams: Vec::new(),
        reviews: Vec::new(),
        comments: Vec::new(),
        merge_method: None,
        merge_commit_sha: None,
        author: call.actor.to_string(),
        created_at: call.wall,
        updated_at: call.wall,
        closed_at: None,
        merged_at: None,
    };
    let value = json::pull_full(urls, repo, &pull);
    let location = format!(
        "{}/repos/{}/pulls/{}",
        urls.api,
        repo.full_name(),
        pull.number
    );
    repo.pulls.push(pull);
    Reply::created(value).with_header(header::LOCATION, location)
}

/// The head and base commits of a new pull request. A git-backed
/// repository must have both branches and commits between them; others
/// make up what they do not know.
fn branch_shas(repo: &Repo, head: &str, base: &str) -> Result<(String, String), Reply> {
    let made_up = |branch: &str| fake_sha(&format!("{}:{branch}", repo.full_name()));
    if !repo.strict() {
        let head_sha = repo.branch_sha(head).unwrap_or_else(|| made_up(head));
        let base_sha = repo.branch_sha(base).unwrap_or_else(|| made_up(base));
        return Ok((head_sha, base_sha));
    }
    let head_sha = repo
        .branch_sha(head)
        .ok_or_else(|| Reply::field_error("head", "invalid"))?;
    let base_sha = repo
        .branch_sha(base)
        .ok_or_else(|| Reply::field_error("base", "invalid"))?;
    if head_sha == base_sha {
        return Err(Reply::custom(&format!(
            "No commits between {base} and {head}"
        )));
    }
    Ok((head_sha, base_sha))
}

/// `PATCH .../pulls/{n}`: title, body, base, and `state` to close or
/// reopen (a merged one cannot change; a reopen needs its head free).
fn update_pull(repo: &mut Repo, number: Option<u64>, urls: &Urls, call: &Call) -> Reply {
    let body = match body_object(call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(pull) = number.and_then(|n| repo.pull(n)) else {
        return Reply::not_found();
    };
    let (current, head) = (pull.state, pull.head.clone());
    let target = match (string_field(&body, "state"), current) {
        (None, state) => state,
        (Some("closed"), PullState::Open) => PullState::Closed,
        (Some("open"), PullState::Closed) if repo.open_pull_for_head(&head).is_some() => {
            let owner = &repo.owner;
            return Reply::custom(&format!(
                "A pull request already exists for {owner}:{head}."
            ));
        }
        (Some("open"), PullState::Closed) => PullState::Open,
        (Some("open" | "closed"), PullState::Merged) => {
            return Reply::custom("state cannot be changed. The pull request cannot be reopened.");
        }
        (Some("open" | "closed"), state) => state,
        (Some(_), _) => return Reply::field_error("state", "invalid"),
    };
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    apply_update(pull, &body, target, call.wall);
    match number.and_then(|n| repo.pull(n)) {
        Some(pull) => Reply::ok(json::pull_full(urls, repo, pull)),
        None => Reply::not_found(),
    }
}

fn apply_update(pull: &mut SimPull, body: &Map<String, Value>, state: PullState, now: SystemTime) {
    if let Some(title) = string_field(body, "title") {
        pull.title = title.to_string();
    }
    if let Some(text) = string_field(body, "body") {
        pull.body = Some(text.to_string());
    }
    if let Some(base) = string_field(body, "base") {
        pull.base = base.to_string();
    }
    if state != pull.state {
        pull.closed_at = (state == PullState::Closed).then_some(now);
        pull.state = state;
    }
    pull.updated_at = now;
}

/// `PUT .../pulls/{n}/merge`: 405 unless open, not a draft and mergeable;
/// 409 when `sha` is not the head; 422 for an unknown `merge_method`.
fn merge_pull(repo: &mut Repo, number: Option<u64>, call: &Call) -> Reply {
    let body = match body_object(call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let full_name = repo.full_name();
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    let method = string_field(&body, "merge_method").unwrap_or("merge");
    if !["merge", "squash", "rebase"].contains(&method) {
        return Reply::unprocessable(vec![json!({
            "resource": "PullRequest", "field": "merge_method", "code": "invalid",
        })]);
    }
    if pull.state != PullState::Open || !pull.mergeable {
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable",
        );
    }
    if pull.draft {
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is still a draft",
        );
    }
    if string_field(&body, "sha").is_some_and(|sha| sha != pull.head_sha) {
        return Reply::error(
            StatusCode::CONFLICT,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    let sha = fake_sha(&format!("{full_name}#{}:merge", pull.number));
    pull.mark_merged(Some(method), sha.clone(), call.wall);
    Reply::ok(json!({
        "sha": sha,
        "merged": true,
        "message": "Pull Request successfully merged",
    }))
}

fn list_reviews(repo: &Repo, number: Option<u64>, urls: &Urls, call: &Call) -> Reply {
    with_pull(repo, number, |repo, pull| {
        let (range, link) = paginate(call, urls, pull.reviews.len());
        let values = pull.reviews[range]
            .iter()
            .map(|r| json::review(urls, repo, pull.number, r))
            .collect();
        page_reply(values, link)
    })
}

fn requested_reviewers_json(urls: &Urls, repo: &Repo, pull: &SimPull) -> Value {
    let full = json::pull_full(urls, repo, pull);
    json!({"users": full["requested_reviewers"], "teams": full["requested_teams"]})
}

/// `POST .../pulls/{n}/requested_reviewers`: 422 when asking the author,
/// or (when the test listed them) someone who is not a collaborator or a
/// team the repository does not have.
fn request_reviewers(repo: &mut Repo, number: Option<u64>, urls: &Urls, call: &Call) -> Reply {
    let (users, teams) = match (
        string_list(call, "reviewers"),
        string_list(call, "team_reviewers"),
    ) {
        (Ok(users), Ok(teams)) => (users, teams),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let Some(pull) = number.and_then(|n| repo.pull(n)) else {
        return Reply::not_found();
    };
    if users.iter().any(|u| u.eq_ignore_ascii_case(&pull.author)) {
        return Reply::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Review cannot be requested from pull request author.",
        );
    }
    let unknown_user = |u: &String| repo.collaborators.as_ref().is_some_and(|c| !c.contains(u));
    let unknown_team = |t: &String| repo.teams.as_ref().is_some_and(|c| !c.contains(t));
    if users.iter().any(unknown_user) || teams.iter().any(unknown_team) {
        let message = format!(
            "Reviews may only be requested from collaborators. One or more of the users or \
             teams you specified is not a collaborator of the {} repository.",
            repo.full_name()
        );
        return Reply::error(StatusCode::UNPROCESSABLE_ENTITY, &message);
    }
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    add_unique(&mut pull.requested_reviewers, users);
    add_unique(&mut pull.requested_teams, teams);
    pull.updated_at = call.wall;
    let pull = pull.clone();
    Reply::created(json::pull_full(urls, repo, &pull))
}

fn add_unique(list: &mut Vec<String>, more: Vec<String>) {
    for item in more {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

fn list_comments(repo: &Repo, number: Option<u64>, urls: &Urls, call: &Call) -> Reply {
    with_pull(repo, number, |repo, pull| {
        let (range, link) = paginate(call, urls, pull.comments.len());
        let values = pull.comments[range]
            .iter()
            .map(|c| json::comment(urls, repo, pull.number, c))
            .collect();
        page_reply(values, link)
    })
}

/// `POST .../issues/{n}/comments` (`body` required).
fn add_comment(
    repo: &mut Repo,
    ids: &mut Ids,
    number: Option<u64>,
    urls: &Urls,
    call: &Call,
) -> Reply {
    let body = match body_object(call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let Some(text) = string_field(&body, "body") else {
        return Reply::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"body\" wasn't supplied.",
        );
    };
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    let comment = SimComment {
        id: ids.fresh(),
        user: call.actor.to_string(),
        body: text.to_string(),
        created_at: call.wall,
    };
    pull.comments.push(comment.clone());
    pull.updated_at = call.wall;
    let number = pull.number;
    Reply::created(json::comment(urls, repo, number, &comment))
}

/// `POST .../issues/{n}/labels`: adds (creating unknown labels) and
/// answers every label the pull request now has.
fn add_labels(
    repo: &mut Repo,
    ids: &mut Ids,
    number: Option<u64>,
    urls: &Urls,
    call: &Call,
) -> Reply {
    let names = match string_list(call, "labels") {
        Ok(names) if !names.is_empty() => names,
        Ok(_) => return Reply::field_error("labels", "missing_field"),
        Err(reply) => return reply,
    };
    if number.and_then(|n| repo.pull(n)).is_none() {
        return Reply::not_found();
    }
    for name in &names {
        repo.ensure_label(name, ids.fresh());
    }
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    add_unique(&mut pull.labels, names);
    pull.updated_at = call.wall;
    let pull = pull.clone();
    Reply::ok(json::labels(urls, repo, &pull))
}

/// `DELETE .../issues/{n}/labels/{name}`: the labels left; 404 when the
/// pull request does not carry it, as GitHub answers.
fn remove_label(
    repo: &mut Repo,
    number: Option<u64>,
    name: &str,
    urls: &Urls,
    call: &Call,
) -> Reply {
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    let before = pull.labels.len();
    pull.labels.retain(|l| l != name);
    if pull.labels.len() == before {
        return Reply::error(StatusCode::NOT_FOUND, "Label does not exist");
    }
    pull.updated_at = call.wall;
    let pull = pull.clone();
    Reply::ok(json::labels(urls, repo, &pull))
}

/// `POST .../issues/{n}/assignees`: people who cannot be assigned (not
/// collaborators, when the test listed them) are silently left out, as
/// GitHub does.
fn add_assignees(repo: &mut Repo, number: Option<u64>, urls: &Urls, call: &Call) -> Reply {
    let mut logins = match string_list(call, "assignees") {
        Ok(logins) => logins,
        Err(reply) => return reply,
    };
    if let Some(collaborators) = &repo.collaborators {
        logins.retain(|login| collaborators.contains(login));
    }
    let Some(pull) = number.and_then(|n| repo.pull_mut(n)) else {
        return Reply::not_found();
    };
    add_unique(&mut pull.assignees, logins);
    pull.assignees.truncate(10);
    pull.updated_at = call.wall;
    let pull = pull.clone();
    Reply::created(json::issue(urls, repo, &pull))
}

/// `GET .../commits/{ref}/check-runs`, with `check_name` and `status`
/// filters; `total_count` counts all pages.
fn check_runs(repo: &Repo, git_ref: &str, urls: &Urls, call: &Call) -> Reply {
    let sha = repo.resolve_ref(git_ref);
    let runs: Vec<_> = repo
        .checks
        .get(&sha)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|run| call.param("check_name").is_none_or(|n| run.name == n))
        .filter(|run| call.param("status").is_none_or(|s| run.state.status == s))
        .collect();
    let (range, link) = paginate(call, urls, runs.len());
    let values: Vec<Value> = runs[range]
        .iter()
        .map(|run| json::check_run(urls, repo, &sha, run))
        .collect();
    let reply = Reply::ok(json!({"total_count": runs.len(), "check_runs": values}));
    match link {
        Some(link) => reply.with_header(header::LINK, link),
        None => reply,
    }
}

/// `GET .../contents/{path}?ref=`: a file, a folder listing of files the
/// test set, or 404.
fn contents(repo: &Repo, path: &str, urls: &Urls, call: &Call) -> Reply {
    let git_ref = call.param("ref");
    if let Some(text) = repo.file(path, git_ref) {
        let shown_ref = git_ref.unwrap_or(&repo.default_branch);
        return Reply::ok(json::content(urls, repo, path, shown_ref, &text));
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut entries: Vec<(String, &str)> = Vec::new();
    for file in repo.files.keys().filter_map(|f| f.strip_prefix(&prefix)) {
        let (name, kind) = match file.split_once('/') {
            Some((folder, _)) => (folder, "dir"),
            None => (file, "file"),
        };
        let entry = (format!("{prefix}{name}"), kind);
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    if entries.is_empty() {
        return Reply::not_found();
    }
    let values = entries
        .iter()
        .map(|(path, kind)| json::content_entry(urls, repo, path, kind))
        .collect();
    Reply::ok(Value::Array(values))
}
