//! The kinds of step a recipe is made of, and the preconditions
//! (`applies_when`) that decide whether it applies to a tree at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ast_grep_language::Language;
use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

use super::apply::{self, Outcome};
use super::changes::RejectedFile;
use super::prefilter::{Prefilter, RuleFilter};
use super::run::{FileResult, FileText, Tree};
use super::structured::{self, Edit, EditError, Format};
use super::{ApplyError, Rule, SupportLang};
use crate::catalog::EntityRef;

/// One step of a recipe.
#[derive(Debug)]
pub struct Step {
    /// Says which step this is: `step 2 (yaml)`, or `python-logging-warn ›
    /// step 1 (ast-grep)` for a step of an included recipe.
    pub label: String,
    /// The preconditions of the included recipes this step comes from; the
    /// step runs only when all of them hold.
    pub(super) gates: Vec<Arc<Gate>>,
    pub(super) kind: StepKind,
}

/// The `applies_when` of an included recipe.
#[derive(Debug)]
pub(super) struct Gate {
    pub conditions: Vec<Condition>,
}

#[derive(Debug)]
pub(super) enum StepKind {
    /// ast-grep rules, all run on each file in one pass (one parse); the
    /// prefilter skips files none of them can match without parsing them.
    AstGrep {
        rules: Vec<Rule>,
        prefilter: Prefilter,
    },
    /// Key-path edits of a configuration format.
    Edit {
        format: Format,
        files: FileSet,
        /// `(label, edit)`.
        edits: Vec<(String, Edit)>,
    },
    /// Regex replacements.
    Text {
        files: FileSet,
        replaces: Vec<Replace>,
    },
    /// Files added, moved and deleted, in order.
    Files(Vec<FileOp>),
    /// A command run in a sandbox on a copy of the tree; what it changed
    /// becomes the step's change.
    Run(RunCommand),
}

/// A `run:` step: a shell command (`go mod tidy`), run with `sh -c` in a
/// scratch copy of the tree, in the sandbox of [`super::ApplyOptions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RunCommand {
    pub command: String,
    /// Whether it may use the network (default: no).
    pub network: bool,
    pub timeout: std::time::Duration,
}

impl RunCommand {
    /// The command in one short line, for labels: `go mod tidy`.
    pub fn short(&self) -> String {
        let first = self.command.trim().lines().next().unwrap_or_default();
        let mut short: String = first.chars().take(60).collect();
        if short.len() < first.len() || self.command.trim().lines().count() > 1 {
            short.push('…');
        }
        short
    }
}

/// One regex replacement of a `text` step.
#[derive(Debug)]
pub(super) struct Replace {
    pub label: String,
    pub pattern: Regex,
    /// The replacement, with `$1`/`${name}` for the pattern's groups.
    pub with: String,
}

/// One operation of a `files` step. Paths are plain relative paths (checked
/// when the recipe is loaded).
#[derive(Debug)]
pub(super) enum FileOp {
    /// Create `path` with `content` unless something is already there.
    Add {
        label: String,
        path: PathBuf,
        content: String,
    },
    /// Move `from` to `to` when `from` exists; `to` existing too is refused.
    Move {
        label: String,
        from: PathBuf,
        to: PathBuf,
    },
    /// Delete every file the globs select.
    Delete { label: String, files: FileSet },
}

/// Globs on paths relative to the root of the tree: `*` stays within one
/// folder, `**` crosses folders, `{a,b}` is either.
#[derive(Debug, Clone)]
pub struct FileSet {
    include: GlobSet,
    exclude: GlobSet,
    /// The globs as written, to say which ones in messages.
    pub written: Vec<String>,
}

impl FileSet {
    /// Compile `include` and `exclude`; an error names the bad glob.
    pub fn new(include: &[String], exclude: &[String]) -> Result<FileSet, String> {
        Ok(FileSet {
            include: glob_set(include)?,
            exclude: glob_set(exclude)?,
            written: include.to_vec(),
        })
    }

    pub fn matches(&self, rel: &Path) -> bool {
        self.include.is_match(rel) && !self.exclude.is_match(rel)
    }
}

/// One glob, compiled the way every glob of a recipe is.
pub fn glob(pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(pattern.trim_start_matches("./"))
        .literal_separator(true)
        .build()
        .map_err(|e| format!("`{pattern}` is not a valid glob: {}", e.kind()))
}

fn glob_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder.add(glob(pattern)?);
    }
    builder.build().map_err(|e| e.to_string())
}

