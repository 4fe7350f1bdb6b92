//! Who gets an identity: administrators without a second factor get none anywhere
//! while one is required; forward-auth takes only first-party tokens; addresses are
//! one account whatever their Unicode form.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::create_user;
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, location};
use crate::mfa::code;
use crate::oidc::{authorize_path, exchange, pkce, query, register_client};

backend_tests!(
    administrators_without_a_second_factor_get_no_identity_on_any_route,
    forward_auth_refuses_access_tokens_issued_to_oauth_clients,
    addresses_equal_after_nfkc_and_case_folding_are_one_account,
);

async fn problem_code(res: reqwest::Response) -> String {
    res.json::<Value>().await.unwrap()["code"].as_str().unwrap_or_default().to_owned()
}

async fn administrators_without_a_second_factor_get_no_identity_on_any_route(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.security.require_mfa_for_admins = true).await;
    create_user(&app, "root@example.com", true).await;
    let rp = register_client(&app, false, true).await;
    let (_, challenge) = pkce();

    // Signing in still works (enrolling needs a session) ...
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "root@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let admin = app.login("root@example.com").await;
    // ... but nothing that yields the identity does.
    let res = app.get(&admin, "/auth/verify").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "forward-auth");
    assert!(res.headers().get("x-auth-user-id").is_none());
    assert_eq!(problem_code(res).await, "mfa_enrolment_required");
    let res = app
        .post_json(&client(), "/api/v1/tokens", &json!({"email": "root@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "/api/v1/tokens");
    assert_eq!(problem_code(res).await, "mfa_enrolment_required");
    let res = app.get(&admin, &authorize_path(&rp, Some(&challenge), &[])).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "/oauth2/authorize");
    assert!(!location(&res).contains("code="), "no code: {}", location(&res));

    // An ordinary user is not affected.
    let user = app.signed_in("plain@example.com").await;
    assert_eq!(app.get(&user, "/auth/verify").await.status(), StatusCode::OK);
    let res = app.get(&user, &authorize_path(&rp, Some(&challenge), &[])).await;
    assert!(query(&res).contains_key("code"));

    // Once enrolled, the administrator gets an identity everywhere.
    let e: Value = admin.post(app.url("/api/v1/mfa/totp")).send().await.unwrap().json().await.unwrap();
    let secret = e["secret"].as_str().unwrap().to_owned();
    let res =
        app.post_json(&admin, "/api/v1/mfa/totp/confirm", &json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get(&admin, "/auth/verify").await.status(), StatusCode::OK);
    let res = app.get(&admin, &authorize_path(&rp, Some(&challenge), &[])).await;
    assert!(query(&res).contains_key("code"));
    let body = json!({"email": "root@example.com", "password": PASSWORD, "code": code(&app, &secret, 1)});
    assert_eq!(app.post_json(&client(), "/api/v1/tokens", &body).await.status(), StatusCode::OK);
}

async fn forward_auth_refuses_access_tokens_issued_to_oauth_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A third-party client the user consented to, with `openid` only.
    let rp = register_client(&app, false, false).await;
    let browser = app.signed_in("victim@example.com").await;
    let (verifier, challenge) = pkce();
    let path = authorize_path(&rp, Some(&challenge), &[]).replace("scope=openid+email", "scope=openid");
    let request = path.split_once('?').unwrap().1.to_owned();
    let res = app
        .post_form(&browser, &path, "/oauth2/authorize", &[("request", &request), ("decision", "allow")])
        .await;
    let code = query(&res)["code"].clone();
    let tokens: Value = exchange(&app, &rp, &code, Some(&verifier)).await.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    // The client may ask who the user is ...
    let info = client().get(app.url("/oauth2/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    // ... but cannot pass a proxied application as the user, nor read the email there.
    let res = client().get(app.url("/auth/verify")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get("x-auth-user-email").is_none());

    // First-party tokens of /api/v1/tokens pass.
    let body = json!({"email": "victim@example.com", "password": PASSWORD});
    let own: Value = app.post_json(&client(), "/api/v1/tokens", &body).await.json().await.unwrap();
    let res = client()
        .get(app.url("/auth/verify"))
        .bearer_auth(own["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-auth-user-email"], "victim@example.com");
}

async fn addresses_equal_after_nfkc_and_case_folding_are_one_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("zoe@example.com").await;
    for lookalike in ["\u{ff3a}OE@example.com", "ZOE@EXAMPLE.COM", "zo\u{ff45}@example.com"] {
        let res = app
            .post_json(&client(), "/api/v1/register", &json!({"email": lookalike, "password": PASSWORD}))
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{lookalike} is zoe@example.com");
        assert_eq!(problem_code(res).await, "email_taken");
        // And it signs in to that one account.
        let res = app
            .post_json(&client(), "/api/v1/login", &json!({"email": lookalike, "password": PASSWORD}))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{lookalike} signs in");
        assert_eq!(res.json::<Value>().await.unwrap()["user"]["email"], "zoe@example.com");
    }
    // What a user typed is kept for display.
    let user = app.register("\u{ff21}da@example.com").await;
    assert_eq!(user["user"]["email"], "\u{ff21}da@example.com");
    let res = app
        .post_json(&client(), "/api/v1/register", &json!({"email": "ada@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}
