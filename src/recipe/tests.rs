//! Recipes loaded from text and applied to trees made in temp dirs.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

const LOGGING_RECIPE: &str = "\
id: python-logging-warning
title: Replace the deprecated logging.warn
description: |
  `logging.warn` is a deprecated alias of `logging.warning`.
version: 1
rules:
  - id: logging-warn
    language: python
    rule:
      pattern: logging.warn($$$ARGS)
    fix: logging.warning($$$ARGS)
";

fn recipe(text: &str) -> Recipe {
    match Recipe::from_str(Path::new("recipes/r.yaml"), text) {
        Ok(r) => r,
        Err(RecipeError::Invalid(d)) => {
            panic!("{}", d.iter().map(|d| format!("{d}\n")).collect::<String>())
        }
        Err(e) => panic!("{e}"),
    }
}

fn diagnostics(text: &str) -> Vec<FileDiagnostic> {
    match Recipe::from_str(Path::new("recipes/r.yaml"), text) {
        Err(RecipeError::Invalid(d)) => d,
        other => panic!("expected an invalid recipe, got {other:?}"),
    }
}

/// A temp dir holding `files` (path, content).
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

fn paths(changes: &Changes) -> Vec<PathBuf> {
    changes.files.iter().map(|f| f.path.clone()).collect()
}

#[test]
fn fleetwright_recipe_rewrites_a_python_tree() {
    let recipe = recipe(LOGGING_RECIPE);
    assert_eq!(recipe.id, "python-logging-warning");
    assert_eq!(recipe.title, "Replace the deprecated logging.warn");
    assert_eq!(
        recipe.description,
        "`logging.warn` is a deprecated alias of `logging.warning`.\n"
    );
    assert_eq!(recipe.version.as_deref(), Some("1"));
    assert_eq!(recipe.rules().count(), 1);
    assert_eq!(recipe.rules().next().unwrap().id, "logging-warn");
    assert_eq!(recipe.rules().next().unwrap().language, SupportLang::Python);

    let dir = tree(&[
        (
            "pkg/app.py",
            "import logging\nimport warnings\n\nlogging.warn(\"x\")\nwarnings.warn(\"y\")\n",
        ),
        ("pkg/other.py", "print(\"nothing to see\")\n"),
        ("README.md", "logging.warn(\"in prose\")\n"),
    ]);
    let changes = recipe.apply(dir.path()).unwrap();
    assert_eq!(paths(&changes), [PathBuf::from("pkg/app.py")]);
    let file = &changes.files[0];
    assert_eq!(
        file.after,
        "import logging\nimport warnings\n\nlogging.warning(\"x\")\nwarnings.warn(\"y\")\n"
    );
    assert_eq!(file.matches, [("logging-warn".to_string(), 1)]);
    assert_eq!(changes.total_matches(), 1);
    assert!(!changes.is_empty());

    let diff = changes.unified_diff();
    assert!(
        diff.contains("--- a/pkg/app.py\n+++ b/pkg/app.py\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-logging.warn(\"x\")\n+logging.warning(\"x\")\n"),
        "{diff}"
    );
    assert!(diff.contains("\n warnings.warn(\"y\")\n"), "{diff}");
    // Nothing written.
    let on_disk = fs::read_to_string(dir.path().join("pkg/app.py")).unwrap();
    assert!(on_disk.contains("logging.warn(\"x\")"));
}

#[test]
fn go_empty_interface_becomes_any() {
    let recipe = recipe(
        r#"id: go-any
title: Use any
rules:
  - id: interface-to-any
    language: go
    rule:
      kind: interface_type
      regex: '^interface\s*\{\s*\}$'
    fix: any
"#,
    );
    let dir = tree(&[(
        "main.go",
        "package main\n\nfunc f(x interface{}) map[string]interface {} {\n\treturn nil\n}\n\ntype S interface{ M() }\n",
    )]);
    let changes = recipe.apply(dir.path()).unwrap();
    assert_eq!(
        changes.files[0].after,
        "package main\n\nfunc f(x any) map[string]any {\n\treturn nil\n}\n\ntype S interface{ M() }\n"
    );
    assert_eq!(changes.total_matches(), 2);
}

