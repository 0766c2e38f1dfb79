//! Campaigns on the local forge: plan, launch, tranches, merge, close, re-runs.

use std::collections::BTreeMap;

use fleetwright::fleet::RepoSpec;
use fleetwright::report::StatusReport;
use git2::Oid;

use crate::util::{
    BRANCH, CAMPAIGN, Sandbox, TRAILER, branch_head, clean, count_events, file_at, go, python,
    states, target,
};

/// Five repositories: the experimental one is the canary (least risky
/// first), the production ones follow by name.
/// billing-api, ledger-go | notify-worker, status-page.
fn five_repos() -> Sandbox {
    Sandbox::new(
        vec![
            // The canary's default branch is not `main`: merges must find it.
            RepoSpec {
                default_branch: "trunk".into(),
                ..python("checkout-web", "team-a", "experimental")
            },
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
            clean("status-page", "team-a", "production"),
        ],
        "[1, 2, rest]",
    )
}

/// Assert `repo`'s campaign branch holds one fleetwright commit on top of the
/// initial commit, rewriting `path` (`old` gone, `new` in), and return it.
fn assert_rewritten_branch(sb: &Sandbox, repo: &str, path: &str, old: &str, new: &str) -> Oid {
    let bare = sb.bare(repo);
    let head = branch_head(&bare, BRANCH).unwrap_or_else(|| panic!("{repo} has no {BRANCH}"));
    let commit = bare.find_commit(head).unwrap();
    assert_eq!(
        commit.parent_ids().collect::<Vec<_>>(),
        [sb.initial_head(repo)]
    );
    let message = commit.message().unwrap();
    assert!(message.lines().any(|l| l == TRAILER), "{message}");
    let text = file_at(&bare, head, path);
    assert!(
        text.contains(new) && !text.contains(old),
        "{repo}/{path}:\n{text}"
    );
    head
}

#[test]
fn a_campaign_runs_tranche_by_tranche_from_canary_to_the_last() {
    let sb = five_repos();
    let refs_before = sb.all_refs();

    // plan: every repo with its owner, and nothing touched.
    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    for r in &sb.spec.repos {
        let line = plan
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(r.name.as_str()))
            .unwrap_or_else(|| panic!("{} not planned: {plan:?}", r.name));
        assert!(
            line.contains(&format!("group:default/{}", r.team)),
            "{line}"
        );
    }
    let json = sb.run(&["plan", "campaign.yaml", "--json"]);
    json.code(0);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan --json");
    assert_eq!(json["campaign"], CAMPAIGN);
    assert!(!sb.file("state").exists(), "plan created the state");
    assert_eq!(sb.all_refs(), refs_before, "plan changed a repository");

    // launch: the canary only.
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    assert_eq!(status.campaign.tranches_open, 1);
    let canary = target(&status, "checkout-web");
    assert_eq!((canary.tranche, canary.state.as_str()), (1, "pr_open"));
    let pr = canary.pr.as_ref().expect("canary PR");
    assert_eq!(pr.state, "open");
    assert_eq!(canary.branch.as_deref(), Some(BRANCH));
    let head = assert_rewritten_branch(
        &sb,
        "checkout-web",
        "app.py",
        "logging.warn(",
        "logging.warning(",
    );
    assert_eq!(canary.commit.as_deref(), Some(head.to_string().as_str()));
    for t in status.targets.iter().filter(|t| t.repo != "checkout-web") {
        assert_eq!(t.state, "pending", "{t:?}");
        assert!(t.pr.is_none(), "{t:?}");
        assert_eq!(branch_head(&sb.bare(&t.repo), BRANCH), None, "{}", t.repo);
    }

    // local merge: a real merge commit on the bare repo's default branch.
    sb.run(&["local", "merge", CAMPAIGN, "checkout-web"])
        .code(0);
    let bare = sb.bare("checkout-web");
    assert_eq!(branch_head(&bare, "main"), None);
    let main = branch_head(&bare, "trunk").unwrap();
    let merge = bare.find_commit(main).unwrap();
    assert_eq!(
        merge.parent_ids().collect::<Vec<_>>(),
        [sb.initial_head("checkout-web"), head]
    );
    let app = file_at(&bare, main, "app.py");
    assert!(app.contains("logging.warning(") && !app.contains("logging.warn("));
    let status = sb.status();
    let canary = target(&status, "checkout-web");
    assert_eq!(canary.state, "merged");
    assert_eq!(canary.pr.as_ref().unwrap().state, "merged");
    // A merged pull request cannot be merged or closed again.
    sb.run(&["local", "merge", CAMPAIGN, "checkout-web"])
        .code(6);
    sb.run(&["local", "close", CAMPAIGN, "checkout-web"])
        .code(6);
    assert_eq!(branch_head(&bare, "trunk"), Some(main));

    // advance: tranche 2, the first two production repos by name.
    sb.run(&["advance", CAMPAIGN]).code(0);
    let status = sb.status();
    assert_eq!(status.campaign.tranches_open, 2);
    for repo in ["billing-api", "ledger-go"] {
        let t = target(&status, repo);
        assert_eq!((t.tranche, t.state.as_str()), (2, "pr_open"), "{t:?}");
    }
    assert_rewritten_branch(
        &sb,
        "billing-api",
        "app.py",
        "logging.warn(",
        "logging.warning(",
    );
    assert_rewritten_branch(&sb, "ledger-go", "main.go", "interface{}", "any");
    for repo in ["notify-worker", "status-page"] {
        assert_eq!(target(&status, repo).state, "pending");
    }

    // The gate holds the rest back while tranche 2's pull requests are open...
    let held = sb.run(&["advance", CAMPAIGN]);
    held.code(0);
    assert!(
        held.stdout.contains(
            "gate closed: tranche 2 (wave 1): 0 of 2 merged or declined (0%), the gate needs 100%"
        ),
        "{held:?}"
    );
    assert_eq!(sb.status().campaign.tranches_open, 2);
    // ...until the platform team forces it: the rest; the clean repo has nothing to change.
    sb.run(&["advance", CAMPAIGN, "--force"]).code(0);
    let status = sb.status();
    assert_eq!(status.campaign.tranches_open, 3);
    assert_eq!(target(&status, "notify-worker").state, "pr_open");
    let clean = target(&status, "status-page");
    assert_eq!((clean.tranche, clean.state.as_str()), (3, "no_change"));
    assert!(clean.pr.is_none());
    assert_eq!(branch_head(&sb.bare("status-page"), BRANCH), None);

    // local close: declined, with the comment as the reason.
    sb.run(&[
        "local",
        "close",
        CAMPAIGN,
        "notify-worker",
        "--comment",
        "retiring",
    ])
    .code(0);
    let status = sb.status();
    let closed = target(&status, "notify-worker");
    assert_eq!(closed.state, "declined");
    assert_eq!(closed.reason.as_deref(), Some("retiring"));
    assert_eq!(closed.pr.as_ref().unwrap().state, "closed");
    // The declined PR's branch was not merged.
    let bare = sb.bare("notify-worker");
    assert_eq!(
        branch_head(&bare, "main"),
        Some(sb.initial_head("notify-worker"))
    );
    assert_log_explains(&sb);
}

