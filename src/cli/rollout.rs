//! `fleetwright run`, `pause`, `resume` and `cancel`: a campaign left to
//! run on its own, and the platform team's hand on it.

use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::actions::{Actions, IssueAction, TrackingIssue};
use super::launch::{launched, lock, print_outcomes};
use super::plan::warn_catalog_problems;
use super::{GlobalArgs, Ui, campaign_engine, engine, exit, open_state, recorded_campaign};
use crate::campaign;
use crate::engine::Reconciled;
use crate::escape::terminal;
use crate::forge::ForgeKind;

/// Bring a campaign one step closer to done, then exit (safe from cron).
///
/// One run syncs the open pull requests, pauses the campaign when too many
/// of the newest tranche fail CI, opens the next tranche when the gate of
/// the previous one passes, opens the pull requests the throttles allow,
/// nudges stale ones (once), and marks the campaign completed when every
/// target is settled. A campaign file that was never launched is launched.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright run campaigns/modernize.yaml", "fleetwright run modernize-deprecated-apis --watch 10m"]))]
pub struct RunArgs {
    /// The campaign: its file, or the name of a launched campaign.
    campaign: String,
    /// Run again every INTERVAL (`30s`, `10m`, `1h`) until the campaign is
    /// completed or cancelled (Ctrl-C stops between runs).
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    watch: Option<Duration>,
    /// Targets prepared at once (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Print what it did as JSON (docs/campaigns.md); with --watch, one
    /// object a line per run.
    #[arg(long)]
    json: bool,
}

/// Pause a campaign: no pull request is opened until `resume`.
///
/// Syncing still records what happens to the open pull requests.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright pause modernize-deprecated-apis --reason \"CI outage in the payments org\""]))]
pub struct PauseArgs {
    /// The campaign name.
    campaign: String,
    /// Why (shown in status and the report).
    #[arg(long)]
    reason: Option<String>,
}

/// Resume a paused campaign.
///
/// A campaign that paused itself on CI failures accepts the failures it has
/// now, and pauses again only when more pull requests fail.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright resume modernize-deprecated-apis"]))]
pub struct ResumeArgs {
    /// The campaign name.
    campaign: String,
}

/// Cancel a campaign for good: nothing more is opened, synced or nudged.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright cancel modernize-deprecated-apis --close-prs \"Superseded by the v2 campaign.\""]))]
pub struct CancelArgs {
    /// The campaign name.
    campaign: String,
    /// Why (recorded in the event log and shown in the report).
    #[arg(long)]
    reason: Option<String>,
    /// Close every open pull request with this comment (their targets
    /// become `declined`).
    #[arg(long, value_name = "COMMENT")]
    close_prs: Option<String>,
}

/// `30s`, `10m`, `2h`.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not an interval such as 30s, 10m or 1h"))?;
    let seconds = match unit.trim() {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        other => return Err(format!("unknown unit `{other}`: use s, m or h")),
    };
    if seconds == 0 {
        return Err("the interval must be at least 1s".into());
    }
    Ok(Duration::from_secs(seconds))
}

pub async fn run(args: RunArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let file = Path::new(&args.campaign);
    let looks_like_a_file = args.campaign.contains('/')
        || args.campaign.ends_with(".yaml")
        || args.campaign.ends_with(".yml");
    if looks_like_a_file && !file.is_file() {
        return Err(exit::Refusal::new(
            exit::BAD_INPUT,
            format!("campaign file {} does not exist", file.display()),
        )
        .hint("give the campaign file's path, or the name of a launched campaign")
        .into());
    }
    loop {
        let (code, finished) = match run_once(&args, file, global, ui).await {
            // Watching, a run that overlaps another (cron) waits its turn.
            Err(e)
                if args.watch.is_some()
                    && e.downcast_ref::<crate::lock::LockError>()
                        .is_some_and(|l| matches!(l, crate::lock::LockError::Held { .. })) =>
            {
                ui.note(format!(
                    "{}; trying again at the next round",
                    terminal(&e.to_string())
                ));
                (exit::SUCCESS, false)
            }
            other => other?,
        };
        let Some(interval) = args.watch.filter(|_| !finished) else {
            return Ok(code);
        };
        ui.note(format!(
            "next run in {}s (Ctrl-C stops)",
            interval.as_secs()
        ));
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(code),
        }
    }
}

