//! JSON edits (comments allowed, as in `tsconfig.json`) through the spans
//! of the tree-sitter tree.
//!
//! New members go after the last one with the indentation of their
//! siblings (or the file's indent unit under an empty object), and the
//! commas are fixed around them; new values are written pretty when the
//! file is, on one line when it is on one line, with the file's own
//! spacing after `:` and between members on a line (none when minified).

use ast_grep_core::tree_sitter::LanguageExt;
use ast_grep_language::SupportLang;
use serde_json::Value;

use super::tree::{
    self, Entry, Format, Item, Kind, Node, Parent, Parsed, Scalar, Site, Splice, Style, Syntax,
    TsNode, Unreadable, first_error, indentation, json_string, line_end, line_of, newline,
};
use super::{Applied, Edit, EditError, depth};

pub(super) fn apply(text: &str, edits: &[Edit]) -> Result<Applied, EditError> {
    tree::apply::<Json>(text, edits)
}

struct Json;

impl Format for Json {
    const NAME: &'static str = "json";

    fn parse(text: &str) -> Parsed {
        let grep = SupportLang::Json.ast_grep(mask_trailing_commas(text));
        let root = grep.root();
        if let Err(deep) = depth::tree(&root, |kind| matches!(kind, "object" | "array")) {
            return Parsed::unreadable(Unreadable::TooDeep(deep));
        }
        if let Some((line, message)) = first_error(&root, text) {
            return Parsed::unreadable(Unreadable::Syntax(line, message));
        }
        let values: Vec<TsNode<'_>> = root
            .children()
            .filter(|c| c.is_named() && c.kind() != "comment")
            .collect();
        if let Some(second) = values.get(1) {
            let line = line_of(text, second.range().start);
            let message = "more than one top-level value".to_string();
            return Parsed::unreadable(Unreadable::Syntax(line, message));
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
    /// What separates a key from its value (`: `, or `:` when minified).
    colon: String,
    /// What separates members on one line (`, `, or `,` when minified).
    comma: String,
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
        let (colon, comma) = separators(src, roots);
        JsonSyntax {
            src,
            unit: unit.to_string(),
            pretty: root.is_some_and(|r| src[r.span.clone()].contains('\n')),
            colon,
            comma,
            nl: newline(src),
        }
    }

    /// `value` as JSON, its first line at the current position: spread
    /// over lines indented from `indent` when given, else on one line.
    fn render(&self, value: &Value, indent: Option<&str>) -> String {
        let inner = indent.map(|indent| format!("{indent}{}", self.unit));
        let (open, close, members): (char, char, Vec<String>) = match value {
            Value::Object(map) if !map.is_empty() => (
                '{',
                '}',
                map.iter()
                    .map(|(k, v)| {
                        let value = self.render(v, inner.as_deref());
                        format!("{}{}{value}", json_string(k), self.colon)
                    })
                    .collect(),
            ),
            Value::Array(list) if !list.is_empty() => (
                '[',
                ']',
                list.iter()
                    .map(|v| self.render(v, inner.as_deref()))
                    .collect(),
            ),
            _ => return serde_json::to_string(value).unwrap_or_else(|_| "null".to_string()),
        };
        let (Some(indent), Some(inner)) = (indent, inner) else {
            return format!("{open}{}{close}", members.join(&self.comma));
        };
        let nl = self.nl;
        let body = members.join(&format!(",{nl}{inner}"));
        format!("{open}{nl}{inner}{body}{nl}{indent}{close}")
    }

    /// The indentation to spread a value at `at` from, when the collection
    /// holding it (`holder`, the root when `None`) is spread over lines.
    fn spread_from(&self, holder: Option<&Node>, at: usize) -> Option<&'s str> {
        let spread = holder.map_or(self.pretty, |h| self.src[h.span.clone()].contains('\n'));
        spread.then(|| indentation(self.src, at))
    }

