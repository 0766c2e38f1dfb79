//! `fleetwright report`: every format, from the state alone, after a small
//! campaign on the local forge with pull requests merged and closed.

use std::collections::BTreeMap;

use fleetwright::report::CampaignReport;
use fleetwright::report::csv::{DAY_COLUMNS, TARGET_COLUMNS};

use crate::util::{CAMPAIGN, Sandbox, clean, go, python};

/// The reason the owners give when they close notify-worker's pull
/// request: text from outside, with markup in it.
pub const DECLINE: &str = "retiring <notify> & \"friends\" | see [JIRA-1](javascript:alert(1))";

/// Five repositories in two tranches, run to: checkout-web (the canary)
/// and ledger-go merged, billing-api open, notify-worker declined,
/// status-page needing no change. The campaign file is deleted at the end:
/// the report needs only the state.
pub fn settled_campaign() -> Sandbox {
    let sb = Sandbox::new(
        vec![
            python("checkout-web", "team-a", "experimental"),
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
            clean("status-page", "team-a", "production"),
        ],
        "[1, rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "checkout-web"])
        .code(0);
    sb.run(&["advance", CAMPAIGN]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "ledger-go"]).code(0);
    sb.run(&[
        "local",
        "close",
        CAMPAIGN,
        "notify-worker",
        "--comment",
        DECLINE,
    ])
    .code(0);
    std::fs::remove_file(sb.file("campaign.yaml")).unwrap();
    sb
}

/// `report CAMPAIGN ARGS…`, which must succeed; its stdout.
fn report(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["report", CAMPAIGN];
    all.extend(args);
    let out = sb.run(&all);
    out.code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    out.stdout
}

#[test]
fn every_format_reports_the_same_campaign_as_status() {
    let sb = settled_campaign();
    let status = sb.status();
    let expected: BTreeMap<&str, &str> = [
        ("checkout-web", "merged"),
        ("billing-api", "pr_open"),
        ("ledger-go", "merged"),
        ("notify-worker", "declined"),
        ("status-page", "no_change"),
    ]
    .into();
    let states: BTreeMap<&str, &str> = status
        .targets
        .iter()
        .map(|t| (t.repo.as_str(), t.state.as_str()))
        .collect();
    assert_eq!(states, expected, "the scenario did not run as planned");

    // JSON: the model, whose counts are status's.
    let json: CampaignReport = serde_json::from_str(&report(&sb, &["--format", "json"]))
        .expect("report --format json parses as CampaignReport");
    let count = |state: &str| status.counts.get(state).copied().unwrap_or(0);
    let h = &json.headline;
    assert_eq!(h.targets, status.targets.len());
    assert_eq!(h.merged, count("merged"));
    assert_eq!(h.open_prs, count("pr_open"));
    assert_eq!(h.declined, count("declined"));
    assert_eq!(
        h.done,
        count("merged") + count("declined") + count("no_change")
    );
    assert_eq!((h.done, h.done_percent), (4, 80));
    assert_eq!(h.remaining_matches, None, "nothing was scanned");
    assert_eq!(json.campaign.name, status.campaign.name);
    assert_eq!(json.campaign.tranches_open, status.campaign.tranches_open);
    for (line, t) in json.targets.iter().zip(&status.targets) {
        assert_eq!((&line.repo, &line.state), (&t.repo, &t.state));
        assert_eq!(
            line.pr.as_ref().map(|p| &p.url),
            t.pr.as_ref().map(|p| &p.url),
            "{}",
            t.repo
        );
    }
    // Today's point of the burndown is where the targets are now.
    let today = json.days.last().expect("a burndown point");
    assert_eq!(
        (today.merged, today.open, today.declined, today.not_needed),
        (2, 1, 1, 1)
    );
    assert_eq!((today.not_started, today.other), (0, 0));
    let teams: Vec<(&str, usize, usize)> = json
        .teams
        .iter()
        .map(|t| (t.name.as_str(), t.targets, t.settled))
        .collect();
    assert_eq!(teams, [("team-a", 3, 2), ("team-b", 2, 2)]);
    assert!(
        json.attention.is_empty(),
        "nothing failed: {:?}",
        json.attention
    );

    // Markdown: a checklist per team, every PR linked.
    let md = report(&sb, &["--format", "md"]);
    assert!(md.contains("80% of 5 repositories done."), "{md}");
    for line in [
        "- [x] checkout-web — merged [#1](local://checkout-web/pull/1)",
        "- [ ] billing-api — PR open [#1](local://billing-api/pull/1) (awaiting review)",
        "- [x] ledger-go — merged [#1](local://ledger-go/pull/1)",
        "- [x] status-page — no change needed",
    ] {
        assert!(md.lines().any(|l| l == line), "no `{line}` in\n{md}");
    }
    let declined = md
        .lines()
        .find(|l| {
            l.starts_with("- [x] notify-worker — declined [#1](local://notify-worker/pull/1)")
        })
        .unwrap_or_else(|| panic!("no declined line in\n{md}"));
    assert!(
        !declined.contains("<notify>") && !declined.contains("](javascript"),
        "{declined}"
    );
    assert!(md.contains("### team-a — 2 of 3 done"), "{md}");
    assert!(md.contains("### team-b — 2 of 2 done"), "{md}");

    // CSV: a header and one record per target.
    let csv = report(&sb, &["--format", "csv"]);
    let records: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(records[0], TARGET_COLUMNS.join(","));
    assert_eq!(records.len(), 1 + 5, "{csv}");
    for t in &status.targets {
        assert!(
            records[1..]
                .iter()
                .any(|r| r.starts_with(&format!("{},", t.repo))),
            "{} not in {csv}",
            t.repo
        );
    }
    assert!(
        csv.contains("\"retiring <notify> & \"\"friends\"\" | see [JIRA-1](javascript:alert(1))\""),
        "the reason is one quoted field: {csv}"
    );
    let days = report(&sb, &["--format", "csv", "--table", "days"]);
    let days: Vec<&str> = days.split_terminator("\r\n").collect();
    assert_eq!(days[0], DAY_COLUMNS.join(","));
    assert_eq!(days.len(), 1 + json.days.len());
    assert!(days.last().unwrap().ends_with(",2,1,1,1,0,0,"), "{days:?}");
}

