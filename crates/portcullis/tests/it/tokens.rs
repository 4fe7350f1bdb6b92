//! `/api/v1/tokens` (issue #8): JWT access tokens and rotating refresh tokens for API
//! clients, bearer authentication on the API, and every way a token is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::keys::jwt::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP};
use portcullis_core::service::AccessClaims;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};
use crate::mfa::{code, enrolled};

backend_tests!(
    a_sign_in_gives_a_signed_jwt_and_a_refresh_token_and_the_bearer_works,
    tampered_expired_wrong_audience_unsigned_and_id_tokens_are_refused,
    refreshing_rotates_and_a_replayed_refresh_token_revokes_its_family,
    password_change_sign_out_everywhere_and_bearer_logout_end_the_tokens,
    an_account_with_mfa_needs_a_code_for_tokens,
    token_requests_are_throttled_per_address,
);

/// The JSON payload of a JWT, unverified (the test reads what the server wrote).
pub(crate) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("json")
}

pub(crate) fn header(jwt: &str) -> Value {
    let head = jwt.split('.').next().expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).expect("base64url")).expect("json")
}

/// Registers `email` and asks for a token pair.
async fn pair(app: &TestApp, email: &str) -> Value {
    app.register(email).await;
    issue(app, email).await
}

async fn issue(app: &TestApp, email: &str) -> Value {
    let res =
        app.post_json(&client(), "/api/v1/tokens", &json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

/// `GET /api/v1/me` with only a bearer token (no cookies).
async fn me_with(app: &TestApp, token: &str) -> reqwest::Response {
    client().get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json(&client(), "/api/v1/tokens/refresh", &json!({"refresh_token": refresh_token})).await
}

async fn a_sign_in_gives_a_signed_jwt_and_a_refresh_token_and_the_bearer_works(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = pair(&app, "tok1@example.com").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600, "access tokens live 10 minutes by default");
    let access = body["access_token"].as_str().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_token.len(), 43, "an opaque 256-bit refresh token");
    let h = header(access);
    assert_eq!(h["alg"], "EdDSA");
    assert_eq!(h["typ"], "at+jwt");
    let c = claims(access);
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti"] {
        assert!(c.get(claim).is_some(), "{claim} present");
    }
    assert_eq!(c["iss"], app.base.as_str());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    // The signature verifies against the published key set, with a library we did not write.
    let jwks: Value = app.get(&client(), "/oauth2/jwks").await.json().await.unwrap();
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == h["kid"]).expect("kid published");
    assert!(key.get("d").is_none(), "the JWK set never holds a private part");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_audience(&[app.base.as_str()]);
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(access, &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(), &v)
        .expect("signature verifies against /oauth2/jwks");

    let res = me_with(&app, access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["email"], "tok1@example.com");
    assert_eq!(me["id"], c["sub"]);
    // Nothing of the refresh token is stored in the clear.
    if let Some(path) = &app.db.sqlite_path {
        let mut raw = std::fs::read(path).unwrap();
        raw.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
        assert!(!raw.windows(refresh_token.len()).any(|w| w == refresh_token.as_bytes()));
    }
    let res = client().get(app.url("/api/v1/me")).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().contains_key("www-authenticate"));
}

async fn tampered_expired_wrong_audience_unsigned_and_id_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = pair(&app, "tok2@example.com").await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let real = claims(&access);

    // Another subject in the payload: the signature no longer matches.
    let mut forged = real.clone();
    forged["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let parts: Vec<&str> = access.split('.').collect();
    let tampered =
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap()), parts[2]);
    assert_eq!(me_with(&app, &tampered).await.status(), StatusCode::UNAUTHORIZED, "tampered");

    // `alg: none`, no signature.
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&real).unwrap())
    );
    assert_eq!(me_with(&app, &unsigned).await.status(), StatusCode::UNAUTHORIZED, "unsigned");

    // Properly signed by the server's own key, but for another audience, or as an ID token.
    let auth = app.state.auth();
    let mut mint: AccessClaims = serde_json::from_value(real.clone()).unwrap();
    let same = auth.keys().sign(ACCESS_TOKEN_TYP, &mint).unwrap();
    assert_eq!(me_with(&app, &same).await.status(), StatusCode::OK, "the minting itself is sound");
    mint.aud = "https://other-api.example".into();
    let other_aud = auth.keys().sign(ACCESS_TOKEN_TYP, &mint).unwrap();
    assert_eq!(me_with(&app, &other_aud).await.status(), StatusCode::UNAUTHORIZED, "wrong aud");
    mint.aud = app.base.clone();
    let as_id_token = auth.keys().sign(ID_TOKEN_TYP, &mint).unwrap();
    assert_eq!(me_with(&app, &as_id_token).await.status(), StatusCode::UNAUTHORIZED, "an ID token");
    mint.iss = "https://evil.example".into();
    let other_iss = auth.keys().sign(ACCESS_TOKEN_TYP, &mint).unwrap();
    assert_eq!(me_with(&app, &other_iss).await.status(), StatusCode::UNAUTHORIZED, "wrong iss");

    // Expiry, by the server's clock.
    app.clock.advance(time::Duration::seconds(599));
    assert_eq!(me_with(&app, &access).await.status(), StatusCode::OK);
    app.clock.advance(time::Duration::seconds(2));
    assert_eq!(me_with(&app, &access).await.status(), StatusCode::UNAUTHORIZED, "expired");
}

