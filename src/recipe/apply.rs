//! Computing a recipe's edits on one tree: every applicable rule on every
//! file, edits combined the way ast-grep combines them (sorted, overlapping
//! ones dropped), repeated until the file stops changing, and the result
//! refused when it parses worse than the original. Files are rewritten on
//! all cores; rules whose text is absent from a file are not run on it, and
//! a file no rule may match is not parsed (see `prefilter`). A YAML file
//! nested too deeply for tree-sitter-yaml (which aborts the process on it)
//! is refused before it is parsed (see `structured::depth`).

use std::ops::Range;
use std::path::Path;

use ast_grep_config::RuleConfig;
use ast_grep_core::AstGrep;
use ast_grep_core::matcher::{Matcher, MatcherExt};
use ast_grep_core::tree_sitter::StrDoc;

use super::arena::{self, Parsed, Trees};
use super::changes::{FileChange, FileStatus, RejectedFile};
use super::prefilter::RuleFilter;
use super::profile::{self, Step};
use super::structured::depth::{self, TooDeep};
use super::{ApplyError, MAX_PASSES, SupportLang};

type Config = RuleConfig<SupportLang>;

pub(super) enum Outcome {
    Unchanged,
    Changed(FileChange),
    Rejected(RejectedFile),
}

/// Rewrite one file until it stops changing, then check its syntax. Fixes
/// keep the layout of what they matched (see [`keep_layout`]); when that
/// parses worse than ast-grep's own output, and kept anything, ast-grep's
/// output is used. `active`: what `filter` said of `before` (which rules
/// may match it), already asked by the caller.
pub(super) fn rewrite(
    rel: &Path,
    language: SupportLang,
    rules: &[&Config],
    (filter, active): (&RuleFilter, &[bool]),
    before: &str,
) -> Result<Outcome, ApplyError> {
    // The file's trees live and die in one arena (see `arena`).
    arena::with_trees(|trees| {
        let file = (rel, language, rules, (filter, active), before);
        let (outcome, reshaped) = rewrite_with(trees, file, true)?;
        match outcome {
            Outcome::Rejected(_) if reshaped => Ok(rewrite_with(trees, file, false)?.0),
            outcome => Ok(outcome),
        }
    })
}

/// What `rewrite_with` rewrites: the file's path, language and text, the
/// rules, and what the prefilter said of them.
type File<'a> = (
    &'a Path,
    SupportLang,
    &'a [&'a Config],
    (&'a RuleFilter<'a>, &'a [bool]),
    &'a str,
);

/// The fixed point of `before`, and whether keeping the layout changed any
/// fix. The syntax errors of the original and of the result come from the
/// trees the first and the last pass parse anyway.
fn rewrite_with<'t>(
    trees: &'t Trees,
    (rel, language, rules, (filter, first_active), before): File<'_>,
    layout: bool,
) -> Result<(Outcome, bool), ApplyError> {
    let mut counts = vec![0usize; rules.len()];
    let mut current: Option<String> = None;
    // The tree of `current`, re-parsed incrementally from the last pass's.
    let mut parsed: Option<Parsed<'t>> = None;
    let mut errors_before = None;
    let mut reshaped = false;
    let mut last_counts = Vec::new();
    for _ in 0..MAX_PASSES {
        let text = current.as_deref().unwrap_or(before);
        if language == SupportLang::Yaml
            && let Err(deep) = depth::yaml_blocks(text)
        {
            let rewritten = current.is_some();
            return Ok((
                Outcome::Rejected(too_deep(rel, rules, deep, rewritten)),
                reshaped,
            ));
        }
        let (active, anchors) = profile::time(Step::Prefilter, || {
            let active = match current {
                None => first_active.to_vec(),
                Some(_) => filter.active(text),
            };
            let anchors = filter.anchors(&active, text);
            (active, anchors)
        });
        let pass = one_pass(
            trees,
            language,
            rules,
            (&active, anchors.as_deref()),
            (text, parsed.take()),
            layout,
            errors_before.is_none(),
        );
        reshaped |= pass.reshaped;
        if errors_before.is_none() {
            errors_before = Some(pass.errors.clone());
        }
        let Some((next, tree)) = pass.next.filter(|(next, _)| next != text) else {
            let Some(after) = current else {
                return Ok((Outcome::Unchanged, reshaped));
            };
            let errors = (errors_before.unwrap_or_default(), pass.errors);
            return Ok((
                outcome(rel, rules, before, after, &counts, errors),
                reshaped,
            ));
        };
        for (total, n) in counts.iter_mut().zip(&pass.counts) {
            *total += n;
        }
        last_counts = pass.counts;
        parsed = Some(tree);
        current = Some(next);
    }
    Err(ApplyError::NoFixedPoint {
        path: rel.to_path_buf(),
        rules: matches(rules, &last_counts)
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    })
}

