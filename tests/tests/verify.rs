//! `verify:`: the campaign's check runs in each rewritten checkout before
//! the push; a failure pushes nothing and keeps the output.

use crate::util::{BRANCH, CAMPAIGN, Sandbox, branch_head, python, run_in_env, target};

fn with_verify(sb: &Sandbox, command: &str) {
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!("{campaign}verify:\n  command: {command}\n  timeout: 60\n"),
    );
}

#[test]
fn a_verified_change_says_so_in_its_pull_request() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify(&sb, "\"grep -q 'logging.warning(' app.py\"");
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "pr_open", "{status:?}");
    let body = sb.local_pr("svc-a").body;
    assert!(
        body.contains("## Verified\n\n`grep -q 'logging.warning(' app.py` ran in the repository after the change, and passed."),
        "{body}"
    );
}

#[test]
fn a_failed_verify_pushes_nothing_and_keeps_the_output() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify(
        &sb,
        "\"echo checking app.py; grep -q 'warnings.warn(' app.py\"",
    );
    let out = sb.run(&["launch", "campaign.yaml"]);
    assert_ne!(out.status, Some(0), "{out:?}");
    let status = sb.status();
    let t = target(&status, "svc-a");
    assert_eq!(t.state, "verify_failed", "{status:?}");
    let reason = t.reason.clone().unwrap_or_default();
    assert!(reason.contains("failed (exit 1)"), "{reason}");
    assert!(reason.contains("checking app.py"), "{reason}");
    assert_eq!(
        branch_head(&sb.bare("svc-a"), BRANCH),
        None,
        "something was pushed"
    );
    // Nothing changed: a later run does not try again.
    sb.run(&["advance", CAMPAIGN]);
    assert_eq!(target(&sb.status(), "svc-a").state, "verify_failed");
}

#[test]
fn on_failure_draft_opens_a_draft_that_shows_the_failure_until_a_new_recipe_passes() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let campaign = sb.read("campaign.yaml");
    let with = |command: &str| {
        format!("{campaign}verify:\n  command: \"{command}\"\n  timeout: 60\n  on_failure: draft\n")
    };
    sb.write("campaign.yaml", &with("echo the suite broke; exit 3"));
    let out = sb.run(&["run", "campaign.yaml"]);
    assert_eq!(out.status, Some(4), "{out:?}");
    let status = sb.status();
    let t = target(&status, "svc-a");
    assert_eq!(t.state, "verify_failed", "{status:?}");
    assert!(
        t.reason
            .as_deref()
            .unwrap_or_default()
            .contains("failed (exit 3); pushed as a draft pull request that shows the failure"),
        "{t:?}"
    );
    let pr = t.pr.clone().expect("a draft pull request");
    assert!(pr.draft && pr.state == "open", "{pr:?}");
    let url = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        s.targets(row.id).await.unwrap()[0].url.clone()
    });
    let body = sb.with_state(async |s| s.local_pr(&url, 1).await.unwrap().unwrap().body);
    assert!(body.contains("## Verify failed: this is a draft"), "{body}");
    assert!(body.contains("the suite broke"), "{body}");
    assert!(branch_head(&sb.bare("svc-a"), BRANCH).is_some());

    // Nothing changed: later runs leave it (and open nothing twice).
    sb.run(&["run", CAMPAIGN]).code(0);
    assert_eq!(target(&sb.status(), "svc-a").state, "verify_failed");
    assert_eq!(sb.local_pr_counts()["svc-a"], 1);

    // A new recipe whose change passes: the draft is ready for review.
    sb.write("campaign.yaml", &with("true"));
    sb.write("recipe.yaml", &format!("{}# v2\n", sb.read("recipe.yaml")));
    sb.run(&["run", CAMPAIGN]).code(0);
    let t = target(&sb.status(), "svc-a").clone();
    assert_eq!(t.state, "pr_open", "{t:?}");
    assert_eq!(sb.local_pr_counts()["svc-a"], 1);
    assert_eq!(
        crate::util::count_events(&sb.events(), "ready_comment_intended"),
        1
    );
}

#[test]
fn an_unknown_on_failure_is_an_error_at_its_place() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!("{campaign}verify:\n  command: \"true\"\n  on_failure: pr\n"),
    );
    let out = sb.run(&["plan", "campaign.yaml"]);
    out.code(3);
    let line = campaign.lines().count() + 3;
    assert!(
        out.stderr.contains(&format!(
            "campaign.yaml:{line}:15: verify.on_failure `pr` is unknown"
        )),
        "{out:?}"
    );
}