/// The event log explains every target: its last state event ends in its
/// current state, and each side effect was announced before it happened.
fn assert_log_explains(sb: &Sandbox) {
    let events = sb.events();
    let targets = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        s.targets(row.id).await.unwrap()
    });
    for t in &targets {
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e.target_id == Some(t.id))
            .collect();
        let last = mine.iter().rev().find(|e| e.kind == "state");
        assert_eq!(
            last.and_then(|e| e.to_state.as_deref()),
            Some(t.state.as_str()),
            "{}: {mine:#?}",
            t.repo
        );
        let at = |kind: &str| mine.iter().position(|e| e.kind == kind);
        let pushed = mine
            .iter()
            .position(|e| e.kind == "state" && e.to_state.as_deref() == Some("pushed"));
        if t.changeset.as_ref().and_then(|c| c.number).is_some() {
            let order = [
                at("push_intended"),
                pushed,
                at("open_pr_intended"),
                at("pull_request_opened"),
            ];
            assert!(order.iter().all(Option::is_some), "{}: {mine:#?}", t.repo);
            assert!(order.is_sorted(), "{}: {mine:#?}", t.repo);
        } else {
            assert_eq!(at("push_intended"), None, "{}", t.repo);
        }
    }
}

/// What must never change across re-runs: each target's PR number and head.
fn changesets(status: &StatusReport) -> BTreeMap<String, (i64, String)> {
    status
        .targets
        .iter()
        .filter_map(|t| {
            let pr = t.pr.as_ref()?;
            Some((t.repo.clone(), (pr.number, t.commit.clone()?)))
        })
        .collect()
}

/// Every branch head of the campaign in the bare repositories.
fn branch_heads(sb: &Sandbox) -> BTreeMap<String, Oid> {
    sb.spec
        .repos
        .iter()
        .filter_map(|r| Some((r.name.clone(), branch_head(&sb.bare(&r.name), BRANCH)?)))
        .collect()
}

/// One `pull_request_opened` event and one local PR per target with a PR.
fn assert_one_pr_per_target(sb: &Sandbox, status: &StatusReport) {
    let with_pr = status.targets.iter().filter(|t| t.pr.is_some()).count();
    assert_eq!(count_events(&sb.events(), "pull_request_opened"), with_pr);
    for (repo, n) in sb.local_pr_counts() {
        let expected = i64::from(target(status, &repo).pr.is_some());
        assert_eq!(n, expected, "local pull requests of {repo}");
    }
}

