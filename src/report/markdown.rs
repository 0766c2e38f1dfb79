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

use super::attention::AttentionGroup;
use super::campaign::{
    CampaignReport, GLOSSARY, PrLink, TargetLine, TrancheProgress, count, plural, short_ref,
};
use super::{capitalize, human_day, human_time, link_url, status_reason_text};

/// The longest Markdown report by default: a GitHub issue body holds at
/// most 65,536 characters.
pub const DEFAULT_MAX_CHARS: usize = 65_000;

/// How a Markdown report is cut.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The most characters the report may hold (`report --max-chars`).
    pub max_chars: usize,
    /// Where the whole report is (`report_url`), named where a list is
    /// cut.
    pub details_url: Option<&'a str>,
    /// On the index of `report --split-by team`: each team's page, by
    /// owner ref, as a relative link (fleetwright's own file names).
    pub team_pages: Option<&'a std::collections::BTreeMap<String, String>>,
    /// On a team's page: the index, as a relative link.
    pub index: Option<&'a str>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            max_chars: DEFAULT_MAX_CHARS,
            details_url: None,
            team_pages: None,
            index: None,
        }
    }
}

/// How much a rendering lists; the report takes the first level that fits.
#[derive(Debug, Clone, Copy)]
struct Detail {
    /// Repositories listed under each cause.
    repos_per_cause: usize,
    /// Rows of the teams table.
    teams: usize,
    /// One checklist per team with every repository.
    checklists: bool,
    /// Distinct reasons listed under each cause.
    reasons: usize,
}

/// From everything down to the counts alone.
const LEVELS: [Detail; 5] = [
    Detail {
        repos_per_cause: usize::MAX,
        teams: usize::MAX,
        checklists: true,
        reasons: 20,
    },
    Detail {
        repos_per_cause: 25,
        teams: usize::MAX,
        checklists: false,
        reasons: 10,
    },
    Detail {
        repos_per_cause: 10,
        teams: 100,
        checklists: false,
        reasons: 5,
    },
    Detail {
        repos_per_cause: 3,
        teams: 25,
        checklists: false,
        reasons: 3,
    },
    Detail {
        repos_per_cause: 0,
        teams: 10,
        checklists: false,
        reasons: 1,
    },
];

/// Render `report` as Markdown, within [`DEFAULT_MAX_CHARS`].
pub fn render(report: &CampaignReport) -> String {
    render_with(report, &Options::default())
}

/// Render `report` as Markdown within `options.max_chars` characters: with
/// every repository when that fits, else with the lists cut (each cut
/// says how many were left out and where they all are), and at worst the
/// text cut at a line with a note.
pub fn render_with(report: &CampaignReport, options: &Options) -> String {
    let mut last = String::new();
    for detail in LEVELS {
        last = render_detail(report, options, detail);
        if last.chars().count() <= options.max_chars {
            return last;
        }
    }
    cut(&last, options.max_chars, &report.campaign.name)
}

/// `text` cut at the last line break that leaves room for a note saying
/// so, within `max` characters.
fn cut(text: &str, max: usize, campaign: &str) -> String {
    let note = format!(
        "\n\n_The report is cut here to fit in {max} characters: {} has all of it._\n",
        code(&format!("fleetwright report {campaign} --format html"))
    );
    let room = max.saturating_sub(note.chars().count());
    let end = text
        .char_indices()
        .nth(room)
        .map_or(text.len(), |(at, _)| at);
    let kept = &text[..end];
    let kept = kept.rfind('\n').map_or("", |at| &kept[..at]);
    let mut out = format!("{kept}{note}");
    if out.chars().count() > max {
        out = out.chars().take(max).collect();
    }
    out
}

/// Where the whole report is, for a cut list.
fn elsewhere(report: &CampaignReport, options: &Options) -> String {
    match options.details_url.and_then(link_url) {
        Some(target) => format!("[the full report]({})", url(target)),
        None => code(&format!(
            "fleetwright report {} --format html",
            report.campaign.name
        )),
    }
}