/// A changed file, or its rejection when it parses worse than the original
/// (`errors` holds the lines of the syntax errors before and after).
fn outcome(
    rel: &Path,
    rules: &[&Config],
    before: &str,
    after: String,
    counts: &[usize],
    (errors_before, errors_after): (Vec<usize>, Vec<usize>),
) -> Outcome {
    let matches = matches(rules, counts);
    if errors_after.len() > errors_before.len() {
        let line = first_new_error(&errors_before, &errors_after);
        return Outcome::Rejected(RejectedFile {
            path: rel.to_path_buf(),
            message: format!(
                "the rewritten file does not parse: {} syntax error(s) where the original had {}; first new one at line {line}",
                errors_after.len(),
                errors_before.len(),
            ),
            rule_ids: matches.into_iter().map(|(id, _)| id).collect(),
            line,
        });
    }
    Outcome::Changed(FileChange {
        path: rel.to_path_buf(),
        status: FileStatus::Modified,
        before: before.to_string(),
        after,
        matches,
    })
}

/// A YAML file (or its rewrite, when `rewritten`) nested too deeply for
/// tree-sitter-yaml, which aborts the process on it (see `depth`): left
/// as it is, before it is parsed.
fn too_deep(rel: &Path, rules: &[&Config], deep: TooDeep, rewritten: bool) -> RejectedFile {
    RejectedFile {
        path: rel.to_path_buf(),
        rule_ids: rules.iter().map(|r| r.id.clone()).collect(),
        line: deep.line,
        message: if rewritten {
            format!("the rewritten file would be {deep}")
        } else {
            deep.to_string()
        },
    }
}

/// `(rule id, count)` of the rules that made edits.
fn matches(rules: &[&Config], counts: &[usize]) -> Vec<(String, usize)> {
    rules
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| (r.id.clone(), *n))
        .collect()
}

/// One edit: replace `start..end` with `text`, made by rule number `rule`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
    rule: usize,
}

/// What one pass of every rule over a text found.
struct Pass<'t> {
    /// The rewritten text and its tree (the input's with the edits made,
    /// re-parsed incrementally: tree-sitter reuses every subtree no edit
    /// touched); `None` when no rule had an edit.
    next: Option<(String, Parsed<'t>)>,
    /// Edits made, per rule.
    counts: Vec<usize>,
    /// Lines of the input's syntax errors, when asked for or when nothing
    /// changed (the input is then the result).
    errors: Vec<usize>,
    /// Keeping the layout changed some fix.
    reshaped: bool,
}

