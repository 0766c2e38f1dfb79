//! Computing a recipe's edits on one tree: every applicable rule on every
//! file, edits combined the way ast-grep combines them (sorted, overlapping
//! ones dropped), repeated until the file stops changing, and the result
//! refused when it parses worse than the original.

use std::path::Path;

use ast_grep_config::RuleConfig;
use ast_grep_core::tree_sitter::LanguageExt;
use ast_grep_language::Language;

use super::changes::{Changes, FileChange, RejectedFile};
use super::walk::{self, FileEntry};
use super::{ApplyError, ApplyOptions, MAX_PASSES, Recipe, SupportLang};

type Config = RuleConfig<SupportLang>;

pub(super) fn apply(
    recipe: &Recipe,
    root: &Path,
    options: &ApplyOptions,
) -> Result<Changes, ApplyError> {
    let mut changes = Changes::default();
    for entry in walk::files(root, &mut changes.skipped)? {
        let Some(language) = SupportLang::from_path(&entry.rel) else {
            continue;
        };
        let rules: Vec<&Config> = recipe
            .rules
            .iter()
            .filter_map(|r| r.config_for(&entry.rel))
            .collect();
        if rules.is_empty() {
            continue;
        }
        let Some(text) = walk::read_text(&entry, options.max_file_size, &mut changes.skipped)?
        else {
            continue;
        };
        match rewrite(&entry, language, &rules, text)? {
            Outcome::Unchanged => {}
            Outcome::Changed(change) => changes.files.push(change),
            Outcome::Rejected(rejected) => changes.rejected.push(rejected),
        }
    }
    Ok(changes)
}

enum Outcome {
    Unchanged,
    Changed(FileChange),
    Rejected(RejectedFile),
}

/// Rewrite one file until it stops changing, then check its syntax. Fixes
/// keep the layout of what they matched (see [`keep_layout`]); when that
/// parses worse than ast-grep's own output, ast-grep's output is used.
fn rewrite(
    entry: &FileEntry,
    language: SupportLang,
    rules: &[&Config],
    before: String,
) -> Result<Outcome, ApplyError> {
    match rewrite_with(entry, language, rules, before.clone(), true)? {
        Outcome::Rejected(_) => rewrite_with(entry, language, rules, before, false),
        outcome => Ok(outcome),
    }
}

fn rewrite_with(
    entry: &FileEntry,
    language: SupportLang,
    rules: &[&Config],
    before: String,
    layout: bool,
) -> Result<Outcome, ApplyError> {
    let mut counts = vec![0usize; rules.len()];
    let mut current = before.clone();
    let mut last_pass_rules = Vec::new();
    for _ in 0..MAX_PASSES {
        let (next, pass_counts) = one_pass(language, rules, &current, layout);
        if next == current {
            return Ok(outcome(entry, language, rules, before, current, &counts));
        }
        for (total, n) in counts.iter_mut().zip(&pass_counts) {
            *total += n;
        }
        last_pass_rules = rule_ids(rules, &pass_counts);
        current = next;
    }
    Err(ApplyError::NoFixedPoint {
        path: entry.rel.clone(),
        rules: last_pass_rules,
    })
}

fn outcome(
    entry: &FileEntry,
    language: SupportLang,
    rules: &[&Config],
    before: String,
    after: String,
    counts: &[usize],
) -> Outcome {
    if after == before {
        return Outcome::Unchanged;
    }
    let rule_ids = rule_ids(rules, counts);
    // A result without errors cannot parse worse: only then is the
    // original parsed again to compare.
    let errors_after = syntax_errors(language, &after);
    let errors_before = if errors_after.is_empty() {
        Vec::new()
    } else {
        syntax_errors(language, &before)
    };
    if errors_after.len() > errors_before.len() {
        let line = first_new_error(&errors_before, &errors_after);
        return Outcome::Rejected(RejectedFile {
            path: entry.rel.clone(),
            message: format!(
                "the rewritten file does not parse: {} syntax error(s) where the original had {}; first new one at line {line}",
                errors_after.len(),
                errors_before.len(),
            ),
            rule_ids,
            line,
        });
    }
    let matches = rules
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (r.id.clone(), *n))
        .collect();
    Outcome::Changed(FileChange {
        path: entry.rel.clone(),
        before,
        after,
        matches,
    })
}

fn rule_ids(rules: &[&Config], counts: &[usize]) -> Vec<String> {
    rules
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(r, _)| r.id.clone())
        .collect()
}

/// One edit: replace `start..end` with `text`, made by rule number `rule`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
    rule: usize,
}

