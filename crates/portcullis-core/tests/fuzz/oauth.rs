//! The OAuth 2.0 request parameters core parses: `scope`, the PKCE
//! `code_challenge`/`code_verifier`, `response_mode`, redirect URIs at registration,
//! and the reply sent back to a client (whose `state` an attacker chooses).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::oauth::{
    AuthorizeReply, ResponseMode, SCOPES, Scope, check_redirect_uri, pkce_matches, valid_code_challenge,
};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::support::{config, text};

const SCOPE_PIECES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "offline_access",
    " ",
    "  ",
    "\t",
    "+",
    "%20",
    "OPENID",
    "admin",
    "\u{a0}",
];

const URI_PIECES: &[&str] = &[
    "https://",
    "http://",
    "javascript:",
    "data:",
    "//",
    "/",
    "\\",
    "app.example",
    "@",
    ":",
    "443",
    "user:pw@",
    "#",
    "?",
    "&",
    "%2F",
    "%40",
    "[::1]",
    "127.0.0.1",
    " ",
    "\t",
    "\n",
    ".",
    "xn--",
    "\u{3002}",
    "cb",
];

/// Registered-looking redirect URIs: http(s), a host, maybe a port, any path and
/// query (the fragment is what registration refuses).
fn redirect_uri() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["https", "http", "HTTPS"][..]),
        prop::sample::select(&["app.example", "127.0.0.1", "[::1]", "b\u{fc}cher.example", "localhost"][..]),
        prop::sample::select(&["", ":8443", ":443", ":80"][..]),
        "(/[a-zA-Z0-9%._~!$&'()*+,;=:@ -]{0,12}){0,3}",
        proptest::option::of("[ -\\x22\\x24-~]{0,30}"),
    )
        .prop_map(|(scheme, host, port, path, query)| {
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}{query}")
        })
        .prop_filter("registrable", |u| check_redirect_uri(u).is_ok())
}

fn verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn scopes_are_known_values_deduplicated_and_round_trip(raw in text(SCOPE_PIECES)) {
        let parts: Vec<&str> = raw.split(' ').filter(|p| !p.is_empty()).collect();
        match Scope::parse(&raw) {
            Some(scope) => {
                prop_assert!(parts.iter().all(|p| SCOPES.contains(p)), "{raw:?} has an unknown value");
                prop_assert!(scope.values().iter().all(|v| SCOPES.contains(v)));
                let mut seen = scope.values().to_vec();
                seen.dedup();
                prop_assert_eq!(seen.len(), scope.values().len());
                prop_assert_eq!(Scope::parse(&scope.to_string()), Some(scope.clone()));
                for p in parts {
                    prop_assert!(scope.contains(p));
                }
            }
            None => prop_assert!(parts.iter().any(|p| !SCOPES.contains(p)), "{raw:?} was refused"),
        }
    }

    #[test]
    fn a_code_challenge_is_the_canonical_base64url_of_32_bytes(raw in text(&["A", "-", "_", "=", "+", "/", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"])) {
        if valid_code_challenge(&raw) {
            let bytes = URL_SAFE_NO_PAD.decode(&raw).unwrap();
            prop_assert_eq!(bytes.len(), 32);
            prop_assert_eq!(URL_SAFE_NO_PAD.encode(bytes), raw);
        }
    }

    #[test]
    fn pkce_accepts_exactly_the_s256_of_a_well_formed_verifier(v in verifier(), other in verifier()) {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
        prop_assert!(valid_code_challenge(&challenge));
        prop_assert!(pkce_matches(&v, &challenge));
        prop_assume!(other != v);
        prop_assert!(!pkce_matches(&other, &challenge));
    }

    #[test]
    fn pkce_refuses_verifiers_outside_the_rfc_7636_grammar(v in text(&["a", "Z", "0", "-", ".", "_", "~", "+", "/", "=", " ", "%"])) {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
        let well_formed = (43..=128).contains(&v.len())
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(pkce_matches(&v, &challenge), well_formed);
    }

    #[test]
    fn response_modes_are_a_closed_list(raw in text(&["query", "form_post", "fragment", " ", "QUERY", ".jwt"])) {
        match ResponseMode::parse(Some(&raw)) {
            Some(ResponseMode::Query) => prop_assert!(raw.is_empty() || raw == "query"),
            Some(ResponseMode::FormPost) => prop_assert_eq!(raw, "form_post"),
            None => prop_assert!(!["", "query", "form_post"].contains(&raw.as_str())),
        }
    }

    #[test]
    fn registered_redirect_uris_are_absolute_http_without_credentials_or_fragment(raw in text(URI_PIECES)) {
        if check_redirect_uri(&raw).is_ok() {
            let url = url::Url::parse(&raw).expect("accepted means a URL");
            prop_assert!(matches!(url.scheme(), "http" | "https"));
            prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()));
            prop_assert!(url.fragment().is_none());
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
    }

    /// `state` and the code come from the request; whatever they hold, the answer
    /// goes to the registered URI (same origin and path, its own query kept first)
    /// and carries them back unchanged.
    #[test]
    fn a_reply_stays_on_the_redirect_uri_and_carries_state_back(
        uri in redirect_uri(),
        state in proptest::option::of(any::<String>()),
        code in any::<String>(),
    ) {
        let reply = AuthorizeReply::new(&uri, ResponseMode::Query, &[("code", &code)], state.as_deref(), "https://id.example");
        let registered = url::Url::parse(&uri).unwrap();
        let sent = url::Url::parse(&reply.url()).expect("the reply is a URL");
        prop_assert_eq!(sent.origin(), registered.origin());
        prop_assert_eq!(sent.path(), registered.path());
        prop_assert!(sent.fragment().is_none());
        let own: Vec<(String, String)> = registered.query_pairs().into_owned().collect();
        let all: Vec<(String, String)> = sent.query_pairs().into_owned().collect();
        prop_assert_eq!(&all[..own.len()], &own[..]);
        let mut expected = vec![("code".to_owned(), code)];
        if let Some(state) = state {
            expected.push(("state".to_owned(), state));
        }
        expected.push(("iss".to_owned(), "https://id.example".to_owned()));
        prop_assert_eq!(&all[own.len()..], &expected[..]);
    }
}
