use std::path::Path;

use super::plan::cut;
use super::*;

/// A campaign directory with a recipe and a catalog folder, so that paths
/// in campaign files resolve.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("recipe.yaml"),
        "id: r\ntitle: R\nrules:\n  - id: a\n    language: python\n    rule: {pattern: a()}\n    fix: b()\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("catalog")).unwrap();
    dir
}

fn load(dir: &Path, text: &str) -> Result<Campaign, CampaignError> {
    let path = dir.join("campaign.yaml");
    std::fs::write(&path, text).unwrap();
    Campaign::load(&path)
}

fn problems(err: CampaignError) -> Vec<(usize, usize, String)> {
    match err {
        CampaignError::Invalid(_, d) => d
            .into_iter()
            .map(|d| (d.line, d.column, d.message))
            .collect(),
        other => panic!("expected problems, got {other}"),
    }
}

const MINIMAL: &str =
    "name: c\nrecipe: recipe.yaml\ncatalog: catalog\ntranches: [1, \"25%\", rest]\n";

#[test]
fn a_minimal_campaign_gets_the_documented_defaults() {
    let dir = workspace();
    let c = load(dir.path(), MINIMAL).unwrap();
    assert_eq!(c.forge, crate::forge::ForgeKind::Local);
    assert_eq!(
        c.tranches.iter().map(|t| t.size).collect::<Vec<_>>(),
        [
            TrancheSize::Count(1),
            TrancheSize::Percent(25),
            TrancheSize::Rest
        ]
    );
    assert_eq!(c.rollout.gate, Gate::default());
    assert_eq!(c.rollout.order, rollout::DEFAULT_ORDER);
    assert_eq!(c.pull_request.branch, "fleetwright/{{ campaign }}");
    assert!(c.pull_request.body.is_none());
    assert!(c.recipe.is_absolute() && c.recipe.ends_with("recipe.yaml"));
}

#[test]
fn every_problem_is_reported_at_its_place() {
    let dir = workspace();
    let text = "name: Bad Name\nrecipe: missing.yaml\ncatalog: catalog\nforge: bitbucket\ntranches: [0, \"150%\", rest, 2]\npull_request:\n  title: \"{{ repository }}\"\n";
    let found = problems(load(dir.path(), text).unwrap_err());
    let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(
        at,
        [(1, 7), (2, 9), (4, 8), (5, 12), (5, 15), (5, 23), (7, 10)],
        "{found:#?}"
    );
    assert!(found[0].2.contains("Bad Name"));
    assert!(found[6].2.contains("pull_request.title"), "{}", found[6].2);
}

#[test]
fn unknown_keys_are_refused_with_the_list_of_known_ones() {
    let dir = workspace();
    let found = problems(load(dir.path(), &format!("{MINIMAL}tranche: [1]\n")).unwrap_err());
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0, found[0].1), (5, 1));
    assert!(found[0].2.contains("tranche"), "{}", found[0].2);
}

#[test]
fn an_invalid_branch_name_is_caught_before_any_repository_is_touched() {
    let dir = workspace();
    let text = format!("{MINIMAL}pull_request:\n  branch: \"fleet wright..{{{{ campaign }}}}\"\n");
    let found = problems(load(dir.path(), &text).unwrap_err());
    assert_eq!(
        (found[0].0, found[0].2.contains("not a valid branch name")),
        (6, true),
        "{found:?}"
    );
}

