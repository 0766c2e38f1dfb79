//! `fleetwright plan`: the targets of a campaign per tranche, with owners,
//! without touching any repository or the state.

use crate::campaign::CatalogSource;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::output::table;
use super::{GlobalArgs, Ui, exit};
use crate::campaign::plan::{SkipKind, Skipped};
use crate::campaign::{Loaded, Plan};
use crate::escape::terminal;

/// Show the targets of a campaign per tranche, touching nothing.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright plan campaigns/modernize.yaml"]))]
pub struct PlanArgs {
    /// The campaign file.
    campaign_file: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    campaign: &'a str,
    recipe: &'a str,
    forge: &'a str,
    #[serde(flatten)]
    plan: &'a Plan,
    catalog_problems: Vec<String>,
    sandbox: SandboxJson,
    /// A live catalog's changes since the launched campaign's snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    since_snapshot: Option<&'a SnapshotChanges>,
}

/// How repository code (`verify`, `run:` steps) runs.
#[derive(Serialize)]
struct SandboxJson {
    /// `bwrap` or `none`.
    mode: &'static str,
    /// What runs repository code: `verify \`...\``, `the recipe's \`run:\` steps`.
    runs: Vec<String>,
    /// The sandbox `verify` uses, in words.
    description: String,
    /// Whether it can be made on this machine (always true for `none`).
    available: bool,
    /// Why it cannot, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

fn sandbox_json(loaded: &Loaded) -> SandboxJson {
    let policy = &loaded.campaign.sandbox;
    let network = loaded.campaign.verify.as_ref().is_some_and(|v| v.network);
    let problem = match policy.check() {
        Ok(()) => None,
        Err(crate::sandbox::SandboxError::Unavailable(why)) => Some(why),
        Err(e) => Some(e.to_string()),
    };
    SandboxJson {
        mode: match policy.mode {
            crate::sandbox::Mode::Bwrap => "bwrap",
            crate::sandbox::Mode::None => "none",
        },
        runs: loaded.repository_code(),
        description: policy.describe(network),
        available: problem.is_none(),
        problem,
    }
}

/// Which sandbox repository code runs in, in a few lines.
fn sandbox_lines(loaded: &Loaded) -> String {
    let s = sandbox_json(loaded);
    if s.runs.is_empty() {
        return "  none runs (no `verify`, no `run:` steps)".to_string();
    }
    let mut lines = vec![format!("  {}: in {}", s.runs.join(" and "), s.description)];
    if loaded.recipe.runs_commands() {
        lines
            .push("  `run:` steps use the network only where the step says `network: true`".into());
    }
    if let Some(problem) = s.problem {
        lines.push(format!(
            "  CANNOT RUN HERE: {problem}; `run` and `launch` will refuse\n  hint: {}",
            crate::sandbox::HINT
        ));
    }
    lines.join("\n")
}

/// Print the catalog's problems as warnings: they leave entities out but do
/// not stop the campaign.
pub fn warn_catalog_problems(ui: &Ui, loaded: &Loaded) {
    super::catalog::warn_problems(ui, &loaded.catalog, loaded.campaign.catalog.path());
}

/// What changed in a live catalog since the snapshot a launched campaign
/// works from: `None` for a file catalog, or when the campaign was not
/// launched (in the state the command line names, which `plan` never
/// creates).
async fn changes_since_snapshot(
    loaded: &Loaded,
    global: &GlobalArgs,
) -> anyhow::Result<Option<SnapshotChanges>> {
    if loaded.campaign.catalog.path().is_some() {
        return Ok(None);
    }
    let Ok(at) = super::locations::resolve(
        global.state_arg.as_deref(),
        global.cache_arg.as_deref(),
        |name| std::env::var(name).ok(),
    ) else {
        return Ok(None);
    };
    if !at.state.exists() {
        return Ok(None);
    }
    let state = super::open_state(&at.state).await?;
    let Some(row) = state.campaign(&loaded.campaign.name).await? else {
        state.close().await;
        return Ok(None);
    };
    let snapshot = state.latest_catalog_snapshot(&row).await?;
    state.close().await;
    Ok(snapshot.map(|s| {
        let earlier = crate::backstage::Snapshot::from_lines(&s.source, &s.entities).catalog();
        SnapshotChanges {
            taken_at: s.taken_at,
            changes: crate::catalog::changes(&earlier, &loaded.catalog),
        }
    }))
}

/// The live catalog against the launched campaign's snapshot.
#[derive(Serialize)]
struct SnapshotChanges {
    /// When the snapshot the campaign works from was taken.
    taken_at: String,
    #[serde(flatten)]
    changes: crate::catalog::Changes,
}

/// The changes in a few lines (all of them: `--json` has them too).
fn changes_lines(s: &SnapshotChanges) -> String {
    use std::fmt::Write as _;
    let c = &s.changes;
    let mut out = String::new();
    if c.is_empty() {
        let _ = writeln!(
            out,
            "
no component added, removed or given another owner since the snapshot of {} the campaign works from",
            terminal(&s.taken_at)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "
changed since the snapshot of {} the campaign works from ({} added, {} removed, {} owner changed):",
        terminal(&s.taken_at),
        c.added.len(),
        c.removed.len(),
        c.owner_changed.len()
    );
    for e in &c.added {
        let _ = writeln!(out, "  added          {}", terminal(&e.to_string()));
    }
    for e in &c.removed {
        let _ = writeln!(out, "  removed        {}", terminal(&e.to_string()));
    }
    for o in &c.owner_changed {
        let _ = writeln!(
            out,
            "  owner changed  {}: {} -> {}",
            terminal(&o.component.to_string()),
            terminal(&o.from.to_string()),
            terminal(&o.to.to_string())
        );
    }
    let _ = writeln!(
        out,
        "  the launched campaign keeps its snapshot: its targets, owners and reviewers do not move (docs/campaigns.md, \"The live catalog\")"
    );
    out
}

pub async fn run(args: PlanArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    // `plan` shows the catalog as it is now: a live one is read.
    let loaded = super::live::load(&args.campaign_file, None, &global.cache, ui).await?;
    warn_catalog_problems(ui, &loaded);
    let since_snapshot = changes_since_snapshot(&loaded, global).await?;
    let c = &loaded.campaign;
    if args.json {
        let json = PlanJson {
            campaign: &c.name,
            recipe: &loaded.recipe.id,
            forge: c.forge.as_str(),
            plan: &loaded.plan,
            catalog_problems: loaded
                .catalog
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect(),
            sandbox: sandbox_json(&loaded),
            since_snapshot: since_snapshot.as_ref(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(exit::SUCCESS);
    }
    let plan = &loaded.plan;
    println!(
        "campaign {}: recipe `{}` ({}), forge {}",
        terminal(&c.name),
        terminal(&loaded.recipe.id),
        terminal(&loaded.recipe.summary()),
        c.forge
    );
    let read = match &c.catalog {
        CatalogSource::Files(_) => format!("in {} file(s)", loaded.catalog.files.len()),
        CatalogSource::Backstage(_) => "read from Backstage now".to_string(),
        CatalogSource::Repositories(_) => "read from the repositories now".to_string(),
    };
    println!(
        "catalog {}: {} component(s) {read}; {} selected as {} target(s) in {} tranche(s)",
        terminal(&c.catalog.to_string()),
        loaded.catalog.components.len(),
        loaded.catalog.components.len() - plan.not_selected,
        plan.target_count(),
        plan.tranches.len()
    );
    if let Some(s) = &since_snapshot {
        print!("{}", changes_lines(s));
    }
    for tranche in &plan.tranches {
        println!(
            "\ntranche {}, {} ({}): {} target(s)",
            tranche.index + 1,
            terminal(&tranche.name),
            terminal(&tranche.size),
            tranche.targets.len()
        );
        if tranche.targets.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = tranche
            .targets
            .iter()
            .map(|t| {
                let owner = if t.owner_known {
                    t.owner.to_string()
                } else {
                    format!("{} (not in catalog)", t.owner)
                };
                vec![
                    t.repo.clone(),
                    owner,
                    t.lifecycle.clone(),
                    t.spec_type.clone(),
                ]
            })
            .collect();
        for line in table(&["REPO", "OWNER", "LIFECYCLE", "TYPE"], &rows).lines() {
            println!("  {line}");
        }
    }
    let refused: Vec<_> = plan.refused().collect();
    if !refused.is_empty() {
        println!(
            "\ncannot run on forge {} ({}): each fails when its tranche opens, before anything is fetched:",
            c.forge,
            refused.len()
        );
        for t in refused {
            println!(
                "  {}: {}",
                terminal(&t.repo),
                terminal(t.refusal.as_deref().unwrap_or_default())
            );
        }
    }
    print!(
        "{}",
        skipped_lines("not selected by `targets`", &plan.unselected)
    );
    print!("{}", skipped_lines("skipped", &plan.skipped));
    if !plan.unscheduled.is_empty() {
        println!(
            "\nnot scheduled ({}): the tranches end before these targets; add `rest` to include them:",
            plan.unscheduled.len()
        );
        for t in &plan.unscheduled {
            println!("  {}", terminal(&t.repo));
        }
    }
    println!("\nrollout:\n{}", rollout_lines(c));
    println!("\nrepository code:\n{}", sandbox_lines(&loaded));
    ui.note("\nnothing was touched. `fleetwright run` (or `launch`) opens tranche 1.");
    Ok(exit::SUCCESS)
}

/// At most this many skipped components are listed one by one; more are
/// grouped by why, with a few names each.
const LISTED: usize = 10;
const NAMES: usize = 3;

/// Components left out, under `heading`: each with its reason when there
/// are few, else grouped by kind with counts and a few names (`--json`
/// has them all).
fn skipped_lines(heading: &str, skipped: &[Skipped]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if skipped.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n{heading} ({}):", skipped.len());
    if skipped.len() <= LISTED {
        for s in skipped {
            let _ = writeln!(
                out,
                "  {}: {}",
                terminal(&s.component.to_string()),
                terminal(&s.reason)
            );
        }
        return out;
    }
    let mut kinds: Vec<(SkipKind, Vec<&Skipped>)> = Vec::new();
    for s in skipped {
        match kinds.iter_mut().find(|(k, _)| *k == s.kind) {
            Some((_, list)) => list.push(s),
            None => kinds.push((s.kind, vec![s])),
        }
    }
    kinds.sort_by_key(|(k, _)| *k);
    for (kind, list) in kinds {
        let mut names: Vec<String> = list
            .iter()
            .take(NAMES)
            .map(|s| terminal(&s.component.to_string()).into_owned())
            .collect();
        if list.len() > NAMES {
            names.push(format!("and {} more", list.len() - NAMES));
        }
        let _ = writeln!(
            out,
            "  {} {}: {}",
            list.len(),
            kind.what(),
            names.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  (`fleetwright plan --json` lists them all, with reasons)"
    );
    out
}

/// The rollout policy in words, one line each.
fn rollout_lines(c: &crate::campaign::Campaign) -> String {
    let r = &c.rollout;
    let g = &r.gate;
    let mut lines = vec![format!(
        "  gate: the next tranche opens when {}% of the previous one is {}{}",
        g.merged,
        if g.count_declined {
            "merged or declined"
        } else {
            "merged"
        },
        g.max_ci_failures
            .map(|m| format!(" and under {m}% of its pull requests fail CI"))
            .unwrap_or_default()
    )];
    lines.push(match r.pause_on_ci_failures {
        Some(p) => format!("  pause: when {p}% of the newest tranche's pull requests fail CI"),
        None => "  pause: only by hand (`fleetwright pause`)".to_string(),
    });
    let t = &r.throttle;
    let mut limits = Vec::new();
    if let Some(n) = t.max_open {
        limits.push(format!("at most {n} open"));
    }
    if let Some(n) = t.per_hour {
        limits.push(format!("{n} an hour"));
    }
    if let Some(w) = &t.window {
        limits.push(format!("only {}", w.describe()));
    }
    lines.push(format!(
        "  throttle: {}",
        if limits.is_empty() {
            "none (the forge's own pacing only)".to_string()
        } else {
            limits.join(", ")
        }
    ));
    lines.push(match &r.stale {
        Some(s) => format!(
            "  stale: one nudge after {} days without a review",
            s.after_days
        ),
        None => "  stale: no nudges".to_string(),
    });
    lines.join("\n")
}
