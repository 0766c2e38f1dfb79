//! HCL (Terraform) edits, through the spans of the tree-sitter-hcl tree
//! that `ast-grep-language` carries: an edit rewrites only the bytes of
//! what it changes, so comments (`#`, `//`, `/* */`), template expressions
//! (`"${var.x}"`), heredocs and the layout of everything else stay as they
//! were. After each edit the text is parsed again, to check it and to give
//! the next edit fresh spans.
//!
//! A path walks the body: a segment names an attribute or a block type,
//! and each label of a block takes one more segment (`module.vpc.version`
//! is the attribute `version` of the block `module "vpc"`;
//! `resource.aws_instance.*.ami` the `ami` of every `aws_instance`). An
//! attribute whose value is an object goes on into its keys
//! (`terraform.required_providers.aws.version` for
//! `aws = { source = "hashicorp/aws", version = "~> 4.0" }`), and one whose
//! value is a tuple into its items (`[0]`, `[*]`).
//!
//! Values are written the way `terraform fmt` would: a string as a quoted
//! HCL string (a `${...}` in it stays an interpolation: a JSON value has no
//! other way to say "expression"; with a `when`, whose captures `$1` and
//! `${name}` expand first, such a value is written `$${var.x}`), numbers,
//! booleans and `null` raw, a list as `[a, b]`, an object as `{ k = v }`
//! on one line (`set` of a whole object rewrites it so). The `=` of
//! neighbouring lines is not realigned: that is `terraform fmt`'s job. `when` and `where` see a string
//! as the text between its quotes (escapes decoded, `${...}` as written),
//! a number, a boolean or `null` as written; any other expression
//! (`var.x`, a call, a heredoc) is not a scalar and never matches.
//!
//! `where` paths are resolved from the file body, like everywhere else: a
//! condition on the selected block itself (bump a module's `version` only
//! for one `source`) is written as the path of that block
//! (`module.vpc.version` with a `when` on the version), or as a `where` on
//! `module.vpc.source` when the block is known by name.
//!
//! Where keys are created (see the semantics in [`super`]): a missing
//! attribute is added to an existing block after its last attribute (before
//! its nested blocks), indented like it; a missing key of an object after
//! its last key (or inside `{ }`); missing keys along the way only inside
//! an object value. A block is never created: whether a missing name is a
//! block or an attribute, and how many labels it takes, is the provider
//! schema's business, which a path does not tell.
//!
//! `delete` removes an attribute or a block with its own lines, the comment
//! lines directly above it, and one blank line when it leaves two in a row;
//! an item or a key of a one-line tuple or object with its comma.

use std::collections::BTreeMap;
use std::ops::Range;

use ast_grep_core::Node as TsNode;
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc};
use ast_grep_language::SupportLang;
use serde_json::{Map, Value as Json};

use super::tree::{
    self, Splice, Unreadable, double_quoted, hex_char, keep_line_endings, line_of, line_start,
};
use super::{
    Applied, Cursor, Edit, EditError, Op, Segment, Selected, apply_in_turn, depth, nest, select,
};

const FORMAT: &str = "hcl";

type Node<'r> = TsNode<'r, StrDoc<SupportLang>>;

pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    match unreadable(text) {
        Some(Unreadable::Syntax(line, message)) => {
            return Err(EditError::parse(FORMAT, (line, message)));
        }
        Some(Unreadable::TooDeep(deep)) => return Err(deep.into()),
        None => {}
    }
    apply_in_turn(text, edits, |current, index, edit| {
        let conflict =
            |line: usize, message: String| EditError::conflict(index, edit, line, message);
        let grep = SupportLang::Hcl.ast_grep(current);
        let (count, changes) = plan(&root_of(&grep.root()), current, edit)
            .map_err(|p| conflict(line_of(current, p.at), p.message))?;
        if count == 0 {
            return Ok((0, None));
        }
        let out =
            splice(current, changes).map_err(|p| conflict(line_of(current, p.at), p.message))?;
        let out = keep_line_endings(current, out);
        match unreadable(&out) {
            Some(Unreadable::Syntax(line, message)) => {
                let message = format!("the result is not valid HCL: {message}");
                Err(conflict(line, message))
            }
            Some(Unreadable::TooDeep(deep)) => Err(EditError::too_deep_result(index, edit, deep)),
            None => Ok((count, Some(out))),
        }
    })
}

