//! Several nodes on one PostgreSQL database are one service, and a node
//! rides out a database outage. PostgreSQL only: these tests skip without it
//! (and fail under CI=true).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::faults::proxy::Proxy;
use crate::helpers::{
    Backend, Node, PASSWORD, TestApp, TestDb, client, csrf_from, location, postgres_available, test_config,
    within_one_second,
};

/// Two real `serve` processes started at the same moment on one empty database.
async fn two_nodes() -> Option<(TestDb, Node, Node)> {
    two_nodes_with(&[]).await
}

/// Two nodes with extra environment; the load tests turn rate limits off, since all
/// their clients share one address.
async fn two_nodes_with(env: &[(&str, &str)]) -> Option<(TestDb, Node, Node)> {
    if !postgres_available().await {
        return None;
    }
    let db = TestDb::create(Backend::Postgres).await;
    let (a, b) = tokio::join!(Node::start(&db.url, env), Node::start(&db.url, env));
    Some((db, a, b))
}

const NO_LIMITS: &[(&str, &str)] = &[("PORTCULLIS_RATE_LIMIT__ENABLED", "false")];

async fn login(c: &reqwest::Client, node: &Node, email: &str, password: &str) -> StatusCode {
    c.post(node.url("/api/v1/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn me(c: &reqwest::Client, node: &Node) -> StatusCode {
    c.get(node.url("/api/v1/me")).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_node_works_on_the_other_and_so_does_its_form_token() {
    let Some((_db, a, b)) = two_nodes().await else { return };
    let res = client()
        .post(a.url("/api/v1/register"))
        .json(&json!({"email": "one@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let c = client();
    assert_eq!(login(&c, &a, "one@example.com", PASSWORD).await, StatusCode::OK);
    assert_eq!(me(&c, &b).await, StatusCode::OK, "node B accepts node A's session");
    // Both nodes generated their secrets at the same moment, yet agree on one:
    // a form token issued by A is accepted by B.
    let browser = client();
    let html = browser.get(a.url("/login")).send().await.unwrap().text().await.unwrap();
    let token = csrf_from(&html).unwrap();
    let res = browser
        .post(b.url("/login"))
        .form(&[("email", "one@example.com"), ("password", PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revocation_password_change_and_disable_reach_every_node_within_a_second() {
    let Some((db, a, b)) = two_nodes().await else { return };
    client()
        .post(a.url("/api/v1/register"))
        .json(&json!({"email": "two@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    // Logout on B ends the session on A.
    let c = client();
    login(&c, &a, "two@example.com", PASSWORD).await;
    assert_eq!(c.post(b.url("/api/v1/logout")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(within_one_second(async || me(&c, &a).await == StatusCode::UNAUTHORIZED).await, "logout");

    // Revoking a session on A ends it on B.
    let (laptop, phone) = (client(), client());
    login(&laptop, &a, "two@example.com", PASSWORD).await;
    login(&phone, &b, "two@example.com", PASSWORD).await;
    let list: Vec<Value> =
        laptop.get(a.url("/api/v1/me/sessions")).send().await.unwrap().json().await.unwrap();
    let other = list.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let res = laptop.delete(a.url(&format!("/api/v1/me/sessions/{other}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(within_one_second(async || me(&phone, &b).await == StatusCode::UNAUTHORIZED).await, "revocation");

    // A password change on A ends the other sessions on B.
    let phone = client();
    login(&phone, &b, "two@example.com", PASSWORD).await;
    let new = "teal-walrus-compass-42";
    let res = laptop
        .post(a.url("/api/v1/me/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": new}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        within_one_second(async || me(&phone, &b).await == StatusCode::UNAUTHORIZED).await,
        "password change"
    );
    assert_eq!(login(&client(), &b, "two@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED);

    // Disabling the user (the CLI, a third process) ends its sessions everywhere.
    let phone = client();
    assert_eq!(login(&phone, &b, "two@example.com", new).await, StatusCode::OK);
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["user", "disable", "two@example.com"])
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    assert!(
        within_one_second(async || me(&phone, &b).await == StatusCode::UNAUTHORIZED
            && me(&laptop, &a).await == StatusCode::UNAUTHORIZED)
        .await,
        "disable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_simultaneous_registrations_of_one_email_on_two_nodes_make_one_account() {
    let Some((_db, a, b)) = two_nodes_with(NO_LIMITS).await else { return };
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let url = if i % 2 == 0 { a.url("/api/v1/register") } else { b.url("/api/v1/register") };
        let email = if i % 3 == 0 { "SAME@example.com" } else { "same@example.com" };
        set.spawn(async move {
            client()
                .post(url)
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let statuses = set.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 49, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_distinct_registrations_all_land_and_can_sign_in() {
    let Some((_db, a, b)) = two_nodes_with(NO_LIMITS).await else { return };
    let run = async |path: &'static str, expected: StatusCode| {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..200 {
            let url = if i % 2 == 0 { a.url(path) } else { b.url(path) };
            set.spawn(async move {
                let body = json!({"email": format!("user{i}@example.com"), "password": PASSWORD});
                client().post(url).json(&body).send().await.unwrap().status()
            });
        }
        let statuses = set.join_all().await;
        assert!(statuses.iter().all(|s| *s == expected), "{path}: {statuses:?}");
    };
    run("/api/v1/register", StatusCode::CREATED).await;
    run("/api/v1/login", StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_unreachable_requests_get_503_and_the_node_recovers_without_restart() {
    if !postgres_available().await {
        return;
    }
    let db = TestDb::create(Backend::Postgres).await;
    let (proxy, through) = Proxy::in_front_of(&db.url).await;
    let config = test_config(&through);
    let app = TestApp::spawn_on(db, config).await;
    let c = app.signed_in("outage@example.com").await;
    let rp = crate::oidc::register_client(&app, false, true).await;
    let authorize = crate::oidc::authorize_path(&rp, Some(&crate::oidc::pkce().1), &[]);

    proxy.cut();
    let down = app.get(&c, "/api/v1/me").await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["content-type"], "application/problem+json");
    assert_eq!(down.json::<Value>().await.unwrap()["code"], "unavailable");
    assert_eq!(app.get(&client(), "/readyz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "outage@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get(&client(), "/healthz").await.status(), StatusCode::OK, "the process itself is up");
    // A page that needs the database says so too (not "unknown client").
    let res = app.get(&client(), &authorize).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "/oauth2/authorize");
    assert!(res.text().await.unwrap().contains("temporarily unavailable"));

    proxy.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while app.get(&client(), "/readyz").await.status() != StatusCode::OK {
        assert!(tokio::time::Instant::now() < deadline, "the node did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK, "the session survived the outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_counted_across_nodes() {
    let Some((_db, a, b)) = two_nodes().await else { return };
    client()
        .post(a.url("/api/v1/register"))
        .json(&json!({"email": "three@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            login(&client(), node, "three@example.com", "wrong-password-1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    for node in [&a, &b] {
        assert_eq!(
            login(&client(), node, "three@example.com", PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
