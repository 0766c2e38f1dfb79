//! The campaign report as Markdown, sized for a tracking issue (in the
//! manner of Renovate's dependency dashboard): the headline, what needs a
//! person, tranche progress, then one checklist per team with every pull
//! request linked.
//!
//! Text from outside (repository names, reasons, owners, tranche names and
//! selectors) goes through [`crate::escape`]: as text it cannot open a
//! link, a table cell, an HTML tag, a list item or a mention, and it stays
//! on its line; in code it cannot end its span. Links are only made to
//! `http(s)` and `local://` addresses, their targets percent-encoded.

use std::fmt::Write as _;

use crate::escape::{code, line, table_code, text, url};

use super::campaign::{
    CampaignReport, GLOSSARY, PrLink, TargetLine, TrancheProgress, plural, short_ref,
};
use super::{human_day, human_time, link_url, status_reason_text};

/// Render `report` as Markdown.
pub fn render(report: &CampaignReport) -> String {
    let mut out = String::new();
    let c = &report.campaign;
    let h = &report.headline;
    let _ = writeln!(out, "# Migration report: {}\n", text(&c.name));
    let _ = writeln!(out, "**{}**\n", ours(&h.sentence(&c.name)));
    let mut numbers = vec![
        format!("{} merged", h.merged),
        format!("{} no change needed", h.not_needed),
        format!("{} declined", h.declined),
        format!("{} opted out", h.opted_out),
    ];
    if h.closed_by_platform_team > 0 {
        numbers.push(format!(
            "{} closed by the platform team",
            h.closed_by_platform_team
        ));
    }
    numbers.extend([
        format!(
            "{} {} open",
            h.open_prs,
            plural(h.open_prs, "pull request", "pull requests")
        ),
        format!("{} failing", h.failed),
        format!("{} not started", h.not_started),
    ]);
    let _ = writeln!(out, "{}\n", numbers.join(" · "));
    let mut facts = vec![
        format!("Status: **{}**", text(&c.status)),
        format!("recipe {}", code(&c.recipe)),
        format!("tranche {} of {} open", c.tranches_open, c.tranche_count),
        format!("launched {}", human_day(&c.created_at)),
    ];
    if let Some(at) = &h.last_scan_at {
        facts.push(format!("last scanned {}", human_time(at)));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    if let Some(reason) = c
        .status_reason
        .as_deref()
        .and_then(|r| status_reason_text(&c.status, r))
    {
        let _ = writeln!(out, "> **{}:** {}\n", text(&c.status), text(&reason));
    }

    // Needs attention.
    if !report.attention.is_empty() {
        let _ = writeln!(out, "## Needs attention ({})\n", report.attention.len());
        for a in &report.attention {
            let subject = match &a.repo {
                Some(repo) => format!("**{}**", text(repo)),
                None => "**the campaign**".to_string(),
            };
            let mut line = format!("- {subject} — {}", text(a.kind.label()));
            if let Some(step) = &a.step {
                let _ = write!(line, " at {}", code(step));
            }
            if let Some(pr) = &a.pr {
                let _ = write!(line, " ({})", pr_ref(pr));
            }
            if let Some(owner) = &a.owner {
                let _ = write!(line, " · {}", text(short_ref(owner)));
            }
            let _ = writeln!(out, "{line}");
            let _ = writeln!(out, "  - {}", text(&one_line(&a.problem)));
            // Our own sentence, with `code` spans of the campaign's name.
            let _ = writeln!(out, "  - Next: {}", one_line(&a.next));
        }
        out.push('\n');
    }

    // Tranches.
    let _ = writeln!(out, "## Tranches\n");
    let closed = h.closed_by_platform_team > 0;
    let _ = writeln!(
        out,
        "| Tranche | Opened | Migrated | Merged | No change needed | Open | Declined | Opted out |{} Failed | Not started |",
        if closed {
            " Closed by the platform team |"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |{} ---: | ---: |",
        if closed { " ---: |" } else { "" }
    );
    for t in &report.tranches {
        let k = &t.counts;
        let _ = writeln!(
            out,
            "| {} | {} | {} {}% ({} of {}) | {} | {} | {} | {} | {} |{} {} | {} |",
            tranche_title(t),
            t.opened_at
                .as_deref()
                .map(human_day)
                .unwrap_or_else(|| if t.opened { "yes" } else { "not yet" }.to_string()),
            bar(k.migrated_percent),
            k.migrated_percent,
            k.migrated,
            k.targets,
            k.merged,
            k.not_needed,
            k.open,
            k.declined,
            k.opted_out,
            if closed {
                format!(" {} |", k.closed_by_platform_team)
            } else {
                String::new()
            },
            k.failed,
            k.not_started,
        );
    }
    out.push('\n');

    // Declined and opted out, with the reasons given.
    let said_no: Vec<&TargetLine> = report
        .targets
        .iter()
        .filter(|t| t.outcome.said_no())
        .collect();
    if !said_no.is_empty() {
        let _ = writeln!(out, "## Declined and opted out ({})\n", said_no.len());
        let _ = writeln!(
            out,
            "Settled, but not migrated: the old way stays in these repositories.\n"
        );
        for t in said_no {
            let mut line = format!("- **{}** — {}", text(&t.repo), text(&t.state_label));
            if let Some(pr) = &t.pr {
                let _ = write!(line, " {}", pr_ref(pr));
            }
            let _ = write!(line, " · {}", text(short_ref(&t.owner)));
            let _ = write!(
                line,
                ": {}",
                t.reason_shown().map_or_else(
                    || "no reason given".to_string(),
                    |r| text(&super::shorten(&one_line(r), 200))
                )
            );
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }

    // One checklist per team (the targets grouped once: linear in targets).
    let mut of_team: std::collections::HashMap<&str, Vec<&TargetLine>> =
        std::collections::HashMap::new();
    for t in &report.targets {
        of_team.entry(t.owner.as_str()).or_default().push(t);
    }
    let _ = writeln!(out, "## Teams\n");
    for team in &report.teams {
        let _ = writeln!(
            out,
            "### {} — {} of {} migrated\n",
            text(&team.name),
            team.migrated,
            team.targets
        );
        let mut notes = Vec::new();
        if team.failing_ci > 0 {
            notes.push(format!("{} with CI failing", team.failing_ci));
        }
        if team.awaiting_review > 0 {
            notes.push(format!("{} awaiting review", team.awaiting_review));
        }
        if team.stale > 0 {
            notes.push(format!("{} stale", team.stale));
        }
        notes.insert(0, format!("Owner {}", code(&team.owner)));
        let _ = writeln!(out, "{}\n", notes.join(" · "));
        for t in of_team.get(team.owner.as_str()).into_iter().flatten() {
            let _ = writeln!(out, "{}", checklist_line(t));
        }
        out.push('\n');
    }

    // Terms.
    let _ = writeln!(out, "<details><summary>What the words mean</summary>\n");
    for (term, meaning) in GLOSSARY {
        let _ = writeln!(out, "- **{term}**: {meaning}");
    }
    let _ = writeln!(out, "\n</details>\n");
    let _ = writeln!(
        out,
        "<sub>Generated by fleetwright from its state on {}. Re-run {} to refresh.</sub>",
        human_time(&report.generated_at),
        code(&format!("fleetwright report {} --format md", c.name))
    );
    out
}

/// `- [x] repo — merged #12`, `- [ ] repo — open #13 (CI failing)`.
fn checklist_line(t: &TargetLine) -> String {
    // Ticked only when migrated: never declined, opted out or closed.
    let mark = if t.migrated { "x" } else { " " };
    let mut line = format!("- [{mark}] {} — {}", text(&t.repo), text(&t.state_label));
    if let Some(pr) = &t.pr {
        let _ = write!(line, " {}", pr_ref(pr));
    }
    let mut notes = Vec::new();
    if t.state == "pr_open" {
        use crate::state::{CiState, ReviewState};
        match (t.ci, t.review) {
            (Some(CiState::Failure), _) => notes.push("CI failing".to_string()),
            (_, Some(ReviewState::ChangesRequested)) => notes.push("changes requested".to_string()),
            (_, Some(ReviewState::Approved)) => notes.push("approved".to_string()),
            _ => notes.push("awaiting review".to_string()),
        }
        if t.stale {
            notes.push("stale, owners reminded".to_string());
        }
        if t.no_reviewer {
            notes.push("nobody asked to review".to_string());
        }
    }
    if t.outcome.done()
        && !t.migrated
        && let Some(left) = t.remaining_matches
    {
        notes.push(format!(
            "the scan still finds {left} {}",
            plural(usize::try_from(left).unwrap_or(0), "place", "places")
        ));
    }
    if t.state == "pending" {
        notes.push(format!("tranche {}", text(&t.tranche_name)));
    }
    if let Some(step) = &t.step {
        notes.push(format!("at {}", code(step)));
    }
    if !notes.is_empty() {
        let _ = write!(line, " ({})", notes.join(", "));
    }
    if let Some(reason) = t.reason_shown() {
        let _ = write!(line, ": {}", text(&super::shorten(&one_line(reason), 120)));
    }
    line
}

fn tranche_title(t: &TrancheProgress) -> String {
    match &t.spec {
        Some(spec) if spec != &t.name => {
            format!("{}. {} ({})", t.number, text(&t.name), table_code(spec))
        }
        _ => format!("{}. {}", t.number, text(&t.name)),
    }
}

/// `[#12](url)`, or `#12` when the address cannot be linked.
fn pr_ref(pr: &PrLink) -> String {
    let draft = if pr.draft { " (draft)" } else { "" };
    match link_url(&pr.url) {
        Some(target) => format!("[#{}]({}){draft}", pr.number, url(target)),
        None => format!("#{}{draft}", pr.number),
    }
}

/// One of our own sentences as Markdown: text, with its `code` spans as
/// code (the campaign's name in a command).
fn ours(sentence: &str) -> String {
    sentence
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                code(part)
            } else {
                // `text` trims the spaces around a piece: keep them between
                // the words and the code spans.
                let before = if part.starts_with(' ') { " " } else { "" };
                let after = if part.ends_with(' ') { " " } else { "" };
                format!("{before}{}{after}", text(part))
            }
        })
        .collect()
}

