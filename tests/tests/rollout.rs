//! `fleetwright run` and the platform team's hand on a campaign: gates,
//! CI pauses, throttles, the window, stale nudges, pause/resume/cancel,
//! opt-outs, exclusions, and the campaign lock.

use crate::util::*;

/// A sandbox whose campaign has `tranches` and the rollout sections `extra`.
fn sandbox(repos: Vec<fleetwright::fleet::RepoSpec>, tranches: &str, extra: &str) -> Sandbox {
    let sb = Sandbox::new(repos, tranches);
    sb.write(
        "campaign.yaml",
        &format!("{}{extra}", campaign_yaml(tranches)),
    );
    sb
}

/// Run the binary at the time `now` (RFC 3339).
fn run_at(sb: &Sandbox, now: &str, args: &[&str]) -> Run {
    run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("FLEETWRIGHT_NOW", now)],
        args,
    )
}

fn four_python() -> Vec<fleetwright::fleet::RepoSpec> {
    vec![
        python("alpha", "team-a", "experimental"),
        python("bravo", "team-a", "production"),
        python("charlie", "team-b", "production"),
        python("delta", "team-b", "production"),
    ]
}

fn state_of(sb: &Sandbox, repo: &str) -> String {
    target(&sb.status(), repo).state.clone()
}

#[test]
fn run_alone_takes_a_campaign_through_its_gates_to_completion() {
    let mut repos = four_python();
    // One repository says no with its own file; one is excluded by its tag.
    repos[3].files.push((
        ".fleetwright.yaml".into(),
        "opt_out:\n  reason: frozen until the rewrite lands\n".into(),
    ));
    let mut legacy = python("echo", "team-b", "production");
    legacy.tags = vec!["legacy".into()];
    repos.push(legacy);
    let sb = sandbox(
        repos,
        "[1, rest]",
        "gate:\n  merged: \"100%\"\n  count_declined: false\n",
    );
    let mut text = sb.read("campaign.yaml");
    text = text.replace(
        "  lifecycle: [production, experimental]\n",
        "  lifecycle: [production, experimental]\n  exclude_tags: [legacy]\n",
    );
    sb.write("campaign.yaml", &text);

    // The first run launches: the canary (experimental first) gets its PR.
    let first = sb.run(&["run", "campaign.yaml"]);
    first.code(0);
    assert!(
        first.stdout.contains("launched modernize-logging"),
        "{first:?}"
    );
    let status = sb.status();
    assert_eq!(status.campaign.tranches_open, 1);
    assert_eq!(target(&status, "alpha").state, "pr_open");
    assert!(
        status.targets.iter().all(|t| t.repo != "echo"),
        "the legacy-tagged repository is excluded"
    );

    // Nothing merged: the gate holds, run after run, and says why.
    let held = sb.run(&["run", CAMPAIGN]);
    held.code(0);
    assert!(
        held.stdout
            .contains("gate closed: tranche 1 (canary): 0 of 1 merged (0%), the gate needs 100%"),
        "{held:?}"
    );
    assert_eq!(sb.status().campaign.tranches_open, 1);

    // Merged: the next run syncs it, passes the gate, opens the rest.
    sb.run(&["local", "merge", CAMPAIGN, "alpha"]).code(0);
    let opened = sb.run(&["run", CAMPAIGN]);
    opened.code(0);
    assert!(opened.stdout.contains("gate passed"), "{opened:?}");
    let status = sb.status();
    assert_eq!(status.campaign.tranches_open, 2);
    assert_eq!(target(&status, "bravo").state, "pr_open");
    assert_eq!(target(&status, "charlie").state, "pr_open");
    let delta = target(&status, "delta");
    assert_eq!(delta.state, "opted_out");
    assert_eq!(
        delta.reason.as_deref(),
        Some("frozen until the rewrite lands")
    );
    assert!(delta.pr.is_none());

    // The app teams settle the rest; the campaign completes on its own.
    sb.run(&["local", "merge", CAMPAIGN, "bravo"]).code(0);
    sb.run(&[
        "local",
        "close",
        CAMPAIGN,
        "charlie",
        "--comment",
        "not now",
    ])
    .code(0);
    let last = sb.run(&["run", CAMPAIGN]);
    last.code(0);
    assert!(
        last.stdout.contains("modernize-logging: completed"),
        "{last:?}"
    );
    assert_eq!(sb.status().campaign.status, "completed");
    let events = sb.events();
    assert_eq!(count_events(&events, "gate_passed"), 1);
    assert_eq!(count_events(&events, "completed"), 1);
    // A completed campaign's run changes nothing.
    let before = sb.events().len();
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(sb.events().len(), before);
}

