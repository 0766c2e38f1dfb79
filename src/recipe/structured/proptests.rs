//! Properties of every structured editor, on generated documents and edits.
//!
//! Documents are generated as values (nested maps, lists and scalars with
//! awkward keys and strings) and written out as text with a generated
//! layout: indentation, one-line or spread, flow or block, quoting,
//! comments, blank lines, trailing commas. Edits are every operation on
//! paths that exist and paths that do not. For each format:
//! - the editor reads every document the format's reference parser reads
//!   (serde_json, serde-saphyr, toml_edit; HCL has none in the build, so
//!   tree-sitter-hcl through the editor itself), and leaves it unchanged
//!   when there is nothing to do;
//! - an edit never panics (an error is fine);
//! - an edited file parses again, with the reference parser and the editor;
//! - the same edit applied to its own result changes nothing;
//! - (JSON and YAML) an edit without `when` or wildcards leaves the
//!   document, read back by the reference parser, as the semantics say.
//!
//! Cases: `PROPTEST_CASES` (64 by default, so that the set stays within a
//! few seconds of a debug test run); `scripts/proptest-long.sh` runs
//! thousands. Failures are not saved to files: a minimal failing input is
//! kept as a regression test below instead.

use proptest::prelude::*;
use proptest::test_runner::Config;
use regex::Regex;
use serde_json::{Map, Value};

use super::{Edit, Format, KeyPath, Op, Segment, apply};

/// The number of cases of each property.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Keys that collide often (so edits find them) and need quoting somewhere.
const KEYS: &[&str] = &["a", "b", "c", "x-y", "a.b", "k 1", "é", "on", "1", "_"];

/// Keys that are HCL identifiers (attribute and block names).
const IDENTIFIERS: &[&str] = &["a", "b", "c", "x-y", "é", "on", "_"];

fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(keys).prop_map(str::to_string)
}

/// Strings a file may hold: empty, typed-looking, with quotes, colons,
/// hashes, escapes, newlines and non-ASCII.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "x",
            "yes",
            "null",
            "1.0",
            "0x10",
            "a: b",
            "#c",
            " lead",
            "trail ",
            "q\"uo'te",
            "back\\slash",
            "line\nbreak",
            "tab\there",
            "ünï",
            "-",
            "- x",
            "[1]",
            "{a}",
            "*x",
            "&y",
            "!t",
            "%p",
            "@at",
            "`b`",
            ">",
            "|",
            "~",
            "2024-01-01",
        ])
        .prop_map(str::to_string),
        "[a-z ]{0,8}",
    ]
}

