//! The campaign's tracking issue (`report.issue`): `report --publish-issue`
//! and the end of `run`, on the local forge and against the GitHub
//! simulator. One issue per campaign, edited in place; nothing sent when
//! the report did not change; found again after a crash; a person's close
//! respected; a body GitHub would refuse refused before it is sent.

use fleetwright::forge::{IssueState, TRACKING_LABEL};
use fleetwright::sim::github::{Fault, GithubSim};
use fleetwright::state::LocalIssue;

use crate::github::{github_sandbox, run, runtime};
use crate::util::{CAMPAIGN, Sandbox, python};

const MARKER: &str = "<!-- fleetwright:tracking-issue campaign=modernize-logging -->";

/// `report.issue` added to the sandbox's campaign file.
fn with_issue(sb: &Sandbox, repository: &str) {
    let text = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!(
            "{text}report:\n  issue:\n    repository: {repository}\n    labels: [migration]\n"
        ),
    );
}

/// A local sandbox of two repositories, one tranche each, whose campaign
/// keeps its tracking issue in `remotes/platform.git`.
fn local_sandbox() -> Sandbox {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-b", "production"),
        ],
        "[1, rest]",
    );
    git2::Repository::init_bare(sb.file("remotes/platform.git")).unwrap();
    with_issue(&sb, "remotes/platform.git");
    sb
}

/// Every local issue of the sandbox's `remotes/platform.git`.
fn local_issues(sb: &Sandbox) -> Vec<LocalIssue> {
    let url = fleetwright::paths::normalize(&sb.file("remotes/platform.git"));
    sb.with_state(async |s| s.local_issues(&url.to_string_lossy()).await.unwrap())
}

#[test]
fn a_local_campaigns_tracking_issue_is_opened_once_and_then_edited_in_place() {
    let sb = local_sandbox();
    // `run` launches the campaign and, at its end, opens the issue.
    let out = sb.run(&["run", "campaign.yaml"]);
    out.code(0);
    assert!(
        out.stdout
            .contains("tracking issue opened: local://platform/issues/1"),
        "{out:?}"
    );
    let issues = local_issues(&sb);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let first = &issues[0];
    assert_eq!(first.title, "fleetwright: modernize-logging");
    assert_eq!(first.labels, [TRACKING_LABEL, "migration"]);
    assert!(first.body.starts_with(MARKER), "{}", first.body);
    assert!(first.body.contains("# Migration report"), "{}", first.body);

    // Nothing changed: `report --publish-issue` prints the URL, sends
    // nothing (the issue's text and its record stay as they were).
    let published_at = || {
        sb.with_state(async |s| {
            let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
            s.tracking_issue(row.id)
                .await
                .unwrap()
                .unwrap()
                .published_at
        })
    };
    let before = published_at();
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert_eq!(out.stdout, "local://platform/issues/1\n", "{out:?}");
    assert!(out.stderr.contains("unchanged"), "{out:?}");
    assert_eq!(published_at(), before);
    assert_eq!(local_issues(&sb), issues);

    // The owners merge: the same issue is edited, and says so.
    let target = sb
        .status()
        .targets
        .into_iter()
        .find(|t| t.state == "pr_open")
        .expect("a pull request open");
    sb.run(&["local", "merge", CAMPAIGN, &target.repo]).code(0);
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert!(out.stderr.contains("updated"), "{out:?}");
    let issues = local_issues(&sb);
    assert_eq!(issues.len(), 1, "still one issue: {issues:#?}");
    assert_ne!(issues[0].body, first.body);
    assert!(issues[0].body.contains("merged"), "{}", issues[0].body);
    assert!(issues[0].body.starts_with(MARKER));

    // The state forgets it (a crash between opening and recording it, a
    // lost state): it is found again by its label and marker.
    sb.edit_state(
        "modernize-logging",
        &["DELETE FROM tracking_issues WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?)"],
    );
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert_eq!(out.stdout, "local://platform/issues/1\n", "{out:?}");
    assert_eq!(local_issues(&sb).len(), 1, "found again, not opened twice");

    // Another campaign's issue (or a person's) in the same repository is
    // never taken for this one.
    sb.with_state(async |s| {
        let url = fleetwright::paths::normalize(&sb.file("remotes/platform.git"));
        s.insert_local_issue(
            &url.to_string_lossy(),
            "other",
            "<!-- fleetwright:tracking-issue campaign=modernize-logging-v2 -->",
            &[TRACKING_LABEL.to_string()],
        )
        .await
        .unwrap();
    });
    sb.edit_state(
        "modernize-logging",
        &["DELETE FROM tracking_issues WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?)"],
    );
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert_eq!(out.stdout, "local://platform/issues/1\n", "{out:?}");
}

