//! `fleetwright local merge|close`: act as the app team on the embedded
//! local forge.

use clap::{Args, Subcommand};

use super::{GlobalArgs, Ui, engine, exit, recorded_campaign};

/// Act as the app team on the local forge: merge or close a pull request.
///
/// Example: fleetwright local merge modernize-deprecated-apis billing-api
#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    command: LocalCommand,
}

#[derive(Debug, Subcommand)]
enum LocalCommand {
    /// Merge a target's pull request into the default branch of its bare repository.
    ///
    /// Example: fleetwright local merge modernize-deprecated-apis billing-api
    Merge {
        /// The campaign name.
        campaign: String,
        /// The repository (or component) name.
        repo: String,
    },
    /// Close a target's pull request without merging; the target becomes `declined`.
    ///
    /// Example: fleetwright local close modernize-deprecated-apis billing-api --comment "service retired in Q3"
    Close {
        /// The campaign name.
        campaign: String,
        /// The repository (or component) name.
        repo: String,
        /// Why: recorded as the reason the target was declined.
        #[arg(long)]
        comment: Option<String>,
    },
}

pub async fn run(args: LocalArgs, global: &GlobalArgs, ui: &Ui) -> anyhow::Result<u8> {
    let (name, repo) = match &args.command {
        LocalCommand::Merge { campaign, repo } | LocalCommand::Close { campaign, repo, .. } => {
            (campaign, repo)
        }
    };
    let (state, row) = recorded_campaign(&global.state, name).await?;
    if row.forge != "local" {
        return Err(exit::Refusal::new(
            exit::REFUSED,
            format!(
                "campaign `{name}` runs on the `{}` forge, not the local one",
                row.forge
            ),
        )
        .into());
    }
    let engine = engine(&state, &row.forge, None, ui, None)?;
    let target = engine.target(&row, repo).await?;
    let after = match args.command {
        LocalCommand::Merge { .. } => engine.merge(&target).await?,
        LocalCommand::Close { comment, .. } => engine.close(&target, comment.as_deref()).await?,
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
