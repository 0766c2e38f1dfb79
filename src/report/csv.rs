//! The campaign report as CSV (RFC 4180): one row per target, or one row
//! per day of the burndown, for spreadsheets and scripts.
//!
//! Fields holding a comma, a quote, a line break or leading/trailing space
//! are quoted, quotes doubled. A field that a spreadsheet would take for a
//! formula (`=`, `+`, `-`, `@`, a tab, a carriage return or a line feed
//! first; OWASP's "CSV Injection" page and ASVS 5.0 requirement 1.2.10)
//! gets a leading `'`, unless it is a plain number such as `-3`: repository
//! names and reasons come from outside. Other control characters (NUL too)
//! and bidi controls are shown as `\x1b` or `\u{202e}` (see
//! [`crate::escape`]), so a CSV printed on a terminal cannot steer it. Lines end with CRLF, as
//! RFC 4180 says.

use super::campaign::CampaignReport;
use crate::escape;

/// The header of `--table targets`. `state` is the stored state (what
/// `status --target-state` takes); `state_label` says it in words, and
/// `outcome` is what the report counts it as (`declined` by the owners or
/// `closed_by_platform_team`, `opted_out`, ...); `migrated` is true when
/// it is merged or needs no change and the latest scan finds no place left.
pub const TARGET_COLUMNS: [&str; 20] = [
    "repo",
    "component",
    "owner",
    "tranche",
    "tranche_name",
    "state",
    "state_label",
    "outcome",
    "settled",
    "migrated",
    "step",
    "reason",
    "pr_number",
    "pr_url",
    "pr_state",
    "ci",
    "review",
    "no_reviewer",
    "stale",
    "remaining_matches",
];

/// The header of `--table days`.
pub const DAY_COLUMNS: [&str; 10] = [
    "date",
    "merged",
    "open",
    "declined",
    "closed_by_platform_team",
    "not_needed",
    "opted_out",
    "not_started",
    "other",
    "remaining_matches",
];

/// One row per target, in plan order, under [`TARGET_COLUMNS`].
pub fn targets(report: &CampaignReport) -> String {
    let mut out = row(TARGET_COLUMNS.iter().map(|c| c.to_string()));
    for t in &report.targets {
        let pr = t.pr.as_ref();
        out.push_str(&row([
            t.repo.clone(),
            t.component.clone(),
            t.owner.clone(),
            t.tranche.to_string(),
            t.tranche_name.clone(),
            t.state.clone(),
            t.state_label.clone(),
            t.outcome.as_str().to_string(),
            t.settled.to_string(),
            t.migrated.to_string(),
            t.step.clone().unwrap_or_default(),
            t.reason.clone().unwrap_or_default(),
            pr.map(|p| p.number.to_string()).unwrap_or_default(),
            pr.map(|p| p.url.clone()).unwrap_or_default(),
            pr.map(|p| p.state.clone()).unwrap_or_default(),
            t.ci.map_or_else(String::new, |c| c.as_str().to_string()),
            t.review
                .map_or_else(String::new, |r| r.as_str().to_string()),
            t.no_reviewer.to_string(),
            t.stale.to_string(),
            t.remaining_matches
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ]));
    }
    out
}

/// One row per day of the burndown, oldest first, under [`DAY_COLUMNS`].
pub fn days(report: &CampaignReport) -> String {
    let mut out = row(DAY_COLUMNS.iter().map(|c| c.to_string()));
    for d in &report.days {
        out.push_str(&row([
            d.date.clone(),
            d.merged.to_string(),
            d.open.to_string(),
            d.declined.to_string(),
            d.closed_by_platform_team.to_string(),
            d.not_needed.to_string(),
            d.opted_out.to_string(),
            d.not_started.to_string(),
            d.other.to_string(),
            d.remaining_matches
                .map(|m| m.to_string())
                .unwrap_or_default(),
        ]));
    }
    out
}

/// One CSV line of `fields`, CRLF-terminated.
fn row(fields: impl IntoIterator<Item = String>) -> String {
    let mut line = fields
        .into_iter()
        .map(|f| field(&f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// One field, quoted when it must be, defused when a spreadsheet would
/// read it as a formula.
pub fn field(text: &str) -> String {
    let text: String = text
        .split_inclusive(['\t', '\n', '\r'])
        .map(|part| {
            let (body, end) = part.split_at(part.trim_end_matches(['\t', '\n', '\r']).len());
            format!("{}{end}", escape::terminal(body))
        })
        .collect();
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r', '\n'])
        && text.parse::<f64>().is_err()
    {
        format!("'{text}")
    } else {
        text
    };
    let needs_quotes =
        text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("billing-api"), "billing-api");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"no\""), "\"say \"\"no\"\"\"");
        assert_eq!(field("line 1\nline 2"), "\"line 1\nline 2\"");
        assert_eq!(field(" padded"), "\" padded\"");
        // A negative number stays a number; a formula does not run.
        assert_eq!(field("-3"), "-3");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@cmd"), "'@cmd");
    }

    #[test]
    fn what_a_spreadsheet_would_run_is_text() {
        for (input, expected) in [
            ("=1+1", "'=1+1"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "\"'\r=1\""),
            ("\n=1", "\"'\n=1\""),
            (
                "=HYPERLINK(\"https://x\",\"y\")",
                "\"'=HYPERLINK(\"\"https://x\"\",\"\"y\"\")\"",
            ),
            ("1.5", "1.5"),
            ("+7", "+7"),
        ] {
            assert_eq!(field(input), expected, "{input:?}");
        }
        // NUL is shown, and is no formula either.
        assert_eq!(field("\0=1"), "\\x00=1");
    }

    #[test]
    fn control_characters_are_shown_not_written() {
        assert_eq!(field("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
        assert_eq!(field("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(field("a\tb\nc"), "\"a\tb\nc\"");
        assert_eq!(field("\x1b[2J,x"), "\"\\x1b[2J,x\"");
    }
}
