//! `fleetwright status`: every target of a campaign, and the counts.

use anyhow::Context as _;
use clap::Args;

use crate::escape::terminal;
use crate::report::{shorten, status_reason_text};

use super::output::table;
use super::{GlobalArgs, Ui, exit, recorded_campaign};
use crate::catalog::EntityRef;
use crate::report::StatusReport;
use crate::state::{CampaignRow, State, TargetFilter, TargetState};

/// Show a campaign's targets: repo, owner, tranche, state, PR.
///
/// At most --limit targets are listed (50 by default; the last line says
/// how many more match and how to see them); the counts are of every target
/// the filters hold. --json prints every target the filters hold.
#[derive(Debug, Args)]
#[command(
    after_help = super::examples(&["fleetwright status modernize-deprecated-apis --target-state failed", "fleetwright status modernize-deprecated-apis --team payments --tranche 2", "fleetwright status modernize-deprecated-apis --limit 0  # every target", "fleetwright status modernize-deprecated-apis --json"])
)]
pub struct StatusArgs {
    /// The campaign name.
    campaign: String,
    /// Print one JSON object (documented in docs/campaigns.md): every
    /// target the filters hold, unless --limit is given.
    #[arg(long)]
    json: bool,
    /// List at most N targets (0: all of them). Default: 50, or all with
    /// --json.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only targets in this state (pending, queued, pushed, pr_open, merged,
    /// declined, no_change, not_applicable, failed, verify_failed,
    /// opted_out, needs_attention). (`--state` is the global flag that
    /// names the state database.)
    #[arg(long, value_name = "STATE", value_parser = parse_state)]
    target_state: Option<TargetState>,
    /// Only targets of this owner: a catalog entity ref (`payments`,
    /// `group:default/payments`, `user:jane`).
    #[arg(long, value_name = "OWNER")]
    team: Option<String>,
    /// Only targets of this tranche (1-based, as status shows it).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    tranche: Option<i64>,
}

/// Targets `status` lists when --limit is not given.
pub const DEFAULT_LIMIT: usize = 50;

fn parse_state(text: &str) -> Result<TargetState, String> {
    text.parse().map_err(|_| {
        let known: Vec<&str> = TargetState::ALL.iter().map(|s| s.as_str()).collect();
        format!(
            "`{text}` is not a target state; one of: {}",
            known.join(", ")
        )
    })
}

/// The status of a recorded campaign, from the state: every target.
pub async fn report(state: &State, row: &CampaignRow) -> anyhow::Result<StatusReport> {
    let targets = state.targets(row.id).await?;
    Ok(StatusReport::build(row, &targets))
}

/// The status of the targets `filter` holds, listing at most `limit` of
/// them: the listing and the counts are SQL's, so 50 lines of 10,000
/// targets read 50 rows.
pub async fn report_matching(
    state: &State,
    row: &CampaignRow,
    filter: &TargetFilter,
    limit: Option<usize>,
) -> anyhow::Result<StatusReport> {
    let counts = state.target_counts(row.id, filter).await?;
    let targets = state.targets_matching(row.id, filter, limit).await?;
    Ok(StatusReport::build_with_counts(row, &targets, &counts))
}

pub async fn run(args: StatusArgs, global: &GlobalArgs, _ui: &Ui) -> anyhow::Result<u8> {
    // `status NAME --state failed` names a state database `failed`: say
    // which flag filters.
    if !global.state.exists()
        && let Some(word) = global.state.sqlite_path().and_then(|p| p.to_str())
        && word.parse::<TargetState>().is_ok()
    {
        return Err(exit::Refusal::new(
            exit::USAGE,
            format!("--state names the state database, and there is none at `{word}`"),
        )
        .hint(format!(
            "to list the targets in state {word}: `fleetwright status {} --target-state {word}`",
            terminal(&args.campaign)
        ))
        .into());
    }
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let owner = match &args.team {
        Some(team) => Some(
            EntityRef::parse(team, "group", "default")
                .map_err(|e| {
                    exit::Refusal::new(exit::USAGE, format!("--team `{}`: {e}", terminal(team)))
                        .hint("name the owner as the catalog does: `payments`, `group:default/payments` or `user:jane`")
                })?
                .to_string(),
        ),
        None => None,
    };
    let filter = TargetFilter {
        state: args.target_state,
        owner,
        tranche: args.tranche.map(|t| t - 1),
    };
    let limit = match (args.limit, args.json) {
        (Some(0), _) | (None, true) => None,
        (Some(n), _) => Some(n),
        (None, false) => Some(DEFAULT_LIMIT),
    };
    let status = report_matching(&state, &row, &filter, limit).await?;
    state.close().await;
    super::output::to_stdout(|stdout| {
        if args.json {
            serde_json::to_writer_pretty(&mut *stdout, &status)?;
            writeln!(stdout)
        } else {
            let mut text = render(&status);
            text.push_str(&filter_note(&args, &filter, &status));
            stdout.write_all(text.as_bytes())
        }
    })
    .context("cannot write the status to stdout")?;
    Ok(exit::SUCCESS)
}

/// What the filters held, and how to see what the listing left out.
fn filter_note(args: &StatusArgs, filter: &TargetFilter, status: &StatusReport) -> String {
    let mut out = String::new();
    let mut given = Vec::new();
    if let Some(state) = filter.state {
        given.push(format!("--target-state {state}"));
    }
    if let Some(team) = &args.team {
        given.push(format!("--team {}", terminal(team)));
    }
    if let Some(tranche) = args.tranche {
        given.push(format!("--tranche {tranche}"));
    }
    if !given.is_empty() {
        out.push_str(&format!("(only the targets of {})\n", given.join(" ")));
    }
    if status.more > 0 {
        out.push_str(&format!(
            "{} more target(s) not listed: `fleetwright status {} --limit 0` lists them all; --target-state, --team and --tranche narrow the list; --json prints every one\n",
            status.more,
            terminal(&status.campaign.name)
        ));
    }
    out
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
    // The reason in words: not `cancelled: cancelled: …`, not `4 no_change`.
    if let Some(reason) = c
        .status_reason
        .as_deref()
        .and_then(|r| status_reason_text(&c.status, r))
    {
        out.push_str(&format!("{}: {}\n", c.status, terminal(&reason)));
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
    let total: usize = status.counts.values().sum();
    out.push_str(&format!("\n{total} target(s): {}\n", counts.join(", ")));
    out
}
