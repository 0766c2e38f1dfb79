//! A real PostgreSQL server on loopback, for the tests of the PostgreSQL
//! state backend: Debian's server binaries (package `postgresql`, which
//! `scripts/install-test-deps.sh` installs; the highest version under
//! `/usr/lib/postgresql/*/bin`, else `initdb` and `postgres` on PATH; 10 or
//! later), running a throw-away cluster that `initdb` makes in a temp
//! folder, with the superuser `fleetwright` trusted without a password and
//! durability off (no fsync) for speed.
//!
//! postgres is given a free port found by binding one and closing it; when
//! another process took it meanwhile, the cluster is made again and started
//! on another. initdb and postgres refuse to run as root: run by root, they
//! run as the `postgres` system user Debian's package creates, which owns
//! the temp folder.
//!
//! postgres runs under a watchdog shell whose standard input is a pipe this
//! process holds: when the pipe closes, on [`PgServer`]'s drop or when this
//! process ends in any way (killed included), the shell stops postgres
//! (SIGINT, its fast shutdown) and removes the folder. So
//! [`PgServer::shared`], one server per test process that is never dropped,
//! still goes with the tests.
//!
//! Without PostgreSQL's server binaries (or, as root, without the
//! `postgres` user) starting fails with what to install: the tests using it
//! fail, never skip.

use std::io::{self, BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::sshd::{free_port, which};

/// What to do when PostgreSQL cannot be started here.
pub const INSTALL_HINT: &str =
    "install Debian's postgresql (scripts/install-test-deps.sh does: apt-get install postgresql)";

/// The cluster's superuser, trusted on loopback without a password.
pub const USER: &str = "fleetwright";

/// Where Debian installs each major version's server binaries.
const DEBIAN_VERSIONS: &str = "/usr/lib/postgresql";

/// How long postgres may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How long a fast shutdown may take before postgres is killed.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// The watchdog: `sh -c WATCHDOG NAME DIR POSTGRES ARGS...` starts
/// postgres, prints its pid, and waits for its standard input to close;
/// then it stops postgres with a fast shutdown, waits for it and removes
/// DIR. postgres stays its child until then, so its pid cannot be reused
/// while the shell runs: killing it is always safe.
const WATCHDOG: &str = r#"dir=$1
shift
"$@" >&2 </dev/null &
pid=$!
echo "$pid"
read -r _ignored || :
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$dir"
"#;

/// A running PostgreSQL cluster in a temp folder; stopped and removed when
/// dropped (an owned one, [`PgServer::start`]) or when the test process
/// ends (the [`PgServer::shared`] one).
#[derive(Debug)]
pub struct PgServer {
    pub port: u16,
    /// The server's binaries (`createdb`, `psql` are looked up here first).
    bin: PathBuf,
    /// The temp folder: `data/`, the socket and `postgres.log`.
    dir: PathBuf,
    /// Removes the folder on drop, after the watchdog (owned servers only).
    temp: Option<TempDir>,
    /// The watchdog shell, leader of its own process group.
    watchdog: Child,
    /// Its standard input: closing it stops postgres.
    stop: Option<ChildStdin>,
    /// The postmaster's pid.
    postmaster: u32,
}

impl PgServer {
    /// Make a cluster in a new temp folder and start postgres on a free
    /// loopback port; it is stopped and the folder removed when the server
    /// is dropped.
    pub fn start() -> io::Result<PgServer> {
        let bin = server_bin()?;
        let owner = owner()?;
        let mut last = String::new();
        for _ in 0..8 {
            match attempt(&bin, owner, free_port()?)? {
                Ok(server) => return Ok(server),
                Err(failure) => last = failure,
            }
            // Taken by another process meanwhile: another port.
            if !last.contains("Address already in use") {
                break;
            }
        }
        Err(io::Error::other(last))
    }

    /// The test process's one server, started on first use and stopped when
    /// the process ends (its watchdog sees the pipe close). Every caller
    /// gets the same server, or the same error when it could not start.
    pub fn shared() -> io::Result<&'static PgServer> {
        static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
        let shared = SHARED.get_or_init(|| {
            let mut server = PgServer::start().map_err(|e| e.to_string())?;
            // Never dropped: the watchdog removes the folder.
            if let Some(temp) = server.temp.take() {
                let _ = temp.keep();
            }
            Ok(server)
        });
        match shared {
            Ok(server) => Ok(server),
            Err(message) => Err(io::Error::other(format!(
                "the shared PostgreSQL server could not start: {message}"
            ))),
        }
    }

    /// `postgres://fleetwright@127.0.0.1:PORT/postgres`: the maintenance
    /// database.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// Create a new, empty database named after `prefix` (lowercased, other
    /// characters than `[a-z0-9_]` made `_`), this process's id and a
    /// counter, and return its URL
    /// (`postgres://fleetwright@127.0.0.1:PORT/NAME`).
    pub fn database(&self, prefix: &str) -> io::Result<String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let suffix = format!(
            "_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let name = database_name(prefix, &suffix);
        let createdb = tool(&self.bin, "createdb")?;
        let out = Command::new(&createdb)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .arg(&name)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {} ({e}): {INSTALL_HINT}", createdb.display()),
                )
            })?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "createdb {name} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port))
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> u32 {
        self.postmaster
    }

    /// What postgres logged so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// Whether postgres says it accepts connections (the status line of
    /// `postmaster.pid`, written once it listens and has recovered) and its
    /// port answers.
    fn ready(&self) -> bool {
        let status = std::fs::read_to_string(self.dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|pidfile| pidfile.lines().nth(7).map(|s| s.trim() == "ready"));
        status == Some(true)
            && std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
                Duration::from_secs(1),
            )
            .is_ok()
    }

    /// Wait up to `within` for the watchdog to end; whether it did.
    fn wait_watchdog(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match self.watchdog.try_wait() {
                Ok(Some(_)) | Err(_) => return true,
                Ok(None) if Instant::now() > deadline => return false,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // End of file for the watchdog: a fast shutdown, then the folder
        // is removed.
        drop(self.stop.take());
        if !self.wait_watchdog(STOP_WITHIN) {
            // The shell leads its process group, with postgres in it; the
            // group cannot be another's while the shell is not reaped.
            // SAFETY: kill has no memory preconditions.
            unsafe { libc::kill(-(self.watchdog.id() as libc::pid_t), libc::SIGKILL) };
            let _ = self.watchdog.wait();
        }
        // Then `temp` removes whatever the watchdog left.
    }
}

