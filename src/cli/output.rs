//! Printing: errors with their chain and hint, diagnostics with the
//! offending text underlined, and tables.

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::Ui;
use crate::campaign::CampaignError;
use crate::diag::FileDiagnostic;
use crate::recipe::RecipeError;

/// Render one diagnostic for the terminal (or a log, without colours).
pub fn render_diagnostic(ui: &Ui, d: &FileDiagnostic) -> String {
    let theme = if ui.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    if handler.render_report(&mut out, d).is_err() {
        out = d.to_string();
    }
    out
}

/// Print diagnostics under a heading (`error` or `warning`).
pub fn print_diagnostics(ui: &Ui, severity: &str, diagnostics: &[FileDiagnostic]) {
    for d in diagnostics {
        eprintln!("{severity}: {d}");
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
    eprintln!("error: {text}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
}

/// A plain text table: a header row and rows, columns padded to fit.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
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
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}
