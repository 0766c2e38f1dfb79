//! The rows the state hands out, and the words it stores.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, StateError};

/// Where a target is in its campaign. See `docs/architecture.md` for the
/// machine; the strings are what the state stores and `--json` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Planned; its tranche is not open yet.
    Pending,
    /// Its tranche is open; not prepared yet (or interrupted before the push).
    Queued,
    /// The branch is on the remote; the pull request is not open yet.
    Pushed,
    /// The pull request is open.
    PrOpen,
    /// The pull request was merged.
    Merged,
    /// The pull request was closed without merging.
    Declined,
    /// The recipe changes nothing in this repository.
    NoChange,
    /// The recipe's `applies_when` does not hold here; `reason` says which.
    NotApplicable,
    /// A step failed; `step` and `reason` say which and why. Retried by the next run.
    Failed,
    /// The campaign's `verify` command failed on the rewritten checkout:
    /// nothing was pushed; `reason` holds its status and the end of its
    /// output. Retried when the recipe changes.
    VerifyFailed,
    /// The repository opted out of the campaign with a `.fleetwright.yaml`
    /// file; `reason` holds the reason it gives.
    OptedOut,
    /// The pull request needs a person: the recipe changed but someone
    /// pushed to the branch (never overwritten), or the branch is gone;
    /// `reason` says which.
    NeedsAttention,
}

impl TargetState {
    pub const ALL: [TargetState; 12] = [
        TargetState::Pending,
        TargetState::Queued,
        TargetState::Pushed,
        TargetState::PrOpen,
        TargetState::Merged,
        TargetState::Declined,
        TargetState::NoChange,
        TargetState::NotApplicable,
        TargetState::Failed,
        TargetState::NeedsAttention,
        TargetState::VerifyFailed,
        TargetState::OptedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Pending => "pending",
            TargetState::Queued => "queued",
            TargetState::Pushed => "pushed",
            TargetState::PrOpen => "pr_open",
            TargetState::Merged => "merged",
            TargetState::Declined => "declined",
            TargetState::NoChange => "no_change",
            TargetState::NotApplicable => "not_applicable",
            TargetState::Failed => "failed",
            TargetState::NeedsAttention => "needs_attention",
            TargetState::VerifyFailed => "verify_failed",
            TargetState::OptedOut => "opted_out",
        }
    }

    /// True when a run of launch/advance has work to do on a target in this
    /// state (its tranche being open).
    pub fn needs_work(self) -> bool {
        matches!(
            self,
            TargetState::Queued | TargetState::Pushed | TargetState::Failed
        )
    }
}

impl TargetState {
    /// Nothing more will happen to a target in this state: its pull request
    /// was merged or declined, or it needs none.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            TargetState::Merged
                | TargetState::Declined
                | TargetState::NoChange
                | TargetState::NotApplicable
                | TargetState::OptedOut
        )
    }

    /// The target needs no pull request (it is not counted by gates).
    pub fn needs_no_pr(self) -> bool {
        matches!(
            self,
            TargetState::NoChange | TargetState::NotApplicable | TargetState::OptedOut
        )
    }

    /// The state in the words people use, for what people read (`status`,
    /// the report); `--json` and CSV keep [`TargetState::as_str`].
    pub fn label(self) -> &'static str {
        match self {
            TargetState::Pending => "waiting for its tranche",
            TargetState::Queued => "queued",
            TargetState::Pushed => "branch pushed",
            TargetState::PrOpen => "pull request open",
            TargetState::Merged => "merged",
            TargetState::Declined => "declined by its owners",
            TargetState::NoChange => "no change needed",
            TargetState::NotApplicable => "not applicable",
            TargetState::Failed => "failed",
            TargetState::VerifyFailed => "verify failed",
            TargetState::NeedsAttention => "needs attention",
            TargetState::OptedOut => "opted out",
        }
    }
}

