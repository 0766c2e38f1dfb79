//! Secrets (tokens, private keys): a type that does not print itself, the
//! list of every secret value this process holds (so that text from outside
//! can be scrubbed of them), and the process environment emptied of them.
//!
//! The product promise is that no token is ever written to disk, a log, the
//! state, a report or a `.git/config`, and that code from a repository never
//! sees one. Wrapping every secret in [`Secret`] makes the easy paths safe:
//! `{:?}` and `{}` print `***`, there is no `Serialize`, and the one way to
//! read the value, [`Secret::expose`], is easy to grep for. Every `Secret`
//! made is remembered, and [`scrub`] replaces each remembered value in a
//! text (a verify command's output, say) by `***` before it is stored or
//! shown.
//!
//! [`take_environment`] runs first thing in `main`, before any thread: it
//! moves every environment variable that fleetwright does not pass on or
//! need by name out of the process environment into memory (read back with
//! [`env_var`]), and overwrites their bytes in the block the kernel shows as
//! `/proc/<pid>/environ`; it also makes the process non-dumpable, so another
//! process of the same (non-root) user can neither read that file nor
//! attach to it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// A secret string; prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value (and remember it, for [`scrub`]).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Secret(value)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Secrets shorter than this are not scrubbed from text: a one-letter
/// "secret" would blank every such letter, and no real token is that short.
const SHORTEST: usize = 6;

/// At most this many secrets are remembered (a GitHub App mints a token an
/// hour); the oldest minted ones go first, never the first few (the
/// configured ones).
const KEEP: usize = 64;
const PINNED: usize = 8;

fn known() -> &'static RwLock<Vec<String>> {
    static KNOWN: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(Default::default)
}

/// Remember `value` as a secret this process holds.
pub fn remember(value: &str) {
    let value = value.trim();
    if value.len() < SHORTEST {
        return;
    }
    let mut known = known().write().unwrap_or_else(|e| e.into_inner());
    if known.iter().any(|s| s == value) {
        return;
    }
    known.push(value.to_string());
    if known.len() > KEEP {
        known.remove(PINNED);
    }
}

/// `text` with every secret this process holds replaced by `***`. Every
/// text that comes back from code fleetwright does not control (a verify
/// command, a command step, a forge's error message) goes through here
/// before it is stored or shown.
pub fn scrub(text: &str) -> String {
    let known = known().read().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// The environment variables fleetwright keeps in its own environment:
/// what it, its libraries and the tools it starts read, none of them a
/// credential. Every other variable is taken out by [`take_environment`].
const KEPT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TZ",
    "TMPDIR",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_MIN_STACK",
    "FLEETWRIGHT_STATE",
    "FLEETWRIGHT_CACHE",
    "FLEETWRIGHT_COLOR",
    "FLEETWRIGHT_LOG_FORMAT",
    "FLEETWRIGHT_NOW",
    "FLEETWRIGHT_WORKER_ID",
    "FLEETWRIGHT_TREE_ARENA",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
    // Where ssh-agent listens: libssh2 reads it from the environment when
    // git asks the agent for a key (`git::ssh`). Not a key itself; no child
    // gets it (the sandbox and the rewrite workers start from an empty
    // environment).
    "SSH_AUTH_SOCK",
];

fn kept(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    KEPT.contains(&name) || name.starts_with("LC_")
}

/// The variables taken out of the environment, by name. Their values are
/// not secrets by themselves (`PWD`, `HOSTNAME`...): only the one a
/// campaign names (`token_env`) becomes a [`Secret`], when [`env_var`]
/// reads it, and only then is it scrubbed from text.
fn taken() -> &'static OnceLock<HashMap<OsString, OsString>> {
    static TAKEN: OnceLock<HashMap<OsString, OsString>> = OnceLock::new();
    &TAKEN
}

