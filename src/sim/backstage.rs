//! A loopback stand-in for Backstage's catalog API, for tests: `GET
//! /api/catalog/entities/by-query` with Backstage's query parameters
//! (`filter` sets ORed, their conditions ANDed, a key repeated in a set
//! matching any of its values, compared case-insensitively; `fields`;
//! `limit`, 20 by default; `cursor`), opaque cursors that carry the query
//! (a `filter` beside a `cursor` is ignored, as Backstage does),
//! `totalItems` and `pageInfo.nextCursor`, and the bearer token it was
//! started with. Its entities can be changed while it runs, and it can be
//! told to answer as a misconfigured server would (an HTML page, a 500).
//! Every request is recorded (method, path, query; never the token) for
//! the contract test.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::net::{Server, base64_decode, base64_encode, percent_decode};
use crate::catalog::Catalog;

/// How the simulator misbehaves on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackstageFault {
    /// Every answer is the web frontend's HTML page (a URL pointing at
    /// Backstage's frontend, or a login proxy).
    Html,
    /// Every answer is a 500 with Backstage's error body.
    ServerError,
}

/// One request as the simulator saw it (the token is never kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackstageRequest {
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The `Authorization` scheme (`Bearer`), when one was sent.
    pub auth_scheme: Option<String>,
}

#[derive(Debug)]
struct Inner {
    token: String,
    entities: Vec<Value>,
    /// The most entities one page holds, whatever `limit` asks.
    max_limit: usize,
    fault: Option<BackstageFault>,
    requests: Vec<BackstageRequest>,
}

/// A running Backstage catalog simulator; stops when dropped.
#[derive(Debug)]
pub struct BackstageSim {
    server: Server,
    inner: Arc<Mutex<Inner>>,
}

impl BackstageSim {
    /// Serve `entities`, requiring `token`, at most `max_limit` a page.
    pub async fn start(
        token: &str,
        entities: Vec<Value>,
        max_limit: usize,
    ) -> io::Result<BackstageSim> {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.to_string(),
            entities,
            max_limit: max_limit.max(1),
            fault: None,
            requests: Vec::new(),
        }));
        let state = Arc::clone(&inner);
        let server = Server::start(move |_, _| {
            Router::new()
                .route(
                    "/api/catalog/entities/by-query",
                    axum::routing::get(by_query),
                )
                .fallback(not_found)
                .with_state(state)
        })
        .await?;
        Ok(BackstageSim { server, inner })
    }

    /// The base URL a campaign names: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// Serve these entities from now on.
    pub fn set_entities(&self, entities: Vec<Value>) {
        self.lock().entities = entities;
    }

    /// Misbehave (or stop misbehaving).
    pub fn set_fault(&self, fault: Option<BackstageFault>) {
        self.lock().fault = fault;
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<BackstageRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The query a cursor carries.
struct Query {
    filters: Vec<String>,
    offset: usize,
}

async fn by_query(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    inner.requests.push(BackstageRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: raw.clone().unwrap_or_default(),
        auth_scheme: auth
            .as_deref()
            .and_then(|a| a.split_once(' '))
            .map(|(scheme, _)| scheme.to_string()),
    });
    match inner.fault {
        Some(BackstageFault::Html) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html><html><head><title>Backstage</title></head><body><div id=\"root\"></div></body></html>",
            )
                .into_response();
        }
        Some(BackstageFault::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Error",
                "the database is not reachable",
                &uri,
            );
        }
        None => {}
    }
    let expected = format!("Bearer {}", inner.token);
    if auth.as_deref() != Some(expected.as_str()) {
        let message = if auth.is_none() {
            "Missing credentials"
        } else {
            "Illegal token"
        };
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            message,
            &uri,
        );
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (percent_decode(k), percent_decode(v)) {
            (Some(k), Some(v)) => params.push((k, v)),
            _ => return input_error(&format!("`{pair}` is not percent-encoded"), &uri),
        }
    }
    let mut filters = Vec::new();
    let mut fields: Option<Vec<String>> = None;
    let mut limit = 20usize;
    let mut cursor = None;
    for (k, v) in params {
        match k.as_str() {
            "filter" => filters.push(v),
            "fields" => fields = Some(v.split(',').map(|f| f.trim().to_string()).collect()),
            "limit" => match v.parse::<usize>() {
                Ok(n) => limit = n,
                Err(_) => return input_error(&format!("limit `{v}` is not a number"), &uri),
            },
            "cursor" if !v.is_empty() => cursor = Some(v),
            other => {
                return input_error(&format!("unknown query parameter `{other}`"), &uri);
            }
        }
    }
    let query = match cursor {
        None => Query { filters, offset: 0 },
        Some(c) => match decode_cursor(&c) {
            Some(q) => q,
            None => return input_error("Malformed cursor", &uri),
        },
    };
    let mut matching: Vec<&Value> = inner
        .entities
        .iter()
        .filter(|e| query.filters.is_empty() || query.filters.iter().any(|f| matches(e, f)))
        .collect();
    matching.sort_by_key(|e| sort_key(e));
    let total = matching.len();
    let limit = limit.min(inner.max_limit);
    let end = (query.offset + limit).min(total);
    let items: Vec<Value> = matching
        .get(query.offset.min(total)..end)
        .unwrap_or_default()
        .iter()
        .map(|e| match &fields {
            Some(fields) => prune(e, fields),
            None => (*e).clone(),
        })
        .collect();
    let mut page_info = serde_json::Map::new();
    if end < total {
        page_info.insert(
            "nextCursor".into(),
            Value::String(encode_cursor(&Query {
                filters: query.filters.clone(),
                offset: end,
            })),
        );
    }
    if query.offset > 0 {
        page_info.insert(
            "prevCursor".into(),
            Value::String(encode_cursor(&Query {
                filters: query.filters.clone(),
                offset: query.offset.saturating_sub(limit),
            })),
        );
    }
    axum::Json(json!({
        "items": items,
        "totalItems": total,
        "pageInfo": page_info,
    }))
    .into_response()
}

