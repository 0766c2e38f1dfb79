//! `verify:`: the campaign's own check (tests, a build) run in a rewritten
//! checkout before anything is pushed, so that a rewrite that looks right
//! but is wrong never reaches an app team.
//!
//! The command runs with `sh -c` in the repository's working tree, in its
//! own process group (killed whole on timeout), with a scrubbed environment:
//! `PATH`, `LANG` and `HOME` pointing at the checkout; never a forge token.
//! Its output goes to `.git/fleetwright-verify.log` inside the clone.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes of output kept (the end of the log).
const TAIL: usize = 4000;

/// How a verify run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    /// `exit 0`, `exit 3`, `killed after 600 s`, ...
    pub status: String,
    /// The end of its output (stdout and stderr interleaved).
    pub tail: String,
}

/// Run `command` in `dir` for at most `timeout`.
pub fn run(command: &str, dir: &Path, timeout: Duration) -> std::io::Result<Outcome> {
    let log_path = dir.join(".git").join("fleetwright-verify.log");
    let log = std::fs::File::create(&log_path)?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            // The whole group: the shell and whatever it started.
            let pgid = child.id() as libc::pid_t;
            // SAFETY: killpg on the group this child leads; no memory involved.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (passed, status) = match status {
        Some(s) if s.success() => (true, "exit 0".to_string()),
        Some(s) => (
            false,
            s.code()
                .map_or_else(|| "killed by a signal".to_string(), |c| format!("exit {c}")),
        ),
        None => (false, format!("killed after {} s", timeout.as_secs())),
    };
    Ok(Outcome {
        passed,
        status,
        tail: tail(&log_path)?,
    })
}

/// The last [`TAIL`] bytes of the file, from a line start.
fn tail(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    if text.len() <= TAIL {
        return Ok(text.into_owned());
    }
    let mut start = text.len() - TAIL;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let from = text[start..].find('\n').map_or(start, |i| start + i + 1);
    Ok(format!("…\n{}", &text[from..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        dir
    }

    #[test]
    fn a_passing_command_passes_with_its_output() {
        let dir = repo();
        std::fs::write(dir.path().join("a.txt"), "warning\n").unwrap();
        let out = run(
            "echo checking; grep -q warning a.txt",
            dir.path(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(out.passed, "{out:?}");
        assert_eq!(out.tail, "checking\n");
    }

    #[test]
    fn a_failing_command_fails_with_its_status_and_no_token_in_its_environment() {
        let dir = repo();
        // SAFETY: a test-only variable no other test reads.
        unsafe { std::env::set_var("FW_VERIFY_TEST_TOKEN", "ghp_secret") };
        let out = run("env; exit 3", dir.path(), Duration::from_secs(10)).unwrap();
        assert!(!out.passed);
        assert_eq!(out.status, "exit 3");
        assert!(!out.tail.contains("ghp_secret"), "{}", out.tail);
        assert!(out.tail.contains("PATH="), "{}", out.tail);
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_children() {
        let dir = repo();
        let started = Instant::now();
        let out = run(
            "sleep 30 & sleep 30",
            dir.path(),
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(!out.passed);
        assert_eq!(out.status, "killed after 0 s");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
