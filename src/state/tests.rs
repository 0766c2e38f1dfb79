use super::*;

/// A fresh, empty state on `backend`: a SQLite file in a temp folder, or
/// a new database of the test process's PostgreSQL server (started on
/// loopback on first use; a test fails, never skips, without PostgreSQL).
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) location: Location,
}

impl Fixture {
    pub(crate) fn new(backend: Backend) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let location = match backend {
            Backend::Sqlite => Location::Sqlite(dir.path().join("nested/fleetwright.db")),
            Backend::Postgres => {
                let server = crate::sim::postgres::PgServer::shared()
                    .unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
                Location::Postgres(server.database("state").unwrap())
            }
        };
        Fixture {
            _dir: dir,
            location,
        }
    }

    pub(crate) async fn open(&self) -> State {
        State::open(self.location.clone()).await.unwrap()
    }

    pub(crate) async fn open_with_clock(&self, clock: Arc<dyn Clock>) -> State {
        State::open_with_clock(self.location.clone(), clock)
            .await
            .unwrap()
    }
}

async fn fresh(backend: Backend) -> (Fixture, State) {
    let fixture = Fixture::new(backend);
    let state = fixture.open().await;
    (fixture, state)
}

/// Each test below runs on both databases: `<test>::sqlite` and
/// `<test>::postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    )*};
}

on_both!(
    opening_a_tranche_queues_only_its_targets_and_logs_it,
    transitions_are_logged_and_failures_keep_their_step,
    local_forge_numbers_per_repository_and_refuses_a_second_open_pr_for_a_head,
    forge_answers_are_kept_per_api_url_and_forgotten_by_prefix,
    forge_answers_unused_for_thirty_days_are_pruned_and_a_304_keeps_them,
    ten_thousand_targets_list_by_page_count_by_state_and_sync_in_one_batch,
    a_tracking_issue_is_one_row_per_campaign_and_keeps_when_it_was_published,
    local_issues_are_numbered_per_repository_and_keep_their_labels,
);

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