/// Run every rule once on `source` (parsed now, unless its tree is given),
/// except those `active` says cannot match, on the nodes that hold one of
/// the `anchors` (all nodes when `None`; see [`walk`]).
fn one_pass<'t>(
    trees: &'t Trees,
    language: SupportLang,
    rules: &[&Config],
    (active, anchors): (&[bool], Option<&[usize]>),
    (source, tree): (&str, Option<Parsed<'t>>),
    layout: bool,
    want_errors: bool,
) -> Pass<'t> {
    // `reparse` made the tree of exactly this text.
    let grep = tree.unwrap_or_else(|| {
        profile::time(Step::Parse, || {
            trees.parse(language, source.to_string(), None)
        })
    });
    let mut reshaped = false;
    // One traversal for every rule that may match (dispatched by the node
    // kinds each rule can match, as ast-grep's combined scan does): what
    // each rule's `find_all` would find, in one walk of the tree instead
    // of one walk a rule. The order of the edits does not matter: `splice`
    // sorts them.
    let runs: Vec<(usize, &Config, _, _)> = rules
        .iter()
        .enumerate()
        .filter(|(index, _)| active.get(*index).copied().unwrap_or(true))
        .filter_map(|(index, rule)| {
            let fixer = rule.fixer.first()?;
            Some((index, *rule, fixer, rule.matcher.potential_kinds()))
        })
        .collect();
    let mut found = Vec::new();
    if !runs.is_empty() {
        profile::time(Step::Match, || {
            walk(&grep, anchors, |node| {
                let kind = usize::from(node.kind_id());
                for (index, rule, fixer, kinds) in &runs {
                    if kinds.as_ref().is_none_or(|k| k.contains(kind))
                        && let Some(m) = rule.matcher.match_node(node.clone())
                    {
                        found.push((*index, *rule, *fixer, m));
                    }
                }
            })
        });
    }
    // The edits of the matches, spliced into the text (none: no edit).
    let spliced = profile::time(Step::Fix, || {
        let mut edits = Vec::new();
        for (index, rule, fixer, m) in found {
            let edit = m.make_edit(&rule.matcher, fixer);
            let end = edit.position + edit.deleted_length;
            let mut text = String::from_utf8_lossy(&edit.inserted_text).into_owned();
            let matched = source.get(edit.position..end);
            if layout && let Some(matched) = matched {
                let kept = keep_layout(matched, &text, &literals(&m));
                reshaped |= kept != text;
                text = kept;
            }
            if matched != Some(text.as_str()) {
                edits.push(Edit {
                    start: edit.position,
                    end,
                    text,
                    rule: index,
                });
            }
        }
        (!edits.is_empty()).then(|| splice(source, edits, rules.len()))
    });
    // tree-sitter knows in O(1) whether a tree holds an error or a missing
    // node; most files have neither, and walking them costs a parse's tenth.
    // The lines are wanted of the input when it changes (to compare with
    // the result), and of the result (a pass with no edit); not of a file
    // the first pass leaves as it is.
    let has_errors = grep.root().get_inner_node().has_error();
    let errors = if has_errors && want_errors == spliced.is_some() {
        profile::time(Step::Check, || {
            grep.root()
                .dfs()
                .filter(|n| n.is_error() || n.is_missing())
                .map(|n| n.start_pos().line() + 1)
                .collect()
        })
    } else {
        Vec::new()
    };
    let Some((text, counts, made)) = spliced else {
        return Pass {
            next: None,
            counts: vec![0; rules.len()],
            errors,
            reshaped,
        };
    };
    let tree = profile::time(Step::Reparse, || reparse(trees, &grep, &made, &text));
    Pass {
        next: Some((text, tree)),
        counts,
        errors,
        reshaped,
    }
}

/// `visit` every node of `grep`'s tree that holds one of `anchors` (byte
/// offsets, sorted), in pre-order, as `Node::dfs` would meet them; every
/// node when `anchors` is `None`. A node that holds none of them is not
/// entered: no rule can match it or anything under it (see
/// `Prefilter::anchors`), and on real code most of a tree is such nodes.
fn walk<'r>(
    grep: &'r AstGrep<StrDoc<SupportLang>>,
    anchors: Option<&[usize]>,
    mut visit: impl FnMut(ast_grep_core::Node<'r, StrDoc<SupportLang>>),
) {
    let root = grep.root();
    let Some(anchors) = anchors else {
        root.dfs().for_each(visit);
        return;
    };
    // Whether a node holds an anchor.
    let holds = |node: &ast_grep_core::Node<'r, StrDoc<SupportLang>>| {
        let range = node.range();
        let next = anchors.partition_point(|a| *a < range.start);
        anchors.get(next).is_some_and(|a| *a < range.end)
    };
    if !holds(&root) {
        return;
    }
    // Pre-order: a node, then its children that hold an anchor, in order.
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let at = stack.len();
        stack.extend(node.children().filter(holds));
        stack[at..].reverse();
        visit(node);
    }
}

