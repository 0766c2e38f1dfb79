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
/// `token@`). `git@host:org/repo` (scp-like SSH) is a user name, not a
/// credential, and is not counted.
pub fn has_userinfo(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    authority(rest).contains('@')
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
        if let Some((_, host)) = authority.rsplit_once('@') {
            out = Some(format!("{scheme}://***@{host}{tail}"));
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
    }
}
