//! Two-factor authentication (issue: TOTP and recovery codes): enrolment, the
//! second sign-in step on the API and the pages, replay, recovery codes, throttling,
//! and the half-authenticated session reaching nothing else.

use portcullis_core::Clock as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, location};

backend_tests!(
    enrolment_then_sign_in_needs_the_second_factor,
    a_used_code_cannot_be_replayed,
    recovery_codes_work_once_and_regenerating_voids_the_old_set,
    the_half_authenticated_session_reaches_nothing_else_and_expires,
    wrong_codes_are_throttled,
    turning_mfa_off_needs_the_password_or_a_code,
);

/// The code an authenticator app would show at the server's (mock) time.
pub(crate) fn code(app: &TestApp, secret: &str, steps_ahead: i64) -> String {
    let secret = Secret::try_from_base32(secret).unwrap();
    let totp = Builder::new().with_algorithm(Algorithm::SHA1).with_secret(secret).build_noncompliant();
    let at = app.clock.now().unix_timestamp() + steps_ahead * 30;
    totp.generate(u64::try_from(at).unwrap()).to_string()
}

/// Registers, signs in, enrols; returns the client, the secret and the recovery codes.
pub(crate) async fn enrolled(app: &TestApp, email: &str) -> (reqwest::Client, String, Vec<String>) {
    let c = app.signed_in(email).await;
    let res = c.post(app.url("/api/v1/mfa/totp")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let e: Value = res.json().await.unwrap();
    let secret = e["secret"].as_str().unwrap().to_owned();
    assert!(e["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
    let res = app.post_json(&c, "/api/v1/mfa/totp/confirm", &json!({"code": code(app, &secret, 0)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let codes: Vec<String> =
        serde_json::from_value(res.json::<Value>().await.unwrap()["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    // The enrolment code's step is spent: move to the next one.
    app.clock.advance(time::Duration::seconds(30));
    (c, secret, codes)
}

/// First step: password. Returns the client holding the half-authenticated session.
async fn password_step(app: &TestApp, email: &str) -> reqwest::Client {
    let c = client();
    let res = app.post_json(&c, "/api/v1/login", &json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"mfa_required": true}));
    c
}

async fn enrolment_then_sign_in_needs_the_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c, secret, _) = enrolled(&app, "mfa1@example.com").await;
    let me: Value = app.get(&c, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);
    let c2 = password_step(&app, "mfa1@example.com").await;
    let pending_cookie = c2.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(pending_cookie.status(), StatusCode::UNAUTHORIZED);
    let wrong = app.post_json(&c2, "/api/v1/login/mfa", &json!({"code": "000000"})).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json::<Value>().await.unwrap()["code"], "invalid_code");
    let res = app.post_json(&c2, "/api/v1/login/mfa", &json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(crate::helpers::set_cookie(res.headers(), "portcullis_session").is_some(), "a new session id");
    assert_eq!(res.json::<Value>().await.unwrap()["user"]["email"], "mfa1@example.com");
    assert_eq!(app.get(&c2, "/api/v1/me").await.status(), StatusCode::OK);
    // One step of clock skew is accepted (a step not used before).
    app.clock.advance(time::Duration::seconds(60));
    let c3 = password_step(&app, "mfa1@example.com").await;
    let late = app.post_json(&c3, "/api/v1/login/mfa", &json!({"code": code(&app, &secret, -1)})).await;
    assert_eq!(late.status(), StatusCode::OK);
    let events: Vec<Value> = app.get(&c3, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "mfa_enabled"));
    assert!(events.iter().any(|e| e["type"] == "mfa_failed"));
}

async fn a_used_code_cannot_be_replayed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, secret, _) = enrolled(&app, "mfa2@example.com").await;
    let now = code(&app, &secret, 0);
    let a = password_step(&app, "mfa2@example.com").await;
    assert_eq!(app.post_json(&a, "/api/v1/login/mfa", &json!({"code": now})).await.status(), StatusCode::OK);
    let b = password_step(&app, "mfa2@example.com").await;
    let replay = app.post_json(&b, "/api/v1/login/mfa", &json!({"code": now})).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED, "the same code twice");
}

