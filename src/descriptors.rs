//! Catalogs that live with the code: each repository carries its own
//! Backstage descriptor (`catalog-info.yaml`), and a campaign reads it
//! from the head of the repository's default branch
//! (`catalog: {in_repositories: {repositories, path, groups}}`).
//!
//! Each descriptor is read from git objects through the clone cache
//! ([`crate::git::Workspace`], so the campaign's token, SSH key and known
//! hosts apply), never from a working tree; a symbolic link is followed
//! only to a file inside the repository, and a descriptor is read only up
//! to [`MAX_DESCRIPTOR`] bytes. What was read (each descriptor's text, or
//! why it could not be read) is a list of [`Descriptor`]s: the snapshot a
//! launched campaign records, and, through [`Catalog::from_sourced`], the
//! same checks as a catalog file's, each problem at
//! `repository: path:line:column`.
//!
//! Invariants: this module never prints and never touches the state; it
//! writes nothing but clones in the cache. A repository that cannot be
//! read is a catalog problem naming it, never a failure of the others.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, SourcedText, repository_at};
use crate::escape::terminal;
use crate::git::{FileAtBase, Workspace};

/// Where a descriptor is in a repository unless the campaign says.
pub const DEFAULT_PATH: &str = "catalog-info.yaml";

/// The largest descriptor read (1 MiB).
pub const MAX_DESCRIPTOR: usize = 1 << 20;

/// How a snapshot of descriptors names its source (before the list file,
/// or `inline`), telling it apart from a Backstage URL.
pub const SOURCE_PREFIX: &str = "in_repositories:";

/// A campaign's catalog read from its repositories, as the campaign names
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InRepositories {
    /// The repositories, in order: URLs git clones, or paths on this
    /// machine.
    pub repositories: Vec<String>,
    /// The descriptor's path inside each repository (`/`-separated,
    /// relative).
    pub path: String,
    /// A catalog file or folder with the Group and User entities, absolute.
    pub groups: Option<PathBuf>,
    /// The file listing the repositories, absolute, when they come from one.
    pub list: Option<PathBuf>,
}

impl InRepositories {
    /// How a snapshot names this source: `in_repositories:<list file>`,
    /// or `in_repositories:inline`.
    pub fn source(&self) -> String {
        match &self.list {
            Some(list) => format!("{SOURCE_PREFIX}{}", list.display()),
            None => format!("{SOURCE_PREFIX}inline"),
        }
    }
}

/// One file read for the catalog: a descriptor from a repository, or a
/// groups file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The repository it was read from (`None` for a groups file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Its path in the repository, or the groups file's path.
    pub path: String,
    pub content: Content,
}

/// What a [`Descriptor`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// The text read.
    Text(String),
    /// Why it could not be read, one sentence.
    Unreadable(String),
}

impl Descriptor {
    /// How problems name it: `https://…/billing.git: catalog-info.yaml`
    /// (credentials redacted), or the groups file's path.
    pub fn shown(&self) -> PathBuf {
        match &self.repository {
            Some(url) => PathBuf::from(format!(
                "{}: {}",
                terminal(&crate::urls::redact(url)),
                terminal(&self.path)
            )),
            None => PathBuf::from(&self.path),
        }
    }
}

/// The catalog the descriptors make, checked as catalog files are; a
/// component naming no `backstage.io/source-location` is in the
/// repository its descriptor was read from.
pub fn catalog(descriptors: &[Descriptor]) -> Catalog {
    Catalog::from_sourced(descriptors.iter().map(|d| SourcedText {
        shown: d.shown(),
        content: match &d.content {
            Content::Text(t) => Ok(t.clone()),
            Content::Unreadable(why) => Err(why.clone()),
        },
        repository: d.repository.as_deref().and_then(repository_at),
    }))
}

/// The descriptors as the state stores them: one JSON object a line.
pub fn to_lines(descriptors: &[Descriptor]) -> Vec<String> {
    descriptors
        .iter()
        .map(|d| serde_json::to_string(d).unwrap_or_default())
        .collect()
}

