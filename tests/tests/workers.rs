//! `fleetwright worker`: several processes on one campaign, on a real
//! PostgreSQL (a throw-away cluster on loopback, `sim::postgres`).
//!
//! What must hold: every target worked on exactly once (one branch, one
//! commit, one pull request), a dead or frozen worker's targets taken over
//! by the others, and all workers' forge writes together within one
//! process's pace.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fleetwright::sim::postgres::PgServer;
use fleetwright::state::{Location, STALL, State};

use crate::github::{TOKEN, github_sandbox, runtime};
use crate::util::{BRANCH, CAMPAIGN, Sandbox, clean, command, python};

/// A fresh database of the test process's PostgreSQL server.
fn database(prefix: &str) -> String {
    PgServer::shared()
        .unwrap_or_else(|e| panic!("cannot start PostgreSQL: {e}"))
        .database(prefix)
        .unwrap()
}

/// A worker process of a test: killed (even when stopped) and reaped when
/// the test ends, however it ends.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `fleetwright worker` number `id` on the campaign file, against `state`,
/// with its own clone cache (as a pod has), in the background.
fn worker(sb: &Sandbox, state: &str, id: u32, extra: &[&str], env: &[(&str, &str)]) -> Spawned {
    let cache = sb.path().join(format!("cache-{id}"));
    Spawned(
        command(sb.path(), env)
            .arg("--state")
            .arg(state)
            .arg("--cache")
            .arg(&cache)
            .args(["--color", "never", "worker", "campaign.yaml", "--id"])
            .arg(id.to_string())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a worker"),
    )
}

/// How long a worker of these tests may take: past it, the test fails
/// with what the worker printed, instead of waiting forever.
const WORKER_DEADLINE: Duration = Duration::from_secs(300);

/// Wait for a worker, at most [`WORKER_DEADLINE`]: its exit code, stdout
/// and stderr.
fn finish(mut worker: Spawned) -> (i32, String, String) {
    let child = &mut worker.0;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + WORKER_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let Some(status) = status else {
        panic!("a worker still ran after {WORKER_DEADLINE:?} (killed)\n{stdout}\n{stderr}");
    };
    (status.code().unwrap_or(-1), stdout, stderr)
}

/// The state, read through the library.
fn with_state<T>(url: &str, f: impl AsyncFnOnce(&State) -> T) -> T {
    runtime().block_on(async {
        let state = State::open(Location::Postgres(url.into())).await.unwrap();
        let out = f(&state).await;
        state.close().await;
        out
    })
}

/// Per target: (state, pull requests opened by the events, pull requests
/// found open and adopted by the events, local pull requests of its
/// repository).
fn tally(url: &str) -> BTreeMap<String, (String, usize, usize, i64)> {
    with_state(url, async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().expect("the campaign");
        let events = s.events(row.id).await.unwrap();
        let mut out = BTreeMap::new();
        for t in s.targets(row.id).await.unwrap() {
            let count = |kind: &str| {
                events
                    .iter()
                    .filter(|e| e.target_id == Some(t.id) && e.kind == kind)
                    .count()
            };
            let (opened, adopted) = (count("pull_request_opened"), count("pull_request_adopted"));
            let mut prs = 0;
            while s.local_pr(&t.url, prs + 1).await.unwrap().is_some() {
                prs += 1;
            }
            out.insert(
                t.repo.clone(),
                (t.state.as_str().to_string(), opened, adopted, prs),
            );
        }
        out
    })
}