fn render_detail(report: &CampaignReport, options: &Options, detail: Detail) -> String {
    let mut out = String::new();
    let c = &report.campaign;
    let h = &report.headline;
    match &report.team {
        Some(team) => {
            let _ = writeln!(
                out,
                "# Migration report: {} · team {}\n",
                text(&c.name),
                text(&team.name)
            );
            if let Some(index) = options.index {
                let _ = writeln!(out, "[‹ Every team of the campaign]({})\n", url(index));
            }
        }
        None => {
            let _ = writeln!(out, "# Migration report: {}\n", text(&c.name));
        }
    }
    let _ = writeln!(out, "**{}**\n", ours(&h.sentence(&c.name)));
    let _ = writeln!(out, "{}\n", ours(&report.progress.sentence()));
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

    // Needs attention, then the owners' "no", by cause.
    let (holding, said_no): (Vec<&AttentionGroup>, Vec<&AttentionGroup>) =
        report.attention.iter().partition(|g| !g.kind.said_no());
    if !holding.is_empty() {
        let repos = report
            .targets
            .iter()
            .filter(|t| t.attention.iter().any(|k| !k.said_no()))
            .count();
        let _ = writeln!(
            out,
            "## Needs attention ({} {} · {} {})\n",
            holding.len(),
            plural(holding.len(), "cause", "causes"),
            count(repos),
            plural(repos, "repository", "repositories")
        );
        for g in holding {
            cause(&mut out, g, report, options, detail);
        }
    }
    if !said_no.is_empty() {
        let n: usize = said_no.iter().map(|g| g.count).sum();
        let _ = writeln!(out, "## Declined and opted out ({n})\n");
        let _ = writeln!(
            out,
            "Settled, but not migrated: the old way stays in these repositories.\n"
        );
        for g in said_no {
            cause(&mut out, g, report, options, detail);
        }
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

    if report.team.is_none() {
        teams(&mut out, report, options, detail);
    }
    if detail.checklists || report.team.is_some() && detail.repos_per_cause > 0 {
        checklists(&mut out, report);
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

/// One cause: what, how many, which teams, the problem or its reasons, the
/// next step, and its repositories (as many as `detail` lists).
fn cause(
    out: &mut String,
    g: &AttentionGroup,
    report: &CampaignReport,
    options: &Options,
    detail: Detail,
) {
    let mut head = format!("### {}", capitalize(&g.label));
    if g.kind.is_campaign_wide() {
        head.push_str(" — the campaign");
    } else {
        let _ = write!(
            head,
            " — {} {}",
            count(g.count),
            plural(g.count, "repository", "repositories")
        );
        if g.holds_gate > 0 {
            let _ = write!(head, " ({} in the tranche the gate waits on)", g.holds_gate);
        }
    }
    let _ = writeln!(out, "{head}\n");
    if !g.teams.is_empty() {
        let shown = detail.teams.min(8);
        let named: Vec<String> = g
            .teams
            .iter()
            .take(shown)
            .map(|t| format!("{} ({})", text(&t.name), t.count))
            .collect();
        let more = g.teams.len().saturating_sub(shown);
        let _ = writeln!(
            out,
            "{} {}{}\n",
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
        let _ = writeln!(out, "> {}\n", text(&one_line(problem)));
    }
    if g.count > 1 && !g.reasons.is_empty() {
        let listed = g.reasons_listed(detail.reasons);
        for r in &g.reasons[..listed] {
            let reason = if g.kind.shows_output() {
                code(&r.reason)
            } else {
                text(&r.reason)
            };
            let _ = writeln!(out, "- {}× {reason}", r.count);
        }
        let more = g.distinct_reasons.saturating_sub(listed);
        if more > 0 {
            let _ = writeln!(
                out,
                "- and {more} other {}{}",
                plural(more, "problem", "problems"),
                if g.reasons[0].count == 1 {
                    ": each repository has its own"
                } else {
                    ""
                }
            );
        }
        out.push('\n');
    }
    // Our own sentence, with `code` spans of the campaign's name.
    let _ = writeln!(out, "**Next:** {}\n", one_line(&g.next));
    if g.repos.is_empty() {
        return;
    }
    let listed = g.repos.len().min(detail.repos_per_cause);
    if listed > 0 {
        let _ = writeln!(
            out,
            "<details><summary>{}</summary>\n",
            if g.repos.len() == 1 {
                "The repository".to_string()
            } else {
                format!("The {} repositories", g.repos.len())
            }
        );
        for r in g.repos.iter().take(listed) {
            let mut line = format!("- **{}** · {}", text(&r.repo), text(short_ref(&r.owner)));
            if let Some(pr) = &r.pr {
                let _ = write!(line, " {}", pr_ref(pr));
            }
            if let Some(problem) = &r.problem {
                let _ = write!(line, ": {}", text(&super::shorten(&one_line(problem), 200)));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let more = g.repos.len() - listed;
    if more > 0 && listed > 0 {
        let _ = writeln!(
            out,
            "- _and {more} more: {} lists them all._",
            elsewhere(report, options)
        );
    } else if more > 0 {
        let _ = writeln!(
            out,
            "_{} lists {}._",
            elsewhere(report, options),
            if more == 1 {
                "the repository".to_string()
            } else {
                format!("the {more} repositories")
            }
        );
    }
    if listed > 0 {
        let _ = writeln!(out, "\n</details>");
    }
    out.push('\n');
}

/// The teams table, the most left to do first (`detail.teams` rows).
fn teams(out: &mut String, report: &CampaignReport, options: &Options, detail: Detail) {
    let _ = writeln!(out, "## Teams ({})\n", report.teams.len());
    let _ = writeln!(
        out,
        "| Team | Repos | Left | Migrated | Merged | Open | CI failing | Awaiting review | Stale | Declined | Opted out | Failed | Not started |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for t in report.teams.iter().take(detail.teams) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}% ({} of {}) | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            match options.team_pages.and_then(|p| p.get(&t.owner)) {
                Some(page) => format!("[{}]({})", text(&t.name), url(page)),
                None => text(&t.name),
            },
            t.targets,
            t.left,
            t.migrated_percent,
            t.migrated,
            t.targets,
            t.merged,
            t.open,
            t.failing_ci,
            t.awaiting_review,
            t.stale,
            t.declined,
            t.opted_out,
            t.failed,
            t.not_started,
        );
    }
    let more = report.teams.len().saturating_sub(detail.teams);
    if more > 0 {
        let _ = writeln!(
            out,
            "\n_and {more} more {} with less left to do: {} lists them all._",
            plural(more, "team", "teams"),
            elsewhere(report, options)
        );
    }
    out.push('\n');
}

/// One checklist per team, every repository ticked when migrated.
fn checklists(out: &mut String, report: &CampaignReport) {
    let mut of_team: std::collections::HashMap<&str, Vec<&TargetLine>> =
        std::collections::HashMap::new();
    for t in &report.targets {
        of_team.entry(t.owner.as_str()).or_default().push(t);
    }
    let _ = writeln!(out, "## Repositories by team\n");
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
