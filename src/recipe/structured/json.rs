//! JSON edits (comments allowed, as in `tsconfig.json`) through the spans
//! of the tree-sitter tree.
//!
//! New members go after the last one with the indentation of their
//! siblings (or the file's indent unit under an empty object), and the
//! commas are fixed around them; new values are written pretty when the
//! file is, on one line when it is on one line.

use ast_grep_core::tree_sitter::LanguageExt;
use ast_grep_language::SupportLang;
use serde_json::Value;

use super::tree::{
    self, Entry, Format, Item, Kind, Node, Parsed, Scalar, Site, Splice, Style, Syntax, TsNode,
    first_error, indentation, line_end, line_of, newline,
};
use super::{Applied, Edit, EditError};

pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    tree::apply::<Json>(text, edits)
}

struct Json;

impl Format for Json {
    const NAME: &'static str = "json";

    fn parse(text: &str) -> Parsed {
        let grep = SupportLang::Json.ast_grep(text);
        let root = grep.root();
        if let Some(error) = first_error(&root) {
            return Parsed {
                roots: Vec::new(),
                error: Some(error),
            };
        }
        let values: Vec<TsNode<'_>> = root
            .children()
            .filter(|c| c.is_named() && c.kind() != "comment")
            .collect();
        if let Some(second) = values.get(1) {
            let line = line_of(text, second.range().start);
            return Parsed {
                roots: Vec::new(),
                error: Some((line, "more than one top-level value".to_string())),
            };
        }
        Parsed {
            roots: values.iter().map(build).collect(),
            error: None,
        }
    }

    fn syntax<'s>(text: &'s str, roots: &'s [Node]) -> impl Syntax + 's {
        JsonSyntax::detect(text, roots)
    }
}

/// The model of a JSON value.
fn build(node: &TsNode<'_>) -> Node {
    let span = node.range();
    let kind = match &*node.kind() {
        "object" => Kind::Map {
            entries: node
                .children()
                .filter(|c| c.kind() == "pair")
                .filter_map(|pair| entry(&pair))
                .collect(),
            flow: true,
        },
        "array" => Kind::Seq {
            items: node
                .children()
                .filter(|c| c.is_named() && c.kind() != "comment")
                .map(|c| Item {
                    span: c.range(),
                    value: build(&c),
                })
                .collect(),
            flow: true,
        },
        _ => Kind::Scalar(scalar(node)),
    };
    Node {
        slot: span.clone(),
        span,
        kind,
    }
}

fn entry(pair: &TsNode<'_>) -> Option<Entry> {
    let key = pair.field("key")?;
    let value = pair.field("value")?;
    Some(Entry {
        key: string(&key.text()),
        key_span: key.range(),
        key_style: Style::Double,
        span: pair.range(),
        value: build(&value),
    })
}

/// A string, number, boolean or null.
fn scalar(node: &TsNode<'_>) -> Scalar {
    let raw = node.text();
    let (text, value) = match &*node.kind() {
        "string" => {
            let s = string(&raw);
            (s.clone(), Value::String(s))
        }
        _ => {
            let value =
                serde_json::from_str(&raw).unwrap_or_else(|_| Value::String(raw.to_string()));
            (raw.to_string(), value)
        }
    };
    Scalar {
        text: Some(text),
        value: Some(value),
        style: Style::Double,
    }
}

/// A JSON string literal, unescaped.
fn string(raw: &str) -> String {
    serde_json::from_str(raw).unwrap_or_else(|_| raw.trim_matches('"').to_string())
}

/// How new JSON is written in this file.
struct JsonSyntax<'s> {
    src: &'s str,
    /// One level of indentation (two spaces, four, a tab...).
    unit: String,
    /// Whether the file spreads its values over lines.
    pretty: bool,
    nl: &'static str,
}

