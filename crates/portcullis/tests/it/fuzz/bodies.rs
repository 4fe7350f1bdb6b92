//! Request bodies against the running application: every JSON operation of the
//! API document and every HTML form, signed in, with generated fields and values
//! (and sometimes bytes that are not JSON or not a form at all). Whatever the body,
//! the answer is not a 5xx; API refusals are problem+json with their status; a page
//! redirect stays on our origin.

use std::sync::Mutex;

use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::{check, json_value, origin, text};
use crate::helpers::{Backend, PASSWORD, TestApp, client, csrf_from, location};

/// The running app, one JSON operation list, and the signed-in client of the
/// moment (replaced when a case ends its session: a logout, a deletion).
struct Fixture {
    app: TestApp,
    operations: Vec<Operation>,
    client: Mutex<(reqwest::Client, u32)>,
}

/// A JSON operation of the API document: its method, path and body fields (name,
/// JSON type).
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    path: String,
    fields: Vec<(String, String)>,
}

impl Fixture {
    fn client(&self) -> reqwest::Client {
        self.client.lock().unwrap().0.clone()
    }

    /// Signs in afresh, as a new user, when the last case ended the session.
    async fn keep_signed_in(&self) {
        let c = self.client();
        if self.app.get(&c, "/api/v1/me").await.status() == StatusCode::OK {
            return;
        }
        let n = self.client.lock().unwrap().1 + 1;
        let email = format!("fuzz{n}@example.com");
        let c = self.app.signed_in(&email).await;
        *self.client.lock().unwrap() = (c, n);
    }
}

async fn app() -> Fixture {
    // Reached by a host name, so that passkeys are on (see `TestApp::spawn_on_localhost`);
    // no rate limits, so that signing in afresh after each lost session works.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let mut app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.bind = format!("127.0.0.1:{port}");
        c.server.public_url = Some(format!("http://localhost:{port}"));
        c.rate_limit.enabled = false;
    })
    .await;
    app.base = format!("http://localhost:{port}");
    let doc: Value = app.get(&client(), "/api/openapi.json").await.json().await.unwrap();
    let mut operations = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else { continue };
            let fields = schema["properties"]
                .as_object()
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| (k.clone(), v["type"].as_str().unwrap_or("object").to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            operations.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                fields,
            });
        }
    }
    assert!(operations.len() > 20, "the document lists the JSON operations: {operations:?}");
    let c = app.signed_in("fuzz0@example.com").await;
    Fixture { app, operations, client: Mutex::new((c, 0)) }
}

/// A value for a field of JSON type `kind`: usually of that type, sometimes
/// anything.
fn value_for(kind: &str) -> BoxedStrategy<Value> {
    let typed = match kind {
        "string" => {
            text(&["a@example.com", "@", PASSWORD, "000000", "AAAA", "-", "_", " ", "\u{0}", "Passkey"])
                .prop_map(Value::String)
                .boxed()
        }
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        _ => json_value(&["id", "rawId", "type", "response", "clientDataJSON", "signature", "x"]).boxed(),
    };
    prop_oneof![4 => typed, 1 => json_value(&["a", "email"])].boxed()
}

/// A body for an operation with `fields`: an object with some of them, or bytes.
fn body(fields: Vec<(String, String)>) -> BoxedStrategy<Vec<u8>> {
    let n = fields.len();
    let object = (
        prop::collection::vec(any::<bool>(), n),
        fields.iter().map(|(_, t)| value_for(t)).collect::<Vec<_>>(),
    )
        .prop_map(move |(keep, values)| {
            let mut obj = serde_json::Map::new();
            for (((name, _), value), keep) in fields.iter().zip(values).zip(keep) {
                if keep || n < 2 {
                    obj.insert(name.clone(), value);
                }
            }
            serde_json::to_vec(&Value::Object(obj)).unwrap()
        });
    prop_oneof![
        6 => object,
        1 => any::<Vec<u8>>(),
        1 => json_value(&["email", "password", "credential"]).prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]
    .boxed()
}

/// A path parameter: an id of the right shape, or anything.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("00000000-0000-0000-0000-000000000000".to_owned()),
        Just(uuid::Uuid::new_v4().to_string()),
        "[ -~]{1,40}".prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect()),
    ]
}

async fn problem_or_success(res: reqwest::Response, what: &str) -> Result<(), TestCaseError> {
    let status = res.status();
    prop_assert!(!status.is_server_error(), "{} answered {}", what, status);
    if status.is_client_error() {
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        prop_assert!(ct.starts_with("application/problem+json"), "{} {}: {}", what, status, ct);
        let body: Value = res.json().await.unwrap();
        prop_assert_eq!(body["status"].as_u64(), Some(u64::from(status.as_u16())));
    }
    Ok(())
}

#[test]
fn any_json_body_at_any_operation_is_answered_without_a_server_error() {
    let inputs = |a: &Fixture| {
        let operations = a.operations.clone();
        (0..operations.len()).prop_flat_map(move |i| (Just(i), body(operations[i].fields.clone()), id()))
    };
    check(file!(), 96, app(), inputs, |a, (op, bytes, id)| async move {
        let Operation { method, path, .. } = &a.operations[op];
        let path = path.replace("{id}", &id);
        a.keep_signed_in().await;
        let res = a
            .client()
            .request(method.clone(), a.app.url(&path))
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        problem_or_success(res, &format!("{method} {path} {}", String::from_utf8_lossy(&bytes))).await
    });
}

