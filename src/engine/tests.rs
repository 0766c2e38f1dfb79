//! The engine in process: a fleet of real bare repositories built in a temp
//! dir, the local forge, a real SQLite state and a [`ManualClock`], with no
//! binary and no child process. What the integration tests show through the
//! command line, these show at the engine's own interface.

use std::sync::Arc;

use super::{Engine, NoProgress};
use crate::campaign::{self, Loaded};
use crate::clock::ManualClock;
use crate::fleet::{self, FleetSpec, RepoSpec, TeamSpec};
use crate::forge::local::LocalForge;
use crate::git::Workspace;
use crate::state::{CampaignStatus, LocalPrChange, State, TargetRow, TargetState};

const RECIPE: &str = r#"id: modernize-deprecated-apis
title: Replace deprecated APIs
description: logging.warn is an alias of logging.warning.
rules:
  - id: python-logging-warn
    language: python
    rule:
      pattern: logging.warn($$$ARGS)
    fix: logging.warning($$$ARGS)
"#;

const PY_OLD: &str = "import logging\n\n\ndef start(port):\n    if not port:\n        logging.warn(\"no port\")\n    return port\n";

fn campaign_yaml(auto_merge: &str) -> String {
    format!(
        "name: modernize\nrecipe: recipe.yaml\ncatalog: catalog/all.yaml\nforge: local\n\
         targets:\n  lifecycle: [production]\ntranches: [rest]\n\
         pull_request:\n  branch: fleetwright/modernize\n  auto_merge: {auto_merge}\n"
    )
}

fn repo(name: &str) -> RepoSpec {
    RepoSpec {
        name: name.into(),
        team: "team-a".into(),
        spec_type: "service".into(),
        lifecycle: "production".into(),
        system: None,
        tags: vec![],
        default_branch: "main".into(),
        files: vec![("app.py".into(), PY_OLD.into())],
    }
}

/// A fleet of `names`, the campaign, and an engine on a manual clock.
struct World {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    state: State,
    clock: ManualClock,
    engine: Engine,
    loaded: Loaded,
}

async fn world(names: &[&str], auto_merge: &str) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let spec = FleetSpec {
        teams: vec![TeamSpec {
            name: "team-a".into(),
            display_name: "A".into(),
            team_slug: "acme/team-a".into(),
            members: vec![("a-lead".into(), "A Lead".into(), "a-lead".into())],
        }],
        repos: names.iter().map(|n| repo(n)).collect(),
    };
    fleet::build(&root, &spec).unwrap();
    std::fs::write(root.join("recipe.yaml"), RECIPE).unwrap();
    std::fs::write(root.join("campaign.yaml"), campaign_yaml(auto_merge)).unwrap();
    let loaded = campaign::load_all(&root.join("campaign.yaml")).unwrap();
    let clock = ManualClock::starting_at(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_600_000),
    );
    let state = State::open_with_clock(&root.join("state/fleetwright.db"), Arc::new(clock.clone()))
        .await
        .unwrap();
    let workspace = Workspace::new(root.join("state/cache/repos"));
    let engine = Engine::new(
        state.clone(),
        Arc::new(LocalForge::new(state.clone())),
        workspace,
        Arc::new(NoProgress),
        2,
    );
    World {
        _tmp: tmp,
        root,
        state,
        clock,
        engine,
        loaded,
    }
}

impl World {
    async fn targets(&self) -> Vec<TargetRow> {
        let row = self.state.campaign("modernize").await.unwrap().unwrap();
        self.state.targets(row.id).await.unwrap()
    }

    async fn target(&self, repo: &str) -> TargetRow {
        self.targets()
            .await
            .into_iter()
            .find(|t| t.repo == repo)
            .unwrap()
    }

    /// A person's commit on the campaign branch of `repo`.
    fn push_a_note(&self, repo: &str) {
        let bare =
            git2::Repository::open_bare(self.root.join(format!("remotes/{repo}.git"))).unwrap();
        let branch = "refs/heads/fleetwright/modernize";
        let parent = bare
            .find_commit(bare.refname_to_id(branch).unwrap())
            .unwrap();
        let blob = bare.blob(b"a note\n").unwrap();
        let mut tree = bare.treebuilder(Some(&parent.tree().unwrap())).unwrap();
        tree.insert("NOTES.md", blob, 0o100644).unwrap();
        let tree = bare.find_tree(tree.write().unwrap()).unwrap();
        let who = git2::Signature::now("Alice", "alice@example.com").unwrap();
        bare.commit(Some(branch), &who, &who, "A note", &tree, &[&parent])
            .unwrap();
    }

