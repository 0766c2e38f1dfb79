//! Prism (Stoplight's mock server) serving GitHub's own OpenAPI description
//! (`@octokit/openapi`), both installed on demand into the repository's
//! git-ignored `.cache/npm`, so that `cargo test` works on a fresh machine
//! with nothing but Node.js and npm.
//!
//! The install is pinned, lock-free (`--no-package-lock`), idempotent, and
//! serialized across processes by a lock file. Prism runs in its own process
//! group, which [`Prism`]'s `Drop` kills; a watchdog shell in that group
//! also kills it when the test process goes away without dropping it (a
//! panic that aborts, a `kill -9`): it waits on a pipe only the test holds.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// The mock server. Bump both pins together with the stamp check below: a
/// changed pin reinstalls.
pub const PRISM_PACKAGE: &str = "@stoplight/prism-cli@5.16.0";
/// GitHub's OpenAPI description (api.github.com).
pub const DESCRIPTION_PACKAGE: &str = "@octokit/openapi@23.0.2";
/// What a machine without Node.js needs.
pub const INSTALL_HINT: &str = "install Node.js and npm: apt-get install nodejs npm";

/// Records which pins the cache holds.
const STAMP: &str = ".fleetwright-packages";
/// How long `npm install` may take (a cold npm cache on a slow network).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long prism may take to load the 13 MB description and listen
/// (about 10-30 s on two busy cores).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// `<repo>/.cache/npm`.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/npm")
}

/// The installed packages.
#[derive(Debug, Clone)]
pub struct Packages {
    pub node: PathBuf,
    /// `node_modules/.bin/prism` (a node script).
    pub prism: PathBuf,
    /// `api.github.com.json`.
    pub description: PathBuf,
    /// How long this call's `npm install` took; `None` when the cache was
    /// already there.
    pub installed_in: Option<Duration>,
}

impl Packages {
    fn at(dir: &Path, node: PathBuf) -> Self {
        let modules = dir.join("node_modules");
        Packages {
            node,
            prism: modules.join(".bin/prism"),
            description: modules.join("@octokit/openapi/generated/api.github.com.json"),
            installed_in: None,
        }
    }

    fn present(&self, dir: &Path) -> bool {
        self.prism.is_file()
            && self.description.is_file()
            && fs::read_to_string(dir.join(STAMP)).is_ok_and(|s| s == stamp())
    }
}

fn stamp() -> String {
    format!("{PRISM_PACKAGE} {DESCRIPTION_PACKAGE}\n")
}

/// An executable `name` on `path` (a `PATH` value).
pub fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Make sure prism and the description are in `dir`, installing them with
/// npm (found on `path`) when they are missing or of other versions.
pub fn ensure_packages(dir: &Path, path: Option<&OsStr>) -> Result<Packages, String> {
    let node = find_program("node", path).ok_or_else(|| {
        format!("the contract test runs prism, which needs Node.js: `node` is not on PATH; {INSTALL_HINT}")
    })?;
    let mut packages = Packages::at(dir, node);
    if packages.present(dir) {
        return Ok(packages);
    }
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    // One install at a time, across test threads and processes; whoever
    // waited finds the work done.
    let lock_path = dir.join(".install.lock");
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if packages.present(dir) {
        return Ok(packages);
    }
    let npm = find_program("npm", path).ok_or_else(|| {
        format!(
            "the contract test installs {PRISM_PACKAGE} and {DESCRIPTION_PACKAGE} into {} with npm, \
             and `npm` is not on PATH; {INSTALL_HINT}",
            dir.display()
        )
    })?;
    let started = Instant::now();
    let log_path = dir.join("npm-install.log");
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut command = Command::new(&npm);
    command
        .arg("install")
        .arg("--prefix")
        .arg(dir)
        .args([
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
            "--save-exact",
            "--ignore-scripts",
            "--loglevel=error",
            PRISM_PACKAGE,
            DESCRIPTION_PACKAGE,
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("running {}: {e}; {INSTALL_HINT}", npm.display()))?;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > INSTALL_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "npm install did not finish within {} s; its output:\n{}",
                INSTALL_TIMEOUT.as_secs(),
                tail(&log_path, 40)
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        return Err(format!(
            "`npm install {PRISM_PACKAGE} {DESCRIPTION_PACKAGE}` into {} failed ({status}); its output:\n{}",
            dir.display(),
            tail(&log_path, 40)
        ));
    }
    fs::write(dir.join(STAMP), stamp()).map_err(|e| e.to_string())?;
    if !packages.present(dir) {
        return Err(format!(
            "npm install succeeded but {} or {} is missing",
            packages.prism.display(),
            packages.description.display()
        ));
    }
    packages.installed_in = Some(started.elapsed());
    Ok(packages)
}

