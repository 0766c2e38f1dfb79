//! Issue 10, "hostile content fails one target": files nested 100,000
//! levels deep, next to ordinary files, under every step that reads a
//! file's tree. The deep file is rejected and named; its neighbour is still
//! rewritten; the process lives.

use std::fs;
use std::path::{Path, PathBuf};

use crate::recipe::{ApplyOptions, Changes, Recipe};

/// How deep the hostile files nest.
const DEEP: usize = 100_000;

/// A temp dir holding `files` (path, content).
fn tree(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

fn apply(recipe: &str, files: &[(&str, String)]) -> Changes {
    let recipe = Recipe::from_str(Path::new("recipes/deep.yaml"), recipe).unwrap();
    let dir = tree(files);
    recipe
        .apply_with(dir.path(), &ApplyOptions::default())
        .unwrap()
}

/// `levels` in the message, written as the message writes it.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `deep` are rejected, each as too deeply nested at `levels` on `line`,
/// and `edited` are the files changed.
fn check(changes: &Changes, deep: &[(&str, usize, usize)], edited: &[&str]) {
    let rejected: Vec<(PathBuf, usize)> = changes
        .rejected
        .iter()
        .map(|r| (r.path.clone(), r.line))
        .collect();
    let wanted: Vec<(PathBuf, usize)> = deep
        .iter()
        .map(|(path, _, line)| (PathBuf::from(path), *line))
        .collect();
    assert_eq!(rejected, wanted, "{:#?}", changes.rejected);
    for (rejected, (_, levels, _)) in changes.rejected.iter().zip(deep) {
        let said = format!("too deeply nested: {} levels", thousands(*levels));
        assert!(
            rejected.message.contains(&said),
            "{}: {}",
            rejected.path.display(),
            rejected.message
        );
    }
    let changed: Vec<PathBuf> = changes.files.iter().map(|f| f.path.clone()).collect();
    let edited: Vec<PathBuf> = edited.iter().map(PathBuf::from).collect();
    assert_eq!(changed, edited);
}

fn brackets(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

#[test]
fn issue_10_a_json_file_100000_levels_deep_is_rejected_and_its_neighbour_edited() {
    let recipe = "\
id: deep
title: deep
steps:
  - json:
      files: ['**/*.json']
      edits:
        - set: engines.node
          value: '>=20'
";
    let changes = apply(
        recipe,
        &[
            ("app/deep.json", brackets("[", "1", "]", DEEP)),
            ("app/objects.json", brackets("{\"a\": ", "1", "}", DEEP)),
            ("app/package.json", "{\"name\": \"web\"}\n".to_string()),
        ],
    );
    check(
        &changes,
        &[("app/deep.json", DEEP, 1), ("app/objects.json", DEEP, 1)],
        &["app/package.json"],
    );
    assert_eq!(
        changes.files[0].after,
        "{\"name\": \"web\", \"engines\": {\"node\": \">=20\"}}\n"
    );
}

#[test]
fn issue_10_yaml_files_100000_levels_deep_are_rejected_and_their_neighbour_edited() {
    let recipe = "\
id: deep
title: deep
steps:
  - yaml:
      files: ['**/*.yaml']
      edits:
        - set: kind
          value: CronJob
";
    let changes = apply(
        recipe,
        &[
            // Block style: the parser itself dies on it, so it is refused
            // before parsing.
            ("k8s/dashes.yaml", format!("{}x\n", "- ".repeat(DEEP))),
            ("k8s/flow.yaml", brackets("[", "x", "]", DEEP)),
            ("k8s/job.yaml", "kind: Job\n".to_string()),
        ],
    );
    check(
        &changes,
        &[("k8s/dashes.yaml", DEEP, 1), ("k8s/flow.yaml", DEEP, 1)],
        &["k8s/job.yaml"],
    );
    assert_eq!(changes.files[0].after, "kind: CronJob\n");
}

#[test]
fn issue_10_hcl_files_100000_levels_deep_are_rejected_and_their_neighbour_edited() {
    let recipe = "\
id: deep
title: deep
steps:
  - hcl:
      files: ['**/*.tf']
      edits:
        - set: terraform.required_version
          value: '>= 1.5'
        - set: x
          value: [1]
";
    let blocks = format!("{}{}", "a {\n".repeat(DEEP), "}\n".repeat(DEEP));
    let changes = apply(
        recipe,
        &[
            ("infra/blocks.tf", blocks),
            (
                "infra/tuples.tf",
                format!("x = {}\n", brackets("[", "1", "]", DEEP)),
            ),
            (
                "infra/main.tf",
                "terraform {\n  required_version = \">= 1.0\"\n}\n".to_string(),
            ),
        ],
    );
    // The blocks pass the bound on the line of the 201st `a {`.
    check(
        &changes,
        &[("infra/blocks.tf", DEEP, 201), ("infra/tuples.tf", DEEP, 1)],
        &["infra/main.tf"],
    );
    assert_eq!(
        changes.files[0].after,
        "terraform {\n  required_version = \">= 1.5\"\n}\nx = [1]\n"
    );
}

#[test]
fn issue_10_toml_files_100000_levels_deep_are_rejected_and_their_neighbour_edited() {
    let recipe = "\
id: deep
title: deep
steps:
  - toml:
      files: ['**/*.toml']
      edits:
        - set: project.requires-python
          value: '>=3.12'
";
    // The root table is a level: `a = [[...]]` with 99,999 brackets nests
    // 100,000 levels, and so do 99,999 inline tables or dotted keys.
    let changes = apply(
        recipe,
        &[
            (
                "py/arrays.toml",
                format!("a = {}\n", brackets("[", "1", "]", DEEP - 1)),
            ),
            (
                "py/dotted.toml",
                format!("{}b = 1\n", "a.".repeat(DEEP - 1)),
            ),
            (
                "py/inline.toml",
                format!("a = {}\n", brackets("{b = ", "1", "}", DEEP - 1)),
            ),
            (
                "py/pyproject.toml",
                "[project]\nrequires-python = \">=3.8\"\n".to_string(),
            ),
        ],
    );
    check(
        &changes,
        &[
            ("py/arrays.toml", DEEP, 1),
            ("py/dotted.toml", DEEP, 1),
            ("py/inline.toml", DEEP, 1),
        ],
        &["py/pyproject.toml"],
    );
    assert_eq!(
        changes.files[0].after,
        "[project]\nrequires-python = \">=3.12\"\n"
    );
}

#[test]
fn issue_10_ast_grep_rules_survive_files_100000_levels_deep() {
    let recipe = "\
id: deep
title: deep
rules:
  - id: one-to-two
    language: json
    rule:
      pattern: '1'
    fix: '2'
  - id: print-to-log
    language: python
    rule:
      pattern: print($A)
    fix: log($A)
  - id: x-to-y
    language: yaml
    rule:
      pattern: x
    fix: y
";
    let changes = apply(
        recipe,
        &[
            ("deep.json", brackets("[", "1", "]", DEEP)),
            (
                "deep.py",
                format!("x = {}\n", brackets("(", "print(1)", ")", DEEP)),
            ),
            // tree-sitter-yaml's scanner aborts the process on this one.
            ("deep.yaml", format!("{}x\n", "- ".repeat(DEEP))),
            ("flow.yaml", brackets("[", "x", "]", DEEP)),
            ("ok.yaml", "- x\n".to_string()),
        ],
    );
    check(
        &changes,
        &[("deep.yaml", DEEP, 1)],
        &["deep.json", "deep.py", "flow.yaml", "ok.yaml"],
    );
    assert_eq!(changes.files[0].after, brackets("[", "2", "]", DEEP));
    assert_eq!(
        changes.files[1].after,
        format!("x = {}\n", brackets("(", "log(1)", ")", DEEP))
    );
    assert_eq!(changes.files[3].after, "- y\n");
}

#[test]
fn an_edit_that_would_nest_too_deeply_is_a_conflict_and_nothing_changes() {
    use serde_json::json;

    use super::depth::{MAX_DEPTH, TOML_LIMIT};
    use super::testing::set;
    use super::{EditError, Format, apply};

    let path = |n: usize| vec!["a"; n].join(".");
    // `n` levels of maps, the innermost holding `a: 1`.
    let json = |n: usize| format!("{}1{}", "{\"a\": ".repeat(n), "}".repeat(n));
    let yaml = |n: usize| -> String {
        let text: String = (1..n)
            .map(|i| format!("{}a:\n", " ".repeat(i - 1)))
            .collect();
        text + &" ".repeat(n - 1) + "a: 1\n"
    };
    // In HCL the file's body is no level: `a = {...}` nests the objects.
    let hcl = |n: usize| format!("a = {}1{}\n", "{ a = ".repeat(n), " }".repeat(n));
    // In TOML the root table is one.
    let toml = |n: usize| format!("a = {}1{}\n", "{ a = ".repeat(n - 1), " }".repeat(n - 1));
    // Setting the innermost `a` to `[[1]]` adds two levels to the deepest.
    for (format, text, keys, levels, limit) in [
        (
            Format::Json,
            json(MAX_DEPTH - 1),
            MAX_DEPTH - 1,
            MAX_DEPTH + 1,
            MAX_DEPTH,
        ),
        (
            Format::Yaml,
            yaml(MAX_DEPTH - 1),
            MAX_DEPTH - 1,
            MAX_DEPTH + 1,
            MAX_DEPTH,
        ),
        (
            Format::Hcl,
            hcl(MAX_DEPTH - 1),
            MAX_DEPTH,
            MAX_DEPTH + 1,
            MAX_DEPTH,
        ),
        (
            Format::Toml,
            toml(TOML_LIMIT),
            TOML_LIMIT,
            TOML_LIMIT + 2,
            TOML_LIMIT,
        ),
    ] {
        assert_eq!(apply(format, &text, &[]).map(|a| a.text), Ok(text.clone()));
        let edit = set(&path(keys), json!([[1]]));
        let err = apply(format, &text, &[edit]).unwrap_err();
        let EditError::Conflict { edit, message, .. } = &err else {
            panic!("{format:?}: {err}");
        };
        assert_eq!(*edit, 0, "{format:?}");
        let said = format!(
            "the result would be too deeply nested: {levels} levels (at most {limit} are read)"
        );
        assert_eq!(message, &said, "{format:?}");
    }
}
