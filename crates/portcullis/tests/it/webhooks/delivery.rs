//! Deliveries from one node: signed, verified by the reference library, once per
//! endpoint, in order per user, nothing secret in them; a receiver that is down
//! for a while gets every event once it is back.

use std::time::Duration;

use portcullis::config::Dur;
use portcullis::webhooks::HttpSender;
use portcullis_core::audit::ActedBy;
use portcullis_core::webhooks::{EventFilter, EventType};
use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::receiver::{Receiver, python};
use super::{eventually, failed_attempts_not_leased, free_port, types_by_user};
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};

/// An application that may deliver to a receiver on 127.0.0.1 and looks for due
/// deliveries often.
async fn app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| {
        c.webhooks.allow_http_hosts = vec!["127.0.0.1".into()];
        c.webhooks.poll_interval = Dur(Duration::from_millis(100));
    })
    .await
}

fn loopback_sender() -> HttpSender {
    HttpSender::new(&["127.0.0.1".to_owned()]).expect("the webhook client")
}

async fn events_reach_each_endpoint_once_signed_in_order_per_user_and_hold_no_secret(backend: Backend) {
    let Some(python) = python() else { return };
    let mut rx = Receiver::start(&python, 0).await;
    let app = app(backend).await;
    let auth = app.state.auth();
    let all = auth
        .create_webhook(&loopback_sender(), &rx.url("/all"), EventFilter::All, &ActedBy::cli())
        .await
        .unwrap();
    let only = EventFilter::Only(vec![EventType::UserCreated]);
    let created =
        auth.create_webhook(&loopback_sender(), &rx.url("/created"), only, &ActedBy::cli()).await.unwrap();
    rx.set_secret("/all", all.secret.expose()).await;
    rx.set_secret("/created", created.secret.expose()).await;

    let ada = app.signed_in("ada@example.com").await;
    app.register("bob@example.com").await;
    let new_password = "teal-walrus-compass-42";
    let body = json!({"current_password": PASSWORD, "new_password": new_password});
    assert_eq!(app.post_json(&ada, "/api/v1/me/password", &body).await.status(), StatusCode::NO_CONTENT);
    let res =
        ada.delete(app.url("/api/v1/me")).json(&json!({"password": new_password})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let arrived = eventually(Duration::from_secs(30), async || {
        rx.verified_at("/all").len() >= 4 && rx.verified_at("/created").len() >= 2
    })
    .await;
    assert!(arrived, "every event arrives: {:?}", rx.received());
    assert!(rx.received().iter().all(|r| r.verified), "no request fails verification: {:?}", rx.received());
    let at_all = rx.verified_at("/all");
    let by_user = types_by_user(&at_all);
    assert_eq!(by_user["ada@example.com"], ["user.created", "user.password_changed", "user.deleted"]);
    assert_eq!(by_user["bob@example.com"], ["user.created"]);
    let at_created = rx.verified_at("/created");
    let by_user = types_by_user(&at_created);
    assert_eq!((by_user["ada@example.com"].len(), by_user["bob@example.com"].len()), (1, 1));
    // One event, one id at every endpoint.
    let ada_created = |list: &[super::receiver::Received]| {
        list.iter().find(|r| r.payload["user"]["email"] == "ada@example.com").unwrap().id.clone()
    };
    assert_eq!(ada_created(&at_all), ada_created(&at_created));
    for r in &at_all {
        let p = &r.payload;
        let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "id", "occurred_at", "type", "user"], "{p}");
        OffsetDateTime::parse(p["occurred_at"].as_str().unwrap(), &Rfc3339).expect("RFC 3339");
        assert!(p["user"]["id"].as_str().is_some_and(|id| !id.is_empty()));
        let text = p.to_string();
        for secret in [PASSWORD, new_password, "$argon2", "whsec_", all.secret.expose()] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }
    rx.stop().await;
}