    async fn ci(&self, repo: &str, result: &str) {
        let t = self.target(repo).await;
        let number = t.changeset.as_ref().and_then(|c| c.number).unwrap();
        self.state
            .update_local_pr(&t.url, number, LocalPrChange::Ci(result.parse().unwrap()))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_reconciler_merges_exact_green_pull_requests_and_leaves_a_persons_one() {
    let w = world(&["svc-a", "svc-b"], "{when: recipe_exact}").await;
    let done = w.engine.reconcile(&w.loaded).await.unwrap();
    assert!(done.launched);
    for t in w.targets().await {
        assert_eq!(t.state, TargetState::PrOpen, "{t:?}");
        let cs = t.changeset.as_ref().unwrap();
        assert!(cs.is_recipe_exact(), "pushed by fleetwright: {cs:?}");
    }
    // Green, but not exact any more: a person added a note to svc-b.
    w.push_a_note("svc-b");
    w.ci("svc-a", "success").await;
    w.ci("svc-b", "success").await;
    w.clock.advance(std::time::Duration::from_secs(3600));
    let done = w.engine.reconcile(&w.loaded).await.unwrap();
    assert_eq!(
        done.sync.auto_merged,
        [("svc-a".to_string(), "checks pass, recipe-exact")]
    );
    assert_eq!(w.target("svc-a").await.state, TargetState::Merged);
    let b = w.target("svc-b").await;
    assert_eq!(b.state, TargetState::PrOpen);
    assert!(!b.changeset.as_ref().unwrap().is_recipe_exact());

    // Its owners merge it by hand: the campaign completes.
    w.engine.merge(&b).await.unwrap();
    let done = w.engine.reconcile(&w.loaded).await.unwrap();
    assert_eq!(done.campaign.status, CampaignStatus::Completed);
}

#[tokio::test]
async fn without_the_policy_nothing_merges_and_an_approval_policy_needs_a_review() {
    for policy in ["false", "true"] {
        let w = world(&["svc-a"], policy).await;
        w.engine.reconcile(&w.loaded).await.unwrap();
        w.ci("svc-a", "success").await;
        let done = w.engine.reconcile(&w.loaded).await.unwrap();
        assert!(done.sync.auto_merged.is_empty(), "{policy}");
        assert_eq!(
            w.target("svc-a").await.state,
            TargetState::PrOpen,
            "{policy}"
        );
    }
}

#[tokio::test]
async fn a_pull_request_made_with_another_recipe_is_not_checked_or_merged_before_its_refresh() {
    let w = world(&["svc-a"], "{when: recipe_exact}").await;
    w.engine.reconcile(&w.loaded).await.unwrap();
    w.ci("svc-a", "success").await;
    // The recipe changes: the branch was made with the old one.
    std::fs::write(w.root.join("recipe.yaml"), format!("{RECIPE}# v2\n")).unwrap();
    let changed = campaign::load_all(&w.root.join("campaign.yaml")).unwrap();
    assert_ne!(changed.recipe.fingerprint, w.loaded.recipe.fingerprint);
    let report = w.engine.sync(&changed).await.unwrap();
    assert!(report.auto_merged.is_empty());
    assert_eq!(w.target("svc-a").await.state, TargetState::PrOpen);
    // The old answer stands until the branch is brought up to date.
    let cs = w.target("svc-a").await.changeset.unwrap();
    assert_eq!(
        cs.recipe_exact.map(|e| e.fingerprint),
        Some(w.loaded.recipe.fingerprint.clone())
    );
    // A run refreshes it (same change: nothing to push) and then merges it.
    w.engine.reconcile(&changed).await.unwrap();
    w.engine.reconcile(&changed).await.unwrap();
    assert_eq!(w.target("svc-a").await.state, TargetState::Merged);
}

#[tokio::test]
async fn a_merge_for_a_checked_head_is_refused_once_the_branch_moved() {
    use crate::forge::{Forge, RepoRef};
    let w = world(&["svc-a"], "false").await;
    w.engine.reconcile(&w.loaded).await.unwrap();
    let t = w.target("svc-a").await;
    let checked = t.head_commit.clone().unwrap();
    w.push_a_note("svc-a");
    let forge = LocalForge::new(w.state.clone());
    let repo = RepoRef {
        name: t.repo.clone(),
        url: t.url.clone(),
    };
    let refused = forge.merge_pull_request(&repo, 1, Some(&checked)).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("moved since it was checked")),
        "{refused:?}"
    );
    assert_eq!(
        forge.pull_request(&repo, 1).await.unwrap().state,
        crate::state::PrState::Open
    );
    // Without a head to hold it to (a person's merge), it merges.
    let merged = forge.merge_pull_request(&repo, 1, None).await.unwrap();
    assert_eq!(merged.state, crate::state::PrState::Merged);
}
