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

/// The characters in `text` that would steer a terminal or reorder its
/// text: C0 and C1 controls but newline, DEL, bidi controls (written out
/// here rather than taken from `fleetwright::escape`, so the test does not
/// lean on the code it checks).
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            matches!(c,
                '\0'..='\x09' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{200e}' | '\u{200f}' | '\u{61c}')
        })
        .collect()
}

#[test]
fn issue_10_a_control_character_in_a_catalog_name_is_refused_at_its_place() {
    let sb = three_repos();
    let rel = "catalog/team-a.yaml";
    let component = |name: &str, owner: &str, extra: &str| {
        format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{extra}  annotations:\n    github.com/project-slug: acme/refused\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
        )
    };
    // YAML spells ESC `\e`, BEL `\a`; each entity has one bad value.
    append(
        &sb,
        rel,
        &component("\"title\\e]0;pwned\\a\"", "team-a", ""),
    );
    append(&sb, rel, &component("bidi-owner", "\"team-\\u202Ea\"", ""));
    append(
        &sb,
        rel,
        &component("bad-tag", "team-a", "  tags: [\"clear\\e[2J\"]\n"),
    );
    append(
        &sb,
        rel,
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad-slug\n  annotations:\n    github.com/project-slug: \"acme/x\\nrm -rf\"\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    );
    let text = sb.read(rel);
    // A raw ESC byte in the file itself: whatever the YAML reader makes of
    // it, the file's text quoted under the warning must not carry it out.
    append(
        &sb,
        "catalog/team-b.yaml",
        &component("raw\x1b[2Jbyte", "team-b", ""),
    );

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    // The other entities are still planned; the four are left out.
    assert_planned(&plan.stdout, &["billing-api", "ledger-go", "notify-worker"]);
    for left_out in [
        "title",
        "bidi-owner",
        "bad-tag",
        "bad-slug",
        "refused",
        "byte",
    ] {
        assert!(
            !plan.stdout.contains(left_out),
            "{left_out} planned: {plan:?}"
        );
    }
    // Each is a problem at its value's file:line:column, saying what and
    // what to do (`plan` groups them; `catalog check` lists them all), and
    // nothing raw reaches the terminal.
    let check = sb.run(&["catalog", "check", "catalog/all.yaml"]);
    check.code(3);
    let at = places(&check.stdout, rel);
    for (needle, field, shown) in [
        ("\"title", "metadata.name", "`\\x1b` (U+001B)"),
        ("\"team-\\u202E", "spec.owner", "`\\u{202e}` (U+202E)"),
        ("\"clear", "metadata.tags", "`\\x1b` (U+001B)"),
        (
            "\"acme/x",
            "metadata.annotations.github.com/project-slug",
            "`\\n` (U+000A)",
        ),
    ] {
        let (line, column) = line_col(&text, needle);
        assert!(
            at.contains(&(line, column)),
            "no warning at {rel}:{line}:{column} for {field}: {plan:?}"
        );
        let warning = check
            .stdout
            .lines()
            .find(|l| l.contains(&format!("{rel}:{line}:{column}:")))
            .unwrap();
        assert!(
            warning.contains(field)
                && warning.contains("holds a control character")
                && warning.contains(shown),
            "{warning}"
        );
    }
    assert!(check.stdout.contains("remove the character"), "{check:?}");
    assert_eq!(raw_controls(&check.stdout), Vec::<char>::new(), "{check:?}");
    assert_eq!(raw_controls(&plan.stderr), Vec::<char>::new(), "{plan:?}");
    assert_eq!(raw_controls(&plan.stdout), Vec::<char>::new(), "{plan:?}");

    // `plan --json` lists them among the catalog's problems.
    let json = sb.run(&["plan", "campaign.yaml", "--json"]);
    json.code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let problems = v["catalog_problems"].as_array().unwrap();
    assert_eq!(
        problems
            .iter()
            .filter(|p| p.as_str().unwrap().contains("control character"))
            .count(),
        4,
        "{problems:#?}"
    );
}

