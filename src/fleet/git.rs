//! Bare repositories with one reproducible initial commit, written with git2.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Oid, Repository, RepositoryInitOptions, Signature, Time};

use super::FleetError;

/// Author and committer of every initial commit.
pub(super) const AUTHOR_NAME: &str = "fleetwright fleet builder";
pub(super) const AUTHOR_EMAIL: &str = "fleet-builder@fleetwright.invalid";
/// 2024-01-01T00:00:00Z: a fixed time, so that commit ids are reproducible.
pub(super) const COMMIT_TIME: i64 = 1_704_067_200;
pub(super) const COMMIT_MESSAGE: &str =
    "Initial commit\n\nCreated by fleetwright's fleet builder.\n";

/// A directory of the tree being assembled.
#[derive(Default)]
struct Dir {
    entries: BTreeMap<String, Entry>,
}

enum Entry {
    Blob(Oid),
    Dir(Dir),
}

/// Create a bare repository at `path` whose HEAD is `refs/heads/<branch>`,
/// holding one commit with `files`. Returns the commit id.
pub(super) fn create_bare_with_initial_commit(
    path: &Path,
    branch: &str,
    files: &[(String, String)],
) -> Result<Oid, FleetError> {
    let git = |action: &'static str| {
        let repo = path.to_path_buf();
        move |source| FleetError::Git {
            action,
            repo,
            source,
        }
    };
    let mut opts = RepositoryInitOptions::new();
    opts.bare(true)
        .no_reinit(true)
        .mkdir(true)
        // Neither the user's template directory nor init.defaultBranch may
        // leak into the sandbox.
        .external_template(false)
        .initial_head(&format!("refs/heads/{branch}"));
    let repo = Repository::init_opts(path, &opts).map_err(git("create a bare repository"))?;

    let mut root = Dir::default();
    for (file, content) in files {
        let oid = repo.blob(content.as_bytes()).map_err(git("write a blob"))?;
        insert(&mut root, file, oid).map_err(FleetError::InvalidSpec)?;
    }
    let tree_id = write_tree(&repo, &root).map_err(git("write the tree"))?;
    let tree = repo.find_tree(tree_id).map_err(git("read the tree"))?;
    let signature = Signature::new(AUTHOR_NAME, AUTHOR_EMAIL, &Time::new(COMMIT_TIME, 0))
        .map_err(git("make the signature"))?;
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &signature,
        &signature,
        COMMIT_MESSAGE,
        &tree,
        &[],
    )
    .map_err(git("commit"))
}

/// Check that `files` form a tree (no path is both a file and a directory),
/// before anything is written.
pub(super) fn check_tree<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let mut root = Dir::default();
    for path in paths {
        insert(&mut root, path, Oid::ZERO_SHA1)?;
    }
    Ok(())
}

/// Place `oid` at `path` (`a/b/c.txt`) in the tree being assembled.
fn insert(root: &mut Dir, path: &str, oid: Oid) -> Result<(), String> {
    let (dirs, name) = match path.rsplit_once('/') {
        Some((dirs, name)) => (Some(dirs), name),
        None => (None, path),
    };
    let mut dir = root;
    for part in dirs.into_iter().flat_map(|d| d.split('/')) {
        let entry = dir
            .entries
            .entry(part.to_string())
            .or_insert_with(|| Entry::Dir(Dir::default()));
        dir = match entry {
            Entry::Dir(d) => d,
            Entry::Blob(_) => return Err(format!("`{path}` lies under `{part}`, which is a file")),
        };
    }
    if dir.entries.contains_key(name) {
        return Err(format!("`{path}` is both a file and a directory"));
    }
    dir.entries.insert(name.to_string(), Entry::Blob(oid));
    Ok(())
}

fn write_tree(repo: &Repository, dir: &Dir) -> Result<Oid, git2::Error> {
    let mut builder = repo.treebuilder(None)?;
    for (name, entry) in &dir.entries {
        match entry {
            Entry::Blob(oid) => builder.insert(name, *oid, 0o100644)?,
            Entry::Dir(sub) => builder.insert(name, write_tree(repo, sub)?, 0o040000)?,
        };
    }
    builder.write()
}
