use super::*;

async fn fresh() -> (tempfile::TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(&dir.path().join("nested/fleetwright.db"))
        .await
        .unwrap();
    (dir, state)
}

fn target(repo: &str, tranche: i64, position: i64) -> NewTarget {
    NewTarget {
        repo: repo.into(),
        url: format!("/remotes/{repo}.git"),
        component: format!("component:default/{repo}"),
        owner: "group:default/team-a".into(),
        tranche,
        position,
    }
}

fn campaign() -> NewCampaign {
    NewCampaign {
        name: "c1".into(),
        file: "/x/campaign.yaml".into(),
        recipe_id: "r".into(),
        forge: "local".into(),
        tranche_count: 2,
        tranches: vec![
            NewTranche {
                name: "canary".into(),
                spec: "1".into(),
            },
            NewTranche {
                name: "rest".into(),
                spec: "rest".into(),
            },
        ],
    }
}

#[tokio::test]
async fn opening_a_tranche_queues_only_its_targets_and_logs_it() {
    let (_dir, state) = fresh().await;
    let c = state
        .create_campaign(&campaign(), &[target("a", 0, 0), target("b", 1, 1)])
        .await
        .unwrap();
    let c = state.open_tranches(&c, 1).await.unwrap();
    assert_eq!(c.tranches_open, 1);
    let targets = state.targets(c.id).await.unwrap();
    let states: Vec<_> = targets.iter().map(|t| (t.repo.as_str(), t.state)).collect();
    assert_eq!(
        states,
        [("a", TargetState::Queued), ("b", TargetState::Pending)]
    );
    // Opening again changes nothing and logs nothing new.
    let before = state.events(c.id).await.unwrap().len();
    state.open_tranches(&c, 1).await.unwrap();
    assert_eq!(state.events(c.id).await.unwrap().len(), before);
    assert!(
        state.create_campaign(&campaign(), &[]).await.is_err(),
        "names are unique"
    );
    assert_eq!(state.integrity_check().await.unwrap(), "ok");
}

#[tokio::test]
async fn transitions_are_logged_and_failures_keep_their_step() {
    let (_dir, state) = fresh().await;
    let c = state
        .create_campaign(&campaign(), &[target("a", 0, 0)])
        .await
        .unwrap();
    state.open_tranches(&c, 1).await.unwrap();
    let t = &state.targets(c.id).await.unwrap()[0];
    state
        .transition(
            t,
            TargetState::Failed,
            &Transition::failed(Step::Clone, "unreachable"),
        )
        .await
        .unwrap();
    let t = state.target(t.id).await.unwrap();
    assert_eq!(t.state, TargetState::Failed);
    assert_eq!(t.step.as_deref(), Some("clone"));
    assert_eq!(t.reason.as_deref(), Some("unreachable"));
    let last = state.events(c.id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.from_state.as_deref(), last.to_state.as_deref()),
        (Some("queued"), Some("failed"))
    );
    // A later success clears the failure.
    state
        .transition(&t, TargetState::NoChange, &Transition::default())
        .await
        .unwrap();
    let t = state.target(t.id).await.unwrap();
    assert_eq!((t.step, t.reason), (None, None));
}

#[tokio::test]
async fn local_forge_numbers_per_repository_and_refuses_a_second_open_pr_for_a_head() {
    let (_dir, state) = fresh().await;
    let pr = |repo: &str| NewLocalPullRequest {
        repo_url: repo.into(),
        title: "t".into(),
        body: "b".into(),
        head: "fleetwright/x".into(),
        base: "main".into(),
        head_commit: "abc".into(),
        draft: false,
        labels: vec!["l".into()],
    };
    assert_eq!(state.insert_local_pr(&pr("/r1")).await.unwrap().number, 1);
    assert_eq!(state.insert_local_pr(&pr("/r2")).await.unwrap().number, 1);
    assert!(state.insert_local_pr(&pr("/r1")).await.is_err());
    state
        .set_local_pr_state("/r1", 1, PrState::Closed, None, Some("no thanks"))
        .await
        .unwrap();
    let second = state.insert_local_pr(&pr("/r1")).await.unwrap();
    assert_eq!(second.number, 2);
    let found = state
        .local_pr_for_head("/r1", "fleetwright/x")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.number, found.labels), (2, vec!["l".to_string()]));
}
