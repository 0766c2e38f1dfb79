//! `fleetwright report`: a campaign's progress as an HTML page, a Markdown
//! tracking issue, JSON or CSV, computed from the state database alone;
//! with `--publish-issue`, the Markdown published as the campaign's
//! tracking issue (`engine::tracking`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::launch::{launched_file, lock, same_name};
use super::{GlobalArgs, Ui, exit, forge_client, recorded_campaign};
use crate::campaign::Campaign;
use crate::engine::ReportRows;
use crate::engine::tracking::{self, Action};
use crate::escape::terminal;
use std::collections::BTreeMap;

use crate::report::campaign::{Options, short_ref};
use crate::report::{CampaignReport, csv, html, markdown};
use crate::state::{CampaignRow, State};

/// Report a campaign's progress: headline, burndown, tranches, teams, what
/// needs a person, and every pull request.
///
/// Computed from the state database alone (the campaign file is not
/// needed); the burndown is replayed from the event log, one point per UTC
/// day. Without --out the report goes to stdout; with --out it is written
/// to that file (folders created) and its path printed.
#[derive(Debug, Args)]
#[command(
    after_help = super::examples(&["fleetwright report modernize-deprecated-apis --format html --out reports/modernize.html", "fleetwright report modernize-deprecated-apis --format md > issue.md", "fleetwright report modernize-deprecated-apis --split-by team --out reports/modernize", "fleetwright report modernize-deprecated-apis --since 2026-11-01", "fleetwright report modernize-deprecated-apis --publish-issue", "fleetwright report modernize-deprecated-apis --format json", "fleetwright report modernize-deprecated-apis --format csv --table days"])
)]
pub struct ReportArgs {
    /// The campaign name.
    campaign: String,
    /// html: one self-contained page; md: a tracking issue; json: the whole
    /// model; csv: one row per target (or per day, with --table days).
    #[arg(long, value_enum, default_value = "html")]
    format: Format,
    /// With --format csv: `targets` (one row per repository) or `days`
    /// (the burndown, one row per day).
    #[arg(long, value_enum, default_value = "targets")]
    table: Table,
    /// Write the report to this file instead of stdout (with --split-by:
    /// the folder of the pages).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// What moved since this day (`YYYY-MM-DD`, UTC) or this many days
    /// ago (`14d`); the pace is that window's. Default: 7 days ago.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    since: Option<Since>,
    /// With --format md: the most characters the report may hold; longer
    /// lists are cut (each cut says where the rest is). A GitHub issue
    /// holds 65,536.
    #[arg(long, value_name = "N", default_value_t = markdown::DEFAULT_MAX_CHARS)]
    max_chars: usize,
    /// Write an index page and one page per team into the --out folder
    /// (`index.html`, `teams/<team>.html`), each self-contained, so a team
    /// lead gets a link to their own.
    #[arg(long, value_enum, value_name = "WHAT", requires = "out")]
    split_by: Option<SplitBy>,
    /// Publish the Markdown report as the campaign's tracking issue (the
    /// campaign file's `report.issue`): opened the first time, then edited
    /// in place; nothing is sent when the report did not change. Prints the
    /// issue's URL. The campaign file is read again from where it was
    /// launched.
    #[arg(long, conflicts_with_all = ["format", "table", "out", "split_by"])]
    publish_issue: bool,
}

/// What `--split-by` splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SplitBy {
    Team,
}

/// `--since`: a day, or a number of days before the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Since {
    Day(jiff::civil::Date),
    DaysAgo(i64),
}

fn parse_since(value: &str) -> Result<Since, String> {
    let value = value.trim();
    if let Some(days) = value.strip_suffix('d') {
        return match days.parse::<i64>() {
            Ok(n) if (0..=36_600).contains(&n) => Ok(Since::DaysAgo(n)),
            _ => Err(format!(
                "`{value}` is not a number of days: write it as `14d` (0 to 36600)"
            )),
        };
    }
    value
        .parse::<jiff::civil::Date>()
        .map(Since::Day)
        .map_err(|_| {
            format!("`{value}` is not a day: write it as 2026-11-28 (UTC) or as days ago, `14d`")
        })
}