#[test]
fn ci_failures_pause_the_campaign_until_resumed_and_again_only_when_more_fail() {
    let sb = sandbox(
        four_python(),
        "[rest]",
        "pause_when:\n  ci_failures: \"50%\"\n",
    );
    sb.run(&["run", "campaign.yaml"]).code(0);
    // 1 of 4 failing: under 50%, the campaign goes on.
    sb.run(&["local", "ci", CAMPAIGN, "alpha", "failure"])
        .code(0);
    let ok = sb.run(&["run", CAMPAIGN]);
    ok.code(0);
    assert_eq!(sb.status().campaign.status, "active", "{ok:?}");
    // 2 of 4: it pauses, and says why.
    sb.run(&["local", "ci", CAMPAIGN, "bravo", "failure"])
        .code(0);
    let paused = sb.run(&["run", CAMPAIGN]);
    paused.code(0);
    assert!(
        paused.stdout.contains(
            "PAUSED: 2 of 4 pull requests of tranche 1 fail CI (50%, the campaign pauses at 50%)"
        ),
        "{paused:?}"
    );
    assert_eq!(sb.status().campaign.status, "paused");
    // While paused, advance refuses and run opens nothing.
    let refused = sb.run(&["advance", CAMPAIGN, "--force"]);
    refused.code(6);
    assert!(refused.stderr.contains("paused"), "{refused:?}");
    // Resumed, the two known failures are accepted...
    let resumed = sb.run(&["resume", CAMPAIGN]);
    resumed.code(0);
    assert!(
        resumed
            .stdout
            .contains("2 pull request(s) failing CI accepted"),
        "{resumed:?}"
    );
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(sb.status().campaign.status, "active");
    // ...a third is not.
    sb.run(&["local", "ci", CAMPAIGN, "charlie", "failure"])
        .code(0);
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(sb.status().campaign.status, "paused");
    let events = sb.events();
    assert_eq!(count_events(&events, "paused"), 2);
    assert_eq!(count_events(&events, "resumed"), 1);
}

#[test]
fn a_hand_pause_stops_new_pull_requests_and_cancel_closes_the_open_ones() {
    let sb = sandbox(four_python(), "[1, rest]", "");
    sb.run(&["run", "campaign.yaml"]).code(0);
    sb.run(&["pause", CAMPAIGN, "--reason", "CI outage"])
        .code(0);
    sb.run(&["local", "merge", CAMPAIGN, "alpha"]).code(0);
    let paused = sb.run(&["run", CAMPAIGN]);
    paused.code(0);
    assert!(
        paused.stdout.contains("paused by hand: CI outage"),
        "{paused:?}"
    );
    assert_eq!(
        state_of(&sb, "bravo"),
        "pending",
        "nothing opened while paused"
    );
    assert_eq!(
        state_of(&sb, "alpha"),
        "merged",
        "but sync still records merges"
    );
    sb.run(&["resume", CAMPAIGN]).code(0);
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(state_of(&sb, "bravo"), "pr_open");

    // Cancelled first without closing anything; closing can come after.
    sb.run(&["cancel", CAMPAIGN, "--reason", "superseded"])
        .code(0);
    assert_eq!(state_of(&sb, "bravo"), "pr_open");
    let refused = sb.run(&["sync", CAMPAIGN]);
    refused.code(6);
    assert!(refused.stderr.contains("is cancelled"), "{refused:?}");
    let cancelled = sb.run(&[
        "cancel",
        CAMPAIGN,
        "--close-prs",
        "Superseded by the v2 campaign.",
    ]);
    cancelled.code(0);
    let status = sb.status();
    assert_eq!(status.campaign.status, "cancelled");
    for repo in ["bravo", "charlie", "delta"] {
        let t = target(&status, repo);
        assert_eq!(t.state, "declined", "{t:?}");
        assert_eq!(
            t.reason.as_deref(),
            Some("closed by the platform team: Superseded by the v2 campaign.")
        );
    }
    // A cancelled campaign stays cancelled.
    sb.run(&["resume", CAMPAIGN]).code(6);
    let before = sb.events().len();
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(sb.events().len(), before);
}

