//! The security invariants that are not tied to one page: headers on
//! every response, hostile input, cross-site API requests, secrets at rest, HTTPS.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, cookie_value, set_cookie};

backend_tests!(
    every_response_carries_the_security_headers,
    hostile_and_malformed_api_bodies_never_get_a_5xx,
    cookie_requests_from_another_origin_are_refused,
    health_and_readiness_answer,
);

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("hdr@example.com").await;
    let requests = [
        c.get(app.url("/")),
        c.get(app.url("/login")),
        c.get(app.url("/account")),
        c.get(app.url("/api/v1/me")),
        c.get(app.url("/no/such/page")),
        c.get(app.url("/api/v1/nope")),
        c.get(app.url("/static/style.css")),
        c.post(app.url("/api/v1/login")).body("x"),
        c.post(app.url("/register")).form(&[("email", "x")]),
    ];
    for req in requests {
        let res = req.send().await.unwrap();
        let h = res.headers();
        let url = res.url().clone();
        let csp =
            h.get("content-security-policy").unwrap_or_else(|| panic!("CSP on {url}")).to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{url}");
        assert_eq!(h["x-frame-options"], "DENY", "{url}");
        assert!(!h.contains_key("strict-transport-security"), "no HSTS over plain http ({url})");
        if url.path() != "/static/style.css" {
            assert_eq!(h["cache-control"], "no-store", "{url}");
        }
    }
}

