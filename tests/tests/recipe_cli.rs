//! `recipe check`, `recipe apply` and `recipe test` on a folder, command
//! (`run:`) steps included.

use std::path::Path;

use crate::util::{GO_OLD, PY_CLEAN, PY_OLD, RECIPE_YAML, Run, run_in, run_in_env};

/// A temp dir with the recipe and a `src/` folder to rewrite.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("recipe.yaml"), RECIPE_YAML).unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(src.join("svc")).unwrap();
    std::fs::write(src.join("svc/app.py"), PY_OLD).unwrap();
    std::fs::write(src.join("main.go"), GO_OLD).unwrap();
    std::fs::write(src.join("done.py"), PY_CLEAN).unwrap();
    tmp
}

fn run(dir: &Path, args: &[&str]) -> Run {
    run_in(dir, &dir.join("state/fleetwright.db"), args)
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join("src").join(rel)).unwrap()
}

#[test]
fn apply_dry_run_prints_a_unified_diff_and_writes_nothing() {
    let tmp = setup();
    let out = run(
        tmp.path(),
        &["recipe", "apply", "recipe.yaml", "src", "--dry-run"],
    );
    out.code(0);
    for path in ["svc/app.py", "main.go"] {
        assert!(out.stdout.contains(&format!("--- a/{path}\n")), "{out:?}");
        assert!(out.stdout.contains(&format!("+++ b/{path}\n")), "{out:?}");
    }
    assert!(!out.stdout.contains("done.py"), "{out:?}");
    let removed: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("-")).collect();
    let added: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("+")).collect();
    assert!(
        removed.iter().any(|l| l.contains("logging.warn(")),
        "{out:?}"
    );
    assert!(
        added.iter().any(|l| l.contains("logging.warning(")),
        "{out:?}"
    );
    assert!(removed.iter().any(|l| l.contains("interface{}")), "{out:?}");
    assert!(
        added
            .iter()
            .any(|l| l.contains("func describe(v any) map[string]any")),
        "{out:?}"
    );

    assert_eq!(read(tmp.path(), "svc/app.py"), PY_OLD);
    assert_eq!(read(tmp.path(), "main.go"), GO_OLD);
    assert_eq!(read(tmp.path(), "done.py"), PY_CLEAN);
    assert!(!tmp.path().join("state").exists());
}

#[test]
fn apply_rewrites_the_files_and_a_second_apply_changes_nothing() {
    let tmp = setup();
    run(tmp.path(), &["recipe", "apply", "recipe.yaml", "src"]).code(0);
    assert_eq!(
        read(tmp.path(), "svc/app.py"),
        PY_OLD.replace("logging.warn(", "logging.warning(")
    );
    assert_eq!(
        read(tmp.path(), "main.go"),
        GO_OLD.replace("interface{}", "any")
    );
    assert_eq!(read(tmp.path(), "done.py"), PY_CLEAN);

    let again = run(
        tmp.path(),
        &["recipe", "apply", "recipe.yaml", "src", "--dry-run"],
    );
    again.code(0);
    assert!(!again.stdout.contains("--- a/"), "{again:?}");
}

#[test]
fn check_accepts_a_plain_ast_grep_rule_file() {
    let tmp = setup();
    let rules = r#"id: python-logging-warn
language: python
message: logging.warn is a deprecated alias
rule:
  pattern: logging.warn($$$ARGS)
fix: logging.warning($$$ARGS)
---
id: go-empty-interface-to-any
language: go
rule:
  kind: interface_type
  regex: '^interface\s*\{\s*\}$'
fix: any
"#;
    std::fs::write(tmp.path().join("rules.yml"), rules).unwrap();
    let out = run(tmp.path(), &["recipe", "check", "rules.yml"]);
    out.code(0);
    assert!(out.stdout.contains("2 rules"), "{out:?}");

    // And it rewrites like the recipe holding the same rules.
    let out = run(
        tmp.path(),
        &["recipe", "apply", "rules.yml", "src", "--dry-run"],
    );
    out.code(0);
    assert!(out.stdout.contains("+++ b/svc/app.py"), "{out:?}");
    assert!(out.stdout.contains("+++ b/main.go"), "{out:?}");
}

#[test]
fn apply_to_a_missing_folder_is_bad_input() {
    let tmp = setup();
    let out = run(tmp.path(), &["recipe", "apply", "recipe.yaml", "nowhere"]);
    out.code(3);
    assert!(out.stderr.contains("nowhere"), "{out:?}");
}

/// A recipe of command steps: one sorts a file, one writes a new one.
const RUN_RECIPE: &str = r#"id: tidy-requirements
title: Sort the requirements and pin the Python version
steps:
  - run: sort -o requirements.txt requirements.txt
  - run: {command: "echo 3.12 > .python-version", timeout: 30s}
"#;

