//! `fleetwright scan`: what is left to migrate, counted at each target's
//! default-branch head, whatever the target's state; nothing written to any
//! repository; every count kept in the state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleetwright::engine::scan::{ScanReport, TargetScan};
use fleetwright::fleet::RepoSpec;
use fleetwright::state::ScanRow;
use git2::Repository;

use crate::util::{CAMPAIGN, GO_OLD, PY_CLEAN, RECIPE_YAML, Sandbox, repo};

const OLD_CALL: &str = "logging.warn(";
const OLD_TYPE: &str = "interface{}";

/// A Python file calling `logging.warn(` `n` times.
fn py_with(n: usize) -> String {
    let mut text = String::from("import logging\n\n\ndef start(port):\n");
    for i in 0..n {
        text += &format!("    logging.warn(\"attempt {i}\")\n");
    }
    text + "    return port\n"
}

/// Places the test recipe rewrites in `text`: every old call and every
/// empty interface (none of them nested in another).
fn places(text: &str) -> usize {
    text.matches(OLD_CALL).count() + text.matches(OLD_TYPE).count()
}

/// Places in every file of a repository spec.
fn places_in(spec: &RepoSpec) -> usize {
    spec.files.iter().map(|(_, text)| places(text)).sum()
}

fn with_files(name: &str, lifecycle: &str, files: &[(&str, String)]) -> RepoSpec {
    RepoSpec {
        files: files
            .iter()
            .map(|(p, t)| (p.to_string(), t.clone()))
            .collect(),
        ..repo(name, "team-a", lifecycle, ("unused", ""))
    }
}

/// Eight repositories, planned experimental first then by name, in
/// tranches `[1, 3, rest]`:
/// 1. alpha-py (merged) | 2. bravo-go (merged), charlie-py (declined),
///    delta-py (pull request open) | 3. echo-go (fixed by hand), foxtrot-py,
///    golf-clean, hotel-go (its remote moved away): pending.
fn fleet() -> Sandbox {
    let echo_go = "package main\n\nfunc keep(v interface{}) interface{} {\n\treturn v\n}\n";
    Sandbox::new(
        vec![
            with_files("alpha-py", "experimental", &[("app.py", py_with(2))]),
            with_files("bravo-go", "production", &[("main.go", GO_OLD.into())]),
            with_files("charlie-py", "production", &[("app.py", py_with(4))]),
            with_files(
                "delta-py",
                "production",
                &[("app.py", py_with(1)), ("lib/util.py", py_with(2))],
            ),
            with_files("echo-go", "production", &[("main.go", echo_go.into())]),
            with_files("foxtrot-py", "production", &[("app.py", py_with(5))]),
            with_files("golf-clean", "production", &[("app.py", PY_CLEAN.into())]),
            with_files("hotel-go", "production", &[("main.go", GO_OLD.into())]),
        ],
        "[1, 3, rest]",
    )
}

/// Run `git` (the real command) with a configuration of its own.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=A Person",
            "-c",
            "user.email=person@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A person fixes `path` by hand: clone `bare`, rewrite the file with
/// `edit`, commit and push to the default branch, all with real git.
fn fix_by_hand(sb: &Sandbox, bare: &Path, path: &str, edit: impl Fn(&str) -> String) {
    let work = sb.path().join(format!(
        "hand-{}",
        bare.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&work);
    git(
        sb.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    let file = work.join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let fixed = edit(&text);
    assert_ne!(fixed, text, "the hand fix changes nothing");
    std::fs::write(&file, fixed).unwrap();
    git(&work, &["commit", "-q", "-am", "Fix it by hand"]);
    git(&work, &["push", "-q", "origin", "HEAD"]);
}

/// `git rev-parse` of a bare repository's default branch.
fn rev_parse(bare: &Path, branch: &str) -> String {
    git(
        bare,
        &[
            "--git-dir",
            ".",
            "rev-parse",
            &format!("refs/heads/{branch}"),
        ],
    )
}

/// Every ref of every bare repository under `remotes/`, whatever its
/// folder is called now.
fn all_refs(sb: &Sandbox) -> BTreeMap<String, String> {
    let mut refs = BTreeMap::new();
    for entry in std::fs::read_dir(&sb.fleet.remotes_dir).unwrap() {
        let path = entry.unwrap().path();
        let repo = Repository::open_bare(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for reference in repo.references().unwrap() {
            let reference = reference.unwrap();
            let target = match reference.target() {
                Some(oid) => oid.to_string(),
                None => format!(
                    "-> {}",
                    String::from_utf8_lossy(reference.symbolic_target_bytes().unwrap())
                ),
            };
            refs.insert(format!("{name}:{}", reference.name().unwrap()), target);
        }
        refs.insert(format!("{name}:HEAD"), {
            let head = repo.find_reference("HEAD").unwrap();
            String::from_utf8_lossy(head.symbolic_target_bytes().unwrap_or(b"?")).into_owned()
        });
    }
    refs
}

fn scan_json(sb: &Sandbox, extra: &[&str], code: i32) -> ScanReport {
    let mut args = vec!["scan", CAMPAIGN, "--json"];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    out.code(code);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn scanned<'a>(report: &'a ScanReport, repo: &str) -> &'a TargetScan {
    report
        .targets
        .iter()
        .find(|t| t.repo == repo)
        .unwrap_or_else(|| panic!("{repo} not in {report:#?}"))
}

/// `(repo, scan rows oldest first)` from the state.
fn scan_rows(sb: &Sandbox) -> BTreeMap<String, Vec<ScanRow>> {
    sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().expect("campaign");
        let targets = s.targets(row.id).await.unwrap();
        let mut by_repo: BTreeMap<String, Vec<ScanRow>> = BTreeMap::new();
        for scan in s.scans(row.id).await.unwrap() {
            let t = targets.iter().find(|t| t.id == scan.target_id).unwrap();
            by_repo.entry(t.repo.clone()).or_default().push(scan);
        }
        by_repo
    })
}

