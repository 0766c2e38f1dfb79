//! Broken catalogs, recipes and campaign files: what is reported, and where.

use crate::util::{CAMPAIGN, Sandbox, campaign_yaml, go, line_col, python};

fn three_repos() -> Sandbox {
    Sandbox::new(
        vec![
            python("billing-api", "team-a", "production"),
            go("ledger-go", "team-b", "production"),
            python("notify-worker", "team-b", "production"),
        ],
        "[rest]",
    )
}

/// Every `(line, column)` that `text` gives after `file:` (e.g. `team-a.yaml:12:3`).
fn places(text: &str, file: &str) -> Vec<(usize, usize)> {
    let needle = format!("{file}:");
    text.match_indices(&needle)
        .filter_map(|(i, _)| {
            let mut numbers = text[i + needle.len()..].splitn(3, ':');
            let line = numbers.next()?.parse().ok()?;
            let column = numbers
                .next()?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()?;
            Some((line, column))
        })
        .collect()
}

/// Append `text` to a catalog file; the 1-based line it starts at.
fn append(sb: &Sandbox, rel: &str, text: &str) -> usize {
    let before = sb.read(rel);
    sb.write(rel, &format!("{before}{text}"));
    before.lines().count() + 1
}

/// Assert that the plan has a row for each of `repos`.
fn assert_planned(stdout: &str, repos: &[&str]) {
    for repo in repos {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(*repo)),
            "{repo} not planned in:\n{stdout}"
        );
    }
}

#[test]
fn a_broken_catalog_document_is_reported_and_the_rest_still_runs() {
    let sb = three_repos();
    let broken = "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: half-written\n  tags: [python\nspec:\n  type: service\n";
    let start = append(&sb, "catalog/team-a.yaml", broken);
    let end = start + broken.lines().count() - 1;

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    assert_planned(&plan.stdout, &["billing-api", "ledger-go", "notify-worker"]);
    let at = places(&plan.stderr, "catalog/team-a.yaml");
    assert!(
        at.iter().any(|(line, _)| (start..=end).contains(line)),
        "no warning inside lines {start}..={end} of team-a.yaml: {plan:?}"
    );

    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    assert_eq!(status.targets.len(), 3);
    assert!(
        status.targets.iter().all(|t| t.state == "pr_open"),
        "{status:#?}"
    );
}

#[test]
fn an_unknown_owner_is_a_warning_at_its_place_and_the_target_stays() {
    let sb = three_repos();
    // notify-worker's component now names an owner the catalog does not hold.
    let rel = "catalog/team-b.yaml";
    let text = sb.read(rel);
    let doc = text.find("name: notify-worker").unwrap();
    let owner_line = doc + text[doc..].find("  owner: ").unwrap();
    let line_end = owner_line + text[owner_line..].find('\n').unwrap();
    let text = format!(
        "{}  owner: team-ghost{}",
        &text[..owner_line],
        &text[line_end..]
    );
    sb.write(rel, &text);
    let (line, column) = line_col(&text, "team-ghost");

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    assert!(
        places(&plan.stderr, "catalog/team-b.yaml").contains(&(line, column)),
        "no warning at team-b.yaml:{line}:{column}: {plan:?}"
    );
    assert!(plan.stderr.contains("team-ghost"), "{plan:?}");
    let row = plan
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("notify-worker"))
        .unwrap_or_else(|| panic!("notify-worker not planned: {plan:?}"));
    assert!(row.contains("group:default/team-ghost"), "{row}");

    sb.run(&["launch", "campaign.yaml"]).code(0);
    let status = sb.status();
    let t = crate::util::target(&status, "notify-worker");
    assert_eq!(t.owner, "group:default/team-ghost");
    assert_eq!(t.state, "pr_open");
}

#[test]
fn a_location_cycle_is_a_warning_that_names_it() {
    let sb = three_repos();
    let location = "---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: back-to-the-top\nspec:\n  target: ./all.yaml\n";
    append(&sb, "catalog/team-a.yaml", location);
    let (line, column) = line_col(&sb.read("catalog/team-a.yaml"), "./all.yaml");

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    let warning = plan
        .stderr
        .lines()
        .find(|l| l.contains("cycle"))
        .unwrap_or_else(|| panic!("no cycle warning: {plan:?}"));
    assert!(
        warning.contains("all.yaml") && warning.contains("team-a.yaml"),
        "{warning}"
    );
    assert!(
        places(warning, "catalog/team-a.yaml").contains(&(line, column)),
        "not at team-a.yaml:{line}:{column}: {warning}"
    );
    assert_planned(&plan.stdout, &["billing-api", "ledger-go", "notify-worker"]);
}

