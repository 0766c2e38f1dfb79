//! `fleetwright launch` and `fleetwright advance`: run a campaign's open
//! tranches to their pull requests.

use std::path::PathBuf;

use clap::Args;

use super::actions::{Actions, Kind};
use super::plan::warn_catalog_problems;
use super::{Ui, campaign_engine, exit, open_state, recorded_campaign};
use crate::campaign;
use crate::engine::RunReport;
use crate::escape::terminal;
use crate::state::TargetState;

/// Record a campaign, open its first tranche and prepare its pull requests.
///
/// Running it again resumes where a failed or interrupted run stopped; it
/// never creates a second branch, commit or pull request for a target.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright launch campaigns/modernize.yaml"]))]
pub struct LaunchArgs {
    /// The campaign file.
    campaign_file: PathBuf,
    /// Targets prepared at once (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Print what it did as JSON (docs/campaigns.md): per target, its
    /// state, failed step, reason and pull request.
    #[arg(long)]
    json: bool,
}

/// Open the next tranche of a launched campaign, when its gate passes.
///
/// The gate (the campaign's `gate:`) is the share of the previous tranche's
/// pull requests merged, and its CI failures; `--force` opens the next
/// tranche anyway. When the last run was interrupted, it first finishes the
/// open tranches and opens nothing. Failed targets of open tranches are
/// retried. `fleetwright run` does all of this on its own.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright advance modernize-deprecated-apis --force"]))]
pub struct AdvanceArgs {
    /// The campaign name (as in its file's `name`).
    campaign: String,
    /// Open the next tranche even when the gate of the previous one has not
    /// passed (recorded in the event log as forced).
    #[arg(long)]
    force: bool,
    /// Targets prepared at once (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Print what it did as JSON (docs/campaigns.md).
    #[arg(long)]
    json: bool,
}

pub async fn launch(args: LaunchArgs, global: &super::GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let loaded =
        super::live::load_at(&args.campaign_file, &global.state, &global.cache, ui).await?;
    require_sandbox(&loaded)?;
    warn_catalog_problems(ui, &loaded);
    let _lock = lock(&global.state, &loaded.campaign.name, "launch").await?;
    let state = open_state(&global.state).await?;
    let engine = campaign_engine(&state, &global.cache, &loaded.campaign, ui, args.jobs)?;
    let report = engine.launch(&loaded).await?;
    if args.json {
        Actions::of_run(Kind::Launch, &report).print(false)?;
    } else {
        print_run(ui, &report, true);
    }
    state.close().await;
    Ok(exit_code(&report))
}

pub async fn advance(args: AdvanceArgs, global: &super::GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (state, loaded) = launched(&global.state, &global.cache, &args.campaign, ui).await?;
    require_sandbox(&loaded)?;
    let _lock = lock(&global.state, &args.campaign, "advance").await?;
    warn_catalog_problems(ui, &loaded);
    let engine = campaign_engine(&state, &global.cache, &loaded.campaign, ui, args.jobs)?;
    let report = engine.advance(&loaded, args.force).await?;
    if args.json {
        Actions::of_run(Kind::Advance, &report).print(false)?;
    } else {
        print_run(ui, &report, true);
    }
    state.close().await;
    Ok(exit_code(&report))
}

/// Refresh what the forge says of a campaign's open pull requests.
///
/// Asks the forge about each open pull request (state, draft, CI, reviews)
/// and records it: merged ones move their target to `merged`, closed ones to
/// `declined`. Cheap when nothing changed (conditional requests).
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright sync modernize-deprecated-apis"]))]
pub struct SyncArgs {
    /// The campaign name (as in its file's `name`).
    campaign: String,
    /// Print what it did as JSON (docs/campaigns.md).
    #[arg(long)]
    json: bool,
}

