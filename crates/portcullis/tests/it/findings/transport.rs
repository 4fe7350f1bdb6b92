//! The API answers at the edge: a body declared too large is refused from its
//! header at once, one sent in chunks when it passes the limit, and a wrong method
//! gets a problem document like every error.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::{Backend, TestApp, backend_tests, client};

backend_tests!(
    a_huge_declared_body_is_refused_with_413_at_once,
    a_chunked_body_is_read_up_to_the_limit_and_refused_past_it,
    a_wrong_method_on_the_api_is_a_problem_document_with_allow,
);

/// Sends `head` (no body) on a raw connection; the status line of the answer, if
/// one comes within two seconds.
async fn status_line_within_two_seconds(app: &TestApp, head: &str) -> Option<String> {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send the head");
    let mut buf = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&buf[..read]).into_owned();
    text.lines().next().map(str::to_owned)
}

async fn a_huge_declared_body_is_refused_with_413_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/api/v1/login", "/login"] {
        let content_type =
            if path.starts_with("/api/") { "application/json" } else { "application/x-www-form-urlencoded" };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n\
             Content-Length: 10000000000\r\n\r\n"
        );
        let status = status_line_within_two_seconds(&app, &head).await;
        assert_eq!(status.as_deref(), Some("HTTP/1.1 413 Payload Too Large"), "{path}");
    }
    // Over HTTP, the API's answer is a problem document.
    let res = client()
        .post(app.url("/api/v1/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

/// Sends a request whose body goes in 8 KiB chunks (no `Content-Length`: the
/// hardening layer cannot refuse it from its head, and skips the body limit only for
/// a request that has no body at all); the status line of the answer.
async fn chunked_status(app: &TestApp, body: &[u8]) -> String {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let mut request = head.as_bytes().to_vec();
    for chunk in body.chunks(8 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading it all: a failed write is fine.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

async fn a_chunked_body_is_read_up_to_the_limit_and_refused_past_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 80 KiB of JSON whitespace before the object: over the 64 KiB limit.
    let mut big = vec![b' '; 80 * 1024];
    big.extend_from_slice(br#"{"email":"chunked@example.com","password":"not the password at all"}"#);
    assert_eq!(chunked_status(&app, &big).await, "HTTP/1.1 413 Payload Too Large");
    // The same object in chunks under the limit is read: a wrong password's 401.
    let small = &big[70 * 1024..];
    assert_eq!(chunked_status(&app, small).await, "HTTP/1.1 401 Unauthorized");
}

async fn a_wrong_method_on_the_api_is_a_problem_document_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (method, path) in [("GET", "/api/v1/login"), ("PUT", "/api/v1/me"), ("GET", "/api/v1/tokens")] {
        let res = client().request(method.parse().unwrap(), app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(res.headers().contains_key("allow"), "{method} {path} keeps Allow");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{method} {path}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["status"], 405);
        assert_eq!(problem["code"], "method_not_allowed");
    }
    // A page answers with a page.
    let res = client().put(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}