#[test]
fn the_html_report_is_one_self_contained_page_with_every_pull_request() {
    let sb = settled_campaign();
    let status = sb.status();
    let out = sb.file("reports/nested/report.html");
    let printed = report(&sb, &["--format", "html", "--out", out.to_str().unwrap()]);
    assert_eq!(printed.trim(), out.to_str().unwrap());
    let html = std::fs::read_to_string(&out).expect("the report file");

    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains(r#"<svg id="burndown""#));
    for id in ["tranches", "teams", "targets", "days"] {
        assert!(
            html.contains(&format!(r#"<table id="{id}""#)),
            "no table {id}"
        );
    }
    assert!(html.contains("80% of 5 repositories done."));
    assert_eq!(html.matches(r#"<tr class="target""#).count(), 5);
    let prs: Vec<&str> = status
        .targets
        .iter()
        .filter_map(|t| t.pr.as_ref().map(|p| p.url.as_str()))
        .collect();
    assert_eq!(prs.len(), 4);
    for url in prs {
        assert!(
            html.contains(&format!(r#"href="{url}""#)),
            "no link to {url}"
        );
    }
    // Nothing is fetched: no external script, style, font or image.
    for fetch in ["<link", " src=", "@import", "url(", "<iframe", "<img"] {
        assert!(!html.contains(fetch), "the page loads something: {fetch}");
    }
    // The decline reason is text, not markup.
    assert!(!html.contains("<notify>"));
    assert!(html.contains("retiring &lt;notify&gt; &amp; &quot;friends&quot;"));
    assert!(!html.contains("href=\"javascript"));

    // Without --out, the page goes to stdout.
    let stdout = report(&sb, &["--format", "html"]);
    assert!(stdout.contains(r#"<svg id="burndown""#));
}

#[test]
fn a_wrong_campaign_or_flag_is_refused() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let out = sb.run(&["report", "no-such-campaign", "--format", "md"]);
    out.code(5);
    assert!(
        out.stderr.contains("no campaign `no-such-campaign`"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(CAMPAIGN),
        "the hint names the campaigns: {out:?}"
    );

    let out = sb.run(&["report", CAMPAIGN, "--format", "md", "--table", "days"]);
    out.code(2);
    assert!(
        out.stderr.contains("--table only applies to --format csv"),
        "{out:?}"
    );

    let out = sb.run(&["report", CAMPAIGN, "--format", "pdf"]);
    out.code(2);
}