/// A precondition of a recipe (`applies_when`).
#[derive(Debug)]
pub enum Condition {
    /// Some file matches the globs.
    Files(FileSet),
    /// Some file the globs select matches the regex.
    Contains { files: FileSet, pattern: Regex },
    /// The target's catalog entity has these properties.
    Catalog(CatalogCondition),
}

/// Properties of a catalog entity a recipe may require; each list is any-of,
/// an empty list is no requirement.
#[derive(Debug, Default, Clone)]
pub struct CatalogCondition {
    pub spec_type: Vec<String>,
    pub lifecycle: Vec<String>,
    pub tags: Vec<String>,
    pub owner: Vec<String>,
    pub system: Vec<String>,
}

/// What the catalog says about a target, for [`CatalogCondition`]s.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    #[serde(default, rename = "type")]
    pub spec_type: String,
    #[serde(default)]
    pub lifecycle: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The owner's entity ref (`group:default/payments`).
    #[serde(default)]
    pub owner: String,
    /// The system's entity ref, if any.
    #[serde(default)]
    pub system: Option<String>,
}

impl Condition {
    /// Why the condition does not hold on `tree`, or `None` when it holds.
    /// Catalog conditions hold when there are no `facts` (a folder outside
    /// any campaign).
    pub(super) fn unmet(
        &self,
        tree: &mut Tree,
        facts: Option<&Facts>,
    ) -> Result<Option<String>, ApplyError> {
        match self {
            Condition::Files(files) => Ok((!tree.paths().any(|p| files.matches(p)))
                .then(|| format!("no file matches {}", files.written.join(", ")))),
            Condition::Contains { files, pattern } => {
                let candidates = tree.candidates(None, |p| files.matches(p));
                for rel in candidates {
                    if tree.text(&rel)?.is_some_and(|t| pattern.is_match(t)) {
                        return Ok(None);
                    }
                }
                Ok(Some(format!(
                    "no file matching {} contains /{}/",
                    files.written.join(", "),
                    pattern.as_str()
                )))
            }
            Condition::Catalog(wanted) => Ok(facts.and_then(|f| wanted.unmet(f))),
        }
    }
}

impl CatalogCondition {
    fn unmet(&self, facts: &Facts) -> Option<String> {
        let system = facts.system.as_deref().unwrap_or("");
        let tags: Vec<&str> = facts.tags.iter().map(String::as_str).collect();
        // (what, wanted, what the catalog has, the kind of an entity ref)
        let checks = [
            (
                "type",
                &self.spec_type,
                vec![facts.spec_type.as_str()],
                None,
            ),
            (
                "lifecycle",
                &self.lifecycle,
                vec![facts.lifecycle.as_str()],
                None,
            ),
            ("tags", &self.tags, tags, None),
            (
                "owner",
                &self.owner,
                vec![facts.owner.as_str()],
                Some("group"),
            ),
            ("system", &self.system, vec![system], Some("system")),
        ];
        checks
            .into_iter()
            .find(|(_, wanted, have, kind)| {
                !wanted.is_empty()
                    && !wanted
                        .iter()
                        .any(|w| have.iter().any(|h| same(w, h, *kind)))
            })
            .map(|(what, wanted, have, _)| {
                format!(
                    "the catalog's {what} is {}, not {}",
                    if have.iter().all(|h| h.is_empty()) {
                        "unset".to_string()
                    } else {
                        have.join(", ")
                    },
                    wanted.join(" or ")
                )
            })
    }
}

/// Whether a wanted value names what the catalog has: case-insensitively,
/// and for an entity ref (`kind` given) with its defaults filled in on both
/// sides (`payments`, `group:payments` and `default/payments` all name
/// `group:default/payments`).
fn same(wanted: &str, have: &str, kind: Option<&str>) -> bool {
    if wanted.eq_ignore_ascii_case(have) {
        return true;
    }
    let Some(kind) = kind else {
        return false;
    };
    let parse =
        |s: &str| EntityRef::parse(s, kind, "default").map(|r| r.to_string().to_ascii_lowercase());
    matches!((parse(wanted), parse(have)), (Ok(a), Ok(b)) if a == b)
}

