//! The campaign report as one self-contained HTML page: inline CSS, the
//! burndown as inline SVG (`chart.rs`), and a small inline script that
//! sorts the tables and filters the repository list. No network: no
//! external font, script, style sheet or image, so the file can be mailed,
//! attached to a ticket or opened offline.
//!
//! Written for someone who has never seen fleetwright: a headline sentence,
//! the numbers, what needs a person and what to do, progress per tranche
//! and per team, every repository with its pull request linked, and the
//! words explained at the end. Every piece of text from outside
//! (repository names, reasons, owners, URLs) goes through [`esc`], and
//! links are made only to `http(s)` and `local://` addresses.
//!
//! At an organisation's size the page stays small: what needs attention is
//! one entry per cause (fifty repositories listed each, the rest one click
//! away), and the teams and repositories tables are drawn by the script
//! from the page's JSON data, a hundred rows at a time.
//!
//! Stable hooks for tests and scripts: `#headline`, `#pace`, `#summary`,
//! `#attention` (one `li.item` per cause, with `data-kind` and
//! `data-count`), `#declined` (when any: the owners' "no", each listed
//! repository an `li` with `data-outcome`), `svg#burndown`, `table#days`,
//! `table#tranches`, `table#teams` and `table#targets` (drawn by the
//! script: one `tr.team` or `tr.target` per row of the page shown, a
//! target's with `data-state`, the stored state), `script#report-data`
//! (the tables' rows), `#glossary`.

use std::fmt::Write as _;

use std::collections::{BTreeMap, HashMap};

use crate::state::{CiState, ReviewState};

use super::attention::{AttentionGroup, AttentionKind};
use super::campaign::{CampaignReport, GLOSSARY, Outcome, PrLink, count, plural, short_ref};
use super::chart::{self, MATCHES_COLOR, SERIES};
use super::{capitalize, human_day, human_time, link_url, status_reason_text};

/// Escape `s` for HTML text and attribute values: the one HTML escape of
/// fleetwright (the page and its SVG chart use it for every string).
/// Control characters other than newline and tab, and bidi controls that
/// would reorder the text around them, are shown as `\x1b` or `\u{202e}`
/// (see [`crate::escape::is_control`]).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(ch),
            c if crate::escape::is_control(c) => {
                out.push_str(&crate::escape::terminal(c.encode_utf8(&mut [0; 4])));
            }
            c => out.push(c),
        }
    }
    out
}

/// One of our own sentences, with its `code` spans set as `<code>`.
fn esc_code(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

/// The CSS class of a target's colour, by what became of it.
fn outcome_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Merged => "merged",
        Outcome::InProgress => "open",
        Outcome::Declined => "declined",
        Outcome::ClosedByPlatformTeam => "closed",
        Outcome::NotNeeded => "not-needed",
        Outcome::OptedOut => "opted-out",
        Outcome::NotStarted => "not-started",
        Outcome::Failed => "failed",
    }
}

/// Where a page sits among the pages of `report --split-by team`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page<'a> {
    /// On the index page: each team's page, by owner ref, as a relative
    /// link.
    pub team_pages: Option<&'a BTreeMap<String, String>>,
    /// On a team's page: the index page, as a relative link.
    pub index: Option<&'a str>,
}

/// Render `report` as a whole HTML document.
pub fn render(report: &CampaignReport) -> String {
    render_page(report, &Page::default())
}

/// Render `report` as one page of a split report (see [`Page`]).
pub fn render_page(report: &CampaignReport, page: &Page) -> String {
    let c = &report.campaign;
    let h = &report.headline;
    let mut out = String::with_capacity(64 * 1024);
    let (eyebrow, title) = match &report.team {
        Some(team) => (
            format!(
                r#"Migration campaign report · team <span title="{}">{}</span>"#,
                esc(&team.owner),
                esc(&team.name)
            ),
            format!("{} · {}", esc(&team.name), esc(&c.name)),
        ),
        None => ("Migration campaign report".to_string(), esc(&c.name)),
    };
    let back = page
        .index
        .map(|index| {
            format!(
                r#"<p class="back"><a href="{}">‹ Every team of the campaign</a></p>"#,
                esc(index)
            )
        })
        .unwrap_or_default();
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="fleetwright {version}">
<title>{title} · migration report</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header class="top">
{back}<p class="eyebrow">{eyebrow}</p>
<h1>{name}</h1>
<p id="headline" class="headline">{sentence}</p>
<p id="pace" class="pace">{pace}</p>
<p class="meta">{status} <span>Recipe <code>{recipe}</code></span> <span>Tranche {open} of {count} open</span> <span>Launched {launched}</span> <span>Generated {generated}</span></p>
"#,
        version = env!("CARGO_PKG_VERSION"),
        name = esc(&c.name),
        sentence = esc_code(&h.sentence(&c.name)),
        pace = esc(&report.progress.sentence()),
        status = status_pill(&c.status),
        recipe = esc(&c.recipe),
        open = c.tranches_open,
        count = c.tranche_count,
        launched = esc(&human_day(&c.created_at)),
        generated = esc(&human_time(&report.generated_at)),
    );
    if let Some(reason) = c
        .status_reason
        .as_deref()
        .and_then(|r| status_reason_text(&c.status, r))
    {
        let _ = write!(
            out,
            r#"<p class="notice notice-{}"><strong>{}:</strong> {}</p>"#,
            esc(&c.status),
            esc(&capitalize(&c.status)),
            esc(&reason)
        );
    }
    out.push_str("</header>\n");

    summary(&mut out, report);
    attention(&mut out, report);
    burndown(&mut out, report);
    tranches(&mut out, report);
    if report.team.is_none() {
        teams(&mut out, report);
    }
    targets(&mut out, report);
    glossary(&mut out);

    let _ = write!(
        out,
        r#"<footer>Generated by fleetwright {} from its state database on {}. The burndown is replayed from the campaign's event log; run <code>fleetwright report {} --format html</code> again to refresh.</footer>
</main>
<script type="application/json" id="report-data">{}</script>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        env!("CARGO_PKG_VERSION"),
        esc(&human_time(&report.generated_at)),
        esc(&c.name),
        data(report, page),
    );
    out
}

fn status_pill(status: &str) -> String {
    let class = match status {
        "active" => "open",
        "completed" => "merged",
        "paused" => "paused",
        _ => "declined",
    };
    format!(
        r#"<span class="pill pill-{class}">{}</span>"#,
        esc(&capitalize(status))
    )
}