/// Why `text` cannot be edited: it nests blocks, objects and tuples
/// deeper than [`depth::MAX_DEPTH`] (walking its values recurses once per
/// level), or it does not parse.
fn unreadable(text: &str) -> Option<Unreadable> {
    let grep = SupportLang::Hcl.ast_grep(text);
    let root = grep.root();
    let collection = |kind: &str| matches!(kind, "block" | "object" | "tuple");
    if let Err(deep) = depth::tree(&root, collection) {
        return Some(Unreadable::TooDeep(deep));
    }
    first_error(&root, text).map(|(line, message)| Unreadable::Syntax(line, message))
}

/// The line and a description of the first syntax error under `root`.
fn first_error(root: &Node<'_>, text: &str) -> Option<(usize, String)> {
    let bad = root.dfs().find(|n| n.is_error() || n.is_missing())?;
    if bad.is_missing() {
        let message = format!("missing `{}`", bad.kind());
        return Some((line_of(text, bad.range().start), message));
    }
    // Error recovery may wrap whole attributes and blocks that parsed
    // well in the error: the problem starts after them.
    let start = bad
        .children()
        .find(|c| !matches!(c.kind().as_ref(), "attribute" | "block" | "comment"))
        .map_or(bad.range().start, |c| c.range().start);
    let snippet: String = text[start..bad.range().end].chars().take(40).collect();
    let snippet = snippet.lines().next().unwrap_or_default().trim();
    Some((line_of(text, start), format!("unexpected `{snippet}`")))
}

/// Why an edit cannot be made, and the byte where.
struct Problem {
    at: usize,
    message: String,
}

impl Problem {
    fn new(node: &Node<'_>, message: impl Into<String>) -> Self {
        Problem {
            at: node.range().start,
            message: message.into(),
        }
    }
}

/// Apply changes (insertions at one place in their order). Removals may
/// overlap (two deleted neighbours both take the blank line between them);
/// any other overlap is a conflict.
fn splice(text: &str, mut changes: Vec<Splice>) -> Result<String, Problem> {
    changes.sort_by_key(|c| c.range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut last_removed = false;
    for change in changes {
        let removal = change.text.is_empty();
        if change.range.start < at && removal && last_removed {
            at = at.max(change.range.end);
            continue;
        }
        last_removed = removal;
        if change.range.start < at || change.range.end > text.len() {
            return Err(Problem {
                at: change.range.start,
                message: "two changes of this edit overlap".to_string(),
            });
        }
        out.push_str(&text[at..change.range.start]);
        out.push_str(&change.text);
        at = change.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// The named children of `node` of one of `kinds`.
fn children_of<'r>(node: &Node<'r>, kinds: &[&str]) -> Vec<Node<'r>> {
    node.children()
        .filter(|c| kinds.contains(&c.kind().as_ref()))
        .collect()
}

fn child_of<'r>(node: &Node<'r>, kind: &str) -> Option<Node<'r>> {
    node.children().find(|c| c.kind() == kind)
}

/// The parts of a block.
struct Block<'r> {
    kind: Node<'r>,
    labels: Vec<Node<'r>>,
    body: Option<Node<'r>>,
    open: Node<'r>,
    close: Node<'r>,
}

fn block_parts<'r>(block: &Node<'r>) -> Option<Block<'r>> {
    let mut kind = None;
    let mut labels = Vec::new();
    let mut body = None;
    let mut open = None;
    let mut close = None;
    for child in block.children() {
        match child.kind().as_ref() {
            "identifier" if kind.is_none() => kind = Some(child),
            "identifier" | "string_lit" if open.is_none() => labels.push(child),
            "block_start" => open = Some(child),
            "body" => body = Some(child),
            "block_end" => close = Some(child),
            _ => {}
        }
    }
    Some(Block {
        kind: kind?,
        labels,
        body,
        open: open?,
        close: close?,
    })
}

/// The name and the value of an attribute.
fn attribute_parts<'r>(attribute: &Node<'r>) -> Option<(Node<'r>, Node<'r>)> {
    Some((
        child_of(attribute, "identifier")?,
        child_of(attribute, "expression")?,
    ))
}

/// The node an expression comes down to, through the wrappers that hold
/// one child (`expression`, `collection_value`, `literal_value`, ...).
fn core<'r>(expression: &Node<'r>) -> Node<'r> {
    let mut node = expression.clone();
    loop {
        let wrapper = matches!(
            node.kind().as_ref(),
            "expression" | "collection_value" | "literal_value" | "template_expr"
        );
        let named: Vec<Node<'r>> = node
            .children()
            .filter(|c| c.is_named() && c.kind() != "comment")
            .collect();
        match (wrapper, named.as_slice()) {
            (true, [only]) => node = only.clone(),
            _ => return node,
        }
    }
}

/// The text between the quotes of a `string_lit` or `quoted_template`,
/// escapes decoded.
fn quoted_text(node: &Node<'_>) -> Option<String> {
    let text = node.text();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape(inner))
}

