//! The new-device notice (issue #21): a sign-in from a browser the account has not
//! used before is mailed (time, approximate client, IP, a link to /account), once
//! per device, never for the account's first sign-in.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::with_sink;
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, cookie_value, set_cookie};
use crate::smtp_sink::SmtpSink;

const SUBJECT: &str = "New sign-in to your account";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

backend_tests!(
    the_first_sign_in_after_registration_sends_no_notice,
    a_new_device_gets_one_notice_and_a_known_one_none,
    the_device_cookie_is_long_lived_http_only_and_a_random_id_stored_only_hashed,
    sign_ins_by_second_factor_and_by_email_count_once_they_are_complete,
    concurrent_first_sign_ins_of_one_new_device_send_one_notice,
    the_notice_is_audited_and_the_export_lists_devices_without_ids,
    no_notice_and_no_device_cookie_when_turned_off,
);

/// A client that keeps cookies, does not follow redirects, and says it is Firefox.
fn firefox() -> reqwest::Client {
    crate::helpers::client_builder().user_agent(FIREFOX).build().unwrap()
}

async fn sign_in(app: &TestApp, c: &reqwest::Client, email: &str) -> reqwest::Response {
    let res = app.post_json(c, "/api/v1/login", &json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(res.status(), StatusCode::OK);
    res
}

/// Waits until the mail worker has sent everything queued so far.
async fn settled(app: &TestApp, sink: &SmtpSink, to: &str) {
    // A marker mail queued last: once it arrived, everything before it did too.
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": to})).await;
    sink.next_mail(to, "Reset your password").await;
}

async fn the_first_sign_in_after_registration_sends_no_notice(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("ann@example.com").await;
    sign_in(&app, &firefox(), "ann@example.com").await;
    settled(&app, &sink, "ann@example.com").await;
    assert_eq!(sink.count("ann@example.com", SUBJECT), 0);
}

async fn a_new_device_gets_one_notice_and_a_known_one_none(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("bea@example.com").await;
    let laptop = client();
    sign_in(&app, &laptop, "bea@example.com").await;
    let phone = firefox();
    sign_in(&app, &phone, "bea@example.com").await;
    let mail = sink.next_mail("bea@example.com", SUBJECT).await;
    let (text, html) = mail.parts();
    assert!(
        text.contains("Firefox on Linux") && text.contains("127.0.0.1") && text.contains(" UTC"),
        "{text}"
    );
    assert!(html.contains(&format!("href=\"{}/account\"", app.base)), "{html}");
    for c in [&phone, &laptop, &phone] {
        sign_in(&app, c, "bea@example.com").await;
    }
    settled(&app, &sink, "bea@example.com").await;
    assert_eq!(sink.count("bea@example.com", SUBJECT), 1, "at most one notice per device");
    sign_in(&app, &client(), "bea@example.com").await;
    sink.next_mail("bea@example.com", SUBJECT).await;
}

async fn the_device_cookie_is_long_lived_http_only_and_a_random_id_stored_only_hashed(backend: Backend) {
    let (app, _sink) = with_sink(backend, |_| {}).await;
    app.register("cat@example.com").await;
    let res = sign_in(&app, &client(), "cat@example.com").await;
    let cookie = set_cookie(res.headers(), "portcullis_device").expect("a device cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains(&format!("Max-Age={}", 400 * 86_400)), "{cookie}");
    let id = cookie_value(res.headers(), "portcullis_device").unwrap();
    assert_eq!(id.len(), 43, "256 random bits");
    let other =
        cookie_value(sign_in(&app, &client(), "cat@example.com").await.headers(), "portcullis_device");
    assert_ne!(other.as_deref(), Some(id.as_str()), "each browser its own id");
    let stored = crate::helpers::stored_device_hashes(&app.db.url).await;
    let user = app.state.auth().find_user("cat@example.com").await.unwrap();
    let token = portcullis_core::SecretToken::parse(&id).unwrap();
    let expected = portcullis_core::devices::device_hash(user.id, &token);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().any(|h| h[..] == expected.as_bytes()[..]), "stored as the hash of account and id");
    assert!(stored.iter().all(|h| h[..] != *id.as_bytes()), "never the id itself");
}

async fn sign_ins_by_second_factor_and_by_email_count_once_they_are_complete(backend: Backend) {
    let (app, sink) = with_sink(backend, |c| c.auth.email_signin = true).await;
    let (_, secret, _) = crate::mfa::enrolled(&app, "dan@example.com").await;
    let c = firefox();
    sign_in(&app, &c, "dan@example.com").await;
    settled(&app, &sink, "dan@example.com").await;
    assert_eq!(sink.count("dan@example.com", SUBJECT), 0, "the password step alone is no sign-in");
    app.clock.advance(time::Duration::seconds(30));
    let code = crate::mfa::code(&app, &secret, 0);
    assert_eq!(app.post_json(&c, "/api/v1/login/mfa", &json!({"code": code})).await.status(), StatusCode::OK);
    sink.next_mail("dan@example.com", SUBJECT).await;

    app.register("eve@example.com").await;
    sign_in(&app, &client(), "eve@example.com").await;
    app.post_json(&client(), "/api/v1/login/email", &json!({"email": "eve@example.com"})).await;
    let link = sink.link("eve@example.com", "Your sign-in link", "/login/email").await;
    let token = link.split("token=").nth(1).unwrap();
    let res = app.post_json(&firefox(), "/api/v1/login/email/verify", &json!({"token": token})).await;
    assert_eq!(res.status(), StatusCode::OK);
    sink.next_mail("eve@example.com", SUBJECT).await;
}

async fn concurrent_first_sign_ins_of_one_new_device_send_one_notice(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("fay@example.com").await;
    sign_in(&app, &client(), "fay@example.com").await;
    let device = crate::helpers::random_device_id();
    let mut sign_ins = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = app.url("/api/v1/login");
        let cookie = format!("portcullis_device={device}");
        sign_ins.spawn(async move {
            let body = json!({"email": "fay@example.com", "password": PASSWORD});
            client().post(url).header("cookie", cookie).json(&body).send().await.unwrap().status()
        });
    }
    assert!(sign_ins.join_all().await.iter().all(|s| *s == StatusCode::OK));
    settled(&app, &sink, "fay@example.com").await;
    assert_eq!(sink.count("fay@example.com", SUBJECT), 1);
}

