//! Diagnostics that point into files people write (catalogs, recipes,
//! campaigns): the file, the line and column, the offending text underlined,
//! and what to do about it.
//!
//! Domain modules build a [`FileDiagnostic`]; only the command layer renders
//! it (with miette's graphical handler on a terminal, or as one plain
//! `path:line:column: message` line otherwise).

use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};

/// One problem at one place in one file.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{}:{}:{}: {message}", path.display(), line, column)]
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
    #[source_code]
    source_code: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
}

impl FileDiagnostic {
    /// A diagnostic at `byte_offset..byte_offset+len` of `text`, the content of `path`.
    pub fn at_offset(
        path: &Path,
        text: &str,
        byte_offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Self {
        let byte_offset = floor_char_boundary(text, byte_offset.min(text.len()));
        let len = len.min(text.len() - byte_offset);
        let (line, column) = line_column(text, byte_offset);
        FileDiagnostic {
            message: message.into(),
            path: path.to_path_buf(),
            line,
            column,
            help: None,
            source_code: NamedSource::new(path.display().to_string(), text.to_string()),
            span: SourceSpan::new(byte_offset.into(), len),
            label: "here".to_string(),
        }
    }

    /// A diagnostic at a 1-based `line` and character `column` of `text`.
    /// The underline covers the rest of the token that starts there.
    pub fn at_line_column(
        path: &Path,
        text: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        let offset = byte_offset_of(text, line, column);
        let len = token_len(&text[offset..]);
        Self::at_offset(path, text, offset, len, message)
    }

    /// Attach a hint saying what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Replace the label shown under the underlined text.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// `path:line:column`, the form editors and terminals turn into links.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.path.display(), self.line, self.column)
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
    fn display_names_file_line_and_column() {
        let d = FileDiagnostic::at_line_column(
            Path::new("catalog/a.yaml"),
            "kind: Component\nspec:\n  owner: 12\n",
            3,
            10,
            "bad owner",
        );
        assert_eq!(d.to_string(), "catalog/a.yaml:3:10: bad owner");
        assert_eq!(d.location(), "catalog/a.yaml:3:10");
    }
}
