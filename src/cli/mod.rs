//! The command layer: parses the command line, opens the state, the forge
//! and the workspace in one place, calls the domain modules, and prints.
//! It is the only layer that knows about the terminal (clap, indicatif,
//! colours); the domain modules below it never print.

mod actions;
mod cache;
mod catalog;
mod demo;
pub mod exit;
mod launch;
mod live;
mod local;
pub mod locations;
mod output;
mod plan;
mod preview;
mod progress;
mod recipe;
mod report;
mod rewrite;
mod rollout;
mod scan;
mod shell;
mod statecmd;
mod status;
mod worker;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::campaign::{GitHubSettings, GitLabSettings};
use crate::engine::{Engine, NoProgress, Progress};
use crate::forge::ForgeKind;
use crate::forge::github::{GitHubAuth, GitHubConfig, GitHubForge, PacingConfig};
use crate::forge::gitlab::{GitLabConfig, GitLabForge};
use crate::forge::local::LocalForge;
use crate::git::Workspace;
use crate::secret::Secret;
use crate::state::{CampaignRow, Location, State};

/// `--version`: the crate's version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FLEETWRIGHT_COMMIT"),
    ")"
);

/// fleetwright: land one change in hundreds of repositories.
///
/// A recipe rewrites code; a campaign points it at the repositories of a
/// Backstage catalog and opens pull requests in tranches, tracking every
/// repository in SQLite until the old way is gone.
#[derive(Debug, Parser)]
#[command(
    name = "fleetwright",
    version = VERSION,
    propagate_version = true,
    after_help = format!(
        "{}\n\nExit codes: 0 ok, 1 unexpected error, 2 usage, 3 bad input file, 4 some targets failed, 5 not found, 6 refused.",
        examples(&[
            "fleetwright demo --dir demo-fleet",
            "fleetwright plan campaigns/logging.yaml",
            "fleetwright preview campaigns/logging.yaml",
            "fleetwright launch campaigns/logging.yaml",
            "fleetwright run logging --watch 10m",
            "fleetwright status modernize-logging",
            "source <(fleetwright completions bash)",
        ])
    )
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The state: a SQLite file, or a PostgreSQL database given as
    /// postgres://user:password@host:port/database [default:
    /// $XDG_STATE_HOME/fleetwright/fleetwright.db, else
    /// ~/.local/state/fleetwright/fleetwright.db]
    #[arg(
        long = "state",
        id = "state",
        value_name = "PATH|URL",
        global = true,
        env = "FLEETWRIGHT_STATE"
    )]
    state_arg: Option<PathBuf>,
    /// The clone cache [default: beside an explicit --state, else
    /// $XDG_CACHE_HOME/fleetwright, else ~/.cache/fleetwright]
    #[arg(
        long = "cache",
        id = "cache",
        value_name = "DIR",
        global = true,
        env = "FLEETWRIGHT_CACHE"
    )]
    cache_arg: Option<PathBuf>,
    /// The state database, resolved (`locations`).
    #[arg(skip)]
    state: Location,
    /// The clone cache, resolved (`locations`).
    #[arg(skip)]
    cache: PathBuf,
    /// More output (-v: info, -vv: debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// When to use colours.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "FLEETWRIGHT_COLOR",
        default_value = "auto"
    )]
    color: ColorChoice,
    /// How log lines are written to stderr: `text` for people, `json` (one
    /// object a line) for cron, CI and log collectors.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "FLEETWRIGHT_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    Recipe(recipe::RecipeArgs),
    Catalog(catalog::CatalogArgs),
    Plan(plan::PlanArgs),
    Preview(preview::PreviewArgs),
    Launch(launch::LaunchArgs),
    Advance(launch::AdvanceArgs),
    Sync(launch::SyncArgs),
    Run(rollout::RunArgs),
    Worker(worker::WorkerArgs),
    Pause(rollout::PauseArgs),
    Resume(rollout::ResumeArgs),
    Cancel(rollout::CancelArgs),
    Status(status::StatusArgs),
    Scan(scan::ScanArgs),
    Report(report::ReportArgs),
    Local(local::LocalArgs),
    Demo(demo::DemoArgs),
    Cache(cache::CacheArgs),
    State(statecmd::StateArgs),
    Completions(shell::CompletionsArgs),
    Man(shell::ManArgs),
    /// One target's rewrite, in a child process of `run` (internal).
    #[command(name = "__rewrite", hide = true)]
    Rewrite,
}

/// The widest an example's line is in `--help`: narrower than an
/// 80-column terminal, so clap never wraps one (a wrapped command cannot
/// be copied).
const EXAMPLE_WIDTH: usize = 76;

