//! Mails a stranger can cause are capped per recipient, every mail limit is one
//! atomic step (bursts get no more through than sequences), and the email-change
//! budget costs the same whether the new address is taken or free.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::create_user;
use crate::email::with_sink;
use crate::helpers::{Backend, PASSWORD, backend_tests, client};
use crate::smtp_sink::SmtpSink;

backend_tests!(
    address_in_use_notices_are_capped_per_recipient,
    the_email_change_budget_costs_the_same_for_taken_and_free_addresses,
    bursts_of_mail_requests_send_no_more_than_the_limit,
);

const IN_USE: &str = "Someone tried to use your email address";
const RESET: &str = "Reset your password";
const CONFIRM_CHANGE: &str = "Confirm your new email address";
const VERIFY: &str = "Confirm your email address";

/// How many mails to `to` with `subject` arrived once the server has settled: at
/// least `at_least` are awaited, then a further half second lets any extra one (the
/// fault these tests look for) arrive too. Requests are answered before their
/// mails are queued, so there is no event to wait for instead.
async fn settled_count(sink: &SmtpSink, to: &str, subject: &str, at_least: usize) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sink.count(to, subject) < at_least && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    sink.count(to, subject)
}

async fn address_in_use_notices_are_capped_per_recipient(backend: Backend) {
    let (app, sink) = with_sink(backend, |c| c.email.require_verification = true).await;
    create_user(&app, "owner@example.com", false).await;
    // Several accounts each ask to move to the owner's address (each within its
    // own budget) ...
    for i in 0..3 {
        let prober = format!("prober{i}@example.com");
        create_user(&app, &prober, false).await;
        let c = app.login(&prober).await;
        for _ in 0..3 {
            let res = app.post_json(&c, "/api/v1/me/email", &json!({"new_email": "owner@example.com"})).await;
            assert_eq!(res.status(), StatusCode::ACCEPTED);
        }
    }
    // ... and strangers register the address again and again.
    for _ in 0..10 {
        let body = json!({"email": "owner@example.com", "password": PASSWORD});
        let res = app.post_json(&client(), "/api/v1/register", &body).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    assert_eq!(
        settled_count(&sink, "owner@example.com", IN_USE, 3).await,
        3,
        "three notices an hour at most"
    );
    // A new hour, a new allowance.
    app.clock.advance(time::Duration::minutes(61));
    let body = json!({"email": "owner@example.com", "password": PASSWORD});
    app.post_json(&client(), "/api/v1/register", &body).await;
    assert_eq!(settled_count(&sink, "owner@example.com", IN_USE, 4).await, 4);
}

async fn the_email_change_budget_costs_the_same_for_taken_and_free_addresses(backend: Backend) {
    let (app, _sink) = with_sink(backend, |_| {}).await;
    app.register("exists@example.com").await;
    let mut answers = Vec::new();
    for (who, target) in [("a@example.com", "exists@example.com"), ("b@example.com", "nobody@example.com")] {
        let c = app.signed_in(who).await;
        let mut statuses = Vec::new();
        for i in 0..4 {
            // A free address each time, so the per-recipient cap is not what stops it.
            let target =
                if target.starts_with("nobody") { format!("nobody{i}@example.com") } else { target.into() };
            let res = app.post_json(&c, "/api/v1/me/email", &json!({"new_email": target})).await;
            statuses.push(res.status().as_u16());
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], answers[1], "taken vs free");
    assert_eq!(answers[0], vec![202, 202, 202, 429]);
}

async fn bursts_of_mail_requests_send_no_more_than_the_limit(backend: Backend) {
    let (app, sink) = with_sink(backend, |c| {
        c.rate_limit.forgot_password_per_ip.count = 1000;
    })
    .await;
    app.register("burst@example.com").await;
    let c = app.signed_in("mover@example.com").await;
    // Thirty of each kind at the same instant.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..30 {
        let forgot = (client(), app.url("/api/v1/password/forgot"), json!({"email": "burst@example.com"}));
        let change = (
            c.clone(),
            app.url("/api/v1/me/email"),
            json!({"new_email": format!("moved{}@example.com", i % 2)}),
        );
        let resend = (client(), app.url("/api/v1/email/resend"), json!({"email": "burst@example.com"}));
        for (kind, (who, url, body)) in [("forgot", forgot), ("change", change), ("resend", resend)] {
            set.spawn(
                async move { (kind, who.post(url).json(&body).send().await.expect("request").status()) },
            );
        }
    }
    let answers = set.join_all().await;
    let of = |kind: &str| answers.iter().filter(|(k, _)| *k == kind).map(|(_, s)| *s).collect::<Vec<_>>();
    let (forgot, changes, resends) = (of("forgot"), of("change"), of("resend"));
    assert!(forgot.iter().all(|s| *s == StatusCode::ACCEPTED), "{forgot:?}");
    assert_eq!(
        changes.iter().filter(|s| **s == StatusCode::ACCEPTED).count(),
        3,
        "three changes an hour: {changes:?}"
    );
    assert!(resends.iter().all(StatusCode::is_success), "{resends:?}");
    assert_eq!(settled_count(&sink, "burst@example.com", RESET, 3).await, 3, "reset mails");
    assert_eq!(settled_count(&sink, "burst@example.com", VERIFY, 3).await, 3, "registration + two resends");
    let change_mails =
        sink.count("moved0@example.com", CONFIRM_CHANGE) + sink.count("moved1@example.com", CONFIRM_CHANGE);
    assert_eq!(change_mails, 3, "change confirmations");
}
