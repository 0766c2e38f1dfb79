//! Skipping rules, and whole files, that cannot match, before parsing.
//!
//! Parsing is most of the cost of applying a recipe, and in a fleet most
//! files hold nothing a rule looks for. For every rule we derive text that
//! any match must contain ([`Needs`]); one Aho-Corasick scan of a file tells
//! which rules may match it, and a file no rule may match is never parsed.
//!
//! Soundness comes before coverage: skipping a rule that would have matched
//! is a missed rewrite, so any part of a rule that is not understood here
//! adds no requirement, and a rule with no requirement always runs.
//!
//! Why the literals are necessary (ast-grep-core 0.51.1, pinned):
//! - A named leaf of a pattern (an identifier, a number, a string's content;
//!   not punctuation, not a metavariable) matches only a node whose text
//!   equals it (`MatchStrictness::match_terminal`), and under the
//!   strictnesses `cst`, `smart`, `ast` and `relaxed` such a leaf is never
//!   skipped (`should_skip_goal`, `match_terminal` skip only unnamed leaves
//!   and `$$$`). A node's text is a slice of the file, so the leaf's text is
//!   in the file. `signature` ignores text and `template` ignores kinds:
//!   those patterns give nothing.
//! - A Python `identifier` leaf matches an `identifier` node (same kind),
//!   which tree-sitter-python lexes longest-first from
//!   `[_\p{XID_Start}][_\p{XID_Continue}]*` (keywords are extracted from that
//!   same word token): the file's text right after it is not an ASCII letter,
//!   digit or `_`. So `warn` is only found at a word end, not in `warning`.
//!   Before it, the run of ASCII letters, digits and `_` that ends where it
//!   starts is empty, or starts with a digit (a number token may end right
//!   there: `0x1for` is `0x1f` then `or`): a run that starts with a letter
//!   or `_` would have been lexed as one longer identifier, so `warn` is not
//!   found in `prewarn`. JavaScript and TypeScript identifiers
//!   (`identifier`, `property_identifier`, `type_identifier`...) are lexed
//!   the same way from `[A-Za-z_$][A-Za-z0-9_$]*` and Unicode: the same two
//!   checks hold for them (`$` and non-ASCII count as non-word characters,
//!   which only lets more files through). Only a leaf whose text is ASCII
//!   letters, digits and `_` is looked for as a whole word. Other languages
//!   and other leaves are plain substrings.
//! - A string's content is needed together with its opening delimiter
//!   (`"undefined`, not `undefined`), under `cst` and `smart` only. Under
//!   these a pattern's unnamed leaf is never skipped either: it is matched
//!   by a candidate of the same kind (`match_terminal`; only the candidate's
//!   unnamed nodes may be skipped, and the first child of a candidate
//!   `string` is its opening delimiter). In JavaScript and TypeScript that
//!   kind is the token `"` or `'`, lexed only from that one character, and
//!   the next child, the `string_fragment` the pattern names, is an
//!   immediate token (`token.immediate`): no extra (space, comment) before
//!   it, so it starts where the quote ends. In Python the delimiter is the
//!   named `string_start` (its text is compared, prefix and quotes alike),
//!   and the scanner starts `string_content` at once, skipping nothing. A
//!   delimiter is never a zero-width `MISSING` token here: tree-sitter
//!   inserts one only when the lookahead then reduces, and right after an
//!   opening delimiter nothing reduces (the string needs its closing one).
//!   Under `ast` and `relaxed` a pattern's unnamed leaves may be skipped,
//!   so only the content is needed there. The lexing fact is checked on
//!   odd and broken code by `a_strings_content_starts_where_its_opening_delimiter_ends`.
//! - A literal that another literal of the same pattern contains, needed
//!   at least as often, is dropped: the places of the longer one hold it
//!   (a string's closing quote beside its opening quote and content).
//! - A pattern with `context` and `selector` matches with the selected node
//!   only; its leaves are taken from the pattern ast-grep builds, which is
//!   that node, never from the scaffolding around it.
//! - The same leaf n times in one pattern matches n distinct nodes (a
//!   pattern's nodes match distinct nodes of the target, in order), whose
//!   texts are n places of the file that do not overlap: the literal is
//!   needed n times. Counts of different patterns (under `all`, say) do not
//!   add up: two patterns may match the same node.
//! - Every field of a rule object must hold at once, so their needs add up.
//!   `inside`, `has`, `precedes` and `follows` need a node of the same file
//!   matching their rule (`stopBy` and `field` only narrow where to look,
//!   and a `stopBy` rule is not needed at all); `any` needs one of its
//!   branches; `all` needs all of them.
//! - A `regex` must match the node's text, so a match of it is in the file:
//!   it needs one of the prefixes regex-syntax proves every match starts with.
//! - A constraint on a metavariable that a necessary pattern always binds
//!   (a named `$VAR` of the rule's own `pattern`, or of one under `all`) must
//!   match the bound node, so its needs add up too. Constraints on other
//!   variables are checked only when the variable happens to be bound
//!   (`MetaVarEnv::match_constraints`): they give nothing.
//! - `not`, `kind`, `nthChild`, `range` and `matches` (utility rules, which
//!   may be defined elsewhere) give nothing.
//!
//! Where in a file a rule's matches can be ([`Needs::of_rule`],
//! [`Prefilter::anchors`]): the same argument, for the text inside the node
//! a rule matches rather than anywhere in the file. A pattern's named
//! leaves, a `regex` match's prefix, a `has` descendant and a bound
//! metavariable's constraint are inside the matched node; an `inside`
//! ancestor and `precedes`/`follows` siblings are not, and give nothing
//! there. So every matched node contains the start of an occurrence of each
//! clause of its rule's node needs, and so does each of its ancestors: a
//! walk of the tree that enters only the nodes holding such a place meets
//! every match (`apply::walk`, tested against whole-tree walks in
//! `apply::walk_tests`). On real code that is a few paths down a tree of
//! hundreds of thousands of nodes.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use aho_corasick::AhoCorasick;
use ast_grep_config::{RuleConfig, SerializableRule};
use ast_grep_core::matcher::PatternNode;
use ast_grep_core::meta_var::MetaVariable;
use ast_grep_core::{Language, MatchStrictness, Pattern};
use regex_syntax::hir::literal::Extractor;
use serde::Deserialize;

use super::SupportLang;

/// Clauses kept per rule. Each one more makes the filter stricter and the
/// scan a little slower; dropping a clause only lets more files through.
const MAX_CLAUSES: usize = 4;

/// What a file must contain for a rule to match in it: every clause has at
/// least one of its literals in the file. No clause: unknown, always parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Needs {
    clauses: Vec<Vec<Literal>>,
}

/// Text a file must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Literal {
    text: String,
    /// Only an occurrence that is a whole word counts: not followed by an
    /// ASCII letter, digit or `_`, and not preceded by a run of them that
    /// starts with a letter or `_` (a whole identifier, see the module
    /// documentation).
    word: bool,
    /// How many times, at least, without overlapping: a pattern with the
    /// same leaf twice (`isinstance($X, $A) or isinstance($X, $B)`) matches
    /// two nodes, whose texts are two places of the file.
    times: usize,
}

