//! The clone cache: its default place (the XDG directories), `--cache` and
//! `FLEETWRIGHT_CACHE`, `fleetwright cache` and `cache prune` on real
//! clones, and shallow clones over real git smart HTTP end to end.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::github::{github_sandbox, run as run_github, runtime};
use crate::util::{BRANCH, CAMPAIGN, Run, Sandbox, command, python, run_in_env, states};
use fleetwright::sim::git_http::assert_fsck;

fn fleet() -> Sandbox {
    Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-a", "production"),
            python("svc-c", "team-b", "production"),
        ],
        "[rest]",
    )
}

/// Run the binary in `cwd` with no `--state`: only PATH, HOME and `env`.
fn run_bare(cwd: &Path, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    Run::of(
        command(cwd, env)
            .env("HOME", home)
            .args(["--color", "never"])
            .args(args),
    )
}

/// The clone folders under `repos`.
fn clones_in(repos: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(repos)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn without_state_the_state_and_clones_go_to_the_xdg_folders_and_any_folder_finds_them() {
    let sb = fleet();
    let home = sb.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // Launched from the campaign's folder, with only HOME set.
    run_bare(sb.path(), &home, &[], &["launch", "campaign.yaml"]).code(0);
    assert!(
        home.join(".local/state/fleetwright/fleetwright.db")
            .is_file()
    );
    assert_eq!(clones_in(&home.join(".cache/fleetwright/repos")).len(), 3);
    assert!(
        !sb.path().join("state").exists(),
        "nothing is written in the current folder"
    );
    // A cron job started in $HOME finds the same campaign.
    let out = run_bare(&home, &home, &[], &["status", CAMPAIGN]);
    out.code(0);
    assert!(out.stdout.contains("svc-a"), "{out:?}");

    // The XDG variables move both; FLEETWRIGHT_CACHE moves the cache alone
    // (and outlives the start of the process, which takes most variables).
    let xdg_state = sb.path().join("xdg-state");
    let xdg_cache = sb.path().join("xdg-cache");
    let (s, c) = (xdg_state.to_str().unwrap(), xdg_cache.to_str().unwrap());
    let env = [("XDG_STATE_HOME", s), ("XDG_CACHE_HOME", c)];
    run_bare(sb.path(), &home, &env, &["launch", "campaign.yaml"]).code(0);
    assert!(xdg_state.join("fleetwright/fleetwright.db").is_file());
    assert_eq!(clones_in(&xdg_cache.join("fleetwright/repos")).len(), 3);

    let elsewhere = sb.path().join("big-disk");
    let env = [
        ("XDG_STATE_HOME", s),
        ("FLEETWRIGHT_CACHE", elsewhere.to_str().unwrap()),
    ];
    let out = run_bare(sb.path(), &home, &env, &["cache", "--json"]);
    out.code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["cache"], elsewhere.join("repos").to_str().unwrap());
    assert_eq!(report["total_bytes"], 0);
    assert_eq!(report["campaigns"][0]["name"], CAMPAIGN);
    assert_eq!(report["campaigns"][0]["clones"], 0);

    // Nowhere to go: said, with what to do.
    let out = command(sb.path(), &[])
        .env_remove("HOME")
        .args(["status", CAMPAIGN])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("neither XDG_STATE_HOME nor HOME") && stderr.contains("--state PATH"),
        "{stderr}"
    );
}

#[test]
fn a_state_where_the_old_default_put_it_is_pointed_at() {
    let sb = fleet();
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let home = sb.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let out = run_bare(sb.path(), &home, &[], &["status", CAMPAIGN]);
    out.code(5);
    assert!(
        out.stderr
            .contains("warning: state/fleetwright.db in this folder is not used")
            && out.stderr.contains("pass --state state/fleetwright.db"),
        "{out:?}"
    );
    assert!(
        !home.join(".local/state").exists(),
        "status creates no state"
    );
}

#[test]
fn an_explicit_state_keeps_its_clones_beside_it_and_cache_moves_them() {
    let sb = fleet();
    sb.run(&["launch", "campaign.yaml"]).code(0);
    assert_eq!(clones_in(&sb.file("state/cache/repos")).len(), 3);
    let other = sb.path().join("other-cache");
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[],
        &["--cache", other.to_str().unwrap(), "scan", CAMPAIGN],
    );
    out.code(0);
    assert_eq!(clones_in(&other.join("repos")).len(), 3, "{out:?}");
}

/// Lock a clone as a running fleetwright does (an exclusive `flock` on
/// `<clone>.lock`) until the file is dropped.
fn hold(clone: &Path) -> std::fs::File {
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(format!("{}.lock", clone.display()))
        .unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    lock
}

