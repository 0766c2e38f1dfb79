//! The three files people write (campaign, catalog, recipe), read from
//! generated text: errors are fine, a panic is a bug.
//!
//! Two kinds of text: arbitrary text heavy in YAML's own characters, and
//! structure-aware documents: a valid example of each file whose values
//! are replaced, dropped or joined by generated ones (wrong types, empty
//! and odd strings, deep nesting), written as YAML (block or JSON style),
//! sometimes cut short or with bytes spliced in.
//!
//! Cases: `PROPTEST_CASES` (64 by default); `scripts/proptest-long.sh`
//! runs thousands. The properties of the structured editors are beside
//! them, in `src/recipe/structured/proptests.rs`.

use std::path::Path;

use fleetwright::campaign::Campaign;
use fleetwright::catalog::Catalog;
use fleetwright::recipe::Recipe;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text made mostly of what YAML gives meaning to.
fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-z]{1,6}",
            2 => prop::sample::select(vec![
                ": ", "- ", "\n", "\n  ", "\n- ", "  ", "[", "]", "{", "}", ",", "\"", "'",
                "# ", "&a ", "*a", "!!str ", "|\n", ">-\n", "? ", "---\n", "...\n", "%YAML 1.2\n",
                "\t", "{{ x }}", "${{ y }}", "é", "\u{feff}", "\r\n", "\\", "~", "null", "1e99",
            ])
            .prop_map(str::to_string),
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

/// A generated value to put where the example had another.
fn odd_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(json!("")),
        Just(json!("{{ x }}")),
        Just(json!("../../etc/passwd")),
        Just(json!("**/*")),
        Just(json!("[")),
        Just(json!("a.b[*].c")),
        Just(json!("0%")),
        Just(json!("150%")),
        Just(json!("rest")),
        Just(json!("25:99-xx")),
        Just(json!("mon-xyz")),
        "[a-z:/.* ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3)
                .prop_map(|e| Value::Object(e.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a document: at the node `picks` lead to, replace it,
/// drop it, or add a key.
#[derive(Debug, Clone)]
struct Mutation {
    picks: Vec<usize>,
    action: u8,
    key: String,
    value: Value,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec(any::<usize>(), 1..5),
        any::<u8>(),
        prop::sample::select(vec![
            "id", "name", "steps", "rules", "kind", "spec", "x", "edits",
        ]),
        odd_value(),
    )
        .prop_map(|(picks, action, key, value)| Mutation {
            picks,
            action,
            key: key.to_string(),
            value,
        })
}

fn mutate(doc: &mut Value, m: &Mutation) {
    let mut node = doc;
    for (depth, pick) in m.picks.iter().enumerate() {
        let last = depth + 1 == m.picks.len();
        let len = match &*node {
            Value::Object(map) => map.len(),
            Value::Array(list) => list.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let index = pick % len;
        if last {
            match (&mut *node, m.action % 3) {
                (Value::Object(map), 0) => {
                    let key = map.keys().nth(index).cloned().unwrap_or_default();
                    map.remove(&key);
                }
                (Value::Array(list), 0) => {
                    list.remove(index);
                }
                (Value::Object(map), 1) => {
                    map.insert(m.key.clone(), m.value.clone());
                }
                (Value::Object(map), _) => {
                    if let Some(v) = map.values_mut().nth(index) {
                        *v = m.value.clone();
                    }
                }
                (Value::Array(list), _) => list[index] = m.value.clone(),
                _ => {}
            }
            return;
        }
        node = match node {
            Value::Object(map) => map.values_mut().nth(index).expect("in range"),
            Value::Array(list) => &mut list[index],
            _ => return,
        };
    }
}

/// `value` as block YAML (strings in JSON quotes, which YAML reads).
fn block_yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                out.push_str(&format!("{pad}{}:", serde_json::to_string(k).unwrap()));
                if matches!(v, Value::Object(m) if !m.is_empty())
                    || matches!(v, Value::Array(l) if !l.is_empty())
                {
                    out.push('\n');
                    block_yaml(v, indent + 2, out);
                } else {
                    out.push(' ');
                    out.push_str(&serde_json::to_string(v).unwrap());
                    out.push('\n');
                }
            }
        }
        Value::Array(list) if !list.is_empty() => {
            for item in list {
                out.push_str(&format!("{pad}-\n"));
                block_yaml(item, indent + 2, out);
            }
        }
        other => out.push_str(&format!("{pad}{}\n", serde_json::to_string(other).unwrap())),
    }
}

/// The documents of an example, mutated, as text: block or JSON style,
/// sometimes cut short or with `noise` spliced in.
fn mutated(examples: Vec<Value>) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(mutation(), 0..4),
        any::<bool>(),
        prop::option::weighted(0.2, (any::<usize>(), yamlish())),
    )
        .prop_map(move |(mutations, json_style, noise)| {
            let mut text = String::new();
            for (i, example) in examples.iter().enumerate() {
                let mut doc = example.clone();
                for m in &mutations {
                    mutate(&mut doc, m);
                }
                if i > 0 {
                    text.push_str("---\n");
                }
                if json_style {
                    text.push_str(&serde_json::to_string_pretty(&doc).unwrap());
                    text.push('\n');
                } else {
                    block_yaml(&doc, 0, &mut text);
                }
            }
            if let Some((at, noise)) = noise {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                text.insert_str(at, &noise);
            }
            text
        })
}