/// The tree of `after`: `before`'s tree with the edits `made` (kept by
/// [`splice`], in order, not overlapping, which made `after`) applied last
/// first, then re-parsed once from that edited tree.
fn reparse<'t>(
    trees: &'t Trees,
    before: &Parsed<'t>,
    made: &[(usize, usize, String)],
    after: &str,
) -> Parsed<'t> {
    let doc = before.root().get_doc();
    // Last first: the positions of the edits before it stay true.
    let tree = trees.edited(before, &input_edits(&doc.src, made));
    trees.parse(doc.lang, after.to_string(), Some(&tree))
}

/// What tree-sitter is told of each edit of `made` (in order, not
/// overlapping) when they are applied to `source` last first: each one's
/// bytes and points in `source`, which the edits after it leave as they
/// are. One pass over `source`, where editing a copy of it edit by edit
/// moved its tail once an edit.
fn input_edits(source: &str, made: &[(usize, usize, String)]) -> Vec<tree_sitter::InputEdit> {
    let bytes = source.as_bytes();
    // The point of `offset`, counting from the last point asked for.
    let (mut at, mut row, mut line_start) = (0, 0, 0);
    let mut point = |offset: usize| {
        for (i, b) in bytes[at..offset].iter().enumerate() {
            if *b == b'\n' {
                row += 1;
                line_start = at + i + 1;
            }
        }
        at = offset;
        tree_sitter::Point::new(row, offset - line_start)
    };
    made.iter()
        .map(|(start, end, text)| {
            let start_position = point(*start);
            let old_end_position = point(*end);
            let new_end_position = match text.rfind('\n') {
                Some(last) => tree_sitter::Point::new(
                    start_position.row + text.matches('\n').count(),
                    text.len() - last - 1,
                ),
                None => {
                    tree_sitter::Point::new(start_position.row, start_position.column + text.len())
                }
            };
            tree_sitter::InputEdit {
                start_byte: *start,
                old_end_byte: *end,
                new_end_byte: start + text.len(),
                start_position,
                old_end_position,
                new_end_position,
            }
        })
        .collect()
}

/// Byte ranges, relative to `node`, of the strings and comments inside it:
/// their blanks are content, and their quotes and brackets are not syntax.
/// Every tree-sitter grammar names these nodes `*string*` and `*comment*`.
fn literals<D: ast_grep_core::Doc>(node: &ast_grep_core::Node<D>) -> Vec<Range<usize>> {
    let start = node.range().start;
    node.dfs()
        .filter(|n| {
            let kind = n.kind();
            kind.contains("string") || kind.contains("comment")
        })
        .map(|n| {
            let r = n.range();
            r.start - start..r.end - start
        })
        .collect()
}

/// The fixed text of a match, with the match's own layout kept wherever the
/// fix changed nothing but line breaks and indentation inside brackets, or
/// inside a string or a comment.
///
/// ast-grep re-indents the text of metavariables, so a fix on a call whose
/// arguments span several lines loses their continuation indentation and
/// glues the closing parenthesis on; it even re-indents the continuation
/// lines of a multi-line string, changing its value. Here the non-blank
/// characters of the match and of the fix are aligned (a diff); between two
/// aligned characters, the match's own blanks are kept when both sides hold
/// only blanks, one of them breaks a line, and the place is inside brackets
/// of the match (`(`, `[`, `{` not closed yet) or inside one of its
/// `literals` (strings and comments, byte ranges of `matched`, whose
/// brackets and quotes do not count). Outside brackets indentation can mean
/// something (a Python block), so the fix's own re-indentation stands there.
/// Everything the fix really changes comes from the fix. A match on one
/// line is left exactly as ast-grep fixes it.
pub(super) fn keep_layout(matched: &str, fixed: &str, literals: &[Range<usize>]) -> String {
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
    let mut nesting = Nesting {
        literals,
        ..Nesting::default()
    };
    for op in ops {
        if let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                let ((a_at, c), (b_at, _)) = (a[old_index + k], b[new_index + k]);
                nesting.advance(&matched[nesting.scanned..a_at]);
                out.push_str(gap(
                    &matched[a_done..a_at],
                    &fixed[b_done..b_at],
                    nesting.inside() || nesting.in_literal(a_done..a_at),
                ));
                out.push(c);
                a_done = a_at + c.len_utf8();
                b_done = b_at + c.len_utf8();
            }
        }
    }
    nesting.advance(&matched[nesting.scanned..]);
    let keep = nesting.inside() || nesting.in_literal(a_done..matched.len());
    out.push_str(gap(&matched[a_done..], &fixed[b_done..], keep));
    out
}

