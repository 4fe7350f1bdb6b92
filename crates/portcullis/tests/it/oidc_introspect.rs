//! Introspection tells a client about its own tokens only (RFC 7662 §4; issue #13,
//! finding 5): another client's access and refresh tokens and the first-party tokens
//! of `/api/v1/tokens` answer exactly `{"active": false}`, unless the caller was
//! registered as a resource server.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};
use portcullis_core::oauth::ClientFlags;

use crate::oidc::{Rp, code_for, exchange, pkce, register_client, register_with};

backend_tests!(
    a_client_introspects_its_own_tokens_and_no_one_elses,
    a_resource_server_introspects_every_token,
);

/// Every kind of token there is, for one user: two clients' code-flow pairs, their
/// client-credentials tokens, and a first-party pair of `/api/v1/tokens`.
struct Tokens {
    a_access: String,
    a_refresh: String,
    a_service: String,
    b_access: String,
    b_refresh: String,
    b_service: String,
    api_access: String,
    api_refresh: String,
}

async fn code_flow(app: &TestApp, browser: &reqwest::Client, rp: &Rp) -> (String, String) {
    let (verifier, challenge) = pkce();
    let code = code_for(app, browser, rp, &challenge).await;
    let t: Value = exchange(app, rp, &code, Some(&verifier)).await.json().await.unwrap();
    (t["access_token"].as_str().unwrap().to_owned(), t["refresh_token"].as_str().unwrap().to_owned())
}

async fn client_credentials(app: &TestApp, rp: &Rp) -> String {
    let res = client()
        .post(app.url("/oauth2/token"))
        .basic_auth(&rp.id, rp.secret.as_ref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let t: Value = res.json().await.unwrap();
    t["access_token"].as_str().unwrap().to_owned()
}

async fn tokens_of(app: &TestApp, a: &Rp, b: &Rp, email: &str) -> Tokens {
    let browser = app.signed_in(email).await;
    let (a_access, a_refresh) = code_flow(app, &browser, a).await;
    let (b_access, b_refresh) = code_flow(app, &browser, b).await;
    let body = json!({"email": email, "password": PASSWORD});
    let api: Value = app.post_json(&client(), "/api/v1/tokens", &body).await.json().await.unwrap();
    Tokens {
        a_access,
        a_refresh,
        a_service: client_credentials(app, a).await,
        b_access,
        b_refresh,
        b_service: client_credentials(app, b).await,
        api_access: api["access_token"].as_str().unwrap().to_owned(),
        api_refresh: api["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn introspect(app: &TestApp, who: &Rp, token: &str) -> Value {
    let res = client()
        .post(app.url("/oauth2/introspect"))
        .basic_auth(&who.id, who.secret.as_ref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn a_client_introspects_its_own_tokens_and_no_one_elses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = register_client(&app, false, true).await;
    let b = register_client(&app, false, true).await;
    let t = tokens_of(&app, &a, &b, "intro1@example.com").await;

    let own = introspect(&app, &a, &t.a_access).await;
    assert_eq!((&own["active"], &own["client_id"]), (&json!(true), &json!(a.id)), "{own}");
    assert!(own["sub"].is_string() && own["scope"] == "openid email", "{own}");
    let own = introspect(&app, &a, &t.a_refresh).await;
    assert_eq!((&own["active"], &own["token_type"]), (&json!(true), &json!("refresh_token")), "{own}");
    assert_eq!(own["client_id"], a.id.as_str());
    let own = introspect(&app, &a, &t.a_service).await;
    assert_eq!((&own["active"], &own["sub"]), (&json!(true), &json!(a.id)), "{own}");

    for (what, token) in [
        ("B's access token", &t.b_access),
        ("B's refresh token", &t.b_refresh),
        ("B's client-credentials token", &t.b_service),
        ("a first-party access token", &t.api_access),
        ("a first-party refresh token", &t.api_refresh),
    ] {
        assert_eq!(introspect(&app, &a, token).await, json!({"active": false}), "A asks about {what}");
    }
    // B, likewise, sees its own and not A's.
    assert_eq!(introspect(&app, &b, &t.b_refresh).await["active"], true);
    assert_eq!(introspect(&app, &b, &t.a_access).await, json!({"active": false}));
}

async fn a_resource_server_introspects_every_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = register_client(&app, false, true).await;
    let b = register_client(&app, false, true).await;
    let rs = register_with(&app, ClientFlags { resource_server: true, ..ClientFlags::default() }).await;
    let t = tokens_of(&app, &a, &b, "intro2@example.com").await;
    for (token, client_id) in [
        (&t.a_access, Some(a.id.as_str())),
        (&t.a_refresh, Some(&a.id)),
        (&t.a_service, Some(&a.id)),
        (&t.b_access, Some(&b.id)),
        (&t.b_refresh, Some(&b.id)),
        (&t.b_service, Some(&b.id)),
        (&t.api_access, Some("portcullis")),
        (&t.api_refresh, None),
    ] {
        let i = introspect(&app, &rs, token).await;
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["client_id"].as_str(), client_id, "{i}");
        assert!(i["sub"].is_string() && i["exp"].is_i64(), "{i}");
    }
    // Still nothing about what is not live.
    assert_eq!(introspect(&app, &rs, "garbage").await, json!({"active": false}));
    // A public client cannot be one: it has no secret to introspect with.
    let public = ClientFlags { public: true, resource_server: true, ..ClientFlags::default() };
    let refused = app
        .state
        .auth()
        .create_client(
            "SPA",
            &["https://spa.example/cb".to_owned()],
            public,
            &portcullis_core::audit::ActedBy::cli(),
        )
        .await;
    assert!(
        matches!(&refused, Err(portcullis_core::AuthError::Validation(e)) if e[0].field == "resource_server"),
        "{refused:?}"
    );
}