#[test]
fn a_contact_is_one_line_and_a_bad_one_is_an_error_at_its_place() {
    let dir = workspace();
    for (written, read) in [
        ("\"#platform-migrations\"", "#platform-migrations"),
        ("team-platform", "team-platform"),
        (
            "https://chat.example.com/platform ",
            "https://chat.example.com/platform",
        ),
    ] {
        let c = load(dir.path(), &format!("{MINIMAL}contact: {written}\n")).unwrap();
        assert_eq!(c.contact.as_deref(), Some(read), "{written}");
    }
    assert_eq!(load(dir.path(), MINIMAL).unwrap().contact, None);
    // Unquoted, `#platform` is a YAML comment: an empty contact.
    for (written, column, says) in [
        ("\"  \"", 10, "`contact` is empty"),
        ("#platform-migrations", 8, "`contact` is empty"),
        (
            "\"team\\nplatform\"",
            10,
            "`contact` holds a control character (U+000A)",
        ),
        (
            "\"team\\tplatform\"",
            10,
            "`contact` holds a control character (U+0009)",
        ),
    ] {
        let found =
            problems(load(dir.path(), &format!("{MINIMAL}contact: {written}\n")).unwrap_err());
        assert_eq!(found.len(), 1, "{written}: {found:?}");
        assert_eq!(found[0].0, 5, "{written}: {found:?}");
        assert_eq!(found[0].1, column, "{written}: {found:?}");
        assert!(found[0].2.contains(says), "{written}: {found:?}");
    }
}

fn target(repo: &str) -> PlannedTarget {
    PlannedTarget {
        repo: repo.into(),
        url: format!("/r/{repo}"),
        component: EntityRef::parse(repo, "component", "default").unwrap(),
        owner: EntityRef::parse("team", "group", "default").unwrap(),
        owner_known: true,
        lifecycle: "production".into(),
        spec_type: "service".into(),
        tags: Vec::new(),
        system: None,
        refusal: None,
    }
}

fn sized(sizes: &[TrancheSize]) -> Vec<Tranche> {
    sizes.iter().map(|s| Tranche::from(*s)).collect()
}

#[test]
fn tranches_cut_counts_shares_of_all_and_the_rest() {
    let targets: Vec<_> = (0..10).map(|i| target(&format!("r{i}"))).collect();
    let sizes = [
        TrancheSize::Count(1),
        TrancheSize::Percent(25),
        TrancheSize::Rest,
    ];
    let (tranches, unscheduled) = cut(targets.clone(), &sized(&sizes));
    let lens: Vec<usize> = tranches.iter().map(|t| t.targets.len()).collect();
    // 25% of 10 rounds up to 3; the rest takes the remaining 6.
    assert_eq!(lens, [1, 3, 6]);
    assert!(unscheduled.is_empty());
    assert_eq!(tranches[1].targets[0].repo, "r1", "order is kept");

    let (tranches, unscheduled) = cut(
        targets,
        &sized(&[TrancheSize::Count(2), TrancheSize::Count(20)]),
    );
    assert_eq!(
        tranches[1].targets.len(),
        8,
        "a tranche larger than what is left takes what is left"
    );
    assert!(unscheduled.is_empty());
    let (_, unscheduled) = cut(
        (0..4).map(|i| target(&format!("r{i}"))).collect(),
        &sized(&[TrancheSize::Count(1)]),
    );
    assert_eq!(
        unscheduled.len(),
        3,
        "without `rest`, the remainder is not scheduled"
    );
}

#[test]
fn the_plan_selects_by_filter_excludes_and_puts_experimental_first() {
    let dir = workspace();
    let catalog = dir.path().join("catalog/all.yaml");
    let component = |name: &str, lifecycle: &str, owner: &str, tags: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  tags: [{tags}]\n  annotations:\n    github.com/project-slug: acme/{name}\nspec:\n  type: service\n  lifecycle: {lifecycle}\n  owner: {owner}\n"
        )
    };
    let docs = [
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n".to_string(),
        component("zeta", "experimental", "team-a", "python"),
        component("alpha", "production", "group:default/team-a", "python"),
        component("beta", "production", "team-a", "go"),
        component("gamma", "deprecated", "team-a", "python"),
        component("delta", "production", "team-b", "python"),
    ];
    std::fs::write(&catalog, docs.join("---\n")).unwrap();
    let text = "name: c\nrecipe: recipe.yaml\ncatalog: catalog\ntranches: [1, rest]\ntargets:\n  lifecycle: [production, experimental]\n  tags: python\n  exclude: [acme/delta]\n";
    let campaign = load(dir.path(), text).unwrap();
    let catalog = Catalog::load(campaign.catalog.path().unwrap()).unwrap();
    let plan = plan::plan(&campaign, &catalog);
    let repos: Vec<Vec<&str>> = plan
        .tranches
        .iter()
        .map(|t| t.targets.iter().map(|x| x.repo.as_str()).collect())
        .collect();
    assert_eq!(repos, [vec!["acme/zeta"], vec!["acme/alpha"]]);
    assert_eq!(plan.skipped.len(), 1);
    assert!(plan.skipped[0].reason.contains("acme/delta"));
    assert_eq!(plan.not_selected, 2, "beta (go) and gamma (deprecated)");
}

