//! Format-preserving edits of configuration files (YAML, JSON, TOML, HCL)
//! by key path: `set`, `ensure`, `rename`, `delete`, `append`.
//!
//! Every format is edited in place: only the bytes of what an edit changes
//! are rewritten, so comments, key order, quoting and indentation of
//! everything else stay as they were. YAML, JSON and HCL are edited through
//! spans of their tree-sitter tree (the grammars `ast-grep-language`
//! already carries); TOML through `toml_edit`.
//!
//! # Semantics (the same in every format)
//!
//! A [`KeyPath`] such as `jobs.*.steps[*].uses` is resolved from the root of
//! each document (a YAML file may hold several). Every segment but the last
//! selects existing nodes: a key (`jobs`), any key (`*`), a key glob
//! (`setup-*`), an index (`[0]`, `[-1]` for the last) or every item (`[*]`).
//! An [`Edit`] applies to the nodes its path selects, filtered by
//! - `when`: a regex the node's current scalar value must match (a map or a
//!   list never matches); a string `value` may use its captures (`$1`,
//!   `${name}`);
//! - `where`: paths from the document root whose scalar value must match a
//!   regex (e.g. `kind: ^Deployment$`), checked once per document.
//!
//! Per operation:
//! - `set`: replace each selected node by `value` (one already equal is left
//!   alone and not counted). When the last segment is a plain key absent
//!   from a selected parent map, and there is no `when`, the key is added;
//!   missing intermediate maps are created only along a path with no
//!   wildcard.
//! - `ensure`: like `set`, but never changes an existing value: it only adds.
//! - `rename`: give each selected map entry the key `to`, keeping its value
//!   and comments. The target key already existing is a [`EditError::Conflict`].
//! - `delete`: remove each selected entry or item, with its own lines in
//!   block style.
//! - `append`: add `value` to each selected list unless an equal item is
//!   already there (so that applying twice changes nothing); an absent list
//!   at a plain key is created with that one item.
//!
//! A path that crosses a scalar (`a.b` where `a: 1`) selects nothing. An edit
//! whose result would be invalid (`append` to a map) is a conflict: the file
//! is left untouched and the problem reported.
//!
//! A file nested deeper than `depth::MAX_DEPTH` levels is not edited
//! ([`EditError::TooDeep`]): the editors' walks recurse once per level, and
//! `depth` measures the nesting without recursion before they start.

pub(super) mod depth;
#[cfg(test)]
mod depth_tests;
mod hcl;
mod json;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod testing;
mod toml;
mod tree;
mod yaml;

use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};

/// A configuration format [`apply`] can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Toml,
    Hcl,
}

impl Format {
    /// The step key of the format in a recipe (`yaml:`, `json:`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Toml => "toml",
            Format::Hcl => "hcl",
        }
    }
}

/// What an edit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Ensure,
    Rename,
    Delete,
    Append,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Set => "set",
            Op::Ensure => "ensure",
            Op::Rename => "rename",
            Op::Delete => "delete",
            Op::Append => "append",
        }
    }
}

/// One edit of a structured step.
#[derive(Debug, Clone)]
pub struct Edit {
    pub op: Op,
    pub path: KeyPath,
    /// The new value (`set`, `ensure`, `append`).
    pub value: Option<Value>,
    /// The new key (`rename`).
    pub to: Option<String>,
    /// The selected node's scalar value must match.
    pub when: Option<Regex>,
    /// Paths from the document root whose scalar value must match.
    pub where_: Vec<(KeyPath, Regex)>,
}

impl Edit {
    /// The value to write at a node whose current scalar text is `current`:
    /// `value`, with `$1`/`${name}` expanded from `when`'s captures when
    /// both are strings.
    pub fn value_for(&self, current: Option<&str>) -> Option<Value> {
        let value = self.value.clone()?;
        match (&value, &self.when, current) {
            (Value::String(template), Some(when), Some(current)) => {
                let Some(captures) = when.captures(current) else {
                    return Some(value);
                };
                let mut out = String::new();
                captures.expand(template, &mut out);
                Some(Value::String(out))
            }
            _ => Some(value),
        }
    }

