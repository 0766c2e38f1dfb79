//! How deeply a file nests, measured without recursion, so that no walk
//! over a file's tree can be driven past [`MAX_DEPTH`] by what the file
//! holds (issue 10: an 8 KB JSON file of 4,000 nested arrays overflowed the
//! stack and killed the whole process).
//!
//! Two measures, one bound:
//! - [`tree`] counts the maps and lists around every node of a parsed
//!   tree-sitter tree (an iterative cursor walk). The YAML, JSON and HCL
//!   editors run it before building their model of the file, whose walks
//!   (building, comparing values, learning the layout, dropping) recurse
//!   once per level; past the bound the file is refused, named, and left
//!   as it is.
//! - [`yaml_blocks`] reads YAML text *before* it is parsed: tree-sitter-yaml
//!   0.7.2's scanner writes its stack of block indentations into a
//!   1,024-byte buffer and aborts the process (or, without assertions,
//!   writes past the buffer) past 253 block levels
//!   (tree-sitter-grammars/tree-sitter-yaml#48), so a deep YAML file must
//!   be refused before tree-sitter sees it, by the YAML editor and by
//!   ast-grep rules alike. Its count is an upper bound of that stack for
//!   the scanner's rules (see the function); the bound leaves room below 253
//!   for what it cannot see.
//!
//! TOML needs neither: `toml_edit` refuses more than 80 levels of arrays,
//! inline tables or dotted keys itself; [`toml`] only counts the levels of
//! a file it refused, to say so.

use std::fmt;

use ast_grep_core::tree_sitter::StrDoc;
use ast_grep_language::SupportLang;

/// The deepest nesting of maps and lists (or YAML blocks) a file may have:
/// real configuration files rarely pass 30, and tree-sitter-yaml's scanner
/// dies past 253 block levels, so the bound keeps well below that.
pub const MAX_DEPTH: usize = 200;

/// `toml_edit`'s own limit on nested arrays, inline tables and dotted keys.
pub const TOML_LIMIT: usize = 80;

/// A file nested deeper than a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// How many levels the file nests (all of them, not just up to the bound).
    pub levels: usize,
    /// The 1-based line where the nesting first passes the bound.
    pub line: usize,
    /// The bound.
    pub limit: usize,
}

impl fmt::Display for TooDeep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "too deeply nested: {} levels (at most {} are read)",
            thousands(self.levels),
            self.limit
        )
    }
}

/// `n` with a comma every three digits (`100,000`).
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Tracks the deepest level seen and where the bound was first passed.
struct Deepest {
    levels: usize,
    line: Option<usize>,
    limit: usize,
}

impl Deepest {
    fn new(limit: usize) -> Deepest {
        Deepest {
            levels: 0,
            line: None,
            limit,
        }
    }

    /// `levels` are open at `line`.
    fn see(&mut self, levels: usize, line: impl FnOnce() -> usize) {
        self.levels = self.levels.max(levels);
        if levels > self.limit && self.line.is_none() {
            self.line = Some(line());
        }
    }

    fn result(self) -> Result<(), TooDeep> {
        match self.line {
            None => Ok(()),
            Some(line) => Err(TooDeep {
                levels: self.levels,
                line,
                limit: self.limit,
            }),
        }
    }
}

/// The nesting of a parsed tree: how many nodes whose kind `is_level`
/// (a map or a list of the format) hold the deepest node; an error past
/// [`MAX_DEPTH`]. One cursor walk, no recursion.
pub(super) fn tree(
    root: &ast_grep_core::Node<'_, StrDoc<SupportLang>>,
    is_level: impl Fn(&str) -> bool,
) -> Result<(), TooDeep> {
    let mut cursor = root.get_inner_node().walk();
    let mut deepest = Deepest::new(MAX_DEPTH);
    // Whether each node from the root down to the cursor is a level.
    let mut path: Vec<bool> = Vec::new();
    let mut levels = 0;
    loop {
        let node = cursor.node();
        let level = is_level(node.kind());
        levels += usize::from(level);
        path.push(level);
        deepest.see(levels, || node.start_position().row + 1);
        if cursor.goto_first_child() {
            continue;
        }
        // Up until a sibling is found, leaving each node on the way.
        loop {
            levels -= usize::from(path.pop().unwrap_or(false));
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return deepest.result();
            }
        }
    }
}

