//! The JSON API (`/api/v1`), on both backends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, cookie_value};

backend_tests!(
    registering_returns_the_public_user_and_never_a_hash,
    a_taken_email_in_any_letter_case_is_email_taken,
    invalid_registrations_get_422_with_field_codes,
    logging_in_sets_a_session_cookie_that_authenticates,
    unknown_email_and_wrong_password_get_identical_responses,
    me_without_a_session_is_401_with_www_authenticate,
    logout_revokes_the_session_server_side,
    the_session_cookie_is_found_beside_another_applications_utf8_cookie,
    every_login_creates_a_new_session_id,
    sessions_can_be_listed_and_revoked,
    another_users_session_cannot_be_revoked,
    changing_the_password_needs_the_current_one_and_revokes_other_sessions,
    an_idle_session_expires,
    a_session_expires_at_its_absolute_lifetime_even_when_busy,
    remember_me_sessions_outlive_the_idle_timeout_and_persist_the_cookie,
    a_password_hashed_at_an_old_cost_is_rehashed_at_login,
    concurrent_registrations_of_one_email_make_exactly_one_account,
    security_events_are_recorded_and_listed_newest_first,
);

async fn registering_returns_the_public_user_and_never_a_hash(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = app.register("Alice@Example.com").await;
    let user = &body["user"];
    assert_eq!(user["email"], "Alice@Example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["mfa_enabled"], false);
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert!(
        time::OffsetDateTime::parse(
            user["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "exactly id, email, email_verified, mfa_enabled, created_at, groups: {keys:?}");
    assert_eq!(user["groups"], json!([]), "a new user is in no group");
    let text = body.to_string();
    assert!(!text.contains("argon2") && !text.contains(PASSWORD));
    // The stored hash is an Argon2id PHC string at the configured cost.
    let creds = app.store.find_credentials_by_email("alice@example.com").await.unwrap().unwrap();
    assert!(creds.password_hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{}", creds.password_hash);
}

async fn a_taken_email_in_any_letter_case_is_email_taken(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("bob@example.com").await;
    let res = app
        .post_json(
            &app.client,
            "/api/v1/register",
            &json!({"email": "BOB@example.COM", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["code"], "email_taken");
    assert_eq!(p["status"], 409);
    for key in ["type", "title", "detail"] {
        assert!(p[key].is_string(), "problem has {key}");
    }
}

async fn invalid_registrations_get_422_with_field_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (json!({"email": "not-an-email", "password": PASSWORD}), "email", "invalid_email"),
        (json!({"email": "c@example.com", "password": "short"}), "password", "password_too_short"),
        (json!({"email": "c@example.com", "password": "password123"}), "password", "breached_password"),
        (json!({"email": "c@example.com", "password": "x".repeat(1025)}), "password", "password_too_long"),
        (json!({"email": "c@example.com", "password": "abcdefgh1234"}), "password", "weak_password"),
        (
            json!({"email": "oduya.marguerite@example.com", "password": "Oduyamargu"}),
            "password",
            "weak_password",
        ),
    ];
    for (body, field, code) in cases {
        let res = app.post_json(&app.client, "/api/v1/register", &body).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], "validation_failed");
        let errors = p["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["field"] == field && e["code"] == code && e["message"].is_string()),
            "{p}"
        );
    }
}

async fn logging_in_sets_a_session_cookie_that_authenticates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("dora@example.com").await;
    let c = client();
    let res =
        app.post_json(&c, "/api/v1/login", &json!({"email": "DORA@example.com", "password": PASSWORD})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = crate::helpers::set_cookie(res.headers(), "portcullis_session").expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure") && !cookie.contains("Max-Age"),
        "plain-http browser-session cookie: {cookie}"
    );
    let value = cookie_value(res.headers(), "portcullis_session").unwrap();
    assert_eq!(value.len(), 43, "256 random bits, base64url");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "dora@example.com");
    let me: Value = app.get(&c, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email"], "dora@example.com");
}

async fn unknown_email_and_wrong_password_get_identical_responses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("erin@example.com").await;
    let mut answers = Vec::new();
    for body in [
        json!({"email": "erin@example.com", "password": "wrong-password-123"}),
        json!({"email": "nobody@example.com", "password": "wrong-password-123"}),
        json!({"email": "not an email", "password": "wrong-password-123"}),
    ] {
        let res = app.post_json(&client(), "/api/v1/login", &body).await;
        let status = res.status();
        assert!(
            res.headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().contains("portcullis_session="))
        );
        answers.push((status, res.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(answers[0].1.contains("\"invalid_credentials\""));
    assert_eq!(answers[0], answers[1], "unknown email answers exactly like a wrong password");
    assert_eq!(answers[0], answers[2]);
}

async fn me_without_a_session_is_401_with_www_authenticate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for cookie in [
        None,
        Some("portcullis_session=garbage"),
        Some("portcullis_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let mut req = client().get(app.url("/api/v1/me"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key("www-authenticate"));
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], "unauthenticated");
    }
}

async fn logout_revokes_the_session_server_side(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("finn@example.com").await;
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "finn@example.com", "password": PASSWORD}))
        .await;
    let token = cookie_value(res.headers(), "portcullis_session").unwrap();
    let with_cookie = |path: &str| {
        client()
            .request(reqwest::Method::GET, app.url(path))
            .header("cookie", format!("portcullis_session={token}"))
    };
    assert_eq!(with_cookie("/api/v1/me").send().await.unwrap().status(), StatusCode::OK);
    let out = client()
        .post(app.url("/api/v1/logout"))
        .header("cookie", format!("portcullis_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = crate::helpers::set_cookie(out.headers(), "portcullis_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie value, replayed, no longer works: the session is gone server-side.
    assert_eq!(with_cookie("/api/v1/me").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// Another application on the same host may set a cookie with UTF-8 in it; the
/// browser then sends it in the same `Cookie` header as ours. It must not sign the
/// user out (it did while a header with any byte above 0x7e was skipped whole).
async fn the_session_cookie_is_found_beside_another_applications_utf8_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("utf8@example.com").await;
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "utf8@example.com", "password": PASSWORD}))
        .await;
    let token = cookie_value(res.headers(), "portcullis_session").unwrap();
    let me_with = |cookie: String| {
        let value = reqwest::header::HeaderValue::from_bytes(cookie.as_bytes()).unwrap();
        client().get(app.url("/api/v1/me")).header("cookie", value).send()
    };
    let res = me_with(format!("theme=caf\u{e9}-cr\u{e8}me; portcullis_session={token}; lang=fran\u{e7}ais"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["email"], "utf8@example.com");
    assert!(uuid::Uuid::parse_str(me["id"].as_str().unwrap()).is_ok(), "{me}");
    // A session value that is not visible ASCII is no session.
    let res = me_with(format!("portcullis_session={token}\u{e9}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn every_login_creates_a_new_session_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("gus@example.com").await;
    let c = client();
    let body = json!({"email": "gus@example.com", "password": PASSWORD});
    let first = cookie_value(app.post_json(&c, "/api/v1/login", &body).await.headers(), "portcullis_session")
        .unwrap();
    let second =
        cookie_value(app.post_json(&c, "/api/v1/login", &body).await.headers(), "portcullis_session")
            .unwrap();
    assert_ne!(first, second, "session fixation: a login must never reuse the presented id");
    // Signing in over an existing session replaces it.
    let old = client()
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("portcullis_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let list: Vec<Value> = app.get(&c, "/api/v1/me/sessions").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
}

async fn sessions_can_be_listed_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("hana@example.com").await;
    let laptop = app.login("hana@example.com").await;
    let phone = app.login("hana@example.com").await;
    let list: Vec<Value> = app.get(&laptop, "/api/v1/me/sessions").await.json().await.unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<&Value> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    for key in ["id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current"] {
        assert!(list[0].get(key).is_some(), "session has {key}");
    }
    assert_eq!(list[0]["ip"], "127.0.0.1");
    let other = list.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let res = laptop.delete(app.url(&format!("/api/v1/me/sessions/{other}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&phone, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&laptop, "/api/v1/me").await.status(), StatusCode::OK);
    let again = laptop.delete(app.url(&format!("/api/v1/me/sessions/{other}"))).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let junk = laptop.delete(app.url("/api/v1/me/sessions/not-a-uuid")).send().await.unwrap();
    assert_eq!(junk.status(), StatusCode::NOT_FOUND);
}

async fn another_users_session_cannot_be_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ivy = app.signed_in("ivy@example.com").await;
    let mallory = app.signed_in("mallory@example.com").await;
    let list: Vec<Value> = app.get(&ivy, "/api/v1/me/sessions").await.json().await.unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let res = mallory.delete(app.url(&format!("/api/v1/me/sessions/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&ivy, "/api/v1/me").await.status(), StatusCode::OK);
}

async fn changing_the_password_needs_the_current_one_and_revokes_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("jo@example.com").await;
    let here = app.login("jo@example.com").await;
    let elsewhere = app.login("jo@example.com").await;
    let new = "teal-walrus-compass-42";
    let wrong = app
        .post_json(
            &here,
            "/api/v1/me/password",
            &json!({"current_password": "nope-nope-nope", "new_password": new}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json::<Value>().await.unwrap()["code"], "invalid_credentials");
    let weak = app
        .post_json(
            &here,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": "password"}),
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&elsewhere, "/api/v1/me").await.status(),
        StatusCode::OK,
        "failed attempts change nothing"
    );
    let ok = app
        .post_json(&here, "/api/v1/me/password", &json!({"current_password": PASSWORD, "new_password": new}))
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&here, "/api/v1/me").await.status(), StatusCode::OK, "this session stays");
    assert_eq!(
        app.get(&elsewhere, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "others are revoked"
    );
    let old = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "jo@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let fresh =
        app.post_json(&client(), "/api/v1/login", &json!({"email": "jo@example.com", "password": new})).await;
    assert_eq!(fresh.status(), StatusCode::OK);
}

async fn an_idle_session_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("kim@example.com").await;
    // Activity keeps it alive past the idle timeout (2 h by default)...
    for _ in 0..3 {
        app.clock.advance(time::Duration::minutes(90));
        assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK);
    }
    // ...inactivity longer than the idle timeout ends it.
    app.clock.advance(time::Duration::hours(2) + time::Duration::minutes(2));
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

async fn a_session_expires_at_its_absolute_lifetime_even_when_busy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("lee@example.com").await;
    for _ in 0..23 {
        app.clock.advance(time::Duration::hours(1));
        assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK);
    }
    app.clock.advance(time::Duration::hours(1));
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "24 h absolute timeout");
}

async fn remember_me_sessions_outlive_the_idle_timeout_and_persist_the_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("max@example.com").await;
    let c = client();
    let res = app
        .post_json(
            &c,
            "/api/v1/login",
            &json!({"email": "max@example.com", "password": PASSWORD, "remember_me": true}),
        )
        .await;
    let cookie = crate::helpers::set_cookie(res.headers(), "portcullis_session").unwrap();
    assert!(cookie.contains("Max-Age=2592000"), "a persistent 30-day cookie: {cookie}");
    app.clock.advance(time::Duration::days(3));
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK);
    app.clock.advance(time::Duration::days(27) + time::Duration::minutes(1));
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

