//! Running repository code: a campaign's `verify` command and a recipe's
//! `run:` steps execute code fleetwright does not control (a repository's
//! tests, its build tool), while fleetwright holds a token that can write to
//! every repository of an organisation. So that code runs under bubblewrap
//! (`bwrap`), in namespaces of its own, seeing only the system (read-only)
//! and the one folder it works on.
//!
//! What the sandboxed command sees: `/usr`, `/bin`, `/sbin`, `/lib*`,
//! `/etc` and `/opt` read-only (top-level symlinks such as `/bin ->
//! usr/bin` recreated as symlinks; every file or folder of `/etc` that is
//! not world-readable, such as `/etc/shadow`, hidden), the folders the
//! policy names read-only, a fresh `/proc` (its own processes only), a
//! minimal `/dev`, a tmpfs `/tmp` and a tmpfs home, and its working folder
//! read-write at the same path with that folder's `.git` read-only. Nothing
//! else of the host: no `/home`, `/root`, `/var`, no state folder, no other
//! clone. It runs in new user, PID, IPC, UTS and (where the kernel has
//! them) cgroup namespaces, and a network namespace of its own (loopback
//! only) unless the job allows the network; with every capability dropped,
//! no new privileges, no further user namespaces (bwrap 0.8 and later), a
//! new session (no terminal to push keys into), an environment of `PATH`,
//! `LANG`, `HOME` and `TMPDIR` only, and the limits of [`Policy`].
//!
//! [`Mode::None`] (`sandbox: none`) runs the command as fleetwright did
//! before there was a sandbox: `sh -c` as the same user, with a scrubbed
//! environment, the same limits and timeout, in its own process group; the
//! command can read and write whatever the user can.
//!
//! Every text that comes out of a command (the tail of its output) goes
//! through [`crate::secret::scrub`] before it is returned.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

/// Memory a sandboxed command may use by default (`RLIMIT_DATA`).
pub const DEFAULT_MEMORY: u64 = 4 << 30;
/// The largest file a sandboxed command may write by default (`RLIMIT_FSIZE`).
pub const DEFAULT_FILE_SIZE: u64 = 1 << 30;
/// The smallest memory limit accepted: below it, not even the shell starts.
pub const MIN_MEMORY: u64 = 16 << 20;

/// Bytes of output kept in an [`Outcome`] (the end of the log).
const TAIL: usize = 4000;

/// The top-level folders of the system a sandbox sees, read-only (or as
/// the symlinks they are).
const SYSTEM: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
];

/// Where the sandbox's home is (a tmpfs), unless the job's own folder is
/// there.
const HOME: &str = "/home/sandbox";
const HOME_FALLBACK: &str = "/tmp/.home";

/// What to do when the sandbox cannot be had, for every message that says
/// it cannot.
pub const HINT: &str = "install bubblewrap (`apt-get install bubblewrap`) and let unprivileged users create user namespaces \
(`sysctl kernel.unprivileged_userns_clone=1` on kernels that have that switch; on Ubuntu 24.04 \
`sysctl kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile that allows bwrap); \
or set `sandbox: none` in the campaign (`--sandbox none` for `fleetwright recipe`) to run repository code without a sandbox: \
then it runs as your own user, and can read and change everything you can (other clones, the state, credentials such as \
~/.config/gh/hosts.yml) and use the network";

/// How repository code is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// Under bubblewrap (the default).
    Bwrap,
    /// As the same user, without isolation (`sandbox: none`).
    None,
}

/// How a campaign (or `fleetwright recipe`) runs repository code: the
/// campaign's `sandbox:` section. (Serde: it travels to the child process
/// a target's rewrite runs in.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub mode: Mode,
    /// Host folders the command may read besides the system (toolchains
    /// installed in odd places), absolute. Under bubblewrap only.
    pub read_only: Vec<PathBuf>,
    /// Bytes of memory (`RLIMIT_DATA`) of each process.
    pub memory: u64,
    /// CPU time of each process (`RLIMIT_CPU`); `None`: the job's timeout.
    pub cpu: Option<Duration>,
    /// The largest file it may write (`RLIMIT_FSIZE`), its output included.
    pub file_size: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Bwrap,
            read_only: Vec::new(),
            memory: DEFAULT_MEMORY,
            cpu: None,
            file_size: DEFAULT_FILE_SIZE,
        }
    }
}

