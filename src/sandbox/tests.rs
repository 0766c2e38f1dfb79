//! The sandbox against real bubblewrap: what a command can see, reach and
//! use. Where it helps to show a check can fail, the same command runs
//! without a sandbox (`Mode::None`) and sees what the sandbox hides.
//! Without bwrap these tests fail with the install hint.

use std::path::{Path, PathBuf};

use super::*;

/// A working folder with a `.git`, beside a state folder and another
/// clone, as in the clone cache.
struct Place {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    log: PathBuf,
}

fn place() -> Place {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let dir = root.join("cache/repos/me");
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(dir.join("app.py"), "print('hi')\n").unwrap();
    std::fs::create_dir_all(root.join("cache/repos/other")).unwrap();
    std::fs::write(root.join("cache/repos/other/secret.txt"), "other clone\n").unwrap();
    std::fs::create_dir_all(root.join("state")).unwrap();
    std::fs::write(root.join("state/fleetwright.db"), "the state\n").unwrap();
    let log = root.join("log.txt");
    Place {
        _tmp: tmp,
        root,
        dir,
        log,
    }
}

impl Place {
    fn job<'a>(&'a self, command: &'a str) -> Job<'a> {
        Job {
            command,
            dir: &self.dir,
            network: false,
            timeout: Duration::from_secs(60),
            log: &self.log,
        }
    }
}

/// Run under `policy`; without a sandbox to be had, fail with why and the hint.
fn run_ok(policy: &Policy, job: &Job) -> Outcome {
    run(policy, job).unwrap_or_else(|e| panic!("{e}"))
}

fn sandboxed(job: &Job) -> Outcome {
    run_ok(&Policy::default(), job)
}

/// Prints `SEEN <path>` for each of `paths` that exists, then `done`.
fn seen_script(paths: &[&Path]) -> String {
    let mut script = String::new();
    for p in paths {
        script.push_str(&format!("[ -e '{0}' ] && echo 'SEEN {0}'; ", p.display()));
    }
    script.push_str("echo done");
    script
}

#[test]
fn the_sandbox_sees_no_home_no_state_and_no_other_clone() {
    let p = place();
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()));
    let checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let hidden = [
        home.as_path(),
        Path::new("/root"),
        Path::new("/var"),
        &p.root.join("state/fleetwright.db"),
        &p.root.join("cache/repos/other/secret.txt"),
        &checkout,
    ];
    let script = format!(
        "{}; ls -a ..; cat /etc/shadow 2>/dev/null && echo SHADOW; true",
        seen_script(&hidden)
    );
    let out = sandboxed(&p.job(&script));
    assert!(out.success(), "{out:?}");
    assert!(out.tail.contains("done"), "{out:?}");
    assert!(!out.tail.contains("SEEN"), "{out:?}");
    assert!(!out.tail.contains("SHADOW"), "{out:?}");
    assert!(
        !out.tail.contains("other"),
        "a neighbour is listed: {out:?}"
    );
    assert!(out.tail.contains("me"), "{out:?}");

    // The same script without a sandbox sees them (the check can fail).
    let bare = run_ok(&Policy::none(), &p.job(&script));
    assert!(
        bare.tail.contains(&format!(
            "SEEN {}",
            p.root.join("state/fleetwright.db").display()
        )),
        "{bare:?}"
    );
    assert!(bare.tail.contains("other"), "{bare:?}");
}

#[test]
fn proc_shows_only_the_sandboxs_own_processes() {
    let p = place();
    // A host process whose environment carries a marker.
    let mut host = std::process::Command::new("sleep")
        .arg("60")
        .env("FW_SANDBOX_PROC_MARKER", "found-the-host-environ")
        .spawn()
        .unwrap();
    let script = "n=0; for d in /proc/[0-9]*; do n=$((n+1)); cat $d/environ 2>/dev/null | tr '\\0' '\\n' | grep -h FW_SANDBOX_PROC_MARKER; done; echo \"processes=$n\"";
    let out = sandboxed(&p.job(script));
    let bare = run_ok(&Policy::none(), &p.job(script));
    let _ = host.kill();
    let _ = host.wait();
    assert!(out.success(), "{out:?}");
    assert!(!out.tail.contains("found-the-host-environ"), "{out:?}");
    let count: usize = out
        .tail
        .lines()
        .find_map(|l| l.strip_prefix("processes="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out:?}"));
    // bwrap's init, the shell, its pipeline.
    assert!(count <= 8, "{count} processes visible: {out:?}");
    assert!(
        bare.tail.contains("found-the-host-environ"),
        "without a sandbox the host's processes are visible: {bare:?}"
    );
}

/// A loopback listener on the host, and a command that connects to it.
fn connect_script() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo CONNECTED; echo done"
    );
    (listener, script)
}

