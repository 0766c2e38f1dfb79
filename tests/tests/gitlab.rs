//! `forge: gitlab` end to end: the real binary against the GitLab simulator
//! (`fleetwright::sim::gitlab`) and a real git smart-HTTP server, both on
//! loopback: launch → sync → gates → completion, a failed pipeline that
//! pauses the campaign, a merge request whose answer was lost found again
//! by its source branch, 429s waited out, and the token nowhere but its
//! header.

use fleetwright::sim::git_http::GitHttpServer;
use fleetwright::sim::gitlab::{Fault, GitlabSim};

use crate::github::{files_holding, runtime};
use crate::util::{CAMPAIGN, Run, Sandbox, campaign_yaml, python, run_in_env, states};

pub(crate) const TOKEN: &str = "glpat-e2eSECRETtoken0123456789";

/// Run the binary in the sandbox with the token in `GL_E2E_TOKEN`; it must
/// never print it.
pub(crate) fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("GL_E2E_TOKEN", TOKEN)],
        args,
    );
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token was printed: {out:?}"
    );
    out
}

/// A sandbox of `names` (team-a's Python services) served by a GitLab
/// simulator (projects `remotes/<name>`) and a git smart-HTTP server, with
/// a campaign on `forge: gitlab` whose extra keys are `extra`.
pub(crate) fn gitlab_sandbox(
    rt: &tokio::runtime::Runtime,
    names: &[&str],
    tranches: &str,
    extra: &str,
) -> (Sandbox, GitlabSim, GitHttpServer) {
    let sb = Sandbox::new(
        names
            .iter()
            .map(|n| python(n, "team-a", "production"))
            .collect(),
        tranches,
    );
    let (sim, git) = rt.block_on(async {
        let sim = GitlabSim::start(TOKEN).await.unwrap();
        let git = GitHttpServer::start(sb.path().to_path_buf(), TOKEN.into())
            .await
            .unwrap();
        (sim, git)
    });
    for name in names {
        let project = format!("remotes/{name}");
        sim.add_project(&project, "main");
        sim.link_git(&project, sb.path().join(format!("remotes/{name}.git")));
    }
    // team-a is a GitLab group under the projects' top-level group.
    sim.add_group("remotes/team-a", &["team-a-lead", "alice"]);
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
    let campaign = format!("{}{extra}", campaign_yaml(tranches)).replace(
        "forge: local\n",
        &format!(
            "forge: gitlab\ngitlab:\n  api_url: {}\n  git_url: {}\n  token_env: GL_E2E_TOKEN\n  pacing:\n    min_interval_ms: 10\n",
            sim.api_url(),
            git.base_url()
        ),
    );
    sb.write("campaign.yaml", &campaign);
    (sb, sim, git)
}

fn stop(rt: &tokio::runtime::Runtime, sim: GitlabSim, git: GitHttpServer) {
    rt.block_on(async {
        sim.stop().await;
        git.stop().await;
    });
}

#[test]
fn a_gitlab_campaign_runs_launch_sync_gates_to_completion() {
    let rt = runtime();
    let names = ["svc-a", "svc-b", "svc-c"];
    let (sb, sim, git) = gitlab_sandbox(
        &rt,
        &names,
        "[1, rest]",
        "gate:\n  merged: \"100%\"\n  count_declined: false\n",
    );

    // Tranche 1: one merge request, labelled, the owner's group asked to
    // review, its lead assigned.
    let out = run(&sb, &["run", "campaign.yaml"]);
    out.code(0);
    let opened: Vec<(String, _)> = names
        .iter()
        .flat_map(|n| {
            sim.merge_requests(&format!("remotes/{n}"))
                .into_iter()
                .map(move |m| (format!("remotes/{n}"), m))
        })
        .collect();
    assert_eq!(opened.len(), 1, "{out:?}");
    let (first, mr) = &opened[0];
    assert_eq!(mr.labels, ["fleetwright", "fleetwright/recipe-exact"]);
    assert!(mr.title.starts_with("Replace deprecated APIs in"), "{mr:?}");
    assert_eq!(mr.source_branch, crate::util::BRANCH);
    assert_eq!(mr.target_branch, "main");
    assert_eq!(mr.reviewer_ids.len(), 2, "team-a's members review: {mr:?}");
    assert_eq!(mr.assignee_ids.len(), 1, "{mr:?}");
    assert!(mr.sha.is_some());

    // Nothing merged: the gate holds.
    let held = run(&sb, &["run", CAMPAIGN]);
    held.code(0);
    assert!(held.stdout.contains("gate closed"), "{held:?}");

    // The app team merges it on GitLab: the next run records it, passes
    // the gate and opens the rest.
    sim.merge_by_person(first, 1);
    let passed = run(&sb, &["run", CAMPAIGN]);
    passed.code(0);
    assert!(passed.stdout.contains("gate passed"), "{passed:?}");
    let by_repo = states(&sb.status());
    assert_eq!(by_repo[first.as_str()], "merged", "{by_repo:?}");
    for n in names {
        assert_eq!(
            sim.merge_requests(&format!("remotes/{n}")).len(),
            1,
            "one merge request per project"
        );
    }

    // Approved and green, and the campaign asks sync to merge: merged with
    // the checked head.
    sb.write(
        "campaign.yaml",
        &sb.read("campaign.yaml").replace(
            "  labels: [fleetwright]\n",
            "  labels: [fleetwright]\n  auto_merge: true\n",
        ),
    );
    for n in names {
        let project = format!("remotes/{n}");
        if project != *first {
            sim.set_pipeline(&project, 1, "success");
            sim.approve(&project, 1, "team-a-lead");
        }
    }
    run(&sb, &["run", CAMPAIGN]).code(0);
    let last = run(&sb, &["run", CAMPAIGN]);
    last.code(0);
    assert_eq!(sb.status().campaign.status, "completed", "{last:?}");
    let merges: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/merge"))
        .collect();
    assert_eq!(merges.len(), 2, "{merges:?}");
    for merge in &merges {
        assert!(
            merge.body.as_ref().and_then(|b| b.get("sha")).is_some(),
            "merged only at the checked head: {merge:?}"
        );
    }

    // The token travelled only in its header: never in a URL, a file of
    // the sandbox (state, clones, logs) or the output.
    for request in sim.requests() {
        assert_eq!(request.token_header.as_deref(), Some("private-token"));
    }
    for request in git.requests() {
        assert!(!request.uri.contains(TOKEN));
    }
    let leaks = files_holding(sb.path(), TOKEN);
    assert!(leaks.is_empty(), "the token is written in {leaks:?}");
    stop(&rt, sim, git);
}

