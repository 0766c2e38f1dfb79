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
        h.settled,
        count("merged") + count("declined") + count("no_change")
    );
    // Settled is not migrated: the declined one is still on the old way.
    assert_eq!(h.settled, 4);
    assert_eq!((h.migrated, h.migrated_percent), (3, 60));
    assert_eq!((h.not_needed, h.opted_out, h.in_progress), (1, 0, 1));
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
    // Nothing failed: the only cause is the owners' "no".
    let causes: Vec<_> = json.attention.iter().map(|g| (g.kind, g.count)).collect();
    assert_eq!(
        causes,
        [(fleetwright::report::attention::AttentionKind::Declined, 1)],
        "{:?}",
        json.attention
    );

    // Markdown: a checklist per team, every PR linked.
    let md = report(&sb, &["--format", "md"]);
    assert!(
        md.contains("**3 of 5 repositories migrated \\(60%\\): 2 merged, 1 needed no change; 1 declined by its owners, 1 still in progress. The migration is not measured yet: `fleetwright scan modernize-logging` counts the places still to migrate.**"),
        "{md}"
    );
    for line in [
        "- [x] checkout-web — merged [#1](local://checkout-web/pull/1)",
        "- [ ] billing-api — pull request open [#1](local://billing-api/pull/1) (awaiting review)",
        "- [x] ledger-go — merged [#1](local://ledger-go/pull/1)",
        "- [x] status-page — no change needed",
    ] {
        assert!(md.lines().any(|l| l == line), "no `{line}` in\n{md}");
    }
    let declined = md
        .lines()
        .find(|l| {
            l.starts_with(
                "- [ ] notify-worker — declined by its owners [#1](local://notify-worker/pull/1)",
            )
        })
        .unwrap_or_else(|| panic!("no declined line in\n{md}"));
    assert!(
        !declined.contains("<notify>") && !declined.contains("](javascript"),
        "{declined}"
    );
    assert!(md.contains("### team-a — 2 of 3 migrated"), "{md}");
    assert!(md.contains("### team-b — 1 of 2 migrated"), "{md}");

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
    // merged, open, declined, closed by the platform team, no change
    // needed, opted out, not started, other, places (not scanned).
    assert!(
        days.last().unwrap().ends_with(",2,1,1,0,1,0,0,0,"),
        "{days:?}"
    );
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
    assert!(
        html.contains("3 of 5 repositories migrated (60%): 2 merged, 1 needed no change; 1 declined by its owners, 1 still in progress."),
        "{html}"
    );
    // The repositories table is drawn by the page's script from its data
    // (the browser test checks the drawing): one row per repository, each
    // pull request's address there to link.
    let data = fleetwright::sim::report_fleet::page_data(&html);
    assert_eq!(data["targets"].as_array().unwrap().len(), 5);
    let prs: Vec<&str> = status
        .targets
        .iter()
        .filter_map(|t| t.pr.as_ref().map(|p| p.url.as_str()))
        .collect();
    assert_eq!(prs.len(), 4);
    for url in prs {
        assert!(
            data["targets"].as_array().unwrap().iter().any(|row| {
                fleetwright::sim::report_fleet::row_link(&data, row).as_deref() == Some(url)
            }),
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

/// Every pull request merged or declined, one repository opted out, one
/// needing no change, and a scan that still finds the old way in the
/// declined and the opted-out ones: settled, but not migrated.
#[test]
fn a_settled_campaign_is_not_100_percent_while_the_scan_finds_places_left() {
    let mut frozen = python("ledger-sync", "team-b", "production");
    frozen.files.push((
        ".fleetwright.yaml".into(),
        "opt_out:\n  reason: frozen until the rewrite lands\n".into(),
    ));
    let sb = Sandbox::new(
        vec![
            python("checkout-web", "team-a", "experimental"),
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
            frozen,
            clean("status-page", "team-a", "production"),
        ],
        "[1, rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "checkout-web"])
        .code(0);
    sb.run(&["advance", CAMPAIGN]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "billing-api"]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "ledger-go"]).code(0);
    sb.run(&[
        "local",
        "close",
        CAMPAIGN,
        "notify-worker",
        "--comment",
        "retiring it next quarter",
    ])
    .code(0);
    sb.run(&["scan", CAMPAIGN]).code(0);
    let states: BTreeMap<String, String> = crate::util::states(&sb.status());
    assert_eq!(
        states.values().filter(|s| s.as_str() == "merged").count(),
        3,
        "{states:?}"
    );
    assert_eq!(states["notify-worker"], "declined", "{states:?}");
    assert_eq!(states["ledger-sync"], "opted_out", "{states:?}");
    assert_eq!(states["status-page"], "no_change", "{states:?}");

    let json: CampaignReport = serde_json::from_str(&report(&sb, &["--format", "json"])).unwrap();
    let h = &json.headline;
    let left = h.remaining_matches.expect("scanned");
    assert!(left > 0, "the scan finds the old way: {h:?}");
    assert_eq!(h.repos_left, 2, "{h:?}");
    assert_eq!(h.settled, 6, "every repository is settled");
    assert_eq!(
        (
            h.migrated,
            h.migrated_percent,
            h.declined,
            h.opted_out,
            h.not_needed
        ),
        (4, 66, 1, 1, 1)
    );
    let places = if left == 1 { "place" } else { "places" };
    let sentence = format!(
        "4 of 6 repositories migrated (66%): 3 merged, 1 needed no change; 1 declined by its owners, 1 opted out. \
         The latest scan finds {left} {places} still to migrate in 2 repositories."
    );
    assert_eq!(h.sentence(CAMPAIGN), sentence);
    let line = |repo: &str| json.targets.iter().find(|t| t.repo == repo).unwrap();
    assert_eq!(line("notify-worker").state_label, "declined by its owners");
    assert_eq!(line("ledger-sync").state_label, "opted out");
    assert!(!line("notify-worker").migrated && !line("ledger-sync").migrated);
    let value: serde_json::Value =
        serde_json::from_str(&report(&sb, &["--format", "json"])).unwrap();
    assert_eq!(value["schema"], 3);
    assert_eq!(value["headline"]["migrated_percent"], 66);

    // HTML: the headline, never 100%, and the declined and opted-out ones
    // with their reasons.
    let html = report(&sb, &["--format", "html"]);
    let headline = html
        .split(r#"<p id="headline" class="headline">"#)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("the headline");
    assert!(!headline.contains("100%"), "{headline}");
    assert!(
        headline.starts_with("4 of 6 repositories migrated (66%)"),
        "{headline}"
    );
    assert!(
        headline.contains("1 declined by its owners, 1 opted out"),
        "{headline}"
    );
    assert!(html.contains(r#"<h3 id="declined">"#));
    assert!(html.contains("retiring it next quarter"));
    assert!(html.contains("frozen until the rewrite lands"));

    // Markdown: the same words; declined and opted out are never ticked.
    let md = report(&sb, &["--format", "md"]);
    let first = md
        .lines()
        .find(|l| l.starts_with("**"))
        .expect("a headline");
    assert!(!first.contains("100%"), "{md}");
    assert!(
        md.contains("4 of 6 repositories migrated \\(66%\\)"),
        "{md}"
    );
    assert!(
        md.lines().any(|l| l
            == "- [ ] notify-worker — declined by its owners [#1](local://notify-worker/pull/1): retiring it next quarter"),
        "{md}"
    );
    assert!(
        md.lines()
            .any(|l| l == "- [ ] ledger-sync — opted out: frozen until the rewrite lands"),
        "{md}"
    );
    assert!(md.contains("## Declined and opted out (2)"), "{md}");
    let ticked = md.lines().filter(|l| l.starts_with("- [x] ")).count();
    assert_eq!(ticked, 4, "{md}");

    // CSV: the stored state, and the words.
    let csv = report(&sb, &["--format", "csv"]);
    assert!(
        csv.contains(",declined,declined by its owners,declined,true,false,"),
        "{csv}"
    );
    assert!(
        csv.contains(",opted_out,opted out,opted_out,true,false,"),
        "{csv}"
    );
}

/// `cancel --close-prs` closes the open pull requests as the platform
/// team: not the owners' declines, and the reason said once.
#[test]
fn pull_requests_closed_by_cancel_are_the_platform_teams_not_the_owners() {
    let sb = Sandbox::new(
        vec![
            python("alpha", "team-a", "production"),
            python("bravo", "team-a", "production"),
            python("charlie", "team-b", "production"),
        ],
        "[rest]",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    sb.run(&[
        "local",
        "close",
        CAMPAIGN,
        "alpha",
        "--comment",
        "not for us",
    ])
    .code(0);
    sb.run(&["cancel", CAMPAIGN, "--reason", "superseded"])
        .code(0);
    let closed = sb.run(&[
        "cancel",
        CAMPAIGN,
        "--close-prs",
        "Superseded by the v2 campaign.",
    ]);
    closed.code(0);
    assert!(
        closed.stdout.contains(
            "modernize-logging: cancelled (superseded), 2 pull request(s) closed by the platform team"
        ),
        "{closed:?}"
    );

    let status = sb.status();
    assert_eq!(status.campaign.status_reason.as_deref(), Some("superseded"));
    let alpha = crate::util::target(&status, "alpha");
    assert_eq!(
        (alpha.state.as_str(), alpha.reason.as_deref()),
        ("declined", Some("not for us"))
    );
    for repo in ["bravo", "charlie"] {
        let t = crate::util::target(&status, repo);
        assert_eq!(t.state, "declined", "{t:?}");
        assert_eq!(
            t.reason.as_deref(),
            Some("closed by the platform team: Superseded by the v2 campaign."),
            "{t:?}"
        );
    }
    assert_eq!(
        crate::util::count_events(&sb.events(), "closed_by_platform_team"),
        2
    );

    // The status says "cancelled" once.
    let text = sb.run(&["status", CAMPAIGN]);
    text.code(0);
    assert!(
        text.stdout.contains("\ncancelled: superseded\n"),
        "{text:?}"
    );
    assert!(!text.stdout.contains("cancelled: cancelled"), "{text:?}");

    let json: CampaignReport = serde_json::from_str(&report(&sb, &["--format", "json"])).unwrap();
    let h = &json.headline;
    assert_eq!((h.declined, h.closed_by_platform_team), (1, 2), "{h:?}");
    assert_eq!(
        h.sentence(CAMPAIGN),
        "0 of 3 repositories migrated (0%): 1 declined by its owners, 2 closed by the platform team. \
         The migration is not measured yet: `fleetwright scan modernize-logging` counts the places still to migrate."
    );
    let md = report(&sb, &["--format", "md"]);
    assert!(md.contains("> **cancelled:** superseded\n"), "{md}");
    assert!(
        md.lines().any(|l| l
            == "- [ ] bravo — closed by the platform team [#1](local://bravo/pull/1): Superseded by the v2 campaign."),
        "{md}"
    );
    assert!(
        md.lines()
            .any(|l| l
                == "- [ ] alpha — declined by its owners [#1](local://alpha/pull/1): not for us"),
        "{md}"
    );
    let html = report(&sb, &["--format", "html"]);
    assert!(
        html.contains("<strong>Cancelled:</strong> superseded</p>"),
        "no notice"
    );
    assert!(!html.contains("cancelled: superseded"));
    assert_eq!(
        html.matches(r#"<li data-outcome="closed_by_platform_team">"#)
            .count(),
        2
    );
}

#[test]
fn a_markdown_report_split_by_team_links_the_index_and_the_team_pages() {
    let sb = settled_campaign();
    let dir = sb.file("split");
    report(
        &sb,
        &[
            "--format",
            "md",
            "--split-by",
            "team",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    let index = std::fs::read_to_string(dir.join("index.md")).unwrap();
    let status = sb.status();
    let teams: std::collections::BTreeSet<&str> = status
        .targets
        .iter()
        .map(|t| fleetwright::report::campaign::short_ref(&t.owner))
        .collect();
    assert!(!teams.is_empty());
    for team in teams {
        assert!(
            index.contains(&format!("| [{team}](teams/{team}.md) |")),
            "{team} is not linked:\n{index}"
        );
        let page = std::fs::read_to_string(dir.join(format!("teams/{team}.md"))).unwrap();
        assert!(
            page.contains("[‹ Every team of the campaign](../index.md)"),
            "{page}"
        );
        assert!(page.contains(&format!("· team {team}")), "{page}");
    }
}
