//! `verify:`: the campaign's own check (tests, a build) run in a rewritten
//! checkout before anything is pushed, so that a rewrite that looks right
//! but is wrong never reaches an app team.
//!
//! The command is the repository's own code, so it runs in the
//! [`sandbox`](crate::sandbox) the campaign's `sandbox:` section describes
//! (bubblewrap by default: the checkout read-write, its `.git` read-only,
//! the system read-only, nothing else of the host, no network unless
//! `verify.network`), with its limits and the `verify.timeout`. Its output
//! goes to `.git/fleetwright-verify.log` inside the clone (opened by
//! fleetwright, outside the sandbox); the end of it, scrubbed of secrets,
//! is kept in the [`Outcome`], with the checkout's paths made relative to
//! the repository: a pull request or comment never shows where the clone
//! cache is.

use std::path::Path;

use crate::campaign::Verify;
use crate::sandbox::{self, Job, Policy, SandboxError};

/// How a verify run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    /// `exit 0`, `exit 3`, `killed after 600 s`, ...
    pub status: String,
    /// The end of its output (stdout and stderr interleaved), scrubbed.
    pub tail: String,
}

/// Run the campaign's `verify` in the checkout `dir`, under `policy`.
pub fn run(verify: &Verify, dir: &Path, policy: &Policy) -> Result<Outcome, SandboxError> {
    let log = dir.join(".git").join("fleetwright-verify.log");
    let job = Job {
        command: &verify.command,
        dir,
        network: verify.network,
        timeout: verify.timeout,
        log: &log,
    };
    let outcome = sandbox::run(policy, &job)?;
    Ok(Outcome {
        passed: outcome.success(),
        status: outcome.ended.to_string(),
        tail: relative(&outcome.tail, dir),
    })
}

/// `text` with every mention of the checkout `dir` made relative to it:
/// `DIR/tests/a.py` is `tests/a.py`, `DIR` alone is `.` (the path as given
/// and as the file system resolves it). A longer name that starts the same
/// (`DIR-old/x`, a sibling) is left as it is.
fn relative(text: &str, dir: &Path) -> String {
    let mut out = text.to_string();
    let resolved = dir.canonicalize().ok();
    for dir in std::iter::once(dir).chain(resolved.as_deref()) {
        let dir = dir.to_string_lossy();
        let dir = dir.trim_end_matches('/');
        if dir.is_empty() {
            continue;
        }
        let mention = regex::Regex::new(&format!(r"{}(/|[^A-Za-z0-9._\-]|$)", regex::escape(dir)))
            .expect("an escaped path is a valid pattern");
        out = mention
            .replace_all(&out, |c: &regex::Captures<'_>| match &c[1] {
                "/" => String::new(),
                after => format!(".{after}"),
            })
            .into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        dir
    }

    fn verify(command: &str, timeout: Duration) -> Verify {
        Verify {
            command: command.to_string(),
            timeout,
            draft_on_failure: false,
            network: false,
        }
    }

    /// In the default sandbox; without one, fail with why and the hint.
    fn sandboxed(v: &Verify, dir: &Path) -> Outcome {
        run(v, dir, &Policy::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_passing_command_passes_with_its_output() {
        let dir = repo();
        std::fs::write(dir.path().join("a.txt"), "warning\n").unwrap();
        let out = sandboxed(
            &verify(
                "echo checking; grep -q warning a.txt",
                Duration::from_secs(10),
            ),
            dir.path(),
        );
        assert!(out.passed, "{out:?}");
        assert_eq!(out.tail, "checking\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".git/fleetwright-verify.log")).unwrap(),
            "checking\n"
        );
    }

    #[test]
    fn the_output_names_the_checkouts_paths_relative_to_the_repository() {
        let dir = repo();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        let out = sandboxed(
            &verify(
                "echo \"$PWD/tests/test_app.py:12: AssertionError\"; pwd; exit 1",
                Duration::from_secs(10),
            ),
            dir.path(),
        );
        assert_eq!(
            out.tail, "tests/test_app.py:12: AssertionError\n.\n",
            "{out:?}"
        );
        let root = dir.path().to_string_lossy().into_owned();
        assert!(!out.tail.contains(&root), "{out:?}");
    }

    #[test]
    fn only_the_checkout_itself_is_made_relative() {
        let dir = Path::new("/cache/repos/svc-a");
        assert_eq!(
            relative(
                "/cache/repos/svc-a/app.py:3 in /cache/repos/svc-a, not /cache/repos/svc-ab/x nor /cache/repos/svc-a.old",
                dir
            ),
            "app.py:3 in ., not /cache/repos/svc-ab/x nor /cache/repos/svc-a.old"
        );
    }

    #[test]
    fn a_failing_command_fails_with_its_status_and_no_token_in_its_environment() {
        let dir = repo();
        // SAFETY: a test-only variable no other test reads.
        unsafe { std::env::set_var("FW_VERIFY_TEST_TOKEN", "ghp_secret") };
        let out = sandboxed(&verify("env; exit 3", Duration::from_secs(10)), dir.path());
        assert!(!out.passed);
        assert_eq!(out.status, "exit 3");
        assert!(!out.tail.contains("ghp_secret"), "{}", out.tail);
        assert!(out.tail.contains("PATH="), "{}", out.tail);
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_children() {
        let dir = repo();
        let started = Instant::now();
        let out = sandboxed(
            &verify("sleep 30 & sleep 30", Duration::from_millis(300)),
            dir.path(),
        );
        assert!(!out.passed);
        assert_eq!(out.status, "killed after 0.3 s");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn verify_cannot_change_the_clones_git_folder() {
        let dir = repo();
        std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        let out = sandboxed(
            &verify(
                "echo 'ref: refs/heads/evil' > .git/HEAD; echo changed > tracked.txt",
                Duration::from_secs(10),
            ),
            dir.path(),
        );
        assert!(out.tail.contains("Read-only file system"), "{out:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".git/HEAD")).unwrap(),
            "ref: refs/heads/main\n"
        );
        // The working tree is the command's to change.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("tracked.txt")).unwrap(),
            "changed\n"
        );
    }

    #[test]
    fn without_a_sandbox_it_runs_as_before() {
        let dir = repo();
        let out = run(
            &verify("echo plain; exit 2", Duration::from_secs(10)),
            dir.path(),
            &Policy::none(),
        )
        .unwrap();
        assert!(!out.passed);
        assert_eq!(out.status, "exit 2");
        assert_eq!(out.tail, "plain\n");
    }
}