    /// Whether a node whose scalar text is `current` (`None` for a map or a
    /// list) passes `when`.
    pub fn accepts(&self, current: Option<&str>) -> bool {
        match (&self.when, current) {
            (None, _) => true,
            (Some(when), Some(current)) => when.is_match(current),
            (Some(_), None) => false,
        }
    }

    /// Whether the edit adds absent keys: `set`, `ensure` and `append`
    /// without a `when`.
    fn creates(&self) -> bool {
        matches!(self.op, Op::Set | Op::Ensure | Op::Append) && self.when.is_none()
    }

    /// The value an absent key gets: `value`, or for `append` a list of it.
    fn created_value(&self) -> Option<Value> {
        let value = self.value_for(None)?;
        Some(match self.op {
            Op::Append => Value::Array(vec![value]),
            _ => value,
        })
    }

    /// Whether every `where` holds in a document: some node its path
    /// selects has a scalar its regex matches. `scalars` gives the scalar
    /// texts of the nodes a path selects (`None` for a map or a list).
    fn where_holds<S: AsRef<str>>(&self, scalars: impl Fn(&KeyPath) -> Vec<Option<S>>) -> bool {
        self.where_.iter().all(|(path, regex)| {
            scalars(path)
                .iter()
                .flatten()
                .any(|text| regex.is_match(text.as_ref()))
        })
    }
}

/// The result of [`apply`] on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The edited text (equal to the input when nothing changed).
    pub text: String,
    /// How many nodes each edit changed, in edit order.
    pub counts: Vec<usize>,
}

/// Why a file could not be edited; it is then left untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The file does not parse as the format.
    #[error("line {line}: not valid {format}: {message}")]
    Parse {
        format: &'static str,
        line: usize,
        message: String,
    },
    /// The file nests deeper than `depth::MAX_DEPTH` (or, in TOML, than
    /// `toml_edit` reads): walking it could exhaust the stack.
    #[error("line {line}: {}", depth::TooDeep { levels: *levels, line: *line, limit: *limit })]
    TooDeep {
        /// Where the nesting passes `limit`.
        line: usize,
        /// How deep the file nests.
        levels: usize,
        limit: usize,
    },
    /// An edit cannot be made (appending to a map, renaming onto an existing
    /// key, ...), or its result does not parse.
    #[error("line {line}: edit {} ({} {}): {message}", edit + 1, op.name(), path)]
    Conflict {
        /// Index of the edit in the step.
        edit: usize,
        op: Op,
        path: String,
        line: usize,
        message: String,
    },
}

impl From<depth::TooDeep> for EditError {
    fn from(deep: depth::TooDeep) -> Self {
        EditError::TooDeep {
            line: deep.line,
            levels: deep.levels,
            limit: deep.limit,
        }
    }
}

impl EditError {
    /// The file does not parse as `format`: the line and the description
    /// of the first error.
    fn parse(format: &'static str, (line, message): (usize, String)) -> Self {
        EditError::Parse {
            format,
            line,
            message,
        }
    }

    /// Edit `index` (`edit`) would make the file nest too deeply.
    fn too_deep_result(index: usize, edit: &Edit, deep: depth::TooDeep) -> Self {
        let message = format!("the result would be {deep}");
        EditError::conflict(index, edit, deep.line, message)
    }

