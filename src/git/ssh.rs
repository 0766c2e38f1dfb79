//! SSH remotes: which key git offers (a key file the campaign names, or
//! the keys of the running ssh-agent), and whether the host that answered
//! is the one `known_hosts` knows.
//!
//! Host keys are checked here, by fleetwright, against one `known_hosts`
//! file (the campaign's `git.ssh.known_hosts`, else `~/.ssh/known_hosts`):
//! a host that is not there, or that offers another key than the one
//! there, is refused before anything is fetched or pushed, with the
//! fingerprint it offered and how to add it. There is no "accept any" and
//! no trust on first use: a campaign runs unattended, so nobody would see
//! the question. The file is read as OpenSSH writes it: hashed names
//! (`|1|salt|hash`, `HashKnownHosts yes`), `[host]:port` for other ports
//! than 22, comma-separated patterns with `*`, `?` and `!`, and the
//! `@revoked` marker (`@cert-authority` lines are skipped: libssh2 does not
//! check host certificates).
//!
//! Invariants: a private key and its passphrase are never logged, stored,
//! or put in an error; the passphrase comes only from the environment
//! variable the campaign names (a [`Secret`], scrubbed from all text).

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha1::Digest as _;

use crate::secret::Secret;
use crate::urls::SshRemote;

/// The campaign's `git.ssh` section, checked: absolute paths, a variable
/// name. The default (all `None`): the ssh-agent's keys, and
/// `~/.ssh/known_hosts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshSettings {
    /// A private key file (OpenSSH or PEM format); `None`: ask ssh-agent
    /// (`SSH_AUTH_SOCK`).
    pub key: Option<PathBuf>,
    /// The environment variable holding the key's passphrase.
    pub passphrase_env: Option<String>,
    /// The known hosts file; `None`: `~/.ssh/known_hosts`.
    pub known_hosts: Option<PathBuf>,
}

impl SshSettings {
    /// The known hosts file host keys are checked against.
    pub fn known_hosts_file(&self) -> PathBuf {
        match &self.known_hosts {
            Some(path) => path.clone(),
            None => default_known_hosts(),
        }
    }

    /// The key file's passphrase, from the variable the campaign names:
    /// `Ok(None)` when it names none, an error naming the variable when it
    /// is not set.
    pub fn passphrase(&self) -> Result<Option<Secret>, String> {
        let Some(name) = &self.passphrase_env else {
            return Ok(None);
        };
        match crate::secret::env_var(name) {
            Some(secret) => Ok(Some(secret)),
            None => Err(format!(
                "git.ssh.passphrase_env names {name}, which is not set: export the key's passphrase in {name} before running fleetwright"
            )),
        }
    }
}

/// `~/.ssh/known_hosts` (from `HOME`).
pub fn default_known_hosts() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    Path::new(&home).join(".ssh/known_hosts")
}

/// Why a host's key was refused. Its message says which host, which key it
/// offered (type and SHA256 fingerprint, as `ssh-keygen -l` prints it),
/// what the file holds, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyRefusal {
    pub host: String,
    pub port: u16,
    pub file: PathBuf,
    pub key_type: String,
    pub fingerprint: String,
    pub verdict: HostKeyVerdict,
}

