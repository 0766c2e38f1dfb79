//! The GitHub forge against a loopback fake of GitHub's endpoints, under a
//! manual clock (the pacer's seconds cost nothing).

mod fake;

use crate::secret::Secret;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use self::fake::{Shared, lock, min_gap, start};
use super::*;
use crate::clock::ManualClock;

const TOKEN: &str = "ghp_TESTTOKEN0123456789abcdef";
const APP_KEY: &str = include_str!("../testdata/test-app-key.pem");

fn repo(name: &str) -> RepoRef {
    RepoRef {
        name: name.to_string(),
        url: format!("https://github.com/{name}.git"),
    }
}

fn config(url: &str, clock: &ManualClock, auth: GitHubAuth) -> GitHubConfig {
    GitHubConfig {
        api_url: url.to_string(),
        auth,
        pacing: PacingConfig::default(),
        clock: Arc::new(clock.clone()),
        merge_method: "squash".to_string(),
        git_url: None,
        proxies: None,
        shared_budget: None,
    }
}

async fn forge(url: &str, fake: &Shared) -> GitHubForge {
    let clock = lock(fake).clock.clone();
    GitHubForge::new(config(url, &clock, GitHubAuth::Token(Secret::new(TOKEN)))).unwrap()
}

fn new_pr(head: &str) -> NewPullRequest {
    NewPullRequest {
        title: "Modernize deprecated APIs".into(),
        body: "Why, what, how to review.".into(),
        head: head.into(),
        base: "main".into(),
        head_commit: "a".repeat(40),
        draft: false,
        labels: vec!["fleetwright".into(), "migration".into()],
        reviewers: vec!["ann".into()],
        team_reviewers: vec!["platform".into()],
        assignees: vec!["bob".into()],
    }
}

#[tokio::test]
async fn open_adds_labels_reviewers_and_assignees_through_the_paced_queue() {
    let (fake, url) = start().await;
    let forge = forge(&url, &fake).await;
    let pr = forge
        .open_pull_request(&repo("acme/api"), &new_pr("fw/modernize"))
        .await
        .unwrap();
    assert_eq!(pr.number, 1);
    assert_eq!(pr.state, PrState::Open);
    assert_eq!(pr.head, "fw/modernize");
    assert_eq!(pr.url, "https://github.com/acme/api/pull/1");

    let f = lock(&fake);
    assert_eq!(f.labels[&1], ["fleetwright", "migration"]);
    assert_eq!(
        f.reviewers[&1],
        json!({"reviewers": ["ann"], "team_reviewers": ["platform"]})
    );
    assert_eq!(f.assignees[&1], ["bob"]);
    let writes: Vec<_> = f
        .seen
        .iter()
        .filter(|s| s.method != "GET")
        .cloned()
        .collect();
    let targets: Vec<&str> = writes.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/repos/acme/api/pulls",
            "/repos/acme/api/issues/1/labels",
            "/repos/acme/api/pulls/1/requested_reviewers",
            "/repos/acme/api/issues/1/assignees",
        ]
    );
    assert!(min_gap(&writes) >= Duration::from_secs(1));
    for seen in &f.seen {
        assert_eq!(
            seen.auth.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(seen.accept.as_deref(), Some("application/vnd.github+json"));
    }
}

#[tokio::test]
async fn an_unknown_reviewer_does_not_fail_an_opened_pull_request() {
    let (fake, url) = start().await;
    let forge = forge(&url, &fake).await;
    let mut new = new_pr("fw/x");
    new.reviewers = vec!["ghost".into()];
    let pr = forge
        .open_pull_request(&repo("acme/api"), &new)
        .await
        .unwrap();
    let f = lock(&fake);
    assert!(!f.reviewers.contains_key(&pr.number));
    assert_eq!(f.assignees[&pr.number], ["bob"]);
}