#[test]
fn a_tranche_with_a_selector_takes_only_what_it_selects_in_order() {
    let mut targets: Vec<_> = (0..6).map(|i| target(&format!("r{i}"))).collect();
    for t in &mut targets[3..] {
        t.owner = EntityRef::parse("payments", "group", "default").unwrap();
    }
    targets[4].tags = vec!["canary".into()];
    let payments = TargetFilter {
        owner: vec![EntityRef::parse("payments", "group", "default").unwrap()],
        ..TargetFilter::default()
    };
    let tagged = TargetFilter {
        tags: vec!["canary".into()],
        ..TargetFilter::default()
    };
    let tranches = [
        Tranche {
            name: Some("first".into()),
            size: TrancheSize::Rest,
            select: Some(tagged),
        },
        Tranche {
            name: None,
            size: TrancheSize::Count(1),
            select: Some(payments.clone()),
        },
        Tranche::from(TrancheSize::Rest),
    ];
    let (cut, rest) = cut(targets, &tranches);
    let repos =
        |i: usize| -> Vec<&str> { cut[i].targets.iter().map(|t| t.repo.as_str()).collect() };
    assert_eq!(repos(0), ["r4"], "the tagged one, wherever it is");
    assert_eq!(repos(1), ["r3"], "one of payments, in order");
    assert_eq!(repos(2), ["r0", "r1", "r2", "r5"]);
    assert!(rest.is_empty());
    assert_eq!(cut[0].name, "first");
    assert_eq!(cut[1].name, "wave 1");
    assert_eq!(cut[1].size, "1 of owner payments");
}

#[test]
fn rollout_sections_are_read_and_each_mistake_is_reported_at_its_place() {
    let dir = workspace();
    let text = format!(
        "{MINIMAL}order: [team-size, lifecycle]\ngate:\n  merged: \"80%\"\n  count_declined: false\n  max_ci_failures: 10%\npause_when:\n  ci_failures: 50%\nthrottle:\n  max_open: 20\n  per_hour: 5\n  window: {{days: mon-fri, hours: \"09:00-17:00\", timezone: Europe/Berlin}}\nstale:\n  after_days: 7\nreport_url: https://platform.example.com/r.html\n"
    );
    let c = load(dir.path(), &text).unwrap();
    assert_eq!(
        c.rollout.order,
        [OrderKey::TeamSize, OrderKey::Lifecycle, OrderKey::Repo]
    );
    assert_eq!(
        c.rollout.gate,
        Gate {
            merged: 80,
            count_declined: false,
            max_ci_failures: Some(10)
        }
    );
    assert_eq!(c.rollout.pause_on_ci_failures, Some(50));
    assert_eq!(c.rollout.throttle.max_open, Some(20));
    assert_eq!(c.rollout.throttle.per_hour, Some(5));
    let w = c.rollout.throttle.window.as_ref().unwrap();
    assert_eq!(w.describe(), "mon-fri 09:00-17:00 Europe/Berlin");
    assert_eq!(c.rollout.stale.as_ref().unwrap().after_days, 7);
    assert_eq!(
        c.report_url.as_deref(),
        Some("https://platform.example.com/r.html")
    );

    let bad = format!(
        "{MINIMAL}order: [size]\ngate:\n  merged: 180%\nthrottle:\n  max_open: 0\n  window:\n    days: [mon, funday]\n    hours: 9-17\n    timezone: Mars/Olympus\nstale:\n  after_days: 0\n"
    );
    let found = problems(load(dir.path(), &bad).unwrap_err());
    let at = |line: usize| {
        found
            .iter()
            .find(|(l, _, _)| *l == line)
            .unwrap_or_else(|| panic!("no problem on line {line}: {found:?}"))
            .2
            .clone()
    };
    assert!(at(5).contains("`size` is not an ordering key"), "{found:?}");
    assert!(at(7).contains("not a share"), "{found:?}");
    assert!(at(9).contains("max_open` of 0"), "{found:?}");
    assert!(at(11).contains("`funday` is not a day"), "{found:?}");
    assert!(
        at(12).contains("`9-17` is not a span of hours"),
        "{found:?}"
    );
    assert!(
        at(13).contains("`Mars/Olympus` is not a time zone"),
        "{found:?}"
    );
    assert!(at(15).contains("after_days"), "{found:?}");

    for (days, hours, wrong) in [
        ("[]", "09:00-17:00", "the window has no day"),
        ("monkey", "09:00-17:00", "`monkey` is not a day"),
        ("mon", "24:00-08:00", "is not a span of hours"),
    ] {
        let text = format!("{MINIMAL}throttle:\n  window: {{days: {days}, hours: \"{hours}\"}}\n");
        let found = problems(load(dir.path(), &text).unwrap_err());
        assert!(
            found
                .iter()
                .any(|(line, _, m)| *line == 6 && m.contains(wrong)),
            "{days} {hours}: {found:?}"
        );
    }
}

