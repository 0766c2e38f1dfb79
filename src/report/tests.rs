//! The campaign report, on a state written through `State`'s own API over
//! four simulated days; every expected number is worked out by hand from
//! the scenario below, not read back from the output.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::attention::AttentionKind;
use super::campaign::*;
use super::{csv, html, markdown};
use crate::clock::ManualClock;
use std::collections::BTreeMap;

use super::attention::AttentionGroup;
use crate::sim::report_fleet;
use crate::state::{
    self, CampaignRow, ChangesetRow, NewCampaign, NewScan, NewTarget, NewTranche, PrState,
    PullRequestRecord, State, Step, TargetRow, TargetState, Transition,
};

/// A state on a manual clock, and the first day of the scenario (the day
/// after the test started, so every step lands at a known hour).
struct Scenario {
    _dir: tempfile::TempDir,
    state: State,
    clock: ManualClock,
    day0: Date,
}

impl Scenario {
    async fn new() -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new();
        let state =
            State::open_with_clock(&dir.path().join("fleetwright.db"), Arc::new(clock.clone()))
                .await
                .unwrap();
        let day0 = state
            .now()
            .to_zoned_datetime(TimeZone::UTC)
            .date()
            .tomorrow()
            .unwrap();
        Scenario {
            _dir: dir,
            state,
            clock,
            day0,
        }
    }

    /// Day `n` of the scenario, `YYYY-MM-DD`.
    fn date(&self, n: i64) -> String {
        self.day0
            .checked_add(SignedDuration::from_hours(24 * n))
            .unwrap()
            .to_string()
    }

    /// Move the clock to `hour`:00 UTC of day `day`.
    fn at(&self, day: i64, hour: i64) {
        let target: Timestamp = self
            .day0
            .to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .checked_add(SignedDuration::from_hours(24 * day + hour))
            .unwrap();
        let ahead = target.duration_since(self.state.now());
        assert!(!ahead.is_negative(), "the scenario goes back in time");
        self.clock.advance(Duration::try_from(ahead).unwrap());
    }

    async fn target(&self, c: &CampaignRow, repo: &str) -> TargetRow {
        self.state
            .targets(c.id)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.repo == repo)
            .unwrap()
    }

    async fn to(&self, c: &CampaignRow, repo: &str, to: TargetState, change: Transition) {
        let t = self.target(c, repo).await;
        self.state.transition(&t, to, &change).await.unwrap();
    }

    /// Record `repo`'s pull request #1 as the forge would say it.
    async fn pr(
        &self,
        c: &CampaignRow,
        repo: &str,
        pr_state: PrState,
        ci: &str,
        review: Option<&str>,
    ) {
        let t = self.target(c, repo).await;
        self.state
            .ensure_changeset(&t, "github", "fleetwright/x", "main")
            .await
            .unwrap();
        self.state
            .record_pull_request(
                &t,
                &PullRequestRecord {
                    number: 1,
                    url: format!("https://forge.example/acme/{repo}/pull/1"),
                    state: pr_state,
                    draft: false,
                    ci_state: Some(ci.parse().unwrap()),
                    review_state: review.map(|r| r.parse().unwrap()),
                    merged_at: None,
                    closed_at: None,
                },
            )
            .await
            .unwrap();
    }

    async fn reviewers(&self, c: &CampaignRow, repo: &str, who: &str) {
        let t = self.target(c, repo).await;
        self.state.record_reviewers(&t, who).await.unwrap();
    }

    async fn scan(&self, c: &CampaignRow, repo: &str, matches: Option<i64>) {
        let t = self.target(c, repo).await;
        let scan = NewScan {
            commit: matches.map(|_| "abc".to_string()),
            matches,
            error: matches.is_none().then(|| "clone failed".to_string()),
            ..NewScan::default()
        };
        self.state.record_scan(&t, &scan).await.unwrap();
    }

    async fn report(&self, name: &str) -> CampaignReport {
        let c = self.state.campaign(name).await.unwrap().unwrap();
        CampaignReport::build(
            &c,
            &self.state.targets(c.id).await.unwrap(),
            &self.state.tranches(c.id).await.unwrap(),
            &self.state.events(c.id).await.unwrap(),
            &self.state.scans(c.id).await.unwrap(),
            self.state.now(),
        )
    }
}

fn new_target(repo: &str, team: &str, tranche: i64, position: i64) -> NewTarget {
    NewTarget {
        repo: repo.into(),
        url: format!("https://forge.example/acme/{repo}.git"),
        component: format!("component:default/{repo}"),
        owner: format!("group:default/{team}"),
        tranche,
        position,
    }
}

/// The end of `verify`'s output: ten lines, the error at the end.
fn verify_output() -> String {
    let mut lines = vec!["verify exited with status 1".to_string()];
    lines.extend((1..=8).map(|i| format!("test case {i} ... ok")));
    lines.push("test case 9 ... FAILED: expected any, found interface{}".into());
    lines.join("\n")
}

