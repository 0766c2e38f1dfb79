//! `fleetwright cache`: the clone cache's disk use (in total, per campaign
//! of the state, per clone) and `cache prune`, which removes the clones no
//! running campaign needs. The accounting is [`crate::cache`]; this file
//! gathers the state's campaigns, removes, and prints.

use std::time::SystemTime;

use clap::{Args, Subcommand};

use crate::cache::{CacheReport, CampaignUse, Measured, PruneReport, PruneRule, Pruned};
use crate::escape::terminal;
use crate::git::Workspace;

use super::output::table;
use super::{GlobalArgs, Ui, exit, open_state};

/// Show what the clone cache holds, and prune it.
///
/// The cache is --cache DIR (FLEETWRIGHT_CACHE), else beside an explicit
/// --state, else $XDG_CACHE_HOME/fleetwright (~/.cache/fleetwright).
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright cache", "fleetwright cache list --json", "fleetwright cache prune --completed --dry-run", "fleetwright cache prune --older-than 30d"]))]
pub struct CacheArgs {
    #[command(subcommand)]
    command: Option<CacheCommand>,
    /// Print one JSON object (documented in docs/campaigns.md).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Every clone: its size, last use and the campaigns that use it.
    List,
    /// Remove clones: those matching every option given. A clone a running
    /// fleetwright works in is left alone.
    #[command(after_help = super::examples(&["fleetwright cache prune --completed --older-than 7d --dry-run"]))]
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
struct PruneArgs {
    /// Clones no sync used for this long: 30d, 2w, 12h.
    #[arg(long, value_name = "AGE", value_parser = crate::cache::parse_age)]
    older_than: Option<std::time::Duration>,
    /// Clones used by this campaign of the state and by no other.
    #[arg(long, value_name = "NAME")]
    campaign: Option<String>,
    /// Clones used only by completed or cancelled campaigns of the state.
    #[arg(long)]
    completed: bool,
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(args: CacheArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let workspace = Workspace::new(global.cache.join("repos"));
    match args.command {
        None => {
            let report = gather(&workspace, global, ui, false).await?;
            print_out(args.json, &report, summary)
        }
        Some(CacheCommand::List) => {
            let report = gather(&workspace, global, ui, false).await?;
            print_out(args.json, &report, list)
        }
        Some(CacheCommand::Prune(prune_args)) => {
            prune(&workspace, global, ui, prune_args, args.json).await
        }
    }
}

fn print_out<T: serde::Serialize>(
    json: bool,
    value: &T,
    human: impl Fn(&T) -> String,
) -> anyhow::Result<u8> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", human(value));
    }
    Ok(exit::SUCCESS)
}

/// The clones on disk, measured, with the campaigns of the state (none
/// when there is no state; `need_state` makes that an error).
async fn gather(
    workspace: &Workspace,
    global: &GlobalArgs,
    ui: &Ui,
    need_state: bool,
) -> anyhow::Result<CacheReport> {
    let campaigns = campaigns(workspace, &global.state, ui, need_state).await?;
    let found = workspace.clones().map_err(|e| {
        exit::Refusal::new(
            exit::REFUSED,
            format!(
                "cannot read the clone cache {}: {e}",
                workspace.root().display()
            ),
        )
        .hint("check its permissions, or name the cache with --cache DIR")
    })?;
    let measured = found
        .into_iter()
        .map(|c| Measured {
            bytes: crate::cache::disk_usage(&c.path),
            folder: c.folder,
            url: c.url,
            last_used: c.last_used,
        })
        .collect();
    Ok(CacheReport::build(workspace.root(), measured, &campaigns))
}

/// Every campaign of the state at `path` with the clone folders of its
/// targets. The state is never created here.
async fn campaigns(
    workspace: &Workspace,
    path: &crate::state::Location,
    ui: &Ui,
    need_state: bool,
) -> anyhow::Result<Vec<CampaignUse>> {
    if !path.exists() {
        if need_state {
            return Err(exit::Refusal::new(
                exit::NOT_FOUND,
                format!("there is no state database at {path}"),
            )
            .hint("pass the state the campaigns were launched with (--state or FLEETWRIGHT_STATE)")
            .into());
        }
        ui.note(format!(
            "no state at {path}: no clone is known to a campaign"
        ));
        return Ok(Vec::new());
    }
    let state = open_state(path).await?;
    let mut out = Vec::new();
    for name in state.campaign_names().await? {
        let Some(row) = state.campaign(&name).await? else {
            continue;
        };
        let mut folders: Vec<String> = state
            .targets(row.id)
            .await?
            .iter()
            .filter_map(|t| {
                let dir = workspace.clone_dir(&t.url, &t.repo);
                Some(dir.file_name()?.to_string_lossy().into_owned())
            })
            .collect();
        folders.sort();
        folders.dedup();
        out.push(CampaignUse {
            name: row.name,
            status: row.status,
            folders,
        });
    }
    state.close().await;
    Ok(out)
}

