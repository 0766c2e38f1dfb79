//! TOML edits, through `toml_edit`.
//!
//! `toml_edit`'s [`DocumentMut`] keeps every byte it parsed as "decor"
//! (the whitespace and comments around keys and values), so printing it
//! back gives the input unchanged; an edit touches only the items it
//! changes, and this module takes care to carry decor over where
//! `toml_edit`'s defaults would not match the file:
//! - a replaced value keeps the old value's surrounding whitespace and
//!   trailing comment, and a string keeps its quote style (basic `"..."` or
//!   literal `'...'`) when the new text can be written in it;
//! - a key added to a table is indented like its last key;
//! - an item appended to a multi-line array goes on its own line, indented
//!   like the last item, and the comments at the ends of lines stay on the
//!   lines they were on;
//! - a deleted key takes the comment lines directly above it along, but
//!   not the blank lines that separated it from what was before; a deleted
//!   table its header with the comments and blank lines above it (the next
//!   header has its own); a deleted array item its own line, so that when
//!   it was the last one the `]` stays on its own line and the item before
//!   keeps its comma and comment.
//!
//! Where keys are created (see the semantics in [`super`]):
//! - a missing key in an existing table is added after that table's last
//!   key (before the next table header), as `key = value`; in a table
//!   written with dotted keys (`tool.poetry.name = ...`) it is written
//!   dotted too, and in an inline table inside the braces;
//! - a missing table along a literal path is created as a standard
//!   `[a.b]` table (its missing parents stay implicit, with no header of
//!   their own), placed after the last table of its parent's section
//!   (at the end of the document for a top-level table): that is where a
//!   person would add it, and a table header cannot go elsewhere;
//! - a JSON object `value` at a table key becomes a standard table; an
//!   object nested inside a value becomes an inline table.
//!
//! A path walks tables, inline tables, arrays and arrays of tables
//! (`bin[*].name` selects the `name` of every `[[bin]]`).

use serde_json::{Map, Value as Json};
use toml_edit::{
    Array, ArrayOfTables, DocumentMut, InlineTable, Item, Key, Table, TomlError, Value,
};

use super::tree::{self, double_quoted, keep_line_endings};
use super::{
    Applied, Cursor, Edit, EditError, Op, Segment, Selected, apply_in_turn, depth, scalar_text,
    select,
};

const FORMAT: &str = "toml";

pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: TomlError| {
        // `toml_edit` refuses deep nesting itself; say so when that is why.
        if let Some(deep) = depth::toml(text) {
            return deep.into();
        }
        EditError::parse(
            FORMAT,
            (error_line(text, &e), e.message().trim().to_string()),
        )
    })?;
    apply_in_turn(text, edits, |current, index, edit| {
        let conflict =
            |line: usize, message: String| EditError::conflict(index, edit, line, message);
        let count =
            apply_edit(&mut doc, edit).map_err(|p| conflict(line_of(current, &p.at), p.message))?;
        if count == 0 {
            return Ok((0, None));
        }
        let out = keep_line_endings(current, doc.to_string());
        // The next edit works on what this one printed, as a person
        // editing the file would see it.
        doc = out.parse().map_err(|e: TomlError| {
            if let Some(deep) = depth::toml(&out) {
                return EditError::too_deep_result(index, edit, deep);
            }
            conflict(
                error_line(&out, &e),
                format!("the result is not valid TOML: {}", e.message().trim()),
            )
        })?;
        Ok((count, Some(out)))
    })
}

/// The 1-based line where a parse error starts.
fn error_line(text: &str, error: &TomlError) -> usize {
    let start = error.span().map_or(0, |span| span.start);
    tree::line_of(text, start)
}

/// The line of the node at `at` in `text` (which parses), for a conflict
/// message; the nearest existing ancestor's line when it is gone, else 1.
///
/// The working document has no spans (they die with the first edit), so
/// the text is parsed again, with spans; this happens only on a conflict.
fn line_of(text: &str, at: &[Step]) -> usize {
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return 1;
    };
    let mut node = Node::Table(doc.as_table());
    let mut offset = None;
    for step in at {
        if let (Node::Table(table), Step::Key(key)) = (node, step)
            && let Some(span) = table.key(key).and_then(Key::span)
        {
            offset = Some(span.start);
        }
        let Some(child) = node.child(step) else {
            break;
        };
        offset = child.span().map(|span| span.start).or(offset);
        node = child;
    }
    offset.map_or(1, |offset| tree::line_of(text, offset))
}