/// Between two aligned characters: the match's blanks, or the fix's text.
fn gap<'a>(matched: &'a str, fixed: &'a str, keep_blanks: bool) -> &'a str {
    let blank = |s: &str| s.chars().all(char::is_whitespace);
    let layout_only =
        blank(matched) && blank(fixed) && (matched.contains('\n') || fixed.contains('\n'));
    if keep_blanks && layout_only {
        matched
    } else {
        fixed
    }
}

/// How deep in brackets a scan of the matched text is.
#[derive(Default)]
struct Nesting<'l> {
    /// Strings and comments (byte ranges of the matched text): skipped.
    literals: &'l [Range<usize>],
    /// Bytes of the matched text scanned so far.
    scanned: usize,
    depth: usize,
    /// The quote of the string literal being scanned, if any.
    quote: Option<char>,
    escaped: bool,
}

impl Nesting<'_> {
    fn advance(&mut self, text: &str) {
        for c in text.chars() {
            let at = self.scanned;
            self.scanned += c.len_utf8();
            if self.literals.iter().any(|r| r.contains(&at)) {
                continue;
            }
            match self.quote {
                Some(_) if self.escaped => self.escaped = false,
                Some(_) if c == '\\' => self.escaped = true,
                Some(q) if c == q => self.quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' | '`' => self.quote = Some(c),
                    '(' | '[' | '{' => self.depth += 1,
                    ')' | ']' | '}' => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                },
            }
        }
    }

    fn inside(&self) -> bool {
        self.depth > 0 && self.quote.is_none()
    }

    /// Whether the blanks at `gap` are inside a string or a comment.
    fn in_literal(&self, gap: Range<usize>) -> bool {
        self.literals
            .iter()
            .any(|r| r.start < gap.start && gap.end < r.end)
    }
}

/// Apply `edits` in position order, dropping any that overlaps an earlier one.
/// `source` with `edits` made (sorted, overlapping ones dropped), the count
/// of edits made per rule, and the edits made, in order.
fn splice(
    source: &str,
    mut edits: Vec<Edit>,
    rule_count: usize,
) -> (String, Vec<usize>, Vec<(usize, usize, String)>) {
    edits.sort_by_key(|e| (e.start, e.rule, e.end));
    let mut counts = vec![0; rule_count];
    let mut out = String::with_capacity(source.len());
    let mut made = Vec::new();
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
        made.push((edit.start, edit.end, edit.text));
    }
    out.push_str(&source[done..]);
    (out, counts, made)
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

#[cfg(test)]
mod reparse_tests {
    use ast_grep_core::tree_sitter::LanguageExt;

    use super::*;

    fn edit(source: &str, from: &str, to: &str) -> Vec<Edit> {
        source
            .match_indices(from)
            .map(|(start, _)| Edit {
                start,
                end: start + from.len(),
                text: to.to_string(),
                rule: 0,
            })
            .collect()
    }

    /// The next pass's tree, re-parsed from the edited tree, is the one a
    /// fresh parse of the rewritten text gives: several edits, longer and
    /// shorter, over lines, with non-ASCII text before them, and in code
    /// with a syntax error.
    #[test]
    fn the_next_pass_gets_the_tree_a_fresh_parse_would_give() {
        let cases = [
            (
                SupportLang::Python,
                "# é\nimport logging\nlogging.warn('a')\nif x:\n    logging.warn(\n        'b')\n",
                "warn",
                "warning",
            ),
            (
                SupportLang::Python,
                "d = {k: v for k in d.keys()}\nx = (\nk in d.keys())\ny = [1,\n",
                "d.keys()",
                "d",
            ),
            (
                SupportLang::JavaScript,
                "const s = 'ü';\nconsole.log(a);\nfunction f() {\n  console.log(\n    b);\n}\n",
                "console.log",
                "console.debug",
            ),
            (
                SupportLang::TypeScript,
                "let a: number = 1;\nif (x.indexOf(y) !== -1) {\n  a = 2;\n}\n",
                "x.indexOf(y) !== -1",
                "x.includes(y)\n  ",
            ),
        ];
        for (language, before, from, to) in cases {
            arena::with_trees(|trees| {
                let grep = trees.parse(language, before.to_string(), None);
                let (after, counts, made) = splice(before, edit(before, from, to), 1);
                assert!(counts[0] > 0);
                let next = reparse(trees, &grep, &made, &after);
                assert_eq!(next.root().get_doc().src, after);
                // Kinds, bytes and points of every node.
                let nodes = |root: ast_grep_core::Node<'_, StrDoc<SupportLang>>| {
                    root.dfs()
                        .map(|n| {
                            let inner = n.get_inner_node();
                            (
                                n.kind().to_string(),
                                n.range(),
                                inner.start_position(),
                                inner.end_position(),
                            )
                        })
                        .collect::<Vec<_>>()
                };
                let fresh = language.ast_grep(&after);
                assert_eq!(
                    nodes(next.root()),
                    nodes(fresh.root()),
                    "{language:?}: {after:?}"
                );
            });
        }
    }

    /// What tree-sitter is told of each edit is what editing the text one
    /// edit at a time, last first, tells it (ast-grep's `accept_edit`): on
    /// edits that add and remove lines, several on one line, at the start
    /// and at the end, after non-ASCII text.
    #[test]
    fn input_edits_are_those_of_editing_the_text_edit_by_edit() {
        use ast_grep_core::tree_sitter::ContentExt;
        let source = "a é b\nline two\n\nccc ddd\neee";
        let made = vec![
            (0, 1, "A\nA".to_string()),
            (2, 4, String::new()),
            (7, 11, "x".to_string()),
            (12, 15, "y\nz\n".to_string()),
            (16, 17, "q".to_string()),
            (17, 20, "\n".to_string()),
            (25, 28, "end".to_string()),
        ];
        assert_eq!(source.len(), 28);
        let mine = input_edits(source, &made);
        let mut text = source.to_string();
        let mut theirs = Vec::new();
        for (start, end, inserted) in made.iter().rev() {
            theirs.push(text.accept_edit(&ast_grep_core::source::Edit::<String> {
                position: *start,
                deleted_length: end - start,
                inserted_text: inserted.as_bytes().to_vec(),
            }));
        }
        theirs.reverse();
        assert_eq!(mine, theirs);
        let (after, _, _) = splice(
            source,
            made.iter()
                .map(|(start, end, text)| Edit {
                    start: *start,
                    end: *end,
                    text: text.clone(),
                    rule: 0,
                })
                .collect(),
            1,
        );
        assert_eq!(text, after);
    }
}

#[cfg(test)]
mod walk_tests {
    use ast_grep_config::{GlobalRules, from_yaml_string};
    use ast_grep_core::tree_sitter::LanguageExt;

    use super::super::prefilter::{Needs, Prefilter};
    use super::*;

    /// Per rule, the byte ranges of its matches.
    type Found = Vec<Vec<Range<usize>>>;

    /// The byte ranges each rule matches in `source`: by every rule's own
    /// `find_all` over the whole tree, and by one walk of the nodes that
    /// hold the rules' anchors.
    fn both_ways(rules: &str, source: &str) -> (Found, Found) {
        let configs = from_yaml_string::<SupportLang>(rules, &GlobalRules::default())
            .unwrap_or_else(|e| panic!("{e}: {rules}"));
        let language = configs[0].language;
        let needs: Vec<(Needs, Needs)> = configs.iter().map(Needs::of_rule).collect();
        let prefilter = Prefilter::new(needs.iter().map(|(a, b)| (a, b)));
        let numbers: Vec<usize> = (0..configs.len()).collect();
        let active = prefilter.may_match(&numbers, source);
        let anchors = prefilter.anchors(&numbers, &active, source);
        assert!(anchors.is_some(), "every rule here has anchors: {rules}");
        let grep = language.ast_grep(source);
        let whole: Found = configs
            .iter()
            .map(|c| {
                grep.root()
                    .find_all(&c.matcher)
                    .map(|m| m.range())
                    .collect()
            })
            .collect();
        let mut walked = vec![Vec::new(); configs.len()];
        walk(&grep, anchors.as_deref(), |node| {
            for (i, c) in configs.iter().enumerate() {
                if let Some(m) = c.matcher.match_node(node.clone()) {
                    walked[i].push(m.range());
                }
            }
        });
        (whole, walked)
    }

    /// Matches written oddly (comments and line breaks inside, nested in
    /// one another, at the very start and end of the file), and rules whose
    /// text is partly outside their match (`inside`), in a descendant
    /// (`has`), in a `regex`, a constraint or one of `any`'s branches: a
    /// walk of the anchored nodes finds every match a walk of the whole
    /// tree does, in the same order, and the test fails when it does not.
    #[test]
    fn a_walk_of_the_anchored_nodes_finds_every_match() {
        let cases: &[(&str, &str)] = &[
            (
                "id: a\nlanguage: javascript\nrule: {pattern: console.log}\n",
                "console.log(1)\nconsole /* c */ . log(2); x.console.log;\nconsole\n  .log(console.log(3))\nfunction f() { return console.log }",
            ),
            (
                "id: a\nlanguage: python\nrule: {pattern: '$SELF.assertEquals($A, $B)'}\n---\nid: b\nlanguage: python\nrule: {pattern: 'isinstance($X, $A) or isinstance($X, $B)'}\n",
                "self.assertEquals(\n  # note\n  a, self.assertEquals(b, c))\nif isinstance(x, A) or \\\n   isinstance(x, B): pass\nt.assertEquals(isinstance(y, C) or isinstance(y, D), 1)",
            ),
            (
                "id: a\nlanguage: python\nrule:\n  pattern: $X.send()\n  inside:\n    kind: function_definition\n    stopBy: end\n    has: {pattern: marked(), stopBy: end}\n",
                "def handler(a):\n    marked()\n    a.send()\n    if a:\n        b.send()\ndef other():\n    c.send()\n",
            ),
            (
                "id: a\nlanguage: python\nrule:\n  kind: call\n  has: {pattern: secret_token, stopBy: end}\n",
                "f(g(h(secret_token)))\nq(secret)\nsecret_token()\n",
            ),
            (
                "id: a\nlanguage: python\nrule: {kind: identifier, regex: '^legacy_'}\n",
                "legacy_a = legacy_b(x.legacy_c)\nnot_legacy_d = 1\n",
            ),
            (
                "id: a\nlanguage: typescript\nrule:\n  any:\n    - pattern: $A.indexOf($B) !== -1\n    - pattern: JSON.parse(JSON.stringify($X))\n",
                "if (a.indexOf(b) !== -1) {}\nconst c = JSON.parse(JSON.stringify(a.indexOf(JSON.parse(JSON.stringify(d))) !== -1));",
            ),
            (
                "id: a\nlanguage: python\nrule: {pattern: $F($A)}\nconstraints:\n  A: {regex: '^token_'}\n",
                "f(token_a)\ng(other)\nh(f(token_b))\n",
            ),
            (
                "id: a\nlanguage: javascript\nrule: {pattern: 'typeof $X === \"undefined\"'}\n",
                "typeof a === \"undefined\"\nif (typeof /* x */ b\n === \"undefined\" && typeof c === 'undefined') {}",
            ),
        ];
        for (rules, source) in cases {
            let (whole, walked) = both_ways(rules, source);
            assert!(
                whole.iter().any(|m| !m.is_empty()),
                "the case finds nothing: {rules}"
            );
            assert_eq!(whole, walked, "{rules}\n{source}");
        }
    }

    /// A rule whose matches need no known text (a `kind` alone) makes the
    /// walk cover the whole tree.
    #[test]
    fn without_anchors_for_some_rule_the_whole_tree_is_walked() {
        let rules = "id: a\nlanguage: python\nrule: {kind: call}\n";
        let configs = from_yaml_string::<SupportLang>(rules, &GlobalRules::default()).unwrap();
        let needs = [Needs::of_rule(&configs[0])];
        let prefilter = Prefilter::new(needs.iter().map(|(a, b)| (a, b)));
        assert_eq!(prefilter.anchors(&[0], &[true], "f(x)\n"), None);
    }
}
