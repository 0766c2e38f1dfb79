//! Catalog trees written to temp dirs, loaded, and checked entity by entity
//! and problem by problem.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

/// 1-based line and column of the first `needle` in `text` (at `nth` match).
fn position(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .expect("needle in text")
        .0;
    crate::diag::line_column(text, offset)
}

fn problems(c: &Catalog) -> Vec<String> {
    c.problems.iter().map(|d| d.to_string()).collect()
}

fn names(components: &[Component]) -> Vec<&str> {
    components.iter().map(|c| c.entity.name.as_str()).collect()
}

fn group_ref(name: &str) -> EntityRef {
    EntityRef::new("group", "default", name)
}

fn component(kind_name: &str, owner: &str, annotation: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {kind_name}\n  annotations:\n    {annotation}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

const TEAM_A: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n";

const MULTI: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
  annotations:
    github.com/team-slug: acme/team-a
spec:
  type: team
  profile:
    displayName: Team A
    email: team-a@acme.test
  children: []
  members: [jdoe]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jdoe
  annotations:
    github.com/user-login: jdoe-gh
spec:
  profile:
    displayName: Jane Doe
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: artists
  title: Artists
  tags: [java, tier-1]
  annotations:
    github.com/project-slug: acme/artists
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: music
---
apiVersion: backstage.io/v1beta1
kind: Component
metadata:
  name: billing
  annotations:
    backstage.io/source-location: url:https://github.com/acme/billing/tree/main/
spec:
  type: website
  lifecycle: experimental
  owner: group:default/team-a
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: music
spec:
  owner: team-a
";

#[test]
fn multi_document_file_loads_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "catalog-info.yaml", MULTI);
    let c = Catalog::load(&path).unwrap();
    assert!(c.problems.is_empty(), "{:?}", problems(&c));
    assert_eq!(c.files, vec![path.clone()]);

    let group = c.group(&group_ref("team-a")).expect("group team-a");
    assert_eq!(group.display_name.as_deref(), Some("Team A"));
    assert_eq!(group.email.as_deref(), Some("team-a@acme.test"));
    assert_eq!(group.team_slug.as_deref(), Some("acme/team-a"));
    assert_eq!(
        group.members,
        vec![EntityRef::new("user", "default", "jdoe")]
    );

    let user = c
        .user(&EntityRef::new("user", "default", "jdoe"))
        .expect("user jdoe");
    assert_eq!(user.github_login.as_deref(), Some("jdoe-gh"));
    assert_eq!(user.member_of, vec![group_ref("team-a")]);

    assert_eq!(names(&c.components), ["artists", "billing"]);
    let artists = &c.components[0];
    assert_eq!(artists.title.as_deref(), Some("Artists"));
    assert_eq!(artists.tags, ["java", "tier-1"]);
    assert_eq!(
        artists.system,
        Some(EntityRef::new("system", "default", "music"))
    );
    let repo = artists.repository.as_ref().unwrap();
    assert_eq!(
        (repo.url.as_str(), repo.name.as_str()),
        ("https://github.com/acme/artists.git", "acme/artists")
    );

    let billing = c
        .component(&EntityRef::new("component", "default", "billing"))
        .unwrap();
    assert_eq!(billing.spec_type, "website");
    let repo = billing.repository.as_ref().unwrap();
    assert_eq!(
        (repo.url.as_str(), repo.name.as_str()),
        ("https://github.com/acme/billing.git", "acme/billing")
    );
    let (line, _) = position(MULTI, "kind: Component", 1);
    assert_eq!(
        (billing.origin.path.as_path(), billing.origin.line),
        (path.as_path(), line)
    );

    assert_eq!(c.others, vec![EntityRef::new("system", "default", "music")]);
}

#[test]
fn owner_references_resolve_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{TEAM_A}---\n{}---\n{}---\n{}",
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: jdoe\nspec:\n  memberOf: [team-a]\n",
        component("a", "team-a", "github.com/project-slug: acme/a"),
        component(
            "b",
            "group:default/team-a",
            "github.com/project-slug: acme/b"
        ),
    );
    let text = format!(
        "{text}---\n{}",
        component("c", "user:jdoe", "github.com/project-slug: acme/c")
    );
    let c = Catalog::load(&write(dir.path(), "c.yaml", &text)).unwrap();
    assert!(c.problems.is_empty(), "{:?}", problems(&c));
    assert_eq!(c.components[0].owner, group_ref("team-a"));
    assert_eq!(c.components[1].owner, c.components[0].owner);
    assert_eq!(
        c.components[2].owner,
        EntityRef::new("user", "default", "jdoe")
    );
    assert_eq!(c.components[2].owner.to_string(), "user:default/jdoe");
}

