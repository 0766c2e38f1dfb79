//! `fleetwright status`: every target of a campaign, and the counts.

use clap::Args;

use super::output::table;
use super::{GlobalArgs, Ui, exit, open_existing_state};
use crate::report::StatusReport;
use crate::state::State;

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

/// The status of `name`, or a not-found refusal.
pub async fn report(state: &State, name: &str) -> anyhow::Result<StatusReport> {
    let row = match state.campaign(name).await? {
        Some(row) => row,
        None => {
            let refusal = exit::Refusal::new(
                exit::NOT_FOUND,
                format!("no campaign named `{name}` in {}", state.path().display()),
            );
            let names = state.campaign_names().await.unwrap_or_default();
            let hint = if names.is_empty() {
                "this state holds no campaign yet: `fleetwright launch CAMPAIGN_FILE` records one"
                    .to_string()
            } else {
                format!("campaigns in this state: {}", names.join(", "))
            };
            return Err(refusal.hint(hint).into());
        }
    };
    let targets = state.targets(row.id).await?;
    Ok(StatusReport::build(&row, &targets))
}

pub async fn run(args: StatusArgs, global: &GlobalArgs, _ui: &Ui) -> anyhow::Result<u8> {
    let state = open_existing_state(&global.state, &args.campaign).await?;
    let status = report(&state, &args.campaign).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status));
    }
    Ok(exit::SUCCESS)
}

/// The human view of a status.
pub fn render(status: &StatusReport) -> String {
    let c = &status.campaign;
    let mut out = format!(
        "campaign {} ({}): recipe {}, forge {}, tranches open {} of {}\n\n",
        c.name, c.status, c.recipe, c.forge, c.tranches_open, c.tranche_count
    );
    let rows: Vec<Vec<String>> = status
        .targets
        .iter()
        .map(|t| {
            let pr = t.pr.as_ref().map_or(String::new(), |p| {
                format!("#{} {} {}", p.number, p.state, p.url)
            });
            let note = match (&t.step, &t.reason) {
                (Some(step), Some(reason)) => format!("{step}: {}", shorten(reason, 90)),
                (None, Some(reason)) => shorten(reason, 90),
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

fn shorten(text: &str, max: usize) -> String {
    let one_line = text.lines().next().unwrap_or("");
    if one_line.chars().count() <= max {
        one_line.to_string()
    } else {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    }
}