/// HCL's escapes decoded; an invalid `\u` escape stands for nothing.
fn unescape(inner: &str) -> String {
    tree::unescape(inner, |c, chars| match c {
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'u' => hex_char(chars, 4),
        'U' => hex_char(chars, 8),
        other => Some(other),
    })
}

/// A string as an HCL quoted string; `${` and `%{` are kept, so that a
/// template in a value stays one.
fn quote(text: &str) -> String {
    double_quoted(text, false)
}

/// Whether `text` can be written bare as an attribute name or object key.
fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A JSON value as HCL source.
fn render(value: &Json) -> String {
    match value {
        Json::Null => "null".to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => quote(s),
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
        Json::Object(map) if map.is_empty() => "{}".to_string(),
        Json::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} = {}", render_key(k), render(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

fn render_key(key: &str) -> String {
    if is_identifier(key) {
        key.to_string()
    } else {
        quote(key)
    }
}

/// The scalar an expression holds, as `when` and `where` see it.
fn scalar(expression: &Node<'_>) -> Option<String> {
    let node = core(expression);
    match node.kind().as_ref() {
        "numeric_lit" | "bool_lit" | "null_lit" => Some(node.text().to_string()),
        "string_lit" | "quoted_template" => quoted_text(&node),
        _ => negative_number(&node),
    }
}

/// A negative number, which HCL parses as `-` applied to a number (`-1`,
/// `- 2.5`), as written without its blanks.
fn negative_number(node: &Node<'_>) -> Option<String> {
    if !matches!(node.kind().as_ref(), "operation" | "unary_operation") {
        return None;
    }
    let text: String = node.text().split_whitespace().collect();
    let magnitude = text.strip_prefix('-')?;
    let number = serde_json::from_str::<serde_json::Number>(magnitude).ok()?;
    number.as_f64().is_some().then_some(text)
}

/// An expression as JSON, when it is made of literals only.
fn json_of(expression: &Node<'_>) -> Option<Json> {
    let node = core(expression);
    match node.kind().as_ref() {
        "numeric_lit" => serde_json::from_str(&node.text()).ok(),
        "bool_lit" => Some(Json::Bool(node.text() == "true")),
        "null_lit" => Some(Json::Null),
        "string_lit" | "quoted_template" => quoted_text(&node).map(Json::String),
        "operation" | "unary_operation" => {
            negative_number(&node).and_then(|text| serde_json::from_str(&text).ok())
        }
        "tuple" => tuple_items(&node)
            .iter()
            .map(json_of)
            .collect::<Option<_>>(),
        "object" => object_elems(&node)
            .iter()
            .map(|elem| Some((elem_key(elem)?, json_of(&elem.field("val")?)?)))
            .collect::<Option<Map<_, _>>>()
            .map(Json::Object),
        _ => None,
    }
}

fn tuple_items<'r>(tuple: &Node<'r>) -> Vec<Node<'r>> {
    children_of(tuple, &["expression"])
}

fn object_elems<'r>(object: &Node<'r>) -> Vec<Node<'r>> {
    children_of(object, &["object_elem"])
}

/// An object key as text: a bare name or a literal string.
fn elem_key(elem: &Node<'_>) -> Option<String> {
    let key = core(&elem.field("key")?);
    match key.kind().as_ref() {
        "variable_expr" | "identifier" => Some(key.text().to_string()),
        "string_lit" => quoted_text(&key),
        _ => None,
    }
}

/// A block label as text.
fn label_text(label: &Node<'_>) -> Option<String> {
    match label.kind().as_ref() {
        "string_lit" => quoted_text(label),
        _ => Some(label.text().to_string()),
    }
}

