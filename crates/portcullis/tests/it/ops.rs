//! Operations: Prometheus metrics, request ids, structured logs that
//! never contain a secret.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Node, PASSWORD, TestApp, TestDb, client, cookie_value, csrf_from};

#[tokio::test]
async fn metrics_report_logins_hashing_latency_sessions_and_rate_limits() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.rate_limit.login_per_account = "1/15m".parse().unwrap())
            .await;
    app.register("metrics@example.com").await;
    app.login("metrics@example.com").await;
    let wrong = json!({"email": "metrics@example.com", "password": "wrong-password-1"});
    assert_eq!(app.post_json(&client(), "/api/v1/login", &wrong).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.post_json(&client(), "/api/v1/login", &wrong).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A made-up method is counted, every time (the histogram handles are cached
    // after the first request of a series), under one label for all such methods.
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    for _ in 0..3 {
        let res = client().request(brew.clone(), app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let res = app.get(&client(), "/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(!text.contains("BREW"), "a client's made-up method became a label:\n{text}");
    for needle in [
        "portcullis_http_request_duration_seconds_count{method=\"OTHER\",route=\"/healthz\",status=\"405\"} 3",
        "portcullis_logins_total{result=\"success\"}",
        "portcullis_logins_total{result=\"failure\"}",
        "portcullis_logins_total{result=\"throttled\"}",
        "portcullis_rate_limited_total{limit=\"login:account\"}",
        "portcullis_password_hash_seconds_bucket",
        "portcullis_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/login\",status=\"200\"",
        "portcullis_active_sessions",
        "portcullis_mail_outbox_depth",
        "# TYPE portcullis_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
}

#[tokio::test]
async fn metrics_can_be_served_on_their_own_address_only() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.metrics.bind = Some("127.0.0.1:0".into())).await;
    assert_eq!(app.get(&client(), "/metrics").await.status(), StatusCode::NOT_FOUND);
    let addr = app.metrics_addr.expect("a metrics listener");
    let res = client().get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("portcullis_"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_kept() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.get(&client(), "/healthz").await;
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let mut ids = std::collections::HashSet::from([id.to_owned()]);
    for _ in 0..3 {
        let res = app.get(&client(), "/healthz").await;
        ids.insert(res.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 4, "each request gets an id of its own: {ids:?}");
    let res = client().get(app.url("/healthz")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");
    let res = client().get(app.url("/healthz")).header("x-request-id", "<script>").send().await.unwrap();
    assert_ne!(res.headers()["x-request-id"], "<script>");
}

/// An application's route behind `portcullis_web::harden` reads the request id
/// from its request's `x-request-id` header: the one on the response, whether
/// generated or a caller's sane one (Portcullis' own routes leave it out of the
/// request, which none of their handlers reads).
#[tokio::test]
async fn an_applications_handler_sees_the_request_id_of_its_response() {
    use axum::http::HeaderMap;
    use axum::routing::get;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let echo = |headers: HeaderMap| async move {
        headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned()
    };
    let service = portcullis_web::harden(axum::Router::new().route("/echo", get(echo)), app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    let res = client().get(format!("{base}/echo")).send().await.unwrap();
    let on_response = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&on_response).is_ok(), "{on_response}");
    assert_eq!(res.text().await.unwrap(), on_response, "the handler saw the response's id");
    let res =
        client().get(format!("{base}/echo")).header("x-request-id", "trace-xyz-9").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-xyz-9");
    assert_eq!(res.text().await.unwrap(), "trace-xyz-9");
}

/// A full run with verbose JSON logs: no password, token or hash ever reaches the log,
/// and each request's lines carry its request id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_a_full_run_contain_no_secret_and_carry_request_ids() {
    let db = TestDb::create(Backend::Sqlite).await;
    let node =
        Node::start(&db.url, &[("PORTCULLIS_LOG__FORMAT", "json"), ("PORTCULLIS_LOG__LEVEL", "debug")]).await;
    let new = "teal-walrus-compass-42";
    let c = client();
    let res = c
        .post(node.url("/api/v1/register"))
        .json(&json!({"email": "logs@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let bad = c
        .post(node.url("/api/v1/login"))
        .json(&json!({"email": "logs@example.com", "password": "a-wrong-secret-77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let res = c
        .post(node.url("/api/v1/login"))
        .json(&json!({"email": "logs@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let session = cookie_value(res.headers(), "portcullis_session").unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let page = c.get(node.url("/account")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_from(&page).unwrap();
    let res = c
        .post(node.url("/account/password"))
        .form(&[
            ("current_password", PASSWORD),
            ("new_password", new),
            ("new_password_confirm", new),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    c.post(node.url("/api/v1/logout")).send().await.unwrap();
    // Give the node a moment to flush its last lines.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !node.log.lock().unwrap().contains("\"logout\"") {
        assert!(tokio::time::Instant::now() < deadline, "the logout event was logged");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = node.log.lock().unwrap().clone();
    for secret in [PASSWORD, new, "a-wrong-secret-77", &session, &csrf, "$argon2id$"] {
        assert!(!log.contains(secret), "the log contains a secret ({secret:.6}...)");
    }
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.len() > 5, "JSON lines: {log}");
    let success = lines
        .iter()
        .find(|l| l["event"] == "login_succeeded")
        .unwrap_or_else(|| panic!("an audit line for the sign-in:\n{log}"));
    assert_eq!(success["span"]["request_id"], request_id.as_str(), "{success}");
    assert_eq!(success["target"], "portcullis::audit");
}

#[tokio::test]
async fn the_openapi_document_is_served_and_every_operation_in_it_exists() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.get(&app.client, "/api/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        for method in ["get", "post", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.client.request(m, app.url(&concrete)).send().await.unwrap();
            assert_ne!(res.status(), StatusCode::NOT_FOUND, "{method} {path} is routed");
            assert_ne!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is routed");
        }
    }
    assert!(operations >= 23, "{operations} operations documented");
}
