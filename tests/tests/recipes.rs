//! Recipes v1 through the binary: the shipped recipes' fixtures, `recipe
//! test` failing the way an author needs, `apply --json`, located errors for
//! each kind of mistake, and a campaign with `applies_when` and parameters.

use std::path::{Path, PathBuf};

use crate::util::{CAMPAIGN, Run, Sandbox, go, python, run_in, states};

fn run(dir: &Path, args: &[&str]) -> Run {
    run_in(dir, &dir.join("state/fleetwright.db"), args)
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The repository's shipped recipes: every `migrations-recipes/*/recipe.yaml`.
fn shipped() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations-recipes");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("recipe.yaml")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

#[test]
fn every_shipped_recipe_passes_its_fixtures() {
    let recipes = shipped();
    assert!(!recipes.is_empty(), "no recipe in migrations-recipes/");
    let cwd = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for recipe in &recipes {
        let cases = recipe.parent().unwrap().join("fixtures");
        let count = std::fs::read_dir(&cases)
            .map(|d| {
                d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
                    .count()
            })
            .unwrap_or(0);
        assert!(
            count >= 2,
            "{} has {count} fixture case(s); a shipped recipe needs a case that changes and one that must not",
            recipe.display()
        );
        let out = run(cwd.path(), &["recipe", "test", recipe.to_str().unwrap()]);
        if out.status != Some(0)
            || !out
                .stderr
                .contains(&format!("{count} case(s) passed, 0 failed"))
        {
            failures.push(format!("{}:\n{out:?}", recipe.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A recipe with a text step, a files step and a parameter, and one case.
fn text_recipe(root: &Path, after_dockerfile: &str) {
    write(
        root,
        "r/recipe.yaml",
        r#"id: base-image
title: Bump the Python base image
parameters:
  python:
    default: "3.12"
steps:
  - text:
      files: ["Dockerfile", "**/Dockerfile"]
      replace:
        - pattern: '(?m)^FROM python:3\.(8|9)(-slim)?'
          with: 'FROM python:{{ python }}$2'
  - files:
      - add: .python-version
        content: "{{ python }}\n"
"#,
    );
    write(
        root,
        "r/fixtures/bump/before/Dockerfile",
        "FROM python:3.9-slim\nRUN pip install .\n",
    );
    write(root, "r/fixtures/bump/after/Dockerfile", after_dockerfile);
    write(root, "r/fixtures/bump/after/.python-version", "3.12\n");
    write(
        root,
        "r/fixtures/untouched/before/Dockerfile",
        "FROM node:20\n",
    );
    write(
        root,
        "r/fixtures/untouched/after/Dockerfile",
        "FROM node:20\n",
    );
    write(root, "r/fixtures/untouched/after/.python-version", "3.12\n");
}

#[test]
fn recipe_test_passes_and_then_fails_with_a_diff_when_after_differs() {
    let tmp = tempfile::tempdir().unwrap();
    text_recipe(tmp.path(), "FROM python:3.12-slim\nRUN pip install .\n");
    let out = run(tmp.path(), &["recipe", "test", "r/recipe.yaml"]);
    out.code(0);
    assert!(out.stdout.contains("case bump ... ok"), "{out:?}");
    assert!(out.stdout.contains("case untouched ... ok"), "{out:?}");

    // A parameter given on the command line changes the result: the
    // fixtures expect 3.12, so both cases fail, each with its diff.
    let out = run(
        tmp.path(),
        &["recipe", "test", "r/recipe.yaml", "--param", "python=3.11"],
    );
    out.code(4);
    assert!(out.stdout.contains("case bump ... FAILED"), "{out:?}");
    assert!(out.stdout.contains("-FROM python:3.12-slim"), "{out:?}");
    assert!(out.stdout.contains("+FROM python:3.11-slim"), "{out:?}");
    assert!(out.stderr.contains("0 case(s) passed, 2 failed"), "{out:?}");

    // A case's own parameters win over the command line's.
    write(
        tmp.path(),
        "r/fixtures/bump/case.yaml",
        "parameters:\n  python: \"3.12\"\n",
    );
    let out = run(
        tmp.path(),
        &["recipe", "test", "r/recipe.yaml", "--param", "python=3.11"],
    );
    assert!(out.stdout.contains("case bump ... ok"), "{out:?}");
}

#[test]
fn recipe_test_fails_a_recipe_that_changes_more_when_applied_again() {
    let tmp = tempfile::tempdir().unwrap();
    // The included recipe only applies once `.python-version` exists, which
    // the first step creates: a second application does more.
    write(
        tmp.path(),
        "pin/recipe.yaml",
        "id: pin\ntitle: Pin\napplies_when:\n  - files: .python-version\nsteps:\n  - text:\n      files: Dockerfile\n      replace:\n        - pattern: 'python:3\\.9'\n          with: 'python:3.12'\n",
    );
    write(
        tmp.path(),
        "main/recipe.yaml",
        "id: main\ntitle: Main\nsteps:\n  - files:\n      - add: .python-version\n        content: \"3.12\\n\"\n  - include:\n      recipe: pin\n",
    );
    write(
        tmp.path(),
        "main/fixtures/one/before/Dockerfile",
        "FROM python:3.9\n",
    );
    write(
        tmp.path(),
        "main/fixtures/one/after/Dockerfile",
        "FROM python:3.9\n",
    );
    write(
        tmp.path(),
        "main/fixtures/one/after/.python-version",
        "3.12\n",
    );
    let out = run(tmp.path(), &["recipe", "test", "main/recipe.yaml"]);
    out.code(4);
    assert!(out.stdout.contains("case one ... FAILED"), "{out:?}");
    assert!(out.stdout.contains("a second time changes more"), "{out:?}");
    assert!(out.stdout.contains("+FROM python:3.12"), "{out:?}");
}

#[test]
fn steps_that_undo_each_other_fail_loudly_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "r.yaml",
        "id: flip\ntitle: Flip\nsteps:\n  - text:\n      files: a.txt\n      replace: [{pattern: 'x', with: 'y'}]\n  - text:\n      files: a.txt\n      replace: [{pattern: 'y', with: 'x'}]\n",
    );
    write(tmp.path(), "repo/a.txt", "x\n");
    let out = run(
        tmp.path(),
        &["recipe", "apply", "r.yaml", "repo", "--dry-run"],
    );
    assert_ne!(out.status, Some(0), "{out:?}");
    assert!(out.stderr.contains("keeps changing a.txt"), "{out:?}");
    assert!(
        out.stderr.contains("step 1 (text)") && out.stderr.contains("step 2 (text)"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("repo/a.txt")).unwrap(),
        "x\n"
    );
}

#[test]
fn apply_json_lists_every_edit_and_writes_nothing_with_dry_run() {
    let tmp = tempfile::tempdir().unwrap();
    text_recipe(tmp.path(), "");
    write(tmp.path(), "repo/svc/Dockerfile", "FROM python:3.8\n");
    write(tmp.path(), "repo/old.bin", "\0\0");
    let out = run(
        tmp.path(),
        &[
            "recipe",
            "apply",
            "r/recipe.yaml",
            "repo",
            "--dry-run",
            "--json",
        ],
    );
    out.code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["recipe"], "base-image");
    assert_eq!(report["written"], false);
    let files = report["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [".python-version", "svc/Dockerfile"]);
    assert_eq!(files[0]["status"], "added");
    assert_eq!(files[1]["status"], "modified");
    assert_eq!(files[1]["edits"][0]["count"], 1);
    assert!(
        files[1]["edits"][0]["by"]
            .as_str()
            .unwrap()
            .starts_with("step 1 (text)")
    );
    assert!(
        files[1]["diff"]
            .as_str()
            .unwrap()
            .contains("+FROM python:3.12\n")
    );
    assert!(!tmp.path().join("repo/.python-version").exists());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("repo/svc/Dockerfile")).unwrap(),
        "FROM python:3.8\n"
    );

    // Without --dry-run the same edits are written.
    let out = run(
        tmp.path(),
        &["recipe", "apply", "r/recipe.yaml", "repo", "--json"],
    );
    out.code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["written"], true);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("repo/.python-version")).unwrap(),
        "3.12\n"
    );
}

