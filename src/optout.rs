//! A repository's own say in a campaign: `.fleetwright.yaml` at its root.
//!
//! ```yaml
//! opt_out:
//!   reason: "We are moving this service to Go in Q1; not worth migrating."
//!   campaigns: [modernize-deprecated-apis]   # optional: every campaign when absent
//! ```
//!
//! `opt_out: true` and `opt_out: "a reason"` are short forms. The file is
//! read on the default branch before the recipe runs; a target that opts
//! out becomes `opted_out` with the reason, and gets no pull request.

use std::path::Path;

use serde::Deserialize;

use crate::yaml::{self, OneOrMany};

/// The file's name, at the repository root.
pub const FILE: &str = ".fleetwright.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    opt_out: Option<RawOptOut>,
}

#[derive(Debug)]
enum RawOptOut {
    Flag(bool),
    Reason(String),
    Detailed(RawDetailed),
}

/// By hand rather than `untagged`, so that a typo inside the map
/// (`reasn:`) is reported as itself.
impl<'de> Deserialize<'de> for RawOptOut {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawOptOut;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`true`, a reason, or {reason, campaigns}")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawOptOut, E> {
                Ok(RawOptOut::Flag(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawOptOut, E> {
                Ok(RawOptOut::Reason(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawOptOut, A::Error> {
                RawDetailed::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawOptOut::Detailed)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetailed {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    campaigns: Option<OneOrMany>,
}

/// Why the repository at `root` opts out of `campaign` (`None`: it does
/// not). A file that cannot be read as one is an error that names its
/// place (`.fleetwright.yaml:2:3: ...`); a symlink is never followed.
pub fn read(root: &Path, campaign: &str) -> Result<Option<String>, String> {
    let path = root.join(FILE);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {FILE}: {e}")),
    };
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{FILE} is a symlink; fleetwright never follows symlinks: make it a plain file"
        ));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {FILE}: {e}"))?;
    let Some(doc) = yaml::documents(&text).into_iter().find(|d| !d.is_empty()) else {
        return Ok(None);
    };
    let raw: RawFile = yaml::parse(Path::new(FILE), &text, &doc).map_err(|d| {
        format!(
            "{FILE}:{}:{}: {}; the repository's opt-out file is `opt_out: {{reason: \"...\", campaigns: [...]}}`",
            d.line, d.column, d.message
        )
    })?;
    let given = |reason: Option<String>| {
        Some(
            reason
                .filter(|r| !r.trim().is_empty())
                .map_or("opted out without a reason".to_string(), |r| {
                    r.trim().to_string()
                }),
        )
    };
    Ok(match raw.opt_out {
        None | Some(RawOptOut::Flag(false)) => None,
        Some(RawOptOut::Flag(true)) => given(None),
        Some(RawOptOut::Reason(r)) => given(Some(r)),
        Some(RawOptOut::Detailed(d)) => {
            let named = d.campaigns.map(OneOrMany::into_vec);
            if named.is_some_and(|c| !c.iter().any(|c| c == campaign)) {
                None
            } else {
                given(d.reason)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), text).unwrap();
        dir
    }

    #[test]
    fn every_form_of_opting_out_is_read() {
        let d = with("opt_out:\n  reason: moving to Go\n  campaigns: [a, b]\n");
        assert_eq!(
            read(d.path(), "a").unwrap().as_deref(),
            Some("moving to Go")
        );
        assert_eq!(read(d.path(), "c").unwrap(), None, "another campaign");
        let d = with("opt_out: retiring in March\n");
        assert_eq!(
            read(d.path(), "x").unwrap().as_deref(),
            Some("retiring in March")
        );
        let d = with("opt_out: true\n");
        assert_eq!(
            read(d.path(), "x").unwrap().as_deref(),
            Some("opted out without a reason")
        );
        let d = with("opt_out: false\n");
        assert_eq!(read(d.path(), "x").unwrap(), None);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(read(empty.path(), "x").unwrap(), None);
    }

    #[test]
    fn a_broken_file_is_an_error_at_its_place_and_a_symlink_is_refused() {
        let d = with("opt_out:\n  reasn: typo\n");
        let e = read(d.path(), "x").unwrap_err();
        assert!(e.starts_with(".fleetwright.yaml:2:3:"), "{e}");
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join(FILE)).unwrap();
        let e = read(d.path(), "x").unwrap_err();
        assert!(e.contains("symlink"), "{e}");
    }
}