async fn recovery_codes_work_once_and_regenerating_voids_the_old_set(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c, _, codes) = enrolled(&app, "mfa3@example.com").await;
    let a = password_step(&app, "mfa3@example.com").await;
    let res = app
        .post_json(&a, "/api/v1/login/mfa", &json!({"code": codes[0].to_uppercase().replace('-', "")}))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "typed without dashes, in capitals");
    let b = password_step(&app, "mfa3@example.com").await;
    assert_eq!(
        app.post_json(&b, "/api/v1/login/mfa", &json!({"code": codes[0]})).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = app.post_json(&c, "/api/v1/mfa/recovery-codes", &json!({"password": PASSWORD})).await;
    assert_eq!(fresh.status(), StatusCode::OK);
    let fresh: Vec<String> =
        serde_json::from_value(fresh.json::<Value>().await.unwrap()["recovery_codes"].clone()).unwrap();
    let d = password_step(&app, "mfa3@example.com").await;
    assert_eq!(
        app.post_json(&d, "/api/v1/login/mfa", &json!({"code": codes[1]})).await.status(),
        StatusCode::UNAUTHORIZED,
        "old set void"
    );
    assert_eq!(
        app.post_json(&d, "/api/v1/login/mfa", &json!({"code": fresh[0]})).await.status(),
        StatusCode::OK
    );
    let events: Vec<Value> = app.get(&d, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "recovery_code_used"));
}

async fn the_half_authenticated_session_reaches_nothing_else_and_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, secret, _) = enrolled(&app, "mfa4@example.com").await;
    let p = password_step(&app, "mfa4@example.com").await;
    assert_eq!(app.get(&p, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&p, "/api/v1/me/sessions").await.status(), StatusCode::UNAUTHORIZED);
    let page = p.get(app.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.post_json(
            &p,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "teal-walrus-compass-42"})
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    app.clock.advance(time::Duration::minutes(5) + time::Duration::seconds(1));
    let late = app.post_json(&p, "/api/v1/login/mfa", &json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED, "the second step expires after five minutes");
}

async fn wrong_codes_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, secret, _) = enrolled(&app, "mfa5@example.com").await;
    let p = password_step(&app, "mfa5@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            app.post_json(&p, "/api/v1/login/mfa", &json!({"code": "123456"})).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = app.post_json(&p, "/api/v1/login/mfa", &json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right code, once the limit is reached");
    assert!(res.headers().contains_key("retry-after"));
}

