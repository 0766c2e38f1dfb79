//! What a recipe would change in a tree: per-file before/after, the diff,
//! and the one place that writes it back.

use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

use super::ApplyError;

/// The result of [`super::Recipe::apply`]: nothing is written yet. (Serde:
/// a rewrite run in a child process sends it back to the engine.)
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// Files some rule applies to but that were not read.
    pub skipped: Skipped,
    /// Files a step could not change (the rewrite would not parse, an edit
    /// conflicts, a move is refused); left unchanged, sorted by path.
    pub rejected: Vec<RejectedFile>,
    /// Why the recipe does not apply to the tree (an `applies_when`
    /// condition that does not hold); nothing else is computed then.
    pub not_applicable: Option<String>,
}

/// What happens to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Modified,
    Added,
    Deleted,
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileChange {
    /// Relative to the root, `/`-separated.
    pub path: PathBuf,
    pub status: FileStatus,
    /// The text before (empty for an added file).
    pub before: String,
    /// The text after (empty for a deleted file).
    pub after: String,
    /// Edits made by each rule or edit (its id or label, count), in the order
    /// first made, over all passes.
    pub matches: Vec<(String, usize)>,
}

/// Files left alone, by reason. `symlinks` counts every symlink met in the
/// tree (never followed); the others count only files a rule applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub binary: usize,
    pub too_large: usize,
    pub not_utf8: usize,
    pub symlinks: usize,
}

/// A file a step could not change: its rewrite has more syntax errors than
/// the original, an edit conflicts with what is there, or a move is
/// refused. It is left as the steps before left it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RejectedFile {
    /// Relative to the root, `/`-separated.
    pub path: PathBuf,
    /// The rules or edits that could not be made.
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

    /// Write every change under `root`: rewrite, create and delete files.
    /// Every target is checked before anything is written, so a refusal
    /// leaves the tree as it was. Refuses to go through a symlink, to leave
    /// `root` or enter `.git`, to overwrite anything but the regular file the
    /// recipe read, or to touch a file that changed since the recipe was
    /// applied.
    pub fn write(&self, root: &Path) -> Result<(), ApplyError> {
        let mut targets = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let target = match file.status {
                FileStatus::Modified => {
                    let target = checked_target(root, &file.path)?;
                    unchanged_since(&target, file)?;
                    target
                }
                FileStatus::Added => match new_path_problem(root, &file.path) {
                    Some(problem) => return Err(unsafe_path(&file.path, problem)),
                    None => root.join(&file.path),
                },
                FileStatus::Deleted => checked_target(root, &file.path)?,
            };
            targets.push(target);
        }
        for (file, target) in self.files.iter().zip(targets) {
            let failed = |source| ApplyError::Write {
                path: file.path.clone(),
                source,
            };
            match file.status {
                FileStatus::Modified => std::fs::write(&target, &file.after).map_err(failed)?,
                FileStatus::Added => {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).map_err(failed)?;
                    }
                    std::fs::write(&target, &file.after).map_err(failed)?;
                }
                FileStatus::Deleted => std::fs::remove_file(&target).map_err(failed)?,
            }
        }
        Ok(())
    }
}

fn unchanged_since(target: &Path, file: &FileChange) -> Result<(), ApplyError> {
    let current = std::fs::read_to_string(target).map_err(|source| ApplyError::Read {
        path: file.path.clone(),
        source,
    })?;
    if current != file.before {
        return Err(unsafe_path(
            &file.path,
            "it changed since the recipe was applied",
        ));
    }
    Ok(())
}

impl FileChange {
    /// This file's unified diff.
    pub fn unified_diff(&self) -> String {
        let path = self.path.to_string_lossy();
        let (old, new) = match self.status {
            FileStatus::Modified => (format!("a/{path}"), format!("b/{path}")),
            FileStatus::Added => ("/dev/null".to_string(), format!("b/{path}")),
            FileStatus::Deleted => (format!("a/{path}"), "/dev/null".to_string()),
        };
        let diff = TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string();
        if diff.is_empty() && self.status != FileStatus::Modified {
            // A deleted binary file (never read) or an empty added one.
            return format!("--- {old}\n+++ {new}\n");
        }
        diff
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
    if !is_plain(rel) {
        return Err(unsafe_path(
            rel,
            "it is not a plain path inside the root, outside .git",
        ));
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

/// Why a new file cannot be created at `root/rel`, or `None`: `rel` must be
/// a plain relative path outside `.git`, nothing may be there yet, and
/// every existing folder on the way must be a real folder (not a symlink,
/// not a file).
pub(super) fn new_path_problem(root: &Path, rel: &Path) -> Option<&'static str> {
    if !is_plain(rel) {
        return Some("it is not a plain path inside the repository, outside .git");
    }
    let mut target = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, component) in parts.iter().enumerate() {
        target.push(component);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&target) {
            Ok(_) if last => return Some("something is already there"),
            Ok(meta) if meta.file_type().is_symlink() => return Some("a symlink is on its way"),
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => return Some("a file is in the way of its folder"),
            Err(_) => return None,
        }
    }
    None
}

/// Only plain parts (no `..`, no root), none of them `.git` in any case.
pub(crate) fn is_plain(rel: &Path) -> bool {
    rel.components().next().is_some()
        && rel.components().all(|c| match c {
            Component::Normal(part) => !part.eq_ignore_ascii_case(".git"),
            _ => false,
        })
}