#[test]
fn locations_are_followed_relative_to_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = write(
        dir.path(),
        "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: root\nspec:\n  targets:\n    - ./teams/teams.yaml\n    - ./services\n",
    );
    write(
        dir.path(),
        "teams/teams.yaml",
        &format!(
            "{TEAM_A}---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: more\nspec:\n  target: ../deep/er/x.yaml\n"
        ),
    );
    write(
        dir.path(),
        "deep/er/x.yaml",
        &component("x", "team-a", "github.com/project-slug: acme/x"),
    );
    write(
        dir.path(),
        "services/b/s2.yml",
        &component("s2", "team-a", "github.com/project-slug: acme/s2"),
    );
    write(
        dir.path(),
        "services/a/s1.yaml",
        &component("s1", "team-a", "github.com/project-slug: acme/s1"),
    );
    write(
        dir.path(),
        "services/.hidden/h.yaml",
        &component("h", "team-a", "github.com/project-slug: acme/h"),
    );
    let c = Catalog::load(&root).unwrap();
    assert!(c.problems.is_empty(), "{:?}", problems(&c));
    assert_eq!(names(&c.components), ["x", "s1", "s2"]);
    let files: Vec<_> = c
        .files
        .iter()
        .map(|f| f.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    let expected = [
        "all.yaml",
        "teams/teams.yaml",
        "deep/er/x.yaml",
        "services/a/s1.yaml",
        "services/b/s2.yml",
    ];
    assert_eq!(files, expected.map(PathBuf::from));
    assert!(
        c.others
            .contains(&EntityRef::new("location", "default", "more"))
    );
}

#[test]
fn location_cycle_is_one_problem_and_files_load_once() {
    let dir = tempfile::tempdir().unwrap();
    let location = |name: &str, target: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n  target: {target}\n"
        )
    };
    let a = write(
        dir.path(),
        "a.yaml",
        &format!(
            "{}---\n{TEAM_A}---\n{}",
            location("to-b", "./b.yaml"),
            component("ca", "team-a", "github.com/project-slug: o/ca")
        ),
    );
    let b_text = format!(
        "{}---\n{}",
        component("cb", "team-a", "github.com/project-slug: o/cb"),
        location("to-a", "./a.yaml")
    );
    let b = write(dir.path(), "b.yaml", &b_text);

    for start in [a.clone(), dir.path().to_path_buf()] {
        let c = Catalog::load(&start).unwrap();
        assert_eq!(c.problems.len(), 1, "{:?}", problems(&c));
        let cycle = &c.problems[0];
        let chain = format!("{} → {} → {}", a.display(), b.display(), a.display());
        assert!(cycle.message.contains(&chain), "{}", cycle.message);
        assert_eq!(cycle.path, b);
        assert_eq!((cycle.line, cycle.column), position(&b_text, "./a.yaml", 0));
        assert_eq!(names(&c.components), ["cb", "ca"]);
        assert_eq!(c.files, vec![a.clone(), b.clone()]);
    }
}

#[test]
fn broken_yaml_in_one_document_spares_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "apiVersion: backstage.io/v1alpha1\nkind: Component\n  bad: indent\n";
    let text = format!(
        "{}---\n{broken}---\n{}",
        component("first", "team-a", "github.com/project-slug: o/first"),
        component("third", "team-a", "github.com/project-slug: o/third")
    );
    let text = format!("{TEAM_A}---\n{text}");
    let path = write(dir.path(), "c.yaml", &text);
    let c = Catalog::load(&path).unwrap();
    assert_eq!(c.problems.len(), 1, "{:?}", problems(&c));
    let (line, column) = position(&text, "  bad: indent", 0);
    let d = &c.problems[0];
    assert_eq!((d.line, d.column), (line, column + "  bad".len()), "{d}");
    assert_eq!(names(&c.components), ["first", "third"]);
}

#[test]
fn missing_owner_names_the_field_in_the_right_document() {
    let dir = tempfile::tempdir().unwrap();
    let no_owner = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: artists\nspec:\n  type: service\n  lifecycle: production\n";
    let text = format!(
        "{TEAM_A}---\n{}---\n{no_owner}",
        component("ok", "team-a", "github.com/project-slug: o/ok")
    );
    let c = Catalog::load(&write(dir.path(), "c.yaml", &text)).unwrap();
    assert_eq!(c.problems.len(), 1, "{:?}", problems(&c));
    let d = &c.problems[0];
    assert_eq!(d.message, "Component `artists`: spec.owner is required");
    assert!(
        d.help.as_deref().unwrap_or("").contains("owner:"),
        "{:?}",
        d.help
    );
    // Inside the third document's spec.
    assert_eq!(d.line, position(&text, "  type: service", 1).0);
    assert_eq!(names(&c.components), ["ok"]);
}

