//! A target's rewrite in a child process, so that whatever it does fails
//! that target only.
//!
//! A recipe runs parsers (tree-sitter grammars, the structured editors)
//! over files of repositories nobody here wrote. A panic can be caught, but
//! a stack overflow or an abort in a dependency ends the whole process, and
//! with it every other target of the run, and the next run dies the same
//! way. So `run`, `launch`, `advance` and `scan` compute each target's
//! changes in a worker: this same executable (`/proc/self/exe`, which stays
//! valid when the file is replaced mid-run), started as `fleetwright
//! __rewrite`. A worker reads one [`Request`] per line on its stdin, loads
//! the recipe once (checking its fingerprint), applies it, and writes one
//! [`Response`] per line on its stdout; it writes nothing else, and the
//! parent writes the changes, as before. While it works it tells on stderr
//! which files it is on ([`crate::recipe::watch`]), so a crash is reported
//! with the repository and the file(s) it was working on.
//!
//! Workers are kept in a [`Pool`] and reused from one target to the next
//! (starting a process and loading the recipe for each of ten thousand
//! targets of a `scan` would cost more than most rewrites); one that
//! crashed or overran [`TIMEOUT`] is killed (its whole process group) and
//! never reused. They get a scrubbed environment (no token: the parent's
//! environment holds none after `main` anyway), and end when their stdin
//! closes: when the pool is dropped, or when the parent dies.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::recipe::{ApplyOptions, Changes, Recipe, Values};

/// The hidden subcommand a worker runs.
pub const SUBCOMMAND: &str = "__rewrite";

/// The longest a rewrite of one repository may take: a backstop for a
/// worker that hangs, well above what `run:` steps may take (each has its
/// own timeout, 10 minutes by default).
pub const TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);

/// The marker of a worker's lines about its files on stderr.
const MARK: &str = "fleetwright-rewrite:";

/// Where a target's rewrite runs.
#[derive(Debug, Clone)]
pub enum Rewriter {
    /// In this process (library use and unit tests, where no fleetwright
    /// executable exists to start).
    InProcess,
    /// In worker processes of this executable.
    Child(Arc<Pool>),
}

impl Rewriter {
    /// Workers of the running executable.
    pub fn child() -> Self {
        Rewriter::Child(Arc::new(Pool::new(PathBuf::from("/proc/self/exe"))))
    }

    /// Apply `recipe` to the tree at `root`; the error is the whole story
    /// of what went wrong, in words.
    pub fn apply(
        &self,
        recipe: &Recipe,
        root: &Path,
        options: &ApplyOptions,
    ) -> Result<Changes, String> {
        match self {
            Rewriter::InProcess => recipe
                .apply_with(root, options)
                .map_err(|e| super::error_chain(&e)),
            Rewriter::Child(pool) => pool.apply(recipe, root, options),
        }
    }
}

/// What the parent asks of a worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub recipe: PathBuf,
    pub values: Values,
    /// The recipe the parent loaded: the worker refuses another one (a
    /// recipe file edited meanwhile).
    pub fingerprint: String,
    pub root: PathBuf,
    pub options: ApplyOptions,
    /// What the parent hides from sandboxes ([`crate::sandbox::hide`]):
    /// the worker's `run:` steps hide it too.
    pub hidden: Vec<PathBuf>,
}

/// What a worker answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Changes(Changes),
    Failed(String),
}

/// The worker's side: the recipe it loaded last, kept for the next
/// request.
#[derive(Default)]
pub struct Server {
    loaded: Option<(PathBuf, Values, Recipe)>,
}

impl Server {
    /// Load the recipe (unless it is the one loaded last), apply it, answer.
    pub fn serve(&mut self, request: Request) -> Response {
        for path in &request.hidden {
            crate::sandbox::hide(path);
        }
        let same = self.loaded.as_ref().is_some_and(|(path, values, recipe)| {
            *path == request.recipe
                && *values == request.values
                && recipe.fingerprint == request.fingerprint
        });
        if !same {
            self.loaded = None;
            let recipe = match Recipe::load_with(&request.recipe, &request.values) {
                Ok(recipe) => recipe,
                Err(e) => return Response::Failed(super::error_chain(&e)),
            };
            if recipe.fingerprint != request.fingerprint {
                return Response::Failed(format!(
                    "the recipe {} changed during the run; run again to use the new one",
                    request.recipe.display()
                ));
            }
            self.loaded = Some((request.recipe.clone(), request.values.clone(), recipe));
        }
        let Some((_, _, recipe)) = &self.loaded else {
            return Response::Failed("no recipe".into());
        };
        match recipe.apply_with(&request.root, &request.options) {
            Ok(changes) => Response::Changes(changes),
            Err(e) => Response::Failed(super::error_chain(&e)),
        }
    }
}

