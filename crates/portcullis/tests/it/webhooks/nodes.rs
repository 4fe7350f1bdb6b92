//! Real `portcullis serve` processes: two nodes on one database deliver each
//! event exactly once and in order per user; a node killed with deliveries
//! waiting loses none of them (the next node sends them).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::receiver::{Receiver, python};
use super::{eventually, failed_attempts_not_leased, free_port, types_by_user};
use crate::helpers::{Backend, Node, PASSWORD, TestDb, backend_tests, client, portcullis_command};

const ENV: &[(&str, &str)] = &[
    ("PORTCULLIS_WEBHOOKS__ALLOW_HTTP_HOSTS", "127.0.0.1"),
    ("PORTCULLIS_WEBHOOKS__POLL_INTERVAL", "200ms"),
    ("PORTCULLIS_RATE_LIMIT__ENABLED", "false"),
];

/// `portcullis webhook create --url URL --all --json`; returns (id, secret).
pub async fn create_with_cli(db_url: &str, url: &str) -> (String, String) {
    let (mut cmd, _dir) = portcullis_command(db_url, &["webhook", "create", "--url", url, "--all", "--json"]);
    let out = cmd.env("PORTCULLIS_WEBHOOKS__ALLOW_HTTP_HOSTS", "127.0.0.1").output().await.unwrap();
    assert!(out.status.success(), "webhook create: {}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

/// Registers `email` on the node at `base` and signs in; returns the client.
async fn register(base: &str, email: &str) -> reqwest::Client {
    let c = client();
    let body = json!({"email": email, "password": PASSWORD});
    let res = c.post(format!("{base}/api/v1/register")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = c.post(format!("{base}/api/v1/login")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    c
}

async fn change_password(c: &reqwest::Client, base: &str, new: &str) {
    let body = json!({"current_password": PASSWORD, "new_password": new});
    let res = c.post(format!("{base}/api/v1/me/password")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

async fn two_nodes_deliver_each_event_exactly_once_and_in_order_per_user(backend: Backend) {
    let Some(python) = python() else { return };
    let db = TestDb::create(backend).await;
    let mut rx = Receiver::start(&python, 0).await;
    // The first node migrates; the CLI then registers the endpoint.
    let a = Node::start(&db.url, ENV).await;
    let (_, secret) = create_with_cli(&db.url, &rx.url("/hook")).await;
    rx.set_secret("/hook", &secret).await;
    let b = Node::start(&db.url, ENV).await;

    let users: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    let mut set = tokio::task::JoinSet::new();
    for (i, email) in users.iter().cloned().enumerate() {
        let (first, second) =
            if i % 2 == 0 { (a.base.clone(), b.base.clone()) } else { (b.base.clone(), a.base.clone()) };
        set.spawn(async move {
            let c = register(&first, &email).await;
            change_password(&c, &second, "teal-walrus-compass-42").await;
            let res = c
                .delete(format!("{first}/api/v1/me"))
                .json(&json!({"password": "teal-walrus-compass-42"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
        });
    }
    set.join_all().await;
    let all_sent = eventually(Duration::from_secs(60), async || {
        rx.verified_at("/hook").len() >= 18 && super::pending(&db.url).await == 0
    })
    .await;
    assert!(all_sent, "18 events delivered: {:?}", rx.received());
    let received = rx.verified_at("/hook");
    assert_eq!(received.len(), 18, "each event once");
    let by_user = types_by_user(&received);
    for email in &users {
        assert_eq!(by_user[email], ["user.created", "user.password_changed", "user.deleted"], "{email}");
    }
    assert!(rx.received().iter().all(|r| r.verified));
    drop((a, b));
    rx.stop().await;
}

async fn a_node_killed_with_deliveries_waiting_loses_none_of_them(backend: Backend) {
    let Some(python) = python() else { return };
    let db = TestDb::create(backend).await;
    let port = free_port();
    let first = Node::start(&db.url, ENV).await;
    let (_, secret) = create_with_cli(&db.url, &format!("http://127.0.0.1:{port}/hook")).await;
    let ada = register(&first.base, "ada@example.com").await;
    change_password(&ada, &first.base, "teal-walrus-compass-42").await;
    register(&first.base, "bob@example.com").await;
    let tried =
        eventually(Duration::from_secs(30), async || failed_attempts_not_leased(&db.url).await == 2).await;
    assert!(tried, "the first events were tried while the receiver was down");
    first.kill().await;

    let mut rx = Receiver::start(&python, port).await;
    rx.set_secret("/hook", &secret).await;
    let second = Node::start(&db.url, ENV).await;
    let arrived = eventually(Duration::from_secs(60), async || rx.verified_at("/hook").len() >= 3).await;
    assert!(arrived, "the next node sends what the killed one left: {:?}", rx.received());
    let by_user = types_by_user(&rx.verified_at("/hook"));
    assert_eq!(by_user["ada@example.com"], ["user.created", "user.password_changed"]);
    assert_eq!(by_user["bob@example.com"], ["user.created"]);
    drop(second);
    rx.stop().await;
}

backend_tests!(
    two_nodes_deliver_each_event_exactly_once_and_in_order_per_user,
    a_node_killed_with_deliveries_waiting_loses_none_of_them,
);