impl Policy {
    /// `sandbox: none`, with the default limits.
    pub fn none() -> Policy {
        Policy {
            mode: Mode::None,
            ..Policy::default()
        }
    }

    /// Whether commands can run under this policy on this machine (for
    /// bubblewrap: the probe, run once per process).
    pub fn check(&self) -> Result<(), SandboxError> {
        match self.mode {
            Mode::Bwrap => bwrap().map(|_| ()),
            Mode::None => Ok(()),
        }
    }

    /// The policy in words, for `plan`: `a bubblewrap sandbox (no network,
    /// 4 GiB memory, ...)`.
    pub fn describe(&self, network: bool) -> String {
        let cpu = self
            .cpu
            .map_or("CPU time up to the timeout".to_string(), |c| {
                format!("{} of CPU time", seconds(c))
            });
        let limits = format!(
            "{} memory, {cpu}, files up to {}",
            size(self.memory),
            size(self.file_size)
        );
        match self.mode {
            Mode::Bwrap => {
                let extra = if self.read_only.is_empty() {
                    String::new()
                } else {
                    let paths: Vec<String> = self
                        .read_only
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    format!(", also reads {}", paths.join(", "))
                };
                format!(
                    "a bubblewrap sandbox ({}, {limits}{extra})",
                    if network {
                        "with network"
                    } else {
                        "no network"
                    }
                )
            }
            Mode::None => format!(
                "NO sandbox (`sandbox: none`): repository code runs as this user and can read and change everything it can ({limits})"
            ),
        }
    }
}

/// One command to run.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// Run with `sh -c`.
    pub command: &'a str,
    /// Its working folder: the one folder it may change.
    pub dir: &'a Path,
    /// Whether it may use the network (under bubblewrap: the host's).
    pub network: bool,
    /// Wall-clock time it may take; then it is killed, with everything it started.
    pub timeout: Duration,
    /// Where its output (stdout and stderr, interleaved) goes; opened by
    /// fleetwright, outside the sandbox.
    pub log: &'a Path,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code. (Under bubblewrap, a command killed by a
    /// signal exits 128 + the signal.)
    Exited(i32),
    /// A signal killed it.
    Signalled(i32),
    /// It ran out of time and was killed, with everything it started.
    TimedOut(Duration),
}

impl Ended {
    pub fn success(self) -> bool {
        self == Ended::Exited(0)
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Ended::Exited(code) if code > 128 && code <= 128 + 64 => {
                write!(f, "exit {code}, {}", signal_name(code - 128))
            }
            Ended::Exited(code) => write!(f, "exit {code}"),
            Ended::Signalled(signal) => write!(f, "killed by {}", signal_name(signal)),
            Ended::TimedOut(after) => write!(f, "killed after {}", seconds(after)),
        }
    }
}

/// `signal 24 (SIGXCPU: over its CPU time limit)`.
fn signal_name(signal: i32) -> String {
    let (name, why) = match signal {
        libc::SIGHUP => ("SIGHUP", ""),
        libc::SIGINT => ("SIGINT", ""),
        libc::SIGQUIT => ("SIGQUIT", ""),
        libc::SIGILL => ("SIGILL", ""),
        libc::SIGABRT => ("SIGABRT", ": it aborted (out of memory?)"),
        libc::SIGBUS => ("SIGBUS", ""),
        libc::SIGFPE => ("SIGFPE", ""),
        libc::SIGKILL => ("SIGKILL", ""),
        libc::SIGSEGV => ("SIGSEGV", ": it crashed (out of memory?)"),
        libc::SIGPIPE => ("SIGPIPE", ""),
        libc::SIGTERM => ("SIGTERM", ""),
        libc::SIGXCPU => ("SIGXCPU", ": over its CPU time limit"),
        libc::SIGXFSZ => ("SIGXFSZ", ": it wrote a file over the file size limit"),
        _ => return format!("signal {signal}"),
    };
    format!("signal {signal} ({name}{why})")
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ended: Ended,
    /// The end of its output, scrubbed of every secret this process holds.
    pub tail: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.ended.success()
    }
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// bwrap is missing or cannot create the namespaces; says what failed
    /// and what to do.
    #[error("repository code cannot run in a sandbox on this machine: {0}\nhint: {HINT}")]
    Unavailable(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A folder of the job or the policy that cannot be used.
    #[error("{}: {reason}", path.display())]
    Path { path: PathBuf, reason: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Io { what, source }
}

fn hidden() -> &'static RwLock<Vec<PathBuf>> {
    static HIDDEN: OnceLock<RwLock<Vec<PathBuf>>> = OnceLock::new();
    HIDDEN.get_or_init(Default::default)
}

