//! Forward-auth (`GET /auth/verify`, SPEC §3.3) and `next` URLs on allowed origins.

use reqwest::StatusCode;

use crate::helpers::{Backend, PASSWORD, TestApp, client, location};

async fn app() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.allowed_redirect_origins = vec!["https://app.example.com".into()];
    })
    .await
}

#[tokio::test]
async fn a_valid_session_is_answered_with_the_user_in_headers() {
    let app = app().await;
    let user = app.register("fwd@example.com").await;
    let c = app.login("fwd@example.com").await;
    let res = app.get(&c, "/auth/verify").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-auth-user-email"], "fwd@example.com");
    assert_eq!(res.headers()["x-auth-user-id"], user["user"]["id"].as_str().unwrap());
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn anonymous_requests_get_401_or_a_redirect_to_sign_in_on_an_allowed_origin() {
    let app = app().await;
    let res = app.get(&client(), "/auth/verify").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let browser = |proto: &str, host: &str| {
        client()
            .get(app.url("/auth/verify"))
            .header("accept", "text/html")
            .header("x-forwarded-proto", proto)
            .header("x-forwarded-host", host)
            .header("x-forwarded-uri", "/dash?tab=1")
    };
    let res = browser("https", "app.example.com").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        location(&res),
        format!("{}/login?next=https%3A%2F%2Fapp.example.com%2Fdash%3Ftab%3D1", app.base)
    );
    let res = browser("https", "evil.example").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "never a redirect to an origin not allowed");
    let res = client()
        .get(app.url("/auth/verify"))
        .header("accept", "text/html")
        .header("x-original-url", "https://app.example.com/x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "nginx's X-Original-URL");
    let res = client()
        .get(app.url("/auth/verify"))
        .header("x-original-url", "https://app.example.com/x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "API clients get 401");
}

#[tokio::test]
async fn signing_in_returns_to_an_absolute_next_only_on_an_allowed_origin() {
    let app = app().await;
    app.register("back@example.com").await;
    for (next, expected) in [
        ("https://app.example.com/dash?tab=1", "https://app.example.com/dash?tab=1"),
        ("https://evil.example/dash", "/account"),
        ("https://app.example.com.evil.example/", "/account"),
    ] {
        let c = client();
        let res = app
            .post_form(
                &c,
                "/login",
                "/login",
                &[("email", "back@example.com"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(location(&res), expected, "{next}");
    }
}
