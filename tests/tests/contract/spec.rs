//! What prism lets through: GitHub's description rarely closes its schemas
//! (`additionalProperties: false`), and prism ignores query parameters it
//! does not know, so a misspelt `per_pag=100` or `"draf": true` would
//! validate. This checks each request's query parameter names and the
//! top-level fields of its JSON body against the operation's declared ones.

use std::path::Path;

use serde_json::Value;

/// GitHub's OpenAPI description, parsed.
pub struct Description {
    root: Value,
}

impl Description {
    pub fn load(path: &Path) -> Result<Description, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let root: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if root.pointer("/paths").and_then(Value::as_object).is_none() {
            return Err(format!("{}: no paths", path.display()));
        }
        Ok(Description { root })
    }

    /// `$ref`s followed (within this document).
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(r) => match r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                    Some(target) => value = target,
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }

    /// The path template matching `path` (the one with most literal
    /// segments) and its operation for `method`.
    pub fn operation(&self, method: &str, path: &str) -> Option<(String, &Value, &Value)> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let paths = self.root["paths"].as_object()?;
        let mut best: Option<(usize, &String, &Value)> = None;
        for (template, item) in paths {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let fits = parts.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.is_none_or(|(n, _, _)| literal > n) {
                best = Some((literal, template, item));
            }
        }
        let (_, template, item) = best?;
        let op = item.get(method.to_ascii_lowercase())?;
        Some((template.clone(), item, op))
    }

    /// The query parameter names the operation declares.
    fn query_names(&self, item: &Value, op: &Value) -> Vec<String> {
        [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// The top-level properties a JSON body of the operation may have:
    /// `None` when its schema does not list any (an array, free form).
    fn body_fields(&self, op: &Value) -> Option<Vec<String>> {
        let body = self.resolve(op.get("requestBody")?);
        let schema = body.pointer("/content/application~1json/schema")?;
        let mut fields = Vec::new();
        self.collect_fields(schema, &mut fields, 0);
        (!fields.is_empty()).then_some(fields)
    }

    fn collect_fields(&self, schema: &Value, out: &mut Vec<String>, depth: usize) {
        let schema = self.resolve(schema);
        if depth > 8 {
            return;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            out.extend(props.keys().cloned());
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for branch in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.collect_fields(branch, out, depth + 1);
            }
        }
    }

    /// What in the request the description does not declare (beyond what
    /// prism reports).
    pub fn undeclared(&self, method: &str, target: &str, body: &str) -> Vec<String> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let Some((template, item, op)) = self.operation(method, path) else {
            return vec![format!(
                "{method} {path}: no such operation in the description"
            )];
        };
        let mut problems = Vec::new();
        let names = self.query_names(item, op);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap_or("");
            if !names.iter().any(|n| n == name) {
                problems.push(format!(
                    "query parameter `{name}` is not a parameter of {} {template} (it has: {})",
                    method.to_ascii_uppercase(),
                    names.join(", ")
                ));
            }
        }
        let body = body.trim();
        if body.is_empty() {
            return problems;
        }
        if op.get("requestBody").is_none() {
            problems.push(format!(
                "{} {template} takes no body, and the request has one",
                method.to_ascii_uppercase()
            ));
            return problems;
        }
        if let (Ok(Value::Object(sent)), Some(fields)) =
            (serde_json::from_str::<Value>(body), self.body_fields(op))
        {
            for key in sent.keys() {
                if !fields.contains(key) {
                    problems.push(format!(
                        "body field `{key}` is not a field of {} {template} (it has: {})",
                        method.to_ascii_uppercase(),
                        fields.join(", ")
                    ));
                }
            }
        }
        problems
    }
}