impl Needs {
    /// The needs of a compiled rule, read from its serialized form (the
    /// compiled matcher is private to ast-grep-config).
    #[cfg(test)]
    pub(super) fn of(config: &RuleConfig<SupportLang>) -> Needs {
        Needs::of_rule(config).0
    }

    /// A rule's needs in a file ([`Scope::File`]) and in the node of each
    /// of its matches ([`Scope::Node`]: where in a file its matches can
    /// be), from one reading of the rule.
    pub(super) fn of_rule(config: &RuleConfig<SupportLang>) -> (Needs, Needs) {
        let language = config.language;
        let Some(view) = RuleView::of(&config.rule) else {
            return (Needs::default(), Needs::default());
        };
        let bound = view.bound_vars(language);
        let constraints: Vec<RuleView> = config
            .constraints
            .iter()
            .flatten()
            .filter(|(var, _)| bound.contains(*var))
            .filter_map(|(_, constraint)| RuleView::of(constraint))
            .collect();
        let scoped = |scope| {
            let mut needs = view.needs(language, scope);
            for constraint in &constraints {
                needs.and(constraint.needs(language, scope));
            }
            needs.keep_strongest(MAX_CLAUSES);
            needs
        };
        (scoped(Scope::File), scoped(Scope::Node))
    }

    /// True when nothing is known: the rule may match any file.
    #[cfg(test)]
    fn is_unknown(&self) -> bool {
        self.clauses.is_empty()
    }

    /// A need for `literal`; nothing for empty text, which every file contains.
    fn literal(literal: Literal) -> Needs {
        let clauses = if literal.text.is_empty() {
            Vec::new()
        } else {
            vec![vec![literal]]
        };
        Needs { clauses }
    }

    /// Both `self` and `other` are needed.
    fn and(&mut self, other: Needs) {
        for clause in other.clauses {
            if !self.clauses.contains(&clause) {
                self.clauses.push(clause);
            }
        }
    }

    /// One of `branches` is needed: the strongest clause of each, joined
    /// into one. Unknown when any branch is (it may match anything), and
    /// when there is no branch (an empty `any`: left to ast-grep).
    fn any_of(branches: Vec<Needs>) -> Needs {
        let mut clause: Vec<Literal> = Vec::new();
        for branch in &branches {
            let Some(best) = branch.strongest() else {
                return Needs::default();
            };
            for literal in best {
                if !clause.contains(literal) {
                    clause.push(literal.clone());
                }
            }
        }
        let clauses = if clause.is_empty() {
            Vec::new()
        } else {
            vec![clause]
        };
        Needs { clauses }
    }

    fn strongest(&self) -> Option<&Vec<Literal>> {
        self.clauses.iter().min_by_key(|c| strength(c))
    }

    /// Keep the `n` clauses least likely to be met by chance.
    fn keep_strongest(&mut self, n: usize) {
        self.clauses.sort_by_key(|c| strength(c));
        self.clauses.truncate(n);
    }
}

/// Sort key of a clause, best first: a clause is as common as its shortest
/// literal (short text turns up everywhere; a word end makes it rarer), then
/// fewer literals is better.
fn strength(clause: &[Literal]) -> (std::cmp::Reverse<(usize, bool)>, usize) {
    let weakest = clause
        .iter()
        .map(|l| (l.text.len(), l.word))
        .min()
        .unwrap_or((0, false));
    (std::cmp::Reverse(weakest), clause.len())
}

/// Where needed text is: anywhere in the file, or inside the matched node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Anywhere in the file: every field of the rule counts.
    File,
    /// Inside the text of the node a rule matches. A pattern's nodes, a
    /// `regex` match, a `has` descendant and a bound metavariable are all in
    /// it; an `inside` ancestor and `precedes`/`follows` siblings are not,
    /// and give nothing.
    Node,
}

/// The parts of a serialized ast-grep rule that say something about text.
/// Other keys (`kind`, `not`, `matches`, `nthChild`, `range`, and `stopBy`,
/// `field` of a relation) are ignored, which only ever lets more files in.
#[derive(Debug, Default, Deserialize)]
struct RuleView {
    pattern: Option<PatternView>,
    regex: Option<String>,
    inside: Option<Box<RuleView>>,
    has: Option<Box<RuleView>>,
    precedes: Option<Box<RuleView>>,
    follows: Option<Box<RuleView>>,
    all: Option<Vec<RuleView>>,
    any: Option<Vec<RuleView>>,
}

/// ast-grep's `PatternStyle`, which is not exported.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PatternView {
    Str(String),
    Contextual {
        context: String,
        selector: Option<String>,
        strictness: Option<String>,
    },
}

impl RuleView {
    /// The view of a rule through its JSON form (its `pattern` type is not
    /// exported); `None` if that fails, which means "unknown".
    fn of(rule: &SerializableRule) -> Option<RuleView> {
        let value = serde_json::to_value(rule).ok()?;
        serde_json::from_value(value).ok()
    }

    fn needs(&self, language: SupportLang, scope: Scope) -> Needs {
        let mut needs = Needs::default();
        if let Some(pattern) = &self.pattern {
            needs.and(pattern.needs(language));
        }
        if let Some(regex) = &self.regex {
            needs.and(regex_needs(regex));
        }
        let related = match scope {
            Scope::File => [&self.inside, &self.has, &self.precedes, &self.follows],
            Scope::Node => [&None, &self.has, &None, &None],
        };
        for rule in related.into_iter().flatten() {
            needs.and(rule.needs(language, scope));
        }
        for rule in self.all.iter().flatten() {
            needs.and(rule.needs(language, scope));
        }
        if let Some(any) = &self.any {
            needs.and(Needs::any_of(
                any.iter().map(|r| r.needs(language, scope)).collect(),
            ));
        }
        needs
    }

    /// The metavariables every match binds: the named `$VAR`s of this
    /// rule's own pattern and of the rules under `all`.
    fn bound_vars(&self, language: SupportLang) -> HashSet<String> {
        let mut vars = HashSet::new();
        if let Some(pattern) = self.pattern.as_ref().and_then(|p| p.build(language)) {
            bound_captures(&pattern.node, &mut vars);
        }
        for rule in self.all.iter().flatten() {
            vars.extend(rule.bound_vars(language));
        }
        vars
    }
}

impl PatternView {
    /// The pattern as ast-grep-config builds it, if its strictness matches
    /// named leaves and named metavariables every time.
    fn build(&self, language: SupportLang) -> Option<Pattern> {
        let pattern = match self {
            PatternView::Str(source) => Pattern::try_new(source, language).ok()?,
            PatternView::Contextual {
                context,
                selector,
                strictness,
            } => {
                let pattern = match selector {
                    Some(selector) => Pattern::contextual(context, selector, language),
                    None => Pattern::try_new(context, language),
                }
                .ok()?;
                match strictness {
                    Some(s) => pattern.with_strictness(MatchStrictness::from_str(s).ok()?),
                    None => pattern,
                }
            }
        };
        compares_named_text(&pattern.strictness).then_some(pattern)
    }

