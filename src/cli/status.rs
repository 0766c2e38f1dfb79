//! `fleetwright status`: every target of a campaign, and the counts.

use clap::Args;

use crate::escape::terminal;
use crate::report::shorten;

use super::output::table;
use super::{GlobalArgs, Ui, exit, recorded_campaign};
use crate::report::StatusReport;
use crate::state::{CampaignRow, State};

/// Show every target of a campaign: repo, owner, tranche, state, PR.
///
/// Example: fleetwright status modernize-deprecated-apis --json
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The campaign name.
    campaign: String,
    /// Print one JSON object (documented in docs/campaigns.md).
    #[arg(long)]
    json: bool,
}

/// The status of a recorded campaign, from the state.
pub async fn report(state: &State, row: &CampaignRow) -> anyhow::Result<StatusReport> {
    let targets = state.targets(row.id).await?;
    Ok(StatusReport::build(row, &targets))
}

pub async fn run(args: StatusArgs, global: &GlobalArgs, _ui: &Ui) -> anyhow::Result<u8> {
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let status = report(&state, &row).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status));
    }
    Ok(exit::SUCCESS)
}

/// The human view of a status. Values from outside go through
/// [`terminal`] (the table's cells in `table`).
pub fn render(status: &StatusReport) -> String {
    let c = &status.campaign;
    let mut out = format!(
        "campaign {} ({}): recipe {}, forge {}, tranches open {} of {}\n",
        terminal(&c.name),
        c.status,
        terminal(&c.recipe),
        terminal(&c.forge),
        c.tranches_open,
        c.tranche_count
    );
    if let Some(reason) = &c.status_reason {
        out.push_str(&format!("{}: {}\n", c.status, terminal(reason)));
    }
    if let Some(gate) = c.gate.as_ref().filter(|_| c.status == "active") {
        out.push_str(&format!("gate closed: {}\n", terminal(gate)));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = status
        .targets
        .iter()
        .map(|t| {
            let pr = t.pr.as_ref().map_or(String::new(), |p| {
                format!("#{} {} {}", p.number, p.state, p.url)
            });
            let nobody =
                t.pr.as_ref()
                    .is_some_and(|p| p.state == "open" && p.reviewers.as_deref() == Some(""));
            let note = match (&t.step, &t.reason) {
                (Some(step), Some(reason)) => format!("{step}: {}", shorten(reason, 90)),
                (None, Some(reason)) => shorten(reason, 90),
                _ if nobody => "no reviewer: nobody in the catalog or CODEOWNERS".to_string(),
                _ => String::new(),
            };
            vec![
                t.repo.clone(),
                t.owner.clone(),
                t.tranche.to_string(),
                t.state.clone(),
                pr,
                note,
            ]
        })
        .collect();
    out.push_str(&table(
        &["REPO", "OWNER", "TRANCHE", "STATE", "PR", "NOTE"],
        &rows,
    ));
    let counts: Vec<String> = status
        .counts
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    out.push_str(&format!(
        "\n{} target(s): {}\n",
        status.targets.len(),
        counts.join(", ")
    ));
    out
}
