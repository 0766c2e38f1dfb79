//! Campaigns: a recipe, a selection of catalog targets, a rollout in
//! tranches and a pull request template, read from a YAML file kept in git.
//!
//! This module reads and checks campaign files (every problem at
//! file:line:column), selects targets from the catalog and cuts them into
//! tranches ([`plan`]), and renders the pull request and commit text
//! ([`template`]). It never touches a repository, the state or the terminal.

pub mod plan;
pub mod rollout;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::backstage::BackstageSource;
use crate::catalog::{Catalog, CatalogError, EntityRef};
use crate::diag::{FileDiagnostic, Source};
use crate::escape::terminal;
use crate::forge::ForgeKind;
use crate::git::Identity;
use crate::git::ssh::SshSettings;
use crate::paths::{absolute, normalize};
use crate::recipe::{Recipe, RecipeError};
use crate::sandbox::Amount;
use crate::yaml::{self, OneOrMany, Spanned};

pub use plan::{Plan, PlannedTarget, PlannedTranche, Skipped};
pub use rollout::{Gate, OrderKey, Rollout, Stale, Throttle, Window};
pub use template::{FileSummary, TemplateContext};

/// Why a campaign could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("cannot read campaign file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} problem(s) in campaign file {}", .1.len(), .0.display())]
    Invalid(PathBuf, Vec<FileDiagnostic>),
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("the catalog is the live Backstage at {0}, which this command does not read")]
    Live(String),
    #[error(
        "the catalog is read from the campaign's repositories, which this command does not read"
    )]
    InRepositories,
}

/// One tranche size as written: `1`, `"25%"`, or `rest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrancheSize {
    Count(usize),
    Percent(u32),
    Rest,
}

/// One tranche as written: a size, and optionally a name and a selector
/// (`{name: payments, select: {owner: payments}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tranche {
    pub name: Option<String>,
    /// With a selector and no size: every remaining target it selects.
    pub size: TrancheSize,
    /// Only targets this selects (owner, lifecycle, tags, system, type).
    pub select: Option<TargetFilter>,
}

impl From<TrancheSize> for Tranche {
    fn from(size: TrancheSize) -> Self {
        Tranche {
            name: None,
            size,
            select: None,
        }
    }
}

impl Tranche {
    /// What the tranche is, in words: `1`, `25%`, `rest`, `owner payments`.
    pub fn spec(&self) -> String {
        match &self.select {
            None => self.size.to_string(),
            Some(f) => {
                let what = f.describe();
                match self.size {
                    TrancheSize::Rest => what,
                    size => format!("{size} of {what}"),
                }
            }
        }
    }
}

impl std::fmt::Display for TrancheSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrancheSize::Count(n) => write!(f, "{n}"),
            TrancheSize::Percent(p) => write!(f, "{p}%"),
            TrancheSize::Rest => f.write_str("rest"),
        }
    }
}

/// Which catalog components a campaign targets. Every field holds one value
/// or a list; a component matches a field when its value is one of the list
/// (for `tags`: when it carries at least one of them). Unset fields match all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFilter {
    pub spec_type: Vec<String>,
    pub lifecycle: Vec<String>,
    pub system: Vec<EntityRef>,
    pub owner: Vec<EntityRef>,
    pub tags: Vec<String>,
    /// Repository names, component names or entity refs left out.
    pub exclude: Vec<String>,
    /// Components carrying any of these tags are left out.
    pub exclude_tags: Vec<String>,
    /// Components with any of these annotations are left out: `(key, None)`
    /// whatever its value, `(key, Some(value))` only with that value.
    pub exclude_annotations: Vec<(String, Option<String>)>,
}

impl TargetFilter {
    /// `owner payments, lifecycle production`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |what: &str, values: Vec<String>| {
            if !values.is_empty() {
                parts.push(format!("{what} {}", values.join(" or ")));
            }
        };
        add("type", self.spec_type.clone());
        add("lifecycle", self.lifecycle.clone());
        add(
            "system",
            self.system.iter().map(|r| r.name.clone()).collect(),
        );
        add("owner", self.owner.iter().map(|r| r.name.clone()).collect());
        add("tag", self.tags.clone());
        if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// The pull request template.
#[derive(Debug, Clone)]
pub struct PullRequestTemplate {
    pub title: String,
    /// `None`: the built-in body that explains the change.
    pub body: Option<String>,
    pub branch: String,
    pub labels: Vec<String>,
    pub draft: bool,
    /// Which pull requests `sync` merges by itself
    /// (`pull_request.auto_merge`, off by default).
    pub auto_merge: AutoMerge,
}

/// `pull_request.auto_merge`: which pull requests `sync` merges by itself.
/// Each merges only an open, non-draft pull request whose checks pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutoMerge {
    /// Never (`false`, the default): people merge.
    #[default]
    Off,
    /// Once approved by a reviewer (`true`, or `{when: approved}`).
    WhenApproved,
    /// When its branch is recipe-exact (`{when: recipe_exact}`): the
    /// platform team reviewed the recipe once for the whole fleet; a
    /// person's commit on the branch stops it.
    WhenRecipeExact,
}

impl AutoMerge {
    /// The one rule of what `sync` merges: `pr` is open, not a draft, its
    /// checks pass, and the policy's condition holds (`recipe_exact`: its
    /// branch was found recipe-exact at the head the forge reports).
    pub fn merges(self, pr: &crate::forge::PullRequest, recipe_exact: bool) -> bool {
        let green = pr.state == crate::state::PrState::Open
            && !pr.draft
            && pr.ci_state == Some(crate::state::CiState::Success);
        match self {
            AutoMerge::Off => false,
            AutoMerge::WhenApproved => {
                green && pr.review_state == Some(crate::state::ReviewState::Approved)
            }
            AutoMerge::WhenRecipeExact => green && recipe_exact,
        }
    }

    /// Why it merged, for the event log.
    pub fn reason(self) -> &'static str {
        match self {
            AutoMerge::Off => "",
            AutoMerge::WhenApproved => "checks pass, approved",
            AutoMerge::WhenRecipeExact => "checks pass, recipe-exact",
        }
    }
}

/// How commits are written.
#[derive(Debug, Clone)]
pub struct CommitTemplate {
    /// `None`: the pull request title, then the recipe's description.
    pub message: Option<String>,
    /// Who commits (`commit.author_name` / `author_email`).
    pub author: Identity,
}

/// `verify:`: a command run in each rewritten checkout before the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    /// Run with `sh -c`, in the repository, with a scrubbed environment.
    pub command: String,
    pub timeout: std::time::Duration,
    /// `on_failure: draft`: a failing change is still pushed, as a draft
    /// pull request that shows the failure (default: nothing is pushed).
    pub draft_on_failure: bool,
    /// `network: true`: the command may use the network (default: it runs
    /// in a network namespace of its own).
    pub network: bool,
}

/// How to reach GitHub (`forge: github`, the `github:` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubSettings {
    /// The REST API root: `https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// Where git clones and pushes, when not the host of `api_url`
    /// (`github.git_url`); the token is offered to that origin only.
    pub git_url: Option<String>,
    /// The environment variable holding a token (a token is never written in
    /// a file or given on the command line).
    pub token_env: String,
    /// A GitHub App to act as, instead of a token.
    pub app: Option<GitHubAppSettings>,
    /// `merge`, `squash` or `rebase`.
    pub merge_method: String,
    /// Write requests at most this many per minute / per hour, at least
    /// `min_interval_ms` apart.
    pub per_minute: u32,
    pub per_hour: u32,
    pub min_interval_ms: u64,
}

/// How to reach GitLab (`forge: gitlab`, the `gitlab:` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLabSettings {
    /// The REST API root: `https://gitlab.com/api/v4`, or
    /// `https://HOST/api/v4` for a self-managed GitLab.
    pub api_url: String,
    /// Where git clones and pushes, when not the host of `api_url`.
    pub git_url: Option<String>,
    /// The environment variable holding the token.
    pub token_env: String,
    /// How the token is sent: `PRIVATE-TOKEN` or `Authorization: Bearer`.
    pub token_header: crate::forge::gitlab::TokenHeader,
    /// Merge with `merge_when_pipeline_succeeds` (GitLab's auto-merge).
    pub merge_when_pipeline_succeeds: bool,
    /// Write requests at most this many per minute / per hour, at least
    /// `min_interval_ms` apart.
    pub per_minute: u32,
    pub per_hour: u32,
    pub min_interval_ms: u64,
}

impl Default for GitLabSettings {
    fn default() -> Self {
        let pacing = crate::forge::gitlab::default_pacing();
        GitLabSettings {
            api_url: crate::forge::gitlab::DEFAULT_API_URL.to_string(),
            git_url: None,
            token_env: "GITLAB_TOKEN".to_string(),
            token_header: crate::forge::gitlab::TokenHeader::PrivateToken,
            merge_when_pipeline_succeeds: false,
            per_minute: pacing.per_minute,
            per_hour: pacing.per_hour,
            min_interval_ms: pacing.min_interval.as_millis() as u64,
        }
    }
}

