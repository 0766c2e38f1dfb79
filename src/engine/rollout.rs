//! The reconciler: `fleetwright run` brings a campaign one step closer to
//! done and exits, so that cron can call it every few minutes.
//!
//! One run: sync what the forge says of the open pull requests; pause the
//! campaign when too many pull requests of its newest tranche fail CI;
//! open the next tranche when the gate of the previous one passes; open the
//! pull requests the throttles allow (at most `max_open` open, `per_hour`
//! an hour, only inside the window); nudge, once, the pull requests nobody
//! reviewed for `stale.after_days`; mark the campaign completed when every
//! target is settled. Every decision is recorded in the state (as an event,
//! or as the campaign's gate note and status reason), so that `status` and
//! the report say why nothing happened as clearly as what did.

use std::collections::BTreeMap;

use super::{Engine, EngineError, Result, SyncReport, TargetOutcome, error_chain, repo_ref};
use crate::campaign::{Campaign, Gate, Loaded, rollout};
use crate::state::{CampaignRow, CampaignStatus, State, TargetRow, TargetState};

/// What one run of the reconciler did.
#[derive(Debug)]
pub struct Reconciled {
    pub campaign: CampaignRow,
    /// The campaign was recorded by this run.
    pub launched: bool,
    pub sync: SyncReport,
    /// The run paused the campaign, and why.
    pub paused: Option<String>,
    /// The gate between the newest open tranche and the next, in words.
    pub gate: Option<String>,
    /// The gate passed (and the next tranche opened).
    pub gate_passed: bool,
    /// Tranches (0-based) this run opened.
    pub opened: Vec<i64>,
    /// Why fewer pull requests were opened than could be.
    pub throttled: Option<String>,
    /// Targets worked on.
    pub outcomes: Vec<TargetOutcome>,
    /// Pull requests nudged: (repo, number).
    pub nudged: Vec<(String, i64)>,
    /// Nudges that failed: (repo, why).
    pub nudge_failed: Vec<(String, String)>,
}

impl Reconciled {
    /// Targets this run left failed.
    pub fn failed(&self) -> usize {
        super::failures(&self.outcomes)
    }
}

/// How many pull requests a run may open, and why not more.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// `None`: no limit.
    pub slots: Option<usize>,
    pub why: Option<String>,
}

/// The gate of one tranche, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateEval {
    pub pass: bool,
    pub note: String,
}

/// Evaluate `gate` on the targets of one tranche (named `name`).
pub fn evaluate_gate(gate: &Gate, name: &str, targets: &[&TargetRow]) -> GateEval {
    let unprepared = targets.iter().filter(|t| unprepared(t)).count();
    if unprepared > 0 {
        return GateEval {
            pass: false,
            note: format!("{name}: {unprepared} target(s) not prepared yet"),
        };
    }
    let counted: Vec<&&TargetRow> = targets.iter().filter(|t| !t.state.needs_no_pr()).collect();
    let merged = counted
        .iter()
        .filter(|t| t.state == TargetState::Merged)
        .count();
    let declined = counted
        .iter()
        .filter(|t| t.state == TargetState::Declined)
        .count();
    let settled = if gate.count_declined {
        merged + declined
    } else {
        merged
    };
    let with_pr: Vec<&&&TargetRow> = counted
        .iter()
        .filter(|t| t.changeset.as_ref().is_some_and(|c| c.number.is_some()))
        .collect();
    let failing = with_pr.iter().filter(|t| t.ci_failing()).count();
    let what = if gate.count_declined {
        "merged or declined"
    } else {
        "merged"
    };
    if counted.is_empty() {
        return GateEval {
            pass: true,
            note: format!("{name}: no pull request was needed; the gate is open"),
        };
    }
    let share = settled * 100 / counted.len();
    let mut note = format!(
        "{name}: {settled} of {} {what} ({share}%), the gate needs {}%",
        counted.len(),
        gate.merged
    );
    let mut pass = settled * 100 >= gate.merged as usize * counted.len();
    if let Some(max) = gate.max_ci_failures
        && !with_pr.is_empty()
    {
        let ci_share = failing * 100 / with_pr.len();
        let ok = failing * 100 < max as usize * with_pr.len() || failing == 0;
        note.push_str(&format!(
            "; {failing} of {} failing CI ({ci_share}%), the gate needs under {max}%",
            with_pr.len()
        ));
        pass &= ok;
    }
    GateEval { pass, note }
}

