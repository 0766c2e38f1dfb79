//! Selecting a campaign's targets from the catalog and cutting them into
//! tranches. Pure: the same campaign and catalog always give the same plan.

use serde::Serialize;

use super::{Campaign, TargetFilter, TrancheSize};
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

/// A component the filter selected that will not be a target, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub component: EntityRef,
    pub reason: String,
}

/// The targets of a campaign, in tranches.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub tranches: Vec<PlannedTranche>,
    /// Selected but not targeted (excluded, no repository, same repository twice).
    pub skipped: Vec<Skipped>,
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

    pub fn target_count(&self) -> usize {
        self.tranches.iter().map(|t| t.targets.len()).sum()
    }
}

/// Plan `campaign` over `catalog`.
///
/// Targets are ordered so that the canary is the least risky: lifecycle
/// `experimental` first, then `development`, then `production`, then the
/// rest; ties by repository name.
pub fn plan(campaign: &Campaign, catalog: &Catalog) -> Plan {
    let mut skipped = Vec::new();
    let mut not_selected = 0;
    let mut targets: Vec<PlannedTarget> = Vec::new();
    for component in &catalog.components {
        if !selects(&campaign.targets, component) {
            not_selected += 1;
            continue;
        }
        if let Some(rule) = excluded_by(&campaign.targets, component) {
            skipped.push(Skipped {
                component: component.entity.clone(),
                reason: format!("excluded by `{rule}`"),
            });
            continue;
        }
        let Some(repo) = &component.repository else {
            skipped.push(Skipped {
                component: component.entity.clone(),
                reason: "no repository annotation in the catalog".into(),
            });
            continue;
        };
        if let Some(first) = targets
            .iter()
            .find(|t| t.url == repo.url || t.repo == repo.name)
        {
            skipped.push(Skipped {
                component: component.entity.clone(),
                reason: format!("same repository as {}", first.component),
            });
            continue;
        }
        targets.push(PlannedTarget {
            repo: repo.name.clone(),
            url: repo.url.clone(),
            component: component.entity.clone(),
            owner: component.owner.clone(),
            owner_known: catalog.is_known_owner(&component.owner),
            lifecycle: component.lifecycle.clone(),
            spec_type: component.spec_type.clone(),
        });
    }
    targets.sort_by(|a, b| {
        lifecycle_rank(&a.lifecycle)
            .cmp(&lifecycle_rank(&b.lifecycle))
            .then_with(|| a.repo.cmp(&b.repo))
    });
    let (tranches, unscheduled) = cut(targets, &campaign.tranches);
    Plan {
        tranches,
        skipped,
        unscheduled,
        not_selected,
    }
}

fn lifecycle_rank(lifecycle: &str) -> u8 {
    match lifecycle {
        "experimental" => 0,
        "development" => 1,
        "production" => 2,
        _ => 3,
    }
}

/// Cut the ordered targets into tranches. A share is of all targets,
/// rounded up; every tranche takes what is left when it is larger.
pub fn cut(
    targets: Vec<PlannedTarget>,
    sizes: &[TrancheSize],
) -> (Vec<PlannedTranche>, Vec<PlannedTarget>) {
    let total = targets.len();
    let mut rest = targets.into_iter();
    let mut tranches = Vec::new();
    for (index, size) in sizes.iter().enumerate() {
        let n = match size {
            TrancheSize::Count(n) => *n,
            TrancheSize::Percent(p) => (total * *p as usize).div_ceil(100),
            TrancheSize::Rest => total,
        };
        tranches.push(PlannedTranche {
            index,
            name: default_tranche_name(index, sizes.len()),
            size: size.to_string(),
            targets: rest.by_ref().take(n).collect(),
        });
    }
    (tranches, rest.collect())
}

fn one_of(values: &[String], value: &str) -> bool {
    values.is_empty() || values.iter().any(|v| v.eq_ignore_ascii_case(value))
}

fn selects(filter: &TargetFilter, c: &Component) -> bool {
    one_of(&filter.spec_type, &c.spec_type)
        && one_of(&filter.lifecycle, &c.lifecycle)
        && (filter.system.is_empty()
            || c.system.as_ref().is_some_and(|s| filter.system.contains(s)))
        && (filter.owner.is_empty() || filter.owner.contains(&c.owner))
        && (filter.tags.is_empty()
            || c.tags
                .iter()
                .any(|t| filter.tags.iter().any(|f| f.eq_ignore_ascii_case(t))))
}

fn excluded_by<'f>(filter: &'f TargetFilter, c: &Component) -> Option<&'f str> {
    filter
        .exclude
        .iter()
        .find(|e| {
            let e = e.as_str();
            e == c.entity.name
                || e == c.entity.to_string()
                || c.repository.as_ref().is_some_and(|r| {
                    r.name == e || r.url == e || r.name.rsplit('/').next() == Some(e)
                })
        })
        .map(String::as_str)
}

/// `canary` for the first of several tranches, `wave N` for the others.
pub fn default_tranche_name(index: usize, count: usize) -> String {
    match index {
        0 if count > 1 => "canary".to_string(),
        0 => "all".to_string(),
        _ => format!("wave {index}"),
    }
}
