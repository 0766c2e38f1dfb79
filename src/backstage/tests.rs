//! The client against the loopback Backstage simulator (`sim::backstage`),
//! and snapshots becoming catalogs.

use serde_json::{Value, json};

use super::*;
use crate::catalog::ProblemKind;
use crate::secret::Secret;
use crate::sim::backstage::{BackstageFault, BackstageSim};

const TOKEN: &str = "bs-unit-SECRET-token-42";

fn component(name: &str, lifecycle: &str, owner: &str) -> Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
           "metadata": {"name": name, "uid": name, "annotations": {
               "github.com/project-slug": format!("acme/{name}"),
               "backstage.io/managed-by-location": format!("url:https://github.com/acme/{name}/blob/main/catalog-info.yaml")}},
           "spec": {"type": "service", "lifecycle": lifecycle, "owner": owner},
           "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]})
}

fn group(name: &str) -> Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
           "metadata": {"name": name}, "spec": {"type": "team", "children": []}})
}

fn fleet() -> Vec<Value> {
    let mut e: Vec<Value> = (0..7)
        .map(|i| component(&format!("svc-{i}"), "production", "team-a"))
        .collect();
    e.push(component("old", "deprecated", "team-a"));
    e.push(group("team-a"));
    e.push(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API",
                  "metadata": {"name": "not-read"}, "spec": {"type": "openapi"}}));
    e
}

fn source(url: &str) -> BackstageSource {
    BackstageSource {
        url: url.to_string(),
        token_env: "BS_UNIT_TOKEN".to_string(),
        filter: vec![Condition {
            key: "spec.lifecycle".to_string(),
            values: vec!["production".to_string()],
        }],
    }
}

#[tokio::test]
async fn pages_through_the_cursor_and_asks_only_for_what_it_reads() {
    let sim = BackstageSim::start(TOKEN, fleet(), 3).await.unwrap();
    let client = Client::new(&source(&sim.url()), Secret::new(TOKEN))
        .unwrap()
        .with_page_size(100);
    let mut pages = Vec::new();
    let snapshot = client.read(&mut |p| pages.push(p)).await.unwrap();
    // 7 production components and 1 group; not the deprecated one, not the API.
    assert_eq!(snapshot.entities.len(), 8);
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].total, Some(8));
    let requests = sim.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests[0]
            .query
            .contains("filter=kind=component,spec.lifecycle=production")
    );
    assert!(requests[1].query.starts_with("cursor="));
    assert!(!requests[1].query.contains("filter="));
    assert!(
        requests
            .iter()
            .all(|r| r.auth_scheme.as_deref() == Some("Bearer"))
    );
    // Fields fleetwright does not read are not asked for, so not kept.
    assert!(
        snapshot
            .entities
            .iter()
            .all(|e| !e.contains("relations") && !e.contains("uid"))
    );
    let catalog = snapshot.catalog();
    assert_eq!(catalog.components.len(), 7);
    assert_eq!(catalog.groups.len(), 1);
    assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
    let back = Snapshot::from_lines(&snapshot.source, &snapshot.to_lines());
    assert_eq!(back, snapshot);
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_without_the_token() {
    let sim = BackstageSim::start(TOKEN, fleet(), 100).await.unwrap();
    let wrong = "bs-unit-WRONG-token";
    let client = Client::new(&source(&sim.url()), Secret::new(wrong)).unwrap();
    let err = client.read(&mut |_| {}).await.unwrap_err();
    assert!(
        matches!(err, BackstageError::Unauthorized { .. }),
        "{err:?}"
    );
    let text = format!("{err} {}", err.hint());
    assert!(
        text.contains(&format!("{}/api/catalog/entities/by-query", sim.url())),
        "{text}"
    );
    assert!(
        text.contains("401") && text.contains("BS_UNIT_TOKEN"),
        "{text}"
    );
    assert!(!text.contains(wrong) && !text.contains(TOKEN), "{text}");
    assert!(err.is_bad_input());
}

