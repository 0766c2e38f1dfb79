//! The shapes serde reads a catalog document into, before validation.
//!
//! Fields Backstage requires are `Option` here on purpose: a missing field is
//! reported by the loader with the entity's name and what to write, which
//! serde's "missing field" cannot say. Type errors still come from serde, at
//! the offending value.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::yaml::Spanned;

/// What every entity has: read first, to know its kind and name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawEntity {
    pub api_version: Option<Spanned<String>>,
    pub kind: Option<Spanned<String>>,
    pub metadata: Option<Spanned<RawMetadata>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawMetadata {
    pub name: Option<Spanned<String>>,
    pub namespace: Option<Spanned<String>>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub annotations: Option<BTreeMap<String, Spanned<String>>>,
    pub tags: Option<Vec<Spanned<String>>>,
}

/// The `spec` of an entity of a known kind, read second.
#[derive(Debug, Deserialize)]
pub(super) struct WithSpec<S> {
    pub spec: Option<Spanned<S>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ComponentSpec {
    #[serde(rename = "type")]
    pub spec_type: Option<Spanned<String>>,
    pub lifecycle: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub system: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct GroupSpec {
    #[serde(rename = "type")]
    pub spec_type: Option<Spanned<String>>,
    pub parent: Option<Spanned<String>>,
    pub children: Option<Vec<Spanned<String>>>,
    pub members: Option<Vec<Spanned<String>>>,
    pub profile: Option<Profile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserSpec {
    pub member_of: Option<Vec<Spanned<String>>>,
    pub profile: Option<Profile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Profile {
    pub display_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LocationSpec {
    pub target: Option<Spanned<String>>,
    pub targets: Option<Vec<Spanned<String>>>,
}
