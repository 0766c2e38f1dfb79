//! A pull request body a reviewer can act on (issue 12, item 6): whom to
//! ask, why each rule that changed this repository matters, the rules in
//! plain words, assignees on GitHub, and the text brought up to date when
//! the recipe changes.

use crate::github::{github_sandbox, run, runtime};
use crate::util::{CAMPAIGN, Sandbox, python, target};

/// A recipe with a Python and a Go rule, each with its `message` and
/// `note`; its description speaks of both.
const TWO_LANGUAGES: &str = r#"id: modernize-deprecated-apis
title: Replace deprecated APIs
description: Moves Python off logging.warn and Go off interface{}.
rules:
  - id: python-logging-warn
    language: python
    message: Call logging.warning, not logging.warn
    note: logging.warn is an undocumented alias, removed in Python 3.13.
    rule:
      pattern: logging.warn($$$ARGS)
    fix: logging.warning($$$ARGS)
  - id: go-empty-interface-to-any
    language: go
    message: Spell the empty interface any
    note: Go 1.18 made any the name of interface{}.
    rule:
      kind: interface_type
      regex: '^interface\s*\{\s*\}$'
    fix: any
"#;

/// The same recipe with one more Python rule, with a message and a note.
fn with_a_port_rule() -> String {
    format!(
        "{TWO_LANGUAGES}  - id: default-port\n    language: python\n    message: Listen on port 80 by default\n    note: The platform's load balancer sends traffic to port 80.\n    rule:\n      pattern: port = 8080\n    fix: port = 80\n"
    )
}

/// The title and body of `repo`'s first pull request on the local forge.
fn local_pr(sb: &Sandbox, repo: &str) -> (String, String) {
    let pr = sb.local_pr(repo);
    (pr.title, pr.body)
}

#[test]
fn a_python_pull_request_explains_the_python_rule_names_the_contact_and_follows_the_recipe() {
    let sb = Sandbox::new(vec![python("svc-a", "team-a", "production")], "[rest]");
    sb.write("recipe.yaml", TWO_LANGUAGES);
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!("{campaign}contact: \"#platform-migrations\"\n"),
    );
    sb.run(&["launch", "campaign.yaml"]).code(0);
    assert_eq!(target(&sb.status(), "svc-a").state, "pr_open");

    let (_, body) = local_pr(&sb, "svc-a");
    // Why: the Python rule's note, under its message; nothing of Go.
    assert!(
        body.contains(
            "## Why\n\n- Call logging.warning, not logging.warn: logging.warn is an undocumented alias, removed in Python 3.13.\n\n## What changed"
        ),
        "{body}"
    );
    // What changed: the rule in words, with its file.
    assert!(
        body.contains("- Call logging.warning, not logging.warn: `app.py` (1 place)\n"),
        "{body}"
    );
    for go in ["Go ", "interface{}", "empty interface", "off Go"] {
        assert!(!body.contains(go), "{go} in a Python pull request:\n{body}");
    }
    // Whom to ask; the owner is named as the reason it came, not as a contact.
    assert!(
        body.contains("Questions: ask \\#platform-migrations."),
        "{body}"
    );
    assert!(
        body.contains("names `group:default/team-a` as its owner"),
        "{body}"
    );

    // The recipe gains a rule (with a message) and the title template
    // changes: the branch is replaced, and the pull request says so.
    sb.write("recipe.yaml", &with_a_port_rule());
    sb.write(
        "campaign.yaml",
        &sb.read("campaign.yaml")
            .replace("Replace deprecated APIs in", "Modernize"),
    );
    let out = sb.run(&["advance", CAMPAIGN]);
    assert!(matches!(out.status, Some(0) | Some(4)), "{out:?}");
    assert_eq!(target(&sb.status(), "svc-a").state, "pr_open");
    let (title, body) = local_pr(&sb, "svc-a");
    assert_eq!(title, "Modernize svc-a");
    assert!(
        body.contains(
            "- Listen on port 80 by default: The platform's load balancer sends traffic to port 80.\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("- Listen on port 80 by default: `app.py` (1 place)\n"),
        "{body}"
    );
    assert!(body.contains("(2 places in 1 file)"), "{body}");
    assert!(!body.contains("Go 1.18"), "{body}");
    assert_eq!(
        sb.local_pr_counts()["svc-a"],
        1,
        "one pull request, updated"
    );
}

#[test]
fn on_github_the_owners_people_are_assigned_and_the_text_follows_the_recipe() {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    // team-a without a team slug: its members are asked to review, and
    // assigned.
    let catalog = sb.read("catalog/team-a.yaml");
    let without_slug = catalog.replace("    github.com/team-slug: acme/team-a\n", "");
    assert_ne!(catalog, without_slug, "the fixture changed: {catalog}");
    sb.write("catalog/team-a.yaml", &without_slug);
    sb.write("recipe.yaml", TWO_LANGUAGES);
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!("{campaign}contact: https://chat.example.com/platform-migrations\n"),
    );
    run(&sb, &["launch", "campaign.yaml"]).code(0);
    let pulls = sim.pulls("remotes", "svc-a");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].requested_reviewers, ["team-a-lead"]);
    assert_eq!(pulls[0].assignees, ["team-a-lead"]);
    let body = pulls[0].body.clone().unwrap_or_default();
    assert!(
        body.contains("Questions: ask [")
            && body.contains("](https://chat.example.com/platform-migrations)."),
        "{body}"
    );

    sb.write("recipe.yaml", &with_a_port_rule());
    let out = run(&sb, &["advance", CAMPAIGN]);
    assert!(matches!(out.status, Some(0) | Some(4)), "{out:?}");
    let pulls = sim.pulls("remotes", "svc-a");
    assert_eq!(pulls.len(), 1, "updated, not opened again");
    let body = pulls[0].body.clone().unwrap_or_default();
    assert!(
        body.contains("- Listen on port 80 by default: `app.py` (1 place)\n"),
        "{body}"
    );
    assert!(pulls[0].title.starts_with("Replace deprecated APIs in"));
    let stats = sim.stats();
    assert_eq!(stats.violations, 0, "{stats:?}");
    rt.block_on(async {
        sim.stop().await;
        git.stop().await;
    });
}
