//! Delivery through the outbox: a mail server that is down or answers 4xx loses
//! nothing, two nodes send each mail once, the file transport.

use std::time::Duration;

use portcullis::config::{Dur, MailTransport};
use reqwest::StatusCode;
use serde_json::json;

use super::{NEW_PASSWORD, eventually, smtp_to, token_of, with_sink};
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};
use crate::smtp_sink::{Mode, Received};

backend_tests!(
    while_the_mail_server_refuses_connections_a_reset_mail_waits_and_arrives_when_it_returns,
    a_mail_server_answering_4xx_gets_the_mail_again_after_the_backoff,
    with_two_nodes_on_one_database_each_mail_is_sent_once,
    the_file_transport_writes_one_eml_per_mail,
);

async fn while_the_mail_server_refuses_connections_a_reset_mail_waits_and_arrives_when_it_returns(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("kai@example.com").await;
    sink.next_mail("kai@example.com", "Confirm your email address").await;
    sink.go_down();
    let res = app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "kai@example.com"})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED, "the request does not wait for SMTP");
    let auth = app.state.auth().clone();
    eventually("a delivery attempt failed and a retry is scheduled", async || {
        let s = auth.outbox_stats().await.unwrap();
        s.pending == 1 && s.due == 0
    })
    .await;
    sink.come_back().await;
    // The retry is due 5 s after the failure (mock clock); nothing is lost meanwhile.
    app.clock.advance(time::Duration::seconds(6));
    let link = sink.link("kai@example.com", "Reset your password", "/reset-password").await;
    let res = app
        .post_json(
            &client(),
            "/api/v1/password/reset",
            &json!({"token": token_of(&link), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(auth.outbox_stats().await.unwrap().failed, 0);
}

async fn a_mail_server_answering_4xx_gets_the_mail_again_after_the_backoff(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    sink.set_mode(Mode::TempFail);
    app.register("lou@example.com").await;
    let auth = app.state.auth().clone();
    eventually("the first attempt was refused with 451", async || {
        let s = auth.outbox_stats().await.unwrap();
        s.pending == 1 && s.due == 0
    })
    .await;
    app.clock.advance(time::Duration::seconds(6));
    eventually("the second attempt was refused and 10 s are scheduled", async || {
        sink.connections() >= 2 && auth.outbox_stats().await.unwrap().due == 0
    })
    .await;
    assert!(sink.messages().is_empty());
    sink.set_mode(Mode::Accept);
    app.clock.advance(time::Duration::seconds(11));
    sink.next_mail("lou@example.com", "Confirm your email address").await;
    assert_eq!(sink.messages().len(), 1, "delivered once");
}

async fn with_two_nodes_on_one_database_each_mail_is_sent_once(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let mut config = crate::helpers::test_config(&app.db.url);
    smtp_to(&mut config, &sink.url());
    let other = portcullis::Application::build(&config, app.clock.clone()).await.expect("second node starts");
    let other_base = format!("http://{}", other.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = tokio::spawn(other.run(async {
        let _ = stopped.await;
    }));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16 {
        let base = if i % 2 == 0 { app.base.clone() } else { other_base.clone() };
        set.spawn(async move {
            client()
                .post(format!("{base}/api/v1/register"))
                .json(&json!({"email": format!("n{i}@example.com"), "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    assert!(set.join_all().await.iter().all(|s| *s == StatusCode::CREATED));
    let auth = app.state.auth().clone();
    eventually("every mail is marked sent", async || auth.outbox_stats().await.unwrap().pending == 0).await;
    for i in 0..16 {
        assert_eq!(sink.count(&format!("n{i}@example.com"), "Confirm your email address"), 1, "n{i}");
    }
    assert_eq!(sink.messages().len(), 16);
    let _ = stop.send(());
    node.await.unwrap().unwrap();
}

async fn the_file_transport_writes_one_eml_per_mail(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail");
    let app = TestApp::spawn_with(backend, |c| {
        c.email.transport = MailTransport::File;
        c.email.dir = Some(path.clone());
        c.email.poll_interval = Dur(Duration::from_millis(100));
    })
    .await;
    app.register("uma@example.com").await;
    let eml = |p: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(p)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default()
    };
    eventually("the .eml file is written", async || eml(&path).len() == 1).await;
    let data = std::fs::read_to_string(&eml(&path)[0]).unwrap();
    let mail = Received { from: String::new(), to: vec![], data };
    assert_eq!(mail.subject(), "Confirm your email address");
    assert_eq!(mail.header("to").as_deref(), Some("uma@example.com"));
    assert!(mail.link("/verify-email").starts_with(&format!("{}/verify-email?token=", app.base)));
}
