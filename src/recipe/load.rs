//! Reading a recipe file: a fleetwright recipe (one document with `rules:`)
//! or a plain ast-grep rule file (documents with `rule:`), every problem
//! reported at its place in the file.

mod defs;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ast_grep_config::{GlobalRules, RuleConfig, SerializableRuleConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;

use self::defs::{ConditionDef, Context, StepDef};
use super::locate::{self, Node};
use super::params::{self, Parameter, Values};
use super::steps::{Step, StepKind};
use super::{Recipe, RecipeError, Rule, SupportLang};
use crate::diag::{FileDiagnostic, Source};
use crate::yaml::{self, Document, Spanned};

type Diagnostics = Vec<FileDiagnostic>;

const RULE_HELP: &str =
    "see the ast-grep rule reference: https://ast-grep.github.io/reference/yaml.html";

/// Which form a file is in: only the keys that decide it.
#[derive(Deserialize)]
struct Probe {
    rules: Option<IgnoredAny>,
    rule: Option<IgnoredAny>,
    steps: Option<IgnoredAny>,
}

/// The parameters a recipe declares, read before anything else (their
/// values are substituted into the rest).
#[derive(Deserialize)]
struct ParameterProbe {
    parameters: Option<Spanned<BTreeMap<String, Spanned<ParameterDef>>>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ParameterDef {
    /// `name: value`, the default alone.
    Default(String),
    Full {
        default: Option<String>,
        #[serde(default)]
        description: String,
    },
    /// Anything else: a number (`3.10`, which YAML reads as 3.1), a list.
    Other(serde::de::IgnoredAny),
}

/// The fleetwright recipe form; `rules` and `steps` are read one by one
/// afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    why: String,
    link: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    #[allow(dead_code, reason = "read by ParameterProbe")]
    parameters: Option<IgnoredAny>,
    #[serde(default)]
    applies_when: Vec<Spanned<IgnoredAny>>,
    rules: Option<Spanned<Vec<Spanned<IgnoredAny>>>>,
    steps: Option<Spanned<Vec<Spanned<IgnoredAny>>>>,
}

/// Read the recipe at `path`; `stack` holds the recipes including it (to
/// refuse a cycle).
pub(super) fn load(
    path: &Path,
    values: &Values,
    stack: &mut Vec<PathBuf>,
) -> Result<Recipe, RecipeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    recipe(path, &text, values, stack).map_err(RecipeError::Invalid)
}

pub(super) fn recipe(
    path: &Path,
    text: &str,
    values: &Values,
    stack: &mut Vec<PathBuf>,
) -> Result<Recipe, Diagnostics> {
    // One copy of the text, shared by every problem found in it.
    let source = Source::new(text);
    let text = &source;
    let all = yaml::documents(text.text());
    let docs: Vec<&Document> = all.iter().filter(|d| !d.is_empty()).collect();
    let Some(first) = docs.first() else {
        return Err(vec![
            FileDiagnostic::at_offset(path, text, 0, 0, "the recipe file is empty")
                .with_help("a recipe has an `id`, a `title` and a list of `steps`"),
        ]);
    };
    let probe: Probe = yaml::parse(path, text, first).map_err(|d| vec![d])?;
    match (probe.rules.is_some() || probe.steps.is_some(), probe.rule) {
        (true, _) => fleetwright_recipe(path, text, first, values, stack),
        (false, Some(_)) => ast_grep_file(path, text, &docs),
        (false, None) => Err(vec![
            FileDiagnostic::at_offset(
                path,
                text,
                first.start,
                0,
                "this is neither a recipe (no `steps:`) nor an ast-grep rule (no `rule:`)",
            )
            .with_help("a recipe has `id`, `title` and `steps:`; see docs/recipes.md"),
        ]),
    }
}

