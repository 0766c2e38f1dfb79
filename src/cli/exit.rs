//! Exit codes, and the hint that goes with each expected failure.
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | success |
//! | 1 | unexpected error (a bug, or the machine: disk, permissions) |
//! | 2 | usage: the command line is wrong |
//! | 3 | bad input: a campaign, recipe or catalog file is invalid |
//! | 4 | the run finished, and some targets failed (see `status`) |
//! | 5 | not found: no such campaign or target in the state |
//! | 6 | refused: not possible in the current state (e.g. merging a PR that is not open), or repository code cannot get a sandbox here |

use std::process::ExitCode;

use crate::campaign::CampaignError;
use crate::engine::EngineError;
use crate::recipe::RecipeError;

pub const SUCCESS: u8 = 0;
pub const ERROR: u8 = 1;
pub const USAGE: u8 = 2;
pub const BAD_INPUT: u8 = 3;
pub const TARGETS_FAILED: u8 = 4;
pub const NOT_FOUND: u8 = 5;
pub const REFUSED: u8 = 6;

/// An expected failure the command layer raises itself.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: u8,
    pub message: String,
    pub hint: Option<String>,
}

impl Refusal {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The exit code and the "what to do now" hint for an error.
pub fn classify(error: &anyhow::Error) -> (u8, Option<String>) {
    for cause in error.chain() {
        if let Some(r) = cause.downcast_ref::<Refusal>() {
            return (r.code, r.hint.clone());
        }
        if let Some(e) = cause.downcast_ref::<CampaignError>() {
            return match e {
                CampaignError::Read { .. } => (
                    BAD_INPUT,
                    Some("check the path of the campaign file".into()),
                ),
                CampaignError::Invalid(..) => (
                    BAD_INPUT,
                    Some("fix the campaign file, then run `fleetwright plan` to check it".into()),
                ),
                CampaignError::Recipe(_) => (
                    BAD_INPUT,
                    Some("fix the recipe, then run `fleetwright recipe check RECIPE`".into()),
                ),
                CampaignError::Catalog(_) => (
                    BAD_INPUT,
                    Some("check the `catalog` path of the campaign".into()),
                ),
            };
        }
        if let Some(e) = cause.downcast_ref::<crate::lock::LockError>() {
            return match e {
                crate::lock::LockError::Held { .. } => (
                    REFUSED,
                    Some("wait for it to finish (or stop it); the lock goes away with that process, even when it is killed".into()),
                ),
                crate::lock::LockError::Io { .. } => (
                    ERROR,
                    Some("the locks/ folder next to the state database must be writable".into()),
                ),
            };
        }
        if let Some(e) = cause.downcast_ref::<crate::sandbox::SandboxError>() {
            // The message says what to do (install bubblewrap, or `sandbox: none`).
            return match e {
                crate::sandbox::SandboxError::Unavailable(_) => (REFUSED, None),
                crate::sandbox::SandboxError::Path { .. } => (
                    BAD_INPUT,
                    Some("fix `sandbox.read_only` in the campaign".into()),
                ),
                crate::sandbox::SandboxError::Io { .. } => (ERROR, None),
            };
        }
        if cause.downcast_ref::<RecipeError>().is_some() {
            return (
                BAD_INPUT,
                Some("fix the recipe, then run `fleetwright recipe check RECIPE`".into()),
            );
        }
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return match e {
                EngineError::UnknownCampaign(_) => (
                    NOT_FOUND,
                    Some("launch it first with `fleetwright launch CAMPAIGN_FILE`, or pass the state it lives in with --state".into()),
                ),
                EngineError::UnknownTarget { campaign, .. } => (
                    NOT_FOUND,
                    Some(format!("`fleetwright status {campaign}` lists its targets")),
                ),
                EngineError::OtherFile { .. } => (
                    REFUSED,
                    Some("launch the file it was launched from, or give this campaign another `name`".into()),
                ),
                EngineError::Refused(_) | EngineError::Forge { .. } => (REFUSED, None),
                EngineError::State(crate::state::StateError::Conflict(_)) => (
                    REFUSED,
                    Some("another fleetwright changed the campaign first; look at `fleetwright status` and try again".into()),
                ),
                EngineError::State(_) => (ERROR, Some("check that the state database is readable and writable".into())),
            };
        }
    }
    (ERROR, None)
}

pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}