#[test]
fn exclusions_by_tag_and_annotation_say_which_and_team_size_orders_small_teams_first() {
    let dir = workspace();
    let catalog = dir.path().join("catalog/all.yaml");
    let component = |name: &str, owner: &str, tags: &str, extra: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  tags: [{tags}]\n  annotations:\n    github.com/project-slug: acme/{name}\n{extra}spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
        )
    };
    let docs = [
        component("a1", "team-a", "python", ""),
        component("a2", "team-a", "python", ""),
        component("a3", "team-a", "python, legacy", ""),
        component("b1", "team-b", "python", ""),
        component(
            "b2",
            "team-b",
            "python",
            "    fleetwright.io/skip: \"yes\"\n",
        ),
        component("b3", "team-b", "python", "    fleetwright.io/tier: \"1\"\n"),
        component("c1", "team-c", "python", ""),
    ];
    std::fs::write(&catalog, docs.join("---\n")).unwrap();
    let text = "name: c\nrecipe: recipe.yaml\ncatalog: catalog\ntranches: [rest]\norder: team-size\ntargets:\n  exclude_tags: [LEGACY]\n  exclude_annotations: [fleetwright.io/skip, \"fleetwright.io/tier=2\"]\n";
    let campaign = load(dir.path(), text).unwrap();
    let catalog = Catalog::load(campaign.catalog.path().unwrap()).unwrap();
    let plan = plan::plan(&campaign, &catalog);
    let repos: Vec<&str> = plan.tranches[0]
        .targets
        .iter()
        .map(|t| t.repo.as_str())
        .collect();
    // team-c has one target, team-a two (a3 excluded), team-b two (b2 excluded);
    // ties by name.
    assert_eq!(
        repos,
        ["acme/c1", "acme/a1", "acme/a2", "acme/b1", "acme/b3"]
    );
    let reasons: Vec<(String, String)> = plan
        .skipped
        .iter()
        .map(|s| (s.component.name.clone(), s.reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("a3".to_string(), "excluded by its tag `legacy`".to_string()),
            (
                "b2".to_string(),
                "excluded by its annotation `fleetwright.io/skip: yes`".to_string()
            ),
        ]
    );
}

/// The problems of a campaign file, with their hints.
fn problems_with_help(err: CampaignError) -> Vec<(usize, usize, String, String)> {
    match err {
        CampaignError::Invalid(_, d) => d
            .into_iter()
            .map(|d| (d.line, d.column, d.message, d.help.unwrap_or_default()))
            .collect(),
        other => panic!("expected problems, got {other}"),
    }
}