#[tokio::test]
async fn already_exists_is_adopted_not_failed() {
    let (fake, url) = start().await;
    {
        let mut f = lock(&fake);
        f.add_pull("fw/x", "open");
        f.create_conflict = true;
    }
    let forge = forge(&url, &fake).await;
    let pr = forge
        .open_pull_request(&repo("acme/api"), &new_pr("fw/x"))
        .await
        .unwrap();
    assert_eq!(pr.number, 1);
    let f = lock(&fake);
    assert_eq!(f.pulls.len(), 1, "no second pull request");
    assert_eq!(f.labels[&1], ["fleetwright", "migration"]);
}

#[tokio::test]
async fn find_follows_pagination_and_takes_the_newest() {
    let (fake, url) = start().await;
    {
        let mut f = lock(&fake);
        f.page_size = 2;
        for head in ["fw/x", "other", "fw/x", "fw/x", "fw/x", "other"] {
            f.add_pull(head, "closed");
        }
        f.add_pull("fw/x", "merged");
    }
    let forge = forge(&url, &fake).await;
    let pr = forge
        .find_pull_request(&repo("acme/api"), "fw/x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pr.number, 7);
    assert_eq!(pr.state, PrState::Merged);
    assert_eq!(pr.merged_at.as_deref(), Some("2024-01-02T03:04:05Z"));
    assert_eq!(pr.head_sha, Some(format!("{:040x}", 7)));

    let lists = lock(&fake).seen("GET", "/repos/acme/api/pulls");
    assert_eq!(lists.len(), 3, "{lists:#?}");
    assert!(lists[0].target.contains("head=acme%3Afw%2Fx"));
    assert!(lists[0].target.contains("state=all"));
    assert!(lists[0].target.contains("direction=desc"));
    assert!(lists[2].target.ends_with("page=3"));
    // Pages found through Link headers still carry the credentials.
    assert!(lists.iter().all(|s| s.auth.is_some()));

    let none = forge
        .find_pull_request(&repo("acme/api"), "fw/none")
        .await
        .unwrap();
    assert_eq!(none, None);
}

#[tokio::test]
async fn sync_reads_reviews_and_ci_and_an_unchanged_pull_request_costs_304s() {
    let (fake, url) = start().await;
    {
        let mut f = lock(&fake);
        f.add_pull("fw/x", "open");
        f.reviews = vec![
            json!({"user": {"login": "ann"}, "state": "COMMENTED"}),
            json!({"user": {"login": "ann"}, "state": "APPROVED"}),
        ];
        f.check_runs = vec![json!({"status": "completed", "conclusion": "success"})];
    }
    let forge = forge(&url, &fake).await;
    let r = repo("acme/api");
    let first = forge.sync_pull_request(&r, 1).await.unwrap();
    assert_eq!(
        first.review_state,
        Some(crate::state::ReviewState::Approved)
    );
    assert_eq!(first.ci_state, Some(crate::state::CiState::Success));
    let reads = lock(&fake).seen.len();
    assert_eq!(reads, 4, "pull request, reviews, check runs, status");

    let second = forge.sync_pull_request(&r, 1).await.unwrap();
    assert_eq!(second, first);
    {
        let f = lock(&fake);
        let again = &f.seen[reads..];
        assert_eq!(again.len(), 4);
        for seen in again {
            assert!(seen.if_none_match.is_some(), "{seen:?}");
            assert_eq!(seen.status, 304, "{seen:?}");
        }
    }

    {
        let mut f = lock(&fake);
        f.reviews
            .push(json!({"user": {"login": "bob"}, "state": "CHANGES_REQUESTED"}));
        f.check_runs
            .push(json!({"status": "in_progress", "conclusion": null}));
    }
    let third = forge.sync_pull_request(&r, 1).await.unwrap();
    assert_eq!(
        third.review_state,
        Some(crate::state::ReviewState::ChangesRequested)
    );
    assert_eq!(third.ci_state, Some(crate::state::CiState::Pending));
}

#[tokio::test]
async fn merge_close_and_comment_are_writes_that_resume_cleanly() {
    let (fake, url) = start().await;
    {
        let mut f = lock(&fake);
        f.add_pull("fw/a", "open");
        f.add_pull("fw/b", "open");
    }
    let forge = forge(&url, &fake).await;
    let r = repo("acme/api");

    let merged = forge.merge_pull_request(&r, 1, None).await.unwrap();
    assert_eq!(merged.state, PrState::Merged);
    assert_eq!(
        lock(&fake).seen("PUT", "/repos/acme/api/pulls/1/merge")[0].body,
        json!({"merge_method": "squash"})
    );
    // A second merge (a run that died after the first) finds it merged.
    assert_eq!(
        forge.merge_pull_request(&r, 1, None).await.unwrap().state,
        PrState::Merged
    );

    let closed = forge
        .close_pull_request(&r, 2, Some("not for us"))
        .await
        .unwrap();
    assert_eq!(closed.state, PrState::Closed);
    assert_eq!(closed.close_comment.as_deref(), Some("not for us"));
    assert_eq!(closed.closed_at.as_deref(), Some("2024-01-03T00:00:00Z"));
    let again = forge
        .close_pull_request(&r, 2, Some("not for us"))
        .await
        .unwrap();
    assert_eq!(again.state, PrState::Closed);
    {
        let f = lock(&fake);
        assert_eq!(f.comments[&2], ["not for us"], "the comment is posted once");
        let writes: Vec<_> = f
            .seen
            .iter()
            .filter(|s| s.method != "GET")
            .cloned()
            .collect();
        let comment = writes
            .iter()
            .position(|s| s.target.ends_with("/comments"))
            .unwrap();
        let close = writes.iter().position(|s| s.method == "PATCH").unwrap();
        assert!(comment < close, "the comment comes first");
    }
    let refused = forge.close_pull_request(&r, 1, None).await.unwrap_err();
    assert!(matches!(refused, ForgeError::Refused(_)), "{refused:?}");

    forge.comment(&r, 2, "one more thing").await.unwrap();
    assert_eq!(lock(&fake).comments[&2].len(), 2);
}

#[tokio::test]
async fn a_secondary_limit_answer_is_waited_out_then_the_same_write_retried() {
    let (fake, url) = start().await;
    {
        let mut f = lock(&fake);
        f.add_pull("fw/a", "open");
        f.limit_next_write = Some(30);
    }
    let forge = forge(&url, &fake).await;
    forge.comment(&repo("acme/api"), 1, "hello").await.unwrap();
    let f = lock(&fake);
    let posts = f.seen("POST", "/repos/acme/api/issues/1/comments");
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].status, 403);
    assert_eq!(posts[1].at - posts[0].at, Duration::from_secs(30));
    assert_eq!(posts[0].body, posts[1].body);
    assert_eq!(f.comments[&1], ["hello"]);
    assert_eq!(forge.pacing_status(), None);
}

