//! The mail server away, then back: mail waits in the outbox and goes out once
//! it is back; the outage is logged when it starts and when it ends.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::{NO_LIMITS, lines_with};
use crate::helpers::{Backend, Node, PASSWORD, TestDb, client};
use crate::smtp_sink::SmtpSink;

const SUBJECT: &str = "Confirm your email address";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_server_away_then_back_delays_mail_loses_none_and_is_logged_once() {
    let db = TestDb::create(Backend::Sqlite).await;
    let sink = SmtpSink::start().await;
    let mut env = NO_LIMITS.to_vec();
    let url = sink.url();
    env.extend([
        ("PORTCULLIS_EMAIL__TRANSPORT", "smtp"),
        ("PORTCULLIS_EMAIL__SMTP_URL", url.as_str()),
        ("PORTCULLIS_EMAIL__POLL_INTERVAL", "1s"),
    ]);
    let node = Node::start(&db.url, &env).await;
    let register = async |email: &str| {
        let body = json!({"email": email, "password": PASSWORD});
        client().post(node.url("/api/v1/register")).json(&body).send().await.unwrap().status()
    };
    assert_eq!(register("before@example.com").await, StatusCode::CREATED);
    sink.next_mail("before@example.com", SUBJECT).await;

    sink.go_down();
    for i in 0..5 {
        assert_eq!(
            register(&format!("while{i}@example.com")).await,
            StatusCode::CREATED,
            "sign-up does not wait for mail"
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.count("while0@example.com", SUBJECT), 0);
    sink.come_back().await;
    for i in 0..5 {
        // Retried 5 s after the first failure, then 10 s, ...
        sink.next_mail(&format!("while{i}@example.com"), SUBJECT).await;
    }
    for i in 0..5 {
        assert_eq!(sink.count(&format!("while{i}@example.com"), SUBJECT), 1, "each mail goes out once");
    }
    // The worker notices the server back at its next round.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = node.log_text();
    assert_eq!(lines_with(&node, "the mail server: failing"), 1, "the start of the outage, once:\n{log}");
    assert_eq!(lines_with(&node, "the mail server: working again"), 1, "its end, once:\n{log}");
    assert!(
        log.lines().filter(|l| l.contains("mail delivery failed")).count() == 0,
        "no line per failed mail at the default level:\n{log}"
    );
}