async fn not_found(uri: Uri) -> Response {
    error(StatusCode::NOT_FOUND, "NotFoundError", "Not Found", &uri)
}

/// Backstage's error body.
fn error(status: StatusCode, name: &str, message: &str, uri: &Uri) -> Response {
    (
        status,
        axum::Json(json!({
            "error": {"name": name, "message": message},
            "request": {"method": "GET", "url": uri.to_string()},
            "response": {"statusCode": status.as_u16()},
        })),
    )
        .into_response()
}

fn input_error(message: &str, uri: &Uri) -> Response {
    error(StatusCode::BAD_REQUEST, "InputError", message, uri)
}

fn encode_cursor(q: &Query) -> String {
    let text = json!({"filters": q.filters, "offset": q.offset}).to_string();
    base64_encode(text.as_bytes())
}

fn decode_cursor(c: &str) -> Option<Query> {
    let bytes = base64_decode(c)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some(Query {
        filters: v
            .get("filters")?
            .as_array()?
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect(),
        offset: usize::try_from(v.get("offset")?.as_u64()?).ok()?,
    })
}

/// Backstage's default order: by entity reference.
fn sort_key(e: &Value) -> (String, String, String) {
    let s = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let m = e.get("metadata");
    (
        s(e.get("kind")),
        m.and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_ascii_lowercase(),
        s(m.and_then(|m| m.get("name"))),
    )
}

/// Whether `entity` passes one filter set (`kind=component,spec.type=service`).
fn matches(entity: &Value, set: &str) -> bool {
    let mut flat: BTreeMap<String, Vec<String>> = BTreeMap::new();
    flatten(entity, String::new(), &mut flat);
    // A namespace left out is `default`.
    flat.entry("metadata.namespace".into())
        .or_insert_with(|| vec!["default".into()]);
    let mut wanted: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for condition in set.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (key, value) = match condition.split_once('=') {
            Some((k, v)) => (k, Some(v.trim().to_lowercase())),
            None => (condition, None),
        };
        wanted
            .entry(key.trim().to_lowercase())
            .or_default()
            .push(value);
    }
    wanted.iter().all(|(key, values)| {
        let Some(have) = flat.get(key) else {
            return false;
        };
        values.iter().any(|v| match v {
            None => true,
            Some(v) => have.iter().any(|h| h == v),
        })
    })
}

/// Every scalar of `v` under its dotted, lowercased path (list items
/// under their list's path).
fn flatten(v: &Value, path: String, out: &mut BTreeMap<String, Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.to_lowercase()
                } else {
                    format!("{path}.{}", k.to_lowercase())
                };
                flatten(v, p, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten(item, path.clone(), out);
            }
        }
        Value::String(s) => out.entry(path).or_default().push(s.to_lowercase()),
        Value::Number(n) => out.entry(path).or_default().push(n.to_string()),
        Value::Bool(b) => out.entry(path).or_default().push(b.to_string()),
        Value::Null => {}
    }
}