/// Every form action, with the fields its forms send.
const FORMS: &[(&str, &[&str])] = &[
    ("/login", &["email", "password", "remember_me", "next"]),
    ("/register", &["email", "password", "password_confirm"]),
    ("/logout", &[]),
    ("/account/password", &["current_password", "new_password", "new_password_confirm"]),
    ("/account/email", &["new_email", "password"]),
    ("/account/delete", &["password", "confirm"]),
    ("/account/sessions/{id}/revoke", &[]),
    ("/account/applications/{id}/revoke", &[]),
    ("/account/mfa/enable", &["password"]),
    ("/account/mfa/confirm", &["code", "next"]),
    ("/account/mfa/disable", &["password"]),
    ("/account/mfa/recovery-codes", &["password"]),
    ("/account/passkeys/{id}/rename", &["name"]),
    ("/account/passkeys/{id}/delete", &["password"]),
    ("/login/mfa", &["code", "next"]),
    ("/forgot-password", &["email"]),
    ("/reset-password", &["token", "password", "password_confirm"]),
    ("/verify-email", &["token"]),
    ("/verify-email/resend", &["email"]),
    ("/undo-email-change", &["token"]),
    ("/accept-invitation?token={id}", &["password", "password_confirm"]),
    ("/oauth2/authorize", &["request", "decision"]),
    ("/oauth2/logout", &["request"]),
];

/// A form case: which form, the path's id, (field index, value) pairs, maybe raw
/// bytes after them, and where the CSRF token goes.
type FormCase = (usize, String, Vec<(usize, String)>, Option<Vec<u8>>, u8);

fn form_body() -> impl Strategy<Value = FormCase> {
    (
        0..FORMS.len(),
        id(),
        prop::collection::vec(
            (
                0..6usize,
                text(&["a@example.com", PASSWORD, "on", "/account", "https://evil.example", "&", "=", "%"]),
            ),
            0..6,
        ),
        proptest::option::weighted(0.15, any::<Vec<u8>>()),
        0..3u8,
    )
}

#[test]
fn any_form_at_any_page_is_answered_without_a_server_error() {
    check(
        file!(),
        96,
        app(),
        |_| form_body(),
        |a, (form, id, values, raw, token_at)| async move {
            let (action, names) = FORMS[form];
            let action = action.replace("{id}", &id);
            a.keep_signed_in().await;
            let c = a.client();
            let html = a.app.get(&c, "/account").await.text().await.unwrap();
            let token = csrf_from(&html).expect("the account page has a form");
            let mut pairs: Vec<(String, String)> = values
                .into_iter()
                .map(|(i, v)| (names.get(i).map_or_else(|| "other".to_owned(), |n| (*n).to_owned()), v))
                .collect();
            pairs.insert(usize::from(token_at).min(pairs.len()), ("csrf_token".to_owned(), token));
            let mut body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish()
                .into_bytes();
            if let Some(raw) = raw {
                body.push(b'&');
                body.extend(raw);
            }
            let res = c
                .post(a.app.url(&action))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", &a.app.base)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            prop_assert!(!status.is_server_error(), "{} answered {} for {:?}", action, status, pairs);
            if status.is_redirection() {
                let here = url::Url::parse(&a.app.url(&action)).unwrap();
                let to = here.join(&location(&res)).expect("a valid Location");
                prop_assert_eq!(origin(&to), origin(&here), "{} redirected to {}", action, to);
            }
            Ok(())
        },
    );
}

#[test]
fn any_credential_at_the_passkey_steps_is_refused_cleanly() {
    let credential = (
        json_value(&[
            "id",
            "rawId",
            "type",
            "response",
            "clientDataJSON",
            "authenticatorData",
            "signature",
            "userHandle",
            "attestationObject",
        ]),
        any::<Vec<u8>>(),
        any::<bool>(),
        prop::sample::select(
            &["/api/v1/login/passkey/finish", "/api/v1/passkeys/register/finish", "/api/v1/login/mfa"][..],
        ),
    );
    check(
        file!(),
        64,
        app(),
        |_| credential,
        |a, (mut cred, junk, real_challenge, finish)| async move {
            use base64::Engine as _;
            let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
            a.keep_signed_in().await;
            let c = a.client();
            let start = if finish.contains("register") {
                "/api/v1/passkeys/register/start"
            } else {
                "/api/v1/login/passkey/start"
            };
            let options: Value = a
                .app
                .post_json(&c, start, &json!({"password": PASSWORD}))
                .await
                .json()
                .await
                .unwrap_or(Value::Null);
            let challenge = options
                .pointer("/publicKey/challenge")
                .and_then(Value::as_str)
                .map_or_else(|| b64(&junk), str::to_owned);
            if real_challenge && cred.is_object() {
                let data = json!({"type": "webauthn.get", "challenge": challenge, "origin": a.app.base});
                cred["response"] = json!({
                    "clientDataJSON": b64(data.to_string().as_bytes()),
                    "authenticatorData": b64(&junk),
                    "signature": b64(&junk),
                    "attestationObject": b64(&junk),
                });
                cred["id"] = json!(b64(&junk));
                cred["rawId"] = json!(b64(&junk));
                cred["type"] = json!("public-key");
            }
            let res =
                a.app.post_json(&c, finish, &json!({"credential": cred, "passkey": cred, "name": "x"})).await;
            problem_or_success(res, finish).await
        },
    );
}