/// Form A: one document with `id`, `title`, ..., `steps` (or `rules`, the
/// short form of one ast-grep step). Parameters are substituted into the
/// text first; every diagnostic points back into the text as written.
fn fleetwright_recipe(
    path: &Path,
    original: &Source,
    first: &Document,
    given: &Values,
    stack: &mut Vec<PathBuf>,
) -> Result<Recipe, Diagnostics> {
    let (parameters, values) = parameters(path, original, first, given)?;
    let (rendered, problems) = params::render(original.text(), &values);
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|(p, problem)| {
                let at = |message: String| {
                    FileDiagnostic::at_offset(path, original, p.range.start, p.range.len(), message)
                };
                match problem {
                    params::Problem::Unknown => at(format!(
                        "`{{{{ {} }}}}` names no parameter of this recipe",
                        p.name
                    ))
                    .with_help(format!(
                        "declare it under `parameters:` (with a `default`), or fix the name{}",
                        known_names(&parameters)
                    )),
                    params::Problem::Unwritable(why) => at(format!(
                        "parameter `{}` cannot be substituted here: {why}",
                        p.name
                    ))
                    .with_help("or give the parameter a value that is plain text"),
                }
            })
            .collect());
    }
    let rendered_source = Source::new(rendered.text.as_str());
    let text = &rendered_source;
    let back = |d: FileDiagnostic| {
        if d.path == path {
            d.remap(original, |o| rendered.original_offset(o))
        } else {
            d
        }
    };
    let all = yaml::documents(text.text());
    let docs: Vec<&Document> = all.iter().filter(|d| !d.is_empty()).collect();
    let mut recipe =
        build(path, text, &docs, stack).map_err(|d| d.into_iter().map(back).collect::<Vec<_>>())?;
    recipe.parameters = parameters;
    recipe.values = values;
    Ok(recipe)
}

fn known_names(parameters: &[Parameter]) -> String {
    if parameters.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
        format!("; this recipe's parameters are {}", names.join(", "))
    }
}

/// The declared parameters, and the value of each: given, else its default.
fn parameters(
    path: &Path,
    text: &Source,
    doc: &Document,
    given: &Values,
) -> Result<(Vec<Parameter>, Values), Diagnostics> {
    let probe: ParameterProbe = yaml::parse(path, text, doc).map_err(|d| {
        vec![d.with_help(
            "each parameter is `name: {default: ..., description: ...}` or `name: default`",
        )]
    })?;
    let mut problems = Vec::new();
    let mut declared = Vec::new();
    let mut values = Values::new();
    let (entries, place) = match &probe.parameters {
        Some(map) => (map.value.iter().collect::<Vec<_>>(), Some(map)),
        None => (Vec::new(), None),
    };
    for (name, def) in entries {
        let (default, description) = match &def.value {
            ParameterDef::Default(value) => (Some(value.clone()), String::new()),
            ParameterDef::Full {
                default,
                description,
            } => (default.clone(), description.clone()),
            ParameterDef::Other(_) => {
                problems.push(
                    yaml::diagnostic_at(path, text, doc, def, format!("parameter `{name}` is not text"))
                        .with_help("write its default in quotes (`\"3.10\"`: YAML reads a bare 3.10 as the number 3.1), or as `{default: \"...\", description: ...}`"),
                );
                continue;
            }
        };
        if default
            .as_deref()
            .is_some_and(|d| !params::placeholders(d).is_empty())
        {
            problems.push(
                yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    def,
                    format!("the default of `{name}` uses a parameter"),
                )
                .with_help("a default is plain text; write the value out"),
            );
            continue;
        }
        match given.get(name).or(default.as_ref()) {
            Some(value) => {
                values.insert(name.clone(), value.clone());
            }
            None => problems.push(
                yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    def,
                    format!("parameter `{name}` has no default and no value was given"),
                )
                .with_help(format!(
                    "give it in the campaign (`parameters: {{{name}: ...}}`) or with `--param {name}=...`"
                )),
            ),
        }
        declared.push(Parameter {
            name: name.clone(),
            default,
            description,
        });
    }
    for name in given
        .keys()
        .filter(|n| !values.contains_key(*n) && !declared.iter().any(|p| &p.name == *n))
    {
        let message = format!("a value was given for `{name}`, which this recipe does not declare");
        let help = format!("remove it, or fix its name{}", known_names(&declared));
        problems.push(
            match place {
                Some(map) => yaml::diagnostic_at(path, text, doc, map, message),
                None => FileDiagnostic::at_offset(path, text, doc.start, 0, message),
            }
            .with_help(help),
        );
    }
    if problems.is_empty() {
        Ok((declared, values))
    } else {
        Err(problems)
    }
}

