//! Pull request, branch and commit text, rendered from the campaign's
//! templates with minijinja (strict: an unknown variable is an error, never
//! an empty string in a PR someone reads).
//!
//! The templates are the platform team's and are printed as written; the
//! values they print are escaped for where the text lands ([`Part`]), unless
//! the platform team wrote them too (campaign name, recipe fields, verify
//! command, report address). In a body or a comment (GitHub Markdown) a
//! value from outside is [`escape::text`], `{{ x | code }}` is
//! [`escape::code`], `{{ x | code_block }}` [`escape::code_block`] and
//! `{{ url | link(label) }}` [`escape::link`]; `` `{{ x }}` ``, written
//! before values were escaped, is read as `{{ x | code }}`. In a title or a
//! commit message a value is [`escape::line`]. `docs/campaigns.md`
//! ("Templates") says the same for the people who write templates.

use std::borrow::Cow;
use std::sync::LazyLock;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use regex::Regex;
use serde::Serialize;

use crate::escape;

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
    /// The recipe's rules and edits that changed this repository, in plain
    /// words, in the order first met.
    pub steps: Vec<StepSummary>,
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
    /// Whom to ask about the campaign (`contact`: a team, a channel, a
    /// link; empty when none). One line of plain text, escaped like a value
    /// from outside (see [`values`]).
    pub contact: String,
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

/// One rule or edit of the recipe that changed this repository.
#[derive(Debug, Clone, Serialize)]
pub struct StepSummary {
    /// What it does, in Markdown: the rule's `message`, else its id in
    /// words, or the edit in words (`Set `jobs.*.steps[*].uses``), the
    /// parts from outside already escaped ([`steps`]).
    pub description: String,
    /// Why, in Markdown: the rule's `note` (empty when none).
    pub why: String,
    /// The rule id or edit label, as in `files[].rules`.
    pub rule: String,
    /// The files it changed.
    pub files: Vec<String>,
    /// How many places it changed, over those files.
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
            steps: vec![StepSummary {
                description: "Use the new call".into(),
                why: "The old one is deprecated.".into(),
                rule: "rule".into(),
                files: vec!["src/app.py".into()],
                matches: 1,
            }],
            matches: 1,
            verified: Some("make test".into()),
            report_url: "https://example.com/report.html".into(),
            verify_failure: None,
            contact: "#platform-migrations".into(),
        }
    }
}

/// What to write in a template, for error hints.
pub const HELP: &str = "templates use {{ name }} with: campaign, title (body and commit message only), repo, component, owner, tranche, matches, recipe.id, recipe.title, recipe.description, recipe.why, recipe.link, recipe.parameters, verified, verify_failure, report_url, contact, files (each with path, rules, matches), steps (each with description, why, rule, files, matches); and the filters code, code_block and link";

/// Where a rendered template lands, which decides how the values from
/// outside are escaped (see `docs/campaigns.md`, "Templates").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// `pull_request.branch`: values as they are (git checks the name).
    Branch,
    /// `pull_request.title`: one plain line.
    Title,
    /// `pull_request.body`: GitHub Markdown; `title` is the title template,
    /// rendered again as Markdown for `{{ title }}` in the body.
    Body { title: &'a str },
    /// `commit.message`: plain text, each value on one line.
    CommitMessage,
}

impl Part<'_> {
    /// The campaign file's field, for error messages.
    pub fn field(&self) -> &'static str {
        match self {
            Part::Branch => "pull_request.branch",
            Part::Title => "pull_request.title",
            Part::Body { .. } => "pull_request.body",
            Part::CommitMessage => "commit.message",
        }
    }
}

/// How the values a template prints are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escaping {
    /// As they are.
    None,
    /// [`escape::line`]: one plain line.
    Line,
    /// [`escape::text`]: Markdown text that renders as itself.
    Markdown,
}

/// The environment for `escaping`, made once per process (a launch renders
/// five templates per repository).
fn environment(escaping: Escaping) -> &'static Environment<'static> {
    static NONE: LazyLock<Environment<'static>> = LazyLock::new(|| new_environment(Escaping::None));
    static LINE: LazyLock<Environment<'static>> = LazyLock::new(|| new_environment(Escaping::Line));
    static MARKDOWN: LazyLock<Environment<'static>> =
        LazyLock::new(|| new_environment(Escaping::Markdown));
    match escaping {
        Escaping::None => &NONE,
        Escaping::Line => &LINE,
        Escaping::Markdown => &MARKDOWN,
    }
}

