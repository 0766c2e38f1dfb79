//! Where the state database and the clone cache live, when the command
//! line does not say: the XDG base directories, so that a cron job started
//! in `$HOME` and a person in a checkout find the same state.
//!
//! - the state: `--state PATH` (or `FLEETWRIGHT_STATE`), else
//!   `$XDG_STATE_HOME/fleetwright/fleetwright.db`, else
//!   `$HOME/.local/state/fleetwright/fleetwright.db`;
//! - the clone cache: `--cache DIR` (or `FLEETWRIGHT_CACHE`), else beside an
//!   explicit state (`<state folder>/cache`, where it always was: a state
//!   named by hand, such as the demo's, keeps its clones with it), else
//!   `$XDG_CACHE_HOME/fleetwright`, else `$HOME/.cache/fleetwright`.
//!
//! The XDG variables count only when they hold an absolute path (as the
//! XDG Base Directory specification says). Pure: the environment comes in
//! as a function, so tests do not touch the process's.

use crate::state::Location;
use std::path::{Path, PathBuf};

/// The state database and the clone cache, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub state: Location,
    pub cache: PathBuf,
}

/// Resolve `state` and `cache` as given (flag or environment variable,
/// clap has read both) with `env` for the XDG variables and `HOME`.
pub fn resolve(
    state: Option<&Path>,
    cache: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Locations, String> {
    let absolute = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let home = || absolute("HOME");
    let nowhere = |what: &str, flag: &str, var: &str, xdg: &str| {
        format!(
            "cannot choose where {what} goes: neither {xdg} nor HOME is set to an absolute path; \
             pass {flag} (or set {var})"
        )
    };
    let explicit_state = state
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| Location::parse(p.as_os_str()));
    let state_path = match &explicit_state {
        Some(location) => location.clone(),
        None => absolute("XDG_STATE_HOME")
            .or_else(|| home().map(|h| h.join(".local/state")))
            .map(|dir| Location::Sqlite(dir.join("fleetwright").join("fleetwright.db")))
            .ok_or_else(|| {
                nowhere(
                    "the state",
                    "--state PATH",
                    "FLEETWRIGHT_STATE",
                    "XDG_STATE_HOME",
                )
            })?,
    };
    // Beside an explicit SQLite state; a PostgreSQL state has no folder,
    // and its clones go where the default state's do.
    let beside = explicit_state.as_ref().and_then(Location::folder);
    let cache = match (cache.filter(|p| !p.as_os_str().is_empty()), beside) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some(folder)) => folder.join("cache"),
        (None, None) => absolute("XDG_CACHE_HOME")
            .or_else(|| home().map(|h| h.join(".cache")))
            .map(|dir| dir.join("fleetwright"))
            .ok_or_else(|| {
                nowhere(
                    "the clone cache",
                    "--cache DIR",
                    "FLEETWRIGHT_CACHE",
                    "XDG_CACHE_HOME",
                )
            })?,
    };
    Ok(Locations {
        state: state_path,
        cache,
    })
}

/// Where the state was by default before the XDG directories, relative to
/// the current folder.
pub const OLD_DEFAULT_STATE: &str = "state/fleetwright.db";

/// A warning when the state is the default one, does not exist yet, and
/// the current folder holds a state where the old default put it: the
/// person probably means that one.
pub fn old_state_warning(explicit: bool, state: &Location) -> Option<String> {
    if explicit || state.exists() || !Path::new(OLD_DEFAULT_STATE).is_file() {
        return None;
    }
    Some(format!(
        "{OLD_DEFAULT_STATE} in this folder is not used: the state is now {} by default; \
         pass --state {OLD_DEFAULT_STATE} (or set FLEETWRIGHT_STATE) to use it, or move it there \
         with its -wal and -shm files (docs/campaigns.md, \"Where the state and the clones live\")",
        state
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn at(state: &str, cache: &str) -> Locations {
        Locations {
            state: state.into(),
            cache: cache.into(),
        }
    }

    #[test]
    fn a_postgres_state_is_a_url_and_its_clones_go_to_the_default_cache() {
        let url = "postgres://fleetwright:s3cret@db.internal:5432/campaigns";
        let at = resolve(Some(Path::new(url)), None, env(&[("HOME", "/home/ada")])).unwrap();
        assert_eq!(at.state, Location::Postgres(url.into()));
        assert_eq!(at.cache, PathBuf::from("/home/ada/.cache/fleetwright"));
        // Shown without its password.
        assert_eq!(
            at.state.to_string(),
            "postgres://***@db.internal:5432/campaigns"
        );
        assert!(!format!("{:?}", at.state).contains("s3cret"));
        // Any other text is a SQLite file, even one named like a scheme.
        assert_eq!(
            resolve(Some(Path::new("postgres.db")), None, env(&[]))
                .unwrap()
                .state,
            Location::Sqlite("postgres.db".into())
        );
    }

    #[test]
    fn the_xdg_directories_are_the_defaults_and_home_their_fallback() {
        let xdg = [
            ("HOME", "/home/ada"),
            ("XDG_STATE_HOME", "/srv/state"),
            ("XDG_CACHE_HOME", "/srv/cache"),
        ];
        assert_eq!(
            resolve(None, None, env(&xdg)),
            Ok(at(
                "/srv/state/fleetwright/fleetwright.db",
                "/srv/cache/fleetwright"
            ))
        );
        assert_eq!(
            resolve(None, None, env(&[("HOME", "/home/ada")])),
            Ok(at(
                "/home/ada/.local/state/fleetwright/fleetwright.db",
                "/home/ada/.cache/fleetwright"
            ))
        );
        // Relative XDG values do not count (the specification says so).
        let relative = [
            ("HOME", "/home/ada"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_CACHE_HOME", ""),
        ];
        assert_eq!(
            resolve(None, None, env(&relative)),
            Ok(at(
                "/home/ada/.local/state/fleetwright/fleetwright.db",
                "/home/ada/.cache/fleetwright"
            ))
        );
    }

    #[test]
    fn an_explicit_state_keeps_its_cache_beside_it_unless_one_is_named() {
        let home = [("HOME", "/home/ada"), ("XDG_CACHE_HOME", "/srv/cache")];
        assert_eq!(
            resolve(Some(Path::new("state/fleetwright.db")), None, env(&home)),
            Ok(at("state/fleetwright.db", "state/cache"))
        );
        assert_eq!(
            resolve(Some(Path::new("fleetwright.db")), None, env(&home)),
            Ok(at("fleetwright.db", "./cache"))
        );
        assert_eq!(
            resolve(
                Some(Path::new("/x/fleetwright.db")),
                Some(Path::new("/big/disk")),
                env(&home)
            ),
            Ok(at("/x/fleetwright.db", "/big/disk"))
        );
        assert_eq!(
            resolve(None, Some(Path::new("/big/disk")), env(&home)),
            Ok(at(
                "/home/ada/.local/state/fleetwright/fleetwright.db",
                "/big/disk"
            ))
        );
        // Nothing to go by: said, with what to do.
        let err = resolve(None, None, env(&[])).unwrap_err();
        assert!(
            err.contains("pass --state PATH (or set FLEETWRIGHT_STATE)"),
            "{err}"
        );
        assert_eq!(
            resolve(Some(Path::new("/s/f.db")), None, env(&[])),
            Ok(at("/s/f.db", "/s/cache"))
        );
    }
}
