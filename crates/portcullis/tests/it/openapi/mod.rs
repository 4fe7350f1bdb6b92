//! The served OpenAPI document against the running application: the router answers
//! exactly the documented (method, path) pairs, and every operation, called on its
//! successful path, answers a documented status with the documented content type and
//! a body of the documented schema. (The web crate's unit tests hold each documented
//! request body against its handler's type.)

mod walk;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

/// Methods a route can be given. HEAD is left out: axum answers it for every GET,
/// and the document, like most, leaves it implied.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "patch", "trace"];

/// The document's operations as `(method, path)`.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if METHODS.contains(&method.as_str()) || method == "head" {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

async fn served_document(app: &TestApp) -> Value {
    let res = app.get(&app.client, "/api/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("the document is JSON")
}

/// Asks the router itself: every path the document or `paths.rs` names, with every
/// method. Anything but 404 and 405 (from the router, before any handler) means the
/// pair is served; an anonymous request without a body never reaches a handler that
/// could answer 404 itself.
#[tokio::test]
async fn the_router_serves_exactly_the_documented_operations() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = served_document(&app).await;
    let mut paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    paths.extend(
        include_str!("../../../../portcullis-web/src/paths.rs")
            .lines()
            .filter(|l| l.starts_with("pub const API_") && l.contains("\"/api/v1/"))
            .filter_map(|l| l.split('"').nth(1))
            .map(str::to_owned),
    );
    let mut served = BTreeSet::new();
    for path in &paths {
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace("{name}", "ops");
        for method in METHODS {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.client.request(m, app.url(&concrete)).send().await.unwrap();
            if ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&res.status()) {
                served.insert((method.to_owned(), path.clone()));
            }
        }
    }
    let documented = documented(&doc);
    assert!(served.len() >= 30, "{} operations served", served.len());
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served, undocumented: {missing:?}; documented, not served: {extra:?}"
    );
}

/// Calls made on the happy path, each checked against the document as it comes.
pub(super) struct Calls {
    doc: Value,
    /// The statuses seen per documented operation.
    seen: BTreeMap<(String, String), BTreeSet<u16>>,
    drift: Vec<String>,
}

impl Calls {
    fn new(doc: Value) -> Self {
        Self { doc, seen: BTreeMap::new(), drift: Vec::new() }
    }

    /// Records `res` as the answer of the documented operation `method template`;
    /// returns its JSON body (`Null` when it has none).
    pub(super) async fn check(&mut self, method: &str, template: &str, res: reqwest::Response) -> Value {
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().trim().to_owned());
        let text = res.text().await.unwrap();
        let at = format!("{method} {template} → {status}");
        assert!(status.is_success(), "{at}: the happy path failed: {text}");
        self.seen.entry((method.to_owned(), template.to_owned())).or_default().insert(status.as_u16());
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        let Some(response) = self.doc["paths"][template][method]["responses"].get(status.as_str()).cloned()
        else {
            self.drift.push(format!("{at}: status not documented"));
            return body;
        };
        match (response.get("content"), content_type) {
            (None, _) if text.is_empty() => {}
            (None, ct) => self.drift.push(format!("{at}: documented without a body, got {ct:?}: {text}")),
            (Some(content), Some(ct)) if content.get(&ct).is_some() => {
                let mut errors = Vec::new();
                validate(&self.doc, &body, &content[&ct]["schema"], "$", &mut errors);
                self.drift.extend(errors.into_iter().map(|e| format!("{at}: {e}")));
            }
            (Some(content), ct) => {
                let documented: Vec<_> = content.as_object().unwrap().keys().collect();
                self.drift.push(format!("{at}: content type {ct:?}, documented {documented:?}"));
            }
        }
        body
    }

    /// Every documented success status was seen, but those of `unreachable`; and no
    /// response drifted.
    fn finish(self, unreachable: &[(&str, &str)]) {
        let mut drift = self.drift;
        for (method, path) in documented(&self.doc) {
            if unreachable.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let responses = self.doc["paths"][&path][&method]["responses"].as_object().unwrap();
            let seen = self.seen.get(&(method.clone(), path.clone()));
            for status in responses.keys().filter(|s| s.starts_with('2')) {
                if !seen.is_some_and(|s| s.contains(&status.parse().unwrap())) {
                    drift.push(format!("{method} {path}: documented {status} never answered"));
                }
            }
        }
        assert!(drift.is_empty(), "the document drifted from the answers:\n{}", drift.join("\n"));
    }
}

/// Checks `value` against the subset of JSON Schema the document uses: `$ref`,
/// `oneOf`, `const`, `enum`, `type` (one or a list), `format` (uuid, date-time,
/// email), object `properties` and `required` (and no property the schema does not
/// name, where it names any), array `items`, `minItems` and `maxItems`.
fn validate(doc: &Value, value: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let target = doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("{r} resolves"));
        return validate(doc, value, target, at, errors);
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let matching = alternatives
            .iter()
            .filter(|s| {
                let mut e = Vec::new();
                validate(doc, value, s, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{at}: {matching} of the oneOf alternatives match {value}"));
        }
        return;
    }
    if let Some(c) = schema.get("const").filter(|c| *c != value) {
        errors.push(format!("{at}: {value} is not the constant {c}"));
    }
    if let Some(e) = schema["enum"].as_array().filter(|e| !e.contains(value)) {
        errors.push(format!("{at}: {value} is none of {e:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| is_type(value, t)) {
        errors.push(format!("{at}: {value} is not of type {types:?}"));
        return;
    }
    if let (Value::Object(object), Some(properties)) = (value, schema["properties"].as_object()) {
        for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required `{name}` missing"));
            }
        }
        for (name, v) in object {
            match properties.get(name) {
                Some(s) => validate(doc, v, s, &format!("{at}.{name}"), errors),
                None => errors.push(format!("{at}: `{name}` is not documented")),
            }
        }
    }
    if let (Some(format), Some(s)) = (schema["format"].as_str(), value.as_str()) {
        let valid = match format {
            "uuid" => uuid::Uuid::parse_str(s).is_ok(),
            "date-time" => {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
            }
            "email" => s.contains('@'),
            _ => true,
        };
        if !valid {
            errors.push(format!("{at}: {s:?} is not a {format}"));
        }
    }
    if let Value::Array(items) = value {
        let (min, max) = (schema["minItems"].as_u64(), schema["maxItems"].as_u64());
        let len = items.len() as u64;
        if min.is_some_and(|m| len < m) || max.is_some_and(|m| len > m) {
            errors.push(format!("{at}: {len} items, documented {min:?}..={max:?}"));
        }
    }
    if let (Value::Array(items), Some(schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(doc, item, schema, &format!("{at}[{i}]"), errors);
        }
    }
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => panic!("unknown JSON type {t}"),
    }
}