/// One try at making and starting a cluster on `port`: the server, or why
/// it did not start (with postgres's log).
fn attempt(
    bin: &Path,
    owner: Option<(u32, u32)>,
    port: u16,
) -> io::Result<Result<PgServer, String>> {
    let temp = tempfile::Builder::new()
        .prefix("fleetwright-pg-")
        .tempdir()?;
    let dir = temp.path().to_path_buf();
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
    }
    let data = dir.join("data");
    let initdb = tool(bin, "initdb")?;
    let out = command(&initdb, owner, &dir)
        .arg("-D")
        .arg(&data)
        .args(["-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "-N"])
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run {} ({e}): {INSTALL_HINT}", initdb.display()),
            )
        })?;
    if !out.status.success() {
        let reach = if owner.is_some() {
            format!(
                " (run as the postgres user, which must be able to reach {})",
                dir.display()
            )
        } else {
            String::new()
        };
        return Err(io::Error::other(format!(
            "initdb failed ({}){reach}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )));
    }

    let postgres = tool(bin, "postgres")?;
    let log = std::fs::File::create(dir.join("postgres.log"))?;
    let mut watchdog = command(Path::new("/bin/sh"), owner, &dir)
        .arg("-c")
        .arg(WATCHDOG)
        .arg("fleetwright-pg-watchdog")
        .arg(&dir)
        .arg(&postgres)
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string()])
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=32MB",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        // Out of the terminal's process group: Ctrl-C reaches the tests,
        // whose end stops postgres in order.
        .process_group(0)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run /bin/sh ({e})")))?;
    let stop = watchdog.stdin.take();
    let mut line = String::new();
    if let Some(stdout) = watchdog.stdout.take() {
        BufReader::new(stdout).read_line(&mut line)?;
    }
    let Ok(postmaster) = line.trim().parse::<u32>() else {
        drop(stop);
        let _ = watchdog.wait();
        return Ok(Err(format!(
            "the watchdog shell did not start postgres: {}",
            std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
        )));
    };
    let mut server = PgServer {
        port,
        bin: bin.to_path_buf(),
        dir,
        temp: Some(temp),
        watchdog,
        stop,
        postmaster,
    };
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if server.ready() {
            return Ok(Ok(server));
        }
        if exited(postmaster) || server.watchdog.try_wait()?.is_some() {
            return Ok(Err(format!("postgres exited: {}", server.log())));
        }
        if Instant::now() > deadline {
            return Ok(Err(format!(
                "postgres did not accept connections within {} s: {}",
                READY_WITHIN.as_secs(),
                server.log()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The folder of PostgreSQL's server binaries: Debian's highest version,
/// else where `initdb` on PATH really is.
fn server_bin() -> io::Result<PathBuf> {
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    for entry in std::fs::read_dir(DEBIAN_VERSIONS).into_iter().flatten() {
        let Ok(entry) = entry else { continue };
        let bin = entry.path().join("bin");
        if !bin.join("initdb").is_file() || !bin.join("postgres").is_file() {
            continue;
        }
        let version: Vec<u32> = entry
            .file_name()
            .to_string_lossy()
            .split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect();
        if best.as_ref().is_none_or(|(highest, _)| version > *highest) {
            best = Some((version, bin));
        }
    }
    if let Some((_, bin)) = best {
        return Ok(bin);
    }
    match (which("initdb"), which("postgres")) {
        (Some(initdb), Some(_)) => {
            let initdb = std::fs::canonicalize(&initdb).unwrap_or(initdb);
            Ok(initdb.parent().unwrap_or(Path::new("/")).to_path_buf())
        }
        _ => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no PostgreSQL server: neither {DEBIAN_VERSIONS}/*/bin/initdb nor initdb and postgres on PATH: {INSTALL_HINT}"
            ),
        )),
    }
}

/// `name` in the server's folder, else on PATH.
fn tool(bin: &Path, name: &str) -> io::Result<PathBuf> {
    let path = bin.join(name);
    if path.is_file() {
        return Ok(path);
    }
    which(name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{name} is neither in {} nor on PATH: {INSTALL_HINT}",
                bin.display()
            ),
        )
    })
}

/// Run by root, the `postgres` user's uid and gid (initdb and postgres
/// refuse root); `None` when not root.
fn owner() -> io::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    // SAFETY: passwd is plain data; getpwnam_r fills it with pointers into
    // `buf`, which outlives the read of its two numbers.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: the name is NUL-terminated and every pointer is valid for
    // the length given.
    let rc = unsafe {
        libc::getpwnam_r(
            c"postgres".as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "running as root, PostgreSQL's initdb and postgres must run as the postgres user, and there is none: {INSTALL_HINT}"
            ),
        ));
    }
    Ok(Some((pwd.pw_uid, pwd.pw_gid)))
}

/// `program` run in `dir`, as `owner` when given, with no input.
///
/// The user is switched by the child itself (setgid, setgroups, setuid
/// before exec), not by `runuser`: runuser stays between us and postgres as
/// its parent, and forwards a SIGINT as SIGTERM (postgres's smart shutdown,
/// which waits for every client) followed by SIGKILL.
fn command(program: &Path, owner: Option<(u32, u32)>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir).stdin(Stdio::null());
    if let Some((uid, gid)) = owner {
        // Without supplementary groups (std drops them when root sets uid).
        command.uid(uid).gid(gid);
    }
    command
}

/// `PREFIX_SUFFIX` with the prefix made a plain lowercase identifier and
/// shortened to fit PostgreSQL's 63 bytes.
fn database_name(prefix: &str, suffix: &str) -> String {
    let mut name: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name.insert_str(0, "db_");
    }
    name.truncate(63usize.saturating_sub(suffix.len()));
    name.push_str(suffix);
    name
}

/// Whether process `pid` has ended (a zombie counts as ended).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        // Gone, or no /proc here: ask kill.
        Err(_) => {
            // SAFETY: signal 0 only checks that the process exists.
            let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
            rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set for the child test process of `shared_server_ends_with_its_process`:
    /// where its helper writes the postmaster's pid and the folder.
    const HELPER: &str = "FLEETWRIGHT_PG_SHARED_HELPER";

    fn psql(server: &PgServer, url: &str, sql: &str) -> String {
        let psql = tool(&server.bin, "psql").unwrap();
        let out = Command::new(psql)
            .arg(url)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {url} -c {sql:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            server.log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn an_owned_server_serves_fresh_databases_and_goes_when_dropped() {
        let started = Instant::now();
        let server = PgServer::start().unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"));
        eprintln!("PostgreSQL started in {:?}", started.elapsed());

        let created = Instant::now();
        let first = server.database("State Tests!").unwrap();
        eprintln!("database() took {:?}", created.elapsed());
        let second = server.database("state-tests").unwrap();
        assert_ne!(first, second);
        let prefix = format!("postgres://fleetwright@127.0.0.1:{}/", server.port);
        let first_name = first.strip_prefix(&prefix).unwrap();
        let second_name = second.strip_prefix(&prefix).unwrap();
        assert!(first_name.starts_with("state_tests__"), "{first_name}");
        assert!(second_name.starts_with("state_tests_"), "{second_name}");

        assert_eq!(psql(&server, &first, "select 1"), "1");
        let names = psql(
            &server,
            &server.url(),
            "select datname from pg_database order by datname",
        );
        assert!(names.lines().any(|n| n == first_name), "{names}");
        assert!(names.lines().any(|n| n == second_name), "{names}");

        let (postmaster, dir) = (server.pid(), server.dir.clone());
        assert!(!exited(postmaster));
        let stopping = Instant::now();
        drop(server);
        eprintln!("PostgreSQL stopped in {:?}", stopping.elapsed());
        assert!(exited(postmaster), "the postmaster {postmaster} still runs");
        assert!(!dir.exists(), "{} is left", dir.display());
    }

    #[test]
    fn a_taken_port_fails_the_attempt_as_in_use() {
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let failure = match attempt(&server_bin().unwrap(), owner().unwrap(), port).unwrap() {
            Ok(server) => panic!("postgres started on a taken port: {}", server.log()),
            Err(failure) => failure,
        };
        // What `start` retries on another port.
        assert!(failure.contains("Address already in use"), "{failure}");
    }

    #[test]
    fn the_shared_server_is_one_and_serves_databases() {
        let server = PgServer::shared().unwrap_or_else(|e| panic!("{e}"));
        let again = PgServer::shared().unwrap();
        assert!(std::ptr::eq(server, again));
        let url = server.database("shared").unwrap();
        assert_eq!(psql(server, &url, "select 40 + 2"), "42");
    }

    #[test]
    fn database_names_are_plain_identifiers_within_63_bytes() {
        assert_eq!(database_name("State-Tests", "_1_2"), "state_tests_1_2");
        assert_eq!(database_name("", "_1_2"), "db__1_2");
        assert_eq!(database_name("9lives", "_1_2"), "db_9lives_1_2");
        assert_eq!(database_name("été", "_1"), "_t__1");
        let long = database_name(&"x".repeat(100), "_4194304_18446744073709551615");
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("_4194304_18446744073709551615"));
    }

    /// Not a test of its own (it returns at once in a test run): run by
    /// `shared_server_ends_with_its_process` in a child process, with
    /// `HELPER` set, it starts the shared server, writes where it runs, and
    /// waits to be killed.
    #[test]
    fn shared_server_helper() {
        let Some(report) = std::env::var_os(HELPER) else {
            return;
        };
        let server = PgServer::shared().unwrap_or_else(|e| panic!("{e}"));
        let written = format!("{} {}\n", server.pid(), server.dir.display());
        std::fs::write(PathBuf::from(&report).with_extension("tmp"), written).unwrap();
        std::fs::rename(PathBuf::from(&report).with_extension("tmp"), &report).unwrap();
        std::thread::sleep(Duration::from_secs(120));
    }

    #[test]
    fn shared_server_ends_with_its_process() {
        let scratch = tempfile::tempdir().unwrap();
        let report = scratch.path().join("shared");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sim::postgres::tests::shared_server_helper",
                "--test-threads=1",
            ])
            .env(HELPER, &report)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + READY_WITHIN + Duration::from_secs(10);
        let written = loop {
            if let Ok(written) = std::fs::read_to_string(&report) {
                break written;
            }
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                let _ = io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr);
                panic!("the helper process ended ({status}) before starting the server: {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "the helper did not start the server"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let (postmaster, dir) = written.trim().split_once(' ').unwrap();
        let postmaster: u32 = postmaster.parse().unwrap();
        let dir = PathBuf::from(dir);
        assert!(!exited(postmaster));

        // SIGKILL: no destructor, no exit handler runs.
        child.kill().unwrap();
        child.wait().unwrap();
        let deadline = Instant::now() + STOP_WITHIN;
        while !exited(postmaster) || dir.exists() {
            assert!(
                Instant::now() < deadline,
                "postgres {postmaster} of {} outlived its killed test process",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
