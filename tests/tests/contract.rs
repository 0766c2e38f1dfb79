//! The contract test: every request the GitHub forge makes is checked
//! against GitHub's own OpenAPI description, and every answer it gets from
//! the description's examples must be readable.
//!
//! The real [`GitHubForge`] methods run against prism (`prism mock` on
//! `@octokit/openapi`'s `api.github.com.json`) through a recording proxy
//! ([`proxy`]), which keeps prism's verdict on each request. A request
//! prism rejects (4xx with violations located in the request, 406, an
//! unknown path), or that sends a query parameter or body field the
//! description does not declare ([`spec`]), is fleetwright's defect and
//! fails the test. An answer the forge cannot read fails it too, unless
//! prism says the answer itself breaks the description's schema (the
//! description's own example is wrong): that is reported, not failed.
//! Checks that deliberately wrong requests are caught keep the test honest.
//!
//! The first run installs prism and the description into `.cache/npm`
//! ([`prism`]); without Node.js and npm the test fails with the hint.
//! `cargo test contract -- --nocapture` shows the table.

mod gitlab;
mod prism;
mod proxy;
mod spec;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetwright::clock::ManualClock;
use fleetwright::forge::github::{GitHubAuth, GitHubConfig, GitHubForge, PacingConfig};
use fleetwright::forge::{
    Forge, ForgeError, NewIssue, NewPullRequest, PullRequest, RepoRef, TRACKING_LABEL,
};
use fleetwright::secret::Secret;
use serde_json::{Value, json};

use self::prism::{INSTALL_HINT, Prism};
use self::proxy::{Exchange, Recorder};
use self::spec::Description;

/// The repository, pull request, branches and commit of the description's
/// examples, so that what the forge checks of an answer holds.
const REPO: &str = "octocat/Hello-World";
const NUMBER: i64 = 1347;
const HEAD: &str = "new-topic";
const BASE: &str = "master";
const HEAD_SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
/// A token of GitHub's shape (prism checks no credentials).
const TOKEN: &str = "ghp_c0ntracttest0000000000000000000000";

/// What one call is allowed to end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Success, after at least one request.
    Success,
    /// Success or [`ForgeError::Refused`]: the forge may decline what the
    /// examples say (an app with two installations), after its requests.
    SuccessOrRefusal,
}

/// The outcome of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Every request valid, every answer read.
    Validated,
    /// Every request valid; an answer that breaks the description's own
    /// schema could not be read: the description's defect.
    DescriptionViolation,
    /// A request broke the description, the forge could not read a valid
    /// answer, or the mock failed.
    Failed,
}

#[derive(Debug)]
struct Row {
    method: String,
    verdict: Verdict,
    /// Why, one line each.
    detail: Vec<String>,
    exchanges: Vec<Exchange>,
}

/// The request-side problem types of prism's problem+json answers.
const REQUEST_PROBLEMS: [&str; 7] = [
    "UNPROCESSABLE_ENTITY",
    "INVALID_REQUEST",
    "NOT_ACCEPTABLE",
    "UNAUTHORIZED",
    "INVALID_CONTENT_TYPE",
    "NO_PATH_MATCHED_ERROR",
    "NO_METHOD_MATCHED_ERROR",
];
/// Problem types that say prism could not produce an answer the
/// description allows (its examples or schemas are at fault).
const DESCRIPTION_PROBLEMS: [&str; 4] = [
    "VIOLATIONS",
    "NOT_FOUND",
    "NO_RESPONSE_DEFINED",
    "SCHEMA_TOO_COMPLEX",
];

/// What one exchange says: problems of the request (fleetwright's), of the
/// answer (the description's), and of the mock itself.
#[derive(Debug, Default)]
struct Findings {
    request: Vec<String>,
    response: Vec<String>,
    mock: Vec<String>,
}