async fn a_password_hashed_at_an_old_cost_is_rehashed_at_login(backend: Backend) {
    use portcullis_core::accounts::password::HashCost;
    let app = TestApp::spawn(backend).await;
    let user = app.register("ned@example.com").await;
    let id = portcullis_core::UserId::parse(user["user"]["id"].as_str().unwrap()).unwrap();
    let old =
        portcullis_core::PasswordHasher::new(HashCost { memory_kib: 512, iterations: 1, parallelism: 1 }, 1)
            .unwrap();
    let old_hash = old.hash(&portcullis_core::Password::new(PASSWORD)).await.unwrap();
    let store = &app.store;
    store.update_password_hash(id, &old_hash).await.unwrap();
    app.login("ned@example.com").await;
    let now = store.find_credentials_by_email("ned@example.com").await.unwrap().unwrap().password_hash;
    assert_ne!(now, old_hash);
    assert!(now.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{now}");
}

async fn concurrent_registrations_of_one_email_make_exactly_one_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (c, url) = (app.client.clone(), app.url("/api/v1/register"));
        let email = if i % 2 == 0 { "race@example.com" } else { "RACE@example.com" };
        set.spawn(async move {
            c.post(url).json(&json!({"email": email, "password": PASSWORD})).send().await.unwrap().status()
        });
    }
    let statuses = set.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 19, "{statuses:?}");
}