/// Never show `path` to a sandbox, even when it lies inside a folder the
/// sandbox sees (a state folder under `/opt`, or inside a
/// `sandbox.read_only` folder): the command layer names the state folder
/// here. The user's home is always hidden so.
pub fn hide(path: &Path) {
    let path = path
        .canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let mut hidden = hidden().write().unwrap_or_else(|e| e.into_inner());
    if !hidden.contains(&path) {
        hidden.push(path);
    }
}

/// The paths [`hide`] was given, for a child process that runs sandboxes
/// for this one (a target's rewrite).
pub fn hidden_paths() -> Vec<PathBuf> {
    hidden().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Run `job` under `policy`. An error only when it could not be started;
/// how it ended (a failure, a timeout) is in the [`Outcome`].
pub fn run(policy: &Policy, job: &Job) -> Result<Outcome, SandboxError> {
    match policy.mode {
        Mode::Bwrap => {
            let bwrap = bwrap()?;
            execute(Launcher::Bwrap(bwrap), policy, job)
        }
        Mode::None => execute(Launcher::Plain, policy, job),
    }
}

/// bubblewrap as found on this machine.
#[derive(Debug)]
struct Bwrap {
    path: PathBuf,
    /// 0.8 or later: `--disable-userns` and `--size`.
    modern: bool,
}

enum Launcher<'a> {
    Bwrap(&'a Bwrap),
    Plain,
}

/// bubblewrap, once it has shown it can create the namespaces (tried once
/// per process).
fn bwrap() -> Result<&'static Bwrap, SandboxError> {
    static PROBE: OnceLock<Result<Bwrap, String>> = OnceLock::new();
    PROBE
        .get_or_init(find_and_try)
        .as_ref()
        .map_err(|why| SandboxError::Unavailable(why.clone()))
}