fn findings(ex: &Exchange, description: Option<&Description>) -> Findings {
    let mut f = Findings::default();
    let at = ex.line();
    for v in &ex.violations {
        let text = format!(
            "{at}: {} at {}: {}",
            v.severity,
            v.location.join("."),
            v.message
        );
        if v.of_request() {
            f.request.push(text);
        } else {
            f.response.push(text);
        }
    }
    if let Some(raw) = &ex.violations_raw {
        let text = format!("{at}: {}", raw.chars().take(400).collect::<String>());
        if raw.contains("\"request\"") {
            f.request.push(text);
        } else {
            f.response.push(text);
        }
    }
    if ex.prism_status == 0 {
        f.mock.push(format!("{at}: {}", ex.notes.join("; ")));
    }
    if ex.prism_status == 401 {
        f.request
            .push(format!("{at}: 401, the credentials were refused"));
    }
    if ex.prism_status == 406 {
        f.request.push(format!(
            "{at}: 406, prism cannot answer Accept `{}`",
            ex.accept.as_deref().unwrap_or("")
        ));
    }
    let problem = ex
        .response_content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/problem+json"));
    if problem {
        let body: Value = serde_json::from_str(&ex.response_body).unwrap_or(Value::Null);
        let kind = body["type"].as_str().unwrap_or("");
        let name = kind.rsplit('#').next().unwrap_or(kind);
        let mut text = format!(
            "{at}: {} {name}: {} {}",
            ex.prism_status,
            body["title"].as_str().unwrap_or(""),
            body["detail"].as_str().unwrap_or("")
        );
        for v in body["validation"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "; {} at {}: {}",
                v["severity"].as_str().unwrap_or(""),
                v["location"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("."),
                v["message"].as_str().unwrap_or("")
            ));
        }
        if REQUEST_PROBLEMS.contains(&name) {
            f.request.push(text);
        } else if DESCRIPTION_PROBLEMS.contains(&name) {
            f.response.push(text);
        } else {
            f.mock.push(text);
        }
    } else if ex.prism_status >= 400 && f.request.is_empty() && f.response.is_empty() {
        f.mock.push(format!(
            "{at}: prism answered {} without saying why: {}",
            ex.prism_status,
            ex.response_body.chars().take(200).collect::<String>()
        ));
    }
    if !matches!(ex.auth_scheme.as_deref(), Some("Bearer" | "token")) {
        f.request
            .push(format!("{at}: no `Authorization: Bearer` credentials"));
    }
    if !ex.request_body.trim().is_empty()
        && !ex
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
    {
        f.request.push(format!(
            "{at}: a body sent as `{}`, not `application/json`",
            ex.content_type.as_deref().unwrap_or("(no Content-Type)")
        ));
    }
    if let Some(description) = description {
        for problem in description.undeclared(&ex.method, &ex.target, &ex.request_body) {
            f.request.push(format!("{at}: {problem}"));
        }
    }
    f
}