#[test]
fn a_tracking_issue_on_github_gets_its_title_and_labels() {
    let dir = workspace();
    let text = format!(
        "{MINIMAL}forge: github\nreport:\n  issue:\n    repository: acme/platform-migrations\n    title: \"Migration: {{{{ campaign }}}}\"\n    labels: [migration, fleetwright/tracking, migration]\n"
    );
    let c = load(dir.path(), &text).unwrap();
    let issue = c.tracking_issue.expect("report.issue");
    assert_eq!(issue.repository, "acme/platform-migrations");
    assert_eq!(issue.title, "Migration: c");
    // The tracking label is always there; it is not repeated, nor is any.
    assert_eq!(issue.labels, ["migration"]);

    // The defaults: the title names the campaign; no extra label.
    let text = format!("{MINIMAL}forge: github\nreport:\n  issue: {{repository: acme/x}}\n");
    let issue = load(dir.path(), &text).unwrap().tracking_issue.unwrap();
    assert_eq!(issue.title, "fleetwright: c");
    assert!(issue.labels.is_empty());

    // Without `report`, no tracking issue.
    assert!(load(dir.path(), MINIMAL).unwrap().tracking_issue.is_none());
}

#[test]
fn a_tracking_issue_on_the_local_forge_lives_in_a_repository_on_this_machine() {
    let dir = workspace();
    std::fs::create_dir_all(dir.path().join("remotes/platform.git")).unwrap();
    let text = format!("{MINIMAL}report:\n  issue:\n    repository: remotes/platform.git\n");
    let issue = load(dir.path(), &text).unwrap().tracking_issue.unwrap();
    let want = crate::paths::normalize(&dir.path().join("remotes/platform.git"));
    assert_eq!(issue.repository, want.to_string_lossy());
    // A file:// URL names the same place.
    let text = format!(
        "{MINIMAL}report:\n  issue:\n    repository: file://{}\n",
        want.display()
    );
    let issue = load(dir.path(), &text).unwrap().tracking_issue.unwrap();
    assert_eq!(issue.repository, want.to_string_lossy());
}

#[test]
fn a_bad_tracking_issue_is_reported_at_its_place_with_a_hint() {
    let dir = workspace();
    // GitHub: not owner/name; a broken title; an empty label and a comma.
    let text = format!(
        "{MINIMAL}forge: github\nreport:\n  issue:\n    repository: platform-migrations\n    title: \"{{{{ repo }}}}\"\n    labels: [\"\", \"a,b\"]\n"
    );
    let found = problems_with_help(load(dir.path(), &text).unwrap_err());
    let at: Vec<(usize, usize)> = found.iter().map(|(l, c, _, _)| (*l, *c)).collect();
    assert_eq!(at, [(8, 17), (9, 12), (10, 14), (10, 18)], "{found:#?}");
    assert!(found[0].2.contains("platform-migrations"), "{}", found[0].2);
    assert!(found[0].3.contains("owner/name"), "{}", found[0].3);
    assert!(found[1].2.contains("report.issue.title"), "{}", found[1].2);
    assert!(found[1].3.contains("campaign"), "{}", found[1].3);
    assert!(found[2].2.contains("empty"), "{}", found[2].2);
    assert!(found[3].2.contains("comma"), "{}", found[3].2);

    // The local forge: a network URL, a folder that is not there.
    let text = format!("{MINIMAL}report:\n  issue:\n    repository: https://github.com/acme/x\n");
    let found = problems_with_help(load(dir.path(), &text).unwrap_err());
    assert_eq!((found[0].0, found[0].1), (7, 17), "{found:#?}");
    assert!(found[0].2.contains("network URL"), "{}", found[0].2);
    assert!(found[0].3.contains("forge: local"), "{}", found[0].3);
    let text = format!("{MINIMAL}report:\n  issue:\n    repository: remotes/gone.git\n");
    let found = problems_with_help(load(dir.path(), &text).unwrap_err());
    assert!(found[0].2.contains("does not exist"), "{}", found[0].2);

    // A key the section does not know, or no repository: the known keys.
    let text = format!("{MINIMAL}report:\n  issue:\n    repo: acme/x\n");
    let found = problems_with_help(load(dir.path(), &text).unwrap_err());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].2.contains("repo"), "{}", found[0].2);
    assert!(found[0].3.contains("report"), "{}", found[0].3);
}

