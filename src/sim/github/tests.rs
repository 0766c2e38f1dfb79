//! The simulator over real HTTP: a raw client for exact statuses, headers
//! and bodies, and octocrab 0.54 (what the GitHub forge uses) for the
//! shapes. Every test starts its own simulator and stops it.

use std::time::{Duration, Instant};

use octocrab::Octocrab;
use octocrab::models;
use octocrab::params;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;
use crate::sim::SimClock;
use crate::sim::test_http::{self, RawResponse};

const TOKEN: &str = "ghp_simtest";
const REPO: &str = "/repos/acme/billing-api";

async fn start(limits: Limits, clock: SimClock) -> GithubSim {
    let options = SimOptions {
        clock,
        limits,
        token: TOKEN.into(),
        timeout_hold: Duration::from_secs(5),
        ..SimOptions::default()
    };
    let sim = GithubSim::start(options)
        .await
        .expect("the simulator starts");
    sim.add_repo("acme", "billing-api", "main");
    sim
}

/// A simulator whose limits stay out of the way, on a manual clock.
async fn relaxed() -> GithubSim {
    start(Limits::unlimited(), SimClock::manual()).await
}

fn octocrab(sim: &GithubSim) -> Octocrab {
    Octocrab::builder()
        .base_uri(sim.api_url())
        .expect("a base URI")
        .personal_token(TOKEN.to_string())
        .build()
        .expect("an octocrab client")
}

async fn get(sim: &GithubSim, path: &str) -> RawResponse {
    test_http::get(&sim.api_url(), path, TOKEN, &[]).await
}

async fn send(sim: &GithubSim, method: &str, path: &str, body: Value) -> RawResponse {
    test_http::write(&sim.api_url(), method, path, TOKEN, &body.to_string()).await
}

async fn open_pull(sim: &GithubSim, head: &str) -> RawResponse {
    let body =
        json!({"title": format!("Migrate {head}"), "head": head, "base": "main", "body": "Why"});
    send(sim, "POST", &format!("{REPO}/pulls"), body).await
}

async fn comment(sim: &GithubSim, number: u64) -> RawResponse {
    let path = format!("{REPO}/issues/{number}/comments");
    send(sim, "POST", &path, json!({"body": "hello"})).await
}

fn model<T: DeserializeOwned>(response: &RawResponse) -> T {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        let body = String::from_utf8_lossy(&response.body);
        panic!(
            "{} does not deserialize: {e}\n{body}",
            std::any::type_name::<T>()
        )
    })
}

fn numbers(response: &RawResponse) -> Vec<u64> {
    let list = response.json();
    let items = list.as_array().expect("a JSON array");
    items
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect()
}

fn header_u64(response: &RawResponse, name: &str) -> u64 {
    let value = response
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header"));
    value.parse().expect("a number")
}

fn status_of(error: &octocrab::Error) -> u16 {
    match error {
        octocrab::Error::GitHub { source, .. } => source.status_code.as_u16(),
        other => panic!("not a GitHub error: {other:?}"),
    }
}

// ---- auth and 404 ----

#[tokio::test]
async fn every_request_needs_the_token_as_bearer_or_token() {
    let sim = relaxed().await;
    let url = sim.api_url();
    let anonymous = test_http::send(&url, "GET", REPO, &[], None).await.unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["message"], "Bad credentials");
    assert_eq!(
        test_http::get(&url, REPO, "ghp_wrong", &[]).await.status,
        401
    );
    let basic = [("Authorization", "Basic eDpnaHBfc2ltdGVzdA==")];
    assert_eq!(
        test_http::send(&url, "GET", REPO, &basic, None)
            .await
            .unwrap()
            .status,
        401
    );
    let bearer = get(&sim, REPO).await;
    assert_eq!(bearer.status, 200);
    // Refused requests did not count against the primary limit.
    assert_eq!(header_u64(&bearer, "x-ratelimit-used"), 1);
    let scheme = format!("token {TOKEN}");
    let token = test_http::send(&url, "GET", REPO, &[("Authorization", &scheme)], None).await;
    assert_eq!(token.unwrap().status, 200);
    sim.stop().await;
}

#[tokio::test]
async fn unknown_repositories_and_paths_are_404_not_found() {
    let sim = relaxed().await;
    for path in [
        "/repos/acme/nope",
        "/repos/acme/billing-api/pulls/9",
        "/nothing",
        "/repos/acme",
    ] {
        let response = get(&sim, path).await;
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.json()["message"], "Not Found");
    }
    // Owner and name ignore case, as on GitHub.
    assert_eq!(get(&sim, "/repos/ACME/Billing-API").await.status, 200);
    sim.stop().await;
}

// ---- pull requests over raw HTTP ----

#[tokio::test]
async fn a_second_open_pull_request_on_the_same_head_is_422() {
    let sim = relaxed().await;
    let first = open_pull(&sim, "fleetwright/x").await;
    assert_eq!(first.status, 201);
    assert_eq!(first.json()["number"], 1);
    let location = first.header("location").unwrap();
    assert!(
        location.ends_with("/repos/acme/billing-api/pulls/1"),
        "{location}"
    );
    for head in ["fleetwright/x", "acme:fleetwright/x"] {
        let again = open_pull(&sim, head).await;
        assert_eq!(again.status, 422);
        assert_eq!(
            again.json()["errors"][0],
            json!({
                "resource": "PullRequest",
                "code": "custom",
                "message": "A pull request already exists for acme:fleetwright/x.",
            })
        );
        assert_eq!(again.json()["message"], "Validation Failed");
    }
    // Closed, the head is free again; the closed one cannot reopen then.
    let close = send(
        &sim,
        "PATCH",
        &format!("{REPO}/pulls/1"),
        json!({"state": "closed"}),
    )
    .await;
    assert_eq!(close.json()["state"], "closed");
    assert_eq!(open_pull(&sim, "fleetwright/x").await.json()["number"], 2);
    let reopen = send(
        &sim,
        "PATCH",
        &format!("{REPO}/pulls/1"),
        json!({"state": "open"}),
    )
    .await;
    assert_eq!(reopen.status, 422);
    assert_eq!(sim.pulls("acme", "billing-api").len(), 2);
    sim.stop().await;
}