/// `--help`'s examples: one command a line, each line kept whole; a
/// command longer than [`EXAMPLE_WIDTH`] is split between its words with
/// a shell continuation (` \`), so it still pastes as one command.
pub(crate) fn examples(commands: &[&str]) -> String {
    let mut out = String::from(if commands.len() == 1 {
        "Example:"
    } else {
        "Examples:"
    });
    for command in commands {
        let mut line = String::from("  ");
        // An option stays on one line with its value.
        let words = shell_words(command);
        let mut units: Vec<String> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            match words.get(i + 1) {
                Some(value) if words[i].starts_with('-') && !value.starts_with('-') => {
                    units.push(format!("{} {value}", words[i]));
                    i += 2;
                }
                _ => {
                    units.push(words[i].to_string());
                    i += 1;
                }
            }
        }
        for word in &units {
            let indent = if line.trim().is_empty() { "" } else { " " };
            if line.trim().is_empty() || line.len() + 1 + word.len() + 2 <= EXAMPLE_WIDTH {
                line.push_str(indent);
                line.push_str(word);
            } else {
                out.push('\n');
                out.push_str(&line);
                out.push_str(" \\");
                line = format!("      {word}");
            }
        }
        out.push('\n');
        out.push_str(&line);
    }
    out
}

/// The words of a command as a shell splits it (a quoted string is one
/// word), kept as written.
fn shell_words(command: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote = None;
    for (i, c) in command.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => {
                quote = Some(c);
                start.get_or_insert(i);
            }
            (None, ' ') => {
                if let Some(s) = start.take() {
                    words.push(&command[s..i]);
                }
            }
            (None, _) => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        words.push(&command[s..]);
    }
    words
}

/// Parse `args` and run the command; the exit code says how it went.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return exit::code(code);
        }
    };
    // Only the commands that use the state or the cache need them placed.
    if !matches!(
        cli.command,
        Command::Recipe(_)
            | Command::Plan(_)
            | Command::Demo(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Rewrite
    ) {
        let resolved = locations::resolve(
            cli.global.state_arg.as_deref(),
            cli.global.cache_arg.as_deref(),
            |name| std::env::var(name).ok(),
        );
        match resolved {
            Ok(at) => {
                let explicit = cli.global.state_arg.is_some();
                if let Some(warning) = locations::old_state_warning(explicit, &at.state)
                    && !cli.global.quiet
                {
                    eprintln!("warning: {warning}");
                }
                cli.global.state = at.state;
                cli.global.cache = at.cache;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return exit::code(exit::USAGE);
            }
        }
    }
    if let Command::Rewrite = cli.command {
        // The child of a run: no runtime, no logging of its own.
        return match rewrite::run() {
            Ok(code) => exit::code(code),
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::code(exit::ERROR)
            }
        };
    }
    let ui = Ui::new(&cli.global);
    init_tracing(&cli.global, &ui);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::code(exit::ERROR);
        }
    };
    match runtime.block_on(run(cli, &ui)) {
        Ok(code) => exit::code(code),
        Err(error) => {
            let (code, hint) = exit::classify(&error);
            output::print_error(&ui, &error, hint.as_deref());
            exit::code(code)
        }
    }
}

async fn run(cli: Cli, ui: &Ui) -> anyhow::Result<u8> {
    let global = &cli.global;
    match cli.command {
        Command::Recipe(args) => recipe::run(args, ui),
        Command::Catalog(args) => catalog::run(args, ui),
        Command::Plan(args) => plan::run(args, global, ui).await,
        Command::Preview(args) => preview::run(args, global, ui).await,
        Command::Launch(args) => launch::launch(args, global, ui).await,
        Command::Advance(args) => launch::advance(args, global, ui).await,
        Command::Sync(args) => launch::sync(args, global, ui).await,
        Command::Run(args) => rollout::run(args, global, ui).await,
        Command::Worker(args) => worker::run(args, global, ui).await,
        Command::State(args) => statecmd::run(args, global, ui).await,
        Command::Pause(args) => rollout::pause(args, global, ui).await,
        Command::Resume(args) => rollout::resume(args, global, ui).await,
        Command::Cancel(args) => rollout::cancel(args, global, ui).await,
        Command::Status(args) => status::run(args, global, ui).await,
        Command::Scan(args) => scan::run(args, global, ui).await,
        Command::Report(args) => report::run(args, global, ui).await,
        Command::Local(args) => local::run(args, global, ui).await,
        Command::Demo(args) => demo::run(args, ui).await,
        Command::Cache(args) => cache::run(args, global, ui).await,
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
        Command::Rewrite => rewrite::run(),
    }
}

