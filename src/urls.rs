//! URLs that come from outside (catalog entries, forge answers, git's own
//! messages): where they point, whether a token may be sent there, and how
//! they are shown.
//!
//! Two rules live here and nowhere else:
//! - [`Origin::may_carry_token`]: a token goes only over https (plain http
//!   only to this machine's loopback, where the test servers live), and
//!   only to an origin its forge names ([`Origin`] equality: scheme, host
//!   and port);
//! - [`redact`] / [`redact_text`]: every URL that reaches output, the state
//!   or a report goes through them first, so credentials written into a URL
//!   (`https://user:secret@host/...`) or a query (`?access_token=...`)
//!   never land anywhere, and neither does any secret the process holds.

use std::borrow::Cow;
use std::fmt;

/// Where a URL points: scheme, host and port, compared exactly (the host
/// case-insensitively, the default port filled in).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// The origin of an `http(s)://` URL; `None` for anything else (a path,
    /// `ssh://`, `git@host:...`, `file://`).
    pub fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = authority(rest);
        // libgit2 ends the authority at the first `/` only: a `?`, `#` or
        // `\\` before it would make the two disagree on the host (the token
        // going where this check did not look), so such a URL has no origin.
        if authority.contains(['?', '#', '\\']) {
            return None;
        }
        // Userinfo ends at the last `@` of the authority.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            (host.to_string(), port)
        } else {
            match host_port.rsplit_once(':') {
                Some((host, port)) => (host.to_string(), port.parse().ok()?),
                None => (host_port.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// This machine: `localhost`, `127.0.0.0/8`, `::1`.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host == "::1"
            || self
                .host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether a token may travel to this origin at all: https, or plain
    /// http that never leaves this machine.
    pub fn may_carry_token(&self) -> bool {
        self.scheme == "https" || (self.scheme == "http" && self.is_loopback())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("https", 443) | ("http", 80)
        );
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if default {
            write!(f, "{}://{host}", self.scheme)
        } else {
            write!(f, "{}://{host}:{}", self.scheme, self.port)
        }
    }
}

/// Whether `url` carries credentials in its userinfo (`user:pass@`,
/// `token@`). `git@host:org/repo` (scp-like SSH) and `ssh://git@host/...`
/// name a user, not a credential (SSH authenticates with a key), and are
/// not counted; `ssh://user:password@host/...` is.
pub fn has_userinfo(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = authority(rest);
    if is_ssh_scheme(scheme) {
        return authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'));
    }
    authority.contains('@')
}

/// `ssh`, `git+ssh` and `ssh+git`: the schemes git reaches over SSH.
fn is_ssh_scheme(scheme: &str) -> bool {
    ["ssh", "git+ssh", "ssh+git"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
}

/// Where an SSH remote points: `ssh://[user@]host[:port]/path` (also
/// `git+ssh://`, `ssh+git://`) or git's scp-like `[user@]host:path` (a
/// `:` before any `/`, as git tells them from local paths). Its host key is
/// checked against `known_hosts` under [`SshRemote::known_hosts_name`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshRemote {
    /// The user named in the URL (`git` in `git@github.com:org/repo`).
    pub user: Option<String>,
    /// Lower-cased, without brackets.
    pub host: String,
    pub port: u16,
}

impl SshRemote {
    pub const DEFAULT_PORT: u16 = 22;

    /// The SSH remote `url` names; `None` for anything else (a path,
    /// `file://`, `http(s)://`).
    pub fn parse(url: &str) -> Option<SshRemote> {
        if let Some((scheme, rest)) = url.split_once("://") {
            if !is_ssh_scheme(scheme) {
                return None;
            }
            let authority = authority(rest);
            if authority.contains(['?', '#', '\\']) {
                return None;
            }
            let (user, host_port) = match authority.rsplit_once('@') {
                Some((user, host)) => (Some(user), host),
                None => (None, authority),
            };
            let (host, port) = split_host_port(host_port)?;
            return Self::new(user, host, port);
        }
        // scp-like: `[user@]host:path`, the `:` before any `/`.
        let colon = url.find(':')?;
        if url[..colon].contains('/') || url.starts_with('/') {
            return None;
        }
        let user_host = &url[..colon];
        let (user, host) = match user_host.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, user_host),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Self::new(user, host, Self::DEFAULT_PORT)
    }

    fn new(user: Option<&str>, host: &str, port: u16) -> Option<SshRemote> {
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return None;
        }
        Some(SshRemote {
            user: user
                .map(|u| u.split(':').next().unwrap_or(u).to_string())
                .filter(|u| !u.is_empty()),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The name `known_hosts` holds the host under: `host` on port 22,
    /// `[host]:port` on any other (as OpenSSH writes them).
    pub fn known_hosts_name(&self) -> String {
        if self.port == Self::DEFAULT_PORT {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for SshRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} port {}", self.host, self.port)
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (SSH's default port 22).
fn split_host_port(host_port: &str) -> Option<(&str, u16)> {
    if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => SshRemote::DEFAULT_PORT,
            None => return None,
        };
        return Some((host, port));
    }
    match host_port.split_once(':') {
        Some((host, "")) => Some((host, SshRemote::DEFAULT_PORT)),
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None => Some((host_port, SshRemote::DEFAULT_PORT)),
    }
}

/// What follows `scheme://` up to the first `/`, as libgit2 reads it.
fn authority(rest: &str) -> &str {
    rest.split('/').next().unwrap_or("")
}

/// `url` as it may be shown or stored: userinfo replaced by `***`, query
/// values replaced by `***`, and every secret the process holds scrubbed.
pub fn redact(url: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            // An SSH user name (`git`) is not a credential; a password is.
            out = Some(if is_ssh_scheme(scheme) && !userinfo.contains(':') {
                format!("{scheme}://{userinfo}@{host}{tail}")
            } else {
                format!("{scheme}://***@{host}{tail}")
            });
        }
    }
    let current = out.as_deref().unwrap_or(url);
    if let Some((before, query)) = current.split_once('?') {
        let (query, fragment) = query
            .split_once('#')
            .map_or((query, None), |(q, f)| (q, Some(f)));
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) if !value.is_empty() => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        let mut redacted = format!("{before}?{}", query.join("&"));
        if let Some(fragment) = fragment {
            redacted.push('#');
            redacted.push_str(fragment);
        }
        out = Some(redacted);
    }
    let current = out.as_deref().unwrap_or(url);
    let scrubbed = crate::secret::scrub(current);
    if scrubbed != current {
        out = Some(scrubbed);
    }
    match out {
        Some(s) => Cow::Owned(s),
        None => Cow::Borrowed(url),
    }
}

