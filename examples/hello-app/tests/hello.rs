//! hello-app end to end: the real application on 127.0.0.1:0 with a fresh `SQLite`
//! database, driven by a cookie-keeping, non-redirecting client.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis::Config;
use portcullis_core::MockClock;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

const PASSWORD: &str = "mauve-otter-ladder-19";

struct TestApp {
    base: String,
    client: reqwest::Client,
    // Dropped last: the database file outlives the server.
    _dir: tempfile::TempDir,
}

impl TestApp {
    async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".into();
        config.database.url = format!("sqlite://{}", dir.path().join("hello.db").display());
        // Cheap hashing: these tests are not about Argon2's cost.
        config.password.argon2_memory_kib = 1024;
        config.password.argon2_iterations = 1;

        let listener = tokio::net::TcpListener::bind(config.bind_addr()).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let app = hello_app::build(&config, &base, Arc::new(MockClock::new())).await.expect("app builds");
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("serve");
        });

        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { base, client, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, accept: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header(ACCEPT, accept).send().await.expect("request")
    }

    async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request")
    }

    async fn sign_up_and_in(&self, email: &str) {
        let credentials = json!({ "email": email, "password": PASSWORD });
        let res = self.post_json("/api/v1/register", &credentials).await;
        assert_eq!(res.status(), StatusCode::CREATED, "registration succeeds");
        let res = self.post_json("/api/v1/login", &credentials).await;
        assert_eq!(res.status(), StatusCode::OK, "login succeeds");
    }
}

#[tokio::test]
async fn hello_is_public_and_greets_a_stranger() {
    let app = TestApp::spawn().await;
    let res = app.get("/hello", "text/html").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Hello, stranger!"));
}

#[tokio::test]
async fn members_sends_an_anonymous_browser_to_the_sign_in_page() {
    let app = TestApp::spawn().await;
    let res = app.get("/members", "text/html").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login?next=%2Fmembers");
}

#[tokio::test]
async fn whoami_refuses_an_anonymous_api_client_with_problem_json() {
    let app = TestApp::spawn().await;
    let res = app.get("/members/api/whoami", "application/json").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn a_signed_in_user_sees_the_members_pages() {
    let app = TestApp::spawn().await;
    app.sign_up_and_in("ada@example.com").await;

    let res = app.get("/hello", "text/html").await;
    assert!(res.text().await.unwrap().contains("Hello, ada@example.com!"));

    let res = app.get("/members", "text/html").await;
    assert_eq!(res.status(), StatusCode::OK);
    // The app's own pages get Portcullis's protections too.
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers().contains_key("content-security-policy"));
    let html = res.text().await.unwrap();
    assert!(html.contains("Members only"));
    assert!(html.contains("Signed in as ada@example.com."));

    let res = app.get("/members/api/whoami", "application/json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({ "email": "ada@example.com" }));
}

#[tokio::test]
async fn portcullis_routes_are_served_alongside_the_app() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", "application/json").await.status(), StatusCode::OK);
    assert_eq!(app.get("/login", "text/html").await.status(), StatusCode::OK);
    assert_eq!(app.get("/no-such-page", "text/html").await.status(), StatusCode::NOT_FOUND);
}
