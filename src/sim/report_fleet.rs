//! A campaign of any size written straight into the state (no git, no
//! forge): what the report's tests at 10, 1,000 and 10,000 targets and the
//! browser test render. One kind of outcome in ten, so every cause of the
//! report's attention list is there, with teams of very different sizes.

use std::collections::BTreeMap;

use crate::report::attention::AttentionKind;
use crate::state::{
    self, CampaignRow, CiState, NewCampaign, NewTarget, NewTranche, PrState, PullRequestRecord,
    State, Step, TargetState, Transition,
};

/// The campaign's name.
pub const CAMPAIGN: &str = "at-scale";

fn new_target(repo: &str, team: &str, tranche: i64, position: i64) -> NewTarget {
    NewTarget {
        repo: repo.into(),
        url: format!("https://github.com/acme/{repo}.git"),
        component: format!("component:default/{repo}"),
        owner: format!("group:default/{team}"),
        tranche,
        position,
    }
}

/// What [`build`] made of target `k`, one kind in ten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Merged,
    NoReviewer,
    CiFailing,
    CloneFailed,
    PushRefused,
    Declined,
    OptedOut,
    Stale,
    NoChange,
    Pending,
}

impl Made {
    /// What target `k` (its position) is made.
    pub fn of(k: usize) -> Made {
        [
            Made::Merged,
            Made::NoReviewer,
            Made::CiFailing,
            Made::CloneFailed,
            Made::PushRefused,
            Made::Declined,
            Made::OptedOut,
            Made::Stale,
            Made::NoChange,
            Made::Pending,
        ][k % 10]
    }

    /// The cause the report must file it under, if any.
    pub fn cause(self) -> Option<AttentionKind> {
        match self {
            Made::NoReviewer => Some(AttentionKind::NoReviewer),
            Made::CiFailing => Some(AttentionKind::CiFailing),
            Made::CloneFailed => Some(AttentionKind::CloneFailed),
            Made::PushRefused => Some(AttentionKind::PushRefused),
            Made::Declined => Some(AttentionKind::Declined),
            Made::OptedOut => Some(AttentionKind::OptedOut),
            Made::Stale => Some(AttentionKind::Stale),
            Made::Merged | Made::NoChange | Made::Pending => None,
        }
    }
}

/// A campaign named [`CAMPAIGN`] of `n` targets of 97 teams (of very
/// different sizes), written through `State`'s API (no git) at the
/// state's time: one kind of outcome in ten ([`Made::of`]), each with its
/// forge's answer recorded as a sync does.
pub async fn build(st: &State, n: usize) -> CampaignRow {
    let targets: Vec<NewTarget> = (0..n)
        .map(|k| {
            let team = format!("team-{:02}", (k * k + k / 7) % 97);
            new_target(
                &format!("svc-{k:05}"),
                &team,
                i64::from(k >= n / 100),
                k as i64,
            )
        })
        .collect();
    let c = st
        .create_campaign(
            &NewCampaign {
                name: CAMPAIGN.into(),
                file: "/x/campaign.yaml".into(),
                recipe_id: "r".into(),
                forge: "github".into(),
                tranche_count: 2,
                tranches: vec![
                    NewTranche {
                        name: "canary".into(),
                        spec: "1%".into(),
                    },
                    NewTranche {
                        name: "rest".into(),
                        spec: "rest".into(),
                    },
                ],
            },
            &targets,
        )
        .await
        .unwrap();
    let c = st.open_tranches(&c, 2).await.unwrap();
    let rows = st.targets(c.id).await.unwrap();
    for (k, t) in rows.iter().enumerate() {
        let (to, change) = match Made::of(t.position as usize) {
            Made::CloneFailed => (
                TargetState::Failed,
                Transition::failed(
                    Step::Clone,
                    "fatal: could not read Username for 'https://forge.example'",
                ),
            ),
            Made::PushRefused => (
                TargetState::Failed,
                Transition::failed(
                    Step::Push,
                    format!(
                        "! [remote rejected] fleetwright/x (protected branch hook declined) #{k}"
                    ),
                ),
            ),
            Made::OptedOut => (
                TargetState::OptedOut,
                Transition {
                    reason: Some("this service is being retired".into()),
                    ..Transition::default()
                },
            ),
            Made::NoChange => (TargetState::NoChange, Transition::default()),
            Made::Pending => continue,
            _ => {
                st.ensure_changeset(t, "github", "fleetwright/x", "main")
                    .await
                    .unwrap();
                (TargetState::PrOpen, Transition::default())
            }
        };
        st.transition(t, to, &change).await.unwrap();
    }
    // One sync records every pull request, as `run` does.
    let rows = st.targets(c.id).await.unwrap();
    let synced: Vec<state::Synced> = rows
        .iter()
        .filter(|t| t.changeset.is_some())
        .map(|t| {
            let made = Made::of(t.position as usize);
            let (pr_state, to) = match made {
                Made::Merged => (PrState::Merged, Some(TargetState::Merged)),
                Made::Declined => (PrState::Closed, Some(TargetState::Declined)),
                _ => (PrState::Open, None),
            };
            state::Synced {
                target: t,
                record: PullRequestRecord {
                    number: t.position + 1,
                    url: format!("https://github.com/acme/{}/pull/{}", t.repo, t.position + 1),
                    state: pr_state,
                    draft: false,
                    ci_state: Some(if made == Made::CiFailing {
                        CiState::Failure
                    } else {
                        CiState::Success
                    }),
                    review_state: None,
                    merged_at: None,
                    closed_at: None,
                },
                to: to.map(|to| {
                    let change = Transition {
                        reason: (to == TargetState::Declined).then(|| {
                            format!("closed: we use <another> library ({})", t.position % 3)
                        }),
                        ..Transition::default()
                    };
                    (to, change)
                }),
            }
        })
        .collect();
    st.record_synced(&synced).await.unwrap();
    for t in rows.iter().filter(|t| t.changeset.is_some()) {
        let made = Made::of(t.position as usize);
        let reviewers = if made == Made::NoReviewer {
            ""
        } else {
            "team:acme/reviewers"
        };
        st.record_reviewers(t, reviewers).await.unwrap();
        if made == Made::Stale {
            st.mark_nudged(t, "reminded").await.unwrap();
        }
    }
    c
}

/// The causes a fleet of `n` targets holds and how many of each, counted
/// from what [`build`] made.
pub fn causes(n: usize) -> BTreeMap<AttentionKind, usize> {
    let mut made = BTreeMap::new();
    for k in 0..n {
        if let Some(cause) = Made::of(k).cause() {
            *made.entry(cause).or_default() += 1;
        }
    }
    made
}

/// The JSON data an HTML report's script draws its tables from
/// (`script#report-data`), for tests that read the page back.
pub fn page_data(page: &str) -> serde_json::Value {
    let start = page
        .find(r#"<script type="application/json" id="report-data">"#)
        .expect("the page's data");
    let rest = &page[start..];
    let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(json).expect("the page's data is JSON")
}

/// The link the page's script makes of a repository row's pull request:
/// the links' common start, the row's rest, and `/pull/N` when its flag
/// (64) says so.
pub fn row_link(data: &serde_json::Value, row: &serde_json::Value) -> Option<String> {
    let rest = row[6].as_str()?;
    let pull = row[11].as_u64().unwrap() & 64 != 0;
    Some(format!(
        "{}{rest}{}",
        data["link"].as_str().unwrap(),
        if pull {
            format!("/pull/{}", row[5])
        } else {
            String::new()
        }
    ))
}
