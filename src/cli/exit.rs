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
use crate::engine::tracking::TrackingError;
use crate::forge::ForgeError;
use crate::recipe::RecipeError;
use crate::state::StateError;

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

/// Every failure the command line expects, as found in an error's chain.
/// [`classify`] gives each its code and hint in one exhaustive match:
/// an error that is none of these is unexpected (exit 1).
enum Expected<'e> {
    Refusal(&'e Refusal),
    Campaign(&'e CampaignError),
    Lock(&'e crate::lock::LockError),
    Sandbox(&'e crate::sandbox::SandboxError),
    Recipe(&'e RecipeError),
    Engine(&'e EngineError),
    Tracking(&'e TrackingError),
    Backstage(&'e crate::backstage::BackstageError),
    State(&'e StateError),
}

impl<'e> Expected<'e> {
    /// The first expected failure in `error`'s chain, outermost first.
    fn find(error: &'e anyhow::Error) -> Option<Expected<'e>> {
        error.chain().find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<Refusal>() {
                Some(Expected::Refusal(e))
            } else if let Some(e) = cause.downcast_ref::<CampaignError>() {
                Some(Expected::Campaign(e))
            } else if let Some(e) = cause.downcast_ref::<crate::lock::LockError>() {
                Some(Expected::Lock(e))
            } else if let Some(e) = cause.downcast_ref::<crate::sandbox::SandboxError>() {
                Some(Expected::Sandbox(e))
            } else if let Some(e) = cause.downcast_ref::<RecipeError>() {
                Some(Expected::Recipe(e))
            } else if let Some(e) = cause.downcast_ref::<TrackingError>() {
                Some(Expected::Tracking(e))
            } else if let Some(e) = cause.downcast_ref::<crate::backstage::BackstageError>() {
                Some(Expected::Backstage(e))
            } else if let Some(e) = cause.downcast_ref::<StateError>() {
                Some(Expected::State(e))
            } else {
                cause.downcast_ref::<EngineError>().map(Expected::Engine)
            }
        })
    }
}

/// The exit code and the "what to do now" hint for an error.
pub fn classify(error: &anyhow::Error) -> (u8, Option<String>) {
    fn hint(text: &str) -> Option<String> {
        Some(text.to_string())
    }
    let Some(expected) = Expected::find(error) else {
        return (ERROR, None);
    };
    match expected {
        Expected::Refusal(r) => (r.code, r.hint.clone()),
        Expected::Campaign(e) => match e {
            CampaignError::Read { .. } => (BAD_INPUT, hint("check the path of the campaign file")),
            CampaignError::Invalid(..) => (
                BAD_INPUT,
                hint("fix the campaign file, then run `fleetwright plan` to check it"),
            ),
            CampaignError::Recipe(_) => (
                BAD_INPUT,
                hint("fix the recipe, then run `fleetwright recipe check RECIPE`"),
            ),
            CampaignError::Catalog(_) => {
                (BAD_INPUT, hint("check the `catalog` path of the campaign"))
            }
            CampaignError::InRepositories => (
                BAD_INPUT,
                hint(
                    "this command works on catalog files only; `plan`, `preview`, `launch` and `run` read the repositories' descriptors",
                ),
            ),
            CampaignError::Live(_) => (
                BAD_INPUT,
                hint(
                    "this command works on catalog files only; `plan`, `preview`, `launch` and `run` read a live catalog",
                ),
            ),
        },
        Expected::Lock(e) => match e {
            crate::lock::LockError::Held { .. } => (
                REFUSED,
                hint(
                    "wait for it to finish (or stop it); the lock goes away with that process, even when it is killed",
                ),
            ),
            crate::lock::LockError::Io { .. } => (
                ERROR,
                hint("the locks/ folder next to the state database must be writable"),
            ),
            crate::lock::LockError::Database(_) => (
                ERROR,
                hint(
                    "check that the PostgreSQL state is reachable with the URL given (--state or FLEETWRIGHT_STATE)",
                ),
            ),
        },
        // The message says what to do (install bubblewrap, or `sandbox: none`).
        Expected::Sandbox(e) => match e {
            crate::sandbox::SandboxError::Unavailable(_) => (REFUSED, None),
            crate::sandbox::SandboxError::Path { .. } => {
                (BAD_INPUT, hint("fix `sandbox.read_only` in the campaign"))
            }
            crate::sandbox::SandboxError::Io { .. } => (ERROR, None),
        },
        Expected::Recipe(e) => match e {
            RecipeError::Read { .. } => (BAD_INPUT, hint("check the path of the recipe")),
            RecipeError::Invalid(_) => (
                BAD_INPUT,
                hint("fix the recipe, then run `fleetwright recipe check RECIPE`"),
            ),
        },
        Expected::Tracking(e) => match e {
            TrackingError::Forge {
                source: ForgeError::TooLong { .. },
                ..
            } => (
                REFUSED,
                hint(
                    "the report is too long for an issue: publish `fleetwright report --format html` where `report_url` points instead, and drop `report.issue`",
                ),
            ),
            TrackingError::Forge { repository, .. } => (
                REFUSED,
                Some(format!(
                    "check that {repository} exists on the campaign's forge and that its token may write issues there (fine-grained: Issues read and write; classic: repo; a GitHub App: issues: write), then run the command again"
                )),
            ),
            TrackingError::State(_) => (
                ERROR,
                hint("check that the state database is readable and writable"),
            ),
        },
        // Bad input when the campaign or the token is wrong; 1 when
        // Backstage or the network failed (try again).
        Expected::Backstage(e) => (
            if e.is_bad_input() { BAD_INPUT } else { ERROR },
            Some(e.hint()),
        ),
        Expected::Engine(e) => match e {
            EngineError::UnknownCampaign(_) => (
                NOT_FOUND,
                hint(
                    "launch it first with `fleetwright launch CAMPAIGN_FILE`, or pass the state it lives in with --state",
                ),
            ),
            EngineError::UnknownTarget { campaign, .. } => (
                NOT_FOUND,
                Some(format!("`fleetwright status {campaign}` lists its targets")),
            ),
            EngineError::OtherFile { .. } => (
                REFUSED,
                hint("launch the file it was launched from, or give this campaign another `name`"),
            ),
            EngineError::Refused(_) | EngineError::Forge { .. } => (REFUSED, None),
            EngineError::Template { .. } => (
                BAD_INPUT,
                hint("fix that template in the campaign file; `fleetwright plan` checks the file"),
            ),
            EngineError::Panicked(_) => (
                ERROR,
                hint(
                    "this is a bug: please report it with the output of the same command run with -vv",
                ),
            ),
            EngineError::State(e) => state(e),
        },
        Expected::State(e) => state(e),
    }
}

/// The code and hint of a failure of the state database.
fn state(e: &StateError) -> (u8, Option<String>) {
    let hint = |text: &str| Some(text.to_string());
    match e {
        StateError::Open { .. } => (
            ERROR,
            hint(
                "check --state (or FLEETWRIGHT_STATE): a SQLite file in a writable folder, or a postgres://user:password@host:port/database URL of a server that answers",
            ),
        ),
        StateError::Migrate { .. } => (
            ERROR,
            hint(
                "the state's schema could not be brought up to date; if a newer fleetwright wrote it, use that version",
            ),
        ),
        StateError::Folder { .. } => (ERROR, hint("the state's folder must be writable")),
        StateError::Query(_) => (
            ERROR,
            hint("check that the state database is readable and writable"),
        ),
        StateError::Unknown(_) => (
            ERROR,
            hint("a newer fleetwright wrote this state: use that version"),
        ),
        StateError::CampaignExists(_) => (
            REFUSED,
            hint("give the campaign another `name`, or run the one recorded"),
        ),
        StateError::Conflict(_) => (
            REFUSED,
            hint(
                "another fleetwright changed the campaign first; look at `fleetwright status` and try again",
            ),
        ),
    }
}

pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: impl Into<anyhow::Error>) -> u8 {
        classify(&error.into()).0
    }

    #[test]
    fn each_failure_gets_its_own_code() {
        assert_eq!(
            code_of(EngineError::Panicked("a target's task".into())),
            ERROR
        );
        assert_eq!(
            code_of(EngineError::Template {
                field: "stale.comment",
                message: "unknown variable".into()
            }),
            BAD_INPUT
        );
        assert_eq!(code_of(EngineError::UnknownCampaign("c".into())), NOT_FOUND);
        assert_eq!(code_of(EngineError::Refused("not open".into())), REFUSED);
        assert_eq!(code_of(Refusal::new(USAGE, "no")), USAGE);
        // Wrapped in context, the cause still decides.
        let wrapped = anyhow::Error::new(EngineError::Panicked("x".into())).context("running");
        assert_eq!(classify(&wrapped).0, ERROR);
        assert!(classify(&wrapped).1.unwrap().contains("bug"));
        let too_long = TrackingError::Forge {
            campaign: "c".into(),
            repository: "acme/platform".into(),
            source: ForgeError::TooLong {
                what: "the body",
                forge: "GitHub",
                chars: 70_000,
                limit: 65_536,
            },
        };
        let (code, hint) = classify(&too_long.into());
        assert_eq!(code, REFUSED);
        assert!(hint.unwrap().contains("too long"));
        let refused = TrackingError::Forge {
            campaign: "c".into(),
            repository: "acme/platform".into(),
            source: ForgeError::NotFound("404".into()),
        };
        let (code, hint) = classify(&refused.into());
        assert_eq!(code, REFUSED);
        assert!(hint.unwrap().contains("acme/platform"));
        // Anything else is unexpected.
        assert_eq!(code_of(std::io::Error::other("disk full")), ERROR);
    }
}