fn scalar(null: bool) -> BoxedStrategy<Value> {
    let mut options = vec![
        any::<bool>().prop_map(Value::Bool).boxed(),
        (-1000i64..1000).prop_map(Value::from).boxed(),
        any::<i64>().prop_map(Value::from).boxed(),
        prop::sample::select(vec![0.5, -2.25, 1e10, 3.0])
            .prop_map(Value::from)
            .boxed(),
        string().prop_map(Value::String).boxed(),
    ];
    if null {
        options.push(Just(Value::Null).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

/// A value: maps and lists nested a few levels, scalars at the leaves.
fn value(keys: &'static [&'static str], null: bool) -> BoxedStrategy<Value> {
    scalar(null)
        .prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key(keys), inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A map at the root (TOML and HCL files are one).
fn root_map(keys: &'static [&'static str], null: bool) -> BoxedStrategy<Value> {
    prop::collection::vec((key(keys), value(keys, null)), 0..5)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
        .boxed()
}

/// Choices a writer makes as it goes, taken in turn (and again from the
/// start when they run out).
#[derive(Debug, Clone)]
struct Coins {
    flips: Vec<bool>,
    at: usize,
}

impl Coins {
    fn flip(&mut self) -> bool {
        if self.flips.is_empty() {
            return false;
        }
        let flip = self.flips[self.at % self.flips.len()];
        self.at += 1;
        flip
    }

    /// True one time in four.
    fn rarely(&mut self) -> bool {
        self.flip() && self.flip()
    }
}

fn coins() -> impl Strategy<Value = Coins> {
    prop::collection::vec(any::<bool>(), 1..64).prop_map(|flips| Coins { flips, at: 0 })
}

/// The paths of every node of `value`, as path text (`a."k 1"[0]`).
fn paths(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), value)];
    while let Some((path, node)) = stack.pop() {
        match node {
            Value::Object(map) => {
                for (k, v) in map {
                    stack.push((join_key(&path, k), v));
                }
            }
            Value::Array(list) => {
                for (i, v) in list.iter().enumerate() {
                    stack.push((format!("{path}[{i}]"), v));
                }
            }
            _ => {}
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// `path` followed by the key `key`, quoted when it must be.
fn join_key(path: &str, key: &str) -> String {
    let key = if key.contains(['.', '[', ']', '*', ' ']) {
        format!("\"{key}\"")
    } else {
        key.to_string()
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// A path of up to three generated segments.
fn random_path(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        4 => key(keys).prop_map(|k| join_key("x", &k)[1..].to_string()),
        1 => Just(".*".to_string()),
        1 => Just(".a*".to_string()),
        1 => Just("[0]".to_string()),
        1 => Just("[-1]".to_string()),
        1 => Just("[*]".to_string()),
    ];
    prop::collection::vec(segment, 1..4).prop_map(|segments| {
        let mut text = segments.concat();
        if text.starts_with('.') {
            text.remove(0);
        } else {
            text.insert(0, 'a');
        }
        text
    })
}

/// A path of the document (two times in three), made wilder as the
/// coins say: a key or index turned into a wildcard, a key added below
/// it; or a generated one.
fn path(existing: Vec<String>, keys: &'static [&'static str]) -> BoxedStrategy<String> {
    if existing.is_empty() {
        return random_path(keys).boxed();
    }
    let wild = Regex::new(r"\[\d+\]").unwrap();
    let found = (prop::sample::select(existing), any::<u8>(), key(keys)).prop_map(
        move |(path, dice, extra)| match dice % 6 {
            0 => wild.replace(&path, "[*]").into_owned(),
            1 => wild.replace_all(&path, "[-1]").into_owned(),
            2 => join_key(&path, &extra),
            3 if !path.contains('"') => match path.rsplit_once('.') {
                Some((parent, _)) => format!("{parent}.*"),
                None => "*".to_string(),
            },
            _ => path,
        },
    );
    prop_oneof![2 => found, 1 => random_path(keys)].boxed()
}

/// An edit of every operation, on one of the `existing` paths or a
/// generated one.
fn edit(
    existing: Vec<String>,
    keys: &'static [&'static str],
    null: bool,
) -> impl Strategy<Value = Edit> {
    let op = prop::sample::select(vec![
        Op::Set,
        Op::Ensure,
        Op::Rename,
        Op::Delete,
        Op::Append,
    ]);
    let when = prop::option::weighted(
        0.25,
        prop::sample::select(vec![".*", "^a", "1", "^$", "^[a-z ]+$"]),
    );
    (op, path(existing, keys), value(keys, null), key(keys), when).prop_map(
        |(op, text, value, to, when)| Edit {
            op,
            path: KeyPath::parse(&text).unwrap_or_else(|e| panic!("{text}: {e:?}")),
            value: matches!(op, Op::Set | Op::Ensure | Op::Append).then_some(value),
            to: (op == Op::Rename).then_some(to),
            when: when.map(|w| Regex::new(w).unwrap()),
            where_: Vec::new(),
        },
    )
}

/// A document and up to three edits of it.
fn case(
    doc: BoxedStrategy<Value>,
    keys: &'static [&'static str],
    null: bool,
) -> impl Strategy<Value = (Value, Vec<Edit>)> {
    doc.prop_flat_map(move |doc| {
        let edits = prop::collection::vec(edit(paths(&doc), keys, null), 1..4);
        (Just(doc), edits)
    })
}

/// Whether applying `edit` again may rightly change more: deleting by
/// index removes the next item each time.
fn repeats(edit: &Edit) -> bool {
    edit.op == Op::Delete && matches!(edit.path.split_last().1, Segment::Index(_))
}

