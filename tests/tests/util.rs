//! Shared fixtures: a temp dir per test holding a small fleet (bare git
//! repositories and a Backstage catalog built by `fleetwright::fleet`), a
//! recipe and a campaign file, and a runner for the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fleetwright::fleet::{self, Fleet, FleetSpec, RepoSpec, TeamSpec};
use fleetwright::report::{StatusReport, TargetStatus};
use fleetwright::state::{EventRow, LocalPullRequest, State};
use git2::{Oid, Repository};

/// The name every test campaign carries.
pub const CAMPAIGN: &str = "modernize-logging";
/// The branch the test campaign pushes (`pull_request.branch` below).
pub const BRANCH: &str = "fleetwright/modernize-logging";
/// The trailer fleetwright's commits carry for [`CAMPAIGN`].
pub const TRAILER: &str = "Fleetwright-Campaign: modernize-logging";

/// The recipe the tests run: `logging.warn(` → `logging.warning(`,
/// `interface{}` → `any`.
pub const RECIPE_YAML: &str = r#"id: modernize-deprecated-apis
title: Replace deprecated APIs
description: logging.warn is an alias of logging.warning; any is interface{}.
rules:
  - id: python-logging-warn
    language: python
    rule:
      pattern: logging.warn($$$ARGS)
    fix: logging.warning($$$ARGS)
  - id: go-empty-interface-to-any
    language: go
    rule:
      kind: interface_type
      regex: '^interface\s*\{\s*\}$'
    fix: any
"#;

/// A campaign over the whole fleet with the given `tranches` value.
pub fn campaign_yaml(tranches: &str) -> String {
    format!(
        r#"name: {CAMPAIGN}
recipe: recipe.yaml
catalog: catalog/all.yaml
forge: local
targets:
  lifecycle: [production, experimental]
tranches: {tranches}
pull_request:
  title: "Replace deprecated APIs in {{{{ repo }}}}"
  branch: {BRANCH}
  labels: [fleetwright]
"#
    )
}

/// A Python service calling the deprecated `logging.warn(`.
pub const PY_OLD: &str = "import logging\n\n\ndef start(port):\n    if not port:\n        logging.warn(\"no port, using %d\", 8080)\n        port = 8080\n    return port\n";
/// The same service already migrated.
pub const PY_CLEAN: &str = "import logging\n\n\ndef start(port):\n    if not port:\n        logging.warning(\"no port, using %d\", 8080)\n        port = 8080\n    return port\n";
/// A Go file spelling `any` the old way.
pub const GO_OLD: &str = "package main\n\nfunc describe(v interface{}) map[string]interface{} {\n\treturn map[string]interface{}{\"value\": v}\n}\n";

pub fn team(name: &str) -> TeamSpec {
    TeamSpec {
        name: name.into(),
        display_name: name.trim_start_matches("team-").into(),
        team_slug: format!("acme/{name}"),
        members: vec![(
            format!("{name}-lead"),
            "Team Lead".into(),
            format!("{name}-lead"),
        )],
    }
}

/// A repository holding one file.
pub fn repo(name: &str, team: &str, lifecycle: &str, file: (&str, &str)) -> RepoSpec {
    RepoSpec {
        name: name.into(),
        team: team.into(),
        spec_type: "service".into(),
        lifecycle: lifecycle.into(),
        system: None,
        tags: vec![],
        default_branch: "main".into(),
        files: vec![(file.0.into(), file.1.into())],
    }
}

pub fn python(name: &str, team: &str, lifecycle: &str) -> RepoSpec {
    repo(name, team, lifecycle, ("app.py", PY_OLD))
}

pub fn go(name: &str, team: &str, lifecycle: &str) -> RepoSpec {
    repo(name, team, lifecycle, ("main.go", GO_OLD))
}

pub fn clean(name: &str, team: &str, lifecycle: &str) -> RepoSpec {
    repo(name, team, lifecycle, ("app.py", PY_CLEAN))
}

