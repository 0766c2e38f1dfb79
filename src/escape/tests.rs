//! Tables of hostile inputs through each escape, and the Markdown read back
//! with a real CommonMark + GFM parser (pulldown-cmark). The helpers below
//! (`shape`, `plain`, `hazards`) serve the template and report tests too.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd, TextMergeStream};
use regex::Regex;

use super::*;

/// Values from outside that have broken something somewhere.
pub(crate) const HOSTILE: &[&str] = &[
    "a`b``c```d",
    "`starts and ends with a backtick`",
    " padded ",
    "@org/team please look",
    "[x](javascript:alert(1))",
    "![img](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "\n- [x] done",
    "line one\n\n# heading\n> quote",
    "| a | b |\n| --- | --- |",
    "\x1b]0;title\x07",
    "\x1b[2J\x1b[1;1H",
    "\u{202e}gpj.exe",
    "nul\0byte",
    "#123 GH-7 org/repo#9 https://evil.example/x www.evil.example mail@evil.example",
    "**bold** _em_ ~~gone~~ $x$ &#64;org &amp;",
    "1. ordered",
    "---",
    "trailing backslash \\",
    "    indented code",
    "tab\there\r\nand crlf",
    "\u{9b}31m c1 csi",
];

/// Ordinary names, which come out of [`text`] unchanged.
const ORDINARY: &[&str] = &[
    "billing-api",
    "org/repo",
    "component:default/my_service",
    "group:default/team-payments",
    "src/app.py",
    "python-logging-warn ×2",
    "snake_case_name",
    "v1.2.3",
];

/// GFM as GitHub has it, as far as pulldown-cmark goes: tables, task
/// lists, strikethrough, footnotes, math.
pub(crate) fn gfm() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
}

/// The structure of a Markdown document without its text: every tag in
/// order (with links' and images' targets), every code span, HTML piece,
/// math, break and task marker. Two renderings with the same shape have
/// the same paragraphs, list items, headings, cells, links and emphasis.
pub(crate) fn shape(md: &str) -> Vec<String> {
    Parser::new_ext(md, gfm())
        .filter_map(|e| match e {
            Event::Start(Tag::Link { dest_url, .. }) => Some(format!("link({dest_url})")),
            Event::Start(Tag::Image { dest_url, .. }) => Some(format!("image({dest_url})")),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                Some(format!("fence({info})"))
            }
            Event::Start(tag) => Some(format!("{tag:?}")),
            Event::End(TagEnd::Link) => Some("/link".into()),
            Event::End(tag) => Some(format!("/{tag:?}")),
            Event::Text(_) => None,
            Event::Code(_) => Some("code".into()),
            Event::InlineMath(_) | Event::DisplayMath(_) => Some("math".into()),
            Event::Html(h) | Event::InlineHtml(h) => Some(format!("html({h})")),
            other => Some(format!("{other:?}")),
        })
        .collect()
}

/// The text a reader sees, code included, without zero-width spaces.
pub(crate) fn plain(md: &str) -> String {
    let mut out = String::new();
    for e in Parser::new_ext(md, gfm()) {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push('|'),
            _ => {}
        }
    }
    out.replace(ZWSP, "")
}

/// What a value from outside must never make on GitHub: a mention, an
/// issue reference or a bare address GitHub would link, in text outside
/// code and outside links (their targets are in [`shape`]); and anywhere,
/// a raw control character (tabs and newlines aside). `ours` are texts fleetwright writes itself
/// (its own addresses), left out of the search.
pub(crate) fn hazards(md: &str, ours: &[&str]) -> Vec<String> {
    let github = Regex::new(r"(?i)@[a-z0-9]|#[0-9]|\bgh-[0-9]|://|\bwww\.").unwrap();
    let mut found = Vec::new();
    let (mut in_link, mut in_code) = (0, false);
    for e in TextMergeStream::new(Parser::new_ext(md, gfm())) {
        match e {
            Event::Start(Tag::Link { .. }) => in_link += 1,
            Event::End(TagEnd::Link) => in_link -= 1,
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if in_link == 0 && !in_code => {
                let mut t = t.to_string();
                for o in ours {
                    t = t.replace(o, "");
                }
                if let Some(m) = github.find(&t) {
                    found.push(format!("`{}` in text: {t:?}", m.as_str()));
                }
            }
            _ => {}
        }
    }
    if let Some(c) = md
        .chars()
        .find(|&c| !matches!(c, '\n' | '\t') && is_control(c))
    {
        found.push(format!("raw control character {c:?}"));
    }
    found
}

