//! GitHub's answers, read leniently, and the verdicts drawn from them: a
//! pull request's state, its review state, its CI state.
//!
//! Every field is optional on the way in (`serde(default)`), so a missing
//! or new field never panics; what fleetwright cannot do without (a number,
//! a known state) is checked here and reported as an error.

use crate::state::{CiState, ReviewState};
use serde::Deserialize;
use serde_json::Value;

use crate::forge::{Issue, PullRequest};
use crate::state::{IssueState, PrState};

/// The fields of a pull request [`GhPull`] reads: what is kept of one
/// between syncs (see `api::slim`).
pub(crate) const PULL_FIELDS: &[&str] = &[
    "number",
    "html_url",
    "state",
    "draft",
    "merged",
    "merged_at",
    "closed_at",
    "created_at",
    "head.ref",
    "head.sha",
    "base.ref",
    "base.sha",
];

/// The fields of a review [`review_state`] reads.
pub(crate) const REVIEW_FIELDS: &[&str] = &["state", "user.login", "user.id"];

/// The fields of a check-runs page [`check_runs`] reads.
pub(crate) const CHECK_RUNS_FIELDS: &[&str] =
    &["total_count", "check_runs.status", "check_runs.conclusion"];

/// The fields of a combined status [`combined_status`] reads.
pub(crate) const STATUS_FIELDS: &[&str] = &["state", "total_count", "statuses.state"];

/// The fields of an issue [`GhIssue`] reads, when it is read by number.
pub(crate) const ISSUE_FIELDS: &[&str] = &["number", "html_url", "state", "pull_request.url"];

/// The fields of each issue of a listing: its body too, for the marker.
pub(crate) const ISSUE_LIST_FIELDS: &[&str] =
    &["number", "html_url", "state", "body", "pull_request.url"];

/// An issue as GitHub sends it (the fields fleetwright reads). GitHub's
/// issues include pull requests, which carry `pull_request`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GhIssue {
    pub number: i64,
    pub html_url: String,
    pub state: String,
    pub body: Option<String>,
    pub pull_request: Option<Value>,
}

impl GhIssue {
    /// Read an issue; `Err` says what is wrong with it.
    pub(crate) fn from_value(value: Value) -> Result<GhIssue, String> {
        let issue: GhIssue = serde_json::from_value(value)
            .map_err(|e| format!("GitHub sent an issue fleetwright cannot read ({e})"))?;
        if issue.number <= 0 {
            return Err("GitHub sent an issue without a number".into());
        }
        Ok(issue)
    }

    /// Whether it is a pull request (GitHub lists those among issues).
    pub(crate) fn is_pull_request(&self) -> bool {
        self.pull_request.as_ref().is_some_and(|p| !p.is_null())
    }

    /// The forge-neutral issue.
    pub(crate) fn to_issue(&self) -> Result<Issue, String> {
        let state = match self.state.as_str() {
            "open" => IssueState::Open,
            "closed" => IssueState::Closed,
            other => {
                return Err(format!(
                    "GitHub says issue #{} is `{other}`, which fleetwright does not know",
                    self.number
                ));
            }
        };
        Ok(Issue {
            number: self.number,
            url: self.html_url.clone(),
            state,
        })
    }
}

/// A pull request as GitHub sends it (the fields fleetwright reads).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GhPull {
    pub number: i64,
    pub html_url: String,
    pub state: String,
    pub draft: bool,
    pub merged: Option<bool>,
    pub merged_at: Option<String>,
    pub closed_at: Option<String>,
    pub created_at: Option<String>,
    pub head: GhRef,
    pub base: GhRef,
}

/// One side of a pull request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GhRef {
    #[serde(rename = "ref")]
    pub branch: String,
    pub sha: String,
}

impl GhPull {
    /// Read a pull request; `Err` says what is wrong with it.
    pub(crate) fn from_value(value: Value) -> Result<GhPull, String> {
        let pull: GhPull = serde_json::from_value(value)
            .map_err(|e| format!("GitHub sent a pull request fleetwright cannot read ({e})"))?;
        if pull.number <= 0 {
            return Err("GitHub sent a pull request without a number".into());
        }
        Ok(pull)
    }

