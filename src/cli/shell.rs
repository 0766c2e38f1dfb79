//! `fleetwright completions SHELL` and `fleetwright man`: shell completions
//! and manual pages generated from the command line's own definition
//! (clap_complete, clap_mangen), so they never drift from `--help`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory};

use super::{Cli, exit};
use crate::escape::terminal;

/// Print shell completions for fleetwright.
///
/// Load them in the current shell, or install them where your shell looks.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  source <(fleetwright completions bash)\n  fleetwright completions zsh > ~/.zfunc/_fleetwright\n  fleetwright completions fish > ~/.config/fish/completions/fleetwright.fish"
)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Print fleetwright's manual page (roff), or write one per command.
///
/// Without --out, the page of `fleetwright` itself goes to stdout; with
/// --out, `fleetwright.1` and `fleetwright-<command>.1` for every command
/// are written into that folder.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  fleetwright man | man -l -\n  fleetwright man --out /usr/local/share/man/man1"
)]
pub struct ManArgs {
    /// Write one page per command into this folder (created).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "fleetwright", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> anyhow::Result<u8> {
    let cmd = Cli::command();
    match args.out {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("cannot render the manual page")?;
            write_stdout(&out)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(cmd, &dir))
                .map_err(|e| {
                    exit::Refusal::new(
                        exit::REFUSED,
                        format!("cannot write the manual pages into {}: {e}", dir.display()),
                    )
                    .hint("check --out and its permissions")
                })?;
            println!("{}", terminal(&dir.display().to_string()));
            Ok(exit::SUCCESS)
        }
    }
}

/// Write `bytes` to stdout (a reader that stops early is not an error).
fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    super::output::to_stdout(|w| w.write_all(bytes)).context("cannot write to stdout")?;
    Ok(exit::SUCCESS)
}
