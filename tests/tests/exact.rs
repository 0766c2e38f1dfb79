//! Recipe-exact pull requests: a branch that holds exactly the recipe's
//! change carries the `fleetwright/recipe-exact` label; a person's commit
//! takes it off, visibly; `auto_merge: {when: recipe_exact}` merges only
//! exact pull requests whose checks pass.

use git2::{Oid, Repository};

use crate::util::{BRANCH, CAMPAIGN, Sandbox, branch_head, count_events, python, target};

const LABEL: &str = "fleetwright/recipe-exact";

/// Commit `text` as `path` on `branch` of the bare repository, as a person would.
fn push_a_commit(repo: &Repository, branch: &str, path: &str, text: &str) -> Oid {
    crate::util::push_a_commit(repo, branch, path, text, "Add a note")
}

/// The labels of `repo`'s pull request #1 on the local forge.
fn labels(sb: &Sandbox, repo: &str) -> Vec<String> {
    sb.local_pr(repo).labels
}

fn with_policy(sb: &Sandbox, policy: &str) {
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &campaign.replace(
            "  labels: [fleetwright]\n",
            &format!("  labels: [fleetwright]\n  auto_merge: {policy}\n"),
        ),
    );
}

#[test]
fn a_persons_commit_flips_recipe_exact_off_and_the_policy_merges_only_exact_green_ones() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-b", "production"),
            python("svc-c", "team-b", "production"),
        ],
        "[rest]",
    );
    with_policy(&sb, "{when: recipe_exact}");
    sb.run(&["launch", "campaign.yaml"]).code(0);
    for name in ["svc-a", "svc-b", "svc-c"] {
        assert!(
            labels(&sb, name).contains(&LABEL.to_string()),
            "{name}: {:?}",
            labels(&sb, name)
        );
    }
    assert_eq!(count_events(&sb.events(), "recipe_exact"), 3);

    // A person adds a file to svc-b's branch; CI passes on a and b, fails on c.
    let persons = push_a_commit(&sb.bare("svc-b"), BRANCH, "NOTES.md", "keep an eye on it\n");
    for (name, ci) in [
        ("svc-a", "success"),
        ("svc-b", "success"),
        ("svc-c", "failure"),
    ] {
        sb.run(&["local", "ci", CAMPAIGN, name, ci]).code(0);
    }
    let out = sb.run(&["sync", CAMPAIGN]);
    out.code(0);

    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "merged", "{status:?}");
    assert_eq!(
        target(&status, "svc-b").state,
        "pr_open",
        "a person's commit is not the recipe's: {status:?}"
    );
    assert_eq!(
        target(&status, "svc-c").state,
        "pr_open",
        "exact, but its checks fail: {status:?}"
    );
    assert!(!labels(&sb, "svc-b").contains(&LABEL.to_string()));
    assert!(labels(&sb, "svc-c").contains(&LABEL.to_string()));
    // `status --json` and the report say it too.
    let exact = |name: &str| target(&status, name).pr.as_ref().unwrap().recipe_exact;
    assert_eq!((exact("svc-b"), exact("svc-c")), (Some(false), Some(true)));
    let html = sb.run(&["report", CAMPAIGN, "--format", "html"]);
    html.code(0);
    // The page's rows flag it (4: recipe-exact, 8: not), drawn as a tag by
    // its script.
    let data = fleetwright::sim::report_fleet::page_data(&html.stdout);
    let flags = |name: &str| {
        data["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row[0] == name)
            .map(|row| row[11].as_u64().unwrap() & 12)
    };
    assert_eq!((flags("svc-b"), flags("svc-c")), (Some(8), Some(4)));
    assert!(html.stdout.contains("\"not recipe-exact\""));
    let events = sb.events();
    let flipped: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "not_recipe_exact")
        .collect();
    assert_eq!(flipped.len(), 1, "{events:?}");
    assert!(
        flipped[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains(&persons.to_string()),
        "{flipped:?}"
    );
    assert_eq!(
        branch_head(&sb.bare("svc-b"), BRANCH),
        Some(persons),
        "the person's commit stays"
    );
    let merge_events: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "merge_intended")
        .collect();
    assert_eq!(merge_events.len(), 1, "{merge_events:?}");
    assert!(
        merge_events[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("recipe-exact"),
        "{merge_events:?}"
    );

    // Nothing changed: the next sync checks nothing again (no new event).
    let before = sb.events().len();
    sb.run(&["sync", CAMPAIGN]).code(0);
    assert_eq!(sb.events().len(), before);
}

#[test]
fn without_the_policy_exactness_is_recorded_and_nothing_merges() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    sb.run(&["launch", "campaign.yaml"]).code(0);
    sb.run(&["local", "ci", CAMPAIGN, "svc-a", "success"])
        .code(0);
    push_a_commit(&sb.bare("svc-a"), BRANCH, "app.py", "print('by hand')\n");
    sb.run(&["sync", CAMPAIGN]).code(0);
    assert_eq!(target(&sb.status(), "svc-a").state, "pr_open");
    assert_eq!(count_events(&sb.events(), "not_recipe_exact"), 1);
    assert!(!labels(&sb, "svc-a").contains(&LABEL.to_string()));
}

#[test]
fn an_unknown_auto_merge_condition_is_an_error_at_its_place() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_policy(&sb, "{when: always}");
    let out = sb.run(&["plan", "campaign.yaml"]);
    out.code(3);
    assert!(
        out.stderr
            .contains("pull_request.auto_merge.when `always` is unknown"),
        "{out:?}"
    );
    assert!(out.stderr.contains("recipe_exact"), "{out:?}");
    let line = sb
        .read("campaign.yaml")
        .lines()
        .position(|l| l.contains("auto_merge"))
        .unwrap()
        + 1;
    assert!(
        out.stderr.contains(&format!("campaign.yaml:{line}:")),
        "{out:?}"
    );
}
