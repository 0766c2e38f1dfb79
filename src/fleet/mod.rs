//! Sandbox fleets of real git repositories, built from a readable spec.
//!
//! `fleetwright demo` and the integration tests need a fleet to migrate: bare
//! git repositories that stand in for a forge's remotes, and a Backstage
//! catalog that says who owns them. This module builds one from a
//! [`FleetSpec`] — a few teams, a few repositories and the files each one
//! holds — so that a test reads like the situation it sets up instead of
//! shipping binary fixtures. [`demo`] holds the demo's content: teams, Python
//! and Go services with deprecated APIs in them, a recipe and a campaign.
//!
//! Invariants:
//! - git2 only (never the `git` command), so the sandbox does not depend on
//!   the user's git installation or configuration.
//! - Reproducible: a fixed author, a fixed timestamp and a sorted tree make
//!   the same spec give the same commit ids on every machine.
//! - Relocatable: catalog files point at the remotes with paths relative to
//!   themselves (`url:../remotes/<name>.git`), so a sandbox can be moved.
//! - Nothing is overwritten: [`build`] refuses a `remotes/` or `catalog/`
//!   that already holds files, and [`build_demo`] only clears a directory
//!   that carries the demo marker.
//! - No printing, no progress bars, no state database: the command layer
//!   reports, this module builds.

mod catalog;
pub mod demo;
mod git;

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

pub use demo::{DEMO_MARKER, Demo, DemoOptions, build_demo, demo_spec};

/// A fleet to build: the teams of the catalog and their repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetSpec {
    pub teams: Vec<TeamSpec>,
    pub repos: Vec<RepoSpec>,
}

/// A team: a Backstage `Group` of type `team`, and its members as `User`s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamSpec {
    /// The group's entity name, e.g. `team-payments`; also names its catalog file.
    pub name: String,
    /// `spec.profile.displayName` of the group, e.g. `Payments`.
    pub display_name: String,
    /// The `github.com/team-slug` annotation, e.g. `acme/payments`.
    pub team_slug: String,
    /// `(user entity name, display name, GitHub login)` of each member.
    pub members: Vec<(String, String, String)>,
}

/// A repository: a bare git repository and a Backstage `Component`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoSpec {
    /// Repository and component name, e.g. `billing-api`.
    pub name: String,
    /// Name of the owning team (a [`TeamSpec::name`] of the same spec).
    pub team: String,
    /// `spec.type`: `service`, `library`, `website`, ...
    pub spec_type: String,
    /// `spec.lifecycle`: `production`, `experimental`, `deprecated`, ...
    pub lifecycle: String,
    /// `spec.system`, when the component belongs to one.
    pub system: Option<String>,
    /// `metadata.tags`, e.g. `python`.
    pub tags: Vec<String>,
    /// The branch HEAD points at and the initial commit lands on (usually `main`).
    pub default_branch: String,
    /// `(path relative to the repository root, content)` of each file. A
    /// `README.md` is added when the list has none.
    pub files: Vec<(String, String)>,
}

/// A built fleet: where everything is.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The directory the fleet was built in.
    pub root: PathBuf,
    /// `root/remotes`: one bare repository per repo, `<name>.git`.
    pub remotes_dir: PathBuf,
    /// `root/catalog`: `all.yaml` and one `<team>.yaml` per team.
    pub catalog_dir: PathBuf,
    /// The repositories, in the order of the spec.
    pub repos: Vec<BuiltRepo>,
}

impl Fleet {
    /// The catalog's entry point, `catalog/all.yaml` (a `Location`).
    pub fn catalog_file(&self) -> PathBuf {
        self.catalog_dir.join(catalog::ALL_FILE)
    }

    /// The built repository called `name`.
    pub fn repo(&self, name: &str) -> Option<&BuiltRepo> {
        self.repos.iter().find(|r| r.name == name)
    }
}

/// One built bare repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltRepo {
    pub name: String,
    /// `remotes/<name>.git`.
    pub bare_path: PathBuf,
    /// The branch HEAD points at.
    pub default_branch: String,
    /// The initial commit on the default branch.
    pub head: git2::Oid,
}

/// What can go wrong while building a fleet.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The spec itself is wrong; nothing was written.
    #[error("invalid fleet spec: {0}")]
    InvalidSpec(String),
    /// The place the fleet would be written already holds files.
    #[error(
        "{} already exists and is not empty; the fleet builder writes only into new or empty directories",
        path.display()
    )]
    NotEmpty { path: PathBuf },
    /// `build_demo` was pointed at a directory that holds someone's files.
    #[error(
        "{} is not empty and is not a fleetwright demo (it has no {DEMO_MARKER} marker); it will not be touched — choose a new or empty directory",
        dir.display()
    )]
    NotADemoDir { dir: PathBuf },
    /// A path that must be a directory is something else (a file, a symlink).
    #[error("{} is not a directory (symbolic links are not followed)", path.display())]
    NotADirectory { path: PathBuf },
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not {action} in {}", repo.display())]
    Git {
        action: &'static str,
        repo: PathBuf,
        #[source]
        source: git2::Error,
    },
}

impl FleetError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FleetError {
        let path = path.to_path_buf();
        move |source| FleetError::Io {
            action,
            path,
            source,
        }
    }
}

