//! A catalog's problems by kind: at 10,000 components a person reads
//! "212 components name owners that are not in the catalog" with the most
//! frequent owners, not 212 snippets; `fleetwright catalog check` lists
//! them all.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use crate::diag::FileDiagnostic;

/// What kind of problem it is, and so what it does to the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A file or folder could not be read: its entities are missing.
    UnreadableFile,
    /// A document is not a valid entity (YAML, required fields, names,
    /// references): the entity is left out.
    InvalidEntity,
    /// A name, reference or annotation holds a control character: the
    /// entity is left out.
    ControlCharacter,
    /// An entity defined a second time: the first definition is kept.
    DuplicateEntity,
    /// A `Location` target that cannot be followed.
    Location,
    /// A component's owner is not a Group or User of the catalog: it is
    /// kept, and its pull request has no reviewer from the catalog.
    UnknownOwner,
    /// A component has no repository annotation: it cannot be targeted.
    NoRepository,
    /// A component's repository annotation cannot be read: it cannot be
    /// targeted.
    InvalidRepository,
}

impl ProblemKind {
    /// What `count` problems of this kind are, as a sentence after the count
    /// ("212 components name owners that are not in the catalog").
    pub fn describe(self, count: usize) -> String {
        let one = count == 1;
        let (singular, plural) = match self {
            ProblemKind::UnreadableFile => (
                "file or folder cannot be read (its entities are missing)",
                "files or folders cannot be read (their entities are missing)",
            ),
            ProblemKind::InvalidEntity => (
                "entity is not valid and is left out",
                "entities are not valid and are left out",
            ),
            ProblemKind::ControlCharacter => (
                "entity holds a control character and is left out",
                "entities hold control characters and are left out",
            ),
            ProblemKind::DuplicateEntity => (
                "entity is defined twice (the first definition is kept)",
                "entities are defined twice (the first definitions are kept)",
            ),
            ProblemKind::Location => (
                "Location target cannot be followed",
                "Location targets cannot be followed",
            ),
            ProblemKind::UnknownOwner => (
                "component names an owner that is not in the catalog",
                "components name owners that are not in the catalog",
            ),
            ProblemKind::NoRepository => (
                "component has no repository annotation (it cannot be targeted)",
                "components have no repository annotation (they cannot be targeted)",
            ),
            ProblemKind::InvalidRepository => (
                "component's repository annotation cannot be read (it cannot be targeted)",
                "components' repository annotations cannot be read (they cannot be targeted)",
            ),
        };
        format!("{count} {}", if one { singular } else { plural })
    }
}

/// One problem of a catalog: its kind, what it is about (for grouping: the
/// unknown owner, say) and the diagnostic at its place in the file.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: ProblemKind,
    /// What many problems may share, such as the owner that is not in the
    /// catalog; `None` when each stands alone.
    pub subject: Option<String>,
    pub diagnostic: FileDiagnostic,
}

impl Problem {
    pub fn new(kind: ProblemKind, diagnostic: FileDiagnostic) -> Problem {
        Problem {
            kind,
            subject: None,
            diagnostic,
        }
    }

    /// The problem, about `subject`.
    pub fn about(mut self, subject: String) -> Problem {
        self.subject = Some(subject);
        self
    }
}

impl Deref for Problem {
    type Target = FileDiagnostic;

    fn deref(&self) -> &FileDiagnostic {
        &self.diagnostic
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diagnostic.fmt(f)
    }
}

/// The problems of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemGroup<'a> {
    pub kind: ProblemKind,
    pub count: usize,
    /// The subjects with how many problems each, most frequent first (ties
    /// by name); empty when the kind has none.
    pub subjects: Vec<SubjectCount>,
    /// The problems, in catalog order.
    #[serde(skip)]
    pub problems: Vec<&'a Problem>,
}

/// How many problems of a kind are about one subject (an owner, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectCount {
    pub subject: String,
    pub count: usize,
}

/// `problems` by kind, in the order of [`ProblemKind`] (what leaves
/// entities out first).
pub fn group_problems(problems: &[Problem]) -> Vec<ProblemGroup<'_>> {
    let mut groups: Vec<ProblemGroup<'_>> = Vec::new();
    let mut index: HashMap<ProblemKind, usize> = HashMap::new();
    for p in problems {
        let i = *index.entry(p.kind).or_insert_with(|| {
            groups.push(ProblemGroup {
                kind: p.kind,
                count: 0,
                subjects: Vec::new(),
                problems: Vec::new(),
            });
            groups.len() - 1
        });
        groups[i].count += 1;
        groups[i].problems.push(p);
    }
    for g in &mut groups {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for p in &g.problems {
            if let Some(s) = &p.subject {
                *counts.entry(s).or_default() += 1;
            }
        }
        let mut subjects: Vec<SubjectCount> = counts
            .into_iter()
            .map(|(s, n)| SubjectCount {
                subject: s.to_string(),
                count: n,
            })
            .collect();
        subjects.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.subject.cmp(&b.subject))
        });
        g.subjects = subjects;
    }
    groups.sort_by_key(|g| g.kind);
    groups
}
