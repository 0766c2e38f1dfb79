//! What changed between two readings of a catalog: the components added,
//! removed, or given another owner. `plan` shows it for a live catalog
//! against the snapshot a launched campaign works from.

use std::collections::HashMap;

use serde::Serialize;

use super::{Catalog, EntityRef};

/// The components that differ between an earlier catalog and a later one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// In the later catalog only.
    pub added: Vec<EntityRef>,
    /// In the earlier catalog only.
    pub removed: Vec<EntityRef>,
    /// In both, with another owner.
    pub owner_changed: Vec<OwnerChange>,
}

/// A component whose `spec.owner` changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerChange {
    pub component: EntityRef,
    pub from: EntityRef,
    pub to: EntityRef,
}

impl Changes {
    /// True when nothing the campaign cares about changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.owner_changed.is_empty()
    }
}

/// The components of `later` that `earlier` did not have, those it had and
/// `later` has not, and those whose owner moved; each list sorted.
pub fn changes(earlier: &Catalog, later: &Catalog) -> Changes {
    let before: HashMap<&EntityRef, &EntityRef> = earlier
        .components
        .iter()
        .map(|c| (&c.entity, &c.owner))
        .collect();
    let after: HashMap<&EntityRef, &EntityRef> = later
        .components
        .iter()
        .map(|c| (&c.entity, &c.owner))
        .collect();
    let mut out = Changes::default();
    for (entity, owner) in &after {
        match before.get(entity) {
            None => out.added.push((*entity).clone()),
            Some(old) if old != owner => out.owner_changed.push(OwnerChange {
                component: (*entity).clone(),
                from: (*old).clone(),
                to: (*owner).clone(),
            }),
            Some(_) => {}
        }
    }
    out.removed = before
        .keys()
        .filter(|e| !after.contains_key(*e))
        .map(|e| (*e).clone())
        .collect();
    out.added.sort();
    out.removed.sort();
    out.owner_changed
        .sort_by(|a, b| a.component.cmp(&b.component));
    out
}
