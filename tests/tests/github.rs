//! `forge: github` end to end: the real binary against the GitHub simulator
//! (`fleetwright::sim`) and a real git smart-HTTP server, both on loopback;
//! and the pacing of many pull requests under GitHub's limits, in process,
//! on a shared manual clock.

use std::path::Path;
use std::time::Duration;

use fleetwright::forge::github::{GitHubAuth, GitHubConfig, GitHubForge, PacingConfig};
use fleetwright::forge::{Forge, NewPullRequest, RepoRef};
use fleetwright::secret::Secret;
use fleetwright::sim::SimClock;
use fleetwright::sim::git_http::GitHttpServer;
use fleetwright::sim::github::{CheckRunState, GithubSim, Limits, SimOptions};
use fleetwright::state::State;

use crate::util::{CAMPAIGN, Run, Sandbox, command, python, run_in_env, states, target};

pub(crate) const TOKEN: &str = "ghp_e2eSECRETtoken0123456789";

/// A runtime serving the simulators while the test thread runs the binary.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Run the binary in the sandbox with the token in `GH_E2E_TOKEN`.
pub(crate) fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = run_raw(sb, args);
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token was printed: {out:?}"
    );
    out
}

pub(crate) fn run_raw(sb: &Sandbox, args: &[&str]) -> Run {
    run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("GH_E2E_TOKEN", TOKEN)],
        args,
    )
}

/// A sandbox of `names` (team-a's Python services) served by a GitHub
/// simulator and a git smart-HTTP server, with a campaign on `forge: github`.
pub(crate) fn github_sandbox(
    rt: &tokio::runtime::Runtime,
    names: &[&str],
    tranches: &str,
) -> (Sandbox, GithubSim, GitHttpServer) {
    github_sandbox_with_token(rt, names, tranches, TOKEN)
}

/// [`github_sandbox`] whose simulator and git server take `token`.
pub(crate) fn github_sandbox_with_token(
    rt: &tokio::runtime::Runtime,
    names: &[&str],
    tranches: &str,
    token: &str,
) -> (Sandbox, GithubSim, GitHttpServer) {
    let sb = Sandbox::new(
        names
            .iter()
            .map(|n| python(n, "team-a", "production"))
            .collect(),
        tranches,
    );
    let (sim, git) = rt.block_on(async {
        let sim = GithubSim::start(SimOptions {
            token: token.into(),
            limits: Limits::github(),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let git = GitHttpServer::start(sb.path().to_path_buf(), token.into())
            .await
            .unwrap();
        (sim, git)
    });
    for name in names {
        sim.add_repo("remotes", name, "main");
        sim.link_git(
            "remotes",
            name,
            sb.path().join(format!("remotes/{name}.git")),
        );
    }
    // The catalog names the repositories by their URL on the git server.
    for file in [
        "catalog/all.yaml",
        "catalog/team-a.yaml",
        "catalog/team-b.yaml",
    ] {
        if sb.file(file).exists() {
            let text = sb.read(file).replace(
                "url:../remotes/",
                &format!("url:{}/remotes/", git.base_url()),
            );
            sb.write(file, &text);
        }
    }
    let campaign = sb.read("campaign.yaml").replace(
        "forge: local\n",
        &format!(
            "forge: github\ngithub:\n  api_url: {}\n  git_url: {}\n  token_env: GH_E2E_TOKEN\n",
            sim.api_url(),
            git.base_url()
        ),
    );
    sb.write("campaign.yaml", &campaign);
    (sb, sim, git)
}

/// Every file under `dir` that holds `needle`.
pub(crate) fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
        .flatten()
    {
        if entry.file_type().is_some_and(|t| t.is_file())
            && std::fs::read(entry.path())
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(entry.path().display().to_string());
        }
    }
    found
}