async fn opening_a_tranche_queues_only_its_targets_and_logs_it(backend: Backend) {
    let (_fixture, state) = fresh(backend).await;
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

async fn transitions_are_logged_and_failures_keep_their_step(backend: Backend) {
    let (_fixture, state) = fresh(backend).await;
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

async fn local_forge_numbers_per_repository_and_refuses_a_second_open_pr_for_a_head(
    backend: Backend,
) {
    let (_fixture, state) = fresh(backend).await;
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

fn answer(etag: &str) -> ForgeAnswer {
    ForgeAnswer {
        etag: etag.into(),
        body: format!("{{\"etag\":\"{etag}\"}}"),
        fields: "state".into(),
        link: None,
    }
}

async fn forge_answers_are_kept_per_api_url_and_forgotten_by_prefix(backend: Backend) {
    let (fixture, state) = fresh(backend).await;
    let (gh, ghe) = ("https://api.github.com", "https://ghe.example.com/api/v3");
    let pulls = "/repos/o/r/pulls";
    for path in [
        format!("{pulls}/7"),
        format!("{pulls}/7/reviews?per_page=100"),
        format!("{pulls}/7?x=1"),
        format!("{pulls}/70"),
        format!("{pulls}/7x"),
    ] {
        state
            .remember_forge_answer(gh, &path, &answer(&path))
            .await
            .unwrap();
    }
    state
        .remember_forge_answer(ghe, &format!("{pulls}/7"), &answer("other"))
        .await
        .unwrap();
    // Another forge's answer to the same path is its own.
    let kept = state
        .forge_answer(gh, &format!("{pulls}/7"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.etag, format!("{pulls}/7"));
    let other = state
        .forge_answer(ghe, &format!("{pulls}/7"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.etag, "other");
    // A second State on the same file (the next process) reads them.
    state.close().await;
    let state = fixture.open().await;
    assert_eq!(state.forge_answer_count().await.unwrap().0, 6);
    // Pull request 7 and what is under it go; #70, `7x` and the other
    // forge's #7 stay.
    let gone = state
        .forget_forge_answers(gh, &format!("{pulls}/7"))
        .await
        .unwrap();
    assert_eq!(gone, 3);
    for (api, path, kept) in [
        (gh, format!("{pulls}/7"), false),
        (gh, format!("{pulls}/7/reviews?per_page=100"), false),
        (gh, format!("{pulls}/7?x=1"), false),
        (gh, format!("{pulls}/70"), true),
        (gh, format!("{pulls}/7x"), true),
        (ghe, format!("{pulls}/7"), true),
    ] {
        assert_eq!(
            state.forge_answer(api, &path).await.unwrap().is_some(),
            kept,
            "{api} {path}"
        );
    }
}

async fn forge_answers_unused_for_thirty_days_are_pruned_and_a_304_keeps_them(backend: Backend) {
    let fixture = Fixture::new(backend);
    let clock = crate::clock::ManualClock::new();
    let state = fixture.open_with_clock(Arc::new(clock.clone())).await;
    let api = "https://api.github.com";
    state
        .remember_forge_answer(api, "/old", &answer("a"))
        .await
        .unwrap();
    state
        .remember_forge_answer(api, "/used", &answer("b"))
        .await
        .unwrap();
    let day = Duration::from_secs(24 * 3600);
    clock.advance(day * 20);
    // Confirmed by a 304 on day 20: used again.
    state.confirm_forge_answer(api, "/used").await.unwrap();
    clock.advance(day * 11);
    assert_eq!(state.prune_forge_answers().await.unwrap(), 1);
    assert!(state.forge_answer(api, "/old").await.unwrap().is_none());
    assert!(state.forge_answer(api, "/used").await.unwrap().is_some());
    clock.advance(day * 20);
    assert_eq!(state.prune_forge_answers().await.unwrap(), 1);
    assert_eq!(state.forge_answer_count().await.unwrap().0, 0);
}

/// Issue 11: a campaign of 10,000 targets, built in the state directly.
/// `status` lists 50 of them and counts them all with SQL; filters hold
/// what they name; a sync's batch moves only the targets whose pull
/// request changed. The shape is pinned, not the time.
async fn ten_thousand_targets_list_by_page_count_by_state_and_sync_in_one_batch(backend: Backend) {
    let (_fixture, state) = fresh(backend).await;
    let n = 10_000;
    let targets: Vec<NewTarget> = (0..n)
        .map(|i| NewTarget {
            owner: format!("group:default/team-{}", i % 100),
            ..target(&format!("svc-{i:05}"), if i < 100 { 0 } else { 1 }, i)
        })
        .collect();
    let c = state.create_campaign(&campaign(), &targets).await.unwrap();
    let c = state.open_tranches(&c, 2).await.unwrap();
    let all = TargetFilter::default();
    let counts = state.target_counts(c.id, &all).await.unwrap();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [(TargetState::Queued, n as usize)]
    );
    let page = state.targets_matching(c.id, &all, Some(50)).await.unwrap();
    let repos: Vec<&str> = page.iter().map(|t| t.repo.as_str()).collect();
    assert_eq!(repos.len(), 50);
    assert_eq!((repos[0], repos[49]), ("svc-00000", "svc-00049"));

    // Every 10th target has an open pull request; a sync then merges 3.
    let rows = state.targets(c.id).await.unwrap();
    let with_pr: Vec<&TargetRow> = rows.iter().step_by(10).collect();
    for (k, t) in with_pr.iter().enumerate() {
        state
            .ensure_changeset(t, "local", "b", "main")
            .await
            .unwrap();
        let record = pr_record(k as i64 + 1, PrState::Open);
        state.record_pull_request(t, &record).await.unwrap();
        state
            .transition(t, TargetState::PrOpen, &Transition::default())
            .await
            .unwrap();
    }
    let events = state.events(c.id).await.unwrap().len();
    let synced: Vec<Synced<'_>> = with_pr
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let merged = k < 3;
            Synced {
                target: t,
                record: pr_record(
                    k as i64 + 1,
                    if merged {
                        PrState::Merged
                    } else {
                        PrState::Open
                    },
                ),
                to: merged.then(|| (TargetState::Merged, Transition::default())),
            }
        })
        .collect();
    state.record_synced(&synced).await.unwrap();
    assert_eq!(
        state.events(c.id).await.unwrap().len(),
        events + 3,
        "one event per move"
    );
    let merged = TargetFilter {
        state: Some(TargetState::Merged),
        ..TargetFilter::default()
    };
    let listed = state.targets_matching(c.id, &merged, None).await.unwrap();
    let repos: Vec<&str> = listed.iter().map(|t| t.repo.as_str()).collect();
    assert_eq!(repos, ["svc-00000", "svc-00010", "svc-00020"]);

    // Filters by owner and tranche, alone and together.
    let team = TargetFilter {
        owner: Some("group:default/team-7".into()),
        ..TargetFilter::default()
    };
    assert_eq!(
        state
            .targets_matching(c.id, &team, None)
            .await
            .unwrap()
            .len(),
        100
    );
    let team_in_canary = TargetFilter {
        tranche: Some(0),
        ..team.clone()
    };
    let listed = state
        .targets_matching(c.id, &team_in_canary, None)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|t| t.repo.as_str()).collect::<Vec<_>>(),
        ["svc-00007"]
    );
    let counts = state
        .target_counts(
            c.id,
            &TargetFilter {
                tranche: Some(0),
                ..TargetFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(counts.values().sum::<usize>(), 100);
    assert_eq!(counts.get(&TargetState::Merged), Some(&3));
    // The log still tells the state.
    let replayed = state.replay(c.id, None).await.unwrap();
    let now = state.targets(c.id).await.unwrap();
    assert!(now.iter().all(|t| replayed.get(&t.id) == Some(&t.state)));
}

fn pr_record(number: i64, state: PrState) -> PullRequestRecord {
    PullRequestRecord {
        number,
        url: format!("local://x/pull/{number}"),
        state,
        draft: false,
        ci_state: Some(CiState::None),
        review_state: None,
        merged_at: None,
        closed_at: None,
    }
}

async fn a_tracking_issue_is_one_row_per_campaign_and_keeps_when_it_was_published(
    backend: Backend,
) {
    let (_fixture, state) = fresh(backend).await;
    let c = state
        .create_campaign(&campaign(), &[target("a", 0, 0)])
        .await
        .unwrap();
    assert_eq!(state.tracking_issue(c.id).await.unwrap(), None);
    let record = |number, state: IssueState, hash, published| TrackingIssueRecord {
        repository: "acme/platform",
        number,
        url: "https://github.com/acme/platform/issues/7",
        state,
        body_hash: hash,
        published,
    };
    state
        .record_tracking_issue(c.id, &record(7, IssueState::Open, Some("h1"), true))
        .await
        .unwrap();
    let first = state.tracking_issue(c.id).await.unwrap().unwrap();
    assert_eq!((first.number, first.state), (7, IssueState::Open));
    assert_eq!(first.body_hash.as_deref(), Some("h1"));
    assert!(first.published_at.is_some());
    // Found closed later: replaced in place; when it was published stays.
    state
        .record_tracking_issue(c.id, &record(7, IssueState::Closed, Some("h1"), false))
        .await
        .unwrap();
    let second = state.tracking_issue(c.id).await.unwrap().unwrap();
    assert_eq!(second.state, IssueState::Closed);
    assert_eq!(second.published_at, first.published_at);
}

async fn local_issues_are_numbered_per_repository_and_keep_their_labels(backend: Backend) {
    let (_fixture, state) = fresh(backend).await;
    let labels = vec!["fleetwright/tracking".to_string()];
    let one = state
        .insert_local_issue("/r/a.git", "A", "body", &labels)
        .await
        .unwrap();
    let two = state
        .insert_local_issue("/r/a.git", "B", "body", &[])
        .await
        .unwrap();
    let other = state
        .insert_local_issue("/r/b.git", "C", "body", &[])
        .await
        .unwrap();
    assert_eq!((one.number, two.number, other.number), (1, 2, 1));
    assert_eq!(one.labels, labels);
    assert_eq!(one.state, IssueState::Open);
    state
        .update_local_issue("/r/a.git", 1, "A2", "new")
        .await
        .unwrap();
    state
        .set_local_issue_state("/r/a.git", 1, IssueState::Closed)
        .await
        .unwrap();
    let one = state.local_issue("/r/a.git", 1).await.unwrap().unwrap();
    assert_eq!((one.title.as_str(), one.body.as_str()), ("A2", "new"));
    assert_eq!(one.state, IssueState::Closed);
    assert_eq!(state.local_issues("/r/a.git").await.unwrap().len(), 2);
}

on_both!(
    a_lease_is_taken_by_one_worker_and_taken_over_when_it_expires,
    two_states_share_one_write_budget,
    a_state_is_copied_whole_into_an_empty_one_and_never_into_a_full_one,
);

async fn a_lease_is_taken_by_one_worker_and_taken_over_when_it_expires(backend: Backend) {
    let (fixture, state) = fresh(backend).await;
    let c = state
        .create_campaign(&campaign(), &[target("a", 0, 0), target("b", 0, 1)])
        .await
        .unwrap();
    state.open_tranches(&c, 1).await.unwrap();
    // Another process on the same state.
    let other = fixture.open().await;
    let targets = state.targets(c.id).await.unwrap();
    let candidates: Vec<_> = targets.iter().map(|t| (t, true)).collect();
    let ttl = Duration::from_secs(60);
    let first = state.lease_first("w1", &candidates, ttl).await.unwrap();
    assert_eq!(first.map(|l| l.target_id), Some(targets[0].id));
    // The second worker gets the next target, never the same one.
    let second = other.lease_first("w2", &candidates, ttl).await.unwrap();
    assert_eq!(second.map(|l| l.target_id), Some(targets[1].id));
    assert_eq!(
        other.lease_first("w3", &candidates, ttl).await.unwrap(),
        None
    );
    assert_eq!(state.live_leases(c.id).await.unwrap().len(), 2);
    // A target that moved on since it was read is not taken again.
    state.release_lease("w1", targets[0].id).await.unwrap();
    state
        .transition(&targets[0], TargetState::NoChange, &Transition::default())
        .await
        .unwrap();
    assert_eq!(
        other.lease_first("w3", &candidates, ttl).await.unwrap(),
        None
    );
    // w2 dies: its lease runs out, and w3 takes the target over.
    other.renew_leases("w2", Duration::ZERO).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let taken = other.lease_first("w3", &candidates, ttl).await.unwrap();
    assert_eq!(taken.map(|l| l.target_id), Some(targets[1].id));
    assert_eq!(
        state.live_leases(c.id).await.unwrap(),
        [(targets[1].id, "w3".to_string(), true)]
    );
    // The heartbeat renews only what the worker holds.
    assert_eq!(state.renew_leases("w3", ttl).await.unwrap(), 1);
    assert_eq!(state.renew_leases("w2", ttl).await.unwrap(), 0);
}

async fn two_states_share_one_write_budget(backend: Backend) {
    use std::time::SystemTime;
    let (fixture, one) = fresh(backend).await;
    let two = fixture.open().await;
    let limits = budget::Limits {
        min_interval: Duration::from_secs(1),
        per_minute: 2,
        per_hour: 500,
    };
    let forge = "https://api.github.com";
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let Reservation::Granted(id) = one.reserve_write(forge, "p1", limits, t0).await.unwrap() else {
        panic!("the first write waits");
    };
    // In flight: the other process waits, whatever the interval.
    let at = t0 + Duration::from_secs(5);
    assert!(matches!(
        two.reserve_write(forge, "p2", limits, at).await.unwrap(),
        Reservation::Wait(_)
    ));
    one.write_answered(id, t0 + Duration::from_millis(300))
        .await
        .unwrap();
    // A second after the answer, not before.
    assert_eq!(
        two.reserve_write(forge, "p2", limits, t0 + Duration::from_millis(800))
            .await
            .unwrap(),
        Reservation::Wait(Duration::from_millis(500))
    );
    let Reservation::Granted(id) = two
        .reserve_write(forge, "p2", limits, t0 + Duration::from_millis(1300))
        .await
        .unwrap()
    else {
        panic!("the second write waits after the interval");
    };
    two.write_answered(id, t0 + Duration::from_millis(1400))
        .await
        .unwrap();
    // Two in the minute: the third waits for the first to leave it.
    assert_eq!(
        one.reserve_write(forge, "p1", limits, t0 + Duration::from_secs(10))
            .await
            .unwrap(),
        Reservation::Wait(Duration::from_millis(50_300))
    );
    // Another forge has its own budget.
    assert!(matches!(
        one.reserve_write(
            "https://ghe.example.com/api/v3",
            "p1",
            limits,
            t0 + Duration::from_secs(10)
        )
        .await
        .unwrap(),
        Reservation::Granted(_)
    ));
}

async fn a_state_is_copied_whole_into_an_empty_one_and_never_into_a_full_one(backend: Backend) {
    // From a SQLite file (the usual way) into `backend`.
    let (_source_fixture, source) = fresh(Backend::Sqlite).await;
    let c = source
        .create_campaign(&campaign(), &[target("a", 0, 0), target("b", 1, 1)])
        .await
        .unwrap();
    let c = source.open_tranches(&c, 1).await.unwrap();
    let a = &source.targets(c.id).await.unwrap()[0];
    source
        .ensure_changeset(a, "local", "fleetwright/x", "main")
        .await
        .unwrap();
    source
        .insert_local_pr(&NewLocalPullRequest {
            repo_url: "/remotes/a.git".into(),
            title: "t".into(),
            body: "b".into(),
            head: "fleetwright/x".into(),
            base: "main".into(),
            head_commit: "abc".into(),
            draft: true,
            labels: vec!["x".into()],
        })
        .await
        .unwrap();
    let (_fixture, target_state) = fresh(backend).await;
    let copied = source.copy_into(&target_state, |_, _| {}).await.unwrap();
    let rows: std::collections::BTreeMap<_, _> = copied.tables.iter().cloned().collect();
    assert_eq!(rows["targets"], 2);
    assert_eq!(rows["events"], source.count_rows("events").await.unwrap());
    // What the copy holds reads back the same.
    let (was, is) = (
        source.targets(c.id).await.unwrap(),
        target_state.targets(c.id).await.unwrap(),
    );
    assert_eq!(
        serde_json::to_string(&was).unwrap(),
        serde_json::to_string(&is).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&source.events(c.id).await.unwrap()).unwrap(),
        serde_json::to_string(&target_state.events(c.id).await.unwrap()).unwrap()
    );
    let pr = target_state
        .local_pr("/remotes/a.git", 1)
        .await
        .unwrap()
        .unwrap();
    assert!(pr.draft);
    // New rows get new ids after the copied ones.
    let mut second = campaign();
    second.name = "c2".into();
    let c2 = target_state
        .create_campaign(&second, &[target("z", 0, 0)])
        .await
        .unwrap();
    assert!(c2.id > c.id);
    // A state that holds campaigns is never a copy's target.
    let again = source.copy_into(&target_state, |_, _| {}).await;
    assert!(matches!(again, Err(CopyError::NotEmpty(_))), "{again:?}");
}

/// The two sets of migrations are one schema: the same versions, and after
/// them the same tables with the same columns (and both integer or both
/// text); `state migrate` copies every table but the ones it names as not
/// copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_stay_in_lock_step() {
    let versions = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(versions(&SQLITE), versions(&POSTGRES));
    // Each PostgreSQL file is its SQLite twin translated by one rule: an
    // `id INTEGER PRIMARY KEY` is an identity, every other INTEGER a BIGINT
    // (comments aside).
    let sql = |text: &str| {
        text.lines()
            .map(|l| l.split("--").next().unwrap_or_default())
            .flat_map(str::split_whitespace)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let identity = regex::Regex::new(r"\bid INTEGER PRIMARY KEY").unwrap();
    for (lite, pg) in SQLITE.iter().zip(POSTGRES.iter()) {
        let translated = identity
            .replace_all(
                &sql(lite.sql.as_str()),
                "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
            .replace("INTEGER", "BIGINT");
        assert_eq!(
            translated,
            sql(pg.sql.as_str()),
            "state/migrations-postgres/ version {} is not its SQLite twin translated",
            pg.version
        );
    }
    let (_f1, sqlite) = fresh(Backend::Sqlite).await;
    let (_f2, postgres) = fresh(Backend::Postgres).await;
    let tables = sqlite.tables().await.unwrap();
    assert_eq!(tables, postgres.tables().await.unwrap());
    let mut listed: Vec<String> = copy::TABLES
        .iter()
        .chain(copy::NOT_COPIED)
        .map(|t| t.to_string())
        .collect();
    listed.sort();
    assert_eq!(tables, listed);
    for table in &tables {
        let shape = |columns: Vec<copy::Column>| {
            columns
                .into_iter()
                .map(|c| (c.name, c.integer))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            shape(sqlite.columns(table).await.unwrap()),
            shape(postgres.columns(table).await.unwrap()),
            "table {table}"
        );
    }
}

/// A process frozen inside a write transaction (here: one left open and
/// silent) holds PostgreSQL's write lock only until the server ends its
/// session, [`STALL`] later; the other processes' writes wait for it, then
/// go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_transaction_gone_silent_is_ended_and_frees_the_other_writers() {
    let fixture = Fixture::new(Backend::Postgres);
    let frozen = fixture.open().await;
    let other = fixture.open().await;
    let tx = frozen.write().await.unwrap();
    let started = std::time::Instant::now();
    let created = tokio::time::timeout(
        STALL * 3,
        other.create_campaign(&campaign(), &[target("a", 0, 0)]),
    )
    .await
    .expect("the other writer still waits: the silent transaction was never ended");
    created.unwrap();
    let waited = started.elapsed();
    // It did wait for the lock (the test can fail both ways).
    assert!(
        waited >= STALL - Duration::from_secs(2),
        "waited {waited:?}"
    );
    // The silent transaction is gone with its session.
    assert!(tx.commit().await.is_err());
    // And the frozen process, awake again, writes on a new connection.
    frozen
        .remember_forge_answer("https://api.github.com", "/x", &answer("e"))
        .await
        .unwrap();
}

/// A campaign's lock on PostgreSQL: a holder that goes silent (frozen) loses
/// it [`STALL`] later, and another process takes it; a live holder, whose
/// connection is pinged, keeps it however long it holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_holder_loses_the_campaign_lock_and_a_live_one_keeps_it() {
    let fixture = Fixture::new(Backend::Postgres);
    let at = &fixture.location;
    let live = hold_campaign(at, "live", "run").await.unwrap().unwrap();
    // Taken, and never spoken on again: a frozen process.
    let _frozen = hold::take(at, "frozen", "run").await.unwrap().unwrap();
    for name in ["live", "frozen"] {
        let second = hold_campaign(at, name, "worker").await.unwrap();
        assert!(second.unwrap_err().contains("`run`"), "{name}");
    }
    tokio::time::sleep(STALL + Duration::from_secs(3)).await;
    let second = hold_campaign(at, "frozen", "worker").await.unwrap();
    assert!(second.is_ok(), "the frozen holder still holds the lock");
    let second = hold_campaign(at, "live", "worker").await.unwrap();
    assert!(second.is_err(), "the live holder lost the lock");
    assert!(!live.lost());
}