impl fmt::Display for HostKeyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = &self.host;
        let port = self.port;
        let file = self.file.display();
        let keyscan = format!("ssh-keyscan -p {port} {host} >> {file}");
        let offered = format!("{} key {}", self.key_type, self.fingerprint);
        match &self.verdict {
            HostKeyVerdict::Known => write!(f, "the SSH host {host} port {port} is known"),
            HostKeyVerdict::Unknown { known_types } if known_types.is_empty() => write!(
                f,
                "the SSH host {host} port {port} is not in {file}; it offered the {offered}. Nothing was fetched or pushed. Check that fingerprint with the host's administrators (GitHub publishes its own), then add the host: `{keyscan}` (and check the line it adds), or name another file in the campaign's git.ssh.known_hosts"
            ),
            HostKeyVerdict::Unknown { known_types } => write!(
                f,
                "the SSH host {host} port {port} offered the {offered}, and {file} holds only {} key(s) for it. Nothing was fetched or pushed. Check that fingerprint with the host's administrators, then add it: `{keyscan}` (and check the lines it adds)",
                known_types.join(", ")
            ),
            HostKeyVerdict::Changed { line } => write!(
                f,
                "the SSH host key of {host} port {port} CHANGED: it offered the {offered}, but {file}:{line} holds another {} key for it. Someone may be intercepting the connection, or the host's key was replaced. Nothing was fetched or pushed. Ask the host's administrators; only if they confirm the new fingerprint, remove the old line (`ssh-keygen -R '{}' -f {file}`) and add the new key (`{keyscan}`)",
                self.key_type,
                if port == SshRemote::DEFAULT_PORT {
                    host.clone()
                } else {
                    format!("[{host}]:{port}")
                }
            ),
            HostKeyVerdict::Revoked { line } => write!(
                f,
                "the SSH host {host} port {port} offered the {offered}, which {file}:{line} marks @revoked. Nothing was fetched or pushed. Ask the host's administrators which key it should have"
            ),
        }
    }
}

/// What `known_hosts` says of the key a host offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyVerdict {
    /// The file holds this key for this host.
    Known,
    /// The file holds no key of this type for the host (`known_types`: the
    /// types it does hold for it, if any).
    Unknown { known_types: Vec<String> },
    /// The file holds another key of the same type for the host (at `line`).
    Changed { line: usize },
    /// The file marks this key `@revoked` (at `line`).
    Revoked { line: usize },
}

/// A `known_hosts` file, parsed. Lines that cannot be read are skipped, as
/// OpenSSH does.
#[derive(Debug, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    line: usize,
    revoked: bool,
    hosts: Hosts,
    key_type: String,
    key: Vec<u8>,
}

#[derive(Debug)]
enum Hosts {
    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// `name,pattern,!negated` (lower-cased).
    Patterns(Vec<String>),
}

impl KnownHosts {
    /// Read `path`; an absent file knows no host.
    pub fn load(path: &Path) -> std::io::Result<KnownHosts> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KnownHosts::default()),
            Err(e) => Err(e),
        }
    }

    pub fn parse(text: &str) -> KnownHosts {
        let mut entries = Vec::new();
        for (number, line) in (1..).zip(text.lines()) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let mut first = fields.next().unwrap_or_default();
            let mut revoked = false;
            if let Some(marker) = first.strip_prefix('@') {
                match marker {
                    "revoked" => revoked = true,
                    // Host certificates: libssh2 does not check them.
                    _ => continue,
                }
                first = match fields.next() {
                    Some(f) => f,
                    None => continue,
                };
            }
            let (Some(key_type), Some(key)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Ok(key) = STANDARD.decode(key) else {
                continue;
            };
            let hosts = if let Some(hashed) = first.strip_prefix("|1|") {
                let Some((salt, hash)) = hashed.split_once('|') else {
                    continue;
                };
                let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
                    continue;
                };
                Hosts::Hashed { salt, hash }
            } else {
                Hosts::Patterns(first.split(',').map(|p| p.to_ascii_lowercase()).collect())
            };
            entries.push(Entry {
                line: number,
                revoked,
                hosts,
                key_type: key_type.to_string(),
                key,
            });
        }
        KnownHosts { entries }
    }

    /// What the file says of `key` (the host key blob, as the host sent it)
    /// offered by the host known as `name` (`host`, or `[host]:port` when
    /// the port is not 22).
    pub fn check(&self, name: &str, key: &[u8]) -> HostKeyVerdict {
        let name = name.to_ascii_lowercase();
        let key_type = key_type_of(key).unwrap_or_default();
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.hosts.matches(&name))
            .collect();
        if let Some(e) = matching.iter().find(|e| e.revoked && e.key == key) {
            return HostKeyVerdict::Revoked { line: e.line };
        }
        let valid: Vec<&&Entry> = matching.iter().filter(|e| !e.revoked).collect();
        if valid.iter().any(|e| e.key == key) {
            return HostKeyVerdict::Known;
        }
        if let Some(e) = valid.iter().find(|e| e.key_type == key_type) {
            return HostKeyVerdict::Changed { line: e.line };
        }
        let mut known_types: Vec<String> = valid.iter().map(|e| e.key_type.clone()).collect();
        known_types.sort();
        known_types.dedup();
        HostKeyVerdict::Unknown { known_types }
    }
}

