//! The document model YAML and JSON share, and the edit logic run on it.
//!
//! Each format builds, from its tree-sitter tree, a small owned model: maps
//! of entries, lists of items and scalars, every one with its byte spans.
//! Resolving a [`KeyPath`], `when`/`where`, and what each operation does are
//! the same for both formats and live here; what the new bytes look like
//! (indentation, quoting, commas) is asked of the format through [`Syntax`].
//! Edits become [`Splice`]s of the original text, so bytes nobody touched
//! stay as they were.
//!
//! The text helpers at the end (lines, line endings, string escapes) serve
//! the TOML and HCL edits too.

use std::ops::Range;
use std::str::Chars;

use serde_json::{Map, Value};

use super::depth::TooDeep;
use super::{Applied, Edit, EditError, KeyPath, Op, Segment, apply_in_turn, nest, plain_keys};

/// A value in the document: a map, a list or a scalar, with its spans.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// The bytes of the value itself (without a YAML tag or anchor).
    pub span: Range<usize>,
    /// The bytes rewritten when the value is replaced by, or with, a map
    /// or a list (a scalar replacing a scalar rewrites `span` only). It may
    /// start before `span` (right after a YAML `key:`, so a block value can
    /// become a scalar on the key's line) and is empty for an absent value
    /// (`key:`).
    pub slot: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// A map; `flow` for `{...}` in YAML and always in JSON.
    Map {
        entries: Vec<Entry>,
        flow: bool,
    },
    /// A list; `flow` for `[...]` in YAML and always in JSON.
    Seq {
        items: Vec<Item>,
        flow: bool,
    },
    Scalar(Scalar),
}

/// A `key: value` of a map.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The key, decoded (unquoted, unescaped).
    pub key: String,
    pub key_span: Range<usize>,
    pub key_style: Style,
    /// The whole entry, from key to the end of the value.
    pub span: Range<usize>,
    pub value: Node,
}

/// An item of a list.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// The whole item (with YAML's `- `).
    pub span: Range<usize>,
    pub value: Node,
}

/// A scalar: how `when` sees it and what it is.
#[derive(Debug, Clone)]
pub(super) struct Scalar {
    /// The text `when`/`where` match: a quoted string unquoted, a plain
    /// scalar as written (so `3.10` stays `3.10`); `None` for an alias.
    pub text: Option<String>,
    /// The typed value, compared with an edit's value; `None` for an alias.
    pub value: Option<Value>,
    pub style: Style,
}

/// How a scalar (or key) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    /// A YAML `|` block.
    Literal,
    /// A YAML `>` block.
    Folded,
    /// No value at all (`key:` in YAML).
    Empty,
    /// A YAML alias (`*name`).
    Alias,
}

impl Node {
    /// The whole value as JSON, to compare with an edit's value; `None`
    /// when it holds an alias (which never equals anything).
    pub fn value(&self) -> Option<Value> {
        match &self.kind {
            Kind::Map { entries, .. } => {
                let mut map = Map::new();
                for entry in entries {
                    map.insert(entry.key.clone(), entry.value.value()?);
                }
                Some(Value::Object(map))
            }
            Kind::Seq { items, .. } => items
                .iter()
                .map(|item| item.value.value())
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            Kind::Scalar(scalar) => scalar.value.clone(),
        }
    }

    /// The scalar text `when` and `where` match, `None` for a map or list.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(scalar) => scalar.text.as_deref(),
            _ => None,
        }
    }

    /// An empty value (`key:`) or an explicit null, which `append` turns
    /// into a list.
    fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar(s) if s.value == Some(Value::Null))
    }

    /// The spans of the entries or items, in order.
    pub(super) fn member_spans(&self) -> Vec<Range<usize>> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().map(|e| e.span.clone()).collect(),
            Kind::Seq { items, .. } => items.iter().map(|i| i.span.clone()).collect(),
            Kind::Scalar(_) => Vec::new(),
        }
    }

    /// All scalars below (and at) this node, for style detection.
    pub fn scalars(&self) -> Vec<&Scalar> {
        let mut out = Vec::new();
        self.collect_scalars(&mut out);
        out
    }

    fn collect_scalars<'a>(&'a self, out: &mut Vec<&'a Scalar>) {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().for_each(|e| e.value.collect_scalars(out)),
            Kind::Seq { items, .. } => items.iter().for_each(|i| i.value.collect_scalars(out)),
            Kind::Scalar(scalar) => out.push(scalar),
        }
    }
}