/// Why an edit cannot be made, and where.
struct Problem {
    at: Vec<Step>,
    message: String,
}

impl Problem {
    fn new(at: &[Step], message: impl Into<String>) -> Self {
        Problem {
            at: at.to_vec(),
            message: message.into(),
        }
    }
}

/// One step of a resolved address: a key of a table or an item of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A read-only view of a node of the document.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Inline(&'a InlineTable),
    Array(&'a Array),
    Tables(&'a ArrayOfTables),
    Scalar(&'a Value),
}

impl<'a> Node<'a> {
    fn of_item(item: &'a Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Value(value) => Some(Node::of_value(value)),
            Item::Table(table) => Some(Node::Table(table)),
            Item::ArrayOfTables(tables) => Some(Node::Tables(tables)),
        }
    }

    fn of_value(value: &'a Value) -> Self {
        match value {
            Value::Array(array) => Node::Array(array),
            Value::InlineTable(table) => Node::Inline(table),
            _ => Node::Scalar(value),
        }
    }

    /// The children `segment` selects, each with its step.
    fn select(self, segment: &Segment) -> Vec<(Step, Node<'a>)> {
        let key = |key: &str| Step::Key(key.to_string());
        match self {
            Node::Table(table) => table
                .iter()
                .filter(|(k, _)| segment.matches_key(k))
                .filter_map(|(k, item)| Some((key(k), Node::of_item(item)?)))
                .collect(),
            Node::Inline(table) => table
                .iter()
                .filter(|(k, _)| segment.matches_key(k))
                .map(|(k, value)| (key(k), Node::of_value(value)))
                .collect(),
            Node::Array(array) => array
                .iter()
                .enumerate()
                .filter(|(i, _)| segment.matches_index(*i, array.len()))
                .map(|(i, value)| (Step::Index(i), Node::of_value(value)))
                .collect(),
            Node::Tables(tables) => tables
                .iter()
                .enumerate()
                .filter(|(i, _)| segment.matches_index(*i, tables.len()))
                .map(|(i, table)| (Step::Index(i), Node::Table(table)))
                .collect(),
            Node::Scalar(_) => Vec::new(),
        }
    }

    fn child(self, step: &Step) -> Option<Node<'a>> {
        match (self, step) {
            (Node::Table(table), Step::Key(key)) => Node::of_item(table.get(key)?),
            (Node::Inline(table), Step::Key(key)) => Some(Node::of_value(table.get(key)?)),
            (Node::Array(array), Step::Index(i)) => Some(Node::of_value(array.get(*i)?)),
            (Node::Tables(tables), Step::Index(i)) => Some(Node::Table(tables.get(*i)?)),
            _ => None,
        }
    }

    fn span(self) -> Option<std::ops::Range<usize>> {
        match self {
            Node::Table(table) => table.span(),
            Node::Inline(table) => table.span(),
            Node::Array(array) => array.span(),
            Node::Tables(tables) => tables.span(),
            Node::Scalar(value) => value.span(),
        }
    }

    /// A table or an inline table: something a key can be added to.
    fn is_map(self) -> bool {
        matches!(self, Node::Table(_) | Node::Inline(_))
    }

    fn has_key(self, key: &str) -> bool {
        match self {
            Node::Table(table) => table.contains_key(key),
            Node::Inline(table) => table.contains_key(key),
            _ => false,
        }
    }

    /// The scalar as `when` and `where` see it; `None` for a table or an array.
    fn scalar(self) -> Option<String> {
        match self {
            Node::Scalar(value) => scalar_text(&value_json(value)),
            _ => None,
        }
    }

    /// The node as JSON, to compare with an edit's value.
    fn json(self) -> Json {
        match self {
            Node::Table(table) => Json::Object(
                table
                    .iter()
                    .filter_map(|(k, item)| Some((k.to_string(), Node::of_item(item)?.json())))
                    .collect(),
            ),
            Node::Inline(table) => Json::Object(
                table
                    .iter()
                    .map(|(k, value)| (k.to_string(), value_json(value)))
                    .collect(),
            ),
            Node::Array(array) => Json::Array(array.iter().map(value_json).collect()),
            Node::Tables(tables) => Json::Array(
                tables
                    .iter()
                    .map(|table| Node::Table(table).json())
                    .collect(),
            ),
            Node::Scalar(value) => value_json(value),
        }
    }
}