/// The recipe from its substituted `text`.
fn build(
    path: &Path,
    text: &Source,
    docs: &[&Document],
    stack: &mut Vec<PathBuf>,
) -> Result<Recipe, Diagnostics> {
    let doc = docs[0];
    let header: Header = yaml::parse(path, text, doc).map_err(|d| {
        vec![d.with_help(
            "a recipe has `id`, `title`, `description`, `why`, `link`, `version`, `parameters`, `applies_when` and `steps`",
        )]
    })?;
    let mut problems = Vec::new();
    for extra in &docs[1..] {
        problems.push(
            FileDiagnostic::at_offset(path, text, extra.start, 0, "a recipe is one YAML document")
                .with_help("move this into the first document"),
        );
    }
    let id = required(path, text, doc, header.id.as_ref(), "id", &mut problems);
    let title = required(
        path,
        text,
        doc,
        header.title.as_ref(),
        "title",
        &mut problems,
    );
    let ctx = Context {
        path,
        text,
        doc,
        sources: Default::default(),
    };
    let applies_when = header
        .applies_when
        .iter()
        .filter_map(|item| {
            let def: Spanned<ConditionDef> = keep_errors(
                item_of(path, text, doc, item, CONDITION_HELP),
                &mut problems,
            )?;
            keep_errors(ctx.condition(&def), &mut problems)
        })
        .collect();
    let mut steps = Vec::new();
    let mut ids = Vec::new();
    match (&header.rules, &header.steps) {
        (Some(rules), Some(_)) => problems.push(
            yaml::diagnostic_at(
                path,
                text,
                doc,
                rules,
                "a recipe has `steps` or `rules`, not both",
            )
            .with_help("move these rules into an `ast-grep:` step"),
        ),
        (Some(rules), None) => {
            let items = rules.value.as_slice();
            if items.is_empty() {
                problems.push(
                    yaml::diagnostic_at(path, text, doc, rules, "`rules` is empty")
                        .with_help("a recipe needs at least one ast-grep rule with a `fix`"),
                );
            }
            let (compiled, offsets) = ctx.inline_rules(items, &mut problems);
            ids = offsets;
            steps.push(Step {
                label: "step 1 (ast-grep)".to_string(),
                gates: Vec::new(),
                kind: StepKind::ast_grep(compiled),
            });
        }
        (None, Some(list)) => {
            if list.value.is_empty() {
                problems.push(
                    yaml::diagnostic_at(path, text, doc, list, "`steps` is empty")
                        .with_help("a recipe needs at least one step; see docs/recipes.md"),
                );
            }
            for (index, item) in list.value.iter().enumerate() {
                let Some(def) = keep_errors(
                    item_of::<StepDef>(path, text, doc, item, STEP_HELP),
                    &mut problems,
                ) else {
                    continue;
                };
                let label = format!("step {} ({})", index + 1, def.value.kind());
                match ctx.step(&label, &def, stack) {
                    Ok(built) => {
                        ids.extend(built.ids);
                        steps.extend(built.steps);
                    }
                    Err(mut d) => problems.append(&mut d),
                }
            }
        }
        (None, None) => problems.push(
            FileDiagnostic::at_offset(path, text, doc.start, 0, "this recipe has no `steps`")
                .with_help("a parameter value may have changed the recipe's structure: quote the placeholders"),
        ),
    }
    let recipe = Recipe {
        id,
        title,
        description: header.description,
        why: header.why,
        link: header.link.map(|l| l.value),
        version: header.version.map(|v| v.value),
        path: path.to_path_buf(),
        parameters: Vec::new(),
        values: Values::new(),
        applies_when,
        steps,
        fingerprint: fingerprint(text.text(), &ctx.sources.borrow()),
    };
    finish(recipe, path, text, &ids, problems)
}

const STEP_HELP: &str = "a step is one of `ast-grep`, `yaml`, `json`, `toml`, `hcl`, `text`, `files`, `include`, `run`; see docs/recipes.md";
const CONDITION_HELP: &str = "a condition is one of `files: GLOB`, `contains: {files: GLOB, pattern: REGEX}`, `catalog: {type, lifecycle, tags, owner, system}`";

/// One item of a list, read on its own (so that a mistake in one step does
/// not hide the others), its locations those of the whole document.
fn item_of<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &Source,
    doc: &Document,
    item: &Spanned<IgnoredAny>,
    help: &str,
) -> Result<Spanned<T>, Diagnostics> {
    let entry = isolate(doc, item_start(doc, &item.referenced));
    let alone = entry.document();
    let value: T = yaml::parse(path, text, &alone).map_err(|d| vec![d.with_help(help)])?;
    Ok(Spanned::new(value, item.referenced, item.defined))
}

