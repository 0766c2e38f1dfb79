//! fleetwright: an automated migration engine.
//!
//! See `docs/architecture.md` for the map of the house.

pub mod catalog;
pub mod diag;
pub mod yaml;