#[test]
fn a_tracking_issue_closed_by_a_person_is_left_closed_and_not_opened_again() {
    let sb = local_sandbox();
    sb.run(&["run", "campaign.yaml"]).code(0);
    let url = fleetwright::paths::normalize(&sb.file("remotes/platform.git"));
    let url = url.to_string_lossy().into_owned();
    sb.with_state(async |s| {
        s.set_local_issue_state(&url, 1, IssueState::Closed)
            .await
            .unwrap()
    });
    let body = local_issues(&sb)[0].body.clone();
    sb.run(&["pause", CAMPAIGN, "--reason", "CI outage"])
        .code(0);

    // Asked to publish: refused (exit 6), saying what and what to do.
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(6);
    assert!(out.stderr.contains("closed by a person"), "{out:?}");
    assert!(out.stderr.contains("local://platform/issues/1"), "{out:?}");
    assert!(out.stderr.contains("hint: reopen the issue"), "{out:?}");
    let issues = local_issues(&sb);
    assert_eq!(issues.len(), 1, "no second issue: {issues:#?}");
    assert_eq!(issues[0].state, IssueState::Closed, "not reopened");
    assert_eq!(issues[0].body, body, "not edited");

    // A run: a warning, never the run's failure.
    sb.run(&["resume", CAMPAIGN]).code(0);
    let out = sb.run(&["run", CAMPAIGN]);
    out.code(0);
    assert!(
        out.stderr
            .contains("warning: the tracking issue local://platform/issues/1 was closed"),
        "{out:?}"
    );
    assert_eq!(local_issues(&sb).len(), 1);

    // Reopened by the person: kept up to date again.
    sb.with_state(async |s| {
        s.set_local_issue_state(&url, 1, IssueState::Open)
            .await
            .unwrap()
    });
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert!(out.stderr.contains("updated"), "{out:?}");
    let issues = local_issues(&sb);
    assert_eq!(issues.len(), 1);
    assert_ne!(issues[0].body, body);
}

#[test]
fn publishing_without_report_issue_is_a_usage_error() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue"]);
    out.code(2);
    assert!(out.stderr.contains("has no `report.issue`"), "{out:?}");
    assert!(out.stderr.contains("hint: add `report:"), "{out:?}");
    // And it is not a report format: the two do not mix.
    let out = sb.run(&["report", CAMPAIGN, "--publish-issue", "--format", "html"]);
    out.code(2);
}

/// A GitHub sandbox whose campaign keeps its tracking issue in
/// `acme/platform` on the simulator.
fn github_with_issue(rt: &tokio::runtime::Runtime) -> (Sandbox, GithubSim, impl Sized) {
    let (sb, sim, git) = github_sandbox(rt, &["svc-a", "svc-b"], "[1, rest]");
    sim.add_repo("acme", "platform", "main");
    with_issue(&sb, "acme/platform");
    (sb, sim, git)
}

/// The writes the simulator saw to `acme/platform`'s issues.
fn issue_writes(sim: &GithubSim) -> Vec<(String, String)> {
    sim.stats()
        .writes
        .into_iter()
        .filter(|w| w.path.starts_with("/repos/acme/platform/issues"))
        .map(|w| (w.method, w.path))
        .collect()
}

