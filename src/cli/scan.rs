//! `fleetwright scan`: how many places each target's default branch still
//! holds that the recipe would rewrite.

use clap::Args;

use crate::report::shorten;

use super::launch::{launched, lock};
use super::output::table;
use super::plan::warn_catalog_problems;
use super::{GlobalArgs, Ui, campaign_engine, exit, scratch_engine};
use crate::campaign;
use crate::engine::scan::{ScanReport, TargetScan};

/// Count what is left to migrate, from the code itself.
///
/// For every target of a launched campaign (every state and tranche, with a
/// pull request or not), fetches the repository and counts, at its
/// default-branch head, the places the recipe would still rewrite: merged
/// repositories count 0, declined ones and those not yet reached count what
/// is there, and repositories fixed by hand count what they left. Each count
/// is recorded in the state with the commit and the time (a second scan adds
/// to the history). Nothing is written to any repository or remote.
///
/// Given a campaign file whose campaign was not launched, it scans every
/// scheduled target of the file's plan and records nothing: the size of a
/// campaign before its launch.
///
/// Exits 4 when some repository could not be scanned (the others are).
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright scan modernize-deprecated-apis --json", "fleetwright scan campaigns/modernize.yaml"]))]
pub struct ScanArgs {
    /// The campaign name (as in its file's `name`), or a campaign file.
    campaign: String,
    /// Print one JSON object (the `ScanReport` shape) instead of the table.
    #[arg(long)]
    json: bool,
    /// Repositories scanned at once (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

pub async fn run(args: ScanArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let report = match what(&args.campaign, &global.state, &global.cache, ui).await? {
        Scanned::Plan(loaded) => {
            if loaded.recipe.runs_commands() {
                super::launch::require_sandbox(&loaded)?;
            }
            warn_catalog_problems(ui, &loaded);
            let (_scratch, engine) =
                scratch_engine(&global.cache, &loaded.campaign, ui, args.jobs).await?;
            let report = engine.scan_plan(&loaded).await?;
            ui.note(format!(
                "campaign `{}` is not launched: the counts are its size before launch, and nothing was recorded",
                report.campaign
            ));
            report
        }
        Scanned::Recorded(name) => {
            let (state, loaded) = launched(&global.state, &global.cache, &name, ui).await?;
            if loaded.recipe.runs_commands() {
                super::launch::require_sandbox(&loaded)?;
            }
            let _lock = lock(&global.state, &name, "scan").await?;
            warn_catalog_problems(ui, &loaded);
            let engine = campaign_engine(&state, &global.cache, &loaded.campaign, ui, args.jobs)?;
            let report = engine.scan(&loaded).await?;
            state.close().await;
            report
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    let failed = report.totals.failed;
    if failed > 0 {
        ui.note(format!(
            "{failed} repositor{} could not be scanned (see NOTE); fix the cause and run `fleetwright scan {}` again",
            if failed == 1 { "y" } else { "ies" },
            report.campaign
        ));
        Ok(exit::TARGETS_FAILED)
    } else {
        Ok(exit::SUCCESS)
    }
}

/// True when `arg` names a file rather than a campaign (a campaign name
/// has no `/` and no `.yaml`).
fn is_file_arg(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".yaml") || arg.ends_with(".yml")
}

/// What a scan counts in.
enum Scanned {
    /// The recorded campaign of this name.
    Recorded(String),
    /// The plan of a campaign file whose campaign is not recorded.
    Plan(Box<campaign::Loaded>),
}

/// What `arg` names: a recorded campaign (by its name, or by a file of
/// it), or a campaign file whose campaign is not in the state at `state`.
async fn what(
    arg: &str,
    state: &crate::state::Location,
    cache: &std::path::Path,
    ui: &Ui,
) -> anyhow::Result<Scanned> {
    if !is_file_arg(arg) {
        return Ok(Scanned::Recorded(arg.to_string()));
    }
    let path = std::path::Path::new(arg);
    // The name first: a recorded campaign is scanned from the state (and
    // a live catalog from its snapshot), without reading the catalog now.
    let name = campaign::Campaign::load(path)?.name;
    if state.exists() {
        let recorded = super::open_state(state).await?;
        let known = recorded.campaign(&name).await?.is_some();
        recorded.close().await;
        if known {
            return Ok(Scanned::Recorded(name));
        }
    }
    let loaded = super::live::load(path, None, cache, ui).await?;
    Ok(Scanned::Plan(Box::new(loaded)))
}

/// The human view of a scan: a table with the most matches first (those
/// that could not be scanned last), then the summary.
pub fn render(report: &ScanReport) -> String {
    let mut targets: Vec<&TargetScan> = report.targets.iter().collect();
    // Stable: ties keep plan order.
    targets.sort_by_key(|t| std::cmp::Reverse(t.matches.map(|n| n as i64).unwrap_or(-1)));
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|t| {
            vec![
                t.repo.clone(),
                t.state.clone(),
                t.matches.map_or("?".to_string(), |n| n.to_string()),
                t.commit.as_deref().map_or(String::new(), short),
                t.error
                    .as_deref()
                    .map(|e| format!("not scanned: {e}"))
                    .or_else(|| t.note.clone())
                    .map_or(String::new(), |n| shorten(&n, 100)),
            ]
        })
        .collect();
    let mut out = table(&["REPO", "STATE", "MATCHES", "COMMIT", "NOTE"], &rows);
    let totals = &report.totals;
    out.push_str(&format!(
        "\n{}: {} place{} still match in {} of {} repositor{} (each at its default-branch head, scanned {})\n",
        report.campaign,
        totals.matches,
        if totals.matches == 1 { "" } else { "s" },
        totals.repositories_with_matches,
        totals.scanned,
        if totals.scanned == 1 { "y" } else { "ies" },
        seconds(&report.at),
    ));
    if totals.reused > 0 {
        out.push_str(&format!(
            "{} of them unchanged since their last scan (same head, same recipe): counted again without a checkout\n",
            totals.reused
        ));
    }
    if totals.failed > 0 {
        out.push_str(&format!(
            "{} of {} repositories could not be scanned\n",
            totals.failed, totals.targets
        ));
    }
    out
}

/// A time of the state to the second (`2025-01-02T03:04:05Z`).
fn seconds(at: &str) -> String {
    at.parse::<jiff::Timestamp>()
        .map_or_else(|_| at.to_string(), |t| format!("{t:.0}"))
}

/// A commit id as people read it.
fn short(commit: &str) -> String {
    commit.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scan::ScanTotals;

    fn target(repo: &str, matches: Option<usize>, error: Option<&str>) -> TargetScan {
        TargetScan {
            repo: repo.into(),
            component: format!("component:default/{repo}"),
            state: "pending".into(),
            default_branch: matches.map(|_| "main".into()),
            commit: matches.map(|_| "0123456789abcdef".into()),
            matches,
            files: 0,
            note: None,
            error: error.map(Into::into),
            reused: false,
        }
    }

    #[test]
    fn the_table_puts_most_matches_first_and_failures_last() {
        let targets = vec![
            target("a", Some(0), None),
            target("b", None, Some("cannot fetch")),
            target("c", Some(5), None),
            target("d", Some(2), None),
        ];
        let report = ScanReport {
            campaign: "c1".into(),
            recipe: "r".into(),
            at: "2025-01-02T03:04:05.123456Z".into(),
            totals: ScanTotals {
                targets: 4,
                scanned: 3,
                failed: 1,
                matches: 7,
                repositories_with_matches: 2,
                reused: 0,
            },
            targets,
        };
        let text = render(&report);
        let order: Vec<&str> = text
            .lines()
            .skip(1)
            .take(4)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(order, ["c", "d", "a", "b"], "{text}");
        assert!(
            text.contains("0123456789") && !text.contains("0123456789a"),
            "{text}"
        );
        assert!(text.contains("not scanned: cannot fetch"), "{text}");
        assert!(
            text.contains("c1: 7 places still match in 2 of 3 repositories (each at its default-branch head, scanned 2025-01-02T03:04:05Z)"),
            "{text}"
        );
        assert!(
            text.contains("1 of 4 repositories could not be scanned"),
            "{text}"
        );
    }
}
