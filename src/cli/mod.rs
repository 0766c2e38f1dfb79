//! The command layer: parses the command line, opens the state, the forge
//! and the workspace in one place, calls the domain modules, and prints.
//! It is the only layer that knows about the terminal (clap, indicatif,
//! colours); the domain modules below it never print.

mod cache;
mod catalog;
mod demo;
pub mod exit;
mod launch;
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
mod status;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::campaign::GitHubSettings;
use crate::engine::{Engine, NoProgress, Progress};
use crate::forge::ForgeKind;
use crate::forge::github::{GitHubAuth, GitHubConfig, GitHubForge, PacingConfig};
use crate::forge::local::LocalForge;
use crate::git::Workspace;
use crate::secret::Secret;
use crate::state::{CampaignRow, State};

/// fleetwright: land one change in hundreds of repositories.
///
/// A recipe rewrites code; a campaign points it at the repositories of a
/// Backstage catalog and opens pull requests in tranches, tracking every
/// repository in SQLite until the old way is gone.
#[derive(Debug, Parser)]
#[command(
    name = "fleetwright",
    version,
    propagate_version = true,
    after_help = "Examples:\n  fleetwright demo --dir demo-fleet\n  fleetwright plan campaigns/logging.yaml\n  fleetwright preview campaigns/logging.yaml\n  fleetwright launch campaigns/logging.yaml\n  fleetwright run logging --watch 10m\n  fleetwright status modernize-logging\n\nExit codes: 0 ok, 1 unexpected error, 2 usage, 3 bad input file, 4 some targets failed, 5 not found, 6 refused."
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
    /// The state database [default: $XDG_STATE_HOME/fleetwright/fleetwright.db,
    /// else ~/.local/state/fleetwright/fleetwright.db]
    #[arg(
        long = "state",
        id = "state",
        value_name = "PATH",
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
    state: PathBuf,
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
    Pause(rollout::PauseArgs),
    Resume(rollout::ResumeArgs),
    Cancel(rollout::CancelArgs),
    Status(status::StatusArgs),
    Scan(scan::ScanArgs),
    Report(report::ReportArgs),
    Local(local::LocalArgs),
    Demo(demo::DemoArgs),
    Cache(cache::CacheArgs),
    /// One target's rewrite, in a child process of `run` (internal).
    #[command(name = "__rewrite", hide = true)]
    Rewrite,
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
        Command::Recipe(_) | Command::Plan(_) | Command::Demo(_) | Command::Rewrite
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
    init_tracing(&cli.global);
    let ui = Ui::new(&cli.global);
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
        Command::Plan(args) => plan::run(args, ui),
        Command::Preview(args) => preview::run(args, global, ui).await,
        Command::Launch(args) => launch::launch(args, global, ui).await,
        Command::Advance(args) => launch::advance(args, global, ui).await,
        Command::Sync(args) => launch::sync(args, global, ui).await,
        Command::Run(args) => rollout::run(args, global, ui).await,
        Command::Pause(args) => rollout::pause(args, global, ui).await,
        Command::Resume(args) => rollout::resume(args, global, ui).await,
        Command::Cancel(args) => rollout::cancel(args, global, ui).await,
        Command::Status(args) => status::run(args, global, ui).await,
        Command::Scan(args) => scan::run(args, global, ui).await,
        Command::Report(args) => report::run(args, global, ui).await,
        Command::Local(args) => local::run(args, global, ui).await,
        Command::Demo(args) => demo::run(args, ui).await,
        Command::Cache(args) => cache::run(args, global, ui).await,
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
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
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
            eprintln!("{text}");
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

fn init_tracing(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("fleetwright={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// The state at `path` and the campaign `name` recorded in it. Commands that
/// act on a launched campaign never create a state database: a wrong path or
/// name is "not found", with the campaigns the state does hold as the hint.
async fn recorded_campaign(path: &Path, name: &str) -> anyhow::Result<(State, CampaignRow)> {
    let not_found =
        |what: String| exit::Refusal::new(exit::NOT_FOUND, format!("no campaign `{name}`: {what}"));
    if !path.is_file() {
        return Err(not_found(format!("there is no state database at {}", path.display()))
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
    Err(not_found(format!("it is not in {}", path.display()))
        .hint(hint)
        .into())
}

/// The engine for `campaign`, on the forge it names.
fn campaign_engine(
    state: &State,
    cache: &Path,
    campaign: &crate::campaign::Campaign,
    ui: &Ui,
    jobs: Option<usize>,
) -> anyhow::Result<Engine> {
    engine(
        state,
        cache,
        campaign.forge,
        Some(&campaign.github),
        ui,
        jobs,
    )
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
/// the environment variable it names, or its GitHub App.
fn github_forge(settings: &GitHubSettings) -> anyhow::Result<GitHubForge> {
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
async fn open_state(path: &Path) -> anyhow::Result<State> {
    // Repository code never sees the state, the clone cache or the locks.
    crate::sandbox::hide(path.parent().unwrap_or(Path::new(".")));
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
    State::open_with_clock(path, clock)
        .await
        .with_context(|| format!("cannot use the state at {}", path.display()))
}

/// Build the engine over `state`: the forge the campaign names (`github`
/// set up from its `github:` section), the clone cache in `cache`
/// (clones under `repos/`), and progress for `ui`.
fn engine(
    state: &State,
    cache: &Path,
    forge: ForgeKind,
    github: Option<&GitHubSettings>,
    ui: &Ui,
    jobs: Option<usize>,
) -> anyhow::Result<Engine> {
    let forge = forge_client(state, forge, github)?;
    let workspace = workspace(cache)?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    Ok(
        Engine::new(state.clone(), forge, workspace, ui.progress(), jobs)
            .with_rewriter(crate::engine::Rewriter::child()),
    )
}

/// The forge a campaign names, over `state` (`github` set up from its
/// `github:` section). One per command: on GitHub, all of a command's
/// requests share its pacing.
fn forge_client(
    state: &State,
    forge: ForgeKind,
    github: Option<&GitHubSettings>,
) -> anyhow::Result<Arc<dyn crate::forge::Forge>> {
    Ok(match (forge, github) {
        (ForgeKind::Local, _) => Arc::new(LocalForge::new(state.clone())),
        // ETags and answers kept in the state: the next process's sync is
        // conditional too.
        (ForgeKind::Github, Some(settings)) => {
            Arc::new(github_forge(settings)?.keep_answers_in(state.clone()))
        }
        (ForgeKind::Github, None) => {
            return Err(exit::Refusal::new(
                exit::BAD_INPUT,
                "the GitHub forge cannot be used here without the campaign file's `github:` settings",
            )
            .into());
        }
    })
}

/// The clone cache in `cache` (clones under `repos/`), created, and hidden
/// from repository code like the state.
fn workspace(cache: &Path) -> anyhow::Result<Workspace> {
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
