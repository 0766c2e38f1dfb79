//! YAML edits through the spans of the tree-sitter tree.
//!
//! Every document of a stream (`---`) is edited. Scalars are decoded (plain,
//! quoted, block) for `when`/`where`; new scalars keep the quoting of the
//! one they replace when they can, and are quoted whenever a plain scalar
//! would read back as something else (`4`, `yes`, `null`, `a: b`...). A
//! scalar replacing a scalar takes the place of its bytes only: the blanks
//! after `key:`, a line break before the value and a comment after it stay.
//! New maps and lists are written in block style with the file's
//! indentation, or in flow style inside `{}`/`[]`. A flow list stays one:
//! a list replacing it, and an item appended to it, are written inside its
//! brackets with its spacing (`[a, b]`, `[ a, b ]`, one item a line) and
//! the quotes of its items.

use ast_grep_core::tree_sitter::LanguageExt;
use ast_grep_language::SupportLang;
use serde_json::{Map, Value};

use super::tree::{
    self, Entry, Format, Item, Kind, Node, Parent, Parsed, Scalar, Site, Splice, Style, Syntax,
    TsNode, Unreadable, after_line, column, first_error, hex_char, json_string, newline, unescape,
};
use super::{Applied, Edit, EditError, depth};

pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    tree::apply::<Yaml>(text, edits)
}

pub(super) struct Yaml;

impl Format for Yaml {
    const NAME: &'static str = "yaml";

    fn parse(text: &str) -> Parsed {
        // tree-sitter-yaml dies on deep block nesting: count it first.
        if let Err(deep) = depth::yaml_blocks(text) {
            return Parsed::unreadable(Unreadable::TooDeep(deep));
        }
        let grep = SupportLang::Yaml.ast_grep(text);
        let root = grep.root();
        let collection = |kind: &str| {
            matches!(
                kind,
                "block_mapping" | "block_sequence" | "flow_mapping" | "flow_sequence"
            )
        };
        if let Err(deep) = depth::tree(&root, collection) {
            return Parsed::unreadable(Unreadable::TooDeep(deep));
        }
        if let Some((line, message)) = first_error(&root, text) {
            return Parsed::unreadable(Unreadable::Syntax(line, message));
        }
        let roots = root
            .children()
            .filter(|c| c.kind() == "document")
            .filter_map(|document| {
                document
                    .children()
                    .find(|c| matches!(&*c.kind(), "block_node" | "flow_node"))
                    .map(|content| build(&content, None))
            })
            .collect();
        Parsed { roots, error: None }
    }

    fn syntax<'s>(text: &'s str, roots: &'s [Node]) -> impl Syntax + 's {
        YamlSyntax::detect(text, roots)
    }
}

/// The model of a `block_node` or `flow_node`. `marker_end` is the end of
/// the `key:` or `- ` before it, where its slot starts.
fn build(node: &TsNode<'_>, marker_end: Option<usize>) -> Node {
    let mut props = false;
    let mut content = None;
    for child in node.children() {
        match &*child.kind() {
            "anchor" | "tag" => props = true,
            "comment" => {}
            _ if child.is_named() => content = Some(child),
            _ => {}
        }
    }
    let Some(content) = content else {
        // Only a tag or an anchor: an empty value.
        return empty(node.range().end);
    };
    let span = trimmed(&content);
    let slot = match marker_end {
        Some(start) if !props => start..span.end,
        _ => span.clone(),
    };
    let kind = match &*content.kind() {
        "block_mapping" => Kind::Map {
            entries: content
                .children()
                .filter(|c| c.kind() == "block_mapping_pair")
                .map(|pair| entry(&pair))
                .collect(),
            flow: false,
        },
        "flow_mapping" => Kind::Map {
            entries: content.children().filter_map(|c| flow_entry(&c)).collect(),
            flow: true,
        },
        "block_sequence" => Kind::Seq {
            items: content
                .children()
                .filter(|c| c.kind() == "block_sequence_item")
                .map(|item| block_item(&item))
                .collect(),
            flow: false,
        },
        "flow_sequence" => Kind::Seq {
            items: content.children().filter_map(|c| flow_item(&c)).collect(),
            flow: true,
        },
        _ => Kind::Scalar(scalar(&content)),
    };
    Node { span, slot, kind }
}

/// The range of `node` without trailing whitespace: a block scalar at the
/// end of the file holds the last newline, which an edit must keep.
fn trimmed(node: &TsNode<'_>) -> std::ops::Range<usize> {
    let range = node.range();
    range.start..range.start + node.text().trim_end().len()
}

/// An absent value at `at` (`key:` or a bare `-`), which reads as null.
fn empty(at: usize) -> Node {
    Node {
        span: at..at,
        slot: at..at,
        kind: Kind::Scalar(Scalar {
            text: Some(String::new()),
            value: Some(Value::Null),
            style: Style::Empty,
        }),
    }
}

/// A `block_mapping_pair` or `flow_pair`.
fn entry(pair: &TsNode<'_>) -> Entry {
    let span = trimmed(pair);
    let (key, key_span, key_style) = match pair.field("key") {
        Some(key) => {
            let node = build(&key, None);
            let style = match &node.kind {
                Kind::Scalar(s) => s.style,
                _ => Style::Plain,
            };
            let text = node
                .scalar_text()
                .map_or_else(|| key.text().to_string(), str::to_string);
            (text, node.span, style)
        }
        None => (String::new(), span.start..span.start, Style::Plain),
    };
    let colon_end = pair
        .children()
        .find(|c| c.kind() == ":")
        .map_or(key_span.end, |c| c.range().end);
    let value = pair.field("value").map_or_else(
        || empty(colon_end),
        |v| {
            // A comment between `key:` and the value stays: the slot is
            // then the value alone.
            let start = v.range().start;
            let commented = pair
                .children()
                .any(|c| c.kind() == "comment" && c.range().start < start);
            build(&v, (!commented).then_some(colon_end))
        },
    );
    Entry {
        key,
        key_span,
        key_style,
        span,
        value,
    }
}

/// A child of a `flow_mapping`: a pair, or a bare key (`{a, b: 1}`).
fn flow_entry(child: &TsNode<'_>) -> Option<Entry> {
    match &*child.kind() {
        "flow_pair" => Some(entry(child)),
        "flow_node" => {
            let node = build(child, None);
            let span = child.range();
            Some(Entry {
                key: node.scalar_text().unwrap_or_default().to_string(),
                key_span: node.span.clone(),
                key_style: Style::Plain,
                span: span.clone(),
                value: empty(span.end),
            })
        }
        _ => None,
    }
}

/// A `block_sequence_item` (`- value`).
fn block_item(item: &TsNode<'_>) -> Item {
    let dash_end = item
        .children()
        .find(|c| c.kind() == "-")
        .map_or(item.range().start, |c| c.range().end);
    let value = item
        .children()
        .find(|c| matches!(&*c.kind(), "block_node" | "flow_node"))
        .map_or_else(|| empty(dash_end), |v| build(&v, Some(dash_end)));
    Item {
        span: trimmed(item),
        value,
    }
}

/// A child of a `flow_sequence`: a value, or a single-pair map (`[a: 1]`).
fn flow_item(child: &TsNode<'_>) -> Option<Item> {
    match &*child.kind() {
        "flow_node" => Some(Item {
            span: child.range(),
            value: build(child, None),
        }),
        "flow_pair" => {
            let span = child.range();
            let map = Node {
                span: span.clone(),
                slot: span.clone(),
                kind: Kind::Map {
                    entries: vec![entry(child)],
                    flow: true,
                },
            };
            Some(Item { span, value: map })
        }
        _ => None,
    }
}

/// A scalar node: its text for `when`, its typed value and its style.
fn scalar(node: &TsNode<'_>) -> Scalar {
    let raw = node.text();
    let (text, style) = match &*node.kind() {
        "alias" => {
            return Scalar {
                text: None,
                value: None,
                style: Style::Alias,
            };
        }
        "plain_scalar" => return plain(node, &raw),
        "single_quote_scalar" => (single_quoted(&raw), Style::Single),
        "double_quote_scalar" => (double_quoted(&raw), Style::Double),
        "block_scalar" => block_scalar(&raw),
        _ => (raw.to_string(), Style::Plain),
    };
    Scalar {
        value: Some(Value::String(text.clone())),
        text: Some(text),
        style,
    }
}