impl<'s> JsonSyntax<'s> {
    /// The layout of the file: indentation of the root's first member, and
    /// whether the root spans several lines.
    fn detect(src: &'s str, roots: &[Node]) -> JsonSyntax<'s> {
        let root = roots.first();
        let first = root.and_then(|r| match &r.kind {
            Kind::Map { entries, .. } => entries.first().map(|e| e.span.start),
            Kind::Seq { items, .. } => items.first().map(|i| i.span.start),
            Kind::Scalar(_) => None,
        });
        let unit = first
            .map(|at| indentation(src, at))
            .filter(|indent| !indent.is_empty() && starts_line(src, first.unwrap_or(0)))
            .unwrap_or("  ");
        JsonSyntax {
            src,
            unit: unit.to_string(),
            pretty: root.is_some_and(|r| src[r.span.clone()].contains('\n')),
            nl: newline(src),
        }
    }

    /// `value` as JSON, its first line at the current position and the
    /// following ones indented from `indent`.
    fn render(&self, value: &Value, indent: &str) -> String {
        let inner = format!("{indent}{}", self.unit);
        let (open, close, members): (char, char, Vec<String>) = match value {
            Value::Object(map) if !map.is_empty() => (
                '{',
                '}',
                map.iter()
                    .map(|(k, v)| format!("{}: {}", quote(k), self.render(v, &inner)))
                    .collect(),
            ),
            Value::Array(list) if !list.is_empty() => (
                '[',
                ']',
                list.iter().map(|v| self.render(v, &inner)).collect(),
            ),
            _ => return serde_json::to_string(value).unwrap_or_else(|_| "null".to_string()),
        };
        if !self.pretty {
            return format!("{open}{}{close}", members.join(", "));
        }
        let nl = self.nl;
        let body = members.join(&format!(",{nl}{inner}"));
        format!("{open}{nl}{inner}{body}{nl}{indent}{close}")
    }

    /// Add a member (rendered by `member` at an indentation) to the
    /// object or array `container` whose members span `last`, if any.
    fn add(
        &self,
        container: &Node,
        last: Option<&std::ops::Range<usize>>,
        member: impl Fn(&str) -> String,
    ) -> Splice {
        let Some(last) = last else {
            return self.fill_empty(container, member);
        };
        let at = last.end;
        let indent = indentation(self.src, last.start);
        let stop = line_end(self.src, at);
        let rest = &self.src[at..stop];
        let rest_trim = rest.trim();
        let own_line = starts_line(self.src, last.start)
            && (rest_trim.is_empty() || rest_trim.starts_with("//") || rest_trim.starts_with("/*"));
        if !own_line {
            return Splice::new(at..at, format!(", {}", member(indent)));
        }
        // The comma after the last member, the new one after the rest of
        // its line, so a trailing comment stays where it is.
        let kept = rest.trim_end_matches(['\r', '\n']);
        let end = at + kept.len();
        Splice::new(
            at..end,
            format!(",{kept}{}{indent}{}", self.nl, member(indent)),
        )
    }

    /// The first member of an empty object or array.
    fn fill_empty(&self, container: &Node, member: impl Fn(&str) -> String) -> Splice {
        let span = container.span.clone();
        let open = &self.src[span.start..span.start + 1];
        let close = if open == "{" { "}" } else { "]" };
        if !self.pretty {
            return Splice::new(span, format!("{open}{}{close}", member("")));
        }
        let indent = indentation(self.src, span.start);
        let inner = format!("{indent}{}", self.unit);
        let nl = self.nl;
        Splice::new(
            span,
            format!("{open}{nl}{inner}{}{nl}{indent}{close}", member(&inner)),
        )
    }
}

impl Syntax for JsonSyntax<'_> {
    fn replace(&self, site: Site<'_>, value: &Value) -> Splice {
        let node = site.node;
        let indent = indentation(self.src, node.span.start);
        Splice::new(node.span.clone(), self.render(value, indent))
    }

    fn insert(&self, map: &Node, key: &str, value: &Value) -> Splice {
        let Kind::Map { entries, .. } = &map.kind else {
            return Splice::new(map.span.end..map.span.end, "");
        };
        let last = entries.last().map(|e| &e.span);
        self.add(map, last, |indent| {
            format!("{}: {}", quote(key), self.render(value, indent))
        })
    }

    fn push(&self, seq: &Node, value: &Value) -> Splice {
        let Kind::Seq { items, .. } = &seq.kind else {
            return Splice::new(seq.span.end..seq.span.end, "");
        };
        let last = items.last().map(|i| &i.span);
        self.add(seq, last, |indent| self.render(value, indent))
    }

    fn rename(&self, entry: &Entry, to: &str) -> Splice {
        Splice::new(entry.key_span.clone(), quote(to))
    }

    fn comment(&self) -> &'static str {
        "//"
    }
}

/// Whether only whitespace precedes `at` on its line.
fn starts_line(src: &str, at: usize) -> bool {
    indentation(src, at).len() == at - tree::line_start(src, at)
}

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}