/// Find `bwrap` in `PATH` and run `true` with it, in the sandbox every
/// command gets.
fn find_and_try() -> Result<Bwrap, String> {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let Some(path) = std::env::split_paths(&path_var)
        .map(|dir| dir.join("bwrap"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    else {
        return Err(format!(
            "bubblewrap is not installed: there is no `bwrap` in PATH ({})",
            path_var.to_string_lossy()
        ));
    };
    let version = Command::new(&path)
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&version.stdout);
    let numbers: Vec<u32> = text
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .split('.')
        .map_while(|n| n.parse().ok())
        .collect();
    let modern = numbers.as_slice() >= [0, 8].as_slice();
    let bwrap = Bwrap { path, modern };
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let work = scratch.path().join("work");
    std::fs::create_dir(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let log = scratch.path().join("probe.log");
    let job = Job {
        command: "true",
        dir: &work,
        network: false,
        timeout: Duration::from_secs(30),
        log: &log,
    };
    let outcome = execute(Launcher::Bwrap(&bwrap), &Policy::default(), &job)
        .map_err(|e| format!("cannot run {}: {e}", bwrap.path.display()))?;
    if !outcome.success() {
        let said = outcome.tail.trim();
        return Err(format!(
            "`{} ... true` failed ({}){}",
            bwrap.path.display(),
            outcome.ended,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ));
    }
    Ok(bwrap)
}

fn execute(launcher: Launcher, policy: &Policy, job: &Job) -> Result<Outcome, SandboxError> {
    let dir = job.dir.canonicalize().map_err(|e| SandboxError::Path {
        path: job.dir.to_path_buf(),
        reason: format!("cannot run a command in it: {e}"),
    })?;
    if !dir.is_dir() {
        return Err(SandboxError::Path {
            path: dir,
            reason: "not a folder".into(),
        });
    }
    let log = File::create(job.log)
        .map_err(io(format!("cannot create the log {}", job.log.display())))?;
    // A home outside the working folder, when there is no sandbox to give
    // one (so that caches a command writes in ~ are not taken for changes).
    let mut plain_home = None;
    let mut command = match launcher {
        Launcher::Bwrap(bwrap) => bwrap_command(bwrap, policy, job, &dir)?,
        Launcher::Plain => {
            let home = tempfile::Builder::new()
                .prefix("fleetwright-home-")
                .tempdir()
                .map_err(io("cannot make a home folder for the command"))?;
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(job.command)
                .current_dir(&dir)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("LANG", "C.UTF-8")
                .env("HOME", home.path());
            plain_home = Some(home);
            c
        }
    };
    let plain = plain_home.is_some();
    // Under bubblewrap, every process of the sandbox inherits the write end
    // of this pipe: its end of file says that all of them are gone. (bwrap
    // reports the command's status as soon as the command exits, while the
    // kernel is still killing what it left behind.)
    let (alive_reader, alive_writer) = if plain {
        (None, None)
    } else {
        let (r, w) = std::io::pipe().map_err(io("cannot make a pipe"))?;
        (Some(r), Some(w))
    };
    let inherited = alive_writer.as_ref().map(|w| {
        use std::os::fd::AsRawFd;
        w.as_raw_fd()
    });
    let cpu = policy.cpu.unwrap_or(job.timeout);
    let cpu_seconds = cpu.as_secs() + u64::from(cpu.subsec_nanos() > 0);
    let limits = Limits {
        cpu: cpu_seconds.max(1),
        memory: policy.memory,
        file_size: policy.file_size,
    };
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io("cannot share the log"))?)
        .stderr(log)
        .process_group(0);
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only async-signal-safe functions (setrlimit, prctl) on values copied
    // into it.
    unsafe {
        command.pre_exec(move || {
            limits.apply()?;
            if let Some(fd) = inherited
                && libc::fcntl(fd, libc::F_SETFD, 0) == -1
            {
                return Err(std::io::Error::last_os_error());
            }
            if plain {
                // Orphans of the shell's children stay its descendants
                // (rather than init's), so that a timeout finds them all;
                // and the shell dies when fleetwright does.
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            }
            Ok(())
        });
    }
    let what = match launcher {
        Launcher::Bwrap(b) => format!("cannot start {}", b.path.display()),
        Launcher::Plain => "cannot start sh".to_string(),
    };
    let spawned = command.spawn();
    drop(command);
    drop(alive_writer);
    let mut child = spawned.map_err(io(what))?;
    let ended = wait(&mut child, job.timeout, plain).map_err(io("cannot wait for the command"))?;
    if let Some(reader) = alive_reader {
        until_closed(reader, Duration::from_secs(10));
    }
    drop(plain_home);
    let tail = tail(job.log).map_err(io(format!("cannot read {}", job.log.display())))?;
    Ok(Outcome {
        ended,
        tail: crate::secret::scrub(&tail),
    })
}

/// The resource limits, set in the child before it execs (bwrap or sh)
/// and inherited by everything it starts.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Seconds of CPU time per process: SIGXCPU then, SIGKILL 5 s later.
    cpu: u64,
    memory: u64,
    file_size: u64,
}

impl Limits {
    fn apply(self) -> std::io::Result<()> {
        let set = |resource, soft: u64, hard: u64| {
            let limit = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            // SAFETY: setrlimit with a valid pointer to a local value.
            if unsafe { libc::setrlimit(resource, &limit) } == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        };
        set(libc::RLIMIT_CPU, self.cpu, self.cpu + 5)?;
        // RLIMIT_DATA, not RLIMIT_AS: the address-space limit counts
        // reservations that are never backed by memory, and the Go runtime,
        // V8 (Node.js), the JVM and sanitizers reserve many gigabytes of
        // address space at start, so a 4 GiB RLIMIT_AS kills them before they
        // run. RLIMIT_DATA (Linux 4.7 and later) counts the private writable
        // mappings (heap and anonymous memory), which is what a runaway
        // process actually grows.
        set(libc::RLIMIT_DATA, self.memory, self.memory)?;
        set(libc::RLIMIT_FSIZE, self.file_size, self.file_size)?;
        set(libc::RLIMIT_CORE, 0, 0)?;
        Ok(())
    }
}

