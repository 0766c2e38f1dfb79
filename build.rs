//! The commit fleetwright was built from, for `--version`:
//! `FLEETWRIGHT_COMMIT` from the environment when set (a build from a
//! source archive), else the checkout's HEAD when the source is a git
//! checkout, else "unknown commit". (Uncommitted changes are not told:
//! knowing them would mean running git at every build.)

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FLEETWRIGHT_COMMIT");
    // A new commit or a checkout moves HEAD or the ref it names.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("FLEETWRIGHT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=FLEETWRIGHT_COMMIT={commit}");
}

/// `1a2b3c4d5e6f`, when git and a checkout are here.
fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}