impl std::fmt::Display for TargetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step of preparing a target, named in failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Clone,
    Apply,
    Commit,
    Push,
    OpenPr,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Clone => "clone",
            Step::Apply => "apply",
            Step::Commit => "commit",
            Step::Push => "push",
            Step::OpenPr => "open_pr",
        }
    }
}

impl std::str::FromStr for Step {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [
            Step::Clone,
            Step::Apply,
            Step::Commit,
            Step::Push,
            Step::OpenPr,
        ]
        .into_iter()
        .find(|step| step.as_str() == s)
        .ok_or_else(|| format!("unknown step `{s}`"))
    }
}

/// State of a pull request, on any forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    Open,
    Merged,
    Closed,
}

impl PrState {
    pub fn as_str(self) -> &'static str {
        match self {
            PrState::Open => "open",
            PrState::Merged => "merged",
            PrState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<PrState> {
        match s {
            "open" => Ok(PrState::Open),
            "merged" => Ok(PrState::Merged),
            "closed" => Ok(PrState::Closed),
            other => Err(StateError::Unknown(format!("pull request state `{other}`"))),
        }
    }
}

/// State of an issue (a campaign's tracking issue), on any forge. Stored
/// as its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    Open,
    /// Closed, by a person: fleetwright never closes a tracking issue.
    Closed,
}

impl std::str::FromStr for IssueState {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "open" => Ok(IssueState::Open),
            "closed" => Ok(IssueState::Closed),
            other => Err(format!("unknown issue state `{other}`")),
        }
    }
}

impl IssueState {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Closed => "closed",
        }
    }

    pub fn is_open(self) -> bool {
        self == IssueState::Open
    }
}

/// A campaign's tracking issue as the state remembers it (table
/// `tracking_issues`): where it is and what was last published there.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrackingIssueRow {
    pub campaign_id: i64,
    /// `owner/name` on GitHub; a bare repository's path on the local forge.
    pub repository: String,
    pub number: i64,
    pub url: String,
    /// As last seen.
    pub state: IssueState,
    /// The fingerprint of the last title and body published (see
    /// `engine::tracking`); `None` when fleetwright has not published there
    /// since it found the issue.
    pub body_hash: Option<String>,
    /// When fleetwright last published there (RFC 3339).
    pub published_at: Option<String>,
    pub updated_at: String,
}

/// What to remember of a campaign's tracking issue.
#[derive(Debug, Clone)]
pub struct TrackingIssueRecord<'a> {
    pub repository: &'a str,
    pub number: i64,
    pub url: &'a str,
    pub state: IssueState,
    pub body_hash: Option<&'a str>,
    /// Whether this record is of a publication (sets `published_at`).
    pub published: bool,
}

/// An issue of the local forge (table `local_issues`): the issue itself,
/// since the local forge has no other place to keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIssue {
    pub repo_url: String,
    pub number: i64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub state: IssueState,
}

impl LocalIssue {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        let labels: String = r.try_get("labels")?;
        Ok(LocalIssue {
            repo_url: r.try_get("repo_url")?,
            number: r.try_get("number")?,
            title: r.try_get("title")?,
            body: r.try_get("body")?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            state: r.try_get("state")?,
        })
    }
}

/// What [`super::State::update_local_pr`] changes.
#[derive(Debug, Clone, Copy)]
pub enum LocalPrChange<'a> {
    Labels(&'a [String]),
    Text { title: &'a str, body: &'a str },
    Ci(CiState),
}

/// A pull request's checks, combined (`none`: it has none), stored as its
/// word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiState {
    None,
    Pending,
    Success,
    Failure,
}

impl CiState {
    /// Every CI state, in order.
    pub const ALL: [CiState; 4] = [
        CiState::None,
        CiState::Pending,
        CiState::Success,
        CiState::Failure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CiState::None => "none",
            CiState::Pending => "pending",
            CiState::Success => "success",
            CiState::Failure => "failure",
        }
    }
}

impl std::str::FromStr for CiState {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" => Ok(CiState::None),
            "pending" => Ok(CiState::Pending),
            "success" => Ok(CiState::Success),
            "failure" => Ok(CiState::Failure),
            other => Err(format!("unknown CI state `{other}`")),
        }
    }
}