/// The bwrap command line for `job` (see the module documentation).
fn bwrap_command(
    bwrap: &Bwrap,
    policy: &Policy,
    job: &Job,
    dir: &Path,
) -> Result<Command, SandboxError> {
    let read_only = read_only_paths(policy, dir)?;
    let home = if dir.starts_with(HOME) || read_only.iter().any(|p| p.starts_with(HOME)) {
        HOME_FALLBACK
    } else {
        HOME
    };
    let mut c = Command::new(&bwrap.path);
    c.env_clear();
    c.args([
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]);
    if !job.network {
        c.arg("--unshare-net");
    }
    if bwrap.modern {
        c.arg("--disable-userns");
    }
    // Without this, a command started as uid 0 (fleetwright run as root)
    // keeps every capability inside its user namespace and could unmount
    // the read-only `.git` or remount the system read-write.
    c.args(["--cap-drop", "ALL"]);
    c.args([
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]);
    c.arg("--clearenv");
    c.arg("--setenv")
        .arg("PATH")
        .arg(std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()));
    c.args(["--setenv", "LANG", "C.UTF-8"]);
    c.args(["--setenv", "HOME", home]);
    c.args(["--setenv", "TMPDIR", "/tmp"]);
    for top in SYSTEM {
        match std::fs::symlink_metadata(top) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(top) {
                    c.arg("--symlink").arg(target).arg(top);
                }
            }
            Ok(m) if m.is_dir() => {
                c.args(["--ro-bind", top, top]);
            }
            _ => {}
        }
    }
    for (path, is_dir) in hidden_in_etc() {
        if *is_dir {
            c.arg("--tmpfs").arg(path).arg("--remount-ro").arg(path);
        } else {
            c.arg("--ro-bind").arg("/dev/null").arg(path);
        }
    }
    // A working folder inside a system folder (a clone cache under
    // /opt/fleet/...): an empty folder over its first part there, so that
    // what is next to it (the state, other clones) stays out of sight.
    if let Some(top) = SYSTEM.iter().find(|top| {
        dir.starts_with(top) && std::fs::symlink_metadata(top).is_ok_and(|m| m.is_dir())
    }) && let Ok(rest) = dir.strip_prefix(top)
        && let Some(first) = rest.components().next()
    {
        let cover = Path::new(top).join(first);
        if cover != dir {
            c.arg("--tmpfs").arg(cover);
        }
    }
    c.args(["--proc", "/proc", "--dev", "/dev"]);
    let tmpfs = |c: &mut Command, at: &str| {
        if bwrap.modern {
            c.arg("--size").arg(policy.memory.to_string());
        }
        c.args(["--tmpfs", at]);
    };
    tmpfs(&mut c, "/tmp");
    if home == HOME {
        tmpfs(&mut c, HOME);
    } else {
        c.args(["--dir", home]);
    }
    for path in &read_only {
        c.arg("--ro-bind").arg(path).arg(path);
    }
    // The state folder and the home, when a folder shown holds them: an
    // empty folder over them (a read-only folder inside one is bound
    // again, and the working folder is bound after).
    let shown: Vec<PathBuf> = SYSTEM
        .iter()
        .filter(|top| std::fs::symlink_metadata(top).is_ok_and(|m| m.is_dir()))
        .map(PathBuf::from)
        .chain(read_only.iter().cloned())
        .collect();
    let home_dir = std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|h| h.canonicalize().ok());
    let secret: Vec<PathBuf> = hidden()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .chain(home_dir)
        .collect();
    for path in secret {
        if path.is_dir() && shown.iter().any(|s| path.starts_with(s) && path != *s) {
            c.arg("--tmpfs").arg(&path).arg("--remount-ro").arg(&path);
            for inside in read_only.iter().filter(|r| r.starts_with(&path)) {
                c.arg("--ro-bind").arg(inside).arg(inside);
            }
        }
    }
    if job.network {
        // A resolver configuration kept elsewhere (systemd-resolved's
        // /run/systemd/resolve/stub-resolv.conf): that one file.
        let resolv = Path::new("/etc/resolv.conf");
        if std::fs::symlink_metadata(resolv).is_ok_and(|m| m.file_type().is_symlink())
            && let Ok(target) = resolv.canonicalize()
            && !SYSTEM.iter().any(|top| target.starts_with(top))
        {
            c.arg("--ro-bind").arg(&target).arg(&target);
        }
    }
    c.arg("--bind").arg(dir).arg(dir);
    let git = dir.join(".git");
    match std::fs::symlink_metadata(&git) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(SandboxError::Path {
                path: git,
                reason: "is a symlink; refusing to run repository code next to it".into(),
            });
        }
        Ok(_) => {
            c.arg("--ro-bind").arg(&git).arg(&git);
        }
        Err(_) => {}
    }
    c.arg("--chdir").arg(dir);
    c.args(["--", "/bin/sh", "-c", job.command]);
    Ok(c)
}