#[tokio::test]
async fn html_a_server_error_and_a_wrong_path_are_named() {
    let sim = BackstageSim::start(TOKEN, fleet(), 100).await.unwrap();
    let client = Client::new(&source(&sim.url()), Secret::new(TOKEN)).unwrap();
    sim.set_fault(Some(BackstageFault::Html));
    let err = client.read(&mut |_| {}).await.unwrap_err();
    assert!(matches!(err, BackstageError::NotJson { .. }), "{err:?}");
    assert!(err.to_string().contains("text/html"), "{err}");
    sim.set_fault(Some(BackstageFault::ServerError));
    let err = client.read(&mut |_| {}).await.unwrap_err();
    assert!(matches!(err, BackstageError::Status { .. }), "{err:?}");
    assert!(
        err.to_string().contains("database is not reachable"),
        "{err}"
    );
    assert!(!err.is_bad_input());
    sim.set_fault(None);
    let elsewhere = source(&format!("{}/backstage", sim.url()));
    let err = Client::new(&elsewhere, Secret::new(TOKEN))
        .unwrap()
        .read(&mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, BackstageError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_backstage_is_named() {
    let sim = BackstageSim::start(TOKEN, fleet(), 100).await.unwrap();
    let url = sim.url();
    drop(sim);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = Client::new(&source(&url), Secret::new(TOKEN))
        .unwrap()
        .read(&mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, BackstageError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&url));
}

#[test]
fn plain_http_to_another_machine_carries_no_token() {
    let err = Client::new(&source("http://backstage.example.com"), Secret::new(TOKEN))
        .err()
        .unwrap();
    assert!(matches!(err, BackstageError::Setup { .. }));
}

#[test]
fn a_problem_names_the_entity_and_where_it_is_defined() {
    let snapshot = Snapshot {
        source: "https://backstage.example.com".into(),
        entities: vec![
            component("billing", "production", "team-x").to_string(),
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                   "metadata": {"name": "nowhere", "annotations": {
                       "backstage.io/source-location": "url:./relative"}},
                   "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}})
            .to_string(),
            group("team-a").to_string(),
        ],
    };
    let catalog = snapshot.catalog();
    assert_eq!(catalog.components.len(), 2);
    let shown: Vec<String> = catalog.problems.iter().map(|p| p.to_string()).collect();
    let owner = catalog
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::UnknownOwner)
        .expect("the unknown owner");
    assert_eq!(
        owner.to_string(),
        "entity component:default/billing (from url:https://github.com/acme/billing/blob/main/catalog-info.yaml): Component `billing`: unknown owner `group:default/team-x` (not a Group or User in the catalog)",
        "{shown:?}"
    );
    let relative = catalog
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::InvalidRepository)
        .expect("the relative source location");
    assert!(
        relative.to_string().starts_with(
            "entity component:default/nowhere (from its source location url:./relative): "
        ),
        "{shown:?}"
    );
    // The snippet shows the entity as JSON, with the place underlined.
    assert!(owner.source_text().contains("\"owner\": \"team-x\""));
}

#[test]
fn ten_thousand_entities_load_as_a_catalog() {
    let mut entities: Vec<String> = (0..10_000)
        .map(|i| component(&format!("svc-{i}"), "production", "team-a").to_string())
        .collect();
    entities.push(group("team-a").to_string());
    let snapshot = Snapshot {
        source: "https://backstage.example.com".into(),
        entities,
    };
    let started = std::time::Instant::now();
    let catalog = snapshot.catalog();
    assert_eq!(catalog.components.len(), 10_000);
    assert!(catalog.problems.is_empty());
    assert!(catalog.files.is_empty());
    eprintln!("10,000 entities from a snapshot in {:?}", started.elapsed());
}

#[test]
fn filter_sets_select_components_and_read_every_owner() {
    let mut s = source("https://b.example.com");
    s.filter.push(Condition {
        key: "spec.type".into(),
        values: vec!["service".into(), "website".into()],
    });
    assert_eq!(
        s.filter_sets(),
        vec![
            "kind=component,spec.lifecycle=production,spec.type=service,spec.type=website",
            "kind=group",
            "kind=user"
        ]
    );
}