/// A plain scalar, typed the way tree-sitter classifies it.
fn plain(node: &TsNode<'_>, raw: &str) -> Scalar {
    let text = fold(raw);
    let kind = node
        .children()
        .next()
        .map(|c| c.kind().to_string())
        .unwrap_or_default();
    let value = match kind.as_str() {
        "null_scalar" => Value::Null,
        "boolean_scalar" => Value::Bool(text.eq_ignore_ascii_case("true")),
        "integer_scalar" => integer(&text).unwrap_or_else(|| Value::String(text.clone())),
        "float_scalar" => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        _ => Value::String(text.clone()),
    };
    Scalar {
        text: Some(text),
        value: Some(value),
        style: Style::Plain,
    }
}

/// A YAML integer (decimal, `0x`, `0o`) as a JSON number.
fn integer(text: &str) -> Option<Value> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(octal) = digits.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()?
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(Value::from(if negative { -magnitude } else { magnitude }))
}

/// Line folding of a multi-line flow scalar: a line break becomes a space,
/// an empty line a newline.
fn fold(raw: &str) -> String {
    if !raw.contains('\n') {
        return raw.to_string();
    }
    let mut out = String::new();
    let mut pending_space = false;
    for (i, line) in raw.split('\n').enumerate() {
        let line = if i == 0 { line.trim_end() } else { line.trim() };
        if line.is_empty() && i > 0 {
            out.push('\n');
            pending_space = false;
            continue;
        }
        if pending_space {
            out.push(' ');
        }
        out.push_str(line);
        pending_space = true;
    }
    out
}

fn single_quoted(raw: &str) -> String {
    let inner = raw
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .unwrap_or(raw);
    fold(inner).replace("''", "'")
}

fn double_quoted(raw: &str) -> String {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    // An invalid hex escape stands for U+FFFD.
    let hex =
        |chars: &mut std::str::Chars<'_>, digits| hex_char(chars, digits).unwrap_or('\u{fffd}');
    unescape(&fold(inner), |c, chars| {
        Some(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'e' => '\u{1b}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex(chars, 2),
            'u' => hex(chars, 4),
            'U' => hex(chars, 8),
            other => other,
        })
    })
}

/// A `|` or `>` block: its content without the indentation, folded for
/// `>`, with its chomping (tree-sitter's span stops before the last newline).
fn block_scalar(raw: &str) -> (String, Style) {
    let raw = raw.trim_end();
    let (header, body) = raw.split_once('\n').unwrap_or((raw, ""));
    let style = if header.starts_with('>') {
        Style::Folded
    } else {
        Style::Literal
    };
    let indent = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start_matches(' ').len());
    let lines: Vec<&str> = body
        .split('\n')
        .map(|l| l.get(indent..).unwrap_or("").trim_end_matches('\r'))
        .collect();
    let mut text = if style == Style::Folded {
        fold_block(&lines)
    } else {
        lines.join("\n")
    };
    let header = header.split('#').next().unwrap_or("");
    if !header.contains('-') && !text.is_empty() {
        text.push('\n');
    }
    (text, style)
}

/// Folding of a `>` block: lines join with spaces, except around empty
/// and more-indented lines.
fn fold_block(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut previous: Option<&str> = None;
    for line in lines {
        if let Some(prev) = previous {
            let literal = |l: &str| l.is_empty() || l.starts_with([' ', '\t']);
            out.push(if literal(prev) || literal(line) {
                '\n'
            } else {
                ' '
            });
        }
        out.push_str(line);
        previous = Some(line);
    }
    out
}

/// How new YAML is written in this file.
struct YamlSyntax<'s> {
    src: &'s str,
    /// Indentation of a nested map under its key.
    unit: usize,
    /// Indentation of a block list under its key (0: `key:\n- a`).
    seq_indent: usize,
    /// The quote used when a plain scalar must be quoted.
    quote: Style,
    nl: &'static str,
}

impl<'s> YamlSyntax<'s> {
    /// The layout the file already uses, from its first nested map and list
    /// and its most common quote.
    fn detect(src: &'s str, roots: &[Node]) -> YamlSyntax<'s> {
        let mut syntax = YamlSyntax {
            src,
            unit: 0,
            seq_indent: usize::MAX,
            quote: Style::Double,
            nl: newline(src),
        };
        roots.iter().for_each(|root| syntax.learn(root));
        if syntax.unit == 0 {
            syntax.unit = 2;
        }
        if syntax.seq_indent == usize::MAX {
            syntax.seq_indent = syntax.unit;
        }
        let scalars: Vec<&Scalar> = roots.iter().flat_map(Node::scalars).collect();
        let single = scalars.iter().filter(|s| s.style == Style::Single).count();
        let double = scalars.iter().filter(|s| s.style == Style::Double).count();
        if single > double {
            syntax.quote = Style::Single;
        }
        syntax
    }

    /// Learn indentation from the block values under `node`'s keys.
    fn learn(&mut self, node: &Node) {
        match &node.kind {
            Kind::Map { entries, flow } => {
                for entry in entries {
                    if !flow {
                        self.learn_entry(entry);
                    }
                    self.learn(&entry.value);
                }
            }
            Kind::Seq { items, .. } => items.iter().for_each(|i| self.learn(&i.value)),
            Kind::Scalar(_) => {}
        }
    }

    fn learn_entry(&mut self, entry: &Entry) {
        let key = column(self.src, entry.key_span.start);
        match &entry.value.kind {
            Kind::Map {
                entries,
                flow: false,
            } if self.unit == 0 => {
                if let Some(first) = entries.first() {
                    self.unit = column(self.src, first.span.start).saturating_sub(key);
                }
            }
            Kind::Seq { items, flow: false } if self.seq_indent == usize::MAX => {
                if let Some(first) = items.first() {
                    self.seq_indent = column(self.src, first.span.start).saturating_sub(key);
                }
            }
            _ => {}
        }
    }

    /// What follows `key:` for `value`, the key at column `col`: a scalar or
    /// flow value on the same line, or a block map or list below.
    fn after_colon(&self, value: &Value, col: usize, style: Option<Style>) -> String {
        match value {
            Value::Object(map) if !map.is_empty() => {
                format!("{}{}", self.nl, self.map_lines(map, col + self.unit))
            }
            Value::Array(list) if !list.is_empty() => {
                format!("{}{}", self.nl, self.seq_lines(list, col + self.seq_indent))
            }
            _ => format!(" {}", self.inline(value, false, style)),
        }
    }

    /// What follows `-` for `value`, the dash at column `col`.
    fn after_dash(&self, value: &Value, col: usize, style: Option<Style>) -> String {
        let block = match value {
            Value::Object(map) if !map.is_empty() => self.map_lines(map, col + 2),
            Value::Array(list) if !list.is_empty() => self.seq_lines(list, col + 2),
            _ => return format!(" {}", self.inline(value, false, style)),
        };
        format!(" {}", block.trim_start_matches(' '))
    }

    /// A block map, one `key: value` line (or more) per entry at `col`.
    fn map_lines(&self, map: &Map<String, Value>, col: usize) -> String {
        let lines: Vec<String> = map
            .iter()
            .map(|(key, value)| {
                format!(
                    "{}{}:{}",
                    " ".repeat(col),
                    self.key(key, false, None),
                    self.after_colon(value, col, None)
                )
            })
            .collect();
        lines.join(self.nl)
    }

    /// A block list, one `- item` per item with the dash at `col`.
    fn seq_lines(&self, list: &[Value], col: usize) -> String {
        let lines: Vec<String> = list
            .iter()
            .map(|value| format!("{}-{}", " ".repeat(col), self.after_dash(value, col, None)))
            .collect();
        lines.join(self.nl)
    }

    /// A value on one line; maps and lists in flow style.
    fn inline(&self, value: &Value, flow: bool, style: Option<Style>) -> String {
        match value {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => self.string(s, flow, style),
            Value::Array(list) => {
                let items: Vec<String> = list.iter().map(|v| self.inline(v, true, None)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Object(map) => {
                let entries: Vec<String> = map
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}: {}",
                            self.key(k, true, None),
                            self.inline(v, true, None)
                        )
                    })
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }

    /// A string scalar in the quoting `style` of the one it replaces when it
    /// can be written so; plain only when it reads back as the same string.
    fn string(&self, s: &str, flow: bool, style: Option<Style>) -> String {
        match style {
            Some(Style::Single) if single_ok(s) => single(s),
            Some(Style::Single | Style::Double) => json_string(s),
            _ if plain_ok(s, flow) => s.to_string(),
            _ if self.quote == Style::Single && single_ok(s) => single(s),
            _ => json_string(s),
        }
    }

    fn key(&self, key: &str, flow: bool, style: Option<Style>) -> String {
        self.string(key, flow, style)
    }

    /// A `|` block for a multi-line string replacing a block scalar, its
    /// content at `indent`; `None` when a block cannot hold it exactly.
    fn literal_block(&self, s: &str, indent: &str) -> Option<String> {
        let (body, chomp) = match s.strip_suffix('\n') {
            Some(body) if !body.ends_with('\n') => (body, ""),
            Some(_) => return None,
            None => (s, "-"),
        };
        let clean =
            !body.starts_with([' ', '\t']) && !body.chars().any(|c| c.is_control() && c != '\n');
        if !clean || body.is_empty() {
            return None;
        }
        let mut out = format!("|{chomp}");
        for line in body.split('\n') {
            out.push_str(self.nl);
            if !line.is_empty() {
                out.push_str(indent);
                out.push_str(line);
            }
        }
        Some(out)
    }

    /// The content indentation of the block scalar at `node`, or one unit
    /// deeper than `col`.
    fn block_indent(&self, node: &Node, col: usize) -> String {
        self.src[node.span.clone()]
            .lines()
            .skip(1)
            .find(|l| !l.trim().is_empty())
            .map(|l| l[..l.len() - l.trim_start_matches(' ').len()].to_string())
            .unwrap_or_else(|| " ".repeat(col + self.unit))
    }

    /// The column of the key or dash in front of the node at `site`.
    fn marker_column(&self, site: Site<'_>) -> usize {
        match site.parent {
            Parent::Entry(map, index) => match &map.kind {
                Kind::Map { entries, .. } => column(self.src, entries[index].key_span.start),
                _ => 0,
            },
            Parent::Item(seq, index) => match &seq.kind {
                Kind::Seq { items, .. } => column(self.src, items[index].span.start),
                _ => 0,
            },
            Parent::Root => 0,
        }
    }
}

impl Syntax for YamlSyntax<'_> {
    fn replace(&self, site: Site<'_>, value: &Value) -> Splice {
        if let Some(splice) = self.replace_scalar(site, value) {
            return splice;
        }
        if let Some(splice) = self.replace_flow_list(site.node, value) {
            return splice;
        }
        let node = site.node;
        let style = match &node.kind {
            Kind::Scalar(s) => Some(s.style),
            _ => None,
        };
        let flow = site.parent.in_flow();
        // The slot starts right after `key:` or `-` (no tag or anchor between).
        let after_marker = node.slot.start != node.span.start || node.slot.is_empty();
        let col = self.marker_column(site);
        let text = match (&site.parent, after_marker && !flow) {
            (Parent::Entry(..), true) => self.after_colon(value, col, style),
            (Parent::Item(..), true) => self.after_dash(value, col, style),
            _ if after_marker => format!(" {}", self.inline(value, true, style)),
            _ => self.inline(value, flow, style),
        };
        // A block value for an empty `key: # comment` goes below the comment.
        if node.slot.is_empty() && text.starts_with(self.nl) {
            let line = &self.src[node.slot.start..];
            let at = node.slot.start + line.find(self.nl).unwrap_or(line.len());
            return Splice::new(at..at, text);
        }
        Splice::new(node.slot.clone(), text)
    }