fn bare_path(sb: &Sandbox, name: &str) -> PathBuf {
    sb.fleet.repo(name).unwrap().bare_path.clone()
}

#[test]
fn a_scan_counts_what_each_default_branch_still_holds_and_writes_nothing() {
    let sb = fleet();
    let expected_at_start: BTreeMap<String, usize> = sb
        .spec
        .repos
        .iter()
        .map(|r| (r.name.clone(), places_in(r)))
        .collect();
    // The fixtures are what this test thinks they are.
    assert_eq!(expected_at_start["alpha-py"], 2);
    assert_eq!(expected_at_start["bravo-go"], 3);
    assert_eq!(expected_at_start["delta-py"], 3);
    assert_eq!(expected_at_start["echo-go"], 2);
    assert_eq!(expected_at_start["golf-clean"], 0);
    assert_eq!(expected_at_start["hotel-go"], 3);

    sb.run(&["launch", "campaign.yaml"]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "alpha-py"]).code(0);
    sb.run(&["advance", CAMPAIGN]).code(0);
    sb.run(&["local", "merge", CAMPAIGN, "bravo-go"]).code(0);
    sb.run(&[
        "local",
        "close",
        CAMPAIGN,
        "charlie-py",
        "--comment",
        "not now",
    ])
    .code(0);
    fix_by_hand(&sb, &bare_path(&sb, "echo-go"), "main.go", |t| {
        t.replace(OLD_TYPE, "any")
    });
    let moved = bare_path(&sb, "hotel-go").with_extension("moved");
    std::fs::rename(bare_path(&sb, "hotel-go"), &moved).unwrap();

    let status = sb.status();
    let states: BTreeMap<String, String> = status
        .targets
        .iter()
        .map(|t| (t.repo.clone(), t.state.clone()))
        .collect();
    for (repo, state) in [
        ("alpha-py", "merged"),
        ("bravo-go", "merged"),
        ("charlie-py", "declined"),
        ("delta-py", "pr_open"),
        ("echo-go", "pending"),
        ("foxtrot-py", "pending"),
        ("golf-clean", "pending"),
        ("hotel-go", "pending"),
    ] {
        assert_eq!(states[repo], state, "{repo}");
    }
    let refs = all_refs(&sb);
    let events = sb.events().len();
    let prs = sb.local_pr_counts();

    let report = scan_json(&sb, &["-j", "2"], 4);

    // Counted from the code: merged and hand-fixed repositories hold nothing
    // old; the declined, open and pending ones hold what they started with.
    let expected: BTreeMap<&str, usize> = [
        ("alpha-py", 0),
        ("bravo-go", 0),
        ("charlie-py", expected_at_start["charlie-py"]),
        ("delta-py", expected_at_start["delta-py"]),
        ("echo-go", 0),
        ("foxtrot-py", expected_at_start["foxtrot-py"]),
        ("golf-clean", 0),
    ]
    .into();
    assert_eq!(report.campaign, CAMPAIGN);
    assert_eq!(report.targets.len(), 8, "{report:#?}");
    for (repo, n) in &expected {
        let t = scanned(&report, repo);
        assert_eq!(t.matches, Some(*n), "{t:?}");
        assert_eq!(t.error, None, "{t:?}");
        assert_eq!(t.state, states[*repo], "{t:?}");
        let commit = rev_parse(&bare_path(&sb, repo), "main");
        assert_eq!(t.commit.as_deref(), Some(commit.as_str()), "{t:?}");
        assert_eq!(t.default_branch.as_deref(), Some("main"), "{t:?}");
    }
    assert_eq!(scanned(&report, "delta-py").files, 2);
    // The merges and the hand fix moved those default branches.
    for repo in ["alpha-py", "bravo-go", "echo-go"] {
        assert_ne!(
            scanned(&report, repo).commit.as_deref(),
            Some(sb.initial_head(repo).to_string().as_str()),
            "{repo}"
        );
    }
    let hotel = scanned(&report, "hotel-go");
    assert_eq!((hotel.matches, hotel.commit.as_deref()), (None, None));
    let error = hotel.error.as_deref().expect("hotel-go has an error");
    assert!(error.contains("hotel-go.git"), "{error}");
    let total: usize = expected.values().sum();
    assert_eq!(report.totals.targets, 8);
    assert_eq!(report.totals.scanned, 7);
    assert_eq!(report.totals.failed, 1);
    assert_eq!(report.totals.matches, total);
    assert_eq!(report.totals.repositories_with_matches, 3);

    // Nothing written: no ref of any remote moved, no state changed, no
    // event logged, no pull request opened.
    assert_eq!(all_refs(&sb), refs, "a scan changed a remote");
    assert_eq!(sb.status().targets.len(), 8);
    for t in &sb.status().targets {
        assert_eq!(t.state, states[&t.repo], "{}", t.repo);
    }
    assert_eq!(sb.events().len(), events, "a scan logged events");
    assert_eq!(sb.local_pr_counts(), prs);

    // The state holds one row per target, with the same counts and commits.
    let rows = scan_rows(&sb);
    assert_eq!(rows.len(), 8, "{rows:#?}");
    for (repo, n) in &expected {
        let row = &rows[*repo];
        assert_eq!(row.len(), 1, "{repo}: {row:#?}");
        assert_eq!(row[0].matches, Some(*n as i64), "{repo}");
        assert_eq!(
            row[0].commit_id,
            Some(rev_parse(&bare_path(&sb, repo), "main")),
            "{repo}"
        );
        assert_eq!(row[0].error, None, "{repo}");
    }
    let hotel_row = &rows["hotel-go"][0];
    assert_eq!(
        (hotel_row.commit_id.as_deref(), hotel_row.matches),
        (None, None)
    );
    assert_eq!(hotel_row.error.as_deref(), Some(error));

    // The table: most matches first, failures last, then the summary.
    let out = sb.run(&["scan", CAMPAIGN]);
    out.code(4);
    let order: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .take(8)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        order[..3],
        ["foxtrot-py", "charlie-py", "delta-py"],
        "{out:?}"
    );
    assert_eq!(order[7], "hotel-go", "{out:?}");
    let summary = format!("{total} places still match in 3 of 7 repositories");
    assert!(out.stdout.contains(&summary), "{out:?}");
    assert!(out.stderr.contains("could not be scanned"), "{out:?}");

    // The remote is back and foxtrot-py got two of its calls fixed by hand:
    // the next scan adds a row per target and keeps the earlier ones.
    std::fs::rename(&moved, bare_path(&sb, "hotel-go")).unwrap();
    fix_by_hand(&sb, &bare_path(&sb, "foxtrot-py"), "app.py", |t| {
        t.replacen(OLD_CALL, "logging.warning(", 2)
    });
    let report = scan_json(&sb, &[], 0);
    let foxtrot = expected_at_start["foxtrot-py"] - 2;
    assert_eq!(scanned(&report, "foxtrot-py").matches, Some(foxtrot));
    assert_eq!(
        scanned(&report, "hotel-go").matches,
        Some(expected_at_start["hotel-go"])
    );
    assert_eq!(report.totals.failed, 0);
    assert_eq!(
        report.totals.matches,
        total - 2 + expected_at_start["hotel-go"]
    );
    let rows = scan_rows(&sb);
    for (repo, row) in &rows {
        assert_eq!(row.len(), 3, "{repo}: {row:#?}");
    }
    let foxtrot_rows: Vec<Option<i64>> = rows["foxtrot-py"].iter().map(|r| r.matches).collect();
    assert_eq!(
        foxtrot_rows,
        [Some(5), Some(5), Some(foxtrot as i64)],
        "history kept, oldest first"
    );
    assert_eq!(
        rows["foxtrot-py"][2].commit_id,
        Some(rev_parse(&bare_path(&sb, "foxtrot-py"), "main"))
    );
    assert_ne!(
        rows["foxtrot-py"][2].commit_id,
        rows["foxtrot-py"][0].commit_id
    );
    let hotel_rows = &rows["hotel-go"];
    assert!(hotel_rows[0].error.is_some() && hotel_rows[1].error.is_some());
    assert_eq!(hotel_rows[2].error, None);
    assert_eq!(hotel_rows[2].matches, Some(3));
}