/// Free text (an error message from git or a forge) with every URL in it
/// through [`redact`] and every secret the process holds scrubbed.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        // The scheme: letters (and + - .) just before `://`.
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..scheme_start]);
        let url = &rest[scheme_start..end];
        let redacted = redact(url);
        changed |= redacted != url;
        out.push_str(&redacted);
        rest = &rest[end..];
    }
    out.push_str(rest);
    let scrubbed = crate::secret::scrub(&out);
    if !changed && scrubbed == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(scrubbed)
    }
}

/// Decodes the `%XX` escapes of one URL component (a path segment, a
/// password); `None` if it is not UTF-8 after.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Origin::parse("https://GitHub.com/org/repo.git").unwrap();
        assert_eq!(a, Origin::parse("https://github.com:443/x").unwrap());
        assert_ne!(a, Origin::parse("http://github.com/org/repo").unwrap());
        assert_ne!(
            a,
            Origin::parse("https://github.com.evil.example/").unwrap()
        );
        assert_ne!(
            Origin::parse("http://127.0.0.1:8080/").unwrap(),
            Origin::parse("http://127.0.0.1:8081/").unwrap()
        );
        // Userinfo is not part of the host.
        assert_eq!(
            Origin::parse("https://github.com@evil.example/x")
                .unwrap()
                .host,
            "evil.example"
        );
        assert_eq!(Origin::parse("http://[::1]:99/x").unwrap().port, 99);
        assert_eq!(Origin::parse("git@github.com:org/repo.git"), None);
        assert_eq!(Origin::parse("/srv/git/repo.git"), None);
        assert_eq!(Origin::parse("ssh://git@github.com/org/repo"), None);
        // libgit2 would connect to evil.example: no origin, no token.
        assert_eq!(Origin::parse("https://github.com?@evil.example/o/r"), None);
        assert_eq!(Origin::parse("https://github.com#@evil.example/o/r"), None);
        assert_eq!(Origin::parse("https://github.com\\@evil.example/o/r"), None);
        assert_eq!(a.to_string(), "https://github.com");
    }

    #[test]
    fn a_token_travels_over_https_or_to_loopback_only() {
        let may = |u: &str| Origin::parse(u).unwrap().may_carry_token();
        assert!(may("https://github.com/x"));
        assert!(may("http://127.0.0.1:9/x"));
        assert!(may("http://localhost:9/x"));
        assert!(may("http://[::1]:9/x"));
        assert!(!may("http://github.com/x"));
        assert!(!may("http://127.0.0.1.evil.example/x"));
    }

    #[test]
    fn redaction_hides_userinfo_queries_and_known_secrets() {
        assert_eq!(
            redact("https://user:hunter2@git.example.com/org/repo.git"),
            "https://***@git.example.com/org/repo.git"
        );
        assert_eq!(
            redact("https://h.example/x?access_token=abc&page=2#top"),
            "https://h.example/x?access_token=***&page=***#top"
        );
        let plain = "https://github.com/org/repo.git";
        assert!(matches!(redact(plain), Cow::Borrowed(_)));
        let _token = crate::secret::Secret::new("ghp_redactme9876");
        assert_eq!(
            redact("https://h.example/ghp_redactme9876/x"),
            "https://h.example/***/x"
        );
        assert_eq!(
            redact_text(
                "failed to fetch 'https://bob:pw@h.example/a.git': 401 (token ghp_redactme9876)"
            ),
            "failed to fetch 'https://***@h.example/a.git': 401 (token ***)"
        );
        assert!(has_userinfo("https://x@h/a"));
        assert!(!has_userinfo("https://h/a@b"));
        assert!(!has_userinfo("git@github.com:org/repo.git"));
        assert!(has_userinfo("https://github.com?@evil.example/o/r"));
        assert!(!has_userinfo("ssh://git@github.com/org/repo.git"));
        assert!(has_userinfo("ssh://git:hunter2@github.com/org/repo.git"));
        assert_eq!(
            redact("ssh://git@github.com:2222/org/repo.git"),
            "ssh://git@github.com:2222/org/repo.git"
        );
        assert_eq!(
            redact("ssh://git:hunter2@github.com/org/repo.git"),
            "ssh://***@github.com/org/repo.git"
        );
    }

    #[test]
    fn ssh_remotes_are_told_apart_from_paths_and_web_urls() {
        let r = |u: &str| SshRemote::parse(u);
        let remote = r("ssh://git@GitHub.com/org/repo.git").unwrap();
        assert_eq!(remote.user.as_deref(), Some("git"));
        assert_eq!(remote.host, "github.com");
        assert_eq!(remote.port, 22);
        assert_eq!(remote.known_hosts_name(), "github.com");
        let remote = r("ssh://me@127.0.0.1:2222/srv/git/a.git").unwrap();
        assert_eq!((remote.host.as_str(), remote.port), ("127.0.0.1", 2222));
        assert_eq!(remote.known_hosts_name(), "[127.0.0.1]:2222");
        assert_eq!(r("git+ssh://h.example/x").unwrap().host, "h.example");
        assert_eq!(
            r("ssh://[::1]:2200/x").unwrap().known_hosts_name(),
            "[::1]:2200"
        );
        let scp = r("git@github.com:org/repo.git").unwrap();
        assert_eq!(
            (scp.user.as_deref(), scp.host.as_str(), scp.port),
            (Some("git"), "github.com", 22)
        );
        assert_eq!(r("github.com:org/repo.git").unwrap().user, None);
        for not_ssh in [
            "/srv/git/repo.git",
            "./a:b/repo.git",
            "file:///srv/r.git",
            "https://github.com/org/repo.git",
            "repo",
        ] {
            assert_eq!(r(not_ssh), None, "{not_ssh}");
        }
    }
}