#[test]
fn plain_ast_grep_rule_file_works_unchanged() {
    let text = "\
id: no-print
language: python
message: Use logging instead of print
note: print goes nowhere in production
rule:
  pattern: print($A)
fix: logging.info($A)
---
id: no-pprint
language: python
rule:
  pattern: pprint($A)
fix: logging.debug($A)
";
    let recipe = Recipe::from_str(Path::new("rules/no-print.yml"), text).unwrap();
    assert_eq!(recipe.id, "no-print");
    assert_eq!(recipe.title, "Use logging instead of print");
    assert_eq!(recipe.description, "print goes nowhere in production");
    assert_eq!(recipe.version, None);
    let ids: Vec<_> = recipe.rules().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["no-print", "no-pprint"]);

    let dir = tree(&[("a.py", "print(1)\npprint(2)\n")]);
    let changes = recipe.apply(dir.path()).unwrap();
    assert_eq!(
        changes.files[0].after,
        "logging.info(1)\nlogging.debug(2)\n"
    );
    assert_eq!(
        changes.files[0].matches,
        [("no-print".to_string(), 1), ("no-pprint".to_string(), 1)]
    );
}

#[test]
fn plain_rule_title_falls_back_to_the_rule_id() {
    let recipe = recipe("id: r1\nlanguage: python\nrule:\n  pattern: a\nfix: b\n");
    assert_eq!(recipe.id, "r");
    assert_eq!(recipe.title, "r1");
    assert_eq!(recipe.description, "");
}

#[test]
fn invalid_pattern_points_at_the_pattern_of_its_rule() {
    let text = "\
id: r
title: t
rules:
  - id: fine
    language: python
    rule:
      pattern: foo($A)
    fix: bar($A)
  - id: broken
    language: python
    rule:
      all:
        - kind: call
        - pattern: 'a; b'
    fix: bar($A)
";
    let d = diagnostics(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].line, d[0].column), (14, 20), "{}", d[0]);
    assert!(d[0].message.contains("`broken`"), "{}", d[0].message);
    assert!(d[0].message.contains("pattern"), "{}", d[0].message);
    assert!(d[0].help.is_some());
}

#[test]
fn flow_style_rules_are_located_too() {
    let text = "id: r\ntitle: t\nrules: [{id: a, language: python, rule: {pattern: x}, fix: y}, {id: b, language: go, rule: {kind: nope}, fix: c}]\n";
    let d = diagnostics(text);
    assert_eq!(d.len(), 1, "{d:?}");
    // `nope`, in the second rule.
    assert_eq!((d[0].line, d[0].column), (3, 99), "{}", d[0]);
    assert!(
        d[0].message.contains("`b`") && d[0].message.contains("nope"),
        "{}",
        d[0].message
    );
}

#[test]
fn unknown_language_points_into_its_rule() {
    let text = "\
id: r
title: t
rules:
  - id: fine
    language: python
    rule: {pattern: a}
    fix: b
  - id: cobol-rule
    language: cobol
    rule: {pattern: a}
    fix: b
";
    let d = diagnostics(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].line, d[0].column), (9, 15), "{}", d[0]);
    assert!(
        d[0].message.to_lowercase().contains("cobol"),
        "{}",
        d[0].message
    );
}

#[test]
fn yaml_syntax_error_points_at_its_line() {
    let text = "\
id: r
title: t
rules:
  - id: a
    language: python
    rule:
      pattern: \"unclosed
    fix: b
";
    let d = diagnostics(text);
    assert_eq!(d.len(), 1, "{d:?}");
    // At the opening quote of the unclosed string.
    assert_eq!((d[0].line, d[0].column), (7, 16), "{}", d[0]);
}

#[test]
fn every_rule_problem_is_reported() {
    let text = "\
id: r
title: t
rules:
  - id: finds-only
    language: python
    rule:
      pattern: a
  - id: bad-regex
    language: python
    rule:
      kind: call
      regex: '(('
    fix: b
  - id: typo
    language: python
    rul:
      pattern: a
    fix: b
";
    let d = diagnostics(text);
    let places: Vec<_> = d.iter().map(|d| d.line).collect();
    assert_eq!(places, [4, 12, 16], "{d:#?}");
    assert!(d[0].message.contains("needs a `fix`"), "{}", d[0].message);
    assert!(d[1].message.contains("regex"), "{}", d[1].message);
    assert!(d[2].message.contains("rul"), "{}", d[2].message);
}