/// A TOML value as JSON; a date-time becomes its text, a float JSON cannot
/// hold (`nan`, `inf`) its TOML spelling.
fn value_json(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::String(s.value().clone()),
        Value::Integer(i) => Json::from(*i.value()),
        Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map_or_else(|| Json::String(f.value().to_string()), Json::Number),
        Value::Boolean(b) => Json::Bool(*b.value()),
        Value::Datetime(d) => Json::String(d.value().to_string()),
        Value::Array(_) | Value::InlineTable(_) => Node::of_value(value).json(),
    }
}

/// A node with its address, as path resolution sees it.
#[derive(Clone)]
struct At<'a> {
    steps: Vec<Step>,
    node: Node<'a>,
}

impl Cursor for At<'_> {
    fn select(&self, segment: &Segment) -> Vec<Self> {
        self.node
            .select(segment)
            .into_iter()
            .map(|(step, node)| {
                let mut steps = self.steps.clone();
                steps.push(step);
                At { steps, node }
            })
            .collect()
    }

    fn is_map(&self) -> bool {
        self.node.is_map()
    }

    fn nests(&self) -> bool {
        self.node.is_map()
    }

    fn has_key(&self, key: &str) -> bool {
        self.node.has_key(key)
    }

    fn scalar(&self) -> Option<String> {
        self.node.scalar()
    }
}

/// A change to make, planned on a read-only view and then made.
enum Action {
    /// Replace the node at `parent`/`step` by `value`.
    Replace {
        parent: Vec<Step>,
        step: Step,
        value: Json,
    },
    /// Add `keys` (missing tables, then the key) under the map at `parent`.
    Insert {
        parent: Vec<Step>,
        keys: Vec<String>,
        value: Json,
    },
    Rename {
        parent: Vec<Step>,
        from: String,
        to: String,
    },
    Delete {
        parent: Vec<Step>,
        step: Step,
    },
    /// Add `value` at the end of the array at `at`.
    Push {
        at: Vec<Step>,
        value: Json,
    },
}

/// Apply one edit; how many nodes it changed.
fn apply_edit(doc: &mut DocumentMut, edit: &Edit) -> Result<usize, Problem> {
    let actions = plan(Node::Table(doc.as_table()), edit)?;
    let count = actions.len();
    // Backwards, so that removing an item does not shift the ones still
    // to be removed from the same array.
    for action in actions.into_iter().rev() {
        execute(doc.as_table_mut(), action)?;
    }
    Ok(count)
}

fn plan(root: Node<'_>, edit: &Edit) -> Result<Vec<Action>, Problem> {
    let root = At {
        steps: Vec::new(),
        node: root,
    };
    let mut actions = Vec::new();
    for selected in select(&root, edit) {
        match selected {
            Selected::Node { parent, child } => actions.extend(plan_existing(edit, parent, child)?),
            Selected::Absent { parent, keys } => {
                let value = edit
                    .created_value()
                    .ok_or_else(|| needs_value(edit, &parent.steps))?;
                actions.push(Action::Insert {
                    parent: parent.steps,
                    keys,
                    value,
                });
            }
        }
    }
    Ok(actions)
}

fn needs_value(edit: &Edit, at: &[Step]) -> Problem {
    Problem::new(at, format!("`{}` needs a value", edit.op.name()))
}

fn required_value(edit: &Edit, at: &[Step], current: Option<&str>) -> Result<Json, Problem> {
    edit.value_for(current).ok_or_else(|| needs_value(edit, at))
}

