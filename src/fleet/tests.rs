use std::collections::BTreeMap;
use std::path::Path;

use git2::Repository;
use serde_json::Value;

use super::*;

fn team(name: &str, members: &[&str]) -> TeamSpec {
    TeamSpec {
        name: name.to_string(),
        display_name: format!("The {name} people"),
        team_slug: format!("acme/{name}"),
        members: members
            .iter()
            .map(|m| (m.to_string(), format!("{m} Doe"), format!("{m}-gh")))
            .collect(),
    }
}

fn repo(name: &str, team: &str, branch: &str, files: &[(&str, &str)]) -> RepoSpec {
    RepoSpec {
        name: name.to_string(),
        team: team.to_string(),
        spec_type: "service".to_string(),
        lifecycle: "production".to_string(),
        system: None,
        tags: vec!["python".to_string()],
        default_branch: branch.to_string(),
        files: files
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect(),
    }
}

fn three_repo_spec() -> FleetSpec {
    let mut api = repo(
        "billing-api",
        "team-a",
        "main",
        &[
            ("app.py", "import logging\nlogging.warn('x')\n"),
            ("src/pkg/deep.py", "X = 1\n"),
        ],
    );
    api.system = Some("payments".to_string());
    api.lifecycle = "experimental".to_string();
    FleetSpec {
        teams: vec![
            team("team-a", &["alice", "bob"]),
            team("team-b", &["carol"]),
        ],
        repos: vec![
            api,
            repo(
                "search-indexer",
                "team-b",
                "main",
                &[
                    ("main.go", "package main\n"),
                    ("README.md", "# Custom readme\n"),
                ],
            ),
            repo("query-api", "team-a", "trunk", &[("go.mod", "module q\n")]),
        ],
    }
}

/// `path → content` of every file in the tree of `commit`.
fn tree_files(repo: &Repository, commit: git2::Oid) -> BTreeMap<String, String> {
    let tree = repo.find_commit(commit).unwrap().tree().unwrap();
    let mut files = BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            let blob = repo.find_blob(entry.id()).unwrap();
            let path = format!("{dir}{}", entry.name().unwrap());
            files.insert(path, String::from_utf8(blob.content().to_vec()).unwrap());
        }
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    files
}

/// Every YAML document of a catalog file, parsed.
fn catalog_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    crate::yaml::documents(&text)
        .iter()
        .filter(|d| !d.is_empty())
        .map(|d| serde_saphyr::from_str::<Value>(d.text).unwrap())
        .collect()
}

#[test]
fn build_writes_bare_repositories_with_the_given_files() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_repo_spec();
    let fleet = build(dir.path(), &spec).unwrap();

    assert_eq!(fleet.remotes_dir, dir.path().join("remotes"));
    assert_eq!(fleet.repos.len(), 3);
    for (built, wanted) in fleet.repos.iter().zip(&spec.repos) {
        assert_eq!(built.name, wanted.name);
        assert_eq!(
            built.bare_path,
            fleet.remotes_dir.join(format!("{}.git", wanted.name))
        );
        let git = Repository::open_bare(&built.bare_path).unwrap();
        assert!(git.is_bare());
        let head = git.find_reference("HEAD").unwrap();
        let branch_ref = format!("refs/heads/{}", wanted.default_branch);
        assert_eq!(head.symbolic_target().unwrap(), Some(branch_ref.as_str()));
        assert_eq!(git.refname_to_id(&branch_ref).unwrap(), built.head);
        // Exactly one branch, with exactly one commit.
        assert_eq!(git.references().unwrap().count(), 1);
        let commit = git.find_commit(built.head).unwrap();
        assert_eq!(commit.parent_count(), 0);
        assert_eq!(commit.author().name().unwrap(), git::AUTHOR_NAME);
        assert_eq!(commit.time().seconds(), git::COMMIT_TIME);

        let files = tree_files(&git, built.head);
        for (path, content) in &wanted.files {
            assert_eq!(files.get(path), Some(content), "{}: {path}", wanted.name);
        }
        assert!(
            files.contains_key("README.md"),
            "{} has a README",
            wanted.name
        );
        let extra = files.len() - wanted.files.len();
        let brought_readme = wanted.files.iter().any(|(p, _)| p == "README.md");
        assert_eq!(extra, usize::from(!brought_readme), "{}", wanted.name);
    }
    let git = Repository::open_bare(&fleet.repos[1].bare_path).unwrap();
    assert_eq!(
        tree_files(&git, fleet.repos[1].head)["README.md"],
        "# Custom readme\n"
    );
    let git = Repository::open_bare(&fleet.repos[2].bare_path).unwrap();
    assert_eq!(git.head().unwrap().shorthand().unwrap(), "trunk");
}

