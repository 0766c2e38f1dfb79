//! Pull request, branch and commit text, rendered from the campaign's
//! templates with minijinja (strict: an unknown variable is an error, never
//! an empty string in a PR someone reads).

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// What a template can use. Documented in `docs/campaigns.md`.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateContext {
    /// The campaign name.
    pub campaign: String,
    /// The rendered pull request title (empty while rendering the title).
    pub title: String,
    pub recipe: RecipeInfo,
    /// Repository display name.
    pub repo: String,
    /// Component entity ref.
    pub component: String,
    /// Owner entity ref.
    pub owner: String,
    /// 1-based tranche number.
    pub tranche: i64,
    /// The files the change touches.
    pub files: Vec<FileSummary>,
    /// Total number of rewritten places.
    pub matches: usize,
    /// The campaign's `verify` command, when it ran and passed.
    pub verified: Option<String>,
    /// Where the campaign's report is published (`report_url`; empty when
    /// none).
    pub report_url: String,
    /// The campaign's `verify` failed on this change (`on_failure: draft`):
    /// the command, its status and the end of its output.
    pub verify_failure: Option<String>,
}

/// The recipe, as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeInfo {
    pub id: String,
    pub title: String,
    /// What the change is (may be empty).
    pub description: String,
    /// Why it matters (may be empty).
    pub why: String,
    /// A link with the rationale (empty when none).
    pub link: String,
    /// The parameter values the recipe ran with.
    pub parameters: std::collections::BTreeMap<String, String>,
}

/// One changed file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub path: String,
    /// `rule-id ×N` pairs, as text.
    pub rules: Vec<String>,
    pub matches: usize,
}

impl TemplateContext {
    /// A context with placeholder values, to check templates at load time.
    pub fn sample(campaign: &str) -> Self {
        TemplateContext {
            campaign: campaign.to_string(),
            title: "Title".into(),
            recipe: RecipeInfo {
                id: "recipe".into(),
                title: "Recipe".into(),
                description: "Description.".into(),
                why: "Why.".into(),
                link: "https://example.com/why".into(),
                parameters: [("version".to_string(), "2".to_string())].into(),
            },
            repo: "org/repo".into(),
            component: "component:default/repo".into(),
            owner: "group:default/team".into(),
            tranche: 1,
            files: vec![FileSummary {
                path: "src/app.py".into(),
                rules: vec!["rule ×1".into()],
                matches: 1,
            }],
            matches: 1,
            verified: Some("make test".into()),
            report_url: "https://example.com/report.html".into(),
            verify_failure: None,
        }
    }
}

/// What to write in a template, for error hints.
pub const HELP: &str = "templates use {{ name }} with: campaign, title (body and commit message only), repo, component, owner, tranche, matches, recipe.id, recipe.title, recipe.description, recipe.why, recipe.link, recipe.parameters, verified, verify_failure, report_url, files (each with path, rules, matches)";

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

/// Render `template` with `ctx`.
pub fn render(template: &str, ctx: &TemplateContext) -> Result<String, String> {
    environment().render_str(template, ctx).map_err(describe)
}

/// Check that `template` parses and renders with sample values.
pub fn check(template: &str) -> Result<(), String> {
    render(template, &TemplateContext::sample("campaign")).map(|_| ())
}

fn describe(e: minijinja::Error) -> String {
    let mut msg = e.to_string();
    if let Some(detail) = e.detail()
        && !msg.contains(detail)
    {
        msg = format!("{msg}: {detail}");
    }
    msg
}

/// The built-in pull request body: why, what changed, how to review, how to
/// opt out.
pub const DEFAULT_BODY: &str = r#"## Why

{{ (recipe.why or recipe.description) | trim }}
{%- if recipe.link %}

More: {{ recipe.link }}
{%- endif %}
{%- if recipe.why and recipe.description %}

{{ recipe.description | trim }}
{%- endif %}

## What changed

This pull request was prepared by **fleetwright** for the campaign `{{ campaign }}`, with the recipe `{{ recipe.id }}` ({{ matches }} place{{ "s" if matches != 1 }} in {{ files | length }} file{{ "s" if files | length != 1 }}):

{% for f in files -%}
- `{{ f.path }}`{% if f.rules %}: {{ f.rules | join(", ") }}{% endif %}
{% endfor %}
{% if verify_failure -%}
## Verify failed: this is a draft

The campaign's check failed after the change, so this pull request is a draft for the platform team to look at, not for review yet:

```
{{ verify_failure }}
```

{% endif -%}
{% if verified -%}
## Verified

`{{ verified }}` ran in the repository after the change, and passed.

{% endif -%}
## How to review

Every edit is mechanical and comes from a rule of the recipe; nothing else in the repository was touched. Read the diff, let your CI run, and merge when it is green. The branch is yours too: commits you push to it are never overwritten.

This repository is in tranche {{ tranche }} of the campaign. Owner in the service catalog: `{{ owner }}`.

## Not for this repository?

Close this pull request with a comment saying why. fleetwright records the reason, shows it to the platform team, and does not open it again. To keep this repository out of the campaign before any pull request is opened, commit a `.fleetwright.yaml` at its root:

```yaml
opt_out:
  reason: "why this campaign does not apply here"
  campaigns: [{{ campaign }}]
```
{%- if report_url %}

## The whole campaign

Progress across every repository, team by team: {{ report_url }}
{%- endif %}
"#;

/// The built-in commit message: the PR title, then the recipe's
/// description. Trailers are appended by the engine.
pub const DEFAULT_COMMIT: &str = "{{ title }}\n\n{{ (recipe.why or recipe.description) | trim }}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_body_explains_the_change() {
        let body = render(DEFAULT_BODY, &TemplateContext::sample("modernize")).unwrap();
        assert!(
            body.contains(
                "## Why\n\nWhy.\n\nMore: https://example.com/why\n\nDescription.\n\n## What"
            ),
            "{body}"
        );
        let mut plain = TemplateContext::sample("modernize");
        plain.recipe.why.clear();
        plain.recipe.link.clear();
        let body = render(DEFAULT_BODY, &plain).unwrap();
        assert!(body.contains("## Why\n\nDescription.\n\n## What"), "{body}");
        assert!(body.contains("- `src/app.py`: rule ×1"), "{body}");
        assert!(body.contains("(1 place in 1 file)"), "{body}");
        assert!(body.contains("tranche 1"), "{body}");
    }

    #[test]
    fn unknown_variables_are_errors_not_blanks() {
        let err = check("Bump {{ repository }}").unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        assert!(check("{% if %}").is_err());
        assert_eq!(
            render(
                "{{ repo }} for {{ campaign }}",
                &TemplateContext::sample("c")
            )
            .unwrap(),
            "org/repo for c"
        );
    }
}
