//! `fleetwright recipe`: check a recipe, run its fixtures, or apply it to a
//! folder.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Ui, exit};
use crate::recipe::{
    ApplyOptions, CaseOutcome, Changes, DEFAULT_MAX_FILE_SIZE, FileStatus, Recipe, Values,
    parse_assignment,
};
use crate::sandbox::Policy;

/// Check, test or apply a recipe.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright recipe test migrations-recipes/github-actions-bump/recipe.yaml"]))]
pub struct RecipeArgs {
    #[command(subcommand)]
    command: RecipeCommand,
}

/// Parameter values given on the command line.
#[derive(Debug, Args)]
struct ParamArgs {
    /// Give a recipe parameter a value (repeatable): --param checkout_major=5
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    params: Vec<(String, String)>,
}

impl ParamArgs {
    fn values(&self) -> Values {
        self.params.iter().cloned().collect()
    }
}

/// How `run:` steps run their commands.
#[derive(Debug, Args)]
struct SandboxArgs {
    /// `bwrap` (the default): in a bubblewrap sandbox that sees only the
    /// system and a copy of the tree. `none`: as your own user, with
    /// everything you can read and write and the network within reach (for
    /// machines without bubblewrap; only for recipes you trust).
    #[arg(long = "sandbox", value_name = "MODE", default_value = "bwrap")]
    mode: SandboxMode,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SandboxMode {
    Bwrap,
    None,
}

impl SandboxArgs {
    /// The policy, once it is known to work here when `recipe` runs commands
    /// (so that a missing bwrap is said once, not per file or case).
    fn policy(&self, recipe: &Recipe) -> anyhow::Result<Policy> {
        let policy = match self.mode {
            SandboxMode::Bwrap => Policy::default(),
            SandboxMode::None => Policy::none(),
        };
        if recipe.runs_commands() {
            policy.check()?;
        }
        Ok(policy)
    }
}

#[derive(Debug, Subcommand)]
enum RecipeCommand {
    /// Check a recipe without applying it; problems come with file:line:column.
    #[command(after_help = super::examples(&["fleetwright recipe check migrations-recipes/modernize-deprecated-apis/recipe.yaml"]))]
    Check {
        /// The recipe file (a fleetwright recipe or a plain ast-grep rule file).
        recipe: PathBuf,
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Run the recipe's fixtures: each case turns `before/` into `after/`, idempotently.
    ///
    /// Cases are the folders of `fixtures/` beside the recipe file: `before/`,
    /// `after/`, and optionally `case.yaml` (`parameters`, `catalog`,
    /// `expect: not_applicable`). Prints a diff for each failing case.
    #[command(after_help = super::examples(&["fleetwright recipe test migrations-recipes/github-actions-bump/recipe.yaml"]))]
    Test {
        /// The recipe file.
        recipe: PathBuf,
        /// The folder of cases (default: `fixtures/` beside the recipe).
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
    /// Apply a recipe to a folder: rewrite the files, or print the diff with --dry-run.
    #[command(after_help = super::examples(&["fleetwright recipe apply migrations-recipes/modernize-deprecated-apis/recipe.yaml ~/src/billing --dry-run"]))]
    Apply {
        /// The recipe file (a fleetwright recipe or a plain ast-grep rule file).
        recipe: PathBuf,
        /// The folder to rewrite.
        dir: PathBuf,
        /// Print a unified diff instead of writing.
        #[arg(long)]
        dry_run: bool,
        /// Print the edits as JSON on stdout (with --dry-run, nothing is written).
        #[arg(long)]
        json: bool,
        /// Skip files larger than this many bytes.
        #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FILE_SIZE)]
        max_file_size: u64,
        /// Print, on stderr, the time each step of the rewrite took (read,
        /// prefilter, parse, match, fix, re-parse, check, write).
        #[arg(long)]
        profile: bool,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
}

pub fn run(args: RecipeArgs, ui: &Ui) -> anyhow::Result<u8> {
    match args.command {
        RecipeCommand::Check { recipe, params } => {
            let loaded = Recipe::load_with(&recipe, &params.values())?;
            println!(
                "{}: recipe `{}` is valid ({})",
                recipe.display(),
                loaded.id,
                loaded.summary()
            );
            Ok(exit::SUCCESS)
        }
        RecipeCommand::Test {
            recipe,
            fixtures,
            params,
            sandbox,
        } => test(&recipe, fixtures.as_deref(), &params.values(), &sandbox, ui),
        RecipeCommand::Apply {
            recipe,
            dir,
            dry_run,
            json,
            max_file_size,
            profile,
            params,
            sandbox,
        } => {
            let started = std::time::Instant::now();
            if profile {
                crate::recipe::profile::enable();
            }
            let loaded = Recipe::load_with(&recipe, &params.values())?;
            let sandbox = sandbox.policy(&loaded)?;
            if !dir.is_dir() {
                return Err(exit::Refusal::new(
                    exit::BAD_INPUT,
                    format!("{} is not a folder", dir.display()),
                )
                .hint("give the folder of a repository checkout")
                .into());
            }
            let options = ApplyOptions {
                max_file_size,
                sandbox,
                ..ApplyOptions::default()
            };
            let changes = loaded
                .apply_with(&dir, &options)
                .with_context(|| format!("applying {} to {}", recipe.display(), dir.display()))?;
            if !dry_run && changes.not_applicable.is_none() {
                use crate::recipe::profile::{Step, time};
                time(Step::Write, || changes.write(&dir)).context("writing the changes")?;
            }
            if profile {
                print_profile(started.elapsed());
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&Report::new(&loaded, &changes, !dry_run))?
                );
            } else {
                describe(ui, &changes, dry_run);
            }
            Ok(if changes.rejected.is_empty() {
                exit::SUCCESS
            } else {
                exit::TARGETS_FAILED
            })
        }
    }
}

/// `apply --profile`: each step's time, summed over the threads, on stderr.
fn print_profile(wall: std::time::Duration) {
    let totals = crate::recipe::profile::totals();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = format!(
        "profile: time of each step, summed over {threads} thread(s); wall time {} ms\n",
        wall.as_millis()
    );
    let mut sum = std::time::Duration::ZERO;
    for (step, took, runs) in &totals {
        sum += *took;
        out.push_str(&format!(
            "  {:<10} {:>8} ms {:>8} run(s)\n",
            step.name(),
            took.as_millis(),
            runs
        ));
    }
    out.push_str(&format!(
        "  {:<10} {:>8} ms\n",
        "all steps",
        sum.as_millis()
    ));
    eprint!("{out}");
}

/// What `apply` prints for people: warnings, the diff (dry run), a summary.
fn describe(ui: &Ui, changes: &Changes, dry_run: bool) {
    if let Some(reason) = &changes.not_applicable {
        ui.note(format!(
            "the recipe does not apply here: {reason}; nothing was changed"
        ));
        return;
    }
    for r in &changes.rejected {
        eprintln!(
            "warning: {}:{}: left untouched: {} could not be applied ({})",
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
            "dry run: would change {summary}; nothing was written"
        ));
    } else {
        ui.note(format!("changed {summary}"));
    }
}

fn test(
    recipe: &Path,
    fixtures: Option<&Path>,
    values: &Values,
    sandbox: &SandboxArgs,
    ui: &Ui,
) -> anyhow::Result<u8> {
    let loaded = Recipe::load_with(recipe, values)?;
    let sandbox = sandbox.policy(&loaded)?;
    let reports = loaded.test_with(fixtures, &sandbox).map_err(|e| {
        exit::Refusal::new(exit::BAD_INPUT, e.to_string()).hint(
            "a recipe's fixtures are folders `fixtures/<case>/before` and `fixtures/<case>/after` beside it",
        )
    })?;
    let mut failed = 0;
    for report in &reports {
        let (word, detail) = match &report.outcome {
            CaseOutcome::Passed => ("ok", None),
            CaseOutcome::Differs(diff) => (
                "FAILED",
                Some(format!(
                    "the result differs from after/ (- expected, + actual):\n{diff}"
                )),
            ),
            CaseOutcome::NotIdempotent(diff) => (
                "FAILED",
                Some(format!(
                    "applying the recipe a second time changes more:\n{diff}"
                )),
            ),
            CaseOutcome::Failed(message) => ("FAILED", Some(message.clone())),
        };
        println!("case {} ... {word}", report.name);
        if let Some(detail) = detail {
            failed += 1;
            for line in detail.lines() {
                println!("    {line}");
            }
        }
    }
    let passed = reports.len() - failed;
    ui.note(format!(
        "recipe `{}`: {passed} case(s) passed, {failed} failed",
        loaded.id
    ));
    Ok(if failed == 0 {
        exit::SUCCESS
    } else {
        exit::TARGETS_FAILED
    })
}

/// `recipe apply --json`.
#[derive(Serialize)]
struct Report<'a> {
    recipe: &'a str,
    /// Whether the changes were written.
    written: bool,
    /// Why the recipe does not apply, when it does not.
    not_applicable: Option<&'a str>,
    files: Vec<FileReport<'a>>,
    rejected: Vec<RejectedReport<'a>>,
    skipped: SkippedReport,
}