#[test]
fn recipe_header_problems() {
    let d = diagnostics("title: t\nrules: []\n");
    let messages: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("needs an `id`")));
    assert!(messages.iter().any(|m| m.contains("`rules` is empty")));
    assert_eq!(
        d.iter().find(|d| d.message.contains("empty")).unwrap().line,
        2
    );

    let d = diagnostics("id: r\ntitle: t\nowner: me\nrules:\n  - id: a\n");
    assert_eq!(d[0].line, 3, "{}", d[0]);
    assert!(d[0].message.contains("owner"), "{}", d[0].message);

    let d = diagnostics(
        "id: r\ntitle: t\nrules:\n  - id: a\n    language: python\n    rule: {pattern: x}\n    fix: y\n  - id: a\n    language: python\n    rule: {pattern: z}\n    fix: y\n",
    );
    assert_eq!((d[0].line, d[0].column), (8, 9), "{}", d[0]);
}

#[test]
fn symlinks_binary_and_non_utf8_files_are_skipped_and_counted() {
    let outside = tree(&[("secret.py", "logging.warn(\"outside\")\n")]);
    let dir = tree(&[
        ("a.py", "logging.warn(\"a\")\n"),
        ("bin.py", "logging.warn(\"b\")\0\n"),
        ("latin1.py", ""),
    ]);
    fs::write(dir.path().join("latin1.py"), b"logging.warn(\"\xe9\")\n").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.py"), dir.path().join("link.py"))
        .unwrap();
    let changes = recipe(LOGGING_RECIPE).apply(dir.path()).unwrap();
    assert_eq!(paths(&changes), [PathBuf::from("a.py")]);
    assert_eq!(
        changes.skipped,
        Skipped {
            binary: 1,
            too_large: 0,
            not_utf8: 1,
            symlinks: 1
        }
    );
}

#[test]
fn write_refuses_a_symlink() {
    let outside = tree(&[("secret.py", "x\n")]);
    let dir = tree(&[]);
    std::os::unix::fs::symlink(outside.path().join("secret.py"), dir.path().join("link.py"))
        .unwrap();
    let changes = Changes {
        files: vec![FileChange {
            path: PathBuf::from("link.py"),
            status: FileStatus::Modified,
            before: "x\n".into(),
            after: "y\n".into(),
            matches: vec![],
        }],
        ..Changes::default()
    };
    let err = changes.write(dir.path()).unwrap_err();
    assert!(matches!(err, ApplyError::UnsafePath { .. }), "{err}");
    let escaping = Changes {
        files: vec![FileChange {
            path: PathBuf::from("../secret.py"),
            ..changes.files[0].clone()
        }],
        ..Changes::default()
    };
    assert!(matches!(
        escaping.write(dir.path()),
        Err(ApplyError::UnsafePath { .. })
    ));
    assert_eq!(
        fs::read_to_string(outside.path().join("secret.py")).unwrap(),
        "x\n"
    );
}

#[test]
fn write_then_apply_again_changes_nothing() {
    let dir = tree(&[
        ("src/a.py", "import logging\nlogging.warn(\"a\")\n"),
        ("src/b.py", "logging.warn(1, 2)\n"),
    ]);
    let recipe = recipe(LOGGING_RECIPE);
    let changes = recipe.apply(dir.path()).unwrap();
    assert_eq!(paths(&changes).len(), 2);
    changes.write(dir.path()).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("src/a.py")).unwrap(),
        "import logging\nlogging.warning(\"a\")\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("src/b.py")).unwrap(),
        "logging.warning(1, 2)\n"
    );
    let again = recipe.apply(dir.path()).unwrap();
    assert!(again.is_empty(), "{again:?}");
    // A file changed after apply is not overwritten.
    fs::write(dir.path().join("src/a.py"), "logging.warn(\"new\")\n").unwrap();
    let stale = recipe.apply(dir.path()).unwrap();
    fs::write(dir.path().join("src/a.py"), "edited meanwhile\n").unwrap();
    assert!(stale.write(dir.path()).is_err());
    assert_eq!(
        fs::read_to_string(dir.path().join("src/a.py")).unwrap(),
        "edited meanwhile\n"
    );
}

#[test]
fn nested_matches_reach_a_fixed_point() {
    let dir = tree(&[("a.py", "logging.warn(logging.warn(logging.warn(\"a\")))\n")]);
    let changes = recipe(LOGGING_RECIPE).apply(dir.path()).unwrap();
    assert_eq!(
        changes.files[0].after,
        "logging.warning(logging.warning(logging.warning(\"a\")))\n"
    );
    assert_eq!(changes.files[0].matches, [("logging-warn".to_string(), 3)]);
}

