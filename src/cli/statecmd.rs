//! `fleetwright state`: the state database itself (`migrate`).

use clap::{Args, Subcommand};

use super::{GlobalArgs, Ui, exit, open_state};
use crate::state::{CopyError, Location};

/// The state database itself.
#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    Migrate(MigrateArgs),
}

/// Copy the whole state (the one `--state` names) into another: a
/// campaign's SQLite file into PostgreSQL when it outgrows one machine.
///
/// The target must hold no campaign; it gets the schema, then every
/// campaign, target, changeset, event, scan and snapshot, in one
/// transaction, and each table's rows are counted on both sides. The
/// source is only read: stop every fleetwright on it first, then point
/// `--state` / FLEETWRIGHT_STATE at the target.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&[
    "fleetwright --state ~/.local/state/fleetwright/fleetwright.db state migrate --to postgres://fleetwright@db.internal/fleet",
]))]
pub struct MigrateArgs {
    /// Where to copy it: `postgres://user:password@host:port/database`, or
    /// a SQLite file's path.
    #[arg(long, value_name = "URL")]
    to: std::ffi::OsString,
}

pub async fn run(args: StateArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    match args.command {
        StateCommand::Migrate(args) => migrate(args, global, ui).await,
    }
}

async fn migrate(args: MigrateArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let to = Location::parse(&args.to);
    if !global.state.exists() {
        return Err(exit::Refusal::new(
            exit::NOT_FOUND,
            format!("there is no state database at {}", global.state),
        )
        .hint("pass the state to copy with --state (or FLEETWRIGHT_STATE)")
        .into());
    }
    if to == global.state {
        return Err(
            exit::Refusal::new(exit::USAGE, "--to names the state being copied")
                .hint("give the new state's URL or path")
                .into(),
        );
    }
    let source = open_state(&global.state).await?;
    let target = open_state(&to).await?;
    let copied = source
        .copy_into(&target, |table, n| {
            ui.note(format!("copied {table}: {n} rows"))
        })
        .await;
    source.close().await;
    target.close().await;
    match copied {
        Ok(copied) => {
            let rows: i64 = copied.tables.iter().map(|(_, n)| n).sum();
            println!(
                "copied {} table(s), {rows} rows, from {} into {to}; point --state (or FLEETWRIGHT_STATE) at it",
                copied.tables.len(),
                global.state
            );
            Ok(exit::SUCCESS)
        }
        Err(CopyError::NotEmpty(at)) => Err(exit::Refusal::new(
            exit::REFUSED,
            format!("{at} already holds campaigns: nothing was copied"),
        )
        .hint("copy into a new, empty database (CREATE DATABASE ...)")
        .into()),
        Err(e) => Err(e.into()),
    }
}
