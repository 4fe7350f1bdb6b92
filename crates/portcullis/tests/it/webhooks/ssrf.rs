//! SSRF: an endpoint may not reach a private, loopback, link-local or
//! unspecified address (IPv4, IPv6, IPv4-mapped IPv6, or a name that resolves to
//! one), checked when it is created and again at each delivery, after resolving,
//! before any connection; plain http:// only to a listed host.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use portcullis::config::Dur;
use portcullis::webhooks::HttpSender;
use portcullis_core::AuthError;
use portcullis_core::audit::ActedBy;
use portcullis_core::webhooks::EventFilter;

use super::{eventually, given_up_errors};
use crate::helpers::{Backend, TestApp, backend_tests};

/// Refused URLs and the class each is refused as; `{port}` is a loopback port
/// a listener watches, so a connection would be seen.
const REFUSED: &[(&str, &str)] = &[
    ("https://10.1.2.3/hook", "private"),
    ("https://172.16.5.4/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://[fc00::1]/hook", "private"),
    ("https://127.0.0.1:{port}/hook", "loopback"),
    ("https://127.9.9.9:{port}/hook", "loopback"),
    ("https://[::1]:{port}/hook", "loopback"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://0.0.0.0:{port}/hook", "unspecified"),
    ("https://[::]:{port}/hook", "unspecified"),
    ("https://[::ffff:127.0.0.1]:{port}/hook", "loopback"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://[::ffff:169.254.1.1]/hook", "link-local"),
    ("https://localhost:{port}/hook", "loopback"),
];

fn urls(port: u16) -> Vec<(String, &'static str)> {
    REFUSED.iter().map(|(u, class)| (u.replace("{port}", &port.to_string()), *class)).collect()
}

fn host_of(url: &str) -> String {
    url::Url::parse(url).unwrap().host_str().unwrap().to_owned()
}

async fn creating_an_endpoint_refuses_every_refused_address_class_and_plain_http(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auth = app.state.auth();
    let strict = HttpSender::new(&[]).unwrap();
    for (url, class) in urls(8443) {
        match auth.create_webhook(&strict, &url, EventFilter::All, &ActedBy::cli()).await {
            Err(AuthError::Validation(errors)) => {
                assert_eq!(errors[0].field, "url");
                assert!(errors[0].message.contains(class), "{url}: {}", errors[0].message);
            }
            other => panic!("{url} was not refused: {other:?}"),
        }
    }
    let plain =
        auth.create_webhook(&strict, "http://93.184.215.14/hook", EventFilter::All, &ActedBy::cli()).await;
    assert!(matches!(plain, Err(AuthError::Validation(_))), "plain http to an unlisted host: {plain:?}");
    assert!(auth.list_webhooks().await.unwrap().is_empty());
    // A listed host may use http:// and a loopback address.
    let listed = HttpSender::new(&["127.0.0.1".to_owned()]).unwrap();
    auth.create_webhook(&listed, "http://127.0.0.1:9/hook", EventFilter::All, &ActedBy::cli())
        .await
        .expect("listed host");
    assert_eq!(auth.list_webhooks().await.unwrap().len(), 1);
}

async fn delivery_refuses_every_refused_address_class_without_connecting(backend: Backend) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    let watcher = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    // Registered while every host was allowed (as if the operator listed them,
    // or a name resolved elsewhere then); the server allows none.
    let app =
        TestApp::spawn_with(backend, |c| c.webhooks.poll_interval = Dur(Duration::from_millis(100))).await;
    let targets = urls(port);
    let lenient = HttpSender::new(&targets.iter().map(|(u, _)| host_of(u)).collect::<Vec<_>>()).unwrap();
    for (url, _) in &targets {
        app.state
            .auth()
            .create_webhook(&lenient, url, EventFilter::All, &ActedBy::cli())
            .await
            .expect("allowed at creation");
    }
    app.register("ada@example.com").await;
    let all_refused = eventually(Duration::from_secs(30), async || {
        given_up_errors(&app.db.url).await.len() == targets.len()
    })
    .await;
    let errors = given_up_errors(&app.db.url).await;
    assert!(all_refused, "each delivery is given up on: {errors:?}");
    for (url, class) in &targets {
        let host = host_of(url);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let matching = errors.iter().filter(|e| e.starts_with("refused:") && e.contains(class)).count();
        assert!(matching > 0, "{url} ({host}) refused as {class}: {errors:?}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection was made");
    watcher.abort();
}

backend_tests!(
    creating_an_endpoint_refuses_every_refused_address_class_and_plain_http,
    delivery_refuses_every_refused_address_class_without_connecting,
);