/// Eight targets, three tranches, two teams, four days:
///
/// | target | tranche | team | day 0 | day 1 | day 2 | day 3 |
/// | ------ | ------- | ---- | ----- | ----- | ----- | ----- |
/// | a1 | canary | a | PR open | merged | | |
/// | a2 | wave 1 | a | | PR open, CI failing, no reviewer | | |
/// | a4 | wave 1 | a | | PR open, approved | | declined |
/// | b1 | wave 1 | b | | failed at clone | | PR open, review pending, nudged |
/// | b2 | wave 1 | b | | no change | | |
/// | b4 | wave 1 | b | | verify failed | | |
/// | a3, b3 | rest | a, b | pending throughout | | | |
///
/// Scans: day 0 a1 3, a2 2, b1 4; day 1 a1 0; day 3 b1 fails. The
/// campaign is paused on day 3; the report is made at day 3, 12:00.
async fn four_days() -> Scenario {
    let s = Scenario::new().await;
    let st = &s.state;
    s.at(0, 9);
    let c = st
        .create_campaign(
            &NewCampaign {
                name: "modernize".into(),
                file: "/x/campaign.yaml".into(),
                recipe_id: "r".into(),
                forge: "github".into(),
                tranche_count: 3,
                tranches: vec![
                    NewTranche {
                        name: "canary".into(),
                        spec: "1".into(),
                    },
                    NewTranche {
                        name: "wave 1".into(),
                        spec: "5".into(),
                    },
                    NewTranche {
                        name: "rest".into(),
                        spec: "rest".into(),
                    },
                ],
            },
            &[
                new_target("a1", "team-a", 0, 0),
                new_target("a2", "team-a", 1, 1),
                new_target("a4", "team-a", 1, 2),
                new_target("b1", "team-b", 1, 3),
                new_target("b2", "team-b", 1, 4),
                new_target("b4", "team-b", 1, 5),
                new_target("a3", "team-a", 2, 6),
                new_target("b3", "team-b", 2, 7),
            ],
        )
        .await
        .unwrap();
    let c = st.open_tranches(&c, 1).await.unwrap();
    s.at(0, 10);
    s.to(&c, "a1", TargetState::Pushed, Transition::default())
        .await;
    s.to(&c, "a1", TargetState::PrOpen, Transition::default())
        .await;
    s.pr(&c, "a1", PrState::Open, "success", None).await;
    s.reviewers(&c, "a1", "team:acme/team-a").await;
    s.at(0, 11);
    s.scan(&c, "a1", Some(3)).await;
    s.scan(&c, "a2", Some(2)).await;
    s.scan(&c, "b1", Some(4)).await;

    s.at(1, 10);
    s.to(&c, "a1", TargetState::Merged, Transition::default())
        .await;
    s.pr(&c, "a1", PrState::Merged, "success", Some("approved"))
        .await;
    let c = st.open_tranches(&c, 2).await.unwrap();
    s.to(&c, "a2", TargetState::PrOpen, Transition::default())
        .await;
    s.pr(&c, "a2", PrState::Open, "failure", None).await;
    s.reviewers(&c, "a2", "").await;
    s.to(&c, "a4", TargetState::PrOpen, Transition::default())
        .await;
    s.pr(&c, "a4", PrState::Open, "pending", Some("approved"))
        .await;
    s.reviewers(&c, "a4", "team:acme/team-a").await;
    s.to(
        &c,
        "b1",
        TargetState::Failed,
        Transition::failed(Step::Clone, "could not resolve host forge.example"),
    )
    .await;
    s.to(&c, "b2", TargetState::NoChange, Transition::default())
        .await;
    s.to(
        &c,
        "b4",
        TargetState::VerifyFailed,
        Transition {
            reason: Some(verify_output()),
            ..Transition::default()
        },
    )
    .await;
    s.at(1, 11);
    s.scan(&c, "a1", Some(0)).await;

    // Day 2: nothing happens.

    s.at(3, 11);
    s.to(&c, "b1", TargetState::PrOpen, Transition::default())
        .await;
    s.pr(&c, "b1", PrState::Open, "success", Some("pending"))
        .await;
    s.reviewers(&c, "b1", "team:acme/team-b").await;
    let b1 = s.target(&c, "b1").await;
    st.mark_nudged(&b1, "#1: no review for 3 days")
        .await
        .unwrap();
    s.to(
        &c,
        "a4",
        TargetState::Declined,
        Transition {
            reason: Some("retiring this service".into()),
            ..Transition::default()
        },
    )
    .await;
    s.pr(&c, "a4", PrState::Closed, "pending", Some("approved"))
        .await;
    s.scan(&c, "b1", None).await;
    st.set_campaign_status(
        &c,
        &[crate::state::CampaignStatus::Active],
        crate::state::CampaignStatus::Paused,
        Some("CI fails on 1 of 3 pull requests of tranche 2"),
        "paused",
        None,
    )
    .await
    .unwrap();
    s.at(3, 12);
    s
}

#[tokio::test]
async fn the_burndown_has_one_point_a_day_replayed_from_the_log() {
    let s = four_days().await;
    let r = s.report("modernize").await;
    let point =
        |day: i64, merged, open, declined, not_needed, not_started, other, matches: Option<i64>| {
            DayPoint {
                date: s.date(day),
                merged,
                open,
                declined,
                closed_by_platform_team: 0,
                not_needed,
                opted_out: 0,
                not_started,
                other,
                remaining_matches: matches,
            }
        };
    assert_eq!(
        r.days,
        [
            // a1's PR open, the other seven pending; 3 + 2 + 4 places.
            point(0, 0, 1, 0, 0, 7, 0, Some(9)),
            // a1 merged (and scanned clean: 0 + 2 + 4); a2, a4 open; b2 no
            // change; b1 failed, b4 verify failed; a3, b3 pending.
            point(1, 1, 2, 0, 1, 2, 2, Some(6)),
            // Nothing happened on day 2.
            point(2, 1, 2, 0, 1, 2, 2, Some(6)),
            // b1 open again, a4 declined; b1's failed scan keeps its 4.
            point(3, 1, 2, 1, 1, 2, 1, Some(6)),
        ]
    );

    // Each point is what `state::replay` says at the end of that day.
    let c = s.state.campaign("modernize").await.unwrap().unwrap();
    let events = s.state.events(c.id).await.unwrap();
    for (n, day) in r.days.iter().enumerate() {
        let end = s
            .day0
            .to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .checked_add(SignedDuration::from_hours(24 * (n as i64 + 1)))
            .unwrap()
            .checked_sub(SignedDuration::from_nanos(1))
            .unwrap();
        let states = state::replay(&events, Some(end)).unwrap();
        let count = |wanted: &[TargetState]| states.values().filter(|s| wanted.contains(s)).count();
        assert_eq!(day.merged, count(&[TargetState::Merged]), "{day:?}");
        assert_eq!(
            day.open,
            count(&[TargetState::Pushed, TargetState::PrOpen]),
            "{day:?}"
        );
        assert_eq!(
            day.not_started,
            count(&[TargetState::Pending, TargetState::Queued]),
            "{day:?}"
        );
        assert_eq!(
            day.merged
                + day.open
                + day.declined
                + day.closed_by_platform_team
                + day.not_needed
                + day.opted_out
                + day.not_started
                + day.other,
            states.len()
        );
    }

    // Before the first scan there is no matches line, and the first point
    // is the creation day even when the report is made later.
    let early = CampaignReport::build(
        &c,
        &s.state.targets(c.id).await.unwrap(),
        &[],
        &events,
        &[],
        s.state.now(),
    );
    assert_eq!(early.days.len(), 4);
    assert!(early.days.iter().all(|d| d.remaining_matches.is_none()));
    assert_eq!(early.headline.remaining_matches, None);
}

