//! The files of a tree a recipe may rewrite: `.gitignore` respected, hidden
//! files included, `.git` never entered, symlinks never followed.
//!
//! Only the tree's own ignore files count (not the user's global gitignore,
//! nor those of directories above the root), so that a recipe gives the same
//! result on every machine.

use std::io::Read;
use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::{ApplyError, Skipped};

/// A regular file of the tree.
pub(super) struct FileEntry {
    /// Relative to the root, `/`-separated.
    pub rel: PathBuf,
    /// Its size when walked (0 when it cannot be told): the biggest files
    /// are rewritten first.
    pub size: u64,
}

/// What a walk finds: the regular files, and the symlinks (never followed).
pub(super) struct Walked {
    pub files: Vec<FileEntry>,
    /// Relative to the root, `/`-separated.
    pub symlinks: Vec<PathBuf>,
}

/// Every regular file and symlink under `root`, sorted by path.
pub(super) fn walk(root: &Path) -> Result<Walked, ApplyError> {
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .git_global(false)
        .parents(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    let mut out = Vec::new();
    let mut symlinks = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|source| ApplyError::Walk {
            path: root.to_path_buf(),
            source,
        })?;
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_symlink() {
            if let Some(rel) = relative(root, entry.path()) {
                symlinks.push(rel);
            }
        } else if file_type.is_file() {
            let size = entry.metadata().map_or(0, |m| m.len());
            let abs = entry.into_path();
            let Some(rel) = relative(root, &abs) else {
                continue;
            };
            out.push(FileEntry { rel, size });
        }
    }
    Ok(Walked {
        files: out,
        symlinks,
    })
}

/// `abs` relative to `root`, with `/` separators.
fn relative(root: &Path, abs: &Path) -> Option<PathBuf> {
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(PathBuf::from(parts.join("/")))
}

/// Bytes looked at to tell a binary file (one with a NUL byte) apart.
const BINARY_PROBE: usize = 8 * 1024;

/// Why a file was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SkipReason {
    TooLarge,
    Binary,
    NotUtf8,
}

impl Skipped {
    /// Count one file left alone for `reason`.
    pub(super) fn count(&mut self, reason: SkipReason) {
        match reason {
            SkipReason::TooLarge => self.too_large += 1,
            SkipReason::Binary => self.binary += 1,
            SkipReason::NotUtf8 => self.not_utf8 += 1,
        }
    }
}

/// The text of the file at `abs` (`rel` names it in errors), or why it is
/// left alone: too large, binary or not UTF-8.
pub(super) fn read_text(
    rel: &Path,
    abs: &Path,
    max_size: u64,
) -> Result<Result<String, SkipReason>, ApplyError> {
    let read_error = |source| ApplyError::Read {
        path: rel.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(abs).map_err(read_error)?;
    if file.metadata().map_err(read_error)?.len() > max_size {
        return Ok(Err(SkipReason::TooLarge));
    }
    let mut bytes = Vec::new();
    // One byte more than allowed tells a file that grew since the check.
    file.take(max_size + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(text_of(bytes, max_size))
}

/// The text of a file's `bytes`, or why it is left alone.
pub(super) fn text_of(bytes: Vec<u8>, max_size: u64) -> Result<String, SkipReason> {
    if bytes.len() as u64 > max_size {
        return Err(SkipReason::TooLarge);
    }
    if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
        return Err(SkipReason::Binary);
    }
    String::from_utf8(bytes).map_err(|_| SkipReason::NotUtf8)
}

impl SkipReason {
    /// `binary`, `larger than the size limit`, `not UTF-8`.
    pub(super) fn words(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "larger than the file size limit",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 => "not UTF-8",
        }
    }
}
