//! The Backstage service catalog, read from files into typed entities.
//!
//! A campaign targets the components of a catalog, and the catalog says who
//! owns each one and where its repository lives. This module reads catalog
//! files (many YAML documents per file, `Location` entities pointing at more
//! files) into [`Component`], [`Group`] and [`User`] values, and collects
//! every problem it meets as a [`FileDiagnostic`] at file:line:column instead
//! of stopping at the first: a fleet of hundreds of entries always has a few
//! broken ones, and the rest must still load.
//!
//! Invariants: this module only reads files. It never prints, never touches
//! git, the network or the state database, and knows nothing of the terminal
//! (no clap, no indicatif). Remote `Location` targets are deliberately
//! absent; entities read from the live catalog API (by [`crate::backstage`])
//! come in as text through [`Catalog::from_entities`] and are checked the
//! same way. The command layer decides what to do with
//! [`Catalog::problems`].

mod changes;
mod entity;
mod load;
mod problem;
mod raw;
mod repository;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use changes::{Changes, OwnerChange, changes};
pub use entity::{Component, EntityRef, Group, Origin, Repository, User};
pub use problem::{Problem, ProblemGroup, ProblemKind, SubjectCount, group_problems};

/// Everything read from a catalog, problems included.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub components: Vec<Component>,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    /// Entities of other kinds (System, API, Resource, Domain, Location,
    /// Template...), loaded and kept but not targeted.
    pub others: Vec<EntityRef>,
    /// Files read, in the order read.
    pub files: Vec<PathBuf>,
    /// Problems found; each names file:line:column and the field. Loading
    /// goes on past them. Ordered by file (in the order read), then position.
    pub problems: Vec<Problem>,
}

/// One text for [`Catalog::from_sourced`].
#[derive(Debug, Clone)]
pub struct SourcedText {
    /// How problems name it, before `:line:column`
    /// (`https://…/billing.git: catalog-info.yaml`).
    pub shown: PathBuf,
    /// The text, or why it could not be read (one sentence).
    pub content: Result<String, String>,
    /// The repository its components are in when they name none.
    pub repository: Option<Repository>,
}

/// The repository at `url` (a URL git clones, or a path on this machine),
/// as a component's: `None` when `url` names no repository.
pub fn repository_at(url: &str) -> Option<Repository> {
    repository::from_source_location(url, None)
        .ok()
        .map(|l| l.repository)
}

/// The catalog path itself cannot be read (anything further in is a problem
/// in [`Catalog::problems`] instead).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CatalogError {
    #[error("cannot read the catalog at {}", path.display())]
    #[diagnostic(
        code(fleetwright::catalog::unreadable),
        help(
            "pass a catalog file (such as catalog-info.yaml) or a directory holding *.yaml catalog files, and check that it is readable"
        )
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Catalog {
    /// Load from a file or a directory (all `*.yaml` / `*.yml` below it,
    /// recursively, sorted, not following symlinks, skipping hidden
    /// directories such as `.git`), following `Location` entities.
    ///
    /// Err only when `path` itself cannot be read; everything else is a
    /// problem in [`Catalog::problems`].
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        load::load(path)
    }

    /// The catalog of entities read from a live catalog (or its snapshot):
    /// `(label, text)` pairs, each text one entity as JSON, checked exactly
    /// as a file's entities are; a problem is named by the entity's label
    /// (`entity component:default/x (from url:…)`) instead of
    /// file:line:column. `Location`s are not followed (Backstage did), and
    /// a relative `backstage.io/source-location` names no repository.
    pub fn from_entities(entities: impl IntoIterator<Item = (String, String)>) -> Catalog {
        load::load_entities(entities)
    }

    /// The catalog of texts that are not the user's files (descriptors
    /// read from repositories): each named by [`SourcedText::shown`] in
    /// problems, checked as a live catalog's entities (no `Location`s
    /// followed, no relative repository paths); a text that could not be
    /// read is an unreadable-file problem.
    pub fn from_sourced(texts: impl IntoIterator<Item = SourcedText>) -> Catalog {
        load::load_sourced(texts)
    }

    pub fn group(&self, r: &EntityRef) -> Option<&Group> {
        self.groups.iter().find(|g| &g.entity == r)
    }

    pub fn user(&self, r: &EntityRef) -> Option<&User> {
        self.users.iter().find(|u| &u.entity == r)
    }

    pub fn component(&self, r: &EntityRef) -> Option<&Component> {
        self.components.iter().find(|c| &c.entity == r)
    }

    /// Every Group and User of the catalog (the possible owners): the one
    /// test of "is a known owner", for one component or ten thousand.
    pub fn known_owners(&self) -> HashSet<&EntityRef> {
        (self.groups.iter().map(|g| &g.entity))
            .chain(self.users.iter().map(|u| &u.entity))
            .collect()
    }
}