/// The action for an existing node `child` of `parent`, if any.
fn plan_existing(edit: &Edit, parent: At<'_>, child: At<'_>) -> Result<Option<Action>, Problem> {
    let current = child.scalar();
    if !edit.accepts(current.as_deref()) {
        return Ok(None);
    }
    let At {
        steps: at,
        node: child,
    } = child;
    let step = at.last().cloned().expect("a selected node has a step");
    let At {
        steps: parent,
        node: parent_node,
    } = parent;
    Ok(match edit.op {
        Op::Ensure => None,
        Op::Set => {
            let value = required_value(edit, &at, current.as_deref())?;
            (child.json() != value).then_some(Action::Replace {
                parent,
                step,
                value,
            })
        }
        Op::Delete => Some(Action::Delete { parent, step }),
        Op::Rename => {
            let Step::Key(from) = step else {
                return Err(Problem::new(&at, "only a key can be renamed, not an item"));
            };
            let to = edit
                .to
                .clone()
                .ok_or_else(|| Problem::new(&at, "`rename` needs `to`"))?;
            if to == from {
                return Ok(None);
            }
            if parent_node.has_key(&to) {
                return Err(Problem::new(&at, format!("the key `{to}` already exists")));
            }
            Some(Action::Rename { parent, from, to })
        }
        Op::Append => {
            if !matches!(child, Node::Array(_) | Node::Tables(_)) {
                return Err(Problem::new(&at, "`append` needs an array here"));
            }
            let value = required_value(edit, &at, None)?;
            let Json::Array(items) = child.json() else {
                return Ok(None);
            };
            (!items.contains(&value)).then_some(Action::Push { at, value })
        }
    })
}

/// A mutable view of a node of the document.
enum NodeMut<'a> {
    Table(&'a mut Table),
    Inline(&'a mut InlineTable),
    Array(&'a mut Array),
    Tables(&'a mut ArrayOfTables),
    Scalar,
}

impl<'a> NodeMut<'a> {
    fn of_item(item: &'a mut Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Value(value) => Some(NodeMut::of_value(value)),
            Item::Table(table) => Some(NodeMut::Table(table)),
            Item::ArrayOfTables(tables) => Some(NodeMut::Tables(tables)),
        }
    }

    fn of_value(value: &'a mut Value) -> Self {
        match value {
            Value::Array(array) => NodeMut::Array(array),
            Value::InlineTable(table) => NodeMut::Inline(table),
            _ => NodeMut::Scalar,
        }
    }

    fn child(self, step: &Step) -> Option<NodeMut<'a>> {
        match (self, step) {
            (NodeMut::Table(table), Step::Key(key)) => NodeMut::of_item(table.get_mut(key)?),
            (NodeMut::Inline(table), Step::Key(key)) => {
                Some(NodeMut::of_value(table.get_mut(key)?))
            }
            (NodeMut::Array(array), Step::Index(i)) => Some(NodeMut::of_value(array.get_mut(*i)?)),
            (NodeMut::Tables(tables), Step::Index(i)) => Some(NodeMut::Table(tables.get_mut(*i)?)),
            _ => None,
        }
    }
}

fn node_mut<'a>(root: &'a mut Table, at: &[Step]) -> Option<NodeMut<'a>> {
    let mut node = NodeMut::Table(root);
    for step in at {
        node = node.child(step)?;
    }
    Some(node)
}

fn execute(root: &mut Table, action: Action) -> Result<(), Problem> {
    let gone = |at: &[Step]| Problem::new(at, "the node is gone");
    match action {
        Action::Replace {
            parent,
            step,
            value,
        } => {
            let node = node_mut(root, &parent).ok_or_else(|| gone(&parent))?;
            let headerless = is_headerless(&node);
            replace(node, &step, &value).map_err(|m| Problem::new(&parent, m))?;
            if headerless && !value.is_object() {
                give_header(root, &parent);
            }
            Ok(())
        }
        Action::Insert {
            parent,
            keys,
            value,
        } => match node_mut(root, &parent) {
            Some(NodeMut::Table(table)) => {
                let headerless = is_headerless(&NodeMut::Table(table));
                insert_in_table(table, &keys, &value).map_err(|m| Problem::new(&parent, m))?;
                if headerless && keys.len() == 1 && !value.is_object() {
                    give_header(root, &parent);
                }
                Ok(())
            }
            Some(NodeMut::Inline(table)) => {
                insert_in_inline(table, &keys, &value).map_err(|m| Problem::new(&parent, m))
            }
            _ => Err(gone(&parent)),
        },
        Action::Rename { parent, from, to } => {
            match node_mut(root, &parent).ok_or_else(|| gone(&parent))? {
                NodeMut::Table(table) => rename_in_table(table, &from, &to),
                NodeMut::Inline(table) => rename_in_inline(table, &from, &to),
                _ => return Err(gone(&parent)),
            }
            Ok(())
        }
        Action::Delete { parent, step } => {
            match (node_mut(root, &parent).ok_or_else(|| gone(&parent))?, &step) {
                (NodeMut::Table(table), Step::Key(key)) => delete_from_table(table, key),
                (NodeMut::Inline(table), Step::Key(key)) => delete_from_inline(table, key),
                (NodeMut::Array(array), Step::Index(i)) => delete_from_array(array, *i),
                (NodeMut::Tables(tables), Step::Index(i)) if *i < tables.len() => {
                    tables.remove(*i);
                }
                _ => return Err(gone(&parent)),
            }
            Ok(())
        }
        Action::Push { at, value } => match node_mut(root, &at) {
            Some(NodeMut::Array(array)) => {
                let item = to_value(&value).map_err(|m| Problem::new(&at, m))?;
                push_to_array(array, item);
                Ok(())
            }
            Some(NodeMut::Tables(tables)) => {
                let Json::Object(map) = &value else {
                    return Err(Problem::new(&at, "an array of tables takes only objects"));
                };
                tables.push(to_table(map).map_err(|m| Problem::new(&at, m))?);
                Ok(())
            }
            _ => Err(Problem::new(&at, "`append` needs an array here")),
        },
    }
}