#[test]
fn a_live_backstage_catalog_is_read_with_its_filter() {
    let dir = workspace();
    let text = "name: c\nrecipe: recipe.yaml\ncatalog:\n  backstage:\n    url: https://backstage.example.com/\n    token_env: BACKSTAGE_TOKEN\n    filter: {kind: component, spec.lifecycle: production, spec.type: [service, website]}\ntranches: [rest]\n";
    let c = load(dir.path(), text).unwrap();
    let CatalogSource::Backstage(b) = &c.catalog else {
        panic!("a live catalog: {:?}", c.catalog);
    };
    assert_eq!(b.url, "https://backstage.example.com");
    assert_eq!(b.token_env, "BACKSTAGE_TOKEN");
    assert_eq!(
        b.filter_sets()[0],
        "kind=component,spec.lifecycle=production,spec.type=service,spec.type=website"
    );
    // The token variable defaults; loopback may be plain http (tests).
    let text = "name: c\nrecipe: recipe.yaml\ncatalog: {backstage: {url: \"http://127.0.0.1:7007\"}}\ntranches: [rest]\n";
    let c = load(dir.path(), text).unwrap();
    let CatalogSource::Backstage(b) = &c.catalog else {
        panic!("a live catalog");
    };
    assert_eq!(b.token_env, crate::backstage::DEFAULT_TOKEN_ENV);
    assert!(b.filter.is_empty());
    // The file form is as it was.
    let c = load(dir.path(), MINIMAL).unwrap();
    assert!(c.catalog.path().is_some_and(|p| p.ends_with("catalog")));
}

#[test]
fn a_bad_live_catalog_is_reported_at_its_place() {
    let dir = workspace();
    let text = "name: c\nrecipe: recipe.yaml\ncatalog:\n  backstage:\n    url: http://backstage.example.com\n    token_env: \"my token\"\n    filter: {kind: group, spec.owner: \"a,b\"}\ntranches: [rest]\n";
    let found = problems(load(dir.path(), text).unwrap_err());
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (5, 10));
    assert!(
        found[0].2.contains("plain http to another machine"),
        "{found:?}"
    );
    assert_eq!(found[1].0, 6);
    assert!(found[1].2.contains("not an environment variable name"));
    assert!(
        found
            .iter()
            .any(|p| p.2.contains("a campaign targets components"))
    );
    assert!(
        found
            .iter()
            .any(|p| p.2.contains("cannot be a filter value"))
    );
    // Credentials in the URL are refused and not echoed.
    let text = "name: c\nrecipe: recipe.yaml\ncatalog: {backstage: {url: \"https://me:hunter2@backstage.example.com\"}}\ntranches: [rest]\n";
    let found = problems(load(dir.path(), text).unwrap_err());
    assert!(found[0].2.contains("holds credentials") && !found[0].2.contains("hunter2"));
    // An unknown key is named.
    let text = "name: c\nrecipe: recipe.yaml\ncatalog: {backstage: {url: \"https://b.example.com\", tokn_env: X}}\ntranches: [rest]\n";
    let found = problems(load(dir.path(), text).unwrap_err());
    assert!(found[0].2.contains("tokn_env"), "{found:?}");
    // A URL written as a path says how to write a live catalog.
    let text =
        "name: c\nrecipe: recipe.yaml\ncatalog: https://backstage.example.com\ntranches: [rest]\n";
    match load(dir.path(), text).unwrap_err() {
        CampaignError::Invalid(_, d) => {
            assert!(
                d[0].help
                    .as_deref()
                    .unwrap()
                    .contains("{backstage: {url: https://backstage.example.com")
            )
        }
        other => panic!("{other}"),
    }
}