    fn needs(&self, language: SupportLang) -> Needs {
        let mut needs = Needs::default();
        if let Some(pattern) = self.build(language) {
            let kinds = LeafKinds {
                identifiers: identifier_kinds(language),
                // An unnamed delimiter must be matched (not skipped) only
                // under these two.
                strings: matches!(
                    pattern.strictness,
                    MatchStrictness::Cst | MatchStrictness::Smart
                )
                .then(|| StringKinds::of(language))
                .flatten(),
            };
            let mut leaves: Vec<Literal> = Vec::new();
            named_leaves(&pattern.node, &kinds, &mut leaves);
            // The same leaf n times in one pattern: n places of the file.
            let mut counted: Vec<Literal> = Vec::new();
            for leaf in leaves {
                match counted
                    .iter_mut()
                    .find(|l| l.text == leaf.text && l.word == leaf.word)
                {
                    Some(l) => l.times += 1,
                    None => counted.push(leaf),
                }
            }
            // A literal another one holds, as often, adds nothing but work
            // for the scan (a string's closing quote, needed with its
            // content's opening one: `"` beside `"r`, found at every quote).
            let implied = |l: &Literal| {
                !l.word
                    && counted.iter().any(|m| {
                        !std::ptr::eq(m, l)
                            && m.text.len() > l.text.len()
                            && m.text.contains(&l.text)
                            && m.times >= l.times
                    })
            };
            let kept: Vec<Literal> = counted.iter().filter(|l| !implied(l)).cloned().collect();
            for literal in kept {
                needs.and(Needs::literal(literal));
            }
        }
        needs
    }
}

/// Whether a strictness matches a pattern's named leaves by their text, and
/// never skips a named metavariable.
fn compares_named_text(strictness: &MatchStrictness) -> bool {
    match strictness {
        MatchStrictness::Cst
        | MatchStrictness::Smart
        | MatchStrictness::Ast
        | MatchStrictness::Relaxed => true,
        MatchStrictness::Signature | MatchStrictness::Template => false,
    }
}

/// The node kinds of `language` whose leaves are lexed as whole words (see
/// the module documentation); none for the languages not argued for.
fn identifier_kinds(language: SupportLang) -> Vec<u16> {
    let names: &[&str] = match language {
        SupportLang::Python => &["identifier"],
        SupportLang::JavaScript => &[
            "identifier",
            "property_identifier",
            "shorthand_property_identifier",
            "shorthand_property_identifier_pattern",
            "statement_identifier",
        ],
        SupportLang::TypeScript | SupportLang::Tsx => &[
            "identifier",
            "property_identifier",
            "shorthand_property_identifier",
            "shorthand_property_identifier_pattern",
            "statement_identifier",
            "type_identifier",
        ],
        _ => &[],
    };
    names
        .iter()
        .map(|name| language.kind_to_id(name))
        .filter(|id| *id != 0)
        .collect()
}

/// Whether `text` is ASCII letters, digits and `_` only.
fn is_ascii_word(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_word_byte)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the occurrence `start..end` of `bytes` is a whole word: see
/// [`Literal::word`].
fn whole_word(bytes: &[u8], start: usize, end: usize) -> bool {
    if bytes.get(end).is_some_and(|b| is_word_byte(*b)) {
        return false;
    }
    let mut run = start;
    while run > 0 && is_word_byte(bytes[run - 1]) {
        run -= 1;
    }
    run == start || bytes[run].is_ascii_digit()
}

/// What `named_leaves` knows of a language's leaves.
struct LeafKinds {
    /// Kinds lexed as whole words (see [`identifier_kinds`]).
    identifiers: Vec<u16>,
    /// Its string literals, when the pattern's strictness lets their
    /// delimiters count.
    strings: Option<StringKinds>,
}

/// The string literal of a language whose content token starts right
/// where its opening delimiter ends (see the module documentation):
/// JavaScript and TypeScript `string` (an unnamed `"` or `'` token, then a
/// `string_fragment`, an immediate token) and Python `string` (a named
/// `string_start` token, then a `string_content` its scanner starts at
/// once).
struct StringKinds {
    string: u16,
    content: u16,
    /// The opening delimiter is a named node of this kind (Python's
    /// `string_start`, text-compared); `None`: an unnamed `"` or `'`.
    named_start: Option<u16>,
}

impl StringKinds {
    fn of(language: SupportLang) -> Option<StringKinds> {
        let id = |name: &str| Some(language.kind_to_id(name)).filter(|id| *id != 0);
        match language {
            SupportLang::JavaScript | SupportLang::TypeScript | SupportLang::Tsx => {
                Some(StringKinds {
                    string: id("string")?,
                    content: id("string_fragment")?,
                    named_start: None,
                })
            }
            SupportLang::Python => Some(StringKinds {
                string: id("string")?,
                content: id("string_content")?,
                named_start: Some(id("string_start")?),
            }),
            _ => None,
        }
    }

    /// The text of a string's opening delimiter and its content, when the
    /// pattern node `string_kind` with `children` starts with them.
    fn opening(&self, string_kind: u16, children: &[PatternNode]) -> Option<String> {
        if string_kind != self.string {
            return None;
        }
        let [
            PatternNode::Terminal {
                text: delimiter,
                is_named,
                kind_id,
            },
            PatternNode::Terminal {
                text: content,
                is_named: true,
                kind_id: content_kind,
            },
            ..,
        ] = children
        else {
            return None;
        };
        let delimiter_ok = match self.named_start {
            Some(start) => *is_named && *kind_id == start,
            None => !*is_named && (delimiter == "\"" || delimiter == "'"),
        };
        (delimiter_ok && *content_kind == self.content && !content.is_empty())
            .then(|| format!("{delimiter}{content}"))
    }
}

/// The text of every named leaf under `node`; metavariables and unnamed
/// leaves (punctuation, keywords, matched by kind alone) give nothing. A
/// leaf of one of the `identifiers` kinds must be a whole word. A string's
/// content is needed with its opening delimiter (`"undefined`), when
/// `kinds.strings` knows the string.
fn named_leaves(node: &PatternNode, kinds: &LeafKinds, leaves: &mut Vec<Literal>) {
    match node {
        PatternNode::MetaVar { .. } => {}
        PatternNode::Terminal {
            text,
            is_named,
            kind_id,
        } => {
            if *is_named {
                leaves.push(Literal {
                    text: text.clone(),
                    word: kinds.identifiers.contains(kind_id) && is_ascii_word(text),
                    times: 1,
                });
            }
        }
        PatternNode::Internal { kind_id, children } => {
            let opening = kinds
                .strings
                .as_ref()
                .and_then(|strings| strings.opening(*kind_id, children));
            let rest = match opening {
                Some(text) => {
                    leaves.push(Literal {
                        text,
                        word: false,
                        times: 1,
                    });
                    &children[2..]
                }
                None => &children[..],
            };
            for child in rest {
                named_leaves(child, kinds, leaves);
            }
        }
    }
}