/// A campaign whose verify prints what it can see, then fails (so that its
/// output is kept in the target's reason). The words the tests look for are
/// split in the command (`'STATE''-VISIBLE'`): the reason quotes it.
fn with_verify_block(sb: &Sandbox, block: &str) {
    let campaign = sb.read("campaign.yaml");
    sb.write("campaign.yaml", &format!("{campaign}{block}"));
}

fn reason(sb: &Sandbox, repo: &str) -> String {
    let status = sb.status();
    let t = target(&status, repo);
    assert_eq!(t.state, "verify_failed", "{status:?}");
    t.reason.clone().unwrap_or_default()
}

#[test]
fn verify_runs_sandboxed_and_sees_neither_the_state_nor_other_clones() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-b", "production"),
        ],
        "[rest]",
    );
    let state = sb.state_path();
    let bare = sb.fleet.repo("svc-b").unwrap().bare_path.clone();
    let command = format!(
        "echo clones: $(ls ..); test -e {state} && echo 'STATE''-VISIBLE'; test -e {bare} && echo 'BARE''-VISIBLE'; \
         test -e {home}/campaign.yaml && echo 'HOME''-VISIBLE'; echo x > .git/planted || echo 'GIT''-READ-ONLY'; exit 1",
        state = state.display(),
        bare = bare.display(),
        home = sb.path().display(),
    );
    with_verify_block(
        &sb,
        &format!("verify:\n  command: \"{command}\"\n  timeout: 1m\n"),
    );
    let out = sb.run(&["launch", "campaign.yaml"]);
    assert_eq!(out.status, Some(4), "{out:?}");
    for repo in ["svc-a", "svc-b"] {
        let reason = reason(&sb, repo);
        let clones = reason
            .lines()
            .find_map(|l| l.strip_prefix("clones: "))
            .unwrap_or_else(|| panic!("{reason}"));
        assert!(
            clones.starts_with(repo) && !clones.contains(' '),
            "{repo} sees other clones: {clones}"
        );
        for hidden in ["STATE-VISIBLE", "BARE-VISIBLE", "HOME-VISIBLE"] {
            assert!(!reason.contains(hidden), "{repo}: {reason}");
        }
        assert!(reason.contains("GIT-READ-ONLY"), "{reason}");
    }
}

#[test]
fn verify_has_the_network_only_when_the_campaign_allows_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let probe = format!(
        "verify:\n  command: \"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' && echo 'CONN''ECTED'; echo 'pro''bed'; exit 1\"\n  timeout: 60\n"
    );
    let closed = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify_block(&closed, &probe);
    closed.run(&["launch", "campaign.yaml"]);
    let r = reason(&closed, "svc-a");
    assert!(r.contains("probed") && !r.contains("CONNECTED"), "{r}");

    let open = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify_block(&open, &format!("{probe}  network: true\n"));
    open.run(&["launch", "campaign.yaml"]);
    let r = reason(&open, "svc-a");
    assert!(r.contains("CONNECTED"), "{r}");
}

#[test]
fn a_verify_past_the_sandboxs_limits_fails_with_the_limit_named() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify_block(
        &sb,
        "verify:\n  command: \"while :; do :; done\"\n  timeout: 2m\nsandbox:\n  cpu: 1s\n  memory: 1GiB\n",
    );
    let out = sb.run(&["launch", "campaign.yaml"]);
    assert_eq!(out.status, Some(4), "{out:?}");
    let r = reason(&sb, "svc-a");
    assert!(r.contains("CPU time limit") || r.contains("SIGKILL"), "{r}");
}

/// A folder holding `sh` and the tools the tests' commands use, but no
/// `bwrap`: a machine without bubblewrap.
fn path_without_bwrap(sb: &Sandbox) -> String {
    let bin = sb.file("bin-without-bwrap");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["sh", "grep", "echo", "true"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(tool))
            .find(|p| p.is_file());
        if let Some(found) = found {
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
    }
    bin.display().to_string()
}