#[tokio::test]
async fn headline_tranches_and_teams_count_what_happened() {
    let s = four_days().await;
    let r = s.report("modernize").await;

    let h = &r.headline;
    // Migrated: a1 merged (scanned clean), b2 no change = 2 of 8 = 25%.
    // Settled: those and a4 declined = 3.
    assert_eq!(
        (h.targets, h.migrated, h.migrated_percent, h.settled),
        (8, 2, 25, 3)
    );
    assert_eq!(
        (h.merged, h.not_needed, h.declined, h.opted_out),
        (1, 1, 1, 0)
    );
    assert_eq!(h.closed_by_platform_team, 0);
    assert_eq!(
        (
            h.in_progress,
            h.open_prs,
            h.failed,
            h.not_started,
            h.not_clean
        ),
        (2, 2, 1, 2, 0)
    );
    // a1 0 + a2 2 + b1 4 (its failed scan keeps the last good count).
    assert_eq!(h.remaining_matches, Some(6));
    assert_eq!(h.repos_left, 2);
    assert_eq!((h.scanned_targets, h.scan_errors), (3, 1));
    let last_scan = state::parse_time(h.last_scan_at.as_deref().unwrap()).unwrap();
    assert_eq!(
        last_scan
            .to_zoned_datetime(TimeZone::UTC)
            .date()
            .to_string(),
        s.date(3)
    );
    assert_eq!(
        h.sentence("modernize"),
        "2 of 8 repositories migrated (25%): 1 merged, 1 needed no change; 1 declined by its owners, 5 still in progress. \
         The latest scan finds 6 places still to migrate in 2 of the 3 repositories scanned."
    );
    assert_eq!(r.campaign.status, "paused");

    let tranche = |n: usize| {
        (
            &r.tranches[n].name,
            r.tranches[n].opened,
            &r.tranches[n].counts,
        )
    };
    assert_eq!(r.tranches.len(), 3);
    let (name, opened, k) = tranche(0);
    assert_eq!((name.as_str(), opened), ("canary", true));
    assert_eq!(
        (k.targets, k.merged, k.settled, k.settled_percent),
        (1, 1, 1, 100)
    );
    assert_eq!((k.migrated, k.migrated_percent), (1, 100));
    let (name, opened, k) = tranche(1);
    assert_eq!((name.as_str(), opened), ("wave 1", true));
    // a2, b1 open; a4 declined; b2 no change; b4 failed: 2 of 5 settled.
    assert_eq!(
        (
            k.targets,
            k.merged,
            k.open,
            k.declined,
            k.not_needed,
            k.failed,
            k.not_started
        ),
        (5, 0, 2, 1, 1, 1, 0)
    );
    assert_eq!((k.settled, k.settled_percent), (2, 40));
    // Only b2 is migrated: a4's decline is settled, not migrated.
    assert_eq!((k.migrated, k.migrated_percent, k.opted_out), (1, 20, 0));
    assert_eq!(r.tranches[1].spec.as_deref(), Some("5"));
    let (name, opened, k) = tranche(2);
    assert_eq!((name.as_str(), opened), ("rest", false));
    assert_eq!((k.targets, k.not_started, k.settled_percent), (2, 2, 0));

    assert_eq!(r.teams.len(), 2);
    // The most left to do first: team-b's three unsettled (b1, b3, b4)
    // before team-a's two (a2, a3).
    assert_eq!(
        r.teams
            .iter()
            .map(|t| (t.name.as_str(), t.left))
            .collect::<Vec<_>>(),
        [("team-b", 3), ("team-a", 2)]
    );
    let a = &r.teams[1];
    assert_eq!(
        (a.owner.as_str(), a.name.as_str()),
        ("group:default/team-a", "team-a")
    );
    // a1 merged, a2 open with CI failing, a4 declined, a3 pending.
    assert_eq!(
        (
            a.targets,
            a.merged,
            a.open,
            a.failing_ci,
            a.awaiting_review,
            a.stale
        ),
        (4, 1, 1, 1, 0, 0)
    );
    assert_eq!(
        (
            a.declined,
            a.failed,
            a.not_started,
            a.settled,
            a.settled_percent
        ),
        (1, 0, 1, 2, 50)
    );
    assert_eq!((a.migrated, a.migrated_percent, a.not_needed), (1, 25, 0));
    let b = &r.teams[0];
    // b1 open, review pending and nudged; b2 no change; b4 verify failed; b3 pending.
    assert_eq!(
        (
            b.targets,
            b.merged,
            b.open,
            b.failing_ci,
            b.awaiting_review,
            b.stale
        ),
        (4, 0, 1, 0, 1, 1)
    );
    assert_eq!(
        (
            b.declined,
            b.failed,
            b.not_started,
            b.settled,
            b.settled_percent
        ),
        (0, 1, 1, 1, 25)
    );
    assert_eq!((b.migrated, b.migrated_percent, b.not_needed), (1, 25, 1));

    // Every target, in plan order, with its PR and flags.
    let repos: Vec<&str> = r.targets.iter().map(|t| t.repo.as_str()).collect();
    assert_eq!(repos, ["a1", "a2", "a4", "b1", "b2", "b4", "a3", "b3"]);
    let line = |repo: &str| r.targets.iter().find(|t| t.repo == repo).unwrap();
    let b1 = line("b1");
    assert!(b1.stale && !b1.no_reviewer);
    assert_eq!(
        b1.pr.as_ref().unwrap().url,
        "https://forge.example/acme/b1/pull/1"
    );
    assert_eq!((b1.tranche, b1.tranche_name.as_str()), (2, "wave 1"));
    assert_eq!(b1.remaining_matches, Some(4));
    let a2 = line("a2");
    assert!(a2.no_reviewer && !a2.stale);
    assert_eq!(a2.ci, Some(crate::state::CiState::Failure));
    assert_eq!(line("a4").pr.as_ref().unwrap().state, "closed");
    assert!(line("a3").pr.is_none());
}