#[test]
fn build_writes_a_backstage_catalog_with_relative_source_locations() {
    let dir = tempfile::tempdir().unwrap();
    let spec = three_repo_spec();
    let fleet = build(dir.path(), &spec).unwrap();

    let all_text = std::fs::read_to_string(fleet.catalog_file()).unwrap();
    assert!(all_text.starts_with("# Generated by fleetwright's fleet builder"));
    let all = catalog_docs(&fleet.catalog_file());
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["apiVersion"], "backstage.io/v1alpha1");
    assert_eq!(all[0]["kind"], "Location");
    assert_eq!(
        all[0]["spec"]["targets"],
        serde_json::json!(["./team-a.yaml", "./team-b.yaml"])
    );

    let team_a_path = fleet.catalog_dir.join("team-a.yaml");
    let text = std::fs::read_to_string(&team_a_path).unwrap();
    assert!(text.starts_with("# Generated by fleetwright's fleet builder"));
    assert!(text.contains("backstage.io/source-location: url:../remotes/billing-api.git\n"));
    let docs = catalog_docs(&team_a_path);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Group", "User", "User", "Component", "Component"]);

    let group = &docs[0];
    assert_eq!(group["metadata"]["name"], "team-a");
    assert_eq!(
        group["metadata"]["annotations"]["github.com/team-slug"],
        "acme/team-a"
    );
    assert_eq!(group["spec"]["type"], "team");
    assert_eq!(group["spec"]["profile"]["displayName"], "The team-a people");
    assert_eq!(group["spec"]["children"], serde_json::json!([]));
    assert_eq!(
        group["spec"]["members"],
        serde_json::json!(["alice", "bob"])
    );

    let alice = &docs[1];
    assert_eq!(alice["metadata"]["name"], "alice");
    assert_eq!(
        alice["metadata"]["annotations"]["github.com/user-login"],
        "alice-gh"
    );
    assert_eq!(alice["spec"]["profile"]["displayName"], "alice Doe");
    assert_eq!(alice["spec"]["memberOf"], serde_json::json!(["team-a"]));

    let api = &docs[3];
    assert_eq!(api["metadata"]["name"], "billing-api");
    assert_eq!(api["metadata"]["tags"], serde_json::json!(["python"]));
    assert_eq!(api["spec"]["type"], "service");
    assert_eq!(api["spec"]["lifecycle"], "experimental");
    assert_eq!(api["spec"]["system"], "payments");
    // Both forms of owner reference appear, alternating within a team and
    // starting on the other form in the next team.
    assert_eq!(api["spec"]["owner"], "group:default/team-a");
    assert_eq!(docs[4]["metadata"]["name"], "query-api");
    assert_eq!(docs[4]["spec"]["owner"], "team-a");
    assert!(docs[4]["spec"].get("system").is_none());
    let team_b = catalog_docs(&fleet.catalog_dir.join("team-b.yaml"));
    assert_eq!(team_b[2]["spec"]["owner"], "team-b");

    // The source location, resolved against the catalog file, is the bare repo.
    for doc in docs
        .iter()
        .chain(&team_b)
        .filter(|d| d["kind"] == "Component")
    {
        let location = doc["metadata"]["annotations"]["backstage.io/source-location"]
            .as_str()
            .unwrap();
        let relative = location.strip_prefix("url:").unwrap();
        assert!(relative.starts_with("../remotes/"), "{location}");
        let resolved = fleet.catalog_dir.join(relative).canonicalize().unwrap();
        let name = doc["metadata"]["name"].as_str().unwrap();
        let built = fleet.repo(name).unwrap();
        assert_eq!(resolved, built.bare_path.canonicalize().unwrap());
    }
}

#[test]
fn a_user_in_two_teams_is_written_once_and_member_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let spec = FleetSpec {
        teams: vec![
            team("team-a", &["alice"]),
            team("team-b", &["alice", "bob"]),
        ],
        repos: vec![],
    };
    let fleet = build(dir.path(), &spec).unwrap();
    let a = catalog_docs(&fleet.catalog_dir.join("team-a.yaml"));
    let b = catalog_docs(&fleet.catalog_dir.join("team-b.yaml"));
    assert_eq!(
        a[1]["spec"]["memberOf"],
        serde_json::json!(["team-a", "team-b"])
    );
    let users_in_b: Vec<&Value> = b.iter().filter(|d| d["kind"] == "User").collect();
    assert_eq!(users_in_b.len(), 1);
    assert_eq!(users_in_b[0]["metadata"]["name"], "bob");
}