/// The last `lines` lines of a file.
fn tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The watchdog: run prism in the background, kill it when stdin (a pipe
/// only the test process holds) closes, and exit with prism's status.
const WATCHDOG: &str = r#"exec 3<&0
"$@" 0</dev/null 3<&- &
p=$!
( read -r _ <&3; kill -TERM "$p" 2>/dev/null ) 0</dev/null &
exec 3<&-
wait "$p"
"#;

/// A running prism.
#[derive(Debug)]
pub struct Prism {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// How long it took to answer.
    pub started_in: Duration,
    child: Child,
    /// Closing it ends the watchdog (and prism with it).
    stdin: Option<ChildStdin>,
    log: tempfile::NamedTempFile,
}

impl Prism {
    /// Start `prism mock` on the description, on a free port of 127.0.0.1,
    /// and wait until it accepts connections.
    ///
    /// Without `--errors`: that flag only turns *response* violations (the
    /// description's own examples failing its schemas) into 500s, hiding
    /// the example bodies the forge must read; invalid *requests* are
    /// answered 4xx either way, and every violation is listed in the
    /// `sl-violations` header.
    pub fn start(packages: &Packages) -> Result<Prism, String> {
        let started = Instant::now();
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let log = tempfile::Builder::new()
                .prefix("prism-")
                .suffix(".log")
                .tempfile()
                .map_err(|e| e.to_string())?;
            let out = log.reopen().map_err(|e| e.to_string())?;
            let err = log.reopen().map_err(|e| e.to_string())?;
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(WATCHDOG)
                .arg("prism-watchdog")
                .arg(&packages.node)
                .arg(&packages.prism)
                .arg("mock")
                .arg(&packages.description)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .stdin(Stdio::piped())
                .stdout(out)
                .stderr(err)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("starting prism: {e}"))?;
            let stdin = child.stdin.take();
            let mut prism = Prism {
                url: format!("http://127.0.0.1:{port}"),
                started_in: Duration::ZERO,
                child,
                stdin,
                log,
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            loop {
                if let Ok(Some(status)) = prism.child.try_wait() {
                    let log = tail(prism.log.path(), 30);
                    if log.contains("EADDRINUSE") {
                        // Someone took the port between our probe and
                        // prism's bind: try another.
                        last_error = log;
                        break;
                    }
                    return Err(format!(
                        "prism exited ({status}) before it answered:\n{log}"
                    ));
                }
                if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                    prism.started_in = started.elapsed();
                    return Ok(prism);
                }
                if started.elapsed() > START_TIMEOUT {
                    return Err(format!(
                        "prism did not answer on {addr} within {} s; its log:\n{}",
                        START_TIMEOUT.as_secs(),
                        tail(prism.log.path(), 30)
                    ));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        Err(format!("prism found no free port:\n{last_error}"))
    }

    /// The end of prism's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(self.log.path(), lines)
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let Ok(group) = i32::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) on the process group this struct started.
        unsafe { libc::kill(-group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The watchdog waits for prism: prism is gone too.
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; the group's leader has not been reaped yet, so
        // the group id is still ours.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
