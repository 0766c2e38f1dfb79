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

#[test]
fn on_failure_draft_opens_a_draft_that_shows_the_failure_until_a_new_recipe_passes() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let campaign = sb.read("campaign.yaml");
    let with = |command: &str| {
        format!("{campaign}verify:\n  command: \"{command}\"\n  timeout: 60\n  on_failure: draft\n")
    };
    sb.write("campaign.yaml", &with("echo the suite broke; exit 3"));
    let out = sb.run(&["run", "campaign.yaml"]);
    assert_eq!(out.status, Some(4), "{out:?}");
    let status = sb.status();
    let t = target(&status, "svc-a");
    assert_eq!(t.state, "verify_failed", "{status:?}");
    assert!(
        t.reason
            .as_deref()
            .unwrap_or_default()
            .contains("failed (exit 3); pushed as a draft pull request that shows the failure"),
        "{t:?}"
    );
    let pr = t.pr.clone().expect("a draft pull request");
    assert!(pr.draft && pr.state == "open", "{pr:?}");
    let url = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        s.targets(row.id).await.unwrap()[0].url.clone()
    });
    let body = sb.with_state(async |s| s.local_pr(&url, 1).await.unwrap().unwrap().body);
    assert!(body.contains("## Verify failed: this is a draft"), "{body}");
    assert!(body.contains("the suite broke"), "{body}");
    assert!(branch_head(&sb.bare("svc-a"), BRANCH).is_some());

    // Nothing changed: later runs leave it (and open nothing twice).
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(target(&sb.status(), "svc-a").state, "verify_failed");
    assert_eq!(sb.local_pr_counts()["svc-a"], 1);

    // A new recipe whose change passes: the draft is ready for review.
    sb.write("campaign.yaml", &with("true"));
    sb.write("recipe.yaml", &format!("{}# v2\n", sb.read("recipe.yaml")));
    sb.run(&["run", CAMPAIGN]).code(0);
    let t = target(&sb.status(), "svc-a").clone();
    assert_eq!(t.state, "pr_open", "{t:?}");
    assert_eq!(sb.local_pr_counts()["svc-a"], 1);
    assert_eq!(
        crate::util::count_events(&sb.events(), "ready_comment_intended"),
        1
    );
}

#[test]
fn an_unknown_on_failure_is_an_error_at_its_place() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!("{campaign}verify:\n  command: \"true\"\n  on_failure: pr\n"),
    );
    let out = sb.run(&["plan", "campaign.yaml"]);
    out.code(3);
    let line = campaign.lines().count() + 3;
    assert!(
        out.stderr.contains(&format!(
            "campaign.yaml:{line}:15: verify.on_failure `pr` is unknown"
        )),
        "{out:?}"
    );
}
