//! Diagnostics that point into files people write (catalogs, recipes,
//! campaigns): the file, the line and column, the offending text underlined,
//! and what to do about it.
//!
//! Domain modules build a [`FileDiagnostic`]; only the command layer renders
//! it: one `path:line:column: message` line (for editors and grep), then
//! miette's snippet with the text underlined (coloured on a terminal).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// A file's text, read once and shared by every diagnostic that points
/// into it (a catalog file of 10,000 components has one copy, not one per
/// problem), with the offsets of its lines for finding line and column
/// without scanning from the start.
#[derive(Debug, Clone)]
pub struct Source {
    text: Arc<str>,
    /// Byte offset of the start of each line (the first is 0).
    lines: Arc<[usize]>,
}

impl Source {
    pub fn new(text: impl Into<Arc<str>>) -> Source {
        let text: Arc<str> = text.into();
        let lines = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Source { text, lines }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when `other` shares this source's text (no copy was made).
    pub fn shares(&self, other: &Arc<str>) -> bool {
        Arc::ptr_eq(&self.text, other)
    }
}

/// A file's text as diagnostics need it: a plain `str` (copied into each
/// diagnostic, and scanned from the start for lines: fine for the small
/// files people write by hand) or a [`Source`] (shared, indexed).
pub trait FileText {
    fn text(&self) -> &str;
    /// The text for a diagnostic to hold.
    fn shared(&self) -> Arc<str>;
    /// 1-based line and character column of a byte offset.
    fn line_column(&self, byte_offset: usize) -> (usize, usize) {
        line_column(self.text(), byte_offset)
    }
    /// Byte offset of a 1-based line and character column (clamped).
    fn offset_of(&self, line: usize, column: usize) -> usize {
        byte_offset_of(self.text(), line, column)
    }
}

impl FileText for str {
    fn text(&self) -> &str {
        self
    }
    fn shared(&self) -> Arc<str> {
        Arc::from(self)
    }
}

impl FileText for String {
    fn text(&self) -> &str {
        self
    }
    fn shared(&self) -> Arc<str> {
        Arc::from(self.as_str())
    }
}

impl FileText for Source {
    fn text(&self) -> &str {
        &self.text
    }
    fn shared(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }
    fn line_column(&self, byte_offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, byte_offset.min(self.text.len()));
        let index = self.lines.partition_point(|&start| start <= offset) - 1;
        let start = self.lines[index];
        (index + 1, self.text[start..offset].chars().count() + 1)
    }
    fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.lines.get(line.max(1) - 1) else {
            return self.text.len();
        };
        start + byte_offset_of(&self.text[start..], 1, column)
    }
}

/// One problem at one place in one file.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{}: {message}", where_(.path, *.line, *.column, .place.as_deref()))]
pub struct FileDiagnostic {
    /// What is wrong, in one sentence (names the field where there is one).
    pub message: String,
    /// The file, as the user named it (relative paths stay relative).
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What to do about it.
    #[help]
    pub help: Option<String>,
    /// How to name the place instead of `path:line:column`, when the text
    /// is not a file the user has (an entity read from a live Backstage
    /// catalog: `entity component:default/x (from url:…)`).
    pub place: Option<Arc<str>>,
    #[source_code]
    source_code: NamedSource<Arc<str>>,
    #[label("here")]
    span: SourceSpan,
}

