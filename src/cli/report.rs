//! `fleetwright report`: a campaign's progress as an HTML page, a Markdown
//! tracking issue, JSON or CSV, computed from the state database alone.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::{GlobalArgs, Ui, exit, recorded_campaign};
use crate::escape::terminal;
use crate::report::{CampaignReport, csv, html, markdown};
use crate::state::{CampaignRow, State};

/// Report a campaign's progress: headline, burndown, tranches, teams, what
/// needs a person, and every pull request.
///
/// Computed from the state database alone (the campaign file is not
/// needed); the burndown is replayed from the event log, one point per UTC
/// day. Without --out the report goes to stdout; with --out it is written
/// to that file (folders created) and its path printed.
///
/// Example: fleetwright report modernize-deprecated-apis --format html --out reports/modernize.html
#[derive(Debug, Args)]
#[command(
    after_help = "More examples:\n  fleetwright report modernize-deprecated-apis --format md > issue.md\n  fleetwright report modernize-deprecated-apis --format json\n  fleetwright report modernize-deprecated-apis --format csv --table days"
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
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
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

/// The report of a recorded campaign, from its rows, event log and scans,
/// as of the state's clock.
pub async fn build(state: &State, row: &CampaignRow) -> anyhow::Result<CampaignReport> {
    let targets = state.targets(row.id).await?;
    let tranches = state.tranches(row.id).await?;
    let events = state.events(row.id).await?;
    let scans = state.scans(row.id).await?;
    Ok(CampaignReport::build(
        row,
        &targets,
        &tranches,
        &events,
        &scans,
        state.now(),
    ))
}

pub async fn run(args: ReportArgs, global: &GlobalArgs, _ui: &Ui) -> anyhow::Result<u8> {
    if args.table != Table::Targets && args.format != Format::Csv {
        return Err(
            exit::Refusal::new(exit::USAGE, "--table only applies to --format csv")
                .hint("add --format csv, or drop --table")
                .into(),
        );
    }
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let report = build(&state, &row).await?;
    state.close().await;
    let text = match (args.format, args.table) {
        (Format::Html, _) => html::render(&report),
        (Format::Md, _) => markdown::render(&report),
        (Format::Json, _) => format!("{}\n", serde_json::to_string_pretty(&report)?),
        (Format::Csv, Table::Targets) => csv::targets(&report),
        (Format::Csv, Table::Days) => csv::days(&report),
    };
    match &args.out {
        None => {
            // A reader that stops early (`| head`) is not an error.
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(e).context("cannot write the report to stdout");
                }
                _ => {}
            }
        }
        Some(path) => {
            write_file(path, &text)?;
            println!("{}", terminal(&path.display().to_string()));
        }
    }
    Ok(exit::SUCCESS)
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
