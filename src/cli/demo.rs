//! `fleetwright demo`: a sandbox fleet, a whole campaign run on it by the
//! reconciler alone over simulated weeks, with simulated app teams, and
//! where to look afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::rollout::print_reconciled;
use super::{Ui, campaign_engine, exit, status};
use crate::campaign;
use crate::clock::ManualClock;
use crate::engine::Engine;
use crate::fleet::{DemoOptions, build_demo};
use crate::state::{CampaignRow, CiState, State, TargetRow, TargetState};

/// Build a sandbox fleet and run a whole campaign on it, end to end.
///
/// It creates real git repositories (Python and Go services of four teams),
/// a Backstage catalog, a recipe and a campaign in DIR, then plays the
/// campaign's weeks on a simulated clock: every working day `fleetwright
/// run` alone syncs, gates, throttles, pauses and nudges, and simulated app
/// teams report CI, merge, decline or take their time. The gates, the CI
/// pause and the stale nudges can be seen doing their job. Running it again
/// on the same DIR rebuilds the sandbox.
#[derive(Debug, Args)]
#[command(after_help = super::examples(&["fleetwright demo --dir demo-fleet"]))]
pub struct DemoArgs {
    /// Where to build the sandbox (created; rebuilt when it holds an earlier demo).
    #[arg(long, default_value = "demo-fleet")]
    dir: PathBuf,
    /// Number of repositories.
    #[arg(long, default_value_t = 24)]
    repos: usize,
    /// Number of teams.
    #[arg(long, default_value_t = 4)]
    teams: usize,
}

/// The reason the simulated teams give when they decline.
const DECLINE: &str = "We are retiring this service next quarter; not worth migrating.";