/// How to talk to the person at the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Colours on stderr.
    pub color: bool,
    /// Progress bars and notes on stderr.
    pub quiet: bool,
}

impl Ui {
    fn new(global: &GlobalArgs) -> Self {
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // NO_COLOR counts when it is set and not empty (no-color.org).
            ColorChoice::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Ui {
            color,
            quiet: global.quiet,
        }
    }

    /// A note for the person (stderr), unless quiet.
    pub fn note(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            let _ = progress::eprint_lines(format!("{text}\n").as_bytes());
        }
    }

    /// The progress reporter for a long operation.
    pub fn progress(&self) -> Arc<dyn Progress> {
        if self.quiet {
            Arc::new(NoProgress)
        } else {
            Arc::new(progress::Bars::new())
        }
    }
}

/// Log lines to stderr, as `-v`/`-q`/`RUST_LOG` ask, in `--log-format`,
/// coloured only when the terminal is (`--color`, `NO_COLOR`), never
/// through a progress bar.
fn init_tracing(global: &GlobalArgs, ui: &Ui) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("fleetwright={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::Stderr)
        .with_target(false);
    let _ = match global.log_format {
        LogFormat::Text => builder.with_ansi(ui.color).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// The state at `path` and the campaign `name` recorded in it. Commands that
/// act on a launched campaign never create a state database: a wrong path or
/// name is "not found", with the campaigns the state does hold as the hint.
async fn recorded_campaign(path: &Location, name: &str) -> anyhow::Result<(State, CampaignRow)> {
    let not_found =
        |what: String| exit::Refusal::new(exit::NOT_FOUND, format!("no campaign `{name}`: {what}"));
    if !path.exists() {
        return Err(not_found(format!("there is no state database at {path}"))
            .hint("pass the state the campaign was launched with (--state or FLEETWRIGHT_STATE); `fleetwright launch` creates one")
            .into());
    }
    let state = open_state(path).await?;
    if let Some(row) = state.campaign(name).await? {
        return Ok((state, row));
    }
    let names = state.campaign_names().await?;
    let hint = if names.is_empty() {
        "this state holds no campaign yet: `fleetwright launch CAMPAIGN_FILE` records one"
            .to_string()
    } else {
        format!("campaigns in this state: {}", names.join(", "))
    };
    Err(not_found(format!("it is not in {path}")).hint(hint).into())
}

/// The engine for `campaign`, on the forge it names.
fn campaign_engine(
    state: &State,
    cache: &Path,
    campaign: &crate::campaign::Campaign,
    ui: &Ui,
    jobs: Option<usize>,
) -> anyhow::Result<Engine> {
    engine(state, cache, campaign.forge, Some(campaign), ui, jobs)
}

/// An engine for work that records nothing (`preview`, the `scan` of a
/// campaign that was not launched), on the forge `campaign` names: its
/// state is a scratch database in a temporary folder, gone when the
/// returned folder is dropped. The clone cache is the real one.
async fn scratch_engine(
    cache: &Path,
    campaign: &crate::campaign::Campaign,
    ui: &Ui,
    jobs: Option<usize>,
) -> anyhow::Result<(tempfile::TempDir, Engine)> {
    let scratch = tempfile::Builder::new()
        .prefix("fleetwright-scratch-")
        .tempdir()
        .map_err(|e| {
            exit::Refusal::new(
                exit::REFUSED,
                format!("cannot make a temporary folder: {e}"),
            )
            .hint("check that $TMPDIR (or /tmp) exists and can be written")
        })?;
    let state = State::open(&scratch.path().join("scratch.db")).await?;
    let engine = campaign_engine(&state, cache, campaign, ui, jobs)?;
    Ok((scratch, engine))
}

/// The GitHub forge a campaign's `github:` section describes: a token from
/// the environment variable it names, or its GitHub App. With `state`, its
/// writes share one budget with every process of that state.
pub(super) fn github_forge(
    settings: &GitHubSettings,
    state: Option<&State>,
) -> anyhow::Result<GitHubForge> {
    let auth = match &settings.app {
        Some(app) => {
            // Repository code never reads the App's key, wherever it is.
            crate::sandbox::hide(&app.private_key_file);
            let pem = std::fs::read_to_string(&app.private_key_file).map_err(|e| {
                exit::Refusal::new(
                    exit::BAD_INPUT,
                    format!(
                        "cannot read the GitHub App's private key {}: {e}",
                        app.private_key_file.display()
                    ),
                )
                .hint("download the app's private key (a .pem file) and name it in github.app.private_key_file")
            })?;
            GitHubAuth::App {
                app_id: app.id,
                private_key_pem: Secret::new(pem),
                installation_id: app.installation_id,
            }
        }
        None => {
            let token = crate::secret::env_var(&settings.token_env);
            let token = token.as_ref().map_or("", |t| t.expose().trim());
            if token.is_empty() {
                return Err(exit::Refusal::new(
                    exit::BAD_INPUT,
                    format!(
                        "the environment variable {} holds no GitHub token",
                        settings.token_env
                    ),
                )
                .hint(format!(
                    "export {}=<token> (fine-grained: Contents and Pull requests read and write, and Issues for report.issue), or set github.app in the campaign; see docs/forges.md",
                    settings.token_env
                ))
                .into());
            }
            GitHubAuth::Token(Secret::new(token))
        }
    };
    let pacing = PacingConfig {
        min_interval: std::time::Duration::from_millis(settings.min_interval_ms),
        per_minute: settings.per_minute,
        per_hour: settings.per_hour,
        ..PacingConfig::default()
    }
    .within_github_limits();
    let config = GitHubConfig {
        api_url: settings.api_url.clone(),
        pacing,
        merge_method: settings.merge_method.clone(),
        git_url: settings.git_url.clone(),
        shared_budget: state.map(|s| shared_budget(s, &settings.api_url)),
        ..GitHubConfig::new(auth)
    };
    GitHubForge::new(config).map_err(|e| {
        exit::Refusal::new(exit::BAD_INPUT, format!("cannot set up GitHub: {e}")).into()
    })
}

/// Open the state database named on the command line, creating it if needed.
///
/// `FLEETWRIGHT_NOW` (an RFC 3339 time) freezes the state's clock at that
/// time, for tests and rehearsals of a campaign's weeks; it is not needed
/// for anything else.
async fn open_state(location: &Location) -> anyhow::Result<State> {
    // Repository code never sees the state, the clone cache or the locks.
    if let Some(folder) = location.folder() {
        crate::sandbox::hide(folder);
    }
    let clock: Arc<dyn crate::clock::Clock> = match std::env::var("FLEETWRIGHT_NOW") {
        Ok(now) if !now.trim().is_empty() => {
            let at: jiff::Timestamp = now.trim().parse().map_err(|e| {
                exit::Refusal::new(
                    exit::USAGE,
                    format!("FLEETWRIGHT_NOW=`{now}` is not a time: {e}"),
                )
                .hint("write it as 2026-12-01T09:00:00Z, or unset it")
            })?;
            Arc::new(crate::clock::ManualClock::starting_at(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(at.as_second().max(0) as u64),
            ))
        }
        _ => Arc::new(crate::clock::SystemClock),
    };
    State::open_with_clock(location.clone(), clock)
        .await
        .with_context(|| format!("cannot use the state at {location}"))
}

/// Build the engine over `state`: the forge the campaign names (`github`
/// and `gitlab` set up from their sections of `campaign`), the clone cache
/// in `cache` (clones under `repos/`), and progress for `ui`.
fn engine(
    state: &State,
    cache: &Path,
    forge: ForgeKind,
    campaign: Option<&crate::campaign::Campaign>,
    ui: &Ui,
    jobs: Option<usize>,
) -> anyhow::Result<Engine> {
    let forge = forge_client(state, forge, campaign)?;
    let workspace = workspace(cache)?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    Ok(
        Engine::new(state.clone(), forge, workspace, ui.progress(), jobs)
            .with_rewriter(crate::engine::Rewriter::child()),
    )
}

/// The forge a campaign names, over `state` (`github` and `gitlab` set up
/// from their sections of `campaign`). One per command: on GitHub and
/// GitLab, all of a command's requests share its pacing.
fn forge_client(
    state: &State,
    forge: ForgeKind,
    campaign: Option<&crate::campaign::Campaign>,
) -> anyhow::Result<Arc<dyn crate::forge::Forge>> {
    Ok(match (forge, campaign) {
        (ForgeKind::Local, _) => Arc::new(LocalForge::new(state.clone())),
        // ETags and answers kept in the state: the next process's sync is
        // conditional too.
        (ForgeKind::Github, Some(campaign)) => {
            Arc::new(github_forge(&campaign.github, Some(state))?.keep_answers_in(state.clone()))
        }
        (ForgeKind::Gitlab, Some(campaign)) => {
            Arc::new(gitlab_forge(&campaign.gitlab, Some(state))?)
        }
        (ForgeKind::Github | ForgeKind::Gitlab, None) => {
            return Err(exit::Refusal::new(
                exit::BAD_INPUT,
                format!("the {forge} forge cannot be used here without the campaign file's `{forge}:` settings"),
            )
            .into());
        }
    })
}

/// The GitLab forge a campaign's `gitlab:` section describes: a token from
/// the environment variable it names. With `state`, its writes share one
/// budget with every process of that state.
pub(super) fn gitlab_forge(
    settings: &GitLabSettings,
    state: Option<&State>,
) -> anyhow::Result<GitLabForge> {
    let token = crate::secret::env_var(&settings.token_env);
    let token = token.as_ref().map_or("", |t| t.expose().trim());
    if token.is_empty() {
        return Err(exit::Refusal::new(
            exit::BAD_INPUT,
            format!(
                "the environment variable {} holds no GitLab token",
                settings.token_env
            ),
        )
        .hint(format!(
            "export {}=<token>: a personal, project or group access token with the `api` scope (and `write_repository` for pushes); see docs/forges.md",
            settings.token_env
        ))
        .into());
    }
    let pacing = PacingConfig {
        min_interval: std::time::Duration::from_millis(settings.min_interval_ms),
        per_minute: settings.per_minute,
        per_hour: settings.per_hour,
        ..crate::forge::gitlab::default_pacing()
    };
    let config = GitLabConfig {
        api_url: settings.api_url.clone(),
        git_url: settings.git_url.clone(),
        token_header: settings.token_header,
        merge_when_pipeline_succeeds: settings.merge_when_pipeline_succeeds,
        pacing,
        shared_budget: state.map(|s| shared_budget(s, &settings.api_url)),
        ..GitLabConfig::new(Secret::new(token))
    };
    GitLabForge::new(config).map_err(|e| {
        exit::Refusal::new(exit::BAD_INPUT, format!("cannot set up GitLab: {e}")).into()
    })
}

/// The forge write budget every process of `state` shares, for the forge
/// at `api_url`, reserved as this process.
fn shared_budget(state: &State, api_url: &str) -> Arc<dyn crate::forge::pacing::SharedBudget> {
    let holder = format!("{}:{}", crate::state::hostname(), std::process::id());
    Arc::new(crate::state::StateBudget::new(
        state.clone(),
        api_url,
        &holder,
    ))
}

/// The clone cache in `cache` (clones under `repos/`), created, and hidden
/// from repository code like the state.
pub(super) fn workspace(cache: &Path) -> anyhow::Result<Workspace> {
    let repos = cache.join("repos");
    std::fs::create_dir_all(&repos).map_err(|e| {
        exit::Refusal::new(
            exit::REFUSED,
            format!("cannot create the clone cache {}: {e}", repos.display()),
        )
        .hint("check its permissions, or put the cache elsewhere with --cache DIR (or FLEETWRIGHT_CACHE)")
    })?;
    // Repository code never sees the other clones.
    crate::sandbox::hide(cache);
    Ok(Workspace::new(repos))
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    use super::{Cli, examples, shell_words};

    /// Every command and subcommand, with its path (`fleetwright local
    /// merge`).
    fn all(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            all(sub, name, out);
        }
        out.push((path, cmd.clone()));
    }

    #[test]
    fn help_examples_keep_their_lines_on_an_80_column_terminal() {
        let mut commands = Vec::new();
        all(&Cli::command(), "fleetwright".into(), &mut commands);
        let mut seen = 0;
        for (path, cmd) in commands {
            if cmd.is_hide_set() {
                continue;
            }
            let source = cmd
                .get_after_long_help()
                .or(cmd.get_after_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            let help = cmd.term_width(80).render_long_help().to_string();
            for line in source.lines().filter(|l| l.starts_with("  ")) {
                seen += 1;
                assert!(line.len() <= 78, "{path}: `{line}` is {} wide", line.len());
                assert!(
                    help.lines().any(|h| h.trim_end() == line),
                    "{path}: the example line `{line}` was broken in:\n{help}"
                );
            }
        }
        assert!(seen > 30, "only {seen} example lines");
    }

    #[test]
    fn a_long_example_is_split_between_words_with_a_continuation() {
        let text = examples(&[
            "fleetwright local close modernize-deprecated-apis billing-api --comment \"service retired in Q3 after the big migration\"",
        ]);
        assert_eq!(
            text,
            "Example:\n  fleetwright local close modernize-deprecated-apis billing-api \\\n      --comment \"service retired in Q3 after the big migration\""
        );
        // Pasted back, the lines are the same command.
        let joined = text
            .lines()
            .skip(1)
            .map(|l| l.trim().trim_end_matches('\\').trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            shell_words(&joined),
            shell_words(
                "fleetwright local close modernize-deprecated-apis billing-api --comment \"service retired in Q3 after the big migration\""
            )
        );
    }
}