/// The line a worker writes on stderr when it starts or ends a file.
pub fn watch_line(rel: &Path, phase: crate::recipe::watch::Phase) -> String {
    let what = match phase {
        crate::recipe::watch::Phase::Start => "start",
        crate::recipe::watch::Phase::End => "end",
    };
    // JSON: a file name may hold a newline.
    let path = serde_json::to_string(&rel.to_string_lossy()).unwrap_or_default();
    format!("{MARK} {what} {path}\n")
}

/// What the parent learns from a worker's stderr.
#[derive(Default)]
struct Watched {
    /// Files started and not ended, in the order started.
    open: Vec<String>,
    /// The end of everything else it wrote.
    tail: String,
}

impl Watched {
    fn line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix(MARK) {
            let rest = rest.trim();
            let (what, path) = rest.split_once(' ').unwrap_or((rest, ""));
            let path: String = serde_json::from_str(path).unwrap_or_else(|_| path.to_string());
            match what {
                "start" => self.open.push(path),
                _ => {
                    if let Some(i) = self.open.iter().position(|p| *p == path) {
                        self.open.remove(i);
                    }
                }
            }
            return;
        }
        self.tail.push_str(line);
        self.tail.push('\n');
        const KEEP: usize = 2000;
        if self.tail.len() > 2 * KEEP {
            let mut cut = self.tail.len() - KEEP;
            while !self.tail.is_char_boundary(cut) {
                cut += 1;
            }
            self.tail.drain(..cut);
        }
    }
}

/// Idle workers, reused from one target to the next.
#[derive(Debug)]
pub struct Pool {
    exe: PathBuf,
    idle: Mutex<Vec<Worker>>,
}

/// One worker process, its pipes and what its stderr said.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<Vec<u8>>,
    watched: Arc<Mutex<Watched>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Worker(pid {})", self.child.id())
    }
}

