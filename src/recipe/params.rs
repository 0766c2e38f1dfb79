//! Recipe parameters: declared in the recipe with a default, given per
//! campaign (`parameters:`) or on the command line (`--param name=value`),
//! and written in the recipe as `{{ name }}`.
//!
//! Substitution is textual and happens before the recipe is parsed, so a
//! parameter can stand anywhere: in an ast-grep pattern or fix, a key path,
//! a value, a regex, a file template. `${{ ... }}` (GitHub Actions
//! expressions) and `{{ .Values.x }}` (Helm) are not placeholders and are
//! left alone. Offsets in the substituted text map back to the recipe file,
//! so that every diagnostic still points at what the author wrote.

use std::collections::BTreeMap;
use std::ops::Range;

/// Values given for parameters, by name.
pub type Values = BTreeMap<String, String>;

/// A parameter a recipe declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    /// The value used when none is given; `None` makes the parameter required.
    pub default: Option<String>,
    pub description: String,
}

/// One `{{ name }}` in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Placeholder {
    /// Byte range of the whole `{{ name }}`.
    pub range: Range<usize>,
    pub name: String,
}

/// Every placeholder of `text`, in order.
pub(super) fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("{{").map(|i| from + i) {
        from = at + 2;
        if text[..at].ends_with('$') {
            continue;
        }
        let Some(close) = text[at + 2..].find("}}").map(|i| at + 2 + i) else {
            break;
        };
        let name = text[at + 2..close].trim();
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if is_name && !text[at + 2..close].contains('\n') {
            out.push(Placeholder {
                range: at..close + 2,
                name: name.to_string(),
            });
            from = close + 2;
        }
    }
    out
}

/// A text with its placeholders replaced, and the way back to the original
/// offsets.
#[derive(Debug, Clone)]
pub(super) struct Rendered {
    pub text: String,
    /// `(offset in text, offset in the original, original length, new length)`
    /// of each replacement, in order.
    replacements: Vec<(usize, usize, usize, usize)>,
}

impl Rendered {
    /// The offset in the original text of `offset` in the rendered one: a
    /// place inside a substituted value maps to the start of its placeholder.
    pub fn original_offset(&self, offset: usize) -> usize {
        let mut shift: isize = 0;
        for &(at, original, old_len, new_len) in &self.replacements {
            if offset < at {
                break;
            }
            if offset < at + new_len {
                return original;
            }
            shift += old_len as isize - new_len as isize;
        }
        offset.saturating_add_signed(shift)
    }
}

/// What went wrong with a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// It names no declared parameter.
    Unknown,
    /// Its value cannot be written where it stands (why).
    Unwritable(String),
}

/// Replace every placeholder whose name `values` holds, each value escaped
/// for where it stands (inside double or single quotes, a block scalar, or
/// plain text), so that a value never changes the structure of the recipe.
/// The placeholders that could not be replaced come back with why.
pub(super) fn render(text: &str, values: &Values) -> (Rendered, Vec<(Placeholder, Problem)>) {
    let mut out = String::with_capacity(text.len());
    let mut replacements = Vec::new();
    let mut problems = Vec::new();
    let mut done = 0;
    for placeholder in placeholders(text) {
        let Some(value) = values.get(&placeholder.name) else {
            problems.push((placeholder, Problem::Unknown));
            continue;
        };
        let written = match escape(value, context(text, placeholder.range.start)) {
            Ok(written) => written,
            Err(why) => {
                problems.push((placeholder, Problem::Unwritable(why)));
                continue;
            }
        };
        out.push_str(&text[done..placeholder.range.start]);
        replacements.push((
            out.len(),
            placeholder.range.start,
            placeholder.range.len(),
            written.len(),
        ));
        out.push_str(&written);
        done = placeholder.range.end;
    }
    out.push_str(&text[done..]);
    (
        Rendered {
            text: out,
            replacements,
        },
        problems,
    )
}

