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

/// Replace every placeholder whose name `values` holds; the others are
/// returned (an unknown parameter is the recipe author's mistake).
pub(super) fn render(text: &str, values: &Values) -> (Rendered, Vec<Placeholder>) {
    let mut out = String::with_capacity(text.len());
    let mut replacements = Vec::new();
    let mut unknown = Vec::new();
    let mut done = 0;
    for placeholder in placeholders(text) {
        let Some(value) = values.get(&placeholder.name) else {
            unknown.push(placeholder);
            continue;
        };
        out.push_str(&text[done..placeholder.range.start]);
        replacements.push((
            out.len(),
            placeholder.range.start,
            placeholder.range.len(),
            value.len(),
        ));
        out.push_str(value);
        done = placeholder.range.end;
    }
    out.push_str(&text[done..]);
    (
        Rendered {
            text: out,
            replacements,
        },
        unknown,
    )
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
        let (rendered, unknown) = render("a {{ nope }} b", &Values::new());
        assert_eq!(rendered.text, "a {{ nope }} b");
        assert_eq!(unknown[0].name, "nope");
        assert_eq!(unknown[0].range, 2..12);
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
