//! fleetwright's integration tests: the real binary on fleets of real git
//! repositories built in a temp dir per test.
//!
//! One test binary (`cargo test --test tests`): its modules live next to this
//! file, so cargo does not build each of them as a test binary of its own.

/// Fixtures: the sandbox fleet, campaign and recipe files, and the runner.
mod util;

/// Campaigns on the local forge: plan, launch, tranches, merge, close, re-runs.
mod campaign;

/// Broken catalogs, recipes and campaign files: what is reported, and where.
mod bad_input;
/// Catalog descriptors read from inside each repository (`catalog: {in_repositories: ...}`).
mod in_repositories;

/// Recipe-exact pull requests and `auto_merge: {when: recipe_exact}`.
mod exact;
mod github;
/// `forge: gitlab` end to end against the GitLab simulator.
mod gitlab;
/// The pull request body: whom to ask, the why of each rule that changed the
/// repository, rules in plain words, assignees, the text kept up to date.
mod pr_body;
/// `preview`, and `scan` of a campaign that was not launched.
mod preview;
/// Campaign, catalog and recipe files read from generated text: no panic.
mod proptests;
/// `recipe check`, `recipe apply` and `recipe test` on a folder, `run:` steps in the sandbox.
mod recipe_cli;
mod recipes;
mod refresh;
/// `fleetwright run`, gates, pauses, throttles, nudges, the campaign lock.
mod rollout;
/// `scan`: what is left to migrate, counted from each default branch.
mod scan;
mod sync;
/// SIGKILL at random moments of `run`, at least 50 times.
mod torture;
mod verify;
/// `fleetwright worker`: several processes on one campaign on PostgreSQL.
mod workers;

/// The command line: completions, manual pages, `--version`, log lines.
mod cli;

/// The clone cache: default places, `cache` and `cache prune`, shallow clones.
mod cache;

/// `fleetwright demo`: the sandbox and its campaign, end to end.
mod demo;

/// `fleetwright report`: every format, from the state alone.
mod report;

/// The campaign's tracking issue (`report.issue`): `report --publish-issue`
/// and `run`, on the local forge and the GitHub simulator.
mod tracking;

/// `status` and `report` at 10,000 targets built in the state (issue 11).
mod scale;

/// The HTML report in headless Chromium: no console errors, a screenshot.
mod browser;

/// Every GitHub request against GitHub's own OpenAPI description (prism).
mod contract;

/// A live Backstage catalog against the loopback Backstage simulator:
/// paging, the token, the snapshot and what changed since.
mod backstage;

/// Every Backstage request against the catalog's own OpenAPI description.
mod contract_backstage;

/// Hostile input (issue 10): tokens offered only to the forge, repository
/// code that looks for them, files that crash parsers, credentials in
/// catalogs, network URLs on the local forge, names that would be
/// Markdown or terminal commands, concurrent first runs.
mod hostile;

/// SSH remotes (issue 14): clones and pushes through a real sshd with a key
/// file or ssh-agent, host keys checked against known_hosts.
mod ssh;
