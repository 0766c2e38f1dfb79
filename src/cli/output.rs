//! Printing: errors with their chain and hint, diagnostics with the
//! offending text underlined, and tables. Every text from outside printed
//! here (error messages, diagnostics and the file text they quote, table
//! cells) goes through [`terminal`], so it cannot steer the terminal.

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::Ui;
use crate::campaign::CampaignError;
use crate::diag::FileDiagnostic;
use crate::escape::{is_control, terminal};
use crate::recipe::RecipeError;

/// Render one diagnostic for the terminal (or a log, without colours).
///
/// The file's text is quoted as it is; when it (or the message) holds a
/// control character, the rendering is made without colours and each line
/// goes through [`terminal`] (miette's own colours could not be told from
/// the file's escape sequences otherwise).
pub fn render_diagnostic(ui: &Ui, d: &FileDiagnostic) -> String {
    let render = |theme| {
        let mut out = String::new();
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        if handler.render_report(&mut out, d).is_err() {
            out = d.to_string();
        }
        out
    };
    let plain = render(GraphicalTheme::unicode_nocolor());
    if plain.chars().any(|c| c != '\n' && is_control(c)) {
        return lines(&plain);
    }
    if ui.color {
        render(GraphicalTheme::unicode())
    } else {
        plain
    }
}

/// `text` with each of its lines through [`terminal`], line breaks kept.
fn lines(text: &str) -> String {
    text.split('\n')
        .map(terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Print diagnostics under a heading (`error` or `warning`).
pub fn print_diagnostics(ui: &Ui, severity: &str, diagnostics: &[FileDiagnostic]) {
    for d in diagnostics {
        eprintln!("{severity}: {}", lines(&d.to_string()));
        eprintln!("{}", render_diagnostic(ui, d));
    }
}

/// The diagnostics an error carries, if it is about a file people write.
fn diagnostics_of(error: &anyhow::Error) -> Option<&[FileDiagnostic]> {
    for cause in error.chain() {
        if let Some(CampaignError::Invalid(_, d)) = cause.downcast_ref::<CampaignError>() {
            return Some(d);
        }
        if let Some(RecipeError::Invalid(d)) = cause.downcast_ref::<RecipeError>() {
            return Some(d);
        }
    }
    None
}

/// Print an error: its diagnostics if it has any, its whole chain, and the
/// hint saying what to do now.
pub fn print_error(ui: &Ui, error: &anyhow::Error, hint: Option<&str>) {
    if let Some(diagnostics) = diagnostics_of(error) {
        print_diagnostics(ui, "error", diagnostics);
    }
    let mut text = String::new();
    for (i, cause) in error.chain().enumerate() {
        let line = cause.to_string();
        if i > 0 && text.contains(&line) {
            continue;
        }
        if i > 0 {
            text.push_str(": ");
        }
        text.push_str(&line);
    }
    // A URL or a secret in an error (git and forges quote URLs) is
    // redacted like everything that reaches output.
    eprintln!("error: {}", lines(&crate::urls::redact_text(&text)));
    if let Some(hint) = hint {
        eprintln!("hint: {}", lines(hint));
    }
}

/// A plain text table: a header row and rows, columns padded to fit. Every
/// cell goes through [`terminal`] (a newline or an escape sequence in a
/// name shows as `\n`, `\x1b`, and stays in its cell).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| terminal(c).into_owned()).collect())
        .collect();
    let header: Vec<String> = header.iter().map(|h| terminal(h).into_owned()).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// Let `write` write to stdout (buffered), then flush; a reader that
/// stopped reading (`| head`) is not an error.
pub fn to_stdout(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Write `text` to stdout, as [`to_stdout`].
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    to_stdout(|w| w.write_all(text.as_bytes()))
}
