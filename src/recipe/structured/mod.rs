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

mod hcl;
mod json;
mod toml;
mod tree;
mod yaml;

use std::fmt;

use regex::Regex;
use serde_json::Value;

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

/// Apply `edits`, in order, to `text` in `format`.
pub fn apply(format: Format, text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    match format {
        Format::Yaml => yaml::apply(text, edits),
        Format::Json => json::apply(text, edits),
        Format::Toml => toml::apply(text, edits),
        Format::Hcl => hcl::apply(text, edits),
    }
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