/// A target a run has still to take to its pull request (or to its end).
fn unprepared(t: &TargetRow) -> bool {
    matches!(
        t.state,
        TargetState::Pending | TargetState::Queued | TargetState::Pushed
    )
}

/// Pull requests of the newest open tranche: (failing CI, all).
fn newest_tranche_ci(row: &CampaignRow, targets: &[TargetRow]) -> (usize, usize) {
    let newest = row.tranches_open - 1;
    let with_pr: Vec<&TargetRow> = targets
        .iter()
        .filter(|t| t.tranche == newest && t.changeset.as_ref().is_some_and(|c| c.number.is_some()))
        .collect();
    (
        with_pr.iter().filter(|t| t.ci_failing()).count(),
        with_pr.len(),
    )
}

impl Engine {
    /// One run of the reconciler (see the module doc). Records the campaign
    /// first when it is new.
    pub async fn reconcile(&self, loaded: &Loaded) -> Result<Reconciled> {
        let campaign = &loaded.campaign;
        let launched = self.state().campaign(&campaign.name).await?.is_none();
        let row = self.record(loaded).await?;
        let mut done = Reconciled {
            campaign: row.clone(),
            launched,
            sync: SyncReport::default(),
            paused: None,
            gate: None,
            gate_passed: false,
            opened: if launched {
                (0..row.tranches_open).collect()
            } else {
                Vec::new()
            },
            throttled: None,
            outcomes: Vec::new(),
            nudged: Vec::new(),
            nudge_failed: Vec::new(),
        };
        if row.status.is_finished() {
            return Ok(done);
        }
        done.sync = self.sync(loaded).await?;
        let mut row = self.campaign(&campaign.name).await?;
        let targets = self.state().targets(row.id).await?;

        // Pause on CI failures in the newest open tranche.
        if row.status == CampaignStatus::Active
            && let Some(threshold) = campaign.rollout.pause_on_ci_failures
        {
            let (failing, all) = newest_tranche_ci(&row, &targets);
            if failing > 0
                && failing as i64 > row.ci_failures_acknowledged
                && failing * 100 >= threshold as usize * all
            {
                let reason = format!(
                    "{failing} of {all} pull requests of tranche {} fail CI ({}%, the campaign pauses at {threshold}%); \
                     look at them, then `fleetwright resume {}`",
                    row.tranches_open,
                    failing * 100 / all,
                    row.name
                );
                row = self
                    .state()
                    .set_campaign_status(
                        &row,
                        &[CampaignStatus::Active],
                        CampaignStatus::Paused,
                        Some(&reason),
                        "paused",
                        None,
                    )
                    .await?;
                done.paused = Some(reason);
            }
        }
        if row.status == CampaignStatus::Paused {
            done.campaign = row;
            return Ok(done);
        }

        // The gate to the next tranche (not while the newest one is still
        // being prepared, as when this run launched the campaign).
        let preparing = targets
            .iter()
            .any(|t| t.tranche == row.tranches_open - 1 && unprepared(t));
        if !launched && !preparing && row.tranches_open < row.tranche_count {
            let eval = self.gate(&row, &targets, &campaign.rollout.gate).await?;
            if eval.pass {
                self.state()
                    .record_campaign_event(&row, "gate_passed", &eval.note)
                    .await?;
                let before = row.tranches_open;
                let tranches: Vec<i64> = targets.iter().map(|t| t.tranche).collect();
                row = self.open_next(&row, &tranches).await?;
                done.opened.extend(before..row.tranches_open);
                done.gate_passed = true;
                self.state().set_gate_note(&row, None).await?;
            } else {
                self.state().set_gate_note(&row, Some(&eval.note)).await?;
            }
            done.gate = Some(eval.note);
        }

        // Open what the throttles allow.
        let budget = self.budget(&row, campaign).await?;
        let (outcomes, waiting) = self.run_open(&row, loaded, &budget).await?;
        done.outcomes = outcomes;
        done.throttled = throttled(&budget, waiting);

        // Nudge what is stale.
        if let Some(stale) = &campaign.rollout.stale
            && self.in_window(campaign)
        {
            self.nudge(&row, campaign, stale, &mut done).await?;
        }

        // Done when every tranche is open and every target settled.
        let targets = self.state().targets(row.id).await?;
        if row.tranches_open >= row.tranche_count && targets.iter().all(|t| t.state.is_settled()) {
            let counts = state_counts(&targets);
            row = self
                .state()
                .set_campaign_status(
                    &row,
                    &[CampaignStatus::Active],
                    CampaignStatus::Completed,
                    Some(&counts),
                    "completed",
                    None,
                )
                .await?;
        }
        done.campaign = self.campaign(&row.name).await?;
        Ok(done)
    }

