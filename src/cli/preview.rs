//! `fleetwright preview`: what a campaign would change across the fleet,
//! before it pushes anything, as a review page.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::output::table;
use super::plan::warn_catalog_problems;
use super::{GlobalArgs, Ui, exit, scratch_engine};
use crate::engine::preview::{Preview, PreviewOutcome, TargetPreview};
use crate::escape;
use crate::recipe::FileStatus;
use crate::report::html::esc;
use crate::report::shorten;

/// See what a campaign would change in every repository, before launch.
///
/// Fetches every scheduled target of the campaign file's plan into the
/// clone cache, applies the recipe to its default-branch head (and runs the
/// campaign's `verify` on the change with --verify, in the sandbox), and
/// writes a review page: repositories changed, unchanged, not applicable,
/// opted out or failing, the edits per rule, and every diff. Pushes
/// nothing, opens nothing, and records nothing in the state: the campaign
/// need not be launched (or may be, and is left as it is).
///
/// Writes DIR/index.html, DIR/preview.md and DIR/preview.json. Exits 4 when
/// some repository is failing (the others are previewed).
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright preview campaigns/modernize.yaml --verify --out review/"]))]
pub struct PreviewArgs {
    /// The campaign file.
    campaign_file: PathBuf,
    /// Run the campaign's `verify` on each change too (in the sandbox).
    #[arg(long)]
    verify: bool,
    /// Where to write the review page [default: preview-CAMPAIGN].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the preview as one JSON object on stdout (the files are
    /// written too).
    #[arg(long)]
    json: bool,
    /// Repositories previewed at once (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

pub async fn run(args: PreviewArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    // A preview records nothing: a live catalog is read now.
    let loaded = super::live::load(&args.campaign_file, None, &global.cache, ui).await?;
    if args.verify && loaded.campaign.verify.is_none() {
        return Err(exit::Refusal::new(
            exit::BAD_INPUT,
            format!("{} has no `verify:` to run", args.campaign_file.display()),
        )
        .hint("add a `verify:` section to the campaign file, or preview without --verify")
        .into());
    }
    if args.verify || loaded.recipe.runs_commands() {
        super::launch::require_sandbox(&loaded)?;
    }
    warn_catalog_problems(ui, &loaded);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("preview-{}", loaded.campaign.name)));
    let (_scratch, engine) = scratch_engine(&global.cache, &loaded.campaign, ui, args.jobs).await?;
    let preview = engine.preview(&loaded, args.verify).await?;
    write_files(&out, &preview)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&preview)?);
    } else {
        print!("{}", render_terminal(&preview));
        println!(
            "review page: {} (and preview.md, preview.json beside it); nothing was pushed or recorded",
            escape::terminal(&out.join("index.html").display().to_string())
        );
    }
    if preview.totals.failing > 0 {
        ui.note(format!(
            "{} repositor{} failing (see NOTE); fix the recipe or the cause and preview again",
            preview.totals.failing,
            if preview.totals.failing == 1 {
                "y is"
            } else {
                "ies are"
            },
        ));
        Ok(exit::TARGETS_FAILED)
    } else {
        Ok(exit::SUCCESS)
    }
}

/// Write the review page, its Markdown and its JSON into `dir`.
pub(super) fn write_files(dir: &Path, preview: &Preview) -> anyhow::Result<()> {
    let refuse = |e: std::io::Error, what: &Path| {
        exit::Refusal::new(
            exit::REFUSED,
            format!("cannot write {}: {e}", what.display()),
        )
        .hint("choose another folder with --out DIR")
    };
    std::fs::create_dir_all(dir).map_err(|e| refuse(e, dir))?;
    for (name, text) in [
        ("index.html", render_html(preview)),
        ("preview.md", render_markdown(preview)),
        (
            "preview.json",
            serde_json::to_string_pretty(preview)? + "\n",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| refuse(e, &path))?;
    }
    Ok(())
}

