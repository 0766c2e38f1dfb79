//! `fleetwright catalog check`: every problem of a catalog, at its place;
//! and the short, grouped form of the same problems that the commands
//! reading a campaign's catalog print as warnings.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;

use super::output::{render_diagnostic, to_stdout, write_stdout};
use super::{Ui, exit};
use crate::catalog::{Catalog, Problem, ProblemGroup, group_problems};
use crate::escape::terminal;

/// Read a catalog and list its problems.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright catalog check catalog/all.yaml"]))]
pub struct CatalogArgs {
    #[command(subcommand)]
    command: CatalogCommand,
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// List every problem of a catalog (file or directory), each at its
    /// file:line:column, grouped by kind. Exits 3 when there is any, so that
    /// it can check a catalog in its own CI.
    #[command(after_help = super::examples(&["fleetwright catalog check catalog/ --json"]))]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The catalog: a file, or a directory of *.yaml files.
    catalog: PathBuf,
    /// Print one JSON object: counts, the problems by kind, every problem.
    #[arg(long)]
    json: bool,
    /// Show each problem's text with the place underlined, not only its line.
    #[arg(long, conflicts_with = "json")]
    snippets: bool,
}

/// At most this many problems are shown one by one, with their text, where
/// a command prints a campaign's catalog problems; more are grouped.
const SHOWN_ONE_BY_ONE: usize = 3;
/// Examples of each kind (and subjects, such as owners) in grouped form.
const EXAMPLES: usize = 3;

pub fn run(args: CatalogArgs, ui: &Ui) -> anyhow::Result<u8> {
    match args.command {
        CatalogCommand::Check(args) => check(args, ui),
    }
}

#[derive(Serialize)]
struct CheckJson<'a> {
    files: usize,
    components: usize,
    groups: usize,
    users: usize,
    others: usize,
    /// The problems by kind: count, description, most frequent subjects.
    kinds: Vec<KindJson<'a>>,
    problems: Vec<ProblemJson<'a>>,
}

#[derive(Serialize)]
struct KindJson<'a> {
    #[serde(flatten)]
    group: &'a ProblemGroup<'a>,
    description: String,
}

#[derive(Serialize)]
struct ProblemJson<'a> {
    kind: crate::catalog::ProblemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    path: String,
    line: usize,
    column: usize,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

fn check(args: CheckArgs, ui: &Ui) -> anyhow::Result<u8> {
    let catalog = Catalog::load(&args.catalog)?;
    let groups = group_problems(&catalog.problems);
    let code = if catalog.problems.is_empty() {
        exit::SUCCESS
    } else {
        exit::BAD_INPUT
    };
    if args.json {
        let json = CheckJson {
            files: catalog.files.len(),
            components: catalog.components.len(),
            groups: catalog.groups.len(),
            users: catalog.users.len(),
            others: catalog.others.len(),
            kinds: groups
                .iter()
                .map(|g| KindJson {
                    group: g,
                    description: g.kind.describe(g.count),
                })
                .collect(),
            problems: catalog
                .problems
                .iter()
                .map(|p| ProblemJson {
                    kind: p.kind,
                    subject: p.subject.as_deref(),
                    path: p.path.display().to_string(),
                    line: p.line,
                    column: p.column,
                    message: &p.message,
                    help: p.help.as_deref(),
                })
                .collect(),
        };
        to_stdout(|w| {
            serde_json::to_writer_pretty(&mut *w, &json)?;
            writeln!(w)
        })?;
        return Ok(code);
    }
    let mut out = String::new();
    for g in &groups {
        let _ = writeln!(out, "{}:", terminal(&g.kind.describe(g.count)));
        if let Some(subjects) = subjects(g, usize::MAX) {
            let _ = writeln!(out, "  {}", terminal(&subjects));
        }
        for p in &g.problems {
            if args.snippets {
                let _ = writeln!(out, "{}", render_diagnostic(ui, &p.diagnostic));
            } else {
                let _ = writeln!(out, "  {}", terminal(&p.to_string()));
            }
        }
        // The same help for a whole kind (unknown owners) is said once.
        if !args.snippets
            && let Some(help) = common_help(&g.problems)
        {
            let _ = writeln!(out, "  help: {}", terminal(help));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}: {} file(s), {} component(s), {} group(s), {} user(s); {}",
        terminal(&args.catalog.display().to_string()),
        catalog.files.len(),
        catalog.components.len(),
        catalog.groups.len(),
        catalog.users.len(),
        match catalog.problems.len() {
            0 => "no problems".to_string(),
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        }
    );
    write_stdout(&out)?;
    Ok(code)
}