impl std::fmt::Display for CiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pull request's reviews, as last synced, stored as its word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    /// No verdict yet.
    Pending,
}

impl ReviewState {
    /// Every review state, in order.
    pub const ALL: [ReviewState; 3] = [
        ReviewState::Approved,
        ReviewState::ChangesRequested,
        ReviewState::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Approved => "approved",
            ReviewState::ChangesRequested => "changes_requested",
            ReviewState::Pending => "pending",
        }
    }

    /// A reviewer gave a verdict (approved, or changes requested): the
    /// pull request is not waiting for review (nudges, the report).
    pub fn is_verdict(self) -> bool {
        match self {
            ReviewState::Approved | ReviewState::ChangesRequested => true,
            ReviewState::Pending => false,
        }
    }
}

impl std::str::FromStr for ReviewState {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "approved" => Ok(ReviewState::Approved),
            "changes_requested" => Ok(ReviewState::ChangesRequested),
            "pending" => Ok(ReviewState::Pending),
            other => Err(format!("unknown review state `{other}`")),
        }
    }
}

impl std::fmt::Display for ReviewState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A campaign's status, stored as its word (`active`, `paused`,
/// `completed`, `cancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    /// Tranches open and pull requests are opened as the rollout allows.
    Active,
    /// Nothing is opened until `resume` (by hand, or the CI pause).
    Paused,
    /// Every tranche is open and every target settled.
    Completed,
    /// Ended for good: nothing more is opened, synced or nudged.
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Cancelled => "cancelled",
        }
    }

    /// Nothing more will happen to the campaign: completed or cancelled.
    /// The one rule `run --watch`, the demo, the cache and the reconciler
    /// use.
    pub fn is_finished(self) -> bool {
        match self {
            CampaignStatus::Completed | CampaignStatus::Cancelled => true,
            CampaignStatus::Active | CampaignStatus::Paused => false,
        }
    }
}

impl std::str::FromStr for CampaignStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "active" => Ok(CampaignStatus::Active),
            "paused" => Ok(CampaignStatus::Paused),
            "completed" => Ok(CampaignStatus::Completed),
            "cancelled" => Ok(CampaignStatus::Cancelled),
            other => Err(format!("unknown campaign status `{other}`")),
        }
    }
}

impl std::fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A campaign as recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub file: String,
    pub recipe_id: String,
    pub forge: String,
    pub status: CampaignStatus,
    pub tranche_count: i64,
    pub tranches_open: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Why it is paused, cancelled or completed.
    pub status_reason: Option<String>,
    /// The last gate evaluation, in words.
    pub gate_note: Option<String>,
    /// Failing pull requests of the open tranche accepted by the last resume.
    pub ci_failures_acknowledged: i64,
}

impl CampaignRow {
    /// The forge the campaign was launched on.
    pub fn forge_kind(&self) -> Result<crate::forge::ForgeKind, super::StateError> {
        self.forge
            .parse()
            .map_err(|e: String| super::StateError::Unknown(format!("campaign {}: {e}", self.name)))
    }
}

/// A snapshot of a live catalog about to be recorded.
#[derive(Debug, Clone, Copy)]
pub struct NewSnapshot<'a> {
    /// The Backstage base URL read (never a token).
    pub source: &'a str,
    pub entity_count: i64,
    /// One compact JSON entity a line.
    pub entities: &'a str,
}

/// A recorded snapshot of a campaign's live catalog.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CatalogSnapshotRow {
    pub id: i64,
    pub source: String,
    pub taken_at: String,
    pub entity_count: i64,
    pub entities: String,
}

/// A campaign about to be recorded.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub file: String,
    pub recipe_id: String,
    pub forge: String,
    pub tranche_count: i64,
    /// Names and specs of the tranches (as many as `tranche_count`).
    pub tranches: Vec<NewTranche>,
}