/// A hash of everything that decides what a recipe does: its text with the
/// parameters substituted, the rule files it reads and the fingerprints of
/// the recipes it includes.
fn fingerprint(text: &str, sources: &[String]) -> String {
    let mut all = text.to_string();
    for source in sources {
        all.push('\0');
        all.push_str(source);
    }
    // git's blob id of that text (what `git hash-object` prints), computed
    // without libgit2: its first use sets up OpenSSL, some 50 ms that a
    // target's rewrite process (`engine::isolate`) would pay every time.
    use sha1::Digest as _;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", all.len()).as_bytes());
    hasher.update(all.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Form B: a plain ast-grep rule file, one rule per document.
fn ast_grep_file(path: &Path, text: &Source, docs: &[&Document]) -> Result<Recipe, Diagnostics> {
    let RuleFile {
        rules,
        ids,
        meta: (message, note),
        problems,
    } = rule_file(path, text, docs);
    let id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = match (message.is_empty(), rules.first()) {
        (false, _) => message,
        (true, Some(rule)) => rule.id.clone(),
        (true, None) => id.clone(),
    };
    finish(
        Recipe {
            id,
            title,
            description: note,
            why: String::new(),
            link: None,
            version: None,
            path: path.to_path_buf(),
            parameters: Vec::new(),
            values: Values::new(),
            applies_when: Vec::new(),
            steps: vec![Step {
                label: "step 1 (ast-grep)".to_string(),
                gates: Vec::new(),
                kind: StepKind::ast_grep(rules),
            }],
            fingerprint: fingerprint(text.text(), &[]),
        },
        path,
        text,
        &ids,
        problems,
    )
}

/// Each rule's id and the offset of its `id` key in the text.
pub(super) type RuleIds = Vec<(String, usize)>;

/// What a plain ast-grep rule file holds.
pub(super) struct RuleFile {
    pub rules: Vec<Rule>,
    pub ids: RuleIds,
    /// The first rule's `message` and `note`.
    pub meta: (String, String),
    pub problems: Diagnostics,
}

/// The rules of a plain ast-grep rule file, the offsets of their ids, the
/// first rule's `message` and `note`, and the problems found.
pub(super) fn rule_file(path: &Path, text: &Source, docs: &[&Document]) -> RuleFile {
    let mut problems = Vec::new();
    let mut first_meta = None;
    let mut rules = Vec::new();
    let mut ids = Vec::new();
    for doc in docs {
        let entry = Entry {
            doc: **doc,
            owned: doc.text.to_string(),
        };
        if first_meta.is_none() {
            first_meta = Some(rule_metadata(&entry));
        }
        if let Some((rule, offset)) = keep_errors(compile(path, text, &entry), &mut problems) {
            ids.push((rule.id.clone(), offset));
            rules.push(rule);
        }
    }
    RuleFile {
        rules,
        ids,
        meta: first_meta.flatten().unwrap_or_default(),
        problems,
    }
}

/// The first rule's `message` and `note`, for the title and description.
fn rule_metadata(entry: &Entry) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct Meta {
        #[serde(default)]
        message: String,
        #[serde(default)]
        note: String,
    }
    let meta: Meta = ast_grep_config::from_str(&entry.owned).ok()?;
    Some((meta.message.trim().to_string(), meta.note))
}

/// The recipe, or every problem found, in file order.
fn finish(
    recipe: Recipe,
    path: &Path,
    text: &Source,
    ids: &[(String, usize)],
    mut problems: Diagnostics,
) -> Result<Recipe, Diagnostics> {
    problems.extend(duplicate_ids(path, text, ids));
    if problems.is_empty() {
        Ok(recipe)
    } else {
        problems.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
        Err(problems)
    }
}

/// A diagnostic at every rule whose id an earlier rule of the same text
/// already has; `ids` holds each rule's id and the offset of its `id`.
fn duplicate_ids(path: &Path, text: &Source, ids: &[(String, usize)]) -> Diagnostics {
    let mut seen = HashSet::new();
    ids.iter()
        .filter(|(id, _)| !seen.insert(id.as_str()))
        .map(|(id, offset)| {
            FileDiagnostic::at_offset(
                path,
                text,
                *offset,
                id.len(),
                format!("another rule of this recipe already has the id `{id}`"),
            )
            .with_help("give every rule of a recipe its own `id`")
        })
        .collect()
}

fn keep_errors<T>(result: Result<T, Diagnostics>, problems: &mut Diagnostics) -> Option<T> {
    result.map_err(|mut d| problems.append(&mut d)).ok()
}

fn required(
    path: &Path,
    text: &Source,
    doc: &Document,
    value: Option<&Spanned<String>>,
    key: &str,
    problems: &mut Diagnostics,
) -> String {
    match value {
        Some(v) if !v.value.trim().is_empty() => v.value.trim().to_string(),
        Some(v) => {
            problems.push(yaml::diagnostic_at(
                path,
                text,
                doc,
                v,
                format!("`{key}` is empty"),
            ));
            String::new()
        }
        None => {
            problems.push(
                FileDiagnostic::at_offset(
                    path,
                    text,
                    doc.start,
                    0,
                    format!(
                        "a recipe needs {} `{key}`",
                        if key == "id" { "an" } else { "a" }
                    ),
                )
                .with_help(format!("add `{key}: ...` at the top of the recipe")),
            );
            String::new()
        }
    }
}

/// One rule's text, alone: the whole document, or one item of `rules:` with
/// everything around it blanked so that offsets, lines and columns in it are
/// those of the document.
struct Entry<'a> {
    doc: Document<'a>,
    owned: String,
}

