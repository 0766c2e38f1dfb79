//! `fleetwright demo`: the sandbox and its campaign, end to end.

use std::collections::BTreeSet;
use std::path::Path;

use fleetwright::catalog::Catalog;
use fleetwright::report::StatusReport;

use crate::util::run_in;

/// The campaign name the demo wrote into its `campaign.yaml`.
fn campaign_name(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("campaign.yaml")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("name:"))
        .expect("campaign name")
        .trim()
        .to_string()
}

/// The demo's status, read with the state the demo says it wrote.
fn read_status(cwd: &Path, dir: &Path) -> StatusReport {
    let out = run_in(
        cwd,
        &dir.join("state/fleetwright.db"),
        &["status", &campaign_name(dir), "--json"],
    );
    out.code(0);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn demo_runs_a_whole_campaign_and_can_run_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let dir_arg = dir.to_str().unwrap();
    // Its own state lives in the demo dir; the global one must stay untouched.
    let unused_state = tmp.path().join("elsewhere.db");
    let demo = || {
        run_in(
            tmp.path(),
            &unused_state,
            &["demo", "--dir", dir_arg, "--repos", "8", "--teams", "2"],
        )
    };

    let out = demo();
    out.code(0);
    assert!(out.stdout.contains("simulated"), "{out:?}");
    let status = read_status(tmp.path(), &dir);
    assert!(out.stdout.contains(&status.campaign.name), "{out:?}");
    for t in &status.targets {
        assert!(out.stdout.contains(&t.repo), "{} not in {out:?}", t.repo);
    }

    // The targets are the catalog's production and experimental components.
    let catalog = Catalog::load(&dir.join("catalog/all.yaml")).unwrap();
    assert_eq!(catalog.components.len(), 8);
    let expected: BTreeSet<String> = catalog
        .components
        .iter()
        .filter(|c| ["production", "experimental"].contains(&c.lifecycle.as_str()))
        .filter_map(|c| Some(c.repository.as_ref()?.name.clone()))
        .collect();
    let targets: BTreeSet<String> = status.targets.iter().map(|t| t.repo.clone()).collect();
    assert_eq!(targets, expected);
    assert_eq!(status.campaign.tranches_open, status.campaign.tranche_count);
    assert!(
        status.targets.iter().any(|t| t.state == "merged"),
        "{status:#?}"
    );
    assert!(
        status.targets.iter().all(|t| t.state != "failed"),
        "{status:#?}"
    );

    let again = demo();
    again.code(0);
    let rerun = read_status(tmp.path(), &dir);
    let summary = |s: &StatusReport| -> Vec<(String, String)> {
        s.targets
            .iter()
            .map(|t| (t.repo.clone(), t.state.clone()))
            .collect()
    };
    assert_eq!(
        summary(&rerun),
        summary(&status),
        "two demos tell the same story"
    );
    assert!(
        !unused_state.exists(),
        "demo wrote the --state it was given"
    );
}

#[test]
fn demo_refuses_a_folder_that_is_not_a_demo_and_leaves_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my-project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "precious\n").unwrap();

    let out = run_in(
        tmp.path(),
        &tmp.path().join("state.db"),
        &["demo", "--dir", dir.to_str().unwrap(), "--repos", "3"],
    );
    assert_ne!(out.status, Some(0), "{out:?}");
    assert!(out.stderr.contains("my-project"), "{out:?}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "precious\n"
    );
}

/// The full-size demo: `run` alone takes the campaign from launch to
/// completed, with gates, a CI pause and its resume, throttles, the weekend
/// window and nudges visible on the way; it ends with the HTML report.
#[test]
fn the_default_demo_runs_to_completion_through_run_alone_and_writes_its_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let out = run_in(
        tmp.path(),
        &tmp.path().join("elsewhere.db"),
        &["demo", "--dir", dir.to_str().unwrap()],
    );
    out.code(0);
    for seen in [
        "== before launch: `fleetwright preview ",
        "launched modernize-deprecated-apis",
        "gate passed: tranche 1 (canary)",
        "gate closed: tranche 2 (experimental)",
        // Recipe-exact pull requests merge by the campaign's policy; one a
        // team added a commit to waits for the team.
        "merged by auto_merge (checks pass, recipe-exact)",
        "added a commit of their own to",
        "PAUSED: ",
        "`fleetwright resume modernize-deprecated-apis`",
        "throttled: ",
        "outside the window",
        "nudged ",
        "opted_out",
        "scan: ",
        "modernize-deprecated-apis: completed",
    ] {
        assert!(out.stdout.contains(seen), "`{seen}` not in {out:?}");
    }
    let status = read_status(tmp.path(), &dir);
    assert_eq!(status.campaign.status, "completed");
    // The preview said what the campaign then did: a pull request for every
    // repository it would change, none elsewhere.
    let with_pr = status.targets.iter().filter(|t| t.pr.is_some()).count();
    assert!(
        out.stdout.contains(&format!(
            "would change {with_pr} of {} repositories",
            status.targets.len()
        )),
        "{out:?}"
    );
    assert!(
        status.targets.iter().all(|t| [
            "merged",
            "declined",
            "no_change",
            "not_applicable",
            "opted_out"
        ]
        .contains(&t.state.as_str())),
        "{status:#?}"
    );
    // The report it printed the path of, self-contained.
    let report = dir.join("report.html");
    assert!(
        out.stdout
            .contains(&format!("The campaign's report: {}", report.display())),
        "{out:?}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("id=\"burndown\""));
    assert!(!html.contains("<script src") && !html.contains("<link"));
    // The event log says what the output said: the gate, the pause, the nudges.
    let events = crate::util::run_in(
        tmp.path(),
        &dir.join("state/fleetwright.db"),
        &["report", "modernize-deprecated-apis", "--format", "json"],
    );
    events.code(0);
    let report: serde_json::Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(report["campaign"]["status"], "completed", "{report:#}");
    // Completed is not migrated: the scan still finds places in the
    // declined and opted-out repositories, so the headline is not 100%,
    // and says what the campaign did there.
    let h = &report["headline"];
    let left = h["remaining_matches"].as_i64().expect("the demo scans");
    assert!(left > 0, "{h:#}");
    assert!(h["migrated_percent"].as_u64().unwrap() < 100, "{h:#}");
    assert_eq!(h["settled"], h["targets"], "{h:#}");
    let count = |state: &str| status.targets.iter().filter(|t| t.state == state).count();
    assert_eq!(h["declined"], count("declined"), "{h:#}");
    assert_eq!(h["opted_out"], count("opted_out"), "{h:#}");
    let headline = html
        .split(r#"<p id="headline" class="headline">"#)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("the headline");
    assert!(!headline.contains("100%"), "{headline}");
    assert!(
        headline.contains(&format!(
            "The latest scan finds {left} places still to migrate"
        )),
        "{headline}"
    );
    assert!(
        headline.contains(&format!("{} declined by ", count("declined"))),
        "{headline}"
    );
    assert!(
        headline.contains(&format!("{} opted out", count("opted_out"))),
        "{headline}"
    );
}