/// A field of a pull request the forge returned that differs from the
/// answer it came from.
fn misread(pr: &PullRequest, exchanges: &[Exchange]) -> Option<String> {
    let candidates: Vec<Value> = exchanges
        .iter()
        .rev()
        .filter_map(|ex| serde_json::from_str::<Value>(&ex.response_body).ok())
        .flat_map(|v| match v {
            Value::Array(items) => items,
            other => vec![other],
        })
        .filter(|v| v["number"].as_i64() == Some(pr.number) && v.get("head").is_some())
        .collect();
    let Some(answer) = candidates.first() else {
        return Some(format!(
            "returned pull request #{}, which no answer held",
            pr.number
        ));
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let checks = [
        ("html_url", Some(pr.url.clone()), text(&answer["html_url"])),
        (
            "head.ref",
            Some(pr.head.clone()),
            text(&answer["head"]["ref"]),
        ),
        (
            "base.ref",
            Some(pr.base.clone()),
            text(&answer["base"]["ref"]),
        ),
        (
            "head.sha",
            pr.head_sha.clone(),
            text(&answer["head"]["sha"]),
        ),
        (
            "merged_at",
            pr.merged_at.clone(),
            text(&answer["merged_at"]),
        ),
        (
            "closed_at",
            pr.closed_at.clone(),
            text(&answer["closed_at"]),
        ),
        (
            "draft",
            Some(pr.draft.to_string()),
            Some(answer["draft"].as_bool().unwrap_or(false).to_string()),
        ),
    ];
    checks
        .into_iter()
        .find(|(_, got, want)| got != want)
        .map(|(field, got, want)| {
            format!("read `{field}` as {got:?}, and the answer says {want:?}")
        })
}

/// Judge one call from its result and the exchanges it made.
fn judge(
    method: &str,
    result: &Result<Option<PullRequest>, ForgeError>,
    exchanges: Vec<Exchange>,
    description: Option<&Description>,
    expect: Expect,
) -> Row {
    let mut request = Vec::new();
    let mut response = Vec::new();
    let mut mock = Vec::new();
    for ex in &exchanges {
        let f = findings(ex, description);
        request.extend(f.request);
        response.extend(f.response);
        mock.extend(f.mock);
    }
    let row = |verdict, detail| Row {
        method: method.to_string(),
        verdict,
        detail,
        exchanges: exchanges.clone(),
    };
    if !request.is_empty() {
        let mut detail =
            vec!["a request violates GitHub's description (fleetwright's defect):".into()];
        detail.extend(request);
        return row(Verdict::Failed, detail);
    }
    if !mock.is_empty() {
        let mut detail = vec!["the mock failed:".into()];
        detail.extend(mock);
        return row(Verdict::Failed, detail);
    }
    if exchanges.is_empty() {
        return row(Verdict::Failed, vec!["made no request".into()]);
    }
    let flagged = |head: &str| {
        let mut d = vec![head.to_string()];
        d.extend(response.iter().cloned());
        d
    };
    match result {
        // An answer the forge could not read, where prism says the answer
        // itself breaks the description.
        Err(e @ ForgeError::Forge { status: None, .. }) if !response.is_empty() => row(
            Verdict::DescriptionViolation,
            flagged(&format!(
                "the forge cannot read an answer, and the description's own example violates its schema: {e}"
            )),
        ),
        Err(ForgeError::Refused(why)) if expect == Expect::SuccessOrRefusal => {
            let mut d = vec![format!(
                "validated; the forge declined the examples' data: {why}"
            )];
            if !response.is_empty() {
                d.extend(flagged(
                    "the description's own examples violate its schema (read anyway):",
                ));
            }
            row(Verdict::Validated, d)
        }
        Err(e) => row(
            Verdict::Failed,
            vec![format!(
                "the forge failed on answers that follow the description: {e}"
            )],
        ),
        Ok(pr) => {
            if let Some(why) = pr.as_ref().and_then(|pr| misread(pr, &exchanges)) {
                return row(
                    Verdict::Failed,
                    vec![format!("the forge misread an answer: {why}")],
                );
            }
            if response.is_empty() {
                row(Verdict::Validated, vec![])
            } else {
                row(
                    Verdict::Validated,
                    flagged("the description's own examples violate its schema (read anyway):"),
                )
            }
        }
    }
}

/// Run one forge call and judge it.
async fn check<T, F>(
    rows: &mut Vec<Row>,
    recorder: &Recorder,
    description: &Description,
    method: &str,
    expect: Expect,
    call: F,
) where
    F: Future<Output = Result<T, ForgeError>>,
    T: Into<Option<PullRequest>>,
{
    recorder.take();
    let result = call.await.map(Into::into);
    rows.push(judge(
        method,
        &result,
        recorder.take(),
        Some(description),
        expect,
    ));
}

/// What a call returns, as the pull request to compare (if any).
struct Nothing;

impl From<Nothing> for Option<PullRequest> {
    fn from(_: Nothing) -> Self {
        None
    }
}

fn config(api_url: &str, auth: GitHubAuth) -> GitHubConfig {
    GitHubConfig {
        api_url: api_url.to_string(),
        auth,
        // GitHub's pacing, on a clock that does not make the test wait.
        pacing: PacingConfig::default(),
        clock: Arc::new(ManualClock::new()),
        merge_method: "squash".to_string(),
        git_url: None,
        proxies: None,
        shared_budget: None,
    }
}

fn app_auth(installation_id: Option<u64>) -> GitHubAuth {
    let pem = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/forge/github/testdata/test-app-key.pem"),
    )
    .expect("the test GitHub App key");
    GitHubAuth::App {
        app_id: 1,
        private_key_pem: Secret::new(pem),
        installation_id,
    }
}

