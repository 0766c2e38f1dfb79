//! The GitLab contract: every request the GitLab forge makes, checked
//! against GitLab's API documentation recorded as fixtures
//! (`contract/gitlab/endpoints.json`, each endpoint with its page's URL):
//! method, path, query parameters and body fields (names, types, allowed
//! values, required ones, lengths). No OpenAPI description of these
//! endpoints can be installed from a package registry, so the fixtures are
//! the description. Every method of the `Forge` trait runs against the
//! GitLab simulator; deliberately wrong requests must be caught.

use std::sync::Arc;

use fleetwright::clock::ManualClock;
use fleetwright::forge::gitlab::{GitLabConfig, GitLabForge, TokenHeader};
use fleetwright::forge::pacing::PacingConfig;
use fleetwright::forge::{Forge, NewIssue, NewPullRequest, RepoRef};
use fleetwright::secret::Secret;
use fleetwright::sim::gitlab::{GitlabSim, SimRequest};
use serde_json::{Value, json};

const TOKEN: &str = "glpat-contractTOKEN";

fn endpoints() -> Vec<Value> {
    let text = include_str!("gitlab/endpoints.json");
    let doc: Value = serde_json::from_str(text).unwrap();
    doc["endpoints"].as_array().unwrap().clone()
}

/// Whether a documented path (`/projects/{id}/merge_requests/{iid}`)
/// matches a path sent (still encoded).
fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| match *t {
            // A project or group path, URL-encoded: one segment.
            "{id}" => !p.is_empty() && !p.contains('/'),
            "{iid}" => !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()),
            literal => literal == *p,
        })
}

/// Whether `value` is of the documented `kind`.
fn type_ok(kind: &Value, value: &Value) -> bool {
    match kind {
        Value::Array(allowed) => allowed.iter().any(|a| a == value),
        Value::String(kind) => match kind.as_str() {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "array<integer>" => value
                .as_array()
                .is_some_and(|a| a.iter().all(|v| v.is_u64() || v.is_i64())),
            _ => false,
        },
        _ => false,
    }
}

/// A query value as the type it claims: query parameters are text.
fn query_value(kind: &Value, text: &str) -> Value {
    match kind.as_str() {
        Some("integer") => text.parse::<i64>().map_or(json!(text), |n| json!(n)),
        Some("boolean") => text.parse::<bool>().map_or(json!(text), |b| json!(b)),
        _ => json!(text),
    }
}

/// What is wrong with a request by the fixtures; empty when nothing.
fn violations(endpoints: &[Value], request: &SimRequest) -> Vec<String> {
    let Some(endpoint) = endpoints.iter().find(|e| {
        e["method"] == request.method && path_matches(e["path"].as_str().unwrap(), &request.path)
    }) else {
        return vec![format!(
            "{} {}: no such endpoint in GitLab's documentation",
            request.method, request.path
        )];
    };
    let name = endpoint["name"].as_str().unwrap();
    let mut found = Vec::new();
    let query = endpoint["query"].as_object().unwrap();
    for (key, value) in &request.query {
        match query.get(key) {
            None => found.push(format!("{name}: query parameter `{key}` is not documented")),
            Some(kind) if !type_ok(kind, &query_value(kind, value)) => found.push(format!(
                "{name}: query parameter `{key}={value}` is not {kind}"
            )),
            Some(_) => {}
        }
    }
    for required in endpoint["required_query"].as_array().unwrap() {
        if !request.query.iter().any(|(k, _)| k == required) {
            found.push(format!("{name}: query parameter {required} is required"));
        }
    }
    let fields = endpoint["body"].as_object().unwrap();
    let empty = json!({});
    let body = request.body.as_ref().unwrap_or(&empty);
    match body.as_object() {
        None => found.push(format!("{name}: the body is not a JSON object")),
        Some(body) => {
            if fields.is_empty() && !body.is_empty() {
                found.push(format!("{name}: takes no body"));
            }
            for (key, value) in body {
                match fields.get(key) {
                    None if !fields.is_empty() => {
                        found.push(format!("{name}: body field `{key}` is not documented"))
                    }
                    Some(kind) if !type_ok(kind, value) => found.push(format!(
                        "{name}: body field `{key}` = {value} is not {kind}"
                    )),
                    _ => {}
                }
            }
            for required in endpoint["required_body"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !body.contains_key(required) {
                    found.push(format!("{name}: body field `{required}` is required"));
                }
            }
            if let Some(any) = endpoint["at_least_one_of"].as_array()
                && !any.iter().any(|k| body.contains_key(k.as_str().unwrap()))
            {
                found.push(format!("{name}: needs at least one of {any:?}"));
            }
            for (key, most) in endpoint["max_chars"].as_object().into_iter().flatten() {
                let chars = body
                    .get(key)
                    .and_then(Value::as_str)
                    .map_or(0, |s| s.chars().count());
                if chars as u64 > most.as_u64().unwrap() {
                    found.push(format!("{name}: `{key}` is longer than {most}"));
                }
            }
        }
    }
    found
}