#[test]
fn running_launch_and_advance_again_opens_nothing_twice() {
    let sb = five_repos();
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let first = sb.status();
    assert_eq!(changesets(&first).len(), 1);
    let heads = branch_heads(&sb);

    sb.run(&["launch", "campaign.yaml"]).code(0);
    let again = sb.status();
    assert_eq!(changesets(&again), changesets(&first));
    assert_eq!(states(&again), states(&first));
    assert_eq!(branch_heads(&sb), heads);
    assert_one_pr_per_target(&sb, &again);

    // Two advances open tranches 2 and 3; the PRs of tranche 1 stay as they were.
    sb.run(&["advance", CAMPAIGN, "--force"]).code(0);
    sb.run(&["advance", CAMPAIGN, "--force"]).code(0);
    let advanced = sb.status();
    assert_eq!(advanced.campaign.tranches_open, 3);
    let opened = changesets(&advanced);
    for (repo, cs) in changesets(&first) {
        assert_eq!(opened[&repo], cs, "{repo}");
    }
    assert_one_pr_per_target(&sb, &advanced);
    let heads = branch_heads(&sb);
    let events = sb.events().len();

    // Every tranche is open: advancing and launching again change nothing.
    sb.run(&["advance", CAMPAIGN]).code(0);
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let last = sb.status();
    assert_eq!(changesets(&last), opened);
    assert_eq!(states(&last), states(&advanced));
    assert_eq!(branch_heads(&sb), heads);
    assert_one_pr_per_target(&sb, &last);
    let new_events: Vec<_> = sb.events().into_iter().skip(events).collect();
    assert_eq!(count_events(&new_events, "pull_request_opened"), 0);
    assert_eq!(count_events(&new_events, "push_intended"), 0);
}

#[test]
fn launch_again_after_a_failed_clone_finishes_that_target_only() {
    let sb = Sandbox::new(
        vec![
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
        ],
        "[rest]",
    );
    let bare = sb.fleet.repo("ledger-go").unwrap().bare_path.clone();
    let away = bare.with_extension("away");
    std::fs::rename(&bare, &away).unwrap();

    let run = sb.run(&["launch", "campaign.yaml"]);
    run.code(4);
    let status = sb.status();
    let failed = target(&status, "ledger-go");
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.step.as_deref(), Some("clone"));
    let reason = failed.reason.as_deref().unwrap_or_default();
    assert!(reason.contains(&bare.display().to_string()), "{reason}");
    assert!(run.stdout.contains("ledger-go"), "{run:?}");
    for repo in ["billing-api", "notify-worker"] {
        assert_eq!(target(&status, repo).state, "pr_open", "{repo}");
    }
    let before = changesets(&status);

    std::fs::rename(&away, &bare).unwrap();
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    let retried = target(&status, "ledger-go");
    assert_eq!(retried.state, "pr_open");
    assert_eq!(
        (retried.step.as_ref(), retried.reason.as_ref()),
        (None, None)
    );
    assert_rewritten_branch(&sb, "ledger-go", "main.go", "interface{}", "any");
    let after = changesets(&status);
    for (repo, cs) in &before {
        assert_eq!(&after[repo], cs, "{repo}");
    }
    assert_one_pr_per_target(&sb, &status);
    assert_log_explains(&sb);
}

/// A run killed right after `git push`, before the state recorded it: the
/// target is still `queued`, knows no commit, has no changeset and no PR.
const KILLED_AFTER_PUSH: &[&str] = &[
    "UPDATE targets SET state = 'queued', head_commit = NULL, base_commit = NULL, default_branch = NULL WHERE repo = ?",
    "DELETE FROM changesets WHERE target_id = (SELECT id FROM targets WHERE repo = ?)",
    "DELETE FROM local_pull_requests WHERE repo_url = (SELECT url FROM targets WHERE repo = ?)",
];

/// A run killed right after the forge opened the PR, before the state
/// recorded it: the target is `pushed`, its changeset has no number yet.
const KILLED_AFTER_OPENING_THE_PR: &[&str] = &[
    "UPDATE targets SET state = 'pushed' WHERE repo = ?",
    "UPDATE changesets SET number = NULL, url = NULL, pr_state = NULL WHERE target_id = (SELECT id FROM targets WHERE repo = ?)",
];