    /// Edit `index` (`edit`) cannot be made at `line`.
    fn conflict(index: usize, edit: &Edit, line: usize, message: impl Into<String>) -> Self {
        EditError::Conflict {
            edit: index,
            op: edit.op,
            path: edit.path.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// Apply `edits`, in order, to `text` in `format`.
pub fn apply(format: Format, text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    match format {
        Format::Yaml => yaml::apply(text, edits),
        Format::Json => json::apply(text, edits),
        Format::Toml => toml::apply(text, edits),
        Format::Hcl => hcl::apply(text, edits),
    }
}

/// Apply `edits` in order, each to the text the one before left.
/// `edit_text` makes edit `index` on the current text: how many nodes it
/// changed, and the new text (`None` when the text stays as it is), which
/// it has checked.
fn apply_in_turn(
    text: &str,
    edits: &[Edit],
    mut edit_text: impl FnMut(&str, usize, &Edit) -> Result<(usize, Option<String>), EditError>,
) -> Result<Applied, EditError> {
    let mut current = text.to_string();
    let mut counts = Vec::with_capacity(edits.len());
    for (index, edit) in edits.iter().enumerate() {
        let (count, next) = edit_text(&current, index, edit)?;
        counts.push(count);
        if let Some(next) = next {
            current = next;
        }
    }
    Ok(Applied {
        text: current,
        counts,
    })
}

/// A path of keys and indexes, e.g. `jobs.*.steps[*].uses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    pub segments: Vec<Segment>,
    text: String,
}

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A map key, exactly (quoted in the path when it holds `.`, `[`, `*` or `"`).
    Key(String),
    /// Any key of a map (`*`).
    AnyKey,
    /// Keys matching a glob where `*` stands for any run of characters (`setup-*`).
    KeyGlob(String),
    /// A list item; negative counts from the end (`[-1]` is the last).
    Index(i64),
    /// Every item of a list (`[*]`).
    AnyIndex,
}

impl Segment {
    /// Whether this segment selects the map key `key`.
    pub fn matches_key(&self, key: &str) -> bool {
        match self {
            Segment::Key(k) => k == key,
            Segment::AnyKey => true,
            Segment::KeyGlob(glob) => glob_match(glob, key),
            Segment::Index(_) | Segment::AnyIndex => false,
        }
    }

    /// Whether this segment selects item `index` of a list of `len` items.
    pub fn matches_index(&self, index: usize, len: usize) -> bool {
        match self {
            Segment::Index(i) if *i >= 0 => usize::try_from(*i) == Ok(index),
            Segment::Index(i) => len.checked_sub(i.unsigned_abs() as usize) == Some(index),
            Segment::AnyIndex => true,
            _ => false,
        }
    }

    /// A plain key (no wildcard), which an edit may create.
    pub fn plain_key(&self) -> Option<&str> {
        match self {
            Segment::Key(k) => Some(k),
            _ => None,
        }
    }

    /// A wildcard (selects more than one node).
    pub fn is_wildcard(&self) -> bool {
        matches!(
            self,
            Segment::AnyKey | Segment::KeyGlob(_) | Segment::AnyIndex
        )
    }
}

/// Why a key path does not parse: the message and the byte offset in the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub offset: usize,
    pub message: String,
}

impl KeyPath {
    /// Parse `a.b[*].c`, `"a.b".c`, `a[-1]`, `*`, `setup-*`.
    pub fn parse(text: &str) -> Result<KeyPath, PathError> {
        let err = |offset: usize, message: &str| PathError {
            offset,
            message: message.to_string(),
        };
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        // Whether a key may start here (at the start or after a `.`).
        let mut expect_key = true;
        while i < bytes.len() {
            match bytes[i] {
                b'[' => {
                    let close = text[i..]
                        .find(']')
                        .map(|j| i + j)
                        .ok_or_else(|| err(i, "`[` is never closed"))?;
                    let inside = text[i + 1..close].trim();
                    let segment = if inside == "*" {
                        Segment::AnyIndex
                    } else {
                        Segment::Index(inside.parse().map_err(|_| {
                            err(i + 1, "an index is a number (`[0]`, `[-1]`) or `[*]`")
                        })?)
                    };
                    if expect_key && !segments.is_empty() {
                        return Err(err(i, "a `.` must be followed by a key"));
                    }
                    segments.push(segment);
                    i = close + 1;
                    expect_key = false;
                }
                b'.' => {
                    if expect_key {
                        return Err(err(i, "empty key (two dots, or a dot at the start)"));
                    }
                    i += 1;
                    expect_key = true;
                }
                b'"' => {
                    if !expect_key {
                        return Err(err(i, "a quoted key must follow a `.`"));
                    }
                    let close = text[i + 1..]
                        .find('"')
                        .map(|j| i + 1 + j)
                        .ok_or_else(|| err(i, "the quoted key is never closed"))?;
                    segments.push(Segment::Key(text[i + 1..close].to_string()));
                    i = close + 1;
                    expect_key = false;
                }
                b']' => return Err(err(i, "`]` without `[`")),
                _ => {
                    if !expect_key {
                        return Err(err(i, "expected `.` or `[` here"));
                    }
                    let end = text[i..]
                        .find(['.', '[', ']', '"'])
                        .map_or(text.len(), |j| i + j);
                    let key = &text[i..end];
                    segments.push(if key == "*" {
                        Segment::AnyKey
                    } else if key.contains('*') {
                        Segment::KeyGlob(key.to_string())
                    } else {
                        Segment::Key(key.to_string())
                    });
                    i = end;
                    expect_key = false;
                }
            }
        }
        if segments.is_empty() {
            return Err(err(0, "the path is empty"));
        }
        if expect_key {
            return Err(err(text.len(), "the path ends with a `.`"));
        }
        Ok(KeyPath {
            segments,
            text: text.to_string(),
        })
    }

