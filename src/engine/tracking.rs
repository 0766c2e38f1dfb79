//! The campaign's tracking issue (`report.issue`): one issue per campaign,
//! in a repository the campaign file names, whose body is the campaign's
//! Markdown report, opened once and then edited in place (as Renovate's
//! dependency dashboard is). `report --publish-issue` publishes it, and
//! `run` at its end.
//!
//! Invariants:
//! - one issue per campaign: before opening one, the state's record is
//!   asked, then the forge (the issues labelled
//!   [`TRACKING_LABEL`](crate::forge::TRACKING_LABEL) whose body holds
//!   [`marker`]); an issue opened by a run that died before recording it
//!   is found again, never opened twice. Opening is sent once (never
//!   retried blind); after a failure the forge is looked at again;
//! - a report that did not change sends nothing: the state keeps the
//!   fingerprint of the title and body last published (the report's time
//!   of generation left out);
//! - an issue a person closed stays closed: it is neither edited, nor
//!   reopened, nor replaced by a second one ([`Action::LeftClosed`]);
//!   reopened, it is kept up to date again;
//! - a body longer than the forge takes is refused before anything is sent.
//!
//! Like the rest of the engine it never prints: the command layer says what
//! happened.

use sha1::Digest as _;

use crate::campaign::{Campaign, TrackingIssueSettings};
use crate::forge::{Forge, ForgeError, ForgeKind, Issue, NewIssue, RepoRef, TRACKING_LABEL};
use crate::report::{CampaignReport, markdown};
use crate::state::{CampaignRow, IssueState, State, StateError, TrackingIssueRecord};

/// The HTML comment that marks a campaign's tracking issue in its body
/// (GitHub does not show it): `<!-- fleetwright:tracking-issue
/// campaign=NAME -->`. A campaign name holds no space and no `-->`.
pub fn marker(campaign: &str) -> String {
    format!("<!-- fleetwright:tracking-issue campaign={campaign} -->")
}

/// The report as the issue's body shows it: the Markdown report within
/// [`markdown::DEFAULT_MAX_CHARS`] (a GitHub issue body holds 65,536), its
/// cut lists pointing at the campaign's `report_url` when it has one. The
/// one call of the Markdown renderer for the issue.
fn issue_body(report: &CampaignReport, campaign: &Campaign) -> String {
    markdown::render_with(
        report,
        &markdown::Options {
            max_chars: markdown::DEFAULT_MAX_CHARS,
            details_url: campaign.report_url.as_deref(),
            ..markdown::Options::default()
        },
    )
}

/// What publishing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// No issue existed: one was opened.
    Opened,
    /// The issue's title and body were replaced.
    Updated,
    /// The report did not change since it was last published: nothing was
    /// sent.
    Unchanged,
    /// A person closed the issue: it was left as it is (not edited, not
    /// reopened, no second one opened).
    LeftClosed,
}

/// The campaign's tracking issue after publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub action: Action,
    /// Where the issue lives (`report.issue.repository`, resolved).
    pub repository: String,
    pub number: i64,
    pub url: String,
}

/// Why the tracking issue could not be published. Nothing is lost: the
/// next publication tries again.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("the tracking issue of campaign `{campaign}` in {repository}: {source}")]
    Forge {
        campaign: String,
        repository: String,
        #[source]
        source: ForgeError,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

/// The repository the issue lives in, as the forge names it.
fn repo_ref(settings: &TrackingIssueSettings, forge: ForgeKind) -> RepoRef {
    let name = match forge {
        ForgeKind::Github | ForgeKind::Gitlab => settings.repository.clone(),
        ForgeKind::Local => {
            let path = std::path::Path::new(&settings.repository);
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| settings.repository.clone());
            file.strip_suffix(".git").unwrap_or(&file).to_string()
        }
    };
    RepoRef {
        name,
        url: settings.repository.clone(),
    }
}