/// Run every rule once on `source`; the rewritten text and the number of
/// edits each rule made.
fn one_pass(
    language: SupportLang,
    rules: &[&Config],
    source: &str,
    layout: bool,
) -> (String, Vec<usize>) {
    let grep = language.ast_grep(source);
    let mut edits = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let Some(fixer) = rule.fixer.first() else {
            continue;
        };
        for m in grep.root().find_all(&rule.matcher) {
            let edit = m.make_edit(&rule.matcher, fixer);
            let end = edit.position + edit.deleted_length;
            let mut text = String::from_utf8_lossy(&edit.inserted_text).into_owned();
            if layout && let Some(matched) = source.get(edit.position..end) {
                text = keep_layout(matched, &text);
            }
            if source.get(edit.position..end) != Some(text.as_str()) {
                edits.push(Edit {
                    start: edit.position,
                    end,
                    text,
                    rule: index,
                });
            }
        }
    }
    splice(source, edits, rules.len())
}

/// The fixed text of a match, with the match's own layout kept wherever the
/// fix changed nothing but line breaks and indentation.
///
/// ast-grep re-indents the text of metavariables, so a fix on a call whose
/// arguments span several lines loses their continuation indentation and
/// glues the closing parenthesis on. Here the non-blank characters of the
/// match and of the fix are aligned (a diff); between two aligned
/// characters, the match's own blanks are kept when both sides hold only
/// blanks and one of them breaks a line. Everything the fix really changes
/// comes from the fix. A match on one line is left exactly as ast-grep
/// fixes it.
pub(super) fn keep_layout(matched: &str, fixed: &str) -> String {
    if !matched.contains('\n') {
        return fixed.to_string();
    }
    let solid = |s: &str| -> Vec<(usize, char)> {
        s.char_indices()
            .filter(|(_, c)| !c.is_whitespace())
            .collect()
    };
    let (a, b) = (solid(matched), solid(fixed));
    let a_chars: Vec<char> = a.iter().map(|(_, c)| *c).collect();
    let b_chars: Vec<char> = b.iter().map(|(_, c)| *c).collect();
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &a_chars, &b_chars);
    let mut out = String::with_capacity(fixed.len());
    let (mut a_done, mut b_done) = (0, 0);
    for op in ops {
        if let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                let ((a_at, c), (b_at, _)) = (a[old_index + k], b[new_index + k]);
                out.push_str(gap(&matched[a_done..a_at], &fixed[b_done..b_at]));
                out.push(c);
                a_done = a_at + c.len_utf8();
                b_done = b_at + c.len_utf8();
            }
        }
    }
    out.push_str(gap(&matched[a_done..], &fixed[b_done..]));
    out
}

/// Between two aligned characters: the match's blanks, or the fix's text.
fn gap<'a>(matched: &'a str, fixed: &'a str) -> &'a str {
    let blank = |s: &str| s.chars().all(char::is_whitespace);
    if blank(matched) && blank(fixed) && (matched.contains('\n') || fixed.contains('\n')) {
        matched
    } else {
        fixed
    }
}

/// Apply `edits` in position order, dropping any that overlaps an earlier one.
fn splice(source: &str, mut edits: Vec<Edit>, rule_count: usize) -> (String, Vec<usize>) {
    edits.sort_by_key(|e| (e.start, e.rule, e.end));
    let mut counts = vec![0; rule_count];
    let mut out = String::with_capacity(source.len());
    let mut done = 0;
    for edit in edits {
        let valid = source.is_char_boundary(edit.start) && source.is_char_boundary(edit.end);
        if edit.start < done || edit.end > source.len() || !valid {
            continue;
        }
        out.push_str(&source[done..edit.start]);
        out.push_str(&edit.text);
        done = edit.end;
        counts[edit.rule] += 1;
    }
    out.push_str(&source[done..]);
    (out, counts)
}

/// The 1-based lines of every syntax error (ERROR or missing node).
fn syntax_errors(language: SupportLang, source: &str) -> Vec<usize> {
    let grep = language.ast_grep(source);
    grep.root()
        .dfs()
        .filter(|n| n.is_error() || n.is_missing())
        .map(|n| n.start_pos().line() + 1)
        .collect()
}

/// The first line with more errors after than before (or the first error).
fn first_new_error(before: &[usize], after: &[usize]) -> usize {
    let count = |lines: &[usize], line| lines.iter().filter(|l| **l == line).count();
    after
        .iter()
        .copied()
        .find(|&line| count(after, line) > count(before, line))
        .or(after.first().copied())
        .unwrap_or(1)
}
