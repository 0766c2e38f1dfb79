//! When the recipe changes under open pull requests: fleetwright replaces
//! branches that hold only its own commits, and leaves a branch someone
//! pushed to (the target needs attention).

use git2::{Oid, Repository};

use crate::util::{
    BRANCH, CAMPAIGN, RECIPE_YAML, Sandbox, branch_head, file_at, push_a_commit, python, target,
};

/// A person's fix of `app.py` on `branch`.
fn push_a_fix(repo: &Repository, branch: &str, text: &str) -> Oid {
    push_a_commit(repo, branch, "app.py", text, "Keep the old port for now")
}

#[test]
fn a_changed_recipe_updates_our_branches_and_never_a_persons() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-b", "production"),
        ],
        "[rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let bare_a = sb.bare("svc-a");
    let bare_b = sb.bare("svc-b");
    let first_a = branch_head(&bare_a, BRANCH).unwrap();
    let persons = push_a_fix(&bare_b, BRANCH, "print('hand-made')\n");

    // The recipe gains a rule: every open pull request is out of date.
    let more = format!(
        "{RECIPE_YAML}  - id: default-port\n    language: python\n    rule:\n      pattern: port = 8080\n    fix: port = 80\n"
    );
    sb.write("recipe.yaml", &more);
    let out = sb.run(&["advance", CAMPAIGN]);
    assert!(matches!(out.status, Some(0) | Some(4)), "{out:?}");

    let status = sb.status();
    let a = target(&status, "svc-a");
    assert_eq!(a.state, "pr_open", "{status:?}");
    let now_a = branch_head(&bare_a, BRANCH).unwrap();
    assert_ne!(now_a, first_a, "svc-a's branch was not updated");
    let app = file_at(&bare_a, now_a, "app.py");
    assert!(
        app.contains("logging.warning(") && app.contains("port = 80\n"),
        "{app}"
    );
    // Replaced, not stacked: the new commit sits on the default branch.
    let commit = bare_a.find_commit(now_a).unwrap();
    assert_eq!(commit.parent_count(), 1);
    assert_ne!(commit.parent_id(0).unwrap(), first_a);

    let b = target(&status, "svc-b");
    assert_eq!(b.state, "needs_attention", "{status:?}");
    assert!(
        b.reason
            .as_deref()
            .unwrap_or("")
            .contains("never overwrites"),
        "{status:?}"
    );
    assert_eq!(
        branch_head(&bare_b, BRANCH),
        Some(persons),
        "the person's commit was overwritten"
    );

    // Nothing changed since: a further advance leaves both alone.
    sb.run(&["advance", CAMPAIGN]);
    assert_eq!(branch_head(&bare_a, BRANCH), Some(now_a));
    assert_eq!(branch_head(&bare_b, BRANCH), Some(persons));
}

/// A pull request that needs a person is still a pull request: sync keeps
/// tracking it until its people merge or close it, and `local merge` (the
/// owners' merge on the local forge) takes it like any other.
#[test]
fn a_pull_request_that_needs_attention_is_tracked_until_merged_or_closed() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-b", "production"),
            python("svc-c", "team-b", "production"),
        ],
        "[rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    for name in ["svc-a", "svc-b", "svc-c"] {
        push_a_fix(&sb.bare(name), BRANCH, "print('hand-made')\n");
    }
    let more = format!(
        "{RECIPE_YAML}  - id: default-port\n    language: python\n    rule:\n      pattern: port = 8080\n    fix: port = 80\n"
    );
    sb.write("recipe.yaml", &more);
    let out = sb.run(&["advance", CAMPAIGN]);
    assert!(matches!(out.status, Some(0) | Some(4)), "{out:?}");
    let status = sb.status();
    for name in ["svc-a", "svc-b", "svc-c"] {
        assert_eq!(target(&status, name).state, "needs_attention", "{status:?}");
    }

    // Its owners merge svc-a on the forge, close svc-b; svc-c stays open.
    sb.edit_state(
        "%svc-a%",
        &["UPDATE local_pull_requests SET state = 'merged' WHERE repo_url LIKE ?"],
    );
    sb.edit_state(
        "%svc-b%",
        &["UPDATE local_pull_requests SET state = 'closed' WHERE repo_url LIKE ?"],
    );
    let out = sb.run(&["sync", CAMPAIGN]);
    out.code(0);
    assert!(
        out.stdout
            .contains("3 open pull request(s) checked, 2 changed"),
        "{out:?}"
    );
    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "merged", "{status:?}");
    assert_eq!(target(&status, "svc-b").state, "declined", "{status:?}");
    let c = target(&status, "svc-c");
    assert_eq!(
        c.state, "needs_attention",
        "an open one keeps saying why: {status:?}"
    );

    // The owners' merge through the local forge takes it too.
    sb.run(&["local", "merge", CAMPAIGN, "svc-c"]).code(0);
    let status = sb.status();
    assert_eq!(target(&status, "svc-c").state, "merged", "{status:?}");
    assert_eq!(
        target(&status, "svc-c").pr.as_ref().unwrap().state,
        "merged"
    );
}
