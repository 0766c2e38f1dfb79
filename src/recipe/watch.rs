//! Which files a rewrite is working on right now, told to whoever listens.
//!
//! A rewrite runs in a child process (see `engine::isolate`) so that a crash
//! in it (a stack overflow in a parser, an abort) fails one target instead
//! of the whole run. To name the file it crashed on, the child installs a
//! listener here that writes each start and end to its stderr, and the
//! parent keeps the files started and not finished. Without a listener
//! (in-process use) this costs one atomic load per file.

use std::path::Path;
use std::sync::OnceLock;

/// A file's work begins or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Start,
    End,
}

type Listener = fn(&Path, Phase);

static LISTENER: OnceLock<Listener> = OnceLock::new();

/// Tell `listener` about every file from now on (once per process).
pub fn listen(listener: Listener) {
    let _ = LISTENER.set(listener);
}

/// Work on one file, from its creation to its drop.
pub(super) struct Working<'a>(&'a Path);

impl<'a> Working<'a> {
    pub(super) fn on(rel: &'a Path) -> Self {
        if let Some(listener) = LISTENER.get() {
            listener(rel, Phase::Start);
        }
        Working(rel)
    }
}

impl Drop for Working<'_> {
    fn drop(&mut self) {
        // A panic on this file: it stays "started", so it is named.
        if std::thread::panicking() {
            return;
        }
        if let Some(listener) = LISTENER.get() {
            listener(self.0, Phase::End);
        }
    }
}