#[test]
fn a_files_step_never_writes_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "r.yaml",
        "id: add\ntitle: Add\nsteps:\n  - files:\n      - add: conf/new.txt\n        content: hi\n",
    );
    std::fs::create_dir_all(tmp.path().join("repo")).unwrap();
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("repo/conf")).unwrap();
    let out = run(tmp.path(), &["recipe", "apply", "r.yaml", "repo"]);
    assert_ne!(out.status, Some(0), "{out:?}");
    assert!(!outside.path().join("new.txt").exists());
}

/// Each kind of mistake, and where it is reported: (what is wrong, the
/// recipe, the line and column, words the message must hold).
const MISTAKES: &[(&str, &str, (usize, usize), &str)] = &[
    (
        "an unknown step kind",
        "id: a\ntitle: A\nsteps:\n  - txt:\n      files: x\n",
        (4, 5),
        "unknown variant `txt`",
    ),
    (
        "a bad key path",
        "id: a\ntitle: A\nsteps:\n  - yaml:\n      files: a.yaml\n      edits:\n        - set: jobs..uses\n          value: x\n",
        (7, 21),
        "bad key path `jobs..uses`: empty key",
    ),
    (
        "an edit without its value",
        "id: a\ntitle: A\nsteps:\n  - json:\n      files: package.json\n      edits:\n        - set: engines.node\n",
        (7, 16),
        "needs a `value`",
    ),
    (
        "a bad regex",
        "id: a\ntitle: A\nsteps:\n  - text:\n      files: Dockerfile\n      replace:\n        - pattern: 'FROM (python'\n          with: x\n",
        (7, 20),
        "not a valid regex",
    ),
    (
        "a path out of the repository",
        "id: a\ntitle: A\nsteps:\n  - files:\n      - add: ../outside\n        content: x\n",
        (5, 14),
        "not a path inside the repository",
    ),
    (
        "an unknown parameter",
        "id: a\ntitle: A\nparameters:\n  version: \"2\"\nsteps:\n  - text:\n      files: x\n      replace:\n        - pattern: a\n          with: '{{ vesion }}'\n",
        (10, 18),
        "names no parameter",
    ),
    (
        "a missing included recipe",
        "id: a\ntitle: A\nsteps:\n  - include:\n      recipe: nowhere\n",
        (5, 15),
        "no recipe `nowhere`",
    ),
    (
        "a bad glob",
        "id: a\ntitle: A\nsteps:\n  - toml:\n      files: 'a[.toml'\n      edits:\n        - delete: x\n",
        (5, 14),
        "not a valid glob",
    ),
    (
        "an unknown key in an edit",
        "id: a\ntitle: A\nsteps:\n  - yaml:\n      files: a.yaml\n      edits:\n        - set: a\n          value: 1\n          whenn: x\n",
        (9, 11),
        "unknown field `whenn`",
    ),
    (
        "an unknown precondition",
        "id: a\ntitle: A\napplies_when:\n  - exists: a\nsteps:\n  - files:\n      - delete: a\n",
        (4, 5),
        "unknown variant `exists`",
    ),
];