#[test]
fn git_ssh_is_read_with_paths_resolved_and_checked_at_its_place() {
    let dir = workspace();
    std::fs::write(dir.path().join("deploy_key"), "key").unwrap();
    std::fs::write(dir.path().join("known_hosts"), "").unwrap();
    let c = load(
        dir.path(),
        &format!("{MINIMAL}git:\n  ssh:\n    key: deploy_key\n    passphrase_env: KEY_PASS\n    known_hosts: ./known_hosts\n"),
    )
    .unwrap();
    assert_eq!(
        c.ssh.key.as_deref(),
        Some(dir.path().join("deploy_key").as_path())
    );
    assert_eq!(c.ssh.passphrase_env.as_deref(), Some("KEY_PASS"));
    assert_eq!(c.ssh.known_hosts_file(), dir.path().join("known_hosts"));
    // The default: ssh-agent and ~/.ssh/known_hosts.
    let c = load(dir.path(), MINIMAL).unwrap();
    assert_eq!(c.ssh, crate::git::ssh::SshSettings::default());
    assert!(c.ssh.known_hosts_file().ends_with(".ssh/known_hosts"));

    let err = load(
        dir.path(),
        &format!("{MINIMAL}git:\n  ssh:\n    key: deploy_key.pub\n    passphrase_env: KEY_PASS\n    known_hosts: nope\n    agent: yes\n"),
    )
    .unwrap_err();
    let found = problems(err);
    assert!(
        found
            .iter()
            .any(|(l, _, m)| *l == 10 && m.contains("agent")),
        "{found:?}"
    );
    let err = load(
        dir.path(),
        &format!("{MINIMAL}git:\n  ssh:\n    key: deploy_key.pub\n    passphrase_env: 1PASS\n    known_hosts: nope\n"),
    )
    .unwrap_err();
    let found = problems(err);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (7, 10), "{found:?}");
    assert!(found[0].2.contains("is a public key"), "{found:?}");
    assert!(
        found[1].2.contains("not an environment variable name"),
        "{found:?}"
    );
    assert!(
        found[2].2.contains("known_hosts `nope` does not exist"),
        "{found:?}"
    );
    let err = load(
        dir.path(),
        &format!("{MINIMAL}git:\n  ssh:\n    passphrase_env: KEY_PASS\n"),
    )
    .unwrap_err();
    assert!(problems(err)[0].2.contains("without git.ssh.key"));
}

#[test]
fn github_takes_ssh_urls_on_its_own_git_host_only() {
    let dir = workspace();
    let c = load(dir.path(), &format!("{MINIMAL}forge: github\n")).unwrap();
    for url in [
        "ssh://git@github.com/acme/r.git",
        "git@github.com:acme/r.git",
        "ssh://git@github.com:443/acme/r.git",
        "https://github.com/acme/r.git",
    ] {
        assert_eq!(c.repository_refusal(url), None, "{url}");
    }
    for url in [
        "ssh://git@gitlab.com/acme/r.git",
        "git@github.com.evil.example:acme/r.git",
        "ssh://git@evil.example/github.com/r.git",
    ] {
        assert!(c.repository_refusal(url).is_some(), "{url}");
    }
    // The local forge: only this machine, never SSH.
    let local = load(dir.path(), MINIMAL).unwrap();
    assert!(
        local
            .repository_refusal("git@github.com:acme/r.git")
            .is_some()
    );
    assert!(local.repository_refusal("github.com:acme/r.git").is_some());
}

