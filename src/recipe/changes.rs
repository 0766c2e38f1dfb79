//! What a recipe would change in a tree: per-file before/after, the diff,
//! and the one place that writes it back.

use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

use super::ApplyError;

/// The result of [`super::Recipe::apply`]: nothing is written yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// Files some rule applies to but that were not read.
    pub skipped: Skipped,
    /// Files whose rewrite would not parse; left unchanged, sorted by path.
    pub rejected: Vec<RejectedFile>,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the root, `/`-separated.
    pub path: PathBuf,
    pub before: String,
    pub after: String,
    /// Edits made by each rule (rule id, count), in recipe order, over all passes.
    pub matches: Vec<(String, usize)>,
}

/// Files left alone, by reason. `symlinks` counts every symlink met in the
/// tree (never followed); the others count only files a rule applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    pub binary: usize,
    pub too_large: usize,
    pub not_utf8: usize,
    pub symlinks: usize,
}

/// A file the recipe would have broken: its rewrite has more syntax errors
/// than the original, so it is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedFile {
    /// Relative to the root, `/`-separated.
    pub path: PathBuf,
    /// The rules that edited the file.
    pub rule_ids: Vec<String>,
    /// 1-based line of the first new syntax error in the rewritten file.
    pub line: usize,
    pub message: String,
}

impl Changes {
    /// True when no file would change.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Edits over all changed files.
    pub fn total_matches(&self) -> usize {
        self.files
            .iter()
            .flat_map(|f| f.matches.iter().map(|(_, n)| n))
            .sum()
    }

    /// Unified diff of every changed file (`--- a/path` / `+++ b/path`, 3 lines of context).
    pub fn unified_diff(&self) -> String {
        self.files.iter().map(FileChange::unified_diff).collect()
    }

    /// Write every changed file under `root`. Refuses to write through a
    /// symlink, to anything but a regular file inside `root`, or to a file
    /// that changed since the recipe was applied.
    pub fn write(&self, root: &Path) -> Result<(), ApplyError> {
        for file in &self.files {
            let target = checked_target(root, &file.path)?;
            let current = std::fs::read_to_string(&target).map_err(|source| ApplyError::Read {
                path: file.path.clone(),
                source,
            })?;
            if current != file.before {
                return Err(unsafe_path(
                    &file.path,
                    "it changed since the recipe was applied",
                ));
            }
            std::fs::write(&target, &file.after).map_err(|source| ApplyError::Write {
                path: file.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl FileChange {
    /// This file's unified diff.
    pub fn unified_diff(&self) -> String {
        let path = self.path.to_string_lossy();
        TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string()
    }
}

fn unsafe_path(path: &Path, reason: &str) -> ApplyError {
    ApplyError::UnsafePath {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// `root/rel`, if `rel` is a plain relative path, no component of it is a
/// symlink, and it names a regular file that resolves inside `root`.
fn checked_target(root: &Path, rel: &Path) -> Result<PathBuf, ApplyError> {
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(unsafe_path(rel, "it is not a plain path inside the root"));
    }
    let mut target = root.to_path_buf();
    for component in rel.components() {
        target.push(component);
        let meta = std::fs::symlink_metadata(&target).map_err(|source| ApplyError::Read {
            path: rel.to_path_buf(),
            source,
        })?;
        if meta.file_type().is_symlink() {
            return Err(unsafe_path(rel, "it goes through a symlink"));
        }
    }
    if !std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_file()) {
        return Err(unsafe_path(rel, "it is not a regular file"));
    }
    let inside = match (root.canonicalize(), target.canonicalize()) {
        (Ok(root), Ok(target)) => target.starts_with(root),
        _ => false,
    };
    if !inside {
        return Err(unsafe_path(rel, "it resolves outside the root"));
    }
    Ok(target)
}
