//! GitLab's JSON (REST v4), read leniently: the fields fleetwright uses,
//! each optional where GitLab may leave it out, and the CI and review
//! verdicts drawn from pipelines and approvals.

use serde::Deserialize;
use serde_json::Value;

use crate::forge::{Issue, IssueState, PullRequest};
use crate::state::{CiState, PrState, ReviewState};

/// The prefix GitLab reads as "this merge request is a draft".
pub const DRAFT_PREFIX: &str = "Draft: ";

/// A merge request's state (`opened`, `closed`, `locked`, `merged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MrState {
    Opened,
    Closed,
    /// Being merged (a transient state): still open.
    Locked,
    Merged,
}

impl MrState {
    pub fn pr_state(self) -> PrState {
        match self {
            MrState::Opened | MrState::Locked => PrState::Open,
            MrState::Closed => PrState::Closed,
            MrState::Merged => PrState::Merged,
        }
    }
}

/// A pipeline's status, as GitLab names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    Created,
    WaitingForResource,
    Preparing,
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
    Skipped,
    Manual,
    Scheduled,
    /// A status this version of fleetwright does not know: pending.
    #[serde(other)]
    Unknown,
}

impl PipelineStatus {
    /// The CI verdict: a failed or canceled pipeline fails; a skipped one
    /// passes (GitLab lets such a merge request merge); anything still to
    /// run (a manual job included) is pending.
    pub fn ci_state(self) -> CiState {
        match self {
            PipelineStatus::Success | PipelineStatus::Skipped => CiState::Success,
            PipelineStatus::Failed | PipelineStatus::Canceled => CiState::Failure,
            PipelineStatus::Created
            | PipelineStatus::WaitingForResource
            | PipelineStatus::Preparing
            | PipelineStatus::Pending
            | PipelineStatus::Running
            | PipelineStatus::Manual
            | PipelineStatus::Scheduled
            | PipelineStatus::Unknown => CiState::Pending,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pipeline {
    pub status: PipelineStatus,
}

/// A merge request.
#[derive(Debug, Clone, Deserialize)]
pub struct GlMergeRequest {
    pub iid: i64,
    pub web_url: String,
    pub state: MrState,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub work_in_progress: bool,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub merged_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub head_pipeline: Option<Pipeline>,
}

impl GlMergeRequest {
    pub fn from_value(value: Value) -> Result<Self, String> {
        serde_json::from_value(value)
            .map_err(|e| format!("GitLab's merge request is not what fleetwright reads: {e}"))
    }

    pub fn is_draft(&self) -> bool {
        self.draft || self.work_in_progress
    }

    pub fn to_pull_request(&self) -> PullRequest {
        let state = self.state.pr_state();
        PullRequest {
            number: self.iid,
            url: self.web_url.clone(),
            state,
            draft: self.is_draft(),
            head: self.source_branch.clone(),
            base: self.target_branch.clone(),
            ci_state: None,
            close_comment: None,
            review_state: None,
            head_sha: self.sha.clone(),
            merged_at: self.merged_at.clone(),
            // GitLab leaves `closed_at` empty on a merged merge request.
            closed_at: self.closed_at.clone().or_else(|| {
                (state == PrState::Merged)
                    .then(|| self.merged_at.clone())
                    .flatten()
            }),
        }
    }
}

/// The approvals of a merge request (`GET …/approvals`).
#[derive(Debug, Clone, Deserialize)]
pub struct Approvals {
    #[serde(default)]
    pub approved: bool,
    #[serde(default)]
    pub approved_by: Vec<Value>,
}

impl Approvals {
    /// Approved once the approval rules are met by at least one person;
    /// else pending (GitLab has no "changes requested" on this endpoint).
    pub fn review_state(&self) -> ReviewState {
        if self.approved && !self.approved_by.is_empty() {
            ReviewState::Approved
        } else {
            ReviewState::Pending
        }
    }
}

/// An issue's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GlIssueState {
    Opened,
    Closed,
}

/// An issue.
#[derive(Debug, Clone, Deserialize)]
pub struct GlIssue {
    pub iid: i64,
    pub web_url: String,
    pub state: GlIssueState,
    #[serde(default)]
    pub description: Option<String>,
}

impl GlIssue {
    pub fn from_value(value: Value) -> Result<Self, String> {
        serde_json::from_value(value)
            .map_err(|e| format!("GitLab's issue is not what fleetwright reads: {e}"))
    }

    pub fn to_issue(&self) -> Issue {
        Issue {
            number: self.iid,
            url: self.web_url.clone(),
            state: match self.state {
                GlIssueState::Opened => IssueState::Open,
                GlIssueState::Closed => IssueState::Closed,
            },
        }
    }
}

/// A user or group member: id and username.
#[derive(Debug, Clone, Deserialize)]
pub struct GlUser {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub state: Option<String>,
}

impl GlUser {
    /// Blocked or deactivated people cannot review.
    pub fn is_active(&self) -> bool {
        self.state.as_deref().is_none_or(|s| s == "active")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_requests_read_with_their_pipeline() {
        let mr = GlMergeRequest::from_value(json!({
            "iid": 3, "web_url": "https://gitlab.example.com/a/b/-/merge_requests/3",
            "state": "merged", "draft": false, "source_branch": "fw", "target_branch": "main",
            "sha": "abc", "merged_at": "2026-01-02T03:04:05Z", "closed_at": null,
            "head_pipeline": {"id": 1, "status": "waiting_for_resource"}
        }))
        .unwrap();
        let pr = mr.to_pull_request();
        assert_eq!(pr.state, PrState::Merged);
        assert_eq!(pr.closed_at.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(
            mr.head_pipeline.unwrap().status.ci_state(),
            CiState::Pending
        );
    }

    #[test]
    fn pipeline_verdicts() {
        for (word, ci) in [
            ("success", CiState::Success),
            ("skipped", CiState::Success),
            ("failed", CiState::Failure),
            ("canceled", CiState::Failure),
            ("running", CiState::Pending),
            ("manual", CiState::Pending),
            ("something_new", CiState::Pending),
        ] {
            let p: Pipeline = serde_json::from_value(json!({ "status": word })).unwrap();
            assert_eq!(p.status.ci_state(), ci, "{word}");
        }
    }

    #[test]
    fn approvals_need_a_person() {
        let a: Approvals =
            serde_json::from_value(json!({"approved": true, "approved_by": []})).unwrap();
        assert_eq!(a.review_state(), ReviewState::Pending);
        let a: Approvals = serde_json::from_value(
            json!({"approved": true, "approved_by": [{"user": {"username": "x"}}]}),
        )
        .unwrap();
        assert_eq!(a.review_state(), ReviewState::Approved);
    }
}