/// A tranche about to be recorded.
#[derive(Debug, Clone)]
pub struct NewTranche {
    pub name: String,
    /// As written: `1`, `25%`, `rest`, `owner: payments`.
    pub spec: String,
}

/// A tranche as recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TrancheRow {
    /// 0-based.
    pub idx: i64,
    pub name: String,
    pub spec: String,
    pub opened_at: Option<String>,
}

/// What a scan found at a target's default-branch head.
#[derive(Debug, Clone, Default)]
pub struct NewScan {
    pub commit: Option<String>,
    pub matches: Option<i64>,
    pub error: Option<String>,
    /// What the count was taken with (the recipe and the target's catalog
    /// facts, hashed): the same head and key give the same count.
    pub key: Option<String>,
    pub files: Option<i64>,
    pub note: Option<String>,
}

/// A scan as recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ScanRow {
    pub target_id: i64,
    pub commit_id: Option<String>,
    pub matches: Option<i64>,
    pub error: Option<String>,
    pub at: String,
    /// `None` for scans recorded before schema 9.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A planned target about to be recorded.
#[derive(Debug, Clone)]
pub struct NewTarget {
    pub repo: String,
    pub url: String,
    pub component: String,
    pub owner: String,
    pub tranche: i64,
    pub position: i64,
}

/// A target as recorded, with its changeset when it has one.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRow {
    pub id: i64,
    pub campaign_id: i64,
    pub repo: String,
    pub url: String,
    pub component: String,
    pub owner: String,
    pub tranche: i64,
    pub position: i64,
    pub state: TargetState,
    pub step: Option<String>,
    pub reason: Option<String>,
    pub default_branch: Option<String>,
    pub base_commit: Option<String>,
    pub head_commit: Option<String>,
    /// The fingerprint of the recipe the pushed branch was made with.
    pub recipe_fingerprint: Option<String>,
    pub updated_at: String,
    pub changeset: Option<ChangesetRow>,
}

/// A target's branch and pull request.
#[derive(Debug, Clone, Serialize)]
pub struct ChangesetRow {
    pub branch: String,
    pub base: String,
    pub number: Option<i64>,
    pub url: Option<String>,
    pub pr_state: Option<PrState>,
    pub draft: bool,
    pub ci_state: Option<CiState>,
    pub review_state: Option<ReviewState>,
    /// Who was asked to review (`@login team:slug`); empty: nobody; `None`:
    /// not recorded (a pull request fleetwright adopted).
    pub reviewers: Option<String>,
    /// When the pull request was first recorded open.
    pub opened_at: Option<String>,
    /// When the stale nudge was posted (it is posted once).
    pub nudged_at: Option<String>,
    pub merged_at: Option<String>,
    /// Whether the branch holds exactly the recipe's change, as last
    /// checked; `None`: never checked.
    pub recipe_exact: Option<RecipeExact>,
}

/// The last check of a pull request's branch against its recipe: the
/// branch head `head` is (or is not) the recipe of `fingerprint` applied
/// to the branch's base commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipeExact {
    pub head: String,
    pub fingerprint: String,
    pub exact: bool,
}

impl ChangesetRow {
    /// The last check still holds for the branch at `head` and the recipe
    /// of `fingerprint`: its answer, without checking again.
    pub fn known_exactness(&self, head: &str, fingerprint: &str) -> Option<bool> {
        self.recipe_exact
            .as_ref()
            .filter(|e| e.head == head && e.fingerprint == fingerprint)
            .map(|e| e.exact)
    }

    /// The branch was last found recipe-exact.
    pub fn is_recipe_exact(&self) -> bool {
        self.recipe_exact.as_ref().is_some_and(|e| e.exact)
    }
}