async fn turning_mfa_off_needs_the_password_or_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c, secret, _) = enrolled(&app, "mfa6@example.com").await;
    let none = c.delete(app.url("/api/v1/mfa/totp")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::FORBIDDEN);
    let wrong = c
        .delete(app.url("/api/v1/mfa/totp"))
        .json(&json!({"password": "not-the-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = c
        .delete(app.url("/api/v1/mfa/totp"))
        .json(&json!({"code": code(&app, &secret, 0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "mfa6@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["user"]["mfa_enabled"], false, "one step again");
}

#[tokio::test]
async fn enrolling_needs_a_recent_sign_in_or_the_password() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.signed_in("recent@example.com").await;
    app.clock.advance(time::Duration::minutes(11));
    let stale = c.post(app.url("/api/v1/mfa/totp")).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    assert_eq!(stale.json::<Value>().await.unwrap()["code"], "reauthentication_required");
    let ok = app.post_json(&c, "/api/v1/mfa/totp", &json!({"password": PASSWORD})).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_person_enrols_and_signs_in_with_a_code_through_the_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.signed_in("pages-mfa@example.com").await;
    let res = app.post_form(&c, "/account/mfa", "/account/mfa/enable", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"totp-qr\" src=\"data:image&#x2f;svg+xml;base64,"), "an inline QR image");
    let secret = html.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let res =
        app.post_form(&c, "/account/mfa", "/account/mfa/confirm", &[("code", &code(&app, &secret, 0))]).await;
    let html = res.text().await.unwrap();
    assert_eq!(html.matches("<li><code>").count(), 10, "ten recovery codes shown once");
    app.clock.advance(time::Duration::seconds(30));

    let browser = client();
    let res = app
        .post_form(
            &browser,
            "/login",
            "/login",
            &[("email", "pages-mfa@example.com"), ("password", PASSWORD), ("next", "/account?x=1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login/mfa?next=%2Faccount%3Fx%3D1");
    let page = app.get(&browser, "/login/mfa").await.text().await.unwrap();
    assert!(page.contains("autocomplete=\"one-time-code\""));
    let res = app
        .post_form(&browser, "/login/mfa", "/login/mfa", &[("code", "000000"), ("next", "/account?x=1")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .post_form(
            &browser,
            "/login/mfa",
            "/login/mfa",
            &[("code", &code(&app, &secret, 0)), ("next", "/account?x=1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account?x=1");
    assert_eq!(app.get(&browser, "/account").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_operator_can_reset_a_users_mfa_from_the_cli() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (c, _, _) = enrolled(&app, "lost-phone@example.com").await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["user", "mfa-reset", "lost-phone@example.com"])
        .env("PORTCULLIS_DATABASE__URL", &app.db.url)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        crate::helpers::within_one_second(
            async || app.get(&c, "/api/v1/me").await.status() == StatusCode::UNAUTHORIZED
        )
        .await,
        "sessions ended (within the second a change may take: another process wrote it)"
    );
    let res = app
        .post_json(
            &client(),
            "/api/v1/login",
            &json!({"email": "lost-phone@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["user"]["mfa_enabled"], false);
}

#[tokio::test]
async fn administrators_must_enrol_first_when_required() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.security.require_mfa_for_admins = true).await;
    let reg = portcullis_core::service::Registration {
        email: "root@example.com",
        password: &portcullis_core::Password::new(PASSWORD),
        verified: true,
        admin: true,
    };
    app.state.auth().register(reg, &portcullis_core::service::ClientMeta::operator()).await.unwrap();
    let admin = app.login("root@example.com").await;
    let res = app.get(&admin, "/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "mfa_enrolment_required");
    let page = admin.get(app.url("/account")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(location(&page), "/account/mfa");
    assert_eq!(
        app.get(&admin, "/account/mfa").await.status(),
        StatusCode::OK,
        "the enrolment page stays reachable"
    );
    let e: Value = admin.post(app.url("/api/v1/mfa/totp")).send().await.unwrap().json().await.unwrap();
    let confirmed = app
        .post_json(
            &admin,
            "/api/v1/mfa/totp/confirm",
            &json!({"code": code(&app, e["secret"].as_str().unwrap(), 0)}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(app.get(&admin, "/api/v1/me").await.status(), StatusCode::OK, "free once enrolled");
    // Ordinary users are not affected.
    let user = app.signed_in("plain@example.com").await;
    assert_eq!(app.get(&user, "/api/v1/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn turning_mfa_off_mails_a_notice() {
    let (app, sink) = crate::email::with_sink(Backend::Sqlite, |_| {}).await;
    let (c, _, _) = enrolled(&app, "notice-mfa@example.com").await;
    let res =
        c.delete(app.url("/api/v1/mfa/totp")).json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let mail = sink.next_mail("notice-mfa@example.com", "Two-factor authentication was turned off").await;
    assert!(mail.is_to("notice-mfa@example.com"));
    let export: Value = app.get(&c, "/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["mfa"], json!({"totp": false, "recovery_codes_left": 0}));
}