/// Where a node sits: what a format needs to rewrite it in place.
#[derive(Debug, Clone, Copy)]
pub(super) struct Site<'a> {
    pub node: &'a Node,
    pub parent: Parent<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Parent<'a> {
    /// The root of a document.
    Root,
    /// Entry `usize` of this map.
    Entry(&'a Node, usize),
    /// Item `usize` of this list.
    Item(&'a Node, usize),
}

impl Parent<'_> {
    /// Whether the node sits in a flow (`{}`/`[]`) collection.
    pub fn in_flow(&self) -> bool {
        match self {
            Parent::Root => false,
            Parent::Entry(node, _) | Parent::Item(node, _) => matches!(
                node.kind,
                Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
            ),
        }
    }
}

/// Replace `range` of the text by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Splice {
    pub range: Range<usize>,
    pub text: String,
}

impl Splice {
    pub fn new(range: Range<usize>, text: impl Into<String>) -> Splice {
        Splice {
            range,
            text: text.into(),
        }
    }

    /// Insert `text` at `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Splice {
        Splice::new(at..at, text)
    }

    /// Remove `range`.
    pub fn remove(range: Range<usize>) -> Splice {
        Splice::new(range, "")
    }
}

/// How a format writes new bytes; the rest of the logic is shared.
pub(super) trait Syntax {
    /// Rewrite the value at `site` to `value`.
    fn replace(&self, site: Site<'_>, value: &Value) -> Splice;
    /// Add `key: value` after the last entry of `map`.
    fn insert(&self, map: &Node, key: &str, value: &Value) -> Splice;
    /// Add `value` after the last item of `seq`.
    fn push(&self, seq: &Node, value: &Value) -> Splice;
    /// Give `entry` the key `to`.
    fn rename(&self, entry: &Entry, to: &str) -> Splice;
    /// What starts a comment (a deleted line takes its trailing comment).
    fn comment(&self) -> &'static str;
}

/// One parse of a file: its documents' roots, or why it cannot be read.
pub(super) struct Parsed {
    pub roots: Vec<Node>,
    pub error: Option<Unreadable>,
}

/// Why a file is not edited.
pub(super) enum Unreadable {
    /// The line (1-based) and description of the first syntax error.
    Syntax(usize, String),
    /// It nests deeper than the model is built for.
    TooDeep(TooDeep),
}

impl Parsed {
    /// A file that is not edited, with no roots.
    pub fn unreadable(error: Unreadable) -> Parsed {
        Parsed {
            roots: Vec::new(),
            error: Some(error),
        }
    }
}

/// A format the shared driver can edit.
pub(super) trait Format {
    const NAME: &'static str;
    fn parse(text: &str) -> Parsed;
    fn syntax<'s>(text: &'s str, roots: &'s [Node]) -> impl Syntax + 's;
}

/// Apply `edits` in order, each to the result of the previous one.
///
/// The input must parse; the result of every edit is parsed again, so an
/// edit that would break the file is reported instead of written.
pub(super) fn apply<F: Format>(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    let mut parsed = F::parse(text);
    match parsed.error.take() {
        Some(Unreadable::Syntax(line, message)) => {
            return Err(EditError::parse(F::NAME, (line, message)));
        }
        Some(Unreadable::TooDeep(deep)) => return Err(deep.into()),
        None => {}
    }
    apply_in_turn(text, edits, |current, index, edit| {
        let (splices, count) = {
            let syntax = F::syntax(current, &parsed.roots);
            plan_documents(&syntax, current, &parsed.roots, edit, index)?
        };
        if splices.is_empty() {
            return Ok((count, None));
        }
        let next = splice_all(current, splices)
            .map_err(|at| conflict(edit, index, current, at, "two changes overlap"))?;
        let reparsed = F::parse(&next);
        match reparsed.error {
            Some(Unreadable::Syntax(line, message)) => {
                let message = format!("the result would not be valid {}: {message}", F::NAME);
                return Err(EditError::conflict(index, edit, line, message));
            }
            Some(Unreadable::TooDeep(deep)) => {
                return Err(EditError::too_deep_result(index, edit, deep));
            }
            None => {}
        }
        parsed = reparsed;
        Ok((count, Some(next)))
    })
}

/// The splices of one edit over every document whose `where` holds.
fn plan_documents(
    syntax: &impl Syntax,
    src: &str,
    roots: &[Node],
    edit: &Edit,
    index: usize,
) -> Result<(Vec<Splice>, usize), EditError> {
    let mut splices = Vec::new();
    let mut count = 0;
    for root in roots.iter().filter(|root| where_holds(root, edit)) {
        let plan = Plan {
            syntax,
            src,
            edit,
            index,
        };
        let (more, n) = plan.run(root)?;
        splices.extend(more);
        count += n;
    }
    Ok((splices, count))
}

/// Whether every `where` path of `edit` selects a scalar matching its regex.
fn where_holds(root: &Node, edit: &Edit) -> bool {
    edit.where_holds(|path| {
        resolve(root, path, false)
            .iter()
            .map(|found| match found {
                Found::Node { site, .. } => site.node.scalar_text(),
                Found::Absent { .. } => None,
            })
            .collect()
    })
}

/// What a path selects.
#[derive(Debug)]
pub(super) enum Found<'a> {
    /// An existing node, and the map or list holding it.
    Node { site: Site<'a>, up: Site<'a> },
    /// `keys[0]` is absent from `map`; the rest are maps to create below it.
    Absent { map: &'a Node, keys: Vec<String> },
}

/// Resolve `path` from `root`. With `create`, absent plain keys are
/// reported: the last one always, intermediate ones along a literal path.
pub(super) fn resolve<'a>(root: &'a Node, path: &KeyPath, create: bool) -> Vec<Found<'a>> {
    let segments = &path.segments;
    let mut frontier = vec![Site {
        node: root,
        parent: Parent::Root,
    }];
    let mut out = Vec::new();
    for (depth, segment) in segments.iter().enumerate() {
        let last = depth + 1 == segments.len();
        let mut next = Vec::new();
        for site in frontier {
            let children = children(site, segment);
            let may_create = create && (last || path.is_literal());
            if children.is_empty()
                && may_create
                && matches!(site.node.kind, Kind::Map { .. })
                && let Some(keys) = plain_keys(&segments[depth..])
            {
                out.push(Found::Absent {
                    map: site.node,
                    keys,
                });
            }
            if last {
                out.extend(children.into_iter().map(|child| Found::Node {
                    site: child,
                    up: site,
                }));
            } else {
                next.extend(children);
            }
        }
        frontier = next;
    }
    out
}