#[tokio::test]
async fn a_new_pull_request_needs_title_head_and_base_of_this_owner() {
    let sim = relaxed().await;
    let path = format!("{REPO}/pulls");
    let missing = send(&sim, "POST", &path, json!({"head": "x", "base": "main"})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["errors"][0]["field"], "title");
    assert_eq!(missing.json()["errors"][0]["code"], "missing_field");
    let body = json!({"title": "t", "head": "someone:x", "base": "main"});
    let foreign = send(&sim, "POST", &path, body).await;
    assert_eq!(foreign.json()["errors"][0]["field"], "head");
    let broken = test_http::write(&sim.api_url(), "POST", &path, TOKEN, "{not json").await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.json()["message"], "Problems parsing JSON");
    assert!(sim.pulls("acme", "billing-api").is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn lists_paginate_with_link_headers() {
    let sim = relaxed().await;
    for i in 1..=5 {
        assert_eq!(open_pull(&sim, &format!("b{i}")).await.status, 201);
    }
    let first = get(&sim, &format!("{REPO}/pulls?state=all&per_page=2")).await;
    assert_eq!(numbers(&first), [5, 4]);
    let link = first.header("link").expect("a Link header");
    let base = sim.api_url();
    assert_eq!(
        link,
        format!(
            "<{base}{REPO}/pulls?state=all&per_page=2&page=2>; rel=\"next\", \
             <{base}{REPO}/pulls?state=all&per_page=2&page=3>; rel=\"last\""
        )
    );
    let last = get(&sim, &format!("{REPO}/pulls?state=all&per_page=2&page=3")).await;
    assert_eq!(numbers(&last), [1]);
    let link = last.header("link").unwrap();
    assert!(link.contains("page=2>; rel=\"prev\""), "{link}");
    assert!(link.contains("page=1>; rel=\"first\""), "{link}");
    assert!(!link.contains("next"), "{link}");
    let all = get(&sim, &format!("{REPO}/pulls")).await;
    assert_eq!(numbers(&all), [5, 4, 3, 2, 1]);
    assert!(all.header("link").is_none());
    // octocrab follows the links.
    let gh = octocrab(&sim);
    let page = gh
        .pulls("acme", "billing-api")
        .list()
        .state(params::State::All)
        .direction(params::Direction::Ascending)
        .per_page(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.number_of_pages(), Some(3));
    let every = gh.all_pages(page).await.unwrap();
    let order: Vec<u64> = every.iter().map(|p| p.number).collect();
    assert_eq!(order, [1, 2, 3, 4, 5]);
    sim.stop().await;
}

#[tokio::test]
async fn the_head_filter_needs_the_owner_prefix_as_on_github() {
    let sim = relaxed().await;
    open_pull(&sim, "b1").await;
    open_pull(&sim, "b2").await;
    let listed = |query: &str| format!("{REPO}/pulls?state=all&{query}");
    assert_eq!(numbers(&get(&sim, &listed("head=acme:b1")).await), [1]);
    assert_eq!(numbers(&get(&sim, &listed("head=acme%3Ab2")).await), [2]);
    assert_eq!(
        numbers(&get(&sim, &listed("head=other:b1")).await),
        Vec::<u64>::new()
    );
    // Without `owner:`, GitHub ignores the filter: a classic duplicate-PR bug.
    assert_eq!(numbers(&get(&sim, &listed("head=b1")).await), [2, 1]);
    sim.close_pull("acme", "billing-api", 2);
    assert_eq!(numbers(&get(&sim, &format!("{REPO}/pulls")).await), [1]);
    let closed = get(&sim, &format!("{REPO}/pulls?state=closed")).await;
    assert_eq!(numbers(&closed), [2]);
    sim.stop().await;
}

#[tokio::test]
async fn merging_needs_an_open_mergeable_pull_request_at_the_given_head() {
    let sim = relaxed().await;
    open_pull(&sim, "b1").await;
    let merge = format!("{REPO}/pulls/1/merge");
    sim.set_mergeable("acme", "billing-api", 1, false);
    let dirty = send(&sim, "PUT", &merge, json!({})).await;
    assert_eq!(dirty.status, 405);
    assert_eq!(dirty.json()["message"], "Pull Request is not mergeable");
    assert_eq!(
        get(&sim, &format!("{REPO}/pulls/1")).await.json()["mergeable_state"],
        "dirty"
    );
    sim.set_mergeable("acme", "billing-api", 1, true);
    let stale = send(&sim, "PUT", &merge, json!({"sha": "0".repeat(40)})).await;
    assert_eq!(stale.status, 409);
    let odd = send(&sim, "PUT", &merge, json!({"merge_method": "octopus"})).await;
    assert_eq!(odd.status, 422);
    assert_eq!(get(&sim, &merge).await.status, 404);
    let done = send(&sim, "PUT", &merge, json!({"merge_method": "rebase"})).await;
    assert_eq!(done.status, 200);
    assert_eq!(done.json()["merged"], true);
    assert_eq!(get(&sim, &merge).await.status, 204);
    assert_eq!(send(&sim, "PUT", &merge, json!({})).await.status, 405);
    let pull = sim.pull("acme", "billing-api", 1).unwrap();
    assert_eq!(
        (pull.state, pull.merge_method.as_deref()),
        (PullState::Merged, Some("rebase"))
    );
    // A merged pull request cannot be reopened or closed again.
    let reopen = send(
        &sim,
        "PATCH",
        &format!("{REPO}/pulls/1"),
        json!({"state": "open"}),
    )
    .await;
    assert_eq!(reopen.status, 422);
    // A draft cannot be merged.
    let body = json!({"title": "t", "head": "b2", "base": "main", "draft": true});
    send(&sim, "POST", &format!("{REPO}/pulls"), body).await;
    let draft = send(&sim, "PUT", &format!("{REPO}/pulls/2/merge"), json!({})).await;
    assert_eq!(draft.json()["message"], "Pull Request is still a draft");
    sim.stop().await;
}

#[tokio::test]
async fn reviewers_must_not_be_the_author_and_must_be_collaborators_when_listed() {
    let sim = relaxed().await;
    open_pull(&sim, "b1").await;
    let path = format!("{REPO}/pulls/1/requested_reviewers");
    let author = send(
        &sim,
        "POST",
        &path,
        json!({"reviewers": ["fleetwright-bot"]}),
    )
    .await;
    assert_eq!(author.status, 422);
    assert_eq!(
        author.json()["message"],
        "Review cannot be requested from pull request author."
    );
    sim.set_collaborators("acme", "billing-api", &["alice"]);
    sim.set_teams("acme", "billing-api", &["payments"]);
    let stranger = send(&sim, "POST", &path, json!({"reviewers": ["mallory"]})).await;
    assert_eq!(stranger.status, 422);
    let ghost_team = send(&sim, "POST", &path, json!({"team_reviewers": ["ghosts"]})).await;
    assert_eq!(ghost_team.status, 422);
    let body = json!({"reviewers": ["alice"], "team_reviewers": ["payments"]});
    let ok = send(&sim, "POST", &path, body).await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.json()["requested_reviewers"][0]["login"], "alice");
    assert_eq!(ok.json()["requested_teams"][0]["slug"], "payments");
    let listed = get(&sim, &path).await.json();
    assert_eq!(listed["users"][0]["login"], "alice");
    // Assignees GitHub cannot assign are dropped without an error.
    let body = json!({"assignees": ["alice", "mallory"]});
    let assigned = send(&sim, "POST", &format!("{REPO}/issues/1/assignees"), body).await;
    assert_eq!(assigned.status, 201);
    assert_eq!(
        sim.pull("acme", "billing-api", 1).unwrap().assignees,
        ["alice"]
    );
    sim.stop().await;
}