/// The policy's read-only folders, checked: absolute, existing, and none
/// holding the working folder or fleetwright's home (which would show
/// every other clone, the state, or the user's credentials).
fn read_only_paths(policy: &Policy, dir: &Path) -> Result<Vec<PathBuf>, SandboxError> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|h| h.canonicalize().ok());
    let mut out = Vec::new();
    for path in &policy.read_only {
        let refuse = |reason: String| SandboxError::Path {
            path: path.clone(),
            reason,
        };
        if !path.is_absolute() {
            return Err(refuse("a read-only path must be absolute".into()));
        }
        let real = path.canonicalize().map_err(|e| {
            refuse(format!(
                "cannot show it to the sandbox: {e} (sandbox.read_only)"
            ))
        })?;
        if dir.starts_with(&real) {
            return Err(refuse(format!(
                "holds the folder the command works in ({}), so the sandbox would see every folder next to it; \
                 name the toolchain's own folder in sandbox.read_only",
                dir.display()
            )));
        }
        if home.as_ref().is_some_and(|h| h.starts_with(&real)) {
            return Err(refuse(
                "holds your home folder (and its credentials); name the toolchain's own folder in sandbox.read_only"
                    .into(),
            ));
        }
        out.push(real);
    }
    Ok(out)
}

/// Every file or folder of `/etc` other users may not read (`/etc/shadow`,
/// `/etc/gshadow`, `/etc/ssl/private`, `/etc/security/opasswd`, ...), with
/// whether it is a folder: hidden from the sandbox (a process of the user
/// who owns them, root, could read them otherwise). Found once.
fn hidden_in_etc() -> &'static [(PathBuf, bool)] {
    static HIDDEN: OnceLock<Vec<(PathBuf, bool)>> = OnceLock::new();
    HIDDEN.get_or_init(|| {
        let mut out = Vec::new();
        let mut stack = vec![PathBuf::from("/etc")];
        while let Some(folder) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                let mode = meta.permissions().mode();
                if meta.is_dir() {
                    if mode & 0o005 != 0o005 {
                        out.push((path, true));
                    } else {
                        stack.push(path);
                    }
                } else if meta.is_file() && mode & 0o004 == 0 {
                    out.push((path, false));
                }
            }
        }
        out.sort();
        out
    })
}