async fn security_events_are_recorded_and_listed_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("olga@example.com").await;
    let bad = app
        .post_json(
            &client(),
            "/api/v1/login",
            &json!({"email": "olga@example.com", "password": "wrong-guess-123"}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let other = app.login("olga@example.com").await;
    let c = app.login("olga@example.com").await;
    let new = "teal-walrus-compass-42";
    let res = app
        .post_json(&c, "/api/v1/me/password", &json!({"current_password": PASSWORD, "new_password": new}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    drop(other);
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    // The second sign-in came from another client: a new device (issue #21).
    assert_eq!(
        kinds,
        [
            "password_changed",
            "new_device_signin",
            "login_succeeded",
            "login_succeeded",
            "login_failed",
            "register"
        ]
    );
    assert_eq!(events[4]["outcome"], "failure");
    assert_eq!(events[4]["detail"], "wrong_password");
    assert!(events.iter().all(|e| e["ip"] == "127.0.0.1" && e["created_at"].is_string()));
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains(new) && !text.contains("argon2"));
    // Another user's events are not visible; unknown-email failures belong to nobody.
    let stranger = app.signed_in("pia@example.com").await;
    let theirs: Vec<Value> = app.get(&stranger, "/api/v1/me/events").await.json().await.unwrap();
    assert_eq!(
        theirs.iter().map(|e| e["type"].as_str().unwrap()).collect::<Vec<_>>(),
        ["login_succeeded", "register"]
    );
    let page = app.get(&c, "/account").await.text().await.unwrap();
    assert!(
        page.contains("Security log")
            && page.contains("Failed sign-in attempt")
            && page.contains("Password changed")
    );
}