#[tokio::test]
async fn errors_are_mapped_and_never_show_the_token() {
    let (fake, url) = start().await;
    let forge = forge(&url, &fake).await;
    let mut errors = Vec::new();

    let e = forge
        .pull_request(&repo("acme/forbidden"), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ForgeError::Forge {
                status: Some(403),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("Resource not accessible by integration"),
        "{e}"
    );
    errors.push(e);

    let e = forge
        .pull_request(&repo("acme/unauthorized"), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ForgeError::Forge {
                status: Some(401),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("Bad credentials"), "{e}");
    errors.push(e);

    let e = forge.pull_request(&repo("acme/api"), 99).await.unwrap_err();
    assert!(matches!(e, ForgeError::NotFound(_)), "{e:?}");
    errors.push(e);

    let e = forge.pull_request(&repo("acme/echo"), 1).await.unwrap_err();
    assert!(e.to_string().contains("refused Bearer ***"), "{e}");
    errors.push(e);

    let e = forge
        .open_pull_request(&repo("acme/invalid"), &new_pr("fw"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ForgeError::Forge {
                status: Some(422),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("No commits between main and fw"),
        "{e}"
    );
    errors.push(e);

    let e = forge
        .pull_request(&repo("not-a-repo"), 1)
        .await
        .unwrap_err();
    assert!(matches!(e, ForgeError::Refused(_)), "{e:?}");
    errors.push(e);

    // Nothing listens there: connection errors are retried, then reported.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let clock = ManualClock::default();
    let offline = GitHubForge::new(config(
        &format!("http://{closed}"),
        &clock,
        GitHubAuth::Token(Secret::new(TOKEN)),
    ))
    .unwrap();
    let e = offline
        .pull_request(&repo("acme/api"), 1)
        .await
        .unwrap_err();
    assert!(matches!(e, ForgeError::Forge { status: None, .. }), "{e:?}");
    assert!(e.to_string().contains("could not reach GitHub"), "{e}");
    assert_eq!(clock.elapsed(), Duration::from_secs(1 + 2 + 4 + 8));
    errors.push(e);

    for e in &errors {
        assert!(!e.to_string().contains(TOKEN), "{e}");
        assert!(!format!("{e:?}").contains(TOKEN), "{e:?}");
    }
    assert!(!format!("{forge:?}").contains(TOKEN));
}

#[tokio::test]
async fn construction_refuses_bad_settings_without_showing_secrets() {
    let clock = ManualClock::default();
    let bad_method = GitHubConfig {
        merge_method: "fast-forward".into(),
        ..config(
            DEFAULT_API_URL,
            &clock,
            GitHubAuth::Token(Secret::new(TOKEN)),
        )
    };
    assert!(GitHubForge::new(bad_method).is_err());
    let bad_url = config("github.com", &clock, GitHubAuth::Token(Secret::new(TOKEN)));
    assert!(GitHubForge::new(bad_url).is_err());
    let bad_key = config(
        DEFAULT_API_URL,
        &clock,
        GitHubAuth::App {
            app_id: 7,
            private_key_pem: Secret::new("-----BEGIN RSA PRIVATE KEY-----\nnope"),
            installation_id: None,
        },
    );
    let e = GitHubForge::new(bad_key).unwrap_err();
    assert!(!e.to_string().contains("nope"), "{e}");
}

#[tokio::test]
async fn a_token_is_also_the_git_token() {
    let (fake, url) = start().await;
    let forge = forge(&url, &fake).await;
    let token = forge.git_credentials().await.unwrap().unwrap().token;
    assert_eq!(token.expose(), TOKEN);
    assert_eq!(forge.kind(), "github");
    // Offered only to the forge's own host (an Enterprise-style API URL:
    // git lives on the same host), never to another host or port.
    let credentials = forge.git_credentials().await.unwrap().unwrap();
    let own = format!("{url}/acme/api.git");
    assert_eq!(credentials.refusal(&own), None);
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    for elsewhere in [
        "https://github.com/acme/api.git".to_string(),
        "http://github.com/acme/api.git".to_string(),
        format!("http://127.0.0.1:{}/acme/api.git", port.wrapping_add(1)),
        format!("http://localhost:{port}/acme/api.git"),
    ] {
        assert!(credentials.refusal(&elsewhere).is_some(), "{elsewhere}");
    }
    // github.com's API: git at github.com, over https only.
    let public = crate::forge::github::git_origins("https://api.github.com", None).unwrap();
    assert_eq!(public[0].to_string(), "https://github.com");
}

fn app_forge(url: &str, fake: &Shared, installation_id: Option<u64>) -> GitHubForge {
    let clock = lock(fake).clock.clone();
    let auth = GitHubAuth::App {
        app_id: 7,
        private_key_pem: Secret::new(APP_KEY),
        installation_id,
    };
    GitHubForge::new(config(url, &clock, auth)).unwrap()
}

#[tokio::test]
async fn an_app_finds_its_installation_and_replaces_a_revoked_token() {
    let (fake, url) = start().await;
    lock(&fake).add_pull("fw/x", "open");
    let forge = app_forge(&url, &fake, None);
    let r = repo("acme/api");

    forge.pull_request(&r, 1).await.unwrap();
    {
        let f = lock(&fake);
        let lookup = &f.seen("GET", "/repos/acme/api/installation")[0];
        let jwt = lookup.auth.as_deref().unwrap();
        assert!(jwt.starts_with("Bearer ey"), "signed as the app: {jwt}");
        assert_eq!(f.minted, 1);
        let read = f.seen("GET", "/repos/acme/api/pulls/1");
        assert_eq!(read[0].auth.as_deref(), Some("Bearer ghs_minted1"));
    }

    // The installation is remembered; a revoked token is replaced.
    lock(&fake).revoked.push("ghs_minted1".into());
    forge.pull_request(&r, 1).await.unwrap();
    let f = lock(&fake);
    assert_eq!(f.seen("GET", "/repos/acme/api/installation").len(), 1);
    assert_eq!(f.minted, 2);
    let reads = f.seen("GET", "/repos/acme/api/pulls/1");
    let [_, refused, retried] = reads.as_slice() else {
        panic!("{reads:#?}");
    };
    assert_eq!(refused.auth.as_deref(), Some("Bearer ghs_minted1"));
    assert_eq!(refused.status, 401);
    assert_eq!(retried.auth.as_deref(), Some("Bearer ghs_minted2"));
    // Unchanged since the first read: a conditional GET.
    assert_eq!(retried.status, 304);
}

#[tokio::test]
async fn an_app_git_token_is_minted_anew_before_it_expires() {
    let (fake, url) = start().await;
    let forge = app_forge(&url, &fake, None);
    let clock = lock(&fake).clock.clone();

    // No repository used yet: the app's only installation.
    let first = forge.git_credentials().await.unwrap().unwrap().token;
    assert_eq!(first.expose(), "ghs_minted1");
    let mints = lock(&fake).seen("POST", "/app/installations/42/access_tokens");
    assert!(mints[0].auth.as_deref().unwrap().starts_with("Bearer ey"));

    clock.advance(Duration::from_secs(45 * 60));
    let same = forge.git_credentials().await.unwrap().unwrap().token;
    assert_eq!(same, first, "15 minutes left: still good");

    clock.advance(Duration::from_secs(10 * 60));
    let fresh = forge.git_credentials().await.unwrap().unwrap().token;
    assert_eq!(fresh.expose(), "ghs_minted2", "5 minutes left: replaced");
}

#[tokio::test]
async fn an_issue_body_over_githubs_limit_is_refused_before_it_is_sent() {
    let (fake, url) = start().await;
    let forge = forge(&url, &fake).await;
    let new = NewIssue {
        title: "fleetwright: c".into(),
        body: "é".repeat(BODY_LIMIT + 1),
        labels: vec![TRACKING_LABEL.into()],
    };
    let e = forge.open_issue(&repo("acme/api"), &new).await.unwrap_err();
    assert!(
        matches!(e, ForgeError::TooLong { chars, limit: BODY_LIMIT, .. } if chars == BODY_LIMIT + 1),
        "{e:?}"
    );
    let e = forge
        .update_issue(&repo("acme/api"), 1, "t", &new.body)
        .await
        .unwrap_err();
    assert!(matches!(e, ForgeError::TooLong { .. }), "{e:?}");
    assert!(lock(&fake).seen.is_empty(), "nothing was sent");
    // Characters, not bytes: a body of exactly the limit is not refused here.
    assert!(check_body(&"é".repeat(BODY_LIMIT)).is_ok());
}
