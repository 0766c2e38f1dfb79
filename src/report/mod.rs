//! Views of a campaign computed from the state, in documented shapes: what
//! `status --json` prints and what tests and other tools read back.
//!
//! `status` is [`StatusReport`], below. `fleetwright report` is
//! [`CampaignReport`] (`campaign.rs`: the model, computed from the state's
//! rows and event log alone), rendered by `html.rs` (one self-contained
//! page with an inline SVG burndown, `chart.rs`), `markdown.rs` (a tracking
//! issue) and `csv.rs` (one row per target or per day); JSON is the model
//! itself. Nothing here reads the database or prints: the command layer
//! gathers the rows and writes the output.

pub mod attention;
pub mod campaign;
mod chart;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod pace;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::{CampaignRow, TargetRow, TargetState};

pub use campaign::CampaignReport;

/// `fleetwright status --json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub campaign: CampaignSummary,
    /// Number of targets per state (only states that occur).
    pub counts: BTreeMap<String, usize>,
    /// The targets listed, in plan order: every one, unless `status
    /// --limit` cut the list (then `more` says how many were left out).
    pub targets: Vec<TargetStatus>,
    /// Targets the counts hold that `targets` does not list (`--limit`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The campaign itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub name: String,
    /// active | paused | completed | cancelled
    pub status: String,
    pub recipe: String,
    pub forge: String,
    /// The campaign file it was launched from.
    pub file: String,
    pub tranches_open: i64,
    pub tranche_count: i64,
    /// Why it is paused, cancelled or completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// What the gate to the next tranche saw last (while it is closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
}

/// One target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetStatus {
    /// Repository display name.
    pub repo: String,
    /// Catalog entity ref of the component.
    pub component: String,
    /// Catalog entity ref of the owner.
    pub owner: String,
    /// 1-based tranche.
    pub tranche: i64,
    /// pending | queued | pushed | pr_open | merged | declined | no_change | not_applicable | failed
    pub state: String,
    /// The step that failed (clone, apply, commit, push, open_pr).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Why it failed, or why it was declined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The commit fleetwright pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<PrStatus>,
}

/// A target's pull request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrStatus {
    pub number: i64,
    pub url: String,
    /// open | merged | closed
    pub state: String,
    pub draft: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_state: Option<crate::state::CiState>,
    /// `approved`, `changes_requested` or `pending` (forges that review).
    #[serde(default)]
    pub review_state: Option<crate::state::ReviewState>,
    /// Who was asked to review (`@login team:slug`); empty: nobody, which
    /// `status` flags.
    #[serde(default)]
    pub reviewers: Option<String>,
    /// Whether its branch holds exactly the recipe's change, as last
    /// checked (`None`: never checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe_exact: Option<bool>,
}

impl StatusReport {
    /// The status of `targets`, every one listed and counted.
    pub fn build(campaign: &CampaignRow, targets: &[TargetRow]) -> Self {
        let mut counts = BTreeMap::new();
        for t in targets {
            *counts.entry(t.state).or_default() += 1;
        }
        Self::build_with_counts(campaign, targets, &counts)
    }

    /// The status of targets counted by `counts` (by state), of which
    /// `targets` are listed (the first ones, in plan order).
    pub fn build_with_counts(
        campaign: &CampaignRow,
        targets: &[TargetRow],
        counts: &BTreeMap<TargetState, usize>,
    ) -> Self {
        let total: usize = counts.values().sum();
        let counts: BTreeMap<String, usize> = counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (s.as_str().to_string(), *n))
            .collect();
        StatusReport {
            campaign: CampaignSummary {
                name: campaign.name.clone(),
                status: campaign.status.to_string(),
                recipe: campaign.recipe_id.clone(),
                forge: campaign.forge.clone(),
                file: campaign.file.clone(),
                tranches_open: campaign.tranches_open,
                tranche_count: campaign.tranche_count,
                status_reason: campaign.status_reason.clone(),
                gate: campaign.gate_note.clone(),
            },
            counts,
            targets: targets.iter().map(TargetStatus::from).collect(),
            more: total.saturating_sub(targets.len()),
        }
    }
}

/// The first line of `text`, cut to `max` characters (with `…`).
pub fn shorten(text: &str, max: usize) -> String {
    let one_line = text.lines().next().unwrap_or("");
    if one_line.chars().count() <= max {
        one_line.to_string()
    } else {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    }
}

impl From<&TargetRow> for TargetStatus {
    fn from(t: &TargetRow) -> Self {
        let cs = t.changeset.as_ref();
        TargetStatus {
            repo: t.repo.clone(),
            component: t.component.clone(),
            owner: t.owner.clone(),
            tranche: t.tranche + 1,
            state: t.state.as_str().to_string(),
            step: t.step.clone(),
            reason: t.reason.clone(),
            branch: cs.map(|c| c.branch.clone()),
            commit: t.head_commit.clone(),
            pr: cs.and_then(|c| {
                Some(PrStatus {
                    number: c.number?,
                    url: c.url.clone()?,
                    state: c.pr_state?.as_str().to_string(),
                    draft: c.draft,
                    ci_state: c.ci_state,
                    review_state: c.review_state,
                    reviewers: c.reviewers.clone(),
                    recipe_exact: c.recipe_exact.as_ref().map(|e| e.exact),
                })
            }),
        }
    }
}

/// `state`'s label for a count of `n` targets: `3 declined by their
/// owners`, `1 declined by its owners`.
pub fn count_label(state: TargetState, n: usize) -> String {
    let label = state.label();
    if n == 1 {
        label.to_string()
    } else {
        label.replace(" its ", " their ")
    }
}

/// A campaign's `status_reason` as people read it after its status
/// (`cancelled: …`): without the status said again in front (campaigns
/// cancelled before this version recorded `cancelled: superseded`), and a
/// completed campaign's counts (`15 merged, 4 no_change`) in words (`15
/// merged, 4 no change needed`). `None` when nothing is left to say.
pub fn status_reason_text(status: &str, reason: &str) -> Option<String> {
    let mut text = reason.trim();
    while let Some(rest) = text
        .strip_prefix(status)
        .and_then(|rest| rest.strip_prefix(':'))
    {
        text = rest.trim_start();
    }
    if text.is_empty() || text == status {
        return None;
    }
    let counts: Option<Vec<String>> = text
        .split(", ")
        .map(|part| {
            let (n, state) = part.split_once(' ')?;
            let n: usize = n.parse().ok()?;
            let state: TargetState = state.parse().ok()?;
            Some(format!("{n} {}", count_label(state, n)))
        })
        .collect();
    Some(counts.map_or_else(|| text.to_string(), |c| c.join(", ")))
}

/// `s` with its first letter in upper case.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `url` when it is safe to put in a link (`http`, `https`, or the local
/// forge's `local://`); `None` for anything else (`javascript:`, `data:`…),
/// which the renderers show as text instead.
fn link_url(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    ["https://", "http://", "local://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        .then_some(url.trim())
}

/// A time the state stored, as people read it: `2025-06-02 09:00 UTC`.
fn human_time(at: &str) -> String {
    match crate::state::parse_time(at) {
        Some(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        None => at.to_string(),
    }
}

/// The day of a time the state stored: `2025-06-02`.
fn human_day(at: &str) -> String {
    match crate::state::parse_time(at) {
        Some(t) => t.strftime("%Y-%m-%d").to_string(),
        None => at.to_string(),
    }
}

#[cfg(test)]
mod tests;