    /// A worker's pass (`fleetwright worker` while another process runs the
    /// campaign-wide steps): work on the targets of the open tranches that
    /// the throttles allow and no other process holds; no sync, gate,
    /// tranche or nudge.
    pub async fn work(&self, loaded: &Loaded) -> Result<Worked> {
        let row = self.campaign(&loaded.campaign.name).await?;
        let budget = self.budget(&row, &loaded.campaign).await?;
        let (outcomes, waiting) = self.run_open(&row, loaded, &budget).await?;
        Ok(Worked {
            campaign: row,
            outcomes,
            throttled: throttled(&budget, waiting),
        })
    }

    /// What is left for this process on the open tranches of a campaign:
    /// targets it would work on, how many of them another process holds,
    /// and whether only the throttles keep it from the rest.
    pub async fn left(&self, loaded: &Loaded) -> Result<Left> {
        let row = self.campaign(&loaded.campaign.name).await?;
        let candidates = self.candidates(&row, &loaded.recipe).await?;
        let mine = &self.shared.worker.name;
        let held: std::collections::HashSet<i64> = self
            .state()
            .live_leases(row.id)
            .await?
            .into_iter()
            .filter(|(_, by, _)| by != mine)
            .map(|(id, _, _)| id)
            .collect();
        let budget = self.budget(&row, &loaded.campaign).await?;
        let free: Vec<&(TargetRow, bool)> = candidates
            .iter()
            .filter(|(t, _)| !held.contains(&t.id))
            .collect();
        Ok(Left {
            targets: candidates.len(),
            held: candidates.len() - free.len(),
            throttled: budget.slots == Some(0) && free.iter().all(|(_, fresh)| *fresh),
        })
    }

    /// The gate between the newest open tranche and the next.
    pub(super) async fn gate(
        &self,
        row: &CampaignRow,
        targets: &[TargetRow],
        gate: &Gate,
    ) -> Result<GateEval> {
        let newest = row.tranches_open - 1;
        let name = self.tranche_name(row, newest).await?;
        let of_tranche: Vec<&TargetRow> = targets.iter().filter(|t| t.tranche == newest).collect();
        Ok(evaluate_gate(gate, &name, &of_tranche))
    }

    /// `tranche 2 (wave 1)`.
    pub(super) async fn tranche_name(&self, row: &CampaignRow, index: i64) -> Result<String> {
        let tranches = self.state().tranches(row.id).await?;
        Ok(match tranches.iter().find(|t| t.idx == index) {
            Some(t) => format!("tranche {} ({})", index + 1, t.name),
            None => format!("tranche {}", index + 1),
        })
    }

