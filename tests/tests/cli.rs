//! The command line itself: completions, manual pages, `--version`, and how
//! log lines are written (`--color`, `NO_COLOR`, `--log-format json`).

use std::process::Command;

use crate::util::{CAMPAIGN, Sandbox, command, python};

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

/// `--json` of a command that succeeded: its whole stdout is one JSON
/// document.
fn json_of(run: &crate::util::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", run.stdout))
}

#[test]
fn launch_sync_advance_and_run_say_what_they_did_as_json() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "experimental"),
            python("svc-b", "team-b", "production"),
            python("svc-c", "team-b", "production"),
        ],
        "[1, rest]",
    );
    let launch = sb.run(&["launch", "campaign.yaml", "--json"]);
    launch.code(0);
    let json = json_of(&launch);
    assert_eq!(json["schema"], 1);
    assert_eq!(json["command"], "launch");
    assert_eq!(json["launched"], true);
    assert_eq!(json["opened_tranches"], serde_json::json!([1]));
    // Every target it worked on, as `status` records it.
    let status = sb.status();
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{json:#}");
    for t in targets {
        let recorded = crate::util::target(&status, t["repo"].as_str().unwrap());
        assert_eq!(t["state"], recorded.state.as_str());
        assert_eq!(t["pr"], recorded.pr.as_ref().unwrap().number);
    }
    assert_eq!(json["counts"]["pr_open"], 1);
    assert_eq!(json["failed"], 0);

    // The canary's CI reports back: sync asks the forge about its pull
    // request (its state does not move).
    let canary = targets[0]["repo"].as_str().unwrap().to_string();
    sb.run(&["local", "ci", CAMPAIGN, &canary, "success"])
        .code(0);
    let sync = sb.run(&["sync", CAMPAIGN, "--json"]);
    sync.code(0);
    let json = json_of(&sync);
    assert_eq!(json["command"], "sync");
    assert_eq!(json["sync"]["checked"], 1);
    assert_eq!(json["sync"]["moved"], serde_json::json!([]));
    assert_eq!(json["sync"]["failed"], serde_json::json!([]));
    sb.run(&["local", "merge", CAMPAIGN, &canary]).code(0);

    // The gate passes: advance opens tranche 2 and its pull requests.
    let advance = sb.run(&["advance", CAMPAIGN, "--json"]);
    advance.code(0);
    let json = json_of(&advance);
    assert_eq!(json["command"], "advance");
    assert_eq!(json["opened_tranches"], serde_json::json!([2]));
    assert_eq!(json["gate"]["passed"], true, "{json:#}");
    assert_eq!(json["targets"].as_array().unwrap().len(), 2);
    assert_eq!(json["campaign"]["tranches_open"], 2);

    // A run: the sync of the two open pull requests, nothing else to do.
    let run = sb.run(&["run", CAMPAIGN, "--json"]);
    run.code(0);
    let json = json_of(&run);
    assert_eq!(json["command"], "run");
    assert_eq!(json["launched"], false);
    assert_eq!(json["sync"]["checked"], 2);
    assert_eq!(json["campaign"]["status"], "active");
    assert_eq!(json["tracking_issue"], serde_json::Value::Null);
}