impl TargetRow {
    /// The target's pull request is open (as last synced): `pr_open`; or
    /// `verify_failed` with the draft `verify.on_failure: draft` opened; or
    /// `needs_attention` with its pull request still open (a person pushed
    /// to the branch, or the recipe stopped applying). The one rule sync,
    /// merge, close, the throttles and the report all use: such a pull
    /// request is tracked until its people merge or close it.
    pub fn has_open_pr(&self) -> bool {
        match self.state {
            TargetState::PrOpen => true,
            TargetState::VerifyFailed | TargetState::NeedsAttention => self
                .changeset
                .as_ref()
                .is_some_and(|c| c.number.is_some() && c.pr_state == Some(PrState::Open)),
            _ => false,
        }
    }

    /// An open pull request whose checks fail (as last synced).
    pub fn ci_failing(&self) -> bool {
        self.has_open_pr()
            && self
                .changeset
                .as_ref()
                .is_some_and(|c| c.ci_state == Some(CiState::Failure))
    }

    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        let state: String = r.try_get("state")?;
        let branch: Option<String> = r.try_get("cs_branch")?;
        let changeset = match branch {
            Some(branch) => Some(ChangesetRow {
                branch,
                base: r.try_get("cs_base")?,
                number: r.try_get("cs_number")?,
                url: r.try_get("cs_url")?,
                pr_state: r
                    .try_get::<Option<String>, _>("cs_pr_state")?
                    .map(|s| PrState::parse(&s))
                    .transpose()?,
                draft: r.try_get::<Option<i64>, _>("cs_draft")?.unwrap_or(0) != 0,
                ci_state: r.try_get("cs_ci_state")?,
                review_state: r.try_get("cs_review_state")?,
                reviewers: r.try_get("cs_reviewers")?,
                opened_at: r.try_get("cs_opened_at")?,
                nudged_at: r.try_get("cs_nudged_at")?,
                merged_at: r.try_get("cs_merged_at")?,
                recipe_exact: match (
                    r.try_get::<Option<String>, _>("cs_exact_head")?,
                    r.try_get::<Option<String>, _>("cs_exact_fingerprint")?,
                    r.try_get::<Option<i64>, _>("cs_recipe_exact")?
                        .map(|e| e != 0),
                ) {
                    (Some(head), Some(fingerprint), Some(exact)) => Some(RecipeExact {
                        head,
                        fingerprint,
                        exact,
                    }),
                    _ => None,
                },
            }),
            None => None,
        };
        Ok(TargetRow {
            id: r.try_get("id")?,
            campaign_id: r.try_get("campaign_id")?,
            repo: r.try_get("repo")?,
            url: r.try_get("url")?,
            component: r.try_get("component")?,
            owner: r.try_get("owner")?,
            tranche: r.try_get("tranche")?,
            position: r.try_get("position")?,
            state: state.parse()?,
            step: r.try_get("step")?,
            reason: r.try_get("reason")?,
            default_branch: r.try_get("default_branch")?,
            base_commit: r.try_get("base_commit")?,
            head_commit: r.try_get("head_commit")?,
            recipe_fingerprint: r.try_get("recipe_fingerprint")?,
            updated_at: r.try_get("updated_at")?,
            changeset,
        })
    }
}

impl TargetRow {
    /// A row made by hand, for tests of code that only reads rows: target
    /// `id` of campaign 1, tranche 0, owned by `group:default/team-a`,
    /// without a changeset.
    pub fn sample(id: i64, repo: &str, state: TargetState) -> TargetRow {
        TargetRow {
            id,
            campaign_id: 1,
            repo: repo.into(),
            url: String::new(),
            component: format!("component:default/{repo}"),
            owner: "group:default/team-a".into(),
            tranche: 0,
            position: id,
            state,
            step: None,
            reason: None,
            default_branch: None,
            base_commit: None,
            head_commit: None,
            recipe_fingerprint: None,
            updated_at: "2026-01-05T09:00:00Z".into(),
            changeset: None,
        }
    }
}

/// What a state transition learned, besides the new state.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    pub step: Option<Step>,
    pub reason: Option<String>,
    pub default_branch: Option<String>,
    pub base_commit: Option<String>,
    pub head_commit: Option<String>,
    /// The fingerprint of the recipe the branch was made with.
    pub recipe_fingerprint: Option<String>,
}

