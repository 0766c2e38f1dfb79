//! The demo sandbox: four teams, two dozen Python and Go services that still
//! call deprecated APIs (`logging.warn`, `interface{}`), a recipe that
//! replaces them and a campaign that rolls the recipe out in tranches.
//!
//! The content is chosen so that a demo run shows every outcome a real
//! campaign meets: repositories that change, repositories already migrated
//! (`no_change`), a deprecated component the target filter excludes, a
//! repository whose default branch is `master`, and look-alikes the recipe
//! must leave alone (`warnings.warn(...)`, non-empty Go interfaces).

use std::io;
use std::path::{Path, PathBuf};

use super::{Fleet, FleetError, FleetSpec, RepoSpec, TeamSpec};

/// The file that marks a directory as a demo sandbox `build_demo` may clear.
pub const DEMO_MARKER: &str = ".fleetwright-demo";

/// Where the demo's recipe goes, relative to the demo directory.
pub const RECIPE_PATH: &str = "migrations-recipes/modernize.yaml";
/// Where the demo's campaign goes, relative to the demo directory.
pub const CAMPAIGN_PATH: &str = "campaign.yaml";

const MARKER_TEXT: &str = "This directory is a sandbox made by `fleetwright demo`.\n\
Running `fleetwright demo` on it again deletes everything here and builds it anew.\n";

/// How big a demo to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Number of repositories (default 24).
    pub repos: usize,
    /// Number of teams (default 4; at least 1 is used).
    pub teams: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            repos: 24,
            teams: 4,
        }
    }
}

/// A built demo sandbox.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The fleet: `remotes/` and `catalog/` under `dir`.
    pub fleet: Fleet,
    /// `dir/migrations-recipes/modernize.yaml`.
    pub recipe: PathBuf,
    /// `dir/campaign.yaml`.
    pub campaign: PathBuf,
    /// The demo directory.
    pub dir: PathBuf,
}

/// The demo's recipe: `logging.warn` → `logging.warning`, `interface{}` → `any`.
pub const RECIPE_YAML: &str =
    include_str!("../../migrations-recipes/modernize-deprecated-apis/recipe.yaml");

/// The demo's campaign.
pub const CAMPAIGN_YAML: &str = r#"name: modernize-deprecated-apis
recipe: migrations-recipes/modernize.yaml   # relative to this file
catalog: catalog/all.yaml                   # relative to this file
forge: local
targets:
  kind: Component
  lifecycle: [production, experimental]
  exclude: []
# Least risky first: experimental services, then the smallest teams.
order: [lifecycle, team-size]
tranches:
  - {name: canary, size: 1}
  - {name: experimental, select: {lifecycle: experimental}}
  - {name: early adopters, size: "25%"}
  - {name: everyone else, size: rest}
# The next tranche opens when 80% of the previous one is merged or
# declined, and less than 20% of its pull requests fail CI.
gate:
  merged: "80%"
  count_declined: true
  max_ci_failures: "20%"
# Stop opening pull requests when 40% of the newest tranche fails CI.
pause_when:
  ci_failures: "40%"
throttle:
  max_open: 6
  per_hour: 10
  window: {days: mon-fri, hours: "08:00-18:00", timezone: UTC}
# One polite comment on a pull request nobody reviewed for 3 days.
stale:
  after_days: 3
pull_request:
  title: "Replace deprecated APIs in {{ repo }}"
  branch: fleetwright/modernize-deprecated-apis
  labels: [fleetwright, tech-debt]
  draft: false
  # The platform team reviewed the recipe once (`fleetwright preview`): a
  # pull request that holds exactly the recipe's change merges itself once
  # its checks pass. A commit by a person on the branch stops that.
  auto_merge: {when: recipe_exact}
"#;

/// `(name, display name, GitHub team slug, system, members)` of the demo's teams.
type TeamRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
);