#[test]
fn a_github_campaign_runs_launch_sync_advance_against_the_simulator() {
    let rt = runtime();
    let names = ["svc-a", "svc-b", "svc-c"];
    let (sb, sim, git) = github_sandbox(&rt, &names, "[1, rest]");

    // Tranche 1: one pull request, with the labels and the owner's team.
    let out = run(&sb, &["launch", "campaign.yaml"]);
    out.code(0);
    let opened: Vec<_> = names.iter().flat_map(|n| sim.pulls("remotes", n)).collect();
    assert_eq!(opened.len(), 1, "{out:?}");
    assert_eq!(
        opened[0].labels,
        ["fleetwright", "fleetwright/recipe-exact"]
    );
    assert_eq!(opened[0].requested_teams, ["team-a"]);
    // The team reviews; its people are assigned.
    assert_eq!(opened[0].assignees, ["team-a-lead"]);
    assert!(opened[0].title.starts_with("Replace deprecated APIs in"));

    // Merged on GitHub: sync records it.
    let first = names
        .iter()
        .find(|n| !sim.pulls("remotes", n).is_empty())
        .unwrap();
    sim.set_pull_merged("remotes", first, 1);
    let out = run(&sb, &["sync", CAMPAIGN]);
    out.code(0);
    let by_repo = states(&sb.status());
    assert_eq!(
        by_repo[&format!("remotes/{first}")],
        "merged",
        "{by_repo:?}"
    );

    // Tranche 2: the other two; a re-run opens nothing twice.
    run(&sb, &["advance", CAMPAIGN]).code(0);
    run(&sb, &["advance", CAMPAIGN]).code(0);
    let all: Vec<_> = names.iter().flat_map(|n| sim.pulls("remotes", n)).collect();
    assert_eq!(all.len(), 3, "one pull request per repository");
    let by_repo = states(&sb.status());
    assert_eq!(
        by_repo.values().filter(|s| *s == "pr_open").count(),
        2,
        "{by_repo:?}"
    );

    // Closed without merging on GitHub: declined, and never reopened.
    let second = names.iter().find(|n| n != &first).unwrap();
    sim.close_pull("remotes", second, 1);
    run(&sb, &["sync", CAMPAIGN]).code(0);
    run(&sb, &["advance", CAMPAIGN]).code(0);
    assert_eq!(sim.pulls("remotes", second).len(), 1);
    assert_eq!(
        states(&sb.status())[&format!("remotes/{second}")],
        "declined"
    );

    // The campaign lets sync merge what passes its checks and is approved.
    let third = names.iter().find(|n| *n != first && *n != second).unwrap();
    sb.write(
        "campaign.yaml",
        &sb.read("campaign.yaml").replace(
            "  labels: [fleetwright]\n",
            "  labels: [fleetwright]\n  auto_merge: true\n",
        ),
    );
    let head = sim.pulls("remotes", third)[0].head_sha.clone();
    sim.set_check(
        "remotes",
        third,
        &head,
        "ci",
        CheckRunState::completed("success"),
    );
    run(&sb, &["sync", CAMPAIGN]).code(0);
    let status = sb.status();
    assert_eq!(
        states(&status)[&format!("remotes/{third}")],
        "pr_open",
        "not approved yet"
    );
    // What sync learnt is recorded: CI passed, nobody has reviewed yet.
    let pr = target(&status, &format!("remotes/{third}"))
        .pr
        .clone()
        .expect("a pull request");
    assert_eq!(
        pr.ci_state,
        Some(fleetwright::state::CiState::Success),
        "{pr:?}"
    );
    assert_eq!(
        pr.review_state,
        Some(fleetwright::state::ReviewState::Pending),
        "{pr:?}"
    );
    sim.add_review("remotes", third, 1, "APPROVED", "team-a-lead");
    run(&sb, &["sync", CAMPAIGN]).code(0);
    assert_eq!(states(&sb.status())[&format!("remotes/{third}")], "merged");
    assert_eq!(
        sim.pulls("remotes", third)[0].merge_method.as_deref(),
        Some("merge")
    );

    // Paced: GitHub's secondary limits were never hit.
    let stats = sim.stats();
    assert_eq!(stats.violations, 0, "{stats:?}");
    assert_eq!(stats.secondary_limited, 0, "{stats:?}");

    // The token travelled only in Authorization headers: not in a URL, the
    // clones' .git/config, the state, or anything printed.
    for request in git.requests() {
        assert!(!request.uri.contains(TOKEN));
    }
    assert!(
        git.requests()
            .iter()
            .any(|r| r.header("authorization").is_some())
    );
    let leaks = files_holding(sb.path(), TOKEN);
    assert!(leaks.is_empty(), "the token is written in {leaks:?}");
    rt.block_on(async {
        sim.stop().await;
        git.stop().await;
    });
}