#[test]
fn wrong_type_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let text = component("artists", "[a, b]", "github.com/project-slug: o/a");
    let c = Catalog::load(&write(dir.path(), "c.yaml", &text)).unwrap();
    assert_eq!(c.problems.len(), 1, "{:?}", problems(&c));
    let d = &c.problems[0];
    assert!(
        d.message.starts_with("Component `artists`: spec.owner: "),
        "{}",
        d.message
    );
    assert_eq!((d.line, d.column), position(&text, "[a, b]", 0));
}

#[test]
fn unknown_owner_points_at_the_owner_value() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{TEAM_A}---\n{}",
        component("artists", "team-x", "github.com/project-slug: o/a")
    );
    let c = Catalog::load(&write(dir.path(), "c.yaml", &text)).unwrap();
    assert_eq!(c.problems.len(), 1, "{:?}", problems(&c));
    let d = &c.problems[0];
    assert_eq!(
        d.message,
        "Component `artists`: unknown owner `group:default/team-x` (not a Group or User in the catalog)"
    );
    assert_eq!((d.line, d.column), position(&text, "team-x", 0));
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("group:default/team-a"),
        "{:?}",
        d.help
    );
    assert_eq!(c.components[0].owner, group_ref("team-x"));
}

#[test]
fn relative_local_repository_resolves_against_the_catalog_file() {
    let dir = tempfile::tempdir().unwrap();
    let both = "backstage.io/source-location: url:../remotes/billing-api.git\n    github.com/project-slug: acme/billing-api";
    let text = format!(
        "{TEAM_A}---\n{}---\n{}",
        component("billing", "team-a", both),
        component(
            "gl",
            "team-a",
            "backstage.io/source-location: url:https://gitlab.example.com/g/sub/repo/-/tree/main/"
        )
    );
    write(dir.path(), "catalog/services.yaml", &text);
    let c = Catalog::load(dir.path()).unwrap();
    assert!(c.problems.is_empty(), "{:?}", problems(&c));
    let repo = c.components[0].repository.as_ref().unwrap();
    assert_eq!(
        repo.url,
        dir.path().join("remotes/billing-api.git").to_string_lossy()
    );
    assert_eq!(repo.name, "billing-api");
    let repo = c.components[1].repository.as_ref().unwrap();
    assert_eq!(repo.url, "https://gitlab.example.com/g/sub/repo.git");
    assert_eq!(repo.name, "sub/repo");
}

#[test]
fn component_without_repository_is_kept_with_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{TEAM_A}---\n{}",
        component("a", "team-a", "backstage.io/techdocs-ref: dir:.")
    );
    let c = Catalog::load(&write(dir.path(), "c.yaml", &text)).unwrap();
    assert_eq!(c.problems.len(), 1, "{:?}", problems(&c));
    assert!(
        c.problems[0]
            .message
            .starts_with("Component `a`: no repository"),
        "{}",
        c.problems[0].message
    );
    assert!(
        c.problems[0]
            .help
            .as_deref()
            .unwrap_or("")
            .contains("github.com/project-slug")
    );
    assert!(c.components[0].repository.is_none());
}

#[test]
fn duplicates_keep_the_first_and_problems_come_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = format!(
        "{TEAM_A}---\n{}",
        component("dup", "team-a", "github.com/project-slug: o/first")
    );
    write(dir.path(), "1.yaml", &first);
    let second = format!(
        "{}---\n{}",
        component("dup", "team-a", "github.com/project-slug: o/second"),
        component("lost", "nobody", "github.com/project-slug: o/lost")
    );
    let second_path = write(dir.path(), "2.yaml", &second);
    let c = Catalog::load(dir.path()).unwrap();
    assert_eq!(c.components.len(), 2);
    assert_eq!(c.components[0].repository.as_ref().unwrap().name, "o/first");
    let found = problems(&c);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (c.problems[0].path.as_path(), c.problems[0].line),
        (second_path.as_path(), position(&second, "dup", 0).0)
    );
    assert!(
        found[0].contains("duplicate entity `component:default/dup`"),
        "{found:?}"
    );
    assert!(
        found[1].contains("unknown owner `group:default/nobody`"),
        "{found:?}"
    );
}