#[test]
fn each_kind_of_mistake_is_reported_at_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    for (what, recipe, (line, column), words) in MISTAKES {
        write(tmp.path(), "recipe.yaml", recipe);
        let out = run(tmp.path(), &["recipe", "check", "recipe.yaml"]);
        assert_eq!(out.status, Some(3), "{what}: {out:?}");
        let place = format!("recipe.yaml:{line}:{column}: ");
        let reported = out
            .stderr
            .lines()
            .any(|l| l.contains(&place) && l.contains(words));
        assert!(reported, "{what}: expected `{place}… {words}` in\n{out:?}");
        assert!(out.stderr.contains("help:"), "{what}: no hint\n{out:?}");
    }
}

#[test]
fn an_include_cycle_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.yaml",
        "id: a\ntitle: A\nsteps:\n  - include:\n      recipe: b\n",
    );
    write(
        tmp.path(),
        "b.yaml",
        "id: b\ntitle: B\nsteps:\n  - include:\n      recipe: a\n",
    );
    let out = run(tmp.path(), &["recipe", "check", "a.yaml"]);
    out.code(3);
    assert!(
        out.stderr
            .contains("b.yaml:5:15: including `a` makes a cycle"),
        "{out:?}"
    );
}

#[test]
fn a_campaign_marks_targets_its_recipe_does_not_apply_to_and_passes_its_parameters() {
    let sb = Sandbox::new(
        vec![
            python("svc-py", "team-a", "production"),
            go("svc-go", "team-b", "production"),
        ],
        "[rest]",
    );
    // Only repositories with Go files; the parameter picks the replacement.
    sb.write(
        "recipe.yaml",
        r#"id: any-alias
title: Spell the empty interface as {{ spelling }}
parameters:
  spelling: {default: any}
applies_when:
  - files: "**/*.go"
steps:
  - ast-grep:
      rules:
        - id: go-empty-interface
          language: go
          rule:
            kind: interface_type
            regex: '^interface\s*\{\s*\}$'
          fix: '{{ spelling }}'
"#,
    );
    let campaign = sb.read("campaign.yaml").replace(
        "recipe: recipe.yaml\n",
        "recipe: recipe.yaml\nparameters:\n  spelling: any\n",
    );
    sb.write("campaign.yaml", &campaign);
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    let by_repo = states(&status);
    let state = |suffix: &str| {
        by_repo
            .iter()
            .find(|(repo, _)| repo.ends_with(suffix))
            .map(|(_, s)| s.as_str())
            .unwrap_or_else(|| panic!("no {suffix} in {by_repo:?}"))
    };
    assert_eq!(state("svc-py"), "not_applicable", "{status:?}");
    assert_eq!(state("svc-go"), "pr_open", "{status:?}");
    assert!(
        sb.run(&["status", CAMPAIGN])
            .stdout
            .contains("not_applicable")
    );

    // A value for a parameter the recipe does not declare is refused.
    sb.write(
        "campaign.yaml",
        &campaign.replace("spelling: any", "spelling: any\n  colour: red"),
    );
    let out = sb.run(&["plan", "campaign.yaml"]);
    out.code(3);
    assert!(
        out.stderr
            .contains("`colour`, which this recipe does not declare"),
        "{out:?}"
    );
}

