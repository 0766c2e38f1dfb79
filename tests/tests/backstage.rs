//! A live Backstage catalog (`catalog: {backstage: ...}`): the real binary
//! against the loopback Backstage simulator (`fleetwright::sim::backstage`),
//! which pages with opaque cursors and requires the bearer token; the
//! snapshot a launch records, and `plan` showing what changed since.

use fleetwright::catalog::Catalog;
use fleetwright::sim::backstage::{BackstageSim, entities_of};
use serde_json::{Value, json};

use crate::github::runtime;
use crate::util::{CAMPAIGN, Run, Sandbox, go, python, run_in_env, states};

const TOKEN: &str = "bstk-e2e-SECRET-0123456789abcdef";

/// Four repositories, three in production; the simulator serves at most
/// two entities a page, so reading them takes several pages.
fn live_sandbox(rt: &tokio::runtime::Runtime) -> (Sandbox, BackstageSim, Vec<Value>) {
    let sb = Sandbox::new(
        vec![
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
            python("checkout-web", "team-a", "experimental"),
        ],
        "[1, rest]",
    );
    let catalog = Catalog::load(&sb.fleet.catalog_file()).unwrap();
    let entities = entities_of(&catalog);
    let sim = rt
        .block_on(BackstageSim::start(TOKEN, entities.clone(), 2))
        .unwrap();
    sb.write(
        "campaign.yaml",
        &format!(
            r#"name: {CAMPAIGN}
recipe: recipe.yaml
catalog:
  backstage:
    url: {}
    token_env: BACKSTAGE_TOKEN
    filter: {{kind: component, spec.lifecycle: production}}
forge: local
tranches: [1, rest]
"#,
            sim.url()
        ),
    );
    (sb, sim, entities)
}

fn run(sb: &Sandbox, token: &str, args: &[&str]) -> Run {
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("BACKSTAGE_TOKEN", token)],
        args,
    );
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token was printed: {out:?}"
    );
    assert!(
        !out.stdout.contains(token) && !out.stderr.contains(token),
        "the token was printed: {out:?}"
    );
    out
}