/// Build the fleet described by `spec` in `root`.
///
/// Writes a bare repository per repo under `root/remotes/<name>.git`, whose
/// HEAD points at `refs/heads/<default_branch>`, holding one reproducible
/// initial commit with the repo's files (plus a `README.md` when it has
/// none); and the Backstage catalog under `root/catalog/` (`all.yaml`, a
/// `Location` of one `<team>.yaml` per team). `root` may exist;
/// `root/remotes` and `root/catalog` must not hold files yet.
pub fn build(root: &Path, spec: &FleetSpec) -> Result<Fleet, FleetError> {
    validate(spec)?;
    let remotes_dir = root.join("remotes");
    let catalog_dir = root.join("catalog");
    for dir in [&remotes_dir, &catalog_dir] {
        ensure_absent_or_empty_dir(dir)?;
    }
    for dir in [&remotes_dir, &catalog_dir] {
        std::fs::create_dir_all(dir).map_err(FleetError::io("create directory", dir))?;
    }

    let mut repos = Vec::with_capacity(spec.repos.len());
    for repo in &spec.repos {
        let bare_path = remotes_dir.join(format!("{}.git", repo.name));
        let files = files_with_readme(repo);
        let head = git::create_bare_with_initial_commit(&bare_path, &repo.default_branch, &files)?;
        repos.push(BuiltRepo {
            name: repo.name.clone(),
            bare_path,
            default_branch: repo.default_branch.clone(),
            head,
        });
    }

    for (file_name, text) in catalog::render(spec) {
        let path = catalog_dir.join(file_name);
        std::fs::write(&path, text).map_err(FleetError::io("write catalog file", &path))?;
    }

    Ok(Fleet {
        root: root.to_path_buf(),
        remotes_dir,
        catalog_dir,
        repos,
    })
}

/// The repo's files, with a generated `README.md` when it brings none.
fn files_with_readme(repo: &RepoSpec) -> Vec<(String, String)> {
    let mut files = repo.files.clone();
    if !files.iter().any(|(path, _)| path == "README.md") {
        files.push((
            "README.md".to_string(),
            format!("# {}\n\nOwned by {}.\n", repo.name, repo.team),
        ));
    }
    files
}

/// Accept a path that does not exist or is an empty directory (not a symlink).
fn ensure_absent_or_empty_dir(path: &Path) -> Result<(), FleetError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FleetError::io("inspect", path)(e)),
        Ok(meta) if !meta.is_dir() => Err(FleetError::NotADirectory {
            path: path.to_path_buf(),
        }),
        Ok(_) => {
            let mut entries =
                std::fs::read_dir(path).map_err(FleetError::io("read directory", path))?;
            if entries.next().is_some() {
                Err(FleetError::NotEmpty {
                    path: path.to_path_buf(),
                })
            } else {
                Ok(())
            }
        }
    }
}

/// Check everything that would otherwise fail half-way or write outside the
/// sandbox: entity names (which also name files), branches, file paths.
fn validate(spec: &FleetSpec) -> Result<(), FleetError> {
    let invalid = |msg: String| Err(FleetError::InvalidSpec(msg));
    let mut teams = HashSet::new();
    for team in &spec.teams {
        check_entity_name("team", &team.name)?;
        if !teams.insert(team.name.as_str()) {
            return invalid(format!("team `{}` is listed twice", team.name));
        }
        let mut members = HashSet::new();
        for (user, _, _) in &team.members {
            check_entity_name("user", user)?;
            if !members.insert(user.as_str()) {
                return invalid(format!(
                    "user `{user}` is listed twice in team `{}`",
                    team.name
                ));
            }
        }
    }
    let mut repos = HashSet::new();
    for repo in &spec.repos {
        check_entity_name("repo", &repo.name)?;
        if !repos.insert(repo.name.as_str()) {
            return invalid(format!("repo `{}` is listed twice", repo.name));
        }
        if !teams.contains(repo.team.as_str()) {
            return invalid(format!(
                "repo `{}` belongs to team `{}`, which the spec does not list",
                repo.name, repo.team
            ));
        }
        if repo.default_branch.is_empty()
            || !git2::Reference::is_valid_name(&format!("refs/heads/{}", repo.default_branch))
        {
            return invalid(format!(
                "repo `{}`: `{}` is not a valid branch name",
                repo.name, repo.default_branch
            ));
        }
        let mut paths = HashSet::new();
        for (path, _) in &repo.files {
            check_file_path(&repo.name, path)?;
            if !paths.insert(path.as_str()) {
                return invalid(format!(
                    "repo `{}`: file `{path}` is listed twice",
                    repo.name
                ));
            }
        }
        git::check_tree(paths)
            .map_err(|msg| FleetError::InvalidSpec(format!("repo `{}`: {msg}", repo.name)))?;
    }
    Ok(())
}

/// A Backstage entity name: 1 to 63 characters of `[A-Za-z0-9._-]`,
/// beginning and ending with a letter or digit. Such a name is also a safe
/// single file-name component.
fn check_entity_name(what: &str, name: &str) -> Result<(), FleetError> {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = !name.is_empty()
        && name.len() <= 63
        && alnum(name.chars().next())
        && alnum(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(FleetError::InvalidSpec(format!(
            "{what} name `{name}` is not a valid catalog name (1-63 characters of letters, digits, `.`, `_`, `-`, beginning and ending with a letter or digit)"
        )))
    }
}

/// A file path inside a repository: relative, `/`-separated, no empty, `.`,
/// `..` or `.git` components.
fn check_file_path(repo: &str, path: &str) -> Result<(), FleetError> {
    let bad_component = |c: &str| {
        c.is_empty() || c == "." || c == ".." || c.eq_ignore_ascii_case(".git") || c.contains('\0')
    };
    if path.contains('\\') || path.split('/').any(bad_component) {
        return Err(FleetError::InvalidSpec(format!(
            "repo `{repo}`: `{path}` is not a relative file path (use `/`, and no empty, `.`, `..` or `.git` components)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
