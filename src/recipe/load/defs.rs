//! The steps and preconditions of a recipe as written, and their checks:
//! every glob, regex, key path and file path is validated when the recipe
//! is loaded, each problem at its place in the file. No path a recipe names
//! (globs, file operations, rule files, included recipes) may hold a NUL or
//! another control character; a `run:` command is a command, not a path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::{Diagnostics, RuleFile, RuleIds, compile, isolate, item_start, keep_errors, rule_file};
use crate::diag::FileDiagnostic;
use crate::recipe::params::Values;
use crate::recipe::steps::{
    CatalogCondition, Condition, FileOp, FileSet, Gate, Replace, RunCommand, Step, StepKind,
};
use crate::recipe::structured::{Edit, Format, KeyPath, Op};
use crate::recipe::{Recipe, RecipeError, Rule};
use crate::sandbox::Amount;
use crate::yaml::{self, Document, OneOrMany, Spanned};

/// One item of `steps:`: a map with one key, the kind of step.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum StepDef {
    AstGrep(AstGrepDef),
    Yaml(EditStepDef),
    Json(EditStepDef),
    Toml(EditStepDef),
    Hcl(EditStepDef),
    Text(TextDef),
    Files(Vec<Spanned<FileOpDef>>),
    Include(IncludeDef),
    Run(RunDef),
}