/// Something a path selects.
#[derive(Clone)]
enum Sel<'r> {
    /// The file body (`None` for an empty file).
    Root(Option<Node<'r>>),
    /// A block whose type and first `matched` labels the path named; it is
    /// a map (its body) once all its labels are matched.
    Block { block: Node<'r>, matched: usize },
    /// A value: of an attribute, of an object key, an item of a tuple, or
    /// the object a file holds instead of a body.
    Value { entry: Entry<'r>, value: Node<'r> },
}

#[derive(Clone)]
enum Entry<'r> {
    Attribute(Node<'r>),
    Elem(Node<'r>),
    Item { tuple: Node<'r>, index: usize },
    File,
}

impl<'r> Sel<'r> {
    /// The node, for positions in messages.
    fn node(&self, root: &Node<'r>) -> Node<'r> {
        match self {
            Sel::Root(body) => body.clone().unwrap_or_else(|| root.clone()),
            Sel::Block { block, .. } => block.clone(),
            Sel::Value { entry, value } => match entry {
                Entry::Attribute(node) | Entry::Elem(node) => node.clone(),
                Entry::Item { .. } | Entry::File => value.clone(),
            },
        }
    }

    /// The body of the file or of a fully named block: where attributes
    /// and blocks are.
    fn body(&self) -> Option<Option<Node<'r>>> {
        match self {
            Sel::Root(body) => Some(body.clone()),
            Sel::Block { block, matched } => {
                let parts = block_parts(block)?;
                (parts.labels.len() == *matched).then_some(parts.body)
            }
            Sel::Value { .. } => None,
        }
    }

    /// The object or tuple a value holds.
    fn collection(&self, kind: &str) -> Option<Node<'r>> {
        let Sel::Value { value, .. } = self else {
            return None;
        };
        let node = core(value);
        (node.kind() == kind).then_some(node)
    }
}

impl Cursor for Sel<'_> {
    fn select(&self, segment: &Segment) -> Vec<Self> {
        if let Some(body) = self.body() {
            return body.map_or_else(Vec::new, |body| select_in_body(&body, segment));
        }
        if let Sel::Block { block, matched } = self {
            return select_label(block, *matched, segment);
        }
        if let Some(object) = self.collection("object") {
            return object_elems(&object)
                .into_iter()
                .filter(|elem| elem_key(elem).is_some_and(|k| segment.matches_key(&k)))
                .filter_map(|elem| {
                    let value = elem.field("val")?;
                    Some(Sel::Value {
                        entry: Entry::Elem(elem),
                        value,
                    })
                })
                .collect();
        }
        if let Some(tuple) = self.collection("tuple") {
            let items = tuple_items(&tuple);
            let len = items.len();
            return items
                .into_iter()
                .enumerate()
                .filter(|(i, _)| segment.matches_index(*i, len))
                .map(|(index, value)| Sel::Value {
                    entry: Entry::Item {
                        tuple: tuple.clone(),
                        index,
                    },
                    value,
                })
                .collect();
        }
        Vec::new()
    }

    /// A body, or an object.
    fn is_map(&self) -> bool {
        self.body().is_some() || self.collection("object").is_some()
    }

    /// Missing keys along the way are created inside an object only (in
    /// a body, only the last key is).
    fn nests(&self) -> bool {
        self.collection("object").is_some()
    }

    /// Whether `key` names something in this map.
    fn has_key(&self, key: &str) -> bool {
        let segment = Segment::Key(key.to_string());
        !self.select(&segment).is_empty()
    }

    fn scalar(&self) -> Option<String> {
        match self {
            Sel::Value { value, .. } => scalar(value),
            _ => None,
        }
    }
}

fn select_in_body<'r>(body: &Node<'r>, segment: &Segment) -> Vec<Sel<'r>> {
    let mut found = Vec::new();
    for child in children_of(body, &["attribute", "block"]) {
        if child.kind() == "attribute" {
            if let Some((name, value)) = attribute_parts(&child)
                && segment.matches_key(&name.text())
            {
                found.push(Sel::Value {
                    entry: Entry::Attribute(child),
                    value,
                });
            }
        } else if let Some(parts) = block_parts(&child)
            && segment.matches_key(&parts.kind.text())
        {
            found.push(Sel::Block {
                block: child,
                matched: 0,
            });
        }
    }
    found
}

fn select_label<'r>(block: &Node<'r>, matched: usize, segment: &Segment) -> Vec<Sel<'r>> {
    let Some(parts) = block_parts(block) else {
        return Vec::new();
    };
    match parts.labels.get(matched).and_then(label_text) {
        Some(label) if segment.matches_key(&label) => vec![Sel::Block {
            block: block.clone(),
            matched: matched + 1,
        }],
        _ => Vec::new(),
    }
}

/// The selection at the root of the file.
fn root_of<'r>(root: &Node<'r>) -> (Node<'r>, Sel<'r>) {
    let sel = if let Some(object) = child_of(root, "object") {
        Sel::Value {
            entry: Entry::File,
            value: object,
        }
    } else {
        Sel::Root(child_of(root, "body"))
    };
    (root.clone(), sel)
}