/// "12 changed, 3 unchanged, 1 not applicable, 0 opted out, 2 failing".
fn counts_line(preview: &Preview) -> String {
    PreviewOutcome::ALL
        .iter()
        .map(|o| format!("{} {}", preview.totals.count(*o), o.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The preview's first sentence.
pub fn headline(preview: &Preview) -> String {
    let t = &preview.totals;
    format!(
        "{}: the recipe {} would change {} of {} repositories ({} edit{} in {} file{}); {}.",
        preview.campaign,
        preview.recipe,
        t.changed,
        t.targets,
        t.edits,
        if t.edits == 1 { "" } else { "s" },
        t.files,
        if t.files == 1 { "" } else { "s" },
        counts_line(preview)
    )
}

/// The terminal's view: one line per repository, then the headline.
fn render_terminal(preview: &Preview) -> String {
    let rows: Vec<Vec<String>> = preview
        .targets
        .iter()
        .map(|t| {
            vec![
                t.repo.clone(),
                t.outcome.label().to_string(),
                t.edits.to_string(),
                t.files.len().to_string(),
                t.reason
                    .as_deref()
                    .map_or(String::new(), |r| shorten(r, 100)),
            ]
        })
        .collect();
    let mut out = table(&["REPO", "OUTCOME", "EDITS", "FILES", "NOTE"], &rows);
    out.push('\n');
    out.push_str(&escape::terminal(&headline(preview)));
    out.push('\n');
    out
}

fn file_status(status: FileStatus) -> &'static str {
    match status {
        FileStatus::Modified => "modified",
        FileStatus::Added => "added",
        FileStatus::Deleted => "deleted",
    }
}

fn rules_text(rules: &[(String, usize)]) -> String {
    rules
        .iter()
        .map(|(rule, n)| format!("{rule} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The preview as GitHub Markdown (every value from outside escaped).
pub fn render_markdown(preview: &Preview) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Preview of {}\n\n{}\n",
        escape::text(&preview.campaign),
        escape::text(&headline(preview))
    );
    let _ = writeln!(
        md,
        "Recipe {} (fingerprint {}), on each default-branch head as of {}{}. Nothing was pushed or recorded.\n",
        escape::code(&preview.recipe),
        escape::code(&preview.fingerprint),
        escape::text(&preview.at),
        preview
            .verify
            .as_deref()
            .map(|v| format!("; verify {} ran on each change", escape::code(v)))
            .unwrap_or_default()
    );
    if !preview.rules.is_empty() {
        md.push_str(
            "## Edits per rule\n\n| Rule | Edits | Repositories |\n| --- | ---: | ---: |\n",
        );
        for r in &preview.rules {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                escape::table_code(&r.rule),
                r.edits,
                r.repositories
            );
        }
        md.push('\n');
    }
    for (outcome, targets) in by_outcome(preview) {
        let _ = writeln!(
            md,
            "## {} ({})\n",
            capitalized(outcome.label()),
            targets.len()
        );
        for t in targets {
            let _ = write!(
                md,
                "### {}\n\n{} · owner {} · tranche {}",
                escape::text(&t.repo),
                escape::code(&t.component),
                escape::code(&t.owner),
                t.tranche
            );
            if let Some(commit) = &t.commit {
                let _ = write!(
                    md,
                    " · at {}",
                    escape::code(&commit[..commit.len().min(10)])
                );
            }
            md.push_str("\n\n");
            if let Some(reason) = &t.reason {
                let _ = writeln!(md, "{}\n", escape::text(reason));
            }
            if let Some(v) = &t.verify {
                let _ = writeln!(
                    md,
                    "verify: {} ({})\n\n{}\n",
                    if v.passed { "passed" } else { "FAILED" },
                    escape::text(&v.status),
                    escape::code_block(&v.tail)
                );
            }
            for f in &t.files {
                let _ = writeln!(
                    md,
                    "- {} ({}): {}",
                    escape::code(&f.path),
                    file_status(f.status),
                    escape::text(&rules_text(&f.rules))
                );
            }
            if !t.files.is_empty() {
                md.push('\n');
                let diff: String = t.files.iter().map(|f| f.diff.as_str()).collect();
                // A fenced block tagged `diff` (GitHub colours it).
                let block = escape::code_block(&diff);
                let fence_len = block.find('\n').unwrap_or(3);
                let _ = writeln!(md, "{}diff{}\n", &block[..fence_len], &block[fence_len..]);
            }
        }
    }
    md
}

/// The repositories of each outcome that has any, in the page's order.
fn by_outcome(preview: &Preview) -> impl Iterator<Item = (PreviewOutcome, Vec<&TargetPreview>)> {
    PreviewOutcome::ALL.into_iter().filter_map(|outcome| {
        let targets: Vec<&TargetPreview> = preview
            .targets
            .iter()
            .filter(|t| t.outcome == outcome)
            .collect();
        (!targets.is_empty()).then_some((outcome, targets))
    })
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

const CSS: &str = r#"
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
.muted { color: #59636e; } .small { font-size: .85rem; }
.cards { display: flex; gap: .75rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem; min-width: 7rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; }
td.num { text-align: right; }
details { border: 1px solid #d0d7de; border-radius: 6px; margin: .5rem 0; padding: .4rem .8rem; }
summary { cursor: pointer; } summary .outcome { font-weight: 600; margin-right: .5rem; }
pre.diff { background: #f6f8fa; padding: .5rem; overflow-x: auto; font-size: .85rem; }
pre.diff .add { color: #116329; background: #dafbe1; display: block; }
pre.diff .del { color: #82071e; background: #ffebe9; display: block; }
pre.diff .hunk { color: #0550ae; display: block; }
.failing { color: #82071e; } .changed { color: #116329; }
"#;

/// The review page: one self-contained HTML file (no script, no network),
/// every value from outside through [`esc`]. Stable hooks: `#headline`,
/// `#totals`, `table#rules`, one `details.target` per repository with
/// `data-outcome` and `data-repo`.
pub fn render_html(preview: &Preview) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Preview of {}</title><style>{CSS}</style></head><body>\n",
        esc(&preview.campaign)
    );
    let _ = write!(
        h,
        "<h1>Preview of {}</h1>\n<p id=\"headline\">{}</p>\n<p class=\"muted small\">Recipe <code>{}</code> (fingerprint <code>{}</code>) on each repository's default-branch head, {}{}. Nothing was pushed, opened or recorded.</p>\n",
        esc(&preview.campaign),
        esc(&headline(preview)),
        esc(&preview.recipe),
        esc(&preview.fingerprint),
        esc(&preview.at),
        preview
            .verify
            .as_deref()
            .map(|v| format!("; <code>{}</code> ran on each change", esc(v)))
            .unwrap_or_default()
    );
    h.push_str("<div class=\"cards\" id=\"totals\">");
    for outcome in PreviewOutcome::ALL {
        let _ = write!(
            h,
            "<div class=\"card\" data-outcome=\"{}\"><b>{}</b>{}</div>",
            esc(outcome.label()),
            preview.totals.count(outcome),
            esc(outcome.label())
        );
    }
    h.push_str("</div>\n");
    if !preview.rules.is_empty() {
        h.push_str("<h2>Edits per rule</h2>\n<table id=\"rules\"><tr><th>Rule</th><th>Edits</th><th>Repositories</th></tr>");
        for r in &preview.rules {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&r.rule),
                r.edits,
                r.repositories
            );
        }
        h.push_str("</table>\n");
    }
    for (outcome, targets) in by_outcome(preview) {
        let _ = writeln!(
            h,
            "<h2>{} ({})</h2>",
            esc(&capitalized(outcome.label())),
            targets.len()
        );
        for t in targets {
            target_html(&mut h, t);
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn target_html(h: &mut String, t: &TargetPreview) {
    let outcome = t.outcome.label();
    let _ = writeln!(
        h,
        "<details class=\"target\" data-outcome=\"{}\" data-repo=\"{}\"{}><summary><span class=\"outcome {}\">{}</span><strong>{}</strong> <span class=\"muted small\">{} edit{} in {} file{} · {} · owner {} · tranche {}</span></summary>",
        esc(outcome),
        esc(&t.repo),
        if t.outcome == PreviewOutcome::Failing {
            " open"
        } else {
            ""
        },
        if t.outcome == PreviewOutcome::Failing {
            "failing"
        } else {
            "changed"
        },
        esc(outcome),
        esc(&t.repo),
        t.edits,
        if t.edits == 1 { "" } else { "s" },
        t.files.len(),
        if t.files.len() == 1 { "" } else { "s" },
        esc(&t.component),
        esc(&t.owner),
        t.tranche
    );
    if let Some(reason) = &t.reason {
        let _ = writeln!(h, "<p>{}</p>", esc(reason));
    }
    if let Some(v) = &t.verify {
        let _ = writeln!(
            h,
            "<p>verify: <strong>{}</strong> ({})</p><pre>{}</pre>",
            if v.passed { "passed" } else { "failed" },
            esc(&v.status),
            esc(&v.tail)
        );
    }
    for f in &t.files {
        let _ = write!(
            h,
            "<p><code>{}</code> <span class=\"muted small\">{} · {}</span></p><pre class=\"diff\">",
            esc(&f.path),
            file_status(f.status),
            esc(&rules_text(&f.rules))
        );
        for line in f.diff.lines() {
            let class = if line.starts_with("+++") || line.starts_with("---") {
                ""
            } else if line.starts_with('+') {
                "add"
            } else if line.starts_with('-') {
                "del"
            } else if line.starts_with("@@") {
                "hunk"
            } else {
                ""
            };
            if class.is_empty() {
                let _ = writeln!(h, "{}", esc(line));
            } else {
                let _ = write!(h, "<span class=\"{class}\">{}</span>", esc(line));
            }
        }
        h.push_str("</pre>\n");
    }
    h.push_str("</details>\n");
}