#[test]
fn a_failed_pipeline_pauses_the_gitlab_campaign() {
    let rt = runtime();
    let names = ["svc-a", "svc-b"];
    let (sb, sim, git) = gitlab_sandbox(
        &rt,
        &names,
        "[rest]",
        "pause_when:\n  ci_failures: \"50%\"\n",
    );
    for n in names {
        sim.set_new_pipeline(&format!("remotes/{n}"), Some("running"));
    }
    run(&sb, &["run", "campaign.yaml"]).code(0);
    assert_eq!(sb.status().campaign.status, "active");
    sim.set_pipeline("remotes/svc-a", 1, "failed");
    let paused = run(&sb, &["run", CAMPAIGN]);
    paused.code(0);
    assert!(paused.stdout.contains("PAUSED"), "{paused:?}");
    assert_eq!(sb.status().campaign.status, "paused");
    stop(&rt, sim, git);
}

#[test]
fn a_merge_request_whose_answer_was_lost_is_found_by_its_branch_not_opened_twice() {
    let rt = runtime();
    let names = ["svc-a"];
    let (sb, sim, git) = gitlab_sandbox(&rt, &names, "[rest]", "");
    // GitLab creates it, the answer is lost, and every retry fails: the
    // run ends without knowing the merge request exists.
    sim.inject("POST", "/merge_requests", Fault::LostResponse);
    for _ in 0..4 {
        sim.inject(
            "POST",
            "/merge_requests",
            Fault::ServerError { status: 503 },
        );
    }
    let failed = run(&sb, &["run", "campaign.yaml"]);
    assert_eq!(sim.merge_requests("remotes/svc-a").len(), 1, "{failed:?}");
    assert_ne!(states(&sb.status())["remotes/svc-a"], "pr_open");

    // Run again: found by its source branch and adopted.
    let again = run(&sb, &["run", CAMPAIGN]);
    again.code(0);
    assert_eq!(sim.merge_requests("remotes/svc-a").len(), 1, "{again:?}");
    assert_eq!(
        states(&sb.status())["remotes/svc-a"],
        "pr_open",
        "{again:?}"
    );
    assert!(sim.requests().iter().any(|r| r.method == "GET"
        && r.path.ends_with("/merge_requests")
        && r.query.iter().any(|(k, _)| k == "source_branch")));
    stop(&rt, sim, git);
}

#[test]
fn a_429_from_gitlab_is_waited_out() {
    let rt = runtime();
    let names = ["svc-a"];
    let (sb, sim, git) = gitlab_sandbox(&rt, &names, "[rest]", "");
    sim.inject(
        "POST",
        "/merge_requests",
        Fault::TooManyRequests { retry_after: 1 },
    );
    let started = std::time::Instant::now();
    run(&sb, &["run", "campaign.yaml"]).code(0);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(sim.merge_requests("remotes/svc-a").len(), 1);
    let creates: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/merge_requests"))
        .map(|r| r.status)
        .collect();
    assert_eq!(creates, [429, 201]);
    assert_eq!(states(&sb.status())["remotes/svc-a"], "pr_open");
    stop(&rt, sim, git);
}

#[test]
fn the_tracking_issue_lives_in_a_gitlab_project_and_is_opened_once() {
    let rt = runtime();
    let names = ["svc-a"];
    let (sb, sim, git) = gitlab_sandbox(
        &rt,
        &names,
        "[rest]",
        "report:\n  issue:\n    repository: platform/sub/migrations\n",
    );
    sim.add_project("platform/sub/migrations", "main");
    let out = run(&sb, &["run", "campaign.yaml"]);
    out.code(0);
    let issues = sim.issues("platform/sub/migrations");
    assert_eq!(issues.len(), 1, "{out:?}");
    assert_eq!(issues[0].labels, ["fleetwright/tracking"]);
    assert!(
        issues[0]
            .description
            .contains("<!-- fleetwright:tracking-issue campaign=modernize-logging -->"),
        "{}",
        issues[0].description
    );
    // Merged since: the next run edits the same issue in place.
    sim.merge_by_person("remotes/svc-a", 1);
    run(&sb, &["run", CAMPAIGN]).code(0);
    let issues = sim.issues("platform/sub/migrations");
    assert_eq!(issues.len(), 1);
    assert!(
        sim.requests().iter().any(
            |r| r.method == "PUT" && r.path == "/projects/platform%2Fsub%2Fmigrations/issues/1"
        )
    );
    stop(&rt, sim, git);
}
