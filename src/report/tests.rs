//! The campaign report, on a state written through `State`'s own API over
//! four simulated days; every expected number is worked out by hand from
//! the scenario below, not read back from the output.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::campaign::*;
use super::{csv, html, markdown};
use crate::clock::ManualClock;
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
                    ci_state: Some(ci.into()),
                    review_state: review.map(str::to_string),
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
        &["active"],
        "paused",
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
                not_needed,
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
            day.merged + day.open + day.declined + day.not_needed + day.not_started + day.other,
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
    // Done: a1 merged, a4 declined, b2 no change = 3 of 8 = 37.5%.
    assert_eq!(
        (h.targets, h.done, h.done_percent, h.merged, h.open_prs),
        (8, 3, 37, 1, 2)
    );
    assert_eq!((h.declined, h.failed, h.not_started), (1, 1, 2));
    // a1 0 + a2 2 + b1 4 (its failed scan keeps the last good count).
    assert_eq!(h.remaining_matches, Some(6));
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
        h.sentence(),
        "37% of 8 repositories done; 6 places still to migrate."
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
    assert_eq!(r.tranches[1].spec.as_deref(), Some("5"));
    let (name, opened, k) = tranche(2);
    assert_eq!((name.as_str(), opened), ("rest", false));
    assert_eq!((k.targets, k.not_started, k.settled_percent), (2, 2, 0));

    assert_eq!(r.teams.len(), 2);
    let a = &r.teams[0];
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
    let b = &r.teams[1];
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
    assert_eq!(a2.ci.as_deref(), Some("failure"));
    assert_eq!(line("a4").pr.as_ref().unwrap().state, "closed");
    assert!(line("a3").pr.is_none());
}

#[tokio::test]
async fn needs_attention_lists_the_pause_failures_ci_and_missing_reviewers() {
    let s = four_days().await;
    let r = s.report("modernize").await;
    let kinds: Vec<(AttentionKind, Option<&str>)> = r
        .attention
        .iter()
        .map(|a| (a.kind, a.repo.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (AttentionKind::Paused, None),
            (AttentionKind::CiFailing, Some("a2")),
            (AttentionKind::NoReviewer, Some("a2")),
            (AttentionKind::VerifyFailed, Some("b4")),
        ]
    );
    assert_eq!(
        r.attention[0].problem,
        "CI fails on 1 of 3 pull requests of tranche 2"
    );
    assert!(r.attention[0].next.contains("fleetwright resume modernize"));
    assert!(r.attention[1].next.contains("PR's checks"));
    assert_eq!(r.attention[1].pr.as_ref().map(|p| p.number), Some(1));
    // Ten lines of verify output: the first, a gap, the last four.
    assert_eq!(
        r.attention[3].problem,
        "verify exited with status 1\n…\ntest case 6 ... ok\ntest case 7 ... ok\ntest case 8 ... ok\ntest case 9 ... FAILED: expected any, found interface{}"
    );
    assert!(r.attention[3].next.contains("verify command"));
    // A paused campaign's gate is not what holds it back.
    assert!(!kinds.iter().any(|(k, _)| *k == AttentionKind::GateWaiting));
}

#[tokio::test]
async fn the_report_reads_back_from_json_and_renders_every_format() {
    let s = four_days().await;
    let r = s.report("modernize").await;
    let json = serde_json::to_string(&r).unwrap();
    let back: CampaignReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], 1);
    assert_eq!(value["tranches"][1]["settled_percent"], 40);
    assert_eq!(value["attention"][0]["kind"], "paused");

    let page = html::render(&r);
    assert!(page.contains(r#"<svg id="burndown""#));
    for id in ["tranches", "teams", "targets", "days"] {
        assert!(page.contains(&format!(r#"<table id="{id}""#)), "{id}");
    }
    for t in &r.targets {
        if let Some(pr) = &t.pr {
            assert!(
                page.contains(&format!(r#"href="{}""#, pr.url)),
                "{}",
                pr.url
            );
        }
    }
    assert_eq!(page.matches(r#"<tr class="target""#).count(), 8);
    // Scans exist: the matches line and its axis are drawn.
    assert!(page.contains("series-matches"));
    assert!(page.contains("places to migrate"));

    let md = markdown::render(&r);
    assert!(
        md.contains("- [x] a1 — merged [#1](https://forge.example/acme/a1/pull/1)"),
        "{md}"
    );
    assert!(md.contains("- [ ] a2 — PR open [#1](https://forge.example/acme/a2/pull/1) (CI failing, nobody asked to review)"), "{md}");
    assert!(md.contains("- [ ] b1 — PR open [#1](https://forge.example/acme/b1/pull/1) (awaiting review, stale, owners reminded)"), "{md}");
    assert!(md.contains("## Needs attention (4)"), "{md}");

    let rows = csv::targets(&r);
    // Records end with CRLF; b4's reason keeps its own line breaks inside
    // one quoted field.
    assert_eq!(rows.matches("\r\n").count(), 1 + 8);
    assert!(rows.starts_with("repo,component,owner,tranche,"));
    assert!(rows.contains(",\"verify exited with status 1\n"), "{rows}");
    let days = csv::days(&r);
    let day1 = format!("{},1,2,0,1,2,2,6\r\n", s.date(1));
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
        status: status.into(),
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
    assert_eq!(
        kinds,
        [
            AttentionKind::GateWaiting,
            AttentionKind::Failed,
            AttentionKind::Failed,
            AttentionKind::NeedsAttention,
        ]
    );
    assert_eq!(r.attention[0].problem, note);
    assert!(r.attention[1].next.starts_with("Check the repository URL"));
    assert!(
        r.attention[1]
            .next
            .contains("`fleetwright run c` retries it")
    );
    assert_eq!(r.attention[1].step.as_deref(), Some("clone"));
    assert_eq!(r.attention[1].problem, "could not resolve host");
    assert!(r.attention[2].next.contains("pull_request.branch"));
    assert!(r.attention[3].next.contains("reason"));
    assert_eq!(r.attention[3].problem, "someone pushed to the branch");
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
    // The page's own script is the only one.
    assert_eq!(page.matches("<script").count(), 1);
    let md = markdown::render(&r);
    assert!(!md.contains("<img") && !md.contains("<script") && !md.contains("](javascript"));
}