#[test]
fn issue_10_a_file_path_from_a_repository_cannot_steer_the_terminal() {
    // A file name that sets the window title, clears the screen and turns
    // the text after it around; the recipe's fix breaks the file, so the
    // failure quotes the path (`rule ... would break <path>`).
    let path = "app\x1b]0;pwned\x07\x1b[2J\u{202e}yp.py";
    let sb = Sandbox::new(
        vec![
            crate::util::repo(
                "billing-api",
                "team-a",
                "production",
                (path, crate::util::PY_OLD),
            ),
            python("ledger-py", "team-b", "production"),
        ],
        "[rest]",
    );
    sb.write(
        "recipe.yaml",
        "id: breaks-things\ntitle: Break things\ndescription: A fix that does not parse.\nrules:\n  - id: python-logging-warn\n    language: python\n    rule:\n      pattern: logging.warn($$$ARGS)\n    fix: logging.warning($$$ARGS\n",
    );
    let shown = "app\\x1b]0;pwned\\x07\\x1b[2J\\u{202e}yp.py";

    let launch = sb.run(&["launch", "campaign.yaml"]);
    launch.code(4);
    assert_eq!(
        raw_controls(&launch.stdout),
        Vec::<char>::new(),
        "{launch:?}"
    );
    assert_eq!(
        raw_controls(&launch.stderr),
        Vec::<char>::new(),
        "{launch:?}"
    );
    assert!(launch.stdout.contains(shown), "{launch:?}");

    let status = sb.run(&["status", CAMPAIGN]);
    status.code(0);
    assert_eq!(
        raw_controls(&status.stdout),
        Vec::<char>::new(),
        "{status:?}"
    );
    assert!(status.stdout.contains(shown), "{status:?}");
    // The JSON keeps the value itself (escaped the JSON way).
    let t = sb.status();
    let reason = crate::util::target(&t, "billing-api")
        .reason
        .clone()
        .unwrap();
    assert!(reason.contains(path), "{reason}");

    // The Markdown report shows it, inert.
    let md = sb.run(&["report", CAMPAIGN, "--format", "md"]);
    md.code(0);
    assert_eq!(raw_controls(&md.stdout), Vec::<char>::new(), "{md:?}");
    assert!(md.stdout.contains("\\\\x1b\\]0;pwned"), "{md:?}");
}

/// Components of team-a.yaml's repository style whose owners are not in the
/// catalog: `(name, owner)`.
fn ghosts(owners: &[(&str, &str)]) -> String {
    owners
        .iter()
        .map(|(name, owner)| {
            format!(
                "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  annotations:\n    github.com/project-slug: acme/{name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
            )
        })
        .collect()
}

#[test]
fn many_catalog_problems_are_grouped_by_kind_once_and_quiet_prints_none() {
    let sb = three_repos();
    let owners = [
        ("ghost-a", "team-ghost"),
        ("ghost-b", "team-phantom"),
        ("ghost-c", "team-ghost"),
        ("ghost-d", "team-phantom"),
        ("ghost-e", "team-ghost"),
    ];
    append(&sb, "catalog/team-a.yaml", &ghosts(&owners));
    let (line, column) = line_col(&sb.read("catalog/team-a.yaml"), "team-ghost");

    let plan = sb.run(&["plan", "campaign.yaml"]);
    plan.code(0);
    assert_eq!(
        plan.stderr,
        format!(
            "warning: the catalog has 5 problems; the entities they concern are left out or carry unknown owners:
  5 components name owners that are not in the catalog: group:default/team-ghost (3), group:default/team-phantom (2)
    catalog/team-a.yaml:{line}:{column}: Component `ghost-a`: unknown owner `group:default/team-ghost` (not a Group or User in the catalog)
    … and 4 more
  `fleetwright catalog check catalog/all.yaml` lists them all, each at its place

nothing was touched. `fleetwright run` (or `launch`) opens tranche 1.
"
        ),
        "{plan:?}"
    );
    let quiet = sb.run(&["plan", "-q", "campaign.yaml"]);
    quiet.code(0);
    assert_eq!(quiet.stderr, "", "-q prints errors only");

    // The whole list is a command, with file:line:column for each.
    let check = sb.run(&["catalog", "check", "catalog/all.yaml"]);
    check.code(3);
    let text = sb.read("catalog/team-a.yaml");
    let listed = places(&check.stdout, "catalog/team-a.yaml");
    for (name, _) in owners {
        assert!(
            check
                .stdout
                .contains(&format!("Component `{name}`: unknown owner")),
            "{name} not listed: {check:?}"
        );
        // ... at its owner's value.
        let doc = text.find(&format!("name: {name}\n")).unwrap();
        let at = doc + text[doc..].find("owner: ").unwrap() + "owner: ".len();
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        assert!(
            listed.contains(&(line, column)),
            "{name} not at {line}:{column}: {check:?}"
        );
    }
    assert_eq!(
        places(&check.stdout, "catalog/team-a.yaml").len(),
        5,
        "{check:?}"
    );
    let json = sb.run(&["catalog", "check", "catalog/all.yaml", "--json"]);
    json.code(3);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 5);
    assert_eq!(v["kinds"][0]["kind"], "unknown_owner");
    assert_eq!(
        v["kinds"][0]["subjects"][0]["subject"],
        "group:default/team-ghost"
    );
    assert_eq!(v["kinds"][0]["subjects"][0]["count"], 3);

    // A clean catalog checks clean.
    let clean = three_repos();
    clean.run(&["catalog", "check", "catalog/all.yaml"]).code(0);
}