#[test]
fn the_same_spec_gives_the_same_commit_ids() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let first = build(one.path(), &three_repo_spec()).unwrap();
    let second = build(two.path(), &three_repo_spec()).unwrap();
    let heads = |f: &Fleet| f.repos.iter().map(|r| r.head).collect::<Vec<_>>();
    assert_eq!(heads(&first), heads(&second));
    // Different content, different commit: the ids depend on the files.
    let mut changed = three_repo_spec();
    changed.repos[0].files[1].1 = "X = 2\n".to_string();
    let three = tempfile::tempdir().unwrap();
    let third = build(three.path(), &changed).unwrap();
    assert_ne!(heads(&first)[0], heads(&third)[0]);
    assert_eq!(heads(&first)[1..], heads(&third)[1..]);
}

#[test]
fn an_invalid_spec_is_refused_before_anything_is_written() {
    type Breakage = Box<dyn Fn(&mut FleetSpec)>;
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "unknown team",
            Box::new(|s| s.repos[0].team = "team-z".into()),
        ),
        (
            "path escaping",
            Box::new(|s| s.repos[0].files[0].0 = "../evil.py".into()),
        ),
        (
            "absolute path",
            Box::new(|s| s.repos[0].files[0].0 = "/etc/evil".into()),
        ),
        (
            "into .git",
            Box::new(|s| s.repos[0].files[0].0 = ".git/config".into()),
        ),
        (
            "name with slash",
            Box::new(|s| s.repos[0].name = "a/b".into()),
        ),
        ("dotdot name", Box::new(|s| s.repos[0].name = "..".into())),
        (
            "duplicate repo",
            Box::new(|s| s.repos[1].name = "billing-api".into()),
        ),
        (
            "bad branch",
            Box::new(|s| s.repos[0].default_branch = "a..b".into()),
        ),
        (
            "file and directory",
            Box::new(|s| s.repos[0].files.push(("src".into(), "x".into()))),
        ),
    ];
    for (what, break_spec) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = three_repo_spec();
        break_spec(&mut spec);
        let err = build(dir.path(), &spec).unwrap_err();
        assert!(matches!(err, FleetError::InvalidSpec(_)), "{what}: {err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{what}");
    }
}

#[test]
fn build_refuses_to_write_over_existing_remotes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("remotes/keep.git")).unwrap();
    let err = build(dir.path(), &three_repo_spec()).unwrap_err();
    assert!(matches!(err, FleetError::NotEmpty { .. }), "{err}");
    assert!(!dir.path().join("catalog").exists());
    assert!(dir.path().join("remotes/keep.git").exists());
}

#[test]
fn build_demo_writes_the_sandbox_and_can_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("demo");
    let opts = DemoOptions::default();
    let first = build_demo(&sandbox, &opts).unwrap();
    assert_eq!(first.fleet.repos.len(), 24);
    assert_eq!(
        first.recipe,
        sandbox.join("migrations-recipes/modernize.yaml")
    );
    assert_eq!(first.campaign, sandbox.join("campaign.yaml"));
    assert_eq!(
        std::fs::read_to_string(&first.recipe).unwrap(),
        demo::RECIPE_YAML
    );
    assert_eq!(
        std::fs::read_to_string(&first.campaign).unwrap(),
        demo::CAMPAIGN_YAML
    );
    assert!(sandbox.join(DEMO_MARKER).is_file());
    assert!(sandbox.join("catalog/all.yaml").is_file());
    for team in demo_spec(&opts).teams {
        let text =
            std::fs::read_to_string(sandbox.join(format!("catalog/{}.yaml", team.name))).unwrap();
        assert!(
            text.contains("  owner: group:default/team-"),
            "{}",
            team.name
        );
        assert!(
            text.contains(&format!("  owner: {}\n", team.name)),
            "{}",
            team.name
        );
    }

    // Leftovers of a run (a stray file, an extra repo) are cleared.
    std::fs::write(sandbox.join("state.db"), "old").unwrap();
    std::fs::create_dir_all(sandbox.join("remotes/old.git")).unwrap();
    let second = build_demo(&sandbox, &opts).unwrap();
    assert!(!sandbox.join("state.db").exists());
    assert!(!sandbox.join("remotes/old.git").exists());
    let heads = |d: &Demo| d.fleet.repos.iter().map(|r| r.head).collect::<Vec<_>>();
    assert_eq!(heads(&first), heads(&second));
}

