//! TOML edits on real-world files, with the whole expected output.

use serde_json::json;

use super::super::testing::{
    append, check, check_once, conflict_at, delete, edit, ensure, parse_error, rename, set, when,
    where_,
};
use super::super::{EditError, Op};
use super::apply;

const PYPROJECT: &str = r#"# Project metadata
[tool.poetry]
name = "acme-api"
version = "0.4.2"
description = 'The ACME API'  # shown on PyPI

[tool.poetry.dependencies]
python = "^3.8"
requests = { version = "^2.28", extras = ["socks"] }
# pinned until the v2 migration
pydantic = "1.10.13"

[tool.black]
line-length = 100
target-version = ['py38']

# import sorting
[tool.isort]
profile = "black"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = [
    "E",  # pycodestyle
    "F",  # pyflakes
]

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#;

#[test]
fn set_replaces_a_value_and_keeps_its_comment_and_quotes() {
    check(
        apply,
        PYPROJECT,
        &[
            set("tool.poetry.dependencies.python", json!("^3.11")),
            set("tool.poetry.description", json!("The ACME API, v2")),
            when(
                set("tool.poetry.dependencies.pydantic", json!("2.$1")),
                r"^1\.(\d+)",
            ),
            set("tool.black.target-version[0]", json!("py311")),
        ],
        r#"# Project metadata
[tool.poetry]
name = "acme-api"
version = "0.4.2"
description = 'The ACME API, v2'  # shown on PyPI

[tool.poetry.dependencies]
python = "^3.11"
requests = { version = "^2.28", extras = ["socks"] }
# pinned until the v2 migration
pydantic = "2.10"

[tool.black]
line-length = 100
target-version = ['py311']

# import sorting
[tool.isort]
profile = "black"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = [
    "E",  # pycodestyle
    "F",  # pyflakes
]

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#,
        &[1, 1, 1, 1],
    );
}