    fn insert(&self, map: &Node, key: &str, value: &Value) -> Splice {
        let Kind::Map { entries, flow } = &map.kind else {
            return Splice::new(map.span.end..map.span.end, "");
        };
        let flow_text = || {
            format!(
                "{}: {}",
                self.key(key, true, None),
                self.inline(value, true, None)
            )
        };
        match (entries.last(), flow) {
            (None, _) => {
                let at = map.span.start + 1;
                Splice::new(at..at, flow_text())
            }
            (Some(last), true) => {
                let at = last.span.end;
                Splice::new(at..at, format!(", {}", flow_text()))
            }
            (Some(last), false) => {
                let col = column(self.src, entries[0].span.start);
                let line = format!(
                    "{}{}:{}",
                    " ".repeat(col),
                    self.key(key, false, None),
                    self.after_colon(value, col, None)
                );
                self.add_line(last.span.end, line)
            }
        }
    }

    fn push(&self, seq: &Node, value: &Value) -> Splice {
        if let Some(splice) = self.push_flow(seq, value) {
            return splice;
        }
        let Kind::Seq { items, flow } = &seq.kind else {
            return Splice::new(seq.span.end..seq.span.end, "");
        };
        match (items.last(), flow) {
            (None, _) => {
                let at = seq.span.start + 1;
                Splice::new(at..at, self.inline(value, true, None))
            }
            (Some(last), true) => {
                let at = last.span.end;
                Splice::new(at..at, format!(", {}", self.inline(value, true, None)))
            }
            (Some(last), false) => {
                let col = column(self.src, items[0].span.start);
                let line = format!("{}-{}", " ".repeat(col), self.after_dash(value, col, None));
                self.add_line(last.span.end, line)
            }
        }
    }

    fn rename(&self, entry: &Entry, to: &str) -> Splice {
        Splice::new(
            entry.key_span.clone(),
            self.key(to, true, Some(entry.key_style)),
        )
    }

    fn comment(&self) -> &'static str {
        "#"
    }
}