/// One run; true when the campaign is over (completed or cancelled).
async fn run_once(
    args: &RunArgs,
    file: &Path,
    global: &GlobalArgs,
    ui: &Ui,
) -> anyhow::Result<(u8, bool)> {
    let (name, loaded, state) = if file.is_file() {
        let loaded = super::live::load_at(file, &global.state, &global.cache, ui).await?;
        super::launch::require_sandbox(&loaded)?;
        let state = open_state(&global.state).await?;
        (loaded.campaign.name.clone(), loaded, state)
    } else {
        let (state, loaded) = launched(&global.state, &global.cache, &args.campaign, ui).await?;
        super::launch::require_sandbox(&loaded)?;
        (loaded.campaign.name.clone(), loaded, state)
    };
    let _lock = lock(&global.state, &name, "run").await?;
    warn_catalog_problems(ui, &loaded);
    let engine = campaign_engine(&state, &global.cache, &loaded.campaign, ui, args.jobs)?;
    let done = engine.reconcile(&loaded).await?;
    let issue = publish_tracking_issue(&engine, &loaded.campaign, &done.campaign).await;
    if args.json {
        let mut actions = Actions::of_reconciled(&done);
        actions.tracking_issue = issue;
        actions.print(args.watch.is_some())?;
    } else {
        print_reconciled(&done);
        if let Some(issue) = &issue {
            print_tracking_issue(ui, issue);
        }
    }
    state.close().await;
    let finished = done.campaign.status.is_finished();
    let code = if done.failed() > 0 || !done.sync.failed.is_empty() {
        exit::TARGETS_FAILED
    } else {
        exit::SUCCESS
    };
    Ok((code, finished))
}

/// A run ends by publishing the campaign's tracking issue (`report.issue`);
/// `None` when it has none. A failure is never the run's: nothing is lost,
/// and the next run tries again.
async fn publish_tracking_issue(
    engine: &crate::engine::Engine,
    campaign: &campaign::Campaign,
    row: &crate::state::CampaignRow,
) -> Option<TrackingIssue> {
    match engine.publish_tracking_issue(campaign, row).await {
        Ok(None) => None,
        Ok(Some(p)) => Some(TrackingIssue {
            action: p.action.into(),
            url: Some(p.url),
            error: None,
        }),
        Err(e) => Some(TrackingIssue {
            action: IssueAction::Failed,
            url: None,
            error: Some(crate::urls::redact_text(&e.to_string()).into_owned()),
        }),
    }
}

/// What became of the tracking issue, for the person who ran `run`.
fn print_tracking_issue(ui: &Ui, issue: &TrackingIssue) {
    let url = terminal(issue.url.as_deref().unwrap_or_default());
    match issue.action {
        IssueAction::Opened => println!("tracking issue opened: {url}"),
        IssueAction::Updated => println!("tracking issue updated: {url}"),
        IssueAction::Unchanged => println!("tracking issue unchanged: {url}"),
        IssueAction::LeftClosed => ui.note(format!(
            "warning: the tracking issue {url} was closed by a person: it is not updated, reopened or opened again; reopen it to have it kept up to date, or remove `report.issue` from the campaign file"
        )),
        IssueAction::Failed => ui.note(format!(
            "warning: {}; the next run tries again",
            terminal(issue.error.as_deref().unwrap_or_default())
        )),
    }
}

