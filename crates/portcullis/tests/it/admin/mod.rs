//! Administration (SPEC §8), the JSON half: `/api/v1/admin/*` as anonymous
//! clients, users, administrators and the command line meet it — the guard (401,
//! 403 `forbidden`, `mfa_enrolment_required`, `reauthentication_required`,
//! `csrf`), every endpoint's answers, paging and search, the `last_admin` rule
//! (API and CLI), and the audit trail with its actor. On SQLite and PostgreSQL.

mod cli;
mod groups;
mod users;

use portcullis_core::groups::Actor;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};

backend_tests!(
    every_admin_route_answers_401_to_anonymous_and_403_forbidden_to_other_users,
    reads_need_no_reauthentication_but_changes_need_a_sign_in_within_ten_minutes,
    a_bearer_token_counts_the_sign_in_that_started_its_family,
    with_mfa_required_an_administrator_without_a_second_factor_is_refused,
    a_cross_site_cookie_request_is_refused,
);

/// Every operation of `/api/v1/admin` (concrete paths, with an id of nobody).
fn operations() -> Vec<(Method, String)> {
    let id = uuid::Uuid::new_v4();
    let user = format!("/api/v1/admin/users/{id}");
    vec![
        (Method::GET, "/api/v1/admin/users".to_owned()),
        (Method::GET, user.clone()),
        (Method::PATCH, user.clone()),
        (Method::DELETE, user.clone()),
        (Method::POST, format!("{user}/sign-out")),
        (Method::DELETE, format!("{user}/mfa")),
        (Method::POST, format!("{user}/password-reset")),
        (Method::PUT, format!("{user}/groups/ops")),
        (Method::DELETE, format!("{user}/groups/ops")),
        (Method::GET, "/api/v1/admin/groups".to_owned()),
        (Method::POST, "/api/v1/admin/groups".to_owned()),
        (Method::DELETE, "/api/v1/admin/groups/ops".to_owned()),
        (Method::GET, "/api/v1/admin/events".to_owned()),
    ]
}

/// Registers `email`, makes it an administrator (as the CLI would), and signs
/// in with a fresh client.
pub(crate) async fn admin(app: &TestApp, email: &str) -> reqwest::Client {
    app.register(email).await;
    app.state.auth().add_to_group("admin", email, Actor::Cli).await.expect("made an administrator");
    app.login(email).await
}

/// The id of the user with `email`.
pub(crate) async fn id_of(app: &TestApp, email: &str) -> String {
    app.state.auth().find_user(email).await.expect("a user").id.to_string()
}

/// Sends `method path` with a JSON `body` (when given).
pub(crate) async fn send(
    app: &TestApp,
    c: &reqwest::Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = c.request(method, app.url(path));
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

/// Asserts a problem+json answer with `status` and `code`.
pub(crate) async fn problem(res: reqwest::Response, status: StatusCode, code: &str) {
    let at = format!("{} {}", res.status(), res.url().path());
    assert_eq!(res.status(), status, "{at}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/problem+json", "{at}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{at}: {body}");
}

/// Reads a successful JSON answer.
pub(crate) async fn ok_json(res: reqwest::Response) -> Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn every_admin_route_answers_401_to_anonymous_and_403_forbidden_to_other_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = app.signed_in("ada@example.com").await;
    let body = Some(json!({}));
    for (method, path) in operations() {
        let res = send(&app, &client(), method.clone(), &path, body.clone()).await;
        assert!(res.headers().contains_key("www-authenticate"), "{method} {path}");
        problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        let res = send(&app, &user, method.clone(), &path, body.clone()).await;
        problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    }
}