/// Every forge method, as a campaign calls them.
async fn forge_calls(recorder: &Recorder, description: &Description) -> Vec<Row> {
    let mut rows = Vec::new();
    let repo = RepoRef {
        name: REPO.into(),
        url: format!("https://github.com/{REPO}.git"),
    };
    let new = NewPullRequest {
        title: "Replace deprecated APIs in Hello-World".into(),
        body: "Opened by fleetwright for campaign `modernize-deprecated-apis`.".into(),
        head: HEAD.into(),
        base: BASE.into(),
        head_commit: HEAD_SHA.into(),
        draft: false,
        labels: vec!["fleetwright".into(), "tech-debt".into()],
        reviewers: vec!["octocat".into()],
        team_reviewers: vec!["justice-league".into()],
        assignees: vec!["hubot".into()],
    };
    let forge = GitHubForge::new(config(&recorder.url, GitHubAuth::Token(Secret::new(TOKEN))))
        .expect("a GitHub forge");
    let (r, d) = (recorder, description);
    use Expect::*;
    check(
        &mut rows,
        r,
        d,
        "find_pull_request",
        Success,
        forge.find_pull_request(&repo, HEAD),
    )
    .await;
    check(
        &mut rows,
        r,
        d,
        "open_pull_request (labels, reviewers, assignees)",
        Success,
        forge.open_pull_request(&repo, &new),
    )
    .await;
    check(
        &mut rows,
        r,
        d,
        "pull_request",
        Success,
        forge.pull_request(&repo, NUMBER),
    )
    .await;
    check(
        &mut rows,
        r,
        d,
        "sync_pull_request",
        Success,
        forge.sync_pull_request(&repo, NUMBER),
    )
    .await;
    check(
        &mut rows,
        r,
        d,
        "sync_pull_request (again: If-None-Match)",
        Success,
        forge.sync_pull_request(&repo, NUMBER),
    )
    .await;
    check(&mut rows, r, d, "comment", Success, async {
        forge
            .comment(&repo, NUMBER, "Superseded by the next tranche.")
            .await
            .map(|()| Nothing)
    })
    .await;
    check(
        &mut rows,
        r,
        d,
        "merge_pull_request",
        Success,
        forge.merge_pull_request(&repo, NUMBER, None),
    )
    .await;
    check(
        &mut rows,
        r,
        d,
        "close_pull_request (with a comment)",
        Success,
        forge.close_pull_request(
            &repo,
            NUMBER,
            Some("Closed by fleetwright: the campaign was cancelled."),
        ),
    )
    .await;

    // The campaign's tracking issue: looked for by label (the examples'
    // issues hold no marker), opened, read, edited.
    let marker = "<!-- fleetwright:tracking-issue campaign=modernize-deprecated-apis -->";
    check(&mut rows, r, d, "find_tracking_issue", Success, async {
        forge
            .find_tracking_issue(&repo, marker)
            .await
            .map(|_| Nothing)
    })
    .await;
    check(&mut rows, r, d, "open_issue (labels)", Success, async {
        forge
            .open_issue(
                &repo,
                &NewIssue {
                    title: "fleetwright: modernize-deprecated-apis".into(),
                    body: format!("{marker}\n\n# Migration report"),
                    labels: vec![TRACKING_LABEL.into(), "migration".into()],
                },
            )
            .await
            .map(|_| Nothing)
    })
    .await;
    check(&mut rows, r, d, "issue", Success, async {
        forge.issue(&repo, NUMBER).await.map(|_| Nothing)
    })
    .await;
    check(&mut rows, r, d, "update_issue", Success, async {
        forge
            .update_issue(
                &repo,
                NUMBER,
                "fleetwright: modernize-deprecated-apis",
                &format!("{marker}\n\n# Migration report, again"),
            )
            .await
            .map(|_| Nothing)
    })
    .await;

    // A GitHub App: the installation looked up per owner, its token minted
    // by octocrab, and git's token minted by the forge.
    let app = GitHubForge::new(config(&recorder.url, app_auth(None))).expect("an app forge");
    check(
        &mut rows,
        r,
        d,
        "GitHub App: pull_request (installation, token)",
        Success,
        app.pull_request(&repo, NUMBER),
    )
    .await;
    check(&mut rows, r, d, "GitHub App: git_token", Success, async {
        app.git_credentials().await.map(|_| Nothing)
    })
    .await;
    // git's token before any repository: the app's installations listed.
    let fresh = GitHubForge::new(config(&recorder.url, app_auth(None))).expect("an app forge");
    check(
        &mut rows,
        r,
        d,
        "GitHub App: git_token (installations listed)",
        SuccessOrRefusal,
        async { fresh.git_credentials().await.map(|_| Nothing) },
    )
    .await;
    rows
}