/// The properties for one format: `parses` is the reference parser.
fn check(
    format: Format,
    text: &str,
    edits: &[Edit],
    parses: impl Fn(&str) -> Result<(), String>,
) -> Result<(), TestCaseError> {
    if parses(text).is_err() {
        // The writer made something the format does not allow: not a case.
        return Err(TestCaseError::reject("not valid input"));
    }
    let unchanged = apply(format, text, &[]);
    prop_assert_eq!(
        unchanged.as_ref().map(|a| a.text.as_str()),
        Ok(text),
        "the editor does not read what the parser reads"
    );
    if let Ok(applied) = apply(format, text, edits) {
        prop_assert!(
            parses(&applied.text).is_ok(),
            "edited text does not parse: {:?}\n{}",
            parses(&applied.text),
            applied.text
        );
        let again = apply(format, &applied.text, &[]);
        prop_assert!(
            again.is_ok(),
            "the editor cannot read its own result: {again:?}"
        );
    }
    for edit in edits.iter().filter(|e| !repeats(e)) {
        let Ok(once) = apply(format, text, std::slice::from_ref(edit)) else {
            continue;
        };
        let twice = apply(format, &once.text, std::slice::from_ref(edit));
        prop_assert_eq!(
            twice.as_ref().map(|a| a.text.as_str()),
            Ok(once.text.as_str()),
            "not idempotent: {:?} on\n{}\ngave\n{}",
            edit,
            text,
            once.text
        );
    }
    Ok(())
}

/// What the document (as a value) should be after `edit`, by the
/// semantics in [`super`], for the edits simple enough to say so here: no
/// `when`, no wildcard. `None` when this does not say (or the edit is a
/// conflict).
fn expected(doc: &Value, edit: &Edit) -> Option<Value> {
    if edit.when.is_some() || !edit.path.is_literal() {
        return None;
    }
    let segments = &edit.path.segments;
    // Walk down as far as the path exists.
    let mut steps: Vec<Segment> = Vec::new();
    let mut node = doc;
    for segment in segments {
        let (step, next) = match (node, segment) {
            (Value::Object(map), Segment::Key(key)) => match map.get(key) {
                Some(next) => (Segment::Key(key.clone()), next),
                None => break,
            },
            (Value::Array(list), Segment::Index(i)) => {
                let len = list.len() as i64;
                let at = if *i < 0 { len + i } else { *i };
                if !(0..len).contains(&at) {
                    return Some(doc.clone());
                }
                (Segment::Index(at), &list[at as usize])
            }
            // The path crosses a scalar, or names a key in a list.
            _ => return Some(doc.clone()),
        };
        steps.push(step);
        node = next;
    }
    let mut out = doc.clone();
    if steps.len() < segments.len() {
        // `segments[steps.len()..]` are absent from the map at `steps`.
        let keys: Option<Vec<String>> = segments[steps.len()..]
            .iter()
            .map(|s| s.plain_key().map(str::to_string))
            .collect();
        let value = edit.value.clone()?;
        let value = match edit.op {
            Op::Set | Op::Ensure => value,
            Op::Append => Value::Array(vec![value]),
            Op::Delete | Op::Rename => return Some(out),
        };
        let (first, rest) = keys.as_deref()?.split_first()?;
        let nested = super::nest(rest, value);
        if let Value::Object(map) = at(&mut out, &steps) {
            map.insert(first.clone(), nested);
        }
        return Some(out);
    }
    let (last, parent_steps) = steps.split_last()?;
    let parent = at(&mut out, parent_steps);
    match (edit.op, parent, last) {
        (Op::Ensure, ..) => {}
        (Op::Set, parent, last) => *child(parent, last)? = edit.value.clone()?,
        (Op::Delete, Value::Object(map), Segment::Key(key)) => {
            map.remove(key);
        }
        (Op::Delete, Value::Array(list), Segment::Index(i)) => {
            list.remove(*i as usize);
        }
        (Op::Rename, Value::Object(map), Segment::Key(key)) => {
            let to = edit.to.clone()?;
            if to != *key {
                if map.contains_key(&to) {
                    return None;
                }
                let value = map.remove(key)?;
                map.insert(to, value);
            }
        }
        (Op::Append, parent, last) => {
            let value = edit.value.clone()?;
            match child(parent, last)? {
                Value::Array(list) if list.contains(&value) => {}
                Value::Array(list) => list.push(value),
                null @ Value::Null => *null = Value::Array(vec![value]),
                _ => return None,
            }
        }
        _ => return None,
    }
    Some(out)
}

/// The node at `steps` (keys and non-negative indexes that exist).
fn at<'v>(mut node: &'v mut Value, steps: &[Segment]) -> &'v mut Value {
    for step in steps {
        node = child(node, step).expect("the path exists");
    }
    node
}