const TEAMS: [TeamRow; 4] = [
    (
        "team-payments",
        "Payments",
        "acme/payments",
        "payments",
        &[
            ("ana.lopez", "Ana López", "ana-lopez"),
            ("tom.becker", "Tom Becker", "tbecker"),
            ("priya.nair", "Priya Nair", "priyanair"),
        ],
    ),
    (
        "team-search",
        "Search",
        "acme/search",
        "search",
        &[
            ("kenji.sato", "Kenji Sato", "ksato"),
            ("fatima.ali", "Fatima Ali", "fatima-ali"),
        ],
    ),
    (
        "team-identity",
        "Identity",
        "acme/identity",
        "identity",
        &[
            ("lena.hoffmann", "Lena Hoffmann", "lhoffmann"),
            ("marcus.green", "Marcus Green", "mgreen"),
            ("sofia.rossi", "Sofia Rossi", "srossi"),
        ],
    ),
    (
        "team-platform",
        "Platform",
        "acme/platform",
        "developer-platform",
        &[
            ("dev.patel", "Dev Patel", "devpatel"),
            ("olga.ivanova", "Olga Ivanova", "oivanova"),
        ],
    ),
];

/// Repository names, in rows of four that match the teams' order, so that
/// the default round-robin gives each team names of its own trade.
const REPO_NAMES: [&str; 24] = [
    "billing-api",
    "search-indexer",
    "auth-service",
    "deploy-bot",
    "invoice-worker",
    "query-api",
    "session-store",
    "metrics-exporter",
    "payment-gateway",
    "ranking-service",
    "user-profile-api",
    "config-service",
    "refund-service",
    "autocomplete",
    "sso-bridge",
    "feature-flags",
    "ledger-sync",
    "crawler-scheduler",
    "mfa-worker",
    "log-shipper",
    "checkout-web",
    "synonyms-loader",
    "token-issuer",
    "status-page",
];

/// The index of the one `deprecated` repository, which the campaign's
/// lifecycle filter excludes.
fn deprecated_index(repos: usize) -> Option<usize> {
    match repos {
        0 | 1 => None,
        n if n > 10 => Some(10),
        n => Some(n - 1),
    }
}

/// Repositories already migrated (about one in six): no deprecated API left,
/// so the campaign reports them `no_change`.
fn is_migrated(index: usize) -> bool {
    index % 6 == 3
}

/// The repository that opted out of campaigns with a `.fleetwright.yaml`.
const OPTED_OUT_INDEX: usize = 16;

const OPT_OUT_YAML: &str = "# This service is being rewritten; campaigns skip it.\nopt_out:\n  reason: \"Being rewritten in Rust this quarter; the old code is frozen.\"\n";

/// The single repository whose default branch is `master`, not `main`.
const MASTER_BRANCH_INDEX: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Go,
}

/// The demo fleet: `opts.teams` teams (at least one), `opts.repos`
/// repositories dealt round-robin over them; half Python, half Go; mostly
/// production, some experimental, one deprecated.
pub fn demo_spec(opts: &DemoOptions) -> FleetSpec {
    let team_count = opts.teams.max(1);
    let teams: Vec<TeamSpec> = (0..team_count).map(demo_team).collect();
    let repos = (0..opts.repos)
        .map(|i| demo_repo(i, team_count, opts.repos, &teams[i % team_count]))
        .collect();
    FleetSpec { teams, repos }
}

/// Team `t`: one of the four named teams, or `<name>-<n>` when more are asked for.
fn demo_team(t: usize) -> TeamSpec {
    let (name, display, slug, _, members) = TEAMS[t % TEAMS.len()];
    let round = t / TEAMS.len();
    let suffix = |s: &str, sep: &str| {
        if round == 0 {
            s.to_string()
        } else {
            format!("{s}{sep}{}", round + 1)
        }
    };
    TeamSpec {
        name: suffix(name, "-"),
        display_name: suffix(display, " "),
        team_slug: suffix(slug, "-"),
        members: members
            .iter()
            .map(|(user, display, login)| {
                (
                    suffix(user, "-"),
                    (*display).to_string(),
                    suffix(login, "-"),
                )
            })
            .collect(),
    }
}