impl Hosts {
    fn matches(&self, name: &str) -> bool {
        match self {
            Hosts::Hashed { salt, hash } => hmac_sha1(salt, name.as_bytes()).as_slice() == hash,
            Hosts::Patterns(patterns) => {
                let mut matched = false;
                for pattern in patterns {
                    if let Some(negated) = pattern.strip_prefix('!') {
                        if wildcard(negated.as_bytes(), name.as_bytes()) {
                            return false;
                        }
                    } else if wildcard(pattern.as_bytes(), name.as_bytes()) {
                        matched = true;
                    }
                }
                matched
            }
        }
    }
}

/// OpenSSH's host patterns: `*` any run, `?` any one character.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard(&pattern[1..], name) || (!name.is_empty() && wildcard(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => wildcard(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// HMAC-SHA1 (RFC 2104), what hashed `known_hosts` names are.
fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&sha1::Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha1::Sha1::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = sha1::Sha1::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// The key type a host key blob starts with (`ssh-ed25519`, `ssh-rsa`...).
fn key_type_of(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4 + len)?;
    std::str::from_utf8(name).ok().map(str::to_string)
}

/// `SHA256:...`, as `ssh-keygen -l` and OpenSSH's prompts print a key.
pub fn fingerprint(sha256: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(sha256))
}

/// Check the host key libgit2 got from `remote` against `settings`'s
/// known hosts file: `Ok` to go on, else the refusal (nothing is sent).
pub fn check_host_key(
    settings: &SshSettings,
    remote: &SshRemote,
    key: &[u8],
    sha256: Option<&[u8; 32]>,
) -> Result<(), Box<HostKeyRefusal>> {
    let file = settings.known_hosts_file();
    let refusal = |verdict| {
        Box::new(HostKeyRefusal {
            host: remote.host.clone(),
            port: remote.port,
            file: file.clone(),
            key_type: key_type_of(key).unwrap_or_else(|| "unknown".into()),
            fingerprint: sha256.map_or_else(
                || {
                    let digest = sha2_unavailable(key);
                    format!("(raw key {digest})")
                },
                |h| fingerprint(h),
            ),
            verdict,
        })
    };
    let known = match KnownHosts::load(&file) {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!(file = %file.display(), "cannot read the known hosts file: {e}");
            return Err(refusal(HostKeyVerdict::Unknown {
                known_types: Vec::new(),
            }));
        }
    };
    match known.check(&remote.known_hosts_name(), key) {
        HostKeyVerdict::Known => Ok(()),
        verdict => Err(refusal(verdict)),
    }
}