    /// All segments but the last, and the last.
    pub fn split_last(&self) -> (&[Segment], &Segment) {
        let (last, parent) = self
            .segments
            .split_last()
            .expect("a parsed path has a segment");
        (parent, last)
    }

    /// No segment is a wildcard.
    pub fn is_literal(&self) -> bool {
        !self.segments.iter().any(Segment::is_wildcard)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `text` matches `glob`, where `*` stands for any run of characters.
fn glob_match(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields one part");
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// The keys of `segments` when every one is a plain key.
fn plain_keys(segments: &[Segment]) -> Option<Vec<String>> {
    segments
        .iter()
        .map(|s| s.plain_key().map(str::to_string))
        .collect()
}

/// `value` wrapped in one single-key map per key, innermost last.
fn nest(keys: &[String], value: Value) -> Value {
    keys.iter().rev().fold(value, |inner, key| {
        let mut map = Map::new();
        map.insert(key.clone(), inner);
        Value::Object(map)
    })
}

/// A node of a document as path resolution sees it, for the formats that
/// plan edits on a tree of their own (TOML, HCL): [`select`] gives them the
/// semantics above.
trait Cursor: Clone {
    /// The children `segment` selects.
    fn select(&self, segment: &Segment) -> Vec<Self>;
    /// A map a key can be added to.
    fn is_map(&self) -> bool;
    /// A map under which missing maps may be created along a literal path.
    fn nests(&self) -> bool;
    /// Whether this map has the key `key`.
    fn has_key(&self, key: &str) -> bool;
    /// The scalar as `when` and `where` see it; `None` for a map or a list.
    fn scalar(&self) -> Option<String>;
}

/// What the path of an edit selects.
enum Selected<C> {
    /// An existing node, and the map or list holding it.
    Node { parent: C, child: C },
    /// `keys` are absent under the map `parent`: the maps to create, then
    /// the key the path ends with.
    Absent { parent: C, keys: Vec<String> },
}

/// The nodes the path of `edit` selects from `root`, in order, and the
/// keys it would create; nothing when a `where` does not hold.
fn select<C: Cursor>(root: &C, edit: &Edit) -> Vec<Selected<C>> {
    let holds = edit.where_holds(|path| {
        resolve(root, &path.segments)
            .iter()
            .map(Cursor::scalar)
            .collect()
    });
    if !holds {
        return Vec::new();
    }
    let (parent_path, last) = edit.path.split_last();
    let creates = edit.creates();
    if creates
        && edit.path.is_literal()
        && let Some(key) = last.plain_key()
        && let Some((parent, mut keys)) = literal_parent(root, parent_path)
        && !keys.is_empty()
    {
        keys.push(key.to_string());
        return vec![Selected::Absent { parent, keys }];
    }
    let mut selected = Vec::new();
    for parent in resolve(root, parent_path) {
        for child in parent.select(last) {
            selected.push(Selected::Node {
                parent: parent.clone(),
                child,
            });
        }
        if creates
            && let Some(key) = last.plain_key()
            && parent.is_map()
            && !parent.has_key(key)
        {
            selected.push(Selected::Absent {
                parent,
                keys: vec![key.to_string()],
            });
        }
    }
    selected
}

/// The nodes `segments` select from `root`.
fn resolve<C: Cursor>(root: &C, segments: &[Segment]) -> Vec<C> {
    let mut found = vec![root.clone()];
    for segment in segments {
        found = found.iter().flat_map(|node| node.select(segment)).collect();
    }
    found
}

/// Along a literal path: the deepest existing node and the keys missing
/// below it (empty when the whole path exists). `None` when they cannot be
/// created there: the path crosses a scalar or a list, misses an index, or
/// the node does not [nest](Cursor::nests).
fn literal_parent<C: Cursor>(root: &C, segments: &[Segment]) -> Option<(C, Vec<String>)> {
    let mut node = root.clone();
    for (i, segment) in segments.iter().enumerate() {
        if let [child] = node.select(segment).as_slice() {
            node = child.clone();
            continue;
        }
        if !node.nests() {
            return None;
        }
        return Some((node, plain_keys(&segments[i..])?));
    }
    Some((node, Vec::new()))
}

/// A scalar as text, the way `when` and `where` see it: strings unquoted,
/// numbers and booleans as written in JSON, null as `null`.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_segments() {
        let path = KeyPath::parse(r#"jobs.*.steps[*].uses"#).unwrap();
        assert_eq!(
            path.segments,
            vec![
                Segment::Key("jobs".into()),
                Segment::AnyKey,
                Segment::Key("steps".into()),
                Segment::AnyIndex,
                Segment::Key("uses".into()),
            ]
        );
        let path = KeyPath::parse(r#"metadata.annotations."app.kubernetes.io/name"[-1]"#).unwrap();
        assert_eq!(
            path.segments,
            vec![
                Segment::Key("metadata".into()),
                Segment::Key("annotations".into()),
                Segment::Key("app.kubernetes.io/name".into()),
                Segment::Index(-1),
            ]
        );
        assert_eq!(
            KeyPath::parse("setup-*").unwrap().segments,
            vec![Segment::KeyGlob("setup-*".into())]
        );
    }

    #[test]
    fn bad_paths_say_where() {
        for (text, offset) in [
            ("", 0),
            ("a..b", 2),
            ("a.", 2),
            ("a[x]", 2),
            ("a[0", 1),
            ("a]b", 1),
        ] {
            let e = KeyPath::parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text}: {}", e.message);
        }
    }

    #[test]
    fn segments_select_keys_and_items() {
        assert!(Segment::KeyGlob("setup-*".into()).matches_key("setup-node"));
        assert!(!Segment::KeyGlob("setup-*".into()).matches_key("checkout"));
        assert!(Segment::KeyGlob("*-v*".into()).matches_key("api-v1"));
        assert!(Segment::Index(-1).matches_index(2, 3));
        assert!(!Segment::Index(-1).matches_index(1, 3));
        assert!(Segment::Index(0).matches_index(0, 3));
        assert!(!Segment::Index(-4).matches_index(0, 3));
    }

    #[test]
    fn values_expand_the_captures_of_when() {
        let edit = Edit {
            op: Op::Set,
            path: KeyPath::parse("uses").unwrap(),
            value: Some(Value::String("actions/${tool}@v5".into())),
            to: None,
            when: Some(Regex::new(r"^actions/(?<tool>setup-\w+)@v[1-4]$").unwrap()),
            where_: Vec::new(),
        };
        assert!(edit.accepts(Some("actions/setup-go@v3")));
        assert!(!edit.accepts(Some("actions/setup-go@v5")));
        assert!(!edit.accepts(None));
        assert_eq!(
            edit.value_for(Some("actions/setup-go@v3")),
            Some(Value::String("actions/setup-go@v5".into()))
        );
    }
}