pub(super) fn print_reconciled(done: &Reconciled) {
    let c = &done.campaign;
    let name = terminal(&c.name);
    if done.launched {
        println!("launched {name} ({} tranches)", c.tranche_count);
    }
    let s = &done.sync;
    if s.checked > 0 {
        let moved: Vec<String> = s
            .moved
            .iter()
            .map(|(repo, _, to)| format!("{} {to}{}", terminal(repo), s.how(repo)))
            .collect();
        println!(
            "synced {} open pull request(s){}",
            s.checked,
            if moved.is_empty() {
                String::new()
            } else {
                format!(": {}", moved.join(", "))
            }
        );
        for (repo, why) in &s.failed {
            println!("  {:<28} not synced: {}", terminal(repo), terminal(why));
        }
    }
    if let Some(reason) = &done.paused {
        println!("PAUSED: {}", terminal(reason));
    } else if c.status == crate::state::CampaignStatus::Paused {
        println!(
            "paused, nothing is opened: {}",
            terminal(c.status_reason.as_deref().unwrap_or("by hand"))
        );
    }
    match (&done.gate, done.gate_passed) {
        (Some(gate), true) => println!("gate passed: {}", terminal(gate)),
        (Some(gate), false) => println!("gate closed: {}", terminal(gate)),
        _ => {}
    }
    for t in &done.opened {
        println!("opened tranche {} of {}", t + 1, c.tranche_count);
    }
    if let Some(why) = &done.throttled {
        println!("throttled: {}", terminal(why));
    }
    print_outcomes(&done.outcomes);
    if !done.nudged.is_empty() {
        let nudged: Vec<String> = done
            .nudged
            .iter()
            .map(|(repo, n)| format!("{} #{n}", terminal(repo)))
            .collect();
        println!(
            "nudged {} stale pull request(s): {}",
            nudged.len(),
            nudged.join(", ")
        );
    }
    for (repo, why) in &done.nudge_failed {
        println!("  {:<28} nudge failed: {}", terminal(repo), terminal(why));
    }
    println!(
        "{name}: {}{}",
        c.status,
        match (&c.status_reason, c.status.as_str()) {
            (Some(r), "completed" | "cancelled") => format!(" ({})", terminal(r)),
            _ => String::new(),
        }
    );
}

pub async fn pause(args: PauseArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let row = crate::engine::pause(&state, &row, args.reason.as_deref()).await?;
    let name = terminal(&row.name);
    println!(
        "{name}: paused ({})",
        terminal(row.status_reason.as_deref().unwrap_or_default())
    );
    ui.note(format!("`fleetwright resume {name}` lets it go on"));
    state.close().await;
    Ok(exit::SUCCESS)
}

pub async fn resume(args: ResumeArgs, global: &GlobalArgs, _ui: &Ui) -> anyhow::Result<u8> {
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let row = crate::engine::resume(&state, &row).await?;
    println!(
        "{}: active{}",
        terminal(&row.name),
        row.status_reason
            .map(|r| format!(" ({})", terminal(&r)))
            .unwrap_or_default()
    );
    state.close().await;
    Ok(exit::SUCCESS)
}

pub async fn cancel(args: CancelArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (state, row) = recorded_campaign(&global.state, &args.campaign).await?;
    let _lock = lock(&global.state, &args.campaign, "cancel").await?;
    // Closing pull requests needs the forge the campaign file names (and,
    // on GitHub, its token): set it up before anything is recorded.
    let engine = match (&args.close_prs, row.forge_kind()?) {
        (None, _) => None,
        (Some(_), ForgeKind::Local) => Some(engine(
            &state,
            &global.cache,
            ForgeKind::Local,
            None,
            ui,
            None,
        )?),
        (Some(_), _) => {
            let (_, loaded) = launched(&global.state, &global.cache, &args.campaign, ui).await?;
            Some(campaign_engine(
                &state,
                &global.cache,
                &loaded.campaign,
                ui,
                None,
            )?)
        }
    };
    let row = crate::engine::cancel(&state, &row, args.reason.as_deref()).await?;
    let closed = match (&engine, &args.close_prs) {
        (Some(engine), Some(comment)) => engine.close_open(&row, comment).await?,
        _ => Vec::new(),
    };
    let mut failed = 0;
    for (repo, result) in &closed {
        match result {
            Ok(n) => println!("  {:<28} closed #{n}", terminal(repo)),
            Err(why) => {
                failed += 1;
                println!("  {:<28} not closed: {}", terminal(repo), terminal(why));
            }
        }
    }
    println!(
        "{}: cancelled{}{}",
        terminal(&row.name),
        row.status_reason
            .as_deref()
            .and_then(|r| crate::report::status_reason_text("cancelled", r))
            .map(|r| format!(" ({})", terminal(&r)))
            .unwrap_or_default(),
        if closed.is_empty() {
            String::new()
        } else {
            format!(
                ", {} pull request(s) closed by the platform team",
                closed.len() - failed
            )
        }
    );
    state.close().await;
    Ok(if failed > 0 {
        exit::TARGETS_FAILED
    } else {
        exit::SUCCESS
    })
}