#[test]
fn three_hundred_pull_requests_stay_under_the_limits_at_near_the_allowed_rate() {
    let rt = runtime();
    rt.block_on(async {
        let clock = SimClock::manual();
        let sim = GithubSim::start(SimOptions {
            clock: clock.clone(),
            limits: Limits::github(),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        sim.add_repo("acme", "monorepo", "main");
        let forge = GitHubForge::new(GitHubConfig {
            api_url: sim.api_url(),
            pacing: PacingConfig::default(),
            clock: clock.shared(),
            ..GitHubConfig::new(GitHubAuth::Token(Secret::new(sim.token())))
        })
        .unwrap();
        let repo = RepoRef {
            name: "acme/monorepo".into(),
            url: String::new(),
        };
        let start = clock.shared().now();
        let count = 300;
        for i in 0..count {
            let pr = NewPullRequest {
                title: format!("Change {i}"),
                body: "body".into(),
                head: format!("fleetwright/change-{i}"),
                base: "main".into(),
                head_commit: String::new(),
                draft: false,
                labels: vec!["fleetwright".into()],
                reviewers: Vec::new(),
                team_reviewers: Vec::new(),
                assignees: Vec::new(),
            };
            forge.open_pull_request(&repo, &pr).await.unwrap();
        }
        let took = clock.shared().now() - start;
        let stats = sim.stats();
        let writes = stats.writes.len();
        assert_eq!(sim.pulls("acme", "monorepo").len(), count);
        assert_eq!(writes, 2 * count, "a create and a label per pull request");
        assert_eq!(stats.violations, 0, "{:?}", stats.secondary_limited);
        assert_eq!(stats.secondary_limited, 0);
        // The fastest GitHub allows: one write a second, 500 in any hour.
        let fastest = fastest(writes);
        let ratio = fastest.as_secs_f64() / took.as_secs_f64();
        eprintln!(
            "{count} pull requests ({writes} writes) in {:.0} s of simulated time; the limits allow {:.0} s at best: {:.1} % of the allowed rate",
            took.as_secs_f64(),
            fastest.as_secs_f64(),
            ratio * 100.0
        );
        assert!(ratio >= 0.9, "only {:.1} % of the allowed rate", ratio * 100.0);
        sim.stop().await;
    });
}

/// The least time `writes` writes can take under GitHub's limits: one a
/// second, at most 80 in a minute (never binding at one a second) and 500
/// in any hour.
fn fastest(writes: usize) -> Duration {
    let (per_hour, hour) = (500usize, 3600u64);
    let full_hours = (writes.saturating_sub(1)) / per_hour;
    let rest = (writes - 1) % per_hour;
    Duration::from_secs(full_hours as u64 * hour + rest as u64)
}

#[test]
fn a_launch_killed_while_opening_pull_requests_resumes_without_duplicates_or_gaps() {
    let rt = runtime();
    let names = ["k1", "k2", "k3", "k4", "k5"];
    let (sb, sim, git) = github_sandbox(&rt, &names, "[rest]");
    let opened = || -> usize { names.iter().map(|n| sim.pulls("remotes", n).len()).sum() };

    // SIGKILL once two pull requests are open (GitHub paces the rest).
    let mut child = command(sb.path(), &[("GH_E2E_TOKEN", TOKEN)])
        .arg("--state")
        .arg(sb.state_path())
        .args(["--color", "never", "launch", "campaign.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while opened() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = opened();
    assert!(
        (2..names.len()).contains(&at_kill),
        "killed after {at_kill} pull requests"
    );

    // The re-run finishes the others and opens nothing twice.
    run(&sb, &["launch", "campaign.yaml"]).code(0);
    for name in names {
        assert_eq!(sim.pulls("remotes", name).len(), 1, "{name}");
    }
    let by_repo = states(&sb.status());
    assert!(by_repo.values().all(|s| s == "pr_open"), "{by_repo:?}");
    assert_eq!(sim.stats().violations, 0);
    rt.block_on(async {
        sim.stop().await;
        git.stop().await;
    });
}

/// Run the binary at the state time `now` (the simulator keeps its own clock).
fn run_at(sb: &Sandbox, now: &str, args: &[&str]) -> Run {
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("GH_E2E_TOKEN", TOKEN), ("FLEETWRIGHT_NOW", now)],
        args,
    );
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token was printed: {out:?}"
    );
    out
}

#[test]
fn run_gates_pauses_nudges_and_cancels_on_github_unchanged() {
    let rt = runtime();
    let names = ["svc-a", "svc-b", "svc-c", "svc-d"];
    let (sb, sim, git) = github_sandbox(&rt, &names, "[1, rest]");
    sb.write(
        "campaign.yaml",
        &format!(
            "{}pause_when:\n  ci_failures: \"50%\"\nstale:\n  after_days: 2\n",
            sb.read("campaign.yaml")
        ),
    );
    let pulls = |n: &str| sim.pulls("remotes", n);
    let all = || -> Vec<(String, fleetwright::sim::github::SimPull)> {
        names
            .iter()
            .flat_map(|n| pulls(n).into_iter().map(move |p| (n.to_string(), p)))
            .collect()
    };

    // Launch: the canary's pull request.
    run_at(&sb, "2026-12-01T09:00:00Z", &["run", "campaign.yaml"]).code(0);
    let opened = all();
    assert_eq!(opened.len(), 1);
    let (canary, _) = &opened[0];

    // Merged on GitHub: the next run passes the gate and opens the rest.
    sim.set_pull_merged("remotes", canary, 1);
    let out = run_at(&sb, "2026-12-01T10:00:00Z", &["run", CAMPAIGN]);
    out.code(0);
    assert!(out.stdout.contains("gate passed"), "{out:?}");
    assert_eq!(all().len(), 4, "{out:?}");

    // Two of the three fail their checks: the campaign pauses itself.
    let rest: Vec<String> = names
        .iter()
        .filter(|n| *n != canary)
        .map(|n| n.to_string())
        .collect();
    for n in &rest[..2] {
        let head = pulls(n)[0].head_sha.clone();
        sim.set_check(
            "remotes",
            n,
            &head,
            "ci",
            CheckRunState::completed("failure"),
        );
    }
    let paused = run_at(&sb, "2026-12-01T11:00:00Z", &["run", CAMPAIGN]);
    paused.code(0);
    assert!(paused.stdout.contains("PAUSED: 2 of 3"), "{paused:?}");

    // Resumed, the open pull requests go stale: one comment each, once.
    run(&sb, &["resume", CAMPAIGN]).code(0);
    let nudged = run_at(&sb, "2026-12-04T09:00:00Z", &["run", CAMPAIGN]);
    nudged.code(0);
    assert!(
        nudged.stdout.contains("nudged 3 stale pull request(s)"),
        "{nudged:?}"
    );
    run_at(&sb, "2026-12-05T09:00:00Z", &["run", CAMPAIGN]).code(0);
    for n in &rest {
        let comments = &pulls(n)[0].comments;
        assert_eq!(comments.len(), 1, "{n}: {comments:?}");
    }

    // Cancelled with the pull requests closed, with the comment, on GitHub.
    let cancelled = run(
        &sb,
        &[
            "cancel",
            CAMPAIGN,
            "--close-prs",
            "Superseded by the v2 campaign.",
        ],
    );
    cancelled.code(0);
    for n in &rest {
        let pull = &pulls(n)[0];
        assert_eq!(
            pull.state,
            fleetwright::sim::github::PullState::Closed,
            "{n}"
        );
    }
    assert!(
        sb.status()
            .targets
            .iter()
            .all(|t| t.state == "merged" || t.state == "declined")
    );
    drop((sim, git));
}

/// A state on `db` and a GitHub forge on `sim` that keeps its answers in
/// it: what one process of fleetwright builds.
async fn forge_over_state(sim: &GithubSim, clock: &SimClock, db: &Path) -> (State, GitHubForge) {
    let state = State::open_with_clock(db, clock.shared()).await.unwrap();
    let forge = GitHubForge::new(GitHubConfig {
        api_url: sim.api_url(),
        pacing: PacingConfig::default(),
        clock: clock.shared(),
        ..GitHubConfig::new(GitHubAuth::Token(Secret::new(sim.token())))
    })
    .unwrap()
    .keep_answers_in(state.clone());
    (state, forge)
}

/// Issue 11: the ETags of a sync outlive its process. A second process (a
/// second `State` on the same file, a new forge) sends `If-None-Match` for
/// every path and is answered 304, free against the rate limit; a change is
/// seen; a pull request that is no longer open leaves nothing behind; and
/// nothing kept holds the token.
#[test]
fn etags_kept_in_the_state_make_the_next_process_sync_conditional() {
    let rt = runtime();
    rt.block_on(async {
        let clock = SimClock::manual();
        let sim = GithubSim::start(SimOptions {
            clock: clock.clone(),
            limits: Limits::github(),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        sim.add_repo("acme", "svc", "main");
        let sha = "0123456789abcdef0123456789abcdef01234567";
        sim.set_branch("acme", "svc", "fleetwright/x", sha);
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("state/fleetwright.db");
        let repo = RepoRef {
            name: "acme/svc".into(),
            url: String::new(),
        };

        // The first process opens the pull request and syncs it: full GETs.
        let (state, forge) = forge_over_state(&sim, &clock, &db).await;
        let opened = forge
            .open_pull_request(
                &repo,
                &NewPullRequest {
                    title: "Change".into(),
                    body: "body".into(),
                    head: "fleetwright/x".into(),
                    base: "main".into(),
                    head_commit: sha.into(),
                    draft: false,
                    labels: Vec::new(),
                    reviewers: Vec::new(),
                    team_reviewers: Vec::new(),
                    assignees: Vec::new(),
                },
            )
            .await
            .unwrap();
        sim.set_check(
            "acme",
            "svc",
            sha,
            "build",
            CheckRunState::completed("success"),
        );
        let first = forge.sync_pull_request(&repo, opened.number).await.unwrap();
        assert_eq!(first.ci_state, Some(fleetwright::state::CiState::Success));
        assert_eq!(sim.stats().not_modified, 0);
        let (kept, _) = state.forge_answer_count().await.unwrap();
        assert_eq!(
            kept, 4,
            "the pull request, its reviews, check runs and status"
        );
        drop(forge);
        state.close().await;

        // A second process: every path is conditional and unchanged.
        let (state, forge) = forge_over_state(&sim, &clock, &db).await;
        let requests = sim.stats().requests;
        let again = forge.sync_pull_request(&repo, opened.number).await.unwrap();
        assert_eq!(again, first);
        let stats = sim.stats();
        assert_eq!(stats.requests - requests, 4);
        assert_eq!(
            stats.not_modified, 4,
            "every GET of the second sync is a 304"
        );
        drop(forge);
        state.close().await;

        // A third process sees a change: the reviews answer 200, the rest 304.
        sim.add_review("acme", "svc", opened.number as u64, "APPROVED", "octo");
        let (state, forge) = forge_over_state(&sim, &clock, &db).await;
        let changed = forge.sync_pull_request(&repo, opened.number).await.unwrap();
        assert_eq!(
            changed.review_state,
            Some(fleetwright::state::ReviewState::Approved)
        );
        assert_eq!(sim.stats().not_modified, 4 + 3);

        // Nothing kept holds the token or a header of the request (the
        // database and its WAL, read as bytes).
        let leaks = files_holding(tmp.path(), sim.token());
        assert!(leaks.is_empty(), "the token is written in {leaks:?}");
        for file in ["fleetwright.db", "fleetwright.db-wal"] {
            let bytes = std::fs::read(tmp.path().join("state").join(file)).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
            assert!(
                !text.contains("authorization") && !text.contains("bearer"),
                "{file}"
            );
        }

        // Merged: nobody syncs it again, so what was kept of it goes.
        sim.set_pull_merged("acme", "svc", opened.number as u64);
        let merged = forge.sync_pull_request(&repo, opened.number).await.unwrap();
        assert_eq!(merged.state, fleetwright::state::PrState::Merged);
        assert_eq!(state.forge_answer_count().await.unwrap().0, 0);
        state.close().await;
        sim.stop().await;
    });
}

/// On GitHub, the recipe-exact label goes on with the pull request and comes
/// off (a `DELETE` of the label) when a person's commit lands on the branch.
#[test]
fn a_persons_commit_takes_the_recipe_exact_label_off_on_github() {
    let rt = runtime();
    let (sb, sim, _git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    run(&sb, &["launch", "campaign.yaml"]).code(0);
    let labels = || sim.pulls("remotes", "svc-a")[0].labels.clone();
    assert_eq!(labels(), ["fleetwright", "fleetwright/recipe-exact"]);
    // Unchanged: a sync keeps it.
    run(&sb, &["sync", CAMPAIGN]).code(0);
    assert_eq!(labels(), ["fleetwright", "fleetwright/recipe-exact"]);

    crate::util::push_a_commit(
        &sb.bare("svc-a"),
        crate::util::BRANCH,
        "NOTES.md",
        "by hand\n",
        "A note",
    );
    run(&sb, &["sync", CAMPAIGN]).code(0);
    assert_eq!(labels(), ["fleetwright"]);
    assert_eq!(
        crate::util::count_events(&sb.events(), "not_recipe_exact"),
        1
    );
}
