//! Recipes: the structural rewrites a campaign applies to every target.
//!
//! A recipe is a YAML file of ast-grep rules, so that a rule written and
//! tested with ast-grep can be pasted into a recipe unchanged. This module
//! loads recipes (reporting every mistake at its file:line:column) and
//! computes the edits a recipe makes on a directory tree.
//!
//! Invariants: nothing here prints, touches git, the state, or the terminal.
//! [`Recipe::apply`] never writes to the tree it is given; only
//! [`Changes::write`] does, and only to regular files inside the tree it was
//! computed on (never through a symlink). A `run:` step runs its command in
//! the [`sandbox`](crate::sandbox) on a scratch copy of the tree and takes
//! back what it changed. Matching and rewriting are ast-grep's own (`ast-grep-config`,
//! `ast-grep-core`, `ast-grep-language`); this module adds the walk, the
//! fixed point, the syntax check of the result and the diagnostics.

mod apply;
pub mod arena;
mod changes;
mod fixtures;
mod load;
mod locate;
mod params;
mod prefilter;
pub mod profile;
mod run;
mod steps;
pub mod structured;
mod walk;
pub mod watch;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use ast_grep_config::{RuleCollection, RuleConfig};
pub use ast_grep_language::SupportLang;

use crate::diag::FileDiagnostic;

pub use changes::{Changes, FileChange, FileStatus, RejectedFile, Skipped};
pub use fixtures::{CaseOutcome, CaseReport, FixtureError};
pub use params::{Parameter, Values, parse_assignment};
pub use steps::{Condition, Facts, Step};

/// Files larger than this are left alone (counted in [`Skipped::too_large`]).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024;

/// How many passes (of the rules over a file, of the steps over the tree)
/// may change something before the recipe is declared unstable
/// ([`ApplyError::NoFixedPoint`]).
pub const MAX_PASSES: usize = 10;

/// A loaded, validated recipe, its parameters substituted.
#[derive(Debug)]
pub struct Recipe {
    /// Stable identifier (form A: `id`; a plain ast-grep file: its file stem).
    pub id: String,
    /// One line saying what the recipe does.
    pub title: String,
    /// What the change is, in Markdown (may be empty).
    pub description: String,
    /// Why the change matters, in Markdown (may be empty).
    pub why: String,
    /// A link with the rationale (a changelog, a deprecation notice).
    pub link: Option<String>,
    /// The recipe's own version, as written (`1`, `"2.1"`), if any.
    pub version: Option<String>,
    /// The file the recipe was loaded from.
    pub path: PathBuf,
    /// The parameters the recipe declares.
    pub parameters: Vec<Parameter>,
    /// The value of every parameter, as substituted.
    pub values: Values,
    /// Preconditions: all must hold, else the recipe does not apply.
    pub applies_when: Vec<Condition>,
    /// The steps, in order, with those of included recipes in their place.
    pub steps: Vec<Step>,
    /// Changes when anything that decides what the recipe does changes: its
    /// text, its parameter values, the rule files and recipes it uses.
    pub fingerprint: String,
}

/// One ast-grep rule of a recipe, compiled.
pub struct Rule {
    /// The rule's `id`.
    pub id: String,
    /// The language of the files it applies to.
    pub language: SupportLang,
    /// The rule's `message` (trimmed; empty when none): what it does, in
    /// the platform team's words, for pull request bodies.
    pub message: String,
    /// The rule's `note` (trimmed; empty when none): why, in Markdown.
    pub note: String,
    /// The compiled rule, alone in an ast-grep collection so that its
    /// `files`/`ignores` globs are matched exactly as ast-grep matches them.
    /// A rule with `severity: off` is kept but never applies (as in ast-grep).
    collection: RuleCollection<SupportLang>,
    /// Text a file must contain for the rule to match in it, so that files
    /// without it are not parsed (see `prefilter`).
    needs: prefilter::Needs,
    /// Text the node of each of its matches contains, so that only the
    /// parts of a tree that hold it are walked (see `prefilter`).
    within: prefilter::Needs,
}

impl Rule {
    fn new(config: RuleConfig<SupportLang>) -> Result<Rule, String> {
        let id = config.id.clone();
        let language = config.language;
        let message = config.message.trim().to_string();
        let note = config
            .note
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string();
        let (needs, within) = prefilter::Needs::of_rule(&config);
        let collection = RuleCollection::try_new(vec![config]).map_err(|e| e.to_string())?;
        Ok(Rule {
            id,
            language,
            message,
            note,
            collection,
            needs,
            within,
        })
    }