impl Since {
    /// The start of the window, for a report made at `now`.
    fn start(self, now: jiff::Timestamp) -> jiff::Timestamp {
        match self {
            Since::Day(day) => day
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map_or(now, |z| z.timestamp()),
            Since::DaysAgo(n) => now
                .checked_sub(jiff::SignedDuration::from_hours(24 * n))
                .unwrap_or(now),
        }
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Html,
    #[value(alias = "markdown")]
    Md,
    Json,
    Csv,
}

/// The tables `--format csv` can print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Table {
    Targets,
    Days,
}

/// The report of a recorded campaign, with the default options.
pub async fn build(state: &State, row: &CampaignRow) -> anyhow::Result<CampaignReport> {
    Ok(crate::engine::campaign_report(state, row).await?)
}

pub async fn run(args: ReportArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    if args.table != Table::Targets && args.format != Format::Csv {
        return Err(
            exit::Refusal::new(exit::USAGE, "--table only applies to --format csv")
                .hint("add --format csv, or drop --table")
                .into(),
        );
    }
    if args.publish_issue {
        return publish_issue(&args.campaign, global, ui).await;
    }
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let rows = ReportRows::read(&state, &row).await?;
    state.close().await;
    let options = Options {
        since: args.since.map(|s| s.start(rows.now)),
    };
    let report = rows.report(&options);
    let md = markdown::Options {
        max_chars: args.max_chars,
        ..markdown::Options::default()
    };
    if let (Some(SplitBy::Team), Some(dir)) = (args.split_by, &args.out) {
        let teams = rows.by_team(&options);
        let written = split(dir, &args, &report, &teams, &md)?;
        println!(
            "{} ({} team {})",
            terminal(&written.display().to_string()),
            teams.len(),
            if teams.len() == 1 { "page" } else { "pages" }
        );
        return Ok(exit::SUCCESS);
    }
    let text = render(&args, &report, &html::Page::default(), &md);
    match &args.out {
        None => super::output::write_stdout(&text).context("cannot write the report to stdout")?,
        Some(path) => {
            write_file(path, &text)?;
            println!("{}", terminal(&path.display().to_string()));
        }
    }
    Ok(exit::SUCCESS)
}

/// The campaign file of a recorded campaign, read again from where it was
/// launched (only the file: its recipe and catalog are not needed).
fn recorded_file(row: &CampaignRow) -> anyhow::Result<Campaign> {
    let campaign = Campaign::load(&launched_file(row)?)?;
    same_name(row, &campaign)?;
    Ok(campaign)
}

/// `report --publish-issue`: the Markdown report as the campaign's
/// tracking issue.
async fn publish_issue(name: &str, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (state, row) = recorded_campaign(&global.state, name).await?;
    let campaign = recorded_file(&row)?;
    if campaign.tracking_issue.is_none() {
        return Err(exit::Refusal::new(
            exit::USAGE,
            format!(
                "campaign `{}` has no tracking issue: {} has no `report.issue`",
                row.name, row.file
            ),
        )
        .hint("add `report: {issue: {repository: OWNER/NAME}}` to the campaign file (docs/campaigns.md), or print the Markdown with --format md")
        .into());
    }
    // One publisher at a time: two would both open an issue.
    let _lock = lock(&global.state, &row.name, "report --publish-issue").await?;
    let forge = forge_client(&state, campaign.forge, Some(&campaign))?;
    let report = build(&state, &row).await?;
    let published = tracking::publish(&state, forge.as_ref(), &campaign, &row, &report).await;
    state.close().await;
    let Some(published) = published? else {
        return Ok(exit::SUCCESS);
    };
    let what = match published.action {
        Action::Opened => "opened",
        Action::Updated => "updated",
        Action::Unchanged => "unchanged since it was last published; nothing sent to",
        Action::LeftClosed => {
            return Err(exit::Refusal::new(
                exit::REFUSED,
                format!(
                    "the tracking issue #{} of {} ({}) was closed by a person: it was not updated, reopened or opened again",
                    published.number,
                    published.repository,
                    published.url
                ),
            )
            .hint("reopen the issue on the forge to have it kept up to date again, or remove `report.issue` from the campaign file to stop publishing")
            .into());
        }
    };
    ui.note(format!(
        "tracking issue #{} of {}: {what} it",
        published.number,
        terminal(&published.repository)
    ));
    super::output::write_stdout(&format!("{}\n", terminal(&published.url)))
        .context("cannot write the issue's URL to stdout")?;
    Ok(exit::SUCCESS)
}