/// A short form of a key when libssh2 gave no SHA-256 hash (it always
/// does with OpenSSL): its SHA-1, hex.
fn sha2_unavailable(key: &[u8]) -> String {
    sha1::Sha1::digest(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host key blob of `key_type` with `body`.
    fn blob(key_type: &str, body: &[u8]) -> Vec<u8> {
        let mut out = (key_type.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(key_type.as_bytes());
        out.extend_from_slice(body);
        out
    }

    fn line(hosts: &str, key: &[u8]) -> String {
        format!(
            "{hosts} {} {} comment\n",
            key_type_of(key).unwrap(),
            STANDARD.encode(key)
        )
    }

    #[test]
    fn plain_ported_hashed_and_patterned_names_match() {
        let ed = blob("ssh-ed25519", b"one");
        let salt = b"0123456789abcdefghij";
        let hashed = format!(
            "|1|{}|{}",
            STANDARD.encode(salt),
            STANDARD.encode(hmac_sha1(salt, b"[10.0.0.7]:2222"))
        );
        let text = [
            "# comment\n".to_string(),
            line("github.com,140.82.121.4", &ed),
            line("[127.0.0.1]:2222", &ed),
            line(&hashed, &ed),
            line("*.corp.example,!evil.corp.example", &ed),
            "garbage line\n".to_string(),
        ]
        .concat();
        let known = KnownHosts::parse(&text);
        for name in [
            "github.com",
            "GitHub.com",
            "[127.0.0.1]:2222",
            "[10.0.0.7]:2222",
            "git.corp.example",
        ] {
            assert_eq!(known.check(name, &ed), HostKeyVerdict::Known, "{name}");
        }
        for name in [
            "127.0.0.1",
            "[127.0.0.1]:2223",
            "10.0.0.7",
            "evil.corp.example",
            "github.com.evil",
        ] {
            assert_eq!(
                known.check(name, &ed),
                HostKeyVerdict::Unknown {
                    known_types: vec![]
                },
                "{name}"
            );
        }
    }

    #[test]
    fn another_key_of_the_same_type_is_a_change_and_revoked_keys_are_refused() {
        let ed = blob("ssh-ed25519", b"one");
        let other = blob("ssh-ed25519", b"two");
        let rsa = blob("ssh-rsa", b"three");
        let text = [
            line("h.example", &ed),
            line("h.example", &rsa),
            format!("@revoked {}", line("*", &other)),
        ]
        .concat();
        let known = KnownHosts::parse(&text);
        assert_eq!(known.check("h.example", &ed), HostKeyVerdict::Known);
        assert_eq!(known.check("h.example", &rsa), HostKeyVerdict::Known);
        assert_eq!(
            known.check("h.example", &blob("ssh-ed25519", b"four")),
            HostKeyVerdict::Changed { line: 1 }
        );
        assert_eq!(
            known.check("h.example", &other),
            HostKeyVerdict::Revoked { line: 3 }
        );
        assert_eq!(
            known.check("h.example", &blob("ecdsa-sha2-nistp256", b"x")),
            HostKeyVerdict::Unknown {
                known_types: vec!["ssh-ed25519".into(), "ssh-rsa".into()]
            }
        );
    }

    #[test]
    fn hmac_sha1_is_rfc_2202() {
        // RFC 2202, test case 2.
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn a_refusal_says_which_host_which_key_and_what_to_do() {
        let refusal = HostKeyRefusal {
            host: "127.0.0.1".into(),
            port: 2222,
            file: PathBuf::from("/k/known_hosts"),
            key_type: "ssh-ed25519".into(),
            fingerprint: "SHA256:abc".into(),
            verdict: HostKeyVerdict::Unknown {
                known_types: vec![],
            },
        };
        let text = refusal.to_string();
        assert!(text.contains("127.0.0.1 port 2222"), "{text}");
        assert!(text.contains("SHA256:abc"), "{text}");
        assert!(
            text.contains("ssh-keyscan -p 2222 127.0.0.1 >> /k/known_hosts"),
            "{text}"
        );
        let changed = HostKeyRefusal {
            verdict: HostKeyVerdict::Changed { line: 3 },
            ..refusal
        }
        .to_string();
        assert!(changed.contains("CHANGED"), "{changed}");
        assert!(changed.contains("/k/known_hosts:3"), "{changed}");
        assert!(
            changed.contains("ssh-keygen -R '[127.0.0.1]:2222'"),
            "{changed}"
        );
    }
}
