//! Recipes: the structural rewrites a campaign applies to every target.
//!
//! A recipe is a YAML file of ast-grep rules, so that a rule written and
//! tested with ast-grep can be pasted into a recipe unchanged. This module
//! loads recipes (reporting every mistake at its file:line:column) and
//! computes the edits a recipe makes on a directory tree.
//!
//! Invariants: nothing here prints, touches git, the state, or the terminal.
//! [`Recipe::apply`] never writes; only [`Changes::write`] does, and only to
//! regular files inside the tree it was computed on (never through a
//! symlink). Matching and rewriting are ast-grep's own (`ast-grep-config`,
//! `ast-grep-core`, `ast-grep-language`); this module adds the walk, the
//! fixed point, the syntax check of the result and the diagnostics.

mod apply;
mod changes;
mod load;
mod locate;
mod prefilter;
mod walk;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use ast_grep_config::{RuleCollection, RuleConfig};
pub use ast_grep_language::SupportLang;

use crate::diag::FileDiagnostic;

pub use changes::{Changes, FileChange, RejectedFile, Skipped};

/// Files larger than this are left alone (counted in [`Skipped::too_large`]).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024;

/// How many rewrite passes a file may take before the recipe is declared
/// unstable ([`ApplyError::NoFixedPoint`]).
pub const MAX_PASSES: usize = 10;

/// A loaded, validated recipe.
#[derive(Debug)]
pub struct Recipe {
    /// Stable identifier (form A: `id`; a plain ast-grep file: its file stem).
    pub id: String,
    /// One line saying what the recipe does.
    pub title: String,
    /// Why, in Markdown (may be empty).
    pub description: String,
    /// The recipe's own version, as written (`1`, `"2.1"`), if any.
    pub version: Option<String>,
    /// The file the recipe was loaded from.
    pub path: PathBuf,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

/// One ast-grep rule of a recipe, compiled.
pub struct Rule {
    /// The rule's `id`.
    pub id: String,
    /// The language of the files it applies to.
    pub language: SupportLang,
    /// The compiled rule, alone in an ast-grep collection so that its
    /// `files`/`ignores` globs are matched exactly as ast-grep matches them.
    /// A rule with `severity: off` is kept but never applies (as in ast-grep).
    collection: RuleCollection<SupportLang>,
    /// Text a file must contain for the rule to match in it, so that files
    /// without it are not parsed (see `prefilter`).
    needs: prefilter::Needs,
}

impl Rule {
    fn new(config: RuleConfig<SupportLang>) -> Result<Rule, String> {
        let id = config.id.clone();
        let language = config.language;
        let needs = prefilter::Needs::of(&config);
        let collection = RuleCollection::try_new(vec![config]).map_err(|e| e.to_string())?;
        Ok(Rule {
            id,
            language,
            collection,
            needs,
        })
    }

    /// The compiled rule when it applies to `rel_path` (relative to the root
    /// of the tree, `/`-separated): same language, `files`/`ignores` honoured.
    fn config_for(&self, rel_path: &Path) -> Option<&RuleConfig<SupportLang>> {
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
}

impl Recipe {
    /// Read and validate the recipe at `path`.
    pub fn load(path: &Path) -> Result<Recipe, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Recipe::from_str(path, &text)
    }

    /// Validate the recipe `text`, the content of `path` (used in diagnostics
    /// and, for a plain ast-grep rule file, as the recipe id).
    pub fn from_str(path: &Path, text: &str) -> Result<Recipe, RecipeError> {
        load::recipe(path, text).map_err(RecipeError::Invalid)
    }

    /// Compute the edits on the tree at `root` without writing anything.
    pub fn apply(&self, root: &Path) -> Result<Changes, ApplyError> {
        self.apply_with(root, &ApplyOptions::default())
    }

    /// [`Recipe::apply`] with explicit limits.
    pub fn apply_with(&self, root: &Path, options: &ApplyOptions) -> Result<Changes, ApplyError> {
        apply::apply(self, root, options)
    }
}

/// Limits of [`Recipe::apply_with`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}