#[derive(Serialize)]
struct FileReport<'a> {
    path: String,
    status: FileStatus,
    /// Edits per rule id or step label.
    edits: Vec<EditCount<'a>>,
    diff: String,
}

#[derive(Serialize)]
struct EditCount<'a> {
    by: &'a str,
    count: usize,
}

#[derive(Serialize)]
struct RejectedReport<'a> {
    path: String,
    line: usize,
    by: &'a [String],
    message: &'a str,
}

#[derive(Serialize)]
struct SkippedReport {
    binary: usize,
    too_large: usize,
    not_utf8: usize,
    symlinks: usize,
}

impl<'a> Report<'a> {
    fn new(recipe: &'a Recipe, changes: &'a Changes, written: bool) -> Self {
        let s = &changes.skipped;
        Report {
            recipe: &recipe.id,
            written: written && changes.not_applicable.is_none(),
            not_applicable: changes.not_applicable.as_deref(),
            files: changes
                .files
                .iter()
                .map(|f| FileReport {
                    path: f.path.to_string_lossy().into_owned(),
                    status: f.status,
                    edits: f
                        .matches
                        .iter()
                        .map(|(by, count)| EditCount { by, count: *count })
                        .collect(),
                    diff: f.unified_diff(),
                })
                .collect(),
            rejected: changes
                .rejected
                .iter()
                .map(|r| RejectedReport {
                    path: r.path.to_string_lossy().into_owned(),
                    line: r.line,
                    by: &r.rule_ids,
                    message: &r.message,
                })
                .collect(),
            skipped: SkippedReport {
                binary: s.binary,
                too_large: s.too_large,
                not_utf8: s.not_utf8,
                symlinks: s.symlinks,
            },
        }
    }
}