    /// Add a member (rendered by `member` at an indentation) to the
    /// object or array `container` whose members span `last`, if any.
    fn add(
        &self,
        container: &Node,
        last: Option<&std::ops::Range<usize>>,
        member: impl Fn(Option<&str>) -> String,
    ) -> Splice {
        let Some(last) = last else {
            return self.fill_empty(container, member);
        };
        let at = last.end;
        let indent = indentation(self.src, last.start);
        let stop = line_end(self.src, at);
        let rest = &self.src[at..stop];
        let rest_trim = rest.trim();
        let trailing_comma = rest_trim.starts_with(',');
        let after = rest_trim.trim_start_matches(',').trim_start();
        let own_line = starts_line(self.src, last.start)
            && (after.is_empty() || after.starts_with("//") || after.starts_with("/*"));
        if !own_line {
            let indent = self.spread_from(Some(container), last.start);
            return Splice::new(at..at, format!("{}{}", self.comma, member(indent)));
        }
        // The comma after the last member, the new one after the rest of
        // its line, so a trailing comment stays where it is.
        let kept = rest.trim_end_matches(['\r', '\n']);
        let end = at + kept.len();
        let (nl, member) = (self.nl, member(Some(indent)));
        let text = if trailing_comma {
            // The file ends members with commas (JSONC): so does the new one.
            format!("{kept}{nl}{indent}{member},")
        } else {
            format!(",{kept}{nl}{indent}{member}")
        };
        Splice::new(at..end, text)
    }

    /// The first member of an empty object or array.
    fn fill_empty(&self, container: &Node, member: impl Fn(Option<&str>) -> String) -> Splice {
        let span = container.span.clone();
        let open = &self.src[span.start..span.start + 1];
        let close = if open == "{" { "}" } else { "]" };
        // Spread only where the file is, and not inside a one-line collection.
        let after = self.src[span.end..line_end(self.src, span.end)].trim();
        let ends_line = after.trim_start_matches(',').trim_start();
        let alone =
            ends_line.is_empty() || ends_line.starts_with("//") || ends_line.starts_with("/*");
        if !self.pretty || !alone {
            return Splice::new(span, format!("{open}{}{close}", member(None)));
        }
        let indent = indentation(self.src, span.start);
        let inner = format!("{indent}{}", self.unit);
        let nl = self.nl;
        Splice::new(
            span,
            format!(
                "{open}{nl}{inner}{}{nl}{indent}{close}",
                member(Some(&inner))
            ),
        )
    }
}

impl Syntax for JsonSyntax<'_> {
    fn replace(&self, site: Site<'_>, value: &Value) -> Splice {
        let node = site.node;
        let holder = match site.parent {
            Parent::Root => None,
            Parent::Entry(holder, _) | Parent::Item(holder, _) => Some(holder),
        };
        let indent = self.spread_from(holder, node.span.start);
        Splice::new(node.span.clone(), self.render(value, indent))
    }

    fn insert(&self, map: &Node, key: &str, value: &Value) -> Splice {
        let Kind::Map { entries, .. } = &map.kind else {
            return Splice::new(map.span.end..map.span.end, "");
        };
        let last = entries.last().map(|e| &e.span);
        self.add(map, last, |indent| {
            format!(
                "{}{}{}",
                json_string(key),
                self.colon,
                self.render(value, indent)
            )
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
        Splice::new(entry.key_span.clone(), json_string(to))
    }

    fn comment(&self) -> &'static str {
        "//"
    }
}

/// The separators the file writes after a key (`": "`) and between two
/// members on one line (`", "`): the first of each found in the file; when
/// the file has none, the usual ones, or none at all when its `:` has no
/// space after it (a minified file).
fn separators(src: &str, roots: &[Node]) -> (String, String) {
    let mut colon = None;
    let mut comma = None;
    for root in roots {
        find_separators(src, root, &mut colon, &mut comma);
    }
    let colon = colon.unwrap_or(": ").to_string();
    let comma = comma.unwrap_or(if colon.ends_with(':') { "," } else { ", " });
    (colon, comma.to_string())
}