fn team_system(t: usize) -> String {
    let (_, _, _, system, _) = TEAMS[t % TEAMS.len()];
    let round = t / TEAMS.len();
    if round == 0 {
        system.to_string()
    } else {
        format!("{system}-{}", round + 1)
    }
}

fn demo_repo(i: usize, team_count: usize, repo_count: usize, team: &TeamSpec) -> RepoSpec {
    let base = REPO_NAMES[i % REPO_NAMES.len()];
    let name = match i / REPO_NAMES.len() {
        0 => base.to_string(),
        round => format!("{base}-{}", round + 1),
    };
    // Whole rounds of the round-robin alternate languages, so every team
    // gets both.
    let lang = if (i / team_count).is_multiple_of(2) {
        Lang::Python
    } else {
        Lang::Go
    };
    let migrated = is_migrated(i);
    let deprecated = deprecated_index(repo_count) == Some(i);
    let lifecycle = if deprecated {
        "deprecated"
    } else if i % 5 == 4 {
        "experimental"
    } else {
        "production"
    };
    let spec_type = match base {
        "checkout-web" | "status-page" => "website",
        "feature-flags" | "synonyms-loader" => "library",
        _ => "service",
    };
    let mut tags = vec![match lang {
        Lang::Python => "python".to_string(),
        Lang::Go => "go".to_string(),
    }];
    tags.push(
        if base.contains("worker") {
            "worker"
        } else {
            "http"
        }
        .to_string(),
    );
    if deprecated {
        tags.push("legacy".to_string());
    }
    // Libraries belong to no system; every other component to its team's.
    let system = (spec_type != "library").then(|| team_system(i % team_count));
    let default_branch = if i == MASTER_BRANCH_INDEX {
        "master"
    } else {
        "main"
    };
    let mut files = match lang {
        Lang::Python => python_files(&name, team, migrated, i.is_multiple_of(2)),
        Lang::Go => go_files(&name, team, migrated),
    };
    if i == OPTED_OUT_INDEX {
        files.push((crate::optout::FILE.to_string(), OPT_OUT_YAML.to_string()));
    }
    RepoSpec {
        name,
        team: team.name.clone(),
        spec_type: spec_type.to_string(),
        lifecycle: lifecycle.to_string(),
        system,
        tags,
        default_branch: default_branch.to_string(),
        files,
    }
}

const PY_INIT: &str = r#""""@NAME@, a service of the @DISPLAY@ team."""

__version__ = "1.4.0"
"#;

const PY_APP: &str = r#""""HTTP entry point of @NAME@."""

import logging
import os

from @MODULE@.handlers import handle_request

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080


def read_port():
    raw = os.environ.get("PORT", "")
    if not raw:
        logging.@WARN@("PORT is not set, using %d", DEFAULT_PORT)
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        logging.@WARN@("PORT=%r is not a number, using %d", raw, DEFAULT_PORT)
        return DEFAULT_PORT


def main():
    logging.basicConfig(level=logging.INFO)
    port = read_port()
    log.info("@NAME@ starting on port %d", port)
    return handle_request({"path": "/health"})


if __name__ == "__main__":
    main()
"#;

const PY_HANDLERS: &str = r#""""Request handlers of @NAME@."""

import logging
@IMPORT_WARNINGS@
MAX_BODY_BYTES = 1 << 20


def handle_request(request):
    path = request.get("path", "/")
    if path == "/health":
        return {"status": 200, "body": "ok"}
    body = request.get("body", b"")
    if len(body) > MAX_BODY_BYTES:
        logging.@WARN@(
            "request body too large: %d bytes (limit %d)",
            len(body),
            MAX_BODY_BYTES,
        )
        return {"status": 413, "body": "payload too large"}
@LEGACY@    return {"status": 404, "body": "not found"}
"#;

const PY_LEGACY: &str = r#"    if request.get("legacy_auth"):
        warnings.warn("legacy_auth is deprecated, send a bearer token", DeprecationWarning, stacklevel=2)
