//! Progress bars on stderr, drawn by indicatif (hidden when stderr is not a
//! terminal). Repository names and wait reasons go through
//! [`terminal`] before they reach the bar.
//!
//! Everything else fleetwright writes to stderr while a bar may be drawn
//! (log lines, notes) goes through [`eprint_lines`], which lifts the bars
//! off the terminal, writes, and draws them again: a log line never tears
//! a bar.

use std::io::Write as _;
use std::sync::LazyLock;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bars on stderr: every [`Bars`] draws through it, and writers to
/// stderr suspend it.
static TERMINAL: LazyLock<MultiProgress> =
    LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));

/// Write `bytes` to stderr with the progress bars lifted off meanwhile.
pub fn eprint_lines(bytes: &[u8]) -> std::io::Result<()> {
    TERMINAL.suspend(|| {
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(bytes).and_then(|()| stderr.flush())
    })
}

/// stderr for `tracing`: each event written whole, the bars lifted off
/// meanwhile ([`eprint_lines`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stderr;

/// One event's text, written when the event is done.
pub struct EventWriter(Vec<u8>);

impl std::io::Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = eprint_lines(&self.0);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(Vec::with_capacity(256))
    }
}

use crate::engine::Progress;
use crate::escape::terminal;
use crate::state::{Step, TargetState};

/// One bar per run, with the current target and step as its message.
pub struct Bars {
    bar: ProgressBar,
    /// The run's label, which a wait message is shown beside.
    label: std::sync::Mutex<String>,
}

impl Bars {
    pub fn new() -> Self {
        let bar = TERMINAL.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Bars {
            bar,
            label: std::sync::Mutex::new(String::new()),
        }
    }
}

impl Progress for Bars {
    fn start(&self, label: &str, total: usize) {
        self.bar.reset();
        self.bar.set_length(total as u64);
        let label = terminal(label).into_owned();
        self.bar.set_prefix(label.clone());
        *self.label.lock().unwrap_or_else(|e| e.into_inner()) = label;
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(120));
    }

    fn step(&self, repo: &str, step: Step) {
        let verb = match step {
            Step::Clone => "fetching",
            Step::Apply => "applying the recipe",
            Step::Commit => "committing",
            Step::Push => "pushing",
            Step::OpenPr => "opening the pull request",
        };
        self.bar.set_message(format!("{}: {verb}", terminal(repo)));
    }

    fn done(&self, repo: &str, state: TargetState) {
        self.bar.inc(1);
        self.bar.set_message(format!("{}: {state}", terminal(repo)));
    }

    fn waiting(&self, why: Option<&str>) {
        let label = self.label.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.bar.set_prefix(match why {
            Some(why) => format!("{label} ({})", terminal(why)),
            None => label,
        });
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