pub async fn sync(args: SyncArgs, global: &super::GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (state, loaded) = launched(&global.state, &global.cache, &args.campaign, ui).await?;
    let _lock = lock(&global.state, &args.campaign, "sync").await?;
    let engine = campaign_engine(&state, &global.cache, &loaded.campaign, ui, None)?;
    let report = engine.sync(&loaded).await?;
    if args.json {
        let row = state
            .campaign(&loaded.campaign.name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the campaign vanished from the state"))?;
        Actions::of_sync(&row, &report).print(false)?;
    } else {
        print_sync(&loaded.campaign.name, &report);
    }
    state.close().await;
    Ok(if report.failed.is_empty() {
        exit::SUCCESS
    } else {
        exit::TARGETS_FAILED
    })
}

/// What a sync did, for the person who ran it.
fn print_sync(campaign: &str, report: &crate::engine::SyncReport) {
    for (repo, from, to) in &report.moved {
        println!(
            "  {:<28} {from} -> {to}{}",
            terminal(repo),
            report.how(repo)
        );
    }
    for (repo, why) in &report.failed {
        println!("  {:<28} not synced: {}", terminal(repo), terminal(why));
    }
    println!(
        "{}: {} open pull request(s) checked, {} changed, {} not reachable",
        terminal(campaign),
        report.checked,
        report.moved.len(),
        report.failed.len()
    );
}

/// Refuse, once and before any target is touched, a campaign that runs
/// repository code (`verify`, the recipe's `run:` steps) when the sandbox it
/// asks for cannot be made on this machine.
pub(super) fn require_sandbox(loaded: &campaign::Loaded) -> anyhow::Result<()> {
    let code = loaded.repository_code();
    if code.is_empty() {
        return Ok(());
    }
    match loaded.campaign.sandbox.check() {
        Ok(()) => Ok(()),
        Err(crate::sandbox::SandboxError::Unavailable(why)) => Err(exit::Refusal::new(
            exit::REFUSED,
            format!(
                "campaign `{}` runs repository code ({}) in a bubblewrap sandbox, which cannot be made on this machine: {why}",
                loaded.campaign.name,
                code.join(" and ")
            ),
        )
        .hint(crate::sandbox::HINT)
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Hold the lock of `campaign` for `command` (see `src/lock.rs`).
pub(super) async fn lock(
    state: &crate::state::Location,
    campaign: &str,
    command: &str,
) -> anyhow::Result<crate::lock::Held> {
    Ok(crate::lock::Held::acquire(
        state,
        campaign,
        &format!("fleetwright {command} {campaign}"),
    )
    .await?)
}

/// A launched campaign: its state, and its file loaded again from where it
/// was launched (refused when gone or renamed), a live catalog from the
/// snapshot its launch recorded.
pub(super) async fn launched(
    state_path: &crate::state::Location,
    cache: &std::path::Path,
    name: &str,
    ui: &Ui,
) -> anyhow::Result<(crate::state::State, campaign::Loaded)> {
    let (state, row) = recorded_campaign(state_path, name).await?;
    let loaded = super::live::load(&launched_file(&row)?, Some(&state), cache, ui).await?;
    same_name(&row, &loaded.campaign)?;
    Ok((state, loaded))
}

/// The file a recorded campaign was launched from (refused when gone).
pub(super) fn launched_file(row: &crate::state::CampaignRow) -> anyhow::Result<PathBuf> {
    let file = PathBuf::from(&row.file);
    if !file.is_file() {
        return Err(exit::Refusal::new(
            exit::BAD_INPUT,
            format!(
                "campaign `{}` was launched from {}, which no longer exists",
                row.name, row.file
            ),
        )
        .hint("restore the campaign file at that path (campaign files are meant to live in git)")
        .into());
    }
    Ok(file)
}

/// Refused when the file a campaign was launched from names another one.
pub(super) fn same_name(
    row: &crate::state::CampaignRow,
    campaign: &campaign::Campaign,
) -> anyhow::Result<()> {
    if campaign.name != row.name {
        return Err(exit::Refusal::new(
            exit::REFUSED,
            format!(
                "{} now names campaign `{}`, not `{}`",
                row.file, campaign.name, row.name
            ),
        )
        .hint("a campaign's name cannot change once launched; restore it")
        .into());
    }
    Ok(())
}

fn exit_code(report: &RunReport) -> u8 {
    if report.failed() > 0 {
        exit::TARGETS_FAILED
    } else {
        exit::SUCCESS
    }
}

/// One line per target a run worked on (names and reasons through
/// [`terminal`]: a reason can quote a file path or a forge's message).
pub(super) fn print_outcomes(outcomes: &[crate::engine::TargetOutcome]) {
    for o in outcomes {
        let repo = terminal(&o.repo);
        match o.state {
            TargetState::Failed => println!(
                "  {repo:<28} failed at {}: {}",
                o.step.map_or("?", |s| s.as_str()),
                terminal(o.reason.as_deref().unwrap_or(""))
            ),
            TargetState::PrOpen | TargetState::Merged | TargetState::Declined => println!(
                "  {repo:<28} {} (pull request #{})",
                o.state,
                o.pr.map_or("?".to_string(), |n| n.to_string())
            ),
            state => println!("  {repo:<28} {state}"),
        }
    }
}

/// What a run did, for the person who ran it.
pub(super) fn print_run(ui: &Ui, report: &RunReport, next_hint: bool) {
    let c = &report.campaign;
    let name = terminal(&c.name);
    if report.resumed {
        println!("the last run of {name} was interrupted: finished the open tranches, opened none");
    }
    for t in &report.opened {
        println!("opened tranche {} of {}", t + 1, c.tranche_count);
    }
    if report.opened.is_empty() && !report.resumed {
        if c.tranches_open >= c.tranche_count {
            println!("every tranche of {name} is open");
        } else if let Some(gate) = &report.gate {
            println!("gate closed: {}", terminal(gate));
            ui.note("`fleetwright advance --force` opens the next tranche anyway");
        } else {
            println!("no tranche opened; resuming the open ones");
        }
    }
    if let Some(why) = &report.throttled {
        println!("throttled: {}", terminal(why));
    }
    print_outcomes(&report.outcomes);
    let counts: Vec<String> = report
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    println!(
        "{name}: {} target(s) worked on{}",
        report.outcomes.len(),
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        }
    );
    if report.failed() > 0 {
        ui.note(format!(
            "{} target(s) failed; fix the cause and run the same command again: it picks up where it stopped",
            report.failed()
        ));
    }
    if next_hint {
        ui.note(format!("next: `fleetwright status {name}`"));
    }
}
