//! Throttling: failed sign-ins counted per account and per client address
//! in the database, 429 + Retry-After once the limit is reached (even with the right
//! password), escalating lockouts, atomic counting.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};

backend_tests!(
    the_sixth_attempt_is_refused_even_with_the_right_password_until_the_window_allows,
    each_further_lockout_doubles_the_wait,
    a_successful_sign_in_clears_the_accounts_failures,
    fifty_parallel_wrong_passwords_get_no_more_than_five_guesses,
    unknown_accounts_are_throttled_exactly_like_real_ones,
);

async fn attempt(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(&client(), "/api/v1/login", &json!({"email": email, "password": password})).await
}

async fn the_sixth_attempt_is_refused_even_with_the_right_password_until_the_window_allows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("lock@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            attempt(&app, "lock@example.com", "wrong-password-1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = attempt(&app, "LOCK@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "about 15 minutes: {retry}");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "rate_limited");
    assert!(p["detail"].as_str().unwrap().contains("15 minutes"), "{p}");
    app.clock.advance(time::Duration::seconds(retry - 5));
    assert_eq!(attempt(&app, "lock@example.com", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(time::Duration::seconds(10));
    assert_eq!(attempt(&app, "lock@example.com", PASSWORD).await.status(), StatusCode::OK);
    // The lockout is in the user's security log.
    let c = app.login("lock@example.com").await;
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "login_throttled"), "{events:?}");
}

async fn each_further_lockout_doubles_the_wait(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut waits = Vec::new();
    for _ in 0..3 {
        for _ in 0..5 {
            assert_eq!(
                attempt(&app, "esc@example.com", "wrong-password-1").await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let res = attempt(&app, "esc@example.com", "wrong-password-1").await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        waits.push(wait);
        app.clock.advance(time::Duration::seconds(wait + 1));
    }
    assert_eq!(waits, [900, 1800, 3600]);
}

async fn a_successful_sign_in_clears_the_accounts_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("ok@example.com").await;
    for round in 0..3 {
        for _ in 0..4 {
            assert_eq!(
                attempt(&app, "ok@example.com", "wrong-password-1").await.status(),
                StatusCode::UNAUTHORIZED,
                "round {round}"
            );
        }
        assert_eq!(attempt(&app, "ok@example.com", PASSWORD).await.status(), StatusCode::OK, "round {round}");
    }
}

async fn fifty_parallel_wrong_passwords_get_no_more_than_five_guesses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("race@example.com").await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let url = app.url("/api/v1/login");
        set.spawn(async move {
            let body = json!({"email": "race@example.com", "password": format!("wrong-password-{i}")});
            client().post(url).json(&body).send().await.unwrap().status()
        });
    }
    let statuses = set.join_all().await;
    let guesses = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((guesses, refused), (5, 45), "{statuses:?}");
    assert_eq!(attempt(&app, "race@example.com", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn unknown_accounts_are_throttled_exactly_like_real_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("real@example.com").await;
    let mut answers = Vec::new();
    for email in ["real@example.com", "ghost@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(attempt(&app, email, "wrong-password-1").await.status());
        }
        let last = attempt(&app, email, "wrong-password-1").await;
        let retry = last.headers()["retry-after"].to_str().unwrap().to_owned();
        answers.push((statuses, last.status(), retry, last.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1], "a lockout does not reveal whether the account exists");
}

#[tokio::test]
async fn the_ip_limit_spans_accounts_and_a_spoofed_forwarded_for_does_not_dodge_it() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit.login_per_ip = "3/15m".parse().unwrap()).await;
    for i in 0..3 {
        let res = client()
            .post(app.url("/api/v1/login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&json!({"email": format!("user{i}@example.com"), "password": "wrong-password-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = client()
        .post(app.url("/api/v1/login"))
        .header("x-forwarded-for", "203.0.113.99")
        .json(&json!({"email": "fresh@example.com", "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "the peer address is what counts");
}

#[tokio::test]
async fn registration_is_limited_per_address() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit.register_per_ip = "2/1h".parse().unwrap())
            .await;
    app.register("r1@example.com").await;
    app.register("r2@example.com").await;
    let res = app
        .post_json(&client(), "/api/v1/register", &json!({"email": "r3@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_login_page_says_when_to_retry() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.register("page@example.com").await;
    let c = client();
    for _ in 0..5 {
        let res = app
            .post_form(
                &c,
                "/login",
                "/login",
                &[("email", "page@example.com"), ("password", "wrong-password-1")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res =
        app.post_form(&c, "/login", "/login", &[("email", "page@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let html = res.text().await.unwrap();
    assert!(html.contains("Try again in 15 minutes"), "{html}");
}

#[tokio::test]
async fn limits_can_be_switched_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit.enabled = false).await;
    app.register("off@example.com").await;
    for _ in 0..8 {
        assert_eq!(
            attempt(&app, "off@example.com", "wrong-password-1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(attempt(&app, "off@example.com", PASSWORD).await.status(), StatusCode::OK);
}
