//! The Backstage contract test: every request the live-catalog client makes
//! is checked against the catalog's own OpenAPI description, the one
//! Backstage publishes in `@backstage/plugin-catalog-backend`
//! (`dist/schema/openapi/generated/router.cjs.js`, exported as `spec`).
//!
//! The first run fetches that package (pinned) with `npm pack` into the
//! git-ignored `.cache/npm/backstage` and extracts the description with
//! node; `npm install` is not used because the package depends on a whole
//! backend (database drivers and more), of which only this one file is
//! needed. Without Node.js and npm the test fails with the install hint.
//!
//! prism is not used here: the description is OpenAPI 3.1 with the
//! catalog's paths relative to its mount point (`/api/catalog`), and what
//! is checked is the request (method, path, query parameters and their
//! schemas, the bearer token), which [`Description::violations`] does
//! directly. A test shows that deliberately wrong requests are caught.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fleetwright::backstage::{BackstageSource, Client, Condition};
use fleetwright::secret::Secret;
use fleetwright::sim::backstage::{BackstageRequest, BackstageSim};
use serde_json::{Value, json};

use crate::github::runtime;

/// The package that carries the description. A changed pin fetches again.
const PACKAGE: &str = "@backstage/plugin-catalog-backend@4.0.5";
/// Where in the package the description is.
const SPEC_FILE: &str = "package/dist/schema/openapi/generated/router.cjs.js";
/// Where the catalog's API is mounted below Backstage's base URL.
const MOUNT: &str = "/api/catalog";
const INSTALL_HINT: &str = "install Node.js and npm: apt-get install nodejs npm";
const TOKEN: &str = "bstk-contract-0000";

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/npm/backstage")
}

fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The catalog's OpenAPI description, fetched and extracted once.
fn description() -> Result<Value, String> {
    let dir = cache_dir();
    let spec_json = dir.join("catalog-openapi.json");
    let stamp = dir.join(".fleetwright-package");
    let ready =
        || fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == PACKAGE) && spec_json.is_file();
    if !ready() {
        fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let lock = File::create(dir.join(".install.lock")).map_err(|e| e.to_string())?;
        lock.lock().map_err(|e| e.to_string())?;
        if !ready() {
            fetch(&dir, &spec_json)?;
            fs::write(&stamp, format!("{PACKAGE}\n")).map_err(|e| e.to_string())?;
        }
    }
    let text = fs::read_to_string(&spec_json).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", spec_json.display()))
}

