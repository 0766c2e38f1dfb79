//! `fleetwright demo`: a sandbox fleet, a whole campaign run on it with
//! simulated app teams, and where to look afterwards.

use std::path::PathBuf;

use clap::Args;

use super::launch::print_run;
use super::{Ui, campaign_engine, exit, status};
use crate::campaign;
use crate::fleet::{DemoOptions, build_demo};
use crate::state::{State, TargetState};

/// Build a sandbox fleet and run a whole campaign on it, end to end.
///
/// It creates real git repositories (Python and Go services of four teams),
/// a Backstage catalog, a recipe and a campaign in DIR, launches the
/// campaign on the local forge, lets simulated app teams merge or close
/// pull requests, advances through every tranche, and prints the status.
/// Running it again on the same DIR rebuilds the sandbox.
///
/// Example: fleetwright demo --dir demo-fleet
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the sandbox (created; rebuilt when it holds an earlier demo).
    #[arg(long, default_value = "demo-fleet")]
    dir: PathBuf,
    /// Number of repositories.
    #[arg(long, default_value_t = 24)]
    repos: usize,
    /// Number of teams.
    #[arg(long, default_value_t = 4)]
    teams: usize,
}

pub async fn run(args: DemoArgs, ui: &Ui) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let demo = build_demo(
        &args.dir,
        &DemoOptions {
            repos: args.repos,
            teams: args.teams,
        },
    )
    .map_err(|e| exit::Refusal::new(exit::REFUSED, e.to_string()))?;
    let dir = crate::paths::absolute(&demo.dir);
    println!(
        "built a sandbox fleet of {} repositories in {}",
        demo.fleet.repos.len(),
        dir.display()
    );
    let db = dir.join("state").join("fleetwright.db");
    let state = State::open(&db).await?;
    let loaded = campaign::load_all(&demo.campaign)?;
    let name = loaded.campaign.name.clone();
    let engine = campaign_engine(&state, &loaded.campaign, ui, None)?;

    println!("\n== launch: tranche 1 is the canary");
    let mut report = engine.launch(&loaded).await?;
    print_run(ui, &report, false);
    loop {
        let row = report.campaign.clone();
        simulate_reviews(
            &engine,
            &state,
            &row,
            row.tranches_open - 1,
            row.tranches_open == row.tranche_count,
        )
        .await?;
        if row.tranches_open >= row.tranche_count {
            break;
        }
        println!("\n== advance: open tranche {}", row.tranches_open + 1);
        report = engine.advance(&loaded, true).await?;
        print_run(ui, &report, false);
    }

    println!("\n== status\n");
    let status = status::report(&state, &report.campaign).await?;
    print!("{}", status::render(&status));
    let state_arg = db.display();
    println!(
        "\nThe reviews above were simulated: no person looked at these pull requests.\n\
         Everything is in {dir}:\n\
         \x20 remotes/           the bare git repositories (merges are real merge commits)\n\
         \x20 catalog/           the Backstage catalog (Location, Groups, Users, Components)\n\
         \x20 {recipe}\n\
         \x20 campaign.yaml\n\
         \x20 state/fleetwright.db  the campaign's state (SQLite)\n\n\
         Try:\n\
         \x20 fleetwright --state {state_arg} status {name}\n\
         \x20 fleetwright --state {state_arg} status {name} --json\n\
         \x20 git -C {dir}/remotes/billing-api.git log --oneline --graph main\n\
         \nfinished in {:.1}s",
        started.elapsed().as_secs_f64(),
        dir = dir.display(),
        recipe = crate::fleet::demo::RECIPE_PATH,
    );
    state.close().await;
    Ok(exit::SUCCESS)
}

/// Act as the app teams of tranche `tranche`: most merge, one in seven
/// declines with a reason, and in the last tranche a third is not reviewed
/// yet. Deterministic, so that two demos tell the same story.
async fn simulate_reviews(
    engine: &crate::engine::Engine,
    state: &State,
    row: &crate::state::CampaignRow,
    tranche: i64,
    last: bool,
) -> anyhow::Result<()> {
    let targets = state.targets(row.id).await?;
    let mut merged = 0;
    let mut declined = 0;
    let mut waiting = 0;
    for t in targets
        .iter()
        .filter(|t| t.tranche == tranche && t.state == TargetState::PrOpen)
    {
        if t.position % 7 == 5 {
            engine
                .close(
                    t,
                    Some("We are retiring this service next quarter; not worth migrating."),
                )
                .await?;
            declined += 1;
        } else if last && t.position % 3 == 0 {
            waiting += 1;
        } else {
            engine.merge(t).await?;
            merged += 1;
        }
    }
    println!(
        "simulated app teams of tranche {}: {merged} merged, {declined} declined, {waiting} not reviewed yet",
        tranche + 1
    );
    Ok(())
}