#[test]
fn an_invalid_rule_stops_plan_with_its_place_in_the_recipe() {
    let sb = three_repos();
    let recipe =
        crate::util::RECIPE_YAML.replace("pattern: logging.warn($$$ARGS)", "pattern: \"$A $B\"");
    sb.write("recipe.yaml", &recipe);
    let (line, column) = line_col(&recipe, "\"$A $B\"");

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(3);
    assert!(
        places(&plan.stderr, "recipe.yaml").contains(&(line, column)),
        "no error at recipe.yaml:{line}:{column}: {plan:?}"
    );
    assert!(plan.stderr.contains("python-logging-warn"), "{plan:?}");
    sb.run(&["launch", "campaign.yaml"]).code(3);
    assert!(
        !sb.file("state").exists(),
        "a refused launch created the state"
    );
}

#[test]
fn a_misspelt_campaign_key_is_an_error_at_its_place() {
    let sb = three_repos();
    let text =
        campaign_yaml("[rest]").replace("forge: local\n", "forge: local\ndescripton: oops\n");
    sb.write("campaign.yaml", &text);
    let (line, column) = line_col(&text, "descripton");

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(3);
    assert!(
        places(&plan.stderr, "campaign.yaml").contains(&(line, column)),
        "no error at campaign.yaml:{line}:{column}: {plan:?}"
    );
    assert!(plan.stderr.contains("descripton"), "{plan:?}");
}

#[test]
fn a_tranche_over_100_percent_is_an_error_at_its_place() {
    let sb = three_repos();
    let text = campaign_yaml(r#"[1, "150%", rest]"#);
    sb.write("campaign.yaml", &text);
    let (line, column) = line_col(&text, "\"150%\"");

    for args in [["plan", "campaign.yaml"], ["launch", "campaign.yaml"]] {
        let run = sb.run(&args);
        run.code(3);
        assert!(
            places(&run.stderr, "campaign.yaml").contains(&(line, column)),
            "no error at campaign.yaml:{line}:{column}: {run:?}"
        );
        assert!(run.stderr.contains("150%"), "{run:?}");
    }
    assert!(
        !sb.file("state").exists(),
        "a refused launch created the state"
    );
}

#[test]
fn an_unknown_campaign_is_not_found_with_a_hint() {
    let sb = three_repos();
    for args in [
        ["status", "no-such-campaign"],
        ["advance", "no-such-campaign"],
    ] {
        let run = sb.run(&args);
        run.code(5);
        assert!(run.stderr.contains("no-such-campaign"), "{run:?}");
        assert!(run.stderr.contains("hint:"), "{run:?}");
    }

    // Once a campaign is recorded, the hint names it.
    sb.run(&["launch", "campaign.yaml"]).code(0);
    let run = sb.run(&["status", "modernize-logs"]);
    run.code(5);
    let hint = run
        .stderr
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint: {run:?}"));
    assert!(hint.contains(CAMPAIGN), "{hint}");
    sb.run(&["local", "merge", "modernize-logs", "billing-api"])
        .code(5);
    sb.run(&["local", "merge", CAMPAIGN, "no-such-repo"])
        .code(5);
}

#[test]
fn asking_a_state_that_does_not_exist_creates_nothing() {
    let sb = three_repos();
    let typo = sb.file("sate/fleetwright.db");
    for args in [
        &["status", CAMPAIGN][..],
        &["advance", CAMPAIGN],
        &["local", "merge", CAMPAIGN, "billing-api"],
    ] {
        let run = crate::util::run_in(sb.path(), &typo, args);
        run.code(5);
        assert!(run.stderr.contains("sate/fleetwright.db"), "{run:?}");
        assert!(
            !sb.file("sate").exists(),
            "`{}` created the state it was asked about",
            args.join(" ")
        );
    }
}
