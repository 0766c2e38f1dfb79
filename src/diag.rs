//! Diagnostics that point into files people write (catalogs, recipes,
//! campaigns): the file, the line and column, the offending text underlined,
//! and what to do about it.
//!
//! Domain modules build a [`FileDiagnostic`]; only the command layer renders
//! it: one `path:line:column: message` line (for editors and grep), then
//! miette's snippet with the text underlined (coloured on a terminal).

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
    #[label("here")]
    span: SourceSpan,
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
        }
    }

    /// The diagnostic with the userinfo of every URL in its underlined text
    /// (`user:secret@` after a `://`) replaced by as many `*`, so that the
    /// snippet never shows credentials someone wrote into a file.
    pub fn masking_userinfo(mut self) -> Self {
        let start = self.span.offset();
        let end = start + self.span.len();
        let mut text = self.source_code.inner().clone().into_bytes();
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
        self.source_code = NamedSource::new(self.source_code.name(), text);
        self
    }

    /// The same diagnostic in `original`, the text `path` held before
    /// something (parameter substitution) turned it into the text this
    /// diagnostic points into; `map` takes an offset of that text to one of
    /// `original`.
    pub fn remap(self, original: &str, map: impl Fn(usize) -> usize) -> Self {
        let start = map(self.span.offset());
        let end = map(self.span.offset() + self.span.len()).max(start);
        let moved =
            FileDiagnostic::at_offset(&self.path, original, start, end - start, self.message);
        FileDiagnostic {
            help: self.help,
            ..moved
        }
    }

    /// Attach a hint saying what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
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
        let text = "kind: Component\nspec:\n  owner: 12\n";
        let offset = text.find("12").unwrap();
        let d =
            FileDiagnostic::at_offset(Path::new("catalog/a.yaml"), text, offset, 2, "bad owner");
        assert_eq!(d.to_string(), "catalog/a.yaml:3:10: bad owner");
    }
}