/// The descriptors [`to_lines`] made; a line that is not one (a state
/// edited by hand) is an unreadable descriptor saying so.
pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<Descriptor> {
    lines
        .into_iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| Descriptor {
                repository: None,
                path: "the catalog snapshot".to_string(),
                content: Content::Unreadable(format!(
                    "a line of the snapshot is not a descriptor ({e}); launch the campaign again to take a new snapshot"
                )),
            })
        })
        .collect()
}

/// Read the groups files and every repository's descriptor. `refusal`
/// says why a repository may not be touched (the campaign's forge rule,
/// [`crate::campaign::Campaign::repository_refusal`]); `progress` is told
/// each repository once done. Blocking (git).
pub fn read(
    source: &InRepositories,
    workspace: &Workspace,
    refusal: &dyn Fn(&str) -> Option<String>,
    progress: &mut dyn FnMut(&Descriptor),
) -> Vec<Descriptor> {
    let mut out = Vec::new();
    if let Some(groups) = &source.groups {
        out.extend(groups_files(groups));
    }
    for url in &source.repositories {
        let content = match refusal(url) {
            Some(why) => Content::Unreadable(why),
            None => read_one(workspace, url, &source.path),
        };
        let d = Descriptor {
            repository: Some(url.clone()),
            path: source.path.clone(),
            content,
        };
        progress(&d);
        out.push(d);
    }
    out
}

fn read_one(workspace: &Workspace, url: &str, path: &str) -> Content {
    let name = repository_at(url).map_or_else(|| "repository".to_string(), |r| r.name);
    let checkout = match workspace.sync(url, &name) {
        Ok(c) => c,
        Err(e) => {
            return Content::Unreadable(format!(
                "cannot fetch the repository: {}",
                terminal(&crate::urls::redact(&e.to_string()))
            ));
        }
    };
    let branch = terminal(&checkout.default_branch).into_owned();
    match checkout.file_at_base(path, MAX_DESCRIPTOR) {
        Ok(FileAtBase::File(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => Content::Text(text),
            Err(_) => Content::Unreadable(format!("{path} is not UTF-8 text")),
        },
        Ok(FileAtBase::Missing) => Content::Unreadable(format!(
            "no {path} at the head of {branch}: commit a Backstage descriptor there, or leave the repository out of the list"
        )),
        Ok(FileAtBase::NotAFile) => {
            Content::Unreadable(format!("{path} at the head of {branch} is not a file"))
        }
        Ok(FileAtBase::LinkOut(target)) => Content::Unreadable(format!(
            "{path} is a symbolic link to `{}`, outside the repository: it is not followed; commit the descriptor itself",
            terminal(&target)
        )),
        Ok(FileAtBase::TooLarge(size)) => Content::Unreadable(format!(
            "{path} is {size} bytes, more than the {MAX_DESCRIPTOR} read of a descriptor"
        )),
        Err(e) => Content::Unreadable(format!("cannot read {path}: {e}")),
    }
}

/// The groups catalog: a file, or every `*.yaml`/`*.yml` below a folder
/// (sorted, hidden folders and symbolic links skipped). `Location`s in it
/// are not followed.
fn groups_files(path: &Path) -> Vec<Descriptor> {
    let mut files = Vec::new();
    if path.is_dir() {
        walk(path, &mut files);
    } else {
        files.push(path.to_path_buf());
    }
    files
        .into_iter()
        .map(|file| Descriptor {
            repository: None,
            path: file.display().to_string(),
            content: match std::fs::read_to_string(&file) {
                Ok(text) => Content::Text(text),
                Err(e) => Content::Unreadable(format!("cannot read the groups file: {e}")),
            },
        })
        .collect()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !name.starts_with('.') {
            walk(&entry.path(), files);
        } else if kind.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            files.push(entry.path());
        }
    }
}