/// Commit `text` as `path` on `branch` of the bare repository `repo`, as a
/// person (Alice) would, with `message`.
pub fn push_a_commit(
    repo: &Repository,
    branch: &str,
    path: &str,
    text: &str,
    message: &str,
) -> Oid {
    let tip = branch_head(repo, branch).expect("the branch");
    let parent = repo.find_commit(tip).unwrap();
    let blob = repo.blob(text.as_bytes()).unwrap();
    let mut tree = repo.treebuilder(Some(&parent.tree().unwrap())).unwrap();
    tree.insert(path, blob, 0o100644).unwrap();
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    let who = git2::Signature::now("Alice", "alice@example.com").unwrap();
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &who,
        &who,
        message,
        &tree,
        &[&parent],
    )
    .unwrap()
}

/// A temp dir holding a fleet, `recipe.yaml` and `campaign.yaml`; the state
/// goes to `state/fleetwright.db` inside it.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
    pub fleet: Fleet,
    pub spec: FleetSpec,
}

impl Sandbox {
    /// Build `repos` (owned by team-a and team-b) and a campaign cut in `tranches`.
    pub fn new(repos: Vec<RepoSpec>, tranches: &str) -> Sandbox {
        let tmp = tempfile::tempdir().expect("temp dir");
        let spec = FleetSpec {
            teams: vec![team("team-a"), team("team-b")],
            repos,
        };
        let fleet = fleet::build(tmp.path(), &spec).expect("build the fleet");
        let sandbox = Sandbox { tmp, fleet, spec };
        sandbox.write("recipe.yaml", RECIPE_YAML);
        sandbox.write("campaign.yaml", &campaign_yaml(tranches));
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap()
    }

    pub fn state_path(&self) -> PathBuf {
        self.file("state/fleetwright.db")
    }

    /// Run the binary in the sandbox with its state.
    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), &self.state_path(), args)
    }

    /// `status --json`, which must succeed.
    pub fn status(&self) -> StatusReport {
        let out = self.run(&["status", CAMPAIGN, "--json"]);
        out.code(0);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    }

    /// The bare repository of `name`.
    pub fn bare(&self, name: &str) -> Repository {
        Repository::open_bare(&self.fleet.repo(name).expect("repo in fleet").bare_path)
            .expect("open bare repo")
    }

    /// The commit the initial build put on `name`'s default branch.
    pub fn initial_head(&self, name: &str) -> Oid {
        self.fleet.repo(name).unwrap().head
    }

    /// Every ref of every bare repository, to show that nothing moved.
    pub fn all_refs(&self) -> BTreeMap<String, Oid> {
        let mut refs = BTreeMap::new();
        for r in &self.fleet.repos {
            let repo = Repository::open_bare(&r.bare_path).unwrap();
            for reference in repo.references().unwrap() {
                let reference = reference.unwrap();
                refs.insert(
                    format!("{}:{}", r.name, reference.name().unwrap()),
                    reference.target().unwrap(),
                );
            }
        }
        refs
    }

    /// The state, read through the library (opened and closed per call).
    pub fn with_state<T>(&self, f: impl AsyncFnOnce(&State) -> T) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let state = State::open(&self.state_path()).await.unwrap();
            let out = f(&state).await;
            state.close().await;
            out
        })
    }

    /// Run `statements` on the state database, each with `repo` bound to its
    /// one `?`: the way to put the state where a crash would have left it.
    pub fn edit_state(&self, repo: &str, statements: &[&'static str]) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(self.state_path());
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            for statement in statements {
                let done = sqlx::query(*statement)
                    .bind(repo)
                    .execute(&pool)
                    .await
                    .unwrap();
                assert!(done.rows_affected() > 0, "{statement} changed nothing");
            }
            pool.close().await;
        });
    }

    /// Every event of the campaign.
    pub fn events(&self) -> Vec<EventRow> {
        self.with_state(async |s| {
            let row = s.campaign(CAMPAIGN).await.unwrap().expect("campaign");
            s.events(row.id).await.unwrap()
        })
    }

    /// Pull request #1 of `repo` (a repository of the campaign) on the
    /// local forge.
    pub fn local_pr(&self, repo: &str) -> LocalPullRequest {
        self.with_state(async |s| {
            let row = s.campaign(CAMPAIGN).await.unwrap().unwrap();
            let t = s
                .targets(row.id)
                .await
                .unwrap()
                .into_iter()
                .find(|t| t.repo == repo)
                .expect("the target");
            s.local_pr(&t.url, 1)
                .await
                .unwrap()
                .expect("a pull request")
        })
    }

    /// Number of local pull requests per repository name.
    pub fn local_pr_counts(&self) -> BTreeMap<String, i64> {
        self.with_state(async |s| {
            let row = s.campaign(CAMPAIGN).await.unwrap().expect("campaign");
            let mut counts = BTreeMap::new();
            for t in s.targets(row.id).await.unwrap() {
                // Numbers are per repository and start at 1: count them up.
                let mut n = 0;
                while s.local_pr(&t.url, n + 1).await.unwrap().is_some() {
                    n += 1;
                }
                counts.insert(t.repo.clone(), n);
            }
            counts
        })
    }
}