/// A GitHub App: its id, its private key file, its installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubAppSettings {
    pub id: u64,
    /// Absolute path of the PEM private key.
    pub private_key_file: PathBuf,
    /// Found from each repository's owner when not given.
    pub installation_id: Option<u64>,
}

impl Default for GitHubSettings {
    fn default() -> Self {
        GitHubSettings {
            api_url: "https://api.github.com".to_string(),
            git_url: None,
            token_env: "GITHUB_TOKEN".to_string(),
            app: None,
            merge_method: "merge".to_string(),
            per_minute: 80,
            per_hour: 500,
            min_interval_ms: 1000,
        }
    }
}

/// `report.issue`: the campaign's tracking issue, one per campaign, whose
/// body is the Markdown report (see `engine::tracking`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingIssueSettings {
    /// Where the issue lives: `owner/name` on the campaign's GitHub; for
    /// the local forge, the absolute path of a bare repository on this
    /// machine.
    pub repository: String,
    /// The title, rendered (`report.issue.title`, a template with
    /// `campaign`; default `fleetwright: <campaign>`).
    pub title: String,
    /// Labels beside `fleetwright/tracking`, which every tracking issue
    /// carries.
    pub labels: Vec<String>,
}

/// The longest issue title GitHub takes.
const MAX_ISSUE_TITLE: usize = 256;

/// The longest label name GitHub takes.
const MAX_LABEL: usize = 50;

/// A campaign file, checked.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub name: String,
    pub description: Option<String>,
    /// The campaign file, absolute.
    pub file: PathBuf,
    /// The recipe file, absolute.
    pub recipe: PathBuf,
    /// Where the catalog is: a file or folder, or a live Backstage.
    pub catalog: CatalogSource,
    pub forge: ForgeKind,
    /// GitHub settings (defaults when the section is absent).
    pub github: GitHubSettings,
    /// GitLab settings (defaults when the section is absent).
    pub gitlab: GitLabSettings,
    pub targets: TargetFilter,
    pub tranches: Vec<Tranche>,
    /// Order, gate, pauses, throttles, stale nudges.
    pub rollout: Rollout,
    /// Where the platform team publishes the campaign's report (linked from
    /// every pull request).
    pub report_url: Option<String>,
    /// The tracking issue `report --publish-issue` and `run` keep up to
    /// date (`report.issue`), when the campaign has one.
    pub tracking_issue: Option<TrackingIssueSettings>,
    /// Whom app teams ask about the campaign (`contact`: a team, a channel,
    /// a link); one line, named in every pull request.
    pub contact: Option<String>,
    pub pull_request: PullRequestTemplate,
    pub commit: CommitTemplate,
    /// A command that must pass in the rewritten checkout before a push.
    pub verify: Option<Verify>,
    /// How repository code (`verify`, the recipe's `run:` steps) runs: the
    /// `sandbox:` section (default: bubblewrap with the default limits).
    pub sandbox: crate::sandbox::Policy,
    /// Values for the recipe's parameters.
    pub parameters: crate::recipe::Values,
    /// How git reaches SSH remotes (`git.ssh`: a key file, else
    /// ssh-agent's keys; the known hosts file).
    pub ssh: SshSettings,
}

/// Where a campaign's catalog is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogSource {
    /// A catalog file or a folder of them, absolute (`catalog: PATH`).
    Files(PathBuf),
    /// A live Backstage (`catalog: {backstage: {url, token_env, filter}}`).
    Backstage(BackstageSource),
    /// A descriptor in each repository (`catalog: {in_repositories:
    /// {repositories, path, groups}}`).
    Repositories(crate::descriptors::InRepositories),
}

impl CatalogSource {
    /// The file or folder, for a file catalog.
    pub fn path(&self) -> Option<&Path> {
        match self {
            CatalogSource::Files(path) => Some(path),
            CatalogSource::Backstage(_) | CatalogSource::Repositories(_) => None,
        }
    }
}

impl std::fmt::Display for CatalogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogSource::Files(path) => write!(f, "{}", path.display()),
            CatalogSource::Backstage(b) => write!(f, "{}", b.url),
            CatalogSource::Repositories(r) => {
                write!(f, "{} in {} repositories", r.path, r.repositories.len())
            }
        }
    }
}

/// Where the catalog a campaign works from came from.
#[derive(Debug, Clone)]
pub enum CatalogOrigin {
    /// Catalog files, read now.
    Files,
    /// A live catalog, read now: the snapshot to record when the campaign
    /// is launched.
    Read(crate::backstage::Snapshot),
    /// The snapshot a launched campaign recorded (taken at `taken_at`).
    Snapshot { taken_at: String },
}

/// A campaign with its recipe and catalog loaded and its plan made.
#[derive(Debug)]
pub struct Loaded {
    pub campaign: Campaign,
    pub recipe: Arc<Recipe>,
    pub catalog: Catalog,
    pub plan: Plan,
    /// Where `catalog` came from.
    pub catalog_origin: CatalogOrigin,
}

impl Loaded {
    /// What of the campaign runs repository code, in words (`verify
    /// \`pytest -q\``, `the recipe's run: steps`); empty when nothing does.
    pub fn repository_code(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = &self.campaign.verify {
            out.push(format!("verify `{}`", v.command));
        }
        if self.recipe.runs_commands() {
            out.push("the recipe's `run:` steps".to_string());
        }
        out
    }
}

/// Load a campaign file, its recipe and catalog files, and plan its
/// targets. Catalog problems do not stop it: they are in
/// `catalog.problems`. A campaign on a live catalog is refused here: the
/// command layer reads it (or its snapshot) and calls [`Loaded::new`].
pub fn load_all(path: &Path) -> Result<Loaded, CampaignError> {
    let campaign = Campaign::load(path)?;
    let recipe = Arc::new(Recipe::load_with(&campaign.recipe, &campaign.parameters)?);
    let catalog = match &campaign.catalog {
        CatalogSource::Files(path) => Catalog::load(path)?,
        CatalogSource::Backstage(b) => return Err(CampaignError::Live(b.url.clone())),
        CatalogSource::Repositories(_) => return Err(CampaignError::InRepositories),
    };
    Ok(Loaded::new(campaign, recipe, catalog, CatalogOrigin::Files))
}

impl Loaded {
    /// A campaign with its recipe and the catalog read (from `origin`),
    /// planned.
    pub fn new(
        campaign: Campaign,
        recipe: Arc<Recipe>,
        catalog: Catalog,
        catalog_origin: CatalogOrigin,
    ) -> Loaded {
        let plan = plan::plan(&campaign, &catalog);
        Loaded {
            campaign,
            recipe,
            catalog,
            plan,
            catalog_origin,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    recipe: Spanned<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    catalog: Spanned<RawCatalog>,
    #[serde(default)]
    forge: Option<Spanned<String>>,
    #[serde(default)]
    github: Option<Spanned<RawGitHub>>,
    #[serde(default)]
    gitlab: Option<Spanned<RawGitLab>>,
    #[serde(default)]
    targets: RawFilter,
    tranches: Spanned<Vec<Spanned<RawTranche>>>,
    #[serde(default)]
    pull_request: RawPullRequest,
    #[serde(default)]
    commit: RawCommit,
    #[serde(default)]
    verify: Option<RawVerify>,
    #[serde(default)]
    sandbox: Option<Spanned<RawSandbox>>,
    #[serde(default)]
    order: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    gate: Option<rollout::RawGate>,
    #[serde(default)]
    pause_when: Option<rollout::RawPauseWhen>,
    #[serde(default)]
    throttle: Option<rollout::RawThrottle>,
    #[serde(default)]
    stale: Option<rollout::RawStale>,
    #[serde(default)]
    report_url: Option<Spanned<String>>,
    #[serde(default)]
    report: Option<RawReport>,
    #[serde(default)]
    git: Option<RawGit>,
    /// Present but null (`contact: #platform`, a YAML comment) is
    /// `Some` of `None`, an error rather than no contact.
    #[serde(default, deserialize_with = "present")]
    contact: Option<Spanned<Option<String>>>,
}

/// A key that is there, even with no value.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `git:`: how git reaches the repositories.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGit {
    #[serde(default)]
    ssh: Option<RawSsh>,
}

/// `git.ssh:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSsh {
    #[serde(default)]
    key: Option<Spanned<String>>,
    #[serde(default)]
    passphrase_env: Option<Spanned<String>>,
    #[serde(default)]
    known_hosts: Option<Spanned<String>>,
}

/// `report:`: how the campaign's report is published.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    #[serde(default)]
    issue: Option<RawIssue>,
}

