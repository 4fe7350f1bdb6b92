//! The OAuth 2.0 endpoints against the running application, signed in, with a
//! registered first-party client: `/oauth2/authorize` with generated parameters
//! (the client id and redirect URI often right, often nearly right) sends the
//! browser only to our own pages or to exactly the registered redirect URI, and
//! `/oauth2/token` answers any form and client authentication with an RFC 6749
//! error or tokens, never a server error.

use portcullis_core::oauth::ClientFlags;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::Value;

use super::support::{check, header_text, origin, text};
use crate::helpers::{Backend, TestApp};

const REDIRECT: &str = "http://127.0.0.1:9/callback?tenant=a";

struct Fixture {
    app: TestApp,
    client_id: String,
    secret: String,
    browser: reqwest::Client,
}

async fn app() -> Fixture {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit.enabled = false).await;
    let flags = ClientFlags { public: false, first_party: true, resource_server: false };
    let created = app
        .state
        .auth()
        .create_client("Fuzz app", &[REDIRECT.to_owned()], flags, &portcullis_core::audit::ActedBy::cli())
        .await
        .unwrap();
    let browser = app.signed_in("oauth@example.com").await;
    Fixture {
        app,
        client_id: created.client.id,
        secret: created.secret.unwrap().expose().to_owned(),
        browser,
    }
}

/// A parameter value: the right one, a near miss of it, or anything.
fn near(right: &'static str, misses: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(
        0.8,
        prop_oneof![
            3 => Just(right.to_owned()),
            2 => prop::sample::select(misses).prop_map(str::to_owned),
            1 => text(&["&", "=", "#", "?", "%", "/", " ", "+"]),
        ],
    )
}

/// An HTML attribute value as the browser reads it (the escapes minijinja writes).
fn unescape(attr: &str) -> String {
    [("&#x2f;", "/"), ("&quot;", "\""), ("&#x27;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")]
        .iter()
        .fold(attr.to_owned(), |s, (from, to)| s.replace(from, to))
}

type Params = Vec<(&'static str, Option<String>)>;

fn params() -> impl Strategy<Value = (Params, bool)> {
    (
        near("code", &["token", "code id_token", "CODE", ""]),
        near(
            REDIRECT,
            &[
                "http://127.0.0.1:9/callback",
                "http://127.0.0.1:9/callback?tenant=a&x=1",
                "http://127.0.0.1:9/callback?tenant=a#f",
                "HTTP://127.0.0.1:9/callback?tenant=a",
                "http://127.0.0.1:9/callback/?tenant=a",
                "https://evil.example/callback",
                "http://127.0.0.1:9@evil.example/callback?tenant=a",
                "//evil.example",
            ],
        ),
        near("openid email", &["openid admin", "", "email", "openid offline_access", "openid  email"]),
        proptest::option::of(any::<String>()),
        near(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            &["plain", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"],
        ),
        near("S256", &["plain", "s256", ""]),
        near("none", &["login", "consent", "select_account", "none login"]),
        near("60", &["-1", "0", "99999999999999999999", "x"]),
        near("form_post", &["query", "fragment", "form_post.jwt"]),
        (
            proptest::option::weighted(0.1, any::<String>()),
            proptest::option::weighted(0.1, "[ -~]{0,20}"),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(rt, ru, scope, state, cc, ccm, prompt, max_age, mode, (request, auth_after, right_client))| {
                (
                    vec![
                        ("response_type", rt),
                        ("redirect_uri", ru),
                        ("scope", scope),
                        ("state", state),
                        ("code_challenge", cc),
                        ("code_challenge_method", ccm),
                        ("prompt", prompt),
                        ("max_age", max_age),
                        ("response_mode", mode),
                        ("request", request),
                        ("auth_after", auth_after),
                    ],
                    right_client,
                )
            },
        )
}

#[test]
fn authorization_answers_go_to_our_pages_or_the_registered_redirect_uri_only() {
    check(
        file!(),
        96,
        app(),
        |_| params(),
        |a, (params, right_client)| async move {
            let client_id = if right_client { a.client_id.clone() } else { format!("{}x", a.client_id) };
            let mut url = url::Url::parse(&a.app.url("/oauth2/authorize")).unwrap();
            url.query_pairs_mut().append_pair("client_id", &client_id);
            for (k, v) in &params {
                if let Some(v) = v {
                    url.query_pairs_mut().append_pair(k, v);
                }
            }
            let res = a.browser.get(url.clone()).send().await.unwrap();
            let status = res.status();
            prop_assert!(!status.is_server_error(), "{} for {}", status, url);
            let ours = url::Url::parse(&a.app.base).unwrap();
            if status.is_redirection() {
                let to = url.join(res.headers()["location"].to_str().unwrap()).unwrap();
                if origin(&to) != origin(&ours) {
                    let uri = to.as_str();
                    prop_assert!(
                        uri.starts_with(&format!("{REDIRECT}&")),
                        "{} sent the browser to {}",
                        url,
                        to
                    );
                    prop_assert!(right_client, "an unknown client got a redirect");
                }
            } else if status == StatusCode::OK {
                let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
                let body = res.text().await.unwrap();
                if body.contains("form_post.js") {
                    prop_assert!(csp.contains("form-action http://127.0.0.1:9;"), "{}", csp);
                    let action =
                        body.split("action=\"").nth(1).and_then(|a| a.split('"').next()).map(unescape);
                    prop_assert_eq!(action.as_deref(), Some(REDIRECT), "{}", body);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn the_token_endpoint_answers_any_form_with_an_oauth_error_or_tokens() {
    let inputs = |_: &Fixture| {
        (
            prop::collection::vec(
                (
                    prop::sample::select(
                        &[
                            "grant_type",
                            "code",
                            "redirect_uri",
                            "code_verifier",
                            "refresh_token",
                            "scope",
                            "client_id",
                            "client_secret",
                            "x",
                        ][..],
                    ),
                    prop_oneof![
                        prop::sample::select(
                            &[
                                "authorization_code",
                                "refresh_token",
                                "client_credentials",
                                "password",
                                REDIRECT,
                                "openid"
                            ][..]
                        )
                        .prop_map(str::to_owned),
                        any::<String>(),
                    ],
                ),
                0..6,
            ),
            proptest::option::of(prop_oneof![
                Just(None),
                header_text(&["Basic ", "Og==", ":", "%", "="]).prop_map(Some),
            ]),
            any::<bool>(),
            prop::sample::select(&["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"][..]),
        )
    };
    check(file!(), 96, app(), inputs, |a, (pairs, auth, right_basic, path)| async move {
        use base64::Engine as _;
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let mut req = {
            portcullis_upstream::install_crypto_provider();
            reqwest::Client::new()
        }
        .post(a.app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
        match auth {
            Some(Some(h)) => req = req.header("authorization", h),
            Some(None) if right_basic => {
                let creds =
                    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", a.client_id, a.secret));
                req = req.header("authorization", format!("Basic {creds}"));
            }
            _ => {}
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        prop_assert!(!status.is_server_error(), "{} {} for {:?}", path, status, pairs);
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_client_error() {
            prop_assert!(body["error"].is_string(), "{} {}: {}", path, status, body);
        }
        Ok(())
    });
}