#[test]
fn a_campaign_runs_a_shipped_recipe_unchanged_includes_and_all() {
    let sb = Sandbox::new(
        vec![
            python("svc-py", "team-a", "production"),
            go("svc-go", "team-b", "production"),
        ],
        "[rest]",
    );
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations-recipes/python-unittest-deprecated-aliases/recipe.yaml");
    let campaign = sb.read("campaign.yaml").replace(
        "recipe: recipe.yaml\n",
        &format!("recipe: {}\n", recipe.display()),
    );
    sb.write("campaign.yaml", &campaign);
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    let by_repo = states(&status);
    let state = |suffix: &str| {
        by_repo
            .iter()
            .find(|(repo, _)| repo.ends_with(suffix))
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("no {suffix} in {by_repo:?}"))
    };
    // The Python service's `logging.warn(` is fixed by the included recipe;
    // the Go service has no Python file: the recipe does not apply.
    assert_eq!(state("svc-py"), "pr_open", "{status:?}");
    assert_eq!(state("svc-go"), "not_applicable", "{status:?}");
    let bare = sb.bare("svc-py");
    let head = crate::util::branch_head(&bare, crate::util::BRANCH).expect("the campaign branch");
    let app = crate::util::file_at(&bare, head, "app.py");
    assert!(app.contains("logging.warning(\"no port"), "{app}");
    assert!(!app.contains("logging.warn("), "{app}");
}