fn child<'v>(node: &'v mut Value, step: &Segment) -> Option<&'v mut Value> {
    match (node, step) {
        (Value::Object(map), Segment::Key(key)) => map.get_mut(key),
        (Value::Array(list), Segment::Index(i)) => list.get_mut(*i as usize),
        _ => None,
    }
}

/// Each edit the oracle speaks for, applied alone, leaves the document
/// (read back by `read`, the reference parser) as [`expected`] says.
fn check_values(
    format: Format,
    text: &str,
    edits: &[Edit],
    read: impl Fn(&str) -> Result<Value, String>,
) -> Result<(), TestCaseError> {
    let Ok(doc) = read(text) else {
        return Err(TestCaseError::reject("not valid input"));
    };
    for edit in edits {
        let (Some(want), Ok(applied)) = (
            expected(&doc, edit),
            apply(format, text, std::slice::from_ref(edit)),
        ) else {
            continue;
        };
        prop_assert_eq!(
            read(&applied.text),
            Ok(want),
            "{:?} on\n{}\ngave\n{}",
            edit,
            text,
            applied.text
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- JSON

/// `value` as JSON: spread over lines by `unit` (one line when empty),
/// with comments and trailing commas (JSONC) when the coins say so.
fn json_text(value: &Value, unit: &str, coins: &mut Coins) -> String {
    let mut out = String::new();
    json_write(value, unit, 0, coins, &mut out);
    if coins.flip() {
        out.push('\n');
    }
    out
}

fn json_write(value: &Value, unit: &str, depth: usize, coins: &mut Coins, out: &mut String) {
    let (open, close, members): (char, char, Vec<(Option<&String>, &Value)>) = match value {
        Value::Object(map) if !map.is_empty() => {
            ('{', '}', map.iter().map(|(k, v)| (Some(k), v)).collect())
        }
        Value::Array(list) if !list.is_empty() => {
            ('[', ']', list.iter().map(|v| (None, v)).collect())
        }
        _ => {
            out.push_str(&serde_json::to_string(value).unwrap());
            return;
        }
    };
    let spread = !unit.is_empty();
    let inner = unit.repeat(depth + 1);
    let colon = if coins.flip() { ": " } else { ":" };
    out.push(open);
    let count = members.len();
    for (i, (key, member)) in members.into_iter().enumerate() {
        if spread {
            out.push('\n');
            if coins.rarely() {
                out.push_str(&format!("{inner}// note\n"));
            }
            out.push_str(&inner);
        } else if i > 0 && coins.flip() {
            out.push(' ');
        }
        if let Some(key) = key {
            out.push_str(&serde_json::to_string(key).unwrap());
            out.push_str(colon);
        }
        json_write(member, unit, depth + 1, coins, out);
        let last = i + 1 == count;
        if !last || coins.rarely() {
            out.push(',');
        }
        if spread && coins.rarely() {
            out.push_str(" /* c */");
        }
    }
    if spread {
        out.push('\n');
        out.push_str(&unit.repeat(depth));
    }
    out.push(close);
}

/// serde_json, after taking comments and trailing commas out (JSONC).
fn json_parses(text: &str) -> Result<(), String> {
    json_value(text).map(drop)
}

fn json_value(text: &str) -> Result<Value, String> {
    // (Generated strings hold no `//`, `/*` or `,]`.)
    let plain = Regex::new(r"//[^\n]*|/\*[^*]*\*/")
        .unwrap()
        .replace_all(text, "");
    let plain = Regex::new(r",(\s*[\]}])")
        .unwrap()
        .replace_all(&plain, "$1");
    serde_json::from_str::<Value>(&plain).map_err(|e| e.to_string())
}

fn json_case() -> impl Strategy<Value = (String, Vec<Edit>)> {
    (
        case(value(KEYS, true), KEYS, true),
        prop::sample::select(vec!["", "  ", "    ", "\t"]),
        coins(),
    )
        .prop_map(|((value, edits), unit, mut coins)| (json_text(&value, unit, &mut coins), edits))
}

// ---------------------------------------------------------------- YAML

/// Whether `s` reads back as itself written plain in YAML.
fn yaml_plain(s: &str) -> bool {
    let re = Regex::new(r"^[A-Za-z_][A-Za-z0-9_ ./-]*$").unwrap();
    re.is_match(s)
        && s == s.trim()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "no" | "on" | "off" | "y" | "n" | "true" | "false" | "null"
        )
}

fn yaml_scalar(value: &Value, coins: &mut Coins) -> String {
    match value {
        Value::String(s) if yaml_plain(s) && coins.flip() => s.clone(),
        Value::String(s) if !s.chars().any(char::is_control) && coins.flip() => {
            format!("'{}'", s.replace('\'', "''"))
        }
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        Value::Null if coins.flip() => "~".to_string(),
        other => serde_json::to_string(other).unwrap(),
    }
}

fn yaml_key(key: &str, coins: &mut Coins) -> String {
    yaml_scalar(&Value::String(key.to_string()), coins)
}

/// `value` as YAML in flow style (`{a: 1, b: [2]}`).
fn yaml_flow(value: &Value, coins: &mut Coins) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        serde_json::to_string(k).unwrap(),
                        yaml_flow(v, coins)
                    )
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Array(list) if !list.is_empty() => {
            let items: Vec<String> = list.iter().map(|v| yaml_flow(v, coins)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::String(s) => serde_json::to_string(s).unwrap(),
        other => yaml_scalar(other, coins),
    }
}

/// Layout of a YAML file.
#[derive(Debug, Clone, Copy)]
struct YamlStyle {
    /// Indentation of a nested map under its key.
    unit: usize,
    /// Indentation of a list under its key (0: at the key's column).
    seq: usize,
}

fn is_collection(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(list) => !list.is_empty(),
        _ => false,
    }
}