/// Each repository that needed the change has one branch holding one
/// commit on its default branch's head, and one pull request; the others
/// have neither. With `takeovers`, a pull request a dead worker opened
/// without recording it may have been found and adopted by the one that
/// took its target over (never opened again); without, every one was
/// opened once and none adopted.
fn assert_exactly_once(sb: &Sandbox, url: &str, changed: &[String], takeovers: bool) {
    let tally = tally(url);
    assert_eq!(tally.len(), sb.fleet.repos.len());
    for (repo, (state, opened, adopted, prs)) in &tally {
        let bare = sb.bare(repo);
        let branch = bare
            .find_reference(&format!("refs/heads/{BRANCH}"))
            .ok()
            .and_then(|r| r.target());
        if changed.contains(repo) {
            assert_eq!((state.as_str(), *prs), ("pr_open", 1), "{repo}");
            if takeovers {
                assert!(
                    *opened <= 1 && opened + adopted >= 1,
                    "{repo}: {opened} opened, {adopted} adopted"
                );
            } else {
                assert_eq!((*opened, *adopted), (1, 0), "{repo}");
            }
            let head = bare.find_commit(branch.expect("a branch")).unwrap();
            assert_eq!(head.parent_count(), 1, "{repo}");
            assert_eq!(head.parent_id(0).unwrap(), sb.initial_head(repo), "{repo}");
        } else {
            assert_eq!(
                (state.as_str(), *opened, *adopted, *prs),
                ("no_change", 0, 0, 0),
                "{repo}"
            );
            assert!(branch.is_none(), "{repo}");
        }
    }
}

/// A fleet of `n` repositories, three in four of them needing the change.
fn fleet(n: usize) -> (Sandbox, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("svc-{i:03}")).collect();
    let repos = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let team = if i % 2 == 0 { "team-a" } else { "team-b" };
            if i % 4 == 3 {
                clean(name, team, "production")
            } else {
                python(name, team, "production")
            }
        })
        .collect();
    let changed = names
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 4 != 3)
        .map(|(_, n)| n.clone())
        .collect();
    (Sandbox::new(repos, "[rest]"), changed)
}

/// Which worker said it worked on how many targets.
fn worked(stdout: &str) -> usize {
    stdout
        .lines()
        .find_map(|l| l.split(" worked on ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {stdout}"))
}

#[test]
fn four_workers_on_five_hundred_targets_work_each_exactly_once() {
    let (sb, changed) = fleet(500);
    let url = database("four_workers");
    let started = Instant::now();
    let workers: Vec<Spawned> = (0..4)
        .map(|id| worker(&sb, &url, id, &["-j", "2"], &[]))
        .collect();
    let mut shares = Vec::new();
    for child in workers {
        let (code, stdout, stderr) = finish(child);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        shares.push(worked(&stdout));
    }
    eprintln!(
        "4 workers, 500 targets: {:.1} s, shares {shares:?}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(shares.iter().sum::<usize>(), 500, "{shares:?}");
    assert!(
        shares.iter().filter(|n| **n > 0).count() >= 2,
        "the work was not shared: {shares:?}"
    );
    assert_exactly_once(&sb, &url, &changed, false);
    // Nothing is left leased, and the campaign is recorded once.
    with_state(&url, async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        assert!(s.live_leases(row.id).await.unwrap().is_empty());
        assert_eq!(s.campaign_names().await.unwrap(), [CAMPAIGN]);
    });
}

/// Wait until `what` holds (checked every 50 ms), at most `within`.
fn wait_for(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "waited {within:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The worker names holding a live lease now.
fn holders(url: &str) -> Vec<String> {
    with_state(url, async |s| match s.campaign(CAMPAIGN).await.unwrap() {
        Some(row) => s
            .live_leases(row.id)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, w, _)| w)
            .collect(),
        None => Vec::new(),
    })
}