    /// How many pull requests may be opened now.
    pub(super) async fn budget(&self, row: &CampaignRow, campaign: &Campaign) -> Result<Budget> {
        if row.status != CampaignStatus::Active {
            return Ok(Budget {
                slots: Some(0),
                why: Some(format!("the campaign is {}", row.status)),
            });
        }
        let throttle = &campaign.rollout.throttle;
        let now = self.state().now();
        if let Some(window) = &throttle.window
            && !window.contains(now)
        {
            let next = window
                .next_open(now)
                .map_or("never".to_string(), |t| t.to_string());
            return Ok(Budget {
                slots: Some(0),
                why: Some(format!(
                    "outside the window ({}); it opens at {next}",
                    window.describe()
                )),
            });
        }
        let mut budget = Budget::default();
        let mut limit = |slots: usize, why: String| {
            if budget.slots.is_none_or(|s| slots < s) {
                budget.slots = Some(slots);
                budget.why = Some(why);
            }
        };
        if let Some(max) = throttle.max_open {
            let open = self
                .state()
                .targets(row.id)
                .await?
                .iter()
                .filter(|t| t.has_open_pr())
                .count();
            limit(
                max.saturating_sub(open),
                format!("{open} pull requests open, at most {max} at once (throttle.max_open)"),
            );
        }
        if let Some(per_hour) = throttle.per_hour {
            let since = now - jiff::SignedDuration::from_hours(1);
            let opened = self.state().opened_since(row.id, since).await?;
            limit(
                per_hour.saturating_sub(opened),
                format!(
                    "{opened} pull requests opened in the last hour, at most {per_hour} (throttle.per_hour)"
                ),
            );
        }
        Ok(budget)
    }

    fn in_window(&self, campaign: &Campaign) -> bool {
        campaign
            .rollout
            .throttle
            .window
            .as_ref()
            .is_none_or(|w| w.contains(self.state().now()))
    }

    /// Comment once on every open pull request nobody reviewed for
    /// `stale.after_days`. The nudge is recorded before it is posted: at
    /// most once, even when the process dies in between.
    async fn nudge(
        &self,
        row: &CampaignRow,
        campaign: &Campaign,
        stale: &crate::campaign::Stale,
        done: &mut Reconciled,
    ) -> Result<()> {
        let now = self.state().now();
        for t in self.state().targets(row.id).await? {
            let Some(cs) = t.changeset.as_ref().filter(|_| t.has_open_pr()) else {
                continue;
            };
            let (Some(number), None, Some(opened)) = (
                cs.number,
                cs.nudged_at.as_ref(),
                cs.opened_at.as_deref().and_then(crate::state::parse_time),
            ) else {
                continue;
            };
            let reviewed = cs.review_state.is_some_and(|r| r.is_verdict());
            let days = (now - opened).as_hours() / 24;
            if reviewed || days < i64::from(stale.after_days) {
                continue;
            }
            let text =
                rollout::render_nudge(&stale.comment, &campaign.name, &t.repo, &t.owner, days)
                    .map_err(|e| EngineError::Template {
                        field: "stale.comment",
                        message: e.to_string(),
                    })?;
            self.state()
                .mark_nudged(&t, &format!("#{number}: no review for {days} days"))
                .await?;
            match self
                .shared
                .forge
                .comment(&repo_ref(&t), number, &text)
                .await
            {
                Ok(()) => {
                    self.state()
                        .record_event(&t, "nudged", &format!("#{number}"))
                        .await?;
                    done.nudged.push((t.repo.clone(), number));
                }
                Err(e) => {
                    // The forge answered no: nothing was posted, and the
                    // next run tries again. A lost answer (a timeout) keeps
                    // the nudge recorded: at most once.
                    let refused = matches!(
                        e,
                        crate::forge::ForgeError::Forge {
                            status: Some(_),
                            ..
                        } | crate::forge::ForgeError::NotFound(_)
                            | crate::forge::ForgeError::Refused(_)
                    );
                    if refused {
                        self.state()
                            .clear_nudged(&t, &format!("#{number}: {}", error_chain(&e)))
                            .await?;
                    }
                    done.nudge_failed.push((t.repo.clone(), error_chain(&e)));
                }
            }
        }
        Ok(())
    }