/// The lines of a block map or list at column `col`.
fn yaml_block(
    value: &Value,
    col: usize,
    style: YamlStyle,
    coins: &mut Coins,
    out: &mut Vec<String>,
) {
    let pad = " ".repeat(col);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if coins.rarely() {
                    out.push(format!("{pad}# about {k}"));
                }
                if coins.rarely() {
                    out.push(String::new());
                }
                let key = yaml_key(k, coins);
                if is_collection(v) && coins.flip() {
                    out.push(format!("{pad}{key}:"));
                    let inner = if v.is_array() { style.seq } else { style.unit };
                    yaml_block(v, col + inner, style, coins, out);
                } else {
                    let text = if is_collection(v) {
                        yaml_flow(v, coins)
                    } else {
                        yaml_scalar(v, coins)
                    };
                    let comment = if coins.rarely() { " # why" } else { "" };
                    out.push(format!("{pad}{key}: {text}{comment}"));
                }
            }
        }
        Value::Array(list) => {
            for item in list {
                if is_collection(item) && coins.flip() {
                    // Compact: the item's first line on the dash's line.
                    let mut lines = Vec::new();
                    yaml_block(item, col + 2, style, coins, &mut lines);
                    let first = lines
                        .iter()
                        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
                    for (i, line) in lines.into_iter().enumerate() {
                        if Some(i) == first {
                            out.push(format!("{pad}- {}", &line[col + 2..]));
                        } else {
                            out.push(line);
                        }
                    }
                } else {
                    let text = if is_collection(item) {
                        yaml_flow(item, coins)
                    } else {
                        yaml_scalar(item, coins)
                    };
                    out.push(format!("{pad}- {text}"));
                }
            }
        }
        other => out.push(format!("{pad}{}", yaml_scalar(other, coins))),
    }
}

fn yaml_text(value: &Value, style: YamlStyle, coins: &mut Coins) -> String {
    if !is_collection(value) || coins.rarely() {
        return format!("{}\n", yaml_flow(value, coins));
    }
    let mut lines = Vec::new();
    if coins.rarely() {
        lines.push("# a file".to_string());
    }
    yaml_block(value, 0, style, coins, &mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn yaml_parses(text: &str) -> Result<(), String> {
    yaml_value(text).map(drop)
}

fn yaml_value(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
}

fn yaml_case() -> impl Strategy<Value = (String, Vec<Edit>)> {
    (
        case(value(KEYS, true), KEYS, true),
        prop::sample::select(vec![2usize, 4]),
        any::<bool>(),
        coins(),
    )
        .prop_map(|((value, edits), unit, indented, mut coins)| {
            let style = YamlStyle {
                unit,
                seq: if indented { unit } else { 0 },
            };
            (yaml_text(&value, style, &mut coins), edits)
        })
}

// ---------------------------------------------------------------- TOML

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        key.to_string()
    } else {
        serde_json::to_string(key).unwrap()
    }
}