#[tokio::test]
async fn needs_attention_groups_the_pause_failures_ci_and_missing_reviewers_by_cause() {
    let s = four_days().await;
    let r = s.report("modernize").await;
    let kinds: Vec<(AttentionKind, Vec<&str>)> = r
        .attention
        .iter()
        .map(|a| (a.kind, a.repos.iter().map(|r| r.repo.as_str()).collect()))
        .collect();
    // The campaign first; then one entry per cause, the same size each, so
    // in the order of the causes (the platform team's before the owners');
    // the owners' "no" last.
    assert_eq!(
        kinds,
        [
            (AttentionKind::Paused, vec![]),
            (AttentionKind::VerifyFailed, vec!["b4"]),
            (AttentionKind::CiFailing, vec!["a2"]),
            (AttentionKind::NoReviewer, vec!["a2"]),
            (AttentionKind::Stale, vec!["b1"]),
            (AttentionKind::Declined, vec!["a4"]),
        ]
    );
    assert_eq!(
        r.attention[0].problem.as_deref(),
        Some("CI fails on 1 of 3 pull requests of tranche 2")
    );
    assert!(r.attention[0].next.contains("fleetwright resume modernize"));
    assert!(r.attention[2].next.contains("checks"));
    assert_eq!(
        r.attention[2].repos[0].pr.as_ref().map(|p| p.number),
        Some(1)
    );
    assert_eq!(r.attention[2].teams[0].name, "team-a");
    // Ten lines of verify output: the first, a gap, the last four.
    assert_eq!(
        r.attention[1].problem.as_deref(),
        Some(
            "verify exited with status 1\n…\ntest case 6 ... ok\ntest case 7 ... ok\ntest case 8 ... ok\ntest case 9 ... FAILED: expected any, found interface{}"
        )
    );
    assert!(r.attention[1].next.contains("verify command"));
    assert_eq!(
        r.attention[5].problem.as_deref(),
        Some("retiring this service")
    );
    // A paused campaign's gate is not what holds it back.
    assert!(!kinds.iter().any(|(k, _)| *k == AttentionKind::GateWaiting));
    // Each target's line names its causes, the same ones.
    let a2 = r.targets.iter().find(|t| t.repo == "a2").unwrap();
    assert_eq!(
        a2.attention,
        [AttentionKind::CiFailing, AttentionKind::NoReviewer]
    );
}