/// Deliberately wrong requests: each must be judged a request violation,
/// or the contract test could not fail.
async fn wrong_requests(recorder: &Recorder, description: &Description) -> Vec<Row> {
    let crab = octocrab::Octocrab::builder()
        .base_uri(recorder.url.as_str())
        .unwrap()
        .personal_token(TOKEN.to_string())
        .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
        .build()
        .unwrap();
    let pulls = format!("/repos/{REPO}/pulls");
    let mut rows = Vec::new();
    let mut probe = async |name: &str, method: http::Method, uri: String, body: Option<Value>| {
        recorder.take();
        let request = http::Request::builder().method(method).uri(uri);
        let request = crab.build_request(request, body.as_ref()).unwrap();
        let _ = crab.execute(request).await;
        rows.push(judge(
            name,
            &Ok(None),
            recorder.take(),
            Some(description),
            Expect::Success,
        ));
    };
    probe(
        "wrong: title as a number",
        http::Method::POST,
        pulls.clone(),
        Some(json!({ "title": 5, "head": HEAD, "base": BASE })),
    )
    .await;
    probe(
        "wrong: a required field missing",
        http::Method::POST,
        pulls.clone(),
        Some(json!({ "title": "t", "head": HEAD })),
    )
    .await;
    probe(
        "wrong: a misspelt body field",
        http::Method::POST,
        pulls.clone(),
        Some(json!({ "title": "t", "head": HEAD, "base": BASE, "draf": true })),
    )
    .await;
    probe(
        "wrong: a misspelt query parameter",
        http::Method::GET,
        format!("{pulls}?stat=all"),
        None,
    )
    .await;
    probe(
        "wrong: an enum value GitHub does not know",
        http::Method::PUT,
        format!("{pulls}/{NUMBER}/merge"),
        Some(json!({ "merge_method": "fast-forward" })),
    )
    .await;
    probe(
        "wrong: an issue with a misspelt field",
        http::Method::POST,
        format!("/repos/{REPO}/issues"),
        Some(json!({ "title": "t", "bdy": "b" })),
    )
    .await;
    probe(
        "wrong: a path GitHub does not have",
        http::Method::GET,
        format!("/repos/{REPO}/pull/{NUMBER}"),
        None,
    )
    .await;
    rows
}

/// `GET /repos/{owner}/{repo}/pulls?state&head` for an exchange: the
/// description's name of the operation, and the query's parameter names.
fn operation_line(ex: &Exchange, description: &Description) -> String {
    let (path, query) = ex.target.split_once('?').unwrap_or((&ex.target, ""));
    let template = description
        .operation(&ex.method, path)
        .map_or_else(|| path.to_string(), |(t, _, _)| t);
    let names: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or(""))
        .collect();
    let query = if names.is_empty() {
        String::new()
    } else {
        format!("?{}", names.join("&"))
    };
    format!("{} {template}{query}", ex.method)
}