#[test]
fn on_github_the_tracking_issue_is_opened_once_edited_in_place_and_unchanged_costs_nothing() {
    let rt = runtime();
    let (sb, sim, _git) = github_with_issue(&rt);
    let out = run(&sb, &["run", "campaign.yaml"]);
    out.code(0);
    let issues = sim.issues("acme", "platform");
    assert_eq!(issues.len(), 1, "{out:?}");
    let issue = &issues[0];
    assert!(issue.open);
    assert_eq!(issue.title, "fleetwright: modernize-logging");
    assert_eq!(issue.labels, [TRACKING_LABEL, "migration"]);
    let body = issue.body.clone().unwrap();
    assert!(body.starts_with(MARKER), "{body}");
    let url = format!("{}/acme/platform/issues/{}", sim.api_url(), issue.number);
    assert!(
        out.stdout
            .contains(&format!("tracking issue opened: {url}")),
        "{out:?}"
    );
    assert_eq!(
        issue_writes(&sim),
        [(
            "POST".to_string(),
            "/repos/acme/platform/issues".to_string()
        )]
    );

    // Unchanged: not one request.
    let requests = sim.stats().requests;
    let out = run(&sb, &["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert_eq!(out.stdout, format!("{url}\n"));
    assert_eq!(sim.stats().requests, requests, "nothing sent: {out:?}");

    // The pull request is merged on GitHub and synced: the same issue is
    // edited (a PATCH), no second one opened.
    let opened = ["svc-a", "svc-b"]
        .into_iter()
        .find(|n| !sim.pulls("remotes", n).is_empty())
        .unwrap();
    sim.set_pull_merged("remotes", opened, 1);
    run(&sb, &["sync", CAMPAIGN]).code(0);
    let out = run(&sb, &["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert!(out.stderr.contains("updated"), "{out:?}");
    let issues = sim.issues("acme", "platform");
    assert_eq!(issues.len(), 1);
    assert_ne!(issues[0].body.as_deref(), Some(body.as_str()));
    assert!(issues[0].body.as_deref().unwrap().contains("merged"));
    let path = format!("/repos/acme/platform/issues/{}", issue.number);
    assert_eq!(
        issue_writes(&sim),
        [
            (
                "POST".to_string(),
                "/repos/acme/platform/issues".to_string()
            ),
            ("PATCH".to_string(), path.clone()),
        ]
    );

    // The state forgets the issue: found again by label and marker (the
    // listing skips pull requests, which GitHub lists among issues).
    sb.edit_state(
        "modernize-logging",
        &["DELETE FROM tracking_issues WHERE campaign_id = (SELECT id FROM campaigns WHERE name = ?)"],
    );
    let out = run(&sb, &["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    assert_eq!(sim.issues("acme", "platform").len(), 1, "{out:?}");
    assert_eq!(
        issue_writes(&sim).last().unwrap(),
        &("PATCH".to_string(), path)
    );

    // A person closes it: not edited, not reopened, no second one; exit 6
    // with what to do. A run only warns.
    sim.close_issue("acme", "platform", issue.number, "alice");
    run(&sb, &["pause", CAMPAIGN, "--reason", "CI outage"]).code(0);
    let writes = issue_writes(&sim).len();
    let out = run(&sb, &["report", CAMPAIGN, "--publish-issue"]);
    out.code(6);
    assert!(out.stderr.contains("closed by a person"), "{out:?}");
    assert!(out.stderr.contains("hint: reopen the issue"), "{out:?}");
    sb.run(&["resume", CAMPAIGN]).code(0);
    let out = run(&sb, &["run", CAMPAIGN]);
    assert!(out.stderr.contains("was closed by a person"), "{out:?}");
    let issues = sim.issues("acme", "platform");
    assert_eq!(issues.len(), 1);
    assert!(!issues[0].open, "not reopened");
    assert_eq!(issue_writes(&sim).len(), writes, "nothing written to it");
}

/// Issue: the answer to the `POST` that opened the issue is lost (the
/// issue exists, the run does not know its number). The request is not
/// sent again blind; the issue is found by its label and marker.
#[test]
fn a_lost_answer_to_opening_the_issue_does_not_open_a_second_one() {
    let rt = runtime();
    let (sb, sim, _git) = github_with_issue(&rt);
    run(&sb, &["launch", "campaign.yaml"]).code(0);
    sim.inject_matching("POST", "/repos/acme/platform/issues", Fault::LostResponse);
    let out = run(&sb, &["report", CAMPAIGN, "--publish-issue"]);
    out.code(0);
    let issues = sim.issues("acme", "platform");
    assert_eq!(issues.len(), 1, "one issue: {out:?}");
    assert_eq!(
        issue_writes(&sim),
        [
            (
                "POST".to_string(),
                "/repos/acme/platform/issues".to_string()
            ),
            (
                "PATCH".to_string(),
                format!("/repos/acme/platform/issues/{}", issues[0].number)
            ),
        ]
    );
    // Recorded now: the next publication sends nothing.
    let requests = sim.stats().requests;
    run(&sb, &["report", CAMPAIGN, "--publish-issue"]).code(0);
    assert_eq!(sim.stats().requests, requests);
}

#[test]
fn a_report_longer_than_github_takes_is_cut_to_fit_before_it_is_sent() {
    let rt = runtime();
    let (sb, sim, _git) = github_with_issue(&rt);
    run(&sb, &["launch", "campaign.yaml"]).code(0);
    // A pause reason the report quotes, longer than an issue body may be:
    // the Markdown report keeps within its budget (65,000 characters), so
    // the issue is published, cut, and says where the whole report is.
    let reason = "x".repeat(70_000);
    run(&sb, &["pause", CAMPAIGN, "--reason", &reason]).code(0);
    run(&sb, &["report", CAMPAIGN, "--publish-issue"]).code(0);
    let issues = sim.issues("acme", "platform");
    assert_eq!(issues.len(), 1);
    let body = issues[0].body.clone().unwrap_or_default();
    assert!(body.chars().count() <= 65_536, "{}", body.chars().count());
    assert!(
        body.contains("The report is cut here to fit in 65000 characters"),
        "{body}"
    );
    // The forge's own limit still refuses a longer body before it is sent
    // (`forge::github` tests it): the budget is what keeps it from coming.
}

/// Text from outside (here the owners' reason for closing the pull
/// request) reaches the issue escaped, as in every Markdown report: it
/// cannot mention a team, open a tag or make a link there.
#[test]
fn text_from_outside_is_escaped_in_the_tracking_issue() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    git2::Repository::init_bare(sb.file("remotes/platform.git")).unwrap();
    with_issue(&sb, "remotes/platform.git");
    sb.run(&["run", "campaign.yaml"]).code(0);
    let hostile = "@acme/admins <img src=x onerror=alert(1)> [win](https://evil.example)";
    sb.run(&["local", "close", CAMPAIGN, "svc-a", "--comment", hostile])
        .code(0);
    sb.run(&["report", CAMPAIGN, "--publish-issue"]).code(0);
    let body = local_issues(&sb)[0].body.clone();
    assert!(body.contains("acme/admins"), "the reason is shown: {body}");
    assert!(!body.contains("@acme/admins"), "a mention: {body}");
    assert!(!body.contains("<img"), "a tag: {body}");
    assert!(
        !body.contains("[win](https://evil.example)"),
        "a link: {body}"
    );
}
