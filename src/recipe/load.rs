//! Reading a recipe file: a fleetwright recipe (one document with `rules:`)
//! or a plain ast-grep rule file (documents with `rule:`), every problem
//! reported at its place in the file.

use std::collections::HashSet;
use std::path::Path;

use ast_grep_config::{GlobalRules, RuleConfig, SerializableRuleConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::locate::{self, Node};
use super::{Recipe, Rule, SupportLang};
use crate::diag::FileDiagnostic;
use crate::yaml::{self, Document, Spanned};

type Diagnostics = Vec<FileDiagnostic>;

const RULE_HELP: &str =
    "see the ast-grep rule reference: https://ast-grep.github.io/reference/yaml.html";

/// Which form a file is in: only the keys that decide it.
#[derive(Deserialize)]
struct Probe {
    rules: Option<IgnoredAny>,
    rule: Option<IgnoredAny>,
}

/// The fleetwright recipe form; `rules` are read one by one afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    version: Option<Spanned<String>>,
    rules: Spanned<Option<Vec<Spanned<IgnoredAny>>>>,
}

pub(super) fn recipe(path: &Path, text: &str) -> Result<Recipe, Diagnostics> {
    let all = yaml::documents(text);
    let docs: Vec<&Document> = all.iter().filter(|d| !d.is_empty()).collect();
    let Some(first) = docs.first() else {
        return Err(vec![
            FileDiagnostic::at_offset(path, text, 0, 0, "the recipe file is empty")
                .with_help("a recipe has an `id`, a `title` and a list of `rules`"),
        ]);
    };
    let probe: Probe = yaml::parse(path, text, first).map_err(|d| vec![d])?;
    match (probe.rules, probe.rule) {
        (Some(_), _) => fleetwright_recipe(path, text, &docs),
        (None, Some(_)) => ast_grep_file(path, text, &docs),
        (None, None) => Err(vec![
            FileDiagnostic::at_offset(
                path,
                text,
                first.start,
                0,
                "this is neither a recipe (no `rules:`) nor an ast-grep rule (no `rule:`)",
            )
            .with_help("a recipe has `id`, `title` and `rules:`, a list of ast-grep rules"),
        ]),
    }
}

/// Form A: one document with `id`, `title`, `description`, `version`, `rules`.
fn fleetwright_recipe(path: &Path, text: &str, docs: &[&Document]) -> Result<Recipe, Diagnostics> {
    let doc = docs[0];
    let header: Header = yaml::parse(path, text, doc).map_err(|d| {
        vec![d.with_help(
            "a recipe has `id`, `title`, `description`, `version` and `rules` (a list of ast-grep rules)",
        )]
    })?;
    let mut problems = Vec::new();
    for extra in &docs[1..] {
        problems.push(
            FileDiagnostic::at_offset(path, text, extra.start, 0, "a recipe is one YAML document")
                .with_help("move these rules into the `rules:` list of the first document"),
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
    let items = header.rules.value.as_deref().unwrap_or_default();
    if items.is_empty() {
        problems.push(
            yaml::diagnostic_at(path, text, doc, &header.rules, "`rules` is empty")
                .with_help("a recipe needs at least one ast-grep rule with a `fix`"),
        );
    }
    let (rules, id_offsets): (Vec<Rule>, Vec<usize>) = items
        .iter()
        .filter_map(|item| {
            let entry = isolate(doc, item_start(doc, &item.referenced));
            keep_errors(compile(path, text, &entry), &mut problems)
        })
        .unzip();
    finish(
        Recipe {
            id,
            title,
            description: header.description,
            version: header.version.map(|v| v.value),
            path: path.to_path_buf(),
            rules,
        },
        path,
        text,
        &id_offsets,
        problems,
    )
}

/// Form B: a plain ast-grep rule file, one rule per document.
fn ast_grep_file(path: &Path, text: &str, docs: &[&Document]) -> Result<Recipe, Diagnostics> {
    let mut problems = Vec::new();
    let mut first_meta = None;
    let mut rules = Vec::new();
    let mut id_offsets = Vec::new();
    for doc in docs {
        let entry = Entry {
            doc: **doc,
            owned: doc.text.to_string(),
        };
        if first_meta.is_none() {
            first_meta = Some(rule_metadata(&entry));
        }
        if let Some((rule, offset)) = keep_errors(compile(path, text, &entry), &mut problems) {
            rules.push(rule);
            id_offsets.push(offset);
        }
    }
    let (message, note) = first_meta.flatten().unwrap_or_default();
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
            version: None,
            path: path.to_path_buf(),
            rules,
        },
        path,
        text,
        &id_offsets,
        problems,
    )
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
    text: &str,
    id_offsets: &[usize],
    mut problems: Diagnostics,
) -> Result<Recipe, Diagnostics> {
    problems.extend(duplicate_ids(path, text, &recipe.rules, id_offsets));
    if problems.is_empty() {
        Ok(recipe)
    } else {
        problems.sort_by_key(|d| (d.line, d.column));
        Err(problems)
    }
}

/// A diagnostic at every rule whose id an earlier rule already has.
fn duplicate_ids(path: &Path, text: &str, rules: &[Rule], id_offsets: &[usize]) -> Diagnostics {
    let mut seen = HashSet::new();
    rules
        .iter()
        .zip(id_offsets)
        .filter(|(rule, _)| !seen.insert(rule.id.as_str()))
        .map(|(rule, &offset)| {
            FileDiagnostic::at_offset(
                path,
                text,
                offset,
                rule.id.len(),
                format!(
                    "another rule of this recipe already has the id `{}`",
                    rule.id
                ),
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
    text: &str,
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
fn compile(path: &Path, text: &str, entry: &Entry) -> Result<(Rule, usize), Diagnostics> {
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
    text: &str,
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