#[test]
fn gitlab_settings_are_read_checked_and_scope_the_repositories() {
    let dir = workspace();
    let c = load(
        dir.path(),
        &format!(
            "{MINIMAL}forge: gitlab\ngitlab:\n  api_url: https://gitlab.example.com/api/v4/\n  token_env: GL_TOKEN\n  token_header: bearer\n  merge_when_pipeline_succeeds: true\n  pacing: {{per_minute: 20}}\nreport:\n  issue:\n    repository: acme/platform/migrations\n"
        ),
    )
    .unwrap();
    assert_eq!(c.forge, crate::forge::ForgeKind::Gitlab);
    assert_eq!(c.gitlab.api_url, "https://gitlab.example.com/api/v4");
    assert_eq!(c.gitlab.token_env, "GL_TOKEN");
    assert_eq!(
        c.gitlab.token_header,
        crate::forge::gitlab::TokenHeader::Bearer
    );
    assert!(c.gitlab.merge_when_pipeline_succeeds);
    assert_eq!((c.gitlab.per_minute, c.gitlab.per_hour), (20, 1000));
    // Nested groups are projects on the GitLab host; another host is not.
    assert_eq!(
        c.repository_refusal("https://gitlab.example.com/acme/platform/billing.git"),
        None
    );
    let refused = c
        .repository_refusal("https://github.com/acme/billing.git")
        .unwrap();
    assert!(refused.contains("GitLab"), "{refused}");
    assert!(refused.contains("gitlab.api_url"), "{refused}");

    // Defaults: GitLab.com and GITLAB_TOKEN.
    let c = load(dir.path(), &format!("{MINIMAL}forge: gitlab\n")).unwrap();
    assert_eq!(c.gitlab.api_url, "https://gitlab.com/api/v4");
    assert_eq!(c.gitlab.token_env, "GITLAB_TOKEN");

    // Plain http to another machine, a token header nobody knows, a
    // token in the file, and a tracking issue that is not a project path.
    let found = problems(
        load(
            dir.path(),
            &format!(
                "{MINIMAL}forge: gitlab\ngitlab:\n  api_url: http://gitlab.example.com/api/v4\n  token_header: basic\n  token_env: glpat-abc\nreport:\n  issue:\n    repository: migrations\n"
            ),
        )
        .unwrap_err(),
    );
    let messages: Vec<&str> = found.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(found.len(), 4, "{messages:#?}");
    assert!(messages[0].contains("plain http"), "{messages:#?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("not a GitLab project path"))
    );
}

#[test]
fn an_in_repositories_catalog_reads_its_list_and_locates_bad_lines() {
    let dir = workspace();
    std::fs::write(
        dir.path().join("repos.txt"),
        "# the fleet\n\nhttps://github.com/acme/billing.git  # payments\nnot a url\n",
    )
    .unwrap();
    let text = "name: c\nrecipe: recipe.yaml\ncatalog:\n  in_repositories:\n    repositories: repos.txt\ntranches: [rest]\n";
    let found = problems_with_help(load(dir.path(), text).unwrap_err());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].0, found[0].1), (4, 1), "{found:#?}");
    assert!(found[0].2.contains("`not a url`"), "{found:#?}");

    let text = "name: c\nrecipe: recipe.yaml\ncatalog:\n  in_repositories:\n    repositories: [https://github.com/acme/billing.git]\n    path: deploy/catalog-info.yaml\ntranches: [rest]\n";
    let c = load(dir.path(), text).unwrap();
    let CatalogSource::Repositories(r) = &c.catalog else {
        panic!("{:?}", c.catalog);
    };
    assert_eq!(r.repositories, ["https://github.com/acme/billing.git"]);
    assert_eq!(r.path, "deploy/catalog-info.yaml");
    assert!(r.groups.is_none() && r.list.is_none());

    // A path out of the repository, and a key it does not know.
    let text = "name: c\nrecipe: recipe.yaml\ncatalog:\n  in_repositories:\n    repositories: []\n    path: ../x.yaml\ntranches: [rest]\n";
    let found = problems_with_help(load(dir.path(), text).unwrap_err());
    assert!(
        found[0].2.contains("not a path inside a repository"),
        "{found:#?}"
    );
    assert_eq!((found[0].0, found[0].1), (6, 11), "{found:#?}");
}