// ---- conditional requests and rate limits ----

#[tokio::test]
async fn a_matching_if_none_match_is_304_and_does_not_count() {
    let sim = relaxed().await;
    let first = get(&sim, REPO).await;
    let etag = first.header("etag").expect("an ETag").to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    let used = header_u64(&first, "x-ratelimit-used");
    let again = test_http::get(&sim.api_url(), REPO, TOKEN, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(header_u64(&again, "x-ratelimit-used"), used);
    let other = test_http::get(
        &sim.api_url(),
        REPO,
        TOKEN,
        &[("If-None-Match", "\"nope\"")],
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(header_u64(&other, "x-ratelimit-used"), used + 1);
    // A change makes a new ETag.
    let pulls = format!("{REPO}/pulls");
    let before = get(&sim, &pulls).await.header("etag").unwrap().to_string();
    open_pull(&sim, "b1").await;
    let changed =
        test_http::get(&sim.api_url(), &pulls, TOKEN, &[("If-None-Match", &before)]).await;
    assert_eq!(changed.status, 200);
    assert_eq!(numbers(&changed), [1]);
    assert_eq!(sim.stats().not_modified, 1);
    sim.stop().await;
}

#[tokio::test]
async fn the_primary_limit_counts_down_refuses_when_spent_and_resets() {
    let limits = Limits {
        primary_per_hour: 3,
        ..Limits::unlimited()
    };
    let sim = start(limits, SimClock::manual()).await;
    let first = get(&sim, REPO).await;
    assert_eq!(header_u64(&first, "x-ratelimit-limit"), 3);
    assert_eq!(header_u64(&first, "x-ratelimit-remaining"), 2);
    assert_eq!(header_u64(&first, "x-ratelimit-used"), 1);
    assert_eq!(first.header("x-ratelimit-resource"), Some("core"));
    let wall = crate::clock::Clock::wall(sim.clock());
    let reset = limits::epoch_seconds(wall) + 3600;
    assert_eq!(header_u64(&first, "x-ratelimit-reset"), reset);
    get(&sim, REPO).await;
    assert_eq!(
        header_u64(&get(&sim, REPO).await, "x-ratelimit-remaining"),
        0
    );
    let spent = get(&sim, REPO).await;
    assert_eq!(spent.status, 403);
    let message = spent.json()["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("API rate limit exceeded"), "{message}");
    assert_eq!(header_u64(&spent, "x-ratelimit-remaining"), 0);
    assert_eq!(sim.stats().primary_limited, 1);
    sim.clock().advance(Duration::from_secs(3600));
    let fresh = get(&sim, REPO).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(header_u64(&fresh, "x-ratelimit-remaining"), 2);
    sim.stop().await;
}

#[tokio::test]
async fn two_writes_at_one_instant_break_the_minimum_interval() {
    let sim = start(Limits::github(), SimClock::manual()).await;
    assert_eq!(open_pull(&sim, "b1").await.status, 201);
    let second = comment(&sim, 1).await;
    assert_eq!(second.status, 403);
    assert_eq!(second.header("retry-after"), Some("1"));
    let message = second.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("secondary rate limit"), "{message}");
    // Reads are not content-creating.
    assert_eq!(get(&sim, REPO).await.status, 200);
    sim.clock().advance(Duration::from_secs(1));
    assert_eq!(comment(&sim, 1).await.status, 201);
    let stats = sim.stats();
    assert_eq!((stats.violations, stats.secondary_limited), (1, 1));
    let seen: Vec<(Duration, u16)> = stats.writes.iter().map(|w| (w.at, w.status)).collect();
    let second = Duration::from_secs(1);
    assert_eq!(
        seen,
        [(Duration::ZERO, 201), (Duration::ZERO, 403), (second, 201)]
    );
    assert_eq!(stats.writes[0].path, "/repos/acme/billing-api/pulls");
    assert_eq!(stats.writes[0].method, "POST");
    sim.stop().await;
}

#[tokio::test]
async fn the_81st_write_in_a_minute_is_a_violation_with_retry_after() {
    let limits = Limits {
        min_interval: Duration::ZERO,
        ..Limits::github()
    };
    let sim = start(limits, SimClock::manual()).await;
    open_pull(&sim, "b1").await;
    for _ in 1..80 {
        sim.clock().advance(Duration::from_millis(500));
        assert_eq!(comment(&sim, 1).await.status, 201);
    }
    // 80 writes in 39.5 s; the 81st at 40 s waits until the first is 60 s old.
    sim.clock().advance(Duration::from_millis(500));
    let refused = comment(&sim, 1).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("retry-after"), Some("20"));
    assert_eq!(sim.stats().violations, 1);
    sim.clock().advance(Duration::from_secs(20));
    assert_eq!(comment(&sim, 1).await.status, 201);
    sim.stop().await;
}

#[tokio::test]
async fn the_501st_write_in_an_hour_is_a_violation() {
    let sim = start(Limits::github(), SimClock::manual()).await;
    open_pull(&sim, "b1").await;
    for _ in 1..500 {
        sim.clock().advance(Duration::from_secs(7));
        assert_eq!(comment(&sim, 1).await.status, 201);
    }
    sim.clock().advance(Duration::from_secs(7));
    let refused = comment(&sim, 1).await;
    assert_eq!(refused.status, 403);
    // 500 writes at 0..3493 s; the 501st, at 3500 s, waits for the first
    // to be an hour old.
    assert_eq!(refused.header("retry-after"), Some("100"));
    let stats = sim.stats();
    assert_eq!((stats.writes.len(), stats.violations), (501, 1));
    sim.stop().await;
}

#[tokio::test]
async fn a_client_pacing_on_the_shared_clock_breaks_no_limit() {
    let sim = start(Limits::github(), SimClock::manual()).await;
    let clock = sim.clock().shared();
    let started = Instant::now();
    open_pull(&sim, "b1").await;
    for _ in 0..100 {
        // What a pacing queue does: sleep on the same clock between writes.
        clock.sleep(Duration::from_millis(1000)).await;
        assert_eq!(comment(&sim, 1).await.status, 201);
    }
    let stats = sim.stats();
    assert_eq!(stats.violations, 0);
    assert_eq!(stats.writes.last().unwrap().at, Duration::from_secs(100));
    // Simulated minutes, real milliseconds.
    assert!(started.elapsed() < Duration::from_secs(30));
    sim.stop().await;
}

// ---- faults ----

#[tokio::test]
async fn injected_server_errors_answer_then_pass() {
    let sim = relaxed().await;
    sim.inject(Fault::ServerError {
        status: 502,
        times: 2,
    });
    sim.inject(Fault::ServerError {
        status: 503,
        times: 1,
    });
    for expected in [502, 502, 503, 200] {
        assert_eq!(get(&sim, REPO).await.status, expected);
    }
    sim.inject(Fault::ServerError {
        status: 500,
        times: 1,
    });
    let failed = open_pull(&sim, "b1").await;
    assert_eq!(failed.json()["message"], "Internal Server Error");
    assert!(
        sim.pulls("acme", "billing-api").is_empty(),
        "a 5xx has no effect"
    );
    assert_eq!(sim.stats().faults, 4);
    sim.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_and_has_no_effect() {
    let sim = relaxed().await;
    sim.inject(Fault::DropConnection);
    let body = json!({"title": "t", "head": "b1", "base": "main"}).to_string();
    let auth = format!("Bearer {TOKEN}");
    let headers = [("Authorization", auth.as_str())];
    let path = format!("{REPO}/pulls");
    let cut = test_http::send(&sim.api_url(), "POST", &path, &headers, Some(&body)).await;
    assert!(cut.is_none(), "{cut:?}");
    assert!(sim.pulls("acme", "billing-api").is_empty());
    // octocrab sees an error that is not a GitHub answer.
    sim.inject(Fault::DropConnection);
    let error = octocrab(&sim)
        .repos("acme", "billing-api")
        .get()
        .await
        .unwrap_err();
    assert!(
        !matches!(error, octocrab::Error::GitHub { .. }),
        "{error:?}"
    );
    assert_eq!(get(&sim, REPO).await.status, 200);
    sim.stop().await;
}

#[tokio::test]
async fn a_lost_response_still_takes_effect() {
    let sim = relaxed().await;
    sim.inject_matching("POST", "/pulls", Fault::LostResponse);
    assert_eq!(
        get(&sim, REPO).await.status,
        200,
        "only a matching request trips it"
    );
    let body = json!({"title": "t", "head": "b1", "base": "main"}).to_string();
    let auth = format!("Bearer {TOKEN}");
    let headers = [("Authorization", auth.as_str())];
    let path = format!("{REPO}/pulls");
    let lost = test_http::send(&sim.api_url(), "POST", &path, &headers, Some(&body)).await;
    assert!(lost.is_none());
    // The pull request exists: a client that retries blindly gets 422.
    assert_eq!(
        numbers(&get(&sim, &format!("{path}?head=acme:b1")).await),
        [1]
    );
    assert_eq!(open_pull(&sim, "b1").await.status, 422);
    sim.stop().await;
}

#[tokio::test]
async fn a_held_response_times_the_client_out_and_stop_cuts_it_short() {
    let sim = relaxed().await;
    let gh = Octocrab::builder()
        .base_uri(sim.api_url())
        .unwrap()
        .personal_token(TOKEN.to_string())
        .set_read_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    sim.inject(Fault::Timeout);
    let started = Instant::now();
    let error = gh.repos("acme", "billing-api").get().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{error:?}");
    assert!(
        !matches!(error, octocrab::Error::GitHub { .. }),
        "{error:?}"
    );
    assert_eq!(
        gh.repos("acme", "billing-api").get().await.unwrap().name,
        "billing-api"
    );
    // A held request elsewhere does not keep the simulator alive.
    sim.inject(Fault::Timeout);
    let url = sim.api_url();
    let held = tokio::spawn(async move { test_http::get(&url, REPO, TOKEN, &[]).await.status });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = Instant::now();
    sim.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(3));
    assert_eq!(held.await.unwrap(), 504);
}

#[tokio::test]
async fn an_injected_secondary_limit_is_not_a_violation() {
    let sim = relaxed().await;
    sim.inject(Fault::SecondaryLimit);
    let limited = open_pull(&sim, "b1").await;
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("retry-after"), Some("60"));
    assert!(limited.header("x-ratelimit-remaining").is_some());
    let error = {
        sim.inject(Fault::SecondaryLimit);
        octocrab(&sim)
            .pulls("acme", "billing-api")
            .get(1)
            .await
            .unwrap_err()
    };
    assert_eq!(status_of(&error), 403);
    let stats = sim.stats();
    assert_eq!((stats.secondary_limited, stats.violations), (2, 0));
    assert!(sim.pulls("acme", "billing-api").is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn a_stopped_simulator_refuses_connections() {
    let sim = relaxed().await;
    let addr = sim.api_url().trim_start_matches("http://").to_string();
    sim.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_handle_stops_the_simulator() {
    let sim = relaxed().await;
    let addr = sim.api_url().trim_start_matches("http://").to_string();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_ok());
    drop(sim);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the simulator still accepts connections after its handle was dropped");
}

// ---- octocrab end to end ----

#[tokio::test]
async fn octocrab_drives_a_pull_request_from_open_to_merged() {
    let sim = relaxed().await;
    let gh = octocrab(&sim);
    let pulls = gh.pulls("acme", "billing-api");
    let repo = gh.repos("acme", "billing-api").get().await.unwrap();
    assert_eq!(repo.default_branch.as_deref(), Some("main"));
    assert_eq!(repo.full_name.as_deref(), Some("acme/billing-api"));

    let pr = pulls
        .create("Migrate logging", "fleetwright/logging", "main")
        .body("Why, what, how to opt out")
        .draft(false)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (pr.number, pr.head.ref_field.as_str()),
        (1, "fleetwright/logging")
    );
    assert_eq!(pr.user.as_ref().unwrap().login, "fleetwright-bot");
    let duplicate = pulls
        .create("Again", "fleetwright/logging", "main")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&duplicate), 422);

    let found = pulls
        .list()
        .head("acme:fleetwright/logging")
        .state(params::State::All)
        .send()
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    // The list shape has no `merged`: a client must read `merged_at`.
    assert_eq!(found.items[0].merged, None);
    let got = pulls.get(1).await.unwrap();
    assert_eq!((got.merged, got.mergeable), (Some(false), Some(true)));

    let issues = gh.issues("acme", "billing-api");
    let labels = issues
        .add_labels(1, &["fleetwright".to_string(), "migration".to_string()])
        .await
        .unwrap();
    let names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["fleetwright", "migration"]);
    pulls
        .request_reviews(1, vec!["alice".to_string()], vec!["payments".to_string()])
        .await
        .unwrap();
    let issue = issues.add_assignees(1, &["alice"]).await.unwrap();
    assert_eq!(issue.assignees[0].login, "alice");
    let note = issues
        .create_comment(1, "Opened by fleetwright")
        .await
        .unwrap();
    assert_eq!(note.body.as_deref(), Some("Opened by fleetwright"));

    sim.add_review("acme", "billing-api", 1, "APPROVED", "alice");
    let reviews = pulls.list_reviews(1).send().await.unwrap();
    assert_eq!(
        reviews.items[0].state,
        Some(models::pulls::ReviewState::Approved)
    );
    assert_eq!(reviews.items[0].user.as_ref().unwrap().login, "alice");
    let pull = sim.pull("acme", "billing-api", 1).unwrap();
    assert!(
        pull.requested_reviewers.is_empty(),
        "a reviewer who reviewed is no longer requested"
    );
    assert_eq!(pull.requested_teams, ["payments"]);

    let sha = pr.head.sha.clone();
    sim.set_check(
        "acme",
        "billing-api",
        &sha,
        "build",
        CheckRunState::completed("success"),
    );
    sim.set_check(
        "acme",
        "billing-api",
        "fleetwright/logging",
        "lint",
        CheckRunState::running("in_progress"),
    );
    let runs = gh
        .checks("acme", "billing-api")
        .list_check_runs_for_git_ref(params::repos::Commitish(sha.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(runs.total_count, 2);
    assert_eq!(runs.check_runs[0].conclusion.as_deref(), Some("success"));
    assert_eq!(runs.check_runs[1].conclusion, None);
    assert_eq!(runs.check_runs[0].pull_requests[0].number, 1);

    sim.set_status("acme", "billing-api", &sha, "ci/legacy", "pending");
    let branch = params::repos::Reference::Branch("fleetwright/logging".into());
    let combined = gh
        .repos("acme", "billing-api")
        .combined_status_for_ref(&branch)
        .await
        .unwrap();
    assert_eq!(combined.state, models::StatusState::Pending);
    sim.set_status("acme", "billing-api", &sha, "ci/legacy", "success");
    let combined = gh
        .repos("acme", "billing-api")
        .combined_status_for_ref(&branch)
        .await
        .unwrap();
    assert_eq!(
        (combined.state, combined.total_count),
        (models::StatusState::Success, 1)
    );

    let merged = pulls
        .merge(1)
        .method(params::pulls::MergeMethod::Squash)
        .send()
        .await
        .unwrap();
    assert!(merged.merged);
    let pull = sim.pull("acme", "billing-api", 1).unwrap();
    assert_eq!(
        (pull.state, pull.merge_method.as_deref()),
        (PullState::Merged, Some("squash"))
    );
    assert_eq!(status_of(&pulls.merge(1).send().await.unwrap_err()), 405);
    assert!(pulls.get(1).await.unwrap().merged_at.is_some());

    pulls
        .create("Other", "fleetwright/other", "main")
        .send()
        .await
        .unwrap();
    let closed = pulls
        .update(2)
        .state(params::pulls::State::Closed)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.state, Some(models::IssueState::Closed));
    assert_eq!(
        sim.pull("acme", "billing-api", 2).unwrap().state,
        PullState::Closed
    );
    sim.stop().await;
}

