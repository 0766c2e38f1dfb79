//! SIGKILL at random moments of `fleetwright run`, again and again: after
//! every kill the state is sound, no target is lost, no branch holds a
//! second commit and no repository has a second pull request; a last run
//! finishes the campaign as if nothing had happened, and the event log
//! still tells every target's state.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::*;

/// Kills that must land while the process is still working.
const KILLS: usize = 50;

/// A small deterministic generator (xorshift), seeded from the clock; the
/// seed is printed so a failure can be replayed with `TORTURE_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn fleet() -> Sandbox {
    let repos = (0..10)
        .map(|i| {
            let name = format!("svc-{i:02}");
            let team = if i % 2 == 0 { "team-a" } else { "team-b" };
            match i % 5 {
                0 | 2 => python(&name, team, "production"),
                1 | 3 => go(&name, team, "production"),
                _ => clean(&name, team, "production"),
            }
        })
        .collect();
    let sb = Sandbox::new(repos, "[3, rest]");
    // The gate opens the next tranche as soon as the previous is prepared,
    // so that one campaign's runs cover launch, gates and every tranche.
    let text = format!("{}gate:\n  merged: \"0%\"\n", campaign_yaml("[3, rest]"));
    sb.write("campaign.yaml", &text);
    sb
}

/// Start `fleetwright run` on the campaign file (as cron would: it
/// launches the campaign when the state does not hold it yet).
fn start(sb: &Sandbox) -> std::process::Child {
    command(sb.path(), &[])
        .arg("--state")
        .arg(sb.state_path())
        .args(["--quiet", "run", "campaign.yaml", "-j", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fleetwright")
}

/// Two runs to the end, which must succeed.
fn finish(sb: &Sandbox, seed: u64) {
    for _ in 0..2 {
        let run = sb.run(&["run", "campaign.yaml", "-j", "2"]);
        assert_eq!(
            run.status,
            Some(0),
            "an uninterrupted run failed (seed {seed}): {run:?}"
        );
    }
}

/// What must hold whenever the process died, wherever it died.
fn assert_sound(sb: &Sandbox, planned: usize, context: &str) {
    let checked = sb.with_state(async |s| {
        let integrity = s.integrity_check().await.unwrap();
        let Some(row) = s.campaign(CAMPAIGN).await.unwrap() else {
            return (integrity, None);
        };
        let targets = s.targets(row.id).await.unwrap();
        let mut prs = BTreeMap::new();
        for t in &targets {
            let mut n = 0;
            while s.local_pr(&t.url, n + 1).await.unwrap().is_some() {
                n += 1;
            }
            let recorded = t.changeset.as_ref().and_then(|c| c.number);
            prs.insert(t.repo.clone(), (n, recorded));
        }
        (integrity, Some((targets.len(), prs)))
    });
    let (integrity, campaign) = checked;
    assert_eq!(integrity, "ok", "{context}");
    let Some((targets, prs)) = campaign else {
        return; // killed before the campaign was recorded: nothing to lose
    };
    assert_eq!(targets, planned, "a target was lost ({context})");
    for (repo, (count, recorded)) in &prs {
        assert!(*count <= 1, "{repo} has {count} pull requests ({context})");
        if let Some(number) = recorded {
            assert_eq!(
                *number, 1,
                "{repo} records a PR that is not its one ({context})"
            );
        }
    }
    for r in &sb.fleet.repos {
        let bare = sb.bare(&r.name);
        if let Some(tip) = branch_head(&bare, BRANCH) {
            let commit = bare.find_commit(tip).unwrap();
            assert_eq!(
                commit.parent_ids().collect::<Vec<_>>(),
                [r.head],
                "{}: the campaign branch must be one commit on the default branch ({context})",
                r.name
            );
        }
    }
}

#[test]
fn sigkill_at_random_moments_never_loses_or_duplicates_anything() {
    let seed = std::env::var("TORTURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("TORTURE_SEED={seed}");
    let mut rng = Rng(seed);

    // How long a whole campaign takes uninterrupted, on this machine: the
    // first run launches and prepares tranche 1, the second passes the gate
    // and prepares the rest.
    let calibration = fleet();
    let started = Instant::now();
    start(&calibration).wait().unwrap();
    finish(&calibration, seed);
    let whole = started.elapsed();
    let planned = calibration.status().targets.len();
    assert_eq!(planned, 10);

    let mut kills = 0;
    let mut sandboxes = 0;
    while kills < KILLS {
        // A fresh fleet every few kills, so kills land at launch as often as later.
        let sb = fleet();
        sandboxes += 1;
        for round in 0..8 {
            let delay = Duration::from_micros(rng.below(whole.as_micros() as u64 + 1));
            let mut child = start(&sb);
            std::thread::sleep(delay);
            let still_running = child.try_wait().unwrap().is_none();
            let _ = child.kill(); // SIGKILL
            child.wait().unwrap();
            let context =
                format!("seed {seed}, sandbox {sandboxes}, round {round}, killed after {delay:?}");
            assert_sound(&sb, planned, &context);
            if still_running {
                kills += 1;
            }
        }
        // Whatever the kills left, two more runs finish like the uninterrupted ones.
        finish(&sb, seed);
        assert_sound(&sb, planned, &format!("seed {seed}, after the last run"));
        assert_eq!(
            states(&sb.status()),
            states(&calibration.status()),
            "seed {seed}"
        );
        for (repo, n) in sb.local_pr_counts() {
            let expected = calibration.local_pr_counts()[&repo];
            assert_eq!(n, expected, "{repo} (seed {seed})");
        }
        // The event log alone tells each target's state.
        let (replayed, table) = sb.with_state(async |s| {
            let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
            let replayed = s.replay(row.id, None).await.unwrap();
            let table: BTreeMap<i64, _> = s
                .targets(row.id)
                .await
                .unwrap()
                .into_iter()
                .map(|t| (t.id, t.state))
                .collect();
            (replayed, table)
        });
        assert_eq!(replayed, table, "seed {seed}");
    }
    eprintln!("{kills} kills in {sandboxes} fleets; a whole run takes {whole:?}");
}