/// The block levels tree-sitter-yaml's scanner would stack up reading
/// `text`, counted line by line from the text alone (nothing is parsed);
/// an error past [`MAX_DEPTH`].
///
/// The count follows the scanner's own rules (tree-sitter-yaml 0.7.2,
/// `scan` in `src/scanner.c`), erring on the side of more levels:
/// - A line's first token closes the blocks it is not inside: while it is
///   at or left of both the innermost block and the one holding it, the
///   innermost is closed. (A block list at the column of its key is closed
///   by anything but a `-` there.) Blank lines and comment lines close
///   nothing; neither does a line indented with a tab, which the scanner
///   refuses to read as an indentation.
/// - A block opens at the first token of a line right of the innermost
///   block when that token is `- `, `? `, `: ` or a key (a `- ` also opens
///   one at the column of a map's keys, a list under its key); and then
///   at every later `- `, `? ` and `: ` on the line (`- - - x` opens three
///   lists; a key after leading markers, such as the `a` of `- a: 1`,
///   opens a map), outside quotes, `[]`/`{}` and comments.
/// - Columns are counted in characters, as the scanner does. The scanner
///   keeps them in 16 bits: a block opened past column 32,767 is never
///   closed, and every 32,768 lines (its row counter wraps) one more is
///   counted as never closed.
///
/// A block scalar (`|`, `>`) opens one more level while it is read, which
/// the bound's distance below 253 covers.
pub fn yaml_blocks(text: &str) -> Result<(), TooDeep> {
    // The scanner's stack: (column, kind); the root (column -1) is implicit.
    let mut stack: Vec<(i64, Block)> = Vec::new();
    let mut never_closed = 0usize;
    let mut deepest = Deepest::new(MAX_DEPTH);
    // Every line break tree-sitter-yaml may see: a lone `\r` is one (a
    // `\r\n` then reads as an empty line, which counts nothing), and NEL
    // and the Unicode separators are split on too, to err towards counting
    // more.
    let breaks = |c: char| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    for (index, raw) in text.split(breaks).enumerate() {
        if index > 0 && index.is_multiple_of(32_768) {
            never_closed += 1;
        }
        let line: Vec<char> = raw.trim_end_matches('\r').chars().collect();
        let indent = line.iter().take_while(|c| matches!(c, ' ' | '\t')).count();
        let tabbed = line[..indent].contains(&'\t');
        let Some(&first) = line.get(indent) else {
            continue;
        };
        if first == '#' {
            continue;
        }
        let col = indent as i64;
        let dash = first == '-' && marker_at(&line, indent);
        if !tabbed {
            close_blocks(&mut stack, col, dash);
        }
        let mut open = |stack: &mut Vec<(i64, Block)>, at: usize, kind: Block| {
            let at = at as i64;
            if at > i64::from(i16::MAX) {
                never_closed += 1;
            } else {
                stack.push((at, kind));
            }
        };
        // The leading markers, then the key (or scalar) after them.
        let mut at = indent;
        while at < line.len() && matches!(line[at], '-' | '?' | ':') && marker_at(&line, at) {
            let kind = if line[at] == '-' {
                Block::Seq
            } else {
                Block::Map
            };
            let top = stack.last().copied();
            let first_token = at == indent;
            let opens = match (first_token, top) {
                (false, _) | (true, None) => true,
                (true, Some((top_col, top_kind))) => {
                    (at as i64) > top_col
                        || (kind == Block::Seq && at as i64 == top_col && top_kind == Block::Map)
                }
            };
            if opens {
                open(&mut stack, at, kind);
            }
            at += 1;
            while at < line.len() && matches!(line[at], ' ' | '\t') {
                at += 1;
            }
        }
        let key_col = at;
        let mut key_opened = false;
        for marker in markers(&line[at..]) {
            let kind = if line[at + marker] == '-' {
                Block::Seq
            } else {
                Block::Map
            };
            if line[at + marker] == ':' && !key_opened {
                // The first `: ` after a key opens the map at the key, as
                // the scanner does when the key is not at the innermost
                // block's column.
                key_opened = true;
                let top_col = stack.last().map_or(-1, |(c, _)| *c);
                if key_col as i64 != top_col {
                    open(&mut stack, key_col, Block::Map);
                }
                continue;
            }
            open(&mut stack, at + marker, kind);
        }
        let levels = stack.len() + never_closed;
        deepest.see(levels, || index + 1);
    }
    deepest.result()
}

/// What opened a block: a list (`-`) or a map (a key, `?` or `:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Seq,
    Map,
}

