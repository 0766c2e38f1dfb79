//! `recipe check` and `recipe apply` on a folder.

use std::path::Path;

use crate::util::{GO_OLD, PY_CLEAN, PY_OLD, RECIPE_YAML, Run, run_in};

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