async fn refreshing_rotates_and_a_replayed_refresh_token_revokes_its_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = pair(&app, "tok3@example.com").await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let res = refresh(&app, r1).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    let (a2, r2) = (second["access_token"].as_str().unwrap(), second["refresh_token"].as_str().unwrap());
    assert_ne!(r1, r2, "a new refresh token every time");
    assert_eq!(me_with(&app, a2).await.status(), StatusCode::OK);

    // r1 is spent: presenting it again is refused and ends the whole family.
    let res = refresh(&app, r1).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_token");
    assert_eq!(refresh(&app, r2).await.status(), StatusCode::UNAUTHORIZED, "the family's newest token died");
    assert_eq!(me_with(&app, a2).await.status(), StatusCode::UNAUTHORIZED, "and its access tokens");
    // Another sign-in is unaffected by the revocation, and the reuse is on record.
    let again = issue(&app, "tok3@example.com").await;
    let events: Vec<Value> = client()
        .get(app.url("/api/v1/me/events"))
        .bearer_auth(again["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(events.iter().any(|e| e["type"] == "refresh_token_reused"), "{events:?}");
    // The export lists the live grant, never a token.
    let export = client()
        .get(app.url("/api/v1/me/export"))
        .bearer_auth(again["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let grants = serde_json::from_str::<Value>(&export).unwrap()["token_grants"].clone();
    assert_eq!(grants.as_array().unwrap().len(), 1, "the revoked family is gone: {grants}");
    assert!(!export.contains(again["refresh_token"].as_str().unwrap()));
    // Garbage and expired refresh tokens.
    assert_eq!(refresh(&app, "garbage").await.status(), StatusCode::UNAUTHORIZED);
    let r3 = again["refresh_token"].as_str().unwrap();
    app.clock.advance(time::Duration::days(30) + time::Duration::seconds(1));
    assert_eq!(refresh(&app, r3).await.status(), StatusCode::UNAUTHORIZED, "expired after 30 days");
}

async fn password_change_sign_out_everywhere_and_bearer_logout_end_the_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = pair(&app, "tok4@example.com").await;
    let c = app.login("tok4@example.com").await;
    let new_password = "plum-harbor-violet-73";
    let res = app
        .post_json(
            &c,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(refresh(&app, t["refresh_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me_with(&app, t["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);

    // A bearer client signing out ends its own family only.
    let login = |app: &TestApp| {
        let body = json!({"email": "tok4@example.com", "password": new_password});
        let c = client();
        let url = app.url("/api/v1/tokens");
        async move { c.post(url).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let (a, b) = (login(&app).await, login(&app).await);
    let res =
        client().post(app.url("/api/v1/logout")).bearer_auth(a["access_token"].as_str().unwrap()).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(me_with(&app, a["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refresh(&app, a["refresh_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me_with(&app, b["access_token"].as_str().unwrap()).await.status(), StatusCode::OK);

    // Disabling the account ends every family.
    app.state.auth().set_disabled("tok4@example.com", true).await.unwrap();
    assert_eq!(me_with(&app, b["access_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
    app.state.auth().set_disabled("tok4@example.com", false).await.unwrap();
    assert_eq!(refresh(&app, b["refresh_token"].as_str().unwrap()).await.status(), StatusCode::UNAUTHORIZED);
}

async fn an_account_with_mfa_needs_a_code_for_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, secret, recovery) = enrolled(&app, "tok5@example.com").await;
    let ask = async |code: Option<String>| {
        let mut body = json!({"email": "tok5@example.com", "password": PASSWORD});
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        app.post_json(&client(), "/api/v1/tokens", &body).await
    };
    let res = ask(None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "mfa_required");
    let res = ask(Some("000000".into())).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_code");
    assert_eq!(ask(Some(code(&app, &secret, 0))).await.status(), StatusCode::OK);
    assert_eq!(ask(Some(recovery[0].clone())).await.status(), StatusCode::OK, "a recovery code works too");
}

async fn token_requests_are_throttled_per_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.rate_limit.tokens_per_ip = "3/1m".parse().unwrap()).await;
    let t = pair(&app, "tok6@example.com").await;
    let r = t["refresh_token"].as_str().unwrap();
    let res = refresh(&app, r).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = json!({"email": "tok6@example.com", "password": "wrong-password-entirely"});
    assert_eq!(app.post_json(&client(), "/api/v1/tokens", &body).await.status(), StatusCode::UNAUTHORIZED);
    let res = app.post_json(&client(), "/api/v1/tokens", &body).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    app.clock.advance(time::Duration::seconds(61));
    let body = json!({"email": "tok6@example.com", "password": PASSWORD});
    assert_eq!(app.post_json(&client(), "/api/v1/tokens", &body).await.status(), StatusCode::OK);
}