/// A TOML inline value (TOML has no null: it is written as a string).
fn toml_inline(value: &Value, coins: &mut Coins) -> String {
    match value {
        Value::Null => "\"null\"".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s)
            if !s.contains(['\'', '\n']) && !s.chars().any(char::is_control) && coins.rarely() =>
        {
            format!("'{s}'")
        }
        Value::String(s) => super::tree::double_quoted(s, true),
        Value::Array(list) => {
            let items: Vec<String> = list.iter().map(|v| toml_inline(v, coins)).collect();
            if items.len() > 1 && coins.rarely() {
                format!("[\n  {},\n]", items.join(",\n  "))
            } else {
                format!("[{}]", items.join(", "))
            }
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), toml_inline(v, coins)))
                .collect();
            if entries.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", entries.join(", "))
            }
        }
    }
}

/// A table's entries: inline values first, then the tables below it as
/// `[a.b]` sections (or inline tables, or dotted keys, as the coins say).
fn toml_table(
    map: &Map<String, Value>,
    prefix: &[String],
    coins: &mut Coins,
    out: &mut Vec<String>,
) {
    let mut sections = Vec::new();
    for (k, v) in map {
        if coins.rarely() {
            out.push(format!("# {k}"));
        }
        match v {
            Value::Object(inner) if !inner.is_empty() && coins.flip() => sections.push((k, inner)),
            Value::Object(inner) if !inner.is_empty() && coins.rarely() => {
                for (k2, v2) in inner {
                    out.push(format!(
                        "{}.{} = {}",
                        toml_key(k),
                        toml_key(k2),
                        toml_inline(v2, coins)
                    ));
                }
            }
            _ => {
                let comment = if coins.rarely() { " # note" } else { "" };
                out.push(format!(
                    "{} = {}{comment}",
                    toml_key(k),
                    toml_inline(v, coins)
                ));
            }
        }
    }
    for (k, inner) in sections {
        let mut path = prefix.to_vec();
        path.push(toml_key(k));
        out.push(String::new());
        out.push(format!("[{}]", path.join(".")));
        toml_table(inner, &path, coins, out);
    }
}

fn toml_text(value: &Value, coins: &mut Coins) -> String {
    let Value::Object(map) = value else {
        return String::new();
    };
    let mut lines = Vec::new();
    toml_table(map, &[], coins, &mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn toml_parses(text: &str) -> Result<(), String> {
    text.parse::<toml_edit::DocumentMut>()
        .map(drop)
        .map_err(|e| e.to_string())
}

fn toml_case() -> impl Strategy<Value = (String, Vec<Edit>)> {
    (case(root_map(KEYS, false), KEYS, false), coins())
        .prop_map(|((value, edits), mut coins)| (toml_text(&value, &mut coins), edits))
}

// ---------------------------------------------------------------- HCL

fn hcl_key(key: &str) -> String {
    if IDENTIFIERS.contains(&key) {
        key.to_string()
    } else {
        super::tree::double_quoted(key, false)
    }
}

/// An HCL expression; `${` and `%{` in strings are escaped.
fn hcl_expr(value: &Value, coins: &mut Coins) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => super::tree::double_quoted(s, false)
            .replace("${", "$${")
            .replace("%{", "%%{"),
        Value::Array(list) => {
            let items: Vec<String> = list.iter().map(|v| hcl_expr(v, coins)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} = {}", hcl_key(k), hcl_expr(v, coins)))
                .collect();
            if coins.flip() {
                format!("{{ {} }}", entries.join(", "))
            } else {
                format!("{{\n{}\n}}", entries.join("\n"))
            }
        }
    }
}

/// A body: attributes, and blocks for maps when the coins say so.
fn hcl_body(map: &Map<String, Value>, depth: usize, coins: &mut Coins, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    for (k, v) in map {
        if !IDENTIFIERS.contains(&k.as_str()) {
            continue;
        }
        if coins.rarely() {
            out.push(format!("{pad}# {k}"));
        }
        match v {
            Value::Object(inner) if coins.flip() => {
                let label = if coins.rarely() { " \"l\"" } else { "" };
                out.push(format!("{pad}{k}{label} {{"));
                hcl_body(inner, depth + 1, coins, out);
                out.push(format!("{pad}}}"));
            }
            _ => {
                let comment = if coins.rarely() { " // note" } else { "" };
                out.push(format!("{pad}{k} = {}{comment}", hcl_expr(v, coins)));
            }
        }
    }
}