#[test]
fn files_operations_run_once_so_they_compose() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "r.yaml",
        "id: f\ntitle: F\nsteps:\n  - files:\n      - add: config/app.ini\n        content: \"a=1\\n\"\n  - files:\n      - move: config/app.ini\n        to: etc/app.ini\n      - delete: keep.txt\n      - add: keep.txt\n        content: \"new\\n\"\n",
    );
    write(tmp.path(), "repo/keep.txt", "old\n");
    let out = run(tmp.path(), &["recipe", "apply", "r.yaml", "repo"]);
    out.code(0);
    let repo = tmp.path().join("repo");
    assert!(!repo.join("config/app.ini").exists(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(repo.join("etc/app.ini")).unwrap(),
        "a=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("keep.txt")).unwrap(),
        "new\n"
    );
    assert!(
        out.stderr.contains("changed 3 place(s) in 2 file(s)"),
        "{out:?}"
    );
}

#[test]
fn nothing_is_written_when_one_new_file_cannot_be() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "r.yaml",
        "id: f\ntitle: F\nsteps:\n  - text:\n      files: a.txt\n      replace: [{pattern: old, with: new}]\n  - files:\n      - add: z/new.txt\n        content: hi\n",
    );
    write(tmp.path(), "repo/a.txt", "old\n");
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("repo/z")).unwrap();
    // The refusal shows in a dry run already, and the other edit stands.
    let out = run(
        tmp.path(),
        &["recipe", "apply", "r.yaml", "repo", "--dry-run", "--json"],
    );
    out.code(4);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["rejected"][0]["path"], "z/new.txt", "{out:?}");
    assert!(
        report["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .contains("symlink"),
        "{out:?}"
    );
    assert!(!outside.path().join("new.txt").exists());
}

#[test]
fn a_path_with_a_git_part_anywhere_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for path in ["sub/.git/config", ".Git/hooks/pre-commit"] {
        write(
            tmp.path(),
            "r.yaml",
            &format!(
                "id: f\ntitle: F\nsteps:\n  - files:\n      - add: {path}\n        content: x\n"
            ),
        );
        let out = run(tmp.path(), &["recipe", "check", "r.yaml"]);
        out.code(3);
        assert!(
            out.stderr.contains("is not a path inside the repository"),
            "{path}: {out:?}"
        );
    }
}

#[test]
fn a_parameter_value_never_changes_the_recipe_around_it() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "r.yaml",
        "id: p\ntitle: P\nparameters:\n  body: {default: x}\n  tag: {default: \"3.12\"}\nsteps:\n  - files:\n      - add: notes.txt\n        content: \"{{ body }}\\n\"\n  - text:\n      files: Dockerfile\n      replace:\n        - pattern: 'python:3\\.9'\n          with: python:{{ tag }}\n",
    );
    write(tmp.path(), "repo/Dockerfile", "FROM python:3.9\n");
    let out = run(
        tmp.path(),
        &[
            "recipe",
            "apply",
            "r.yaml",
            "repo",
            "--param",
            "body=C:\\new \"q\"\nline 2",
        ],
    );
    out.code(0);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("repo/notes.txt")).unwrap(),
        "C:\\new \"q\"\nline 2\n"
    );
    // Unquoted, a value that would change the YAML is refused at its place.
    let out = run(
        tmp.path(),
        &["recipe", "check", "r.yaml", "--param", "tag=3.13 # slim"],
    );
    out.code(3);
    assert!(
        out.stderr
            .contains("r.yaml:14:24: parameter `tag` cannot be substituted here"),
        "{out:?}"
    );
}
