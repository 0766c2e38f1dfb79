//! The live Backstage catalog: which entities a campaign reads from a
//! Backstage instance (`catalog: {backstage: {url, token_env, filter}}`),
//! the client that reads them, and the snapshot a launched campaign works
//! from.
//!
//! A campaign reads the components its `filter` selects, and every Group
//! and User (the owners and the people behind them), through
//! `GET {url}/api/catalog/entities/by-query` with cursor paging, asking
//! only for the fields [`crate::catalog`] reads ([`FIELDS`]). Each entity is
//! kept as one line of compact JSON: that list is the [`Snapshot`], which
//! the state records when the campaign is launched, and which becomes a
//! [`Catalog`] through [`Catalog::from_entities`], the same checks as a
//! catalog file's entities.
//!
//! Invariants: the token comes from the environment variable the campaign
//! names, at run time; it is sent only to the campaign's Backstage origin
//! (https, or plain http on this machine's loopback) and never put in a
//! URL, an error, a log, the snapshot or the state. This module never
//! prints and never touches the state (the command layer records the
//! snapshot).

mod client;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::escape::terminal;

pub use client::{BackstageError, Client, DEFAULT_PAGE_SIZE, Page, token};

/// The path of the query endpoint below a Backstage base URL.
pub const QUERY_PATH: &str = "/api/catalog/entities/by-query";

/// The only parts of an entity fleetwright reads (`fields=`): a smaller
/// answer, and nothing kept that the campaign does not use.
pub const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "metadata.title",
    "metadata.description",
    "metadata.annotations",
    "metadata.tags",
    "spec.type",
    "spec.lifecycle",
    "spec.owner",
    "spec.system",
    "spec.parent",
    "spec.children",
    "spec.members",
    "spec.memberOf",
    "spec.profile",
];

/// The variable a campaign's Backstage token is read from by default.
pub const DEFAULT_TOKEN_ENV: &str = "BACKSTAGE_TOKEN";

/// A live Backstage catalog, as a campaign names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackstageSource {
    /// The Backstage base URL, without a trailing `/` (`https://backstage.example.com`).
    pub url: String,
    /// The environment variable holding the token.
    pub token_env: String,
    /// Which components the campaign reads: every condition must hold
    /// (`kind` is always `component`).
    pub filter: Vec<Condition>,
}

/// One condition of a filter: the entity's value at `key` is one of
/// `values` (compared case-insensitively, as Backstage does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// A dotted path: `spec.lifecycle`, `metadata.annotations.backstage.io/techdocs-ref`.
    pub key: String,
    pub values: Vec<String>,
}

impl BackstageSource {
    /// The filter sets of the first request: the components the campaign
    /// selects, every Group, every User. (Backstage ORs filter sets and
    /// ANDs the conditions of one; a key repeated in one set matches any
    /// of its values.)
    pub fn filter_sets(&self) -> Vec<String> {
        let mut components = vec!["kind=component".to_string()];
        for c in &self.filter {
            for v in &c.values {
                components.push(format!("{}={v}", c.key));
            }
        }
        vec![
            components.join(","),
            "kind=group".to_string(),
            "kind=user".to_string(),
        ]
    }

    /// The query URL, for messages (never carries the token).
    pub fn query_url(&self) -> String {
        format!("{}{QUERY_PATH}", self.url)
    }
}

impl fmt::Display for BackstageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// What was read from a live catalog: one compact JSON entity per item
/// (cut to [`FIELDS`]), in the order Backstage gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The Backstage base URL read.
    pub source: String,
    pub entities: Vec<String>,
}

impl Snapshot {
    /// The entities as the state stores them: one JSON object a line.
    pub fn to_lines(&self) -> String {
        self.entities.join("\n")
    }

    /// The snapshot the state stored with [`Snapshot::to_lines`].
    pub fn from_lines(source: &str, lines: &str) -> Snapshot {
        Snapshot {
            source: source.to_string(),
            entities: lines
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// The catalog these entities make, checked as catalog files are.
    /// Each entity is pretty-printed one at a time (so a problem's snippet
    /// shows it on several lines) and labelled by its reference and where
    /// it was defined.
    ///
    /// A snapshot of descriptors read from repositories
    /// ([`Snapshot::of_descriptors`]) holds one [`crate::descriptors::Descriptor`]
    /// a line instead, and makes the catalog they do.
    pub fn catalog(&self) -> Catalog {
        if self.holds_descriptors() {
            let lines = self.entities.iter().map(String::as_str);
            return crate::descriptors::catalog(&crate::descriptors::from_lines(lines));
        }
        Catalog::from_entities(self.entities.iter().map(|e| entity_text(e)))
    }

    /// The snapshot of descriptors read from repositories (`source` is
    /// [`crate::descriptors::InRepositories::source`]).
    pub fn of_descriptors(
        source: String,
        descriptors: &[crate::descriptors::Descriptor],
    ) -> Snapshot {
        Snapshot {
            source,
            entities: crate::descriptors::to_lines(descriptors),
        }
    }

    /// Whether it holds descriptors read from repositories rather than
    /// Backstage entities.
    pub fn holds_descriptors(&self) -> bool {
        self.source.starts_with(crate::descriptors::SOURCE_PREFIX)
    }
}

/// `(label, pretty JSON)` of one compact JSON entity.
fn entity_text(compact: &str) -> (String, String) {
    match serde_json::from_str::<Value>(compact) {
        Ok(value) => (
            label(&value),
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| compact.to_string()),
        ),
        Err(_) => ("entity (not JSON)".to_string(), compact.to_string()),
    }
}

/// How a problem names an entity read from Backstage: `entity
/// component:default/x (from url:https://…/catalog-info.yaml)`, from its
/// `backstage.io/managed-by-location` (the file that defines it), else its
/// `backstage.io/source-location`.
pub fn label(entity: &Value) -> String {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).map(str::trim)
    }
    let kind = text(entity.get("kind")).unwrap_or("?").to_ascii_lowercase();
    let metadata = entity.get("metadata");
    let name = text(metadata.and_then(|m| m.get("name"))).unwrap_or("?");
    let namespace = text(metadata.and_then(|m| m.get("namespace"))).unwrap_or("default");
    let annotations = metadata.and_then(|m| m.get("annotations"));
    let annotation = |key: &str| text(annotations.and_then(|a| a.get(key)));
    let from = match (
        annotation("backstage.io/managed-by-location"),
        annotation("backstage.io/source-location"),
    ) {
        (Some(file), _) => format!(" (from {})", crate::urls::redact(file)),
        (None, Some(source)) => {
            format!(
                " (from its source location {})",
                crate::urls::redact(source)
            )
        }
        (None, None) => String::new(),
    };
    terminal(&format!("entity {kind}:{namespace}/{name}{from}")).into_owned()
}
