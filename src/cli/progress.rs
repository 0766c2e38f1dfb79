//! Progress bars on stderr, drawn by indicatif (hidden when stderr is not a
//! terminal). Repository names and wait reasons go through
//! [`terminal`] before they reach the bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
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
