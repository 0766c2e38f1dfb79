//! Text from outside, escaped for where it lands.
//!
//! Names and paths fleetwright did not write itself (catalog component,
//! owner and repository names, file paths inside repositories, forge
//! messages, close comments, opt-out reasons, verify output) end up in
//! GitHub Markdown (pull request bodies and comments, the tracking issue of
//! `report --format md`), in plain one-line text (a pull request title, a
//! commit subject) and on the terminal. Each destination has its own rules,
//! so each has one function here, and every outside value goes through the
//! one for where it lands. (HTML has its own, `report::html::esc`, next to
//! the only page fleetwright writes.)
//!
//! | destination | function |
//! | --- | --- |
//! | Markdown text | [`text`] |
//! | Markdown inline code | [`code`] ([`table_code`] inside a table) |
//! | Markdown code block | [`code_block`] |
//! | Markdown link | [`link`] ([`url`] for the target alone) |
//! | one plain line (PR title, commit message) | [`line`] |
//! | terminal | [`terminal`] |
//!
//! Characters that could steer a terminal or reorder text
//! ([`is_control`]) are never dropped silently: they are shown as `\x1b`,
//! `\n` or `\u{202e}`, so a reader sees that they were there.
//!
//! What GitHub does beyond CommonMark, and what this module relies on:
//! - `@name` and `@org/team` become mentions (and notify) in issues, pull
//!   requests and comments, and a backslash (`\@name`) or an entity
//!   (`&#64;name`, `&commat;name`) does *not* stop it: GitHub finds mentions
//!   in the rendered HTML text, after backslashes and entities are gone.
//!   A zero-width space after the `@` (or a code span) does stop it.
//!   Sources: github/markup#1168 ("@ character is not escapable": `\@spixi`
//!   still links, `` `@spixi` `` and `@` + U+200B do not) and
//!   github/cmark-gfm#181 ("At sign and hash escaping is not possible":
//!   `\#181` and `&#35;181` still link, `@&ZeroWidthSpace;github` does not).
//! - `#123`, `GH-123` and `org/repo#123` become issue links (GitHub docs,
//!   "Autolinked references and URLs"); the same zero-width space after `#`
//!   or `GH-` stops them, as cmark-gfm#181 shows for `#`.
//! - Bare `http://`, `https://` and `www.` addresses become links (GFM spec,
//!   "Autolinks (extension)"); a zero-width space after the `:` of `://` or
//!   after `www` leaves no scheme or `www.` for the extension to find.
//! - `$...$` is math (GitHub docs, "Writing mathematical expressions"). It
//!   is escaped as `\$`, which CommonMark honours; GitHub's math may still
//!   pick up a pair of dollars (github community discussion #120728), which
//!   changes how text looks but cannot make a link or a mention.
//!
//! Not neutralised: commit SHAs (GitHub links 7 to 40 hex digits naming a
//! commit of the repository) and emoji shortcodes (`:tada:`): neither
//! notifies anyone nor points outside GitHub.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The zero-width space that breaks `@mentions`, `#123` references and
/// bare URLs (see the module documentation for why not a backslash).
const ZWSP: char = '\u{200b}';

/// True for a character that must not reach a terminal or a one-line field
/// as it is: C0 controls (tab and newline included), DEL, C1 controls, and
/// the Unicode bidirectional controls (embeddings, overrides, isolates and
/// marks: U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) that make a
/// terminal or a browser show text in another order than it is.
pub fn is_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{61c}'
    )
}

