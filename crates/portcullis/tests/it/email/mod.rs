//! The account lifecycle by email (issue #5), end to end against a real SMTP server
//! on loopback: each link is read out of the mail that carried it. This file holds
//! what the areas share.

mod account;
mod change;
mod delivery;
mod new_device;
mod reset;
mod signin;
mod verification;

use std::time::Duration;

use portcullis::Config;
use portcullis::config::{Dur, MailTransport};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, client};
use crate::smtp_sink::SmtpSink;

pub(super) const NEW_PASSWORD: &str = "teal-walrus-compass-42";

/// An application that sends mail to a fresh SMTP sink, polling every 100 ms.
pub(crate) async fn with_sink(backend: Backend, tweak: impl FnOnce(&mut Config)) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(backend, |c| {
        smtp_to(c, &url);
        tweak(c);
    })
    .await;
    (app, sink)
}

pub(crate) fn smtp_to(c: &mut Config, url: &str) {
    c.email.transport = MailTransport::Smtp;
    c.email.smtp_url = Some(url.to_owned());
    c.email.poll_interval = Dur(Duration::from_millis(100));
}

/// GETs an absolute link (as read out of a mail).
pub(super) async fn open(c: &reqwest::Client, link: &str) -> reqwest::Response {
    c.get(link).send().await.expect("request")
}

pub(super) fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("a token in the link").to_owned()
}

pub(super) async fn status_and_body(res: reqwest::Response) -> (StatusCode, String) {
    (res.status(), res.text().await.unwrap())
}

pub(super) async fn problem_code(res: reqwest::Response) -> String {
    let p: Value = res.json().await.unwrap();
    p["code"].as_str().unwrap_or_default().to_owned()
}

pub(super) async fn login_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.post_json(&client(), "/api/v1/login", &json!({"email": email, "password": password})).await.status()
}

/// Polls `check` until it holds (20 s at most).
pub(super) async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let done = tokio::time::timeout(Duration::from_secs(20), async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(done.is_ok(), "timed out waiting until {what}");
}
