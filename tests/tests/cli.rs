//! The command line itself: completions, manual pages, `--version`, and how
//! log lines are written (`--color`, `NO_COLOR`, `--log-format json`).

use std::process::Command;

use crate::util::{Sandbox, command, python};

/// The binary with no state, run in `dir`.
fn fleetwright(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    command(dir, env)
        .args(args)
        .output()
        .expect("run fleetwright")
}

#[test]
fn bash_completions_parse_and_know_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fleetwright(tmp.path(), &[], &["completions", "bash"]);
    assert!(out.status.success(), "{out:?}");
    let script = tmp.path().join("fleetwright.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // bash itself reads it: `-n` parses without running.
    let bash = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        bash.status.success(),
        "{}",
        String::from_utf8_lossy(&bash.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["launch", "run", "report", "completions", "man"] {
        assert!(text.contains(sub), "no {sub} in the completions");
    }
    assert!(
        text.contains("--split-by"),
        "no report option in the completions"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = fleetwright(tmp.path(), &[], &["completions", shell]);
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "{shell}: {out:?}"
        );
    }
    let out = fleetwright(tmp.path(), &[], &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn manual_pages_render_with_groff() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fleetwright(tmp.path(), &[], &["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = tmp.path().join("fleetwright.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(&page)
        .output()
        .expect("groff (Debian package groff-base) renders the manual page");
    assert!(groff.status.success(), "{groff:?}");
    let text = String::from_utf8_lossy(&groff.stdout);
    assert!(text.contains("fleetwright"), "{text}");
    assert!(
        groff.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&groff.stderr)
    );

    // One page per command into a folder.
    let dir = tmp.path().join("man1");
    let out = fleetwright(tmp.path(), &[], &["man", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    for page in [
        "fleetwright.1",
        "fleetwright-launch.1",
        "fleetwright-report.1",
        "fleetwright-local-merge.1",
    ] {
        assert!(dir.join(page).is_file(), "no {page}");
    }
    // The internal child command has no page.
    assert!(!dir.join("fleetwright-__rewrite.1").exists());
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fleetwright(tmp.path(), &[], &["--version"]);
    assert!(out.status.success());
    let version = String::from_utf8(out.stdout).unwrap();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let expected = match head {
        // Built from this checkout: its commit.
        Some(head) => format!("fleetwright {} ({head})\n", env!("CARGO_PKG_VERSION")),
        None => format!(
            "fleetwright {} (unknown commit)\n",
            env!("CARGO_PKG_VERSION")
        ),
    };
    assert_eq!(version, expected);
}

#[test]
fn log_lines_follow_color_no_color_and_log_format() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let logs = |env: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["-vv"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["plan", "campaign.yaml"]);
        let out = fleetwright(sb.path(), env, &all);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let escape = "\x1b[";
    // Colour on request; never when NO_COLOR is set and --color is auto;
    // an empty NO_COLOR does not count (no-color.org), and stderr is not
    // a terminal here, so auto means none.
    assert!(logs(&[], &["--color", "always"]).contains(escape));
    assert!(!logs(&[], &["--color", "never"]).contains(escape));
    assert!(!logs(&[("NO_COLOR", "1")], &[]).contains(escape));
    assert!(logs(&[("FLEETWRIGHT_COLOR", "always"), ("NO_COLOR", "")], &[]).contains(escape));
    let text = logs(&[], &[]);
    assert!(text.contains("DEBUG reading catalog file"), "{text}");

    // JSON: one object a line, with its level and message (the command's
    // own closing note to the person stays a sentence).
    let json = logs(&[], &["--log-format", "json", "--color", "always"]);
    let events: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(
        !json
            .lines()
            .any(|l| !l.starts_with('{') && l.contains("reading catalog file")),
        "a log line that is not JSON: {json}"
    );
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .any(|e| e["level"] == "DEBUG" && e["message"] == "reading catalog file"),
        "{json}"
    );
    assert!(!json.contains(escape), "colour in JSON logs: {json}");
    let env = logs(&[("FLEETWRIGHT_LOG_FORMAT", "json")], &[]);
    assert!(
        env.lines()
            .filter(|l| l.contains("reading catalog file"))
            .all(|l| l.starts_with('{')),
        "{env}"
    );
}