    /// `open`, `merged` or `closed`: GitHub says `closed` for both of the
    /// last two, and a merge time (or `merged: true`) tells them apart.
    pub(crate) fn pr_state(&self) -> Result<PrState, String> {
        match self.state.as_str() {
            "open" => Ok(PrState::Open),
            "closed" if self.merged_at.is_some() || self.merged == Some(true) => {
                Ok(PrState::Merged)
            }
            "closed" => Ok(PrState::Closed),
            other => Err(format!(
                "GitHub says pull request #{} is `{other}`, which fleetwright does not know",
                self.number
            )),
        }
    }

    /// The forge-neutral pull request, without the facts a sync adds.
    pub(crate) fn to_pull_request(&self) -> Result<PullRequest, String> {
        Ok(PullRequest {
            number: self.number,
            url: self.html_url.clone(),
            state: self.pr_state()?,
            draft: self.draft,
            head: self.head.branch.clone(),
            base: self.base.branch.clone(),
            ci_state: None,
            close_comment: None,
            review_state: None,
            head_sha: non_empty(&self.head.sha),
            merged_at: self.merged_at.clone(),
            closed_at: self.closed_at.clone(),
        })
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// The review state from a pull request's reviews, oldest first (GitHub's
/// order): each reviewer's latest decisive review counts (a comment decides
/// nothing; a dismissal takes the reviewer's decision back); any
/// `CHANGES_REQUESTED` wins, then any `APPROVED`, else `pending`.
pub(crate) fn review_state(reviews: &[Value]) -> ReviewState {
    let mut latest: Vec<(String, String)> = Vec::new();
    for review in reviews {
        let state = review.get("state").and_then(Value::as_str).unwrap_or("");
        if !matches!(state, "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED") {
            continue;
        }
        let who = reviewer(review);
        latest.retain(|(user, _)| *user != who);
        latest.push((who, state.to_string()));
    }
    if latest.iter().any(|(_, s)| s == "CHANGES_REQUESTED") {
        ReviewState::ChangesRequested
    } else if latest.iter().any(|(_, s)| s == "APPROVED") {
        ReviewState::Approved
    } else {
        ReviewState::Pending
    }
}

/// Who wrote a review: the login, else the user id, else nobody (a deleted
/// account).
fn reviewer(review: &Value) -> String {
    let user = review.get("user");
    user.and_then(|u| u.get("login"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| user.and_then(|u| u.get("id")).map(|id| format!("id:{id}")))
        .unwrap_or_default()
}

/// What one CI signal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ci {
    Success,
    Pending,
    Failure,
}

/// Check runs: one verdict per run. Finished runs that did not fail
/// (`success`, `neutral`, `skipped`) succeed; any other conclusion fails.
pub(crate) fn check_runs(runs: &[Value]) -> Vec<Ci> {
    runs.iter()
        .map(|run| {
            let status = run.get("status").and_then(Value::as_str).unwrap_or("");
            let conclusion = run.get("conclusion").and_then(Value::as_str).unwrap_or("");
            if status != "completed" {
                Ci::Pending
            } else if matches!(conclusion, "success" | "neutral" | "skipped") {
                Ci::Success
            } else {
                Ci::Failure
            }
        })
        .collect()
}

/// The combined commit status: nothing when no status was ever posted
/// (GitHub then says `pending` with `total_count: 0`).
pub(crate) fn combined_status(value: &Value) -> Option<Ci> {
    let statuses = value
        .get("statuses")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let total = value
        .get("total_count")
        .and_then(Value::as_u64)
        .unwrap_or(statuses as u64);
    if total == 0 {
        return None;
    }
    match value.get("state").and_then(Value::as_str) {
        Some("success") => Some(Ci::Success),
        Some("failure" | "error") => Some(Ci::Failure),
        _ => Some(Ci::Pending),
    }
}

/// The CI state: `failure` if anything failed, else `pending` if anything
/// runs, else `success`; `none` when there is no CI at all.
pub(crate) fn ci_state(signals: &[Ci]) -> CiState {
    match signals.iter().max() {
        None => CiState::None,
        Some(Ci::Failure) => CiState::Failure,
        Some(Ci::Pending) => CiState::Pending,
        Some(Ci::Success) => CiState::Success,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merged_and_closed_are_told_apart() {
        let pull = |v: Value| GhPull::from_value(v).unwrap().pr_state().unwrap();
        assert_eq!(pull(json!({"number": 1, "state": "open"})), PrState::Open);
        assert_eq!(
            pull(json!({"number": 1, "state": "closed", "merged_at": "2024-01-01T00:00:00Z"})),
            PrState::Merged
        );
        assert_eq!(
            pull(json!({"number": 1, "state": "closed", "merged": true})),
            PrState::Merged
        );
        assert_eq!(
            pull(json!({"number": 1, "state": "closed"})),
            PrState::Closed
        );
    }

    #[test]
    fn odd_pull_requests_are_errors_not_panics() {
        assert!(GhPull::from_value(json!({"state": "open"})).is_err());
        assert!(GhPull::from_value(json!("nonsense")).is_err());
        assert!(GhPull::from_value(json!({"number": "seven"})).is_err());
        let weird = GhPull::from_value(json!({"number": 3, "state": "locked"})).unwrap();
        assert!(weird.to_pull_request().is_err());
        assert!(GhPull::from_value(json!({"number": 3, "state": "open", "head": null})).is_err());
    }

    #[test]
    fn latest_decisive_review_per_reviewer_counts() {
        let r = |login: &str, state: &str| json!({"user": {"login": login}, "state": state});
        assert_eq!(review_state(&[]), ReviewState::Pending);
        assert_eq!(review_state(&[r("ann", "COMMENTED")]), ReviewState::Pending);
        assert_eq!(review_state(&[r("ann", "APPROVED")]), ReviewState::Approved);
        // A later approval by the same person replaces their request.
        assert_eq!(
            review_state(&[r("ann", "CHANGES_REQUESTED"), r("ann", "APPROVED")]),
            ReviewState::Approved
        );
        // A comment after an approval does not take it back.
        assert_eq!(
            review_state(&[r("ann", "APPROVED"), r("ann", "COMMENTED")]),
            ReviewState::Approved
        );
        // Anyone's standing request for changes wins.
        assert_eq!(
            review_state(&[r("ann", "APPROVED"), r("bob", "CHANGES_REQUESTED")]),
            ReviewState::ChangesRequested
        );
        // A dismissal takes the decision back.
        assert_eq!(
            review_state(&[r("bob", "CHANGES_REQUESTED"), r("bob", "DISMISSED")]),
            ReviewState::Pending
        );
        assert_eq!(
            review_state(&[json!({"user": null, "state": "APPROVED"})]),
            ReviewState::Approved
        );
    }

    #[test]
    fn ci_combines_checks_and_statuses() {
        let run =
            |status: &str, conclusion: Value| json!({"status": status, "conclusion": conclusion});
        let ok = run("completed", json!("success"));
        let skipped = run("completed", json!("skipped"));
        let failed = run("completed", json!("timed_out"));
        let running = run("in_progress", Value::Null);
        assert_eq!(ci_state(&check_runs(&[])), CiState::None);
        assert_eq!(
            ci_state(&check_runs(&[ok.clone(), skipped])),
            CiState::Success
        );
        assert_eq!(
            ci_state(&check_runs(&[ok.clone(), running.clone()])),
            CiState::Pending
        );
        assert_eq!(ci_state(&check_runs(&[running, failed])), CiState::Failure);

        assert_eq!(
            combined_status(&json!({"state": "pending", "total_count": 0, "statuses": []})),
            None
        );
        assert_eq!(
            combined_status(&json!({"state": "error", "total_count": 1})),
            Some(Ci::Failure)
        );
        let mut signals = check_runs(&[ok]);
        signals.extend(combined_status(
            &json!({"state": "pending", "total_count": 2}),
        ));
        assert_eq!(ci_state(&signals), CiState::Pending);
    }
}