/// [`separators`] under `node`, stopping once both are found.
fn find_separators<'s>(
    src: &'s str,
    node: &Node,
    colon: &mut Option<&'s str>,
    comma: &mut Option<&'s str>,
) {
    if colon.is_some() && comma.is_some() {
        return;
    }
    let children: Vec<&Node> = match &node.kind {
        Kind::Map { entries, .. } => {
            if colon.is_none() {
                *colon = entries
                    .iter()
                    .map(|e| &src[e.key_span.end..e.value.span.start])
                    .find(|gap| is_separator(gap, ':'));
            }
            entries.iter().map(|e| &e.value).collect()
        }
        Kind::Seq { items, .. } => items.iter().map(|i| &i.value).collect(),
        Kind::Scalar(_) => Vec::new(),
    };
    if comma.is_none() {
        let spans = node.member_spans();
        *comma = spans
            .windows(2)
            .map(|pair| &src[pair[0].end..pair[1].start])
            .find(|gap| is_separator(gap, ','));
    }
    for child in children {
        find_separators(src, child, colon, comma);
    }
}

/// Whether `gap` is `mark` with only spaces or tabs around it.
fn is_separator(gap: &str, mark: char) -> bool {
    gap.trim_matches([' ', '\t']) == mark.to_string()
}

/// `text` with each trailing comma (before `}` or `]`, as JSONC allows in
/// `tsconfig.json`) turned into a space, so that tree-sitter-json parses it
/// while every byte offset stays that of `text`.
fn mask_trailing_commas(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'"' => skip_string(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') || bytes.get(i + 1) == Some(&b'*') => {
                skip_comment(bytes, i)
            }
            b',' => {
                let next = skip_blanks(bytes, i + 1);
                if matches!(bytes.get(next), Some(b'}' | b']')) {
                    out[i] = b' ';
                }
                i + 1
            }
            _ => i + 1,
        };
    }
    // Only an ASCII comma became an ASCII space: still valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// The offset past the string starting at `at`.
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The offset past the `//` or `/* */` comment starting at `at`.
fn skip_comment(bytes: &[u8], at: usize) -> usize {
    let rest = &bytes[at..];
    let end = if rest.starts_with(b"//") {
        rest.iter().position(|&b| b == b'\n')
    } else {
        rest.windows(2).position(|w| w == b"*/").map(|p| p + 2)
    };
    end.map_or(bytes.len(), |e| at + e)
}

/// The offset of the first byte from `at` that is neither whitespace nor
/// in a comment.
fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            b'/' if matches!(bytes.get(at + 1), Some(b'/' | b'*')) => at = skip_comment(bytes, at),
            _ => break,
        }
    }
    at
}