on_both!(eight_processes_taking_leases_at_once_never_take_a_target_twice);

/// Eight states on one database (eight processes) take leases on the same
/// 120 candidates as fast as they can: every target is taken exactly once.
async fn eight_processes_taking_leases_at_once_never_take_a_target_twice(backend: Backend) {
    let (fixture, state) = fresh(backend).await;
    let targets: Vec<NewTarget> = (0..120).map(|i| target(&format!("r{i}"), 0, i)).collect();
    let c = state.create_campaign(&campaign(), &targets).await.unwrap();
    state.open_tranches(&c, 1).await.unwrap();
    let rows = Arc::new(state.targets(c.id).await.unwrap());
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (other, rows) = (fixture.open().await, rows.clone());
        tasks.spawn(async move {
            let name = format!("w{w}");
            let mut taken = Vec::new();
            loop {
                // What this one has not taken yet (its own lease would be
                // its to take again).
                let candidates: Vec<_> = rows
                    .iter()
                    .filter(|t| !taken.contains(&t.id))
                    .map(|t| (t, true))
                    .collect();
                match other
                    .lease_first(&name, &candidates, Duration::from_secs(600))
                    .await
                    .unwrap()
                {
                    Some(lease) => taken.push(lease.target_id),
                    None => break,
                }
            }
            taken
        });
    }
    let mut all = Vec::new();
    while let Some(taken) = tasks.join_next().await {
        all.extend(taken.unwrap());
    }
    all.sort();
    let distinct: std::collections::BTreeSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "a target was leased twice");
    assert_eq!(distinct.len(), 120);
}

#[test]
fn a_database_password_is_found_in_its_url_and_decoded_as_the_driver_sends_it() {
    assert_eq!(
        url_password("postgres://fw:p%40ss%2Fw0rd@db:5432/x?sslmode=require"),
        Some("p%40ss%2Fw0rd")
    );
    assert_eq!(
        crate::urls::percent_decode("p%40ss%2Fw0rd").as_deref(),
        Some("p@ss/w0rd")
    );
    assert_eq!(url_password("postgres://fw@db/x"), None);
    assert_eq!(url_password("postgres://fw:@db/x"), None);
}
