//! The OpenID Connect provider (issue #8): discovery, the code flow with
//! PKCE, sign-in and consent on the way, ID tokens, userinfo, refresh, client
//! credentials, introspection, revocation, RP-initiated logout, key rotation, and
//! every rule that refuses a request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::oauth::ClientFlags;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest as _;

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, location};
use crate::tokens::{claims, header};

backend_tests!(
    the_code_flow_with_pkce_gives_verified_tokens_to_a_first_party_client,
    an_anonymous_user_signs_in_on_the_way_and_comes_back,
    third_party_clients_ask_for_consent_once,
    unknown_clients_and_unregistered_redirect_uris_get_a_page_never_a_redirect,
    pkce_is_required_for_public_clients_and_must_match,
    a_code_works_once_and_its_replay_revokes_what_it_gave,
    prompt_and_max_age_force_a_fresh_sign_in,
    refresh_tokens_rotate_per_client,
    client_credentials_introspection_and_revocation,
    rp_initiated_logout_returns_only_to_registered_uris,
    rotated_keys_keep_old_tokens_valid_and_other_nodes_learn_new_keys,
    the_account_page_lists_applications_and_signs_them_out,
    signing_out_an_application_on_the_account_page_says_so_after_the_redirect,
);

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A registered client.
pub(crate) struct Rp {
    pub id: String,
    pub secret: Option<String>,
}

pub(crate) async fn register_client(app: &TestApp, public: bool, first_party: bool) -> Rp {
    register_with(app, ClientFlags { public, first_party, resource_server: false }).await
}

pub(crate) async fn register_with(app: &TestApp, flags: ClientFlags) -> Rp {
    let created = app
        .state
        .auth()
        .create_client("Test app", &[REDIRECT.to_owned()], flags, &portcullis_core::audit::ActedBy::cli())
        .await
        .expect("client created");
    Rp { id: created.client.id, secret: created.secret.map(|s| s.expose().to_owned()) }
}

/// A PKCE verifier and its S256 challenge.
pub(crate) fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()) + "-and-some-more-entropy-here";
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn authorize_path(rp: &Rp, challenge: Option<&str>, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", &rp.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "st-123")
        .append_pair("nonce", "n-456");
    if let Some(c) = challenge {
        q.append_pair("code_challenge", c).append_pair("code_challenge_method", "S256");
    }
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/oauth2/authorize?{}", q.finish())
}

/// The query parameters of a redirect.
pub(crate) fn query(res: &reqwest::Response) -> std::collections::HashMap<String, String> {
    let loc = location(res);
    let url = url::Url::parse(&loc).unwrap_or_else(|_| panic!("absolute redirect, got {loc:?}"));
    url.query_pairs().into_owned().collect()
}

pub(crate) async fn exchange(
    app: &TestApp,
    rp: &Rp,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let mut req = client().post(app.url("/oauth2/token"));
    if let Some(secret) = &rp.secret {
        req = req.basic_auth(&rp.id, Some(secret));
    } else {
        form.push(("client_id", &rp.id));
    }
    req.form(&form).send().await.unwrap()
}

/// A signed-in browser runs the flow up to the code.
pub(crate) async fn code_for(app: &TestApp, browser: &reqwest::Client, rp: &Rp, challenge: &str) -> String {
    let res = app.get(browser, &authorize_path(rp, Some(challenge), &[])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "straight back to the client");
    let q = query(&res);
    assert_eq!(q["state"], "st-123");
    q["code"].clone()
}

