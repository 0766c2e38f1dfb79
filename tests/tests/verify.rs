//! `verify:`: the campaign's check runs in each rewritten checkout before
//! the push; a failure pushes nothing and keeps the output.

use crate::util::{BRANCH, CAMPAIGN, Sandbox, branch_head, python, target};

fn with_verify(sb: &Sandbox, command: &str) {
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!("{campaign}verify:\n  command: {command}\n  timeout: 60\n"),
    );
}

#[test]
fn a_verified_change_says_so_in_its_pull_request() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify(&sb, "\"grep -q 'logging.warning(' app.py\"");
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "pr_open", "{status:?}");
    let url = target(&status, "svc-a").repo.clone();
    let body = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        let t = s
            .targets(row.id)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.repo == url)
            .unwrap();
        s.local_pr(&t.url, 1).await.unwrap().unwrap().body
    });
    assert!(
        body.contains("## Verified\n\n`grep -q 'logging.warning(' app.py` ran in the repository after the change, and passed."),
        "{body}"
    );
}

#[test]
fn a_failed_verify_pushes_nothing_and_keeps_the_output() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify(
        &sb,
        "\"echo checking app.py; grep -q 'warnings.warn(' app.py\"",
    );
    let out = sb.run(&["launch", "campaign.yaml"]);
    assert_ne!(out.status, Some(0), "{out:?}");
    let status = sb.status();
    let t = target(&status, "svc-a");
    assert_eq!(t.state, "verify_failed", "{status:?}");
    let reason = t.reason.clone().unwrap_or_default();
    assert!(reason.contains("failed (exit 1)"), "{reason}");
    assert!(reason.contains("checking app.py"), "{reason}");
    assert_eq!(
        branch_head(&sb.bare("svc-a"), BRANCH),
        None,
        "something was pushed"
    );
    // Nothing changed: a later run does not try again.
    sb.run(&["advance", CAMPAIGN]);
    assert_eq!(target(&sb.status(), "svc-a").state, "verify_failed");
}