fn new_environment(escaping: Escaping) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    if escaping != Escaping::None {
        // Auto-escaping on, so minijinja's filters (`trim`, `join`, `upper`...)
        // keep a trusted value trusted; the formatter below does the escaping.
        env.set_auto_escape_callback(|_| AutoEscape::Custom("fleetwright"));
    }
    env.set_formatter(move |out, _state, value| {
        if value.is_safe() || value.is_undefined() || escaping == Escaping::None {
            return write!(out, "{value}").map_err(minijinja::Error::from);
        }
        let text = value.to_string();
        let escaped = match escaping {
            Escaping::Markdown => escape::text(&text),
            _ => escape::line(&text).into_owned(),
        };
        out.write_str(&escaped).map_err(minijinja::Error::from)
    });
    env.add_filter("code", |v: Value| {
        Value::from_safe_string(escape::code(&v.to_string()))
    });
    env.add_filter("code_block", |v: Value| {
        Value::from_safe_string(escape::code_block(&v.to_string()))
    });
    env.add_filter("link", |url: Value, label: Option<Value>| {
        let label = label.map_or_else(|| url.to_string(), |l| l.to_string());
        Value::from_safe_string(escape::link(&label, &url.to_string()))
    });
    env
}

/// `` `{{ expr }}` `` in a template written before values were escaped
/// becomes `{{ (expr) | code }}`: the same code span for ordinary values,
/// and one that holds any value (backticks included) for the others.
fn code_spans(template: &str) -> Cow<'_, str> {
    static SPAN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(^|[^`])`\{\{(-?)([^`{}]*?)(-?)\}\}`").expect("a valid regex")
    });
    SPAN.replace_all(template, "${1}{{${2} (${3}) | code ${4}}}")
}

/// A trusted value: the platform team wrote it (campaign and recipe files).
fn trusted(s: &str) -> Value {
    Value::from_safe_string(s.to_string())
}

/// The context as a template sees it: what the platform team wrote
/// (campaign, recipe, a step's description and why, verify command, report
/// address, and the title once rendered) is trusted and printed as written;
/// everything else came from outside and is escaped for where it lands.
/// `contact` is the platform team's too, but it is one line of plain text,
/// not Markdown: it is escaped like a value from outside, so that a
/// `@team` in it notifies nobody on every pull request of the campaign
/// (`{{ contact | link }}` makes an `http(s)` contact a link).
fn values(ctx: &TemplateContext, title: Value) -> Value {
    let r = &ctx.recipe;
    let recipe = context! {
        id => trusted(&r.id),
        title => trusted(&r.title),
        description => trusted(&r.description),
        why => trusted(&r.why),
        link => trusted(&r.link),
        parameters => Value::from_iter(
            r.parameters.iter().map(|(k, v)| (k.clone(), trusted(v)))
        ),
    };
    let files: Vec<Value> = ctx
        .files
        .iter()
        .map(|f| {
            context! {
                path => f.path.clone(),
                rules => f.rules.clone(),
                matches => f.matches,
            }
        })
        .collect();
    let steps: Vec<Value> = ctx
        .steps
        .iter()
        .map(|s| {
            context! {
                description => trusted(&s.description),
                why => trusted(&s.why),
                rule => s.rule.clone(),
                files => s.files.clone(),
                matches => s.matches,
            }
        })
        .collect();
    context! {
        campaign => trusted(&ctx.campaign),
        title => title,
        recipe => recipe,
        repo => ctx.repo.clone(),
        component => ctx.component.clone(),
        owner => ctx.owner.clone(),
        tranche => ctx.tranche,
        files => files,
        steps => steps,
        matches => ctx.matches,
        verified => ctx.verified.as_deref().map(trusted),
        report_url => trusted(&ctx.report_url),
        verify_failure => ctx.verify_failure.clone(),
        contact => ctx.contact.clone(),
    }
}

/// Render `template` with `ctx` as a branch name: values as they are.
pub fn render(template: &str, ctx: &TemplateContext) -> Result<String, String> {
    render_part(Part::Branch, template, ctx)
}

/// Render `template` with `ctx` for `part`, each value from outside
/// escaped for where it lands: a title is one plain line, a body GitHub
/// Markdown, a commit message plain text with each value on one line.
pub fn render_part(
    part: Part<'_>,
    template: &str,
    ctx: &TemplateContext,
) -> Result<String, String> {
    match part {
        Part::Branch => environment(Escaping::None)
            .render_str(template, values(ctx, trusted(&ctx.title)))
            .map_err(describe),
        Part::Title => {
            let env = environment(Escaping::Line);
            let title = env
                .render_str(&code_spans(template), values(ctx, Value::from("")))
                .map_err(describe)?;
            Ok(escape::line(title.trim()).into_owned())
        }
        Part::Body { title } => {
            let env = environment(Escaping::Markdown);
            let title = env
                .render_str(&code_spans(title), values(ctx, Value::from("")))
                .map_err(describe)?;
            let title = escape::line(title.trim()).into_owned();
            env.render_str(
                &code_spans(template),
                values(ctx, Value::from_safe_string(title)),
            )
            .map_err(describe)
        }
        Part::CommitMessage => environment(Escaping::Line)
            .render_str(template, values(ctx, trusted(&ctx.title)))
            .map_err(describe),
    }
}

/// Render a Markdown comment (the stale nudge) from `template` and
/// `values`: the ones the caller marked safe
/// (`Value::from_safe_string`) are printed as written, the others escaped
/// as Markdown text; the filters `code`, `code_block` and `link` work as in
/// a body.
pub fn render_comment(template: &str, values: Value) -> Result<String, String> {
    environment(Escaping::Markdown)
        .render_str(&code_spans(template), values)
        .map_err(describe)
}

/// Render a tracking issue's title (`report.issue.title`): one plain line,
/// with one value, `campaign` (the platform team's own word).
pub fn render_issue_title(template: &str, campaign: &str) -> Result<String, String> {
    let title = environment(Escaping::Line)
        .render_str(
            &code_spans(template),
            context! { campaign => trusted(campaign) },
        )
        .map_err(describe)?;
    Ok(escape::line(title.trim()).into_owned())
}

/// Check that `template` parses and renders with sample values.
pub fn check(template: &str) -> Result<(), String> {
    let sample = TemplateContext::sample("campaign");
    render_part(Part::Body { title: "" }, template, &sample).map(|_| ())
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

/// The rules and edits that changed a repository, each in plain words, in
/// the order first met. `files` holds each changed file's path and its
/// edits (`(rule id or edit label, count)`, as in
/// [`crate::recipe::FileChange::matches`]); `rule` gives the `message` and
/// `note` the recipe has for a rule id (`None` for an edit).
pub fn steps<'a, 'r>(
    files: impl IntoIterator<Item = (String, &'a [(String, usize)])>,
    rule: impl Fn(&str) -> Option<(&'r str, &'r str)>,
) -> Vec<StepSummary> {
    let mut steps: Vec<StepSummary> = Vec::new();
    for (path, matches) in files {
        for (label, n) in matches {
            let step = match steps.iter_mut().position(|s| &s.rule == label) {
                Some(i) => &mut steps[i],
                None => {
                    let (message, note) = rule(label).unwrap_or_default();
                    // One line (it is a list item), without a final full stop
                    // (a list of files follows it).
                    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
                    let message = message.trim_end_matches('.');
                    steps.push(StepSummary {
                        description: if message.is_empty() {
                            plain_words(label)
                        } else {
                            message.to_string()
                        },
                        why: note.trim().to_string(),
                        rule: label.clone(),
                        files: Vec::new(),
                        matches: 0,
                    });
                    steps.last_mut().expect("just pushed")
                }
            };
            if !step.files.contains(&path) {
                step.files.push(path.clone());
            }
            step.matches += n;
        }
    }
    steps
}

/// A rule id or an edit label in words, as Markdown: `python-logging-warn`
/// is "Python logging warn"; `step 1 (yaml): set jobs.*.steps[*].uses` is
/// "Set `jobs.*.steps[*].uses`" (the labels `recipe::load` gives: an
/// included recipe's are prefixed with `id › `). Names, paths and patterns
/// are code spans or escaped text.
pub fn plain_words(label: &str) -> String {
    let own = label.rsplit(" › ").next().unwrap_or(label);
    let step = own
        .strip_prefix("step ")
        .and_then(|rest| rest.split_once(" ("))
        .filter(|(number, _)| number.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(_, rest)| rest.split_once("): "));
    let Some((kind, what)) = step else {
        return readable(label);
    };
    let code = escape::code;
    let (verb, rest) = what.split_once(' ').unwrap_or((what, ""));
    match (kind, verb) {
        ("yaml" | "json" | "toml" | "hcl", "set") => format!("Set {}", code(rest)),
        ("yaml" | "json" | "toml" | "hcl", "ensure") => {
            format!("Add {} where it is missing", code(rest))
        }
        ("yaml" | "json" | "toml" | "hcl", "rename") => format!("Rename {}", code(rest)),
        ("yaml" | "json" | "toml" | "hcl", "delete") => format!("Delete {}", code(rest)),
        ("yaml" | "json" | "toml" | "hcl", "append") => format!("Add to the list {}", code(rest)),
        ("text", _) => {
            let pattern = what
                .strip_prefix('/')
                .and_then(|p| p.strip_suffix('/'))
                .unwrap_or(what);
            format!("Replace the text matching {}", code(pattern))
        }
        ("files", "add") => format!("Add {}", code(rest)),
        ("files", "move") => match rest.split_once(" to ") {
            Some((from, to)) => format!("Move {} to {}", code(from), code(to)),
            None => format!("Move {}", code(rest)),
        },
        ("files", "delete") => format!("Delete {}", code(rest)),
        ("run", _) => format!("Run {}", code(what)),
        _ => escape::text(label),
    }
}

/// `python-logging-warn` as words: "Python logging warn", escaped.
fn readable(id: &str) -> String {
    let words: Vec<&str> = id.split(['-', '_']).filter(|w| !w.is_empty()).collect();
    let text = words.join(" ");
    let mut chars = text.chars();
    let text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => id.to_string(),
    };
    escape::text(&text)
}

/// The built-in pull request body: why, what changed, how to review, how to
/// opt out.
pub const DEFAULT_BODY: &str = r#"## Why
{%- set explained = steps | selectattr("why") | list %}
{%- if recipe.why or not explained %}

{{ (recipe.why or recipe.description) | trim }}
{%- endif %}
{%- if recipe.link %}

More: {{ recipe.link }}
{%- endif %}
{%- if explained %}
{% for s in explained %}
- {{ s.description }}: {{ s.why | indent(2) }}
{%- endfor %}
{%- endif %}

## What changed

This pull request was prepared by **fleetwright** for the campaign {{ campaign | code }}, with the recipe {{ recipe.id | code }} ({{ matches }} place{{ "s" if matches != 1 }} in {{ files | length }} file{{ "s" if files | length != 1 }}):

{% for s in steps -%}
- {{ s.description }}: {% for p in s.files[:10] %}{{ p | code }}{% if not loop.last %}, {% endif %}{% endfor %}{% if s.files | length > 10 %} and {{ s.files | length - 10 }} more files{% endif %} ({{ s.matches }} place{{ "s" if s.matches != 1 }})
{% else -%}
{% for f in files -%}
- {{ f.path | code }}{% if f.rules %}: {{ f.rules | join(", ") }}{% endif %}
{% endfor %}
{%- endfor %}
{% if verify_failure -%}
## Verify failed: this is a draft

The campaign's check failed after the change, so this pull request is a draft for the platform team to look at, not for review yet:

{{ verify_failure | code_block }}

{% endif -%}
{% if verified -%}
## Verified

{{ verified | code }} ran in the repository after the change, and passed.

{% endif -%}
## How to review

Every edit is mechanical and comes from a rule of the recipe; nothing else in the repository was touched. Read the diff, let your CI run, and merge when it is green. The branch is yours too: commits you push to it are never overwritten.

This repository is in tranche {{ tranche }} of the campaign. It came to you because the service catalog names {{ owner | code }} as its owner.

{% if contact -%}
Questions: ask {{ contact | link }}.
{%- else -%}
Questions: the campaign does not say who launched it; ask your platform team about the campaign {{ campaign | code }}.
{%- endif %}

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
    use crate::escape::tests::{hazards, plain};

    #[test]
    fn the_default_body_explains_the_change() {
        let body = render(DEFAULT_BODY, &TemplateContext::sample("modernize")).unwrap();
        // The recipe's why leads, then the why of each step that changed
        // this repository.
        assert!(
            body.contains(
                "## Why\n\nWhy.\n\nMore: https://example.com/why\n\n- Use the new call: The old one is deprecated.\n\n## What"
            ),
            "{body}"
        );
        let mut plain = TemplateContext::sample("modernize");
        plain.recipe.why.clear();
        plain.recipe.link.clear();
        let body = render(DEFAULT_BODY, &plain).unwrap();
        assert!(
            body.contains("## Why\n\n- Use the new call: The old one is deprecated.\n\n## What"),
            "{body}"
        );
        // No step says why: the recipe's description, as before.
        plain.steps[0].why.clear();
        let body = render(DEFAULT_BODY, &plain).unwrap();
        assert!(body.contains("## Why\n\nDescription.\n\n## What"), "{body}");
        assert!(
            body.contains("- Use the new call: `src/app.py` (1 place)\n"),
            "{body}"
        );
        assert!(body.contains("(1 place in 1 file)"), "{body}");
        assert!(body.contains("tranche 1"), "{body}");
        // Without steps (a caller that has only files): the files.
        plain.steps.clear();
        let body = render(DEFAULT_BODY, &plain).unwrap();
        assert!(body.contains("- `src/app.py`: rule ×1\n"), "{body}");
    }

    /// What a recipe with a Python and a Go rule says about each.
    fn python_and_go(id: &str) -> Option<(&'static str, &'static str)> {
        match id {
            "python-logging-warn" => Some((
                "Use `logging.warning`, not `logging.warn`.",
                "`logging.warn` is deprecated\nsince Python 3.3.",
            )),
            "go-ioutil" => Some((
                "Use `io` and `os`, not `io/ioutil`",
                "`io/ioutil` is deprecated since Go 1.16.",
            )),
            _ => None,
        }
    }

    #[test]
    fn the_why_explains_only_the_steps_that_changed_this_repository() {
        let python = [
            (
                "app.py".to_string(),
                vec![("python-logging-warn".to_string(), 2)],
            ),
            (
                "lib/util.py".to_string(),
                vec![("python-logging-warn".to_string(), 1)],
            ),
        ];
        let mut ctx = TemplateContext::sample("modernize");
        ctx.recipe.why.clear();
        ctx.recipe.description = "Moves Python off `logging.warn` and Go off `io/ioutil`.".into();
        ctx.steps = steps(
            python.iter().map(|(p, m)| (p.clone(), m.as_slice())),
            python_and_go,
        );
        let body = body(&ctx, DEFAULT_BODY, "");
        assert!(
            body.contains(
                "## Why\n\nMore: https://example.com/why\n\n- Use `logging.warning`, not `logging.warn`: `logging.warn` is deprecated\n  since Python 3.3.\n\n## What changed"
            ),
            "{body}"
        );
        assert!(
            body.contains(
                "- Use `logging.warning`, not `logging.warn`: `app.py`, `lib/util.py` (3 places)\n"
            ),
            "{body}"
        );
        assert!(!body.contains("Go"), "{body}");
    }

    #[test]
    fn rules_and_edits_are_described_in_plain_words() {
        for (label, words) in [
            ("python-logging-warn", "Python logging warn"),
            ("go_ioutil", "Go ioutil"),
            (
                "step 1 (yaml): set jobs.*.steps[*].uses",
                "Set `jobs.*.steps[*].uses`",
            ),
            (
                "node-20 › step 2 (json): ensure engines.npm",
                "Add `engines.npm` where it is missing",
            ),
            ("step 1 (toml): rename tool.black", "Rename `tool.black`"),
            ("step 1 (hcl): delete a.b", "Delete `a.b`"),
            (
                "step 1 (toml): append tool.ruff.lint.select",
                "Add to the list `tool.ruff.lint.select`",
            ),
            (
                r"step 3 (text): /(?m)^FROM python:3\.(8|9)/",
                r"Replace the text matching `(?m)^FROM python:3\.(8|9)`",
            ),
            (
                "step 4 (files): add .python-version",
                "Add `.python-version`",
            ),
            (
                "step 4 (files): move setup.cfg to legacy/setup.cfg",
                "Move `setup.cfg` to `legacy/setup.cfg`",
            ),
            ("step 4 (files): delete **/*.pyc", "Delete `**/*.pyc`"),
            ("step 5 (run): go mod tidy", "Run `go mod tidy`"),
        ] {
            assert_eq!(plain_words(label), words, "{label}");
        }
        // Each rule or edit once, with every file it changed; a rule's
        // message, on one line and without its full stop, before its id.
        let files = [
            (
                ".github/workflows/ci.yml".to_string(),
                vec![
                    ("step 1 (yaml): set jobs.*.steps[*].uses".to_string(), 3),
                    ("python-logging-warn".to_string(), 1),
                ],
            ),
            (
                ".github/workflows/release.yml".to_string(),
                vec![("step 1 (yaml): set jobs.*.steps[*].uses".to_string(), 1)],
            ),
        ];
        let found = steps(files.iter().map(|(p, m)| (p.clone(), m.as_slice())), |id| {
            (id == "python-logging-warn").then_some(("Use\n  `logging.warning`.", ""))
        });
        let seen: Vec<(&str, &str, Vec<&str>, usize)> = found
            .iter()
            .map(|s| {
                let files = s.files.iter().map(String::as_str).collect();
                (s.description.as_str(), s.why.as_str(), files, s.matches)
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "Set `jobs.*.steps[*].uses`",
                    "",
                    vec![".github/workflows/ci.yml", ".github/workflows/release.yml"],
                    4
                ),
                (
                    "Use `logging.warning`",
                    "",
                    vec![".github/workflows/ci.yml"],
                    1
                ),
            ]
        );
        let mut ctx = TemplateContext::sample("modernize");
        ctx.steps = found;
        let md = body(&ctx, DEFAULT_BODY, "");
        assert!(
            md.contains("- Set `jobs.*.steps[*].uses`: `.github/workflows/ci.yml`, `.github/workflows/release.yml` (4 places)\n"),
            "{md}"
        );
        assert!(!md.contains("×"), "{md}");
    }

    #[test]
    fn the_body_names_the_contact_and_never_the_owner_as_the_one_to_ask() {
        let mut ctx = TemplateContext::sample("modernize");
        let md = body(&ctx, DEFAULT_BODY, "");
        assert!(
            md.contains("\n\nQuestions: ask \\#platform-migrations.\n\n## Not for"),
            "{md}"
        );
        assert!(plain(&md).contains("Questions: ask #platform-migrations."));
        ctx.contact = "https://chat.example.com/platform".into();
        let md = body(&ctx, DEFAULT_BODY, "");
        assert!(
            md.contains("Questions: ask [") && md.contains("](https://chat.example.com/platform)."),
            "{md}"
        );
        // The platform team's words, but plain text: no mention of a team
        // on every pull request of the campaign.
        ctx.contact = "@acme/platform".into();
        let md = body(&ctx, DEFAULT_BODY, "");
        let ours = ["https://example.com/why", "https://example.com/report.html"];
        assert_eq!(hazards(&md, &ours), Vec::<String>::new(), "{md}");
        ctx.contact.clear();
        let md = body(&ctx, DEFAULT_BODY, "");
        assert!(
            md.contains("Questions: the campaign does not say who launched it; ask your platform team about the campaign `modernize`."),
            "{md}"
        );
        let questions = md.lines().find(|l| l.starts_with("Questions")).unwrap();
        assert!(!questions.contains("team`"), "{questions}");
        assert!(
            md.contains("It came to you because the service catalog names `group:default/team` as its owner."),
            "{md}"
        );
    }

    /// A context whose every value from outside is hostile.
    fn hostile(value: &str) -> TemplateContext {
        let mut ctx = TemplateContext::sample("modernize");
        ctx.repo = format!("org/{value}");
        ctx.component = format!("component:default/{value}");
        ctx.owner = format!("group:default/{value}");
        ctx.files = vec![
            FileSummary {
                path: format!("src/{value}.py"),
                rules: vec![format!("{value} ×1")],
                matches: 1,
            },
            FileSummary {
                path: value.to_string(),
                rules: vec![],
                matches: 1,
            },
        ];
        let matches = [
            (value.to_string(), 1),
            (format!("step 1 (yaml): set {value}"), 1),
            (format!("step 2 (files): move {value} to {value}"), 1),
            (format!("step 3 (run): {value}"), 1),
        ];
        ctx.steps = steps(
            [
                (format!("src/{value}.py"), &matches[..]),
                (value.to_string(), &matches[..1]),
            ],
            |_| None,
        );
        ctx.contact = value.to_string();
        ctx
    }

    fn body(ctx: &TemplateContext, template: &str, title: &str) -> String {
        render_part(Part::Body { title }, template, ctx).unwrap()
    }

    #[test]
    fn outside_values_cannot_change_the_shape_of_a_body() {
        use crate::escape::tests::{HOSTILE, shape};
        let ours = ["https://example.com/why", "https://example.com/report.html"];
        let custom = "Bump `{{ repo }}` for {{ owner }} ({{ title }})\n\n{% for f in files %}- `{{ f.path }}` {{ f.rules | join(\", \") }}\n{% endfor %}\n| repo | owner |\n| --- | --- |\n| {{ repo }} | {{ owner }} |\n";
        for failing in [false, true] {
            for template in [DEFAULT_BODY, custom] {
                let mut ordinary = hostile("x");
                ordinary.verify_failure = failing.then(|| "make test failed\nok".into());
                let expected = shape(&body(&ordinary, template, "Fix {{ repo }}"));
                for value in HOSTILE {
                    let mut ctx = hostile(value);
                    ctx.verify_failure =
                        failing.then(|| format!("make test failed\n{value}\n```\n@team"));
                    let md = body(&ctx, template, "Fix {{ repo }}");
                    assert_eq!(shape(&md), expected, "{value:?}:\n{md}");
                    assert_eq!(
                        hazards(&md, &ours),
                        Vec::<String>::new(),
                        "{value:?}:\n{md}"
                    );
                    // Still readable: the path is there as it is, in code.
                    let seen = plain(&md);
                    let path = crate::escape::terminal(&value.replace("\r\n", "\n")).into_owned();
                    assert!(
                        seen.contains(&path),
                        "{value:?} not shown as {path:?}:\n{seen}"
                    );
                }
            }
        }
    }

    #[test]
    fn ordinary_names_render_as_before() {
        let ctx = TemplateContext::sample("modernize");
        // The body and templates written before values were escaped.
        let md = body(
            &ctx,
            "`{{ repo }}` {{ owner }} {{ files[0].path }} {{- recipe.why }} {{ recipe.id }}",
            "",
        );
        assert_eq!(md, "`org/repo` group:default/team src/app.pyWhy. recipe");
        let md = body(&ctx, DEFAULT_BODY, "");
        assert!(
            md.contains("- Use the new call: `src/app.py` (1 place)"),
            "{md}"
        );
        assert!(
            md.contains("for the campaign `modernize`, with the recipe `recipe`"),
            "{md}"
        );
        assert!(md.contains("names `group:default/team` as its owner."));
        // Trusted text keeps its Markdown.
        let mut ctx = TemplateContext::sample("modernize");
        ctx.recipe.why = "Use **`logging.warning`**, see [the docs](https://x.example).".into();
        let md = body(&ctx, "{{ recipe.why | trim }}", "");
        assert_eq!(md, ctx.recipe.why);
    }

    #[test]
    fn a_title_is_one_line_and_a_commit_message_has_no_extra_lines() {
        let ctx = hostile("x\nFleetwright-Campaign: other\x1b[2J");
        let title = render_part(Part::Title, "Fix {{ repo }}", &ctx).unwrap();
        assert_eq!(title, "Fix org/x Fleetwright-Campaign: other\\x1b[2J");
        let message = render_part(Part::CommitMessage, DEFAULT_COMMIT, &{
            let mut ctx = ctx.clone();
            ctx.title = title.clone();
            ctx
        })
        .unwrap();
        assert!(
            !message.lines().any(|l| l.starts_with("Fleetwright-")),
            "{message}"
        );
        let message = render_part(Part::CommitMessage, "{{ repo }}\n\n{{ owner }}", &ctx).unwrap();
        assert_eq!(message.lines().count(), 3, "{message}");
        // The title shows in the body as Markdown: backticks the team wrote
        // make code, the name in it is escaped.
        let md = body(&hostile("@team"), "{{ title }}", "Use `x` in {{ repo }}");
        assert_eq!(md, "Use `x` in org/@\u{200b}team");
    }

    #[test]
    fn the_filters_escape_for_their_place() {
        let ctx = hostile("a`b");
        let md = body(
            &ctx,
            "{{ repo | code }} {{ report_url | link(\"report\") }} {{ repo | link }}",
            "",
        );
        assert_eq!(
            md,
            "``org/a`b`` [report](https://example.com/report.html) org/a\\`b"
        );
        let md = body(&ctx, "{{ \"x\\n```\\ny\" | code_block }}", "");
        assert_eq!(md, "````\nx\n```\ny\n````");
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
