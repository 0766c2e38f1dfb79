//! `fleetwright local merge|close`: act as the app team on the embedded
//! local forge.

use clap::{Args, Subcommand};

use super::{GlobalArgs, Ui, engine, exit, recorded_campaign};
use crate::forge::ForgeKind;

/// Act as the app team on the local forge: merge or close a pull request,
/// or report its CI.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright local merge modernize-deprecated-apis billing-api"]))]
pub struct LocalArgs {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Merge a target's pull request into the default branch of its bare repository.
    #[command(after_help = super::examples(&["fleetwright local merge modernize-deprecated-apis billing-api"]))]
    Merge {
        /// The campaign name.
        campaign: String,
        /// The repository (or component) name.
        repo: String,
    },
    /// Close a target's pull request without merging; the target becomes `declined`.
    #[command(after_help = super::examples(&["fleetwright local close modernize-deprecated-apis billing-api --comment \"service retired in Q3\""]))]
    Close {
        /// The campaign name.
        campaign: String,
        /// The repository (or component) name.
        repo: String,
        /// Why: recorded as the reason the target was declined.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Report a CI result on a target's pull request, as a CI system would.
    #[command(after_help = super::examples(&["fleetwright local ci modernize-deprecated-apis billing-api failure"]))]
    Ci {
        /// The campaign name.
        campaign: String,
        /// The repository (or component) name.
        repo: String,
        /// The result.
        #[arg(value_parser = ["success", "failure", "pending"])]
        result: String,
    },
}

pub async fn run(args: LocalArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (name, repo) = match &args.command {
        LocalCommand::Merge { campaign, repo }
        | LocalCommand::Close { campaign, repo, .. }
        | LocalCommand::Ci { campaign, repo, .. } => (campaign.clone(), repo.clone()),
    };
    let (name, repo) = (&name, &repo);
    let (state, row) = recorded_campaign(&global.state, name).await?;
    if row.forge_kind()? != ForgeKind::Local {
        return Err(exit::Refusal::new(
            exit::REFUSED,
            format!(
                "campaign `{name}` runs on the `{}` forge, not the local one",
                row.forge
            ),
        )
        .into());
    }
    let engine = engine(&state, &global.cache, ForgeKind::Local, None, ui, None)?;
    // Merge and close hold the campaign's lock from before they read the target.
    let _lock = match &args.command {
        LocalCommand::Merge { .. } => {
            Some(super::launch::lock(&global.state, name, "local merge").await?)
        }
        LocalCommand::Close { .. } => {
            Some(super::launch::lock(&global.state, name, "local close").await?)
        }
        LocalCommand::Ci { .. } => None,
    };
    let target = engine.target(&row, repo).await?;
    let after = match args.command {
        LocalCommand::Merge { .. } => engine.merge(&target).await?,
        LocalCommand::Close { comment, .. } => engine.close(&target, comment.as_deref()).await?,
        LocalCommand::Ci { result, .. } => {
            let Some(number) = target.changeset.as_ref().and_then(|c| c.number) else {
                return Err(exit::Refusal::new(
                    exit::REFUSED,
                    format!(
                        "{} has no pull request (it is {})",
                        target.repo, target.state
                    ),
                )
                .into());
            };
            let ci: crate::state::CiState = result.parse().map_err(|e: String| {
                exit::Refusal::new(exit::USAGE, e).hint("the result is success, failure or pending")
            })?;
            state
                .update_local_pr(&target.url, number, crate::state::LocalPrChange::Ci(ci))
                .await?;
            println!(
                "{} #{number}: CI {result} (recorded by the next `sync` or `run`)",
                target.repo
            );
            state.close().await;
            return Ok(exit::SUCCESS);
        }
    };
    let number = after
        .changeset
        .as_ref()
        .and_then(|c| c.number)
        .unwrap_or_default();
    println!("{} #{number}: {}", after.repo, after.state);
    state.close().await;
    Ok(exit::SUCCESS)
}
