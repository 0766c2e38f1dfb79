//! Where a rewrite's time goes, step by step (`recipe apply --profile`).
//!
//! Each step of rewriting a file (read, prefilter, parse, match, fix,
//! re-parse, check, write) adds the time it took to one counter of the
//! process, summed over the threads, so the figures add up to the CPU time
//! of the rewrite rather than to its wall time. Off unless [`enable`]d: then
//! a step costs one atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A step of rewriting a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reading the file and telling text from binary.
    Read,
    /// The literal scan: which rules may match, and where (anchors).
    Prefilter,
    /// tree-sitter's parse of a file some rule may match.
    Parse,
    /// Walking the tree and matching the rules' patterns.
    Match,
    /// Making the edits of the matches and splicing them in.
    Fix,
    /// Parsing the rewritten text again, incrementally, for the next pass.
    Reparse,
    /// Collecting syntax errors, before and after a change.
    Check,
    /// Writing the changed files.
    Write,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Read,
        Step::Prefilter,
        Step::Parse,
        Step::Match,
        Step::Fix,
        Step::Reparse,
        Step::Check,
        Step::Write,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::Prefilter => "prefilter",
            Step::Parse => "parse",
            Step::Match => "match",
            Step::Fix => "fix",
            Step::Reparse => "re-parse",
            Step::Check => "check",
            Step::Write => "write",
        }
    }
}

static ON: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static TIMES: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// Count the steps from now on.
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Run `f` as one `step`, counted when profiling is on.
pub(crate) fn time<T>(step: Step, f: impl FnOnce() -> T) -> T {
    if !ON.load(Ordering::Relaxed) {
        return f();
    }
    let started = Instant::now();
    let out = f();
    add(step, started.elapsed());
    out
}

/// Count `took` as one run of `step`, when profiling is on (for a step
/// whose parts are not one closure).
pub(crate) fn add(step: Step, took: Duration) {
    if ON.load(Ordering::Relaxed) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        NANOS[step as usize].fetch_add(nanos, Ordering::Relaxed);
        TIMES[step as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// Each step: the time it took in all, and how many times it ran.
pub fn totals() -> Vec<(Step, Duration, u64)> {
    Step::ALL
        .iter()
        .map(|step| {
            let i = *step as usize;
            (
                *step,
                Duration::from_nanos(NANOS[i].load(Ordering::Relaxed)),
                TIMES[i].load(Ordering::Relaxed),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Off, nothing is counted; on, every step adds its time and one run.
    #[test]
    fn steps_are_counted_only_when_profiling_is_on() {
        let before = totals();
        assert_eq!(time(Step::Fix, || 7), 7);
        assert_eq!(totals(), before, "counted while off");
        enable();
        time(Step::Fix, || std::thread::sleep(Duration::from_millis(5)));
        let after = totals();
        let fix = after.iter().find(|(s, _, _)| *s == Step::Fix).unwrap();
        assert!(fix.1 >= Duration::from_millis(5) && fix.2 >= 1, "{fix:?}");
    }
}