/// `report.issue:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssue {
    repository: Spanned<String>,
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    labels: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    command: Spanned<String>,
    /// Seconds, or `10m` (default 600 s).
    #[serde(default)]
    timeout: Option<Spanned<Amount>>,
    /// `skip` (default) or `draft`.
    #[serde(default)]
    on_failure: Option<Spanned<String>>,
    /// Whether the command may use the network (default false).
    #[serde(default)]
    network: bool,
}

/// A key written either as one word (a path, `none`) or as a map of
/// settings: `catalog:`, `sandbox:`.
#[derive(Debug)]
enum WordOrMap<M> {
    Word(String),
    Map(Box<M>),
}

/// What a [`WordOrMap`] key takes, for the error when it is neither.
trait Expecting {
    const EXPECTING: &'static str;
}

/// By hand rather than `untagged`, so that a mistake inside the map is
/// reported as itself.
impl<'de, M: Deserialize<'de> + Expecting> Deserialize<'de> for WordOrMap<M> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<M>(std::marker::PhantomData<M>);
        impl<'de, M: Deserialize<'de> + Expecting> serde::de::Visitor<'de> for Visitor<M> {
            type Value = WordOrMap<M>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(M::EXPECTING)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<WordOrMap<M>, E> {
                Ok(WordOrMap::Word(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<WordOrMap<M>, A::Error> {
                M::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|m| WordOrMap::Map(Box::new(m)))
            }
        }
        d.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// `catalog:` as written: a path, or `{backstage: {...}}`, or
/// `{in_repositories: {...}}`.
type RawCatalog = WordOrMap<RawCatalogMap>;

impl Expecting for RawCatalogMap {
    const EXPECTING: &'static str = "a catalog file or folder, {backstage: {url: https://..., token_env: BACKSTAGE_TOKEN, filter: {...}}}, or {in_repositories: {repositories: repos.txt, path: catalog-info.yaml, groups: catalog/groups.yaml}}";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogMap {
    #[serde(default)]
    backstage: Option<Spanned<RawBackstage>>,
    #[serde(default)]
    in_repositories: Option<Spanned<RawInRepositories>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInRepositories {
    /// A file listing them (one URL a line), or a list of URLs.
    repositories: Spanned<OneOrMany>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    groups: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackstage {
    url: Spanned<String>,
    #[serde(default)]
    token_env: Option<Spanned<String>>,
    #[serde(default)]
    filter: Option<Spanned<BTreeMap<String, Spanned<OneOrMany>>>>,
}

/// `sandbox:` as written: the word `none`, or the limits of the bubblewrap
/// sandbox.
type RawSandbox = WordOrMap<RawSandboxMap>;

impl Expecting for RawSandboxMap {
    const EXPECTING: &'static str =
        "`none`, or {read_only: [paths], memory: 4GiB, cpu: 10m, file_size: 1GiB}";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSandboxMap {
    #[serde(default)]
    read_only: Vec<Spanned<String>>,
    #[serde(default)]
    memory: Option<Spanned<Amount>>,
    #[serde(default)]
    cpu: Option<Spanned<Amount>>,
    #[serde(default)]
    file_size: Option<Spanned<Amount>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitHub {
    api_url: Option<Spanned<String>>,
    git_url: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    app: Option<RawGitHubApp>,
    merge_method: Option<Spanned<String>>,
    pacing: Option<RawPacing>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitLab {
    api_url: Option<Spanned<String>>,
    git_url: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    token_header: Option<Spanned<String>>,
    merge_when_pipeline_succeeds: Option<bool>,
    pacing: Option<RawPacing>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitHubApp {
    id: u64,
    private_key_file: Spanned<String>,
    installation_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPacing {
    per_minute: Option<Spanned<u32>>,
    per_hour: Option<Spanned<u32>>,
    min_interval_ms: Option<u64>,
}

#[derive(Debug)]
enum RawTranche {
    Count(u64),
    Text(String),
    Map(Box<RawTrancheMap>),
}

/// By hand rather than `untagged`, so that a mistake inside a tranche map
/// (`selct:`) is reported as itself, not as "did not match any variant".
impl<'de> Deserialize<'de> for RawTranche {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawTranche;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a tranche: a count, a share like \"25%\", `rest`, or {name, size, select}",
                )
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawTranche, E> {
                Ok(RawTranche::Count(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawTranche, E> {
                u64::try_from(v)
                    .map(RawTranche::Count)
                    .map_err(|_| E::custom(format!("a tranche of {v} targets")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawTranche, E> {
                Ok(RawTranche::Text(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawTranche, A::Error> {
                RawTrancheMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|m| RawTranche::Map(Box::new(m)))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSize {
    Count(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrancheMap {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    size: Option<RawSize>,
    #[serde(default)]
    select: Option<RawSelect>,
}

/// A tranche's selector: `team` is `owner`, `tag` is `tags`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelect {
    #[serde(default, rename = "type")]
    spec_type: Option<OneOrMany>,
    #[serde(default)]
    lifecycle: Option<OneOrMany>,
    #[serde(default)]
    system: Option<Spanned<OneOrMany>>,
    #[serde(default, alias = "team")]
    owner: Option<Spanned<OneOrMany>>,
    #[serde(default, alias = "tag")]
    tags: Option<OneOrMany>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(default)]
    kind: Option<Spanned<OneOrMany>>,
    #[serde(default, rename = "type")]
    spec_type: Option<OneOrMany>,
    #[serde(default)]
    lifecycle: Option<OneOrMany>,
    #[serde(default)]
    system: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    owner: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    tags: Option<OneOrMany>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    exclude_tags: Vec<String>,
    #[serde(default)]
    exclude_annotations: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPullRequest {
    #[serde(default)]
    title: Option<Spanned<String>>,
    #[serde(default)]
    body: Option<Spanned<String>>,
    #[serde(default)]
    branch: Option<Spanned<String>>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    auto_merge: Option<RawAutoMerge>,
}

/// `pull_request.auto_merge` as written: `true`/`false`, or `{when: …}`.
#[derive(Debug)]
enum RawAutoMerge {
    Flag(bool),
    When(Spanned<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoMergeMap {
    when: Spanned<String>,
}

/// By hand rather than `untagged`, so that a mistake inside the map is
/// reported as itself.
impl<'de> Deserialize<'de> for RawAutoMerge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawAutoMerge;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`true`, `false`, or {when: approved | recipe_exact}")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawAutoMerge, E> {
                Ok(RawAutoMerge::Flag(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawAutoMerge, A::Error> {
                RawAutoMergeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|m| RawAutoMerge::When(m.when))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommit {
    #[serde(default)]
    message: Option<Spanned<String>>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_email: Option<String>,
}

const DEFAULT_TITLE: &str = "{{ recipe.title }}";
const DEFAULT_BRANCH: &str = "fleetwright/{{ campaign }}";

impl Campaign {
    /// Why a repository at `url` cannot be a target of this campaign's
    /// forge; `None` when it can. The one rule `plan` shows and the engine
    /// applies before it touches the repository: the local forge works on
    /// repositories on this machine only (never a network URL, SSH
    /// included: its pull requests are merged in the bare repository
    /// itself); GitHub on repositories of its own git host, over https (the
    /// only place its token goes) or SSH (with the campaign's key).
    pub fn repository_refusal(&self, url: &str) -> Option<String> {
        let shown = crate::urls::redact(url);
        match self.forge {
            ForgeKind::Local => crate::git::local_path(url).is_none().then(|| {
                format!(
                    "{shown} is a network URL, and the local forge works only on repositories on this machine: use `forge: github` for it, or point the catalog at a local path"
                )
            }),
            ForgeKind::Github | ForgeKind::Gitlab => {
                let (origins, name, keys) = match self.forge {
                    ForgeKind::Gitlab => (
                        crate::forge::gitlab::git_origins(
                            &self.gitlab.api_url,
                            self.gitlab.git_url.as_deref(),
                        ),
                        "GitLab",
                        "gitlab.api_url/git_url",
                    ),
                    _ => (
                        crate::forge::github::git_origins(
                            &self.github.api_url,
                            self.github.git_url.as_deref(),
                        ),
                        "GitHub",
                        "github.api_url/git_url",
                    ),
                };
                let origins = match origins {
                    Ok(origins) => origins,
                    Err(why) => return Some(why),
                };
                // Over SSH git authenticates with the campaign's key, not
                // the token: a repository on the forge's git host (any
                // port, as GitHub Enterprise may serve SSH elsewhere) is
                // the forge's.
                let over_ssh = crate::urls::SshRemote::parse(url)
                    .is_some_and(|r| origins.iter().any(|o| o.host == r.host));
                let on_forge = over_ssh
                    || crate::urls::Origin::parse(url)
                        .is_some_and(|o| o.may_carry_token() && origins.contains(&o));
                (!on_forge).then(|| {
                    let hosts: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
                    format!(
                        "{shown} is not on this campaign's {name} ({}), and its token goes nowhere else: point the component's source-location at its repository there, exclude it, or run a campaign on its own forge ({keys})",
                        hosts.join(", ")
                    )
                })
            }
        }
    }

    /// Read and check a campaign file. Every problem is reported, each at
    /// its place in the file.
    pub fn load(path: &Path) -> Result<Campaign, CampaignError> {
        let text = std::fs::read_to_string(path).map_err(|source| CampaignError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str(path, &text)
    }

    /// Check a campaign file's text; `path` names it in errors and anchors
    /// the relative paths it holds.
    pub fn from_str(path: &Path, text: &str) -> Result<Campaign, CampaignError> {
        let invalid = |problems| CampaignError::Invalid(path.to_path_buf(), problems);
        // One copy of the text, shared by every problem found in it.
        let source = Source::new(text);
        let text = &source;
        let docs: Vec<_> = yaml::documents(text.text())
            .into_iter()
            .filter(|d| !d.is_empty())
            .collect();
        let Some(doc) = docs.first() else {
            let d = FileDiagnostic::at_offset(path, text, 0, 0, "the campaign file is empty")
                .with_help("a campaign needs at least `name`, `recipe`, `catalog` and `tranches`; see docs/campaigns.md");
            return Err(invalid(vec![d]));
        };
        let raw: RawCampaign = yaml::parse(path, text, doc).map_err(|d| {
            invalid(vec![d.with_help(
                "campaign keys: name, description, recipe, parameters, catalog (a file or folder, {backstage: ...} or {in_repositories: ...}), forge, github, gitlab, git, targets, tranches, order, gate, pause_when, throttle, stale, pull_request, commit, verify, sandbox, report_url, report, contact (docs/campaigns.md)",
            )])
        })?;
        let mut problems = Vec::new();
        let at = |v: &Spanned<String>, msg: String| yaml::diagnostic_at(path, text, doc, v, msg);
        let base = absolute(path.parent().unwrap_or(Path::new(".")));

        let name_ok = valid_name(&raw.name.value);
        if !name_ok {
            problems.push(
                at(&raw.name, format!("campaign name `{}` is not a valid name", raw.name.value))
                    .with_help("use lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit (it names branches)"),
            );
        }
        let recipe = base.join(&raw.recipe.value);
        if !recipe.is_file() {
            problems.push(
                at(
                    &raw.recipe,
                    format!(
                        "recipe `{}` does not exist ({})",
                        raw.recipe.value,
                        recipe.display()
                    ),
                )
                .with_help("paths in a campaign file are relative to the campaign file"),
            );
        }
        let catalog = catalog_source(
            &raw.catalog,
            &base,
            &mut problems,
            &Place { path, text, doc },
        );
        let forge = match raw.forge.as_ref() {
            None => ForgeKind::Local,
            Some(f) => f.value.parse().unwrap_or_else(|_| {
                problems.push(
                    at(f, format!("forge `{}` is not supported", f.value))
                        .with_help("`forge` is `local` (the embedded forge), `github` (GitHub.com or Enterprise Server) or `gitlab` (GitLab.com or self-managed)"),
                );
                ForgeKind::Local
            }),
        };
        let github = github_settings(raw.github.as_ref(), &base, &mut problems, path, text, doc);
        let ssh = ssh_settings(
            raw.git.as_ref().and_then(|g| g.ssh.as_ref()),
            &base,
            &mut problems,
            &Place { path, text, doc },
        );
        let gitlab = gitlab_settings(raw.gitlab.as_ref(), &mut problems, path, text, doc);
        let targets = filter(raw.targets, &mut problems, path, text, doc);
        let tranches = tranches(&raw.tranches, &mut problems, path, text, doc);
        let auto_merge = match &raw.pull_request.auto_merge {
            None | Some(RawAutoMerge::Flag(false)) => AutoMerge::Off,
            Some(RawAutoMerge::Flag(true)) => AutoMerge::WhenApproved,
            Some(RawAutoMerge::When(when)) => match when.value.as_str() {
                "approved" => AutoMerge::WhenApproved,
                "recipe_exact" => AutoMerge::WhenRecipeExact,
                other => {
                    problems.push(
                        at(when, format!("pull_request.auto_merge.when `{other}` is unknown"))
                            .with_help("`approved` (merged once a reviewer approves and the checks pass) or `recipe_exact` (merged when the branch holds exactly the recipe's change and the checks pass)"),
                    );
                    AutoMerge::Off
                }
            },
        };
        if let Some(on) = raw.verify.as_ref().and_then(|v| v.on_failure.as_ref())
            && !["skip", "draft"].contains(&on.value.as_str())
        {
            problems.push(
                at(on, format!("verify.on_failure `{}` is unknown", on.value))
                    .with_help("`skip` (the default: a failing change gets no pull request) or `draft` (a draft pull request that shows the failure)"),
            );
        }
        let verify_timeout = raw
            .verify
            .as_ref()
            .and_then(|v| v.timeout.as_ref())
            .and_then(|t| {
                t.value
                    .duration()
                    .map_err(|e| {
                        problems.push(
                            yaml::diagnostic_at(path, text, doc, t, format!("verify.timeout: {e}"))
                                .with_help("seconds (`600`) or a number with s, m or h (`10m`)"),
                        )
                    })
                    .ok()
            });
        let sandbox = sandbox_policy(raw.sandbox.as_ref(), &base, &mut problems, path, text, doc);
        let rollout = rollout::check(
            rollout::RawRollout {
                order: raw.order,
                gate: raw.gate,
                pause_when: raw.pause_when,
                throttle: raw.throttle,
                stale: raw.stale,
            },
            &mut rollout::Place {
                problems: &mut problems,
                path,
                text,
                doc,
            },
        );
        if let Some(url) = raw
            .report_url
            .as_ref()
            .filter(|u| !(u.value.starts_with("https://") || u.value.starts_with("http://")))
        {
            problems.push(
                at(url, format!("`{}` is not an http(s) URL", url.value))
                    .with_help("report_url is where you publish `fleetwright report --format html`; every pull request links to it"),
            );
        }
        if let Some(contact) = &raw.contact {
            let value = contact.value.as_deref().unwrap_or_default();
            let problem = if value.trim().is_empty() {
                Some("`contact` is empty".to_string())
            } else {
                value.chars().find(|c| c.is_control()).map(|c| {
                    format!(
                        "`contact` holds a control character (U+{:04X}); it is one line of text",
                        u32::from(c)
                    )
                })
            };
            if let Some(problem) = problem {
                problems.push(yaml::diagnostic_at(path, text, doc, contact, problem).with_help(
                    "contact is whom app teams ask about the campaign: a team, a channel (`\"#platform-migrations\"`, quoted) or an http(s) link",
                ));
            }
        }

        let tracking_issue = raw
            .report
            .as_ref()
            .and_then(|r| r.issue.as_ref())
            .and_then(|issue| {
                tracking_issue(
                    issue,
                    &raw.name.value,
                    forge,
                    &base,
                    &mut problems,
                    &Place { path, text, doc },
                )
            });

        let pr = raw.pull_request;
        let title = pr
            .title
            .as_ref()
            .map_or(DEFAULT_TITLE.to_string(), |t| t.value.clone());
        let branch = pr
            .branch
            .as_ref()
            .map_or(DEFAULT_BRANCH.to_string(), |b| b.value.clone());
        let body = pr.body.as_ref().map(|b| b.value.clone());
        let message = raw.commit.message.as_ref().map(|m| m.value.clone());
        for (value, what) in [
            (pr.title.as_ref(), "pull_request.title"),
            (pr.body.as_ref(), "pull_request.body"),
            (pr.branch.as_ref(), "pull_request.branch"),
            (raw.commit.message.as_ref(), "commit.message"),
        ] {
            if let Some(v) = value
                && let Err(e) = template::check(&v.value)
            {
                problems.push(
                    at(v, format!("{what} is not a valid template: {e}")).with_help(template::HELP),
                );
            }
        }
        let sample = template::TemplateContext::sample(&raw.name.value);
        // (An invalid name is reported once, not again through the branch.)
        if let Ok(rendered) = template::render(&branch, &sample)
            && name_ok
            && !git2::Reference::is_valid_name(&format!("refs/heads/{rendered}"))
        {
            let d = match pr.branch.as_ref() {
                Some(b) => at(b, format!("`{rendered}` is not a valid branch name")),
                None => at(
                    &raw.name,
                    format!("the default branch `{rendered}` is not a valid branch name"),
                ),
            };
            problems.push(d.with_help(
                "branch names cannot hold spaces, `..`, `~`, `^`, `:` or end in `.lock`",
            ));
        }

        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Campaign {
            name: raw.name.value,
            description: raw.description,
            file: absolute(path),
            recipe: normalize(&recipe),
            catalog,
            forge,
            github,
            gitlab,
            targets,
            tranches,
            rollout,
            report_url: raw.report_url.map(|u| u.value),
            tracking_issue,
            contact: raw
                .contact
                .and_then(|c| c.value)
                .map(|c| c.trim().to_string()),
            parameters: raw.parameters,
            ssh,
            verify: raw.verify.map(|v| Verify {
                command: v.command.value,
                timeout: verify_timeout.unwrap_or(std::time::Duration::from_secs(600)),
                draft_on_failure: v.on_failure.is_some_and(|o| o.value == "draft"),
                network: v.network,
            }),
            sandbox,
            pull_request: PullRequestTemplate {
                title,
                body,
                branch,
                labels: pr.labels,
                draft: pr.draft,
                auto_merge,
            },
            commit: CommitTemplate {
                message,
                author: {
                    let default = Identity::default();
                    Identity {
                        name: raw.commit.author_name.unwrap_or(default.name),
                        email: raw.commit.author_email.unwrap_or(default.email),
                    }
                },
            },
        })
    }
}

/// The `sandbox:` section, checked; the bubblewrap sandbox with its default
/// limits when it is absent.
fn sandbox_policy(
    raw: Option<&Spanned<RawSandbox>>,
    base: &Path,
    problems: &mut Vec<FileDiagnostic>,
    path: &Path,
    text: &Source,
    doc: &yaml::Document<'_>,
) -> crate::sandbox::Policy {
    use crate::sandbox::{MIN_MEMORY, Policy, size};
    let mut policy = Policy::default();
    let Some(raw) = raw else {
        return policy;
    };
    let map = match &raw.value {
        WordOrMap::Word(word) if word == "none" => return Policy::none(),
        WordOrMap::Word(word) => {
            problems.push(
                yaml::diagnostic_at(path, text, doc, raw, format!("sandbox `{word}` is unknown"))
                    .with_help("`sandbox: none` runs repository code without a sandbox; otherwise give the sandbox's limits: `{read_only: [/opt/go], memory: 4GiB, cpu: 10m}`, or leave `sandbox` out"),
            );
            return policy;
        }
        WordOrMap::Map(map) => map,
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for entry in &map.read_only {
        let written = entry.value.trim();
        let expanded = match (written.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => base.join(written),
        };
        let full = normalize(&expanded);
        let problem = if written == "~" || full == Path::new("/") {
            Some("would show the sandbox the whole machine or your home folder (and its credentials)".to_string())
        } else if !full.exists() {
            Some(format!("does not exist ({})", full.display()))
        } else {
            None
        };
        match problem {
            Some(why) => problems.push(
                yaml::diagnostic_at(path, text, doc, entry, format!("sandbox.read_only `{written}` {why}"))
                    .with_help("name the folders of a toolchain the command needs (`/opt/go`, `~/.rustup`); they are shown read-only, and repository code can read everything in them"),
            ),
            None => policy.read_only.push(full),
        }
    }
    let size_help = "a number of bytes, or with a unit: `4GiB`, `512MiB`";
    if let Some(memory) = &map.memory {
        match memory.value.size() {
            Ok(bytes) if bytes >= MIN_MEMORY => policy.memory = bytes,
            Ok(_) => problems.push(
                yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    memory,
                    format!("sandbox.memory must be at least {}", size(MIN_MEMORY)),
                )
                .with_help(size_help),
            ),
            Err(e) => problems.push(
                yaml::diagnostic_at(path, text, doc, memory, format!("sandbox.memory: {e}"))
                    .with_help(size_help),
            ),
        }
    }
    if let Some(file_size) = &map.file_size {
        match file_size.value.size() {
            Ok(bytes) if bytes >= 1 << 20 => policy.file_size = bytes,
            Ok(_) => problems.push(
                yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    file_size,
                    "sandbox.file_size must be at least 1 MiB",
                )
                .with_help(size_help),
            ),
            Err(e) => problems.push(
                yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    file_size,
                    format!("sandbox.file_size: {e}"),
                )
                .with_help(size_help),
            ),
        }
    }
    if let Some(cpu) = &map.cpu {
        match cpu.value.duration() {
            Ok(d) => policy.cpu = Some(d),
            Err(e) => problems.push(
                yaml::diagnostic_at(path, text, doc, cpu, format!("sandbox.cpu: {e}"))
                    .with_help("CPU time of each process: seconds (`600`) or a number with s, m or h (`10m`); default: the command's timeout"),
            ),
        }
    }
    policy
}

/// How a forge's section checks where its token may go, and what its
/// problems say, for [`endpoint`].
struct ForgeKeys {
    git_origins: fn(&str, Option<&str>) -> Result<Vec<crate::urls::Origin>, String>,
    api_help: &'static str,
    git_help: &'static str,
    token_example: &'static str,
}

const GITHUB_KEYS: ForgeKeys = ForgeKeys {
    git_origins: crate::forge::github::git_origins,
    api_help: "GitHub.com is `https://api.github.com`; Enterprise Server is `https://HOST/api/v3`",
    git_help: "`git_url` is where git clones this GitHub's repositories (default: github.com, or the Enterprise host of api_url), over https",
    token_example: "GITHUB_TOKEN",
};

const GITLAB_KEYS: ForgeKeys = ForgeKeys {
    git_origins: crate::forge::gitlab::git_origins,
    api_help: "GitLab.com is `https://gitlab.com/api/v4`; a self-managed GitLab is `https://HOST/api/v4`",
    git_help: "`git_url` is where git clones this GitLab's repositories (default: the host of api_url), over https",
    token_example: "GITLAB_TOKEN",
};

/// The keys every forge's section has, as written: `api_url`, `git_url`,
/// `token_env`.
type RawEndpoint<'r> = [&'r Option<Spanned<String>>; 3];

/// Those keys, checked each at its place: the API and git URLs where the
/// forge's token may go, the name of the variable holding it; `None`
/// where the section does not say.
#[derive(Debug, Default)]
struct Endpoint {
    api_url: Option<String>,
    git_url: Option<String>,
    token_env: Option<String>,
}

/// `raw`'s endpoint keys, the git URL checked against the API URL given
/// or else `default_api`.
fn endpoint(
    keys: &ForgeKeys,
    [api_url, git_url, token_env]: RawEndpoint<'_>,
    default_api: &str,
    problems: &mut Vec<FileDiagnostic>,
    place: &Place<'_, '_>,
) -> Endpoint {
    let at = |v: &Spanned<String>, msg: String, help: String| {
        yaml::diagnostic_at(place.path, place.text, place.doc, v, msg).with_help(help)
    };
    let mut out = Endpoint::default();
    if let Some(url) = api_url {
        let value = url.value.trim_end_matches('/');
        if let Err(why) = (keys.git_origins)(value, None) {
            problems.push(at(url, why, keys.api_help.to_string()));
        }
        out.api_url = Some(value.to_string());
    }
    if let Some(url) = git_url {
        let value = url.value.trim_end_matches('/');
        let api = out.api_url.as_deref().unwrap_or(default_api);
        if let Err(why) = (keys.git_origins)(api, Some(value)) {
            problems.push(at(url, why, keys.git_help.to_string()));
        }
        out.git_url = Some(value.to_string());
    }
    if let Some(env) = token_env {
        if !is_env_name(&env.value) {
            problems.push(at(
                env,
                format!("`{}` is not an environment variable name", env.value),
                format!(
                    "name the variable that holds the token (e.g. {}), never the token itself",
                    keys.token_example
                ),
            ));
        }
        out.token_env = Some(env.value.clone());
    }
    out
}

/// The `github:` section, checked; the defaults where a key is absent.
fn github_settings(
    raw: Option<&Spanned<RawGitHub>>,
    base: &Path,
    problems: &mut Vec<FileDiagnostic>,
    path: &Path,
    text: &Source,
    doc: &yaml::Document<'_>,
) -> GitHubSettings {
    let mut settings = GitHubSettings::default();
    let Some(raw) = raw else {
        return settings;
    };
    let raw = &raw.value;
    let given = endpoint(
        &GITHUB_KEYS,
        [&raw.api_url, &raw.git_url, &raw.token_env],
        &settings.api_url,
        problems,
        &Place { path, text, doc },
    );
    settings.api_url = given.api_url.unwrap_or(settings.api_url);
    settings.git_url = given.git_url.or(settings.git_url);
    settings.token_env = given.token_env.unwrap_or(settings.token_env);
    if let Some(method) = &raw.merge_method {
        if !["merge", "squash", "rebase"].contains(&method.value.as_str()) {
            problems.push(
                yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    method,
                    format!("merge method `{}` is unknown", method.value),
                )
                .with_help("use `merge`, `squash` or `rebase`"),
            );
        }
        settings.merge_method = method.value.clone();
    }
    if let Some(app) = &raw.app {
        let key = base.join(&app.private_key_file.value);
        if !key.is_file() {
            problems.push(
                yaml::diagnostic_at(path, text, doc, &app.private_key_file, format!("the private key file `{}` does not exist ({})", app.private_key_file.value, key.display()))
                    .with_help("download the app's private key (a .pem file) and give its path, relative to the campaign file"),
            );
        }
        settings.app = Some(GitHubAppSettings {
            id: app.id,
            private_key_file: normalize(&key),
            installation_id: app.installation_id,
        });
    }
    if let Some(pacing) = &raw.pacing {
        let defaults = GitHubSettings::default();
        let mut limit = |value: &Option<Spanned<u32>>, most: u32, what: &str| match value {
            Some(v) if v.value == 0 || v.value > most => {
                problems.push(
                    yaml::diagnostic_at(path, text, doc, v, format!("`{what}` must be between 1 and {most}"))
                        .with_help("GitHub's secondary limits allow at most 80 content-creating requests a minute and 500 an hour; pacing can only go lower"),
                );
                most
            }
            Some(v) => v.value,
            None => most,
        };
        settings.per_minute = limit(&pacing.per_minute, defaults.per_minute, "pacing.per_minute");
        settings.per_hour = limit(&pacing.per_hour, defaults.per_hour, "pacing.per_hour");
        settings.min_interval_ms = pacing
            .min_interval_ms
            .unwrap_or(defaults.min_interval_ms)
            .max(defaults.min_interval_ms);
    }
    settings
}

/// The `git.ssh` section, checked: the key and known hosts files exist
/// (relative to the campaign file, or `~/...`), the passphrase variable is
/// a name (its value is read when a key is used, never here).
fn ssh_settings(
    raw: Option<&RawSsh>,
    base: &Path,
    problems: &mut Vec<FileDiagnostic>,
    place: &Place<'_, '_>,
) -> SshSettings {
    let mut settings = SshSettings::default();
    let Some(raw) = raw else {
        return settings;
    };
    let at = |v: &Spanned<String>, msg: String| {
        yaml::diagnostic_at(place.path, place.text, place.doc, v, msg)
    };
    let resolve = |written: &str| match written.strip_prefix("~/") {
        Some(rest) => Path::new(&std::env::var_os("HOME").unwrap_or_else(|| "/".into())).join(rest),
        None => base.join(written),
    };
    if let Some(key) = &raw.key {
        let full = normalize(&resolve(key.value.trim()));
        if key.value.trim().ends_with(".pub") {
            problems.push(
                at(key, format!("git.ssh.key `{}` is a public key", key.value))
                    .with_help("name the private key (the file without `.pub`); its public key goes on the forge account or as a deploy key"),
            );
        } else if !full.is_file() {
            problems.push(
                at(key, format!("git.ssh.key `{}` does not exist ({})", key.value, full.display()))
                    .with_help("name a private key file, relative to the campaign file or `~/...`; or leave `key` out to use the keys of the running ssh-agent"),
            );
        }
        settings.key = Some(full);
    }
    if let Some(env) = &raw.passphrase_env {
        if !is_env_name(&env.value) {
            problems.push(
                at(env, format!("`{}` is not an environment variable name", env.value))
                    .with_help("name the variable that holds the key's passphrase (e.g. DEPLOY_KEY_PASSPHRASE), never the passphrase itself"),
            );
        } else if raw.key.is_none() {
            problems.push(
                at(env, "git.ssh.passphrase_env without git.ssh.key".into())
                    .with_help("the passphrase is for the key file `key` names; ssh-agent holds its keys unlocked"),
            );
        }
        settings.passphrase_env = Some(env.value.clone());
    }
    if let Some(file) = &raw.known_hosts {
        let full = normalize(&resolve(file.value.trim()));
        if !full.is_file() {
            problems.push(
                at(file, format!("git.ssh.known_hosts `{}` does not exist ({})", file.value, full.display()))
                    .with_help("name a known_hosts file (OpenSSH's format), relative to the campaign file or `~/...`; fill it with `ssh-keyscan HOST >> FILE` after checking the fingerprints; without it, ~/.ssh/known_hosts is used"),
            );
        }
        settings.known_hosts = Some(full);
    }
    settings
}

/// The `gitlab:` section, checked; the defaults where a key is absent.
fn gitlab_settings(
    raw: Option<&Spanned<RawGitLab>>,
    problems: &mut Vec<FileDiagnostic>,
    path: &Path,
    text: &Source,
    doc: &yaml::Document<'_>,
) -> GitLabSettings {
    let mut settings = GitLabSettings::default();
    let Some(raw) = raw else {
        return settings;
    };
    let raw = &raw.value;
    let given = endpoint(
        &GITLAB_KEYS,
        [&raw.api_url, &raw.git_url, &raw.token_env],
        &settings.api_url,
        problems,
        &Place { path, text, doc },
    );
    settings.api_url = given.api_url.unwrap_or(settings.api_url);
    settings.git_url = given.git_url.or(settings.git_url);
    settings.token_env = given.token_env.unwrap_or(settings.token_env);
    if let Some(header) = &raw.token_header {
        match header.value.parse() {
            Ok(h) => settings.token_header = h,
            Err(why) => problems.push(
                yaml::diagnostic_at(path, text, doc, header, why)
                    .with_help("`private_token` (PRIVATE-TOKEN header: personal, project and group access tokens) or `bearer` (Authorization: Bearer, for OAuth tokens)"),
            ),
        }
    }
    if let Some(flag) = raw.merge_when_pipeline_succeeds {
        settings.merge_when_pipeline_succeeds = flag;
    }
    if let Some(pacing) = &raw.pacing {
        let defaults = GitLabSettings::default();
        let mut limit = |value: &Option<Spanned<u32>>, most: u32, what: &str| match value {
            Some(v) if v.value == 0 => {
                problems.push(
                    yaml::diagnostic_at(path, text, doc, v, format!("`{what}` must be at least 1"))
                        .with_help(
                            "a budget of 0 would never write; lower it to slow fleetwright down",
                        ),
                );
                most
            }
            Some(v) => v.value,
            None => most,
        };
        settings.per_minute = limit(
            &pacing.per_minute,
            defaults.per_minute,
            "gitlab.pacing.per_minute",
        );
        settings.per_hour = limit(
            &pacing.per_hour,
            defaults.per_hour,
            "gitlab.pacing.per_hour",
        );
        settings.min_interval_ms = pacing.min_interval_ms.unwrap_or(defaults.min_interval_ms);
    }
    settings
}

/// Where in the campaign file a problem is.
struct Place<'a, 'd> {
    path: &'a Path,
    text: &'a Source,
    doc: &'a yaml::Document<'d>,
}

/// `catalog:`, checked: a file or folder that exists, or a live Backstage
/// with an https URL (plain http only on loopback), a variable name for
/// its token and a filter Backstage can take.
fn catalog_source(
    raw: &Spanned<RawCatalog>,
    base: &Path,
    problems: &mut Vec<FileDiagnostic>,
    place: &Place<'_, '_>,
) -> CatalogSource {
    let at = |v: &Spanned<String>, msg: String| {
        yaml::diagnostic_at(place.path, place.text, place.doc, v, msg)
    };
    let b = match &raw.value {
        WordOrMap::Word(value) => {
            let spanned = Spanned {
                value: value.clone(),
                referenced: raw.referenced,
                defined: raw.defined,
            };
            let catalog = base.join(value);
            if value.starts_with("http://") || value.starts_with("https://") {
                problems.push(
                    at(&spanned, format!("catalog `{value}` is a URL, and a catalog path is a file or folder"))
                        .with_help(format!(
                            "for a live Backstage catalog write `catalog: {{backstage: {{url: {}, token_env: BACKSTAGE_TOKEN}}}}` (see docs/campaigns.md)",
                            crate::urls::redact(value.trim_end_matches('/'))
                        )),
                );
            } else if !catalog.exists() {
                problems.push(
                    at(&spanned, format!("catalog `{value}` does not exist ({})", catalog.display()))
                        .with_help("point `catalog` at a catalog file or a folder of them, relative to the campaign file, or at a live Backstage (`catalog: {backstage: {url: ...}}`)"),
                );
            }
            return CatalogSource::Files(normalize(&catalog));
        }
        WordOrMap::Map(map) => match (&map.backstage, &map.in_repositories) {
            (Some(b), None) => &b.value,
            (None, Some(r)) => return in_repositories(r, base, problems, place),
            (both, _) => {
                let spanned = Spanned {
                    value: String::new(),
                    referenced: raw.referenced,
                    defined: raw.defined,
                };
                let what = if both.is_some() {
                    "both `backstage` and `in_repositories`"
                } else {
                    "neither `backstage` nor `in_repositories`"
                };
                problems
                    .push(at(&spanned, format!("catalog names {what}")).with_help(CATALOG_HELP));
                return CatalogSource::Files(base.to_path_buf());
            }
        },
    };
    let url_help = "catalog.backstage.url is the base URL of Backstage's backend, such as `https://backstage.example.com` (the catalog API is below it, at /api/catalog); https only, plain http only on this machine's loopback";
    let url = b.url.value.trim().trim_end_matches('/').to_string();
    let origin = crate::urls::Origin::parse(&url);
    let problem = if crate::urls::has_userinfo(&url) {
        Some(format!(
            "catalog.backstage.url `{}` holds credentials: the token comes from catalog.backstage.token_env",
            crate::urls::redact(&url)
        ))
    } else if url.contains(['?', '#']) {
        Some(format!(
            "catalog.backstage.url `{}` holds a query or fragment",
            crate::urls::redact(&url)
        ))
    } else {
        match &origin {
            None => Some(format!(
                "catalog.backstage.url `{url}` is not an http(s) URL"
            )),
            Some(o) if !o.may_carry_token() => Some(format!(
                "catalog.backstage.url `{url}` is plain http to another machine: the token goes only over https"
            )),
            Some(_) => None,
        }
    };
    if let Some(problem) = problem {
        problems.push(at(&b.url, problem).with_help(url_help));
    }
    let token_env = match &b.token_env {
        None => crate::backstage::DEFAULT_TOKEN_ENV.to_string(),
        Some(env) => {
            if !is_env_name(&env.value) {
                problems.push(
                    at(env, format!("`{}` is not an environment variable name", env.value))
                        .with_help("name the variable that holds the Backstage token (e.g. BACKSTAGE_TOKEN), never the token itself"),
                );
            }
            env.value.clone()
        }
    };
    let mut filter = Vec::new();
    let filter_help = "catalog.backstage.filter selects components by field: `{spec.lifecycle: production, spec.type: [service, website]}` (each key a dotted path without `=` or `,`; a list means any of its values)";
    for (key, values) in b.filter.iter().flat_map(|f| f.value.iter()) {
        let list = values.value.clone().into_vec();
        let shown = Spanned {
            value: list.join(", "),
            referenced: values.referenced,
            defined: values.defined,
        };
        let key_ok = !key.is_empty()
            && !key.contains(['=', ',', '&', '#'])
            && !key.chars().any(|c| c.is_whitespace() || c.is_control());
        if !key_ok {
            problems.push(
                at(
                    &shown,
                    format!(
                        "catalog.backstage.filter key `{}` is not a field path",
                        crate::escape::terminal(key)
                    ),
                )
                .with_help(filter_help),
            );
            continue;
        }
        if let Some(bad) = list.iter().find(|v| {
            v.trim().is_empty() || v.contains([',', '&', '#']) || v.chars().any(char::is_control)
        }) {
            problems.push(
                at(&shown, format!("catalog.backstage.filter `{key}`: `{}` cannot be a filter value (empty, or holds `,`, `&`, `#` or a control character)", crate::escape::terminal(bad)))
                    .with_help(filter_help),
            );
            continue;
        }
        if key.eq_ignore_ascii_case("kind") {
            if !list.iter().all(|v| v.eq_ignore_ascii_case("component")) {
                problems.push(
                    at(&shown, format!("catalog.backstage.filter kind `{}`: a campaign targets components", shown.value))
                        .with_help("leave `kind` out (or write `kind: component`): fleetwright reads the components the filter selects, and every Group and User for the owners"),
                );
            }
            continue;
        }
        filter.push(crate::backstage::Condition {
            key: key.clone(),
            values: list.iter().map(|v| v.trim().to_string()).collect(),
        });
    }
    CatalogSource::Backstage(BackstageSource {
        url,
        token_env,
        filter,
    })
}

const CATALOG_HELP: &str = "`catalog` is a catalog file or folder, a live Backstage (`{backstage: {url: ...}}`) or the descriptors in the repositories (`{in_repositories: {repositories: repos.txt}}`), one of them (docs/campaigns.md)";

/// `catalog: {in_repositories: ...}`, checked: the list file exists and
/// holds URLs (or the list does), the descriptor's path is relative and
/// stays inside a repository, the groups file or folder exists.
fn in_repositories(
    raw: &Spanned<RawInRepositories>,
    base: &Path,
    problems: &mut Vec<FileDiagnostic>,
    place: &Place<'_, '_>,
) -> CatalogSource {
    let at = |v: &Spanned<String>, msg: String| {
        yaml::diagnostic_at(place.path, place.text, place.doc, v, msg)
    };
    let r = &raw.value;
    let list_spanned = Spanned {
        value: String::new(),
        referenced: r.repositories.referenced,
        defined: r.repositories.defined,
    };
    let list_help = "catalog.in_repositories.repositories is a file with one repository URL a line (`#` comments and blank lines allowed), relative to the campaign file, or a list of URLs";
    let mut repositories = Vec::new();
    let mut list = None;
    match &r.repositories.value {
        OneOrMany::One(file) => {
            let path = normalize(&base.join(file));
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let source = Source::new(text.as_str());
                    let mut offset = 0;
                    for line in text.split_inclusive('\n') {
                        let url = line.split('#').next().unwrap_or("").trim();
                        if !url.is_empty() {
                            let start = offset + line.find(url).unwrap_or(0);
                            match repository_url_problem(url) {
                                Some(why) => problems.push(
                                    FileDiagnostic::at_offset(
                                        &path,
                                        &source,
                                        start,
                                        url.len(),
                                        why,
                                    )
                                    .with_help(list_help)
                                    .masking_userinfo(),
                                ),
                                None => repositories.push(url.to_string()),
                            }
                        }
                        offset += line.len();
                    }
                }
                Err(e) => problems.push(
                    at(
                        &list_spanned,
                        format!(
                            "catalog.in_repositories.repositories `{}` cannot be read ({}): {e}",
                            terminal(file),
                            path.display()
                        ),
                    )
                    .with_help(list_help),
                ),
            }
            list = Some(path);
        }
        OneOrMany::Many(urls) => {
            for url in urls {
                match repository_url_problem(url.trim()) {
                    Some(why) => problems.push(
                        at(&list_spanned, why)
                            .with_help(list_help)
                            .masking_userinfo(),
                    ),
                    None => repositories.push(url.trim().to_string()),
                }
            }
        }
    }
    let path = match &r.path {
        None => crate::descriptors::DEFAULT_PATH.to_string(),
        Some(p) => {
            let v = p.value.trim().trim_start_matches("./");
            let bad = v.is_empty()
                || v.starts_with('/')
                || v.contains('\\')
                || v.split('/').any(|s| s == ".." || s.is_empty())
                || v.chars().any(char::is_control);
            if bad {
                problems.push(
                    at(p, format!("catalog.in_repositories.path `{}` is not a path inside a repository", terminal(&p.value)))
                        .with_help("write the descriptor's path relative to the repository's root, such as `catalog-info.yaml` or `deploy/catalog-info.yaml` (no `..`, not absolute)"),
                );
            }
            v.to_string()
        }
    };
    let groups = r.groups.as_ref().map(|g| {
        let path = base.join(&g.value);
        if !path.exists() {
            problems.push(
                at(g, format!("catalog.in_repositories.groups `{}` does not exist ({})", terminal(&g.value), path.display()))
                    .with_help("point `groups` at a catalog file or folder holding the Group and User entities (the owners), relative to the campaign file, or leave it out"),
            );
        }
        normalize(&path)
    });
    CatalogSource::Repositories(crate::descriptors::InRepositories {
        repositories,
        path,
        groups,
        list,
    })
}

/// Why `url` cannot be a repository to read a descriptor from.
fn repository_url_problem(url: &str) -> Option<String> {
    if url.chars().any(char::is_control) || url.contains(char::is_whitespace) {
        return Some(format!(
            "`{}` is not a repository URL (it holds a space or a control character)",
            terminal(url)
        ));
    }
    if crate::urls::has_userinfo(url) {
        return Some(format!(
            "`{}` holds credentials: the forge's token is given to git by fleetwright",
            crate::urls::redact(url)
        ));
    }
    if crate::catalog::repository_at(url).is_none() {
        return Some(format!(
            "`{}` is not a repository URL (write `https://host/org/repo.git`, `git@host:org/repo.git` or an absolute path)",
            terminal(url)
        ));
    }
    None
}

/// A name an environment variable can have (`BACKSTAGE_TOKEN`).
fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// `report.issue`, checked: the repository on the campaign's forge, the
/// title rendered with the campaign's name, the labels.
fn tracking_issue(
    raw: &RawIssue,
    campaign: &str,
    forge: ForgeKind,
    base: &Path,
    problems: &mut Vec<FileDiagnostic>,
    place: &Place<'_, '_>,
) -> Option<TrackingIssueSettings> {
    let at = |v: &Spanned<String>, msg: String| {
        yaml::diagnostic_at(place.path, place.text, place.doc, v, msg)
    };
    let before = problems.len();
    let written = raw.repository.value.trim();
    let repository = match forge {
        ForgeKind::Github => {
            if let Some(why) = crate::forge::github::repository_name_problem(written) {
                problems.push(
                    at(&raw.repository, format!("report.issue.repository `{written}` {why}"))
                        .with_help("name a repository on the campaign's GitHub as owner/name, e.g. `acme/platform-migrations`; the token must be able to write its issues"),
                );
            }
            written.to_string()
        }
        ForgeKind::Gitlab => {
            if let Some(why) = crate::forge::gitlab::project_path_problem(written) {
                problems.push(
                    at(&raw.repository, format!("report.issue.repository `{written}` {why}"))
                        .with_help("name a project on the campaign's GitLab by its path, e.g. `acme/platform/migrations`; the token must be able to write its issues"),
                );
            }
            written.to_string()
        }
        ForgeKind::Local => {
            let help = "with `forge: local`, the tracking issue lives in a bare repository on this machine: a path relative to the campaign file or a file:// URL, as the catalog names targets (e.g. `remotes/platform-migrations.git`)";
            match crate::git::local_path(written) {
                None => {
                    problems.push(
                        at(&raw.repository, format!("report.issue.repository `{}` is a network URL, and the local forge keeps issues only for repositories on this machine", crate::urls::redact(written)))
                            .with_help(help),
                    );
                    written.to_string()
                }
                Some(local) => {
                    // Absolute: the state records it, and commands run
                    // from anywhere.
                    let full = absolute(&base.join(local));
                    if written.is_empty() || !full.is_dir() {
                        problems.push(
                            at(&raw.repository, format!("report.issue.repository `{written}` is not a repository on this machine ({} does not exist)", full.display()))
                                .with_help(help),
                        );
                    }
                    full.to_string_lossy().into_owned()
                }
            }
        }
    };
    let title = match &raw.title {
        None => format!("fleetwright: {campaign}"),
        Some(t) => match template::render_issue_title(&t.value, campaign) {
            Ok(title) if title.is_empty() => {
                problems.push(
                    at(t, "report.issue.title renders to an empty title".into())
                        .with_help("write the issue's title, e.g. `\"Migration: {{ campaign }}\"`"),
                );
                String::new()
            }
            Ok(title) if title.chars().count() > MAX_ISSUE_TITLE => {
                problems.push(
                    at(t, format!("report.issue.title is {} characters long; GitHub takes at most {MAX_ISSUE_TITLE}", title.chars().count()))
                        .with_help("shorten the title"),
                );
                title
            }
            Ok(title) => title,
            Err(e) => {
                problems.push(
                    at(t, format!("report.issue.title is not a valid template: {e}"))
                        .with_help("the title is a template with one value, `campaign` (the campaign's name), e.g. `\"Migration: {{ campaign }}\"`"),
                );
                String::new()
            }
        },
    };
    let mut labels: Vec<String> = Vec::new();
    for label in &raw.labels {
        let name = label.value.trim();
        let problem = if name.is_empty() {
            Some("a label is empty".to_string())
        } else if name.chars().count() > MAX_LABEL {
            Some(format!(
                "label `{name}` is longer than {MAX_LABEL} characters"
            ))
        } else if name.contains(',') {
            Some(format!(
                "label `{name}` holds a comma, which GitHub reads as two labels"
            ))
        } else {
            name.chars().find(|c| c.is_control()).map(|c| {
                format!(
                    "label `{}` holds a control character (U+{:04X})",
                    name.escape_default(),
                    u32::from(c)
                )
            })
        };
        match problem {
            Some(problem) => problems.push(
                at(label, format!("report.issue.labels: {problem}"))
                    .with_help("labels are short names such as `migration`; the issue always carries `fleetwright/tracking` too"),
            ),
            None if name != crate::forge::TRACKING_LABEL && !labels.iter().any(|l| l == name) => {
                labels.push(name.to_string())
            }
            None => {}
        }
    }
    (problems.len() == before).then_some(TrackingIssueSettings {
        repository,
        title,
        labels,
    })
}

fn filter(
    raw: RawFilter,
    problems: &mut Vec<FileDiagnostic>,
    path: &Path,
    text: &Source,
    doc: &yaml::Document<'_>,
) -> TargetFilter {
    if let Some(kind) = &raw.kind {
        let kinds = kind.value.clone().into_vec();
        if kinds.iter().any(|k| !k.eq_ignore_ascii_case("component")) {
            problems.push(
                yaml::diagnostic_at(path, text, doc, kind, "only `Component` entities can be targeted")
                    .with_help("Components are the entities with a repository; remove `kind` or set it to Component"),
            );
        }
    }
    let mut refs = |v: Option<Spanned<OneOrMany>>, default_kind: &str| -> Vec<EntityRef> {
        let Some(v) = v else { return Vec::new() };
        let mut out = Vec::new();
        for s in v.value.into_vec() {
            match EntityRef::parse(&s, default_kind, "default") {
                Ok(r) => out.push(r),
                Err(e) => problems.push(yaml::diagnostic_at(
                    path,
                    text,
                    doc,
                    &Spanned::new((), v.referenced, v.defined),
                    format!("`{s}` is not an entity reference: {e}"),
                )),
            }
        }
        out
    };
    let system = refs(raw.system, "system");
    let owner = refs(raw.owner, "group");
    TargetFilter {
        spec_type: raw.spec_type.map(OneOrMany::into_vec).unwrap_or_default(),
        lifecycle: raw.lifecycle.map(OneOrMany::into_vec).unwrap_or_default(),
        system,
        owner,
        tags: raw.tags.map(OneOrMany::into_vec).unwrap_or_default(),
        exclude: raw.exclude,
        exclude_tags: raw.exclude_tags,
        exclude_annotations: raw
            .exclude_annotations
            .into_iter()
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                None => (a.trim().to_string(), None),
            })
            .collect(),
    }
}

fn tranches(
    raw: &Spanned<Vec<Spanned<RawTranche>>>,
    problems: &mut Vec<FileDiagnostic>,
    path: &Path,
    text: &Source,
    doc: &yaml::Document<'_>,
) -> Vec<Tranche> {
    let help = "a tranche is a count (`5`), a share of all targets (`\"25%\"`), `rest`, or `{name: payments, size: 3, select: {owner: payments}}`; e.g. tranches: [1, 5, \"25%\", rest]";
    if raw.value.is_empty() {
        problems
            .push(yaml::diagnostic_at(path, text, doc, raw, "`tranches` is empty").with_help(help));
    }
    let mut out = Vec::new();
    for (i, item) in raw.value.iter().enumerate() {
        let size = |count: Option<u64>, text: Option<&str>| match (count, text) {
            (Some(0), _) => Err("a tranche of 0 targets opens nothing".to_string()),
            (Some(n), _) => Ok(TrancheSize::Count(n as usize)),
            (None, Some(s)) => parse_tranche(s),
            (None, None) => Ok(TrancheSize::Rest),
        };
        let parsed = match &item.value {
            RawTranche::Count(n) => size(Some(*n), None).map(|size| Tranche {
                name: None,
                size,
                select: None,
            }),
            RawTranche::Text(s) => size(None, Some(s)).map(|size| Tranche {
                name: None,
                size,
                select: None,
            }),
            RawTranche::Map(m) => {
                let parsed = match &m.size {
                    Some(RawSize::Count(n)) => size(Some(*n), None),
                    Some(RawSize::Text(s)) => size(None, Some(s)),
                    None => Ok(TrancheSize::Rest),
                };
                let select = m.select.as_ref().map(|s| {
                    filter(
                        RawFilter {
                            spec_type: s.spec_type.clone(),
                            lifecycle: s.lifecycle.clone(),
                            system: s.system.clone(),
                            owner: s.owner.clone(),
                            tags: s.tags.clone(),
                            ..RawFilter::default()
                        },
                        problems,
                        path,
                        text,
                        doc,
                    )
                });
                parsed.map(|size| Tranche {
                    name: m.name.clone(),
                    size,
                    select,
                })
            }
        };
        match parsed {
            Ok(t)
                if t.size == TrancheSize::Rest
                    && t.select.is_none()
                    && i + 1 != raw.value.len() =>
            {
                problems.push(
                    yaml::diagnostic_at(path, text, doc, item, "`rest` must be the last tranche")
                        .with_help(help),
                )
            }
            Ok(t) => out.push(t),
            Err(e) => problems.push(yaml::diagnostic_at(path, text, doc, item, e).with_help(help)),
        }
    }
    out
}

fn parse_tranche(s: &str) -> Result<TrancheSize, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("rest") {
        return Ok(TrancheSize::Rest);
    }
    if let Some(p) = s.strip_suffix('%') {
        return match p.trim().parse::<u32>() {
            Ok(p) if (1..=100).contains(&p) => Ok(TrancheSize::Percent(p)),
            _ => Err(format!("`{s}` is not a share between 1% and 100%")),
        };
    }
    match s.parse::<usize>() {
        Ok(0) => Err("a tranche of 0 targets opens nothing".to_string()),
        Ok(n) => Ok(TrancheSize::Count(n)),
        Err(_) => Err(format!("`{s}` is not a tranche size")),
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && !name.contains("..")
        && !name.ends_with('.')
}

#[cfg(test)]
mod tests;