#[test]
fn there_is_no_network_unless_the_job_allows_it() {
    let p = place();
    let (_listener, script) = connect_script();
    let out = sandboxed(&p.job(&script));
    assert!(out.tail.contains("done"), "{out:?}");
    assert!(!out.tail.contains("CONNECTED"), "{out:?}");

    let allowed = sandboxed(&Job {
        network: true,
        ..p.job(&script)
    });
    assert!(allowed.tail.contains("CONNECTED"), "{allowed:?}");
}

#[test]
fn writes_outside_the_working_folder_fail_and_git_is_read_only() {
    let p = place();
    let other = p.root.join("cache/repos/other");
    let tmp_file = PathBuf::from(format!("/tmp/fw-sandbox-scratch-{}", std::process::id()));
    let script = format!(
        "echo x > '{other}/planted' ; echo x > /usr/planted ; echo x > /etc/planted ; \
         echo x > .git/planted ; echo x >> .git/config ; umount .git 2>/dev/null ; echo x > .git/after-umount ; \
         mount -o remount,rw /usr 2>/dev/null ; echo x > {tmp} && echo TMP ; echo x > mine && echo MINE",
        other = other.display(),
        tmp = tmp_file.display(),
    );
    let out = sandboxed(&p.job(&script));
    assert!(
        out.tail.contains("TMP") && out.tail.contains("MINE"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(p.dir.join("mine")).unwrap(), "x\n");
    assert!(!other.join("planted").exists());
    assert!(!Path::new("/usr/planted").exists());
    assert!(!Path::new("/etc/planted").exists());
    assert!(!p.dir.join(".git/planted").exists(), "{out:?}");
    assert!(!p.dir.join(".git/after-umount").exists(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(p.dir.join(".git/config")).unwrap(),
        "[core]\n"
    );
    // The sandbox's /tmp is its own.
    assert!(!tmp_file.exists());

    // Without a sandbox the same writes land (the check can fail).
    let bare = run_ok(
        &Policy::none(),
        &p.job(&format!(
            "echo x > .git/planted; echo x > '{}/planted'",
            other.display()
        )),
    );
    assert!(bare.success(), "{bare:?}");
    assert!(p.dir.join(".git/planted").exists() && other.join("planted").exists());
}

#[test]
fn a_runaway_command_is_stopped_by_its_cpu_limit() {
    let p = place();
    let policy = Policy {
        cpu: Some(Duration::from_secs(1)),
        ..Policy::default()
    };
    let started = Instant::now();
    let out = run_ok(&policy, &p.job("while :; do :; done"));
    assert!(!out.success(), "{out:?}");
    assert!(
        out.ended.to_string().contains("SIGXCPU") || out.ended.to_string().contains("SIGKILL"),
        "{}",
        out.ended
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_command_over_its_memory_limit_cannot_get_the_memory() {
    let p = place();
    let policy = Policy {
        memory: 64 << 20,
        ..Policy::default()
    };
    let grab = "perl -e '$x = \"a\" x (200 * 1024 * 1024); print \"allocated\\n\"'";
    let out = run_ok(&policy, &p.job(grab));
    assert!(!out.success(), "{out:?}");
    assert!(!out.tail.contains("allocated"), "{out:?}");
    // With the default limit the same allocation works.
    let fine = sandboxed(&p.job(grab));
    assert!(
        fine.success() && fine.tail.contains("allocated"),
        "{fine:?}"
    );
}

#[test]
fn a_command_cannot_write_a_file_over_the_size_limit() {
    let p = place();
    let policy = Policy {
        file_size: 1 << 20,
        ..Policy::default()
    };
    let out = run_ok(&policy, &p.job("head -c 10000000 /dev/zero > big"));
    assert!(!out.success(), "{out:?}");
    let written = std::fs::metadata(p.dir.join("big")).unwrap().len();
    assert!(written <= 1 << 20, "{written} bytes written");
}

/// Whether a process whose command line holds `marker` runs on the host.
fn running(marker: &str) -> bool {
    processes().iter().any(|(pid, _, state)| {
        *state != 'Z'
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
    })
}

fn times_out_leaving_nothing(policy: &Policy, marker: &str) {
    let p = place();
    let script =
        format!("sleep 30 & setsid sleep {marker} & (setsid sh -c 'sleep {marker}' &) ; sleep 30");
    let job = Job {
        timeout: Duration::from_millis(700),
        ..p.job(&script)
    };
    let started = Instant::now();
    let out = run_ok(policy, &job);
    assert_eq!(
        out.ended,
        Ended::TimedOut(Duration::from_millis(700)),
        "{out:?}"
    );
    assert_eq!(out.ended.to_string(), "killed after 0.7 s");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        !running(marker),
        "a process of the command survived its timeout"
    );
}

#[test]
fn a_command_past_its_timeout_is_killed_with_everything_it_started() {
    times_out_leaving_nothing(&Policy::default(), "1234.25");
}

#[test]
fn without_a_sandbox_a_timeout_still_kills_every_descendant() {
    times_out_leaving_nothing(&Policy::none(), "1234.75");
}

#[test]
fn the_sandbox_ends_with_its_command() {
    // bwrap reports the command's end while the kernel is still killing
    // what it left: repeated, so that the race shows if it is lost.
    let p = place();
    for _ in 0..20 {
        let out = sandboxed(&p.job("setsid sleep 1234.5 & echo started"));
        assert!(out.success(), "{out:?}");
        assert!(
            !running("1234.5"),
            "a background process outlived the sandbox"
        );
    }
}

#[test]
fn the_output_tail_is_scrubbed_of_secrets() {
    let p = place();
    let secret = crate::secret::Secret::new("ghs_sandboxtail123456");
    let command = format!("echo token={}; echo bye", secret.expose());
    let out = sandboxed(&p.job(&command));
    assert!(out.success(), "{out:?}");
    assert_eq!(out.tail, "token=***\nbye\n");
}

#[test]
fn the_environment_is_path_lang_home_and_tmpdir_only() {
    let p = place();
    let out = sandboxed(&p.job("env | sort; touch \"$HOME/x\" && echo HOME-WRITABLE"));
    assert!(out.success(), "{out:?}");
    let names: Vec<&str> = out
        .tail
        .lines()
        .filter_map(|l| l.split_once('=').map(|(n, _)| n))
        .collect();
    assert_eq!(names, ["HOME", "LANG", "PATH", "PWD", "TMPDIR"], "{out:?}");
    assert!(out.tail.contains("HOME-WRITABLE"), "{out:?}");
}

#[test]
fn read_only_paths_are_visible_and_may_not_hold_the_working_folder() {
    let p = place();
    let tool = tempfile::tempdir().unwrap();
    let tool_dir = tool.path().canonicalize().unwrap();
    std::fs::write(tool_dir.join("tool.sh"), "echo tool ran\n").unwrap();
    let policy = Policy {
        read_only: vec![tool_dir.clone()],
        ..Policy::default()
    };
    let script = format!(
        "sh '{0}/tool.sh'; echo x > '{0}/planted' || echo READ-ONLY",
        tool_dir.display()
    );
    let out = run_ok(&policy, &p.job(&script));
    assert!(out.tail.contains("tool ran"), "{out:?}");
    assert!(out.tail.contains("READ-ONLY"), "{out:?}");
    assert!(!tool_dir.join("planted").exists());

    // A folder registered as hidden stays out of sight inside it.
    std::fs::create_dir(tool_dir.join("state")).unwrap();
    std::fs::write(tool_dir.join("state/fleetwright.db"), "db").unwrap();
    hide(&tool_dir.join("state"));
    let out = run_ok(
        &policy,
        &p.job(&format!(
            "ls '{0}'; test -e '{0}/state/fleetwright.db' && echo 'STATE''-VISIBLE'; true",
            tool_dir.display()
        )),
    );
    assert!(out.tail.contains("tool.sh"), "{out:?}");
    assert!(!out.tail.contains("STATE-VISIBLE"), "{out:?}");

    let too_wide = Policy {
        read_only: vec![p.root.clone()],
        ..Policy::default()
    };
    let err = run(&too_wide, &p.job("true")).unwrap_err().to_string();
    assert!(
        err.contains("holds the folder the command works in"),
        "{err}"
    );
}

#[test]
fn the_unavailable_error_says_what_to_do() {
    let e = SandboxError::Unavailable("bubblewrap is not installed".into()).to_string();
    for needed in [
        "bubblewrap is not installed",
        "apt-get install bubblewrap",
        "kernel.unprivileged_userns_clone=1",
        "kernel.apparmor_restrict_unprivileged_userns=0",
        "sandbox: none",
        "as your own user",
    ] {
        assert!(e.contains(needed), "`{needed}` missing from: {e}");
    }
}

#[test]
fn durations_and_sizes_read_as_written() {
    assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
    assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("5 minutes").is_err());
    assert_eq!(parse_size("4GiB"), Ok(4 << 30));
    assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
    assert_eq!(parse_size("2g"), Ok(2 << 30));
    assert_eq!(parse_size("1MB"), Ok(1_000_000));
    assert!(parse_size("4 gigs").is_err());
    assert_eq!(size(4 << 30), "4 GiB");
    assert_eq!(
        Ended::Exited(152).to_string(),
        "exit 152, signal 24 (SIGXCPU: over its CPU time limit)"
    );
}