/// Replace the child at `step` of `parent` by `value`, keeping the old
/// value's decor.
fn replace(parent: NodeMut<'_>, step: &Step, value: &Json) -> Result<(), String> {
    match (parent, step) {
        (NodeMut::Table(table), Step::Key(key)) => replace_item(table, key, value),
        (NodeMut::Inline(table), Step::Key(key)) => {
            let old = table.get_mut(key).ok_or("the key is gone")?;
            *old = new_value(value, old)?;
            Ok(())
        }
        (NodeMut::Array(array), Step::Index(i)) => {
            let old = array.get_mut(*i).ok_or("the item is gone")?;
            *old = new_value(value, old)?;
            Ok(())
        }
        (NodeMut::Tables(tables), Step::Index(i)) => {
            let old = tables.get_mut(*i).ok_or("the item is gone")?;
            let Json::Object(map) = value else {
                return Err("an array of tables takes only objects".to_string());
            };
            *old = new_table(map, old)?;
            Ok(())
        }
        _ => Err("the node is gone".to_string()),
    }
}

fn replace_item(table: &mut Table, key: &str, value: &Json) -> Result<(), String> {
    let item = table.get_mut(key).ok_or("the key is gone")?;
    match (&mut *item, value) {
        (Item::Value(old), _) => *old = new_value(value, old)?,
        (Item::Table(old), Json::Object(map)) => *old = new_table(map, old)?,
        (_, Json::Object(map)) => *item = Item::Table(to_table(map)?),
        // A table becomes a `key = value` line, written as a new one: the
        // header's decor does not fit a line.
        _ => {
            table.remove(key);
            insert_in_table(table, &[key.to_string()], value)?;
        }
    }
    Ok(())
}

/// A table written with no header of its own (`tool` of `[tool.poetry]`),
/// which needs one when it gets a key.
fn is_headerless(node: &NodeMut<'_>) -> bool {
    matches!(node, NodeMut::Table(table) if table.is_implicit() && !table.is_dotted())
}

/// Give the implicit table at `at`, which just got a key, a header of its
/// own after the tables under it (`[tool]` after `[tool.poetry]`): without
/// a position `toml_edit` would print it before them, where the comments
/// above the first of them would end up under it.
fn give_header(root: &mut Table, at: &[Step]) {
    let Some(NodeMut::Table(table)) = node_mut(root, at) else {
        return;
    };
    let mut under = Vec::new();
    positions(table, &mut under);
    let Some(&last) = under.iter().max() else {
        return;
    };
    shift_positions(root, last);
    if let Some(NodeMut::Table(table)) = node_mut(root, at) {
        table.set_implicit(false);
        table.set_position(Some(last + 1));
    }
}

/// The positions of `table` and of every table under it.
fn positions(table: &Table, out: &mut Vec<isize>) {
    out.extend(table.position());
    for (_, item) in table.iter() {
        match item {
            Item::Table(child) => positions(child, out),
            Item::ArrayOfTables(tables) => tables.iter().for_each(|t| positions(t, out)),
            _ => {}
        }
    }
}