impl YamlSyntax<'_> {
    /// A scalar (or an empty `{}`/`[]`) in place of a scalar: only the
    /// bytes of the old value change, so the blanks after `key:` or `-`, a
    /// line break before the value and a comment after it all stay. `None`
    /// when the old value is a collection or absent, or the new one is a
    /// block map or list: then the whole slot after the marker is rewritten.
    ///
    /// A block scalar (`|`, `>-`) stays a `|` block when the new string has
    /// several lines and a block can hold it; otherwise it becomes a flow
    /// scalar on the key's line. Either way the comment of its header stays.
    fn replace_scalar(&self, site: Site<'_>, value: &Value) -> Option<Splice> {
        let node = site.node;
        let Kind::Scalar(old) = &node.kind else {
            return None;
        };
        let block_value = match value {
            Value::Object(map) => !map.is_empty(),
            Value::Array(list) => !list.is_empty(),
            _ => false,
        };
        if old.style == Style::Empty || block_value {
            return None;
        }
        let block = matches!(old.style, Style::Literal | Style::Folded);
        let comment = if block { self.header_comment(node) } else { "" };
        let text = match value {
            Value::String(s) if block && s.contains('\n') => {
                let indent = self.block_indent(node, self.marker_column(site));
                self.literal_block(s, &indent)
                    .map(|b| match b.split_once(self.nl) {
                        Some((header, body)) => format!("{header}{comment}{}{body}", self.nl),
                        None => format!("{b}{comment}"),
                    })
            }
            _ => None,
        };
        let text = text.unwrap_or_else(|| {
            let inline = self.inline(value, site.parent.in_flow(), Some(old.style));
            format!("{inline}{comment}")
        });
        Some(Splice::new(node.span.clone(), text))
    }

    /// The comment on the header line of the block scalar at `node` (the
    /// `  # why` of `|-  # why`), with the blanks before it; empty when
    /// there is none.
    fn header_comment(&self, node: &Node) -> &str {
        let text = &self.src[node.span.clone()];
        let header = text.split('\n').next().unwrap_or_default();
        let header = header.trim_end_matches('\r').trim_end();
        let indicators = header
            .find(|c: char| !matches!(c, '|' | '>' | '+' | '-' | '0'..='9'))
            .unwrap_or(header.len());
        let rest = &header[indicators..];
        if rest.trim_start().starts_with('#') {
            rest
        } else {
            ""
        }
    }

    /// A list in place of the flow list `node`: a flow list again, laid
    /// out and quoted like the old one, in place of its brackets only (the
    /// blanks after `key:` and a comment after `]` stay). `None` when
    /// `node` is not a flow list or `value` not a list.
    fn replace_flow_list(&self, node: &Node, value: &Value) -> Option<Splice> {
        let Value::Array(list) = value else {
            return None;
        };
        let layout = self.flow_layout(node)?;
        let text = if list.is_empty() {
            "[]".to_string()
        } else {
            let items: Vec<String> = list
                .iter()
                .map(|v| self.flow_item(v, layout.quotes))
                .collect();
            let items = items.join(&layout.sep);
            format!("[{}{items}{}]", layout.open, layout.close)
        };
        Some(Splice::new(node.span.clone(), text))
    }

    /// `value` added to the flow list `seq` the way its items are written:
    /// after its last item with its separator, or inside the brackets of
    /// an empty `[]` (`[ ]` gives `[ x ]`). `None` when `seq` is not a
    /// flow list.
    fn push_flow(&self, seq: &Node, value: &Value) -> Option<Splice> {
        let Kind::Seq { items, flow: true } = &seq.kind else {
            return None;
        };
        let layout = self.flow_layout(seq)?;
        let item = self.flow_item(value, layout.quotes);
        if let Some(last) = items.last() {
            let at = last.span.end;
            return Some(
                self.after_commented_item(at, &layout.sep, &item)
                    .unwrap_or_else(|| Splice::insert(at, format!("{}{item}", layout.sep))),
            );
        }
        // Blanks alone between the brackets give way to the item; a
        // comment there stays after it.
        let inner = seq.span.start + 1..seq.span.end - 1;
        let at = if self.src[inner.clone()].trim().is_empty() {
            inner
        } else {
            inner.start..inner.start
        };
        Some(Splice::new(
            at,
            format!("{}{item}{}", layout.open, layout.close),
        ))
    }

    /// `item` added to a list of one item a line (`sep` is a comma, a line
    /// break and blanks) after its last item, which ends at `at` and whose
    /// line ends with a comment: on a line of its own after the comment,
    /// so that the comment stays with the item it was written for, and
    /// with the comma after the old item (or after the new one when the
    /// old one has a trailing comma). `None` when that line has no comment
    /// or `sep` does not break lines.
    fn after_commented_item(&self, at: usize, sep: &str, item: &str) -> Option<Splice> {
        let indent = sep.strip_prefix(',')?.strip_prefix(self.nl)?;
        let rest = &self.src[at..];
        let eol = at + rest.find(['\r', '\n']).unwrap_or(rest.len());
        let trail = &self.src[at..eol];
        let (code, _) = trail.split_once('#')?;
        match code.trim() {
            "" => Some(Splice::new(
                at..eol,
                format!(",{trail}{}{indent}{item}", self.nl),
            )),
            "," => Some(Splice::insert(eol, format!("{}{indent}{item},", self.nl))),
            _ => None,
        }
    }

    /// How the flow list `seq` is written, for the items an edit adds:
    /// the blanks after `[`, between items and before `]` (comments left
    /// out), and the quotes of its strings. `None` when `seq` is not a
    /// flow list between brackets.
    fn flow_layout(&self, seq: &Node) -> Option<FlowList> {
        let Kind::Seq { items, flow: true } = &seq.kind else {
            return None;
        };
        let text = self.src.get(seq.span.clone())?;
        if text.len() < 2 || !text.starts_with('[') || !text.ends_with(']') {
            return None;
        }
        let (start, end) = (seq.span.start + 1, seq.span.end - 1);
        let quotes = self.list_quotes(items);
        let gap = |from: usize, to: usize| uncommented(&self.src[from..to], self.nl);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            let inner = &self.src[start..end];
            let blank = !inner.is_empty() && inner.trim().is_empty() && !inner.contains('\n');
            let pad = if blank { " " } else { "" };
            return Some(FlowList {
                open: pad.to_string(),
                sep: ", ".to_string(),
                close: pad.to_string(),
                quotes,
            });
        };
        let open = gap(start, first.span.start);
        let close = gap(last.span.end, end);
        let sep = match items.len() {
            n if n >= 2 => gap(items[n - 2].span.end, last.span.start),
            _ if open.contains('\n') => format!(",{open}"),
            _ => ", ".to_string(),
        };
        Some(FlowList {
            open,
            sep,
            close,
            quotes,
        })
    }

    /// How the strings of a list with `items` are quoted: always, when its
    /// strings are all quoted or more of them are quoted without need than
    /// plain; with the quote most of them use (the file's on a tie).
    fn list_quotes(&self, items: &[Item]) -> Quotes {
        let (mut plain, mut single, mut double, mut needless) = (0, 0, 0, 0);
        for item in items {
            let Kind::Scalar(scalar) = &item.value.kind else {
                continue;
            };
            let Some(Value::String(text)) = &scalar.value else {
                continue;
            };
            match scalar.style {
                Style::Plain => plain += 1,
                Style::Single => single += 1,
                Style::Double => double += 1,
                _ => continue,
            }
            if scalar.style != Style::Plain && plain_ok(text, true) {
                needless += 1;
            }
        }
        let quote = match single.cmp(&double) {
            std::cmp::Ordering::Greater => Style::Single,
            std::cmp::Ordering::Less => Style::Double,
            std::cmp::Ordering::Equal => self.quote,
        };
        let quoted = single + double;
        Quotes {
            always: quoted > 0 && (plain == 0 || needless > plain),
            quote,
        }
    }

    /// An item of a flow list whose strings are quoted as `quotes` says.
    fn flow_item(&self, value: &Value, quotes: Quotes) -> String {
        match value {
            Value::String(s) if quotes.always || !plain_ok(s, true) => {
                self.string(s, true, Some(quotes.quote))
            }
            _ => self.inline(value, true, None),
        }
    }

    /// Insert `line` after the line where the member ending at `last` ends.
    fn add_line(&self, last: usize, line: String) -> Splice {
        let (at, lead) = after_line(self.src, last, self.nl);
        let text = if lead.is_empty() {
            format!("{line}{}", self.nl)
        } else {
            format!("{lead}{line}")
        };
        Splice::new(at..at, text)
    }
}

/// How a flow list is written, learnt from an existing one so that the
/// items an edit writes look like the others.
struct FlowList {
    /// The blanks after `[`.
    open: String,
    /// What separates two items: the comma and the blanks around it.
    sep: String,
    /// What follows the last item before `]` (blanks, a trailing comma).
    close: String,
    quotes: Quotes,
}

/// How the strings of a flow list are quoted.
#[derive(Debug, Clone, Copy)]
struct Quotes {
    /// Quote every string, even one that plain would read right.
    always: bool,
    /// The quote (`Style::Single` or `Style::Double`) used for a string
    /// that is quoted, when it can hold it.
    quote: Style,
}

/// The blanks and comma of `gap` (between the items of a flow list)
/// without its comments: when it has one, its comma (if any), then a line
/// break and the blanks that start its last line.
fn uncommented(gap: &str, nl: &str) -> String {
    if !gap.contains('#') {
        return gap.to_string();
    }
    let comma = gap.lines().any(|line| {
        line.split('#')
            .next()
            .is_some_and(|code| code.contains(','))
    });
    let indent = gap.rsplit('\n').next().unwrap_or_default();
    let mut out = String::new();
    if comma {
        out.push(',');
    }
    out.push_str(nl);
    out.push_str(indent);
    out
}