#[test]
fn launch_after_a_killed_run_adopts_the_pushed_branch_and_the_opened_pr() {
    let sb = Sandbox::new(
        vec![
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
        ],
        "[rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let before = sb.status();
    let heads = branch_heads(&sb);
    sb.edit_state("billing-api", KILLED_AFTER_PUSH);
    sb.edit_state("ledger-go", KILLED_AFTER_OPENING_THE_PR);

    sb.run(&["launch", "campaign.yaml"]).code(0);
    let after = sb.status();
    assert_eq!(branch_heads(&sb), heads, "a branch was pushed again");
    for repo in ["billing-api", "ledger-go"] {
        let (b, a) = (target(&before, repo), target(&after, repo));
        assert_eq!(a.state, "pr_open", "{a:?}");
        assert_eq!(a.pr.as_ref().map(|p| p.number), Some(1), "{a:?}");
        // The commit the branch holds is the target's commit, adopted or not.
        assert_eq!(a.commit, b.commit, "{repo}");
        assert_eq!(a.commit, Some(heads[repo].to_string()), "{repo}");
    }
    let recorded = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        s.targets(row.id).await.unwrap()
    });
    for t in recorded {
        assert_eq!(t.default_branch.as_deref(), Some("main"), "{}", t.repo);
        assert_eq!(
            t.base_commit,
            Some(sb.initial_head(&t.repo).to_string()),
            "{}",
            t.repo
        );
    }
    // ledger-go's PR was opened once, by the killed run, and adopted.
    let prs = sb.local_pr_counts();
    assert_eq!((prs["ledger-go"], prs["billing-api"]), (1, 1));
    assert_log_explains(&sb);
}

#[test]
fn a_branch_someone_else_pushed_is_never_overwritten() {
    let sb = Sandbox::new(
        vec![
            python("billing-api", "team-a", "production"),
            python("notify-worker", "team-b", "production"),
        ],
        "[rest]",
    );
    // A person already pushed the campaign's branch name, with their own work.
    let bare = sb.bare("billing-api");
    let base = bare.find_commit(sb.initial_head("billing-api")).unwrap();
    let mut tree = bare.treebuilder(Some(&base.tree().unwrap())).unwrap();
    let blob = bare.blob(b"# my notes, do not lose them\n").unwrap();
    tree.insert("NOTES.md", blob, 0o100644).unwrap();
    let tree = bare.find_tree(tree.write().unwrap()).unwrap();
    let who = git2::Signature::now("Ana", "ana@example.com").unwrap();
    let theirs = bare
        .commit(
            Some(&format!("refs/heads/{BRANCH}")),
            &who,
            &who,
            "Work in progress",
            &tree,
            &[&base],
        )
        .unwrap();

    sb.run(&["launch", "campaign.yaml"]).code(4);
    let status = sb.status();
    let t = target(&status, "billing-api");
    assert_eq!(t.state, "failed");
    assert_eq!(t.step.as_deref(), Some("push"));
    let reason = t.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains(BRANCH) && reason.contains("fleetwright did not make"),
        "{reason}"
    );
    assert!(t.pr.is_none());
    assert_eq!(branch_head(&sb.bare("billing-api"), BRANCH), Some(theirs));
    // The other target is not held up.
    assert_eq!(target(&status, "notify-worker").state, "pr_open");

    // Running again does not change its mind.
    sb.run(&["launch", "campaign.yaml"]).code(4);
    assert_eq!(branch_head(&sb.bare("billing-api"), BRANCH), Some(theirs));
    assert_eq!(sb.local_pr_counts()["billing-api"], 0);
    assert_log_explains(&sb);
}

/// The machine's git configuration changes nothing: with `core.autocrlf`
/// and an `insteadOf` that would send every clone elsewhere in the user's
/// `~/.gitconfig` (and `eol=crlf` in the repository's `.gitattributes`),
/// the branch holds the recipe's change with the file's line endings as
/// committed, fetched from where the catalog says.
#[test]
fn the_users_git_config_changes_nothing() {
    let mut repo = python("svc-a", "team-a", "production");
    // Nor the repository's own attributes: its files are checked out and
    // committed as their blobs hold them.
    repo.files
        .push((".gitattributes".into(), "*.py text eol=crlf\n".into()));
    let sb = Sandbox::new(vec![repo], "[rest]");
    let bare_dir = sb.bare("svc-a").path().parent().unwrap().to_path_buf();
    sb.write(
        ".gitconfig",
        &format!(
            "[core]\n\tautocrlf = true\n[url \"/nonexistent/\"]\n\tinsteadOf = {}\n",
            bare_dir.display()
        ),
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let bare = sb.bare("svc-a");
    let head = branch_head(&bare, BRANCH).expect("the campaign branch");
    let app = file_at(&bare, head, "app.py");
    assert!(app.contains("logging.warning("), "{app}");
    assert!(!app.contains('\r'), "line endings changed: {app:?}");
    let initial = file_at(&bare, sb.initial_head("svc-a"), "app.py");
    assert_eq!(
        app.lines().count(),
        initial.lines().count(),
        "{initial:?} became {app:?}"
    );
}