/// Wait for `child` at most `timeout`; on expiry kill it and everything it
/// started, and return only once none of it is left.
fn wait(child: &mut Child, timeout: Duration, plain: bool) -> std::io::Result<Ended> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let pgid = child.id() as libc::pid_t;
    loop {
        if let Some(status) = child.try_wait()? {
            if plain {
                // Background jobs the shell left in its group.
                // SAFETY: killpg with a group this child led; no memory involved.
                unsafe { libc::killpg(pgid, libc::SIGKILL) };
            }
            return Ok(ended(status));
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    if plain {
        // The shell is a subreaper: every process it started, even one
        // that left its process group or session, is its descendant.
        kill_descendants(child.id());
    }
    // Under bubblewrap, its child is PID 1 of the sandbox's PID namespace:
    // when it dies the kernel kills every process of the namespace, and it
    // finishes dying only once they are all gone.
    let inner = children(child.id());
    for pid in &inner {
        // SAFETY: kill with a pid read from /proc just now.
        unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
    }
    // SAFETY: as above, the group the child leads.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    child.wait()?;
    let until = Instant::now() + Duration::from_secs(10);
    while inner.iter().any(|pid| alive(*pid)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(Ended::TimedOut(timeout))
}

/// Read `pipe` until every writer has closed it (each process holding it
/// has exited) or `limit` has passed.
fn until_closed(mut pipe: std::io::PipeReader, limit: Duration) {
    use std::os::fd::AsRawFd;
    let until = Instant::now() + limit;
    let mut buf = [0u8; 512];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let mut poll = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = left.as_millis().clamp(1, 1_000) as libc::c_int;
        // SAFETY: one pollfd that lives on this stack frame.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
        if ready > 0 {
            match pipe.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

fn ended(status: ExitStatus) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ended::Exited(code),
        (None, Some(signal)) => Ended::Signalled(signal),
        (None, None) => Ended::Signalled(0),
    }
}

/// `(pid, parent pid, state)` of every process, from `/proc`.
fn processes() -> Vec<(u32, u32, char)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parens.
            let rest = &stat[stat.rfind(')')? + 1..];
            let mut fields = rest.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}

fn children(parent: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, ppid, _)| *ppid == parent)
        .map(|(pid, _, _)| pid)
        .collect()
}

/// Whether `pid` is still running (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    processes()
        .iter()
        .any(|(p, _, state)| *p == pid && *state != 'Z' && *state != 'X')
}

/// SIGKILL every live descendant of `root` until none is left (a process
/// forking meanwhile is caught in the next round).
fn kill_descendants(root: u32) {
    for _ in 0..100 {
        let all = processes();
        let mut tree = vec![root];
        let mut live = Vec::new();
        let mut i = 0;
        while i < tree.len() {
            let parent = tree[i];
            for (pid, ppid, state) in &all {
                if *ppid == parent && !tree.contains(pid) {
                    tree.push(*pid);
                    if *state != 'Z' && *state != 'X' {
                        live.push(*pid);
                    }
                }
            }
            i += 1;
        }
        if live.is_empty() {
            return;
        }
        for pid in live {
            // SAFETY: kill with a pid read from /proc just now.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The last [`TAIL`] bytes of the file, from a line start.
fn tail(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    if start == 0 {
        return Ok(text.into_owned());
    }
    let from = text.find('\n').map_or(0, |i| i + 1);
    Ok(format!("…\n{}", &text[from..]))
}

/// `600 s`, `0.3 s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// `4 GiB`, `512 MiB`, `1000 bytes`.
pub fn size(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// A duration as campaign and recipe files write it: seconds (`600`), or a
/// number with `s`, `m` or `h` (`90s`, `10m`, `1h`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 600, 90s, 10m or 1h"))?;
    let seconds = match unit.trim() {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        other => return Err(format!("unknown unit `{other}` in `{text}`: use s, m or h")),
    }
    .ok_or_else(|| format!("`{text}` is too long"))?;
    if seconds == 0 {
        return Err(format!("`{text}` is no time at all: give at least 1s"));
    }
    Ok(Duration::from_secs(seconds))
}

/// A size as campaign files write it: bytes (`1048576`), or a number with
/// a unit: `KiB`, `MiB`, `GiB` (and `K`, `M`, `G`: the same, binary) or
/// `KB`, `MB`, `GB` (decimal).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 4GiB, 512MiB or 1048576"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A duration or size as written in YAML: a bare number or a text with a
/// unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Number(u64),
    Text(String),
}

impl Amount {
    pub fn duration(&self) -> Result<Duration, String> {
        match self {
            Amount::Number(0) => Err("0 is no time at all: give at least 1 (second)".into()),
            Amount::Number(n) => Ok(Duration::from_secs(*n)),
            Amount::Text(t) => parse_duration(t),
        }
    }

    pub fn size(&self) -> Result<u64, String> {
        match self {
            Amount::Number(n) => Ok(*n),
            Amount::Text(t) => parse_size(t),
        }
    }
}

#[cfg(test)]
mod tests;