impl Entry<'_> {
    /// The entry as a document of the file (for error locations).
    fn document(&self) -> Document<'_> {
        Document {
            text: &self.owned,
            ..self.doc
        }
    }
}

/// Byte offset in `doc.text` where an item of a sequence starts.
fn item_start(doc: &Document, loc: &serde_saphyr::Location) -> usize {
    let alone = Document {
        start: 0,
        start_line: 1,
        ..*doc
    };
    let (offset, _) = yaml::location_in_file(doc.text, &alone, loc);
    offset.min(doc.text.len())
}

fn isolate<'a>(doc: &Document<'a>, start: usize) -> Entry<'a> {
    let end = item_end(doc.text, start);
    let blanked: Vec<u8> = doc
        .text
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            if (start..end).contains(&i) || b == b'\n' || b == b'\r' {
                b
            } else {
                b' '
            }
        })
        .collect();
    let owned = String::from_utf8(blanked)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Entry { doc: *doc, owned }
}

/// Where the sequence item starting at `start` ends: after its closing
/// bracket (flow style), or before the first later line indented less than
/// the item (block style).
fn item_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    if rest.starts_with(['{', '[']) {
        return start + flow_end(rest);
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent = start - line_start;
    let mut end = start + rest.find('\n').unwrap_or(rest.len());
    let mut offset = end;
    for line in text[end..].split_inclusive('\n').skip(1) {
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.len() - line.trim_start_matches(' ').len() < indent {
            break;
        }
        end = offset;
    }
    end
}

