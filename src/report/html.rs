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
//! Stable hooks for tests and scripts: `#headline`, `#summary`,
//! `#attention`, `svg#burndown`, `table#days`, `table#tranches`,
//! `table#teams`, `#declined` (when any: one `li` per declined, opted-out
//! or closed repository, with `data-outcome`), `table#targets` (one
//! `tr.target` per repository, with `data-state`, the stored state),
//! `#glossary`.

use crate::state::{CiState, ReviewState};
use std::fmt::Write as _;

use super::campaign::{
    AttentionItem, AttentionKind, CampaignReport, GLOSSARY, Outcome, PrLink, TargetLine, plural,
    short_ref,
};
use super::chart::{self, MATCHES_COLOR, SERIES};
use super::{human_day, human_time, link_url, status_reason_text};

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

/// Render `report` as a whole HTML document.
pub fn render(report: &CampaignReport) -> String {
    let c = &report.campaign;
    let h = &report.headline;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="fleetwright {version}">
<title>{name} · migration report</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header class="top">
<p class="eyebrow">Migration campaign report</p>
<h1>{name}</h1>
<p id="headline" class="headline">{sentence}</p>
<p class="meta">{status} <span>Recipe <code>{recipe}</code></span> <span>Tranche {open} of {count} open</span> <span>Launched {launched}</span> <span>Generated {generated}</span></p>
"#,
        version = env!("CARGO_PKG_VERSION"),
        name = esc(&c.name),
        sentence = esc_code(&h.sentence(&c.name)),
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
    attention(&mut out, &report.attention);
    burndown(&mut out, report);
    tranches(&mut out, report);
    teams(&mut out, report);
    declined(&mut out, report);
    targets(&mut out, report);
    glossary(&mut out);

    let _ = write!(
        out,
        r#"<footer>Generated by fleetwright {} from its state database on {}. The burndown is replayed from the campaign's event log; run <code>fleetwright report {} --format html</code> again to refresh.</footer>
</main>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        env!("CARGO_PKG_VERSION"),
        esc(&human_time(&report.generated_at)),
        esc(&c.name),
    );
    out
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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
            h.migrated,
            h.targets,
            plural(h.targets, "repository", "repositories")
        ),
    );
    card(
        out,
        "merged",
        h.merged.to_string(),
        "merged",
        "pull requests merged".into(),
    );
    card(
        out,
        "not-needed",
        h.not_needed.to_string(),
        "no change needed",
        "or not applicable".into(),
    );
    card(
        out,
        "open",
        h.open_prs.to_string(),
        "open",
        "pull requests waiting".into(),
    );
    card(
        out,
        "declined",
        h.declined.to_string(),
        "declined",
        "closed by their owners".into(),
    );
    card(
        out,
        "opted-out",
        h.opted_out.to_string(),
        "opted out",
        "by their owners".into(),
    );
    if h.closed_by_platform_team > 0 {
        card(
            out,
            "closed",
            h.closed_by_platform_team.to_string(),
            "closed",
            "by the platform team".into(),
        );
    }
    card(
        out,
        "failed",
        h.failed.to_string(),
        "failing",
        "need a person".into(),
    );
    card(
        out,
        "not-started",
        h.not_started.to_string(),
        "not started",
        "tranche not open yet".into(),
    );
    match h.remaining_matches {
        Some(left) => card(
            out,
            "matches",
            left.to_string(),
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

fn attention(out: &mut String, items: &[AttentionItem]) {
    out.push_str(r#"<section id="attention"><h2>Needs attention"#);
    if items.is_empty() {
        out.push_str(
            r#"</h2><p class="all-clear">Nothing needs a person right now: no failures, no failing CI, every open pull request has a reviewer.</p></section>
"#,
        );
        return;
    }
    let _ = write!(
        out,
        r#" <span class="count">{}</span></h2><p class="lede">What a person should look at, and the next thing to do.</p><ul class="attention">"#,
        items.len()
    );
    for a in items {
        let kind = serde_json::to_value(a.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<li class="item item-{}"><div class="item-head"><span class="badge badge-{}">{}</span> "#,
            esc(&kind),
            esc(&kind),
            esc(a.kind.label())
        );
        match &a.repo {
            Some(repo) => {
                let _ = write!(out, r#"<strong class="repo">{}</strong>"#, esc(repo));
            }
            None => out.push_str(r#"<strong>The campaign</strong>"#),
        }
        if let Some(step) = &a.step {
            let _ = write!(
                out,
                r#" <span class="muted">at <code>{}</code></span>"#,
                esc(step)
            );
        }
        if let Some(owner) = &a.owner {
            let _ = write!(
                out,
                r#" <span class="muted" title="{}">· {}</span>"#,
                esc(owner),
                esc(short_ref(owner))
            );
        }
        if let Some(pr) = &a.pr {
            let _ = write!(out, " {}", pr_link(pr));
        }
        // Errors from outside keep their lines, in a monospace block; our
        // own sentences (and the pause and gate notes) are prose.
        let problem = match a.kind {
            AttentionKind::Failed | AttentionKind::VerifyFailed | AttentionKind::NeedsAttention => {
                format!(r#"<pre class="problem">{}</pre>"#, esc(&a.problem))
            }
            _ => format!(r#"<p class="problem-text">{}</p>"#, esc(&a.problem)),
        };
        let _ = write!(
            out,
            r#"</div>{problem}<p class="next"><strong>Next:</strong> {}</p></li>"#,
            esc_code(&a.next)
        );
    }
    out.push_str("</ul></section>\n");
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
    let _ = write!(
        out,
        r#"<section id="team-progress"><h2>Teams</h2><p class="lede">Each repository belongs to the team that owns it in the service catalog. Click a column to sort.</p><div class="table-wrap"><table id="teams" class="sortable"><thead><tr><th>Team</th><th class="num">Repos</th><th class="progress-col" title="{MIGRATED_TITLE}">Migrated</th><th class="num">Merged</th><th class="num">No change needed</th><th class="num">Open</th><th class="num" title="Open pull requests whose checks fail">CI failing</th><th class="num" title="Open pull requests with no review verdict yet">Awaiting review</th><th class="num" title="Open pull requests nobody reviewed for a while; the team was reminded">Stale</th><th class="num">Declined</th><th class="num">Opted out</th>{}<th class="num">Failed</th><th class="num">Not started</th></tr></thead><tbody>"#,
        closed_head(closed)
    );
    for t in &report.teams {
        let warn = |n: usize| {
            if n > 0 {
                format!(r#"<td class="num warn">{n}</td>"#)
            } else {
                format!(r#"<td class="num zero">{n}</td>"#)
            }
        };
        let _ = write!(
            out,
            r#"<tr class="team"><td><strong>{}</strong><div class="muted small">{}</div></td><td class="num">{}</td><td class="progress-col" data-sort="{}"><div class="mini"><div class="mini-fill" style="width:{}%"></div></div><span class="small">{}% · {} of {}</span></td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>{}{}{}<td class="num">{}</td><td class="num">{}</td>{}{}<td class="num">{}</td></tr>"#,
            esc(&t.name),
            esc(&t.owner),
            t.targets,
            t.migrated_percent,
            t.migrated_percent.min(100),
            t.migrated_percent,
            t.migrated,
            t.targets,
            t.merged,
            t.not_needed,
            t.open,
            warn(t.failing_ci),
            plain(t.awaiting_review),
            warn(t.stale),
            t.declined,
            t.opted_out,
            closed_cell(closed, t.closed_by_platform_team),
            warn(t.failed),
            t.not_started,
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

fn plain(n: usize) -> String {
    let class = if n == 0 { "num zero" } else { "num" };
    format!(r#"<td class="{class}">{n}</td>"#)
}

/// The repositories whose owners said no (declined, opted out) and the
/// pull requests the platform team closed, each with the reason given.
fn declined(out: &mut String, report: &CampaignReport) {
    let said_no: Vec<&TargetLine> = report
        .targets
        .iter()
        .filter(|t| t.outcome.said_no())
        .collect();
    if said_no.is_empty() {
        return;
    }
    let _ = write!(
        out,
        r#"<section id="declined"><h2>Declined and opted out <span class="count">{}</span></h2><p class="lede">Settled, but not migrated: the old way stays in these repositories. The reasons are the owners' own words (or the platform team's, for pull requests it closed when it cancelled the campaign).</p><ul class="declined">"#,
        said_no.len()
    );
    for t in said_no {
        let _ = write!(
            out,
            r#"<li data-outcome="{}"><span class="pill st-{}">{}</span> <strong class="repo">{}</strong> <span class="muted" title="{}">· {}</span>"#,
            t.outcome.as_str(),
            outcome_class(t.outcome),
            esc(&t.state_label),
            esc(&t.repo),
            esc(&t.owner),
            esc(short_ref(&t.owner)),
        );
        if let Some(pr) = &t.pr {
            let _ = write!(out, " {}", pr_link(pr));
        }
        match t.reason_shown() {
            Some(reason) => {
                let _ = write!(out, r#"<div class="reason">{}</div>"#, esc(reason));
            }
            None => out.push_str(r#"<div class="reason">no reason given</div>"#),
        }
        out.push_str("</li>");
    }
    out.push_str("</ul></section>\n");
}

fn targets(out: &mut String, report: &CampaignReport) {
    let scans = report.targets.iter().any(|t| t.remaining_matches.is_some());
    let _ = write!(
        out,
        r#"<section id="repositories"><h2>Repositories <span class="count">{}</span></h2><p class="lede">Every repository of the campaign and its pull request. Click a column to sort.</p><div class="filter" hidden><label for="filter">Filter</label> <input id="filter" type="search" placeholder="repository, team, state…" autocomplete="off"> <span id="filter-count" class="muted"></span></div><div class="table-wrap"><table id="targets" class="sortable"><thead><tr><th>Repository</th><th>Team</th><th>Tranche</th><th>State</th><th>Pull request</th><th>CI</th><th>Review</th>{}<th>Note</th></tr></thead><tbody>"#,
        report.targets.len(),
        if scans {
            r#"<th class="num" title="Places the recipe still finds on the default branch">Left</th>"#
        } else {
            ""
        }
    );
    for t in &report.targets {
        target_row(out, t, scans);
    }
    out.push_str("</tbody></table></div></section>\n");
}

fn target_row(out: &mut String, t: &TargetLine, scans: bool) {
    let pr =
        t.pr.as_ref()
            .map_or_else(|| r#"<span class="muted">–</span>"#.to_string(), pr_link);
    let ci = match t.ci {
        Some(CiState::Failure) => r#"<span class="ci ci-failure">failing</span>"#,
        Some(CiState::Success) => r#"<span class="ci ci-success">passing</span>"#,
        Some(CiState::Pending) => r#"<span class="ci ci-pending">running</span>"#,
        Some(CiState::None) | None => r#"<span class="muted">–</span>"#,
    };
    let review = match t.review {
        Some(ReviewState::Approved) => r#"<span class="rv rv-approved">approved</span>"#,
        Some(ReviewState::ChangesRequested) => {
            r#"<span class="rv rv-changes">changes requested</span>"#
        }
        Some(ReviewState::Pending) => r#"<span class="rv">waiting</span>"#,
        None => r#"<span class="muted">–</span>"#,
    };
    let mut notes = Vec::new();
    if t.outcome.done() && !t.migrated {
        notes.push(
            r#"<span class="tag tag-warn">not migrated: the scan still finds places</span>"#
                .to_string(),
        );
    }
    if t.stale {
        notes.push(r#"<span class="tag tag-stale">stale · owners reminded</span>"#.to_string());
    }
    // Whether an open pull request still holds exactly the recipe's change.
    match (t.pr.as_ref().map(|p| p.state.as_str()), t.recipe_exact) {
        (Some("open"), Some(true)) => notes.push(
            r#"<span class="tag" title="its branch holds exactly the recipe's change">recipe-exact</span>"#
                .to_string(),
        ),
        (Some("open"), Some(false)) => notes.push(
            r#"<span class="tag tag-warn" title="a commit on its branch changed more than the recipe">not recipe-exact</span>"#
                .to_string(),
        ),
        _ => {}
    }
    if t.no_reviewer {
        notes.push(r#"<span class="tag tag-warn">nobody asked to review</span>"#.to_string());
    }
    if let Some(reason) = t.reason_shown() {
        let first = reason.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let short: String = if first.chars().count() > 140 {
            format!("{}…", first.chars().take(140).collect::<String>())
        } else {
            first.to_string()
        };
        let step = t
            .step
            .as_ref()
            .map(|s| format!("<code>{}</code>: ", esc(s)))
            .unwrap_or_default();
        notes.push(format!(
            r#"<span class="reason" title="{}">{step}{}</span>"#,
            esc(reason),
            esc(&short)
        ));
    }
    let left = if scans {
        format!(
            r#"<td class="num">{}</td>"#,
            t.remaining_matches
                .map_or_else(|| "–".to_string(), |m| m.to_string())
        )
    } else {
        String::new()
    };
    let _ = write!(
        out,
        r#"<tr class="target" data-state="{state}"><td><strong class="repo">{repo}</strong>{component}</td><td class="nowrap" title="{owner}">{team}</td><td class="nowrap" data-sort="{tranche}">{tranche} <span class="muted small">{tranche_name}</span></td><td data-sort="{state}"><span class="pill st-{class}">{label}</span></td><td data-sort="{prn}">{pr}</td><td>{ci}</td><td>{review}</td>{left}<td class="note">{notes}</td></tr>"#,
        state = esc(&t.state),
        repo = esc(&t.repo),
        // The component, when its name is not the repository's.
        component = if short_ref(&t.component) == t.repo {
            String::new()
        } else {
            format!(r#"<div class="muted small">{}</div>"#, esc(&t.component))
        },
        owner = esc(&t.owner),
        team = esc(short_ref(&t.owner)),
        tranche = t.tranche,
        tranche_name = esc(&t.tranche_name),
        class = outcome_class(t.outcome),
        label = esc(&t.state_label),
        prn = t.pr.as_ref().map_or(0, |p| p.number),
        notes = notes.join(" "),
    );
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

/// Sorting by column (numbers as numbers, `data-sort` when a cell has one)
/// and the repository filter. Plain ES5 so it runs everywhere; the filter
/// box is hidden until this runs.
const SCRIPT: &str = r##"
(function () {
  "use strict";
  var filter = document.getElementById("filter");
  var count = document.getElementById("filter-count");
  if (filter) {
    filter.parentNode.hidden = false;
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      var rows = document.querySelectorAll("#targets tbody tr");
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = !q || rows[i].textContent.toLowerCase().indexOf(q) >= 0 ||
          (rows[i].getAttribute("data-state") || "").indexOf(q) >= 0;
        rows[i].hidden = !hit;
        if (hit) { shown++; }
      }
      count.textContent = q ? shown + " of " + rows.length + " shown" : "";
    });
  }
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    if (v === null) { v = cell.textContent.trim(); }
    var n = parseFloat(v);
    return isNaN(n) || String(n) !== v.replace(/^\+/, "") ? v.toLowerCase() : n;
  }
  var tables = document.querySelectorAll("table.sortable");
  for (var t = 0; t < tables.length; t++) {
    (function (table) {
      var heads = table.querySelectorAll("thead th");
      for (var h = 0; h < heads.length; h++) {
        (function (th, col) {
          th.classList.add("sort");
          th.tabIndex = 0;
          function sort() {
            var asc = th.getAttribute("aria-sort") !== "ascending";
            for (var k = 0; k < heads.length; k++) { heads[k].removeAttribute("aria-sort"); }
            th.setAttribute("aria-sort", asc ? "ascending" : "descending");
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            rows.sort(function (a, b) {
              var x = key(a.cells[col]), y = key(b.cells[col]);
              if (typeof x !== typeof y) { x = String(x); y = String(y); }
              return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
            });
            for (var r = 0; r < rows.length; r++) { body.appendChild(rows[r]); }
          }
          th.addEventListener("click", sort);
          th.addEventListener("keydown", function (e) {
            if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
          });
        })(heads[h], h);
      }
    })(tables[t]);
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
ul.declined { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
ul.declined li { border: 1px solid var(--line); border-left: 4px solid var(--declined); border-radius: 8px; padding: 8px 14px; }
ul.declined .reason { margin-top: 4px; white-space: pre-wrap; }
.all-clear { margin: 6px 0 0; color: #1a7f37; }
ul.attention { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
.item { border: 1px solid var(--line); border-left: 4px solid var(--failed); border-radius: 8px; padding: 10px 14px; }
.item-ci_failing, .item-needs_attention { border-left-color: #bf8700; }
.item-no_reviewer, .item-gate_waiting, .item-paused { border-left-color: #9a6700; }
.item-head { display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
.badge { font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: 1px 7px; border-radius: 4px; background: #ffebe9; color: #a40e26; }
.badge-ci_failing, .badge-needs_attention, .badge-no_reviewer, .badge-gate_waiting, .badge-paused { background: #fff8c5; color: #7d4e00; }
pre.problem { margin: 8px 0; padding: 8px 10px; background: var(--soft); border-radius: 6px; white-space: pre-wrap; word-break: break-word; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; max-height: 12em; overflow: auto; }
.next { margin: 0; }
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
  .filter, details.days summary { display: none; }
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