/// The events of `kind`.
pub fn count_events(events: &[EventRow], kind: &str) -> usize {
    events.iter().filter(|e| e.kind == kind).count()
}

/// The target of `repo` in a status.
pub fn target<'a>(status: &'a StatusReport, repo: &str) -> &'a TargetStatus {
    status
        .targets
        .iter()
        .find(|t| t.repo == repo)
        .unwrap_or_else(|| panic!("no target {repo} in {status:#?}"))
}

/// `(repo, state)` of every target, for whole-campaign assertions.
pub fn states(status: &StatusReport) -> BTreeMap<String, String> {
    status
        .targets
        .iter()
        .map(|t| (t.repo.clone(), t.state.clone()))
        .collect()
}

/// What a run of the binary gave.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Run `command` (the binary, set up by [`command`]) to its end.
    pub fn of(command: &mut std::process::Command) -> Run {
        let output = command.output().expect("run fleetwright");
        Run {
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Assert the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.status, Some(expected), "{self:?}");
        self
    }
}

/// Run the real binary in `cwd` with a scrubbed environment: only PATH, and
/// HOME pointing at `cwd`; `--state` and `--color never` always given.
pub fn run_in(cwd: &Path, state: &Path, args: &[&str]) -> Run {
    run_in_env(cwd, state, &[], args)
}

/// The binary, to run in `cwd` with a scrubbed environment: only PATH,
/// HOME pointing at `cwd`, and `env`.
pub fn command(cwd: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetwright"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .envs(env.iter().copied())
        .current_dir(cwd);
    command
}

/// [`run_in`] with more environment variables (a token, say).
pub fn run_in_env(cwd: &Path, state: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    Run::of(
        command(cwd, env)
            .arg("--state")
            .arg(state)
            .args(["--color", "never"])
            .args(args),
    )
}

/// The text of `path` in `commit`'s tree.
pub fn file_at(repo: &Repository, commit: Oid, path: &str) -> String {
    let commit = repo.find_commit(commit).unwrap();
    let entry = commit.tree().unwrap().get_path(Path::new(path)).unwrap();
    let blob = entry.to_object(repo).unwrap().peel_to_blob().unwrap();
    String::from_utf8(blob.content().to_vec()).unwrap()
}

/// Where `refs/heads/<branch>` points, if it exists.
pub fn branch_head(repo: &Repository, branch: &str) -> Option<Oid> {
    repo.refname_to_id(&format!("refs/heads/{branch}")).ok()
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
pub fn line_col(text: &str, needle: &str) -> (usize, usize) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in {text}"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, column)
}
