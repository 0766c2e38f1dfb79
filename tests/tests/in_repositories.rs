//! A catalog read from the `catalog-info.yaml` inside each repository
//! (`catalog: {in_repositories: ...}`): real bare repositories on this
//! machine, each committed with its descriptor, planned and launched on
//! the local forge.

use git2::Repository;

use crate::util::{CAMPAIGN, Sandbox, branch_head, go, push_a_commit, python, states};

const GROUPS: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
"#;

fn descriptor(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}-api\nspec:\n  type: openapi\n"
    )
}

/// Commit a symbolic link at `path` to `target` on `branch` of `repo`.
fn push_a_symlink(repo: &Repository, branch: &str, path: &str, target: &str) {
    let tip = branch_head(repo, branch).unwrap();
    let parent = repo.find_commit(tip).unwrap();
    let blob = repo.blob(target.as_bytes()).unwrap();
    let mut tree = repo.treebuilder(Some(&parent.tree().unwrap())).unwrap();
    tree.insert(path, blob, 0o120000).unwrap();
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    let who = git2::Signature::now("Alice", "alice@example.com").unwrap();
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &who,
        &who,
        "link the descriptor",
        &tree,
        &[&parent],
    )
    .unwrap();
}

/// billing-api and ledger-go carry descriptors; notify-worker has none;
/// checkout-web's is a symlink out of the repository; search-api's is
/// broken at line 3; one listed repository does not exist.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new(
        vec![
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
            python("checkout-web", "team-a", "production"),
            python("search-api", "team-a", "production"),
        ],
        "[1, rest]",
    );
    for (name, owner) in [("billing-api", "team-a"), ("ledger-go", "team-b")] {
        let repo = sb.bare(name);
        let branch = sb.fleet.repo(name).unwrap().default_branch.clone();
        push_a_commit(
            &repo,
            &branch,
            "catalog-info.yaml",
            &descriptor(name, owner),
            "add the descriptor",
        );
    }
    sb.write("outside.yaml", &descriptor("stolen", "team-a"));
    let checkout = sb.bare("checkout-web");
    push_a_symlink(&checkout, "main", "catalog-info.yaml", "../../outside.yaml");
    let search = sb.bare("search-api");
    push_a_commit(
        &search,
        "main",
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: [search-api\n",
        "a broken descriptor",
    );
    sb.write("catalog/groups.yaml", GROUPS);
    let mut list = String::from("# the fleet\n\n");
    for name in [
        "billing-api",
        "ledger-go",
        "notify-worker",
        "checkout-web",
        "search-api",
    ] {
        list.push_str(&format!(
            "{}\n",
            sb.fleet.repo(name).unwrap().bare_path.display()
        ));
    }
    list.push_str(&format!("{}\n", sb.file("remotes/gone.git").display()));
    sb.write("repos.txt", &list);
    sb.write(
        "campaign.yaml",
        &format!(
            "name: {CAMPAIGN}\nrecipe: recipe.yaml\ncatalog:\n  in_repositories:\n    repositories: repos.txt\n    groups: catalog/groups.yaml\nforge: local\ntranches: [1, rest]\n"
        ),
    );
    sb
}

#[test]
fn descriptors_in_repositories_plan_and_launch() {
    let sb = sandbox();
    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("read from the repositories now"),
        "{plan:?}"
    );
    for repo in ["billing-api", "ledger-go"] {
        assert!(plan.stdout.contains(repo), "{repo} not planned: {plan:?}");
    }
    for repo in ["notify-worker", "checkout-web", "search-api", "stolen"] {
        assert!(!plan.stdout.contains(repo), "{repo} planned: {plan:?}");
    }
    assert!(plan.stdout.contains("group:default/team-b"), "{plan:?}");
    assert!(!plan.stderr.contains("unknown owner `"), "{plan:?}");
    // Each problem names the repository, and the file where there is one.
    assert!(
        plan.stderr.contains("notify-worker.git: catalog-info.yaml"),
        "{plan:?}"
    );
    assert!(
        plan.stderr
            .contains("no catalog-info.yaml at the head of main"),
        "{plan:?}"
    );
    assert!(
        plan.stderr.contains("gone.git: catalog-info.yaml"),
        "{plan:?}"
    );
    assert!(
        plan.stderr
            .contains("symbolic link to `../../outside.yaml`"),
        "{plan:?}"
    );
    assert!(
        plan.stderr.contains("search-api.git: catalog-info.yaml:3:"),
        "{plan:?}"
    );
    assert!(!sb.file("state").exists(), "plan created the state");

    let launch = sb.run(&["launch", "campaign.yaml"]);
    launch.code(0);
    let s = states(&sb.status());
    assert_eq!(s.len(), 2, "{s:?}");
    let (count, descriptors) = sb.with_state(async |state| {
        let row = state.campaign(CAMPAIGN).await.unwrap().unwrap();
        let latest = state.latest_catalog_snapshot(&row).await.unwrap().unwrap();
        (
            state.catalog_snapshot_count(&row).await.unwrap(),
            latest.entity_count,
        )
    });
    // The groups file and six repositories.
    assert_eq!((count, descriptors), (1, 7));

    // A descriptor committed later does not move the launched campaign;
    // `plan` shows it.
    let notify = sb.bare("notify-worker");
    push_a_commit(
        &notify,
        "main",
        "catalog-info.yaml",
        &descriptor("notify-worker", "team-b"),
        "add it",
    );
    let run = sb.run(&["run", CAMPAIGN]);
    run.code(0);
    assert_eq!(states(&sb.status()).len(), 2);
    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("changed since the snapshot"),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("component:default/notify-worker"),
        "{plan:?}"
    );
}