async fn reads_need_no_reauthentication_but_changes_need_a_sign_in_within_ten_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;
    let ada = id_of(&app, "ada@example.com").await;
    let at = format!("/api/v1/admin/users/{ada}");
    let verify = Some(json!({"email_verified": true}));
    ok_json(send(&app, &root, Method::PATCH, &at, verify.clone()).await).await;

    app.clock.advance(time::Duration::minutes(11));
    ok_json(app.get(&root, "/api/v1/admin/users").await).await;
    ok_json(app.get(&root, &at).await).await;
    for (method, path) in operations().into_iter().filter(|(m, _)| !m.is_safe()) {
        let res = send(&app, &root, method, &path, Some(json!({}))).await;
        problem(res, StatusCode::FORBIDDEN, "reauthentication_required").await;
    }
    // Signing in again allows changes for ten more minutes.
    let again = app.login("root@example.com").await;
    let changed =
        ok_json(send(&app, &again, Method::PATCH, &at, Some(json!({"disabled": true}))).await).await;
    assert_eq!(changed["disabled"], true);
}

async fn a_bearer_token_counts_the_sign_in_that_started_its_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;
    let at = format!("/api/v1/admin/users/{}", id_of(&app, "ada@example.com").await);
    let pair = ok_json(
        app.post_json(
            &client(),
            "/api/v1/tokens",
            &json!({"email": "root@example.com", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    let bearer =
        |token: &str, method: Method| client().request(method, app.url(&at)).bearer_auth(token.to_owned());
    let access = pair["access_token"].as_str().unwrap();
    let res = bearer(access, Method::PATCH).json(&json!({"email_verified": true})).send().await.unwrap();
    assert_eq!(ok_json(res).await["email_verified"], true, "a fresh token may change");

    // Eleven minutes on, a refreshed token still belongs to that sign-in.
    app.clock.advance(time::Duration::minutes(11));
    let refresh = json!({"refresh_token": pair["refresh_token"]});
    let fresh = ok_json(app.post_json(&client(), "/api/v1/tokens/refresh", &refresh).await).await;
    let access = fresh["access_token"].as_str().unwrap();
    ok_json(bearer(access, Method::GET).send().await.unwrap()).await;
    let res = bearer(access, Method::PATCH).json(&json!({"disabled": true})).send().await.unwrap();
    problem(res, StatusCode::FORBIDDEN, "reauthentication_required").await;
}

async fn with_mfa_required_an_administrator_without_a_second_factor_is_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.security.require_mfa_for_admins = true).await;
    let root = admin(&app, "root@example.com").await;
    let res = app.get(&root, "/api/v1/admin/users").await;
    problem(res, StatusCode::FORBIDDEN, "mfa_enrolment_required").await;
    let res = send(&app, &root, Method::POST, "/api/v1/admin/groups", Some(json!({"name": "ops"}))).await;
    problem(res, StatusCode::FORBIDDEN, "mfa_enrolment_required").await;
    // Other users are still just not administrators.
    let ada = app.signed_in("ada@example.com").await;
    problem(app.get(&ada, "/api/v1/admin/users").await, StatusCode::FORBIDDEN, "forbidden").await;

    let e = ok_json(root.post(app.url("/api/v1/mfa/totp")).send().await.unwrap()).await;
    let code = crate::mfa::code(&app, e["secret"].as_str().unwrap(), 0);
    ok_json(app.post_json(&root, "/api/v1/mfa/totp/confirm", &json!({"code": code})).await).await;
    let listed = ok_json(app.get(&root, "/api/v1/admin/users").await).await;
    assert_eq!(listed["users"].as_array().unwrap().len(), 2, "enrolled, the administrator gets in");
}

async fn a_cross_site_cookie_request_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;
    let at = format!("/api/v1/admin/users/{}/sign-out", id_of(&app, "ada@example.com").await);
    let res = root.post(app.url(&at)).header("origin", "https://evil.example").send().await.unwrap();
    problem(res, StatusCode::FORBIDDEN, "csrf").await;
    let res = root.post(app.url(&at)).header("sec-fetch-site", "cross-site").send().await.unwrap();
    problem(res, StatusCode::FORBIDDEN, "csrf").await;
    let res = root.post(app.url(&at)).header("origin", &app.base).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "from our own origin it passes");
}