    /// Close every open pull request of a campaign with `comment`, as the
    /// platform team (their targets become `declined` with the reason
    /// `closed by the platform team: <comment>`, and a
    /// `closed_by_platform_team` event says so: the report does not count
    /// them as the owners' declines); one that cannot be closed is reported
    /// and the others go on. `cancel --close-prs` uses it.
    pub async fn close_open(
        &self,
        row: &CampaignRow,
        comment: &str,
    ) -> Result<Vec<(String, std::result::Result<i64, String>)>> {
        let mut closed = Vec::new();
        for t in self.state().targets(row.id).await? {
            if !t.has_open_pr() {
                continue;
            }
            let number = t
                .changeset
                .as_ref()
                .and_then(|c| c.number)
                .unwrap_or_default();
            let result = self
                .close_as_platform_team(&t, comment)
                .await
                .map(|_| number)
                .map_err(|e| error_chain(&e));
            closed.push((t.repo.clone(), result));
        }
        Ok(closed)
    }
}

/// Pause a campaign by hand: no pull request is opened until `resume`
/// (a run going on stops starting targets). Needs no forge.
pub async fn pause(state: &State, row: &CampaignRow, reason: Option<&str>) -> Result<CampaignRow> {
    let reason = format!(
        "paused by hand{}",
        reason.map(|r| format!(": {r}")).unwrap_or_default()
    );
    Ok(state
        .set_campaign_status(
            row,
            &[CampaignStatus::Active, CampaignStatus::Paused],
            CampaignStatus::Paused,
            Some(&reason),
            "paused",
            None,
        )
        .await?)
}

/// Resume a paused campaign (an active one is left as it is). The CI
/// failures of the newest tranche as they are now are accepted: the
/// campaign pauses itself again only when more pull requests fail.
pub async fn resume(state: &State, row: &CampaignRow) -> Result<CampaignRow> {
    if row.status == CampaignStatus::Active {
        return Ok(row.clone());
    }
    let targets = state.targets(row.id).await?;
    let (failing, _) = newest_tranche_ci(row, &targets);
    let reason = (failing > 0)
        .then(|| format!("resumed with {failing} pull request(s) failing CI accepted"));
    Ok(state
        .set_campaign_status(
            row,
            &[CampaignStatus::Paused],
            CampaignStatus::Active,
            reason.as_deref(),
            "resumed",
            Some(failing as i64),
        )
        .await?)
}

/// Cancel a campaign for good: nothing more is opened, synced or nudged.
/// A cancelled campaign is returned as it is (so that closing its pull
/// requests can be tried again). The reason is recorded as given (the
/// status already says `cancelled`; nothing when none was given).
pub async fn cancel(state: &State, row: &CampaignRow, reason: Option<&str>) -> Result<CampaignRow> {
    if row.status == CampaignStatus::Cancelled {
        return Ok(row.clone());
    }
    let why = reason.map(str::trim).filter(|r| !r.is_empty());
    Ok(state
        .set_campaign_status(
            row,
            &[
                CampaignStatus::Active,
                CampaignStatus::Paused,
                CampaignStatus::Completed,
            ],
            CampaignStatus::Cancelled,
            why,
            "cancelled",
            None,
        )
        .await?)
}

/// Why targets were left waiting for a later run, when some were.
/// A worker's pass ([`Engine::work`]).
#[derive(Debug)]
pub struct Worked {
    pub campaign: CampaignRow,
    pub outcomes: Vec<TargetOutcome>,
    pub throttled: Option<String>,
}

