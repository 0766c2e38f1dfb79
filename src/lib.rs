//! fleetwright: an automated migration engine.
//!
//! See `docs/architecture.md` for the map of the house.

// Diagnostics carry their source text so they can underline it; they travel
// on cold error paths only, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod backstage;
pub mod cache;
pub mod campaign;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod descriptors;
pub mod diag;
pub mod engine;
pub mod escape;
pub mod fleet;
pub mod forge;
pub mod git;
pub mod lock;
pub mod optout;
pub mod paths;
pub mod proxy;
pub mod recipe;
pub mod report;
pub mod reviewers;
pub mod sandbox;
pub mod secret;
#[cfg(feature = "sim")]
pub mod sim;
pub mod state;
pub mod urls;
pub mod verify;
pub mod yaml;