impl Transition {
    pub fn failed(step: Step, reason: impl Into<String>) -> Self {
        Transition {
            step: Some(step),
            reason: Some(reason.into()),
            ..Transition::default()
        }
    }
}

/// What the forge says of a pull request, as the changeset records it.
#[derive(Debug, Clone)]
pub struct PullRequestRecord {
    pub number: i64,
    pub url: String,
    pub state: PrState,
    pub draft: bool,
    pub ci_state: Option<CiState>,
    /// `approved`, `changes_requested` or `pending`, when the forge says.
    pub review_state: Option<ReviewState>,
    pub merged_at: Option<String>,
    pub closed_at: Option<String>,
}

/// A pull request just opened, for [`super::State::record_pull_request_and_state`]:
/// the event's detail (`#12 https://…`) and who was asked to review it
/// (`@login team:slug`, space-separated; empty: nobody).
#[derive(Debug, Clone, Copy)]
pub struct Opened<'a> {
    pub detail: &'a str,
    pub reviewers: &'a str,
}

/// One pull request a sync read, for [`State::record_synced`](super::State::record_synced).
#[derive(Debug, Clone)]
pub struct Synced<'a> {
    pub target: &'a TargetRow,
    pub record: PullRequestRecord,
    /// The state the target moves to (with why), when the forge moved it;
    /// nothing is logged when it is already there.
    pub to: Option<(TargetState, Transition)>,
}

/// Which targets a listing holds (`status --state/--team/--tranche`); an
/// empty filter holds them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFilter {
    pub state: Option<TargetState>,
    /// The owner's entity ref, as recorded (`group:default/payments`).
    pub owner: Option<String>,
    /// The tranche, 0-based.
    pub tranche: Option<i64>,
}

impl TargetFilter {
    /// True when it holds every target.
    pub fn is_empty(&self) -> bool {
        self == &TargetFilter::default()
    }
}

/// One row of the append-only event log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub target_id: Option<i64>,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: Option<String>,
    pub at: String,
}

/// A pull request of the embedded local forge.
#[derive(Debug, Clone, Serialize)]
pub struct LocalPullRequest {
    pub repo_url: String,
    pub number: i64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub head_commit: String,
    pub state: PrState,
    pub draft: bool,
    pub labels: Vec<String>,
    pub ci_state: CiState,
    pub merge_commit: Option<String>,
    pub close_comment: Option<String>,
}

impl LocalPullRequest {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self> {
        let labels: String = r.try_get("labels")?;
        Ok(LocalPullRequest {
            repo_url: r.try_get("repo_url")?,
            number: r.try_get("number")?,
            title: r.try_get("title")?,
            body: r.try_get("body")?,
            head: r.try_get("head")?,
            base: r.try_get("base")?,
            head_commit: r.try_get("head_commit")?,
            state: PrState::parse(&r.try_get::<String, _>("state")?)?,
            draft: r.try_get::<i64, _>("draft")? != 0,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            ci_state: r.try_get("ci_state")?,
            merge_commit: r.try_get("merge_commit")?,
            close_comment: r.try_get("close_comment")?,
        })
    }
}

/// A local pull request about to be opened.
#[derive(Debug, Clone)]
pub struct NewLocalPullRequest {
    pub repo_url: String,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub head_commit: String,
    pub draft: bool,
    pub labels: Vec<String>,
}

/// A kind the state stores as its word (`as_str`, read back with
/// `FromStr`), in either database.
macro_rules! stored_as_word {
    ($($kind:ty),*) => {$(
        impl sqlx::Type<sqlx::Any> for $kind {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl sqlx::Encode<'_, sqlx::Any> for $kind {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $kind {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> std::result::Result<Self, sqlx::error::BoxDynError> {
                let word = <&str as sqlx::Decode<sqlx::Any>>::decode(value)?;
                Ok(word.parse::<$kind>()?)
            }
        }
    )*};
}

stored_as_word!(IssueState, CiState, ReviewState, CampaignStatus);