/// Close the blocks a line whose first token is at `col` is not inside,
/// as the scanner does with its `BL` token; `dash` when that token is `- `.
fn close_blocks(stack: &mut Vec<(i64, Block)>, col: i64, dash: bool) {
    while let Some(&(top, kind)) = stack.last() {
        if col > top {
            return;
        }
        let parent = stack.len().checked_sub(2).map_or(-1, |i| stack[i].0);
        let close = if top == parent && kind == Block::Seq {
            col < top || !dash
        } else {
            col <= parent
        };
        if !close {
            return;
        }
        stack.pop();
    }
}

/// Whether the character at `at` is a block indicator (`-`, `?`, `:`)
/// followed by a blank or the end of the line.
fn marker_at(line: &[char], at: usize) -> bool {
    line.get(at + 1).is_none_or(|c| matches!(c, ' ' | '\t'))
}

/// The offsets in `rest` (a line after its leading markers) of the block
/// indicators `- `, `? `, `: ` that are outside quotes closed on the line,
/// outside `[]`/`{}` opened on the line, and before a comment.
fn markers(rest: &[char]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut flow = 0usize;
    let mut i = 0;
    while i < rest.len() {
        let c = rest[i];
        let token_start = i == 0 || matches!(rest[i - 1], ' ' | '\t' | '[' | '{' | ',');
        match c {
            '"' | '\'' if token_start => {
                // A quote closed on this line is skipped; one that is not
                // is read as plain text (its markers count).
                if let Some(end) = closing_quote(rest, i) {
                    i = end + 1;
                    continue;
                }
            }
            '#' if i == 0 || matches!(rest[i - 1], ' ' | '\t') => break,
            '[' | '{' => flow += 1,
            ']' | '}' => flow = flow.saturating_sub(1),
            '-' | '?' if flow == 0 && token_start && marker_at(rest, i) => out.push(i),
            ':' if flow == 0 && marker_at(rest, i) => out.push(i),
            _ => {}
        }
        i += 1;
    }
    out
}

/// The offset of the quote closing the one at `open`, on this line.
fn closing_quote(rest: &[char], open: usize) -> Option<usize> {
    let quote = rest[open];
    let mut i = open + 1;
    while i < rest.len() {
        match rest[i] {
            '\\' if quote == '"' => i += 2,
            '\'' if quote == '\'' && rest.get(i + 1) == Some(&'\'') => i += 2,
            c if c == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The levels of a TOML file `toml_edit` refused, counted from its text:
/// the root table, one per segment of a `[table]` header (and one for an
/// `[[array]]`), one per segment but the last of a dotted key, one per
/// open array or inline table (strings and comments skipped). `None`
/// within [`TOML_LIMIT`].
pub(super) fn toml(text: &str) -> Option<TooDeep> {
    let mut deepest = Deepest::new(TOML_LIMIT);
    let bytes = text.as_bytes();
    let mut line = 1;
    // The root and the segments of the current `[table]` header.
    let mut table = 1;
    // The dots of the line's key, outside brackets.
    let mut key_dots = 0;
    // Each open `[` or `{`, with the dots of the key read in it, and the
    // levels they add up to.
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut inner = 0;
    let mut at_key = true;
    // Only blanks so far on this line.
    let mut blank = true;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line += 1;
                blank = true;
                if open.is_empty() {
                    inner -= key_dots;
                    key_dots = 0;
                    at_key = true;
                }
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let (end, lines) = skip_toml_string(bytes, i);
                line += lines;
                blank = false;
                i = end;
                continue;
            }
            b'[' if open.is_empty() && blank => {
                // A `[table]` or `[[array]]` header: its dots are levels.
                let end = text[i..].find('\n').map_or(text.len(), |e| i + e);
                let header = &text[i..end];
                let dots = header.bytes().filter(|&b| b == b'.').count();
                table = 2 + dots + usize::from(header.starts_with("[["));
                deepest.see(table, || line);
                i = end;
                continue;
            }
            b'[' | b'{' => {
                open.push((c, 0));
                inner += 1;
                at_key = c == b'{';
            }
            b']' | b'}' => {
                if let Some((_, dots)) = open.pop() {
                    inner -= 1 + dots;
                }
                at_key = false;
            }
            b',' => {
                if let Some((b'{', dots)) = open.last_mut() {
                    inner -= *dots;
                    *dots = 0;
                    at_key = true;
                }
            }
            b'.' if at_key => {
                match open.last_mut() {
                    Some((_, dots)) => *dots += 1,
                    None => key_dots += 1,
                }
                inner += 1;
            }
            b'=' => at_key = false,
            _ => {}
        }
        blank = false;
        // (`inner` counts the line key's dots too, outside brackets.)
        let levels = table + inner;
        deepest.see(levels, || line);
        i += 1;
    }
    deepest.result().err()
}