/// `wrong`: the rows of deliberately wrong requests, which must fail.
fn print_rows(title: &str, rows: &[Row], description: &Description, wrong: bool) {
    println!("\n{title}");
    let width = rows.iter().map(|r| r.method.len()).max().unwrap_or(0);
    for row in rows {
        let verdict = match row.verdict {
            Verdict::Failed if wrong => "caught".to_string(),
            _ if wrong => "NOT CAUGHT".to_string(),
            Verdict::Validated => {
                let mut label = "validated".to_string();
                if row.detail.iter().any(|d| d.contains("declined")) {
                    label.push_str("; the forge declined the examples' data");
                }
                if row.detail.iter().any(|d| d.contains("violate its schema")) {
                    label.push_str("; an answer breaks the description's own schema (read anyway)");
                }
                label
            }
            Verdict::DescriptionViolation => {
                "unreadable answer that breaks the description's own schema (its defect, not failed)"
                    .to_string()
            }
            Verdict::Failed => "FAILED".to_string(),
        };
        println!("  {:width$}  {verdict}", row.method);
        for ex in &row.exchanges {
            let notes: Vec<&str> = ex
                .notes
                .iter()
                .map(String::as_str)
                .filter(|n| !n.starts_with("Accept "))
                .collect();
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("  [{}]", notes.join("; "))
            };
            println!(
                "  {:width$}    {} -> {}{notes}",
                "",
                operation_line(ex, description),
                ex.status
            );
        }
        // The same violation on every page or call is said once.
        let mut said: Vec<String> = Vec::new();
        for line in &row.detail {
            let key = line
                .split_once(": ")
                .map_or(line.as_str(), |(_, rest)| rest);
            let key = key.replace(".0.", ".N.").replacen("body.0", "body.N", 1);
            if said.contains(&key) {
                continue;
            }
            said.push(key);
            println!("  {:width$}    {line}", "");
        }
    }
}