#[test]
fn build_demo_in_an_existing_empty_directory_works() {
    let dir = tempfile::tempdir().unwrap();
    let demo = build_demo(dir.path(), &DemoOptions { repos: 3, teams: 2 }).unwrap();
    assert_eq!(demo.fleet.repos.len(), 3);
}

#[test]
fn build_demo_refuses_a_directory_that_is_not_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "years of work").unwrap();
    std::fs::create_dir(dir.path().join("remotes")).unwrap();
    let err = build_demo(dir.path(), &DemoOptions::default()).unwrap_err();
    assert!(matches!(err, FleetError::NotADemoDir { .. }), "{err}");
    assert!(err.to_string().contains("not a fleetwright demo"), "{err}");
    assert!(err.to_string().contains("will not be touched"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("thesis.tex")).unwrap(),
        "years of work"
    );
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["remotes", "thesis.tex"]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("remotes"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn build_demo_refuses_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "keep").unwrap();
    let err = build_demo(&file, &DemoOptions::default()).unwrap_err();
    assert!(matches!(err, FleetError::NotADirectory { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

#[cfg(unix)]
#[test]
fn clearing_a_demo_never_follows_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("precious.txt"), "keep").unwrap();
    let sandbox = dir.path().join("demo");
    build_demo(&sandbox, &DemoOptions { repos: 2, teams: 1 }).unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.join("link")).unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.join("remotes/link.git")).unwrap();

    build_demo(&sandbox, &DemoOptions { repos: 2, teams: 1 }).unwrap();
    assert!(!sandbox.join("link").exists());
    assert_eq!(
        std::fs::read_to_string(outside.join("precious.txt")).unwrap(),
        "keep"
    );

    // A demo directory that is itself a symlink is refused, not followed.
    let link = dir.path().join("demo-link");
    std::os::unix::fs::symlink(&sandbox, &link).unwrap();
    let err = build_demo(&link, &DemoOptions::default()).unwrap_err();
    assert!(matches!(err, FleetError::NotADirectory { .. }), "{err}");
    assert!(sandbox.join(DEMO_MARKER).is_file());
}

fn has_old_api(repo: &RepoSpec) -> bool {
    repo.files
        .iter()
        .any(|(_, c)| c.contains("logging.warn(") || c.contains("interface{}"))
}

fn is_lang(repo: &RepoSpec, ext: &str) -> bool {
    repo.files.iter().any(|(p, _)| p.ends_with(ext))
}

#[test]
fn demo_spec_spreads_two_languages_over_four_teams() {
    let spec = demo_spec(&DemoOptions {
        repos: 24,
        teams: 4,
    });
    validate(&spec).unwrap();
    assert_eq!(spec.repos.len(), 24);
    assert_eq!(spec.teams.len(), 4);
    for team in &spec.teams {
        assert!((2..=3).contains(&team.members.len()), "{}", team.name);
        let repos: Vec<&RepoSpec> = spec.repos.iter().filter(|r| r.team == team.name).collect();
        assert_eq!(repos.len(), 6, "{}", team.name);
        assert!(
            repos.iter().any(|r| is_lang(r, ".py")),
            "{} has Python",
            team.name
        );
        assert!(
            repos.iter().any(|r| is_lang(r, ".go")),
            "{} has Go",
            team.name
        );
    }
    let python: Vec<&RepoSpec> = spec.repos.iter().filter(|r| is_lang(r, ".py")).collect();
    let go: Vec<&RepoSpec> = spec.repos.iter().filter(|r| is_lang(r, ".go")).collect();
    assert_eq!((python.len(), go.len()), (12, 12));
    for r in &python {
        assert!(
            r.files.iter().any(|(p, _)| p == "requirements.txt"),
            "{}",
            r.name
        );
        assert!(
            r.files.iter().any(|(p, _)| p.starts_with("tests/test_")),
            "{}",
            r.name
        );
        assert!(r.tags.contains(&"python".to_string()), "{}", r.name);
    }
    for r in &go {
        assert!(r.files.iter().any(|(p, _)| p == "go.mod"), "{}", r.name);
        assert!(r.tags.contains(&"go".to_string()), "{}", r.name);
    }
    assert!(
        spec.repos
            .iter()
            .all(|r| r.files.iter().any(|(p, _)| p == "README.md"))
    );

    // About one in six is already migrated, in both languages.
    let migrated: Vec<&RepoSpec> = spec.repos.iter().filter(|r| !has_old_api(r)).collect();
    assert_eq!(migrated.len(), 4);
    assert!(migrated.iter().any(|r| is_lang(r, ".py")));
    assert!(migrated.iter().any(|r| is_lang(r, ".go")));
    // Some Python repos call warnings.warn, which the recipe must not touch.
    assert!(
        python
            .iter()
            .any(|r| r.files.iter().any(|(_, c)| c.contains("warnings.warn(")))
    );

    let lifecycles = |l: &str| spec.repos.iter().filter(|r| r.lifecycle == l).count();
    assert_eq!(lifecycles("deprecated"), 1);
    assert!(lifecycles("experimental") >= 2);
    assert!(lifecycles("production") > 12);
    let deprecated = spec
        .repos
        .iter()
        .find(|r| r.lifecycle == "deprecated")
        .unwrap();
    assert!(
        has_old_api(deprecated),
        "the excluded repo would otherwise change"
    );
    let types: std::collections::BTreeSet<&str> =
        spec.repos.iter().map(|r| r.spec_type.as_str()).collect();
    assert_eq!(types.len(), 3, "{types:?}");
    assert_eq!(
        spec.repos
            .iter()
            .filter(|r| r.default_branch != "main")
            .count(),
        1
    );
}