#[test]
fn a_fix_that_creates_another_match_is_followed() {
    let recipe = recipe(
        "id: r\ntitle: t\nrules:\n  - id: a-to-b\n    language: python\n    rule: {pattern: a()}\n    fix: b()\n  - id: b-to-c\n    language: python\n    rule: {pattern: b()}\n    fix: c()\n",
    );
    let dir = tree(&[("x.py", "a()\n")]);
    let changes = recipe.apply(dir.path()).unwrap();
    assert_eq!(changes.files[0].after, "c()\n");
    assert_eq!(
        changes.files[0].matches,
        [("a-to-b".to_string(), 1), ("b-to-c".to_string(), 1)]
    );
}

#[test]
fn rules_that_undo_each_other_have_no_fixed_point() {
    let recipe = recipe(
        "id: r\ntitle: t\nrules:\n  - id: a-to-b\n    language: python\n    rule: {pattern: a()}\n    fix: b()\n  - id: b-to-a\n    language: python\n    rule: {pattern: b()}\n    fix: a()\n",
    );
    let dir = tree(&[("x.py", "a()\n")]);
    match recipe.apply(dir.path()) {
        Err(ApplyError::NoFixedPoint { path, rules }) => {
            assert_eq!(path, PathBuf::from("x.py"));
            // Ten passes alternate a→b, b→a: the last one was b-to-a's.
            assert_eq!(rules, ["b-to-a"]);
        }
        other => panic!("expected NoFixedPoint, got {other:?}"),
    }
}

#[test]
fn a_rewrite_that_breaks_the_syntax_is_rejected() {
    let recipe = recipe(
        "id: r\ntitle: t\nrules:\n  - id: breaker\n    language: python\n    rule: {pattern: print($A)}\n    fix: print($A\n",
    );
    let dir = tree(&[("ok.py", "x = 1\n"), ("x.py", "x = 1\nprint(x)\ny = 2\n")]);
    let changes = recipe.apply(dir.path()).unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(changes.rejected.len(), 1);
    let rejected = &changes.rejected[0];
    assert_eq!(rejected.path, PathBuf::from("x.py"));
    assert_eq!(rejected.rule_ids, ["breaker"]);
    assert_eq!(rejected.line, 2, "{rejected:?}");
}

#[test]
fn files_and_ignores_globs_are_relative_to_the_root() {
    let recipe = recipe(
        "id: r\ntitle: t\nrules:\n  - id: only-src\n    language: python\n    files: ['src/**']\n    ignores: ['src/vendor/**']\n    rule: {pattern: a()}\n    fix: b()\n",
    );
    let dir = tree(&[
        ("src/x.py", "a()\n"),
        ("src/vendor/y.py", "a()\n"),
        ("tests/z.py", "a()\n"),
    ]);
    let changes = recipe.apply(dir.path()).unwrap();
    assert_eq!(paths(&changes), [PathBuf::from("src/x.py")]);
}

#[test]
fn walk_respects_gitignore_includes_hidden_files_and_skips_git() {
    let dir = tree(&[
        (".gitignore", "build/\n"),
        ("build/gen.py", "a()\n"),
        (".hidden/h.py", "a()\n"),
        (".git/hooks/x.py", "a()\n"),
        ("big.py", "a()\n# padding padding padding\n"),
        ("z.py", "a()\n"),
    ]);
    let recipe = recipe(
        "id: r\ntitle: t\nrules:\n  - id: ab\n    language: python\n    rule: {pattern: a()}\n    fix: b()\n",
    );
    let options = ApplyOptions {
        max_file_size: 10,
        ..ApplyOptions::default()
    };
    let changes = recipe.apply_with(dir.path(), &options).unwrap();
    assert_eq!(
        paths(&changes),
        [PathBuf::from(".hidden/h.py"), PathBuf::from("z.py")]
    );
    assert_eq!(changes.skipped.too_large, 1);
}

/// Apply a one-rule recipe to one file and return the file's new text.
fn rewrite_one(language: &str, rule: &str, fix: &str, path: &str, before: &str) -> String {
    let text = format!(
        "id: r\ntitle: R\nrules:\n  - id: r1\n    language: {language}\n    rule:\n      pattern: {rule}\n    fix: {fix}\n"
    );
    let dir = tree(&[(path, before)]);
    let changes = recipe(&text).apply(dir.path()).unwrap();
    assert_eq!(changes.files.len(), 1, "the rule must match {path}");
    changes.files[0].after.clone()
}