fn report(sb: &Sandbox, args: &[&str]) -> serde_json::Value {
    let out = sb.run(args);
    out.code(0);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn cache_shows_disk_use_per_campaign_and_prune_frees_finished_and_idle_clones() {
    let sb = fleet();
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let repos = sb.file("state/cache/repos");
    let clones = clones_in(&repos);
    assert_eq!(clones.len(), 3);

    let all = report(&sb, &["cache", "--json"]);
    assert!(all["total_bytes"].as_u64().unwrap() > 0, "{all}");
    assert_eq!(all["clones"].as_array().unwrap().len(), 3);
    assert_eq!(all["campaigns"][0]["name"], CAMPAIGN);
    assert_eq!(all["campaigns"][0]["status"], "active");
    assert_eq!(all["campaigns"][0]["clones"], 3);
    assert_eq!(all["campaigns"][0]["bytes"], all["total_bytes"]);
    assert_eq!(all["unclaimed"]["clones"], 0);
    let out = sb.run(&["cache"]);
    out.code(0);
    assert!(
        out.stdout.contains(&format!("{CAMPAIGN}  active")),
        "{out:?}"
    );
    let out = sb.run(&["cache", "list"]);
    out.code(0);
    for clone in &clones {
        let folder = clone.file_name().unwrap().to_str().unwrap();
        assert!(out.stdout.contains(folder), "{out:?}");
    }

    // Nothing chosen: refused, with the options.
    let out = sb.run(&["cache", "prune"]);
    out.code(2);
    assert!(out.stderr.contains("--older-than"), "{out:?}");
    sb.run(&["cache", "prune", "--campaign", "nope"]).code(5);

    // An active campaign's clones are not a finished campaign's.
    let pruned = report(&sb, &["cache", "prune", "--completed", "--json"]);
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 0, "{pruned}");
    // Just used: not idle.
    let pruned = report(&sb, &["cache", "prune", "--older-than", "30d", "--json"]);
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 0, "{pruned}");

    sb.run(&["cancel", CAMPAIGN]).code(0);
    let out = sb.run(&["cache", "prune", "--completed", "--dry-run"]);
    out.code(0);
    assert_eq!(out.stdout.matches("would remove").count(), 3, "{out:?}");
    assert!(out.stdout.contains("would free"), "{out:?}");
    assert_eq!(clones_in(&repos).len(), 3, "a dry run removes nothing");

    // One clone is in use by another process: left alone.
    let held = hold(&clones[0]);
    let pruned = report(&sb, &["cache", "prune", "--completed", "--json"]);
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 2, "{pruned}");
    assert_eq!(pruned["in_use"].as_array().unwrap().len(), 1, "{pruned}");
    assert!(pruned["freed_bytes"].as_u64().unwrap() > 0);
    assert_eq!(clones_in(&repos), [clones[0].clone()]);
    drop(held);

    // Idle for 40 days: pruned by age.
    let stamp = clones[0].join(".git/fleetwright-used");
    std::fs::File::options()
        .write(true)
        .open(&stamp)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(40 * 86_400))
        .unwrap();
    let out = sb.run(&["cache", "prune", "--older-than", "30d"]);
    out.code(0);
    assert!(out.stdout.contains("unused for 40 days"), "{out:?}");
    assert!(out.stdout.contains("freed"), "{out:?}");
    assert!(clones_in(&repos).is_empty());
    assert!(
        std::fs::read_dir(&repos).unwrap().next().is_none(),
        "the lock files go with the clones"
    );

    // The campaign still works: it clones again.
    let out = sb.run(&["scan", CAMPAIGN]);
    out.code(0);
    assert_eq!(clones_in(&repos).len(), 3);
}

#[test]
fn a_github_campaign_clones_one_commit_deep_and_pushes_whole_branches() {
    let rt = runtime();
    let names = ["svc-a", "svc-b"];
    let (sb, _sim, git) = github_sandbox(&rt, &names, "[rest]");
    let out = run_github(&sb, &["launch", "campaign.yaml"]);
    out.code(0);
    let by_repo = states(&sb.status());
    assert!(by_repo.values().all(|s| s == "pr_open"), "{by_repo:?}");
    let clones = clones_in(&sb.file("state/cache/repos"));
    assert_eq!(clones.len(), 2);
    for clone in &clones {
        assert!(
            clone.join(".git/shallow").is_file(),
            "{} is not shallow",
            clone.display()
        );
    }
    for name in names {
        let bare = sb.path().join(format!("remotes/{name}.git"));
        let repo = git2::Repository::open_bare(&bare).unwrap();
        let head = repo
            .find_reference(&format!("refs/heads/{BRANCH}"))
            .unwrap()
            .peel_to_commit()
            .unwrap();
        assert_eq!(
            head.parent_id(0).unwrap(),
            repo.refname_to_id("refs/heads/main").unwrap()
        );
        assert_fsck(&bare);
    }
    // A second run adopts what it pushed through the shallow clones.
    run_github(&sb, &["advance", CAMPAIGN]).code(0);
    assert!(states(&sb.status()).values().all(|s| s == "pr_open"));
    drop(git);
}