fn recipe_example() -> Vec<Value> {
    vec![json!({
        "id": "bump",
        "title": "Bump {{ v }}",
        "version": 1,
        "parameters": {"v": {"default": "5", "description": "the version"}, "w": "x"},
        "applies_when": [{"files": ["**/*.yaml"]}, {"contains": {"files": "*.py", "pattern": "^import"}}],
        "steps": [
            {"yaml": {"files": ["**/*.yaml"], "edits": [
                {"set": "jobs.*.steps[*].uses", "when": "^a@v[1-4]$", "value": "a@v{{ v }}"},
                {"ensure": "a.b", "value": {"c": [1, 2]}},
                {"rename": "x", "to": "y"},
                {"delete": "z[0]", "where": {"kind": "^Job$"}},
                {"append": "list", "value": 3}
            ]}},
            {"json": {"files": "package.json", "edits": [{"set": "engines.node", "value": ">=20"}]}},
            {"toml": {"files": "pyproject.toml", "edits": [{"delete": "tool.isort"}]}},
            {"hcl": {"files": "**/*.tf", "edits": [{"set": "terraform.required_version", "value": "1"}]}},
            {"text": {"files": "*.md", "replace": [{"pattern": "old(\\d)", "with": "new$1"}]}},
            {"files": [{"add": "NEW.md", "content": "x"}, {"move": "a", "to": "b"}, {"delete": "*.tmp"}]},
            {"ast-grep": {"rules": [{
                "id": "no-print", "language": "python",
                "rule": {"pattern": "print($$$A)", "inside": {"kind": "function_definition", "stopBy": "end"}},
                "constraints": {"A": {"regex": "^x"}},
                "fix": "logging.info($$$A)"
            }]}}
        ]
    })]
}

fn campaign_example() -> Vec<Value> {
    vec![json!({
        "name": "modernize",
        "recipe": "recipe.yaml",
        "catalog": "catalog.yaml",
        "forge": "local",
        "targets": {"kind": "Component", "lifecycle": ["production"], "exclude": ["a"],
                    "exclude_tags": ["legacy"], "exclude_annotations": ["x/skip"]},
        "order": ["lifecycle", "team-size"],
        "tranches": [{"name": "canary", "size": 1}, {"name": "e", "select": {"lifecycle": "experimental"}}, "25%", "rest"],
        "gate": {"merged": "80%", "count_declined": true, "max_ci_failures": "20%"},
        "pause_when": {"ci_failures": "40%"},
        "throttle": {"max_open": 20, "per_hour": 10,
                     "window": {"days": "mon-fri", "hours": "09:00-17:00", "timezone": "Europe/Berlin"}},
        "stale": {"after_days": 5},
        "verify": {"command": "true", "timeout": 600, "on_failure": "draft"},
        "pull_request": {"title": "Fix {{ repo }}", "branch": "fleetwright/x", "labels": ["a"], "draft": false},
        "commit": {"author_name": "P", "author_email": "p@example.com"}
    })]
}

fn catalog_example() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "web", "namespace": "default", "tags": ["python"],
                         "annotations": {"github.com/project-slug": "org/web",
                                         "backstage.io/source-location": "url:https://github.com/org/web/tree/main/"}},
            "spec": {"type": "service", "lifecycle": "production", "owner": "group:team-a", "system": "s"}
        }),
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": "team-a", "annotations": {"github.com/team-slug": "org/team-a"}},
            "spec": {"type": "team", "children": [], "members": ["user:alice"]}
        }),
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "User",
            "metadata": {"name": "alice", "annotations": {"github.com/user-login": "alice"}},
            "spec": {"memberOf": ["team-a"]}
        }),
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Location",
            "metadata": {"name": "more"},
            "spec": {"type": "file", "targets": ["./other.yaml"]}
        }),
    ]
}

/// A folder with the recipe and catalog files the campaign example names.
fn campaign_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("recipe.yaml"), "").unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), "").unwrap();
    dir
}

fn text_of(examples: fn() -> Vec<Value>) -> impl Strategy<Value = String> {
    prop_oneof![1 => yamlish(), 3 => mutated(examples())]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_recipe_read_from_any_text_never_panics(text in text_of(recipe_example)) {
        let _ = Recipe::from_str(Path::new("recipes/r.yaml"), &text);
    }

    #[test]
    fn a_campaign_read_from_any_text_never_panics(text in text_of(campaign_example)) {
        let dir = campaign_dir();
        let _ = Campaign::from_str(&dir.path().join("c.yaml"), &text);
    }

    #[test]
    fn a_catalog_read_from_any_text_never_panics(text in text_of(catalog_example)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("catalog.yaml"), &text).unwrap();
        std::fs::write(dir.path().join("other.yaml"), "kind: Component\n").unwrap();
        let _ = Catalog::load(&dir.path().join("catalog.yaml"));
    }
}

/// The examples the documents are made from are valid as they are, so that
/// the generated ones are near misses, not noise.
#[test]
fn the_examples_are_valid() {
    let text = |docs: Vec<Value>| -> String {
        docs.iter()
            .map(|d| serde_json::to_string_pretty(d).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let recipe = Recipe::from_str(Path::new("recipes/r.yaml"), &text(recipe_example()));
    assert!(recipe.is_ok(), "{:?}", recipe.err());
    let dir = campaign_dir();
    let campaign = Campaign::from_str(&dir.path().join("c.yaml"), &text(campaign_example()));
    assert!(campaign.is_ok(), "{:?}", campaign.err());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), text(catalog_example())).unwrap();
    std::fs::write(dir.path().join("other.yaml"), "").unwrap();
    let catalog = Catalog::load(&dir.path().join("catalog.yaml")).unwrap();
    assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
}
