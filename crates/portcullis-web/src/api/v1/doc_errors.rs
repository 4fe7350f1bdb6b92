//! Holds the document's error responses against `error.rs`, the one status mapping:
//! each is `application/problem+json`, each problem code its description names is
//! one the API answers with that status, and the errors only reading a body can
//! cause are documented only where the handler reads one.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::FromRequest;
use axum::http::{Request, header};
use portcullis_core::AuthError;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::ApiJson;

/// Every core error the API can be handed. The match fails to compile when a
/// variant is added, until it is listed here.
fn auth_errors() -> Vec<AuthError> {
    let listed = |e: &AuthError| match e {
        AuthError::Validation(_)
        | AuthError::EmailTaken
        | AuthError::InvalidCredentials
        | AuthError::AccountDisabled
        | AuthError::RateLimited { .. }
        | AuthError::InvalidCode
        | AuthError::ReauthRequired
        | AuthError::EmailUnverified
        | AuthError::InvalidToken
        | AuthError::MfaRequired
        | AuthError::MfaEnrolmentRequired
        | AuthError::InvalidRefreshToken
        | AuthError::NotFound
        | AuthError::InvalidPasskey
        | AuthError::PasskeysOff => true,
        // Any code at 409 (core names it); 5xx answers are not documented per operation.
        AuthError::Conflict { .. } | AuthError::Unavailable(_) | AuthError::Internal(_) => false,
    };
    let all = vec![
        AuthError::Validation(Vec::new()),
        AuthError::EmailTaken,
        AuthError::InvalidCredentials,
        AuthError::AccountDisabled,
        AuthError::RateLimited { retry_after: 1 },
        AuthError::InvalidCode,
        AuthError::ReauthRequired,
        AuthError::EmailUnverified,
        AuthError::InvalidToken,
        AuthError::MfaRequired,
        AuthError::MfaEnrolmentRequired,
        AuthError::InvalidRefreshToken,
        AuthError::NotFound,
        AuthError::InvalidPasskey,
        AuthError::PasskeysOff,
    ];
    assert!(all.iter().all(listed));
    all
}

/// What reading a JSON body can answer, from the extractor itself.
async fn body_errors() -> Vec<ApiError> {
    let mut errors = Vec::new();
    for (content_type, body) in [("text/plain", "{}"), ("application/json", "{"), ("application/json", "1")] {
        let req = Request::builder().header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap();
        let res = ApiJson::<BTreeMap<String, String>>::from_request(req, &()).await;
        errors.push(res.expect_err("a body it refuses"));
    }
    errors
}

/// The words of a description that look like problem codes, outside `code spans`.
fn named_codes(description: &str) -> Vec<&str> {
    description
        .split('`')
        .step_by(2)
        .flat_map(|s| s.split(|c: char| !(c.is_ascii_lowercase() || c == '_')))
        .filter(|w| !w.is_empty())
        .collect()
}

#[tokio::test]
async fn documented_errors_are_the_problems_the_handlers_answer() {
    let body_errors = body_errors().await;
    let body_codes: BTreeSet<&str> = body_errors.iter().map(|e| e.code).collect();
    let body_statuses: BTreeSet<u16> = body_errors.iter().map(|e| e.status.as_u16()).collect();
    let mut statuses: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    let answered = auth_errors().into_iter().map(ApiError::from).chain(body_errors).chain([
        ApiError::unauthenticated(),
        ApiError::csrf(),
        ApiError::not_found(),
        ApiError::mfa_enrolment_required(),
        ApiError::forbidden(),
    ]);
    // The conflicts core names (a 409 may name any; these have no `_` to be found by).
    let answered = answered.chain(
        ["conflict", portcullis_core::groups::PROTECTED]
            .map(|code| ApiError::from(AuthError::Conflict { code, message: "" })),
    );
    for e in answered {
        statuses.entry(e.code).or_default().insert(e.status.as_u16());
    }

    let doc: Value = serde_json::from_str(crate::api::OPENAPI).unwrap();
    let problem = json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    let mut drift = Vec::new();
    for op in super::routes().operations {
        let responses = doc["paths"][op.path][op.method]["responses"].as_object().expect("documented");
        for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
            let at = format!("{} {} {status}", op.method, op.path);
            if response["content"] != problem {
                drift.push(format!("{at}: not a problem+json Problem"));
            }
            let description = response["description"].as_str().unwrap_or_default();
            let words = named_codes(description);
            let codes: Vec<&str> =
                words.into_iter().filter(|w| statuses.contains_key(w) || w.contains('_')).collect();
            let status: u16 = status.parse().unwrap();
            if codes.is_empty() && !body_statuses.contains(&status) {
                drift.push(format!("{at}: names no problem code: {description:?}"));
            }
            let body_only = codes.is_empty() || codes.iter().all(|c| body_codes.contains(c));
            if body_only && op.body.is_none() {
                drift.push(format!("{at}: only reading a body answers this, and the handler reads none"));
            }
            for code in codes {
                match statuses.get(code) {
                    Some(s) if !s.contains(&status) => {
                        drift.push(format!("{at}: `{code}` is answered {s:?}"));
                    }
                    None if status != 409 => {
                        drift.push(format!("{at}: no problem has the code `{code}`"));
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(drift.is_empty(), "the document's errors drifted:\n{}", drift.join("\n"));
}