    /// The compiled rule when it applies to `rel_path` (relative to the root
    /// of the tree, `/`-separated): same language, `files`/`ignores` honoured.
    pub(crate) fn config_for(&self, rel_path: &Path) -> Option<&RuleConfig<SupportLang>> {
        self.collection.for_path(rel_path).into_iter().next()
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

/// Why a recipe could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error("cannot read recipe {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Every problem found in the file, each at its file:line:column.
    #[error("{}", invalid_summary(.0))]
    Invalid(Vec<FileDiagnostic>),
}

fn invalid_summary(diagnostics: &[FileDiagnostic]) -> String {
    match diagnostics {
        [one] => format!("invalid recipe: {one}"),
        [first, ..] => format!(
            "invalid recipe: {first} (and {} more problem{})",
            diagnostics.len() - 1,
            if diagnostics.len() == 2 { "" } else { "s" }
        ),
        [] => "invalid recipe".to_string(),
    }
}

/// Why a recipe could not be applied to a tree.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot walk {}: {source}", path.display())]
    Walk {
        path: PathBuf,
        source: ignore::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Refused to write: the path is a symlink, not a regular file, or not inside the root.
    #[error("refusing to write {}: {reason}", path.display())]
    UnsafePath { path: PathBuf, reason: String },
    #[error(
        "the recipe keeps changing {} after {MAX_PASSES} passes; its rules probably undo each other (rules: {})",
        path.display(),
        rules.join(", ")
    )]
    NoFixedPoint { path: PathBuf, rules: Vec<String> },
    /// A `run:` step's command failed: its exit status (or timeout) and the
    /// end of its output, scrubbed of secrets.
    #[error("{step} failed ({status}){}", output_end(.tail))]
    Command {
        step: String,
        status: String,
        tail: String,
    },
    /// A `run:` step's command could not be started (no sandbox here, say).
    #[error("{step}: cannot run the command: {source}")]
    Sandbox {
        step: String,
        #[source]
        source: crate::sandbox::SandboxError,
    },
}

fn output_end(tail: &str) -> String {
    if tail.trim().is_empty() {
        ", with no output".to_string()
    } else {
        format!("; the end of its output:\n{}", tail.trim_end())
    }
}

impl Recipe {
    /// Read and validate the recipe at `path`, with its parameters' defaults.
    pub fn load(path: &Path) -> Result<Recipe, RecipeError> {
        Recipe::load_with(path, &Values::new())
    }

    /// Read and validate the recipe at `path`, with `values` for its
    /// parameters (the others take their defaults).
    pub fn load_with(path: &Path, values: &Values) -> Result<Recipe, RecipeError> {
        load::load(path, values, &mut Vec::new())
    }

    /// Validate the recipe `text`, the content of `path` (used in diagnostics,
    /// to find included recipes and rule files, and, for a plain ast-grep
    /// rule file, as the recipe id).
    pub fn from_str(path: &Path, text: &str) -> Result<Recipe, RecipeError> {
        load::recipe(path, text, &Values::new(), &mut Vec::new()).map_err(RecipeError::Invalid)
    }

    /// Whether a step runs a command (`run:`), which needs a sandbox.
    pub fn runs_commands(&self) -> bool {
        self.steps.iter().any(Step::runs_command)
    }

    /// Every ast-grep rule of the recipe, in step order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.steps.iter().flat_map(|s| s.rules())
    }

    /// How many ast-grep rules and edits the recipe holds, in words
    /// (`2 steps: ast-grep (3 rules), yaml (1 edit)`).
    pub fn summary(&self) -> String {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        let parts: Vec<String> = self.steps.iter().map(Step::summary).collect();
        format!("{}: {}", plural(self.steps.len(), "step"), parts.join(", "))
    }

    /// Compute the edits on the tree at `root` without writing anything.
    pub fn apply(&self, root: &Path) -> Result<Changes, ApplyError> {
        self.apply_with(root, &ApplyOptions::default())
    }

    /// [`Recipe::apply`] with explicit limits and catalog facts.
    pub fn apply_with(&self, root: &Path, options: &ApplyOptions) -> Result<Changes, ApplyError> {
        run::apply(self, root, options)
    }

    /// Run the recipe's fixtures (`fixtures/<case>/before`, `after` beside
    /// the recipe file, or in `dir`), commands in the default sandbox.
    pub fn test(&self, dir: Option<&Path>) -> Result<Vec<CaseReport>, fixtures::FixtureError> {
        self.test_with(dir, &crate::sandbox::Policy::default())
    }

    /// [`Recipe::test`], `run:` steps under `sandbox`.
    pub fn test_with(
        &self,
        dir: Option<&Path>,
        sandbox: &crate::sandbox::Policy,
    ) -> Result<Vec<CaseReport>, fixtures::FixtureError> {
        fixtures::run(self, dir, sandbox)
    }
}

/// Limits and context of [`Recipe::apply_with`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ApplyOptions {
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// What the catalog says about the tree's component, for `catalog`
    /// preconditions (which hold when this is `None`).
    pub facts: Option<Facts>,
    /// How `run:` steps run their commands (a campaign's `sandbox:`).
    pub sandbox: crate::sandbox::Policy,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            facts: None,
            sandbox: crate::sandbox::Policy::default(),
        }
    }
}