/// The fingerprint of what an issue shows: its title and the report, as
/// it would read at any time (its time of generation left out), so that a
/// report that did not change is not sent again.
fn fingerprint(title: &str, report: &CampaignReport, campaign: &Campaign) -> String {
    let mut timeless = report.clone();
    timeless.generated_at = String::new();
    let mut hasher = sha1::Sha1::new();
    hasher.update(title.as_bytes());
    hasher.update([0]);
    hasher.update(issue_body(&timeless, campaign).as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Publish `report` (of the campaign recorded as `row`) as `campaign`'s
/// tracking issue on `forge`: open it, edit it, or leave it (unchanged, or
/// closed by a person); `None` when the campaign has no `report.issue`.
pub async fn publish(
    state: &State,
    forge: &dyn Forge,
    campaign: &Campaign,
    row: &CampaignRow,
    report: &CampaignReport,
) -> Result<Option<Published>, TrackingError> {
    let Some(settings) = &campaign.tracking_issue else {
        return Ok(None);
    };
    let repo = repo_ref(settings, campaign.forge);
    let failed = |source: ForgeError| TrackingError::Forge {
        campaign: campaign.name.clone(),
        repository: repo.name.clone(),
        source,
    };
    let marker = marker(&campaign.name);
    let body = format!("{marker}\n\n{}", issue_body(report, campaign));
    let hash = fingerprint(&settings.title, report, campaign);
    let chars = body.chars().count();
    if let Some(limit) = forge.issue_body_limit()
        && chars > limit
    {
        return Err(failed(ForgeError::TooLong {
            what: "the report, as the tracking issue's body,",
            forge: forge_name(campaign.forge),
            chars,
            limit,
        }));
    }
    let done = |action, issue: &Issue| Published {
        action,
        repository: settings.repository.clone(),
        number: issue.number,
        url: issue.url.clone(),
    };
    let record = async |issue: &Issue, hash: Option<&str>, published: bool| {
        state
            .record_tracking_issue(
                row.id,
                &TrackingIssueRecord {
                    repository: &settings.repository,
                    number: issue.number,
                    url: &issue.url,
                    state: issue.state,
                    body_hash: hash,
                    published,
                },
            )
            .await
    };

    // What the state knows of it (in this repository).
    let recorded = state
        .tracking_issue(row.id)
        .await?
        .filter(|r| r.repository == settings.repository);
    if let Some(r) = &recorded
        && r.state.is_open()
        && r.body_hash.as_deref() == Some(hash.as_str())
    {
        let issue = Issue {
            number: r.number,
            url: r.url.clone(),
            state: r.state,
        };
        return Ok(Some(done(Action::Unchanged, &issue)));
    }
    let existing = match &recorded {
        Some(r) => match forge.issue(&repo, r.number).await {
            Ok(issue) => Some(issue),
            // Deleted, or moved away: look for it as if nothing was recorded.
            Err(ForgeError::NotFound(_)) => forge
                .find_tracking_issue(&repo, &marker)
                .await
                .map_err(failed)?,
            Err(e) => return Err(failed(e)),
        },
        None => forge
            .find_tracking_issue(&repo, &marker)
            .await
            .map_err(failed)?,
    };
    let last_hash = recorded.as_ref().and_then(|r| r.body_hash.clone());
    let issue = match existing {
        Some(issue) if issue.state == IssueState::Closed => {
            let kept = recorded
                .as_ref()
                .filter(|r| r.number == issue.number)
                .and(last_hash.as_deref());
            record(&issue, kept, false).await?;
            return Ok(Some(done(Action::LeftClosed, &issue)));
        }
        // Reopened by a person, and nothing changed since.
        Some(issue)
            if recorded.as_ref().is_some_and(|r| r.number == issue.number)
                && last_hash.as_deref() == Some(hash.as_str()) =>
        {
            record(&issue, Some(&hash), false).await?;
            return Ok(Some(done(Action::Unchanged, &issue)));
        }
        Some(issue) => issue,
        None => {
            let mut labels = vec![TRACKING_LABEL.to_string()];
            labels.extend(settings.labels.iter().cloned());
            let new = NewIssue {
                title: settings.title.clone(),
                body: body.clone(),
                labels,
            };
            match forge.open_issue(&repo, &new).await {
                Ok(opened) => {
                    record(&opened, Some(&hash), true).await?;
                    return Ok(Some(done(Action::Opened, &opened)));
                }
                // The answer may be lost while the issue exists: look
                // before anything is sent again.
                Err(e) => match forge.find_tracking_issue(&repo, &marker).await {
                    Ok(Some(found)) => found,
                    _ => return Err(failed(e)),
                },
            }
        }
    };
    let updated = forge
        .update_issue(&repo, issue.number, &settings.title, &body)
        .await
        .map_err(failed)?;
    record(&updated, Some(&hash), true).await?;
    Ok(Some(done(Action::Updated, &updated)))
}

/// The forge's name, for messages.
fn forge_name(forge: ForgeKind) -> &'static str {
    match forge {
        ForgeKind::Github => "GitHub",
        ForgeKind::Gitlab => "GitLab",
        ForgeKind::Local => "the local forge",
    }
}

impl super::Engine {
    /// Publish the campaign's tracking issue through this engine's forge
    /// (on GitHub, within the same pacing as its pull requests); `None`
    /// when the campaign has no `report.issue`.
    pub async fn publish_tracking_issue(
        &self,
        campaign: &Campaign,
        row: &CampaignRow,
    ) -> Result<Option<Published>, TrackingError> {
        if campaign.tracking_issue.is_none() {
            return Ok(None);
        }
        let report = super::campaign_report(self.state(), row).await?;
        publish(
            self.state(),
            self.shared.forge.as_ref(),
            campaign,
            row,
            &report,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_campaign_and_ends_the_comment() {
        assert_eq!(
            marker("modernize-logging"),
            "<!-- fleetwright:tracking-issue campaign=modernize-logging -->"
        );
        // One campaign's marker is never found inside another's.
        assert!(!marker("a-b").contains(&marker("a")));
    }

    #[test]
    fn a_local_repository_is_named_after_its_folder() {
        let settings = TrackingIssueSettings {
            repository: "/tmp/fleet/remotes/platform.git".into(),
            title: "t".into(),
            labels: vec![],
        };
        let repo = repo_ref(&settings, ForgeKind::Local);
        assert_eq!(repo.name, "platform");
        assert_eq!(repo.url, "/tmp/fleet/remotes/platform.git");
    }
}