async fn prune(
    workspace: &Workspace,
    global: &GlobalArgs,
    ui: &Ui,
    args: PruneArgs,
    json: bool,
) -> anyhow::Result<u8> {
    let rule = PruneRule {
        older_than: args.older_than,
        campaign: args.campaign.clone(),
        finished: args.completed,
    };
    if rule.is_empty() {
        return Err(exit::Refusal::new(exit::USAGE, "say which clones to prune")
            .hint("give --older-than AGE (30d), --campaign NAME or --completed; --dry-run shows what would go")
            .into());
    }
    let need_state = args.campaign.is_some() || args.completed;
    let report = gather(workspace, global, ui, need_state).await?;
    if let Some(name) = &args.campaign
        && !report.campaigns.iter().any(|c| &c.name == name)
    {
        let names: Vec<String> = report
            .campaigns
            .iter()
            .map(|c| terminal(&c.name).into_owned())
            .collect();
        return Err(exit::Refusal::new(
            exit::NOT_FOUND,
            format!("no campaign `{}` in {}", terminal(name), global.state),
        )
        .hint(if names.is_empty() {
            "this state holds no campaign".to_string()
        } else {
            format!("campaigns in this state: {}", names.join(", "))
        })
        .into());
    }
    let mut out = PruneReport {
        schema: crate::cache::SCHEMA,
        cache: report.cache.clone(),
        dry_run: args.dry_run,
        removed: Vec::new(),
        in_use: Vec::new(),
        freed_bytes: 0,
    };
    for (clone, why) in rule.select(&report, SystemTime::now()) {
        let entry = Pruned {
            folder: clone.folder.clone(),
            url: clone.url.clone(),
            bytes: clone.bytes,
            why,
        };
        let free = if args.dry_run {
            true
        } else {
            workspace.remove_clone(&clone.folder).map_err(|e| {
                anyhow::Error::new(e).context(format!(
                    "cannot prune {} from {}",
                    terminal(&clone.folder),
                    workspace.root().display()
                ))
            })?
        };
        if free {
            out.freed_bytes += entry.bytes;
            out.removed.push(entry);
        } else {
            out.in_use.push(entry);
        }
    }
    print_out(json, &out, pruned)
}

/// `12.3 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn when(at: &Option<String>) -> String {
    at.as_deref()
        .map_or_else(|| "-".to_string(), |t| t.replace('T', " "))
}

fn header(report: &CacheReport) -> String {
    format!(
        "clone cache {}: {} in {} clone{}\n",
        terminal(&report.cache),
        bytes(report.total_bytes),
        report.clones.len(),
        if report.clones.len() == 1 { "" } else { "s" }
    )
}

/// The human view of `fleetwright cache`: per campaign. Outside text goes
/// through [`terminal`] (in `table` for the cells).
fn summary(report: &CacheReport) -> String {
    let mut out = header(report);
    if report.clones.is_empty() && report.campaigns.is_empty() {
        return out;
    }
    let mut rows: Vec<Vec<String>> = report
        .campaigns
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.status.clone(),
                c.clones.to_string(),
                bytes(c.bytes),
                when(&c.last_used),
            ]
        })
        .collect();
    if report.unclaimed.clones > 0 {
        rows.push(vec![
            "(no campaign of this state)".into(),
            String::new(),
            report.unclaimed.clones.to_string(),
            bytes(report.unclaimed.bytes),
            String::new(),
        ]);
    }
    out.push('\n');
    out.push_str(&table(
        &["campaign", "status", "clones", "size", "last used (UTC)"],
        &rows,
    ));
    out.push_str(
        "\nA clone used by several campaigns counts in each. `fleetwright cache list` shows every clone; \
         `fleetwright cache prune --completed` frees those of finished campaigns.\n",
    );
    out
}

/// The human view of `fleetwright cache list`: per clone, least recently
/// used first.
fn list(report: &CacheReport) -> String {
    let mut out = header(report);
    if report.clones.is_empty() {
        return out;
    }
    let rows: Vec<Vec<String>> = report
        .clones
        .iter()
        .map(|c| {
            vec![
                c.folder.clone(),
                bytes(c.bytes),
                when(&c.last_used),
                if c.campaigns.is_empty() {
                    "-".into()
                } else {
                    c.campaigns.join(", ")
                },
                c.url.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(
        &["clone", "size", "last used (UTC)", "campaigns", "url"],
        &rows,
    ));
    out
}

/// The human view of `fleetwright cache prune`.
fn pruned(report: &PruneReport) -> String {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = String::new();
    for p in &report.removed {
        out.push_str(&format!(
            "{verb} {} ({}): {}\n",
            terminal(&p.folder),
            bytes(p.bytes),
            terminal(&p.why)
        ));
    }
    for p in &report.in_use {
        out.push_str(&format!(
            "left {} ({}): a running fleetwright works in it\n",
            terminal(&p.folder),
            bytes(p.bytes)
        ));
    }
    let n = report.removed.len();
    out.push_str(&format!(
        "{} {} in {n} clone{} from {}{}\n",
        if report.dry_run {
            "would free"
        } else {
            "freed"
        },
        bytes(report.freed_bytes),
        if n == 1 { "" } else { "s" },
        terminal(&report.cache),
        if report.in_use.is_empty() {
            String::new()
        } else {
            format!(
                "; {} in use left alone (prune again when it is done)",
                report.in_use.len()
            )
        }
    ));
    out
}