/// The offset past the TOML string starting at `at` (basic or literal,
/// single- or multi-line), and the newlines inside it.
fn skip_toml_string(bytes: &[u8], at: usize) -> (usize, usize) {
    let quote = bytes[at];
    let multi = bytes[at..].starts_with(if quote == b'"' { b"\"\"\"" } else { b"'''" });
    let mut i = at + if multi { 3 } else { 1 };
    let mut lines = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\n' if !multi => return (i, lines),
            b'\n' => {
                lines += 1;
                i += 1;
            }
            q if q == quote => {
                let run = if multi { 3 } else { 1 };
                if bytes[i..].iter().take(run).all(|&b| b == quote) && bytes.len() >= i + run {
                    return (i + run, lines);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    (bytes.len(), lines)
}

#[cfg(test)]
mod tests {
    use ast_grep_core::tree_sitter::LanguageExt;

    use super::*;

    fn yaml_levels(text: &str) -> Result<(), (usize, usize)> {
        yaml_blocks(text).map_err(|deep| (deep.levels, deep.line))
    }

    /// Nested maps, each key one space deeper: `levels` block levels.
    fn nested_maps(levels: usize) -> String {
        (0..levels)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect()
    }

    #[test]
    fn yaml_lines_broken_by_a_lone_carriage_return_are_counted() {
        // tree-sitter-yaml breaks lines at a lone `\r` too: 400 nested keys
        // joined by `\r` aborted the process past the count before.
        for joint in ["\r", "\r\n", "\n"] {
            let text = nested_maps(400).replace('\n', joint);
            assert!(yaml_levels(&text).is_err(), "{joint:?}");
        }
        let shallow = nested_maps(20).replace('\n', "\r");
        assert!(yaml_levels(&shallow).is_ok());
    }

    #[test]
    fn the_bound_is_the_last_depth_read() {
        let json = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let grep = SupportLang::Json.ast_grep(json(MAX_DEPTH));
        assert_eq!(tree(&grep.root(), |k| k == "array"), Ok(()));
        let grep = SupportLang::Json.ast_grep(json(MAX_DEPTH + 1));
        let deep = tree(&grep.root(), |k| k == "array").unwrap_err();
        assert_eq!(
            (deep.levels, deep.line, deep.limit),
            (MAX_DEPTH + 1, 1, MAX_DEPTH)
        );
        assert_eq!(
            deep.to_string(),
            "too deeply nested: 201 levels (at most 200 are read)"
        );
        assert_eq!(yaml_levels(&nested_maps(MAX_DEPTH)), Ok(()));
        assert_eq!(
            yaml_levels(&nested_maps(MAX_DEPTH + 1)),
            Err((MAX_DEPTH + 1, MAX_DEPTH + 1))
        );
    }

    #[test]
    fn levels_are_counted_where_they_nest_not_where_they_follow() {
        // 300 arrays one after the other nest one level.
        let flat = "[1],".repeat(300);
        let grep = SupportLang::Json.ast_grep(format!("[{flat}[2]]"));
        assert_eq!(tree(&grep.root(), |k| k == "array"), Ok(()));
        let siblings = "a:\n  b: 1\n".repeat(300);
        assert_eq!(yaml_levels(&siblings), Ok(()));
        let items = "- - a: 1\n    b: 2\n".repeat(300);
        assert_eq!(yaml_levels(&items), Ok(()));
    }

    #[test]
    fn yaml_block_levels_follow_the_scanner() {
        // Each `- ` on a line opens a list; a key after them a map.
        let dashes = |n: usize| format!("{}x\n", "- ".repeat(n));
        assert_eq!(yaml_levels(&dashes(MAX_DEPTH)), Ok(()));
        assert_eq!(yaml_levels(&dashes(MAX_DEPTH + 1)), Err((MAX_DEPTH + 1, 1)));
        let with_key = format!("{}a: 1\n", "- ".repeat(MAX_DEPTH));
        assert_eq!(yaml_levels(&with_key), Err((MAX_DEPTH + 1, 1)));
        // A list at the column of its key is a level of its own: 101 keys,
        // each with a list under it, nest 202 levels.
        let lists: String = (0..101)
            .map(|i| {
                let pad = " ".repeat(2 * i);
                format!("{pad}a:\n{pad}-\n")
            })
            .collect();
        assert_eq!(yaml_levels(&lists), Err((202, 201)));
        // `?` and `:` of complex keys open maps too.
        let complex = format!("{}x\n", "? ".repeat(MAX_DEPTH + 1));
        assert_eq!(yaml_levels(&complex), Err((MAX_DEPTH + 1, 1)));
    }

    #[test]
    fn yaml_flow_quotes_comments_and_blanks_open_no_block() {
        // A one-line flow map with 300 keys is one level of blocks (its
        // flow nesting is counted on the parsed tree).
        let entries: Vec<String> = (0..300).map(|i| format!("k{i}: v - {i}")).collect();
        let flow = format!("root: {{{}}}\n", entries.join(", "));
        assert_eq!(yaml_levels(&flow), Ok(()));
        let quoted = format!("a: \"{}\"\n", "- : ? ".repeat(300));
        assert_eq!(yaml_levels(&quoted), Ok(()));
        let comment = format!("a: 1 # {}\n", "- ".repeat(300));
        assert_eq!(yaml_levels(&comment), Ok(()));
        // Blank and comment lines close nothing: the line after them is
        // still inside all 201 maps.
        let mut text = nested_maps(MAX_DEPTH);
        text.push_str("\n# a comment at the left\n\n");
        text.push_str(&" ".repeat(MAX_DEPTH));
        text.push_str("b: 1\n");
        assert_eq!(yaml_levels(&text), Err((MAX_DEPTH + 1, MAX_DEPTH + 4)));
    }

    #[test]
    fn yaml_blocks_opened_past_the_scanners_columns_never_close() {
        // The scanner keeps columns in 16 bits: past 32,767 a block stays
        // open for good, however far left the next lines start.
        let far = format!("{}: - x\n", "k".repeat(40_000));
        let text = format!("{}{}", far.repeat(MAX_DEPTH), "a: 1\n");
        let (levels, line) = yaml_levels(&text).unwrap_err();
        assert!(levels > MAX_DEPTH, "{levels}");
        assert!(line <= MAX_DEPTH, "{line}");
    }

    #[test]
    fn every_yaml_file_the_count_lets_through_parses() {
        // Shapes at the bound that tree-sitter-yaml must parse (and not
        // abort on): the bound leaves room for what the count cannot see.
        let shapes = [
            nested_maps(MAX_DEPTH),
            format!("{}x\n", "- ".repeat(MAX_DEPTH)),
            format!(
                "{}a: |\n{}text\n",
                "- ".repeat(MAX_DEPTH - 1),
                " ".repeat(2 * MAX_DEPTH)
            ),
            (0..MAX_DEPTH / 2)
                .map(|i| format!("{0}a:\n{0}-\n", " ".repeat(2 * i)))
                .collect(),
        ];
        for text in shapes {
            assert_eq!(yaml_blocks(&text), Ok(()));
            let grep = SupportLang::Yaml.ast_grep(&text);
            assert!(!grep.root().get_inner_node().has_error(), "{text}");
        }
    }

    #[test]
    fn toml_levels_are_tables_keys_and_brackets() {
        let deep = |text: &str| toml(text).map(|d| (d.levels, d.line));
        let arrays = |n: usize| format!("a = {}1{}\n", "[".repeat(n), "]".repeat(n));
        // The root table is a level.
        assert_eq!(deep(&arrays(TOML_LIMIT - 1)), None);
        assert_eq!(deep(&arrays(TOML_LIMIT)), Some((TOML_LIMIT + 1, 1)));
        let header = format!("# deep\n[{}b]\nc = 1\n", "a.".repeat(TOML_LIMIT));
        assert_eq!(deep(&header), Some((TOML_LIMIT + 2, 2)));
        let inline = format!("x = {{ {}b = 1, c = [1] }}\n", "a.".repeat(TOML_LIMIT));
        assert_eq!(deep(&inline), Some((TOML_LIMIT + 2, 1)));
        // Strings and comments hold no levels.
        let text = format!(
            "a = \"{0}\"\nb = '''\n{0}\n'''\n# {0}\nc = 1\n",
            "[{.".repeat(TOML_LIMIT)
        );
        assert_eq!(deep(&text), None);
        // Many shallow keys and arrays, one after the other, stay shallow.
        assert_eq!(deep(&"a.b = [[1], {c = 2}]\n".repeat(500)), None);
    }
}