/// Where in the YAML a placeholder stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Context {
    DoubleQuoted,
    SingleQuoted,
    /// A line of a `|` or `>` block scalar, indented by this.
    Block(String),
    /// Plain text; `at_start` when nothing of the scalar precedes it,
    /// `in_flow` inside `[...]` or `{...}`.
    Plain {
        at_start: bool,
        in_flow: bool,
    },
}

/// The context of offset `at` of `text`, from its line (and, for a block
/// scalar, the lines above).
fn context(text: &str, at: usize) -> Context {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..at];
    let mut quote = None;
    let mut escaped = false;
    // Whether a quote here would open a scalar (after `: `, `- `, a flow
    // bracket or comma, or at the start of the line).
    let mut can_open = true;
    let mut in_flow = 0usize;
    let mut scalar_started = false;
    let mut chars = prefix.chars().peekable();
    while let Some(c) = chars.next() {
        // `:` and `-` separate only before a blank (`a: b`, `- b`), not in
        // a word (`python:3`, `setup-node`).
        let separates = chars.peek().is_none_or(|n| *n == ' ' || *n == '\t');
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' if can_open => {
                    quote = Some(c);
                    can_open = false;
                }
                ':' | '-' | '?' if separates => {
                    can_open = true;
                    scalar_started = false;
                }
                ',' if in_flow > 0 => {
                    can_open = true;
                    scalar_started = false;
                }
                '[' | '{' => {
                    in_flow += 1;
                    can_open = true;
                    scalar_started = false;
                }
                ']' | '}' => in_flow = in_flow.saturating_sub(1),
                ' ' | '\t' => {}
                _ => {
                    can_open = false;
                    scalar_started = true;
                }
            },
        }
    }
    match quote {
        Some('"') => Context::DoubleQuoted,
        Some(_) => Context::SingleQuoted,
        None => match block_indent(text, line_start) {
            Some(indent) => Context::Block(indent),
            None => Context::Plain {
                at_start: !scalar_started,
                in_flow: in_flow > 0,
            },
        },
    }
}

/// The indentation of the line at `line_start` when it is a line of a block
/// scalar: the nearest line above that is indented less ends in `|` or `>`
/// (with its chomping and indentation indicators, and maybe a comment).
fn block_indent(text: &str, line_start: usize) -> Option<String> {
    let line = text[line_start..].split('\n').next().unwrap_or("");
    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    if indent == 0 {
        return None;
    }
    for above in text[..line_start].lines().rev() {
        let trimmed = above.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || above.len() - trimmed.len() >= indent {
            continue;
        }
        let header = trimmed.split(" #").next().unwrap_or("").trim_end();
        let indicator =
            header.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '+');
        let is_block = (indicator.ends_with('|') || indicator.ends_with('>'))
            && (indicator.ends_with(": |")
                || indicator.ends_with(": >")
                || indicator.ends_with("- |")
                || indicator.ends_with("- >")
                || indicator == "|"
                || indicator == ">");
        return is_block.then(|| line[..indent].to_string());
    }
    None
}