/// No file of the state (database, WAL, locks) holds the token.
fn assert_no_token_in_state(sb: &Sandbox) {
    for entry in std::fs::read_dir(sb.file("state")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "the token is in {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_live_catalog_plans_and_launches_over_several_pages() {
    let rt = runtime();
    let (sb, sim, _) = live_sandbox(&rt);

    let plan = run(&sb, TOKEN, &["plan", "campaign.yaml"]);
    plan.code(0);
    assert!(plan.stdout.contains("read from Backstage now"), "{plan:?}");
    for repo in ["billing-api", "ledger-go", "notify-worker"] {
        assert!(plan.stdout.contains(repo), "{repo} not planned: {plan:?}");
    }
    assert!(!plan.stdout.contains("checkout-web"), "{plan:?}");
    assert!(plan.stdout.contains("group:default/team-b"), "{plan:?}");
    let requests = sim.requests();
    // 3 components and 2 groups and 2 users, two a page: four pages.
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(requests[1..].iter().all(|r| r.query.starts_with("cursor=")));
    assert!(!sb.file("state").exists(), "plan created the state");

    let launch = run(&sb, TOKEN, &["launch", "campaign.yaml"]);
    launch.code(0);
    let s = states(&sb.status());
    assert_eq!(s.len(), 3, "{s:?}");
    assert_eq!(s.values().filter(|v| *v == "pr_open").count(), 1, "{s:?}");
    let (count, entities) = sb.with_state(async |state| {
        let row = state.campaign(CAMPAIGN).await.unwrap().unwrap();
        let latest = state.latest_catalog_snapshot(&row).await.unwrap().unwrap();
        (
            state.catalog_snapshot_count(&row).await.unwrap(),
            latest.entity_count,
        )
    });
    assert_eq!((count, entities), (1, 7));
    assert_no_token_in_state(&sb);

    // The owner and its reviewers came from the live catalog's groups.
    let status = sb.status();
    let opened = status
        .targets
        .iter()
        .find(|t| t.state == "pr_open")
        .expect("an open pull request");
    assert!(
        opened.owner.starts_with("group:default/team-"),
        "{opened:?}"
    );
    let reviewers = opened.pr.as_ref().and_then(|p| p.reviewers.clone());
    assert!(
        reviewers.as_deref().is_some_and(|r| r.contains("team:")),
        "{opened:?}"
    );
}

#[test]
fn plan_shows_what_changed_since_the_snapshot_and_runs_keep_it() {
    let rt = runtime();
    let (sb, sim, mut entities) = live_sandbox(&rt);
    run(&sb, TOKEN, &["launch", "campaign.yaml"]).code(0);

    // The catalog changes: notify-worker goes, ledger-go moves to team-a,
    // search-api comes, owned by a team the catalog does not hold.
    entities.retain(|e| e["metadata"]["name"] != "notify-worker");
    for e in &mut entities {
        if e["metadata"]["name"] == "ledger-go" {
            e["spec"]["owner"] = json!("group:default/team-a");
        }
    }
    entities.push(json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": "search-api", "annotations": {
            "github.com/project-slug": "acme/search-api",
            "backstage.io/managed-by-location": "url:https://github.com/acme/search-api/blob/main/catalog-info.yaml"}},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-z"},
    }));
    sim.set_entities(entities);

    let plan = run(&sb, TOKEN, &["plan", "campaign.yaml"]);
    plan.code(0);
    let out = &plan.stdout;
    assert!(out.contains("changed since the snapshot of"), "{plan:?}");
    assert!(
        out.contains("(1 added, 1 removed, 1 owner changed)"),
        "{plan:?}"
    );
    assert!(
        out.contains("added          component:default/search-api"),
        "{plan:?}"
    );
    assert!(
        out.contains("removed        component:default/notify-worker"),
        "{plan:?}"
    );
    assert!(
        out.contains("owner changed  component:default/ledger-go: group:default/team-b -> group:default/team-a"),
        "{plan:?}"
    );
    // A problem names the entity and the file that defines it.
    assert!(
        plan.stderr.contains("warning: entity component:default/search-api (from url:https://github.com/acme/search-api/blob/main/catalog-info.yaml): Component `search-api`: unknown owner `group:default/team-z`"),
        "{plan:?}"
    );
    let json = run(&sb, TOKEN, &["plan", "campaign.yaml", "--json"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["since_snapshot"]["added"][0]["name"], "search-api");

    // The launched campaign works from its snapshot: Backstage is not
    // asked again, even when it is gone.
    let asked = sim.requests().len();
    drop(sim);
    let next = run(&sb, TOKEN, &["run", CAMPAIGN]);
    next.code(0);
    let s = states(&sb.status());
    assert_eq!(s.len(), 3, "{s:?}");
    assert!(s.contains_key("notify-worker"), "{s:?}");
    assert!(asked > 0);
    assert_no_token_in_state(&sb);
}

#[test]
fn a_wrong_or_missing_token_is_a_clear_error() {
    let rt = runtime();
    let (sb, sim, _) = live_sandbox(&rt);
    let wrong = "bstk-e2e-WRONG-token";
    let out = run(&sb, wrong, &["plan", "campaign.yaml"]);
    out.code(3);
    let url = format!("{}/api/catalog/entities/by-query", sim.url());
    assert!(
        out.stderr.contains(&format!(
            "Backstage at {url} refused the token (401 Unauthorized)"
        )),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("check the token in BACKSTAGE_TOKEN"),
        "{out:?}"
    );
    let out = run(&sb, wrong, &["launch", "campaign.yaml"]);
    out.code(3);
    assert!(!sb.with_state(async |s| s.campaign(CAMPAIGN).await.unwrap().is_some()));

    let none = run_in_env(sb.path(), &sb.state_path(), &[], &["plan", "campaign.yaml"]);
    none.code(3);
    assert!(
        none.stderr
            .contains("the environment variable BACKSTAGE_TOKEN holds no Backstage token"),
        "{none:?}"
    );
    assert!(
        none.stderr.contains("export BACKSTAGE_TOKEN=<token>"),
        "{none:?}"
    );
}