impl Step {
    /// Run the step on the files that changed at or after generation
    /// `since` (all files when `None`).
    pub(super) fn run(&self, tree: &mut Tree, since: Option<u64>) -> Result<(), ApplyError> {
        match &self.kind {
            StepKind::AstGrep { rules, prefilter } => {
                let wanted = |rel: &Path| {
                    SupportLang::from_path(rel).is_some()
                        && rules.iter().any(|r| r.config_for(rel).is_some())
                };
                // Each file leaves this step at its own fixed point, so what
                // the step itself changed needs no second look.
                let rels = tree.candidates(since.map(|g| g + 1), wanted);
                tree.rewrite(rels, |file| ast_grep(rules, prefilter, file))
            }
            StepKind::Edit {
                format,
                files,
                edits,
            } => {
                let rels = tree.candidates(since, |rel| files.matches(rel));
                tree.rewrite(rels, |file| Ok(edit(*format, edits, file)))
            }
            StepKind::Text { files, replaces } => {
                let rels = tree.candidates(since, |rel| files.matches(rel));
                tree.rewrite(rels, |file| Ok(text(replaces, file)))
            }
            // Runs once, in the first pass: adds, moves and deletes are not
            // rewrites to repeat (a later pass would re-add what a move took
            // away, or undo a delete-then-add).
            StepKind::Files(ops) if since.is_none() => {
                ops.iter().try_for_each(|op| file_op(op, tree))
            }
            StepKind::Files(_) => Ok(()),
            // Again only when another step changed the tree since it ran
            // (what it changed itself is its own result).
            StepKind::Run(command) => {
                if since.is_some_and(|g| !tree.changed_after(g)) {
                    return Ok(());
                }
                tree.run_command(&self.label, command)
            }
        }
    }
}

impl StepKind {
    /// An ast-grep step of `rules`.
    pub(super) fn ast_grep(rules: Vec<Rule>) -> StepKind {
        let prefilter = Prefilter::new(rules.iter().map(|r| (&r.needs, &r.within)));
        StepKind::AstGrep { rules, prefilter }
    }
}

/// The step's rules on one file: only those whose globs select it, and none
/// at all (no parse) when the prefilter says none can match.
fn ast_grep(
    rules: &[Rule],
    prefilter: &Prefilter,
    file: FileText,
) -> Result<FileResult, ApplyError> {
    let Some(language) = SupportLang::from_path(file.rel) else {
        return Ok(FileResult::Unchanged);
    };
    let (numbers, configs): (Vec<usize>, Vec<_>) = rules
        .iter()
        .enumerate()
        .filter_map(|(n, r)| Some((n, r.config_for(file.rel)?)))
        .unzip();
    let filter = RuleFilter {
        prefilter,
        numbers: &numbers,
    };
    let may = super::profile::time(super::profile::Step::Prefilter, || filter.active(file.text));
    if !may.contains(&true) {
        return Ok(FileResult::Unchanged);
    }
    Ok(
        match apply::rewrite(file.rel, language, &configs, (&filter, &may), file.text)? {
            Outcome::Unchanged => FileResult::Unchanged,
            Outcome::Changed(change) => FileResult::Changed {
                text: change.after,
                matches: change.matches,
            },
            Outcome::Rejected(rejected) => FileResult::Rejected(rejected),
        },
    )
}

fn edit(format: Format, edits: &[(String, Edit)], file: FileText) -> FileResult {
    let plain: Vec<Edit> = edits.iter().map(|(_, e)| e.clone()).collect();
    match structured::apply(format, file.text, &plain) {
        Ok(applied) if applied.text == file.text => FileResult::Unchanged,
        Ok(applied) => FileResult::Changed {
            text: applied.text,
            matches: edits
                .iter()
                .zip(applied.counts)
                .filter(|(_, n)| *n > 0)
                .map(|((label, _), n)| (label.clone(), n))
                .collect(),
        },
        Err(error) => {
            let (line, rule_ids) = match &error {
                // The file, not an edit, is at fault: name the step once
                // (`step 1 (yaml)` of `step 1 (yaml): set a.b`).
                EditError::Parse { line, .. } | EditError::TooDeep { line, .. } => {
                    let mut steps: Vec<String> = Vec::new();
                    for (label, _) in edits {
                        let step = label.split_once(": ").map_or(label.as_str(), |(s, _)| s);
                        if !steps.iter().any(|s| s == step) {
                            steps.push(step.to_string());
                        }
                    }
                    (*line, steps)
                }
                EditError::Conflict { edit, line, .. } => (
                    *line,
                    edits
                        .get(*edit)
                        .map(|(l, _)| l.clone())
                        .into_iter()
                        .collect(),
                ),
            };
            FileResult::Rejected(RejectedFile {
                path: file.rel.to_path_buf(),
                rule_ids,
                line,
                message: error.to_string(),
            })
        }
    }
}