#[test]
fn every_github_request_validates_against_githubs_own_description() {
    let started = Instant::now();
    let packages = prism::ensure_packages(&prism::cache_dir(), std::env::var_os("PATH").as_deref())
        .unwrap_or_else(|e| panic!("{e}"));
    let prism = Prism::start(&packages).unwrap_or_else(|e| panic!("{e}"));
    let description = Description::load(&packages.description).unwrap_or_else(|e| panic!("{e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (rows, wrong) = runtime.block_on(async {
        let recorder = Recorder::start(&prism.url).await;
        let rows = tokio::time::timeout(
            Duration::from_secs(300),
            forge_calls(&recorder, &description),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the forge calls took over 300 s; prism's log:\n{}",
                prism.log_tail(40)
            )
        });
        let wrong = tokio::time::timeout(
            Duration::from_secs(120),
            wrong_requests(&recorder, &description),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the wrong requests took over 120 s; prism's log:\n{}",
                prism.log_tail(40)
            )
        });
        (rows, wrong)
    });

    println!(
        "\ncontract: {} serving {} (api.github.com.json); npm install: {}; prism answered after {:.1} s; \
         whole check {:.1} s; GitHub's Accept `application/vnd.github+json` sent to prism as `application/json`",
        prism::PRISM_PACKAGE,
        prism::DESCRIPTION_PACKAGE,
        packages
            .installed_in
            .map_or("cached".to_string(), |d| format!(
                "{:.1} s",
                d.as_secs_f64()
            )),
        prism.started_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    print_rows(
        "every forge method against the description:",
        &rows,
        &description,
        false,
    );
    print_rows(
        "deliberately wrong requests (each must be caught):",
        &wrong,
        &description,
        true,
    );

    let failed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Failed)
        .collect();
    let uncaught: Vec<&Row> = wrong
        .iter()
        .filter(|r| r.verdict != Verdict::Failed || !r.detail[0].starts_with("a request violates"))
        .collect();
    assert!(
        failed.is_empty() && uncaught.is_empty(),
        "contract failures:\n{}\nwrong requests not caught as request violations:\n{}",
        failed
            .iter()
            .map(|r| format!("  {}: {}", r.method, r.detail.join("\n      ")))
            .collect::<Vec<_>>()
            .join("\n"),
        uncaught
            .iter()
            .map(|r| format!("  {}: {:?} {}", r.method, r.verdict, r.detail.join("; ")))
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

/// Without Node.js, or without npm while the cache is empty, the contract
/// test fails with the install hint; it never passes by skipping.
#[test]
fn without_node_or_npm_the_contract_test_fails_with_the_install_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("npm");
    let empty = tmp.path().join("bin-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = prism::ensure_packages(&cache, Some(empty.as_os_str())).unwrap_err();
    assert!(err.contains(INSTALL_HINT), "{err}");
    assert!(err.contains("`node`"), "{err}");

    // node there, npm not, nothing cached.
    let node_only = tmp.path().join("bin-node");
    std::fs::create_dir_all(&node_only).unwrap();
    let node = node_only.join("node");
    std::fs::write(&node, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = prism::ensure_packages(&cache, Some(node_only.as_os_str())).unwrap_err();
    assert!(err.contains(INSTALL_HINT), "{err}");
    assert!(err.contains("`npm` is not on PATH"), "{err}");
}

/// The verdicts, on recorded exchanges made up here.
#[test]
fn unreadable_answers_fail_unless_the_description_is_at_fault() {
    let ok = |body: &str, violations: Vec<proxy::Violation>| Exchange {
        method: "GET".into(),
        target: "/repos/octocat/Hello-World/pulls/1347".into(),
        auth_scheme: Some("Bearer".into()),
        status: 200,
        prism_status: 200,
        response_content_type: Some("application/json".into()),
        response_body: body.into(),
        violations,
        ..Exchange::default()
    };
    let violation = |place: &str| proxy::Violation {
        location: vec![place.into(), "body".into(), "number".into()],
        severity: "Error".into(),
        message: "must be integer".into(),
    };
    let unreadable = || -> Result<Option<PullRequest>, ForgeError> {
        Err(ForgeError::Forge {
            status: None,
            message: "GitHub sent a pull request fleetwright cannot read".into(),
        })
    };
    let body = r#"{"number":"x"}"#;

    // Unreadable, and prism says the answer is fine: the forge's defect.
    let row = judge(
        "m",
        &unreadable(),
        vec![ok(body, vec![])],
        None,
        Expect::Success,
    );
    assert_eq!(row.verdict, Verdict::Failed, "{row:?}");
    // Unreadable, and prism says the answer breaks the schema.
    let row = judge(
        "m",
        &unreadable(),
        vec![ok(body, vec![violation("response")])],
        None,
        Expect::Success,
    );
    assert_eq!(row.verdict, Verdict::DescriptionViolation, "{row:?}");
    // A request violation fails whatever the forge made of the answer.
    let row = judge(
        "m",
        &Ok(None),
        vec![ok("{}", vec![violation("request")])],
        None,
        Expect::Success,
    );
    assert_eq!(row.verdict, Verdict::Failed, "{row:?}");
    // A request without credentials.
    let mut anonymous = ok("{}", vec![]);
    anonymous.auth_scheme = None;
    let row = judge("m", &Ok(None), vec![anonymous], None, Expect::Success);
    assert_eq!(row.verdict, Verdict::Failed, "{row:?}");
    // A pull request read wrong.
    let answer = r#"{"number":1347,"html_url":"https://github.com/octocat/Hello-World/pull/1347","head":{"ref":"new-topic","sha":"abc"},"base":{"ref":"master"},"draft":false,"merged_at":null,"closed_at":null}"#;
    let pr = PullRequest {
        number: 1347,
        url: "https://github.com/octocat/Hello-World/pull/1347".into(),
        state: fleetwright::state::PrState::Open,
        draft: false,
        head: "new-topic".into(),
        base: "main".into(),
        ci_state: None,
        close_comment: None,
        review_state: None,
        head_sha: Some("abc".into()),
        merged_at: None,
        closed_at: None,
    };
    let row = judge(
        "m",
        &Ok(Some(pr.clone())),
        vec![ok(answer, vec![])],
        None,
        Expect::Success,
    );
    assert_eq!(row.verdict, Verdict::Failed, "{row:?}");
    assert!(row.detail[0].contains("base.ref"), "{row:?}");
    let right = PullRequest {
        base: "master".into(),
        ..pr
    };
    let row = judge(
        "m",
        &Ok(Some(right)),
        vec![ok(answer, vec![])],
        None,
        Expect::Success,
    );
    assert_eq!(row.verdict, Verdict::Validated, "{row:?}");
    // No request at all.
    let row = judge("m", &Ok(None), vec![], None, Expect::Success);
    assert_eq!(row.verdict, Verdict::Failed, "{row:?}");
}