#[tokio::test]
async fn the_report_reads_back_from_json_and_renders_every_format() {
    let s = four_days().await;
    let r = s.report("modernize").await;
    let json = serde_json::to_string(&r).unwrap();
    let back: CampaignReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], 3);
    assert_eq!(value["tranches"][1]["settled_percent"], 40);
    assert_eq!(value["tranches"][1]["migrated_percent"], 20);
    assert_eq!(value["headline"]["migrated"], 2);
    assert_eq!(value["headline"]["repos_left"], 2);
    let a4 = &value["targets"][2];
    assert_eq!(
        (
            &a4["state"],
            &a4["state_label"],
            &a4["outcome"],
            &a4["migrated"]
        ),
        (
            &serde_json::json!("declined"),
            &serde_json::json!("declined by its owners"),
            &serde_json::json!("declined"),
            &serde_json::json!(false)
        )
    );
    assert_eq!(value["attention"][0]["kind"], "paused");

    let page = html::render(&r);
    assert!(page.contains(r#"<svg id="burndown""#));
    for id in ["tranches", "teams", "targets", "days"] {
        assert!(page.contains(&format!(r#"<table id="{id}""#)), "{id}");
    }
    // The tables' rows are the page's data, drawn by its script (the
    // browser test checks the drawing): every target, every link.
    let data = report_fleet::page_data(&page);
    assert_eq!(data["targets"].as_array().unwrap().len(), 8);
    for t in &r.targets {
        if let Some(pr) = &t.pr {
            assert!(
                data["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|row| report_fleet::row_link(&data, row).as_deref()
                        == Some(pr.url.as_str())),
                "{}",
                pr.url
            );
        }
    }
    // Scans exist: the matches line and its axis are drawn.
    assert!(page.contains("series-matches"));
    assert!(page.contains("places to migrate"));

    let md = markdown::render(&r);
    assert!(
        md.contains("- [x] a1 — merged [#1](https://forge.example/acme/a1/pull/1)"),
        "{md}"
    );
    assert!(md.contains("- [ ] a2 — pull request open [#1](https://forge.example/acme/a2/pull/1) (CI failing, nobody asked to review)"), "{md}");
    assert!(md.contains("- [ ] b1 — pull request open [#1](https://forge.example/acme/b1/pull/1) (awaiting review, stale, owners reminded)"), "{md}");
    // Declined is settled, never ticked, and listed with its reason.
    assert!(
        md.contains("- [ ] a4 — declined by its owners [#1](https://forge.example/acme/a4/pull/1)"),
        "{md}"
    );
    assert!(md.contains("## Declined and opted out (1)"), "{md}");
    assert!(
        md.contains(
            "> retiring this service\n\n**Next:** Read the owners' reasons below: when one is about the recipe, fix it and talk to them; otherwise the old way stays there.\n\n<details><summary>The repository</summary>\n\n- **a4** · team-a [#1](https://forge.example/acme/a4/pull/1)\n"
        ),
        "{md}"
    );
    assert!(
        md.contains("## Needs attention (5 causes · 3 repositories)"),
        "{md}"
    );

    let rows = csv::targets(&r);
    // Records end with CRLF; b4's reason keeps its own line breaks inside
    // one quoted field.
    assert_eq!(rows.matches("\r\n").count(), 1 + 8);
    assert!(rows.starts_with("repo,component,owner,tranche,"));
    assert!(rows.contains(",\"verify exited with status 1\n"), "{rows}");
    let days = csv::days(&r);
    // date, merged, open, declined, closed by the platform team, not
    // needed, opted out, not started, other, places.
    let day1 = format!("{},1,2,0,0,1,0,2,2,6\r\n", s.date(1));
    assert!(days.contains(&day1), "{days}");
}

/// A target row made by hand, for the pure cases below.
fn row(id: i64, repo: &str, state: TargetState) -> TargetRow {
    TargetRow::sample(id, repo, state)
}

fn campaign_row(status: &str, gate_note: Option<&str>) -> CampaignRow {
    CampaignRow {
        id: 1,
        name: "c".into(),
        file: "/c.yaml".into(),
        recipe_id: "r".into(),
        forge: "github".into(),
        status: status.parse().unwrap(),
        tranche_count: 2,
        tranches_open: 1,
        created_at: "2026-01-05T09:00:00Z".into(),
        updated_at: "2026-01-05T09:00:00Z".into(),
        status_reason: None,
        gate_note: gate_note.map(str::to_string),
        ci_failures_acknowledged: 0,
    }
}

#[test]
fn each_failure_says_what_to_do_next_and_a_waiting_gate_is_listed() {
    let note = "tranche 1 (canary): 0 of 1 merged (0%), gate needs 80%";
    let mut clone = row(1, "a", TargetState::Failed);
    clone.step = Some("clone".into());
    clone.reason = Some("could not resolve host".into());
    let mut push = row(2, "b", TargetState::Failed);
    push.step = Some("push".into());
    push.reason = Some("rejected: not a fast-forward".into());
    let mut attention = row(3, "c", TargetState::NeedsAttention);
    attention.reason = Some("someone pushed to the branch".into());
    let targets = [clone, push, attention];
    let now: Timestamp = "2026-01-07T12:00:00Z".parse().unwrap();
    let r = CampaignReport::build(
        &campaign_row("active", Some(note)),
        &targets,
        &[],
        &[],
        &[],
        now,
    );
    let kinds: Vec<AttentionKind> = r.attention.iter().map(|a| a.kind).collect();
    // The waiting gate first; then the causes in the gate's tranche (all
    // three are in tranche 1), one repository each, by cause.
    assert_eq!(
        kinds,
        [
            AttentionKind::GateWaiting,
            AttentionKind::CloneFailed,
            AttentionKind::PushRefused,
            AttentionKind::NeedsAttention,
        ]
    );
    assert_eq!(r.attention[0].problem.as_deref(), Some(note));
    assert!(r.attention[1].next.starts_with("Check the repository URLs"));
    assert!(
        r.attention[1]
            .next
            .contains("`fleetwright run c` retries them")
    );
    assert_eq!(r.attention[1].holds_gate, 1);
    assert_eq!(
        r.attention[1].problem.as_deref(),
        Some("could not resolve host")
    );
    assert!(r.attention[2].next.contains("pull_request.branch"));
    assert!(r.attention[3].next.contains("reason"));
    assert_eq!(
        r.attention[3].problem.as_deref(),
        Some("someone pushed to the branch")
    );
    // No tranche rows (a campaign from before schema 3): "tranche N",
    // opened by `tranches_open`.
    assert_eq!(r.tranches[0].name, "tranche 1");
    assert!(r.tranches[0].opened && !r.tranches[1].opened);
    // No events: a point a day from creation to now, counting nothing.
    assert_eq!(
        r.days.iter().map(|d| d.date.as_str()).collect::<Vec<_>>(),
        ["2026-01-05", "2026-01-06", "2026-01-07"]
    );

    // Once the campaign is over, a stale gate note is not a to-do.
    let done = CampaignReport::build(
        &campaign_row("completed", Some(note)),
        &[],
        &[],
        &[],
        &[],
        now,
    );
    assert!(done.attention.is_empty());
}

#[test]
fn text_from_outside_cannot_inject_markup() {
    let evil = r#"<img src=x onerror=alert(1)>"#;
    let mut t = row(1, evil, TargetState::Declined);
    t.reason = Some("</pre><script>alert('r')</script> [x](javascript:alert(1))".into());
    t.owner = "group:default/<b>team</b>".into();
    t.changeset = Some(ChangesetRow {
        branch: "b".into(),
        base: "main".into(),
        number: Some(3),
        url: Some("javascript:alert(document.cookie)".into()),
        pr_state: Some(PrState::Closed),
        draft: false,
        ci_state: None,
        review_state: None,
        reviewers: None,
        opened_at: None,
        nudged_at: None,
        merged_at: None,
        recipe_exact: None,
    });
    let now: Timestamp = "2026-01-05T12:00:00Z".parse().unwrap();
    let r = CampaignReport::build(&campaign_row("active", None), &[t], &[], &[], &[], now);
    let page = html::render(&r);
    assert!(
        !page.contains("<img src=x"),
        "raw repository name in the page"
    );
    assert!(!page.contains("<script>alert"), "raw reason in the page");
    assert!(!page.contains("<b>team"), "raw owner in the page");
    assert!(!page.contains("href=\"javascript"), "a javascript: link");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    // The page's own script is the only one, beside its data, in which
    // no `<` can end the element.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(
        page.matches(r#"<script type="application/json" id="report-data">"#)
            .count(),
        1
    );
    let data = &page[page.find("report-data").unwrap()..];
    let data = &data[..data.find("</script>").unwrap()];
    assert!(!data[1..].contains('<'), "{data}");
    assert_eq!(
        report_fleet::page_data(&page)["targets"][0][0],
        r.targets[0].repo.as_str()
    );
    let md = markdown::render(&r);
    assert!(!md.contains("<img") && !md.contains("<script") && !md.contains("](javascript"));
}

/// A successful scan of target `id` counting `matches`, at `at`.
fn scan(id: i64, matches: i64, at: &str) -> state::ScanRow {
    state::ScanRow {
        target_id: id,
        commit_id: Some("abc".into()),
        matches: Some(matches),
        error: None,
        at: at.into(),
        scan_key: None,
        files: None,
        note: None,
    }
}

/// The report of `targets` (ids 1…) with `scans`, on a campaign `c`.
fn pure_report(status: &str, targets: &[TargetRow], scans: &[state::ScanRow]) -> CampaignReport {
    let now: Timestamp = "2026-01-07T12:00:00Z".parse().unwrap();
    CampaignReport::build(&campaign_row(status, None), targets, &[], &[], scans, now)
}

#[test]
fn the_headline_says_what_is_migrated_and_what_the_campaign_did() {
    use TargetState::*;
    let at = "2026-01-06T10:00:00Z";
    let fleet = |states: &[TargetState]| -> Vec<TargetRow> {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| row(i as i64 + 1, &format!("r{}", i + 1), *s))
            .collect()
    };

    // Never scanned: the migration is not measured yet, and the command
    // that measures it is named.
    let r = pure_report("active", &fleet(&[Merged, NoChange, PrOpen, Pending]), &[]);
    assert_eq!(
        r.headline.sentence("c"),
        "2 of 4 repositories migrated (50%): 1 merged, 1 needed no change; 2 still in progress. \
         The migration is not measured yet: `fleetwright scan c` counts the places still to migrate."
    );

    // Declined and opted out are settled, not migrated; the places left in
    // them are counted.
    let r = pure_report(
        "completed",
        &fleet(&[Merged, NoChange, Declined, OptedOut]),
        &[
            scan(1, 0, at),
            scan(2, 0, at),
            scan(3, 5, at),
            scan(4, 2, at),
        ],
    );
    let h = &r.headline;
    assert_eq!(
        (
            h.migrated,
            h.migrated_percent,
            h.settled,
            h.declined,
            h.opted_out
        ),
        (2, 50, 4, 1, 1)
    );
    assert_eq!(
        h.sentence("c"),
        "2 of 4 repositories migrated (50%): 1 merged, 1 needed no change; 1 declined by its owners, 1 opted out. \
         The latest scan finds 7 places still to migrate in 2 repositories."
    );

    // Every pull request merged, but the scan still finds places in one:
    // not migrated, not 100%.
    let r = pure_report(
        "completed",
        &fleet(&[Merged, Merged]),
        &[scan(1, 0, at), scan(2, 3, at)],
    );
    assert_eq!(
        r.headline.sentence("c"),
        "1 of 2 repositories migrated (50%): 2 merged (but the scan still finds places in 1 of them). \
         The latest scan finds 3 places still to migrate in 1 repository."
    );
    assert_eq!(r.headline.not_clean, 1);
    assert!(!r.targets[1].migrated && r.targets[1].settled);

    // All of it.
    let r = pure_report(
        "completed",
        &fleet(&[Merged, Merged, NotApplicable]),
        &[scan(1, 0, at), scan(2, 0, at), scan(3, 0, at)],
    );
    assert_eq!(
        r.headline.sentence("c"),
        "3 of 3 repositories migrated (100%): 2 merged, 1 needed no change. \
         The latest scan finds no place left to migrate."
    );

    // Some scanned: said so.
    let r = pure_report(
        "active",
        &fleet(&[Merged, Failed, Queued, Declined]),
        &[scan(1, 0, at), scan(4, 1, at)],
    );
    assert_eq!(
        r.headline.sentence("c"),
        "1 of 4 repositories migrated (25%): 1 merged; 1 declined by its owners, 2 still in progress. \
         The latest scan finds 1 place still to migrate in 1 of the 2 repositories scanned."
    );
}

#[test]
fn the_headline_never_says_100_percent_while_a_scan_finds_places() {
    use TargetState::*;
    let at = "2026-01-06T10:00:00Z";
    // Every fleet of three targets of every state, each not scanned, or
    // scanned with 0 or 1 place left.
    let mut fleets: Vec<Vec<(TargetState, Option<i64>)>> = vec![Vec::new()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for f in &fleets {
            for s in TargetState::ALL {
                for m in [None, Some(0), Some(1)] {
                    let mut g = f.clone();
                    g.push((s, m));
                    next.push(g);
                }
            }
        }
        fleets = next;
    }
    let mut checked = 0;
    for fleet in &fleets {
        let targets: Vec<TargetRow> = fleet
            .iter()
            .enumerate()
            .map(|(i, (s, _))| row(i as i64 + 1, &format!("r{i}"), *s))
            .collect();
        let scans: Vec<state::ScanRow> = fleet
            .iter()
            .enumerate()
            .filter_map(|(i, (_, m))| m.map(|m| scan(i as i64 + 1, m, at)))
            .collect();
        let h = pure_report("active", &targets, &scans).headline;
        let left = h.remaining_matches.unwrap_or(0) > 0;
        if left {
            assert!(h.migrated_percent < 100, "{fleet:?}: {h:?}");
            assert!(!h.sentence("c").contains("(100%)"), "{fleet:?}");
        }
        // Declined and opted out never count as migrated.
        let migrated = fleet
            .iter()
            .filter(|(s, m)| matches!(s, Merged | NoChange | NotApplicable) && *m != Some(1))
            .count();
        assert_eq!(h.migrated, migrated, "{fleet:?}");
        checked += 1;
    }
    assert_eq!(checked, 36 * 36 * 36);

    // A scan of a repository the rows do not hold cannot make it 100% either.
    let r = pure_report("completed", &[row(1, "a", Merged)], &[scan(9, 4, at)]);
    assert_eq!(r.headline.migrated_percent, 99);
}

#[test]
fn pull_requests_the_platform_team_closed_are_not_the_owners_declines() {
    use TargetState::*;
    let event =
        |id: i64, target: Option<i64>, kind: &str, to: Option<&str>, at: &str| state::EventRow {
            id,
            target_id: target,
            kind: kind.into(),
            from_state: None,
            to_state: to.map(str::to_string),
            detail: None,
            at: at.into(),
        };
    let mut owners = row(1, "owners", Declined);
    owners.reason = Some("we retire it".into());
    let mut ours = row(2, "ours", Declined);
    ours.reason = Some("closed by the platform team: superseded by v2".into());
    let mut legacy = row(3, "legacy", Declined);
    legacy.reason = Some("superseded by v2".into());
    let targets = [owners, ours, legacy, row(4, "done", Merged)];
    let events = [
        event(
            1,
            Some(1),
            "state",
            Some("declined"),
            "2026-01-05T10:00:00Z",
        ),
        event(
            2,
            None,
            "cancelled",
            Some("cancelled"),
            "2026-01-06T10:00:00Z",
        ),
        event(
            3,
            Some(2),
            "state",
            Some("declined"),
            "2026-01-06T10:01:00Z",
        ),
        event(
            4,
            Some(2),
            CLOSED_BY_PLATFORM_TEAM,
            None,
            "2026-01-06T10:01:00Z",
        ),
        // A campaign cancelled before the event existed: declined after
        // the cancel, by `cancel --close-prs`.
        event(
            5,
            Some(3),
            "state",
            Some("declined"),
            "2026-01-06T10:02:00Z",
        ),
    ];
    let now: Timestamp = "2026-01-06T12:00:00Z".parse().unwrap();
    let mut campaign = campaign_row("cancelled", None);
    campaign.status_reason = Some("cancelled: superseded by v2".into());
    let r = CampaignReport::build(&campaign, &targets, &[], &events, &[], now);
    let h = &r.headline;
    assert_eq!((h.declined, h.closed_by_platform_team), (1, 2));
    assert_eq!(
        h.sentence("c"),
        "1 of 4 repositories migrated (25%): 1 merged; 1 declined by its owners, 2 closed by the platform team. \
         The migration is not measured yet: `fleetwright scan c` counts the places still to migrate."
    );
    let labels: Vec<(&str, &str)> = r
        .targets
        .iter()
        .map(|t| (t.repo.as_str(), t.state_label.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("owners", "declined by its owners"),
            ("ours", "closed by the platform team"),
            ("legacy", "closed by the platform team"),
            ("done", "merged"),
        ]
    );
    assert_eq!(r.tranches[0].counts.declined, 1);
    assert_eq!(r.tranches[0].counts.closed_by_platform_team, 2);
    assert_eq!(r.teams[0].declined, 1);
    let today = r.days.last().unwrap();
    assert_eq!((today.declined, today.closed_by_platform_team), (1, 2));

    // Said once: "Cancelled: superseded by v2", not "cancelled: cancelled: …".
    let page = html::render(&r);
    assert!(
        page.contains("<strong>Cancelled:</strong> superseded by v2</p>"),
        "{page}"
    );
    assert!(!page.contains("cancelled: superseded"), "{page}");
    assert!(page.contains(r#"<li data-outcome="closed_by_platform_team">"#));
    let md = markdown::render(&r);
    assert!(md.contains("> **cancelled:** superseded by v2"), "{md}");
    assert!(
        md.contains("- [ ] ours — closed by the platform team: superseded by v2\n"),
        "{md}"
    );
    assert!(
        md.contains("### Closed by the platform team — 2 repositories\n\nTeam: team-a (2)\n\n> superseded by v2\n"),
        "{md}"
    );
    assert!(
        md.contains("- **ours** · team-a\n- **legacy** · team-a\n"),
        "{md}"
    );
    assert!(
        md.contains("- [ ] owners — declined by its owners: we retire it"),
        "{md}"
    );
    let rows = csv::targets(&r);
    assert!(
        rows.contains("ours,component:default/ours,group:default/team-a,1,tranche 1,declined,closed by the platform team,closed_by_platform_team,true,false,"),
        "{rows}"
    );
}

#[test]
fn status_reasons_are_said_once_and_in_words() {
    use super::status_reason_text as said;
    assert_eq!(
        said("cancelled", "cancelled: superseded").as_deref(),
        Some("superseded")
    );
    assert_eq!(said("cancelled", "cancelled"), None);
    assert_eq!(
        said("cancelled", "superseded").as_deref(),
        Some("superseded")
    );
    assert_eq!(
        said(
            "completed",
            "15 merged, 3 declined, 4 no_change, 1 opted_out"
        )
        .as_deref(),
        Some("15 merged, 3 declined by their owners, 4 no change needed, 1 opted out")
    );
    assert_eq!(
        said("completed", "1 merged, 1 declined").as_deref(),
        Some("1 merged, 1 declined by its owners")
    );
    // Not counts: left as it is.
    assert_eq!(
        said("paused", "paused by hand: 2 failing").as_deref(),
        Some("paused by hand: 2 failing")
    );
}

#[test]
fn every_state_has_words() {
    for s in TargetState::ALL {
        let label = s.label();
        assert!(!label.is_empty() && !label.contains('_'), "{s}: {label}");
    }
    assert_eq!(TargetState::NoChange.label(), "no change needed");
    assert_eq!(TargetState::Pending.label(), "waiting for its tranche");
}

#[tokio::test]
async fn at_10_1000_and_10000_targets_attention_is_one_entry_per_cause_and_the_pages_stay_small() {
    for n in [10, 1_000, 10_000] {
        let s = Scenario::new().await;
        report_fleet::build(&s.state, n).await;
        let r = s.report(report_fleet::CAMPAIGN).await;
        assert_eq!(r.targets.len(), n);

        // One entry per cause, each with the count the fleet was made with.
        let kinds: Vec<AttentionKind> = r.attention.iter().map(|g| g.kind).collect();
        let unique: std::collections::BTreeSet<AttentionKind> = kinds.iter().copied().collect();
        assert_eq!(kinds.len(), unique.len(), "{n}: {kinds:?}");
        let counted: BTreeMap<AttentionKind, usize> =
            r.attention.iter().map(|g| (g.kind, g.count)).collect();
        assert_eq!(counted, report_fleet::causes(n), "{n}");
        for g in &r.attention {
            assert_eq!(g.repos.len(), g.count, "{n}: {:?}", g.kind);
            assert_eq!(
                g.teams.iter().map(|t| t.count).sum::<usize>(),
                g.count,
                "{n}: {:?}",
                g.kind
            );
            // Ordered by size: the owners' "no" after everything else.
        }
        let holding: Vec<&AttentionGroup> =
            r.attention.iter().filter(|g| !g.kind.said_no()).collect();
        assert!(
            holding.windows(2).all(|w| w[0].count >= w[1].count),
            "{n}: {kinds:?}"
        );
        assert!(
            r.attention
                .iter()
                .skip(holding.len())
                .all(|g| g.kind.said_no()),
            "{n}: {kinds:?}"
        );
        // The same error on many repositories is one reason, counted.
        let clone = r
            .attention
            .iter()
            .find(|g| g.kind == AttentionKind::CloneFailed)
            .unwrap();
        assert!(
            clone
                .problem
                .as_deref()
                .is_some_and(|p| p.starts_with("fatal: could not read Username")),
            "{n}: {clone:?}"
        );
        assert!(clone.reasons.is_empty() && clone.repos.iter().all(|r| r.problem.is_none()));
        // Errors that differ are counted by their first line.
        let push = r
            .attention
            .iter()
            .find(|g| g.kind == AttentionKind::PushRefused)
            .unwrap();
        if push.count > 1 {
            assert!(push.problem.is_none());
            assert_eq!(push.reasons.len(), push.count.min(20), "{n}");
            assert_eq!(push.distinct_reasons, push.count, "{n}");
            assert_eq!(push.reasons_listed(usize::MAX), 3, "{n}");
        }
        // Three reasons to decline, each counted.
        let declined = r
            .attention
            .iter()
            .find(|g| g.kind == AttentionKind::Declined)
            .unwrap();
        if declined.count > 1 {
            assert_eq!(declined.reasons.len(), 3, "{n}");
            assert_eq!(
                declined.reasons.iter().map(|r| r.count).sum::<usize>(),
                declined.count
            );
        } else {
            assert!(declined.problem.is_some());
        }

        // The page: under 2 MB, every cause once, every row in its data.
        let page = html::render(&r);
        assert!(page.len() < 2_000_000, "{n}: {} bytes", page.len());
        assert_eq!(
            page.matches(r#"<li class="item item-"#).count(),
            r.attention.len(),
            "{n}"
        );
        let data = report_fleet::page_data(&page);
        assert_eq!(data["targets"].as_array().unwrap().len(), n);
        assert_eq!(data["teams"].as_array().unwrap().len(), r.teams.len());
        // A cause lists at most 50 repositories; the rest are one click
        // away in the table.
        let listed = page.matches(r#"<li><strong class="repo">"#).count()
            + page.matches(r#"<li data-outcome="#).count();
        let expected: usize = r.attention.iter().map(|g| g.repos.len().min(50)).sum();
        assert_eq!(listed, expected, "{n}");

        // The tracking issue fits in GitHub's limit, and says where the
        // rest is when it had to cut.
        let md = markdown::render(&r);
        assert!(
            md.chars().count() <= markdown::DEFAULT_MAX_CHARS,
            "{n}: {} characters",
            md.chars().count()
        );
        for g in &r.attention {
            assert!(
                md.contains(&format!("### {}", super::capitalize(&g.label))),
                "{n}: no {:?} in the issue",
                g.kind
            );
        }
        if n == 10 {
            // Small enough for every repository to be listed.
            for t in &r.targets {
                assert!(md.contains(&t.repo), "{}", t.repo);
            }
        } else {
            assert!(
                md.contains("more: `fleetwright report at-scale --format html` lists them all")
            );
        }
        // A tighter budget is kept too, down to the counts alone.
        for max in [20_000, 5_000] {
            let md = markdown::render_with(
                &r,
                &markdown::Options {
                    max_chars: max,
                    details_url: Some("https://platform.example/at-scale.html"),
                    ..markdown::Options::default()
                },
            );
            assert!(
                md.chars().count() <= max,
                "{n} in {max}: {}",
                md.chars().count()
            );
        }
    }
}

#[test]
fn counts_read_with_thousands_separators() {
    let shown: Vec<String> = [0i64, 7, 999, 1_000, 10_000, 1_234_567, -4_500]
        .into_iter()
        .map(count)
        .collect();
    assert_eq!(
        shown,
        ["0", "7", "999", "1,000", "10,000", "1,234,567", "-4,500"]
    );
}
