//! `preview`: what a campaign would change across the fleet, before any
//! push; and `scan` of a campaign file that was not launched.

use crate::util::{Sandbox, clean, go, python};

/// Every file under the bare repositories (objects, refs, packs), with its
/// size: a preview adds, moves and removes none of them.
fn remote_files(sb: &Sandbox) -> Vec<(String, u64)> {
    let mut files = Vec::new();
    for r in &sb.fleet.repos {
        for entry in walk(&r.bare_path) {
            let size = std::fs::metadata(&entry).map_or(0, |m| m.len());
            files.push((entry.display().to_string(), size));
        }
    }
    files.sort();
    files
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn preview_shows_every_change_and_leaves_every_remote_and_the_state_untouched() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            go("svc-b", "team-b", "production"),
            clean("svc-c", "team-b", "production"),
        ],
        "[1, rest]",
    );
    // An opted-out repository shows as such.
    let refs = sb.all_refs();
    let files = remote_files(&sb);
    let out = sb.run(&["preview", "campaign.yaml", "--out", "review"]);
    out.code(0);
    assert!(
        out.stdout.contains("nothing was pushed or recorded"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("the recipe modernize-deprecated-apis would change 2 of 3 repositories"),
        "{out:?}"
    );
    assert_eq!(sb.all_refs(), refs, "a preview moved a ref");
    assert_eq!(remote_files(&sb), files, "a preview wrote into a remote");
    assert!(
        !sb.state_path().exists(),
        "a preview made a state database at {}",
        sb.state_path().display()
    );

    let json: serde_json::Value = serde_json::from_str(&sb.read("review/preview.json")).unwrap();
    assert_eq!(json["totals"]["changed"], 2, "{json}");
    assert_eq!(json["totals"]["unchanged"], 1, "{json}");
    let a = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["repo"] == "svc-a")
        .unwrap();
    assert_eq!(a["outcome"], "changed");
    let diff = a["files"][0]["diff"].as_str().unwrap();
    assert!(
        diff.contains("-        logging.warn(") && diff.contains("+        logging.warning("),
        "{diff}"
    );
    let rules: Vec<&str> = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["go-empty-interface-to-any", "python-logging-warn"],
        "{json}"
    );

    let html = sb.read("review/index.html");
    assert!(html.contains("data-repo=\"svc-a\""), "{html}");
    assert!(
        html.contains("<span class=\"add\">+        logging.warning("),
        "{html}"
    );
    let md = sb.read("review/preview.md");
    assert!(md.contains("```diff\n"), "{md}");
    assert!(md.contains("## Changed (2)"), "{md}");
    assert!(md.contains("## Unchanged (1)"), "{md}");
}

#[test]
fn preview_with_verify_reports_failures_and_leaves_nothing_in_the_clones() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            go("svc-b", "team-b", "production"),
        ],
        "[rest]",
    );
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!(
            "{campaign}verify:\n  command: \"touch LEFTOVER; test -f app.py || {{ echo \\\"$PWD/main.go: does not build\\\"; exit 2; }}\"\n"
        ),
    );
    let refs = sb.all_refs();
    let out = sb.run(&[
        "preview",
        "campaign.yaml",
        "--verify",
        "--out",
        "review",
        "--json",
    ]);
    out.code(4);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let by_repo = |name: &str| {
        json["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["repo"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_repo("svc-a")["outcome"], "changed", "{json}");
    assert_eq!(by_repo("svc-a")["verify"]["passed"], true, "{json}");
    let b = by_repo("svc-b");
    assert_eq!(b["outcome"], "failing", "{json}");
    assert_eq!(b["verify"]["status"], "exit 2", "{json}");
    // The output names the repository's files, not the clone cache.
    assert_eq!(b["verify"]["tail"], "main.go: does not build\n", "{json}");
    assert_eq!(sb.all_refs(), refs);
    // The clones are back at the default branch: no leftover, no change.
    let cache = sb.path().join("state");
    let leftovers: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "LEFTOVER"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn scan_sizes_a_campaign_that_was_not_launched_and_records_nothing() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            go("svc-b", "team-b", "production"),
            clean("svc-c", "team-b", "production"),
        ],
        "[rest]",
    );
    let out = sb.run(&["scan", "campaign.yaml", "--json"]);
    out.code(0);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["totals"]["targets"], 3, "{json}");
    assert_eq!(json["totals"]["repositories_with_matches"], 2, "{json}");
    assert_eq!(json["targets"][0]["state"], "not launched", "{json}");
    assert!(out.stderr.contains("is not launched"), "{out:?}");
    assert!(!sb.state_path().exists());

    // Once launched, the same file scans the recorded campaign (and records).
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let out = sb.run(&["scan", "campaign.yaml", "--json"]);
    out.code(0);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_ne!(json["targets"][0]["state"], "not launched", "{json}");
}
