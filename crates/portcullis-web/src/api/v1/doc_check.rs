//! Holds the OpenAPI document against the routes as registered (`Routes`): the same
//! operations, no more and no fewer, and each request body as its handler's type
//! reads it. The type itself is the oracle: its field names come from its
//! `Deserialize` impl, and whether a field is required, and of which JSON type, is
//! found by asking serde to read bodies built from the document.

use std::collections::BTreeSet;

use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value, json};

/// One operation as registered.
pub(super) struct Operation {
    pub(super) method: &'static str,
    pub(super) path: &'static str,
    pub(super) body: Option<Body>,
}

/// The request body a handler reads.
pub(super) struct Body {
    required: bool,
    fields: &'static [&'static str],
    parse: fn(Value) -> Result<(), String>,
}

impl Body {
    pub(super) fn of<T: DeserializeOwned>(required: bool) -> Self {
        Self { required, fields: field_names::<T>(), parse: parse::<T> }
    }
}

fn parse<T: DeserializeOwned>(v: Value) -> Result<(), String> {
    serde_json::from_value::<T>(v).map(drop).map_err(|e| e.to_string())
}

/// The JSON names of a struct's fields, as its derived `Deserialize` announces them.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe(Option<&'static [&'static str]>);

    impl<'de> de::Deserializer<'de> for &mut Probe {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("a request body is a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("probed"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut probe = Probe(None);
    let _ = T::deserialize(&mut probe);
    probe.0.expect("a request body is a struct with named fields")
}

fn document() -> Value {
    serde_json::from_str(crate::api::OPENAPI).expect("the OpenAPI document is JSON")
}

/// The document's operations as `(method, path)`.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            // A path item also holds its shared `parameters`.
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                .contains(&method.as_str())
            {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

/// A value of the schema's type. The WebAuthn credentials are opaque objects to the
/// document, so they get one webauthn-rs reads (both kinds ignore the other's fields).
fn example(name: &str, schema: &Value) -> Value {
    if name == "credential" {
        let b64 = "AAAA";
        return json!({
            "id": b64, "rawId": b64, "type": "public-key", "extensions": {},
            "response": {
                "attestationObject": b64, "clientDataJSON": b64,
                "authenticatorData": b64, "signature": b64, "userHandle": null,
            },
        });
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match json_type(schema) {
        "string" => json!("x"),
        "boolean" => json!(true),
        "integer" | "number" => json!(1),
        "array" => json!([]),
        _ => json!({}),
    }
}

/// A value of another type than the schema's.
fn mistyped(schema: &Value) -> Value {
    match json_type(schema) {
        "string" => json!(7),
        _ => json!("x"),
    }
}

/// The schema's type, the non-null one of a `["T", "null"]` pair.
fn json_type(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ => "",
    }
}

/// Every way the documented body of `op` differs from what its handler reads.
fn body_drift(op: &Operation, documented: Option<&Value>) -> Vec<String> {
    let at = format!("{} {}", op.method, op.path);
    let (body, doc) = match (&op.body, documented) {
        (None, None) => return Vec::new(),
        (None, Some(_)) => return vec![format!("{at}: documents a body its handler never reads")],
        (Some(_), None) => return vec![format!("{at}: reads a body the document does not describe")],
        (Some(body), Some(doc)) => (body, doc),
    };
    let mut drift = Vec::new();
    if doc["required"].as_bool().unwrap_or(false) != body.required {
        drift.push(format!("{at}: the body's `required` should be {}", body.required));
    }
    let content = doc["content"].as_object().map(|c| c.keys().cloned().collect::<Vec<_>>());
    if content.as_deref() != Some(&["application/json".to_owned()]) {
        drift.push(format!("{at}: the body is `application/json` only, not {content:?}"));
    }
    let schema = &doc["content"]["application/json"]["schema"];
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    let names: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    let fields: BTreeSet<&str> = body.fields.iter().copied().collect();
    if names != fields {
        drift.push(format!("{at}: documents fields {names:?}, the handler reads {fields:?}"));
        return drift;
    }
    let required: BTreeSet<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let full: Map<String, Value> = properties.iter().map(|(k, s)| (k.clone(), example(k, s))).collect();
    if let Err(e) = (body.parse)(Value::Object(full.clone())) {
        drift.push(format!("{at}: a body of the documented types is refused: {e}"));
        return drift;
    }
    for (name, schema) in properties {
        let mut without = full.clone();
        without.remove(name);
        let optional = (body.parse)(Value::Object(without)).is_ok();
        if optional == required.contains(name.as_str()) {
            drift.push(format!(
                "{at}: `{name}` is {} but documented otherwise",
                if optional { "optional" } else { "required" }
            ));
        }
        let mut wrong = full.clone();
        wrong.insert(name.clone(), mistyped(schema));
        if (body.parse)(Value::Object(wrong)).is_ok() {
            drift.push(format!("{at}: `{name}` is not of the documented type {:?}", schema["type"]));
        }
    }
    drift
}

#[test]
fn the_document_has_exactly_the_registered_operations() {
    let routes = super::routes();
    let registered: BTreeSet<(String, String)> =
        routes.operations.iter().map(|op| (op.method.to_owned(), op.path.to_owned())).collect();
    assert_eq!(registered.len(), routes.operations.len(), "an operation is registered once");
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = documented(&doc);
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(missing.is_empty() && extra.is_empty(), "undocumented: {missing:?}; not served: {extra:?}");
}

#[test]
fn every_documented_request_body_is_what_its_handler_reads() {
    let doc = document();
    let drift: Vec<String> = super::routes()
        .operations
        .iter()
        .flat_map(|op| body_drift(op, doc["paths"][op.path][op.method].get("requestBody")))
        .collect();
    assert!(drift.is_empty(), "the document drifted from the handlers:\n{}", drift.join("\n"));
}