fn hcl_text(value: &Value, coins: &mut Coins) -> String {
    let Value::Object(map) = value else {
        return String::new();
    };
    let mut lines = Vec::new();
    hcl_body(map, 0, coins, &mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// tree-sitter-hcl through the editor (no other HCL parser is built).
fn hcl_parses(text: &str) -> Result<(), String> {
    apply(Format::Hcl, text, &[])
        .map(drop)
        .map_err(|e| e.to_string())
}

fn hcl_case() -> impl Strategy<Value = (String, Vec<Edit>)> {
    (
        case(root_map(IDENTIFIERS, true), IDENTIFIERS, true),
        coins(),
    )
        .prop_map(|((value, edits), mut coins)| (hcl_text(&value, &mut coins), edits))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn json_edits_keep_json_and_are_idempotent((text, edits) in json_case()) {
        check(Format::Json, &text, &edits, json_parses)?;
    }

    #[test]
    fn yaml_edits_keep_yaml_and_are_idempotent((text, edits) in yaml_case()) {
        check(Format::Yaml, &text, &edits, yaml_parses)?;
    }

    #[test]
    fn json_edits_do_what_they_say((text, edits) in json_case()) {
        check_values(Format::Json, &text, &edits, json_value)?;
    }

    #[test]
    fn yaml_edits_do_what_they_say((text, edits) in yaml_case()) {
        check_values(Format::Yaml, &text, &edits, yaml_value)?;
    }

    #[test]
    fn toml_edits_keep_toml_and_are_idempotent((text, edits) in toml_case()) {
        check(Format::Toml, &text, &edits, toml_parses)?;
    }

    #[test]
    fn hcl_edits_keep_hcl_and_are_idempotent((text, edits) in hcl_case()) {
        check(Format::Hcl, &text, &edits, hcl_parses)?;
    }
}

/// The generators make cases worth checking: documents the reference
/// parsers read, and edits that change them often enough (a generator
/// that drifted into noise would let every property pass).
#[test]
fn generated_cases_are_valid_and_edits_often_change_them() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    type Parses = fn(&str) -> Result<(), String>;
    type Cases = BoxedStrategy<(String, Vec<Edit>)>;
    let mut runner = TestRunner::deterministic();
    let formats: [(Format, Cases, Parses); 4] = [
        (Format::Json, json_case().boxed(), json_parses),
        (Format::Yaml, yaml_case().boxed(), yaml_parses),
        (Format::Toml, toml_case().boxed(), toml_parses),
        (Format::Hcl, hcl_case().boxed(), hcl_parses),
    ];
    for (format, strategy, parses) in formats {
        let (mut valid, mut edits, mut changed, mut spoken) = (0, 0, 0, 0);
        for _ in 0..200 {
            let (text, case_edits) = strategy.new_tree(&mut runner).unwrap().current();
            if parses(&text).is_err() {
                continue;
            }
            valid += 1;
            let read = match format {
                Format::Json => json_value(&text).ok(),
                Format::Yaml => yaml_value(&text).ok(),
                _ => None,
            };
            for edit in &case_edits {
                edits += 1;
                if let Some(doc) = &read {
                    spoken += usize::from(expected(doc, edit).is_some_and(|v| v != *doc));
                }
                let once = apply(format, &text, std::slice::from_ref(edit));
                changed += usize::from(once.is_ok_and(|a| a.text != text));
            }
        }
        assert!(
            valid >= 180,
            "{format:?}: {valid} of 200 documents are valid"
        );
        assert!(
            changed * 10 >= edits,
            "{format:?}: {changed} of {edits} edits change something"
        );
        if matches!(format, Format::Json | Format::Yaml) {
            // The oracle of `*_edits_do_what_they_say` speaks for enough of them.
            assert!(
                spoken * 10 >= edits,
                "{format:?}: the oracle checks {spoken} of {edits} edits"
            );
        }
    }
}