#[test]
fn throttles_hold_pull_requests_back_until_there_is_room() {
    let sb = sandbox(
        four_python(),
        "[rest]",
        "throttle:\n  max_open: 3\n  per_hour: 2\n",
    );
    let t0 = "2026-12-01T10:00:00Z";
    let first = run_at(&sb, t0, &["run", "campaign.yaml"]);
    first.code(0);
    assert!(
        first.stdout.contains(
            "throttled: 2 target(s) wait for a later run: 0 pull requests opened in the last hour, at most 2 (throttle.per_hour)"
        ),
        "{first:?}"
    );
    let open = |sb: &Sandbox| {
        sb.status()
            .targets
            .iter()
            .filter(|t| t.state == "pr_open")
            .count()
    };
    assert_eq!(open(&sb), 2);
    // Ten minutes later the hour is still full.
    run_at(&sb, "2026-12-01T10:10:00Z", &["run", CAMPAIGN]).code(0);
    assert_eq!(open(&sb), 2);
    // An hour later one more opens: three are open, the most at once.
    let later = run_at(&sb, "2026-12-01T11:01:00Z", &["run", CAMPAIGN]);
    later.code(0);
    assert_eq!(open(&sb), 3, "{later:?}");
    assert!(
        later
            .stdout
            .contains("at most 3 at once (throttle.max_open)"),
        "{later:?}"
    );
    // One merged makes room for the last.
    sb.run(&["local", "merge", CAMPAIGN, "alpha"]).code(0);
    run_at(&sb, "2026-12-01T12:02:00Z", &["run", CAMPAIGN]).code(0);
    assert_eq!(open(&sb), 3);
    assert!(sb.status().targets.iter().all(|t| t.state != "queued"));
}

#[test]
fn outside_the_window_no_pull_request_is_opened() {
    let sb = sandbox(
        four_python(),
        "[rest]",
        "throttle:\n  window: {days: mon-fri, hours: \"09:00-17:00\", timezone: Europe/Berlin}\n",
    );
    // Saturday 2026-12-05, 10:00 in Berlin.
    let weekend = run_at(&sb, "2026-12-05T09:00:00Z", &["run", "campaign.yaml"]);
    weekend.code(0);
    assert!(
        weekend.stdout.contains(
            "outside the window (mon-fri 09:00-17:00 Europe/Berlin); it opens at 2026-12-07T08:00:00Z"
        ),
        "{weekend:?}"
    );
    assert!(sb.status().targets.iter().all(|t| t.state == "queued"));
    // Monday 09:30 in Berlin.
    run_at(&sb, "2026-12-07T08:30:00Z", &["run", CAMPAIGN]).code(0);
    assert!(sb.status().targets.iter().all(|t| t.state == "pr_open"));
}

#[test]
fn a_stale_pull_request_is_nudged_once() {
    let sb = sandbox(
        vec![python("alpha", "team-a", "production")],
        "[rest]",
        "stale:\n  after_days: 3\n  comment: \"{{ repo }} has waited {{ days }} days\"\n",
    );
    run_at(&sb, "2026-12-01T10:00:00Z", &["run", "campaign.yaml"]).code(0);
    let early = run_at(&sb, "2026-12-03T10:00:00Z", &["run", CAMPAIGN]);
    early.code(0);
    assert!(!early.stdout.contains("nudged"), "{early:?}");
    let nudge = run_at(&sb, "2026-12-04T10:00:00Z", &["run", CAMPAIGN]);
    nudge.code(0);
    assert!(
        nudge
            .stdout
            .contains("nudged 1 stale pull request(s): alpha #1"),
        "{nudge:?}"
    );
    run_at(&sb, "2026-12-09T10:00:00Z", &["run", CAMPAIGN]).code(0);
    let events = sb.events();
    assert_eq!(count_events(&events, "nudge_intended"), 1);
    assert_eq!(count_events(&events, "nudged"), 1);
    let intended = events.iter().find(|e| e.kind == "nudge_intended").unwrap();
    assert_eq!(intended.detail.as_deref(), Some("#1: no review for 3 days"));
}