fn new_pull_request(head: &str, draft: bool) -> NewPullRequest {
    NewPullRequest {
        title: "Replace deprecated APIs".into(),
        body: "Why, what, how to review.".into(),
        head: head.into(),
        base: "main".into(),
        head_commit: String::new(),
        draft,
        labels: vec!["fleetwright".into(), "fleetwright/recipe-exact".into()],
        reviewers: vec!["alice".into(), "nobody-here".into()],
        team_reviewers: vec!["team-a".into()],
        assignees: vec!["team-a-lead".into()],
    }
}

/// Every method of the forge, once or more, against the simulator.
async fn exercise(sim: &GitlabSim) {
    let forge = GitLabForge::new(GitLabConfig {
        api_url: sim.api_url(),
        pacing: PacingConfig {
            min_interval: std::time::Duration::ZERO,
            ..PacingConfig::default()
        },
        clock: Arc::new(ManualClock::new()),
        token_header: TokenHeader::Bearer,
        merge_when_pipeline_succeeds: true,
        ..GitLabConfig::new(Secret::new(TOKEN))
    })
    .unwrap();
    let repo = RepoRef {
        name: "acme/platform/billing".into(),
        url: "https://gitlab.example.com/acme/platform/billing.git".into(),
    };
    assert!(
        forge
            .find_pull_request(&repo, "fw/a")
            .await
            .unwrap()
            .is_none()
    );
    let a = forge
        .open_pull_request(&repo, &new_pull_request("fw/a", false))
        .await
        .unwrap();
    let b = forge
        .open_pull_request(&repo, &new_pull_request("fw/b", true))
        .await
        .unwrap();
    assert!(b.draft);
    // A second open for one branch adopts the first (GitLab's 409).
    let again = forge
        .open_pull_request(&repo, &new_pull_request("fw/a", false))
        .await
        .unwrap();
    assert_eq!(again.number, a.number);
    forge.pull_request(&repo, a.number).await.unwrap();
    let synced = forge.sync_pull_request(&repo, a.number).await.unwrap();
    assert_eq!(synced.ci_state, Some(fleetwright::state::CiState::None));
    forge.set_label(&repo, a.number, "x", true).await.unwrap();
    forge.set_label(&repo, a.number, "x", false).await.unwrap();
    forge.comment(&repo, a.number, "a nudge").await.unwrap();
    forge
        .update_pull_request(&repo, b.number, "New title", "New body")
        .await
        .unwrap();
    let merged = forge
        .merge_pull_request(&repo, a.number, a.head_sha.as_deref())
        .await
        .unwrap();
    assert_eq!(merged.state, fleetwright::state::PrState::Merged);
    let closed = forge
        .close_pull_request(&repo, b.number, Some("no longer needed"))
        .await
        .unwrap();
    assert_eq!(closed.state, fleetwright::state::PrState::Closed);
    let issue = forge
        .open_issue(
            &repo,
            &NewIssue {
                title: "fleetwright: c".into(),
                body: "<!-- marker -->\nreport".into(),
                labels: vec![fleetwright::forge::TRACKING_LABEL.into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        forge
            .find_tracking_issue(&repo, "<!-- marker -->")
            .await
            .unwrap(),
        Some(issue.clone())
    );
    forge.issue(&repo, issue.number).await.unwrap();
    forge
        .update_issue(
            &repo,
            issue.number,
            "fleetwright: c",
            "<!-- marker -->\nnew",
        )
        .await
        .unwrap();
    let creds = forge.git_credentials().await.unwrap().unwrap();
    assert_eq!(creds.username, "oauth2");
}

#[test]
fn every_gitlab_request_matches_gitlabs_documentation() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let requests = rt.block_on(async {
        let sim = GitlabSim::start(TOKEN).await.unwrap();
        sim.add_project("acme/platform/billing", "main");
        sim.add_user("alice");
        sim.add_group("acme/team-a", &["team-a-lead", "bob"]);
        exercise(&sim).await;
        let requests = sim.requests();
        sim.stop().await;
        requests
    });
    // People and groups are looked up once, however many merge requests
    // ask them.
    let lookups = |path: &str| requests.iter().filter(|r| r.path == path).count();
    assert_eq!(lookups("/users"), 3, "alice, nobody-here, team-a-lead");
    assert_eq!(lookups("/groups/acme%2Fteam-a/members/all"), 1);
    let endpoints = endpoints();
    let mut all = Vec::new();
    for request in &requests {
        assert_eq!(request.token_header.as_deref(), Some("authorization"));
        all.extend(violations(&endpoints, request));
    }
    assert!(
        all.is_empty(),
        "requests GitLab does not document:\n{}",
        all.join("\n")
    );
    // Every endpoint of the fixtures was exercised, so none is stale.
    for endpoint in &endpoints {
        assert!(
            requests.iter().any(|r| r.method == endpoint["method"]
                && path_matches(endpoint["path"].as_str().unwrap(), &r.path)),
            "{} was never requested",
            endpoint["name"]
        );
    }
}

#[test]
fn wrong_gitlab_requests_are_caught() {
    let endpoints = endpoints();
    let request =
        |method: &str, path: &str, query: &[(&str, &str)], body: Option<Value>| SimRequest {
            method: method.into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
            token_header: None,
            status: 200,
        };
    let wrong = [
        // GitHub's field names on GitLab.
        request(
            "POST",
            "/projects/acme%2Fbilling/merge_requests",
            &[],
            Some(json!({"head": "fw", "base": "main", "title": "t"})),
        ),
        // An unencoded project path.
        request("GET", "/projects/acme/billing/merge_requests/1", &[], None),
        // A state GitLab does not know.
        request(
            "GET",
            "/projects/acme%2Fbilling/merge_requests",
            &[("state", "open")],
            None,
        ),
        // Labels as a number, reviewers by name.
        request(
            "POST",
            "/projects/a%2Fb/merge_requests",
            &[],
            Some(
                json!({"source_branch": "fw", "target_branch": "main", "title": "t", "labels": 3, "reviewer_ids": ["alice"]}),
            ),
        ),
        // PATCH is GitHub's verb; GitLab updates with PUT.
        request(
            "PATCH",
            "/projects/a%2Fb/merge_requests/1",
            &[],
            Some(json!({"title": "t"})),
        ),
        // A state_event GitLab does not know, and an update of nothing.
        request(
            "PUT",
            "/projects/a%2Fb/merge_requests/1",
            &[],
            Some(json!({"state_event": "closed"})),
        ),
        request(
            "PUT",
            "/projects/a%2Fb/merge_requests/1",
            &[],
            Some(json!({})),
        ),
        // A description past GitLab's limit.
        request(
            "POST",
            "/projects/a%2Fb/issues",
            &[],
            Some(json!({"title": "t", "description": "x".repeat(1_048_577)})),
        ),
        // A note without its body.
        request(
            "POST",
            "/projects/a%2Fb/merge_requests/1/notes",
            &[],
            Some(json!({"text": "hi"})),
        ),
    ];
    for r in &wrong {
        assert!(!violations(&endpoints, r).is_empty(), "not caught: {r:?}");
    }
    // And a right one passes.
    let right = request(
        "GET",
        "/projects/a%2Fb%2Fc/merge_requests",
        &[
            ("source_branch", "fw/x"),
            ("state", "all"),
            ("per_page", "100"),
        ],
        None,
    );
    assert_eq!(violations(&endpoints, &right), Vec::<String>::new());
}
