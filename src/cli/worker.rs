//! `fleetwright worker`: one of several processes working on one campaign
//! (docs/scaling.md).
//!
//! Every worker prepares and publishes targets under leases
//! ([`crate::state::Lease`]), so that N workers on one machine or many
//! never work on one target at once and take over a dead worker's targets
//! when its leases run out. The worker that holds the campaign's lock (on
//! PostgreSQL an advisory lock, on SQLite the `flock` beside the
//! database) leads: it also runs the campaign-wide steps of `run` (sync,
//! pause, gate, tranches, nudges, the tracking issue), at its first pass
//! and at its last. Each pass, a worker that does not lead tries to take
//! the lock, so that a leader that dies is replaced. A worker stops when
//! nothing is left for it on the open tranches: every target done, or
//! throttled, or failed since it started (it tries a target at most once;
//! the next `run` or worker tries failures again).

use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::launch::{launched, lock, print_outcomes};
use super::{GlobalArgs, Ui, campaign_engine, exit, open_state};
use crate::engine::Worker;
use crate::escape::terminal;
use crate::state::LEASE_SECS;

/// Work on a campaign beside other workers: prepare and publish the
/// targets of its open tranches under leases, with one forge write budget
/// for all of them.
///
/// Start as many as the machine (or the cluster) has room for, on one state
/// (`--state postgres://...` across machines). The one that holds the
/// campaign's lock also syncs, gates, opens tranches and nudges, like
/// `run`; the others only prepare and publish. A worker whose process dies
/// loses its leases after `--lease` seconds, and the others take its
/// targets over. A worker exits when nothing is left for it on the open
/// tranches; `run` (from cron) goes on from there.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&[
    "fleetwright worker campaigns/logging.yaml --id 0",
    "FLEETWRIGHT_STATE=postgres://fleetwright@db.internal/fleet fleetwright worker campaigns/logging.yaml",
]))]
pub struct WorkerArgs {
    /// The campaign: its file, or the name of a launched campaign.
    campaign: String,
    /// This worker's number, in its name in the state and the logs (a
    /// Kubernetes Indexed Job's completion index).
    #[arg(long, env = "FLEETWRIGHT_WORKER_ID", value_name = "N")]
    id: Option<u32>,
    /// Seconds a lease holds without a heartbeat (renewed every third of
    /// it): how long a dead worker's targets wait to be taken over.
    #[arg(long, value_name = "SECS", default_value_t = LEASE_SECS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    lease: u64,
    /// Targets prepared at once (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

/// How long a worker waits before it looks again while other workers hold
/// what is left.
fn poll(lease: Duration) -> Duration {
    (lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(2))
}

/// How long a worker waits for the leader to launch the campaign or open
/// its first tranche.
const LAUNCH_POLL: Duration = Duration::from_millis(200);

pub async fn run(args: WorkerArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let file = Path::new(&args.campaign);
    let (state, loaded) = if file.is_file() {
        let loaded = super::live::load_at(file, &global.state, &global.cache, ui).await?;
        (open_state(&global.state).await?, loaded)
    } else {
        launched(&global.state, &global.cache, &args.campaign, ui).await?
    };
    super::launch::require_sandbox(&loaded)?;
    let name = loaded.campaign.name.clone();
    let lease = Duration::from_secs(args.lease);
    let worker = Worker {
        name: format!(
            "worker{}@{}:{}",
            args.id.map(|n| format!("-{n}")).unwrap_or_default(),
            crate::engine::hostname(),
            std::process::id()
        ),
        lease,
        once_since: Some(crate::state::format_time(state.now())),
        leased: Default::default(),
    };
    tracing::info!(worker = %worker.name, campaign = %name, "worker started");
    let engine = campaign_engine(&state, &global.cache, &loaded.campaign, ui, args.jobs)?
        .with_worker(worker.clone());
    let mut held = None;
    let mut led_last = false;
    let mut outcomes = Vec::new();
    let mut throttled;
    loop {
        if held.as_ref().is_some_and(crate::lock::Held::lost) {
            // Frozen for longer than the server waits: another worker may
            // lead now.
            tracing::warn!(worker = %worker.name, "lost the campaign's lock; no longer leading");
            held = None;
        }
        if held.is_none() {
            match lock(&global.state, &name, "worker").await {
                Ok(h) => {
                    tracing::info!(worker = %worker.name, "leading the campaign");
                    held = Some(h);
                    led_last = false;
                }
                Err(e)
                    if e.downcast_ref::<crate::lock::LockError>()
                        .is_some_and(|l| matches!(l, crate::lock::LockError::Held { .. })) => {}
                Err(e) => return Err(e),
            }
        }
        // Launched, with a tranche open: before that, only the leader has
        // anything to do.
        let recorded = state
            .campaign(&name)
            .await?
            .is_some_and(|row| row.tranches_open > 0 || row.status.is_finished());
        let before = outcomes.len();
        if held.is_some() && !led_last {
            // The campaign-wide steps, then this worker's share.
            let done = engine.reconcile(&loaded).await?;
            led_last = true;
            outcomes.extend(done.outcomes);
            throttled = done.throttled;
            if done.campaign.status.is_finished() {
                break;
            }
        } else if recorded {
            let worked = engine.work(&loaded).await?;
            outcomes.extend(worked.outcomes);
            throttled = worked.throttled;
        } else {
            // The leader has not launched it yet.
            tokio::time::sleep(LAUNCH_POLL).await;
            continue;
        }
        let left = engine.left(&loaded).await?;
        if left.targets == 0 || left.throttled {
            if held.is_some() {
                // The last pass leads once more: the gate may open the next
                // tranche now.
                let done = engine.reconcile(&loaded).await?;
                let opened = !done.opened.is_empty();
                outcomes.extend(done.outcomes);
                throttled = done.throttled;
                if opened && !done.campaign.status.is_finished() {
                    continue;
                }
            }
            break;
        }
        if left.held == left.targets || outcomes.len() == before {
            // Others hold the rest (their leases, or the rows of a lease
            // being taken): wait for them to finish, or for their leases
            // to run out, instead of asking again at once.
            tokio::time::sleep(poll(lease)).await;
        }
    }
    drop(held);
    print_outcomes(&outcomes);
    if let Some(why) = &throttled {
        println!("throttled: {}", terminal(why));
    }
    let failed = crate::engine::failures(&outcomes);
    println!(
        "{}: {} worked on {} target(s), {failed} failed",
        terminal(&name),
        terminal(&worker.name),
        outcomes.len()
    );
    state.close().await;
    Ok(if failed > 0 {
        exit::TARGETS_FAILED
    } else {
        exit::SUCCESS
    })
}
