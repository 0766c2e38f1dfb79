//! The campaign report as Markdown, sized for a tracking issue (in the
//! manner of Renovate's dependency dashboard): the headline, what needs a
//! person, tranche progress, then one checklist per team with every pull
//! request linked.
//!
//! Text from outside (repository names, reasons, owners) is escaped so it
//! cannot open a link, a table cell, an HTML tag or a mention; links are
//! only made to `http(s)` and `local://` addresses.

use std::fmt::Write as _;

use super::campaign::{
    CampaignReport, GLOSSARY, PrLink, TargetLine, TrancheProgress, plural, short_ref, state_label,
};
use super::{human_day, human_time, link_url};

/// Render `report` as Markdown.
pub fn render(report: &CampaignReport) -> String {
    let mut out = String::new();
    let c = &report.campaign;
    let h = &report.headline;
    let _ = writeln!(out, "# Migration report: {}\n", text(&c.name));
    let _ = writeln!(out, "**{}**\n", text(&h.sentence()));
    let _ = writeln!(
        out,
        "{} merged · {} {} open · {} declined · {} failing · {} not started\n",
        h.merged,
        h.open_prs,
        plural(h.open_prs, "pull request", "pull requests"),
        h.declined,
        h.failed,
        h.not_started,
    );
    let mut facts = vec![
        format!("Status: **{}**", text(&c.status)),
        format!("recipe `{}`", code(&c.recipe)),
        format!("tranche {} of {} open", c.tranches_open, c.tranche_count),
        format!("launched {}", human_day(&c.created_at)),
    ];
    if let Some(at) = &h.last_scan_at {
        facts.push(format!("last scanned {}", human_time(at)));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    if let Some(reason) = &c.status_reason {
        let _ = writeln!(out, "> **{}:** {}\n", text(&c.status), text(reason));
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
                let _ = write!(line, " at `{}`", code(step));
            }
            if let Some(pr) = &a.pr {
                let _ = write!(line, " ({})", pr_ref(pr));
            }
            if let Some(owner) = &a.owner {
                let _ = write!(line, " · {}", text(short_ref(owner)));
            }
            let _ = writeln!(out, "{line}");
            let _ = writeln!(out, "  - {}", text(&one_line(&a.problem)));
            let _ = writeln!(out, "  - Next: {}", inline_code_ok(&a.next));
        }
        out.push('\n');
    }

    // Tranches.
    let _ = writeln!(out, "## Tranches\n");
    let _ = writeln!(
        out,
        "| Tranche | Opened | Done | Merged | Open | Declined | Failed | Not started |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    for t in &report.tranches {
        let _ = writeln!(
            out,
            "| {} | {} | {} {}% ({} of {}) | {} | {} | {} | {} | {} |",
            tranche_title(t),
            t.opened_at
                .as_deref()
                .map(human_day)
                .unwrap_or_else(|| if t.opened { "yes" } else { "not yet" }.to_string()),
            bar(t.counts.settled_percent),
            t.counts.settled_percent,
            t.counts.settled,
            t.counts.targets,
            t.counts.merged,
            t.counts.open,
            t.counts.declined,
            t.counts.failed,
            t.counts.not_started,
        );
    }
    out.push('\n');

    // One checklist per team.
    let _ = writeln!(out, "## Teams\n");
    for team in &report.teams {
        let _ = writeln!(
            out,
            "### {} — {} of {} done\n",
            text(&team.name),
            team.settled,
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
        notes.insert(0, format!("Owner `{}`", code(&team.owner)));
        let _ = writeln!(out, "{}\n", notes.join(" · "));
        for t in report.targets.iter().filter(|t| t.owner == team.owner) {
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
        "<sub>Generated by fleetwright from its state on {}. Re-run `fleetwright report {} --format md` to refresh.</sub>",
        human_time(&report.generated_at),
        code(&c.name)
    );
    out
}

/// `- [x] repo — merged #12`, `- [ ] repo — open #13 (CI failing)`.
fn checklist_line(t: &TargetLine) -> String {
    let mark = if t.settled { "x" } else { " " };
    let mut line = format!("- [{mark}] {} — {}", text(&t.repo), state_label(&t.state));
    if let Some(pr) = &t.pr {
        let _ = write!(line, " {}", pr_ref(pr));
    }
    let mut notes = Vec::new();
    if t.state == "pr_open" {
        match (t.ci.as_deref(), t.review.as_deref()) {
            (Some("failure"), _) => notes.push("CI failing".to_string()),
            (_, Some("changes_requested")) => notes.push("changes requested".to_string()),
            (_, Some("approved")) => notes.push("approved".to_string()),
            _ => notes.push("awaiting review".to_string()),
        }
        if t.stale {
            notes.push("stale, owners reminded".to_string());
        }
        if t.no_reviewer {
            notes.push("nobody asked to review".to_string());
        }
    }
    if t.state == "pending" {
        notes.push(format!("tranche {}", text(&t.tranche_name)));
    }
    if let Some(step) = &t.step {
        notes.push(format!("at `{}`", code(step)));
    }
    if !notes.is_empty() {
        let _ = write!(line, " ({})", notes.join(", "));
    }
    if let Some(reason) = &t.reason {
        let _ = write!(line, ": {}", text(&super::shorten(&one_line(reason), 120)));
    }
    line
}

fn tranche_title(t: &TrancheProgress) -> String {
    match &t.spec {
        Some(spec) if spec != &t.name => {
            format!("{}. {} (`{}`)", t.number, text(&t.name), code(spec))
        }
        _ => format!("{}. {}", t.number, text(&t.name)),
    }
}

/// `[#12](url)`, or `#12` when the address cannot be linked.
fn pr_ref(pr: &PrLink) -> String {
    let draft = if pr.draft { " (draft)" } else { "" };
    match link_url(&pr.url) {
        Some(url) => format!("[#{}]({}){draft}", pr.number, link_target(url)),
        None => format!("#{}{draft}", pr.number),
    }
}

/// A ten-cell text progress bar.
fn bar(percent: u32) -> String {
    let full = (percent.min(100) / 10) as usize;
    format!("{}{}", "█".repeat(full), "░".repeat(10 - full))
}

/// A link target with the characters that would end it encoded.
fn link_target(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

/// The first line of `s`, or its lines joined by ` / `.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Text from outside, escaped for Markdown: no emphasis, links, tags,
/// table cells, headings or mentions can come out of it, on one line.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '!' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // `@team` in an issue would ping the team.
            '@' => out.push_str("@\u{200b}"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code span: no backticks or line breaks.
fn code(s: &str) -> String {
    s.replace('`', "'").replace(['\n', '\r'], " ")
}

/// Our own sentences, which may hold `code` spans: kept as written, on
/// one line.
fn inline_code_ok(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn outside_text_cannot_make_markup() {
        assert_eq!(text("billing-api"), "billing-api");
        assert_eq!(
            text("[x](javascript:alert(1)) <img src=x> | @org/team"),
            "\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;img src=x&gt; \\| @\u{200b}org/team"
        );
        assert_eq!(text("a\nb"), "a b");
    }
}
