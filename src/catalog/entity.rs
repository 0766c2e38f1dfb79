//! The typed entities a catalog holds, and the references between them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::escape::{is_control, terminal};

/// A reference to an entity: `kind:namespace/name`, with the kind lowercase.
///
/// Kinds are compared case-insensitively (Backstage writes `Component`, refs
/// write `component`); namespace and name are kept as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl EntityRef {
    /// A reference from its three parts (the kind is lowercased).
    pub fn new(kind: &str, namespace: &str, name: &str) -> EntityRef {
        EntityRef {
            kind: kind.to_ascii_lowercase(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// Parse `[kind:][namespace/]name`, filling the parts left out with the
    /// field's defaults (an owner defaults to kind `group`, the namespace to
    /// the one of the entity that holds the field).
    pub fn parse(
        s: &str,
        default_kind: &str,
        default_namespace: &str,
    ) -> Result<EntityRef, String> {
        let s = s.trim();
        if let Some(c) = s.chars().find(|&c| is_control(c)) {
            return Err(format!(
                "`{}` holds a control character ({}), which no entity reference can hold",
                terminal(s),
                describe_control(c)
            ));
        }
        let (kind, rest) = s.split_once(':').unwrap_or((default_kind, s));
        let (namespace, name) = rest.split_once('/').unwrap_or((default_namespace, rest));
        if ![kind, namespace, name]
            .iter()
            .all(|part| is_valid_part(part))
        {
            return Err(format!(
                "`{s}` is not an entity reference (expected `[kind:][namespace/]name`, e.g. `group:default/team-a`)"
            ));
        }
        Ok(EntityRef::new(kind, namespace, name))
    }
}

/// True when `s` can be a kind, namespace or name: not empty, no `:`, `/`,
/// whitespace or control character.
pub(super) fn is_valid_part(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(|c: char| c == ':' || c == '/' || c.is_whitespace() || is_control(c))
}

/// A control character as a message names it: `` `\x1b` (U+001B) ``.
pub(super) fn describe_control(c: char) -> String {
    format!(
        "`{}` (U+{:04X})",
        terminal(c.encode_utf8(&mut [0; 4])),
        c as u32
    )
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

/// Where something is written: a file and a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// The git repository behind a component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repository {
    /// Something git can clone: `https://github.com/org/repo.git`, or an
    /// absolute filesystem path for local fleets.
    pub url: String,
    /// A short display name: `org/repo` (`group/sub/repo` keeps the last two
    /// segments, `sub/repo`), or the directory name of a local repository.
    pub name: String,
}

/// A `kind: Component`: the unit fleetwright migrates.
#[derive(Clone, Debug, Serialize)]
pub struct Component {
    pub entity: EntityRef,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `spec.type` (service, website, library...).
    pub spec_type: String,
    pub lifecycle: String,
    /// `spec.owner` resolved with its defaults (kind `group`), as written even
    /// when no such Group or User exists (a problem says so).
    pub owner: EntityRef,
    pub system: Option<EntityRef>,
    pub tags: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// `None` when no annotation names one (a problem says so).
    pub repository: Option<Repository>,
    /// Where the entity is written (its `kind:` value).
    pub origin: Origin,
}

/// A `kind: Group`: a team that can own components.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub entity: EntityRef,
    /// `spec.type` (team, business-unit...).
    pub spec_type: String,
    /// `spec.profile.displayName`.
    pub display_name: Option<String>,
    /// Annotation `github.com/team-slug`: the GitHub team, `org/team`.
    pub team_slug: Option<String>,
    pub parent: Option<EntityRef>,
    pub children: Vec<EntityRef>,
    pub members: Vec<EntityRef>,
    /// `spec.profile.email`.
    pub email: Option<String>,
    pub origin: Origin,
}

/// A `kind: User`: a person, member of groups.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub entity: EntityRef,
    /// `spec.profile.displayName`.
    pub display_name: Option<String>,
    /// `spec.profile.email`.
    pub email: Option<String>,
    /// Annotation `github.com/user-login`.
    pub github_login: Option<String>,
    pub member_of: Vec<EntityRef>,
    pub origin: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fills_defaults_and_lowercases_the_kind() {
        let full = EntityRef::parse("Group:default/team-a", "group", "default").unwrap();
        let short = EntityRef::parse("team-a", "group", "default").unwrap();
        assert_eq!(full, short);
        assert_eq!(short.to_string(), "group:default/team-a");
        let user = EntityRef::parse("user:jdoe", "group", "default").unwrap();
        assert_eq!(user.to_string(), "user:default/jdoe");
        let ns = EntityRef::parse("ops/team-b", "group", "default").unwrap();
        assert_eq!(ns.to_string(), "group:ops/team-b");
    }

    #[test]
    fn parse_rejects_malformed_references() {
        for bad in [
            "",
            "group:",
            ":x",
            "a/b/c",
            "a:b:c",
            "ns/",
            "group:ns/",
            "a b:c",
            "team\x1b[2J",
            "group:default/\u{202e}team",
            "ns\0/team",
        ] {
            assert!(
                EntityRef::parse(bad, "group", "default").is_err(),
                "{bad:?}"
            );
        }
    }
}