/// The children of `site` that `segment` selects.
fn children<'a>(site: Site<'a>, segment: &Segment) -> Vec<Site<'a>> {
    let node = site.node;
    match &node.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| segment.matches_key(&entry.key))
            .map(|(i, entry)| Site {
                node: &entry.value,
                parent: Parent::Entry(node, i),
            })
            .collect(),
        Kind::Seq { items, .. } => items
            .iter()
            .enumerate()
            .filter(|(i, _)| segment.matches_index(*i, items.len()))
            .map(|(i, item)| Site {
                node: &item.value,
                parent: Parent::Item(node, i),
            })
            .collect(),
        Kind::Scalar(_) => Vec::new(),
    }
}

/// One edit on one document.
struct Plan<'p, S> {
    syntax: &'p S,
    src: &'p str,
    edit: &'p Edit,
    index: usize,
}

type Planned = (Vec<Splice>, usize);

impl<S: Syntax> Plan<'_, S> {
    fn run(&self, root: &Node) -> Result<Planned, EditError> {
        let found = resolve(root, &self.edit.path, self.edit.creates());
        match self.edit.op {
            Op::Set | Op::Ensure => self.set(&found),
            Op::Append => self.append(&found),
            Op::Rename => self.rename(&found),
            Op::Delete => Ok(self.delete(&found)),
        }
    }

    fn conflict(&self, at: usize, message: &str) -> EditError {
        conflict(self.edit, self.index, self.src, at, message)
    }

    /// The edit's value, which `set`, `ensure` and `append` need.
    fn value(&self) -> Result<&Value, EditError> {
        self.edit.value.as_ref().ok_or_else(|| self.needs_value())
    }

    /// What `keys` absent from `map` get.
    fn insert(&self, map: &Node, keys: &[String]) -> Result<Splice, EditError> {
        let value = self
            .edit
            .created_value()
            .ok_or_else(|| self.needs_value())?;
        Ok(self.syntax.insert(map, &keys[0], &nest(&keys[1..], value)))
    }

    fn needs_value(&self) -> EditError {
        self.conflict(0, "this operation needs a `value`")
    }

    fn set(&self, found: &[Found<'_>]) -> Result<Planned, EditError> {
        self.value()?;
        let mut splices = Vec::new();
        for item in found {
            match item {
                Found::Node { site, .. } if self.edit.op == Op::Set => {
                    let current = site.node.scalar_text();
                    if !self.edit.accepts(current) {
                        continue;
                    }
                    let Some(value) = self.edit.value_for(current) else {
                        continue;
                    };
                    if site.node.value().as_ref() != Some(&value) {
                        splices.push(self.syntax.replace(*site, &value));
                    }
                }
                Found::Node { .. } => {}
                Found::Absent { map, keys } => splices.push(self.insert(map, keys)?),
            }
        }
        let count = splices.len();
        Ok((splices, count))
    }

    fn append(&self, found: &[Found<'_>]) -> Result<Planned, EditError> {
        let value = self.value()?;
        let mut splices = Vec::new();
        for item in found {
            match item {
                Found::Node { site, .. } => {
                    if !self.edit.accepts(site.node.scalar_text()) {
                        continue;
                    }
                    if let Some(splice) = self.append_to(*site, value)? {
                        splices.push(splice);
                    }
                }
                Found::Absent { map, keys } => splices.push(self.insert(map, keys)?),
            }
        }
        let count = splices.len();
        Ok((splices, count))
    }

    /// Append `value` to the list at `site` unless an equal item is there;
    /// an empty or null value becomes a one-item list.
    fn append_to(&self, site: Site<'_>, value: &Value) -> Result<Option<Splice>, EditError> {
        match &site.node.kind {
            Kind::Seq { items, .. } => {
                let present = items
                    .iter()
                    .any(|i| i.value.value().as_ref() == Some(value));
                Ok((!present).then(|| self.syntax.push(site.node, value)))
            }
            _ if site.node.is_null() => Ok(Some(
                self.syntax
                    .replace(site, &Value::Array(vec![value.clone()])),
            )),
            Kind::Map { .. } => Err(self.conflict(site.node.span.start, "cannot append to a map")),
            Kind::Scalar(_) => {
                Err(self.conflict(site.node.span.start, "cannot append to a scalar"))
            }
        }
    }

    fn rename(&self, found: &[Found<'_>]) -> Result<Planned, EditError> {
        let to = self
            .edit
            .to
            .as_deref()
            .ok_or_else(|| self.conflict(0, "rename needs a `to`"))?;
        let mut splices = Vec::new();
        // The maps where an entry already gets the key `to`.
        let mut renamed: Vec<&Node> = Vec::new();
        for item in found {
            let Found::Node { site, .. } = item else {
                continue;
            };
            if !self.edit.accepts(site.node.scalar_text()) {
                continue;
            }
            let Parent::Entry(map, index) = site.parent else {
                return Err(self.conflict(site.node.span.start, "only a map entry can be renamed"));
            };
            let Kind::Map { entries, .. } = &map.kind else {
                continue;
            };
            let entry = &entries[index];
            if entry.key == to {
                continue;
            }
            if entries.iter().any(|e| e.key == to) {
                let message = format!("the key `{to}` already exists");
                return Err(self.conflict(entry.span.start, &message));
            }
            if renamed.iter().any(|m| std::ptr::eq(*m, map)) {
                let message = format!("two keys of this map would become `{to}`");
                return Err(self.conflict(entry.span.start, &message));
            }
            renamed.push(map);
            splices.push(self.syntax.rename(entry, to));
        }
        let count = splices.len();
        Ok((splices, count))
    }

    /// Delete the selected entries and items, grouped by the collection
    /// holding them so that commas and emptied collections come out right.
    fn delete(&self, found: &[Found<'_>]) -> Planned {
        let mut groups: Vec<(Site<'_>, Vec<usize>)> = Vec::new();
        for item in found {
            let Found::Node { site, up } = item else {
                continue;
            };
            if !self.edit.accepts(site.node.scalar_text()) {
                continue;
            }
            let (Parent::Entry(_, index) | Parent::Item(_, index)) = site.parent else {
                continue;
            };
            match groups
                .iter_mut()
                .find(|(g, _)| std::ptr::eq(g.node, up.node))
            {
                Some((_, indexes)) => indexes.push(index),
                None => groups.push((*up, vec![index])),
            }
        }
        let mut splices = Vec::new();
        let mut count = 0;
        for (up, indexes) in groups {
            count += indexes.len();
            splices.extend(self.delete_members(up, &indexes));
        }
        (splices, count)
    }

    fn delete_members(&self, up: Site<'_>, doomed: &[usize]) -> Vec<Splice> {
        let members = up.node.member_spans();
        if doomed.len() >= members.len() {
            let empty = match up.node.kind {
                Kind::Seq { .. } => Value::Array(Vec::new()),
                _ => Value::Object(Map::new()),
            };
            return vec![self.syntax.replace(up, &empty)];
        }
        let cut = Cut {
            src: self.src,
            comment: self.syntax.comment(),
            members: &members,
        };
        runs(&members, doomed)
            .into_iter()
            .flat_map(|run| cut.run(run))
            .collect()
    }
}

/// The maximal runs of consecutive indexes in `doomed`.
fn runs(members: &[Range<usize>], doomed: &[usize]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for i in 0..members.len() {
        if !doomed.contains(&i) {
            continue;
        }
        match out.last_mut() {
            Some(run) if run.end == i => run.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Removal of runs of members from a collection that keeps some.
struct Cut<'c> {
    src: &'c str,
    comment: &'static str,
    members: &'c [Range<usize>],
}

impl Cut<'_> {
    /// The splices removing members `run`: whole lines when they own
    /// them (with a trailing comment), else just the bytes up to the next
    /// member, or from the previous one when the run is at the end.
    fn run(&self, run: Range<usize>) -> Vec<Splice> {
        let first = &self.members[run.start];
        let last = &self.members[run.end - 1];
        let before = run.start.checked_sub(1).map(|i| &self.members[i]);
        let after = self.members.get(run.end);
        if let Some(end) = self.owned_lines(first.start, last.end) {
            let mut out = vec![Splice::new(line_start(self.src, first.start)..end, "")];
            if let (None, Some(before)) = (after, before) {
                out.extend(self.comma_after(before.end));
            }
            return out;
        }
        match (before, after) {
            (_, Some(after)) => vec![Splice::new(first.start..after.start, "")],
            (Some(before), None) => vec![Splice::new(before.end..last.end, "")],
            (None, None) => Vec::new(),
        }
    }

    /// When `start` begins its line and only a comma and a comment follow
    /// `end` on its line: the end of that line.
    fn owned_lines(&self, start: usize, end: usize) -> Option<usize> {
        let head = &self.src[line_start(self.src, start)..start];
        if !head.trim().is_empty() {
            return None;
        }
        let stop = line_end(self.src, end);
        let rest = self.src[end..stop].trim();
        let rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        (rest.is_empty() || rest.starts_with(self.comment)).then_some(stop)
    }

    /// Removal of the separating comma right after `at`, if there is one.
    fn comma_after(&self, at: usize) -> Option<Splice> {
        let gap = self.src[at..].len() - self.src[at..].trim_start_matches([' ', '\t']).len();
        let comma = at + gap;
        (self.src[comma..].starts_with(',')).then(|| Splice::new(comma..comma + 1, ""))
    }
}

/// Apply non-overlapping splices; an overlap gives its offset.
fn splice_all(src: &str, mut splices: Vec<Splice>) -> Result<String, usize> {
    splices.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for splice in &splices {
        if splice.range.start < at {
            return Err(splice.range.start);
        }
        out.push_str(&src[at..splice.range.start]);
        out.push_str(&splice.text);
        at = splice.range.end;
    }
    out.push_str(&src[at..]);
    Ok(out)
}

fn conflict(edit: &Edit, index: usize, src: &str, at: usize, message: &str) -> EditError {
    EditError::conflict(index, edit, line_of(src, at), message)
}

/// The 1-based line of byte `at`.
pub(super) fn line_of(src: &str, at: usize) -> usize {
    src.as_bytes()[..at.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The offset where the line holding `at` starts.
pub(super) fn line_start(src: &str, at: usize) -> usize {
    src[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The offset just past the line holding `at` (past its newline), `at`
/// itself when it already starts a line after a newline.
pub(super) fn line_end(src: &str, at: usize) -> usize {
    if at > 0 && src.as_bytes()[at - 1] == b'\n' {
        return at;
    }
    src[at..].find('\n').map_or(src.len(), |i| at + i + 1)
}

/// The column (in bytes) of `at`.
pub(super) fn column(src: &str, at: usize) -> usize {
    at - line_start(src, at)
}

/// The whitespace that starts the line holding `at`.
pub(super) fn indentation(src: &str, at: usize) -> &str {
    let line = &src[line_start(src, at)..];
    let end = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..end]
}

/// The newline the file uses.
pub(super) fn newline(src: &str) -> &'static str {
    if src.contains("\r\n") { "\r\n" } else { "\n" }
}

/// `out` with the `\r\n` line endings of `before`, when `before` has only
/// those: the lines an edit adds are written with `\n`.
pub(super) fn keep_line_endings(before: &str, out: String) -> String {
    let crlf =
        before.contains("\r\n") && before.matches('\n').count() == before.matches("\r\n").count();
    if !crlf {
        return out;
    }
    let mut fixed = String::with_capacity(out.len() + out.len() / 32);
    let mut previous = None;
    for c in out.chars() {
        if c == '\n' && previous != Some('\r') {
            fixed.push('\r');
        }
        fixed.push(c);
        previous = Some(c);
    }
    fixed
}

/// `text` with its backslash escapes decoded: `escape` gets the character
/// after a `\` and the characters after that, and gives the character the
/// escape stands for (`None`: none). A `\` that ends `text` stays.
pub(super) fn unescape(
    text: &str,
    escape: impl Fn(char, &mut Chars<'_>) -> Option<char>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(escaped) => out.extend(escape(escaped, &mut chars)),
            None => out.push('\\'),
        }
    }
    out
}

/// The character of the next `digits` hex digits of `chars`, if they make one.
pub(super) fn hex_char(chars: &mut Chars<'_>, digits: usize) -> Option<char> {
    let hex: String = chars.by_ref().take(digits).collect();
    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
}

/// `text` between double quotes, with `"`, `\`, newlines and tabs escaped
/// and any other control character as `\uXXXX` (hex digits in upper case
/// with `upper_hex`): a TOML basic string, an HCL quoted string.
pub(super) fn double_quoted(text: &str, upper_hex: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && upper_hex => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as a JSON string, which YAML reads as a double-quoted scalar.
pub(super) fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// Where a new entry or item goes after `last` in a block layout: past the
/// end of its line, with the newline to put first when the file does not
/// end with one.
pub(super) fn after_line(src: &str, last: usize, nl: &str) -> (usize, String) {
    let at = line_end(src, last);
    let lead = if at == src.len() && !src.ends_with('\n') {
        nl.to_string()
    } else {
        String::new()
    };
    (at, lead)
}

/// A node of a tree-sitter tree as ast-grep hands it out.
pub(super) type TsNode<'r> =
    ast_grep_core::Node<'r, ast_grep_core::tree_sitter::StrDoc<ast_grep_language::SupportLang>>;

/// The line and description of the first syntax error under `root`.
pub(super) fn first_error(root: &TsNode<'_>, src: &str) -> Option<(usize, String)> {
    let bad = root.dfs().find(|n| n.is_error() || n.is_missing())?;
    if bad.is_missing() {
        let line = bad.start_pos().line() + 1;
        return Some((line, format!("missing `{}`", bad.kind())));
    }
    let at = error_offset(&bad, src);
    let shown: String = src[at..]
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(30)
        .collect();
    let message = if shown.is_empty() {
        "unexpected end of file".to_string()
    } else {
        format!("unexpected `{shown}`")
    };
    Some((line_of(src, at), message))
}

/// Where the trouble of an ERROR node is. Tree-sitter often wraps the valid
/// entries before a mistake into the ERROR node: then the mistake is what
/// follows the last of them (or the node's end), not the node's start.
fn error_offset(bad: &TsNode<'_>, src: &str) -> usize {
    let range = bad.range();
    let starts_valid = bad
        .children()
        .next()
        .is_some_and(|c| c.is_named() && !c.is_error());
    if !starts_valid {
        return range.start;
    }
    let tokens = bad.children().find(|c| !c.is_named());
    if let Some(token) = tokens {
        return token.range().start;
    }
    let rest = &src[range.end..];
    let gap = rest.len() - rest.trim_start().len();
    if gap < rest.len() {
        range.end + gap
    } else {
        line_start(src, range.end.saturating_sub(1).max(range.start))
    }
}