/// The names of the named single metavariables (`$VAR`) under `node`.
fn bound_captures(node: &PatternNode, vars: &mut HashSet<String>) {
    match node {
        PatternNode::MetaVar {
            meta_var: MetaVariable::Capture(name, true),
        } => {
            vars.insert(name.clone());
        }
        PatternNode::MetaVar { .. } | PatternNode::Terminal { .. } => {}
        PatternNode::Internal { children, .. } => {
            for child in children {
                bound_captures(child, vars);
            }
        }
    }
}

/// One clause: the prefixes every match of `regex` starts with, when
/// regex-syntax can list them all and none is empty.
fn regex_needs(regex: &str) -> Needs {
    let Ok(hir) = regex_syntax::parse(regex) else {
        return Needs::default();
    };
    let prefixes = Extractor::new().extract(&hir);
    let Some(literals) = prefixes.literals() else {
        return Needs::default();
    };
    let texts: Option<Vec<Literal>> = literals
        .iter()
        .map(|l| {
            let text = String::from_utf8(l.as_bytes().to_vec()).ok()?;
            let word = false;
            (!text.is_empty()).then_some(Literal {
                text,
                word,
                times: 1,
            })
        })
        .collect();
    match texts {
        Some(texts) if !texts.is_empty() => Needs {
            clauses: vec![texts],
        },
        _ => Needs::default(),
    }
}

/// The needs of every rule of a recipe, searched with one automaton.
#[derive(Debug)]
pub(super) struct Prefilter {
    /// The distinct texts of all literals; `None` when there is none.
    searcher: Option<AhoCorasick>,
    /// Per text of `searcher`: the most places any literal needs it at
    /// (0: none), anywhere and as a whole word.
    wanted: Vec<(usize, usize)>,
    /// Per rule (in recipe order), its clauses as (text number, whole word,
    /// places); no clause: the rule may match anything.
    rules: Vec<Vec<Vec<(usize, bool, usize)>>>,
    /// Per rule, the clauses of what the text of each node it matches
    /// contains ([`Scope::Node`]), as (text number, whole word); no
    /// clause: its matches may be anywhere.
    within: Vec<Vec<Vec<(usize, bool)>>>,
}

/// How many places, not overlapping, of each text a file holds (counted up
/// to what is wanted): anywhere, and as a whole word.
struct Found {
    anywhere: Vec<usize>,
    word: Vec<usize>,
}

impl Found {
    /// Whether the literal is there as many times as it needs; a text not
    /// scanned for counts as there.
    fn has(&self, (text, word, times): (usize, bool, usize)) -> bool {
        let seen = if word { &self.word } else { &self.anywhere };
        seen.get(text).is_none_or(|n| *n >= times)
    }
}

impl Prefilter {
    /// The prefilter of rules given as (what a file must contain, what
    /// each match's node contains).
    pub(super) fn new<'a>(needs: impl IntoIterator<Item = (&'a Needs, &'a Needs)>) -> Prefilter {
        let mut numbers: HashMap<&'a str, usize> = HashMap::new();
        let mut texts: Vec<&'a str> = Vec::new();
        let mut wanted: Vec<(usize, usize)> = Vec::new();
        // A literal's text number; `times`: how many places a file must hold
        // (0: searched for, never required).
        let mut number = |literal: &'a Literal, times: usize| {
            let n = *numbers.entry(&literal.text).or_insert_with(|| {
                texts.push(&literal.text);
                wanted.push((0, 0));
                texts.len() - 1
            });
            let (anywhere, word) = &mut wanted[n];
            let want = if literal.word { word } else { anywhere };
            *want = (*want).max(times);
            (n, literal.word, times)
        };
        let mut rules: Vec<Vec<Vec<(usize, bool, usize)>>> = Vec::new();
        let mut within: Vec<Vec<Vec<(usize, bool)>>> = Vec::new();
        for (file, node) in needs {
            rules.push(
                file.clauses
                    .iter()
                    .map(|c| c.iter().map(|l| number(l, l.times)).collect())
                    .collect(),
            );
            // Registered for the search only: a file is not asked to hold
            // any number of them.
            within.push(
                node.clauses
                    .iter()
                    .map(|c| {
                        c.iter()
                            .map(|l| {
                                let (n, word, _) = number(l, 0);
                                (n, word)
                            })
                            .collect()
                    })
                    .collect(),
            );
        }
        let searcher = if texts.is_empty() {
            None
        } else {
            AhoCorasick::new(&texts).ok()
        };
        // Without a searcher nothing can be told apart: every rule runs,
        // on every node.
        let (rules, within) = if searcher.is_some() {
            (rules, within)
        } else {
            (Vec::new(), Vec::new())
        };
        Prefilter {
            rules,
            within,
            wanted,
            searcher,
        }
    }

    /// How many places of each text are in `text`, stopping as soon as
    /// every count wanted is reached. Places of one text are counted
    /// without overlap: the matches of a text come in the order they end,
    /// and taking each that starts after the last one taken ends gives the
    /// most places that do not overlap.
    fn found(&self, text: &str) -> Found {
        let count = self.wanted.len();
        let mut found = Found {
            anywhere: vec![0; count],
            word: vec![0; count],
        };
        let Some(searcher) = &self.searcher else {
            return found;
        };
        let bytes = text.as_bytes();
        let mut ends = vec![(0usize, 0usize); count];
        let mut missing = self
            .wanted
            .iter()
            .map(|(a, w)| usize::from(*a > 0) + usize::from(*w > 0))
            .sum::<usize>();
        for m in searcher.find_overlapping_iter(text) {
            let n = m.pattern().as_usize();
            let (want_any, want_word) = self.wanted[n];
            if found.anywhere[n] < want_any && m.start() >= ends[n].0 {
                ends[n].0 = m.end();
                found.anywhere[n] += 1;
                if found.anywhere[n] == want_any {
                    missing -= 1;
                }
            }
            if found.word[n] < want_word
                && m.start() >= ends[n].1
                && whole_word(bytes, m.start(), m.end())
            {
                ends[n].1 = m.end();
                found.word[n] += 1;
                if found.word[n] == want_word {
                    missing -= 1;
                }
            }
            if missing == 0 {
                break;
            }
        }
        found
    }

    /// For each of the recipe's rules numbered `rules`, whether it may match
    /// `text`. A number without needs (or unknown) may always match.
    pub(super) fn may_match(&self, rules: &[usize], text: &str) -> Vec<bool> {
        let needed = rules
            .iter()
            .any(|&r| self.rules.get(r).is_some_and(|c| !c.is_empty()));
        let found = if needed {
            self.found(text)
        } else {
            Found {
                anywhere: Vec::new(),
                word: Vec::new(),
            }
        };
        rules
            .iter()
            .map(|&r| {
                self.rules
                    .get(r)
                    .is_none_or(|clauses| clauses.iter().all(|c| c.iter().any(|l| found.has(*l))))
            })
            .collect()
    }
}