fn single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether `s` can sit between single quotes (which have no escapes).
fn single_ok(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Whether `s` written plain reads back as the same string: not empty,
/// no indicator in front, no `: ` or ` #` inside, nothing that resolves to
/// a null, a boolean or a number, and in flow context no `,[]{}`.
fn plain_ok(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let bad_start = "#&*!|>'\"%@`,[]{}".contains(first)
        || (matches!(first, '-' | '?' | ':') && (s.len() == 1 || s[1..].starts_with(' ')))
        || s.starts_with("---")
        || s.starts_with("...");
    let bad_inside = s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.chars().any(char::is_control)
        || (flow && s.contains([',', '[', ']', '{', '}', ':']));
    s == s.trim() && !bad_start && !bad_inside && !looks_typed(s)
}

/// Whether a plain `s` would resolve to something other than a string in
/// YAML 1.1 or 1.2 (null, booleans with `yes`/`on`, numbers, dates, times).
fn looks_typed(s: &str) -> bool {
    const WORDS: [&str; 16] = [
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
        ".nan", "nan", "inf",
    ];
    if WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return true;
    }
    let unsigned = s.trim_start_matches(['+', '-']);
    let numeric_start = unsigned.starts_with(|c: char| c.is_ascii_digit())
        || (unsigned.starts_with('.') && unsigned[1..].starts_with(|c: char| c.is_ascii_digit()));
    numeric_start
        && unsigned
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "_.:+-xXoOT".contains(c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Op;
    use super::super::testing::{
        append, check, check_once, conflict_at, delete, ensure, parse_error, rename, set, when,
        where_,
    };
    use super::*;

    const WORKFLOW: &str = "\
# CI for the service
name: ci

on: [push, pull_request]

jobs:
  build:
    runs-on: ubuntu-latest # the cheap one
    steps:
      # fetch the sources
      - uses: actions/checkout@v3
      - uses: 'actions/setup-node@v3'
        with:
          node-version: 18
      - run: npm test
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: \"actions/checkout@v2\"
      - uses: actions/setup-python@v4
";

    #[test]
    fn checkout_is_bumped_in_every_job_keeping_quotes_and_comments() {
        let edit = when(
            set("jobs.*.steps[*].uses", json!("actions/checkout@v4")),
            r"^actions/checkout@v[123]$",
        );
        let expected = "\
# CI for the service
name: ci

on: [push, pull_request]

jobs:
  build:
    runs-on: ubuntu-latest # the cheap one
    steps:
      # fetch the sources
      - uses: actions/checkout@v4
      - uses: 'actions/setup-node@v3'
        with:
          node-version: 18
      - run: npm test
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: \"actions/checkout@v4\"
      - uses: actions/setup-python@v4
";
        check(apply, WORKFLOW, &[edit], expected, &[2]);
    }

    #[test]
    fn captures_carry_the_setup_action_over() {
        let edit = when(
            set("jobs.*.steps[*].uses", json!("actions/$1@v5")),
            r"^actions/(setup-\w+)@v\d$",
        );
        let expected = "\
# CI for the service
name: ci

on: [push, pull_request]

jobs:
  build:
    runs-on: ubuntu-latest # the cheap one
    steps:
      # fetch the sources
      - uses: actions/checkout@v3
      - uses: 'actions/setup-node@v5'
        with:
          node-version: 18
      - run: npm test
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: \"actions/checkout@v2\"
      - uses: actions/setup-python@v5
";
        check(apply, WORKFLOW, &[edit], expected, &[2]);
    }

    #[test]
    fn a_key_is_added_to_every_job_after_its_last_entry() {
        let edit = set("jobs.*.timeout-minutes", json!(30));
        let expected = "\
# CI for the service
name: ci

on: [push, pull_request]

jobs:
  build:
    runs-on: ubuntu-latest # the cheap one
    steps:
      # fetch the sources
      - uses: actions/checkout@v3
      - uses: 'actions/setup-node@v3'
        with:
          node-version: 18
      - run: npm test
    timeout-minutes: 30
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: \"actions/checkout@v2\"
      - uses: actions/setup-python@v4
    timeout-minutes: 30
";
        check(apply, WORKFLOW, &[edit], expected, &[2]);
    }

    #[test]
    fn missing_maps_are_created_along_a_literal_path() {
        let edit = set("jobs.lint.permissions.contents", json!("read"));
        let expected = "\
# CI for the service
name: ci

on: [push, pull_request]

jobs:
  build:
    runs-on: ubuntu-latest # the cheap one
    steps:
      # fetch the sources
      - uses: actions/checkout@v3
      - uses: 'actions/setup-node@v3'
        with:
          node-version: 18
      - run: npm test
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: \"actions/checkout@v2\"
      - uses: actions/setup-python@v4
    permissions:
      contents: read
";
        check(apply, WORKFLOW, &[edit], expected, &[1]);
    }

    #[test]
    fn no_map_is_created_along_a_wildcard_path() {
        let edit = set("jobs.*.permissions.contents", json!("read"));
        check(apply, WORKFLOW, &[edit], WORKFLOW, &[0]);
        let under_scalar = set("name.first", json!("x"));
        check(apply, WORKFLOW, &[under_scalar], WORKFLOW, &[0]);
    }

    #[test]
    fn a_key_is_added_to_the_map_of_a_list_item() {
        let edit = set("jobs.build.steps[0].with.fetch-depth", json!(0));
        let expected = "\
# CI for the service
name: ci

on: [push, pull_request]

jobs:
  build:
    runs-on: ubuntu-latest # the cheap one
    steps:
      # fetch the sources
      - uses: actions/checkout@v3
        with:
          fetch-depth: 0
      - uses: 'actions/setup-node@v3'
        with:
          node-version: 18
      - run: npm test
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: \"actions/checkout@v2\"
      - uses: actions/setup-python@v4
";
        check(apply, WORKFLOW, &[edit], expected, &[1]);
    }

    #[test]
    fn ensure_adds_but_never_changes() {
        let input = "\
name: ci
env:
  NODE: 18
";
        let edits = [
            ensure("env.NODE", json!(20)),
            ensure("env.CI", json!(true)),
            ensure("name", json!("other")),
        ];
        let expected = "\
name: ci
env:
  NODE: 18
  CI: true
";
        check(apply, input, &edits, expected, &[0, 1, 0]);
    }

    #[test]
    fn strings_are_quoted_when_plain_would_read_otherwise() {
        let input = "\
a: 1
b: x
c: x
d: x
e: x
f: x
g: x
h: x
i: x
";
        let edits = [
            set("a", json!("2.0")),
            set("b", json!("yes")),
            set("c", json!(">=20")),
            set("d", json!("key: value")),
            set("e", json!("x #y")),
            set("f", json!("null")),
            set("g", json!(true)),
            set("h", json!("*alias")),
            set("i", json!("plain words/ok@v4")),
        ];
        let expected = "\
a: \"2.0\"
b: \"yes\"
c: \">=20\"
d: \"key: value\"
e: \"x #y\"
f: \"null\"
g: true
h: \"*alias\"
i: plain words/ok@v4
";
        check(apply, input, &edits, expected, &[1; 9]);
    }

    #[test]
    fn quoting_style_is_kept_when_it_can_be() {
        let input = "\
single: 'a'
double: \"a\"
plain: a
number: '3'
";
        let edits = [
            set("single", json!("it's")),
            set("double", json!("tab\there")),
            set("plain", json!("b")),
            set("number", json!(4)),
        ];
        let expected = "\
single: 'it''s'
double: \"tab\\there\"
plain: b
number: 4
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
    }

    #[test]
    fn a_file_that_quotes_with_single_quotes_gets_single_quotes() {
        let input = "\
a: 'x'
b: 'y'
c: z
";
        let expected = "\
a: 'x'
b: 'y'
c: '20'
";
        check(apply, input, &[set("c", json!("20"))], expected, &[1]);
    }

    #[test]
    fn values_equal_to_the_new_one_are_not_counted() {
        let input = "\
a: 1
b: \"1\"
c: true
d: ~
";
        let edits = [
            set("a", json!(1)),
            set("b", json!("1")),
            set("c", json!(true)),
            set("d", json!(null)),
        ];
        check(apply, input, &edits, input, &[0, 0, 0, 0]);
    }

    const MANIFESTS: &str = "\
# Generated by hand
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
";

    #[test]
    fn every_document_of_a_stream_is_edited_where_it_matches() {
        let api = where_(
            when(set("apiVersion", json!("apps/v1")), "^extensions/v1beta1$"),
            "kind",
            "^Deployment$",
        );
        let replicas = where_(set("spec.replicas", json!(3)), "kind", "^Deployment$");
        let name = set("metadata.name", json!("site"));
        let expected = "\
# Generated by hand
apiVersion: apps/v1
kind: Deployment
metadata:
  name: site
spec:
  replicas: 3
---
apiVersion: v1
kind: Service
metadata:
  name: site
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: site
";
        check(
            apply,
            MANIFESTS,
            &[api, replicas, name],
            expected,
            &[1, 1, 3],
        );
    }

    #[test]
    fn where_on_a_missing_path_holds_nowhere() {
        let edit = where_(set("kind", json!("X")), "spec.missing", ".*");
        check(apply, MANIFESTS, &[edit], MANIFESTS, &[0]);
    }

    #[test]
    fn flow_collections_are_edited_in_flow_style() {
        let input = "\
on: [push, pull_request]
with: {a: 1, 'b': \"x\"}
";
        let edits = [
            append("on", json!("workflow_dispatch")),
            append("on", json!("push")),
            set("with.a", json!(2)),
            set("with.c", json!("d, e")),
            delete("with.b"),
            set("with.d", json!({"x": [1, "y"]})),
        ];
        let expected = "\
on: [push, pull_request, workflow_dispatch]
with: {a: 2, c: \"d, e\", d: {x: [1, \"y\"]}}
";
        check(apply, input, &edits, expected, &[1, 0, 1, 1, 1, 1]);
    }

    #[test]
    fn flow_items_are_deleted_with_their_comma() {
        let input = "\
a: [x, y, z]
b: [x, y, z]
c: [x, y, z]
d: [x]
e: {k: 1, l: 2}
f: [x, y, z]
";
        let edits = [
            when(delete("a[*]"), "^x$"),
            when(delete("b[*]"), "^y$"),
            when(delete("c[*]"), "^z$"),
            delete("d[*]"),
            delete("e.*"),
            when(delete("f[*]"), "^[yz]$"),
        ];
        let expected = "\
a: [y, z]
b: [x, z]
c: [x, y]
d: []
e: {}
f: [x]
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1, 2, 2]);
    }

    #[test]
    fn an_index_selects_from_either_end() {
        let input = "a: [x, y, z]\nb:\n  - x\n  - y\n";
        let edits = [delete("a[-1]"), delete("b[0]")];
        check_once(apply, input, &edits, "a: [x, y]\nb:\n  - y\n", &[1, 1]);
    }

    #[test]
    fn a_deleted_entry_takes_its_lines_and_trailing_comment_only() {
        let input = "\
services:
  web:
    image: nginx:1.25
    # the port the proxy expects
    ports: # published
      - \"8080:80\"
    restart: always # keep it up
  db:
    image: postgres:16
";
        let edits = [delete("services.web.ports"), delete("services.web.restart")];
        let expected = "\
services:
  web:
    image: nginx:1.25
    # the port the proxy expects
  db:
    image: postgres:16
";
        check(apply, input, &edits, expected, &[1, 1]);
    }

    #[test]
    fn a_block_map_or_list_emptied_becomes_flow_empty() {
        let input = "\
env:
  A: 1
  B: 2
steps:
  - run: a
  - run: b
other: x
";
        let edits = [delete("env.*"), delete("steps[*]")];
        let expected = "\
env: {}
steps: []
other: x
";
        check(apply, input, &edits, expected, &[2, 2]);
    }

    #[test]
    fn steps_are_deleted_by_their_value() {
        let input = "\
steps:
  - uses: actions/checkout@v4
  # deprecated
  - uses: actions/cache@v1
    with:
      path: x
  - run: make
";
        let edit = when(delete("steps[*].uses"), "^actions/cache@");
        let expected = "\
steps:
  - uses: actions/checkout@v4
  # deprecated
  - with:
      path: x
  - run: make
";
        check(apply, input, &[edit], expected, &[1]);
    }

    #[test]
    fn rename_changes_only_the_key() {
        let input = "\
jobs:
  test: # the tests
    runs-on: ubuntu
  'quoted': 1
";
        let edits = [
            rename("jobs.test", "unit-tests"),
            rename("jobs.quoted", "q"),
        ];
        let expected = "\
jobs:
  unit-tests: # the tests
    runs-on: ubuntu
  'q': 1
";
        check(apply, input, &edits, expected, &[1, 1]);
    }

    #[test]
    fn renaming_onto_an_existing_key_is_a_conflict() {
        let input = "a: 1\nb: 2\n";
        let err = apply(input, &[rename("a", "b")]).unwrap_err();
        assert_eq!(
            err,
            EditError::Conflict {
                edit: 0,
                op: Op::Rename,
                path: "a".into(),
                line: 1,
                message: "the key `b` already exists".into(),
            }
        );
    }

    #[test]
    fn append_adds_an_item_once_at_the_list_indentation() {
        let input = "\
branches:
  - main
  - 'release/*'
";
        let edits = [
            append("branches", json!("next")),
            append("branches", json!("main")),
        ];
        let expected = "\
branches:
  - main
  - 'release/*'
  - next
";
        check(apply, input, &edits, expected, &[1, 0]);
    }

    #[test]
    fn an_absent_list_follows_the_files_list_style() {
        let input = "\
spec:
  containers:
  - name: web
    image: nginx
";
        let edits = [
            append("spec.volumes", json!({"name": "data", "emptyDir": {}})),
            append("spec.containers[0].args", json!("--verbose")),
        ];
        let expected = "\
spec:
  containers:
  - name: web
    image: nginx
    args:
    - --verbose
  volumes:
  - emptyDir: {}
    name: data
";
        check(apply, input, &edits, expected, &[1, 1]);
    }

    #[test]
    fn append_to_an_empty_value_makes_a_list() {
        let input = "\
needs:
next: 1
";
        let expected = "\
needs:
  - build
next: 1
";
        check(
            apply,
            input,
            &[append("needs", json!("build"))],
            expected,
            &[1],
        );
    }

    #[test]
    fn appending_to_a_map_or_a_scalar_is_a_conflict() {
        let input = "\
name: ci
jobs:
  build: {}
";
        let err = apply(input, &[append("jobs", json!("x"))]).unwrap_err();
        assert!(
            matches!(&err, EditError::Conflict { edit: 0, line: 3, message, .. } if message == "cannot append to a map"),
            "{err:?}"
        );
        let err = apply(input, &[set("a", json!(1)), append("name", json!("x"))]).unwrap_err();
        assert!(
            matches!(&err, EditError::Conflict { edit: 1, line: 1, message, .. } if message == "cannot append to a scalar"),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_input_is_a_parse_error_with_its_line() {
        let input = "\
a: 1
b: [unclosed
c: 2
";
        parse_error(apply, input, &[set("a", json!(2))], "yaml", 2);
    }

    #[test]
    fn a_scalar_becomes_a_block_map_or_list() {
        let input = "\
env: none
steps:
  - old
";
        let edits = [
            set("env", json!({"A": "1", "B": {"C": true}})),
            set("steps[0]", json!({"run": "make", "with": ["a", "b"]})),
        ];
        let expected = "\
env:
  A: \"1\"
  B:
    C: true
steps:
  - run: make
    with:
      - a
      - b
";
        check(apply, input, &edits, expected, &[1, 1]);
    }

    #[test]
    fn block_scalars_are_matched_decoded_and_rewritten_as_blocks() {
        let input = "\
steps:
  - run: |
      npm ci
      npm test
  - run: >-
      echo one
      two
";
        let edits = [
            when(
                set("steps[*].run", json!("npm ci\nnpm run test:all\n")),
                "^npm ci\nnpm test\n$",
            ),
            when(set("steps[*].run", json!("echo done")), "^echo one two$"),
        ];
        let expected = "\
steps:
  - run: |
      npm ci
      npm run test:all
  - run: echo done
";
        check(apply, input, &edits, expected, &[1, 1]);
    }

    #[test]
    fn aliases_never_match_and_tags_are_kept() {
        let input = "\
base: &base
  image: node
a: *base
b: !!str 12
c: !custom
  x: 1
";
        let edits = [
            when(set("a", json!("x")), ".*"),
            set("a.image", json!("y")),
            set("b", json!("13")),
            set("base.image", json!("deno")),
        ];
        let expected = "\
base: &base
  image: deno
a: *base
b: !!str \"13\"
c: !custom
  x: 1
";
        check(apply, input, &edits, expected, &[0, 0, 1, 1]);
    }

    #[test]
    fn double_quoted_escapes_are_decoded_for_when() {
        let input = "msg: \"caf\\u00e9\\tbar\"\n";
        let edit = when(set("msg", json!("ok")), "^café\tbar$");
        check(apply, input, &[edit], "msg: \"ok\"\n", &[1]);
    }

    #[test]
    fn crlf_files_get_crlf_lines_and_a_missing_last_newline_stays_missing() {
        let input = "a:\r\n  b: 1\r\n";
        let expected = "a:\r\n  b: 1\r\n  c:\r\n    d: 2\r\n";
        check(apply, input, &[set("a.c.d", json!(2))], expected, &[1]);
        let input = "a:\n  b: 1";
        check(
            apply,
            input,
            &[set("a.c", json!(2))],
            "a:\n  b: 1\n  c: 2",
            &[1],
        );
    }

    #[test]
    fn a_later_edit_sees_the_earlier_ones() {
        let input = "a: 1\n";
        let edits = [
            set("b.c", json!(1)),
            append("b.d", json!("x")),
            set("b.e", json!(2)),
        ];
        check(
            apply,
            input,
            &edits,
            "a: 1\nb:\n  c: 1\n  d:\n    - x\n  e: 2\n",
            &[1, 1, 1],
        );
        let applied = apply(input, &[rename("a", "z"), set("z", json!(2))]).unwrap();
        assert_eq!(applied.text, "z: 2\n");
    }

    #[test]
    fn four_space_files_get_four_spaces() {
        let input = "\
services:
    web:
        image: nginx
";
        let expected = "\
services:
    web:
        image: nginx
        environment:
            - A=1
";
        check(
            apply,
            input,
            &[append("services.web.environment", json!("A=1"))],
            expected,
            &[1],
        );
    }

    #[test]
    fn compose_ports_and_images() {
        let input = "\
version: \"3.8\"
services:
  web:
    image: nginx:1.25 # pinned
    ports:
      - \"80:80\"
";
        let edits = [
            when(
                set("services.*.image", json!("nginx:1.27")),
                r"^nginx:1\.\d+$",
            ),
            append("services.web.ports", json!("443:443")),
            delete("version"),
        ];
        let expected = "\
services:
  web:
    image: nginx:1.27 # pinned
    ports:
      - \"80:80\"
      - \"443:443\"
";
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn a_missing_value_or_a_rename_needs_its_argument() {
        let input = "a: 1\n";
        let mut edit = set("a", json!(1));
        edit.value = None;
        assert!(matches!(
            apply(input, &[edit]),
            Err(EditError::Conflict { .. })
        ));
        let mut edit = rename("a", "b");
        edit.to = None;
        assert!(matches!(
            apply(input, &[edit]),
            Err(EditError::Conflict { .. })
        ));
    }

    #[test]
    fn renaming_a_list_item_is_a_conflict() {
        let edits = [rename("a[0]", "b")];
        assert_eq!(conflict_at(apply, "a:\n  - x\n", &edits), (0, 2));
    }

    #[test]
    fn labels_are_created_in_each_document_before_the_next_one() {
        let edit = set("metadata.labels.team", json!("web"));
        let expected = "\
# Generated by hand
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: web
  labels:
    team: web
spec:
  replicas: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    team: web
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
  labels:
    team: web
";
        check(apply, MANIFESTS, &[edit], expected, &[3]);
    }

    #[test]
    fn entries_of_a_list_item_map_are_deleted_around_the_dash() {
        let input = "\
steps:
  - name: one
    run: a
  - name: two
  - name: three
    run: c
";
        let edits = [
            when(delete("steps[*].name"), "^(one|two)$"),
            delete("steps[2].run"),
        ];
        let expected = "\
steps:
  - run: a
  - {}
  - name: three
";
        check_once(apply, input, &edits, expected, &[2, 1]);
    }

    #[test]
    fn multi_line_flow_maps_and_nested_lists() {
        let input = "\
matrix: {
  os: [ubuntu, macos],
  node: [18, 20]
}
nested:
  - - a
    - b
";
        let edits = [
            append("matrix.node", json!(22)),
            when(delete("matrix.node[*]"), "^18$"),
            append("nested[0]", json!("c")),
            set("matrix.include", json!([{"os": "windows"}])),
        ];
        let expected = "\
matrix: {
  os: [ubuntu, macos],
  node: [20, 22], include: [{os: windows}]
}
nested:
  - - a
    - b
    - c
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
    }

    #[test]
    fn keys_that_need_quotes_get_them() {
        let input = "a: 1\n";
        let edits = [
            set("\"on\"", json!("push")),
            set("x: y", json!(1)),
            set("8080", json!(1)),
        ];
        let expected = "a: 1\n\"on\": push\n\"x: y\": 1\n\"8080\": 1\n";
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn comment_only_and_empty_files_select_nothing() {
        check(
            apply,
            "# nothing yet\n",
            &[set("a", json!(1))],
            "# nothing yet\n",
            &[0],
        );
        check(apply, "", &[delete("a")], "", &[0]);
    }

    #[test]
    fn a_comment_between_key_and_value_stays() {
        let input = "\
image: # pinned by ops
  nginx:1.25
ports: # none yet
env: # set below
  A: 1
";
        let edits = [
            set("image", json!("nginx:1.27")),
            set("ports", json!(["80:80"])),
            set("env", json!({"B": 2})),
        ];
        let expected = "\
image: # pinned by ops
  nginx:1.27
ports: # none yet
  - \"80:80\"
env: # set below
  {B: 2}
";
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn renaming_two_keys_of_a_map_to_one_is_a_conflict() {
        let input = "a:\n  x: 1\n  y: 2\nb:\n  x: 3\n";
        let err = apply(input, &[rename("*.*", "z")]).unwrap_err();
        assert!(
            matches!(&err, EditError::Conflict { line: 3, message, .. } if message.contains("two keys")),
            "{err:?}"
        );
        let applied = apply(input, &[rename("*.x", "z")]).unwrap();
        assert_eq!(applied.text, "a:\n  z: 1\n  y: 2\nb:\n  z: 3\n");
    }

    #[test]
    fn set_keeps_the_blanks_between_the_key_and_the_value() {
        let input = "\
name:  lint
jobs:
  lint:
    runs-on:   ubuntu-latest
    steps:
      - name:  Checkout
        uses:  actions/checkout@v3  # pinned
      -   uses:\t'actions/setup-go@v4'
      -    make lint
    env: {GO:  '1.21', CGO:   0}
";
        let edits = [
            when(
                set("jobs.*.steps[*].uses", json!("actions/checkout@v4")),
                "^actions/checkout@",
            ),
            set("jobs.lint.steps[1].uses", json!("actions/setup-go@v5")),
            set("jobs.lint.steps[2]", json!("make check")),
            set("jobs.lint.env.GO", json!("1.22")),
            set("jobs.lint.env.CGO", json!(1)),
            set("jobs.lint.runs-on", json!(["self-hosted", "linux"])),
        ];
        let expected = "\
name:  lint
jobs:
  lint:
    runs-on:
      - self-hosted
      - linux
    steps:
      - name:  Checkout
        uses:  actions/checkout@v4  # pinned
      -   uses:\t'actions/setup-go@v5'
      -    make check
    env: {GO:  '1.22', CGO:   1}
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn a_value_on_the_line_after_its_key_stays_there() {
        let input = "\
image:
  nginx:1.25
args:
  -
    --verbose
description:
  a long text
  on two lines
";
        let edits = [
            set("image", json!("nginx:1.27")),
            set("args[0]", json!("--quiet")),
            set("description", json!("short")),
        ];
        let expected = "\
image:
  nginx:1.27
args:
  -
    --quiet
description:
  short
";
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn a_block_scalar_keeps_the_spacing_and_comment_around_it() {
        let input = "\
steps:
  - run:   >-  # folded for the logs
      echo one
      two
  - run: | # the build
      make
  - run:  |
      make lint
  - run:
      |-
      make test
";
        let edits = [
            when(set("steps[*].run", json!("echo done")), "^echo one two$"),
            when(
                set("steps[*].run", json!("make\nmake install\n")),
                "^make\n$",
            ),
            when(set("steps[*].run", json!("it's ok: yes")), "^make lint\n$"),
            when(set("steps[*].run", json!("make check")), "^make test$"),
        ];
        let expected = "\
steps:
  - run:   echo done  # folded for the logs
  - run: | # the build
      make
      make install
  - run:  \"it's ok: yes\"
  - run:
      make check
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
    }

    /// `text` read by an independent YAML parser.
    fn data(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}:\n{text}"))
    }

    /// A workflow that quotes with single quotes, but its matrix with double.
    const MATRIX: &str = "\
name: 'tests'
on:
  push:
    branches: ['main', 'release/*']
jobs:
  test:
    strategy:
      matrix:
        python: [\"3.9\", \"3.10\"]   # keep in sync
        os: [ubuntu-latest, macos-latest]
";

    #[test]
    fn append_to_a_double_quoted_flow_list_keeps_its_quotes_and_comment() {
        let edits = [
            append("jobs.test.strategy.matrix.python", json!("3.11")),
            append("jobs.test.strategy.matrix.python", json!("pypy3.10")),
            append("jobs.test.strategy.matrix.python", json!("3.10")),
        ];
        let expected = "\
name: 'tests'
on:
  push:
    branches: ['main', 'release/*']
jobs:
  test:
    strategy:
      matrix:
        python: [\"3.9\", \"3.10\", \"3.11\", \"pypy3.10\"]   # keep in sync
        os: [ubuntu-latest, macos-latest]
";
        check(apply, MATRIX, &edits, expected, &[1, 1, 0]);
        assert_eq!(
            data(expected)["jobs"]["test"]["strategy"]["matrix"]["python"],
            json!(["3.9", "3.10", "3.11", "pypy3.10"])
        );
    }

    #[test]
    fn append_to_a_single_quoted_flow_list_keeps_single_quotes() {
        let input = "\
env:
  NAME: \"web\"
  IMAGE: \"nginx\"
python: ['3.9', '3.10']  # keep in sync
";
        let edits = [
            append("python", json!("3.11")),
            append("python", json!("pypy3.10")),
            append("python", json!("it's")),
        ];
        let expected = "\
env:
  NAME: \"web\"
  IMAGE: \"nginx\"
python: ['3.9', '3.10', '3.11', 'pypy3.10', 'it''s']  # keep in sync
";
        check(apply, input, &edits, expected, &[1, 1, 1]);
        assert_eq!(
            data(expected)["python"],
            json!(["3.9", "3.10", "3.11", "pypy3.10", "it's"])
        );
    }

    #[test]
    fn append_to_a_plain_flow_list_keeps_it_plain_and_its_spacing() {
        let input = "\
w: [a, b] # plain
x: [ a, b ]
y: [a,b]
z: [ a ]
";
        let edits = [
            append("w", json!("c")),
            append("x", json!("c")),
            append("y", json!("c")),
            append("z", json!("c")),
        ];
        let expected = "\
w: [a, b, c] # plain
x: [ a, b, c ]
y: [a,b,c]
z: [ a, c ]
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
        let read = data(expected);
        assert_eq!(read["w"], json!(["a", "b", "c"]));
        assert_eq!(read["x"], json!(["a", "b", "c"]));
        assert_eq!(read["y"], json!(["a", "b", "c"]));
        assert_eq!(read["z"], json!(["a", "c"]));
    }

    #[test]
    fn a_string_plain_would_misread_is_quoted_in_a_plain_flow_list() {
        // As for any new scalar: plain when it reads back as the same
        // string, else in the file's quote (double unless the file
        // prefers single).
        let input = "versions: [stable, beta]\n";
        let edits = [
            append("versions", json!("3.10")),
            append("versions", json!("yes")),
            append("versions", json!("a, b")),
            append("versions", json!(3.11)),
            append("versions", json!("nightly")),
        ];
        let expected = "versions: [stable, beta, \"3.10\", \"yes\", \"a, b\", 3.11, nightly]\n";
        check(apply, input, &edits, expected, &[1; 5]);
        assert_eq!(
            data(expected)["versions"],
            json!(["stable", "beta", "3.10", "yes", "a, b", 3.11, "nightly"])
        );
        let input = "a: 'x'\nb: 'y'\nversions: [stable,beta]\n";
        let expected = "a: 'x'\nb: 'y'\nversions: [stable,beta,'3.10']\n";
        check(
            apply,
            input,
            &[append("versions", json!("3.10"))],
            expected,
            &[1],
        );
        assert_eq!(
            data(expected)["versions"],
            json!(["stable", "beta", "3.10"])
        );
    }

    #[test]
    fn setting_a_flow_list_to_a_list_keeps_it_flow() {
        let edits = [
            set("jobs.test.strategy.matrix.python", json!(["3.11", "3.12"])),
            set(
                "jobs.test.strategy.matrix.os",
                json!(["ubuntu-24.04", "3.0"]),
            ),
            set("on.push.branches", json!(["main"])),
        ];
        let expected = "\
name: 'tests'
on:
  push:
    branches: ['main']
jobs:
  test:
    strategy:
      matrix:
        python: [\"3.11\", \"3.12\"]   # keep in sync
        os: [ubuntu-24.04, '3.0']
";
        check(apply, MATRIX, &edits, expected, &[1, 1, 1]);
        let read = data(expected);
        let matrix = &read["jobs"]["test"]["strategy"]["matrix"];
        assert_eq!(matrix["python"], json!(["3.11", "3.12"]));
        assert_eq!(matrix["os"], json!(["ubuntu-24.04", "3.0"]));
        assert_eq!(read["on"]["push"]["branches"], json!(["main"]));
    }

    #[test]
    fn a_set_flow_list_keeps_its_spacing_and_may_become_empty() {
        let input = "\
a: [ x, y ]  # spaced
b: [x,y]
c:   [x, y]
d: !!seq [x]
";
        let edits = [
            set("a", json!(["z", "w"])),
            set("b", json!(["z", "w"])),
            set("c", json!([])),
            set("d", json!(["z", 1])),
        ];
        let expected = "\
a: [ z, w ]  # spaced
b: [z,w]
c:   []
d: !!seq [z, 1]
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
        let read = data(expected);
        assert_eq!(read["a"], json!(["z", "w"]));
        assert_eq!(read["b"], json!(["z", "w"]));
        assert_eq!(read["c"], json!([]));
        assert_eq!(read["d"], json!(["z", 1]));
    }

    #[test]
    fn append_to_an_empty_flow_list_fills_the_brackets() {
        let input = "\
a: []  # none yet
b: [ ]
c: []
";
        let edits = [
            append("a", json!("x")),
            append("b", json!("x")),
            append("c", json!("3.10")),
        ];
        let expected = "\
a: [x]  # none yet
b: [ x ]
c: [\"3.10\"]
";
        check(apply, input, &edits, expected, &[1, 1, 1]);
        let read = data(expected);
        assert_eq!(read["a"], json!(["x"]));
        assert_eq!(read["b"], json!(["x"]));
        assert_eq!(read["c"], json!(["3.10"]));
    }

    #[test]
    fn flow_lists_nested_in_block_lists_and_flow_maps_keep_their_style() {
        let input = "\
include:
  - ['3.9', linux]
  - [\"3.10\", \"linux\"] # newest
matrix: {python: ['3.9'], os: [ linux ]}
";
        let edits = [
            append("include[0]", json!("pypy")),
            set("include[1]", json!(["3.11", "macos"])),
            append("matrix.python", json!("3.10")),
            set("matrix.os", json!(["linux", "macos"])),
        ];
        let expected = "\
include:
  - ['3.9', linux, pypy]
  - [\"3.11\", \"macos\"] # newest
matrix: {python: ['3.9', '3.10'], os: [ linux, macos ]}
";
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
        let read = data(expected);
        assert_eq!(
            read["include"],
            json!([["3.9", "linux", "pypy"], ["3.11", "macos"]])
        );
        assert_eq!(
            read["matrix"],
            json!({"python": ["3.9", "3.10"], "os": ["linux", "macos"]})
        );
    }

    #[test]
    fn a_multi_line_flow_list_grows_one_item_a_line() {
        let input = "\
python: [
  \"3.9\",
  \"3.10\",
]
os: [
  linux
]
select: [
  \"E\",  # pycodestyle
  \"F\"  # pyflakes
]
";
        let edits = [
            append("python", json!("3.11")),
            set("os", json!(["linux", "macos"])),
            append("select", json!("W")),
        ];
        let expected = "\
python: [
  \"3.9\",
  \"3.10\",
  \"3.11\",
]
os: [
  linux,
  macos
]
select: [
  \"E\",  # pycodestyle
  \"F\",  # pyflakes
  \"W\"
]
";
        check(apply, input, &edits, expected, &[1, 1, 1]);
        let read = data(expected);
        assert_eq!(read["python"], json!(["3.9", "3.10", "3.11"]));
        assert_eq!(read["os"], json!(["linux", "macos"]));
        assert_eq!(read["select"], json!(["E", "F", "W"]));
    }
}