#[test]
fn a_second_process_is_told_who_holds_the_campaign() {
    let sb = sandbox(four_python(), "[1, rest]", "");
    sb.run(&["run", "campaign.yaml"]).code(0);
    // Hold the lock the way a running fleetwright does (from this process,
    // so that the test knows exactly when it is held).
    let lock = fleetwright::lock::CampaignLock::acquire(
        &sb.state_path(),
        CAMPAIGN,
        "fleetwright run modernize-logging",
    )
    .unwrap();
    for args in [
        &["run", CAMPAIGN][..],
        &["advance", CAMPAIGN],
        &["sync", CAMPAIGN],
        &["local", "merge", CAMPAIGN, "alpha"],
    ] {
        let locked = sb.run(args);
        locked.code(6);
        assert!(
            locked.stderr.contains(&format!(
                "campaign `{CAMPAIGN}` is locked by another fleetwright (pid {}, started ",
                std::process::id()
            )) && locked
                .stderr
                .contains("`fleetwright run modernize-logging`"),
            "{locked:?}"
        );
    }
    // Reading needs no lock; nor do pause and resume.
    sb.run(&["status", CAMPAIGN]).code(0);
    sb.run(&["pause", CAMPAIGN]).code(0);
    sb.run(&["resume", CAMPAIGN]).code(0);
    drop(lock);
    sb.run(&["run", CAMPAIGN]).code(0);
}

#[test]
fn watch_runs_again_until_the_campaign_is_completed() {
    let sb = sandbox(
        vec![
            python("alpha", "team-a", "production"),
            clean("bravo", "team-b", "production"),
        ],
        "[rest]",
        "",
    );
    sb.run(&["run", "campaign.yaml"]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "alpha"]).code(0);
    // The first run records the merge and completes the campaign; --watch
    // then stops by itself instead of waiting an hour.
    let started = std::time::Instant::now();
    let watched = sb.run(&["run", CAMPAIGN, "--watch", "1h"]);
    watched.code(0);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(
        watched
            .stdout
            .contains("modernize-logging: completed (1 merged, 1 no change needed)"),
        "{watched:?}"
    );
    let bad = sb.run(&["run", CAMPAIGN, "--watch", "10 parsecs"]);
    bad.code(2);
    assert!(bad.stderr.contains("unknown unit"), "{bad:?}");
}

#[test]
fn a_broken_opt_out_file_fails_its_target_at_its_place_and_the_report_says_whose_it_is() {
    let mut repos = four_python();
    repos[1].files.push((
        ".fleetwright.yaml".into(),
        "opt_out:\n  reasn: typo\n".into(),
    ));
    let sb = sandbox(repos, "[rest]", "");
    let out = sb.run(&["run", "campaign.yaml"]);
    out.code(4);
    let status = sb.status();
    let bravo = target(&status, "bravo");
    assert_eq!(bravo.state, "failed");
    assert!(
        bravo
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with(".fleetwright.yaml:2:3: unknown field `reasn`"),
        "{bravo:?}"
    );
    // The others went on.
    assert_eq!(target(&status, "alpha").state, "pr_open");
    let md = sb.run(&["report", CAMPAIGN, "--format", "md"]);
    md.code(0);
    assert!(
        md.stdout
            .contains("opt-out file is broken: ask their owners to fix"),
        "{md:?}"
    );
}

/// A draft opened because `verify` failed is an open pull request too:
/// `max_open` counts it, within a run and across runs.
#[test]
fn max_open_counts_the_drafts_verify_failures_open() {
    let sb = sandbox(
        four_python(),
        "[rest]",
        "throttle:\n  max_open: 2\nverify:\n  command: \"echo the suite broke; exit 3\"\n  timeout: 60\n  on_failure: draft\n",
    );
    let open = |sb: &Sandbox| {
        sb.status()
            .targets
            .iter()
            .filter(|t| t.pr.as_ref().is_some_and(|pr| pr.state == "open"))
            .count()
    };
    let first = sb.run(&["run", "campaign.yaml"]);
    assert_eq!(first.status, Some(4), "{first:?}");
    assert_eq!(open(&sb), 2, "{:?}", sb.status());
    let again = sb.run(&["run", CAMPAIGN]);
    assert!(
        again
            .stdout
            .contains("2 pull requests open, at most 2 at once (throttle.max_open)"),
        "{again:?}"
    );
    assert_eq!(open(&sb), 2, "{:?}", sb.status());
    // One closed by its owners makes room for one more.
    let closed = sb
        .status()
        .targets
        .iter()
        .find(|t| t.pr.is_some())
        .map(|t| t.repo.clone())
        .unwrap();
    sb.run(&["local", "close", CAMPAIGN, &closed]).code(0);
    sb.run(&["run", CAMPAIGN]);
    assert_eq!(open(&sb), 2, "{:?}", sb.status());
}