pub async fn run(args: DemoArgs, ui: &Ui) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let demo = build_demo(
        &args.dir,
        &DemoOptions {
            repos: args.repos,
            teams: args.teams,
        },
    )
    .map_err(|e| exit::Refusal::new(exit::REFUSED, e.to_string()))?;
    let dir = crate::paths::absolute(&demo.dir);
    println!(
        "built a sandbox fleet of {} repositories in {}",
        demo.fleet.repos.len(),
        dir.display()
    );
    // The campaign's weeks, played on a clock that starts on a Monday
    // morning a few weeks ago and moves a day at a time.
    let clock = ManualClock::starting_at(demo_start(jiff::Timestamp::now()));
    let db = dir.join("state").join("fleetwright.db");
    let state = State::open_with_clock(&db, Arc::new(clock.clone())).await?;
    let loaded = campaign::load_all(&demo.campaign)?;
    let name = loaded.campaign.name.clone();
    // The demo's clones stay in its folder, beside its state.
    let cache = dir.join("state").join("cache");
    let engine = campaign_engine(
        &state,
        &cache,
        &loaded.campaign,
        &Ui { quiet: true, ..*ui },
        None,
    )?;
    let mut teams = Teams::default();

    // The platform team looks at the whole change before anything is pushed.
    let preview = engine.preview(&loaded, false).await?;
    let preview_dir = dir.join("preview");
    super::preview::write_files(&preview_dir, &preview)?;
    println!(
        "== before launch: `fleetwright preview {}`
{}
review page: {} (nothing pushed, nothing recorded)",
        demo.campaign.display(),
        crate::escape::terminal(&super::preview::headline(&preview)),
        preview_dir.join("index.html").display()
    );

    println!(
        "\nEvery working day at 09:00, `fleetwright run {name}` runs once (as cron would);\n\
         then the app teams act. Their reviews and CI results are simulated.\n"
    );
    let mut row = None;
    const HOUR: u64 = 3600;
    for day in 0..60 {
        let now = state.now();
        let weekday = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).weekday();
        let weekend = matches!(
            weekday,
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        println!(
            "== day {} ({})",
            day + 1,
            now.strftime("%a %Y-%m-%d %H:%M UTC")
        );
        let done = engine.reconcile(&loaded).await?;
        print_reconciled(&done);
        row = Some(done.campaign.clone());
        if done.campaign.status.is_finished() {
            break;
        }
        if weekend {
            println!("(the weekend: nobody reviews)\n");
            clock.advance(Duration::from_secs(24 * HOUR));
            continue;
        }
        // The app teams work in the afternoon...
        clock.advance(Duration::from_secs(5 * HOUR));
        teams.act(&engine, &state, &done.campaign).await?;
        // ...and cron runs again in the evening, outside the window.
        clock.advance(Duration::from_secs(5 * HOUR));
        println!("-- {}", state.now().strftime("%a %H:%M UTC"));
        let evening = engine.reconcile(&loaded).await?;
        print_reconciled(&evening);
        row = Some(evening.campaign.clone());
        // What is left, counted from the code (the burndown's last line).
        let scan = engine.scan(&loaded).await?;
        println!(
            "scan: {} place(s) still match in {} of {} repositories\n",
            scan.totals.matches, scan.totals.repositories_with_matches, scan.totals.targets
        );
        if evening.campaign.status.is_finished() {
            break;
        }
        clock.advance(Duration::from_secs(14 * HOUR));
    }
    let Some(row) = row else {
        return Err(exit::Refusal::new(exit::ERROR, "the demo ran no day").into());
    };
    let scan = engine.scan(&loaded).await?;
    println!(
        "scan: {} place(s) still match in {} of {} repositories (declined, opted out, or not applicable)",
        scan.totals.matches, scan.totals.repositories_with_matches, scan.totals.targets
    );

    println!("\n== status\n");
    let status = status::report(&state, &row).await?;
    print!("{}", status::render(&status));

    // The report, as of now (the simulated weeks ended in the past).
    let real_now = jiff::Timestamp::now();
    if real_now > state.now() {
        let behind = (real_now - state.now()).as_secs().max(0) as u64;
        clock.advance(Duration::from_secs(behind));
    }
    let report = super::report::build(&state, &row).await?;
    let report_path = dir.join("report.html");
    super::report::write_file(&report_path, &crate::report::html::render(&report))?;
    let state_arg = db.display();
    println!(
        "\nThe reviews and CI results above were simulated: no person looked at these pull requests,\n\
         and the days were played on a simulated clock.\n\
         Everything is in {dir}:\n\
         \x20 remotes/           the bare git repositories (merges are real merge commits)\n\
         \x20 catalog/           the Backstage catalog (Location, Groups, Users, Components)\n\
         \x20 {recipe}\n\
         \x20 campaign.yaml      the rollout: tranches, gate, pause, throttle, stale nudges\n\
         \x20 state/fleetwright.db  the campaign's state and event log (SQLite)\n\
         \x20 preview/           what the campaign would change, reviewed before launch\n\
         \x20 report.html        the campaign's report, for people (one self-contained page)\n\n\
         Try:\n\
         \x20 fleetwright --state {state_arg} status {name}\n\
         \x20 fleetwright --state {state_arg} status {name} --json\n\
         \x20 fleetwright --state {state_arg} report {name} --format md\n\
         \x20 git -C {dir}/remotes/billing-api.git log --oneline --graph main\n\
         \nThe campaign's report: {report}\n\
         \nfinished in {:.1}s",
        started.elapsed().as_secs_f64(),
        report = report_path.display(),
        dir = dir.display(),
        recipe = crate::fleet::demo::RECIPE_PATH,
    );
    state.close().await;
    Ok(exit::SUCCESS)
}