"#;

const PY_TEST: &str = r#"from @MODULE@.handlers import handle_request


def test_health():
    assert handle_request({"path": "/health"})["status"] == 200


def test_unknown_path_is_404():
    assert handle_request({"path": "/nope"})["status"] == 404


def test_large_body_is_rejected():
    assert handle_request({"path": "/upload", "body": b"x" * (2 << 20)})["status"] == 413
"#;

const PY_README: &str = r#"# @NAME@

A Python service of the @DISPLAY@ team (`@TEAM@`).

## Develop

    pip install -r requirements.txt
    python -m @MODULE@.app
    pytest
"#;

/// A small Python service. `migrated` ones already call `logging.warning`;
/// `legacy_warning` ones also call `warnings.warn`, which is not the
/// deprecated API and must survive the recipe.
fn python_files(
    name: &str,
    team: &TeamSpec,
    migrated: bool,
    legacy_warning: bool,
) -> Vec<(String, String)> {
    let module = name.replace('-', "_");
    let fill = |template: &str| {
        template
            .replace(
                "@IMPORT_WARNINGS@",
                if legacy_warning {
                    "import warnings\n"
                } else {
                    ""
                },
            )
            .replace("@LEGACY@", if legacy_warning { PY_LEGACY } else { "" })
            .replace("@WARN@", if migrated { "warning" } else { "warn" })
            .replace("@MODULE@", &module)
            .replace("@NAME@", name)
            .replace("@DISPLAY@", &team.display_name)
            .replace("@TEAM@", &team.name)
    };
    vec![
        ("README.md".into(), fill(PY_README)),
        (
            "requirements.txt".into(),
            "gunicorn==23.0.0\npytest==8.3.3\n".into(),
        ),
        (format!("{module}/__init__.py"), fill(PY_INIT)),
        (format!("{module}/app.py"), fill(PY_APP)),
        (format!("{module}/handlers.py"), fill(PY_HANDLERS)),
        ("tests/test_handlers.py".into(), fill(PY_TEST)),
    ]
}

const GO_MOD: &str = "module github.com/acme/@NAME@\n\ngo 1.21\n";

const GO_MAIN: &str = r#"// Command @NAME@ serves the HTTP API of @NAME@.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/acme/@NAME@/internal/store"
)

var items = store.New()

func main() {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	http.HandleFunc("/health", health)
	http.HandleFunc("/items/", getItem)
	log.Printf("@NAME@ listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}

func health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]@ANY@{"status": "ok"})
}

func getItem(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Path[len("/items/"):]
	value, ok := items.Get(key)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]@ANY@{"error": "no such item", "key": key})
		return
	}
	writeJSON(w, http.StatusOK, value)
}

func writeJSON(w http.ResponseWriter, status int, body @ANY@) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		log.Printf("encode response: %v", err)
	}
}
"#;

const GO_STORE: &str = r#"// Package store keeps items in memory.
package store

import "sync"

// Getter reads items.
type Getter interface {
	Get(key string) (@ANY@, bool)
}

var _ Getter = (*Store)(nil)

// Store is an in-memory key/value store, safe for concurrent use.
type Store struct {
	mu    sync.RWMutex
	items map[string]@ANY@
}

// New returns an empty Store.
func New() *Store {
	return &Store{items: make(map[string]@ANY@)}
}

// Get returns the item stored under key.
func (s *Store) Get(key string) (@ANY@, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.items[key]
	return v, ok
}

// Put stores value under key.
func (s *Store) Put(key string, value @ANY@) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[key] = value
}
"#;

const GO_STORE_TEST: &str = r#"package store

import "testing"

func TestPutThenGet(t *testing.T) {
	s := New()
	s.Put("a", 1)
	if v, ok := s.Get("a"); !ok || v != 1 {
		t.Fatalf("Get(a) = %v, %v; want 1, true", v, ok)
	}
}

func TestGetMissing(t *testing.T) {
	if _, ok := New().Get("nope"); ok {
		t.Fatal("Get(nope) found an item in an empty store")
	}
}
"#;