#[test]
fn bad_targets_and_foreign_documents_are_problems_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: remote
spec:
  targets:
    - https://github.com/acme/catalog/blob/main/all.yaml
    - ./missing.yaml
    - ./*.yml
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
# only a comment
---
kind: Group
spec: {}
";
    let c = Catalog::load(&write(dir.path(), "c.yaml", text)).unwrap();
    let found = problems(&c);
    assert_eq!(found.len(), 5, "{found:?}");
    let at = |i: usize| (c.problems[i].line, c.problems[i].column);
    assert!(
        found[0].contains("remote Location targets are not supported"),
        "{found:?}"
    );
    assert_eq!(at(0), position(text, "https://", 0));
    assert!(
        found[1].contains("target `./missing.yaml` cannot be read"),
        "{found:?}"
    );
    assert_eq!(at(1), position(text, "./missing.yaml", 0));
    assert!(found[2].contains("matches no yaml file"), "{found:?}");
    assert!(
        found[3].contains("apiVersion `apps/v1` is not a Backstage apiVersion"),
        "{found:?}"
    );
    assert_eq!(at(3), position(text, "apps/v1", 0));
    assert!(
        found[4].contains("Group: metadata.name is required"),
        "{found:?}"
    );
    assert!(
        c.others
            .contains(&EntityRef::new("location", "default", "remote"))
    );
}

#[test]
fn glob_targets_load_matching_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = write(
        dir.path(),
        "all.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets: [./*.yaml, ./svc/**/catalog-info.yaml]\n",
    );
    write(dir.path(), "teams.yaml", TEAM_A);
    write(
        dir.path(),
        "svc/a/catalog-info.yaml",
        &component("a", "team-a", "github.com/project-slug: o/a"),
    );
    write(
        dir.path(),
        "svc/b/other.yaml",
        &component("b", "team-a", "github.com/project-slug: o/b"),
    );
    let c = Catalog::load(&root).unwrap();
    assert!(c.problems.is_empty(), "{:?}", problems(&c));
    assert_eq!(names(&c.components), ["a"]);
    assert_eq!(c.groups.len(), 1);
}

#[test]
fn unreadable_root_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let err = Catalog::load(&missing).unwrap_err();
    assert!(err.to_string().contains("nope.yaml"), "{err}");
}

/// A file of `n` components whose owners are not in the catalog, plus one
/// broken document: `n + 1` problems.
fn many_unknown_owners(n: usize) -> String {
    let mut docs: Vec<String> = (0..n)
        .map(|i| {
            component(
                &format!("svc-{i}"),
                &format!("gone-{}", i % 3),
                &format!("github.com/project-slug: acme/svc-{i}"),
            )
        })
        .collect();
    docs.push("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {}\n".into());
    docs.join("---\n")
}

#[test]
fn every_problem_of_a_file_shares_the_one_copy_of_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "catalog/a.yaml", &many_unknown_owners(200));
    write(dir.path(), "catalog/b.yaml", &many_unknown_owners(5));
    let c = Catalog::load(a.parent().unwrap()).unwrap();
    assert_eq!(c.problems.len(), 207, "{:?}", problems(&c));
    // One copy of each file's text, however many problems point into it.
    let mut copies: Vec<&std::sync::Arc<str>> = Vec::new();
    for p in &c.problems {
        if !copies
            .iter()
            .any(|s| std::sync::Arc::ptr_eq(s, p.source_text()))
        {
            copies.push(p.source_text());
        }
    }
    assert_eq!(copies.len(), 2, "one shared source per file");
    // ... and its places are still right.
    let text = fs::read_to_string(&a).unwrap();
    let last = c
        .problems
        .iter()
        .rfind(|p| p.path.ends_with("a.yaml") && p.kind == ProblemKind::UnknownOwner)
        .unwrap();
    let (line, column) = position(&text, "owner: gone-", 199);
    assert_eq!((last.line, last.column), (line, column + "owner: ".len()));
}

#[test]
fn problems_group_by_kind_with_their_most_frequent_subjects() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.yaml", &many_unknown_owners(7));
    let c = Catalog::load(&a).unwrap();
    let groups = group_problems(&c.problems);
    let kinds: Vec<(ProblemKind, usize)> = groups.iter().map(|g| (g.kind, g.count)).collect();
    assert_eq!(
        kinds,
        [
            (ProblemKind::InvalidEntity, 1),
            (ProblemKind::UnknownOwner, 7)
        ]
    );
    let subjects: Vec<(&str, usize)> = groups[1]
        .subjects
        .iter()
        .map(|s| (s.subject.as_str(), s.count))
        .collect();
    assert_eq!(
        subjects,
        [
            ("group:default/gone-0", 3),
            ("group:default/gone-1", 2),
            ("group:default/gone-2", 2)
        ]
    );
    assert_eq!(
        groups[1].kind.describe(7),
        "7 components name owners that are not in the catalog"
    );
}
