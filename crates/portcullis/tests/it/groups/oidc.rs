//! The OIDC scope `groups` (SPEC §7): discovery lists the scope and the claim; the
//! claim is in the ID token, the JWT access token, userinfo and introspection,
//! only with the scope, names sorted by byte order. Tokens carry the groups of the
//! moment they were issued; userinfo and introspection read membership now, so a
//! removal shows there within a second.

use reqwest::StatusCode;
use serde_json::{Value, json};

use portcullis_core::groups::Actor;
use portcullis_core::oauth::ClientFlags;

use crate::helpers::{Backend, TestApp, backend_tests, client, within_one_second};
use crate::oidc::{Rp, authorize_path, exchange, pkce, query, register_with};
use crate::tokens::claims;

backend_tests!(
    the_groups_scope_puts_the_groups_claim_in_all_four_places,
    without_the_groups_scope_no_token_or_answer_names_groups,
);

async fn join(app: &TestApp, email: &str, groups: &[&str]) {
    let auth = app.state.auth();
    for g in groups {
        if auth.find_group(g).await.is_err() {
            auth.create_group(g, "", Actor::Cli).await.expect("group created");
        }
        auth.add_to_group(g, email, Actor::Cli).await.expect("added");
    }
}

/// The code flow with `scope`: the token response.
async fn tokens(app: &TestApp, browser: &reqwest::Client, rp: &Rp, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let path = authorize_path(rp, Some(&challenge), &[]);
    let path = path.replace("scope=openid+email", &format!("scope={}", scope.replace(' ', "+")));
    let res = app.get(browser, &path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a first-party client is sent straight back");
    let res = exchange(app, rp, &query(&res)["code"], Some(&verifier)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn userinfo(app: &TestApp, access: &str) -> Value {
    let res = client().get(app.url("/oauth2/userinfo")).bearer_auth(access).send().await.expect("userinfo");
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn introspect(app: &TestApp, rp: &Rp, token: &str) -> Value {
    let res = client()
        .post(app.url("/oauth2/introspect"))
        .basic_auth(&rp.id, rp.secret.as_ref())
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

fn first_party() -> ClientFlags {
    ClientFlags { public: false, first_party: true, resource_server: false }
}

async fn the_groups_scope_puts_the_groups_claim_in_all_four_places(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let d: Value = app.get(&client(), "/.well-known/openid-configuration").await.json().await.expect("json");
    assert!(d["scopes_supported"].as_array().unwrap().contains(&json!("groups")), "{d}");
    assert!(d["claims_supported"].as_array().unwrap().contains(&json!("groups")), "{d}");

    let rp = register_with(&app, first_party()).await;
    let browser = app.signed_in("ada@example.com").await;
    join(&app, "ada@example.com", &["zeta", "ops", "z", "a.team"]).await;
    let sorted = json!(["a.team", "ops", "z", "zeta"]);
    let t = tokens(&app, &browser, &rp, "openid groups").await;
    let id = claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["groups"], sorted, "the ID token names the groups, sorted by byte order");
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["groups"], sorted, "and the JWT access token");
    assert_eq!(userinfo(&app, access).await["groups"], sorted, "and userinfo");
    let info = introspect(&app, &rp, access).await;
    assert_eq!(
        (info["active"].clone(), info["groups"].clone()),
        (json!(true), sorted.clone()),
        "and introspection"
    );
    let refresh = introspect(&app, &rp, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh["groups"], sorted, "a refresh token's introspection too");

    // Removed from a group: the token keeps what it was issued with; userinfo and
    // introspection, which read membership per request, change within a second.
    app.state.auth().remove_from_group("ops", "ada@example.com", Actor::Cli).await.expect("removed");
    let now = json!(["a.team", "z", "zeta"]);
    assert!(
        within_one_second(async || userinfo(&app, access).await["groups"] == now).await,
        "userinfo reads membership now"
    );
    assert!(
        within_one_second(async || introspect(&app, &rp, access).await["groups"] == now).await,
        "introspection reads membership now"
    );
    assert_eq!(claims(access)["groups"], sorted, "the token itself is what it was when issued");
    let fresh = tokens(&app, &browser, &rp, "openid groups").await;
    assert_eq!(claims(fresh["id_token"].as_str().unwrap())["groups"], now, "new tokens carry the new groups");

    // A user in no group gets an empty list, not a missing claim.
    let bob = app.signed_in("bob@example.com").await;
    let t = tokens(&app, &bob, &rp, "openid groups").await;
    assert_eq!(claims(t["id_token"].as_str().unwrap())["groups"], json!([]));
    assert_eq!(userinfo(&app, t["access_token"].as_str().unwrap()).await["groups"], json!([]));
    app.stop().await;
}

async fn without_the_groups_scope_no_token_or_answer_names_groups(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rp = register_with(&app, first_party()).await;
    let browser = app.signed_in("ada@example.com").await;
    join(&app, "ada@example.com", &["ops"]).await;
    let t = tokens(&app, &browser, &rp, "openid email").await;
    let access = t["access_token"].as_str().unwrap();
    for (place, v) in [
        ("ID token", claims(t["id_token"].as_str().unwrap())),
        ("access token", claims(access)),
        ("userinfo", userinfo(&app, access).await),
        ("introspection", introspect(&app, &rp, access).await),
    ] {
        assert!(v.get("groups").is_none(), "no groups in the {place} without the scope: {v}");
    }
    app.stop().await;
}