/// Move every table placed after `after` one place further.
fn shift_positions(table: &mut Table, after: isize) {
    if let Some(position) = table.position()
        && position > after
    {
        table.set_position(Some(position + 1));
    }
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(child) => shift_positions(child, after),
            Item::ArrayOfTables(tables) => {
                tables.iter_mut().for_each(|t| shift_positions(t, after))
            }
            _ => {}
        }
    }
}

/// `value` in place of `old`: same decor, and a string in the same quote
/// style when it can be.
fn new_value(value: &Json, old: &Value) -> Result<Value, String> {
    let mut new = match (value, old) {
        (Json::String(s), Value::String(formatted)) => {
            let raw = formatted.as_repr().and_then(|r| r.as_raw().as_str());
            styled_string(s, raw.unwrap_or_default())
        }
        _ => to_value(value)?,
    };
    *new.decor_mut() = old.decor().clone();
    Ok(new)
}

/// A table with `map`'s entries in place of `old`, where `old` was.
fn new_table(map: &Map<String, Json>, old: &Table) -> Result<Table, String> {
    let mut new = to_table(map)?;
    *new.decor_mut() = old.decor().clone();
    new.set_position(old.position());
    // An empty dotted table prints as nothing at all: it gets a header.
    new.set_dotted(old.is_dotted() && !map.is_empty());
    Ok(new)
}

/// `text` as a TOML string in the style of `old_raw` (how the old string
/// was written): literal `'...'` stays literal when `text` has no `'` and
/// no control character, basic `"..."` stays basic; otherwise (and for
/// multi-line strings) `toml_edit` picks.
fn styled_string(text: &str, old_raw: &str) -> Value {
    let single_line = !old_raw.starts_with("'''") && !old_raw.starts_with("\"\"\"");
    let literal = old_raw.starts_with('\'')
        && single_line
        && !text.contains('\'')
        && !text.chars().any(|c| c.is_control() && c != '\t');
    let written = if literal {
        Some(format!("'{text}'"))
    } else if old_raw.starts_with('"') && single_line {
        Some(double_quoted(text, true))
    } else {
        None
    };
    written
        .and_then(|w| w.parse::<Value>().ok())
        .unwrap_or_else(|| Value::from(text))
}

/// A JSON value as a TOML value (objects as inline tables).
fn to_value(value: &Json) -> Result<Value, String> {
    Ok(match value {
        Json::Null => return Err("TOML has no null".to_string()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) if n.is_f64() => Value::from(f),
            _ => return Err(format!("{n} does not fit a TOML integer")),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(to_value(item)?);
            }
            Value::Array(array)
        }
        Json::Object(map) => {
            let mut table = InlineTable::new();
            for (key, item) in map {
                table.insert(key, to_value(item)?);
            }
            Value::InlineTable(table)
        }
    })
}

/// A JSON object as a standard table (nested objects inline).
fn to_table(map: &Map<String, Json>) -> Result<Table, String> {
    let mut table = Table::new();
    for (key, item) in map {
        table.insert(key, Item::Value(to_value(item)?));
    }
    Ok(table)
}

/// Add `keys` to `table`: the tables missing along the way, then the last
/// key with `value`.
fn insert_in_table(table: &mut Table, keys: &[String], value: &Json) -> Result<(), String> {
    let (key, rest) = keys.split_first().ok_or("no key to add")?;
    if !rest.is_empty() {
        let mut child = Table::new();
        // A table that only holds tables gets no header of its own.
        child.set_implicit(true);
        child.set_dotted(table.is_dotted());
        insert_in_table(&mut child, rest, value)?;
        table.insert(key, Item::Table(child));
        return Ok(());
    }
    if let Json::Object(map) = value {
        let mut child = to_table(map)?;
        child.set_dotted(table.is_dotted());
        table.insert(key, Item::Table(child));
        return Ok(());
    }
    let mut formatted = Key::new(key.as_str());
    if let Some(indent) = last_key_indent(table) {
        formatted.leaf_decor_mut().set_prefix(indent);
    }
    table.insert_formatted(&formatted, Item::Value(to_value(value)?));
    Ok(())
}

