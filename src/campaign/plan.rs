//! Selecting a campaign's targets from the catalog and cutting them into
//! tranches. Pure: the same campaign and catalog always give the same plan.

use std::collections::HashMap;

use serde::Serialize;

use super::{Campaign, OrderKey, TargetFilter, Tranche, TrancheSize};
use crate::catalog::{Catalog, Component, EntityRef};

/// One repository a campaign will change.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedTarget {
    /// Display name of the repository.
    pub repo: String,
    /// What git clones.
    pub url: String,
    pub component: EntityRef,
    pub owner: EntityRef,
    /// False when the owner is neither a Group nor a User of the catalog.
    pub owner_known: bool,
    pub lifecycle: String,
    pub spec_type: String,
    pub tags: Vec<String>,
    pub system: Option<EntityRef>,
    /// Why the campaign's forge cannot take this repository
    /// ([`Campaign::repository_refusal`]): it fails when its tranche opens,
    /// before anything reaches the network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// One tranche of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedTranche {
    /// 0-based.
    pub index: usize,
    /// Its name (`canary`, `wave 2`...): as written, or made from its place.
    pub name: String,
    /// As written in the campaign (`1`, `25%`, `rest`).
    pub size: String,
    pub targets: Vec<PlannedTarget>,
}

/// A component that will not be a target, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub component: EntityRef,
    pub kind: SkipKind,
    /// Why, in words (names the exclusion or the other component).
    pub reason: String,
}

/// Why a component is not a target, for grouping thousands of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// `targets:` does not select it: its type is not one listed.
    Type,
    /// ... its lifecycle is not one listed.
    Lifecycle,
    /// ... its system is not one listed.
    System,
    /// ... its owner is not one listed.
    Owner,
    /// ... it has none of the tags listed.
    Tags,
    /// Selected, then excluded (`exclude`, `exclude_tags`, `exclude_annotations`).
    Excluded,
    /// Selected, but the catalog gives it no repository.
    NoRepository,
    /// Selected, but its repository is already another component's target.
    SameRepository,
}

impl SkipKind {
    /// Why, in words ("without a repository in the catalog").
    pub fn what(self) -> &'static str {
        match self {
            SkipKind::Type => "not of a type `targets.type` lists",
            SkipKind::Lifecycle => "not of a lifecycle `targets.lifecycle` lists",
            SkipKind::System => "not in a system `targets.system` lists",
            SkipKind::Owner => "not owned by an owner `targets.owner` lists",
            SkipKind::Tags => "without any tag `targets.tags` lists",
            SkipKind::Excluded => "excluded by `targets`",
            SkipKind::NoRepository => "without a repository in the catalog",
            SkipKind::SameRepository => "on a repository another component already targets",
        }
    }

    /// True for the kinds of components `targets:` did not select (the
    /// others were selected, then left out).
    pub fn is_not_selected(self) -> bool {
        matches!(
            self,
            SkipKind::Type
                | SkipKind::Lifecycle
                | SkipKind::System
                | SkipKind::Owner
                | SkipKind::Tags
        )
    }
}

/// The targets of a campaign, in tranches.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub tranches: Vec<PlannedTranche>,
    /// Selected but not targeted (excluded, no repository, same repository twice).
    pub skipped: Vec<Skipped>,
    /// Not selected by `targets:`, each with the first key that leaves it out.
    pub unselected: Vec<Skipped>,
    /// Targets beyond the last tranche (the tranche list has no `rest`).
    pub unscheduled: Vec<PlannedTarget>,
    /// Components in the catalog the filter did not select.
    pub not_selected: usize,
}

impl Plan {
    /// Every scheduled target with its tranche index, in plan order.
    pub fn targets(&self) -> impl Iterator<Item = (usize, &PlannedTarget)> {
        self.tranches
            .iter()
            .flat_map(|t| t.targets.iter().map(move |x| (t.index, x)))
    }

    /// The scheduled targets the campaign's forge refuses.
    pub fn refused(&self) -> impl Iterator<Item = &PlannedTarget> {
        self.targets()
            .map(|(_, t)| t)
            .filter(|t| t.refusal.is_some())
    }

