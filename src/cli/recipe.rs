//! `fleetwright recipe`: check a recipe, or apply it to a folder.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::{Ui, exit};
use crate::recipe::Recipe;

/// Check or apply a recipe.
///
/// Example: fleetwright recipe apply migrations-recipes/modernize-deprecated-apis/recipe.yaml . --dry-run
#[derive(Debug, Args)]
pub struct RecipeArgs {
    #[command(subcommand)]
    command: RecipeCommand,
}

#[derive(Debug, Subcommand)]
enum RecipeCommand {
    /// Check a recipe without applying it; problems come with file:line:column.
    ///
    /// Example: fleetwright recipe check migrations-recipes/modernize-deprecated-apis/recipe.yaml
    Check {
        /// The recipe file (a fleetwright recipe or a plain ast-grep rule file).
        recipe: PathBuf,
    },
    /// Apply a recipe to a folder: rewrite the files, or print the diff with --dry-run.
    ///
    /// Example: fleetwright recipe apply migrations-recipes/modernize-deprecated-apis/recipe.yaml ~/src/billing --dry-run
    Apply {
        /// The recipe file (a fleetwright recipe or a plain ast-grep rule file).
        recipe: PathBuf,
        /// The folder to rewrite.
        dir: PathBuf,
        /// Print a unified diff instead of writing.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run(args: RecipeArgs, ui: &Ui) -> anyhow::Result<u8> {
    match args.command {
        RecipeCommand::Check { recipe } => {
            let loaded = Recipe::load(&recipe)?;
            println!(
                "{}: recipe `{}` is valid ({} rule{})",
                recipe.display(),
                loaded.id,
                loaded.rules.len(),
                if loaded.rules.len() == 1 { "" } else { "s" }
            );
            Ok(exit::SUCCESS)
        }
        RecipeCommand::Apply {
            recipe,
            dir,
            dry_run,
        } => {
            let loaded = Recipe::load(&recipe)?;
            if !dir.is_dir() {
                return Err(exit::Refusal::new(
                    exit::BAD_INPUT,
                    format!("{} is not a folder", dir.display()),
                )
                .hint("give the folder of a repository checkout")
                .into());
            }
            let changes = loaded
                .apply(&dir)
                .with_context(|| format!("applying {} to {}", recipe.display(), dir.display()))?;
            for r in &changes.rejected {
                eprintln!(
                    "warning: {}:{}: left untouched: rule {} would break it ({})",
                    r.path.display(),
                    r.line,
                    r.rule_ids.join(", "),
                    r.message
                );
            }
            let s = &changes.skipped;
            let skipped = s.binary + s.too_large + s.not_utf8 + s.symlinks;
            if skipped > 0 {
                ui.note(format!(
                    "skipped {skipped} file(s): {} binary, {} too large, {} not UTF-8, {} symlinks",
                    s.binary, s.too_large, s.not_utf8, s.symlinks
                ));
            }
            let summary = format!(
                "{} place(s) in {} file(s)",
                changes.total_matches(),
                changes.files.len()
            );
            if dry_run {
                let diff = changes.unified_diff();
                print!("{diff}");
                if !diff.is_empty() && !diff.ends_with('\n') {
                    println!();
                }
                ui.note(format!(
                    "dry run: would rewrite {summary}; nothing was written"
                ));
            } else {
                changes.write(&dir).context("writing the rewritten files")?;
                ui.note(format!("rewrote {summary}"));
            }
            Ok(if changes.rejected.is_empty() {
                exit::SUCCESS
            } else {
                exit::TARGETS_FAILED
            })
        }
    }
}