/// Only the parts of `entity` that `fields` name.
fn prune(entity: &Value, fields: &[String]) -> Value {
    let mut out = Value::Object(serde_json::Map::new());
    for field in fields {
        let keys: Vec<&str> = field.split('.').collect();
        let mut from = entity;
        let mut found = true;
        for k in &keys {
            match from.get(k) {
                Some(v) => from = v,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        put(&mut out, &keys, from.clone());
    }
    out
}

/// Set `value` at the path `keys` of `into`, making objects on the way.
fn put(into: &mut Value, keys: &[&str], value: Value) {
    let Some(map) = into.as_object_mut() else {
        return;
    };
    match keys {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => put(
            map.entry((*first).to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new())),
            rest,
            value,
        ),
    }
}

/// The entities of a catalog read from files, as Backstage's API gives
/// them: each component's repository as an absolute
/// `backstage.io/source-location`, and a `backstage.io/managed-by-location`
/// naming the file it came from.
pub fn entities_of(catalog: &Catalog) -> Vec<Value> {
    let refs = |r: &[crate::catalog::EntityRef]| -> Vec<String> {
        r.iter().map(ToString::to_string).collect()
    };
    let mut out = Vec::new();
    for g in &catalog.groups {
        let mut annotations = serde_json::Map::new();
        if let Some(slug) = &g.team_slug {
            annotations.insert("github.com/team-slug".into(), json!(slug));
        }
        annotations.insert(
            "backstage.io/managed-by-location".into(),
            json!(format!("file:{}", g.origin.path.display())),
        );
        let mut profile = serde_json::Map::new();
        if let Some(n) = &g.display_name {
            profile.insert("displayName".into(), json!(n));
        }
        if let Some(e) = &g.email {
            profile.insert("email".into(), json!(e));
        }
        out.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {
                "name": g.entity.name, "namespace": g.entity.namespace,
                "uid": format!("uid-{}", g.entity), "etag": "e1",
                "annotations": annotations,
            },
            "spec": {
                "type": g.spec_type, "profile": profile,
                "children": refs(&g.children), "members": refs(&g.members),
            },
            "relations": [],
        }));
    }
    for u in &catalog.users {
        let mut annotations = serde_json::Map::new();
        if let Some(login) = &u.github_login {
            annotations.insert("github.com/user-login".into(), json!(login));
        }
        let mut profile = serde_json::Map::new();
        if let Some(n) = &u.display_name {
            profile.insert("displayName".into(), json!(n));
        }
        if let Some(e) = &u.email {
            profile.insert("email".into(), json!(e));
        }
        out.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "User",
            "metadata": {
                "name": u.entity.name, "namespace": u.entity.namespace,
                "uid": format!("uid-{}", u.entity), "annotations": annotations,
            },
            "spec": {"profile": profile, "memberOf": refs(&u.member_of)},
        }));
    }
    for c in &catalog.components {
        let mut annotations: serde_json::Map<String, Value> = c
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if let Some(r) = &c.repository {
            annotations.insert(
                "backstage.io/source-location".into(),
                json!(format!("url:{}", r.url)),
            );
        }
        annotations.insert(
            "backstage.io/managed-by-location".into(),
            json!(format!("file:{}", c.origin.path.display())),
        );
        let mut spec = json!({
            "type": c.spec_type, "lifecycle": c.lifecycle, "owner": c.owner.to_string(),
        });
        if let Some(system) = &c.system {
            spec["system"] = json!(system.to_string());
        }
        out.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": c.entity.name, "namespace": c.entity.namespace,
                "uid": format!("uid-{}", c.entity), "etag": "e1",
                "title": c.title, "description": c.description,
                "tags": c.tags, "annotations": annotations,
            },
            "spec": spec,
            "relations": [{"type": "ownedBy", "targetRef": c.owner.to_string()}],
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &str, lifecycle: &str) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
               "metadata": {"name": name, "annotations": {"backstage.io/source-location": "url:https://github.com/acme/x"}},
               "spec": {"type": "service", "lifecycle": lifecycle, "owner": "team-a"}})
    }

    #[test]
    fn filter_sets_and_conditions() {
        let c = component("a", "Production");
        assert!(matches(&c, "kind=component"));
        assert!(matches(&c, "kind=Component,spec.lifecycle=production"));
        assert!(!matches(&c, "kind=component,spec.lifecycle=experimental"));
        assert!(matches(
            &c,
            "kind=component,spec.lifecycle=experimental,spec.lifecycle=production"
        ));
        assert!(matches(
            &c,
            "metadata.annotations.backstage.io/source-location"
        ));
        assert!(matches(&c, "metadata.namespace=default"));
        assert!(!matches(&c, "kind=group"));
    }

    #[test]
    fn fields_prune_the_rest() {
        let c = component("a", "production");
        let p = prune(
            &c,
            &["kind".into(), "metadata.name".into(), "spec.owner".into()],
        );
        assert_eq!(
            p,
            json!({"kind": "Component", "metadata": {"name": "a"}, "spec": {"owner": "team-a"}})
        );
    }

    #[test]
    fn cursors_carry_the_query() {
        let c = encode_cursor(&Query {
            filters: vec!["kind=group".into()],
            offset: 7,
        });
        let q = decode_cursor(&c).unwrap();
        assert_eq!((q.filters, q.offset), (vec!["kind=group".to_string()], 7));
        assert!(decode_cursor("not a cursor").is_none());
    }
}