/// What [`text`] must show for `value`: one line, controls visible,
/// spaces at the ends dropped.
fn shown(value: &str) -> String {
    line(value.trim_matches(|c: char| c.is_whitespace() || is_break(c))).into_owned()
}

#[test]
fn terminal_shows_every_control_character() {
    for (input, expected) in [
        ("billing-api", "billing-api"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\u{202e}gpj.exe", "\\u{202e}gpj.exe"),
        ("a\0b", "a\\x00b"),
        ("one\ntwo\tthree\r", "one\\ntwo\\tthree\\r"),
        ("\u{9b}31m", "\\u{9b}31m"),
        ("\x7f", "\\x7f"),
        (
            "\u{2066}x\u{2069}\u{200e}\u{200f}\u{61c}",
            "\\u{2066}x\\u{2069}\\u{200e}\\u{200f}\\u{61c}",
        ),
        ("ünïcødé ×2 — fine", "ünïcødé ×2 — fine"),
    ] {
        assert_eq!(terminal(input), expected, "{input:?}");
    }
    assert!(matches!(terminal("plain"), Cow::Borrowed("plain")));
    // No character at all comes out raw if it is a control.
    let every: String = (0..=0x10ffff_u32).filter_map(char::from_u32).collect();
    assert!(!terminal(&every).chars().any(is_control));
    assert!(!line(&every).chars().any(|c| is_control(c) || is_break(c)));
}

#[test]
fn line_keeps_a_title_on_one_line() {
    assert_eq!(line("Bump billing-api"), "Bump billing-api");
    assert_eq!(line("a\r\nb\nc\u{2028}d"), "a b c d");
    assert_eq!(
        line("x\nFleetwright-Campaign: other"),
        "x Fleetwright-Campaign: other"
    );
    assert_eq!(line("\x1b[2Jx"), "\\x1b[2Jx");
}

#[test]
fn text_leaves_ordinary_names_alone() {
    for name in ORDINARY {
        assert_eq!(text(name), *name);
    }
}

#[test]
fn text_renders_as_itself_wherever_it_stands() {
    // Each place inline text can stand, with `{}` for the value.
    let places = [
        "before {} after",
        "{}",
        "- [ ] {} — open",
        "## {} — 1 of 2 done",
        "| name | state |\n| --- | --- |\n| {} | open |",
        "> {}",
        "**{}:** reason",
        "[{}](https://example.com/pr/1)",
    ];
    for place in places {
        let expected_shape = shape(&place.replace("{}", "x"));
        for value in HOSTILE.iter().chain(ORDINARY) {
            let md = place.replace("{}", &text(value));
            assert_eq!(shape(&md), expected_shape, "{value:?} in {place:?}:\n{md}");
            assert_eq!(hazards(&md, &[]), Vec::<String>::new(), "{value:?}:\n{md}");
            let seen = plain(&md);
            let want = shown(value);
            assert!(
                seen.contains(&want),
                "{value:?} shows as {seen:?}, not {want:?}:\n{md}"
            );
        }
    }
}

#[test]
fn text_breaks_what_github_links_beyond_commonmark() {
    // GitHub finds mentions and references in the rendered text: a
    // backslash would be gone by then (github/markup#1168).
    assert_eq!(text("@org/team"), "@\u{200b}org/team");
    assert_eq!(text("#12"), "\\#\u{200b}12");
    assert_eq!(text("see GH-7"), "see GH-\u{200b}7");
    assert_eq!(text("https://x.example"), "https:\u{200b}//x.example");
    assert_eq!(text("www.x.example"), "www\u{200b}.x.example");
    assert_eq!(text("&#64;org"), "&amp;\\#\u{200b}64;org");
    // Words that only look alike are left alone.
    assert_eq!(text("issue-#a"), "issue-\\#a");
    assert_eq!(text("ghost-7 awww."), "ghost-7 awww.");
}

#[test]
fn code_holds_any_text() {
    for value in HOSTILE.iter().chain(ORDINARY) {
        let md = format!("before {} after", code(value));
        assert_eq!(
            shape(&md),
            ["Paragraph", "code", "/Paragraph"],
            "{value:?}:\n{md}"
        );
        assert_eq!(hazards(&md, &[]), Vec::<String>::new(), "{value:?}:\n{md}");
        let spans: Vec<String> = Parser::new_ext(&md, gfm())
            .filter_map(|e| match e {
                Event::Code(c) => Some(c.to_string()),
                _ => None,
            })
            .collect();
        // (A CRLF is one line break, shown `\n`.)
        let want = terminal(&value.replace("\r\n", "\n")).into_owned();
        assert_eq!(spans, [want], "{value:?}:\n{md}");
        // In a table cell, the same span, and the cell stays one cell.
        let table = format!("| a | b |\n| --- | --- |\n| {} | x |", table_code(value));
        assert_eq!(
            shape(&table),
            shape("| a | b |\n| --- | --- |\n| `v` | x |"),
            "{value:?}:\n{table}"
        );
    }
    assert_eq!(code("src/app.py"), "`src/app.py`");
    assert_eq!(code("a`b"), "``a`b``");
    assert_eq!(code("`x`"), "`` `x` ``");
    assert_eq!(code("a\nb"), "`a\\nb`");
}

#[test]
fn code_block_holds_any_text() {
    for value in HOSTILE
        .iter()
        .chain(&["```\nnot the end\n````", "~~~\nx\n~~~"])
    {
        let md = format!("Output:\n\n{}\n\n- after", code_block(value));
        assert_eq!(
            shape(&md),
            [
                "Paragraph",
                "/Paragraph",
                "fence()",
                "/CodeBlock",
                "List(None)",
                "Item",
                "/Item",
                "/List(false)"
            ],
            "{value:?}:\n{md}"
        );
        assert_eq!(hazards(&md, &[]), Vec::<String>::new(), "{value:?}:\n{md}");
        let inside: String = Parser::new_ext(&md, gfm())
            .skip_while(|e| !matches!(e, Event::Start(Tag::CodeBlock(_))))
            .take_while(|e| !matches!(e, Event::End(TagEnd::CodeBlock)))
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.to_string()),
                _ => None,
            })
            .collect();
        let want: String = value
            .replace("\r\n", "\n")
            .split('\n')
            .map(|l| terminal(l).replace("\\t", "\t"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(inside.trim_end_matches('\n'), want.trim_end_matches('\n'));
    }
}

#[test]
fn links_are_made_only_to_web_addresses() {
    let md = link("the report", "https://example.com/r.html");
    assert_eq!(md, "[the report](https://example.com/r.html)");
    for bad in [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/relative",
        "//evil.example",
        "vbscript:x",
        "https://",
    ] {
        let md = link("label", bad);
        assert_eq!(shape(&md), ["Paragraph", "/Paragraph"], "{bad:?}: {md}");
        assert_eq!(plain(&md), "label\n");
    }
    // A target that tries to end early, carry a title or split a cell.
    let md = link(
        "[x](javascript:y) @team",
        "https://example.com/a b(c)<d>\"e\"|f\\g`h\n",
    );
    assert_eq!(
        shape(&md),
        [
            "Paragraph",
            "link(https://example.com/a%20b%28c%29%3Cd%3E%22e%22%7Cf%5Cg%60h)",
            "/link",
            "/Paragraph"
        ],
        "{md}"
    );
    assert_eq!(hazards(&md, &[]), Vec::<String>::new(), "{md}");
    assert_eq!(plain(&md), "[x](javascript:y) @team\n");
}