#[test]
fn a_multi_line_python_call_keeps_its_layout() {
    let before = "def f(body):\n    if body:\n        logging.warn(\n            \"too large: %d\",\n            len(body),\n            stacklevel=2,\n        )\n";
    let after = rewrite_one(
        "python",
        "logging.warn($$$ARGS)",
        "logging.warning($$$ARGS)",
        "a.py",
        before,
    );
    assert_eq!(
        after,
        "def f(body):\n    if body:\n        logging.warning(\n            \"too large: %d\",\n            len(body),\n            stacklevel=2,\n        )\n"
    );
}

#[test]
fn a_multi_line_go_call_keeps_its_layout() {
    let before = "package p\n\nfunc f() {\n\tdata, err := ioutil.ReadFile(\n\t\tpath.Join(dir,\n\t\t\t\"config.json\"),\n\t)\n\t_ = data\n\t_ = err\n}\n";
    // A bare call is not a Go statement on its own: ast-grep's Go patterns
    // take a context and a selector.
    let pattern = "{context: 'func t() { ioutil.ReadFile($$$A) }', selector: call_expression}";
    let after = rewrite_one("go", pattern, "os.ReadFile($$$A)", "f.go", before);
    assert_eq!(
        after,
        "package p\n\nfunc f() {\n\tdata, err := os.ReadFile(\n\t\tpath.Join(dir,\n\t\t\t\"config.json\"),\n\t)\n\t_ = data\n\t_ = err\n}\n"
    );
}

#[test]
fn a_multi_line_typescript_call_keeps_its_layout() {
    let before = "test(\"sum\", () => {\n  assert.equal(\n    sum(1, 2),\n    3,\n    \"adds\",\n  );\n});\n";
    let after = rewrite_one(
        "typescript",
        "assert.equal($$$A)",
        "assert.strictEqual($$$A)",
        "t.ts",
        before,
    );
    assert_eq!(
        after,
        "test(\"sum\", () => {\n  assert.strictEqual(\n    sum(1, 2),\n    3,\n    \"adds\",\n  );\n});\n"
    );
}

#[test]
fn single_line_matches_are_fixed_exactly_as_ast_grep_fixes_them() {
    // ast-grep's fixer spells the arguments with its own spacing; on one
    // line fleetwright keeps that output unchanged.
    let after = rewrite_one("python", "f($A, $B)", "g($B, $A)", "a.py", "f(1,2)\n");
    assert_eq!(after, "g(2, 1)\n");
    assert_eq!(
        super::apply::keep_layout("f(1,2)", "g(2, 1)", &[]),
        "g(2, 1)"
    );
}

#[test]
fn a_fix_that_reindents_a_python_block_is_not_undone_by_layout_keeping() {
    // Outside brackets indentation is syntax: the fix's dedent must stand.
    let before = "def f():\n    with nullcontext():\n        a()\n        b()\n    return 1\n";
    let pattern = "|\n        with nullcontext():\n            $$$BODY";
    let after = rewrite_one("python", pattern, "$$$BODY", "a.py", before);
    assert_eq!(after, "def f():\n    a()\n    b()\n    return 1\n");
}

#[test]
fn a_rule_without_rule_points_at_its_id() {
    let text = "id: r\ntitle: R\nrules:\n  - id: no-rule\n    language: python\n    fix: x\n";
    let d = diagnostics(text);
    assert_eq!((d[0].line, d[0].column), (4, 9), "{d:?}");
    assert!(d[0].message.contains("missing field"), "{}", d[0].message);
}

#[test]
fn an_escaped_quote_in_a_flow_rule_does_not_end_its_string() {
    let text = "id: r\ntitle: R\nrules: [{id: a, language: python, rule: {pattern: \"f(\\\"}\\\")\"}, fix: g()}]\n";
    let r = recipe(text);
    assert_eq!(r.rules().count(), 1);
}

#[test]
fn the_problems_of_a_recipe_share_one_copy_of_its_text() {
    let text =
        "id: r\ntitle: T\nsteps:\n  - nonsense: 1\n  - other: 2\n  - yaml: {files: 'a.yaml'}\n";
    let d = diagnostics(text);
    assert!(d.len() >= 2, "{d:?}");
    assert!(
        d.iter()
            .all(|x| std::sync::Arc::ptr_eq(x.source_text(), d[0].source_text())),
        "one shared source per file"
    );
}