/// Length of a flow collection (`{...}` or `[...]`) at the start of `text`.
fn flow_end(text: &str) -> usize {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            // In double quotes a backslash escapes the next character.
            (Some('"'), _) if escaped => escaped = false,
            (Some('"'), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// Compile one rule (and find the offset of its `id` in the file); every
/// problem at its place in the file.
fn compile(path: &Path, text: &Source, entry: &Entry) -> Result<(Rule, usize), Diagnostics> {
    let doc = entry.document();
    let tree: Option<Spanned<Node>> = ast_grep_config::from_str(doc.text).ok();
    let serialized: SerializableRuleConfig<SupportLang> = ast_grep_config::from_str(doc.text)
        .map_err(|e| parse_problems(path, text, &doc, &e, tree.as_ref()))?;
    let place = |key: Option<serde_saphyr::Location>| match key
        .or_else(|| tree.as_ref().and_then(|t| id_location(&t.value)))
    {
        Some(loc) => yaml::location_in_file(text, &doc, &loc),
        None => (entry_offset(&doc), 0),
    };
    let at = |key, message: String| {
        let (offset, len) = place(key);
        FileDiagnostic::at_offset(path, text, offset, len, message)
    };
    // The rule's own `files` and `ignores` are paths too.
    if let Some(node) = tree.as_ref().map(|t| &t.value) {
        for key in ["files", "ignores"] {
            let Some(value) = node.get(key) else {
                continue;
            };
            let items: Vec<&Spanned<Node>> = match &value.value {
                Node::Seq(items) => items.iter().collect(),
                _ => vec![value],
            };
            for item in items {
                let Some(glob) = item.value.scalar() else {
                    continue;
                };
                if let Some((_, c)) = defs::control(glob) {
                    return Err(vec![
                        yaml::diagnostic_at(
                            path,
                            text,
                            &doc,
                            item,
                            defs::control_message(glob, c, key),
                        )
                        .with_help(defs::CONTROL_HELP),
                    ]);
                }
            }
        }
    }
    let id = serialized.id.clone();
    if id.trim().is_empty() {
        return Err(vec![
            at(None, "this rule has no `id`".into()).with_help("add `id: ...` to the rule"),
        ]);
    }
    if serialized.fix.is_none() {
        return Err(vec![
            at(
                None,
                format!("a recipe rule needs a `fix`; rule `{id}` only finds"),
            )
            .with_help("add `fix: ...` saying what the matched code becomes"),
        ]);
    }
    let config = RuleConfig::try_from(serialized, &GlobalRules::default()).map_err(|e| {
        let chain = error_chain(&e);
        let key = tree
            .as_ref()
            .and_then(|t| locate::config_error(&e, &t.value, &chain));
        vec![at(key, format!("invalid rule `{id}`: {chain}")).with_help(RULE_HELP)]
    })?;
    let rule = Rule::new(config).map_err(|e| {
        let key = tree.as_ref().and_then(|t| {
            let node = &t.value;
            node.entry("files")
                .or_else(|| node.entry("ignores"))
                .map(|(k, _)| k.referenced)
        });
        vec![at(key, format!("invalid glob in rule `{id}`: {e}"))]
    })?;
    Ok((rule, place(None).0))
}

/// Why a rule does not deserialize: its unknown keys if it has any (serde
/// would only say that `rule` is missing when it is misspelt), else serde's
/// own error at its place.
fn parse_problems(
    path: &Path,
    text: &Source,
    doc: &Document,
    error: &serde_saphyr::Error,
    tree: Option<&Spanned<Node>>,
) -> Diagnostics {
    let unknown: Diagnostics = tree
        .map(|t| t.value.keys())
        .unwrap_or_default()
        .into_iter()
        .filter(|key| !RULE_KEYS.contains(&key.value.as_str()))
        .map(|key| {
            let d = yaml::diagnostic_at(
                path,
                text,
                doc,
                &key,
                format!("unknown key `{}` in an ast-grep rule", key.value),
            );
            match closest(&key.value, RULE_KEYS) {
                Some(near) => d.with_help(format!("did you mean `{near}`?")),
                None => d.with_help(format!("the keys of a rule are {}", RULE_KEYS.join(", "))),
            }
        })
        .collect();
    if !unknown.is_empty() {
        return unknown;
    }
    // A missing field has no place of its own: point at the rule's `id`.
    let message = yaml::error_message(error);
    let diagnostic = match tree.and_then(|t| id_location(&t.value)) {
        Some(loc) if message.contains("missing field") => {
            yaml::diagnostic_at_location(path, text, doc, &loc, message)
        }
        _ => yaml::error_to_diagnostic(path, text, doc, error),
    };
    vec![diagnostic.with_help(RULE_HELP)]
}

/// The top-level keys of an ast-grep rule (as `ast-grep-config` accepts them).
const RULE_KEYS: &[&str] = &[
    "id",
    "language",
    "rule",
    "constraints",
    "utils",
    "transform",
    "fix",
    "rewriters",
    "message",
    "note",
    "severity",
    "labels",
    "files",
    "ignores",
    "url",
    "metadata",
];

/// The candidate at most two edits away from `word`, if any.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

fn id_location(rule: &Node) -> Option<serde_saphyr::Location> {
    rule.get("id").map(|v| v.referenced)
}

/// Offset in the file of the first non-blank byte of an entry.
fn entry_offset(doc: &Document) -> usize {
    doc.start + doc.text.len() - doc.text.trim_start().len()
}

/// An error and all its sources, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod fingerprint_tests {
    #[test]
    fn the_fingerprint_is_gits_blob_id_as_before() {
        // Fingerprints are stored in the state: the same text must give the
        // same value as the libgit2 hash it replaced.
        let text = "id: x\nrules: []\n";
        let sources = ["rule a".to_string(), "rule b".to_string()];
        let all = format!("{text}\0rule a\0rule b");
        let git = git2::Oid::hash_object(git2::ObjectType::Blob, all.as_bytes()).unwrap();
        assert_eq!(super::fingerprint(text, &sources), git.to_string());
    }
}