impl StepDef {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            StepDef::AstGrep(_) => "ast-grep",
            StepDef::Yaml(_) => "yaml",
            StepDef::Json(_) => "json",
            StepDef::Toml(_) => "toml",
            StepDef::Hcl(_) => "hcl",
            StepDef::Text(_) => "text",
            StepDef::Files(_) => "files",
            StepDef::Include(_) => "include",
            StepDef::Run(_) => "run",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AstGrepDef {
    rules: Option<Spanned<Vec<Spanned<IgnoredAny>>>>,
    file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditStepDef {
    files: Spanned<OneOrMany>,
    ignores: Option<Spanned<OneOrMany>>,
    edits: Spanned<Vec<Spanned<EditDef>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditDef {
    set: Option<Spanned<String>>,
    ensure: Option<Spanned<String>>,
    rename: Option<Spanned<String>>,
    delete: Option<Spanned<String>>,
    append: Option<Spanned<String>>,
    value: Option<Spanned<Value>>,
    to: Option<Spanned<String>>,
    when: Option<Spanned<String>>,
    #[serde(rename = "where")]
    where_: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TextDef {
    files: Spanned<OneOrMany>,
    ignores: Option<Spanned<OneOrMany>>,
    replace: Spanned<Vec<Spanned<ReplaceDef>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceDef {
    pattern: Spanned<String>,
    with: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileOpDef {
    add: Option<Spanned<String>>,
    content: Option<String>,
    #[serde(rename = "move")]
    move_: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    delete: Option<Spanned<OneOrMany>>,
}

/// `run: go mod tidy`, or `run: {command, network, timeout}`.
pub(super) enum RunDef {
    Short(String),
    Full(RunMapDef),
}

/// By hand rather than `untagged`, so that a mistake inside the map
/// (`netwrok:`) is reported as itself.
impl<'de> Deserialize<'de> for RunDef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RunDef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a command (`go mod tidy`), or {command, network, timeout}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RunDef, E> {
                Ok(RunDef::Short(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RunDef, A::Error> {
                RunMapDef::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RunDef::Full)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunMapDef {
    command: Spanned<String>,
    #[serde(default)]
    network: bool,
    timeout: Option<Spanned<Amount>>,
}

/// How long a `run:` command may take when its step does not say.
const RUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IncludeDef {
    recipe: Spanned<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

/// One item of `applies_when:`.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum ConditionDef {
    Files(OneOrMany),
    Contains(ContainsDef),
    Catalog(CatalogDef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContainsDef {
    files: OneOrMany,
    pattern: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogDef {
    #[serde(default, rename = "type")]
    spec_type: Option<OneOrMany>,
    #[serde(default)]
    lifecycle: Option<OneOrMany>,
    #[serde(default)]
    tags: Option<OneOrMany>,
    #[serde(default)]
    owner: Option<OneOrMany>,
    #[serde(default)]
    system: Option<OneOrMany>,
}

/// The steps one item of `steps:` became (an include becomes several), and
/// the ids of the rules written inline.
pub(super) struct Built {
    pub steps: Vec<Step>,
    pub ids: Vec<(String, usize)>,
}

/// The recipe being read: its file, substituted text and document.
pub(super) struct Context<'a> {
    pub path: &'a Path,
    pub text: &'a crate::diag::Source,
    pub doc: &'a Document<'a>,
    /// What the recipe is made of besides its own text (rule files read,
    /// fingerprints of included recipes), for its fingerprint.
    pub sources: std::cell::RefCell<Vec<String>>,
}

impl Context<'_> {
    fn at<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> FileDiagnostic {
        yaml::diagnostic_at(self.path, self.text, self.doc, value, message)
    }

    /// A diagnostic at `offset` inside the scalar `value` (a key path or a
    /// regex), when the file holds the scalar as written; else at the value.
    fn inside(&self, value: &Spanned<String>, offset: usize, message: String) -> FileDiagnostic {
        let (start, _) = yaml::location_in_file(self.text, self.doc, &value.referenced);
        let rest = &self.text.text()[start..];
        let quoted = rest.starts_with(['"', '\'']);
        let body = &rest[usize::from(quoted)..];
        if body.starts_with(value.value.as_str()) {
            let at = start + usize::from(quoted) + offset;
            FileDiagnostic::at_offset(self.path, self.text, at, 1, message)
        } else {
            self.at(value, message)
        }
    }

    fn regex(&self, value: &Spanned<String>) -> Result<Regex, FileDiagnostic> {
        Regex::new(&value.value).map_err(|e| {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string();
            self.at(
                value,
                format!("`{}` is not a valid regex: {first}", value.value),
            )
            .with_help("regexes use Rust's syntax: https://docs.rs/regex/latest/regex/#syntax")
        })
    }

    /// Refuse a path (or glob) holding a NUL or another control character,
    /// at `value`'s place (at the character itself when the file holds the
    /// text as written).
    fn plain_text(&self, value: &Spanned<String>, what: &str) -> Result<(), FileDiagnostic> {
        match control(&value.value) {
            Some((offset, c)) => Err(self
                .inside(value, offset, control_message(&value.value, c, what))
                .with_help(CONTROL_HELP)),
            None => Ok(()),
        }
    }

    /// [`Context::plain_text`] for a list of paths or globs at `place`.
    fn plain_texts<T>(
        &self,
        place: &Spanned<T>,
        values: &[String],
        what: &str,
    ) -> Result<(), FileDiagnostic> {
        for value in values {
            if let Some((_, c)) = control(value) {
                return Err(self
                    .at(place, control_message(value, c, what))
                    .with_help(CONTROL_HELP));
            }
        }
        Ok(())
    }

    fn file_set(
        &self,
        files: &Spanned<OneOrMany>,
        ignores: Option<&Spanned<OneOrMany>>,
    ) -> Result<FileSet, FileDiagnostic> {
        let include = files.value.clone().into_vec();
        let exclude = ignores
            .map(|i| i.value.clone().into_vec())
            .unwrap_or_default();
        self.plain_texts(files, &include, "files")?;
        if let Some(ignores) = ignores {
            self.plain_texts(ignores, &exclude, "ignores")?;
        }
        let help = "globs are relative to the repository root: `*` stays in one folder, `**` crosses folders, `{a,b}` is either";
        if include.is_empty() {
            return Err(self.at(files, "`files` is empty").with_help(help));
        }
        FileSet::new(&include, &exclude).map_err(|e| {
            let place = match ignores {
                Some(i) if FileSet::new(&include, &[]).is_ok() => i,
                _ => files,
            };
            self.at(place, e).with_help(help)
        })
    }

    /// One precondition.
    pub(super) fn condition(&self, def: &Spanned<ConditionDef>) -> Result<Condition, Diagnostics> {
        let help = "globs are relative to the repository root: `*` stays in one folder, `**` crosses folders";
        match &def.value {
            ConditionDef::Files(files) => {
                let globs = files.clone().into_vec();
                self.plain_texts(def, &globs, "files")
                    .map_err(|d| vec![d])?;
                FileSet::new(&globs, &[])
                    .map(Condition::Files)
                    .map_err(|e| vec![self.at(def, e).with_help(help)])
            }
            ConditionDef::Contains(contains) => {
                let globs = contains.files.clone().into_vec();
                self.plain_texts(def, &globs, "files")
                    .map_err(|d| vec![d])?;
                let files =
                    FileSet::new(&globs, &[]).map_err(|e| vec![self.at(def, e).with_help(help)])?;
                let pattern = self.regex(&contains.pattern).map_err(|d| vec![d])?;
                Ok(Condition::Contains { files, pattern })
            }
            ConditionDef::Catalog(catalog) => {
                let list =
                    |v: &Option<OneOrMany>| v.clone().map(OneOrMany::into_vec).unwrap_or_default();
                Ok(Condition::Catalog(CatalogCondition {
                    spec_type: list(&catalog.spec_type),
                    lifecycle: list(&catalog.lifecycle),
                    tags: list(&catalog.tags),
                    owner: list(&catalog.owner),
                    system: list(&catalog.system),
                }))
            }
        }
    }

    /// The ast-grep rules of a `rules:` list, and the offsets of their ids.
    pub(super) fn inline_rules(
        &self,
        items: &[Spanned<IgnoredAny>],
        problems: &mut Diagnostics,
    ) -> (Vec<Rule>, Vec<(String, usize)>) {
        let mut rules = Vec::new();
        let mut ids = Vec::new();
        for item in items {
            let entry = isolate(self.doc, item_start(self.doc, &item.referenced));
            if let Some((rule, offset)) =
                keep_errors(compile(self.path, self.text, &entry), problems)
            {
                ids.push((rule.id.clone(), offset));
                rules.push(rule);
            }
        }
        (rules, ids)
    }

    /// One item of `steps:`.
    pub(super) fn step(
        &self,
        label: &str,
        def: &Spanned<StepDef>,
        stack: &mut Vec<PathBuf>,
    ) -> Result<Built, Diagnostics> {
        let single = |kind| {
            Ok(Built {
                steps: vec![Step {
                    label: label.to_string(),
                    gates: Vec::new(),
                    kind,
                }],
                ids: Vec::new(),
            })
        };
        match &def.value {
            StepDef::AstGrep(ast_grep) => {
                let (rules, ids) = self.ast_grep(def, ast_grep)?;
                Ok(Built {
                    steps: vec![Step {
                        label: label.to_string(),
                        gates: Vec::new(),
                        kind: StepKind::ast_grep(rules),
                    }],
                    ids,
                })
            }
            StepDef::Yaml(e) => single(self.edit_step(Format::Yaml, label, e)?),
            StepDef::Json(e) => single(self.edit_step(Format::Json, label, e)?),
            StepDef::Toml(e) => single(self.edit_step(Format::Toml, label, e)?),
            StepDef::Hcl(e) => single(self.edit_step(Format::Hcl, label, e)?),
            StepDef::Text(t) => single(self.text_step(label, t)?),
            StepDef::Files(ops) => single(self.files_step(label, def, ops)?),
            StepDef::Include(include) => self.include(include, stack),
            StepDef::Run(run) => single(self.run_step(def, run).map_err(|d| vec![d])?),
        }
    }

    /// A `run:` step: a command, whether it may use the network, its timeout.
    fn run_step(&self, def: &Spanned<StepDef>, run: &RunDef) -> Result<StepKind, FileDiagnostic> {
        let help = "for example `- run: go mod tidy`, or `- run: {command: \"npm install --package-lock-only\", network: true, timeout: 5m}`";
        let (command, network, timeout) = match run {
            RunDef::Short(command) => (command.clone(), false, None),
            RunDef::Full(full) => (
                full.command.value.clone(),
                full.network,
                full.timeout.as_ref(),
            ),
        };
        if command.trim().is_empty() {
            let d = match run {
                RunDef::Full(full) => self.at(&full.command, "the `run` command is empty"),
                RunDef::Short(_) => self.at(def, "the `run` command is empty"),
            };
            return Err(d.with_help(help));
        }
        let timeout = match timeout {
            Some(t) => t.value.duration().map_err(|e| {
                self.at(t, format!("`run` timeout: {e}"))
                    .with_help("seconds (`600`) or a number with s, m or h (`5m`)")
            })?,
            None => RUN_TIMEOUT,
        };
        Ok(StepKind::Run(RunCommand {
            command,
            network,
            timeout,
        }))
    }

    fn ast_grep(
        &self,
        def: &Spanned<StepDef>,
        ast_grep: &AstGrepDef,
    ) -> Result<(Vec<Rule>, RuleIds), Diagnostics> {
        match (&ast_grep.rules, &ast_grep.file) {
            (Some(rules), None) => {
                let mut problems = Vec::new();
                if rules.value.is_empty() {
                    problems.push(
                        self.at(rules, "`rules` is empty")
                            .with_help("an ast-grep step needs at least one rule with a `fix`"),
                    );
                }
                let (compiled, ids) = self.inline_rules(&rules.value, &mut problems);
                if problems.is_empty() {
                    Ok((compiled, ids))
                } else {
                    Err(problems)
                }
            }
            (None, Some(file)) => {
                self.plain_text(file, "file").map_err(|d| vec![d])?;
                let path = self.beside(&file.value);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    vec![
                        self.at(
                            file,
                            format!("cannot read the rule file {}: {e}", path.display()),
                        )
                        .with_help("`file` is relative to the recipe"),
                    ]
                })?;
                self.sources.borrow_mut().push(text.clone());
                let source = crate::diag::Source::new(text);
                let all = yaml::documents(source.text());
                let docs: Vec<&Document> = all.iter().filter(|d| !d.is_empty()).collect();
                let RuleFile {
                    rules,
                    ids,
                    mut problems,
                    ..
                } = rule_file(&path, &source, &docs);
                problems.extend(super::duplicate_ids(&path, &source, &ids));
                if rules.is_empty() && problems.is_empty() {
                    problems.push(self.at(file, format!("{} holds no rule", path.display())));
                }
                if problems.is_empty() {
                    Ok((rules, Vec::new()))
                } else {
                    Err(problems)
                }
            }
            _ => Err(vec![
                self.at(
                    def,
                    "an `ast-grep` step has either `rules` (a list) or `file` (a rule file)",
                )
                .with_help("for example `- ast-grep: {file: rules/logging.yml}`"),
            ]),
        }
    }

    /// `relative` to the recipe's folder.
    fn beside(&self, relative: &str) -> PathBuf {
        self.path.parent().unwrap_or(Path::new(".")).join(relative)
    }

    fn edit_step(
        &self,
        format: Format,
        label: &str,
        def: &EditStepDef,
    ) -> Result<StepKind, Diagnostics> {
        let mut problems = Vec::new();
        let files = keep_errors(
            self.file_set(&def.files, def.ignores.as_ref())
                .map_err(|d| vec![d]),
            &mut problems,
        );
        if def.edits.value.is_empty() {
            problems.push(self.at(&def.edits, "`edits` is empty").with_help(EDIT_HELP));
        }
        let edits: Vec<(String, Edit)> = def
            .edits
            .value
            .iter()
            .filter_map(|e| keep_errors(self.edit(format, e).map_err(|d| vec![d]), &mut problems))
            .map(|edit| {
                let name = format!("{label}: {} {}", edit.op.name(), edit.path);
                (name, edit)
            })
            .collect();
        match files {
            Some(files) if problems.is_empty() => Ok(StepKind::Edit {
                format,
                files,
                edits,
            }),
            _ => Err(problems),
        }
    }

    fn edit(&self, format: Format, def: &Spanned<EditDef>) -> Result<Edit, FileDiagnostic> {
        let e = &def.value;
        let ops = [
            (Op::Set, &e.set),
            (Op::Ensure, &e.ensure),
            (Op::Rename, &e.rename),
            (Op::Delete, &e.delete),
            (Op::Append, &e.append),
        ];
        let given: Vec<_> = ops
            .iter()
            .filter_map(|(op, p)| p.as_ref().map(|p| (*op, p)))
            .collect();
        let (op, path_text) = match given.as_slice() {
            [one] => *one,
            [] => {
                return Err(self
                    .at(
                        def,
                        format!("this {} edit says no operation", format.name()),
                    )
                    .with_help(EDIT_HELP));
            }
            [_, (second, p), ..] => {
                return Err(self
                    .at(
                        *p,
                        format!(
                            "an edit has one operation; this one also says `{}`",
                            second.name()
                        ),
                    )
                    .with_help("split it into two edits"));
            }
        };
        let path = KeyPath::parse(&path_text.value).map_err(|err| {
            self.inside(path_text, err.offset, format!("bad key path `{}`: {}", path_text.value, err.message))
                .with_help("a key path is keys and indexes: `jobs.*.steps[*].uses`, `\"app.kubernetes.io/name\"`, `items[-1]`")
        })?;
        let needs_value = matches!(op, Op::Set | Op::Ensure | Op::Append);
        match (&e.value, needs_value) {
            (None, true) => {
                return Err(self
                    .at(path_text, format!("`{}` needs a `value`", op.name()))
                    .with_help("add `value: ...` to this edit"));
            }
            (Some(v), false) => {
                return Err(self
                    .at(v, format!("`{}` takes no `value`", op.name()))
                    .with_help("remove `value`"));
            }
            _ => {}
        }
        match (&e.to, op) {
            (None, Op::Rename) => {
                return Err(self
                    .at(path_text, "`rename` needs `to`, the new key")
                    .with_help("add `to: new-key` to this edit"));
            }
            (Some(to), op) if op != Op::Rename => {
                return Err(self.at(to, format!("`{}` takes no `to`", op.name())));
            }
            _ => {}
        }
        let when = e.when.as_ref().map(|w| self.regex(w)).transpose()?;
        let mut where_ = Vec::new();
        if let Some(conditions) = &e.where_ {
            for (key, pattern) in &conditions.value {
                let path = KeyPath::parse(key).map_err(|err| {
                    self.at(
                        conditions,
                        format!("bad key path `{key}` in `where`: {}", err.message),
                    )
                })?;
                let regex = Regex::new(pattern).map_err(|err| {
                    self.at(
                        conditions,
                        format!("`{pattern}` (for `{key}`) is not a valid regex: {err}"),
                    )
                })?;
                where_.push((path, regex));
            }
        }
        Ok(Edit {
            op,
            path,
            value: e.value.as_ref().map(|v| v.value.clone()),
            to: e.to.as_ref().map(|t| t.value.clone()),
            when,
            where_,
        })
    }

    fn text_step(&self, label: &str, def: &TextDef) -> Result<StepKind, Diagnostics> {
        let mut problems = Vec::new();
        let files = keep_errors(
            self.file_set(&def.files, def.ignores.as_ref())
                .map_err(|d| vec![d]),
            &mut problems,
        );
        if def.replace.value.is_empty() {
            problems.push(self.at(&def.replace, "`replace` is empty"));
        }
        let replaces: Vec<Replace> = def
            .replace
            .value
            .iter()
            .filter_map(|r| {
                let pattern = keep_errors(
                    self.regex(&r.value.pattern).map_err(|d| vec![d]),
                    &mut problems,
                )?;
                Some(Replace {
                    label: format!("{label}: /{}/", r.value.pattern.value),
                    pattern,
                    with: r.value.with.clone(),
                })
            })
            .collect();
        match files {
            Some(files) if problems.is_empty() => Ok(StepKind::Text { files, replaces }),
            _ => Err(problems),
        }
    }

    fn files_step(
        &self,
        label: &str,
        def: &Spanned<StepDef>,
        ops: &[Spanned<FileOpDef>],
    ) -> Result<StepKind, Diagnostics> {
        if ops.is_empty() {
            return Err(vec![self.at(def, "the `files` step is empty")]);
        }
        let mut problems = Vec::new();
        let built = ops
            .iter()
            .filter_map(|op| {
                keep_errors(self.file_op(label, op).map_err(|d| vec![d]), &mut problems)
            })
            .collect();
        if problems.is_empty() {
            Ok(StepKind::Files(built))
        } else {
            Err(problems)
        }
    }

    fn file_op(&self, label: &str, def: &Spanned<FileOpDef>) -> Result<FileOp, FileDiagnostic> {
        let o = &def.value;
        match (&o.add, &o.move_, &o.delete) {
            (Some(path), None, None) => {
                let Some(content) = o.content.clone() else {
                    return Err(self
                        .at(path, "`add` needs `content`, the new file's text")
                        .with_help("add `content: ...` (parameters work in it: `{{ name }}`)"));
                };
                if let Some(to) = &o.to {
                    return Err(self.at(to, "`add` takes no `to`"));
                }
                Ok(FileOp::Add {
                    label: format!("{label}: add {}", path.value),
                    path: self.plain_path(path)?,
                    content,
                })
            }
            (None, Some(from), None) => {
                let Some(to) = &o.to else {
                    return Err(self.at(from, "`move` needs `to`, the new path"));
                };
                if o.content.is_some() {
                    return Err(self.at(from, "`move` takes no `content`"));
                }
                Ok(FileOp::Move {
                    label: format!("{label}: move {} to {}", from.value, to.value),
                    from: self.plain_path(from)?,
                    to: self.plain_path(to)?,
                })
            }
            (None, None, Some(globs)) => {
                let written = globs.value.clone().into_vec();
                self.plain_texts(globs, &written, "delete")?;
                if written.iter().any(|g| escapes(g)) {
                    return Err(self
                        .at(globs, "`delete` names files inside the repository only")
                        .with_help("no absolute path, no `..`"));
                }
                let files = FileSet::new(&written, &[]).map_err(|e| self.at(globs, e))?;
                Ok(FileOp::Delete {
                    label: format!("{label}: delete {}", written.join(", ")),
                    files,
                })
            }
            _ => Err(self
                .at(def, "a `files` operation is one of `add` (with `content`), `move` (with `to`) or `delete`")
                .with_help("for example `- add: .python-version` with `content: \"3.12\\n\"`")),
        }
    }

    /// A path inside the repository: relative, without `..`, no part `.git`.
    fn plain_path(&self, value: &Spanned<String>) -> Result<PathBuf, FileDiagnostic> {
        self.plain_text(value, "path")?;
        let path = PathBuf::from(value.value.trim_start_matches("./"));
        if crate::recipe::changes::is_plain(&path) {
            Ok(path)
        } else {
            Err(self
                .at(
                    value,
                    format!("`{}` is not a path inside the repository", value.value),
                )
                .with_help("write a relative path without `..` (and outside `.git`)"))
        }
    }

    /// The steps of an included recipe, in its place, under its
    /// preconditions.
    fn include(&self, def: &IncludeDef, stack: &mut Vec<PathBuf>) -> Result<Built, Diagnostics> {
        let id = &def.recipe;
        self.plain_text(id, "recipe").map_err(|d| vec![d])?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let candidates = [
            dir.join(format!("{}.yaml", id.value)),
            dir.join(format!("{}.yml", id.value)),
            dir.join(&id.value).join("recipe.yaml"),
            dir.join("..").join(&id.value).join("recipe.yaml"),
            dir.join("..").join(format!("{}.yaml", id.value)),
        ];
        let Some(found) = candidates.iter().find(|c| c.is_file()) else {
            return Err(vec![
                self.at(id, format!("no recipe `{}` beside this one", id.value))
                    .with_help(format!(
                        "looked for {}",
                        candidates
                            .iter()
                            .map(|c| c.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
            ]);
        };
        let canonical = found.canonicalize().unwrap_or_else(|_| found.clone());
        let me = self
            .path
            .canonicalize()
            .unwrap_or_else(|_| self.path.to_path_buf());
        if canonical == me || stack.contains(&canonical) {
            return Err(vec![
                self.at(id, format!("including `{}` makes a cycle", id.value))
                    .with_help("a recipe cannot include itself, directly or through others"),
            ]);
        }
        stack.push(me);
        let values: Values = def.parameters.clone();
        let loaded = super::load(found, &values, stack);
        stack.pop();
        let included = loaded.map_err(|e| match e {
            RecipeError::Invalid(d) => d,
            RecipeError::Read { path, source } => {
                vec![self.at(id, format!("cannot read {}: {source}", path.display()))]
            }
        })?;
        self.sources.borrow_mut().push(included.fingerprint.clone());
        Ok(Built {
            steps: flatten(included),
            ids: Vec::new(),
        })
    }
}

/// An included recipe's steps, labelled with its id and gated by its
/// preconditions.
fn flatten(recipe: Recipe) -> Vec<Step> {
    let gate = (!recipe.applies_when.is_empty()).then(|| {
        Arc::new(Gate {
            conditions: recipe.applies_when,
        })
    });
    recipe
        .steps
        .into_iter()
        .map(|mut step| {
            step.label = format!("{} › {}", recipe.id, step.label);
            step.gates.extend(gate.clone());
            step
        })
        .collect()
}

/// The first control character of `text` (a NUL, a line break, a tab,
/// ...) and its byte offset.
pub(super) fn control(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|(_, c)| c.is_control())
}

/// `` `a\0b` (files) holds a control character (U+0000) ``.
pub(super) fn control_message(text: &str, c: char, what: &str) -> String {
    format!(
        "`{}` ({what}) holds a control character (U+{:04X}); a path cannot",
        text.escape_debug(),
        c as u32
    )
}

pub(super) const CONTROL_HELP: &str =
    "remove it: paths and globs in a recipe are plain text (no NUL, tab or line break)";

/// Whether a glob could name something outside the repository.
fn escapes(glob: &str) -> bool {
    glob.starts_with('/') || glob.split('/').any(|part| part == "..")
}

const EDIT_HELP: &str = "an edit is one of `set`, `ensure`, `rename`, `delete`, `append` with a key path, e.g. `- set: engines.node` and `value: \">=20\"`";

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::recipe::{Recipe, RecipeError};

    /// The problems of a recipe with these steps, as `file:line:col: message`.
    fn problems(steps: &str) -> Vec<String> {
        let text = format!("id: r\ntitle: R\nsteps:\n{steps}");
        match Recipe::from_str(Path::new("r.yaml"), &text) {
            Ok(_) => Vec::new(),
            Err(RecipeError::Invalid(d)) => d.iter().map(|d| d.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn run_steps_load_in_both_forms() {
        let text = "id: r\ntitle: R\nsteps:\n  - run: go mod tidy\n  - run: {command: npm install --package-lock-only, network: true, timeout: 5m}\n";
        let recipe = Recipe::from_str(Path::new("r.yaml"), text).unwrap();
        assert!(recipe.runs_commands());
        assert_eq!(
            recipe.summary(),
            "2 steps: run (go mod tidy), run (npm install --package-lock-only)"
        );
    }

    #[test]
    fn run_step_mistakes_are_located() {
        assert_eq!(
            problems("  - run: {command: make, timeout: 5 minutes}\n"),
            ["r.yaml:4:35: `run` timeout: unknown unit `minutes` in `5 minutes`: use s, m or h"]
        );
        assert_eq!(
            problems("  - run: {command: \"  \"}\n"),
            ["r.yaml:4:20: the `run` command is empty"]
        );
        let unknown = problems("  - run: {command: make, netwrok: true}\n");
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].starts_with("r.yaml:4:"), "{unknown:?}");
        assert!(unknown[0].contains("netwrok"), "{unknown:?}");
    }

    #[test]
    fn control_characters_in_paths_are_refused_where_they_are() {
        let add = problems("  - files:\n      - add: \"a\\0b\"\n        content: x\n");
        assert_eq!(
            add,
            ["r.yaml:5:14: `a\\0b` (path) holds a control character (U+0000); a path cannot"]
        );
        let glob = problems(
            "  - text:\n      files: [\"ok\", \"x\\ty\"]\n      replace: [{pattern: a, with: b}]\n",
        );
        assert_eq!(glob.len(), 1, "{glob:?}");
        assert!(
            glob[0].starts_with("r.yaml:5:14: `x\\ty` (files) holds a control character (U+0009)"),
            "{glob:?}"
        );
        let delete = problems("  - files:\n      - delete: \"a\\nb\"\n");
        assert!(
            delete[0].contains("(delete) holds a control character (U+000A)"),
            "{delete:?}"
        );
        // A command is not a path.
        assert!(problems("  - run: \"printf 'a\\tb' > x\"\n").is_empty());
    }
}