/// Move every environment variable not in the kept list out of the
/// process environment, into memory.
///
/// # Safety
///
/// Call it once, first thing in `main`, while the process has one thread:
/// it changes the environment and writes over the bytes of the removed
/// variables, which nothing else may be reading.
pub unsafe fn take_environment() {
    let mut moved = HashMap::new();
    let names: Vec<OsString> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| !kept(name))
        .collect();
    for name in names {
        let Some(value) = std::env::var_os(&name) else {
            continue;
        };
        // SAFETY: one thread (the caller's promise); the pointers are read
        // before the variable is removed and written after, while nothing
        // else can use them.
        unsafe {
            let places = places_of(&name);
            std::env::remove_var(&name);
            for (ptr, len) in places {
                std::ptr::write_bytes(ptr, 0, len);
            }
        }
        moved.insert(name, value);
    }
    let _ = taken().set(moved);
    // Another process of this user (a verify command run without a
    // sandbox) can no longer read /proc/<pid>/environ or /proc/<pid>/mem
    // nor ptrace this process.
    // SAFETY: prctl with a constant option and argument.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Where the value bytes (`NAME=` excluded) of `name` sit in `environ`.
unsafe fn places_of(name: &OsStr) -> Vec<(*mut u8, usize)> {
    use std::os::unix::ffi::OsStrExt;
    unsafe extern "C" {
        static mut environ: *mut *mut libc::c_char;
    }
    let mut prefix = name.as_bytes().to_vec();
    prefix.push(b'=');
    let mut places = Vec::new();
    // SAFETY: `environ` is a null-terminated array of C strings.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let text = std::ffi::CStr::from_ptr(*entry);
            let bytes = text.to_bytes();
            if bytes.starts_with(&prefix) {
                places.push(((*entry).cast::<u8>(), bytes.len()));
            }
            entry = entry.add(1);
        }
    }
    places
}

/// An environment variable that holds no secret (`https_proxy`,
/// `no_proxy`): from what [`take_environment`] took, else from the
/// environment itself. Not remembered for [`scrub`].
pub fn plain_env_var(name: &str) -> Option<String> {
    if let Some(value) = taken().get().and_then(|t| t.get(OsStr::new(name))) {
        return Some(value.to_string_lossy().into_owned());
    }
    std::env::var(name).ok()
}

/// An environment variable that may hold a secret (a token named by a
/// campaign's `token_env`): from what [`take_environment`] took, else from
/// the environment itself (when `main` did not run, as in tests).
pub fn env_var(name: &str) -> Option<Secret> {
    if let Some(value) = taken().get().and_then(|t| t.get(OsStr::new(name))) {
        return Some(Secret::new(value.to_string_lossy().into_owned()));
    }
    std::env::var(name).ok().map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("ghp_supersecret");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "ghp_supersecret");
    }

    #[test]
    fn every_secret_made_is_scrubbed_from_text() {
        let _s = Secret::new("ghs_scrubme12345");
        assert_eq!(
            scrub("token=ghs_scrubme12345; again ghs_scrubme12345."),
            "token=***; again ***."
        );
        // Too short to be a token: left alone.
        let _short = Secret::new("abc");
        assert_eq!(scrub("abc"), "abc");
    }

    #[test]
    fn kept_variables_are_the_harmless_ones() {
        assert!(kept(OsStr::new("PATH")));
        assert!(kept(OsStr::new("LC_ALL")));
        // Where the state and the clone cache go: read by clap (`env = ...`)
        // after `take_environment`, so they must stay.
        for name in [
            "FLEETWRIGHT_STATE",
            "FLEETWRIGHT_CACHE",
            "FLEETWRIGHT_COLOR",
            "FLEETWRIGHT_LOG_FORMAT",
            "XDG_STATE_HOME",
            "XDG_CACHE_HOME",
        ] {
            assert!(kept(OsStr::new(name)), "{name}");
        }
        assert!(!kept(OsStr::new("GITHUB_TOKEN")));
        assert!(!kept(OsStr::new("MY_CI_THING")));
    }
}