#[tokio::test]
async fn octocrab_reads_codeowners_through_contents() {
    let sim = relaxed().await;
    let text = "# owners\n* @acme/payments\n/docs/ @alice\n";
    sim.set_file("acme", "billing-api", ".github/CODEOWNERS", text);
    let gh = octocrab(&sim);
    let mut found = gh
        .repos("acme", "billing-api")
        .get_content()
        .path(".github/CODEOWNERS")
        .send()
        .await
        .unwrap();
    let items = found.take_items();
    assert_eq!(items[0].decoded_content().as_deref(), Some(text));
    assert_eq!(items[0].path, ".github/CODEOWNERS");
    let folder = gh
        .repos("acme", "billing-api")
        .get_content()
        .path(".github")
        .send()
        .await;
    assert_eq!(folder.unwrap().items[0].r#type, "file");
    let missing = gh
        .repos("acme", "billing-api")
        .get_content()
        .path("CODEOWNERS")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&missing), 404);
    sim.stop().await;
}

#[tokio::test]
async fn octocrab_as_a_github_app_gets_an_installation_token() {
    let sim = relaxed().await;
    // A throwaway key made for this test; it signs nothing real.
    let key = include_str!("testdata/throwaway-app-key.pem");
    let app = Octocrab::builder()
        .base_uri(sim.api_url())
        .unwrap()
        .app(
            1234.into(),
            octocrab::EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let installation = app.installation(42.into()).unwrap();
    let pr = installation
        .pulls("acme", "billing-api")
        .create("From the app", "fleetwright/app", "main")
        .send()
        .await
        .unwrap();
    assert_eq!(pr.user.unwrap().login, "fleetwright[bot]");
    // Without a JWT there is no token.
    let path = "/app/installations/42/access_tokens";
    let bad = send(&sim, "POST", path, json!({})).await;
    assert_eq!(bad.status, 401);
    sim.stop().await;
}

// ---- every endpoint's body reads as octocrab's model ----

/// A repository with one pull request that has a bit of everything.
async fn furnished() -> GithubSim {
    let sim = relaxed().await;
    open_pull(&sim, "fleetwright/x").await;
    send(
        &sim,
        "POST",
        &format!("{REPO}/issues/1/labels"),
        json!({"labels": ["migration"]}),
    )
    .await;
    send(
        &sim,
        "POST",
        &format!("{REPO}/pulls/1/requested_reviewers"),
        json!({"reviewers": ["bob"], "team_reviewers": ["payments"]}),
    )
    .await;
    send(
        &sim,
        "POST",
        &format!("{REPO}/issues/1/assignees"),
        json!({"assignees": ["bob"]}),
    )
    .await;
    comment(&sim, 1).await;
    sim.add_review("acme", "billing-api", 1, "CHANGES_REQUESTED", "carol");
    sim.set_check(
        "acme",
        "billing-api",
        "fleetwright/x",
        "build",
        CheckRunState::completed("failure"),
    );
    sim.set_status("acme", "billing-api", "fleetwright/x", "ci", "failure");
    sim.set_file("acme", "billing-api", "CODEOWNERS", "* @acme/payments\n");
    sim
}

#[tokio::test]
async fn get_repository_reads_as_a_repository() {
    let sim = furnished().await;
    let repo: models::Repository = model(&get(&sim, REPO).await);
    assert_eq!(repo.open_issues_count, Some(1));
    assert!(
        repo.clone_url
            .unwrap()
            .as_str()
            .ends_with("/acme/billing-api.git")
    );
    sim.stop().await;
}

#[tokio::test]
async fn list_pulls_reads_as_pull_requests() {
    let sim = furnished().await;
    let list: Vec<models::pulls::PullRequest> = model(&get(&sim, &format!("{REPO}/pulls")).await);
    assert_eq!(list[0].labels.as_ref().unwrap()[0].name, "migration");
    assert_eq!(
        list[0].requested_teams.as_ref().unwrap()[0].slug,
        "payments"
    );
    sim.stop().await;
}

#[tokio::test]
async fn create_get_and_update_pull_read_as_pull_requests() {
    let sim = furnished().await;
    let created: models::pulls::PullRequest = model(&open_pull(&sim, "fleetwright/y").await);
    assert_eq!(created.number, 2);
    let got: models::pulls::PullRequest = model(&get(&sim, &format!("{REPO}/pulls/1")).await);
    assert_eq!(got.assignees.unwrap()[0].login, "bob");
    assert_eq!(got.comments, Some(1));
    let patch = json!({"title": "New title", "body": "New body"});
    let updated: models::pulls::PullRequest =
        model(&send(&sim, "PATCH", &format!("{REPO}/pulls/1"), patch).await);
    assert_eq!(updated.title.as_deref(), Some("New title"));
    sim.stop().await;
}

#[tokio::test]
async fn merge_reads_as_a_merge() {
    let sim = furnished().await;
    let merged: models::pulls::Merge =
        model(&send(&sim, "PUT", &format!("{REPO}/pulls/1/merge"), json!({})).await);
    assert!(merged.merged && merged.sha.is_some());
    sim.stop().await;
}

#[tokio::test]
async fn comments_labels_and_assignees_read_as_their_models() {
    let sim = furnished().await;
    let created: models::issues::Comment = model(&comment(&sim, 1).await);
    assert_eq!(created.user.login, "fleetwright-bot");
    let listed: Vec<models::issues::Comment> =
        model(&get(&sim, &format!("{REPO}/issues/1/comments")).await);
    assert_eq!(listed.len(), 2);
    let body = json!({"labels": ["later"]});
    let labels: Vec<models::Label> =
        model(&send(&sim, "POST", &format!("{REPO}/issues/1/labels"), body).await);
    assert_eq!(labels.len(), 2);
    let listed: Vec<models::Label> = model(&get(&sim, &format!("{REPO}/issues/1/labels")).await);
    assert_eq!(listed.len(), 2);
    let body = json!({"assignees": ["dave"]});
    let issue: models::issues::Issue =
        model(&send(&sim, "POST", &format!("{REPO}/issues/1/assignees"), body).await);
    assert_eq!(issue.assignees.len(), 2);
    assert!(issue.pull_request.is_some());
    sim.stop().await;
}

#[tokio::test]
async fn requested_reviewers_and_reviews_read_as_their_models() {
    let sim = furnished().await;
    let body = json!({"reviewers": ["erin"]});
    let pull: models::pulls::PullRequest = model(
        &send(
            &sim,
            "POST",
            &format!("{REPO}/pulls/1/requested_reviewers"),
            body,
        )
        .await,
    );
    assert_eq!(pull.requested_reviewers.unwrap().len(), 2);
    let reviews: Vec<models::pulls::Review> =
        model(&get(&sim, &format!("{REPO}/pulls/1/reviews")).await);
    assert_eq!(
        reviews[0].state,
        Some(models::pulls::ReviewState::ChangesRequested)
    );
    sim.stop().await;
}

#[tokio::test]
async fn check_runs_and_combined_status_read_as_their_models() {
    let sim = furnished().await;
    let runs: models::checks::ListCheckRuns =
        model(&get(&sim, &format!("{REPO}/commits/fleetwright/x/check-runs")).await);
    assert_eq!(runs.check_runs[0].conclusion.as_deref(), Some("failure"));
    let named = get(
        &sim,
        &format!("{REPO}/commits/heads/fleetwright/x/check-runs?check_name=lint"),
    )
    .await;
    assert_eq!(named.json()["total_count"], 0);
    let status: models::CombinedStatus =
        model(&get(&sim, &format!("{REPO}/commits/fleetwright/x/status")).await);
    assert_eq!(status.state, models::StatusState::Failure);
    let none: models::CombinedStatus =
        model(&get(&sim, &format!("{REPO}/commits/main/status")).await);
    assert_eq!(
        (none.state, none.total_count),
        (models::StatusState::Pending, 0)
    );
    sim.stop().await;
}

#[tokio::test]
async fn contents_and_installation_tokens_read_as_their_models() {
    let sim = furnished().await;
    let file: models::repos::Content =
        model(&get(&sim, &format!("{REPO}/contents/CODEOWNERS")).await);
    assert_eq!(
        file.decoded_content().as_deref(),
        Some("* @acme/payments\n")
    );
    let listing: Vec<models::repos::Content> = model(&get(&sim, &format!("{REPO}/contents")).await);
    assert_eq!(listing[0].name, "CODEOWNERS");
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjEsImlhdCI6MTAwLCJleHAiOjcwMH0.c2ln";
    let auth = format!("Bearer {jwt}");
    let headers = [("Authorization", auth.as_str())];
    let path = "/app/installations/9/access_tokens";
    let response = test_http::send(&sim.api_url(), "POST", path, &headers, Some("{}"))
        .await
        .unwrap();
    assert_eq!(response.status, 201);
    let token: models::InstallationToken = model(&response);
    assert!(token.token.starts_with("ghs_") && token.expires_at.is_some());
    // The new token works.
    assert_eq!(
        test_http::get(&sim.api_url(), REPO, &token.token, &[])
            .await
            .status,
        200
    );
    sim.stop().await;
}

// ---- a repository backed by git ----

/// A bare repository with `main` and a `feature` branch one commit ahead.
fn bare_repo(dir: &std::path::Path) -> (git2::Oid, git2::Oid) {
    let repo = git2::Repository::init_bare(dir).unwrap();
    let sig = git2::Signature::new("t", "t@localhost", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let commit = |text: &str, parents: &[&git2::Commit]| {
        let blob = repo.blob(text.as_bytes()).unwrap();
        let mut tree = repo.treebuilder(None).unwrap();
        tree.insert("CODEOWNERS", blob, 0o100_644).unwrap();
        let tree = repo.find_tree(tree.write().unwrap()).unwrap();
        repo.commit(None, &sig, &sig, text, &tree, parents).unwrap()
    };
    let main = commit("* @acme/payments\n", &[]);
    let feature = commit("* @acme/platform\n", &[&repo.find_commit(main).unwrap()]);
    repo.reference("refs/heads/main", main, true, "").unwrap();
    repo.reference("refs/heads/feature", feature, true, "")
        .unwrap();
    repo.set_head("refs/heads/main").unwrap();
    (main, feature)
}

#[tokio::test]
async fn a_git_backed_repository_needs_real_branches_and_follows_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let (main, feature) = bare_repo(dir.path());
    let sim = relaxed().await;
    sim.link_git("acme", "billing-api", dir.path());
    let unknown = open_pull(&sim, "nowhere").await;
    assert_eq!(
        (unknown.status, unknown.json()["errors"][0]["field"].clone()),
        (422, json!("head"))
    );
    let body = json!({"title": "t", "head": "main", "base": "main"});
    let empty = send(&sim, "POST", &format!("{REPO}/pulls"), body).await;
    assert_eq!(
        empty.json()["errors"][0]["message"],
        "No commits between main and main"
    );
    let created = open_pull(&sim, "feature").await;
    assert_eq!(created.json()["head"]["sha"], feature.to_string());
    assert_eq!(created.json()["base"]["sha"], main.to_string());
    // A push to the branch moves the pull request's head.
    let repo = git2::Repository::open_bare(dir.path()).unwrap();
    repo.reference("refs/heads/feature", main, true, "force for the test")
        .unwrap();
    let got = get(&sim, &format!("{REPO}/pulls/1")).await;
    assert_eq!(got.json()["head"]["sha"], main.to_string());
    // Contents come from git, at a ref.
    let owners = get(&sim, &format!("{REPO}/contents/CODEOWNERS?ref=main")).await;
    let file: models::repos::Content = model(&owners);
    assert_eq!(
        file.decoded_content().as_deref(),
        Some("* @acme/payments\n")
    );
    assert_eq!(
        file.sha,
        repo.revparse_single("main:CODEOWNERS")
            .unwrap()
            .id()
            .to_string()
    );
    sim.stop().await;
}

#[tokio::test]
async fn issues_share_numbers_with_pull_requests_and_list_them_as_github_does() {
    let sim = relaxed().await;
    assert_eq!(open_pull(&sim, "fleetwright/a").await.status, 201);
    let created = send(
        &sim,
        "POST",
        &format!("{REPO}/issues"),
        json!({"title": "Tracking", "body": "<!-- m -->", "labels": ["fleetwright/tracking", "migration"]}),
    )
    .await;
    assert_eq!(created.status, 201);
    // octocrab reads the shape.
    let issue: models::issues::Issue = model(&created);
    assert_eq!(issue.number, 2, "after pull request #1");
    assert!(issue.pull_request.is_none());
    assert!(created.header("location").unwrap().ends_with("/issues/2"));

    // The listing holds pull requests too (with `pull_request`), filtered
    // by state and by every label named.
    let all = get(&sim, &format!("{REPO}/issues?state=all")).await;
    assert_eq!(numbers(&all), [2, 1]);
    assert!(all.json()[1]["pull_request"].is_object());
    let labelled = get(
        &sim,
        &format!("{REPO}/issues?labels=fleetwright%2Ftracking,migration&state=all"),
    )
    .await;
    assert_eq!(numbers(&labelled), [2]);
    let _: Vec<models::issues::Issue> = model(&labelled);

    // Edited, closed by a person: the listing of open ones leaves it out.
    let edited = send(
        &sim,
        "PATCH",
        &format!("{REPO}/issues/2"),
        json!({"body": "new"}),
    )
    .await;
    assert_eq!(edited.status, 200);
    assert_eq!(edited.json()["body"], "new");
    sim.close_issue("acme", "billing-api", 2, "alice");
    let open = get(&sim, &format!("{REPO}/issues?labels=migration")).await;
    assert!(numbers(&open).is_empty());
    let one = get(&sim, &format!("{REPO}/issues/2")).await;
    assert_eq!(one.json()["state"], "closed");
    assert_eq!(one.json()["state_reason"], "completed");
    assert_eq!(one.json()["closed_by"]["login"], "alice");
    // Editing the text does not reopen it.
    send(
        &sim,
        "PATCH",
        &format!("{REPO}/issues/2"),
        json!({"title": "T"}),
    )
    .await;
    assert!(!sim.issues("acme", "billing-api")[0].open);
}

#[tokio::test]
async fn an_issue_needs_a_title_and_a_body_within_githubs_limit() {
    let sim = relaxed().await;
    let path = format!("{REPO}/issues");
    let missing = send(&sim, "POST", &path, json!({"body": "b"})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["errors"][0]["code"], "missing_field");
    let long = "x".repeat(65_537);
    let too_long = send(&sim, "POST", &path, json!({"title": "t", "body": long})).await;
    assert_eq!(too_long.status, 422);
    assert!(
        too_long.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("maximum is 65536")
    );
    let fits = send(
        &sim,
        "POST",
        &path,
        json!({"title": "t", "body": "x".repeat(65_536)}),
    )
    .await;
    assert_eq!(fits.status, 201);
    assert!(sim.issues("acme", "billing-api").len() == 1);
}
