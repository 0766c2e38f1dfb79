//! Paths as people write them in campaign and catalog files: made absolute
//! and cleaned lexically (`.` and `..` folded, nothing resolved on disk), so
//! that the same file named two ways is one file.

use std::path::{Component as Part, Path, PathBuf};

/// Resolve `.` and `..` without touching the filesystem (a leading `..` of a
/// relative path stays; an empty result is `.`).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Part::CurDir => {}
            Part::ParentDir => match out.components().next_back() {
                Some(Part::Normal(_)) => {
                    out.pop();
                }
                Some(Part::RootDir | Part::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// `path` made absolute against the current directory, then [`normalize`]d.
pub fn absolute(path: &Path) -> PathBuf {
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("/../x")), PathBuf::from("/x"));
        assert_eq!(
            normalize(Path::new("../a/../../b")),
            PathBuf::from("../../b")
        );
        assert_eq!(normalize(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn absolute_paths_are_rooted_and_clean() {
        let p = absolute(Path::new("a/./b/../c"));
        assert!(p.is_absolute());
        assert!(p.ends_with("a/c"), "{}", p.display());
    }
}
