//! Builders and checks the tests of every format share.

use regex::Regex;
use serde_json::Value;

use super::{Applied, Edit, EditError, KeyPath, Op};

/// A format's `apply`.
pub type Apply = fn(&str, &[Edit]) -> Result<Applied, EditError>;

pub fn edit(op: Op, path: &str) -> Edit {
    Edit {
        op,
        path: KeyPath::parse(path).unwrap(),
        value: None,
        to: None,
        when: None,
        where_: Vec::new(),
    }
}

fn with_value(op: Op, path: &str, value: Value) -> Edit {
    Edit {
        value: Some(value),
        ..edit(op, path)
    }
}

pub fn set(path: &str, value: Value) -> Edit {
    with_value(Op::Set, path, value)
}

pub fn ensure(path: &str, value: Value) -> Edit {
    with_value(Op::Ensure, path, value)
}

pub fn append(path: &str, value: Value) -> Edit {
    with_value(Op::Append, path, value)
}

pub fn rename(path: &str, to: &str) -> Edit {
    Edit {
        to: Some(to.to_string()),
        ..edit(Op::Rename, path)
    }
}

pub fn delete(path: &str) -> Edit {
    edit(Op::Delete, path)
}

pub fn when(edit: Edit, regex: &str) -> Edit {
    Edit {
        when: Some(Regex::new(regex).unwrap()),
        ..edit
    }
}

pub fn where_(mut edit: Edit, path: &str, regex: &str) -> Edit {
    edit.where_
        .push((KeyPath::parse(path).unwrap(), Regex::new(regex).unwrap()));
    edit
}

/// Apply `edits` to `input`, expecting `expected` and `counts`; then
/// apply them again to the output, which must change nothing.
#[track_caller]
pub fn check(apply: Apply, input: &str, edits: &[Edit], expected: &str, counts: &[usize]) {
    let text = check_once(apply, input, edits, expected, counts);
    let again = apply(&text, edits).unwrap_or_else(|e| panic!("again: {e}"));
    assert_eq!(again.text, expected, "not idempotent:\n{}", again.text);
    assert_eq!(
        again.counts,
        vec![0; edits.len()],
        "counts when applied again"
    );
}

/// [`check`] without the second application: for deletes by index, which
/// remove the next item each time (by nature, not idempotent).
#[track_caller]
pub fn check_once(
    apply: Apply,
    input: &str,
    edits: &[Edit],
    expected: &str,
    counts: &[usize],
) -> String {
    let Applied { text, counts: got } = apply(input, edits).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text, expected, "\n--- got:\n{text}");
    assert_eq!(got, counts, "counts");
    text
}

/// `edits` on `input` fail with a [`EditError::Parse`] in `format` at `line`.
#[track_caller]
pub fn parse_error(apply: Apply, input: &str, edits: &[Edit], format: &str, line: usize) {
    let err = apply(input, edits).unwrap_err();
    assert!(
        matches!(&err, EditError::Parse { format: f, line: l, .. } if *f == format && *l == line),
        "{input:?}: {err:?}"
    );
}

/// `edits` on `input` fail with a [`EditError::Conflict`]: the index of the
/// edit and the line.
#[track_caller]
pub fn conflict_at(apply: Apply, input: &str, edits: &[Edit]) -> (usize, usize) {
    match apply(input, edits) {
        Err(EditError::Conflict { edit, line, .. }) => (edit, line),
        other => panic!("not a conflict: {other:?}"),
    }
}