impl FileDiagnostic {
    /// A diagnostic at `byte_offset..byte_offset+len` of `file`, the content of `path`.
    pub fn at_offset(
        path: &Path,
        file: &(impl FileText + ?Sized),
        byte_offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Self {
        let text = file.text();
        let byte_offset = floor_char_boundary(text, byte_offset.min(text.len()));
        let len = len.min(text.len() - byte_offset);
        let (line, column) = file.line_column(byte_offset);
        FileDiagnostic {
            message: message.into(),
            path: path.to_path_buf(),
            line,
            column,
            help: None,
            place: None,
            source_code: NamedSource::new(path.display().to_string(), file.shared()),
            span: SourceSpan::new(byte_offset.into(), len),
        }
    }

    /// The text this diagnostic points into (shared with the file's
    /// [`Source`] and every other diagnostic of it, when built from one).
    pub fn source_text(&self) -> &Arc<str> {
        self.source_code.inner()
    }

    /// The diagnostic with the userinfo of every URL in its underlined text
    /// (`user:secret@` after a `://`) replaced by as many `*`, so that the
    /// snippet never shows credentials someone wrote into a file.
    pub fn masking_userinfo(mut self) -> Self {
        let start = self.span.offset();
        let end = start + self.span.len();
        let mut text = self.source_code.inner().as_bytes().to_vec();
        let mut i = start;
        while i + 3 <= end {
            if &text[i..i + 3] == b"://" {
                let from = i + 3;
                let authority_end = (from..end)
                    .find(|&j| matches!(text[j], b'/' | b'?' | b'#' | b' ' | b'\n'))
                    .unwrap_or(end);
                if let Some(at) = (from..authority_end).rev().find(|&j| text[j] == b'@') {
                    text[from..at].fill(b'*');
                }
                i = authority_end;
            } else {
                i += 1;
            }
        }
        // Only ASCII bytes were written over whole runs of bytes between
        // ASCII delimiters, so the text is still UTF-8.
        let text = String::from_utf8(text).unwrap_or_default();
        self.source_code = NamedSource::new(self.source_code.name(), Arc::from(text));
        self
    }

    /// The same diagnostic in `original`, the text `path` held before
    /// something (parameter substitution) turned it into the text this
    /// diagnostic points into; `map` takes an offset of that text to one of
    /// `original`.
    pub fn remap(self, original: &(impl FileText + ?Sized), map: impl Fn(usize) -> usize) -> Self {
        let start = map(self.span.offset());
        let end = map(self.span.offset() + self.span.len()).max(start);
        let moved =
            FileDiagnostic::at_offset(&self.path, original, start, end - start, self.message);
        FileDiagnostic {
            help: self.help,
            place: self.place,
            ..moved
        }
    }

    /// The diagnostic named by `place` instead of `path:line:column` (the
    /// snippet still shows the text, underlined).
    pub fn placed(mut self, place: Arc<str>) -> Self {
        self.place = Some(place);
        self
    }

    /// Attach a hint saying what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// `path:line:column`, or the place that stands for it.
fn where_(path: &Path, line: usize, column: usize, place: Option<&str>) -> String {
    match place {
        Some(place) => place.to_string(),
        None => format!("{}:{line}:{column}", path.display()),
    }
}

/// 1-based line and character column of a byte offset.
pub fn line_column(text: &str, byte_offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, byte_offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Byte offset of a 1-based line and character column (clamped to the text).
pub fn byte_offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for _ in 1..line.max(1) {
        match text[offset..].find('\n') {
            Some(i) => offset += i + 1,
            None => return text.len(),
        }
    }
    let rest = &text[offset..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let in_line = rest[..line_end]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line_end, |(i, _)| i);
    offset + in_line
}

/// Length of the token at the start of `rest`: the rest of its line, less
/// trailing blanks.
pub(crate) fn token_len(rest: &str) -> usize {
    let line = rest.split('\n').next().unwrap_or("");
    let trimmed = line.trim_end();
    if trimmed.is_empty() { 0 } else { trimmed.len() }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_round_trip() {
        let text = "a: 1\nbé: 2\n  c: x\n";
        for (line, column) in [(1, 1), (2, 1), (2, 2), (2, 4), (3, 3)] {
            let offset = byte_offset_of(text, line, column);
            assert_eq!(line_column(text, offset), (line, column));
        }
    }

    #[test]
    fn a_source_finds_lines_and_columns_as_a_scan_does() {
        let text = "a: 1\r\nbé: 2\n\n  c: x\nlast";
        let source = Source::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                source.line_column(offset),
                line_column(text, offset),
                "offset {offset}"
            );
        }
        for line in 0..7 {
            for column in 0..8 {
                assert_eq!(
                    source.offset_of(line, column),
                    byte_offset_of(text, line, column),
                    "line {line} column {column}"
                );
            }
        }
    }

    #[test]
    fn diagnostics_of_a_source_share_its_text() {
        let source = Source::new("kind: Component\nspec:\n  owner: 12\n");
        let a = FileDiagnostic::at_offset(Path::new("a.yaml"), &source, 25, 2, "one");
        let b = FileDiagnostic::at_offset(Path::new("a.yaml"), &source, 0, 4, "two");
        assert!(source.shares(a.source_text()) && source.shares(b.source_text()));
        assert_eq!(a.to_string(), "a.yaml:3:4: one");
        let copied = FileDiagnostic::at_offset(Path::new("a.yaml"), source.text(), 0, 4, "c");
        assert!(!source.shares(copied.source_text()));
    }

    #[test]
    fn display_names_file_line_and_column() {
        let text = "kind: Component\nspec:\n  owner: 12\n";
        let offset = text.find("12").unwrap();
        let d =
            FileDiagnostic::at_offset(Path::new("catalog/a.yaml"), text, offset, 2, "bad owner");
        assert_eq!(d.to_string(), "catalog/a.yaml:3:10: bad owner");
    }
}
