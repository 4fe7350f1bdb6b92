//! Session cookies and bearer tokens against the running application: a request
//! is someone only when it carries exactly a live session id under the session
//! cookie's name, or exactly a live access token; anything else, however close,
//! is anonymous (401), never an error and never another user.

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::support::{check, header_text};
use crate::helpers::{Backend, TestApp, client, cookie_value};

const SESSION: &str = "portcullis_session";

struct Signed {
    app: TestApp,
    session: String,
    access: String,
    user_id: String,
}

async fn signed_in() -> Signed {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit.enabled = false).await;
    let user = app.register("fuzz@example.com").await;
    let res = app
        .post_json(
            &client(),
            "/api/v1/login",
            &json!({"email": "fuzz@example.com", "password": crate::helpers::PASSWORD}),
        )
        .await;
    let session = cookie_value(res.headers(), SESSION).expect("a session cookie");
    let tokens: Value = app
        .post_json(
            &client(),
            "/api/v1/tokens",
            &json!({"email": "fuzz@example.com", "password": crate::helpers::PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let user_id = user["user"]["id"].as_str().unwrap().to_owned();
    Signed { app, session, access, user_id }
}

/// `valid` with one edit: a character changed, added or removed, or cut short.
fn edited(valid_len: usize) -> impl Strategy<Value = (usize, u8, char)> {
    (0..valid_len.max(1), 0..4u8, prop::char::range('!', '~'))
}

fn apply(valid: &str, (at, edit, ch): (usize, u8, char)) -> String {
    let mut chars: Vec<char> = valid.chars().collect();
    let at = at % chars.len();
    match edit {
        0 => chars[at] = ch,
        1 => chars.insert(at, ch),
        2 => {
            chars.remove(at);
        }
        _ => chars.truncate(at),
    }
    chars.into_iter().collect()
}

/// A `Cookie` header: our session id, an edited one or junk, under our cookie's
/// name or a near miss, among other cookies.
type Jar = Vec<(&'static str, Option<(usize, u8, char)>, String)>;

fn cookie_jar() -> impl Strategy<Value = Jar> {
    prop::collection::vec(
        (
            prop::sample::select(
                &[
                    SESSION,
                    SESSION,
                    "portcullis_sessionx",
                    "xportcullis_session",
                    "PORTCULLIS_SESSION",
                    "portcullis_csrf",
                    "a",
                ][..],
            ),
            proptest::option::of(edited(43)),
            header_text(&["=", ";", " ", "\"", "AAAA", "-", "_"]),
        ),
        0..4,
    )
}

async fn me(app: &TestApp, header: (&str, &str)) -> Result<(StatusCode, Value), TestCaseError> {
    let res = client().get(app.url("/api/v1/me")).header(header.0, header.1).send().await.unwrap();
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    prop_assert!(status == StatusCode::OK || status == StatusCode::UNAUTHORIZED, "{status} {body}");
    Ok((status, body))
}

#[test]
fn only_the_exact_session_cookie_signs_a_request_in() {
    check(
        file!(),
        48,
        signed_in(),
        |_| (cookie_jar(), any::<bool>()),
        |s, (jar, include_valid)| async move {
            let mut pairs: Vec<(String, String)> = jar
                .into_iter()
                .map(|(name, edit, junk)| {
                    let value = match edit {
                        Some(e) => apply(&s.session, e),
                        None => junk.replace([';', ','], ""),
                    };
                    (name.to_owned(), value)
                })
                .collect();
            if include_valid {
                pairs.push((SESSION.to_owned(), s.session.clone()));
            }
            let header = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
            let (status, body) = me(&s.app, ("cookie", &header)).await?;
            // RFC 6265: the header is `name=value` pairs split at `;`; the first of ours counts.
            let first = header
                .split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(n, _)| *n == SESSION)
                .map(|(_, v)| v.trim_matches('"'));
            if status == StatusCode::OK {
                prop_assert_eq!(body["id"].as_str(), Some(s.user_id.as_str()), "never someone else");
                prop_assert_eq!(first, Some(s.session.as_str()), "signed in by {}", header);
            } else {
                prop_assert_ne!(first, Some(s.session.as_str()), "the live session was refused: {}", header);
            }
            Ok(())
        },
    );
}

#[test]
fn only_the_exact_access_token_signs_a_request_in() {
    let cases = prop_oneof![
        edited(600).prop_map(Ok),
        header_text(&["Bearer ", "eyJ", ".", "e30", "_", "-", " "]).prop_map(Err),
    ];
    check(
        file!(),
        48,
        signed_in(),
        |_| (cases, "[bB]earer"),
        |s, (case, scheme)| async move {
            let token = match &case {
                Ok(edit) => apply(&s.access, *edit),
                Err(junk) => junk.clone(),
            };
            prop_assume!(token.trim() != s.access);
            for path in ["/api/v1/me", "/auth/verify", "/oauth2/userinfo"] {
                let res = client()
                    .get(s.app.url(path))
                    .header("authorization", format!("{scheme} {token}"))
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{} took {:?}", path, token);
            }
            Ok(())
        },
    );
}