async fn hostile_and_malformed_api_bodies_never_get_a_5xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("fuzz@example.com").await;
    let big = format!("{{\"email\":\"{}\"}}", "a".repeat(70 * 1024));
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode)> = vec![
        ("/api/v1/register", "text/plain", b"{}".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "/api/v1/login",
            "application/x-www-form-urlencoded",
            b"email=a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("/api/v1/register", "application/json", big.into_bytes(), StatusCode::PAYLOAD_TOO_LARGE),
        ("/api/v1/register", "application/json", b"{\"email\": ".to_vec(), StatusCode::BAD_REQUEST),
        (
            "/api/v1/login",
            "application/json",
            b"{\"email\":\"\xff\xfe\",\"password\":\"x\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/login", "application/json", deep.into_bytes(), StatusCode::BAD_REQUEST),
        (
            "/api/v1/login",
            "application/json",
            b"{\"email\":1,\"password\":[]}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/api/v1/login", "application/json", b"[]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        ("/api/v1/login", "application/json", b"null".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/v1/me/password",
            "application/json",
            b"{\"current_password\":null}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/v1/register",
            "application/json",
            b"{\"email\":\"\\u0000@x.io\",\"password\":\"\\ud800\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, ct, body, expected) in cases {
        let res = c.post(app.url(path)).header("content-type", ct).body(body).send().await.unwrap();
        assert_eq!(res.status(), expected, "{path} {ct}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{path}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["status"], expected.as_u16());
    }
    // Odd but well-formed values are validation errors, never server errors.
    for body in [
        json!({"email": "\u{0}a@example.com", "password": PASSWORD}),
        json!({"email": "a@example.com", "password": "\u{0}".repeat(10)}),
        json!({"email": "ü@例え.jp", "password": "😀".repeat(300)}),
        json!({"email": format!("{}@example.com", "a".repeat(300)), "password": PASSWORD}),
    ] {
        let res = app.post_json(&client(), "/api/v1/register", &body).await;
        assert!(
            res.status().is_client_error() || res.status() == StatusCode::CREATED,
            "{body}: {}",
            res.status()
        );
    }
    let res = client()
        .post(app.url("/api/v1/login"))
        .json(&json!({"email": "x@example.com", "password": "p".repeat(100_000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Still serving.
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK);
}

async fn cookie_requests_from_another_origin_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("csrf@example.com").await;
    let new = "teal-walrus-compass-42";
    let body = json!({"current_password": PASSWORD, "new_password": new});
    let evil = c
        .post(app.url("/api/v1/me/password"))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    assert_eq!(evil.json::<Value>().await.unwrap()["code"], "csrf");
    let cross =
        c.post(app.url("/api/v1/logout")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK, "the refused logout did nothing");
    let login = client()
        .post(app.url("/api/v1/login"))
        .header("origin", "http://evil.example")
        .json(&json!({"email": "csrf@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FORBIDDEN, "no login CSRF");
    // Routes with a path parameter are covered as well; a path no route matches
    // stays a 404.
    let sessions = app.get(&c, "/api/v1/me/sessions").await.json::<Value>().await.unwrap();
    let id = sessions[0]["id"].as_str().unwrap().to_owned();
    let revoke = c
        .delete(app.url(&format!("/api/v1/me/sessions/{id}")))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&c, "/api/v1/me").await.status(),
        StatusCode::OK,
        "the refused revocation did nothing"
    );
    let unknown = c
        .post(app.url("/api/v1/no-such-endpoint"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // Same origin, and no Origin at all (non-browser clients), are fine.
    let same = c
        .post(app.url("/api/v1/me/password"))
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::NO_CONTENT);
}

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let h = app.get(&client(), "/healthz").await;
    assert_eq!(h.status(), StatusCode::OK);
    let r = app.get(&client(), "/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn session_tokens_are_stored_only_as_sha256_hashes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.register("hash@example.com").await;
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "hash@example.com", "password": PASSWORD}))
        .await;
    let token = cookie_value(res.headers(), "portcullis_session").unwrap();
    let csrf = client().get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = cookie_value(csrf.headers(), "portcullis_csrf").unwrap();
    let path = app.db.sqlite_path.clone().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(token.as_bytes()), "the raw session id is not in the database");
    assert!(!contains(PASSWORD.as_bytes()), "the password is not in the database");
    assert!(!contains(csrf_cookie.as_bytes()));
    let digest = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes());
    assert!(contains(&digest), "its SHA-256 is");
}

#[tokio::test]
async fn an_https_public_url_makes_cookies_secure_host_prefixed_and_adds_hsts() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.public_url = Some("https://auth.example.test".into());
    })
    .await;
    app.register("tls@example.com").await;
    let res = client()
        .post(app.url("/api/v1/login"))
        .header("origin", "https://auth.example.test")
        .json(&json!({"email": "tls@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = set_cookie(res.headers(), "__Host-portcullis_session").expect("__Host- prefixed cookie");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    let hsts = res.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.starts_with("max-age="), "{hsts}");
    let page = client().get(app.url("/login")).send().await.unwrap();
    assert!(set_cookie(page.headers(), "__Host-portcullis_csrf").unwrap().contains("; Secure"));
}

#[tokio::test]
async fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.register("xff@example.com").await;
    let c = client();
    let res = c
        .post(app.url("/api/v1/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": "xff@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list: Vec<Value> = app.get(&c, "/api/v1/me/sessions").await.json().await.unwrap();
    assert_eq!(list[0]["ip"], "127.0.0.1");

    let trusting = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    trusting.register("xff@example.com").await;
    let c = client();
    let res = c
        .post(trusting.url("/api/v1/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"email": "xff@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list: Vec<Value> = trusting.get(&c, "/api/v1/me/sessions").await.json().await.unwrap();
    assert_eq!(list[0]["ip"], "203.0.113.7", "believed from a trusted proxy");
}

#[tokio::test]
async fn the_server_stops_gracefully() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let url = app.url("/healthz");
    assert_eq!(client().get(&url).send().await.unwrap().status(), StatusCode::OK);
    app.stop().await;
    assert!(client().get(&url).send().await.is_err(), "nothing listens after shutdown");
}

async fn boom() -> &'static str {
    panic!("secret internal detail")
}

#[tokio::test]
async fn a_panicking_handler_gets_a_generic_500_and_the_server_keeps_serving() {
    use axum::routing::get;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let boom = axum::Router::new().route("/boom", get(boom)).route("/fine", get(|| async { "fine" }));
    let service = portcullis_web::harden(boom, app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    let res = client().get(format!("{base}/boom")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.headers()["x-frame-options"], "DENY", "headers even on a panic");
    let body = res.text().await.unwrap();
    assert!(!body.contains("secret internal detail") && !body.contains("panic"), "{body}");
    let again = client().get(format!("{base}/fine")).send().await.unwrap();
    assert_eq!(again.text().await.unwrap(), "fine");
}

#[tokio::test]
async fn expired_sessions_are_purged_from_the_store() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let _c = app.signed_in("purge@example.com").await;
    let _keep = app.signed_in("keep@example.com").await;
    let auth = app.state.auth();
    assert_eq!(auth.purge_expired_sessions().await.unwrap(), 0, "nothing has expired yet");
    app.clock.advance(time::Duration::hours(3));
    assert_eq!(auth.purge_expired_sessions().await.unwrap(), 2, "both idle sessions are gone");
}

/// Runs curl (a client nobody here wrote) against the TLS listener.
async fn curl(args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10"])
        .args(args)
        .output()
        .await
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn https_is_served_directly_with_secure_host_cookies_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let (c, k) = (cert.clone(), key.clone());
    let app = TestApp::spawn_with(Backend::Sqlite, move |config| {
        config.server.tls_cert = Some(c);
        config.server.tls_key = Some(k);
    })
    .await;
    let https = app.base.replace("http://", "https://");
    let ca = cert.to_str().unwrap();

    let (code, head) = curl(&["--cacert", ca, &format!("{https}/healthz")]).await;
    assert_eq!(code, Some(0), "{head}");
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/2 200"), "{head}");
    assert!(head.to_lowercase().contains("strict-transport-security: max-age="), "HSTS: {head}");

    let body = format!(r#"{{"email":"tls@example.com","password":"{PASSWORD}"}}"#);
    let json = ["-H", "content-type: application/json", "--data", &body];
    let (_, reg) = curl(&[&["--cacert", ca, &format!("{https}/api/v1/register")][..], &json].concat()).await;
    assert!(reg.contains(" 201"), "{reg}");
    let (_, login) = curl(&[&["--cacert", ca, &format!("{https}/api/v1/login")][..], &json].concat()).await;
    let cookie = login
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie: __host-portcullis_session="))
        .expect(&login);
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );

    // A client that verifies certificates refuses it without our CA; plain HTTP gets nothing.
    let (code, _) = curl(&[&format!("{https}/healthz")]).await;
    assert_eq!(code, Some(60), "curl's 'peer certificate cannot be authenticated'");
    let plain = client().get(app.url("/healthz")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != StatusCode::OK), "plain HTTP is not served");
}

#[tokio::test]
async fn x_forwarded_proto_from_a_trusted_proxy_turns_on_hsts() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let res = client().get(app.url("/healthz")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(res.headers().contains_key("strict-transport-security"));
    let untrusted = TestApp::spawn(Backend::Sqlite).await;
    let res =
        client().get(untrusted.url("/healthz")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(!res.headers().contains_key("strict-transport-security"), "not from an untrusted peer");
}