/// The help every problem of `problems` has, when they all have the same.
fn common_help<'a>(problems: &[&'a Problem]) -> Option<&'a str> {
    let first = problems.first()?.help.as_deref()?;
    problems
        .iter()
        .all(|p| p.help.as_deref() == Some(first))
        .then_some(first)
}

/// `owner (31), owner (12), … and 34 more` for a kind whose problems have
/// subjects (as read: escape it where it is printed).
fn subjects(g: &ProblemGroup<'_>, at_most: usize) -> Option<String> {
    if g.subjects.is_empty() {
        return None;
    }
    let mut shown: Vec<String> = g
        .subjects
        .iter()
        .take(at_most)
        .map(|s| format!("{} ({})", s.subject, s.count))
        .collect();
    if g.subjects.len() > at_most {
        shown.push(format!("and {} more", g.subjects.len() - at_most));
    }
    Some(shown.join(", "))
}

/// Print a campaign's catalog problems as warnings (they leave entities
/// out, they do not stop the campaign): a few one by one with their text,
/// many grouped by kind with counts and examples, and the command that
/// lists them all. Nothing under `-q`: it prints errors only.
/// `path` is the catalog file or folder (`None`: a live catalog).
pub fn warn_problems(ui: &Ui, catalog: &Catalog, path: Option<&Path>) {
    if ui.quiet || catalog.problems.is_empty() {
        return;
    }
    eprint!("{}", warnings(ui, catalog, path));
}

/// The text [`warn_problems`] prints.
pub fn warnings(ui: &Ui, catalog: &Catalog, path: Option<&Path>) -> String {
    let mut out = String::new();
    let problems = &catalog.problems;
    if problems.len() <= SHOWN_ONE_BY_ONE {
        for p in problems {
            let _ = writeln!(out, "warning: {}", terminal(&p.to_string()));
            let _ = writeln!(out, "{}", snippet(ui, p));
        }
        return out;
    }
    let _ = writeln!(
        out,
        "warning: the catalog has {} problems; the entities they concern are left out or carry unknown owners:",
        problems.len()
    );
    for g in group_problems(problems) {
        let mut line = format!("  {}", g.kind.describe(g.count));
        if let Some(subjects) = subjects(&g, EXAMPLES) {
            let _ = write!(line, ": {subjects}");
        }
        let _ = writeln!(out, "{}", terminal(&line));
        // The subjects say what the problems share; one example then.
        let shown = if g.subjects.is_empty() { EXAMPLES } else { 1 };
        for p in g.problems.iter().take(shown) {
            let _ = writeln!(out, "    {}", terminal(&p.to_string()));
        }
        if g.count > shown {
            let _ = writeln!(out, "    … and {} more", g.count - shown);
        }
    }
    match path {
        Some(path) => {
            let _ = writeln!(
                out,
                "  `fleetwright catalog check {}` lists them all, each at its place",
                terminal(&shown_path(path))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  `fleetwright plan --json CAMPAIGN_FILE` lists them all (catalog_problems), each naming its entity"
            );
        }
    }
    out
}

/// A diagnostic's text with the place underlined, without the heading
/// line(s) that repeat its message (printed just before).
fn snippet(ui: &Ui, p: &Problem) -> String {
    let rendered = render_diagnostic(ui, &p.diagnostic);
    let lines: Vec<&str> = rendered.lines().collect();
    match lines.iter().position(|l| l.contains("╭─[")) {
        Some(start) => lines[start..].join("\n"),
        None => rendered,
    }
}

/// `path` relative to the current directory when it is below it.
fn shown_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    let shown = relative.as_deref().unwrap_or(path);
    let text = shown.display().to_string();
    if text.contains([' ', '\'', '"', '$', '`', '\\']) {
        format!("'{}'", text.replace('\'', "'\\''"))
    } else {
        text
    }
}
