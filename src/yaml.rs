//! YAML input as people write it: several documents per file, each parsed on
//! its own so that one broken document does not hide the others, with every
//! error and every [`Spanned`] value mapped back to a place in the whole file.
//!
//! The YAML crate is `serde-saphyr`, the one `ast-grep-config` itself parses
//! rules with (see `docs/architecture.md`).

use std::path::Path;

use serde::de::DeserializeOwned;
pub use serde_saphyr::Spanned;

use crate::diag::{FileDiagnostic, FileText, token_len};

/// A value written either alone or as a list (`tags: python` or
/// `tags: [python, go]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// One YAML document of a file.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// The document's text (without its `---` marker line).
    pub text: &'a str,
    /// Byte offset of `text` in the whole file.
    pub start: usize,
    /// 1-based line of the first line of `text` in the whole file.
    pub start_line: usize,
}

impl Document<'_> {
    /// True when the document holds nothing but blanks and comments.
    pub fn is_empty(&self) -> bool {
        self.text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "..."
        })
    }
}

/// Split a file into its YAML documents at `---` marker lines (a marker at
/// column 0 always ends the previous document, whatever it holds).
pub fn documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (line_no, line) in (1..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = bare == "---"
            || bare.starts_with("--- ")
            || bare.starts_with("---\t")
            || bare.starts_with("--- #");
        if is_marker {
            if offset > start || !docs.is_empty() {
                docs.push((start, offset, start_line));
            }
            start = offset + line.len();
            start_line = line_no + 1;
            // Content after the marker on the same line ("--- !tag" or
            // "--- {a: 1}") stays part of the next document.
            let after = bare[3..].trim();
            if !after.is_empty() && !after.starts_with('#') {
                start = offset + 4;
                start_line = line_no;
            }
        }
        offset += line.len();
    }
    docs.push((start, text.len(), start_line));
    docs.into_iter()
        .map(|(s, e, l)| Document {
            text: &text[s..e],
            start: s,
            start_line: l,
        })
        .collect()
}

/// Parse one document into `T`; an error points into the whole file.
pub fn parse<T: DeserializeOwned>(
    path: &Path,
    file_text: &(impl FileText + ?Sized),
    doc: &Document<'_>,
) -> Result<T, FileDiagnostic> {
    serde_saphyr::from_str::<T>(doc.text).map_err(|e| error_to_diagnostic(path, file_text, doc, &e))
}

/// Turn a serde-saphyr error in `doc` into a diagnostic at its place in the file.
pub fn error_to_diagnostic(
    path: &Path,
    file_text: &(impl FileText + ?Sized),
    doc: &Document<'_>,
    error: &serde_saphyr::Error,
) -> FileDiagnostic {
    let message = error_message(error);
    match error.location() {
        Some(loc) if loc.line() > 0 => {
            let (offset, len) = location_in_file(file_text, doc, &loc);
            FileDiagnostic::at_offset(path, file_text, offset, len, message)
        }
        _ => FileDiagnostic::at_offset(path, file_text, doc.start, 0, message),
    }
}

/// The byte offset and length in the whole file of a location inside `doc`.
pub fn location_in_file(
    file: &(impl FileText + ?Sized),
    doc: &Document<'_>,
    loc: &serde_saphyr::Location,
) -> (usize, usize) {
    let file_text = file.text();
    let span = loc.span();
    if let (Some(off), Some(len)) = (span.byte_offset(), span.byte_len()) {
        let off = doc.start + off as usize;
        if off <= file_text.len() {
            return (off, (len as usize).min(file_text.len() - off));
        }
    }
    let line = doc.start_line + loc.line() as usize - 1;
    let offset = file.offset_of(line, loc.column() as usize);
    (offset, token_len(&file_text[offset..]))
}

/// A diagnostic pointing at a [`Spanned`] value of `doc`.
pub fn diagnostic_at<T>(
    path: &Path,
    file_text: &(impl FileText + ?Sized),
    doc: &Document<'_>,
    value: &Spanned<T>,
    message: impl Into<String>,
) -> FileDiagnostic {
    diagnostic_at_location(path, file_text, doc, &value.referenced, message)
}

/// A diagnostic pointing at a location inside `doc`.
pub fn diagnostic_at_location(
    path: &Path,
    file_text: &(impl FileText + ?Sized),
    doc: &Document<'_>,
    loc: &serde_saphyr::Location,
    message: impl Into<String>,
) -> FileDiagnostic {
    let (offset, len) = location_in_file(file_text, doc, loc);
    FileDiagnostic::at_offset(path, file_text, offset, len, message)
}

/// The error's own sentence, without the source snippet serde-saphyr adds
/// (the diagnostic renders its own) and without its trailing location.
pub fn error_message(error: &serde_saphyr::Error) -> String {
    let text = error.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim().to_string();
    // serde-saphyr appends " at line X column Y"; the diagnostic says where.
    match first.rfind(" at line ") {
        Some(i) if first[i..].contains("column") => first[..i].to_string(),
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn splits_documents_and_keeps_offsets() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n";
        let docs = documents(text);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].text, "b: 2\n");
        assert_eq!(docs[1].start_line, 3);
        assert_eq!(docs[2].text, "c: 3\n");
        assert_eq!(docs[2].start_line, 5);
        assert_eq!(&text[docs[2].start..docs[2].start + 4], "c: 3");
    }

    #[test]
    fn leading_marker_makes_no_empty_first_document() {
        let docs = documents("---\na: 1\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].text, "a: 1\n");
        assert_eq!(docs[0].start_line, 2);
    }

    #[derive(Debug, Deserialize)]
    struct Owner {
        owner: Spanned<String>,
        #[allow(dead_code)]
        count: u32,
    }

    #[test]
    fn errors_point_into_the_whole_file() {
        let text = "x: 1\n---\nowner: a\ncount: nope\n";
        let docs = documents(text);
        let err = parse::<Owner>(Path::new("f.yaml"), text, &docs[1]).unwrap_err();
        assert_eq!((err.line, err.column), (4, 8), "{err}");
    }

    #[test]
    fn spanned_values_point_into_the_whole_file() {
        let text = "x: 1\n---\nowner: team-a\ncount: 2\n";
        let docs = documents(text);
        let v: Owner = parse(Path::new("f.yaml"), text, &docs[1]).unwrap();
        let d = diagnostic_at(
            Path::new("f.yaml"),
            text,
            &docs[1],
            &v.owner,
            "unknown owner",
        );
        assert_eq!((d.line, d.column), (3, 8));
    }
}