fn text(replaces: &[Replace], file: FileText) -> FileResult {
    let mut current = file.text.to_string();
    let mut matches = Vec::new();
    for replace in replaces {
        let mut count = 0;
        let next = replace
            .pattern
            .replace_all(&current, |captures: &regex::Captures| {
                let mut out = String::new();
                captures.expand(&replace.with, &mut out);
                count += usize::from(out != captures[0]);
                out
            })
            .into_owned();
        if count > 0 {
            matches.push((replace.label.clone(), count));
            current = next;
        }
    }
    if matches.is_empty() {
        FileResult::Unchanged
    } else {
        FileResult::Changed {
            text: current,
            matches,
        }
    }
}

fn file_op(op: &FileOp, tree: &mut Tree) -> Result<(), ApplyError> {
    match op {
        FileOp::Add {
            label,
            path,
            content,
        } => {
            if tree.exists(path) {
                return Ok(());
            }
            match tree.new_path_problem(path) {
                Some(problem) => tree.reject(RejectedFile {
                    path: path.clone(),
                    rule_ids: vec![label.clone()],
                    line: 1,
                    message: format!("cannot create it: {problem}"),
                }),
                None => tree.create(path, content.clone(), label),
            }
        }
        FileOp::Move { label, from, to } => {
            if !tree.contains(from) {
                return Ok(());
            }
            let refuse = |message: &str| RejectedFile {
                path: from.clone(),
                rule_ids: vec![label.clone()],
                line: 1,
                message: message.to_string(),
            };
            if tree.exists(to) {
                tree.reject(refuse(&format!(
                    "cannot move it to {}: something is already there",
                    to.display()
                )));
                return Ok(());
            }
            if let Some(problem) = tree.new_path_problem(to) {
                tree.reject(refuse(&format!(
                    "cannot move it to {}: {problem}",
                    to.display()
                )));
                return Ok(());
            }
            let Some(text) = tree.text(from)?.map(str::to_string) else {
                tree.reject(refuse(
                    "cannot move it: only text files (UTF-8, not too large) can be moved",
                ));
                return Ok(());
            };
            tree.create(to, text, label);
            tree.delete(from, label)?;
        }
        FileOp::Delete { label, files } => {
            for rel in tree.candidates(None, |rel| files.matches(rel)) {
                tree.delete(&rel, label)?;
            }
        }
    }
    Ok(())
}

impl Step {
    /// The step in a few words: `ast-grep (3 rules)`, `yaml (2 edits)`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        let what = match &self.kind {
            StepKind::AstGrep { rules, .. } => {
                format!("ast-grep ({})", plural(rules.len(), "rule"))
            }
            StepKind::Edit { format, edits, .. } => {
                format!("{} ({})", format.name(), plural(edits.len(), "edit"))
            }
            StepKind::Text { replaces, .. } => {
                format!("text ({})", plural(replaces.len(), "replacement"))
            }
            StepKind::Files(ops) => format!("files ({})", plural(ops.len(), "operation")),
            StepKind::Run(command) => format!("run ({})", command.short()),
        };
        match self.label.split_once(" › ") {
            Some((included, _)) => format!("{what} from {included}"),
            None => what,
        }
    }

    /// Whether the step runs a command (`run:`), which needs a sandbox.
    pub fn runs_command(&self) -> bool {
        matches!(self.kind, StepKind::Run(_))
    }

    /// The ast-grep rules of the step (none for other kinds).
    pub fn rules(&self) -> &[Rule] {
        match &self.kind {
            StepKind::AstGrep { rules, .. } => rules,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::recipe::structured::{KeyPath, Op};

    /// `(label, set path 1)` as a recipe's loader would label it.
    fn labelled(step: &str, path: &str) -> (String, Edit) {
        let edit = Edit {
            op: Op::Set,
            path: KeyPath::parse(path).unwrap(),
            value: Some(serde_json::json!(1)),
            to: None,
            when: None,
            where_: Vec::new(),
        };
        (format!("{step}: set {path}"), edit)
    }

    #[test]
    fn a_file_that_does_not_parse_names_its_step_once() {
        let edits = [
            labelled("step 2 (yaml)", "a.b"),
            labelled("step 2 (yaml)", "a: c"),
        ];
        let file = FileText {
            rel: Path::new("x.yaml"),
            text: "a: 1\nb: [unclosed\n",
        };
        let FileResult::Rejected(rejected) = edit(Format::Yaml, &edits, file) else {
            panic!("expected a rejected file");
        };
        assert_eq!(rejected.rule_ids, ["step 2 (yaml)"]);
        assert_eq!(rejected.line, 2);
    }
}