#[test]
fn demo_spec_scales_past_its_names() {
    let spec = demo_spec(&DemoOptions {
        repos: 60,
        teams: 6,
    });
    validate(&spec).unwrap();
    assert_eq!(spec.repos.len(), 60);
    assert_eq!(spec.teams.len(), 6);
    assert!(spec.repos.iter().any(|r| r.name == "billing-api-2"));
    assert!(spec.teams.iter().any(|t| t.name == "team-payments-2"));
    let empty = demo_spec(&DemoOptions { repos: 0, teams: 0 });
    assert_eq!((empty.teams.len(), empty.repos.len()), (1, 0));
}

/// The demo's recipe, parsed by ast-grep itself.
fn demo_rules() -> Vec<ast_grep_config::RuleConfig<ast_grep_language::SupportLang>> {
    #[derive(serde::Deserialize)]
    struct Recipe {
        rules: Vec<ast_grep_config::SerializableRuleConfig<ast_grep_language::SupportLang>>,
    }
    let recipe: Recipe = ast_grep_config::from_str(demo::RECIPE_YAML).unwrap();
    let globals = ast_grep_config::GlobalRules::default();
    recipe
        .rules
        .into_iter()
        .map(|r| ast_grep_config::RuleConfig::try_from(r, &globals).unwrap())
        .collect()
}

#[test]
fn demo_code_parses_and_the_recipe_matches_exactly_the_old_apis() {
    use ast_grep_core::tree_sitter::LanguageExt;
    use ast_grep_language::SupportLang;

    let rules = demo_rules();
    assert_eq!(rules.len(), 2);
    let spec = demo_spec(&DemoOptions::default());
    for repo in &spec.repos {
        let mut matches = 0;
        for (path, content) in &repo.files {
            let lang = if path.ends_with(".py") {
                SupportLang::Python
            } else if path.ends_with(".go") {
                SupportLang::Go
            } else {
                continue;
            };
            // A module used is a module imported (tree-sitter cannot tell).
            for module in ["logging", "warnings", "os"] {
                if lang == SupportLang::Python && content.contains(&format!("{module}.")) {
                    let import = format!("import {module}\n");
                    assert!(content.contains(&import), "{}/{path}: {import}", repo.name);
                }
            }
            let grep = lang.ast_grep(content);
            let root = grep.root();
            let broken = root.dfs().find(|n| n.is_error() || n.is_missing());
            assert!(
                broken.is_none(),
                "{}/{path}: syntax error at {:?}",
                repo.name,
                broken.map(|n| n.text().to_string())
            );
            let mut in_file = 0;
            for rule in rules.iter().filter(|r| r.language == lang) {
                for found in root.find_all(&rule.matcher) {
                    let text = found.text();
                    match lang {
                        SupportLang::Python => assert!(text.starts_with("logging.warn("), "{text}"),
                        _ => assert_eq!(text, "interface{}"),
                    }
                    in_file += 1;
                }
            }
            // Every occurrence is matched, and nothing else.
            let expected =
                content.matches("logging.warn(").count() + content.matches("interface{}").count();
            assert_eq!(in_file, expected, "{}/{path}", repo.name);
            matches += in_file;
        }
        assert_eq!(matches > 0, has_old_api(repo), "{}", repo.name);
    }
}