async fn the_code_flow_with_pkce_gives_verified_tokens_to_a_first_party_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let d: Value = app.get(&client(), "/.well-known/openid-configuration").await.json().await.unwrap();
    assert_eq!(d["issuer"], app.base.as_str());
    for (key, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("jwks_uri", "/oauth2/jwks"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("end_session_endpoint", "/oauth2/logout"),
    ] {
        assert_eq!(d[key], format!("{}{path}", app.base), "{key}");
    }
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], serde_json::json!(["EdDSA"]));

    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("rp1@example.com").await;
    let (verifier, challenge) = pkce();
    let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &[])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with(REDIRECT), "{}", location(&res));
    let q = query(&res);
    assert_eq!(q["iss"], app.base.as_str(), "RFC 9207 issuer in the response");
    let res = exchange(&app, &rp, &q["code"], Some(&verifier)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(header(t["id_token"].as_str().unwrap())["alg"], "EdDSA");
    assert_eq!(id["iss"], app.base.as_str());
    assert_eq!(id["aud"], rp.id.as_str());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["email"], "rp1@example.com");
    assert!(id["auth_time"].is_i64());
    let access = t["access_token"].as_str().unwrap();
    let info: Value = client()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["email"], "rp1@example.com");
    // A client's token identifies the user to the client, but does not let the
    // client manage the account, and an ID token is never a bearer token.
    let me = |token: &str| client().get(app.url("/api/v1/me")).bearer_auth(token.to_owned()).send();
    assert_eq!(me(access).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(me(t["id_token"].as_str().unwrap()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let res = client().get(app.url("/oauth2/userinfo")).bearer_auth(t["id_token"].as_str().unwrap()).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Nor does it pass forward-auth: it is meant for the client alone.
    let res = client().get(app.url("/auth/verify")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A wrong client secret is refused as invalid_client.
    let (v2, c2) = pkce();
    let code = code_for(&app, &browser, &rp, &c2).await;
    let wrong = Rp { id: rp.id.clone(), secret: Some("A".repeat(43)) };
    let res = exchange(&app, &wrong, &code, Some(&v2)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
}

async fn an_anonymous_user_signs_in_on_the_way_and_comes_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("rp2@example.com").await;
    let rp = register_client(&app, true, true).await;
    let browser = client();
    let (verifier, challenge) = pkce();
    let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &[])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to_login = location(&res);
    assert!(to_login.starts_with("/login?next=%2Foauth2%2Fauthorize"), "{to_login}");
    let next: String = url::Url::parse(&app.url(&to_login))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .unwrap()
        .1
        .into();
    let res = app
        .post_form(
            &browser,
            &to_login,
            "/login",
            &[("email", "rp2@example.com"), ("password", PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), next, "back to the authorization request");
    let res = app.get(&browser, &next).await;
    let q = query(&res);
    assert_eq!(q["state"], "st-123");
    let res = exchange(&app, &rp, &q["code"], Some(&verifier)).await;
    assert_eq!(res.status(), StatusCode::OK, "a public client: PKCE instead of a secret");
}

async fn third_party_clients_ask_for_consent_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, false).await;
    let browser = app.signed_in("rp3@example.com").await;
    let (_, challenge) = pkce();
    let path = authorize_path(&rp, Some(&challenge), &[]);
    let res = app.get(&browser, &path).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("Allow Test app?") && page.contains("data-scope=\"email\""), "{page}");
    let request = path.split_once('?').unwrap().1.to_owned();
    let res = app
        .post_form(&browser, &path, "/oauth2/authorize", &[("request", &request), ("decision", "deny")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(query(&res)["error"], "access_denied");
    let res = app
        .post_form(&browser, &path, "/oauth2/authorize", &[("request", &request), ("decision", "allow")])
        .await;
    assert!(query(&res).contains_key("code"));
    // Remembered: the next request goes straight back, unless consent is asked for.
    let res = app.get(&browser, &path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &[("prompt", "consent")])).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The consent form needs its CSRF token.
    let res = browser
        .post(app.url("/oauth2/authorize"))
        .form(&[("request", request.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // prompt=none cannot ask: consent_required for a client never allowed.
    let other = register_client(&app, false, false).await;
    let res = app.get(&browser, &authorize_path(&other, Some(&challenge), &[("prompt", "none")])).await;
    assert_eq!(query(&res)["error"], "consent_required");
}

async fn unknown_clients_and_unregistered_redirect_uris_get_a_page_never_a_redirect(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("rp4@example.com").await;
    let (_, challenge) = pkce();
    let good = authorize_path(&rp, Some(&challenge), &[]);
    for bad in [
        good.replace("127.0.0.1%3A9%2Fcallback", "127.0.0.1%3A9%2Fcallback%2F"),
        good.replace("127.0.0.1%3A9%2Fcallback", "evil.example%2Fcallback"),
        good.replace("127.0.0.1%3A9%2Fcallback", "127.0.0.1%3A9%2Fcallback%3Fx%3D1"),
        good.replace(&format!("client_id={}", rp.id), "client_id=nobody"),
        good.replace(&format!("client_id={}&", rp.id), ""),
    ] {
        assert_ne!(bad, good);
        let res = app.get(&browser, &bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.headers().get("location").is_none(), "never a redirect: {bad}");
        assert!(res.text().await.unwrap().contains("<html"), "an error page");
    }
    // With a trusted redirect URI, other errors go back to the client.
    let res = app.get(&browser, &good.replace("response_type=code", "response_type=token")).await;
    assert_eq!(query(&res)["error"], "unsupported_response_type");
    let res = app.get(&browser, &good.replace("scope=openid+email", "scope=openid+admin")).await;
    assert_eq!(query(&res)["error"], "invalid_scope");
    // The token endpoint also insists on the same redirect_uri.
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &rp, &challenge).await;
    let res = client()
        .post(app.url("/oauth2/token"))
        .basic_auth(&rp.id, rp.secret.as_ref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

async fn pkce_is_required_for_public_clients_and_must_match(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let public = register_client(&app, true, true).await;
    let browser = app.signed_in("rp5@example.com").await;
    let res = app.get(&browser, &authorize_path(&public, None, &[])).await;
    assert_eq!(query(&res)["error"], "invalid_request", "no code_challenge");
    let plain =
        authorize_path(&public, None, &[("code_challenge", "abc"), ("code_challenge_method", "plain")]);
    assert_eq!(query(&app.get(&browser, &plain).await)["error"], "invalid_request", "plain refused");
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &public, &challenge).await;
    let (other_verifier, _) = pkce();
    let res = exchange(&app, &public, &code, Some(&other_verifier)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant", "PKCE mismatch");
    // The code was burnt by the failed attempt.
    assert_eq!(exchange(&app, &public, &code, Some(&verifier)).await.status(), StatusCode::BAD_REQUEST);
    let code = code_for(&app, &browser, &public, &challenge).await;
    assert_eq!(exchange(&app, &public, &code, None).await.status(), StatusCode::BAD_REQUEST, "no verifier");
    // A confidential client that sent a challenge must prove it as well.
    let confidential = register_client(&app, false, true).await;
    let code = code_for(&app, &browser, &confidential, &challenge).await;
    assert_eq!(exchange(&app, &confidential, &code, None).await.status(), StatusCode::BAD_REQUEST);
}

async fn a_code_works_once_and_its_replay_revokes_what_it_gave(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("rp6@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &rp, &challenge).await;
    let t: Value = exchange(&app, &rp, &code, Some(&verifier)).await.json().await.unwrap();
    let res = exchange(&app, &rp, &code, Some(&verifier)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let res = client()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the first exchange's tokens were revoked");
    // Codes expire after 60 s.
    let code = code_for(&app, &browser, &rp, &challenge).await;
    app.clock.advance(time::Duration::seconds(61));
    assert_eq!(exchange(&app, &rp, &code, Some(&verifier)).await.status(), StatusCode::BAD_REQUEST);
}

async fn prompt_and_max_age_force_a_fresh_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let (_, challenge) = pkce();
    let anonymous = client();
    let res = app.get(&anonymous, &authorize_path(&rp, Some(&challenge), &[("prompt", "none")])).await;
    assert_eq!(query(&res)["error"], "login_required");

    let browser = app.signed_in("rp7@example.com").await;
    for extra in [[("prompt", "login")], [("max_age", "60")]] {
        app.clock.advance(time::Duration::seconds(120));
        let res = app.get(&browser, &authorize_path(&rp, Some(&challenge), &extra)).await;
        let to = location(&res);
        assert!(to.starts_with("/login?next="), "{extra:?}: {to}");
        let next: String = url::Url::parse(&app.url(&to))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "next")
            .unwrap()
            .1
            .into();
        // The old session does not satisfy the return trip ...
        let res = app.get(&browser, &next).await;
        assert!(location(&res).starts_with("/login?next="), "still asks to sign in");
        // ... a fresh sign-in does, and the ID token says when it happened.
        app.post_form(&browser, "/login", "/login", &[("email", "rp7@example.com"), ("password", PASSWORD)])
            .await;
        let res = app.get(&browser, &next).await;
        assert!(query(&res).contains_key("code"), "{extra:?}: {}", location(&res));
    }
}

async fn refresh_tokens_rotate_per_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let other = register_client(&app, false, true).await;
    let browser = app.signed_in("rp8@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &rp, &challenge).await;
    let t: Value = exchange(&app, &rp, &code, Some(&verifier)).await.json().await.unwrap();
    let r1 = t["refresh_token"].as_str().unwrap();
    let grant = |who: &Rp, token: &str| {
        client()
            .post(app.url("/oauth2/token"))
            .basic_auth(&who.id, who.secret.as_ref())
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
    };
    let res = grant(&other, r1).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "another client's refresh token");
    let res = grant(&rp, r1).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "still valid: the other client's attempt changed nothing");
    let t2: Value = res.json().await.unwrap();
    assert!(t2["id_token"].is_string());
    let res = grant(&rp, r1).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant", "spent");
    let res = grant(&rp, t2["refresh_token"].as_str().unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the reuse revoked the family");
}

async fn client_credentials_introspection_and_revocation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, false).await;
    let public = register_client(&app, true, false).await;
    let cc = |who: &Rp| {
        let mut form = vec![("grant_type", "client_credentials")];
        if who.secret.is_none() {
            form.push(("client_id", who.id.as_str()));
        }
        let req = client().post(app.url("/oauth2/token"));
        let req = match &who.secret {
            Some(s) => req.basic_auth(&who.id, Some(s)),
            None => req,
        };
        req.form(&form).send()
    };
    let t: Value = cc(&rp).await.unwrap().json().await.unwrap();
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["sub"], rp.id.as_str());
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let res = cc(&public).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "unauthorized_client");
    // A client's own token names no user: no account API, no userinfo.
    let res = client().get(app.url("/api/v1/me")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let introspect_as = |who: &Rp, token: &str, secret: Option<&str>| {
        client()
            .post(app.url("/oauth2/introspect"))
            .basic_auth(&who.id, secret)
            .form(&[("token", token)])
            .send()
    };
    let introspect = |token: &str, secret: Option<&str>| introspect_as(&rp, token, secret);
    let secret = rp.secret.as_deref();
    let i: Value = introspect(access, secret).await.unwrap().json().await.unwrap();
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], rp.id.as_str());
    assert_eq!(introspect(access, Some("nope")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let i: Value = introspect("garbage", secret).await.unwrap().json().await.unwrap();
    assert_eq!(i, serde_json::json!({"active": false}));

    // A user's tokens: revoking the refresh token ends the access token too.
    let first_party = register_client(&app, false, true).await;
    let browser = app.signed_in("rp9@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &first_party, &challenge).await;
    let t: Value = exchange(&app, &first_party, &code, Some(&verifier)).await.json().await.unwrap();
    let (user_access, user_refresh) =
        (t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());
    // Introspected by the client they were issued to (others are told nothing).
    let owner_secret = first_party.secret.as_deref();
    let introspect = |token: &str| introspect_as(&first_party, token, owner_secret);
    let i: Value = introspect(user_refresh).await.unwrap().json().await.unwrap();
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "refresh_token");
    let revoke = |who: &Rp, token: &str| {
        client()
            .post(app.url("/oauth2/revoke"))
            .basic_auth(&who.id, who.secret.as_ref())
            .form(&[("token", token)])
            .send()
    };
    assert_eq!(revoke(&rp, user_refresh).await.unwrap().status(), StatusCode::OK, "unknown to it: still 200");
    let i: Value = introspect(user_access).await.unwrap().json().await.unwrap();
    assert_eq!(i["active"], true, "another client cannot revoke it");
    assert_eq!(revoke(&first_party, user_refresh).await.unwrap().status(), StatusCode::OK);
    for token in [user_access, user_refresh] {
        let i: Value = introspect(token).await.unwrap().json().await.unwrap();
        assert_eq!(i["active"], false);
    }
}

async fn rp_initiated_logout_returns_only_to_registered_uris(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("rp10@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &rp, &challenge).await;
    let t: Value = exchange(&app, &rp, &code, Some(&verifier)).await.json().await.unwrap();
    let id_token = t["id_token"].as_str().unwrap();
    let evil = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
        urlencode("https://evil.example/")
    );
    assert_eq!(app.get(&browser, &evil).await.status(), StatusCode::BAD_REQUEST);
    let path = format!(
        "/oauth2/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        urlencode(REDIRECT)
    );
    let res = app.get(&browser, &path).await;
    assert_eq!(res.status(), StatusCode::OK, "GET only asks");
    assert_eq!(app.get(&browser, "/api/v1/me").await.status(), StatusCode::OK, "still signed in");
    let html = app.get(&browser, &path).await.text().await.unwrap();
    let request = html.split("name=\"request\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let request = request.replace("&amp;", "&");
    let res = app.post_form(&browser, &path, "/oauth2/logout", &[("request", &request)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{REDIRECT}?state=bye"));
    assert_eq!(app.get(&browser, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "signed out");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn rotated_keys_keep_old_tokens_valid_and_other_nodes_learn_new_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .post_json(
            &client(),
            "/api/v1/register",
            &serde_json::json!({"email": "rp11@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let ask = async |app: &TestApp| -> String {
        let body = serde_json::json!({"email": "rp11@example.com", "password": PASSWORD});
        let t: Value = app.post_json(&client(), "/api/v1/tokens", &body).await.json().await.unwrap();
        t["access_token"].as_str().unwrap().to_owned()
    };
    let old = ask(&app).await;
    let old_kid = header(&old)["kid"].clone();
    // A second node on the same database rotates (as `portcullis keys rotate` does).
    let mut config = crate::helpers::test_config(&app.db.url);
    config.server.public_url = Some(app.base.clone());
    let other = portcullis::Application::build(&config, app.clock.clone()).await.unwrap();
    let new_key = other.portcullis().state().auth().keys().rotate().await.unwrap();
    let other_token = other
        .portcullis()
        .state()
        .auth()
        .authenticate_bearer(&old, portcullis_core::service::BearerUse::FirstParty)
        .await
        .unwrap();
    assert!(other_token.is_some(), "the retired key still verifies on the rotating node");
    // This node has not reloaded yet; a token from the new key makes it look again.
    let claims_of_old: portcullis_core::service::AccessClaims = serde_json::from_value(claims(&old)).unwrap();
    let fresh = other
        .portcullis()
        .state()
        .auth()
        .keys()
        .sign(portcullis_core::keys::jwt::ACCESS_TOKEN_TYP, &claims_of_old)
        .unwrap();
    assert_eq!(header(&fresh)["kid"], new_key.kid.as_str());
    let me = |token: String| client().get(app.url("/api/v1/me")).bearer_auth(token).send();
    assert_eq!(me(fresh).await.unwrap().status(), StatusCode::OK, "a key rotated elsewhere is picked up");
    assert_eq!(me(old.clone()).await.unwrap().status(), StatusCode::OK, "old tokens stay valid");
    let jwks: Value = app.get(&client(), "/oauth2/jwks").await.json().await.unwrap();
    let kids: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert_eq!(kids, vec![&Value::from(new_key.kid.as_str()), &old_kid], "both published, newest first");
    let newer = ask(&app).await;
    assert_eq!(header(&newer)["kid"], new_key.kid.as_str(), "this node now signs with the new key");
    // Two days after retirement, the old key is gone and so are its tokens.
    app.clock.advance(time::Duration::days(2) + time::Duration::seconds(1));
    app.state.auth().keys().reload().await.unwrap();
    let jwks: Value = app.get(&client(), "/oauth2/jwks").await.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

async fn the_account_page_lists_applications_and_signs_them_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("rp12@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &rp, &challenge).await;
    let t: Value = exchange(&app, &rp, &code, Some(&verifier)).await.json().await.unwrap();
    let page = app.get(&browser, "/account").await.text().await.unwrap();
    assert!(page.contains("Test app") && page.contains("openid email"), "{page}");
    let action = page.split("action=\"/account/applications/").nth(1).unwrap().split('"').next().unwrap();
    let action = format!("/account/applications/{action}");
    // Another user cannot sign it out.
    let stranger = app.signed_in("rp13@example.com").await;
    let res = app.post_form(&stranger, "/account", &action, &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.post_form(&browser, "/account", &action, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = client()
        .post(app.url("/oauth2/token"))
        .basic_auth(&rp.id, rp.secret.as_ref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "its refresh token is dead");
    let page = app.get(&browser, "/account").await.text().await.unwrap();
    assert!(page.contains("No application holds tokens"), "{page}");
}

async fn signing_out_an_application_on_the_account_page_says_so_after_the_redirect(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("rp14@example.com").await;
    let (verifier, challenge) = pkce();
    let code = code_for(&app, &browser, &rp, &challenge).await;
    assert!(exchange(&app, &rp, &code, Some(&verifier)).await.status().is_success());
    let page = app.get(&browser, "/account").await.text().await.unwrap();
    let action = page.split("action=\"/account/applications/").nth(1).unwrap().split('"').next().unwrap();
    let action = format!("/account/applications/{action}");
    let res = app.post_form(&browser, "/account", &action, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    let page = app.get(&browser, "/account").await.text().await.unwrap();
    assert!(
        page.contains("<p class=\"flash\" role=\"status\">The application was signed out.</p>"),
        "{page}"
    );
    let again = app.get(&browser, "/account").await.text().await.unwrap();
    assert!(!again.contains("class=\"flash\""), "a flash shows once");
}
