//! Request bodies: JSON through `ApiJson`/`OptionalJson` (the only way the API
//! reads one), and the `application/x-www-form-urlencoded` bodies of the OAuth
//! endpoints (`oauth::parse_form`). Every body is read into its type or refused
//! with the status the API contract gives (415, 400, 422), never a 500; a body of
//! the right shape reads back exactly.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{config, text};
use crate::extract::{ApiJson, OptionalJson};

/// Shaped like the API's requests: required and optional strings, a flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct SignIn {
    email: String,
    password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default)]
    remember_me: bool,
}

fn sign_in() -> impl Strategy<Value = SignIn> {
    (any::<String>(), any::<String>(), proptest::option::of(any::<String>()), any::<bool>())
        .prop_map(|(email, password, code, remember_me)| SignIn { email, password, code, remember_me })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(&["email", "password", "code", "remember_me", "x", "__proto__"][..]),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// Bodies: arbitrary bytes, JSON of any shape, the right shape, broken or deeply
/// nested JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<Vec<u8>>(),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        sign_in().prop_map(|s| serde_json::to_vec(&s).unwrap()),
        (sign_in(), any::<usize>()).prop_map(|(s, cut)| {
            let mut b = serde_json::to_vec(&s).unwrap();
            b.truncate(cut % (b.len() + 1));
            b
        }),
        (sign_in(), any::<usize>(), any::<u8>()).prop_map(|(s, at, byte)| {
            let mut b = serde_json::to_vec(&s).unwrap();
            let at = at % b.len();
            b[at] = byte;
            b
        }),
        (1..400usize).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()),
        text(&["{", "}", "\"email\"", ":", ",", "\"", "\\u0000", "\\ud800", "1e999", "-0", "null", " "])
            .prop_map(String::into_bytes),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        3 => prop::sample::select(&[
            "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", " application/json ;x=y",
            "text/plain", "application/jsonx", "application/json-patch+json", "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x", "",
        ][..]).prop_map(str::to_owned),
        1 => "[ -~]{0,30}",
    ])
}

fn request(content_type: Option<&str>, body: Vec<u8>) -> Request {
    let mut req = Request::builder().method("POST").uri("/api/v1/login");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.body(Body::from(body)).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_json_body_is_read_or_refused_with_the_contracts_status(ct in content_type(), body in body()) {
        let result = block_on(ApiJson::<SignIn>::from_request(request(ct.as_deref(), body.clone()), &()));
        let is_json = ct.as_deref().is_some_and(|ct| {
            ct.split(';').next().unwrap().trim().eq_ignore_ascii_case("application/json")
        });
        match result {
            Ok(ApiJson(read)) => {
                prop_assert!(is_json);
                let said = serde_json::from_slice::<Value>(&body).ok().and_then(|v| serde_json::from_value(v).ok());
                prop_assert_eq!(Some(read), said);
            }
            Err(e) if !is_json => prop_assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            Err(e) => {
                let syntax_ok = serde_json::from_slice::<Value>(&body).is_ok();
                let expected = if syntax_ok { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
                prop_assert_eq!(e.status, expected);
                if let Some(detail) = &e.detail {
                    prop_assert!(detail.is_ascii() && detail.len() < 200, "the detail never quotes the body: {detail:?}");
                }
            }
        }
    }

    #[test]
    fn a_request_of_the_right_shape_reads_back_exactly(s in sign_in(), pretty in any::<bool>()) {
        let body = if pretty { serde_json::to_vec_pretty(&s) } else { serde_json::to_vec(&s) }.unwrap();
        let ApiJson(read) = block_on(ApiJson::<SignIn>::from_request(request(Some("application/json"), body), &()))
            .expect("the right shape is read");
        prop_assert_eq!(read, s);
    }

    #[test]
    fn an_empty_optional_body_is_the_default(ct in content_type()) {
        let mut req = request(ct.as_deref(), Vec::new());
        req.headers_mut().insert("content-length", "0".parse().unwrap());
        let OptionalJson(read) = block_on(OptionalJson::<SignIn>::from_request(req, &())).expect("empty is fine");
        prop_assert_eq!(read, SignIn::default());
    }
}

/// The OAuth token, revocation and introspection forms.
#[derive(Debug, PartialEq, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    client_id: Option<String>,
}

const FORM_KEYS: &[&str] = &["grant_type", "code", "client_id", "other", "grant_type[]", "Grant_Type"];

proptest! {
    #![proptest_config(config(512))]

    /// Pairs encoded the way browsers and OAuth libraries do read back exactly;
    /// a parameter given twice is refused (RFC 6749 §3.1: parameters must not be
    /// repeated); unknown ones are ignored.
    #[test]
    fn a_form_reads_back_exactly_and_refuses_repeats(
        pairs in prop::collection::vec((prop::sample::select(FORM_KEYS), any::<String>()), 0..6),
    ) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let parsed = crate::oauth::parse_form::<TokenForm>(body.as_bytes());
        let known = ["grant_type", "code", "client_id"];
        let repeated = known.iter().any(|k| pairs.iter().filter(|(n, _)| n == k).count() > 1);
        let value = |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        if repeated {
            prop_assert!(parsed.is_err());
        } else {
            let form = parsed.expect("a well-encoded form is read");
            prop_assert_eq!(form, TokenForm { grant_type: value("grant_type"), code: value("code"), client_id: value("client_id") });
        }
    }

    #[test]
    fn any_form_bytes_are_read_or_refused(body in prop_oneof![
        any::<Vec<u8>>(),
        text(&["grant_type", "=", "&", "%", "%zz", "%C3", "+", "code", ";", "\u{fffd}"]).prop_map(String::into_bytes),
    ]) {
        if let Ok(form) = crate::oauth::parse_form::<TokenForm>(&body) {
            let mut again = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in [("grant_type", &form.grant_type), ("code", &form.code), ("client_id", &form.client_id)] {
                if let Some(v) = v {
                    again.append_pair(k, v);
                }
            }
            let again = crate::oauth::parse_form::<TokenForm>(again.finish().as_bytes());
            prop_assert_eq!(again.ok(), Some(form), "what was read is what the form said");
        }
    }
}
