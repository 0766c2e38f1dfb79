//! Loading a campaign whose catalog may be a live Backstage: read now, or
//! taken from the snapshot its launch recorded (so that a run, a gate, an
//! owner does not move because the catalog changed mid-campaign).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::backstage::{self, BackstageSource, Client, Snapshot};
use crate::campaign::{Campaign, CampaignError, CatalogOrigin, CatalogSource, Loaded};
use crate::catalog::Catalog;
use crate::descriptors::{Content, InRepositories};
use crate::escape::terminal;
use crate::forge::Forge as _;
use crate::forge::ForgeKind;
use crate::recipe::Recipe;
use crate::state::{NewSnapshot, State};

use super::Ui;

/// Load the campaign file at `path`, its recipe and its catalog. A file
/// catalog is read as always. A live catalog is taken from the newest
/// snapshot `state` holds of the campaign when it has one; else it is read
/// from Backstage (and, when the campaign is recorded without a snapshot,
/// the reading is recorded as its first).
pub(super) async fn load(
    path: &Path,
    state: Option<&State>,
    cache: &Path,
    ui: &Ui,
) -> anyhow::Result<Loaded> {
    let campaign = Campaign::load(path)?;
    let recipe = Arc::new(
        Recipe::load_with(&campaign.recipe, &campaign.parameters).map_err(CampaignError::from)?,
    );
    let source = match &campaign.catalog {
        CatalogSource::Files(catalog) => {
            let catalog = Catalog::load(catalog).map_err(CampaignError::from)?;
            return Ok(Loaded::new(campaign, recipe, catalog, CatalogOrigin::Files));
        }
        CatalogSource::Backstage(source) => Live::Backstage(source.clone()),
        CatalogSource::Repositories(source) => Live::Repositories(source.clone()),
    };
    let row = match state {
        Some(state) => state.campaign(&campaign.name).await?,
        None => None,
    };
    if let (Some(state), Some(row)) = (state, &row) {
        if let Some(snap) = state.latest_catalog_snapshot(row).await? {
            let snapshot = Snapshot::from_lines(&snap.source, &snap.entities);
            let catalog = snapshot.catalog();
            let origin = CatalogOrigin::Snapshot {
                taken_at: snap.taken_at,
            };
            return Ok(Loaded::new(campaign, recipe, catalog, origin));
        }
        let snapshot = read_live(&source, &campaign, cache, ui).await?;
        record(state, row, &snapshot).await?;
        let catalog = snapshot.catalog();
        let origin = CatalogOrigin::Snapshot {
            taken_at: "now".to_string(),
        };
        return Ok(Loaded::new(campaign, recipe, catalog, origin));
    }
    let snapshot = read_live(&source, &campaign, cache, ui).await?;
    let catalog = snapshot.catalog();
    Ok(Loaded::new(
        campaign,
        recipe,
        catalog,
        CatalogOrigin::Read(snapshot),
    ))
}

/// [`load`] with the state at `state_path` when it exists: a command that
/// may create the state (`launch`, `run FILE`) creates nothing before the
/// campaign, its recipe and its catalog are loaded.
pub(super) async fn load_at(
    path: &Path,
    state_path: &crate::state::Location,
    cache: &Path,
    ui: &Ui,
) -> anyhow::Result<Loaded> {
    if !state_path.exists() {
        return load(path, None, cache, ui).await;
    }
    let state = super::open_state(state_path).await?;
    let loaded = load(path, Some(&state), cache, ui).await;
    state.close().await;
    loaded
}

/// A catalog read now and snapshotted: a live Backstage, or the
/// descriptors in the repositories.
enum Live {
    Backstage(BackstageSource),
    Repositories(InRepositories),
}

async fn read_live(
    source: &Live,
    campaign: &Campaign,
    cache: &Path,
    ui: &Ui,
) -> anyhow::Result<Snapshot> {
    match source {
        Live::Backstage(source) => read(source, ui).await,
        Live::Repositories(source) => read_repositories(source, campaign, cache, ui).await,
    }
}

/// Read the descriptor in each repository `source` lists, through the
/// clone cache in `cache` with the campaign's SSH settings and its forge's
/// token, and the groups files.
async fn read_repositories(
    source: &InRepositories,
    campaign: &Campaign,
    cache: &Path,
    ui: &Ui,
) -> anyhow::Result<Snapshot> {
    let workspace = super::workspace(cache)?;
    workspace.set_ssh(campaign.ssh.clone());
    let credentials = match campaign.forge {
        ForgeKind::Local => None,
        ForgeKind::Github => super::github_forge(&campaign.github, None)?
            .git_credentials()
            .await
            .context("cannot get a git token from GitHub to read the repositories' descriptors")?,
        ForgeKind::Gitlab => super::gitlab_forge(&campaign.gitlab, None)?
            .git_credentials()
            .await
            .context("cannot get a git token for GitLab to read the repositories' descriptors")?,
    };
    workspace.set_credentials(credentials);
    let snapshot_source = source.source();
    let (source, campaign) = (source.clone(), campaign.clone());
    let descriptors = tokio::task::spawn_blocking(move || {
        let refusal = |url: &str| campaign.repository_refusal(url);
        crate::descriptors::read(&source, &workspace, &refusal, &mut |_| {})
    })
    .await
    .context("reading the repositories' descriptors stopped")?;
    let read = descriptors
        .iter()
        .filter(|d| d.repository.is_some() && matches!(d.content, Content::Text(_)))
        .count();
    let listed = descriptors
        .iter()
        .filter(|d| d.repository.is_some())
        .count();
    ui.note(format!(
        "read the catalog descriptors of {read} of {listed} repositories"
    ));
    Ok(Snapshot::of_descriptors(snapshot_source, &descriptors))
}

/// Read the live catalog `source` names, with its token from the
/// environment.
pub(super) async fn read(source: &BackstageSource, ui: &Ui) -> anyhow::Result<Snapshot> {
    let token = backstage::token(source)?;
    let client = Client::new(source, token)?;
    let mut pages = 0;
    let snapshot = client.read(&mut |_| pages += 1).await?;
    ui.note(format!(
        "read {} entities from the Backstage catalog at {} ({pages} page(s))",
        snapshot.entities.len(),
        terminal(&source.url)
    ));
    Ok(snapshot)
}

/// Record `snapshot` as the newest of campaign `row`.
pub(super) async fn record(
    state: &State,
    row: &crate::state::CampaignRow,
    snapshot: &Snapshot,
) -> anyhow::Result<()> {
    let lines = snapshot.to_lines();
    state
        .record_catalog_snapshot(
            row,
            &NewSnapshot {
                source: &snapshot.source,
                entity_count: snapshot.entities.len() as i64,
                entities: &lines,
            },
        )
        .await?;
    Ok(())
}
