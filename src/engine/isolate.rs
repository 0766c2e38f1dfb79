//! A target's rewrite in a child process, so that whatever it does fails
//! that target only.
//!
//! A recipe runs parsers (tree-sitter grammars, the structured editors)
//! over files of repositories nobody here wrote. A panic can be caught, but
//! a stack overflow or an abort in a dependency ends the whole process, and
//! with it every other target of the run, and the next run dies the same
//! way. So `run`, `launch`, `advance` and `scan` compute each target's
//! changes in a child: this same executable (`/proc/self/exe`, which stays
//! valid when the file is replaced mid-run), started as `fleetwright
//! __rewrite` with a [`Request`] on its stdin; it loads the recipe again
//! (checking its fingerprint), applies it, and writes a [`Response`] on its
//! stdout. It writes nothing else: the parent writes the changes, as
//! before. While it works, it tells on stderr which files it is on
//! ([`crate::recipe::watch`]), so a crash is reported with the repository
//! and the file(s) it was working on.
//!
//! The child gets a scrubbed environment (no token: the parent's
//! environment holds none after `main` anyway) and its own process group,
//! killed whole when it overruns [`TIMEOUT`].

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::recipe::{ApplyOptions, Changes, Recipe, Values};

/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "__rewrite";

/// The longest a rewrite of one repository may take.
pub const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The marker of the child's lines about its files on stderr.
const MARK: &str = "fleetwright-rewrite:";

/// Where a target's rewrite runs.
#[derive(Debug, Clone)]
pub enum Rewriter {
    /// In this process (library use and unit tests, where no fleetwright
    /// executable exists to start).
    InProcess,
    /// In a child process of this executable.
    Child(PathBuf),
}

impl Rewriter {
    /// A child of the running executable.
    pub fn child() -> Self {
        Rewriter::Child(PathBuf::from("/proc/self/exe"))
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
            Rewriter::Child(exe) => in_child(exe, recipe, root, options),
        }
    }
}

/// What the parent asks of the child.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub recipe: PathBuf,
    pub values: Values,
    /// The recipe the parent loaded: the child refuses another one (a
    /// recipe file edited meanwhile).
    pub fingerprint: String,
    pub root: PathBuf,
    pub options: ApplyOptions,
    /// What the parent hides from sandboxes ([`crate::sandbox::hide`]):
    /// the child's `run:` steps hide it too.
    pub hidden: Vec<PathBuf>,
}

/// What the child answers.
#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Changes(Changes),
    Failed(String),
}

/// The child's side: load the recipe, apply it, answer.
pub fn serve(request: Request) -> Response {
    for path in &request.hidden {
        crate::sandbox::hide(path);
    }
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
    match recipe.apply_with(&request.root, &request.options) {
        Ok(changes) => Response::Changes(changes),
        Err(e) => Response::Failed(super::error_chain(&e)),
    }
}

/// The line the child writes on stderr when it starts or ends a file.
pub fn watch_line(rel: &Path, phase: crate::recipe::watch::Phase) -> String {
    let what = match phase {
        crate::recipe::watch::Phase::Start => "start",
        crate::recipe::watch::Phase::End => "end",
    };
    // JSON: a file name may hold a newline.
    let path = serde_json::to_string(&rel.to_string_lossy()).unwrap_or_default();
    format!("{MARK} {what} {path}\n")
}

/// What the parent learns from the child's stderr.
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

fn in_child(
    exe: &Path,
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
    let request =
        serde_json::to_vec(&request).map_err(|e| format!("cannot describe the rewrite: {e}"))?;
    let mut child = Command::new(exe)
        .arg(SUBCOMMAND)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the rewrite process {}: {e}", exe.display()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    // Both pipes drain on their own threads while the request is written,
    // so that no side waits on a full pipe.
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut watched = Watched::default();
        for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            watched.line(&String::from_utf8_lossy(&line));
        }
        watched
    });
    let written = stdin.write_all(&request);
    drop(stdin);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= TIMEOUT => {
                // SAFETY: killpg on the group this child leads.
                unsafe {
                    libc::killpg(child.id() as libc::pid_t, libc::SIGKILL);
                }
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for the rewrite process: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let watched = err.join().unwrap_or_default();
    let status = match status {
        None => {
            return Err(crashed(
                &format!(
                    "it ran past {} minutes and was stopped",
                    TIMEOUT.as_secs() / 60
                ),
                &watched,
            ));
        }
        Some(status) => status,
    };
    if status.success()
        && let Ok(response) = serde_json::from_slice::<Response>(&out)
    {
        return match response {
            Response::Changes(changes) => Ok(changes),
            Response::Failed(why) => Err(why),
        };
    }
    if let Err(e) = written
        && status.success()
    {
        return Err(format!("cannot send the rewrite its work: {e}"));
    }
    let how = match (status.code(), status.signal()) {
        (_, Some(libc::SIGSEGV)) => "it crashed (segmentation fault)".to_string(),
        (_, Some(libc::SIGABRT)) => "it aborted".to_string(),
        (_, Some(libc::SIGKILL)) => "it was killed (out of memory?)".to_string(),
        (_, Some(signal)) => format!("it was ended by signal {signal}"),
        (Some(0), None) => "it gave no answer".to_string(),
        (Some(code), None) => format!("it failed (exit {code})"),
        (None, None) => "it ended".to_string(),
    };
    Err(crashed(&how, &watched))
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