/// How the last key/value line of `table` is indented.
fn last_key_indent(table: &Table) -> Option<String> {
    let values = table.get_values();
    let (keys, _) = values.last()?;
    // The first key of a dotted line is printed with the leaf's decor.
    let prefix = keys.last()?.leaf_decor().prefix()?.as_str()?;
    let line = prefix.rsplit('\n').next().unwrap_or_default();
    line.chars()
        .all(|c| c == ' ' || c == '\t')
        .then(|| line.to_string())
}

/// Add `keys` to an inline table, the missing tables along the way inline too.
fn insert_in_inline(table: &mut InlineTable, keys: &[String], value: &Json) -> Result<(), String> {
    let (key, rest) = keys.split_first().ok_or("no key to add")?;
    let mut new = if rest.is_empty() {
        to_value(value)?
    } else {
        let mut child = InlineTable::new();
        insert_in_inline(&mut child, rest, value)?;
        Value::InlineTable(child)
    };
    // The space before `}` follows the last value: `{ a = 1, b = 2 }`.
    if let Some((_, last)) = table.iter_mut().last()
        && let Some(suffix) = last.decor().suffix().and_then(|s| s.as_str())
    {
        new.decor_mut().set_suffix(suffix.to_string());
        last.decor_mut().set_suffix("");
    }
    table.insert(key, new);
    Ok(())
}

/// Give the entry `from` the key `to`, where it was.
///
/// The map keeps its order only through removal and reinsertion of every
/// entry: `toml_edit` has no rename.
fn rename_in_table(table: &mut Table, from: &str, to: &str) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let entries: Vec<(Key, Item)> = keys.iter().filter_map(|k| table.remove_entry(k)).collect();
    for (key, item) in entries {
        table.insert_formatted(&renamed(key, from, to), item);
    }
}

fn rename_in_inline(table: &mut InlineTable, from: &str, to: &str) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let entries: Vec<(Key, Value)> = keys.iter().filter_map(|k| table.remove_entry(k)).collect();
    for (key, value) in entries {
        table.insert_formatted(&renamed(key, from, to), value);
    }
}

/// `key`, or `to` with `key`'s decor when `key` is `from`.
fn renamed(key: Key, from: &str, to: &str) -> Key {
    if key.get() != from {
        return key;
    }
    Key::new(to)
        .with_leaf_decor(key.leaf_decor().clone())
        .with_dotted_decor(key.dotted_decor().clone())
}

/// Remove `key` with the comment lines directly above it; the blank lines
/// and comments before those go to the next key, so that the spacing
/// between what is left stays.
fn delete_from_table(table: &mut Table, key: &str) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    let next = keys
        .iter()
        .skip_while(|k| k.as_str() != key)
        .nth(1)
        .filter(|k| table.get(k).is_some_and(Item::is_value))
        .cloned();
    let Some((removed, item)) = table.remove_entry(key) else {
        return;
    };
    if !item.is_value() {
        return;
    }
    let prefix = removed
        .leaf_decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    let kept = detached(prefix);
    if let Some(next) = next
        && !kept.is_empty()
        && let Some(mut next) = table.key_mut(&next)
    {
        let old = next
            .leaf_decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_string();
        next.leaf_decor_mut().set_prefix(format!("{kept}{old}"));
    }
}

/// The lines of a key's prefix that are not attached to it: everything up
/// to the last blank line (the comment lines right above the key document
/// it and go with it).
fn detached(prefix: &str) -> &str {
    let mut end = 0;
    let mut at = 0;
    for line in prefix.split_inclusive('\n') {
        at += line.len();
        if line.ends_with('\n') && line.trim().is_empty() {
            end = at;
        }
    }
    &prefix[..end]
}

fn delete_from_inline(table: &mut InlineTable, key: &str) {
    let last = table.iter().last().map(|(k, _)| k.to_string());
    let Some((_, removed)) = table.remove_entry(key) else {
        return;
    };
    // The space before `}` was the removed value's: the new last one gets it.
    if last.as_deref() == Some(key)
        && let Some(suffix) = removed.decor().suffix().and_then(|s| s.as_str())
        && let Some((_, new_last)) = table.iter_mut().last()
    {
        new_last.decor_mut().set_suffix(suffix.to_string());
    }
}