async fn a_receiver_down_for_a_while_gets_every_event_once_it_is_back(backend: Backend) {
    let Some(python) = python() else { return };
    let port = free_port();
    let app = app(backend).await;
    let url = format!("http://127.0.0.1:{port}/down");
    let created = app
        .state
        .auth()
        .create_webhook(&loopback_sender(), &url, EventFilter::All, &ActedBy::cli())
        .await
        .unwrap();

    let ada = app.signed_in("ada@example.com").await;
    let body = json!({"current_password": PASSWORD, "new_password": "teal-walrus-compass-42"});
    assert_eq!(app.post_json(&ada, "/api/v1/me/password", &body).await.status(), StatusCode::NO_CONTENT);
    app.register("bob@example.com").await;
    // The first event of each user was tried and failed; ada's second waits behind hers.
    let tried =
        eventually(Duration::from_secs(30), async || failed_attempts_not_leased(&app.db.url).await == 2)
            .await;
    assert!(tried, "both users' first events were tried while the receiver was down");

    let mut rx = Receiver::start(&python, port).await;
    rx.set_secret("/down", created.secret.expose()).await;
    // The retry is due 5 s after the failure.
    app.clock.advance(time::Duration::seconds(6));
    let arrived = eventually(Duration::from_secs(30), async || rx.verified_at("/down").len() >= 3).await;
    assert!(arrived, "every event arrives once the receiver is back: {:?}", rx.received());
    let by_user = types_by_user(&rx.verified_at("/down"));
    assert_eq!(by_user["ada@example.com"], ["user.created", "user.password_changed"]);
    assert_eq!(by_user["bob@example.com"], ["user.created"]);
    // The worker marks a delivery after the receiver's answer, so the last one may
    // still be pending for a moment after it arrived.
    let settled = eventually(Duration::from_secs(10), async || {
        let stats = app.state.auth().webhook_stats().await.unwrap();
        (stats.pending, stats.failed) == (0, 0)
    })
    .await;
    assert!(settled, "nothing left pending or failed: {:?}", app.state.auth().webhook_stats().await.unwrap());
    rx.stop().await;
}

async fn a_sign_in_by_email_that_verifies_the_address_sends_email_verified_once(backend: Backend) {
    let Some(python) = python() else { return };
    let mut rx = Receiver::start(&python, 0).await;
    let (app, sink) = crate::email::with_sink(backend, |c| {
        c.auth.email_signin = true;
        c.webhooks.allow_http_hosts = vec!["127.0.0.1".into()];
        c.webhooks.poll_interval = Dur(Duration::from_millis(100));
    })
    .await;
    let hook = app
        .state
        .auth()
        .create_webhook(&loopback_sender(), &rx.url("/all"), EventFilter::All, &ActedBy::cli())
        .await
        .unwrap();
    rx.set_secret("/all", hook.secret.expose()).await;
    app.register("ann@example.com").await;
    // Twice: the first sign-in verifies the address, the second finds it verified.
    let mut ann = client();
    for _ in 0..2 {
        let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": "ann@example.com"})).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let link = sink.next_mail("ann@example.com", "Your sign-in link").await.link("/login/email");
        let token = link.split("token=").nth(1).expect("a token in the link");
        ann = client();
        let res = app.post_json(&ann, "/api/v1/login/email/verify", &json!({"token": token})).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    // A later event of ann's: events of one user arrive in order, so a second
    // user.email_verified would arrive before it.
    let body = json!({"current_password": PASSWORD, "new_password": "teal-walrus-compass-42"});
    assert_eq!(app.post_json(&ann, "/api/v1/me/password", &body).await.status(), StatusCode::NO_CONTENT);
    let arrived = eventually(Duration::from_secs(30), async || {
        types_by_user(&rx.verified_at("/all")).get("ann@example.com").is_some_and(|t| t.len() >= 4)
    })
    .await;
    assert!(arrived, "ann's events arrive: {:?}", rx.received());
    let received = rx.verified_at("/all");
    assert_eq!(
        types_by_user(&received)["ann@example.com"],
        ["user.created", "user.email_verified", "session.new_device", "user.password_changed"],
        "the second sign-in, from another client, is a new device and verifies nothing"
    );
    let verified = received.iter().find(|r| r.payload["type"] == "user.email_verified").unwrap();
    assert_eq!(verified.payload["data"], json!({"via": "email_signin"}));
    rx.stop().await;
}

backend_tests!(
    a_sign_in_by_email_that_verifies_the_address_sends_email_verified_once,
    events_reach_each_endpoint_once_signed_in_order_per_user_and_hold_no_secret,
    a_receiver_down_for_a_while_gets_every_event_once_it_is_back,
);
