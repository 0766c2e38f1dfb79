//! `recipe test`: a recipe's before/after fixtures.
//!
//! Each case is a folder of `fixtures/` (beside the recipe file) holding
//! `before/` (a repository tree), `after/` (what a reviewer expects the
//! recipe to make of it, written by hand) and optionally `case.yaml`
//! (`parameters`, `catalog` facts, `expect: not_applicable`). A case passes
//! when the recipe turns `before/` into exactly `after/`, rejects no file,
//! and a second application changes nothing. `run:` steps run their
//! commands in the sandbox given (each on its own scratch copy of the case).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use similar::TextDiff;

use super::{ApplyOptions, Facts, Recipe, RecipeError, Values};
use crate::sandbox::Policy;
use crate::yaml;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// The case's folder name.
    pub name: String,
    pub outcome: CaseOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    Passed,
    /// The result differs from `after/`: a unified diff from the expected
    /// tree to the one the recipe made.
    Differs(String),
    /// A second application changed more: its diff.
    NotIdempotent(String),
    /// The recipe failed, rejected a file, or (did not) apply against
    /// expectation; says which.
    Failed(String),
}

/// Why the fixtures could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("no fixtures: {} does not exist", .0.display())]
    NoFixtures(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `case.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    parameters: Values,
    catalog: Option<Facts>,
    expect: Option<Expect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Expect {
    Applies,
    NotApplicable,
}

/// Run every case under `dir` (default: `fixtures/` beside the recipe), in
/// name order.
pub(super) fn run(
    recipe: &Recipe,
    dir: Option<&Path>,
    sandbox: &Policy,
) -> Result<Vec<CaseReport>, FixtureError> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => recipe
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .join("fixtures"),
    };
    if !dir.is_dir() {
        return Err(FixtureError::NoFixtures(dir));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FixtureError::Io { path, source }
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(io(&dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    if cases.is_empty() {
        return Err(FixtureError::NoFixtures(dir.join("<case>/before")));
    }
    Ok(cases
        .iter()
        .map(|case| CaseReport {
            name: case
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            outcome: run_case(recipe, case, sandbox),
        })
        .collect())
}

fn run_case(recipe: &Recipe, case: &Path, sandbox: &Policy) -> CaseOutcome {
    match try_case(recipe, case, sandbox) {
        Ok(outcome) => outcome,
        Err(message) => CaseOutcome::Failed(message),
    }
}

fn try_case(recipe: &Recipe, case: &Path, sandbox: &Policy) -> Result<CaseOutcome, String> {
    let settings = case_file(case)?;
    let reloaded;
    let recipe = if settings.parameters.is_empty() {
        recipe
    } else {
        let mut values = recipe.values.clone();
        values.extend(settings.parameters.clone());
        reloaded = Recipe::load_with(&recipe.path, &values).map_err(|e| match e {
            RecipeError::Invalid(d) => d
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            e => e.to_string(),
        })?;
        &reloaded
    };
    let before = case.join("before");
    if !before.is_dir() {
        return Err(format!("{} is missing", before.display()));
    }
    let work = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    copy_tree(&before, work.path())?;
    let options = ApplyOptions {
        facts: settings.catalog.clone(),
        sandbox: sandbox.clone(),
        ..ApplyOptions::default()
    };
    let changes = recipe
        .apply_with(work.path(), &options)
        .map_err(|e| format!("the recipe failed: {e}"))?;
    let expected_applies = settings.expect != Some(Expect::NotApplicable);
    match (&changes.not_applicable, expected_applies) {
        (Some(_), false) => return Ok(CaseOutcome::Passed),
        (None, false) => {
            return Ok(CaseOutcome::Failed(
                "expected `not_applicable`, but the recipe's `applies_when` holds".to_string(),
            ));
        }
        (Some(reason), true) => {
            return Ok(CaseOutcome::Failed(format!(
                "the recipe does not apply: {reason}"
            )));
        }
        (None, true) => {}
    }
    if !changes.rejected.is_empty() {
        let lines: Vec<String> = changes
            .rejected
            .iter()
            .map(|r| {
                format!(
                    "{}:{}: {} ({})",
                    r.path.display(),
                    r.line,
                    r.message,
                    r.rule_ids.join(", ")
                )
            })
            .collect();
        return Ok(CaseOutcome::Failed(format!(
            "files left untouched:\n{}",
            lines.join("\n")
        )));
    }
    changes
        .write(work.path())
        .map_err(|e| format!("writing the result: {e}"))?;
    let after = case.join("after");
    if !after.is_dir() {
        return Err(format!(
            "{} is missing (a case the recipe does not apply to says `expect: not_applicable` in case.yaml)",
            after.display()
        ));
    }
    let diff = tree_diff(&after, work.path())?;
    if !diff.is_empty() {
        return Ok(CaseOutcome::Differs(diff));
    }
    let again = recipe
        .apply_with(work.path(), &options)
        .map_err(|e| format!("the second application failed: {e}"))?;
    if !again.is_empty() {
        return Ok(CaseOutcome::NotIdempotent(again.unified_diff()));
    }
    Ok(CaseOutcome::Passed)
}

fn case_file(case: &Path) -> Result<CaseFile, String> {
    let path = case.join("case.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(CaseFile::default());
    };
    let docs = yaml::documents(&text);
    match docs.iter().find(|d| !d.is_empty()) {
        Some(doc) => yaml::parse(&path, &text, doc).map_err(|d| {
            let help = d
                .help
                .as_ref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            format!("{d}{help}")
        }),
        None => Ok(CaseFile::default()),
    }
}

/// Copy the tree at `from` into `to`, symlinks as symlinks.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    for (rel, kind) in list(from)? {
        let (source, target) = (from.join(&rel), to.join(&rel));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let copied = match kind {
            Kind::File => std::fs::copy(&source, &target).map(|_| ()),
            Kind::Symlink => std::fs::read_link(&source)
                .and_then(|link| std::os::unix::fs::symlink(link, &target)),
        };
        copied.map_err(|e| format!("copying {}: {e}", source.display()))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Symlink,
}

/// Every file and symlink under `root` (relative paths), `.git` left out.
fn list(root: &Path) -> Result<BTreeMap<PathBuf, Kind>, String> {
    let mut out = BTreeMap::new();
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| e.to_string())?;
        let Some(kind) = entry.file_type().and_then(|t| {
            if t.is_symlink() {
                Some(Kind::Symlink)
            } else if t.is_file() {
                Some(Kind::File)
            } else {
                None
            }
        }) else {
            continue;
        };
        if let Ok(rel) = entry.path().strip_prefix(root) {
            out.insert(rel.to_path_buf(), kind);
        }
    }
    Ok(out)
}

/// A unified diff from the `expected` tree to the `actual` one (empty when
/// they are the same, byte for byte).
fn tree_diff(expected: &Path, actual: &Path) -> Result<String, String> {
    let (want, have) = (list(expected)?, list(actual)?);
    let mut paths: Vec<&PathBuf> = want.keys().chain(have.keys()).collect();
    paths.sort();
    paths.dedup();
    let read = |root: &Path, rel: &Path, present: bool| -> Result<Option<Vec<u8>>, String> {
        if !present {
            return Ok(None);
        }
        let path = root.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::read_link(&path)
                .map(|l| Some(format!("symlink -> {}", l.display()).into_bytes()))
                .map_err(|e| e.to_string()),
            _ => std::fs::read(&path).map(Some).map_err(|e| e.to_string()),
        }
    };
    let mut out = String::new();
    for rel in paths {
        let a = read(expected, rel, want.contains_key(rel))?;
        let b = read(actual, rel, have.contains_key(rel))?;
        if a == b {
            continue;
        }
        let name = rel.display();
        let text = |bytes: &Option<Vec<u8>>| {
            bytes
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let (old, new) = (
            if a.is_some() {
                format!("expected/{name}")
            } else {
                "/dev/null".into()
            },
            if b.is_some() {
                format!("actual/{name}")
            } else {
                "/dev/null".into()
            },
        );
        let (ta, tb) = (text(&a), text(&b));
        let diff = TextDiff::from_lines(&ta, &tb)
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string();
        if diff.is_empty() {
            out.push_str(&format!(
                "{name}: the files differ in bytes that are not lines (line endings, encoding)\n"
            ));
        } else {
            out.push_str(&diff);
            if !out.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    Ok(out)
}