/// The pid of the process that holds the campaign's lock (it leads), as
/// its PostgreSQL connection says (`pid N on host: ...`).
fn leader(url: &str) -> Option<u32> {
    runtime().block_on(async {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(url).await.unwrap();
        let names: Vec<String> = sqlx::query(
            "SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2",
        )
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name"))
        .collect();
        let _ = db.close().await;
        names.iter().find_map(|n| {
            n.strip_prefix("pid ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
    })
}

#[test]
fn a_killed_worker_and_a_frozen_leader_have_their_targets_and_the_lead_taken_over() {
    let (sb, changed) = fleet(60);
    // Each target takes a moment (its verify), so that both workers are
    // seen mid-target.
    let campaign = sb.read("campaign.yaml") + "verify:\n  command: sleep 0.2\n";
    sb.write("campaign.yaml", &campaign);
    let url = database("taken_over");
    // Leases of 2 s: a frozen worker's run out quickly.
    let lease = ["--lease", "2", "-j", "1"];
    let mut victims: Vec<Spawned> = (0..2)
        .map(|id| worker(&sb, &url, id, &lease, &[]))
        .collect();
    // Both hold a lease (they are mid-way), and one of them leads.
    let mut leading = None;
    wait_for(
        Duration::from_secs(60),
        "both workers to hold a lease, one of them leading",
        || {
            let held = holders(&url);
            leading = leader(&url);
            ["worker-0@", "worker-1@"]
                .iter()
                .all(|w| held.iter().any(|h| h.starts_with(w)))
                && leading.is_some()
        },
    );
    let leading = leading.unwrap();
    let at = victims
        .iter()
        .position(|v| v.0.id() == leading)
        .expect("a worker leads");
    // The leader freezes (alive, but silent: no heartbeat, no ping, maybe
    // inside a transaction); the other dies.
    let frozen = victims.remove(at);
    // SAFETY: SIGSTOP to a child of this test.
    assert_eq!(
        unsafe { libc::kill(frozen.0.id() as i32, libc::SIGSTOP) },
        0
    );
    let frozen_at = Instant::now();
    drop(victims);
    let frozen_name = format!("worker-{at}@");
    assert!(holders(&url).iter().any(|h| h.starts_with(&frozen_name)));
    // Two more finish the campaign's targets, taking both over.
    let survivors: Vec<Spawned> = (2..4)
        .map(|id| worker(&sb, &url, id, &lease, &[]))
        .collect();
    for child in survivors {
        let (code, stdout, stderr) = finish(child);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }
    // The campaign's lock the frozen leader held is free once the server
    // has ended its silent session: a `run` (from cron) takes it then, and
    // not before the frozen one went silent for that long.
    let cache = sb.path().join("cache-run");
    let run = loop {
        let out = command(sb.path(), &[])
            .arg("--state")
            .arg(&url)
            .arg("--cache")
            .arg(&cache)
            .args(["--color", "never", "run", "campaign.yaml"])
            .output()
            .unwrap();
        let refused = out.status.code() == Some(6);
        if !refused || frozen_at.elapsed() > STALL + Duration::from_secs(30) {
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert!(
        frozen_at.elapsed() >= STALL - Duration::from_secs(8),
        "the lock was free before the frozen leader went silent for long: {said}"
    );
    // The frozen one never wakes.
    drop(frozen);
    assert_exactly_once(&sb, &url, &changed, true);
    // The leases of the dead and the frozen worker were taken over.
    let events = with_state(&url, async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        s.events(row.id).await.unwrap()
    });
    assert!(events.len() > 60);
}

#[test]
fn three_workers_write_to_github_no_faster_than_one_process_may() {
    let rt = runtime();
    let names: Vec<String> = (0..8).map(|i| format!("gh-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (sb, sim, _git) = github_sandbox(&rt, &refs, "[rest]");
    let url = database("github_pace");
    let env = [("GH_E2E_TOKEN", TOKEN)];
    let workers: Vec<Spawned> = (0..3)
        .map(|id| worker(&sb, &url, id, &["-j", "2"], &env))
        .collect();
    for child in workers {
        let (code, stdout, stderr) = finish(child);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    }
    for name in &names {
        assert_eq!(sim.pulls("remotes", name).len(), 1, "{name}");
    }
    let stats = sim.stats();
    // GitHub's limits, on the simulator's clock: no write refused, none
    // closer than a second to the one before, at most 80 in any minute.
    assert_eq!(stats.violations, 0, "{:?}", stats.writes);
    assert_eq!(stats.secondary_limited, 0);
    assert!(stats.writes.len() >= names.len());
    let at: Vec<Duration> = stats.writes.iter().map(|w| w.at).collect();
    for pair in at.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(990),
            "two writes {:?} apart",
            pair[1] - pair[0]
        );
    }
    for (i, first) in at.iter().enumerate() {
        let in_minute = at[i..]
            .iter()
            .take_while(|t| **t - *first < Duration::from_secs(60))
            .count();
        assert!(in_minute <= 80);
    }
    rt.block_on(async { sim.stop().await });
}

/// The manifests in deploy/kubernetes/ run commands this binary takes,
/// with the variables it reads: each container's `args` parse (`--help`
/// after them exits 0), and every `FLEETWRIGHT_*` variable they set is one
/// the binary documents. (`scripts/validate-kubernetes.sh` checks them
/// against Kubernetes' schemas.)
#[test]
fn the_kubernetes_manifests_run_commands_this_binary_takes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let tmp = tempfile::tempdir().unwrap();
    let mut commands = 0;
    let mut variables = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let line = line.trim();
            if let Some(list) = line.strip_prefix("args: [") {
                let args: Vec<String> = list
                    .trim_end_matches(']')
                    .split(',')
                    .map(|a| a.trim().trim_matches('"').to_string())
                    .collect();
                let out = command(tmp.path(), &[])
                    .args(&args)
                    .arg("--help")
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}: `fleetwright {}` does not parse: {}",
                    path.display(),
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
                commands += 1;
            }
            if let Some(name) = line.strip_prefix("- name: ")
                && name.starts_with("FLEETWRIGHT_")
            {
                variables.insert(name.to_string());
            }
        }
    }
    assert!(
        commands >= 2,
        "no container args found in {}",
        dir.display()
    );
    let help = |args: &[&str]| {
        let out = command(tmp.path(), &[]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let documented = help(&["--help"]) + &help(&["worker", "--help"]);
    for name in &variables {
        assert!(
            documented.contains(&format!("env: {name}=")),
            "{name} is set in deploy/kubernetes/ but fleetwright does not read it"
        );
    }
    assert!(variables.contains("FLEETWRIGHT_WORKER_ID"), "{variables:?}");
}

/// A campaign launched on a SQLite file moves to PostgreSQL with `state
/// migrate`, and goes on there: `status` reads the same, `run` continues,
/// a second copy into it is refused. The URL's password is never printed,
/// not even when the database cannot be reached.
#[test]
fn a_sqlite_state_moves_to_postgres_and_the_campaign_goes_on_there() {
    let (sb, _) = fleet(6);
    let url = database("migrated").replacen("fleetwright@", "fleetwright:s3cretPW99@", 1);
    let secret = "s3cretPW99";
    let unseen = |out: &crate::util::Run| {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "the password was printed: {out:?}"
        );
    };
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let before = sb.run(&["status", CAMPAIGN, "--json"]);
    let out = sb.run(&["state", "migrate", "--to", &url]);
    out.code(0);
    unseen(&out);
    assert!(out.stdout.contains("copied 11 table(s)"), "{out:?}");
    let on_pg = |args: &[&str]| {
        let out = crate::util::Run::of(
            command(sb.path(), &[])
                .args(["--state", &url, "--color", "never"])
                .args(args),
        );
        unseen(&out);
        out
    };
    let after = on_pg(&["status", CAMPAIGN, "--json"]);
    after.code(0);
    assert_eq!(before.stdout, after.stdout);
    on_pg(&["report", CAMPAIGN, "--format", "md"]).code(0);
    on_pg(&["run", "campaign.yaml"]).code(0);
    // Never into a state that holds campaigns.
    let again = sb.run(&["state", "migrate", "--to", &url]);
    again.code(6);
    assert!(
        again.stderr.contains("already holds campaigns"),
        "{again:?}"
    );
    unseen(&again);
    // An unreachable database: a clear error, without the password.
    let nowhere = "postgres://fleetwright:s3cretPW99@127.0.0.1:1/none";
    let out = crate::util::Run::of(
        command(sb.path(), &[]).args(["--state", nowhere, "--color", "never", "status", CAMPAIGN]),
    );
    assert_ne!(out.status, Some(0));
    assert!(out.stderr.contains("127.0.0.1:1"), "{out:?}");
    unseen(&out);
}
