//! Who reviews a pull request: the owner the catalog names (a Group's
//! `github.com/team-slug` is a team reviewer, a User's `github.com/user-login`
//! a reviewer), else the repository's CODEOWNERS for the changed paths.
//!
//! Only reads: the catalog and a checkout's CODEOWNERS file.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use crate::catalog::{Catalog, EntityRef};

/// Reviewers to request on a pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reviewers {
    /// GitHub logins.
    pub users: Vec<String>,
    /// Team slugs (the part after `org/`).
    pub teams: Vec<String>,
    /// The GitHub logins of the people the catalog names as the owner (a
    /// User, or a Group's members, whether or not the Group has a team):
    /// whom a pull request is assigned to. Empty from CODEOWNERS.
    pub members: Vec<String>,
    /// Where they come from: `catalog`, `CODEOWNERS`, or empty when nobody.
    pub source: &'static str,
}

impl Reviewers {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.teams.is_empty()
    }
}

/// The owners CODEOWNERS (at the root, in `.github/`, `.gitlab/` or
/// `docs/`) names for `changed` paths of the checkout at `root`. GitLab's
/// sections (`[Section]`, `^[Optional]`, `[Section][2]`, with default
/// owners after the header) are read: in each section the last matching
/// rule wins, and the owners of every section are asked (GitHub's files
/// have no sections: one section, GitHub's rule).
pub fn from_codeowners(root: &Path, changed: &[String]) -> Reviewers {
    let Some(text) = [
        "CODEOWNERS",
        ".github/CODEOWNERS",
        ".gitlab/CODEOWNERS",
        "docs/CODEOWNERS",
    ]
    .iter()
    .find_map(|name| read_inside(root, name)) else {
        return Reviewers::default();
    };
    let mut found = Reviewers {
        source: "CODEOWNERS",
        ..Reviewers::default()
    };
    let rules = parse_codeowners(&text);
    let sections = rules.iter().map(|r| r.section).max().map_or(0, |s| s + 1);
    for path in changed {
        for section in 0..sections {
            // The last matching rule of each section wins.
            let Some(rule) = rules
                .iter()
                .rev()
                .find(|r| r.section == section && r.matcher.is_match(path))
            else {
                continue;
            };
            for owner in &rule.owners {
                add_owner(&mut found, owner);
            }
        }
    }
    if found.is_empty() {
        Reviewers::default()
    } else {
        found
    }
}

/// The catalog's owner as reviewers: a Group with a team slug, or a User
/// with a login (a Group without a slug gives its members with logins).
pub fn of_owner(catalog: &Catalog, owner: &str) -> Reviewers {
    let Ok(owner) = EntityRef::parse(owner, "group", "default") else {
        return Reviewers::default();
    };
    let mut found = Reviewers {
        source: "catalog",
        ..Reviewers::default()
    };
    if let Some(group) = catalog.groups.iter().find(|g| g.entity == owner) {
        found.members = group
            .members
            .iter()
            .filter_map(|member| login_of(catalog, member))
            .collect();
        match &group.team_slug {
            Some(slug) => found.teams.push(team_of(slug)),
            None => found.users = found.members.clone(),
        }
    } else if let Some(login) = login_of(catalog, &owner) {
        found.users.push(login.clone());
        found.members.push(login);
    }
    found
}

fn login_of(catalog: &Catalog, user: &EntityRef) -> Option<String> {
    catalog
        .users
        .iter()
        .find(|u| &u.entity == user)
        .and_then(|u| u.github_login.clone())
}

/// `org/team` → `team` (GitHub's API takes the slug alone).
fn team_of(slug: &str) -> String {
    slug.rsplit('/').next().unwrap_or(slug).to_string()
}

/// `@org/team` → a team, `@login` → a user; e-mail owners are skipped.
fn add_owner(found: &mut Reviewers, owner: &str) {
    let Some(name) = owner.strip_prefix('@') else {
        return;
    };
    let list = if name.contains('/') {
        &mut found.teams
    } else {
        &mut found.users
    };
    let name = team_of(name);
    if !list.contains(&name) {
        list.push(name);
    }
}

/// A file inside `root`, not through a symlink.
fn read_inside(root: &Path, rel: &str) -> Option<String> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.file_type().is_file() || meta.len() > 1024 * 1024 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

struct Rule {
    matcher: GlobMatcher,
    owners: Vec<String>,
    /// The GitLab section the rule is in (0 before any section header).
    section: usize,
}