/// Whether only whitespace precedes `at` on its line.
fn starts_line(src: &str, at: usize) -> bool {
    indentation(src, at).len() == at - tree::line_start(src, at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Op;
    use super::super::testing::{
        append, check, delete, ensure, parse_error, rename, set, when, where_,
    };
    use super::*;

    const PACKAGE: &str = r#"{
  "name": "web",
  "version": "1.2.0",
  "scripts": {
    "test": "vitest"
  },
  "devDependencies": {
    "typescript": "^5.4.0"
  }
}
"#;

    #[test]
    fn engines_node_is_created_after_the_last_member() {
        let edit = set("engines.node", json!(">=20"));
        let expected = r#"{
  "name": "web",
  "version": "1.2.0",
  "scripts": {
    "test": "vitest"
  },
  "devDependencies": {
    "typescript": "^5.4.0"
  },
  "engines": {
    "node": ">=20"
  }
}
"#;
        check(apply, PACKAGE, &[edit], expected, &[1]);
    }

    #[test]
    fn engines_node_is_bumped_when_present() {
        let input = r#"{
  "name": "web",
  "engines": { "node": ">=16", "npm": ">=8" }
}
"#;
        let edit = when(set("engines.node", json!(">=20")), r"^>=1[0-8]$");
        let expected = r#"{
  "name": "web",
  "engines": { "node": ">=20", "npm": ">=8" }
}
"#;
        check(apply, input, &[edit], expected, &[1]);
    }

    #[test]
    fn an_empty_object_gets_its_first_member_one_unit_deeper() {
        let input = "{\n    \"name\": \"web\",\n    \"engines\": {}\n}";
        let expected =
            "{\n    \"name\": \"web\",\n    \"engines\": {\n        \"node\": \">=20\"\n    }\n}";
        check(
            apply,
            input,
            &[set("engines.node", json!(">=20"))],
            expected,
            &[1],
        );
    }

    #[test]
    fn scripts_are_added_renamed_and_deleted() {
        let edits = [
            set("scripts.lint", json!("eslint .")),
            rename("scripts.test", "test:unit"),
            delete("devDependencies.typescript"),
            ensure("version", json!("9.9.9")),
        ];
        let expected = r#"{
  "name": "web",
  "version": "1.2.0",
  "scripts": {
    "test:unit": "vitest",
    "lint": "eslint ."
  },
  "devDependencies": {}
}
"#;
        check(apply, PACKAGE, &edits, expected, &[1, 1, 1, 0]);
    }

    const TSCONFIG: &str = r#"{
  // shared settings
  "extends": "./base.json",
  "compilerOptions": {
    "target": "ES2017", // old browsers
    "module": "commonjs",
    "lib": ["dom", "es2017"],
    /* paths */
    "baseUrl": ".",
    "strict": false // for now
  }
}
"#;

    #[test]
    fn tsconfig_comments_survive_every_operation() {
        let edits = [
            when(
                set("compilerOptions.target", json!("ES2022")),
                r"^ES201[5-7]$",
            ),
            set("compilerOptions.strict", json!(true)),
            append("compilerOptions.lib", json!("es2022")),
            delete("compilerOptions.module"),
            set("compilerOptions.outDir", json!("dist")),
        ];
        let expected = r#"{
  // shared settings
  "extends": "./base.json",
  "compilerOptions": {
    "target": "ES2022", // old browsers
    "lib": ["dom", "es2017", "es2022"],
    /* paths */
    "baseUrl": ".",
    "strict": true, // for now
    "outDir": "dist"
  }
}
"#;
        check(apply, TSCONFIG, &edits, expected, &[1, 1, 1, 1, 1]);
    }

    #[test]
    fn deleting_the_last_member_moves_the_comma() {
        let edits = [delete("compilerOptions.strict"), delete("extends")];
        let expected = r#"{
  // shared settings
  "compilerOptions": {
    "target": "ES2017", // old browsers
    "module": "commonjs",
    "lib": ["dom", "es2017"],
    /* paths */
    "baseUrl": "."
  }
}
"#;
        check(apply, TSCONFIG, &edits, expected, &[1, 1]);
    }

    #[test]
    fn inline_members_are_deleted_with_the_right_comma() {
        let input = r#"{"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3], "d": {"x": 1}}"#;
        let edits = [
            when(delete("a[*]"), "^1$"),
            when(delete("b[*]"), "^2$"),
            when(delete("c[*]"), "^[23]$"),
            delete("d.x"),
        ];
        let expected = r#"{"a": [2, 3], "b": [1, 3], "c": [1], "d": {}}"#;
        check(apply, input, &edits, expected, &[1, 1, 2, 1]);
    }

    #[test]
    fn one_line_files_stay_on_one_line() {
        let input = r#"{"name": "web", "files": []}"#;
        let edits = [
            set("engines", json!({"node": ">=20"})),
            append("files", json!("dist")),
            append("keywords", json!("x")),
        ];
        let expected =
            r#"{"name": "web", "files": ["dist"], "engines": {"node": ">=20"}, "keywords": ["x"]}"#;
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn new_values_are_pretty_at_their_depth() {
        let input = "{\n\t\"a\": {\n\t\t\"b\": 1\n\t}\n}\n";
        let edits = [set("a.c", json!({"d": [1, {"e": null}]}))];
        let expected = "{\n\t\"a\": {\n\t\t\"b\": 1,\n\t\t\"c\": {\n\t\t\t\"d\": [\n\t\t\t\t1,\n\t\t\t\t{\n\t\t\t\t\t\"e\": null\n\t\t\t\t}\n\t\t\t]\n\t\t}\n\t}\n}\n";
        check(apply, input, &edits, expected, &[1]);
    }

    #[test]
    fn kinds_follow_the_new_value_and_strings_are_escaped() {
        let input = r#"{
  "version": 1,
  "name": "x",
  "list": [1, 2]
}
"#;
        let edits = [
            set("version", json!(2)),
            set("name", json!("say \"hi\"\n")),
            set("list[-1]", json!(3)),
        ];
        let expected = r#"{
  "version": 2,
  "name": "say \"hi\"\n",
  "list": [1, 3]
}
"#;
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn crlf_is_kept_for_new_lines() {
        let input = "{\r\n  \"a\": 1\r\n}\r\n";
        let expected = "{\r\n  \"a\": 1,\r\n  \"b\": {\r\n    \"c\": 2\r\n  }\r\n}\r\n";
        check(apply, input, &[set("b.c", json!(2))], expected, &[1]);
    }

    #[test]
    fn multi_line_arrays_get_items_on_their_own_lines() {
        let input = r#"{
  "files": [
    "dist",
    "README.md" // docs
  ]
}
"#;
        let edits = [
            append("files", json!("LICENSE")),
            append("files", json!("dist")),
        ];
        let expected = r#"{
  "files": [
    "dist",
    "README.md", // docs
    "LICENSE"
  ]
}
"#;
        check(apply, input, &edits, expected, &[1, 0]);
    }

    #[test]
    fn where_checks_the_root() {
        let input = r#"{"name": "web", "private": true}"#;
        let yes = where_(set("private", json!(false)), "name", "^web$");
        let no = where_(set("name", json!("api")), "name", "^api$");
        check(
            apply,
            input,
            &[yes, no],
            r#"{"name": "web", "private": false}"#,
            &[1, 0],
        );
    }

    #[test]
    fn invalid_json_is_a_parse_error_with_its_line() {
        let input = "{\n  \"a\": 1\n  \"b\": 2\n}\n";
        parse_error(apply, input, &[set("a", json!(2))], "json", 3);
        parse_error(apply, "{}\n{}\n", &[], "json", 2);
    }

    #[test]
    fn appending_to_an_object_is_a_conflict() {
        let err = apply(PACKAGE, &[append("scripts", json!("x"))]).unwrap_err();
        assert_eq!(
            err,
            EditError::Conflict {
                edit: 0,
                op: Op::Append,
                path: "scripts".into(),
                line: 4,
                message: "cannot append to a map".into(),
            }
        );
    }

    /// JSON whose every replacement breaks the file, to see the result check.
    struct Broken;

    struct Breaks;

    impl Syntax for Breaks {
        fn replace(&self, site: Site<'_>, _: &Value) -> Splice {
            Splice::new(site.node.span.clone(), "{")
        }
        fn insert(&self, map: &Node, _: &str, _: &Value) -> Splice {
            Splice::new(map.span.clone(), "")
        }
        fn push(&self, seq: &Node, _: &Value) -> Splice {
            Splice::new(seq.span.clone(), "")
        }
        fn rename(&self, entry: &Entry, _: &str) -> Splice {
            Splice::new(entry.key_span.clone(), "")
        }
        fn comment(&self) -> &'static str {
            "//"
        }
    }

    impl Format for Broken {
        const NAME: &'static str = "json";
        fn parse(text: &str) -> Parsed {
            Json::parse(text)
        }
        fn syntax<'s>(_: &'s str, _: &'s [Node]) -> impl Syntax + 's {
            Breaks
        }
    }

    #[test]
    fn a_result_that_does_not_parse_is_a_conflict_and_nothing_is_written() {
        let input = "{\n  \"a\": 1,\n  \"b\": 2\n}\n";
        let err = tree::apply::<Broken>(input, &[set("a", json!(3)), set("b", json!(3))]);
        let Err(EditError::Conflict {
            edit,
            line,
            message,
            ..
        }) = err
        else {
            panic!("{err:?}");
        };
        assert_eq!((edit, line), (0, 2));
        assert!(
            message.starts_with("the result would not be valid json"),
            "{message}"
        );
    }

    #[test]
    fn trailing_commas_of_jsonc_are_accepted_and_kept() {
        let input = r#"{
  "compilerOptions": {
    "strict": true, // always
    "paths": {"@/*": ["src/*",],},
  },
}
"#;
        let edits = [
            set("compilerOptions.noEmit", json!(true)),
            append("compilerOptions.paths.\"@/*\"", json!("lib/*")),
            set("compilerOptions.paths.\"~/*\"", json!(["x/*"])),
        ];
        let expected = r#"{
  "compilerOptions": {
    "strict": true, // always
    "paths": {"@/*": ["src/*", "lib/*",], "~/*": ["x/*"],},
    "noEmit": true,
  },
}
"#;
        check(apply, input, &edits, expected, &[1, 1, 1]);
    }

    #[test]
    fn commas_in_strings_and_comments_are_not_trailing_commas() {
        let input = "{\"a\": \",}\", /* ,} */ \"b\": [1] // ,]\n}";
        assert_eq!(mask_trailing_commas(input), input);
        assert_eq!(mask_trailing_commas("[1, /* c */ ]"), "[1  /* c */ ]");
    }

    #[test]
    fn an_empty_object_inside_a_one_line_one_stays_on_one_line() {
        let input = "{\n  \"paths\": {\"a\": {}},\n  \"b\": []\n}\n";
        let edits = [set("paths.a.x", json!(1)), append("b", json!({"k": "v"}))];
        let expected = "{\n  \"paths\": {\"a\": {\"x\": 1}},\n  \"b\": [\n    {\n      \"k\": \"v\"\n    }\n  ]\n}\n";
        check(apply, input, &edits, expected, &[1, 1]);
    }

    #[test]
    fn minified_files_get_no_spaces_after_colons_and_commas() {
        let input = r#"{"name":"web","files":["dist"],"scripts":{}}"#;
        let edits = [
            set("engines", json!({"node": ">=20", "npm": ">=10"})),
            append("files", json!("lib")),
            set("scripts.test", json!("vitest")),
            set("name", json!({"full": "web app"})),
        ];
        let expected = r#"{"name":{"full":"web app"},"files":["dist","lib"],"scripts":{"test":"vitest"},"engines":{"node":">=20","npm":">=10"}}"#;
        check(apply, input, &edits, expected, &[1, 1, 1, 1]);
    }

    #[test]
    fn a_file_with_its_own_spacing_gets_it_for_new_members() {
        let input = "{\"a\" : 1,\"b\" : [1,2]}\n";
        let edits = [set("c", json!({"d": [3, 4]})), append("b", json!(3))];
        let expected = "{\"a\" : 1,\"b\" : [1,2,3],\"c\" : {\"d\" : [3,4]}}\n";
        check(apply, input, &edits, expected, &[1, 1]);
        let input = "{\"only\":{}}";
        let expected = "{\"only\":{\"x\":[1,2]}}";
        check(
            apply,
            input,
            &[set("only.x", json!([1, 2]))],
            expected,
            &[1],
        );
    }
}