/// A ten-cell text progress bar.
fn bar(percent: u32) -> String {
    let full = (percent.min(100) / 10) as usize;
    format!("{}{}", "█".repeat(full), "░".repeat(10 - full))
}

/// The lines of `s` joined by ` / ` on one line (other line breaks and
/// control characters made harmless by [`line`]).
fn one_line(s: &str) -> String {
    let joined = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    line(&joined).into_owned()
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::escape::tests::{HOSTILE, hazards, plain, shape};
    use crate::state::{CampaignRow, ChangesetRow, PrState, TargetRow, TargetState, TrancheRow};

    /// A campaign whose every value from outside is `value`: repository,
    /// owner, failure step and reason, tranche name and selector.
    fn report(value: &str) -> CampaignReport {
        let campaign = CampaignRow {
            id: 1,
            name: "modernize".into(),
            file: "/c.yaml".into(),
            recipe_id: "recipe".into(),
            forge: "github".into(),
            status: crate::state::CampaignStatus::Active,
            tranche_count: 2,
            tranches_open: 1,
            created_at: "2026-01-05T09:00:00Z".into(),
            updated_at: "2026-01-05T09:00:00Z".into(),
            status_reason: None,
            gate_note: None,
            ci_failures_acknowledged: 0,
        };
        let owner = format!("group:default/{value}");
        let mut failed = TargetRow::sample(1, &format!("org/{value}"), TargetState::Failed);
        failed.step = Some(value.into());
        failed.reason = Some(format!("cannot apply {value}\nsecond line {value}"));
        let mut open = TargetRow::sample(2, &format!("{value}-2"), TargetState::PrOpen);
        open.changeset = Some(ChangesetRow {
            branch: "fleetwright/modernize".into(),
            base: "main".into(),
            number: Some(12),
            url: Some("https://github.example/org/x/pull/12".into()),
            pr_state: Some(PrState::Open),
            draft: false,
            ci_state: None,
            review_state: None,
            reviewers: None,
            opened_at: None,
            nudged_at: None,
            merged_at: None,
            recipe_exact: None,
        });
        let mut pending = TargetRow::sample(3, &format!("{value}-3"), TargetState::Pending);
        pending.tranche = 1;
        let mut declined = TargetRow::sample(4, value, TargetState::Declined);
        declined.reason = Some(format!("closed: {value}"));
        let targets: Vec<TargetRow> = [failed, open, pending, declined]
            .into_iter()
            .map(|mut t| {
                t.owner = owner.clone();
                t
            })
            .collect();
        let tranches = [
            TrancheRow {
                idx: 0,
                name: format!("canary {value}"),
                spec: format!("owner: {value}"),
                opened_at: Some("2026-01-05T09:00:00Z".into()),
            },
            TrancheRow {
                idx: 1,
                name: value.into(),
                spec: "rest".into(),
                opened_at: None,
            },
        ];
        let now: Timestamp = "2026-01-06T12:00:00Z".parse().unwrap();
        CampaignReport::build(&campaign, &targets, &tranches, &[], &[], now)
    }

    #[test]
    fn outside_values_cannot_change_the_shape_of_the_report() {
        let expected = shape(&render(&report("x")));
        for value in HOSTILE {
            let md = render(&report(value));
            assert_eq!(shape(&md), expected, "{value:?}:\n{md}");
            assert_eq!(hazards(&md, &[]), Vec::<String>::new(), "{value:?}:\n{md}");
            // A newline in a name never splits the checklist: each target
            // is one list item (checked by the shape) holding its name.
            let seen = plain(&md);
            let name = format!("{value}-2");
            let name = crate::escape::line(name.trim()).into_owned();
            assert!(seen.contains(&name), "{value:?} not shown:\n{seen}");
        }
    }

    #[test]
    fn outside_text_cannot_make_markup() {
        let md = render(&report("[x](javascript:alert(1)) <img src=x> | @org/team"));
        // `<img` and `javascript:` are there, but as text and code only.
        let shape = shape(&md);
        assert!(
            !shape
                .iter()
                .any(|s| s.starts_with("html(<img") || s.contains("javascript")),
            "{md}"
        );
        assert!(md.contains("@\u{200b}org/team"), "{md}");
        assert!(
            md.contains("- [ ] \\[x\\]\\(javascript:alert\\(1\\)\\) &lt;img src=x&gt; \\| @\u{200b}org/team — declined by its owners"),
            "{md}"
        );
    }
}