impl Pool {
    pub fn new(exe: PathBuf) -> Self {
        Pool {
            exe,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn spawn(&self) -> Result<Worker, String> {
        let mut child = Command::new(&self.exe)
            .arg(SUBCOMMAND)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            // How tree-sitter's memory is kept (src/recipe/arena.rs): the
            // escape hatch reaches the processes that parse.
            .envs(crate::recipe::arena::setting().map(|v| (crate::recipe::arena::SETTING, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the rewrite process {}: {e}",
                    self.exe.display()
                )
            })?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (send, answers) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let watched = Arc::new(Mutex::new(Watched::default()));
        {
            let watched = watched.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
                    lock(&watched).line(&String::from_utf8_lossy(&line));
                }
            });
        }
        Ok(Worker {
            child,
            stdin,
            answers,
            watched,
        })
    }

    fn apply(
        &self,
        recipe: &Recipe,
        root: &Path,
        options: &ApplyOptions,
    ) -> Result<Changes, String> {
        let request = Request {
            recipe: recipe.path.clone(),
            values: recipe.values.clone(),
            fingerprint: recipe.fingerprint.clone(),
            root: root.to_path_buf(),
            options: options.clone(),
            hidden: crate::sandbox::hidden_paths(),
        };
        let mut line = serde_json::to_vec(&request)
            .map_err(|e| format!("cannot describe the rewrite: {e}"))?;
        line.push(b'\n');
        let reused = lock(&self.idle).pop();
        let mut worker = match reused {
            Some(worker) => worker,
            None => self.spawn()?,
        };
        *lock(&worker.watched) = Watched::default();
        if let Err(e) = worker
            .stdin
            .write_all(&line)
            .and_then(|_| worker.stdin.flush())
        {
            let how = format!("it did not take the work ({e})");
            return Err(worker.end(&how));
        }
        match worker.answers.recv_timeout(TIMEOUT) {
            Ok(answer) => match serde_json::from_slice::<Response>(&answer) {
                Ok(response) => {
                    lock(&self.idle).push(worker);
                    match response {
                        Response::Changes(changes) => Ok(changes),
                        Response::Failed(why) => Err(why),
                    }
                }
                Err(e) => Err(worker.end(&format!("its answer is not readable ({e})"))),
            },
            Err(RecvTimeoutError::Timeout) => Err(worker.end(&format!(
                "it ran past {} minutes and was stopped",
                TIMEOUT.as_secs() / 60
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(worker.end("")),
        }
    }
}

impl Worker {
    /// Kill the worker (its whole group) and say how it ended, naming the
    /// files it was on.
    fn end(mut self, how: &str) -> String {
        // A worker that closed its stdout (`how` empty) is ending on its
        // own: give it a moment to, so that its own exit status is read.
        let mut status = None;
        for _ in 0..if how.is_empty() { 200 } else { 0 } {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if status.is_none() {
            // SAFETY: killpg on the group this child leads.
            unsafe {
                libc::killpg(self.child.id() as libc::pid_t, libc::SIGKILL);
            }
            status = self.child.wait().ok();
        }
        // The stderr thread ends with the process: give it a moment to
        // read what was said last.
        std::thread::sleep(Duration::from_millis(20));
        let how = if how.is_empty() {
            match status.map(|s| (s.code(), s.signal())) {
                Some((_, Some(libc::SIGSEGV))) => "it crashed (segmentation fault)".to_string(),
                Some((_, Some(libc::SIGABRT))) => "it aborted".to_string(),
                Some((_, Some(libc::SIGKILL))) => "it was killed (out of memory?)".to_string(),
                Some((_, Some(signal))) => format!("it was ended by signal {signal}"),
                Some((Some(code), None)) => format!("it ended (exit {code}) without an answer"),
                _ => "it ended without an answer".to_string(),
            }
        } else {
            how.to_string()
        };
        crashed(&how, &lock(&self.watched))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a worker's stdin ends it; wait so that none is left.
        for mut worker in lock(&self.idle).drain(..) {
            drop(worker.stdin);
            let _ = worker.child.wait();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A path from the repository, with any control character shown, not
/// written.
fn shown(path: &str) -> String {
    path.escape_debug().to_string()
}

/// The failure of a rewrite that did not answer, naming its files.
fn crashed(how: &str, watched: &Watched) -> String {
    let files = match watched.open.as_slice() {
        [] => String::new(),
        [one] => format!(" while working on {}", shown(one)),
        [first, rest @ ..] => format!(
            " while working on {} (and {} more file(s): {})",
            shown(first),
            rest.len(),
            rest.iter().map(|p| shown(p)).collect::<Vec<_>>().join(", ")
        ),
    };
    let tail = crate::secret::scrub(watched.tail.trim());
    let said = if tail.is_empty() {
        String::new()
    } else {
        format!("; it said: {tail}")
    };
    format!(
        "the rewrite of this repository stopped: {how}{files}{said}. The other repositories are not affected; exclude this one (targets.exclude_*) or fix the file, and report the crash with the file if it is not the repository's fault"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::watch::Phase;

    /// A worker that takes a request, says it starts a file, and dies of
    /// a segmentation fault; and a recipe to send it.
    fn crashing_worker(dir: &Path) -> (PathBuf, Recipe) {
        use std::os::unix::fs::PermissionsExt;
        let exe = dir.join("worker.sh");
        std::fs::write(
            &exe,
            "#!/bin/sh\nread line\necho 'fleetwright-rewrite: start \"config/deep.yaml\"' >&2\necho 'thread main has overflowed its stack' >&2\nkill -SEGV $$\n",
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("recipe.yaml");
        let text = "id: x\ntitle: x\nrules:\n  - id: r\n    language: python\n    rule: {pattern: a}\n    fix: b\n";
        std::fs::write(&path, text).unwrap();
        (exe, Recipe::from_str(&path, text).unwrap())
    }

    #[test]
    fn a_worker_that_answers_is_reused_for_the_next_target() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (_, recipe) = crashing_worker(dir.path());
        let exe = dir.path().join("answers.sh");
        // Each answer names the process that gave it.
        std::fs::write(
            &exe,
            "#!/bin/sh\nwhile read line; do echo \"{\\\"Failed\\\":\\\"pid $$\\\"}\"; done\n",
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pool = Pool::new(exe);
        let first = pool.apply(&recipe, dir.path(), &ApplyOptions::default());
        let second = pool.apply(&recipe, dir.path(), &ApplyOptions::default());
        assert!(first.as_ref().unwrap_err().starts_with("pid "), "{first:?}");
        assert_eq!(first, second, "one worker served both");
        drop(pool); // closes its stdin: the worker ends, and is waited for
    }

    #[test]
    fn a_worker_that_crashes_fails_its_target_naming_the_file_and_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (exe, recipe) = crashing_worker(dir.path());
        let pool = Pool::new(exe);
        for _ in 0..2 {
            let err = pool
                .apply(&recipe, dir.path(), &ApplyOptions::default())
                .unwrap_err();
            assert!(err.contains("segmentation fault"), "{err}");
            assert!(err.contains("while working on config/deep.yaml"), "{err}");
            assert!(err.contains("overflowed its stack"), "{err}");
            assert!(lock(&pool.idle).is_empty(), "a crashed worker is not kept");
        }
    }

    #[test]
    fn the_files_in_flight_are_the_ones_started_and_not_ended() {
        let mut w = Watched::default();
        for line in [
            watch_line(Path::new("a.json"), Phase::Start),
            watch_line(Path::new("b\nc.json"), Phase::Start),
            watch_line(Path::new("a.json"), Phase::End),
            "thread 'main' has overflowed its stack\n".to_string(),
        ] {
            for l in line.split_inclusive('\n') {
                // A path with a newline is one JSON line.
                w.line(l.trim_end_matches('\n'));
            }
        }
        assert_eq!(w.open, vec!["b\nc.json".to_string()]);
        assert!(w.tail.contains("overflowed its stack"), "{}", w.tail);
        let said = crashed("it aborted", &w);
        assert!(said.contains("while working on"), "{said}");
        assert!(
            !said.contains("b\nc"),
            "a newline is shown, not written: {said}"
        );
    }
}
