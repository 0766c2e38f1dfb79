//! `fleetwright sync`: what the forge says of open pull requests is recorded.

use crate::util::{CAMPAIGN, Sandbox, python, states};

#[test]
fn sync_records_pull_requests_settled_on_the_forge() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-b", "production"),
        ],
        "[rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    // Someone merges svc-a's pull request on the forge itself, and closes
    // svc-b's, behind fleetwright's back.
    sb.edit_state(
        "%svc-a%",
        &["UPDATE local_pull_requests SET state = 'merged' WHERE repo_url LIKE ?"],
    );
    sb.edit_state(
        "%svc-b%",
        &["UPDATE local_pull_requests SET state = 'closed' WHERE repo_url LIKE ?"],
    );
    let before = states(&sb.status());
    assert!(before.values().all(|s| s == "pr_open"), "{before:?}");

    let out = sb.run(&["sync", CAMPAIGN]);
    out.code(0);
    assert!(
        out.stdout
            .contains("2 open pull request(s) checked, 2 changed"),
        "{out:?}"
    );
    let after = states(&sb.status());
    let state = |suffix: &str| {
        after
            .iter()
            .find(|(r, _)| r.ends_with(suffix))
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(state("svc-a"), "merged", "{after:?}");
    assert_eq!(state("svc-b"), "declined", "{after:?}");

    // Nothing open any more: a second sync asks nothing.
    let out = sb.run(&["sync", CAMPAIGN]);
    out.code(0);
    assert!(
        out.stdout.contains("0 open pull request(s) checked"),
        "{out:?}"
    );
}