/// What a prefix holds up to its first newline: in an array, the end of
/// the line of the item before (a comment after its comma).
fn line_end(prefix: &str) -> &str {
    prefix.find('\n').map_or("", |i| &prefix[..i])
}

/// What a prefix holds after [`line_end`].
fn after_line_end(prefix: &str) -> &str {
    prefix.find('\n').map_or(prefix, |i| &prefix[i..])
}

fn prefix_of(value: &Value) -> String {
    value
        .decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Remove item `index`. The comment at the end of the line of the item
/// before (held by the removed item's prefix) stays on that line, and the
/// comment of the removed item's own line goes with it.
fn delete_from_array(array: &mut Array, index: usize) {
    if index >= array.len() {
        return;
    }
    let removed = array.remove(index);
    let removed_prefix = prefix_of(&removed);
    if let Some(next) = array.get_mut(index) {
        let next_prefix = prefix_of(next);
        let prefix = if index > 0 || next_prefix.contains('\n') {
            format!(
                "{}{}",
                line_end(&removed_prefix),
                after_line_end(&next_prefix)
            )
        } else {
            removed_prefix
        };
        next.decor_mut().set_prefix(prefix);
    } else {
        close_after_last(array, &removed);
    }
}

/// What follows the new last item of `array` once `removed`, the item
/// that was last, is gone: the end of the new last item's line (its comment)
/// stays, the removed item's line goes, and the `]` stays where it was
/// relative to the lines left: on its own line when it was, with the
/// comma the item before already had (only whole lines are removed).
/// A `]` that followed the removed item on its line follows the new last
/// item, unless a comment ends that line: then it goes on the next one.
fn close_after_last(array: &mut Array, removed: &Value) {
    let removed_prefix = prefix_of(removed);
    let kept = line_end(&removed_prefix);
    let suffix = removed.decor().suffix().and_then(|s| s.as_str());
    let trailing = array.trailing().as_str().unwrap_or_default();
    let tail = format!("{}{trailing}", suffix.unwrap_or_default());
    let rest = after_line_end(&tail);
    let own_line = rest.contains('\n');
    let commented = kept.trim_start().starts_with('#');
    let (comma, trailing) = match (array.is_empty(), commented, own_line) {
        (true, false, _) => (false, String::new()),
        (true, true, true) => (false, format!("{kept}{rest}")),
        (true, true, false) => (false, format!("{kept}\n")),
        (false, _, true) => (true, format!("{kept}{rest}")),
        (false, true, false) => {
            let indent = after_line_end(&removed_prefix);
            (true, format!("{kept}{indent}{rest}"))
        }
        (false, false, false) => (array.trailing_comma(), format!("{kept}{rest}")),
    };
    array.set_trailing_comma(comma);
    array.set_trailing(trailing);
}

/// Add `item` at the end: on its own line, indented like the last item,
/// when the array is written one item per line; after `, ` otherwise.
///
/// What followed the last item before the `]` (its comment, the space
/// before `]`) follows it still: comments that end a line stay on that
/// line, and the rest goes after the new item.
fn push_to_array(array: &mut Array, mut item: Value) {
    let len = array.len();
    let trailing_comma = array.trailing_comma();
    let trailing = array.trailing().as_str().unwrap_or_default().to_string();
    let Some(last) = array.get_mut(len.wrapping_sub(1)) else {
        array.push_formatted(item);
        return;
    };
    let last_prefix = prefix_of(last);
    let multi_line = last_prefix.contains('\n');
    // Without a trailing comma, the comma now written after the last item
    // goes before what followed it.
    let after_last = if trailing_comma {
        trailing
    } else {
        let suffix = last.decor().suffix().and_then(|s| s.as_str());
        let suffix = suffix.unwrap_or_default().to_string();
        last.decor_mut().set_suffix("");
        format!("{suffix}{trailing}")
    };
    if multi_line {
        let indent = last_prefix.rsplit('\n').next().unwrap_or_default();
        item.decor_mut()
            .set_prefix(format!("{}\n{indent}", line_end(&after_last)));
        array.set_trailing(after_line_end(&after_last).to_string());
    } else {
        item.decor_mut().set_prefix(" ");
        array.set_trailing(after_last);
    }
    array.push_formatted(item);
}

#[cfg(test)]
#[path = "toml_tests.rs"]
mod tests;