/// The recipe applies to components tagged `python` only.
fn python_only_recipe() -> String {
    RECIPE_YAML.replacen(
        "rules:\n",
        "applies_when:\n  - catalog: {tags: python}\nrules:\n",
        1,
    )
}

#[test]
fn where_the_recipe_does_not_apply_a_scan_counts_zero_and_says_why() {
    let tagged = |name: &str, tags: &[&str]| RepoSpec {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..with_files(name, "production", &[("app.py", py_with(3))])
    };
    let sb = Sandbox::new(
        vec![
            tagged("one-py", &["python"]),
            tagged("two-untagged", &[]),
            tagged("zed-gone", &["python"]),
        ],
        "[1, rest]",
    );
    sb.write("recipe.yaml", &python_only_recipe());
    sb.run(&["launch", "campaign.yaml"]).code(0);
    // zed-gone leaves the catalog after the launch: a component the catalog
    // no longer knows has no facts, so catalog conditions do not hold.
    let team_file = sb.fleet.catalog_dir.join("team-a.yaml");
    let text = std::fs::read_to_string(&team_file).unwrap();
    let kept: Vec<&str> = text
        .split("---\n")
        .filter(|doc| !doc.contains("name: zed-gone\n"))
        .collect();
    assert_eq!(kept.len() + 1, text.split("---\n").count());
    std::fs::write(&team_file, kept.join("---\n")).unwrap();

    let report = scan_json(&sb, &[], 0);
    let one = scanned(&report, "one-py");
    assert_eq!((one.state.as_str(), one.matches), ("pr_open", Some(3)));
    for repo in ["two-untagged", "zed-gone"] {
        let t = scanned(&report, repo);
        assert_eq!(t.state, "pending", "{t:?}");
        assert_eq!(t.matches, Some(0), "{t:?}");
        assert_eq!(t.error, None, "{t:?}");
        let note = t.note.as_deref().unwrap_or_default();
        assert!(note.contains("does not apply"), "{t:?}");
    }
    assert_eq!(report.totals.matches, 3);
    assert_eq!(report.totals.repositories_with_matches, 1);
    let rows = scan_rows(&sb);
    assert_eq!(rows["two-untagged"][0].matches, Some(0));
    assert_eq!(rows["zed-gone"][0].matches, Some(0));
}