/// What one selected node gets.
enum Target<'r> {
    Replace(Node<'r>, Json),
    Delete(Sel<'r>),
    Rename(Sel<'r>, String),
    Push(Node<'r>, Json),
    /// Add `keys` (missing objects, then the key) to the map.
    Insert(Sel<'r>, Vec<String>, Json),
}

/// The number of nodes the edit changes, and the changes.
fn plan<'r>(
    (root_node, root): &(Node<'r>, Sel<'r>),
    text: &str,
    edit: &Edit,
) -> Result<(usize, Vec<Splice>), Problem> {
    let targets = targets(root_node, root, edit)?;
    let count = targets.len();
    let mut changes = Vec::new();
    let mut deletions = Vec::new();
    for target in targets {
        match target {
            Target::Replace(value, json) => changes.push(Splice {
                range: value.range(),
                text: render(&json),
            }),
            Target::Delete(sel) => deletions.push(sel),
            Target::Rename(sel, to) => changes.push(rename(&sel, &to)?),
            Target::Push(tuple, json) => changes.extend(push(text, &tuple, &json)),
            Target::Insert(sel, keys, json) => {
                changes.extend(insert(text, root_node, &sel, &keys, &json)?)
            }
        }
    }
    changes.extend(delete(text, &deletions));
    Ok((count, changes))
}

/// What the nodes `edit` selects get.
fn targets<'r>(
    root_node: &Node<'r>,
    root: &Sel<'r>,
    edit: &Edit,
) -> Result<Vec<Target<'r>>, Problem> {
    let mut targets = Vec::new();
    for selected in select(root, edit) {
        match selected {
            Selected::Node { parent, child } => {
                targets.extend(existing(root_node, edit, &parent, child)?);
            }
            Selected::Absent { parent, keys } => {
                let value = edit.created_value().ok_or_else(|| {
                    let message = format!("`{}` needs a value", edit.op.name());
                    Problem::new(&parent.node(root_node), message)
                })?;
                targets.push(Target::Insert(parent, keys, value));
            }
        }
    }
    Ok(targets)
}

/// What an existing selected node gets, if anything.
fn existing<'r>(
    root_node: &Node<'r>,
    edit: &Edit,
    parent: &Sel<'r>,
    child: Sel<'r>,
) -> Result<Option<Target<'r>>, Problem> {
    let current = child.scalar();
    if !edit.accepts(current.as_deref()) {
        return Ok(None);
    }
    let node = child.node(root_node);
    Ok(match (edit.op, &child) {
        (Op::Ensure, _) => None,
        (Op::Set, Sel::Value { value, .. }) => {
            let new = edit
                .value_for(current.as_deref())
                .ok_or_else(|| Problem::new(&node, "`set` needs a value"))?;
            (json_of(value).as_ref() != Some(&new)).then(|| Target::Replace(value.clone(), new))
        }
        (Op::Set, _) => {
            return Err(Problem::new(&node, "a block cannot be set to a value"));
        }
        (Op::Delete, _) => Some(Target::Delete(child)),
        (Op::Rename, _) => {
            let to = edit
                .to
                .clone()
                .ok_or_else(|| Problem::new(&node, "`rename` needs `to`"))?;
            rename_target(parent, child, to, &node)?
        }
        (Op::Append, _) => {
            let Some(tuple) = child.collection("tuple") else {
                return Err(Problem::new(&node, "`append` needs a list (`[...]`) here"));
            };
            let value = edit
                .value_for(None)
                .ok_or_else(|| Problem::new(&node, "`append` needs a value"))?;
            let present = tuple_items(&tuple)
                .iter()
                .any(|item| json_of(item).as_ref() == Some(&value));
            (!present).then_some(Target::Push(tuple, value))
        }
    })
}

/// Check a rename: the new name must be free, and writable where it goes.
fn rename_target<'r>(
    parent: &Sel<'r>,
    child: Sel<'r>,
    to: String,
    node: &Node<'r>,
) -> Result<Option<Target<'r>>, Problem> {
    let taken = |message: String| Err(Problem::new(node, message));
    match &child {
        Sel::Value {
            entry: Entry::Attribute(attribute),
            ..
        } => {
            let Some((name, _)) = attribute_parts(attribute) else {
                return Ok(None);
            };
            if name.text() == to {
                return Ok(None);
            }
            if !is_identifier(&to) {
                return taken(format!("`{to}` is not a valid attribute name"));
            }
            if parent.has_key(&to) {
                return taken(format!("the key `{to}` already exists"));
            }
        }
        Sel::Value {
            entry: Entry::Elem(elem),
            ..
        } => {
            if elem_key(elem).as_deref() == Some(to.as_str()) {
                return Ok(None);
            }
            if parent.has_key(&to) {
                return taken(format!("the key `{to}` already exists"));
            }
        }
        Sel::Block { block, matched } => {
            let Some(parts) = block_parts(block) else {
                return Ok(None);
            };
            let current = match matched.checked_sub(1) {
                None => parts.kind.text().to_string(),
                Some(i) => parts.labels.get(i).and_then(label_text).unwrap_or_default(),
            };
            if current == to {
                return Ok(None);
            }
            if *matched == 0 && !is_identifier(&to) {
                return taken(format!("`{to}` is not a valid block type"));
            }
            if *matched > 0 && label_taken(block, *matched - 1, &to) {
                return taken(format!("a block labelled `{to}` already exists"));
            }
        }
        _ => return taken("only an attribute, a key or a block can be renamed".to_string()),
    }
    Ok(Some(Target::Rename(child, to)))
}

