//! hello-app end to end: the real application on 127.0.0.1:0 with a fresh `SQLite`
//! database, driven by a cookie-keeping, non-redirecting client.

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis::Config;
use portcullis_core::MockClock;
use portcullis_core::groups::Actor;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};

const PASSWORD: &str = "mauve-otter-ladder-19";

struct TestApp {
    base: String,
    client: reqwest::Client,
    /// The embedded Portcullis, for the operator's side (groups).
    auth: portcullis_core::Auth,
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
        let portcullis =
            portcullis::Portcullis::open(&config, &base, Arc::new(MockClock::new())).await.expect("opens");
        let auth = portcullis.state().auth().clone();
        let app = hello_app::app(&portcullis);
        tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .expect("serve");
        });

        // reqwest has no TLS crypto provider of its own in this workspace.
        portcullis_upstream::install_crypto_provider();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { base, client, auth, _dir: dir }
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

/// Puts `email` in `group` (creating it), as `portcullis group add` does.
async fn join(app: &TestApp, group: &str, email: &str) {
    if app.auth.find_group(group).await.is_err() {
        app.auth.create_group(group, "", Actor::Cli).await.expect("group created");
    }
    app.auth.add_to_group(group, email, Actor::Cli).await.expect("member added");
}

#[tokio::test]
async fn group_routes_send_anonymous_browsers_to_sign_in_and_refuse_anonymous_api_clients() {
    let app = TestApp::spawn().await;
    for path in ["/staff", "/ops"] {
        let res = app.get(path, "text/html").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}: sign in first");
        assert_eq!(res.headers()[LOCATION], format!("/login?next=%2F{}", &path[1..]));
    }
    let res = app.get("/ops/api/status", "application/json").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn a_signed_in_user_outside_the_group_gets_403_a_page_or_problem_json() {
    let app = TestApp::spawn().await;
    app.sign_up_and_in("ada@example.com").await;
    app.auth.create_group("ops", "", Actor::Cli).await.expect("group created");
    for path in ["/staff", "/ops"] {
        let res = app.get(path, "text/html").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}: signed in, not a member");
        assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}: a page");
        let html = res.text().await.unwrap();
        assert!(html.contains("may not see this page"), "{path}: says why:\n{html}");
    }
    let res = app.get("/ops/api/status", "application/json").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "forbidden");
    // A path under the guarded router that does not exist is still a 404.
    assert_eq!(app.get("/ops/nothing-here", "text/html").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn members_of_the_group_pass_and_lose_access_within_a_second_of_removal() {
    let app = TestApp::spawn().await;
    app.sign_up_and_in("ada@example.com").await;
    join(&app, "staff", "ada@example.com").await;
    join(&app, "ops", "ada@example.com").await;
    let res = app.get("/staff", "text/html").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Welcome, ada@example.com."));
    assert_eq!(app.get("/ops", "text/html").await.status(), StatusCode::OK);
    let status: Value = app.get("/ops/api/status", "application/json").await.json().await.unwrap();
    assert_eq!(status["groups"], json!(["ops", "staff"]));

    app.auth.remove_from_group("ops", "ada@example.com", Actor::Cli).await.expect("removed");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if app.get("/ops", "text/html").await.status() == StatusCode::FORBIDDEN {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "removal takes effect within 1 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.get("/staff", "text/html").await.status(), StatusCode::OK, "other groups still count");
}