/// True for the characters that end or break a line somewhere: newline,
/// carriage return, tab, vertical tab, form feed, NEL and the Unicode line
/// and paragraph separators.
fn is_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\t' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// How a control character is shown: `\t`, `\n`, `\r`, `\x1b` below 0x80,
/// `\u{9b}` or `\u{202e}` above.
fn visible(c: char, out: &mut String) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` with every [`is_control`] character shown visibly, for anything
/// printed on the terminal (or in a log meant for one).
///
/// Guarantees: the result holds no C0 or C1 control character, no DEL and
/// no bidi control, so a value cannot move the cursor, clear the screen,
/// set the window title, ring the bell, hide itself or reorder the text
/// around it; newlines and tabs are shown too (`\n`, `\t`), so a value
/// stays on its line and in its column. Text without such characters comes
/// back borrowed, unchanged. (A backslash is left as it is: `\x1b` in the
/// output may also be the four characters someone wrote.)
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            visible(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` as one plain line, for a pull request title or a commit message,
/// which GitHub shows as text (not Markdown).
///
/// Guarantees: no line break of any kind (newline, carriage return, tab,
/// NEL, U+2028/U+2029 become a space), so a value cannot end a title or add
/// a line (such as a trailer) to a commit message; every other
/// [`is_control`] character is shown as in [`terminal`].
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_control(c) || is_break(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if is_break(c) {
            out.push(' ');
        } else if is_control(c) {
            visible(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` as GitHub-flavoured Markdown text that renders as itself, on one
/// line, wherever inline text may stand (a paragraph, a list item, a
/// heading, a table cell, a link label).
///
/// Guarantees, for any input:
/// - no emphasis, strikethrough, code span, link, image, autolink, HTML tag,
///   entity or math: `\ ` `` ` `` `*` `[` `]` `(` `)` `|` `~` `$` `#` get a
///   backslash, `_` too unless it stands between two letters or digits
///   (where GFM never reads it as emphasis, so `snake_case` stays as
///   written), `<` `>` `&` become `&lt;` `&gt;` `&amp;`;
/// - no new block: newlines, tabs and the other line breaks become spaces,
///   spaces at either end are dropped (inline text does not show them), and
///   a leading `-`, `+`, `=` or `1.`/`1)` is escaped, so the value never
///   starts a list item, heading, quote, code block, table row or thematic
///   break, even at the start of a line;
/// - no mention, issue reference or bare link: a zero-width space follows
///   every `@`, a `#` or `GH-` before a digit, the `:` of `://` and a `www`
///   before `.` (see the module documentation for why a backslash is not
///   enough on GitHub);
/// - other control characters are shown as `\x1b`, `\u{202e}`.
///
/// Letters, digits, spaces, `-`, `.`, `/`, `:` and `_` inside a word are
/// left as they are, so ordinary names (`billing-api`, `org/repo`,
/// `component:default/my_service`) come out unchanged. Inside a code span
/// the escapes would show: use [`code`] there.
pub fn text(text: &str) -> String {
    // Spaces around inline text do not show; at a line start they could
    // make an indented code block, at its end (two of them) a line break.
    let text = text.trim_matches(|c: char| c.is_whitespace() || is_break(c));
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let alnum = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|c| c.is_alphanumeric())
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1);
        match c {
            '\r' if next == Some('\n') => {}
            c if is_break(c) => out.push(' '),
            c if is_control(c) => {
                let mut shown = String::new();
                visible(c, &mut shown);
                out.push_str(&shown.replace('\\', "\\\\"));
            }
            '\\' | '`' | '*' | '[' | ']' | '(' | ')' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '#' => {
                out.push_str("\\#");
                if next.is_some_and(|n| n.is_ascii_digit()) {
                    out.push(ZWSP);
                }
            }
            '_' if alnum(prev) && alnum(Some(i + 1)) => out.push('_'),
            '_' => out.push_str("\\_"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            ':' if next == Some('/') && chars.get(i + 2) == Some(&'/') => {
                out.push(':');
                out.push(ZWSP);
            }
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' if i > 0 && chars[..i].iter().all(|d| d.is_ascii_digit()) => {
                out.push('\\');
                out.push(c);
            }
            '-' if i >= 2
                && chars[i - 2].eq_ignore_ascii_case(&'g')
                && chars[i - 1].eq_ignore_ascii_case(&'h')
                && !alnum(i.checked_sub(3))
                && next.is_some_and(|n| n.is_ascii_digit()) =>
            {
                out.push('-');
                out.push(ZWSP);
            }
            'w' | 'W'
                if !alnum(prev)
                    && chars.len() > i + 3
                    && chars[i..i + 3].iter().all(|w| w.eq_ignore_ascii_case(&'w'))
                    && chars[i + 3] == '.' =>
            {
                out.extend(&chars[i..i + 3]);
                out.push(ZWSP);
                i += 3;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The content of a code span or block: control characters shown
/// visibly, except the ones `keep` lets through.
fn code_content(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if keep(c) || !(is_control(c) || is_break(c)) {
            out.push(c);
        } else {
            visible(c, &mut out);
        }
    }
    out
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// `text` as one Markdown inline code span that shows it exactly.
///
/// Guarantees: the span is fenced by more backticks than the longest run of
/// backticks inside, so nothing inside ends it early; it is padded with a
/// space on each side (which CommonMark strips again) when the text starts
/// or ends with a backtick or a space; newlines, tabs and other control
/// characters are shown as `\n` (a CRLF too), `\t`, `\x1b` (a newline in a code span
/// would be a space, and a blank line would end the paragraph and the span
/// with it). Nothing inside a code span is a mention, link or reference on
/// GitHub (github/markup#1168). Ordinary text comes out as `` `text` ``.
/// In a table cell use [`table_code`].
pub fn code(text: &str) -> String {
    span(code_content(text, |_| false))
}

/// [`code`] for a cell of a GFM table: every `|` inside is written `\|`,
/// which GFM's table parser turns back into `|` before it reads the span
/// (GFM spec, "Tables (extension)"), so the span cannot split the cell.
pub fn table_code(text: &str) -> String {
    span(code_content(text, |_| false)).replace('|', "\\|")
}

fn span(content: String) -> String {
    if content.is_empty() {
        return "` `".to_string();
    }
    let fence = "`".repeat(longest_backtick_run(&content) + 1);
    let pad = !content.chars().all(|c| c == ' ')
        && (content.starts_with(['`', ' ']) || content.ends_with(['`', ' ']));
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{content}{pad}{fence}")
}

/// `text` as a fenced Markdown code block, lines kept, for output such as
/// a verify command's: starts with its fence, ends with its fence (no
/// newline after it); put it on its own line, outside lists and quotes.
///
/// Guarantees: the fence is backticks, at least three and more than the
/// longest run of backticks inside, so no line of the text closes the block
/// early; carriage returns, control characters and bidi controls are shown
/// as `\r`, `\x1b`, `\u{202e}` (tabs and newlines are kept). Nothing inside
/// a code block is a mention, link or reference on GitHub.
pub fn code_block(text: &str) -> String {
    let content = code_content(text, |c| c == '\n' || c == '\t');
    let content = content.trim_end_matches('\n');
    let fence = "`".repeat((longest_backtick_run(content) + 1).max(3));
    format!("{fence}\n{content}\n{fence}")
}

/// True when `url` is an `http://` or `https://` address (any case, after
/// trimming spaces).
pub fn is_web_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && lower
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty())
}

/// `url` made safe as a Markdown link target: spaces, control and bidi
/// characters, `(`, `)`, `<`, `>`, `\`, `` ` ``, `"`, `'` and `|` are
/// percent-encoded, so the target cannot end early, carry a title, unescape
/// itself or split a table cell. Nothing is checked: see [`link`].
pub fn url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.trim().chars() {
        if c.is_whitespace()
            || is_control(c)
            || matches!(c, '(' | ')' | '<' | '>' | '\\' | '`' | '"' | '\'' | '|')
        {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A Markdown link `[label](url)` when `url` is an `http(s)` address
/// ([`is_web_url`]), else `label` alone, as text: no `javascript:`,
/// `data:` or relative link comes out of a value from outside.
///
/// Guarantees: the label is [`text`] (so it holds no link or mention
/// itself) and the target is [`url`]; an empty label shows the address.
pub fn link(label: &str, target: &str) -> String {
    let label = if label.is_empty() { target } else { label };
    if is_web_url(target) {
        format!("[{}]({})", text(label), url(target))
    } else {
        text(label)
    }
}

#[cfg(test)]
pub(crate) mod tests;