/// A second scan of repositories whose default-branch head and recipe did
/// not move reuses each last count (no checkout, no rewrite), records it
/// again, and counts anew what moved: a pushed commit, or another recipe.
#[test]
fn a_second_scan_reuses_the_counts_of_what_did_not_move() {
    let sb = fleet();
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let first = scan_json(&sb, &[], 0);
    assert_eq!(first.totals.reused, 0);
    let second = scan_json(&sb, &[], 0);
    assert_eq!(second.totals.reused, second.totals.scanned);
    assert_eq!(second.totals.matches, first.totals.matches);
    for t in &first.targets {
        let again = scanned(&second, &t.repo);
        assert_eq!(
            (again.matches, again.files, &again.commit, &again.note),
            (t.matches, t.files, &t.commit, &t.note),
            "{}",
            t.repo
        );
    }
    // Every scan is recorded, reused or not.
    assert!(scan_rows(&sb).values().all(|rows| rows.len() == 2));
    // A person fixes one repository: only it is counted anew.
    fix_by_hand(&sb, &bare_path(&sb, "foxtrot-py"), "app.py", |t| {
        t.replacen("logging.warn(", "logging.warning(", 1)
    });
    let third = scan_json(&sb, &[], 0);
    let foxtrot = scanned(&third, "foxtrot-py");
    assert!(!foxtrot.reused);
    assert_eq!(
        foxtrot.matches,
        scanned(&first, "foxtrot-py").matches.map(|n| n - 1)
    );
    assert_eq!(third.totals.reused, third.totals.scanned - 1);
    // Another recipe counts everything anew.
    let recipe = sb.read("recipe.yaml").replace(
        "title: Replace deprecated APIs",
        "title: Replace deprecated APIs (v2)",
    );
    sb.write("recipe.yaml", &recipe);
    let fourth = scan_json(&sb, &[], 0);
    assert_eq!(fourth.totals.reused, 0);
    assert_eq!(fourth.totals.matches, third.totals.matches);
}
