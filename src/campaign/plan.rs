//! Selecting a campaign's targets from the catalog and cutting them into
//! tranches. Pure: the same campaign and catalog always give the same plan.

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
    let mut not_selected = 0;
    let mut targets: Vec<PlannedTarget> = Vec::new();
    for component in &catalog.components {
        if !selects(&campaign.targets, component) {
            not_selected += 1;
            continue;
        }
        if let Some(reason) = excluded_by(&campaign.targets, component) {
            skipped.push(Skipped {
                component: component.entity.clone(),
                reason,
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
        unscheduled,
        not_selected,
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
    matches(
        filter,
        &t.spec_type,
        &t.lifecycle,
        t.system.as_ref(),
        &t.owner,
        &t.tags,
    )
}

fn selects(filter: &TargetFilter, c: &Component) -> bool {
    matches(
        filter,
        &c.spec_type,
        &c.lifecycle,
        c.system.as_ref(),
        &c.owner,
        &c.tags,
    )
}

/// The one test of a filter's selecting keys (type, lifecycle, system,
/// owner, tags) against what the catalog says of a component.
fn matches(
    filter: &TargetFilter,
    spec_type: &str,
    lifecycle: &str,
    system: Option<&EntityRef>,
    owner: &EntityRef,
    tags: &[String],
) -> bool {
    let one_of = |values: &[String], value: &str| {
        values.is_empty() || values.iter().any(|v| v.eq_ignore_ascii_case(value))
    };
    one_of(&filter.spec_type, spec_type)
        && one_of(&filter.lifecycle, lifecycle)
        && (filter.system.is_empty() || system.is_some_and(|s| filter.system.contains(s)))
        && (filter.owner.is_empty() || filter.owner.contains(owner))
        && (filter.tags.is_empty()
            || tags
                .iter()
                .any(|t| filter.tags.iter().any(|f| f.eq_ignore_ascii_case(t))))
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