/// `report` in the format asked for.
fn render(
    args: &ReportArgs,
    report: &CampaignReport,
    page: &html::Page,
    md: &markdown::Options,
) -> String {
    match (args.format, args.table) {
        (Format::Html, _) => html::render_page(report, page),
        (Format::Md, _) => markdown::render_with(
            report,
            &markdown::Options {
                team_pages: page.team_pages,
                index: page.index,
                ..*md
            },
        ),
        (Format::Json, _) => format!(
            "{}\n",
            serde_json::to_string_pretty(report).unwrap_or_default()
        ),
        (Format::Csv, Table::Targets) => csv::targets(report),
        (Format::Csv, Table::Days) => csv::days(report),
    }
}

/// The file extension of a format.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Html => "html",
        Format::Md => "md",
        Format::Json => "json",
        Format::Csv => "csv",
    }
}

/// `report --split-by team`: `DIR/index.EXT` (the whole campaign, its
/// teams linked to their pages) and `DIR/teams/<team>.EXT`, one per team.
/// Returns the index's path.
fn split(
    dir: &Path,
    args: &ReportArgs,
    report: &CampaignReport,
    teams: &[CampaignReport],
    md: &markdown::Options,
) -> anyhow::Result<PathBuf> {
    let ext = extension(args.format);
    let names = team_files(
        teams
            .iter()
            .filter_map(|t| t.team.as_ref().map(|t| t.owner.as_str())),
    );
    let links: BTreeMap<String, String> = names
        .iter()
        .map(|(owner, file)| (owner.clone(), format!("teams/{file}.{ext}")))
        .collect();
    let index = dir.join(format!("index.{ext}"));
    let page = html::Page {
        team_pages: Some(&links),
        index: None,
    };
    write_file(&index, &render(args, report, &page, md))?;
    let back = format!("../index.{ext}");
    for team in teams {
        let Some(file) = team.team.as_ref().and_then(|t| names.get(&t.owner)) else {
            continue;
        };
        let page = html::Page {
            team_pages: None,
            index: Some(&back),
        };
        write_file(
            &dir.join("teams").join(format!("{file}.{ext}")),
            &render(args, team, &page, md),
        )?;
    }
    Ok(index)
}

/// A file name for each owner: its short name in lower-case letters,
/// digits and `-` (nothing that climbs out of the folder or surprises a
/// shell), made unique with `-2`, `-3`… when two owners share one.
fn team_files<'a>(owners: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut names = BTreeMap::new();
    for owner in owners {
        let mut base: String = short_ref(owner)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        base = base.trim_matches('-').chars().take(60).collect();
        if base.is_empty() {
            base = "team".to_string();
        }
        let mut name = base.clone();
        let mut n = 1;
        while !taken.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        names.insert(owner.to_string(), name);
    }
    names
}

/// Write `text` to `path`, creating its folder.
pub(super) fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create the folder {} for the report (check --out and its permissions)",
                parent.display()
            )
        })?;
    }
    std::fs::write(path, text).with_context(|| {
        format!(
            "cannot write the report to {} (check --out and its permissions)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_pages_have_safe_distinct_file_names() {
        let owners = [
            "group:default/payments",
            "group:other/payments",
            "group:default/Payments",
            "group:default/../../etc/passwd",
            "group:default/..",
            "group:default/チーム",
            "user:default/ana.silva",
        ];
        let names = team_files(owners.iter().copied());
        let files: Vec<&str> = owners.iter().map(|o| names[*o].as_str()).collect();
        assert_eq!(
            files,
            [
                "payments",
                "payments-2",
                "payments-3",
                "passwd",
                "team",
                "team-2",
                "ana-silva"
            ]
        );
        for f in files {
            assert!(
                f.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{f}"
            );
        }
    }

    #[test]
    fn since_is_a_day_or_days_ago() {
        let now: jiff::Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_since("2026-11-28").unwrap().start(now).to_string(),
            "2026-11-28T00:00:00Z"
        );
        assert_eq!(
            parse_since("14d").unwrap().start(now).to_string(),
            "2026-11-21T10:00:00Z"
        );
        for bad in ["yesterday", "-3d", "2026-13-01", "d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