impl Prefilter {
    /// The places of `text` every node one of the `active` rules (numbered
    /// `rules`) matches contains one of: the start of an occurrence of a
    /// literal its nodes need, for each rule of the clause with the fewest
    /// occurrences. Sorted, without repeats. `None` when some active rule's
    /// nodes need nothing known: they may be anywhere.
    ///
    /// Why this is sound: a literal a node needs is the text of a named
    /// leaf (or a `regex` match's prefix) inside it, a slice of the file
    /// that starts inside the node; the search finds every occurrence of
    /// the text (overlapping ones too), and a whole word where the leaf must
    /// be one (see the module documentation). So every node a rule matches
    /// contains the start of an occurrence of each of its clauses, and an
    /// ancestor contains whatever its descendants do: a walk that enters
    /// only nodes holding one of these places meets every match.
    pub(super) fn anchors(
        &self,
        rules: &[usize],
        active: &[bool],
        text: &str,
    ) -> Option<Vec<usize>> {
        let searcher = self.searcher.as_ref()?;
        let clauses: Vec<&Vec<Vec<(usize, bool)>>> = rules
            .iter()
            .zip(active)
            .filter(|(_, on)| **on)
            .map(|(r, _)| self.within.get(*r).filter(|c| !c.is_empty()))
            .collect::<Option<_>>()?;
        // Every place of each text wanted, anywhere and as a whole word.
        let count = self.wanted.len();
        let mut wanted = vec![(false, false); count];
        for clause in clauses.iter().flat_map(|c| c.iter()) {
            for (n, word) in clause {
                let (any, whole) = &mut wanted[*n];
                if *word {
                    *whole = true;
                } else {
                    *any = true;
                }
            }
        }
        let bytes = text.as_bytes();
        let mut places: Vec<(Vec<usize>, Vec<usize>)> = vec![(Vec::new(), Vec::new()); count];
        for m in searcher.find_overlapping_iter(text) {
            let n = m.pattern().as_usize();
            let (any, whole) = wanted[n];
            if any {
                places[n].0.push(m.start());
            }
            if whole && whole_word(bytes, m.start(), m.end()) {
                places[n].1.push(m.start());
            }
        }
        let at = |(n, word): &(usize, bool)| {
            let (any, whole) = &places[*n];
            if *word { whole } else { any }
        };
        let mut anchors = Vec::new();
        for rule in clauses {
            let fewest = rule
                .iter()
                .min_by_key(|clause| clause.iter().map(|l| at(l).len()).sum::<usize>())?;
            for literal in fewest {
                anchors.extend_from_slice(at(literal));
            }
        }
        anchors.sort_unstable();
        anchors.dedup();
        Some(anchors)
    }
}

/// Which of one file's rules may match a text. `apply` asks again on every
/// pass of the fixed point: a rule may match only once another rule's fix
/// wrote its text.
pub(super) struct RuleFilter<'a> {
    pub prefilter: &'a Prefilter,
    /// The recipe's numbers of the file's rules, in the file's rule order.
    pub numbers: &'a [usize],
}

impl RuleFilter<'_> {
    /// Per rule of the file, whether it may match `text`.
    pub(super) fn active(&self, text: &str) -> Vec<bool> {
        self.prefilter.may_match(self.numbers, text)
    }

    /// Where in `text` the nodes the `active` rules match can be: see
    /// [`Prefilter::anchors`].
    pub(super) fn anchors(&self, active: &[bool], text: &str) -> Option<Vec<usize>> {
        self.prefilter.anchors(self.numbers, active, text)
    }
}

#[cfg(test)]
mod tests {
    use ast_grep_config::{GlobalRules, from_yaml_string};
    use ast_grep_core::tree_sitter::LanguageExt;

    use super::*;

    fn config(yaml: &str) -> RuleConfig<SupportLang> {
        let mut configs = match from_yaml_string(yaml, &GlobalRules::default()) {
            Ok(c) => c,
            Err(e) => panic!("{e}: {yaml}"),
        };
        assert_eq!(configs.len(), 1, "one rule per test yaml");
        configs.remove(0)
    }

    /// A Python rule whose `rule:` is `rule` (YAML, indented two spaces).
    fn python(rule: &str) -> RuleConfig<SupportLang> {
        config(&format!("id: t\nlanguage: python\nrule:\n{rule}\n"))
    }

    /// The clauses, sorted; a literal needed as a whole word is `\bword\b`.
    fn clauses(needs: &Needs) -> Vec<Vec<String>> {
        let show = |l: &Literal| {
            let text = match l.word {
                true => format!("\\b{}\\b", l.text),
                false => l.text.clone(),
            };
            match l.times {
                1 => text,
                n => format!("{text}×{n}"),
            }
        };
        let mut out: Vec<Vec<String>> = needs
            .clauses
            .iter()
            .map(|c| {
                let mut c: Vec<String> = c.iter().map(show).collect();
                c.sort();
                c
            })
            .collect();
        out.sort();
        out
    }

    fn matches(config: &RuleConfig<SupportLang>, source: &str) -> bool {
        let grep = config.language.ast_grep(source);
        grep.root().find(&config.matcher).is_some()
    }

    fn may_match(config: &RuleConfig<SupportLang>, source: &str) -> bool {
        let (needs, within) = Needs::of_rule(config);
        Prefilter::new([(&needs, &within)]).may_match(&[0], source)[0]
    }

    /// The soundness property on one rule and one source: a match implies
    /// "may match"; also checks the rule does match when `expect` says so,
    /// so that the test proves something.
    fn check(config: &RuleConfig<SupportLang>, source: &str, expect: bool) {
        let matched = matches(config, source);
        assert_eq!(matched, expect, "does the rule match {source:?}?");
        if matched {
            assert!(may_match(config, source), "prefilter skipped {source:?}");
        }
    }