/// A temp dir with [`RUN_RECIPE`], a `repo/` to apply it to and one fixture case.
fn run_setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = tmp.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("r/recipe.yaml", RUN_RECIPE);
    write("repo/requirements.txt", "requests\nflask\n");
    write("repo/.gitignore", "build/\n");
    write(
        "r/fixtures/sorts/before/requirements.txt",
        "requests\nflask\n",
    );
    write(
        "r/fixtures/sorts/after/requirements.txt",
        "flask\nrequests\n",
    );
    write("r/fixtures/sorts/after/.python-version", "3.12\n");
    tmp
}

/// A folder holding `sh` and `sort`, but no `bwrap`: a machine without
/// bubblewrap.
fn path_without_bwrap(dir: &Path) -> String {
    let bin = dir.join("bin-without-bwrap");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["sh", "sort"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no {tool} in PATH"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    bin.display().to_string()
}

#[test]
fn apply_dry_run_shows_what_the_run_steps_change_and_writes_nothing() {
    let tmp = run_setup();
    let out = run(
        tmp.path(),
        &["recipe", "apply", "r/recipe.yaml", "repo", "--dry-run"],
    );
    out.code(0);
    assert!(
        out.stdout
            .contains("--- a/requirements.txt\n+++ b/requirements.txt\n@@ -1,2 +1,2 @@\n+flask\n requests\n-flask\n"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("--- /dev/null\n+++ b/.python-version\n@@ -0,0 +1 @@\n+3.12\n"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("repo/requirements.txt")).unwrap(),
        "requests\nflask\n"
    );
    assert!(!tmp.path().join("repo/.python-version").exists());

    let json = run(
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
    json.code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["files"][1]["edits"][0]["by"], "step 1 (run): sort -o requirements.txt requirements.txt",
        "{v}"
    );
}

#[test]
fn recipe_test_runs_fixtures_with_command_steps() {
    let tmp = run_setup();
    let out = run(tmp.path(), &["recipe", "test", "r/recipe.yaml"]);
    out.code(0);
    assert!(out.stdout.contains("case sorts ... ok"), "{out:?}");

    // A case whose after/ is wrong fails, with the diff.
    std::fs::write(
        tmp.path().join("r/fixtures/sorts/after/.python-version"),
        "3.11\n",
    )
    .unwrap();
    let out = run(tmp.path(), &["recipe", "test", "r/recipe.yaml"]);
    out.code(4);
    assert!(out.stdout.contains("case sorts ... FAILED"), "{out:?}");
    assert!(
        out.stdout.contains("-3.11") && out.stdout.contains("+3.12"),
        "{out:?}"
    );
}

#[test]
fn a_failing_run_step_names_the_step_and_its_output() {
    let tmp = run_setup();
    std::fs::write(
        tmp.path().join("r/recipe.yaml"),
        "id: broken\ntitle: Broken\nsteps:\n  - run: \"echo go.mod is missing >&2; exit 1\"\n",
    )
    .unwrap();
    let out = run(tmp.path(), &["recipe", "apply", "r/recipe.yaml", "repo"]);
    out.code(1);
    assert!(
        out.stderr.contains(
            "step 1 (run): echo go.mod is missing >&2; exit 1 failed (exit 1); the end of its output:\ngo.mod is missing"
        ),
        "{out:?}"
    );
}

#[test]
fn without_bubblewrap_command_steps_refuse_with_the_hint_unless_sandbox_none() {
    let tmp = run_setup();
    let path = path_without_bwrap(tmp.path());
    let state = tmp.path().join("state/fleetwright.db");
    for args in [
        &["recipe", "apply", "r/recipe.yaml", "repo", "--dry-run"][..],
        &["recipe", "test", "r/recipe.yaml"][..],
    ] {
        let out = run_in_env(tmp.path(), &state, &[("PATH", &path)], args);
        out.code(6);
        assert!(
            out.stderr.contains("bubblewrap is not installed"),
            "{out:?}"
        );
        assert!(out.stderr.contains("apt-get install bubblewrap"), "{out:?}");
        assert!(out.stderr.contains("--sandbox none"), "{out:?}");
    }
    let out = run_in_env(
        tmp.path(),
        &state,
        &[("PATH", &path)],
        &[
            "recipe",
            "apply",
            "r/recipe.yaml",
            "repo",
            "--dry-run",
            "--sandbox",
            "none",
        ],
    );
    out.code(0);
    assert!(out.stdout.contains("+++ b/.python-version"), "{out:?}");
    // A recipe without command steps needs no sandbox.
    std::fs::write(tmp.path().join("plain.yaml"), RECIPE_YAML).unwrap();
    run_in_env(
        tmp.path(),
        &state,
        &[("PATH", &path)],
        &["recipe", "apply", "plain.yaml", "repo", "--dry-run"],
    )
    .code(0);
}

#[test]
fn check_refuses_a_nul_in_a_path_at_its_place() {
    let tmp = setup();
    std::fs::write(
        tmp.path().join("nul.yaml"),
        "id: nul\ntitle: NUL\nsteps:\n  - files:\n      - add: \"config\\0.yaml\"\n        content: x\n",
    )
    .unwrap();
    let out = run(tmp.path(), &["recipe", "check", "nul.yaml"]);
    out.code(3);
    assert!(
        out.stderr.contains(
            "nul.yaml:5:14: `config\\0.yaml` (path) holds a control character (U+0000); a path cannot"
        ),
        "{out:?}"
    );
}

/// `--profile` says on stderr what each step took and how often it ran:
/// the two files a rule may match are parsed (and re-parsed once changed),
/// the one whose text no rule holds is read but never parsed, and stdout
/// stays the summary it always is.
#[test]
fn apply_profile_shows_each_step_and_parses_only_what_may_match() {
    let tmp = setup();
    let out = run(
        tmp.path(),
        &["recipe", "apply", "recipe.yaml", "src", "--profile"],
    );
    out.code(0);
    let runs = |step: &str| -> u64 {
        let line = out
            .stderr
            .lines()
            .find(|l| l.split_whitespace().next() == Some(step))
            .unwrap_or_else(|| panic!("no `{step}` line: {out:?}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[2], "ms", "{line}");
        fields[3].parse().unwrap_or_else(|_| panic!("{line}"))
    };
    assert_eq!(runs("read"), 3);
    assert_eq!(runs("parse"), 2);
    assert_eq!(runs("re-parse"), 2);
    assert_eq!(runs("write"), 1);
    for step in ["prefilter", "match", "fix", "check"] {
        runs(step);
    }
    assert!(out.stderr.contains("all steps"), "{out:?}");
    assert!(!out.stdout.contains("profile"), "{out:?}");
    assert_eq!(read(tmp.path(), "svc/app.py"), PY_CLEAN);
}

/// The trees of a file live in an arena of their own (src/recipe/arena.rs).
/// The same rewrite, of small files and of files whose trees outgrow the
/// arena at once or half-way through a parse, comes out byte for byte the
/// same with the arena, without it (`FLEETWRIGHT_TREE_ARENA=off`), and with
/// arenas too small for the big files, and is the rewrite asked for.
#[test]
fn rewrites_are_the_same_with_the_tree_arena_without_it_and_when_files_outgrow_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("recipe.yaml"), RECIPE_YAML).unwrap();
    // Nested calls take a second pass; the broken file goes through the
    // syntax check; the big ones grow trees of many megabytes.
    let unit = |n: usize| {
        format!(
            "def start_{n}(port):\n    if not port:\n        logging.warn(\"no port %d\", logging.warn({n}))\n        return [\n            {n},\n        ]\n    return port\n\n\n"
        )
    };
    let mut files: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("small/s{i}.py"),
                format!("import logging\n\n\n{}", unit(i)),
            )
        })
        .collect();
    for big in 0..2 {
        let body: String = (0..1_500).map(unit).collect();
        files.push((
            format!("big/b{big}.py"),
            format!("import logging\n\n\n{body}"),
        ));
    }
    files.push((
        "broken.py".into(),
        format!("import logging\n\n\n{}def broken(:\n    pass\n", unit(7)),
    ));
    let expected = |text: &str| text.replace("logging.warn(", "logging.warning(");
    // (name, FLEETWRIGHT_TREE_ARENA, whether the big files outgrow it)
    let variants = [
        ("arena", None, false),
        ("off", Some("off"), false),
        ("tiny", Some("65536"), true),
        ("half", Some("4194304"), true),
    ];
    for (name, arena, outgrown) in variants {
        let mut env = vec![("RUST_LOG", "fleetwright::recipe::arena=debug")];
        env.extend(arena.map(|a| ("FLEETWRIGHT_TREE_ARENA", a)));
        let dir = tmp.path().join(name);
        for (rel, text) in &files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let dir_arg = dir.to_str().unwrap();
        let out = run_in_env(
            tmp.path(),
            &tmp.path().join("state.db"),
            &env,
            &["recipe", "apply", "recipe.yaml", dir_arg, "--profile"],
        );
        out.code(0);
        assert_eq!(
            out.stderr.contains("outgrew their arena"),
            outgrown,
            "{name}: {out:?}"
        );
        for (rel, text) in &files {
            let after = std::fs::read_to_string(dir.join(rel)).unwrap();
            assert!(
                after == expected(text),
                "{name}: {rel} is not the rewrite asked for: {out:?}"
            );
        }
        let parses = out
            .stderr
            .lines()
            .find(|l| l.starts_with("  parse "))
            .unwrap_or_else(|| panic!("{name}: no parse line: {out:?}"));
        assert!(
            parses.contains(&format!("{} run(s)", files.len())),
            "{name}: {parses}"
        );
    }
}