async fn the_notice_is_audited_and_the_export_lists_devices_without_ids(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("gus@example.com").await;
    let first = sign_in(&app, &client(), "gus@example.com").await;
    let first_id = cookie_value(first.headers(), "portcullis_device").unwrap();
    let c = firefox();
    sign_in(&app, &c, "gus@example.com").await;
    sink.next_mail("gus@example.com", SUBJECT).await;
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(
        events.iter().any(|e| e["type"] == "new_device_signin" && e["detail"] == "Firefox on Linux"),
        "{events:?}"
    );
    let export = app.get(&c, "/api/v1/me/export").await.text().await.unwrap();
    let doc: Value = serde_json::from_str(&export).unwrap();
    let devices = doc["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(devices.iter().any(|d| d["client"] == "Firefox on Linux" && d["ip"] == "127.0.0.1"));
    assert!(devices.iter().all(|d| d.as_object().unwrap().keys().all(|k| k != "id" && k != "device_hash")));
    assert!(!export.contains(&first_id), "never a device id");
}

async fn no_notice_and_no_device_cookie_when_turned_off(backend: Backend) {
    let (app, sink) = with_sink(backend, |c| c.security.new_device_notice = false).await;
    app.register("hal@example.com").await;
    let res = sign_in(&app, &client(), "hal@example.com").await;
    assert!(set_cookie(res.headers(), "portcullis_device").is_none());
    sign_in(&app, &firefox(), "hal@example.com").await;
    settled(&app, &sink, "hal@example.com").await;
    assert_eq!(sink.count("hal@example.com", SUBJECT), 0);
}
