//! Client authentication at the OAuth endpoints (`oauth::client_auth`): HTTP
//! Basic with both parts form-urlencoded (RFC 6749 §2.3.1), or the body's
//! `client_id`/`client_secret`, never both; and `Authorization: Bearer`
//! (`extract::bearer_token`).

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::OAuthError;
use proptest::prelude::*;

use super::{config, text};
use crate::extract::bearer_token;
use crate::oauth::client_auth;

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn with_authorization(value: &str) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).ok()?);
    Some(h)
}

fn code(e: &OAuthError) -> &'static str {
    match e {
        OAuthError::Protocol { error, .. } => error,
        OAuthError::Auth(_) => "auth",
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn basic_credentials_round_trip(id in any::<String>(), secret in any::<String>(), scheme in "[bB][aA][sS][iI][cC]") {
        let encoded = STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)));
        let h = with_authorization(&format!("{scheme} {encoded}")).unwrap();
        let auth = client_auth(&h, None, None).expect("well-formed Basic credentials");
        prop_assert_eq!(auth.client_id, id);
        prop_assert_eq!(auth.secret, Some(secret));
    }

    #[test]
    fn body_credentials_are_taken_as_they_are(id in any::<String>(), secret in proptest::option::of(any::<String>())) {
        let auth = client_auth(&HeaderMap::new(), Some(&id), secret.as_deref()).unwrap();
        prop_assert_eq!(auth.client_id, id);
        prop_assert_eq!(auth.secret, secret);
    }

    /// Any `Authorization` header: Basic and a body `client_id` together are refused,
    /// and a client is named only by one of them.
    #[test]
    fn any_authorization_header_names_a_client_only_one_way(
        value in text(&["Basic ", "basic", "Bearer ", " ", ":", "=", "Og==", "YTpi", "%3A", "%", "\u{80}"]),
        form_id in proptest::option::of("[a-z]{0,8}"),
    ) {
        let Some(h) = with_authorization(&value) else { return Ok(()) };
        let is_basic = value.split_once(' ').is_some_and(|(s, _)| s.eq_ignore_ascii_case("basic"));
        match (client_auth(&h, form_id.as_deref(), None), form_id) {
            (Ok(auth), Some(id)) => {
                prop_assert!(!is_basic);
                prop_assert_eq!(auth.client_id, id);
            }
            (Ok(auth), None) => {
                prop_assert!(is_basic);
                prop_assert!(auth.secret.is_some());
            }
            (Err(e), Some(_)) => prop_assert!(is_basic && code(&e) == "invalid_request"),
            (Err(e), None) => prop_assert_eq!(code(&e), "invalid_client"),
        }
    }

    #[test]
    fn a_bearer_token_is_the_trimmed_rest_of_a_bearer_header(value in text(&["Bearer", "bearer", "BEARER", " ", "  ", "\t", "eyJ", ".", "Basic"])) {
        let Some(h) = with_authorization(&value) else { return Ok(()) };
        if let Some(token) = bearer_token(&h) {
            let (scheme, rest) = value.split_once(' ').unwrap();
            prop_assert!(scheme.eq_ignore_ascii_case("bearer"));
            prop_assert_eq!(token, rest.trim());
            prop_assert!(!token.is_empty());
        }
    }

    #[test]
    fn rfc_6750_tokens_are_read_back(token in "[A-Za-z0-9._~+/-]{1,200}=*", scheme in "[bB][eE][aA][rR][eE][rR]", pad in "[ ]{0,2}") {
        let h = with_authorization(&format!("{scheme} {pad}{token}{pad}")).unwrap();
        prop_assert_eq!(bearer_token(&h), Some(token.as_str()));
    }
}

/// Found by `any_authorization_header_names_a_client_only_one_way`: Basic
/// credentials holding a byte that is not visible ASCII were taken for no header
/// at all, so the body's `client_id` was accepted next to them.
#[test]
fn basic_credentials_with_non_ascii_bytes_are_still_basic() {
    let h = with_authorization("Basic \u{80}").unwrap();
    assert_eq!(
        client_auth(&h, Some(""), None).map(|a| a.client_id).map_err(|e| code(&e)),
        Err("invalid_request")
    );
    assert_eq!(client_auth(&h, None, None).map(|a| a.client_id).map_err(|e| code(&e)), Err("invalid_client"));
}