/// Whether a sibling of `block` has its type and labels, label `index`
/// being `to`.
fn label_taken(block: &Node<'_>, index: usize, to: &str) -> bool {
    let (Some(parts), Some(body)) = (block_parts(block), block.parent()) else {
        return false;
    };
    let mut wanted: Vec<Option<String>> = parts.labels.iter().map(label_text).collect();
    if let Some(slot) = wanted.get_mut(index) {
        *slot = Some(to.to_string());
    }
    children_of(&body, &["block"]).iter().any(|other| {
        other.node_id() != block.node_id()
            && block_parts(other).is_some_and(|o| {
                o.kind.text() == parts.kind.text()
                    && o.labels.iter().map(label_text).collect::<Vec<_>>() == wanted
            })
    })
}

fn rename(sel: &Sel<'_>, to: &str) -> Result<Splice, Problem> {
    let (node, text) = match sel {
        Sel::Value {
            entry: Entry::Attribute(attribute),
            ..
        } => {
            let (name, _) = attribute_parts(attribute)
                .ok_or_else(|| Problem::new(attribute, "an attribute without a name"))?;
            (name, to.to_string())
        }
        Sel::Value {
            entry: Entry::Elem(elem),
            ..
        } => {
            let key = elem
                .field("key")
                .ok_or_else(|| Problem::new(elem, "a key without a name"))?;
            let bare = core(&key).kind() != "string_lit" && is_identifier(to);
            (key, if bare { to.to_string() } else { quote(to) })
        }
        Sel::Block { block, matched } => {
            let parts =
                block_parts(block).ok_or_else(|| Problem::new(block, "a block without a type"))?;
            match matched.checked_sub(1).and_then(|i| parts.labels.get(i)) {
                None => (parts.kind, to.to_string()),
                Some(label) => {
                    let bare = label.kind() == "identifier" && is_identifier(to);
                    (label.clone(), if bare { to.to_string() } else { quote(to) })
                }
            }
        }
        Sel::Root(_)
        | Sel::Value {
            entry: Entry::Item { .. } | Entry::File,
            ..
        } => {
            return Err(Problem {
                at: 0,
                message: "nothing to rename".to_string(),
            });
        }
    };
    Ok(Splice {
        range: node.range(),
        text,
    })
}

/// Where the line holding `offset` ends (at its `\n`, or the end of text).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..].find('\n').map_or(text.len(), |i| offset + i)
}

/// Past the `\n` that ends the line holding `offset`.
fn next_line(text: &str, offset: usize) -> usize {
    (line_end(text, offset) + 1).min(text.len())
}

/// The whitespace a line starts with.
fn indent_at(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..line_end(text, start)];
    &line[..line.len() - line.trim_start().len()]
}

fn is_comment_line(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('#')
        || line.starts_with("//")
        || (line.starts_with("/*") && line.ends_with("*/"))
}

/// Where the comment on the lines right above the line starting at
/// `start` starts, if there is one with its lines to itself (a `/* */`
/// may span several).
fn comment_above(text: &str, start: usize) -> Option<usize> {
    let above = line_start(text, start.checked_sub(1)?);
    let line = text[above..start].trim();
    if is_comment_line(line) {
        return Some(above);
    }
    if !line.ends_with("*/") {
        return None;
    }
    let open = text[..start].rfind("/*")?;
    let open_line = line_start(text, open);
    text[open_line..open].trim().is_empty().then_some(open_line)
}

/// Whether `range` has its lines to itself: only whitespace before it on
/// its first line, and only a comma and a comment after it on its last.
fn on_own_lines(text: &str, range: &Range<usize>) -> bool {
    let before = &text[line_start(text, range.start)..range.start];
    let after = text[range.end..line_end(text, range.end)].trim_start();
    let after = after.strip_prefix(',').unwrap_or(after).trim();
    before.trim().is_empty() && (after.is_empty() || is_comment_line(after))
}