    #[test]
    fn a_pattern_needs_its_named_leaves_not_metavariables() {
        let rule = python("  pattern: logging.warn($$$ARGS)");
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [[r"\blogging\b"], [r"\bwarn\b"]]
        );
        let rule = python("  pattern: $SELF.assertEquals($A, $_)");
        assert_eq!(clauses(&Needs::of(&rule)), [[r"\bassertEquals\b"]]);
    }

    #[test]
    fn a_match_written_oddly_still_contains_the_literals() {
        let rule = python("  pattern: logging.warn($$$ARGS)");
        for source in [
            "logging.warn('x')\n",
            "logging . warn('x')\n",
            "logging.\\\n    warn('x')\n",
            "logging.warn(\n  'x',\n  1,\n)\n",
            "logging.warn(  # comment\n    'x')\n",
        ] {
            check(&rule, source, true);
        }
        for source in ["import logging\nlogging.info('x')\n", "x = 1\n"] {
            check(&rule, source, false);
            assert!(!may_match(&rule, source), "{source:?}");
        }
    }

    #[test]
    fn a_python_identifier_is_needed_as_a_whole_word() {
        let rule = python("  pattern: logging.warn($$$ARGS)");
        check(&rule, "logging.warn('x')", true);
        check(&rule, "logging.warn\t('x')", true);
        for source in [
            "import logging\nlogging.warning('x')\n",
            "import logging\nlogger.warn_once('x')\n",
            "import logging\nwarn2 = 1\n",
        ] {
            check(&rule, source, false);
            assert!(!may_match(&rule, source), "{source:?}");
        }
        // A word end anywhere will do, even if not the match's.
        assert!(may_match(&rule, "logging.warning(warn)\n"));
        // Non-ASCII after the text is not treated as a word character.
        assert!(may_match(&rule, "logging = warnµ\n"));
    }

    /// The lexing fact the word end rests on, checked on odd Python: no
    /// `identifier` node is followed by an ASCII letter, digit or `_`,
    /// whatever precedes it, even in code that does not parse.
    #[test]
    fn no_python_identifier_is_followed_by_a_word_character() {
        let sources = [
            "x = 1if y else 2\n",
            "z = 0x1for w in v\n",
            "print\"a\"\nrb'x' + f'{warn}x' + u'y'\n",
            "a.b.c_d(e_f1, _g)\n",
            "1_000j + 1e5and x\n",
            "def f(a,b):return a\n",
            "match x:\n    case [a]: pass\n",
            "type X = int\n",
            "warn$x = 1 ?y\n",
            "x = 'unterminated\nwarn y\n",
            "async def g(): await h()\n",
            "lambda:x\nnot_a+b\n",
            "print >>sys.stderr, x\nexec code\n",
            "wärn = ünïcode_x1\n",
        ];
        let identifier = SupportLang::Python.kind_to_id("identifier");
        for source in sources {
            let grep = SupportLang::Python.ast_grep(source);
            for node in grep.root().dfs() {
                if node.kind_id() != identifier {
                    continue;
                }
                let next = source.as_bytes().get(node.range().end);
                assert!(
                    next.is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_')),
                    "identifier {:?} followed by a word character in {source:?}",
                    node.text()
                );
            }
        }
    }

    /// The lexing fact the word start rests on, checked on odd Python and
    /// JavaScript: before no identifier node is there a run of ASCII word
    /// characters that starts with a letter or `_`.
    #[test]
    fn no_identifier_follows_a_word_that_starts_with_a_letter() {
        let python = [
            "x = 1if y else 2\n",
            "z = 0x1for w in v\n",
            "1_000j + 1e5and x\n",
            "a.b.c_d(e_f1, _g)\n",
            "x = 'unterminated\nwarn y\n",
            "wärn = ünïcode_x1\n",
            "print >>sys.stderr, x\nexec code\n",
        ];
        let js = [
            "const a = 0x1fin b; let c = 1nlog;\n",
            "console.log(x); a$b.c$ = $d;\n",
            "x = y.z?.w ?? v; label: for (;;) break label;\n",
            "class A { #p = 1; get q() { return this.#p } }\n",
            "let é = 1; f(`${log}x`); /re/g.test(log)\n",
            "var x = {log, y: 2}; ({a} = b);\n",
        ];
        let cases = python
            .iter()
            .map(|s| (SupportLang::Python, *s))
            .chain(js.iter().map(|s| (SupportLang::JavaScript, *s)))
            .chain(js.iter().map(|s| (SupportLang::TypeScript, *s)));
        for (language, source) in cases {
            let kinds = identifier_kinds(language);
            assert!(!kinds.is_empty());
            let grep = language.ast_grep(source);
            for node in grep.root().dfs() {
                if !kinds.contains(&node.kind_id()) || !is_ascii_word(&node.text()) {
                    continue;
                }
                let range = node.range();
                assert!(
                    whole_word(source.as_bytes(), range.start, range.end),
                    "{language:?} identifier {:?} is not a whole word in {source:?}",
                    node.text()
                );
            }
        }
    }

    #[test]
    fn a_word_is_found_after_a_number_but_not_inside_a_longer_word() {
        assert!(whole_word(b"warn", 0, 4));
        assert!(whole_word(b"x.warn(", 2, 6));
        assert!(whole_word(b"0x1fwarn", 4, 8));
        assert!(!whole_word(b"prewarn", 3, 7));
        assert!(!whole_word(b"_warn", 1, 5));
        assert!(!whole_word(b"warning", 0, 4));
        // Non-ASCII and `$` are not word characters: such text gets through.
        assert!(whole_word("éwarn".as_bytes(), 2, 6));
        assert!(whole_word(b"$warn$", 1, 5));
    }

    #[test]
    fn a_javascript_identifier_is_needed_as_a_whole_word() {
        let rule = config("id: t\nlanguage: javascript\nrule:\n  pattern: console.log($$$A)\n");
        assert_eq!(clauses(&Needs::of(&rule)), [[r"\bconsole\b"], [r"\blog\b"]]);
        for source in [
            "console.log(x)\n",
            "console . log(x)\n",
            "console/* c */.log(x)\n",
            "console\n  .log(\n x)\n",
        ] {
            check(&rule, source, true);
        }
        for source in ["catalog.login(x); consoles.logs(y)\n", "myconsole.log(x)\n"] {
            check(&rule, source, false);
            assert!(!may_match(&rule, source), "{source:?}");
        }
    }

    #[test]
    fn a_leaf_twice_in_a_pattern_is_needed_twice_in_the_file() {
        let rule = python("  pattern: isinstance($X, $A) or isinstance($X, $B)");
        assert_eq!(clauses(&Needs::of(&rule)), [[r"\bisinstance\b×2"]]);
        for source in [
            "ok = isinstance(x, A) or isinstance(x, B)\n",
            "ok = (isinstance(x, A)\n      or isinstance(x, B))\n",
        ] {
            check(&rule, source, true);
        }
        for source in [
            "ok = isinstance(x, A) or y\n",
            "ok = isinstance(x, A) or notisinstance(x, B)\n",
        ] {
            check(&rule, source, false);
            assert!(!may_match(&rule, source), "{source:?}");
        }
        // Two places that overlap count once: `aa` is twice in `aaa`, but
        // not as two places.
        let rule = python("  pattern: f('aa', 'aa')");
        // (A string's content is needed with its opening quote; its
        // closing quote, a named leaf too, is in `'aa` as often.)
        assert_eq!(clauses(&Needs::of(&rule)), [["'aa×2"], [r"\bf\b"]]);
        // A literal held by another is kept when it is needed more often.
        let more = python("  pattern: f('ab', 'a', 'a')");
        assert_eq!(
            clauses(&Needs::of(&more)),
            [["'ab"], ["'a×2"], ["'×3"], [r"\bf\b"]]
        );
        check(&more, "f('ab', 'a', 'a')\n", true);
        assert!(!may_match(&rule, "f('aaa')\n"));
        assert!(may_match(&rule, "f('aa', 'aa')\n"));
    }

    #[test]
    fn punctuation_is_not_needed() {
        // `foo ( x )` matches `foo(x)`: only named leaves are literals.
        let rule = python("  pattern: foo(x, y)");
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [[r"\bfoo\b"], [r"\bx\b"], [r"\by\b"]]
        );
        check(&rule, "foo( x ,\n   y )\n", true);
    }

    #[test]
    fn string_contents_are_needed_verbatim() {
        let rule = python("  pattern: open($F, 'rb')");
        // Python's `string_start` and `string_end` are named leaves: the
        // content is needed after its opening quote (the closing quote is
        // in that).
        assert_eq!(clauses(&Needs::of(&rule)), [["'rb"], [r"\bopen\b"]]);
        check(&rule, "open(path, 'rb')\n", true);
        check(&rule, "open(path, 'r')\n", false);
    }

    #[test]
    fn strictness_that_ignores_text_gives_nothing() {
        for strictness in ["signature", "template"] {
            let rule = python(&format!(
                "  kind: call\n  pattern:\n    context: foo(1)\n    strictness: {strictness}"
            ));
            assert!(Needs::of(&rule).is_unknown(), "{strictness}");
        }
        for strictness in ["cst", "smart", "ast", "relaxed"] {
            let rule = python(&format!(
                "  pattern:\n    context: foo(1)\n    strictness: {strictness}"
            ));
            assert_eq!(
                clauses(&Needs::of(&rule)),
                [["1"], [r"\bfoo\b"]],
                "{strictness}"
            );
            check(&rule, "foo(1)\n", true);
        }
        let relaxed = python("  pattern:\n    context: foo(bar)\n    strictness: relaxed");
        check(&relaxed, "foo(  # why\n    bar,\n)\n", true);
    }

    /// A string's content is needed with its opening delimiter under
    /// `smart` and `cst`, where ast-grep must match the delimiter's kind
    /// (`'undefined'` is another kind of quote, which it does not match);
    /// under `ast` and `relaxed` the delimiter may be skipped, so only the
    /// content is needed.
    #[test]
    fn a_string_is_needed_with_its_opening_delimiter_where_the_delimiter_must_match() {
        for language in ["javascript", "typescript", "tsx"] {
            let rule = config(&format!(
                "id: t\nlanguage: {language}\nrule:\n  pattern: typeof $X === \"undefined\"\n"
            ));
            assert_eq!(clauses(&Needs::of(&rule)), [["\"undefined"]], "{language}");
            for source in [
                "if (typeof x === \"undefined\") {}\n",
                "if (typeof(x)===\"undefined\") {}\n",
                "if (typeof /* c */ x\n  === \"undefined\") {}\n",
                "f(typeof a.b[c] === \"undefined\" && y)\n",
            ] {
                check(&rule, source, true);
            }
            for source in [
                "if (typeof x === 'undefined') {}\n",
                "if (typeof x === \"undef\\u0069ned\") {}\n",
                "if (typeof x === undefined) {}\n",
                "if (typeof x === `undefined`) {}\n",
            ] {
                check(&rule, source, false);
                assert!(!may_match(&rule, source), "{language}: {source:?}");
            }
            let single = config(&format!(
                "id: t\nlanguage: {language}\nrule:\n  pattern: \"f('a b')\"\n"
            ));
            assert_eq!(clauses(&Needs::of(&single)), [["'a b"], [r"\bf\b"]]);
            check(&single, "f( 'a b' )\n", true);
        }
        let rule = python("  pattern: open($F, \"r\")");
        assert_eq!(clauses(&Needs::of(&rule)), [["\"r"], [r"\bopen\b"]]);
        check(&rule, "with open(path, \"r\") as f:\n    pass\n", true);
        check(&rule, "open(\n    path,\n    \"r\",  # read\n)\n", true);
        for source in ["open(p, 'r')\n", "open(p, r\"r\")\n", "open(p, \"rb\")\n"] {
            check(&rule, source, false);
        }
        assert!(!may_match(&rule, "open(p, 'r')\n"));
        for strictness in ["ast", "relaxed"] {
            let rule = python(&format!(
                "  pattern:\n    context: open($F, \"r\")\n    strictness: {strictness}"
            ));
            assert_eq!(
                clauses(&Needs::of(&rule)),
                [["\"×2"], [r"\bopen\b"], ["r"]],
                "{strictness}"
            );
            let rule = config(&format!(
                "id: t\nlanguage: javascript\nrule:\n  pattern:\n    context: typeof $X === \"undefined\"\n    strictness: {strictness}\n"
            ));
            assert_eq!(clauses(&Needs::of(&rule)), [["undefined"]], "{strictness}");
        }
    }

    /// The lexing fact the delimiter need rests on, checked on odd code,
    /// broken code included: in every string node that starts with its
    /// opening delimiter and a content token, the content starts where the
    /// delimiter ends, and the delimiter's text is in the file there.
    #[test]
    fn a_strings_content_starts_where_its_opening_delimiter_ends() {
        let js = [
            r#"const a = "x", b = 'y', c = "\n" + "a\tb" + '';"#,
            "f(\"unterminated\n, 'also);\n",
            "x = \"a\" /* \"b\" */ + // 'c'\n 'd';\n",
            r#"let j = <div title="t" data-x='y'>"text"</div>;"#,
            r#"obj = { "key": 'value', ['k' + "2"]: `t${"in"}` };"#,
            r#"import x from "m"; export * from './n';"#,
            "s = \"a\\\nb\"; t = '\\u{1F600}x';\n",
            r#"if (typeof x === "undefined" || typeof y == 'undefined') {}"#,
            "broken( \"a\" ;; 'b' ) ) \"c\n",
        ];
        let python = [
            r#"a = "x" + 'y' + """z""" + '''w'''"#,
            r#"b = r"raw" + f"{x}y" + b'bytes' + rb"q" + u'u'"#,
            r#"c = "esc\n" + 'a\'b'"#,
            "d = \"unterminated\ne = 'x'\n",
            "open(p, \"r\")  # \"r\"\nopen(p, 'r')\n",
            r#"f"{'nested'} {x!r:>10}""#,
            "s = (\"implicit\"\n     \"concat\")\n",
            "def f(:\n    return \"x\" 'y'\n",
        ];
        let cases = js
            .iter()
            .flat_map(|s| {
                [
                    SupportLang::JavaScript,
                    SupportLang::TypeScript,
                    SupportLang::Tsx,
                ]
                .map(|l| (l, *s))
            })
            .chain(python.iter().map(|s| (SupportLang::Python, *s)));
        let mut seen = 0;
        for (language, source) in cases {
            let strings = StringKinds::of(language).expect("known");
            let grep = language.ast_grep(source);
            for node in grep.root().dfs() {
                if node.kind_id() != strings.string {
                    continue;
                }
                let children: Vec<_> = node.children().collect();
                let [delimiter, content, ..] = &children[..] else {
                    continue;
                };
                let delimiter_ok = match strings.named_start {
                    Some(start) => delimiter.kind_id() == start,
                    None => ["\"", "'"].contains(&&*delimiter.kind()),
                };
                if content.kind_id() != strings.content || !delimiter_ok {
                    continue;
                }
                seen += 1;
                let (d, c) = (delimiter.range(), content.range());
                assert_eq!(
                    d.end,
                    c.start,
                    "{language:?}: content {:?} does not start where {:?} ends in {source:?}",
                    content.text(),
                    delimiter.text()
                );
                assert_eq!(
                    &source[d.clone()],
                    &*delimiter.text(),
                    "{language:?}: {source:?}"
                );
                if strings.named_start.is_none() {
                    assert_eq!(&source[d], &*delimiter.kind(), "{language:?}: {source:?}");
                }
            }
        }
        assert!(seen > 60, "the test saw only {seen} strings");
    }

    #[test]
    fn a_selector_takes_only_the_selected_node() {
        let rule = python(
            "  pattern:\n    context: 'def helper(): return compute($A)'\n    selector: call",
        );
        assert_eq!(clauses(&Needs::of(&rule)), [[r"\bcompute\b"]]);
        check(&rule, "x = compute(1)\n", true);
    }

    #[test]
    fn all_and_relations_add_up() {
        let rule = python(
            "  all:\n    - kind: call\n    - pattern: os.getcwdu()\n  inside:\n    pattern: helper($$$A)\n    stopBy: end",
        );
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [[r"\bgetcwdu\b"], [r"\bhelper\b"], [r"\bos\b"]]
        );
        check(&rule, "helper(1, [os.getcwdu()])\n", true);
        let rule = python("  kind: list\n  has:\n    pattern: legacy_call\n    stopBy: end");
        assert_eq!(clauses(&Needs::of(&rule)), [[r"\blegacy_call\b"]]);
        check(&rule, "y = [legacy_call]\n", true);
    }

    #[test]
    fn any_needs_one_branch() {
        let rule = python("  any:\n    - pattern: os.getcwdu()\n    - pattern: os.getcwdb()");
        let needs = Needs::of(&rule);
        assert_eq!(needs.clauses.len(), 1);
        assert_eq!(clauses(&needs), [[r"\bgetcwdb\b", r"\bgetcwdu\b"]]);
        check(&rule, "os.getcwdb()\n", true);
        assert!(!may_match(&rule, "os.getcwd()\n"));
    }

    #[test]
    fn a_constraint_on_a_bound_metavariable_is_needed() {
        let rule = config(
            "id: t\nlanguage: python\nrule:\n  pattern: collections.$NAME\n\
             constraints:\n  NAME:\n    regex: ^(Mapping|Sequence)$\n",
        );
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [vec!["Mapping", "Sequence"], vec![r"\bcollections\b"]]
        );
        check(&rule, "isinstance(x, collections.Mapping)\n", true);
        check(&rule, "x = collections.OrderedDict()\n", false);
        assert!(!may_match(&rule, "x = collections.OrderedDict()\n"));
        // Under `all` the variable is bound by every match too.
        let rule = config(
            "id: t\nlanguage: python\nrule:\n  all:\n    - pattern: $F($A)\n\
             constraints:\n  F:\n    pattern: legacy_call\n",
        );
        assert_eq!(clauses(&Needs::of(&rule)), [[r"\blegacy_call\b"]]);
        check(&rule, "legacy_call(1)\n", true);
    }

    #[test]
    fn a_constraint_on_a_maybe_bound_metavariable_gives_nothing() {
        // `$A` is bound only by the second branch; the first matches alone.
        let rule = config(
            "id: t\nlanguage: python\nrule:\n  any:\n    - pattern: first_call()\n    - pattern: second_call($A)\n\
             constraints:\n  A:\n    regex: ^needle$\n",
        );
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [[r"\bfirst_call\b", r"\bsecond_call\b"]]
        );
        check(&rule, "first_call()\n", true);
        // Bound only inside a relation: not counted either.
        let rule = config(
            "id: t\nlanguage: python\nrule:\n  kind: call\n  has:\n    pattern: $A\n\
             constraints:\n  A:\n    regex: ^needle$\n",
        );
        assert!(Needs::of(&rule).is_unknown());
    }

    #[test]
    fn rules_with_nothing_literal_are_unknown() {
        let rules = [
            "  kind: call",
            "  pattern: $F($$$A)",
            "  any:\n    - pattern: os.getcwdu()\n    - kind: call",
            "  all:\n    - kind: call\n    - not:\n        pattern: print($A)",
            "  kind: identifier\n  regex: '.*'",
            "  kind: identifier\n  regex: '(?i)a|'",
            "  kind: identifier\n  nthChild: 1",
        ];
        for rule in rules {
            let config = python(rule);
            assert!(Needs::of(&config).is_unknown(), "{rule}");
            assert!(may_match(&config, "x = 1\n"), "{rule}");
        }
        let utils = config(
            "id: t\nlanguage: python\nutils:\n  legacy:\n    pattern: os.getcwdu()\nrule:\n  matches: legacy\n",
        );
        assert!(Needs::of(&utils).is_unknown());
    }

    #[test]
    fn a_regex_needs_its_prefixes() {
        let rule = python("  kind: identifier\n  regex: ^assert(Equals|RegexpMatches)$");
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [["assertEquals", "assertRegexpMatches"]]
        );
        check(&rule, "self.assertEquals(1, 2)\n", true);
        assert!(!may_match(&rule, "self.assertEqual(1, 2)\n"));
        let rule = python("  kind: identifier\n  regex: (?i)^get");
        let needs = Needs::of(&rule);
        assert_eq!(needs.clauses[0].len(), 8, "{needs:?}");
        check(&rule, "GeT_x = 1\n", true);
    }

    #[test]
    fn at_most_a_few_clauses_are_kept_the_longest_first() {
        let rule = python("  pattern: first_name(a, bb, ccc, dddd, second_name)");
        assert_eq!(
            clauses(&Needs::of(&rule)),
            [
                [r"\bccc\b"],
                [r"\bdddd\b"],
                [r"\bfirst_name\b"],
                [r"\bsecond_name\b"]
            ]
        );
    }

    /// The second rule's text exists only after the first rule's fix: the
    /// filter is asked again on every pass of the fixed point.
    #[test]
    fn a_rule_enabled_by_another_rules_fix_still_runs() {
        let recipe = crate::recipe::Recipe::from_str(
            std::path::Path::new("chain.yaml"),
            "id: first\nlanguage: python\nrule:\n  pattern: old_name($A)\nfix: middle_name($A)\n\
             ---\n\
             id: second\nlanguage: python\nrule:\n  pattern: middle_name($A)\nfix: new_name($A)\n",
        )
        .expect("valid recipe");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.py"), "old_name(1)\n").expect("write");
        std::fs::write(dir.path().join("b.py"), "unrelated(1)\n").expect("write");
        let changes = recipe.apply(dir.path()).expect("apply");
        assert_eq!(changes.files.len(), 1);
        assert_eq!(changes.files[0].after, "new_name(1)\n");
        assert_eq!(
            changes.files[0].matches,
            [("first".to_string(), 1), ("second".to_string(), 1)]
        );
    }

    #[test]
    fn one_scan_serves_every_rule() {
        let needs = [
            Needs::of(&python("  pattern: logging.warn")),
            Needs::of(&python("  kind: call")),
            Needs::of(&python("  pattern: os.getcwdu()")),
        ];
        let none = Needs::default();
        let prefilter = Prefilter::new(needs.iter().map(|n| (n, &none)));
        let text = "import logging, os\nlogging.warn('x')\nos.getcwd()\n";
        assert_eq!(prefilter.may_match(&[0, 1, 2], text), [true, true, false]);
        assert_eq!(prefilter.may_match(&[2, 0], text), [false, true]);
        // A number the prefilter does not know may always match.
        assert_eq!(prefilter.may_match(&[7], text), [true]);
        let none = Prefilter::new([(&none, &none)]);
        assert_eq!(none.may_match(&[0], ""), [true]);
    }
}