/// The big numbers and the whole fleet's bar.
fn summary(out: &mut String, report: &CampaignReport) {
    let h = &report.headline;
    out.push_str(r#"<section id="summary" aria-label="Summary"><div class="cards">"#);
    let card = |out: &mut String, key: &str, value: String, label: &str, note: String| {
        let _ = write!(
            out,
            r#"<div class="card card-{key}"><div class="value">{value}</div><div class="label">{}</div><div class="note">{}</div></div>"#,
            esc(label),
            note
        );
    };
    card(
        out,
        "migrated",
        format!("{}%", h.migrated_percent),
        "migrated",
        format!(
            "{} of {} {}",
            count(h.migrated),
            count(h.targets),
            plural(h.targets, "repository", "repositories")
        ),
    );
    card(
        out,
        "merged",
        count(h.merged),
        "merged",
        "pull requests merged".into(),
    );
    card(
        out,
        "not-needed",
        count(h.not_needed),
        "no change needed",
        "or not applicable".into(),
    );
    card(
        out,
        "open",
        count(h.open_prs),
        "open",
        "pull requests waiting".into(),
    );
    card(
        out,
        "declined",
        count(h.declined),
        "declined",
        "closed by their owners".into(),
    );
    card(
        out,
        "opted-out",
        count(h.opted_out),
        "opted out",
        "by their owners".into(),
    );
    if h.closed_by_platform_team > 0 {
        card(
            out,
            "closed",
            count(h.closed_by_platform_team),
            "closed",
            "by the platform team".into(),
        );
    }
    card(
        out,
        "failed",
        count(h.failed),
        "failing",
        "need a person".into(),
    );
    card(
        out,
        "not-started",
        count(h.not_started),
        "not started",
        "tranche not open yet".into(),
    );
    match h.remaining_matches {
        Some(left) => card(
            out,
            "matches",
            count(left),
            "places to migrate",
            format!(
                "in {} of the {} {} scanned{}",
                h.repos_left,
                h.scanned_targets,
                plural(h.scanned_targets, "repository", "repositories"),
                h.last_scan_at
                    .as_deref()
                    .map(|at| format!(", as of {}", esc(&human_day(at))))
                    .unwrap_or_default()
            ),
        ),
        None => card(
            out,
            "matches",
            "–".into(),
            "places to migrate",
            format!(
                "not scanned yet: <code>fleetwright scan {}</code>",
                esc(&report.campaign.name)
            ),
        ),
    }
    out.push_str("</div>");
    // The whole fleet in one bar.
    if let Some(today) = report.days.last() {
        let total: usize = SERIES.iter().map(|s| (s.value)(today)).sum();
        out.push_str(&stacked_bar(
            SERIES.iter().map(|s| (s.key, s.noun, (s.value)(today))),
            total,
            "fleet-bar",
        ));
    }
    out.push_str("</section>\n");
}

/// A horizontal bar of `parts` (key, label, count) out of `total`.
fn stacked_bar<'a>(
    // (CSS key, noun, count)
    parts: impl Iterator<Item = (&'a str, &'a str, usize)>,
    total: usize,
    class: &str,
) -> String {
    let mut bar = format!(r#"<div class="bar {class}" role="img" aria-label=""#);
    let mut label = Vec::new();
    let mut segments = String::new();
    for (key, name, n) in parts {
        if n == 0 || total == 0 {
            continue;
        }
        label.push(format!("{n} {name}"));
        let width = n as f64 * 100.0 / total as f64;
        let _ = write!(
            segments,
            r#"<span class="seg seg-{key}" style="width:{width:.3}%" title="{n} {}"></span>"#,
            esc(name)
        );
    }
    let _ = write!(bar, r#"{}">{segments}</div>"#, esc(&label.join(", ")));
    bar
}

/// How many repositories a cause lists in the page; the rest are one click
/// away in the repositories table, filtered by the cause.
const LISTED: usize = 50;

/// How many teams a cause names; the others are counted.
const TEAMS_NAMED: usize = 8;

/// Rows per page of the teams and repositories tables.
const PAGE_ROWS: usize = 100;

fn attention(out: &mut String, report: &CampaignReport) {
    let (holding, said_no): (Vec<&AttentionGroup>, Vec<&AttentionGroup>) =
        report.attention.iter().partition(|g| !g.kind.said_no());
    out.push_str(r#"<section id="attention"><h2>Needs attention"#);
    if holding.is_empty() {
        out.push_str(
            r#"</h2><p class="all-clear">Nothing needs a person right now: no failures, no failing CI, every open pull request has a reviewer.</p>"#,
        );
    } else {
        let repos = report
            .targets
            .iter()
            .filter(|t| t.attention.iter().any(|k| !k.said_no()))
            .count();
        let _ = write!(
            out,
            r#" <span class="count">{} {} · {} {}</span></h2><p class="lede">Grouped by cause, what holds the campaign up most first. Each cause says once what to do; its repositories are behind it.</p><ul class="attention">"#,
            holding.len(),
            plural(holding.len(), "cause", "causes"),
            count(repos),
            plural(repos, "repository", "repositories"),
        );
        for g in holding {
            cause(out, g);
        }
        out.push_str("</ul>");
    }
    if !said_no.is_empty() {
        let n: usize = said_no.iter().map(|g| g.count).sum();
        let _ = write!(
            out,
            r#"<h3 id="declined">Declined and opted out <span class="count">{n}</span></h3><p class="lede">Settled, but not migrated: the old way stays in these repositories. The reasons are the owners' own words (or the platform team's, for pull requests it closed when it cancelled the campaign).</p><ul class="attention said-no">"#,
        );
        for g in said_no {
            cause(out, g);
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

/// One cause: its count, teams, problem, reasons, next step, and its
/// repositories behind a disclosure.
fn cause(out: &mut String, g: &AttentionGroup) {
    let kind = g.kind.as_str();
    let _ = write!(
        out,
        r#"<li class="item item-{kind}" data-kind="{kind}" data-count="{}"><div class="item-head"><span class="badge badge-{kind}">{}</span> "#,
        g.count,
        esc(&g.label),
    );
    if g.kind.is_campaign_wide() {
        out.push_str("<strong>The campaign</strong>");
    } else {
        let _ = write!(
            out,
            "<strong>{} {}</strong>",
            count(g.count),
            plural(g.count, "repository", "repositories")
        );
        if g.holds_gate > 0 {
            let _ = write!(
                out,
                r#" <span class="tag tag-warn">{} in the tranche the gate waits on</span>"#,
                g.holds_gate
            );
        }
    }
    out.push_str("</div>");
    if !g.teams.is_empty() {
        let named: Vec<String> = g
            .teams
            .iter()
            .take(TEAMS_NAMED)
            .map(|t| {
                format!(
                    r#"<span title="{}">{}</span> <span class="muted">{}</span>"#,
                    esc(&t.owner),
                    esc(&t.name),
                    t.count
                )
            })
            .collect();
        let more = g.teams.len().saturating_sub(TEAMS_NAMED);
        let _ = write!(
            out,
            r#"<p class="teams">{} {}{}</p>"#,
            plural(g.teams.len(), "Team:", "Teams:"),
            named.join(", "),
            if more > 0 {
                format!(", and {more} more {}", plural(more, "team", "teams"))
            } else {
                String::new()
            }
        );
    }
    if let Some(problem) = &g.problem {
        out.push_str(&problem_html(g.kind, problem));
    }
    if g.count > 1 && !g.reasons.is_empty() {
        out.push_str(r#"<ul class="reasons">"#);
        let listed = g.reasons_listed(usize::MAX);
        for r in &g.reasons[..listed] {
            let _ = write!(
                out,
                r#"<li><span class="n">{}×</span> {}</li>"#,
                r.count,
                if g.kind.shows_output() {
                    format!("<code>{}</code>", esc(&r.reason))
                } else {
                    esc(&r.reason)
                }
            );
        }
        let more = g.distinct_reasons.saturating_sub(listed);
        if more > 0 {
            let _ = write!(
                out,
                r#"<li class="muted">and {more} other {}{}</li>"#,
                plural(more, "problem", "problems"),
                if g.reasons[0].count == 1 {
                    ": each repository has its own"
                } else {
                    ""
                }
            );
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        r#"<p class="next"><strong>Next:</strong> {}</p>"#,
        esc_code(&g.next)
    );
    if !g.repos.is_empty() {
        let _ = write!(
            out,
            r#"<details class="repos"{}><summary>{}</summary><ul class="repo-list">"#,
            if g.repos.len() <= 3 { " open" } else { "" },
            if g.repos.len() == 1 {
                "The repository".to_string()
            } else {
                format!("The {} repositories", g.repos.len())
            }
        );
        for r in g.repos.iter().take(LISTED) {
            let outcome = if g.kind.said_no() {
                format!(r#" data-outcome="{kind}""#)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                r#"<li{outcome}><strong class="repo">{}</strong> <span class="muted" title="{}">· {}</span>"#,
                esc(&r.repo),
                esc(&r.owner),
                esc(short_ref(&r.owner))
            );
            if let Some(pr) = &r.pr {
                let _ = write!(out, " {}", pr_link(pr));
            }
            if let Some(problem) = &r.problem {
                out.push_str(&problem_html(g.kind, problem));
            }
            out.push_str("</li>");
        }
        if g.repos.len() > LISTED {
            let _ = write!(
                out,
                r##"<li class="more">and {} more: <a href="#repositories" data-cause="{kind}">show all {} in the repositories table</a></li>"##,
                g.repos.len() - LISTED,
                g.repos.len()
            );
        }
        out.push_str("</ul></details>");
    }
    out.push_str("</li>");
}

/// A problem: output from outside keeps its lines in a monospace block; the
/// owners' reasons and our own sentences are prose.
fn problem_html(kind: AttentionKind, problem: &str) -> String {
    if kind.shows_output() {
        format!(r#"<pre class="problem">{}</pre>"#, esc(problem))
    } else if kind.said_no() {
        format!(r#"<div class="reason">{}</div>"#, esc(problem))
    } else {
        format!(r#"<p class="problem-text">{}</p>"#, esc(problem))
    }
}

fn burndown(out: &mut String, report: &CampaignReport) {
    out.push_str(
        r#"<section id="progress"><h2>Burndown</h2><p class="lede">Where every repository stood at the end of each day (UTC), replayed from the campaign's event log. The purple bands at the bottom are merged or need no change; the grey ones were declined, opted out or closed; the green band is waiting for review."#,
    );
    if report.days.iter().any(|d| d.remaining_matches.is_some()) {
        let _ = write!(
            out,
            r#" The dashed <span style="color:{MATCHES_COLOR}">orange line</span> counts the places the recipe still finds (right axis)."#
        );
    }
    out.push_str(r#"</p><figure class="chart-wrap">"#);
    out.push_str(&chart::burndown(&report.days));
    out.push_str("</figure>");
    // The same numbers as a table, for screen readers and print.
    out.push_str(
        r#"<details class="days"><summary>The numbers behind the chart</summary><div class="table-wrap"><table id="days" class="sortable"><thead><tr><th>Day</th><th class="num">Merged</th><th class="num">No change needed</th><th class="num">Declined</th><th class="num">Opted out</th><th class="num">Closed by the platform team</th><th class="num">Open</th><th class="num">Failed</th><th class="num">Not started</th><th class="num">Places to migrate</th></tr></thead><tbody>"#,
    );
    for d in &report.days {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(&d.date),
            d.merged,
            d.not_needed,
            d.declined,
            d.opted_out,
            d.closed_by_platform_team,
            d.open,
            d.other,
            d.not_started,
            d.remaining_matches
                .map_or_else(|| "–".to_string(), |m| m.to_string())
        );
    }
    out.push_str("</tbody></table></div></details></section>\n");
}

fn tranches(out: &mut String, report: &CampaignReport) {
    out.push_str(
        r#"<section id="tranche-progress"><h2>Tranches</h2><p class="lede">Repositories are changed in batches, least risky first; the next batch opens when the previous one meets its gate.</p>"#,
    );
    if let Some(note) = &report.campaign.gate_note {
        let _ = write!(
            out,
            r#"<p class="notice notice-gate"><strong>Gate:</strong> {}</p>"#,
            esc(note)
        );
    }
    let closed = report.headline.closed_by_platform_team > 0;
    let _ = write!(
        out,
        r#"<div class="table-wrap"><table id="tranches"><thead><tr><th>Tranche</th><th>Opened</th><th class="progress-col">Progress</th><th class="num" title="{MIGRATED_TITLE}">Migrated</th><th class="num">Merged</th><th class="num">No change needed</th><th class="num">Open</th><th class="num">Declined</th><th class="num">Opted out</th>{}<th class="num">Failed</th><th class="num">Not started</th></tr></thead><tbody>"#,
        closed_head(closed)
    );
    for t in &report.tranches {
        let k = &t.counts;
        let spec = match &t.spec {
            Some(spec) if spec != &t.name => {
                format!(
                    r#" <span class="tag" title="as the campaign file cuts it">{}</span>"#,
                    esc(spec)
                )
            }
            _ => String::new(),
        };
        let opened = match (&t.opened_at, t.opened) {
            (Some(at), _) => format!(r#"<span class="nowrap">{}</span>"#, esc(&human_day(at))),
            (None, true) => "open".to_string(),
            (None, false) => r#"<span class="muted">not yet</span>"#.to_string(),
        };
        let bar = stacked_bar(
            [
                ("merged", "merged", k.merged),
                ("not-needed", "no change needed", k.not_needed),
                ("declined", "declined", k.declined),
                ("opted-out", "opted out", k.opted_out),
                (
                    "closed",
                    "closed by the platform team",
                    k.closed_by_platform_team,
                ),
                ("open", "open", k.open),
                ("failed", "failed", k.failed),
                ("not-started", "not started", k.not_started),
            ]
            .into_iter(),
            k.targets,
            "tranche-bar",
        );
        let _ = write!(
            out,
            r#"<tr class="tranche{}"><td><span class="tranche-no">{}</span> {}{spec}</td><td>{opened}</td><td class="progress-col">{bar}</td><td class="num" data-sort="{}"><strong>{}%</strong> <span class="muted">{} of {}</span></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>{}<td class="num">{}</td><td class="num">{}</td></tr>"#,
            if t.opened { "" } else { " closed" },
            t.number,
            esc(&t.name),
            k.migrated_percent,
            k.migrated_percent,
            k.migrated,
            k.targets,
            k.merged,
            k.not_needed,
            k.open,
            k.declined,
            k.opted_out,
            closed_cell(closed, k.closed_by_platform_team),
            k.failed,
            k.not_started,
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// What the Migrated columns count, for their tooltips.
const MIGRATED_TITLE: &str = "Merged or needing no change, with no place left by the latest scan";

/// The "closed by the platform team" column's head, when a cancelled
/// campaign's pull requests were closed (no such column otherwise).
fn closed_head(shown: bool) -> &'static str {
    if shown {
        r#"<th class="num" title="Pull requests the platform team closed when it cancelled the campaign">Closed by us</th>"#
    } else {
        ""
    }
}

fn closed_cell(shown: bool, n: usize) -> String {
    if shown { plain(n) } else { String::new() }
}

fn teams(out: &mut String, report: &CampaignReport) {
    let closed = report.headline.closed_by_platform_team > 0;
    let _ = writeln!(
        out,
        r#"<section id="team-progress"><h2>Teams <span class="count">{}</span></h2><p class="lede">Each repository belongs to the team that owns it in the service catalog; the teams with the most left to do come first. Click a column to sort.</p><div class="table-wrap"><table id="teams"><thead><tr><th>Team</th><th class="num">Repos</th><th class="num" title="Repositories not settled yet: open, failing or not started">Left</th><th class="progress-col" title="{MIGRATED_TITLE}">Migrated</th><th class="num">Merged</th><th class="num">No change needed</th><th class="num">Open</th><th class="num" title="Open pull requests whose checks fail">CI failing</th><th class="num" title="Open pull requests with no review verdict yet">Awaiting review</th><th class="num" title="Open pull requests nobody reviewed for a while; the team was reminded">Stale</th><th class="num">Declined</th><th class="num">Opted out</th>{}<th class="num">Failed</th><th class="num">Not started</th></tr></thead><tbody></tbody></table></div>{}</section>"#,
        report.teams.len(),
        closed_head(closed),
        pager("teams", report.teams.len(), "teams", &report.campaign.name),
    );
}

/// The pager under a table the script fills (hidden until it runs), and
/// what a reader without scripts is told.
fn pager(table: &str, rows: usize, what: &str, campaign: &str) -> String {
    format!(
        r#"<div class="pager" id="{table}-pager" hidden><button type="button" class="prev">‹ Previous</button> <span class="info"></span> <button type="button" class="next">Next ›</button></div><noscript><p class="notice">This table shows its {rows} {what} with JavaScript. <code>fleetwright report {} --format csv</code> lists every repository.</p></noscript>"#,
        esc(campaign)
    )
}

fn plain(n: usize) -> String {
    let class = if n == 0 { "num zero" } else { "num" };
    format!(r#"<td class="{class}">{n}</td>"#)
}

fn targets(out: &mut String, report: &CampaignReport) {
    let scans = report.targets.iter().any(|t| t.remaining_matches.is_some());
    let causes: Vec<AttentionKind> = AttentionKind::ALL
        .into_iter()
        .filter(|k| !k.is_campaign_wide() && report.attention.iter().any(|g| g.kind == *k))
        .collect();
    let _ = write!(
        out,
        r#"<section id="repositories"><h2>Repositories <span class="count">{}</span></h2><p class="lede">Every repository of the campaign and its pull request. Click a column to sort.</p><div class="filter" hidden><label for="filter">Filter</label> <input id="filter" type="search" placeholder="repository, team, state…" autocomplete="off">"#,
        report.targets.len(),
    );
    if !causes.is_empty() {
        out.push_str(
            r#" <label for="cause">Cause</label> <select id="cause"><option value="">any</option>"#,
        );
        for k in causes {
            let _ = write!(
                out,
                r#"<option value="{}">{}</option>"#,
                k.as_str(),
                esc(k.label())
            );
        }
        out.push_str("</select>");
    }
    let _ = writeln!(
        out,
        r#" <span id="filter-count" class="muted"></span></div><div class="table-wrap"><table id="targets"><thead><tr><th>Repository</th><th>Team</th><th>Tranche</th><th>State</th><th>Pull request</th><th>CI</th><th>Review</th>{}<th>Note</th></tr></thead><tbody></tbody></table></div>{}</section>"#,
        if scans {
            r#"<th class="num" title="Places the recipe still finds on the default branch">Left</th>"#
        } else {
            ""
        },
        pager(
            "targets",
            report.targets.len(),
            plural(report.targets.len(), "repository", "repositories"),
            &report.campaign.name
        ),
    );
}

/// A pull request's states, by index in the page's data.
const PR_STATES: [&str; 3] = ["open", "merged", "closed"];

/// The longest start all of `texts` share, cut after its last `/` (a
/// whole path segment: `https://github.com/acme/`).
fn common_prefix<'a>(texts: &[&'a str]) -> &'a str {
    let Some(first) = texts.first() else {
        return "";
    };
    let mut len = first.len();
    for t in &texts[1..] {
        len = first
            .bytes()
            .zip(t.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    let shared = &first[..len];
    shared.rfind('/').map_or("", |at| &first[..=at])
}

/// The rows of the teams and repositories tables, for the page's script:
/// one JSON document in a `<script type="application/json">`, compact
/// (arrays, the owners and tranche names said once), so a campaign of
/// 10,000 repositories stays a page that opens. Text from outside is data
/// here, set as text by the script, never as markup; a `<` is written
/// `\u003c` so nothing in it can end the script element.
fn data(report: &CampaignReport, page: &Page) -> String {
    use serde_json::{Value, json};
    let teams: Vec<Value> = report
        .teams
        .iter()
        .map(|t| {
            json!([
                t.name,
                t.owner,
                t.targets,
                t.left,
                t.migrated,
                t.migrated_percent,
                t.merged,
                t.not_needed,
                t.open,
                t.failing_ci,
                t.awaiting_review,
                t.stale,
                t.declined,
                t.opted_out,
                t.closed_by_platform_team,
                t.failed,
                t.not_started,
                page.team_pages.and_then(|p| p.get(&t.owner)),
            ])
        })
        .collect();
    // Said once, named by index in the rows: owners, and the (state,
    // colour, label) each row shows.
    let mut owner_names: Vec<&str> = Vec::new();
    let mut owner_index: HashMap<&str, usize> = HashMap::new();
    let mut states: Vec<[&str; 3]> = Vec::new();
    let mut state_index: HashMap<[&str; 3], usize> = HashMap::new();
    // The pull requests' links share their start (`https://github.com/acme/`)
    // and most end in `/pull/<number>`: only the rest is in each row.
    let links: Vec<&str> = report
        .targets
        .iter()
        .filter_map(|t| t.pr.as_ref().and_then(|p| link_url(&p.url)))
        .collect();
    let prefix = common_prefix(&links);
    let targets: Vec<Value> = report
        .targets
        .iter()
        .map(|t| {
            let o = *owner_index.entry(t.owner.as_str()).or_insert_with(|| {
                owner_names.push(t.owner.as_str());
                owner_names.len() - 1
            });
            let shown = [
                t.state.as_str(),
                outcome_class(t.outcome),
                t.state_label.as_str(),
            ];
            let st = *state_index.entry(shown).or_insert_with(|| {
                states.push(shown);
                states.len() - 1
            });
            let pr = t.pr.as_ref();
            let link = pr.and_then(|p| link_url(&p.url).map(|url| (p.number, url)));
            // The link after the shared start, and whether it ends with
            // `/pull/<number>` (left out then).
            let (rest, pull_style) = match link {
                Some((number, url)) => {
                    let rest = &url[prefix.len()..];
                    match rest.strip_suffix(&format!("/pull/{number}")) {
                        Some(base) => (Some(base), true),
                        None => (Some(rest), false),
                    }
                }
                None => (None, false),
            };
            let flags = u8::from(t.outcome.done() && !t.migrated)
                | u8::from(t.stale) << 1
                | u8::from(t.recipe_exact == Some(true)) << 2
                | u8::from(t.recipe_exact == Some(false)) << 3
                | u8::from(t.no_reviewer) << 4
                | u8::from(pr.is_some_and(|p| p.draft)) << 5
                | u8::from(pull_style) << 6;
            let causes = t.attention.iter().fold(0u32, |mask, k| {
                mask | AttentionKind::ALL
                    .iter()
                    .position(|all| all == k)
                    .map_or(0, |i| 1 << i)
            });
            let reason = t.reason_shown().map(|r| {
                let first = r.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                super::shorten(first, 140)
            });
            json!([
                t.repo,
                if short_ref(&t.component) == t.repo {
                    ""
                } else {
                    t.component.as_str()
                },
                o,
                t.tranche,
                st,
                pr.map(|p| p.number),
                rest,
                pr.map(|p| PR_STATES.iter().position(|s| *s == p.state).unwrap_or(0)),
                t.ci.and_then(|c| CiState::ALL.iter().position(|x| *x == c)),
                t.review
                    .and_then(|r| ReviewState::ALL.iter().position(|x| *x == r)),
                t.remaining_matches,
                flags,
                reason,
                t.step,
                causes,
            ])
        })
        .collect();
    let tranches: BTreeMap<i64, &str> = report
        .tranches
        .iter()
        .map(|t| (t.number, t.name.as_str()))
        .collect();
    let data = json!({
        "scans": report.targets.iter().any(|t| t.remaining_matches.is_some()),
        "closed": report.headline.closed_by_platform_team > 0,
        "size": PAGE_ROWS,
        "kinds": AttentionKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "tranches": tranches,
        "owners": owner_names,
        "states": states,
        "pr_states": PR_STATES,
        "ci": CiState::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "review": ReviewState::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "link": prefix,
        "teams": teams,
        "targets": targets,
    });
    data.to_string().replace('<', "\\u003c")
}

/// `#12` linked to the pull request (plain text when its address is not
/// `http(s)` or `local://`), with a draft mark.
fn pr_link(pr: &PrLink) -> String {
    let draft = if pr.draft {
        r#" <span class="tag">draft</span>"#
    } else {
        ""
    };
    let class = match pr.state.as_str() {
        "merged" => "merged",
        "closed" => "declined",
        _ => "open",
    };
    match link_url(&pr.url) {
        Some(url) => format!(
            r#"<a class="pr pr-{class}" href="{}" title="{}">#{}</a>{draft}"#,
            esc(url),
            esc(&format!("{} pull request", pr.state)),
            pr.number
        ),
        None => format!(
            r#"<span class="pr pr-{class}" title="{}">#{}</span>{draft}"#,
            esc(&pr.url),
            pr.number
        ),
    }
}

fn glossary(out: &mut String) {
    out.push_str(r#"<section id="terms"><h2>What the words mean</h2><dl id="glossary">"#);
    for (term, meaning) in GLOSSARY {
        let _ = write!(
            out,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            esc(term),
            esc_code(meaning)
        );
    }
    out.push_str("</dl></section>\n");
}

/// The tables: the small ones written in the page sort in the DOM (numbers
/// as numbers, `data-sort` when a cell has one); the teams and
/// repositories tables are drawn from the page's JSON data one page at a
/// time (sorting and filtering the data, not the DOM), with the filter by
/// words and by cause. Plain ES5 so it runs everywhere; every piece of
/// text is set with `textContent`, never as markup. The filter box and
/// the pagers are hidden until this runs.
const SCRIPT: &str = r##"
(function () {
  "use strict";
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function td(cls, content) {
    var cell = el("td", cls);
    if (content !== undefined && content !== null) {
      if (typeof content === "object") { cell.appendChild(content); } else { cell.textContent = String(content); }
    }
    return cell;
  }
  function num(n) { return Number(n).toLocaleString("en-US"); }
  function cmp(x, y) {
    if (typeof x !== typeof y) { x = String(x); y = String(y); }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    if (v === null) { v = cell.textContent.trim(); }
    var n = parseFloat(v);
    return isNaN(n) || String(n) !== v.replace(/^\+/, "") ? v.toLowerCase() : n;
  }
  function sortable(heads, sort) {
    for (var h = 0; h < heads.length; h++) {
      (function (th, col) {
        th.classList.add("sort");
        th.tabIndex = 0;
        function go() {
          var asc = th.getAttribute("aria-sort") !== "ascending";
          for (var k = 0; k < heads.length; k++) { heads[k].removeAttribute("aria-sort"); }
          th.setAttribute("aria-sort", asc ? "ascending" : "descending");
          sort(col, asc);
        }
        th.addEventListener("click", go);
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
        });
      })(heads[h], h);
    }
  }

  // Small tables written in the page: sorted in the DOM.
  var tables = document.querySelectorAll("table.sortable");
  for (var t = 0; t < tables.length; t++) {
    (function (table) {
      sortable(table.querySelectorAll("thead th"), function (col, asc) {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { return cmp(key(a.cells[col]), key(b.cells[col])) * (asc ? 1 : -1); });
        for (var r = 0; r < rows.length; r++) { body.appendChild(rows[r]); }
      });
    })(tables[t]);
  }

  var node = document.getElementById("report-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);

  // A table drawn from rows of data, one page at a time.
  function Paged(id, rows, keys, draw) {
    var table = document.getElementById(id);
    if (!table) { return; }
    var self = this;
    self.rows = rows; self.shown = rows; self.page = 0; self.col = -1; self.asc = true;
    self.keys = keys; self.draw = draw; self.body = table.tBodies[0];
    self.pager = document.getElementById(id + "-pager");
    if (self.pager) {
      self.pager.hidden = rows.length <= data.size;
      self.info = self.pager.querySelector(".info");
      self.prev = self.pager.querySelector(".prev");
      self.next = self.pager.querySelector(".next");
      self.prev.addEventListener("click", function () { self.go(self.page - 1); });
      self.next.addEventListener("click", function () { self.go(self.page + 1); });
    }
    sortable(table.tHead.rows[0].cells, function (col, asc) {
      self.col = col; self.asc = asc; self.order(); self.go(0);
    });
    self.go(0);
  }
  Paged.prototype.order = function () {
    if (this.col < 0) { return; }
    var key = this.keys[this.col], sign = this.asc ? 1 : -1;
    var keyed = this.shown.map(function (r, i) { return [key(r), i, r]; });
    keyed.sort(function (a, b) { return cmp(a[0], b[0]) * sign || a[1] - b[1]; });
    this.shown = keyed.map(function (k) { return k[2]; });
  };
  Paged.prototype.filter = function (keep) {
    this.shown = keep ? this.rows.filter(keep) : this.rows;
    this.order();
    this.go(0);
  };
  Paged.prototype.go = function (page) {
    var size = data.size, n = this.shown.length;
    var pages = Math.max(1, Math.ceil(n / size));
    this.page = Math.min(Math.max(page, 0), pages - 1);
    var start = this.page * size, end = Math.min(start + size, n);
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) { frag.appendChild(this.draw(this.shown[i])); }
    this.body.textContent = "";
    this.body.appendChild(frag);
    if (this.pager && !this.pager.hidden) {
      this.info.textContent = n ? "Rows " + num(start + 1) + "–" + num(end) + " of " + num(n) : "No rows";
      this.prev.disabled = this.page === 0;
      this.next.disabled = this.page >= pages - 1;
    }
  };

  function count(n, cls) {
    return td("num" + (n > 0 ? (cls ? " " + cls : "") : " zero"), n);
  }

  // Teams: name, owner, repos, left, migrated, migrated %, merged, not
  // needed, open, CI failing, awaiting review, stale, declined, opted out,
  // closed by us, failed, not started, page.
  var teamKeys = [
    function (r) { return r[0].toLowerCase(); }, function (r) { return r[2]; },
    function (r) { return r[3]; }, function (r) { return r[5]; },
    function (r) { return r[6]; }, function (r) { return r[7]; }, function (r) { return r[8]; },
    function (r) { return r[9]; }, function (r) { return r[10]; }, function (r) { return r[11]; },
    function (r) { return r[12]; }, function (r) { return r[13]; }
  ];
  if (data.closed) { teamKeys.push(function (r) { return r[14]; }); }
  teamKeys.push(function (r) { return r[15]; }, function (r) { return r[16]; });
  new Paged("teams", data.teams, teamKeys, function (r) {
    var tr = el("tr", "team");
    var name = el("td");
    var strong = el("strong", null, r[0]);
    if (r[17]) {
      var a = el("a");
      a.href = r[17];
      a.appendChild(strong);
      name.appendChild(a);
    } else {
      name.appendChild(strong);
    }
    name.appendChild(el("div", "muted small", r[1]));
    tr.appendChild(name);
    tr.appendChild(td("num", r[2]));
    tr.appendChild(count(r[3]));
    var mig = td("progress-col");
    var mini = el("div", "mini"), fill = el("div", "mini-fill");
    fill.style.width = Math.min(r[5], 100) + "%";
    mini.appendChild(fill);
    mig.appendChild(mini);
    mig.appendChild(el("span", "small", r[5] + "% · " + r[4] + " of " + r[2]));
    tr.appendChild(mig);
    tr.appendChild(count(r[6])); tr.appendChild(count(r[7])); tr.appendChild(count(r[8]));
    tr.appendChild(count(r[9], "warn")); tr.appendChild(count(r[10])); tr.appendChild(count(r[11], "warn"));
    tr.appendChild(count(r[12])); tr.appendChild(count(r[13]));
    if (data.closed) { tr.appendChild(count(r[14])); }
    tr.appendChild(count(r[15], "warn")); tr.appendChild(count(r[16]));
    return tr;
  });

  // Repositories: repo, component, owner, tranche, state (of
  // data.states: stored state, colour, label), PR number, PR link (after
  // data.link), PR state, CI, review (indexes of data.pr_states, .ci,
  // .review), places left, flags, reason, failed step, causes (a bit per
  // data.kinds).
  var owners = data.owners;
  function team(owner) { var i = owner.lastIndexOf("/"); var n = owner.slice(i + 1); i = n.lastIndexOf(":"); return n.slice(i + 1) || owner; }
  function pick(list, i) { return i === null || i === undefined ? null : list[i]; }
  var targetKeys = [
    function (r) { return r[0].toLowerCase(); },
    function (r) { return team(owners[r[2]]).toLowerCase(); },
    function (r) { return r[3]; },
    function (r) { return data.states[r[4]][0]; },
    function (r) { return r[5] === null ? 0 : r[5]; },
    function (r) { return pick(data.ci, r[8]) || ""; },
    function (r) { return pick(data.review, r[9]) || ""; }
  ];
  if (data.scans) { targetKeys.push(function (r) { return r[10] === null ? -1 : r[10]; }); }
  targetKeys.push(function (r) { return (r[12] || "").toLowerCase(); });
  var CI = { failure: ["ci ci-failure", "failing"], success: ["ci ci-success", "passing"], pending: ["ci ci-pending", "running"] };
  var REVIEW = { approved: ["rv rv-approved", "approved"], changes_requested: ["rv rv-changes", "changes requested"], pending: ["rv", "waiting"] };
  function tag(cls, text, title) { var s = el("span", cls, text); if (title) { s.title = title; } return s; }
  function marked(map, v) { var m = v && map[v]; return m ? el("span", m[0], m[1]) : el("span", "muted", "–"); }
  var targets = new Paged("targets", data.targets, targetKeys, function (r) {
    var state = data.states[r[4]], flags = r[11], prState = pick(data.pr_states, r[7]);
    var tr = el("tr", "target");
    tr.setAttribute("data-state", state[0]);
    var repo = el("td");
    repo.appendChild(el("strong", "repo", r[0]));
    if (r[1]) { repo.appendChild(el("div", "muted small", r[1])); }
    tr.appendChild(repo);
    var owner = owners[r[2]];
    var teamCell = td("nowrap", team(owner));
    teamCell.title = owner;
    tr.appendChild(teamCell);
    var tranche = td("nowrap", r[3] + " ");
    tranche.appendChild(el("span", "muted small", data.tranches[r[3]] || ""));
    tr.appendChild(tranche);
    tr.appendChild(td(null, el("span", "pill st-" + state[1], state[2])));
    var pr = td();
    if (r[5] === null) {
      pr.appendChild(el("span", "muted", "–"));
    } else {
      var cls = "pr pr-" + (prState === "merged" ? "merged" : prState === "closed" ? "declined" : "open");
      var link = el(r[6] !== null ? "a" : "span", cls, "#" + r[5]);
      if (r[6] !== null) { link.href = data.link + r[6] + (flags & 64 ? "/pull/" + r[5] : ""); }
      link.title = prState + " pull request";
      pr.appendChild(link);
      if (flags & 32) { pr.appendChild(document.createTextNode(" ")); pr.appendChild(tag("tag", "draft")); }
    }
    tr.appendChild(pr);
    tr.appendChild(td(null, marked(CI, pick(data.ci, r[8]))));
    tr.appendChild(td(null, marked(REVIEW, pick(data.review, r[9]))));
    if (data.scans) { tr.appendChild(td("num", r[10] === null ? "–" : r[10])); }
    var note = td("note"), parts = [];
    if (flags & 1) { parts.push(tag("tag tag-warn", "not migrated: the scan still finds places")); }
    if (flags & 2) { parts.push(tag("tag tag-stale", "stale · owners reminded")); }
    if (prState === "open" && flags & 4) { parts.push(tag("tag", "recipe-exact", "its branch holds exactly the recipe's change")); }
    if (prState === "open" && flags & 8) { parts.push(tag("tag tag-warn", "not recipe-exact", "a commit on its branch changed more than the recipe")); }
    if (flags & 16) { parts.push(tag("tag tag-warn", "nobody asked to review")); }
    if (r[12]) {
      var reason = el("span", "reason");
      if (r[13]) { reason.appendChild(el("code", null, r[13])); reason.appendChild(document.createTextNode(": ")); }
      reason.appendChild(document.createTextNode(r[12]));
      parts.push(reason);
    }
    for (var i = 0; i < parts.length; i++) {
      if (i) { note.appendChild(document.createTextNode(" ")); }
      note.appendChild(parts[i]);
    }
    tr.appendChild(note);
    return tr;
  });

  // The filter: words anywhere in a row, and a cause.
  var filter = document.getElementById("filter");
  var cause = document.getElementById("cause");
  var shown = document.getElementById("filter-count");
  if (filter && targets.rows) {
    filter.parentNode.hidden = false;
    var hay = null;
    var apply = function () {
      var q = filter.value.trim().toLowerCase();
      var bit = cause && cause.value ? data.kinds.indexOf(cause.value) : -1;
      if (!q && bit < 0) { targets.filter(null); shown.textContent = ""; return; }
      if (!hay) {
        hay = data.targets.map(function (r) {
          var state = data.states[r[4]];
          return [r[0], r[1], owners[r[2]], data.tranches[r[3]], state[0], state[2], r[12] || "", r[13] || ""].join(" ").toLowerCase();
        });
        data.targets.forEach(function (r, i) { r.hay = hay[i]; });
      }
      targets.filter(function (r) {
        return (!q || r.hay.indexOf(q) >= 0) && (bit < 0 || (r[14] & (1 << bit)) !== 0);
      });
      shown.textContent = num(targets.shown.length) + " of " + num(targets.rows.length) + " shown";
    };
    filter.addEventListener("input", apply);
    if (cause) { cause.addEventListener("change", apply); }
    var links = document.querySelectorAll("a[data-cause]");
    for (var l = 0; l < links.length; l++) {
      links[l].addEventListener("click", function (e) {
        if (!cause) { return; }
        cause.value = this.getAttribute("data-cause");
        filter.value = "";
        apply();
        e.preventDefault();
        document.getElementById("repositories").scrollIntoView();
      });
    }
  }
})();
"##;

/// The page's style: system fonts, GitHub-like greys, the state colours of
/// the chart, tables that scroll sideways on a phone, and a print layout.
const CSS: &str = r##"
:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --bg: #ffffff;
  --merged: #8250df; --not-needed: #c8b3f0; --declined: #8c959f; --open: #2da44e;
  --failed: #cf222e; --not-started: #d8dee4; --matches: #bc4c00; --link: #0969da;
  --opted-out: #c4a56a; --closed: #57606a;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--soft); color: var(--fg);
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, "Liberation Sans", sans-serif;
}
main { max-width: 1160px; margin: 0 auto; padding: 32px 24px 48px; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; background: rgba(175,184,193,.2); padding: .1em .35em; border-radius: 4px; }
h1 { font-size: 28px; line-height: 1.25; margin: 2px 0 6px; font-weight: 600; word-break: break-word; }
h2 { font-size: 18px; margin: 0 0 4px; font-weight: 600; display: flex; align-items: center; gap: 8px; }
section, header.top { background: var(--bg); border: 1px solid var(--line); border-radius: 12px; padding: 20px 24px; margin: 0 0 16px; }
header.top { padding: 24px; }
.eyebrow { margin: 0; color: var(--muted); font-size: 12px; font-weight: 600; letter-spacing: .06em; text-transform: uppercase; }
.headline { font-size: 20px; margin: 0 0 10px; }
.meta { margin: 0; color: var(--muted); display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; }
.lede { margin: 0 0 14px; color: var(--muted); }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.nowrap { white-space: nowrap; }
.count { font-size: 12px; font-weight: 600; background: var(--soft); border: 1px solid var(--line); border-radius: 20px; padding: 0 8px; color: var(--muted); }
.notice { margin: 14px 0 0; padding: 10px 14px; border-radius: 8px; border: 1px solid; }
.notice-paused, .notice-gate { background: #fff8c5; border-color: #d4a72c66; }
.notice-cancelled { background: #ffebe9; border-color: #ff818266; }
.notice-completed { background: #fbefff; border-color: #c297ff66; }
.notice-active { background: #ddf4ff; border-color: #54aeff66; }
.notice-gate { margin: 0 0 14px; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 20px; font-size: 12px; font-weight: 600; line-height: 20px; white-space: nowrap; color: #fff; }
.pill-open { background: var(--open); } .pill-merged { background: var(--merged); }
.pill-paused { background: #9a6700; } .pill-declined { background: var(--declined); }
.st-merged { background: var(--merged); } .st-open { background: var(--open); }
.st-declined { background: var(--declined); } .st-failed { background: var(--failed); }
.st-opted-out { background: var(--opted-out); } .st-closed { background: var(--closed); }
.st-not-needed { background: #ede4fb; color: #6639ba; }
.st-not-started { background: var(--soft); color: var(--muted); border: 1px solid var(--line); line-height: 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(132px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; border-top: 4px solid var(--line); }
.card .value { font-size: 26px; font-weight: 600; line-height: 1.2; font-variant-numeric: tabular-nums; }
.card .label { font-weight: 600; }
.card .note { color: var(--muted); font-size: 12px; }
.card-migrated { border-top-color: var(--merged); } .card-merged { border-top-color: var(--merged); }
.card-not-needed { border-top-color: var(--not-needed); } .card-opted-out { border-top-color: var(--opted-out); }
.card-closed { border-top-color: var(--closed); }
.card-open { border-top-color: var(--open); } .card-declined { border-top-color: var(--declined); }
.card-failed { border-top-color: var(--failed); } .card-not-started { border-top-color: var(--not-started); }
.card-matches { border-top-color: var(--matches); }
.bar { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: var(--soft); border: 1px solid var(--line); }
.fleet-bar { margin-top: 16px; height: 14px; }
.seg { display: block; height: 100%; }
.seg-merged { background: var(--merged); } .seg-not-needed { background: var(--not-needed); }
.seg-declined { background: var(--declined); } .seg-open { background: var(--open); }
.seg-failed { background: var(--failed); } .seg-not-started { background: var(--not-started); }
.seg-opted-out { background: var(--opted-out); } .seg-closed { background: var(--closed); }
ul.repo-list .reason { margin-top: 2px; white-space: pre-wrap; }
.all-clear { margin: 6px 0 0; color: #1a7f37; }
ul.attention { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
.item { border: 1px solid var(--line); border-left: 4px solid var(--failed); border-radius: 8px; padding: 10px 14px; }
.item-ci_failing, .item-needs_attention, .item-changes_requested { border-left-color: #bf8700; }
.item-no_reviewer, .item-gate_waiting, .item-paused, .item-stale { border-left-color: #9a6700; }
.item-head { display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
.badge { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: 1px 7px; border-radius: 4px; background: #ffebe9; color: #a40e26; }
.badge-declined, .badge-opted_out, .badge-closed_by_platform_team { background: var(--soft); color: var(--muted); border: 1px solid var(--line); }
.badge-ci_failing, .badge-needs_attention, .badge-changes_requested, .badge-no_reviewer, .badge-stale, .badge-gate_waiting, .badge-paused { background: #fff8c5; color: #7d4e00; }
pre.problem { margin: 8px 0; padding: 8px 10px; background: var(--soft); border-radius: 6px; white-space: pre-wrap; word-break: break-word; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; max-height: 12em; overflow: auto; }
.next { margin: 0; }
.pace { margin: 0 0 10px; color: var(--fg); }
.back { margin: 0 0 8px; }
h3 { font-size: 15px; margin: 18px 0 4px; font-weight: 600; display: flex; align-items: center; gap: 8px; }
p.teams { margin: 6px 0 0; font-size: 13px; }
ul.reasons { margin: 6px 0; padding-left: 18px; }
ul.reasons .n { font-weight: 600; font-variant-numeric: tabular-nums; }
details.repos { margin-top: 6px; }
details.repos summary { cursor: pointer; color: var(--link); }
ul.repo-list { margin: 6px 0 0; padding-left: 18px; }
ul.repo-list li { margin: 2px 0; }
ul.repo-list pre.problem { margin: 4px 0; }
ul.said-no .item { border-left-color: var(--declined); }
.pager { margin: 10px 0 0; display: flex; gap: 10px; align-items: center; }
.pager button, .filter select { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); cursor: pointer; }
.pager button:disabled { color: var(--muted); cursor: default; }
.problem-text { margin: 6px 0; }
figure.chart-wrap { margin: 0; overflow-x: auto; }
svg.chart { display: block; width: 100%; min-width: 560px; height: auto; }
svg.chart rect.day:hover { fill: rgba(31,35,40,.06); }
details.days { margin-top: 12px; }
details.days summary { cursor: pointer; color: var(--link); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 8px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--soft); white-space: nowrap; border-bottom: 1px solid var(--line); }
th.sort { cursor: pointer; user-select: none; }
th.sort:hover { color: var(--fg); }
th[aria-sort="ascending"]::after { content: " ▲"; font-size: 10px; }
th[aria-sort="descending"]::after { content: " ▼"; font-size: 10px; }
tbody tr:hover { background: #f6f8fa99; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.zero { color: #afb8c1; }
td.warn { color: var(--failed); font-weight: 600; }
.progress-col { min-width: 160px; }
.tranche-bar { margin-top: 4px; }
tr.closed td { color: var(--muted); }
.tranche-no { display: inline-block; min-width: 22px; text-align: center; font-weight: 600; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; margin-right: 4px; }
.mini { height: 8px; background: var(--soft); border: 1px solid var(--line); border-radius: 4px; overflow: hidden; margin: 5px 0 2px; }
.mini-fill { height: 100%; background: var(--merged); }
.filter { margin: 0 0 10px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.filter input { font: inherit; padding: 5px 10px; border: 1px solid var(--line); border-radius: 6px; min-width: 240px; max-width: 100%; }
.filter input:focus { outline: 2px solid var(--link); outline-offset: -1px; }
a.pr { font-weight: 600; }
a.pr-merged { color: var(--merged); } a.pr-declined { color: var(--muted); }
.ci-failure { color: var(--failed); font-weight: 600; } .ci-success { color: #1a7f37; } .ci-pending { color: #9a6700; }
.rv-approved { color: #1a7f37; } .rv-changes { color: var(--failed); }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 10px; border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
.tag-stale, .tag-warn { border-color: #d4a72c; color: #7d4e00; background: #fff8c5; }
td.note { max-width: 360px; }
.reason { color: var(--muted); word-break: break-word; }
dl#glossary { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 10px 24px; margin: 10px 0 0; }
dt { font-weight: 600; }
dd { margin: 0; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 8px 16px; }
@media (max-width: 640px) {
  main { padding: 12px 8px 32px; }
  section, header.top { padding: 14px 14px; border-radius: 8px; }
  h1 { font-size: 22px; }
  .headline { font-size: 17px; }
  .card .value { font-size: 22px; }
}
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  section, header.top { border: none; padding: 8px 0; margin: 0 0 8px; border-radius: 0; }
  .filter, .pager, details.days summary { display: none; }
  details.days { display: none; }
  figure.chart-wrap { overflow: visible; }
  svg.chart { min-width: 0; }
  .table-wrap { overflow: visible; }
  thead { display: table-header-group; }
  tr, .item, .card { break-inside: avoid; }
  h2 { break-after: avoid; }
  a { color: inherit; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(
            esc_code("run `a<b>` then <i>"),
            "run <code>a&lt;b&gt;</code> then &lt;i&gt;"
        );
        // Nothing reorders the page's text or hides in it.
        assert_eq!(
            esc("\u{202e}gpj.exe \x1b[2J\0 a\tb\nc"),
            "\\u{202e}gpj.exe \\x1b[2J\\x00 a\tb\nc"
        );
    }

    #[test]
    fn only_safe_addresses_become_links() {
        let pr = |url: &str| PrLink {
            number: 7,
            url: url.into(),
            state: "open".into(),
            draft: false,
        };
        assert!(
            pr_link(&pr("https://github.com/acme/x/pull/7"))
                .contains(r#"href="https://github.com/acme/x/pull/7""#)
        );
        assert!(pr_link(&pr("local://x/pull/7")).contains(r#"href="local://x/pull/7""#));
        let bad = pr_link(&pr("javascript:alert(1)"));
        assert!(!bad.contains("href"), "{bad}");
        let quoted = pr_link(&pr("https://x/\"onmouseover=\"alert(1)"));
        assert!(quoted.contains("&quot;onmouseover=&quot;"), "{quoted}");
    }
}