/// `npm pack` the package, unpack it, and write its `spec` as JSON.
fn fetch(dir: &Path, spec_json: &Path) -> Result<(), String> {
    let npm = find_program("npm").ok_or_else(|| {
        format!("the Backstage contract test fetches {PACKAGE} with npm, and `npm` is not on PATH; {INSTALL_HINT}")
    })?;
    let node = find_program("node").ok_or_else(|| {
        format!("the Backstage contract test extracts the description with node, and `node` is not on PATH; {INSTALL_HINT}")
    })?;
    let out = Command::new(&npm)
        .args(["pack", PACKAGE, "--pack-destination"])
        .arg(dir)
        .args(["--silent", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running npm: {e}; {INSTALL_HINT}"))?;
    if !out.status.success() {
        return Err(format!(
            "`npm pack {PACKAGE}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tarball = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(dir.join(&tarball))
        .arg("-C")
        .arg(dir)
        .status()
        .map_err(|e| format!("running tar: {e}"))?;
    if !status.success() {
        return Err(format!("unpacking {tarball} failed ({status})"));
    }
    let module = dir.join(SPEC_FILE);
    if !module.is_file() {
        return Err(format!(
            "{PACKAGE} has no {SPEC_FILE}: the description moved; find it in the package and update SPEC_FILE"
        ));
    }
    // The module requires the backend's OpenAPI utilities only to build a
    // router; the description is a plain object beside it.
    let script = format!(
        "const M=require('module');const load=M._load;\
         M._load=function(r,...a){{if(r==='@backstage/backend-openapi-utils')return {{}};return load.call(this,r,...a)}};\
         process.stdout.write(JSON.stringify(require({}).spec))",
        serde_json::to_string(&module.display().to_string()).unwrap()
    );
    let out = Command::new(&node)
        .args(["-e", &script])
        .output()
        .map_err(|e| format!("running node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "extracting the description failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    fs::write(spec_json, &out.stdout).map_err(|e| e.to_string())
}

/// The description, and the checks of one request against it.
struct Description(Value);

impl Description {
    /// What is wrong with a request; empty when it is one the description
    /// allows.
    fn violations(&self, r: &BackstageRequest) -> Vec<String> {
        let mut out = Vec::new();
        let Some(path) = r.path.strip_prefix(MOUNT) else {
            return vec![format!(
                "{} is not below the catalog's mount point {MOUNT}",
                r.path
            )];
        };
        let Some((template, item)) = self.0["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .find(|(t, _)| path_matches(t, path))
        else {
            return vec![format!("no path of the description matches {path}")];
        };
        let Some(operation) = item.get(r.method.to_ascii_lowercase()) else {
            return vec![format!("{template} has no {} operation", r.method)];
        };
        let params: Vec<Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p["in"] == "query")
            .collect();
        let mut seen: Vec<String> = Vec::new();
        for pair in r.query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(name), Some(value)) = (decode(name), decode(value)) else {
                out.push(format!("`{pair}` is not percent-encoded"));
                continue;
            };
            let Some(param) = params.iter().find(|p| p["name"] == name.as_str()) else {
                out.push(format!(
                    "query parameter `{name}` is not declared by {template}"
                ));
                continue;
            };
            let schema = &param["schema"];
            let is_array = schema["type"] == "array";
            let explode = param["explode"].as_bool().unwrap_or(true);
            if seen.contains(&name) && !(is_array && explode) {
                out.push(format!("query parameter `{name}` is given twice"));
            }
            seen.push(name.clone());
            let values: Vec<String> = if is_array && !explode {
                value.split(',').map(str::to_string).collect()
            } else {
                vec![value]
            };
            let item_schema = if is_array { &schema["items"] } else { schema };
            for v in values {
                if let Some(problem) = check_value(item_schema, &v) {
                    out.push(format!("query parameter `{name}` = `{v}`: {problem}"));
                }
            }
        }
        for p in &params {
            if p["required"] == true && !seen.iter().any(|s| p["name"] == s.as_str()) {
                out.push(format!("required query parameter {} is missing", p["name"]));
            }
        }
        let bearer = self.0["components"]["securitySchemes"]["JWT"]["scheme"] == "bearer";
        if bearer && r.auth_scheme.as_deref() != Some("Bearer") {
            out.push("no bearer token (the description's JWT security scheme)".to_string());
        }
        out
    }

    fn resolve(&self, v: &Value) -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.trim_start_matches('#');
                self.0.pointer(pointer).cloned().unwrap_or(Value::Null)
            }
            None => v.clone(),
        }
    }
}

/// `/entities/by-name/{kind}/{namespace}/{name}` matches `/entities/by-name/a/b/c`.
fn path_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// Whether `v` fits a scalar schema (type, minimum, minLength, enum).
fn check_value(schema: &Value, v: &str) -> Option<String> {
    match schema["type"].as_str() {
        Some("integer") => match v.parse::<i64>() {
            Err(_) => return Some("not an integer".into()),
            Ok(n) if schema["minimum"].as_i64().is_some_and(|m| n < m) => {
                return Some(format!("under the minimum {}", schema["minimum"]));
            }
            Ok(_) => {}
        },
        Some("number") if v.parse::<f64>().is_err() => return Some("not a number".into()),
        Some("boolean") if v != "true" && v != "false" => return Some("not a boolean".into()),
        _ => {}
    }
    if schema["minLength"]
        .as_u64()
        .is_some_and(|m| (v.chars().count() as u64) < m)
    {
        return Some(format!("shorter than minLength {}", schema["minLength"]));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.iter().any(|a| a == v)
    {
        return Some(format!("not one of {allowed:?}"));
    }
    None
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn entities() -> Vec<Value> {
    let mut out: Vec<Value> = (0..5)
        .map(|i| {
            json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                   "metadata": {"name": format!("svc-{i}"), "annotations": {"github.com/project-slug": format!("acme/svc-{i}")}},
                   "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}})
        })
        .collect();
    out.push(
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
                    "metadata": {"name": "team-a"}, "spec": {"type": "team", "children": []}}),
    );
    out
}

fn load() -> Description {
    match description() {
        Ok(spec) => Description(spec),
        Err(e) => panic!("the Backstage contract test cannot get its description: {e}"),
    }
}

#[test]
fn every_backstage_request_matches_the_catalogs_openapi_description() {
    let description = load();
    let rt = runtime();
    let requests = rt.block_on(async {
        let sim = BackstageSim::start(TOKEN, entities(), 2).await.unwrap();
        let source = BackstageSource {
            url: sim.url(),
            token_env: "UNUSED".into(),
            filter: vec![Condition {
                key: "spec.lifecycle".into(),
                values: vec!["production".into(), "experimental".into()],
            }],
        };
        let client = Client::new(&source, Secret::new(TOKEN))
            .unwrap()
            .with_page_size(2);
        let snapshot = client.read(&mut |_| {}).await.unwrap();
        assert_eq!(snapshot.entities.len(), 6);
        sim.requests()
    });
    assert!(requests.len() >= 3, "several pages: {requests:?}");
    for r in &requests {
        let v = description.violations(r);
        assert!(v.is_empty(), "{r:?} breaks the description: {v:?}");
        eprintln!("valid: {} {}?{}", r.method, r.path, r.query);
    }
}

#[test]
fn the_validator_catches_wrong_requests() {
    let description = load();
    let good = BackstageRequest {
        method: "GET".into(),
        path: "/api/catalog/entities/by-query".into(),
        query: "filter=kind=component,spec.lifecycle=production&filter=kind=group&fields=kind,metadata.name&limit=500".into(),
        auth_scheme: Some("Bearer".into()),
    };
    assert_eq!(description.violations(&good), Vec::<String>::new());
    let wrong = |f: &dyn Fn(&mut BackstageRequest)| {
        let mut r = good.clone();
        f(&mut r);
        r
    };
    for (what, r) in [
        (
            "a path not in the description",
            wrong(&|r| r.path = "/api/catalog/entities/by-querie".into()),
        ),
        (
            "outside the mount point",
            wrong(&|r| r.path = "/entities/by-query".into()),
        ),
        ("a method it lacks", wrong(&|r| r.method = "DELETE".into())),
        (
            "an undeclared parameter",
            wrong(&|r| r.query.push_str("&page=2")),
        ),
        ("a negative limit", wrong(&|r| r.query = "limit=-1".into())),
        (
            "a limit that is not a number",
            wrong(&|r| r.query = "limit=ten".into()),
        ),
        ("an empty cursor", wrong(&|r| r.query = "cursor=".into())),
        (
            "fields twice",
            wrong(&|r| r.query = "fields=kind&fields=spec".into()),
        ),
        (
            "totalItems outside its enum",
            wrong(&|r| r.query = "totalItems=all".into()),
        ),
        ("no bearer token", wrong(&|r| r.auth_scheme = None)),
    ] {
        assert!(
            !description.violations(&r).is_empty(),
            "{what} was not caught: {r:?}"
        );
    }
}