/// A GitLab section header, `[Name]`, `^[Name]` or `[Name][2]`, then its
/// default owners; `None` for any other line.
fn section_header(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix('^').unwrap_or(line).strip_prefix('[')?;
    let (_name, rest) = rest.split_once(']')?;
    let rest = match rest.strip_prefix('[') {
        Some(count) => count.split_once(']')?.1,
        None => rest,
    };
    // `[abc]*.py @x` is a pattern with a character class, not a header.
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// CODEOWNERS lines: a gitignore-style pattern, then owners; GitLab's
/// section headers start a section whose default owners go to its rules
/// that name none.
fn parse_codeowners(text: &str) -> Vec<Rule> {
    let mut section = 0;
    let mut defaults: Vec<String> = Vec::new();
    let mut rules = Vec::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(owners) = section_header(line) {
            section += 1;
            defaults = owners;
            continue;
        }
        let mut parts = line.split_whitespace();
        let Some(pattern) = parts.next() else {
            continue;
        };
        let mut owners: Vec<String> = parts.map(str::to_string).collect();
        if owners.is_empty() {
            owners = defaults.clone();
        }
        if let Some(matcher) = codeowners_glob(pattern) {
            rules.push(Rule {
                matcher,
                owners,
                section,
            });
        }
    }
    rules
}

/// A CODEOWNERS pattern as a glob on repository-relative paths: anchored
/// when it starts with `/` or holds a `/` inside, else matching at any
/// depth; a trailing `/` (or a folder) covers everything below.
fn codeowners_glob(pattern: &str) -> Option<GlobMatcher> {
    let anchored = pattern.starts_with('/') || pattern.trim_end_matches('/').contains('/');
    let body = pattern.trim_start_matches('/');
    let mut glob = if anchored {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    if glob.ends_with('/') {
        glob.push_str("**");
    } else if !glob.ends_with("**") {
        // `docs` also owns everything under a folder named docs.
        glob = format!("{{{glob},{glob}/**}}");
    }
    GlobBuilder::new(&glob)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners_of(codeowners: &str, changed: &[&str]) -> Reviewers {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".github")).unwrap();
        std::fs::write(dir.path().join(".github/CODEOWNERS"), codeowners).unwrap();
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        from_codeowners(dir.path(), &changed)
    }

    #[test]
    fn codeowners_last_match_wins_and_teams_lose_their_org() {
        let file = "# owners\n*            @acme/platform\n/src/billing/ @acme/billing @alice\n*.md         docs@acme.com\n";
        let found = owners_of(file, &["src/billing/app.py"]);
        assert_eq!(found.teams, ["billing"]);
        assert_eq!(found.users, ["alice"]);
        assert_eq!(found.source, "CODEOWNERS");
        let found = owners_of(file, &["lib/x.py"]);
        assert_eq!(found.teams, ["platform"]);
        // An e-mail owner is no reviewer: nobody.
        assert!(owners_of(file, &["README.md"]).is_empty());
    }

    #[test]
    fn gitlab_sections_each_give_their_owners_with_defaults() {
        let file = "* @everyone\n\n[Backend] @backend-lead\napp/\napp/billing/ @acme/billing\n\n^[Docs][2] @writer\n*.md\n";
        let found = owners_of(file, &["app/billing/x.py"]);
        assert_eq!(found.users, ["everyone"]);
        assert_eq!(found.teams, ["billing"]);
        let found = owners_of(file, &["app/README.md"]);
        assert_eq!(found.users, ["everyone", "backend-lead", "writer"]);
        assert!(section_header("[Backend]").is_some());
        assert!(section_header("^[Docs][2] @w").is_some_and(|o| o == ["@w"]));
        assert!(section_header("/app/ @x").is_none());
        assert!(section_header("[abc]*.py @x").is_none());
    }

    #[test]
    fn unanchored_names_match_at_any_depth() {
        let found = owners_of("docs @writer\n", &["a/docs/x.md"]);
        assert_eq!(found.users, ["writer"]);
        assert!(owners_of("/docs @writer\n", &["a/docs/x.md"]).is_empty());
    }

    #[test]
    fn no_codeowners_and_no_catalog_owner_is_nobody() {
        let dir = tempfile::tempdir().unwrap();
        assert!(of_owner(&Catalog::default(), "team-a").is_empty());
        let found = from_codeowners(dir.path(), &["a.py".into()]);
        assert!(found.is_empty());
        assert_eq!(found.source, "");
    }
}