/// What is left for a worker ([`Engine::left`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Left {
    /// Targets it would work on now.
    pub targets: usize,
    /// Of those, held by another process's lease.
    pub held: usize,
    /// The throttles leave no slot for the rest.
    pub throttled: bool,
}

pub(super) fn throttled(budget: &Budget, waiting: usize) -> Option<String> {
    (waiting > 0).then(|| {
        format!(
            "{waiting} target(s) wait for a later run: {}",
            budget.why.as_deref().unwrap_or("throttled")
        )
    })
}

/// `14 merged, 3 declined, 4 no_change`.
fn state_counts(targets: &[TargetRow]) -> String {
    let mut counts: BTreeMap<TargetState, usize> = BTreeMap::new();
    for t in targets {
        *counts.entry(t.state).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {}", crate::report::count_label(*s, *n)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ChangesetRow;

    fn target(state: TargetState, ci: Option<&str>) -> TargetRow {
        let with_pr = matches!(
            state,
            TargetState::PrOpen | TargetState::Merged | TargetState::Declined
        );
        TargetRow {
            changeset: with_pr.then(|| ChangesetRow {
                branch: "b".into(),
                base: "main".into(),
                number: Some(1),
                url: None,
                pr_state: None,
                draft: false,
                ci_state: ci.map(|c| c.parse().unwrap()),
                review_state: None,
                reviewers: None,
                opened_at: None,
                nudged_at: None,
                merged_at: None,
                recipe_exact: None,
            }),
            ..TargetRow::sample(0, "r", state)
        }
    }

    fn eval(gate: &Gate, targets: &[TargetRow]) -> GateEval {
        let refs: Vec<&TargetRow> = targets.iter().collect();
        evaluate_gate(gate, "canary", &refs)
    }

    #[test]
    fn the_gate_counts_merged_shares_of_the_targets_that_need_a_pull_request() {
        use TargetState::*;
        let gate = Gate {
            merged: 75,
            count_declined: false,
            max_ci_failures: None,
        };
        let mut targets = vec![
            target(Merged, None),
            target(Merged, None),
            target(Declined, None),
            target(NoChange, None),
        ];
        // 2 of 3 merged (the no_change target needs no pull request): 66% < 75%.
        let e = eval(&gate, &targets);
        assert!(!e.pass, "{}", e.note);
        assert!(e.note.contains("2 of 3 merged (66%)"), "{}", e.note);
        // Counting declines, 3 of 3.
        let with_declined = Gate {
            count_declined: true,
            ..gate.clone()
        };
        assert!(eval(&with_declined, &targets).pass);
        // A target still being prepared keeps the gate shut whatever the shares.
        targets.push(target(Queued, None));
        let e = eval(&with_declined, &targets);
        assert!(
            !e.pass && e.note.contains("1 target(s) not prepared yet"),
            "{}",
            e.note
        );
    }

    #[test]
    fn the_gate_stays_shut_while_too_many_pull_requests_fail_ci() {
        use TargetState::*;
        let gate = Gate {
            merged: 50,
            count_declined: false,
            max_ci_failures: Some(30),
        };
        let targets = vec![
            target(Merged, Some("success")),
            target(Merged, Some("success")),
            target(PrOpen, Some("failure")),
            target(PrOpen, Some("pending")),
        ];
        // 2 of 4 merged passes 50%, but 1 of 4 failing (25%) is under 30%: open.
        assert!(eval(&gate, &targets).pass);
        let strict = Gate {
            max_ci_failures: Some(20),
            ..gate
        };
        let e = eval(&strict, &targets);
        assert!(!e.pass, "{}", e.note);
        assert!(e.note.contains("1 of 4 failing CI (25%)"), "{}", e.note);
    }

    #[test]
    fn a_tranche_that_needs_no_pull_request_opens_the_gate() {
        let targets = vec![target(TargetState::NotApplicable, None)];
        assert!(eval(&Gate::default(), &targets).pass);
    }
}