#[test]
fn a_string_leaves_the_literal_style_when_it_cannot_be_written_in_it() {
    check(
        apply,
        "name = 'x'\nother = \"y\"\n",
        &[
            set("name", json!("it's")),
            set("other", json!(r#"say "hi""#)),
        ],
        "name = \"it's\"\nother = \"say \\\"hi\\\"\"\n",
        &[1, 1],
    );
}

#[test]
fn set_with_an_equal_value_changes_nothing() {
    check(
        apply,
        PYPROJECT,
        &[set("tool.poetry.dependencies.python", json!("^3.8"))],
        PYPROJECT,
        &[0],
    );
}

#[test]
fn when_and_where_filter() {
    check(
        apply,
        PYPROJECT,
        &[
            when(
                set("tool.poetry.dependencies.pydantic", json!("2.5")),
                r"^2\.",
            ),
            where_(
                set("tool.poetry.dependencies.python", json!("^3.11")),
                "tool.poetry.name",
                "^other-",
            ),
            // `when` never matches a table, and never creates.
            when(set("tool.black", json!(1)), "."),
            when(set("tool.black.preview", json!(true)), "."),
        ],
        PYPROJECT,
        &[0, 0, 0, 0],
    );
    let out = apply(
        PYPROJECT,
        &[where_(
            set("tool.poetry.dependencies.python", json!("^3.11")),
            "tool.poetry.name",
            "^acme-",
        )],
    )
    .unwrap();
    assert!(out.text.contains("python = \"^3.11\"\n"));
    assert_eq!(out.counts, vec![1]);
}

#[test]
fn append_goes_on_its_own_line_and_leaves_line_comments_where_they_were() {
    check(
        apply,
        PYPROJECT,
        &[
            append("tool.ruff.lint.select", json!("UP")),
            append("tool.black.target-version", json!("py39")),
            append("build-system.requires", json!("poetry-core")),
            // Absent: created with the one item.
            append("tool.ruff.lint.ignore", json!("E501")),
        ],
        r#"# Project metadata
[tool.poetry]
name = "acme-api"
version = "0.4.2"
description = 'The ACME API'  # shown on PyPI

[tool.poetry.dependencies]
python = "^3.8"
requests = { version = "^2.28", extras = ["socks"] }
# pinned until the v2 migration
pydantic = "1.10.13"

[tool.black]
line-length = 100
target-version = ['py38', "py39"]

# import sorting
[tool.isort]
profile = "black"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = [
    "E",  # pycodestyle
    "F",  # pyflakes
    "UP",
]
ignore = ["E501"]

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#,
        &[1, 1, 0, 1],
    );
}

#[test]
fn append_to_an_array_written_without_a_trailing_comma() {
    check(
        apply,
        "a = [\n  1,\n  2  # two\n]\nb = [1, 2 ]\n",
        &[append("a", json!(3)), append("b", json!(3))],
        "a = [\n  1,\n  2,  # two\n  3\n]\nb = [1, 2, 3 ]\n",
        &[1, 1],
    );
}

#[test]
fn delete_removes_a_table_a_key_with_its_comment_and_an_item() {
    check(
        apply,
        PYPROJECT,
        &[
            delete("tool.isort"),
            delete("tool.poetry.dependencies.pydantic"),
            when(delete("tool.ruff.lint.select[*]"), "^E$"),
            delete("tool.poetry.dependencies.requests.extras"),
        ],
        r#"# Project metadata
[tool.poetry]
name = "acme-api"
version = "0.4.2"
description = 'The ACME API'  # shown on PyPI

[tool.poetry.dependencies]
python = "^3.8"
requests = { version = "^2.28" }

[tool.black]
line-length = 100
target-version = ['py38']

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = [
    "F",  # pyflakes
]

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#,
        &[1, 1, 1, 1],
    );
}

#[test]
fn delete_keeps_the_blank_line_before_the_deleted_key() {
    check(
        apply,
        "[a]\nx = 1\n\n# about y\ny = 2\nz = 3\n",
        &[delete("a.y")],
        "[a]\nx = 1\n\nz = 3\n",
        &[1],
    );
}

#[test]
fn delete_items_of_arrays() {
    check_once(
        apply,
        "a = [1, 2, 3, 4]\nb = [\n  1,  # one\n  2,  # two\n  3,  # three\n]\nc = [1]\n",
        &[
            delete("a[0]"),
            delete("a[-1]"),
            delete("b[1]"),
            delete("b[-1]"),
            delete("c[*]"),
        ],
        "a = [2, 3]\nb = [\n  1,  # one\n]\nc = []\n",
        &[1, 1, 1, 1, 1],
    );
    check(
        apply,
        "a = [1, 2, 3]\n",
        &[when(delete("a[*]"), "^[13]$")],
        "a = [2]\n",
        &[2],
    );
}

#[test]
fn rename_keeps_the_table_its_contents_and_place() {
    check(
        apply,
        PYPROJECT,
        &[
            rename("tool.black", "ruff-format"),
            rename("tool.poetry.dependencies.requests", "httpx"),
            rename("tool.poetry.dependencies.httpx.extras", "features"),
        ],
        r#"# Project metadata
[tool.poetry]
name = "acme-api"
version = "0.4.2"
description = 'The ACME API'  # shown on PyPI

[tool.poetry.dependencies]
python = "^3.8"
httpx = { version = "^2.28", features = ["socks"] }
# pinned until the v2 migration
pydantic = "1.10.13"

[tool.ruff-format]
line-length = 100
target-version = ['py38']

# import sorting
[tool.isort]
profile = "black"

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = [
    "E",  # pycodestyle
    "F",  # pyflakes
]

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"#,
        &[1, 1, 1],
    );
}

const PEP621: &str = r#"[project]
name = "acme"
version = "1.0"
dependencies = [
  "httpx>=0.24",
]

[project.optional-dependencies]
dev = ["pytest"]
"#;

#[test]
fn ensure_adds_a_key_at_the_end_of_its_table_and_never_changes_one() {
    check(
        apply,
        PEP621,
        &[
            ensure("project.requires-python", json!(">=3.9")),
            ensure("project.name", json!("other")),
        ],
        r#"[project]
name = "acme"
version = "1.0"
dependencies = [
  "httpx>=0.24",
]
requires-python = ">=3.9"

[project.optional-dependencies]
dev = ["pytest"]
"#,
        &[1, 0],
    );
}

#[test]
fn set_creates_missing_tables_after_their_parent_section() {
    check(
        apply,
        PEP621,
        &[
            set("tool.ruff.lint.select", json!(["E", "F"])),
            set("project.urls", json!({"Homepage": "https://example.com"})),
            set(
                "project.optional-dependencies.test",
                json!(["pytest", {"x": 1}]),
            ),
        ],
        r#"[project]
name = "acme"
version = "1.0"
dependencies = [
  "httpx>=0.24",
]

[project.optional-dependencies]
dev = ["pytest"]
test = ["pytest", { x = 1 }]

[project.urls]
Homepage = "https://example.com"

[tool.ruff.lint]
select = ["E", "F"]
"#,
        &[1, 1, 1],
    );
}

const CARGO: &str = r#"[package]
name = "demo"
version = "0.1.0"
edition = "2021"

[dependencies]
serde = "1.0"   # keep in sync with serde_json
tokio = { version = "1.28", features = ["full"] }

[dev-dependencies]
insta = "1"

[[bin]]
name = "demo"
path = "src/main.rs"

[[bin]]
name = "demo-cli"
path = "src/cli.rs"
"#;

#[test]
fn cargo_manifest_edits() {
    check(
        apply,
        CARGO,
        &[
            set("dependencies.serde", json!("1.0.200")),
            when(
                set("dependencies.tokio.version", json!("1.38")),
                r"^1\.\d+$",
            ),
            when(
                set("bin[*].path", json!("src/bin/$1.rs")),
                r"^src/(\w+)\.rs$",
            ),
            set("package.rust-version", json!("1.80")),
            append("dependencies.tokio.features", json!("tracing")),
        ],
        r#"[package]
name = "demo"
version = "0.1.0"
edition = "2021"
rust-version = "1.80"

[dependencies]
serde = "1.0.200"   # keep in sync with serde_json
tokio = { version = "1.38", features = ["full", "tracing"] }

[dev-dependencies]
insta = "1"

[[bin]]
name = "demo"
path = "src/bin/main.rs"

[[bin]]
name = "demo-cli"
path = "src/bin/cli.rs"
"#,
        &[1, 1, 2, 1, 1],
    );
}

#[test]
fn a_path_across_a_scalar_selects_nothing() {
    check(
        apply,
        CARGO,
        &[
            set("dependencies.serde.version", json!("1.0.200")),
            delete("package.name.x"),
            ensure("package.name.x", json!(1)),
        ],
        CARGO,
        &[0, 0, 0],
    );
}

#[test]
fn arrays_of_tables_take_appends_and_deletes() {
    check_once(
        apply,
        CARGO,
        &[
            delete("bin[0]"),
            append("bin", json!({"name": "demo-web", "path": "src/web.rs"})),
            when(delete("bin[*].name"), "^nothing$"),
        ],
        r#"[package]
name = "demo"
version = "0.1.0"
edition = "2021"

[dependencies]
serde = "1.0"   # keep in sync with serde_json
tokio = { version = "1.28", features = ["full"] }

[dev-dependencies]
insta = "1"

[[bin]]
name = "demo-cli"
path = "src/cli.rs"

[[bin]]
name = "demo-web"
path = "src/web.rs"
"#,
        &[1, 1, 0],
    );
}

#[test]
fn keys_are_added_in_the_style_of_their_table() {
    check(
        apply,
        "[tool]\npoetry.name = \"x\"\npoetry.version = \"1\"\n\n[server]\n  host = \"a\"\n  port = 1\n",
        &[
            set("tool.poetry.license", json!("MIT")),
            set("server.tls", json!(true)),
            set("tool.poetry.urls.home", json!("h")),
        ],
        "[tool]\npoetry.name = \"x\"\npoetry.version = \"1\"\npoetry.license = \"MIT\"\npoetry.urls.home = \"h\"\n\n[server]\n  host = \"a\"\n  port = 1\n  tls = true\n",
        &[1, 1, 1],
    );
}

#[test]
fn wildcards_select_every_match_and_never_create() {
    check(
        apply,
        CARGO,
        &[
            set("*-dependencies.insta", json!("1.40")),
            set("*.nothing-here.x", json!(1)),
        ],
        &CARGO.replace("insta = \"1\"", "insta = \"1.40\""),
        &[1, 0],
    );
}

#[test]
fn rename_onto_an_existing_key_is_a_conflict() {
    let err = apply(CARGO, &[rename("package.version", "name")]).unwrap_err();
    assert_eq!(
        err,
        EditError::Conflict {
            edit: 0,
            op: Op::Rename,
            path: "package.version".into(),
            line: 3,
            message: "the key `name` already exists".into(),
        }
    );
}

#[test]
fn append_to_a_table_or_a_scalar_is_a_conflict() {
    let edits = [
        set("package.edition", json!("2024")),
        append("dependencies.serde", json!("x")),
    ];
    assert_eq!(conflict_at(apply, CARGO, &edits), (1, 7));
    let edits = [append("dev-dependencies", json!("x"))];
    assert_eq!(conflict_at(apply, CARGO, &edits), (0, 10));
}

#[test]
fn values_toml_cannot_hold_are_conflicts() {
    for value in [json!(null), json!([1, null]), json!(u64::MAX)] {
        let err = apply(CARGO, &[set("package.x", value)]).unwrap_err();
        assert!(
            matches!(err, EditError::Conflict { edit: 0, .. }),
            "{err:?}"
        );
    }
    let err = apply(CARGO, &[edit(Op::Set, "package.name")]).unwrap_err();
    assert!(
        matches!(&err, EditError::Conflict { message, .. } if message.contains("needs a value")),
        "{err:?}"
    );
}

#[test]
fn an_invalid_file_is_a_parse_error_with_its_line() {
    parse_error(apply, "[a]\nx = 1\ny = = 2\n", &[delete("a.x")], "toml", 3);
    parse_error(apply, "[a]\nx = 1\n[a]\n", &[], "toml", 3);
}

#[test]
fn nothing_to_do_returns_the_text_as_it_was() {
    let text = "a  =   1 # odd spacing\r\n\r\n[b]   # c\r\nx=2\r\n";
    check(
        apply,
        text,
        &[delete("c"), set("b.x", json!(2))],
        text,
        &[0, 0],
    );
}

#[test]
fn a_key_added_to_a_headerless_table_gives_it_a_header_after_its_tables() {
    check(
        apply,
        "# meta\n[tool.poetry]\nname = \"x\"\n\n[tool.black]\nline-length = 100\n\n[build-system]\nrequires = []\n",
        &[ensure("tool.foo", json!(1))],
        "# meta\n[tool.poetry]\nname = \"x\"\n\n[tool.black]\nline-length = 100\n\n[tool]\nfoo = 1\n\n[build-system]\nrequires = []\n",
        &[1],
    );
}

#[test]
fn set_replaces_a_table_by_an_object_or_a_value() {
    check(
        apply,
        "[a]\nx = 1\n\n# b's comment\n[a.b]\ny = 2\n\n[c]\nz = 3\n",
        &[
            set("a.b", json!({"y": 3, "w": {"k": "v"}})),
            set("c", json!("flat")),
        ],
        // serde_json's maps are sorted: `w` before `y`.
        "c = \"flat\"\n[a]\nx = 1\n\n# b's comment\n[a.b]\nw = { k = \"v\" }\ny = 3\n",
        &[1, 1],
    );
}

#[test]
fn windows_line_endings_stay() {
    check(
        apply,
        "[a]\r\nx = [\r\n  1,\r\n]\r\n",
        &[append("a.x", json!(2)), set("b.c", json!(true))],
        "[a]\r\nx = [\r\n  1,\r\n  2,\r\n]\r\n\r\n[b]\r\nc = true\r\n",
        &[1, 1],
    );
}

#[test]
fn deleting_the_last_item_keeps_the_closing_bracket_and_comments_in_place() {
    let input = r#"[project]
classifiers = [
    "Programming Language :: Python :: 3.9",
    "Programming Language :: Python :: 3.8"
]
geo = [
    "3.10",
    "3.9",  # the GDAL wheels start here
    "3.8"
]
two = [
    "3.9",
    "3.8",  # old
    "3.7"  # older
]
hugged = [
    "3.9",
    "3.8"]
hugged-commented = [
    "3.9",  # why
    "3.8"]
one-line = ["3.9", "3.8" ]
only = [  # none left
    "3.8"
]
"#;
    let expected = r#"[project]
classifiers = [
    "Programming Language :: Python :: 3.9",
]
geo = [
    "3.10",
    "3.9",  # the GDAL wheels start here
]
two = [
    "3.9",
]
hugged = [
    "3.9"]
hugged-commented = [
    "3.9",  # why
    ]
one-line = ["3.9" ]
only = [  # none left
]
"#;
    check(
        apply,
        input,
        &[when(delete("project.*[*]"), r"3\.[0-8]$")],
        expected,
        &[8],
    );
}

/// Found by `proptests`: a dotted table set to an empty map vanished (an
/// empty dotted table prints as nothing), so the next run created it again.
#[test]
fn a_dotted_table_set_to_an_empty_map_stays() {
    let input = "name = \"x\"\n\"k 1\".a = 1\n[b]\nc = 2\n";
    let expected = "name = \"x\"\n\n[\"k 1\"]\n[b]\nc = 2\n";
    check(apply, input, &[set("\"k 1\"", json!({}))], expected, &[1]);
    let expected = "name = \"x\"\n\"k 1\".x = {}\n[b]\nc = 2\n";
    check(
        apply,
        input,
        &[set("\"k 1\"", json!({"x": {}}))],
        expected,
        &[1],
    );
}