const GO_README: &str = r#"# @NAME@

A Go service of the @DISPLAY@ team (`@TEAM@`).

## Develop

    go run .
    go test ./...
"#;

/// A small Go service. `migrated` ones already say `any`; the others use
/// `interface{}` in signatures and maps. The non-empty `Getter` interface
/// must survive the recipe either way.
fn go_files(name: &str, team: &TeamSpec, migrated: bool) -> Vec<(String, String)> {
    let fill = |template: &str| {
        template
            .replace("@ANY@", if migrated { "any" } else { "interface{}" })
            .replace("@NAME@", name)
            .replace("@DISPLAY@", &team.display_name)
            .replace("@TEAM@", &team.name)
    };
    vec![
        ("README.md".into(), fill(GO_README)),
        ("go.mod".into(), fill(GO_MOD)),
        ("main.go".into(), fill(GO_MAIN)),
        ("internal/store/store.go".into(), fill(GO_STORE)),
        ("internal/store/store_test.go".into(), fill(GO_STORE_TEST)),
    ]
}

/// Build the demo sandbox in `dir`: the fleet (`remotes/`, `catalog/`), the
/// recipe (`migrations-recipes/modernize.yaml`), the campaign
/// (`campaign.yaml`) and the marker file `.fleetwright-demo`.
///
/// A directory that holds the marker is cleared first, so the demo can be
/// run again on the same directory. A non-empty directory without the marker
/// is refused and left untouched. Symbolic links are never followed.
pub fn build_demo(dir: &Path, opts: &DemoOptions) -> Result<Demo, FleetError> {
    prepare_dir(dir)?;
    // The marker goes first: if the build fails half-way, running the demo
    // again still recognises (and clears) the directory.
    let marker = dir.join(DEMO_MARKER);
    std::fs::write(&marker, MARKER_TEXT).map_err(FleetError::io("write", &marker))?;

    let fleet = super::build(dir, &demo_spec(opts))?;

    let recipe = dir.join(RECIPE_PATH);
    if let Some(parent) = recipe.parent() {
        std::fs::create_dir_all(parent).map_err(FleetError::io("create directory", parent))?;
    }
    std::fs::write(&recipe, RECIPE_YAML).map_err(FleetError::io("write", &recipe))?;
    let campaign = dir.join(CAMPAIGN_PATH);
    std::fs::write(&campaign, CAMPAIGN_YAML).map_err(FleetError::io("write", &campaign))?;

    Ok(Demo {
        fleet,
        recipe,
        campaign,
        dir: dir.to_path_buf(),
    })
}

/// Make `dir` an empty directory, or refuse: create it when absent, clear it
/// when it carries the demo marker, and leave anything else alone.
fn prepare_dir(dir: &Path) -> Result<(), FleetError> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return std::fs::create_dir_all(dir).map_err(FleetError::io("create directory", dir));
        }
        Err(e) => return Err(FleetError::io("inspect", dir)(e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(FleetError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Ok(_) => {}
    }
    let entries = std::fs::read_dir(dir)
        .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
        .map_err(FleetError::io("read directory", dir))?;
    if entries.is_empty() {
        return Ok(());
    }
    let marker = dir.join(DEMO_MARKER);
    let has_marker = std::fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file());
    if !has_marker {
        return Err(FleetError::NotADemoDir {
            dir: dir.to_path_buf(),
        });
    }
    for entry in entries {
        let path = entry.path();
        if path == marker {
            continue;
        }
        // `file_type` does not follow symlinks, and neither does
        // `remove_dir_all`: a link is removed, never what it points at.
        let file_type = entry
            .file_type()
            .map_err(FleetError::io("inspect", &path))?;
        if file_type.is_dir() {
            std::fs::remove_dir_all(&path).map_err(FleetError::io("remove", &path))?;
        } else {
            std::fs::remove_file(&path).map_err(FleetError::io("remove", &path))?;
        }
    }
    Ok(())
}