/// The lines of `range` (own lines), with the comment lines directly above
/// it, and one blank line when removing them would leave two in a row (or
/// one next to a `{` or `}`).
fn own_lines(text: &str, range: &Range<usize>) -> Range<usize> {
    let mut start = line_start(text, range.start);
    while let Some(above) = comment_above(text, start) {
        start = above;
    }
    let end = next_line(text, range.end);
    let blank =
        |from: usize| from < text.len() && text[from..line_end(text, from)].trim().is_empty();
    let blank_above = start > 0 && blank(line_start(text, start - 1));
    let after_open = start == 0 || text[..start].trim_end().ends_with('{');
    let before_close = end >= text.len() || text[end..].trim_start().starts_with('}');
    if blank(end) && (blank_above || after_open) {
        return start..next_line(text, end);
    }
    if blank_above && before_close {
        return line_start(text, start - 1)..end;
    }
    start..end
}

/// The changes that delete `sels`: entries of bodies by their lines, items
/// and keys of collections together per collection, so that their commas
/// stay right.
fn delete(text: &str, sels: &[Sel<'_>]) -> Vec<Splice> {
    let mut changes = Vec::new();
    let mut per_collection: BTreeMap<usize, (Node<'_>, Vec<usize>)> = BTreeMap::new();
    for sel in sels {
        let (collection, index) = match sel {
            Sel::Value {
                entry: Entry::Elem(elem),
                ..
            } => {
                let Some(object) = elem.parent() else {
                    continue;
                };
                let index = object_elems(&object)
                    .iter()
                    .position(|e| e.node_id() == elem.node_id());
                (object, index)
            }
            Sel::Value {
                entry: Entry::Item { tuple, index },
                ..
            } => (tuple.clone(), Some(*index)),
            Sel::Value {
                entry: Entry::Attribute(node),
                ..
            }
            | Sel::Block { block: node, .. } => {
                changes.push(delete_entry(text, node));
                continue;
            }
            Sel::Root(_)
            | Sel::Value {
                entry: Entry::File, ..
            } => continue,
        };
        if let Some(index) = index {
            per_collection
                .entry(collection.node_id())
                .or_insert_with(|| (collection, Vec::new()))
                .1
                .push(index);
        }
    }
    for (collection, indexes) in per_collection.into_values() {
        changes.extend(delete_items(text, &collection, &indexes));
    }
    changes
}

/// Remove an attribute or a block of a body.
fn delete_entry(text: &str, node: &Node<'_>) -> Splice {
    let range = node.range();
    if on_own_lines(text, &range) {
        return Splice::remove(own_lines(text, &range));
    }
    // In a one-line block: the entry and the spaces before it.
    let start = text[..range.start].trim_end_matches([' ', '\t']).len();
    Splice::remove(start..range.end)
}

/// Remove items `indexes` of a tuple or an object.
fn delete_items(text: &str, collection: &Node<'_>, indexes: &[usize]) -> Vec<Splice> {
    let items = if collection.kind() == "tuple" {
        tuple_items(collection)
    } else {
        object_elems(collection)
    };
    let ranges: Vec<Range<usize>> = items.iter().map(Node::range).collect();
    if ranges.iter().all(|r| on_own_lines(text, r)) {
        return indexes
            .iter()
            .filter_map(|&i| ranges.get(i))
            .map(|r| Splice::remove(own_lines(text, r)))
            .collect();
    }
    let deleted: Vec<bool> = (0..ranges.len()).map(|i| indexes.contains(&i)).collect();
    let mut changes = Vec::new();
    let mut i = 0;
    while i < ranges.len() {
        if !deleted[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < ranges.len() && deleted[i] {
            i += 1;
        }
        let last = i - 1;
        let range = if i < ranges.len() {
            // Up to the next kept item: the run and the comma after it.
            ranges[first].start..ranges[i].start
        } else if first > 0 {
            // The last ones: the comma before them and them.
            ranges[first - 1].end..ranges[last].end
        } else {
            // All of them: leave `[]` or `{}`.
            inner_range(collection).unwrap_or(ranges[first].start..ranges[last].end)
        };
        changes.push(Splice::remove(range));
    }
    changes
}

/// Between the brackets of a tuple or the braces of an object.
fn inner_range(collection: &Node<'_>) -> Option<Range<usize>> {
    let open = collection
        .children()
        .find(|c| matches!(c.kind().as_ref(), "tuple_start" | "object_start"))?;
    let close = collection
        .children()
        .find(|c| matches!(c.kind().as_ref(), "tuple_end" | "object_end"))?;
    Some(open.range().end..close.range().start)
}

/// Whether a comma directly follows `offset` (spaces aside); where it ends.
fn comma_after(text: &str, offset: usize) -> Option<usize> {
    let rest = &text[offset..];
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest[skipped..]
        .starts_with(',')
        .then_some(offset + skipped + 1)
}

/// Add `text` (an item, or `key = value`) after the last of `items` of a
/// collection: on a line of its own when the items are written one per
/// line, after `, ` otherwise; into `[]`/`{}` when there is none.
fn add_after_last(
    text: &str,
    collection: &Node<'_>,
    items: &[Node<'_>],
    new: &str,
    padded: bool,
) -> Vec<Splice> {
    let Some(last) = items.last() else {
        let inner = inner_range(collection).unwrap_or(collection.range());
        let new = if padded {
            format!(" {new} ")
        } else {
            new.to_string()
        };
        return vec![Splice {
            range: inner,
            text: new,
        }];
    };
    let end = last.range().end;
    let comma = comma_after(text, end);
    let own = items.iter().all(|i| on_own_lines(text, &i.range()));
    if own {
        let indent = indent_at(text, last.range().start);
        let needs_comma = collection.kind() == "tuple";
        let mut changes = Vec::new();
        if needs_comma && comma.is_none() {
            changes.push(Splice::insert(end, ","));
        }
        let trailing = if comma.is_some() { "," } else { "" };
        changes.push(Splice::insert(
            line_end(text, end),
            format!("\n{indent}{new}{trailing}"),
        ));
        return changes;
    }
    match comma {
        Some(after_comma) => vec![Splice::insert(after_comma, format!(" {new},"))],
        None => vec![Splice::insert(end, format!(", {new}"))],
    }
}

/// Append `value` to a tuple.
fn push(text: &str, tuple: &Node<'_>, value: &Json) -> Vec<Splice> {
    add_after_last(text, tuple, &tuple_items(tuple), &render(value), false)
}

/// Add `keys[0] = ...` to a map: `value` under the missing objects `keys[1..]`.
fn insert<'r>(
    text: &str,
    root_node: &Node<'r>,
    sel: &Sel<'r>,
    keys: &[String],
    value: &Json,
) -> Result<Vec<Splice>, Problem> {
    let Some((key, rest)) = keys.split_first() else {
        return Ok(Vec::new());
    };
    let value = nest(rest, value.clone());
    if let Some(object) = sel.collection("object") {
        let line = format!("{} = {}", render_key(key), render(&value));
        return Ok(add_after_last(
            text,
            &object,
            &object_elems(&object),
            &line,
            true,
        ));
    }
    if !is_identifier(key) {
        return Err(Problem::new(
            &sel.node(root_node),
            format!("`{key}` is not a valid attribute name"),
        ));
    }
    let line = format!("{key} = {}", render(&value));
    match sel {
        Sel::Root(body) => Ok(vec![insert_in_root(text, body.as_ref(), &line)]),
        Sel::Block { block, .. } => insert_in_block(text, block, &line),
        Sel::Value { .. } => Err(Problem::new(&sel.node(root_node), "not a map")),
    }
}

/// The last attribute of a body.
fn last_attribute<'r>(body: Option<&Node<'r>>) -> Option<Node<'r>> {
    children_of(body?, &["attribute"]).pop()
}

/// Add an attribute line to the file: after its last attribute, or at the end.
fn insert_in_root(text: &str, body: Option<&Node<'_>>, line: &str) -> Splice {
    if let Some(last) = last_attribute(body) {
        let end = line_end(text, last.range().end);
        return Splice::insert(
            end,
            format!("\n{}{line}", indent_at(text, last.range().start)),
        );
    }
    let newline = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    Splice::insert(text.len(), format!("{newline}{line}\n"))
}

/// Add an attribute line to a block: after its last attribute, or first.
fn insert_in_block(text: &str, block: &Node<'_>, line: &str) -> Result<Vec<Splice>, Problem> {
    let parts = block_parts(block).ok_or_else(|| Problem::new(block, "a block without braces"))?;
    if let Some(last) = last_attribute(parts.body.as_ref()) {
        let end = line_end(text, last.range().end);
        let indent = indent_at(text, last.range().start);
        return Ok(vec![Splice::insert(end, format!("\n{indent}{line}"))]);
    }
    let open = parts.open.range();
    let close = parts.close.range();
    let block_indent = indent_at(text, block.range().start);
    if line_of(text, open.start) == line_of(text, close.start) {
        if parts.body.is_some() {
            return Err(Problem::new(block, "cannot add to a one-line block"));
        }
        return Ok(vec![Splice {
            range: open.end..close.start,
            text: format!("\n{block_indent}  {line}\n{block_indent}"),
        }]);
    }
    let indent = parts.body.as_ref().map_or_else(
        || format!("{block_indent}  "),
        |body| indent_at(text, body.range().start).to_string(),
    );
    Ok(vec![Splice::insert(
        line_end(text, open.end),
        format!("\n{indent}{line}"),
    )])
}

#[cfg(test)]
#[path = "hcl_tests.rs"]
mod tests;