/// A Monday 09:00 UTC at least three weeks before `now`.
fn demo_start(now: jiff::Timestamp) -> std::time::SystemTime {
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let back = 21 + i64::from(today.weekday().to_monday_zero_offset());
    let monday = today
        .checked_sub(jiff::Span::new().days(back))
        .unwrap_or(today);
    let at = monday
        .at(9, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(now);
    std::time::UNIX_EPOCH + Duration::from_secs(at.as_second().max(0) as u64)
}

/// The simulated app teams and platform team. Deterministic (decisions
/// hang on a target's place in the plan), so two demos tell one story.
#[derive(Default)]
struct Teams {
    /// The platform team fixed the CI problem that paused the campaign.
    ci_fixed: bool,
}

impl Teams {
    async fn act(
        &mut self,
        engine: &Engine,
        state: &State,
        row: &CampaignRow,
    ) -> anyhow::Result<()> {
        let now = state.now();
        let targets = state.targets(row.id).await?;
        if row.status == crate::state::CampaignStatus::Paused {
            // The platform team looks: a flaky check in the shared CI
            // image. It is fixed, the checks pass again, and it resumes.
            let mut fixed = Vec::new();
            for t in targets.iter().filter(|t| failing(t)) {
                set_ci(state, t, CiState::Success).await?;
                fixed.push(t.repo.clone());
            }
            self.ci_fixed = true;
            crate::engine::resume(state, row).await?;
            println!(
                "platform team: the failing checks ({}) came from a flaky test in the shared CI image; fixed, re-run, green. \
                 `fleetwright resume {}`",
                fixed.join(", "),
                row.name
            );
            return Ok(());
        }
        let (mut merged, mut declined, mut red, mut waiting, mut edited) =
            (vec![], vec![], vec![], vec![], vec![]);
        for t in targets.iter().filter(|t| t.state == TargetState::PrOpen) {
            let Some(cs) = &t.changeset else { continue };
            let age_days = cs
                .opened_at
                .as_deref()
                .and_then(crate::state::parse_time)
                .map_or(0, |at| (now - at).as_hours() / 24);
            // On the day the pull request opens, a team that does not want
            // it says so at once, and a team that wants more adds a commit
            // (the pull request is no longer recipe-exact: it waits for
            // them to merge it by hand).
            if matches!(cs.ci_state, None | Some(CiState::None)) {
                if t.position % 7 == 5 {
                    engine.close(t, Some(DECLINE)).await?;
                    declined.push(t.repo.clone());
                    continue;
                }
                if t.position % 5 == 2 {
                    add_a_note(t, &cs.branch)?;
                    edited.push(t.repo.clone());
                }
                // CI reports the same day: the early adopters' tranche hits
                // the flaky check until it is fixed.
                let flaky = t.tranche == 2 && t.position % 2 == 0 && !self.ci_fixed;
                set_ci(
                    state,
                    t,
                    if flaky {
                        CiState::Failure
                    } else {
                        CiState::Success
                    },
                )
                .await?;
                if flaky {
                    red.push(t.repo.clone());
                }
                continue;
            }
            if failing(t) || age_days < 1 {
                continue;
            }
            if t.position % 4 == 3 && cs.nudged_at.is_none() {
                // A busy team: it reviews only after the nudge.
                waiting.push(t.repo.clone());
            } else {
                engine.merge(t).await?;
                merged.push(t.repo.clone());
            }
        }
        let list = |what: &str, repos: &[String]| {
            (!repos.is_empty()).then(|| format!("{what} {}", repos.join(", ")))
        };
        let said: Vec<String> = [
            list("merged", &merged),
            list("declined", &declined),
            list("added a commit of their own to", &edited),
            list("CI failed on", &red),
            list("no review yet on", &waiting),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !said.is_empty() {
            println!("app teams: {}", said.join("; "));
        }
        Ok(())
    }
}

/// A person of the team adds a line to the README on the campaign branch of
/// `t`'s repository (a commit of their own: never overwritten, and the pull
/// request is no longer recipe-exact).
fn add_a_note(t: &TargetRow, branch: &str) -> anyhow::Result<()> {
    let Some(bare) = crate::git::local_path(&t.url) else {
        return Ok(());
    };
    let repo = git2::Repository::open_bare(&bare)?;
    let tip = repo.refname_to_id(&format!("refs/heads/{branch}"))?;
    let parent = repo.find_commit(tip)?;
    let tree = parent.tree()?;
    let readme = tree
        .get_path(std::path::Path::new("README.md"))
        .ok()
        .and_then(|e| repo.find_blob(e.id()).ok())
        .map(|b| String::from_utf8_lossy(b.content()).into_owned())
        .unwrap_or_default();
    let blob = repo.blob(
        format!("{readme}\nLogging: use `logging.warning`, never `logging.warn`.\n").as_bytes(),
    )?;
    let mut builder = repo.treebuilder(Some(&tree))?;
    builder.insert("README.md", blob, i32::from(git2::FileMode::Blob))?;
    let tree = repo.find_tree(builder.write()?)?;
    let who = git2::Signature::now("A teammate", "teammate@example.com")?;
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &who,
        &who,
        "Note the logging convention in the README",
        &tree,
        &[&parent],
    )?;
    Ok(())
}

fn failing(t: &TargetRow) -> bool {
    t.state == TargetState::PrOpen
        && t.changeset
            .as_ref()
            .is_some_and(|c| c.ci_state == Some(CiState::Failure))
}

async fn set_ci(state: &State, t: &TargetRow, ci: CiState) -> anyhow::Result<()> {
    if let Some(number) = t.changeset.as_ref().and_then(|c| c.number) {
        state
            .update_local_pr(&t.url, number, crate::state::LocalPrChange::Ci(ci))
            .await?;
    }
    Ok(())
}