    pub fn target_count(&self) -> usize {
        self.tranches.iter().map(|t| t.targets.len()).sum()
    }
}

/// Plan `campaign` over `catalog`.
///
/// Targets are ordered by the campaign's `order` keys; by default so that
/// the canary is the least risky: lifecycle `experimental` first, then
/// `development`, then `production`, then the rest; ties by repository name.
pub fn plan(campaign: &Campaign, catalog: &Catalog) -> Plan {
    let mut skipped = Vec::new();
    let mut unselected = Vec::new();
    let mut targets: Vec<PlannedTarget> = Vec::new();
    let owners = catalog.known_owners();
    // The first target of each repository URL and of each name.
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for component in &catalog.components {
        if let Some(kind) = unselected_by(&campaign.targets, component) {
            unselected.push(Skipped {
                component: component.entity.clone(),
                kind,
                reason: kind.what().to_string(),
            });
            continue;
        }
        if let Some(reason) = excluded_by(&campaign.targets, component) {
            skipped.push(Skipped {
                component: component.entity.clone(),
                kind: SkipKind::Excluded,
                reason,
            });
            continue;
        }
        let Some(repo) = &component.repository else {
            skipped.push(Skipped {
                component: component.entity.clone(),
                kind: SkipKind::NoRepository,
                reason: "no repository annotation in the catalog".into(),
            });
            continue;
        };
        let first = [
            by_url.get(repo.url.as_str()),
            by_name.get(repo.name.as_str()),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(&first) = first {
            skipped.push(Skipped {
                component: component.entity.clone(),
                kind: SkipKind::SameRepository,
                reason: format!("same repository as {}", targets[first].component),
            });
            continue;
        }
        by_url.insert(&repo.url, targets.len());
        by_name.insert(&repo.name, targets.len());
        targets.push(PlannedTarget {
            repo: repo.name.clone(),
            url: repo.url.clone(),
            component: component.entity.clone(),
            owner: component.owner.clone(),
            owner_known: owners.contains(&component.owner),
            lifecycle: component.lifecycle.clone(),
            spec_type: component.spec_type.clone(),
            tags: component.tags.clone(),
            system: component.system.clone(),
            refusal: campaign.repository_refusal(&repo.url),
        });
    }
    order(&mut targets, &campaign.rollout.order);
    let (tranches, unscheduled) = cut(targets, &campaign.tranches);
    Plan {
        tranches,
        skipped,
        not_selected: unselected.len(),
        unselected,
        unscheduled,
    }
}

/// Sort targets by `keys`, in turn; the repository name breaks ties.
fn order(targets: &mut [PlannedTarget], keys: &[OrderKey]) {
    let mut team_size: std::collections::HashMap<EntityRef, usize> = Default::default();
    for t in targets.iter() {
        *team_size.entry(t.owner.clone()).or_default() += 1;
    }
    targets.sort_by(|a, b| {
        keys.iter()
            .map(|k| match k {
                OrderKey::Lifecycle => {
                    lifecycle_rank(&a.lifecycle).cmp(&lifecycle_rank(&b.lifecycle))
                }
                OrderKey::TeamSize => team_size[&a.owner].cmp(&team_size[&b.owner]),
                OrderKey::Repo => a.repo.cmp(&b.repo),
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.repo.cmp(&b.repo))
    });
}

fn lifecycle_rank(lifecycle: &str) -> u8 {
    match lifecycle {
        "experimental" => 0,
        "development" => 1,
        "production" => 2,
        _ => 3,
    }
}

/// Cut the ordered targets into tranches, in order. A share is of all
/// targets, rounded up; a tranche with a selector takes only the remaining
/// targets it selects (all of them, without a size); `rest` takes what is
/// left.
pub fn cut(
    targets: Vec<PlannedTarget>,
    tranches: &[Tranche],
) -> (Vec<PlannedTranche>, Vec<PlannedTarget>) {
    let total = targets.len();
    let mut rest = targets;
    let mut out = Vec::new();
    for (index, tranche) in tranches.iter().enumerate() {
        let n = match tranche.size {
            TrancheSize::Count(n) => n,
            TrancheSize::Percent(p) => (total * p as usize).div_ceil(100),
            TrancheSize::Rest => total,
        };
        let mut taken = Vec::new();
        let mut kept = Vec::new();
        for t in rest {
            let selected = tranche
                .select
                .as_ref()
                .is_none_or(|f| selects_target(f, &t));
            if selected && taken.len() < n {
                taken.push(t);
            } else {
                kept.push(t);
            }
        }
        rest = kept;
        out.push(PlannedTranche {
            index,
            name: tranche
                .name
                .clone()
                .unwrap_or_else(|| default_tranche_name(index, tranches.len())),
            size: tranche.spec(),
            targets: taken,
        });
    }
    (out, rest)
}

/// True when `filter` (a tranche's selector) selects `t`.
fn selects_target(filter: &TargetFilter, t: &PlannedTarget) -> bool {
    mismatch(
        filter,
        &t.spec_type,
        &t.lifecycle,
        t.system.as_ref(),
        &t.owner,
        &t.tags,
    )
    .is_none()
}

/// The first of the filter's keys that does not select `c`, if any.
fn unselected_by(filter: &TargetFilter, c: &Component) -> Option<SkipKind> {
    mismatch(
        filter,
        &c.spec_type,
        &c.lifecycle,
        c.system.as_ref(),
        &c.owner,
        &c.tags,
    )
}

/// The one test of a filter's selecting keys (type, lifecycle, system,
/// owner, tags) against what the catalog says of a component: the first
/// key that does not select it.
fn mismatch(
    filter: &TargetFilter,
    spec_type: &str,
    lifecycle: &str,
    system: Option<&EntityRef>,
    owner: &EntityRef,
    tags: &[String],
) -> Option<SkipKind> {
    let one_of = |values: &[String], value: &str| {
        values.is_empty() || values.iter().any(|v| v.eq_ignore_ascii_case(value))
    };
    if !one_of(&filter.spec_type, spec_type) {
        Some(SkipKind::Type)
    } else if !one_of(&filter.lifecycle, lifecycle) {
        Some(SkipKind::Lifecycle)
    } else if !(filter.system.is_empty() || system.is_some_and(|s| filter.system.contains(s))) {
        Some(SkipKind::System)
    } else if !(filter.owner.is_empty() || filter.owner.contains(owner)) {
        Some(SkipKind::Owner)
    } else if !(filter.tags.is_empty()
        || tags
            .iter()
            .any(|t| filter.tags.iter().any(|f| f.eq_ignore_ascii_case(t))))
    {
        Some(SkipKind::Tags)
    } else {
        None
    }
}

/// Why the campaign's exclusions leave `c` out, if they do.
fn excluded_by(filter: &TargetFilter, c: &Component) -> Option<String> {
    if let Some(e) = filter.exclude.iter().find(|e| {
        let e = e.as_str();
        e == c.entity.name
            || e == c.entity.to_string()
            || c.repository
                .as_ref()
                .is_some_and(|r| r.name == e || r.url == e || r.name.rsplit('/').next() == Some(e))
    }) {
        return Some(format!("excluded by `{e}`"));
    }
    if let Some(tag) = c.tags.iter().find(|t| {
        filter
            .exclude_tags
            .iter()
            .any(|x| x.eq_ignore_ascii_case(t))
    }) {
        return Some(format!("excluded by its tag `{tag}`"));
    }
    filter
        .exclude_annotations
        .iter()
        .find(|(key, value)| {
            c.annotations
                .get(key)
                .is_some_and(|v| value.as_ref().is_none_or(|want| want == v))
        })
        .map(|(key, _)| {
            format!(
                "excluded by its annotation `{key}: {}`",
                c.annotations.get(key).map_or("", String::as_str)
            )
        })
}

/// `canary` for the first of several tranches, `wave N` for the others.
pub fn default_tranche_name(index: usize, count: usize) -> String {
    match index {
        0 if count > 1 => "canary".to_string(),
        0 => "all".to_string(),
        _ => format!("wave {index}"),
    }
}