/// `value` written so that it reads back as itself in `context`.
fn escape(value: &str, context: Context) -> Result<String, String> {
    let quote_it = "put quotes around the placeholder in the recipe (`\"{{ name }}\"`)";
    match context {
        Context::DoubleQuoted => Ok(value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t")),
        Context::SingleQuoted if value.contains(['\n', '\r']) => Err(
            "a line break cannot be written inside single quotes; use double quotes around the placeholder".into(),
        ),
        Context::SingleQuoted => Ok(value.replace('\'', "''")),
        Context::Block(indent) => Ok(value.replace('\n', &format!("\n{indent}"))),
        Context::Plain { at_start, in_flow } => {
            let breaks = value.contains(['\n', '\r'])
                || value.contains(": ")
                || value.contains(" #")
                || value.ends_with(':')
                || value.starts_with([' ', '\t'])
                || value.ends_with([' ', '\t'])
                || (in_flow && value.contains([',', '[', ']', '{', '}']))
                || (at_start
                    && value.starts_with([
                        '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'',
                        '"', '%', '@', '`',
                    ]));
            if breaks {
                Err(format!("its value `{value}` would change the YAML around it; {quote_it}"))
            } else {
                Ok(value.to_string())
            }
        }
    }
}

/// Parse `name=value` as given on the command line.
pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not `name=value`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_actions_expressions_and_helm() {
        let text = "a: {{ v }}\nb: ${{ matrix.os }}\nc: {{ .Values.x }}\nd: {{w}}";
        let names: Vec<_> = placeholders(text).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["v", "w"]);
    }

    #[test]
    fn rendering_maps_offsets_back() {
        let text = "x: {{ v }} y {{ w }} z";
        let values = Values::from([("v".into(), "1234567".into()), ("w".into(), "".into())]);
        let (rendered, unknown) = render(text, &values);
        assert!(unknown.is_empty());
        assert_eq!(rendered.text, "x: 1234567 y  z");
        let z = rendered.text.find('z').unwrap();
        assert_eq!(rendered.original_offset(z), text.find('z').unwrap());
        let y = rendered.text.find('y').unwrap();
        assert_eq!(rendered.original_offset(y), text.find('y').unwrap());
        assert_eq!(
            rendered.original_offset(5),
            3,
            "inside a value: its placeholder"
        );
        assert_eq!(rendered.original_offset(1), 1);
    }

    #[test]
    fn unknown_names_are_returned_untouched() {
        let (rendered, problems) = render("a {{ nope }} b", &Values::new());
        assert_eq!(rendered.text, "a {{ nope }} b");
        assert_eq!(problems[0].0.name, "nope");
        assert_eq!(problems[0].0.range, 2..12);
        assert_eq!(problems[0].1, Problem::Unknown);
    }

    fn one(text: &str, value: &str) -> Result<String, Problem> {
        let values = Values::from([("v".to_string(), value.to_string())]);
        let (rendered, mut problems) = render(text, &values);
        match problems.pop() {
            Some((_, problem)) => Err(problem),
            None => Ok(rendered.text),
        }
    }

    #[test]
    fn values_are_escaped_for_where_they_stand() {
        assert_eq!(
            one("a: \"x {{ v }}\"\n", "C:\\new \"q\"\nz").unwrap(),
            "a: \"x C:\\\\new \\\"q\\\"\\nz\"\n"
        );
        assert_eq!(
            one("a: 'it {{ v }}'\n", "Bob's").unwrap(),
            "a: 'it Bob''s'\n"
        );
        assert!(one("a: '{{ v }}'\n", "two\nlines").is_err());
        assert_eq!(
            one("content: |\n  first\n  {{ v }}\nnext: 1\n", "l1\nl2").unwrap(),
            "content: |\n  first\n  l1\n  l2\nnext: 1\n"
        );
        assert_eq!(
            one("title: Don't use {{ v }}\n", "3.12").unwrap(),
            "title: Don't use 3.12\n"
        );
        assert_eq!(
            one("value: python:{{ v }}-slim\n", "3.12").unwrap(),
            "value: python:3.12-slim\n"
        );
        for bad in ["3.13 # slim", "a: b", ">=20", "two\nlines", "*alias"] {
            assert!(
                matches!(one("value: {{ v }}\n", bad), Err(Problem::Unwritable(_))),
                "{bad}"
            );
        }
        assert!(one("list: [a, {{ v }}]\n", "b, c").is_err());
        assert_eq!(
            one("value: \">={{ v }}\"\n", "20").unwrap(),
            "value: \">=20\"\n"
        );
    }

    #[test]
    fn assignments_split_at_the_first_equals() {
        assert_eq!(
            parse_assignment("v=a=b"),
            Ok(("v".to_string(), "a=b".to_string()))
        );
        assert!(parse_assignment("novalue").is_err());
        assert!(parse_assignment("=x").is_err());
    }
}