#[test]
fn without_bubblewrap_run_and_launch_refuse_up_front_with_the_hint() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify(&sb, "\"grep -q 'logging.warning(' app.py\"");
    let path = path_without_bwrap(&sb);
    for args in [["launch", "campaign.yaml"], ["run", "campaign.yaml"]] {
        let out = run_in_env(sb.path(), &sb.state_path(), &[("PATH", &path)], &args);
        out.code(6);
        for needed in [
            "runs repository code (verify `grep -q 'logging.warning(' app.py`)",
            "bubblewrap is not installed",
            "apt-get install bubblewrap",
            "sandbox: none",
        ] {
            assert!(out.stderr.contains(needed), "`{needed}` missing: {out:?}");
        }
        // Refused before anything was recorded or cloned.
        assert!(!sb.state_path().exists(), "{out:?}");
    }
    // plan says so, and goes on.
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("PATH", &path)],
        &["plan", "campaign.yaml"],
    );
    out.code(0);
    assert!(out.stdout.contains("CANNOT RUN HERE"), "{out:?}");

    // `sandbox: none` runs verify as before, as the same user.
    let campaign = sb.read("campaign.yaml");
    sb.write("campaign.yaml", &format!("{campaign}sandbox: none\n"));
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("PATH", &path)],
        &["launch", "campaign.yaml"],
    );
    out.code(0);
    assert_eq!(target(&sb.status(), "svc-a").state, "pr_open");
}

#[test]
fn plan_says_which_sandbox_verify_uses() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify_block(
        &sb,
        "verify:\n  command: pytest -q\n  network: true\nsandbox:\n  memory: 2GiB\n  cpu: 10m\n",
    );
    let out = sb.run(&["plan", "campaign.yaml"]);
    out.code(0);
    assert!(
        out.stdout.contains(
            "verify `pytest -q`: in a bubblewrap sandbox (with network, 2 GiB memory, 600 s of CPU time, files up to 1 GiB)"
        ),
        "{out:?}"
    );
    let json = sb.run(&["plan", "campaign.yaml", "--json"]);
    json.code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["sandbox"]["mode"], "bwrap", "{v}");
    assert_eq!(v["sandbox"]["available"], true, "{v}");
}

#[test]
fn sandbox_mistakes_are_errors_at_their_place() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let campaign = sb.read("campaign.yaml");
    let line = campaign.lines().count() + 1;
    for (block, at, message) in [
        ("sandbox: nope\n", (line, 10), "sandbox `nope` is unknown"),
        (
            "sandbox:\n  memory: lots\n",
            (line + 1, 11),
            "sandbox.memory: `lots` is not a size",
        ),
        (
            "sandbox:\n  memory: 1MiB\n",
            (line + 1, 11),
            "sandbox.memory must be at least 16 MiB",
        ),
        (
            "sandbox:\n  read_only: [/no/such/toolchain]\n",
            (line + 1, 15),
            "sandbox.read_only `/no/such/toolchain` does not exist",
        ),
        (
            "sandbox:\n  cpu: 3 days\n",
            (line + 1, 8),
            "sandbox.cpu: unknown unit `days`",
        ),
        (
            "verify:\n  command: \"true\"\n  timeout: soon\n",
            (line + 2, 12),
            "verify.timeout: `soon` is not a duration",
        ),
    ] {
        sb.write("campaign.yaml", &format!("{campaign}{block}"));
        let out = sb.run(&["plan", "campaign.yaml"]);
        out.code(3);
        let expected = format!("campaign.yaml:{}:{}: {message}", at.0, at.1);
        assert!(
            out.stderr.contains(&expected),
            "`{expected}` missing: {out:?}"
        );
    }
}

#[test]
fn a_recipe_run_step_runs_in_the_campaigns_sandbox() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    sb.write(
        "recipe.yaml",
        "id: pin-python\ntitle: Pin Python\nsteps:\n  - run: \"echo 3.12 > .python-version; ls /root > seen.txt 2>&1 || true\"\n",
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    let t = target(&status, "svc-a");
    assert_eq!(t.state, "pr_open", "{status:?}");
    let head = branch_head(&sb.bare("svc-a"), BRANCH).expect("pushed");
    let repo = sb.bare("svc-a");
    assert_eq!(
        crate::util::file_at(&repo, head, ".python-version"),
        "3.12\n"
    );
    let seen = crate::util::file_at(&repo, head, "seen.txt");
    assert!(seen.contains("No such file"), "{seen}");
}

#[test]
fn when_bwrap_cannot_make_namespaces_launch_refuses_with_its_message() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    with_verify(&sb, "\"true\"");
    let path = path_without_bwrap(&sb);
    // A bwrap that fails as it does where user namespaces are not allowed.
    let fake = std::path::Path::new(&path).join("bwrap");
    std::fs::write(
        &fake,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'bubblewrap 0.8.0'; exit 0; }\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("PATH", &path)],
        &["launch", "campaign.yaml"],
    );
    out.code(6);
    for needed in [
        "bwrap: setting up uid map: Permission denied",
        "kernel.apparmor_restrict_unprivileged_userns=0",
        "sandbox: none",
    ] {
        assert!(out.stderr.contains(needed), "`{needed}` missing: {out:?}");
    }
}
