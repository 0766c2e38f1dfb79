//! A real OpenSSH server on loopback, for the tests of SSH remotes: Debian's
//! `/usr/sbin/sshd` (package `openssh-server`, which
//! `scripts/install-test-deps.sh` installs), started as the current user,
//! unprivileged, with a host key and a user key made by `ssh-keygen` in a
//! temp folder, serving the bare repositories of that folder by absolute
//! path through the system's `git-upload-pack` and `git-receive-pack`.
//!
//! sshd cannot listen on port 0, so a free port is found by binding one and
//! closing it, then given to sshd; when another process took it meanwhile,
//! it starts again on another. [`SshServer`] kills sshd when dropped, and
//! [`SshAgent`] its ssh-agent.
//!
//! Without sshd (or, as root, without its `/run/sshd` folder) starting
//! fails with what to install or create: the tests using it fail, never
//! skip.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs sshd.
pub const SSHD: &str = "/usr/sbin/sshd";

/// What to do when sshd cannot be started here.
pub const INSTALL_HINT: &str = "install Debian's openssh-server (scripts/install-test-deps.sh does: apt-get install openssh-server; as root it also creates sshd's /run/sshd)";

/// A key pair made by `ssh-keygen`.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The private key file.
    pub private: PathBuf,
    /// `TYPE BASE64` of the public key (its `.pub` file without comment).
    pub public: String,
}

impl KeyPair {
    /// Make an ed25519 key pair at `path` (and `path.pub`), protected by
    /// `passphrase` when it is not empty.
    pub fn generate(path: &Path, passphrase: &str) -> io::Result<KeyPair> {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-C", "fleetwright-test", "-N"])
            .arg(passphrase)
            .arg("-f")
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run ssh-keygen ({e}): {INSTALL_HINT}"),
                )
            })?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "ssh-keygen failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let public = std::fs::read_to_string(path.with_extension("pub"))?;
        let public = public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ok(KeyPair {
            private: path.to_path_buf(),
            public,
        })
    }
}

/// A running sshd, killed when dropped.
#[derive(Debug)]
pub struct SshServer {
    child: Child,
    pub port: u16,
    /// The user it lets in (the current one).
    pub user: String,
    /// Its host key.
    pub host_key: KeyPair,
    /// The key its `AuthorizedKeysFile` holds.
    pub user_key: KeyPair,
    log: PathBuf,
    authorized: PathBuf,
}

impl SshServer {
    /// Start sshd with its keys and config in `dir` (which must exist),
    /// letting the current user in with a new key (also in `dir`).
    pub fn start(dir: &Path) -> io::Result<SshServer> {
        if !Path::new(SSHD).exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{SSHD} does not exist: {INSTALL_HINT}"),
            ));
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 && !Path::new("/run/sshd").is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "sshd run by root needs its privilege separation folder /run/sshd: mkdir -m 0755 /run/sshd ({INSTALL_HINT})"
                ),
            ));
        }
        let host_key = KeyPair::generate(&dir.join("ssh_host_ed25519_key"), "")?;
        let user_key = KeyPair::generate(&dir.join("id_ed25519"), "")?;
        let authorized = dir.join("authorized_keys");
        std::fs::write(&authorized, format!("{}\n", user_key.public))?;
        let user = current_user()?;
        // The session runs `git-upload-pack '/abs/repo.git'` through the
        // user's shell: the folder of the system's git must be on its PATH.
        let git_dir = which("git-upload-pack")
            .or_else(|| which("git"))
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "git is not on PATH (apt-get install git)",
                )
            })?;
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "HostKey {host}\n\
                 AuthorizedKeysFile {authorized}\n\
                 PidFile none\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\n\
                 AllowUsers {user}\n\
                 SetEnv PATH={git}:/usr/bin:/bin\n\
                 LogLevel VERBOSE\n",
                host = host_key.private.display(),
                authorized = authorized.display(),
                git = git_dir.display(),
            ),
        )?;
        let log = dir.join("sshd.log");
        let mut last = String::new();
        for _ in 0..8 {
            let port = free_port()?;
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .args(["-o", &format!("ListenAddress=127.0.0.1:{port}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()?;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = child.try_wait()? {
                    last = format!(
                        "sshd exited ({status}): {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(SshServer {
                        child,
                        port,
                        user,
                        host_key,
                        user_key,
                        log,
                        authorized,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last = format!(
                        "sshd did not listen within 10 s: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Taken by another process meanwhile: another port.
            if !last.contains("Address already in use") {
                break;
            }
        }
        Err(io::Error::other(last))
    }

    /// `ssh://USER@127.0.0.1:PORT/abs/path` for a repository on this
    /// machine at `path` (absolute).
    pub fn url(&self, path: &Path) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            path.display()
        )
    }

    /// The `known_hosts` line for this server (`[127.0.0.1]:PORT TYPE KEY`).
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_key.public)
    }

    /// Let `key` in too.
    pub fn authorize(&self, key: &KeyPair) -> io::Result<()> {
        let mut keys = std::fs::read_to_string(&self.authorized)?;
        keys.push_str(&key.public);
        keys.push('\n');
        std::fs::write(&self.authorized, keys)
    }

    /// What sshd logged so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SshServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `ssh-agent -D -a SOCKET` holding keys, killed when dropped.
#[derive(Debug)]
pub struct SshAgent {
    child: Child,
    /// Its socket, for `SSH_AUTH_SOCK`.
    pub socket: PathBuf,
}

impl SshAgent {
    /// Start an agent listening at `dir/agent.sock` and add `key` to it.
    pub fn start(dir: &Path, key: &Path) -> io::Result<SshAgent> {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run ssh-agent ({e}): {INSTALL_HINT}"),
                )
            })?;
        let agent = SshAgent { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !agent.socket.exists() {
            if Instant::now() > deadline {
                return Err(io::Error::other("ssh-agent did not listen within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "ssh-add failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(agent)
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on now.
pub(super) fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// The current user's name (what sshd lets in).
fn current_user() -> io::Result<String> {
    let out = Command::new("id").arg("-un").output()?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || name.is_empty() {
        return Err(io::Error::other("cannot tell the current user (id -un)"));
    }
    Ok(name)
}

/// `name` on PATH.
pub(super) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
