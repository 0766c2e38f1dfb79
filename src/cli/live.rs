//! Loading a campaign whose catalog may be a live Backstage: read now, or
//! taken from the snapshot its launch recorded (so that a run, a gate, an
//! owner does not move because the catalog changed mid-campaign).

use std::path::Path;
use std::sync::Arc;

use crate::backstage::{self, BackstageSource, Client, Snapshot};
use crate::campaign::{Campaign, CampaignError, CatalogOrigin, CatalogSource, Loaded};
use crate::catalog::Catalog;
use crate::escape::terminal;
use crate::recipe::Recipe;
use crate::state::{NewSnapshot, State};

use super::Ui;

/// Load the campaign file at `path`, its recipe and its catalog. A file
/// catalog is read as always. A live catalog is taken from the newest
/// snapshot `state` holds of the campaign when it has one; else it is read
/// from Backstage (and, when the campaign is recorded without a snapshot,
/// the reading is recorded as its first).
pub(super) async fn load(path: &Path, state: Option<&State>, ui: &Ui) -> anyhow::Result<Loaded> {
    let campaign = Campaign::load(path)?;
    let recipe = Arc::new(
        Recipe::load_with(&campaign.recipe, &campaign.parameters).map_err(CampaignError::from)?,
    );
    let source = match &campaign.catalog {
        CatalogSource::Files(catalog) => {
            let catalog = Catalog::load(catalog).map_err(CampaignError::from)?;
            return Ok(Loaded::new(campaign, recipe, catalog, CatalogOrigin::Files));
        }
        CatalogSource::Backstage(source) => source.clone(),
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
        let snapshot = read(&source, ui).await?;
        record(state, row, &snapshot).await?;
        let catalog = snapshot.catalog();
        let origin = CatalogOrigin::Snapshot {
            taken_at: "now".to_string(),
        };
        return Ok(Loaded::new(campaign, recipe, catalog, origin));
    }
    let snapshot = read(&source, ui).await?;
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
pub(super) async fn load_at(path: &Path, state_path: &Path, ui: &Ui) -> anyhow::Result<Loaded> {
    if !state_path.is_file() {
        return load(path, None, ui).await;
    }
    let state = super::open_state(state_path).await?;
    let loaded = load(path, Some(&state), ui).await;
    state.close().await;
    loaded
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
