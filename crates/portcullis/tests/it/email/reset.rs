//! Forgot and reset the password: no enumeration, single use, expiry, invalidation by any password change.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{NEW_PASSWORD, login_status, open, problem_code, status_and_body, token_of, with_sink};
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, location};

backend_tests!(
    forgot_password_answers_the_same_whether_or_not_the_account_exists,
    a_reset_link_sets_the_password_once_ends_every_session_and_mails_a_notice,
    a_reset_link_expires_after_the_reset_ttl,
    any_password_change_kills_outstanding_links_and_mails_a_notice,
    malformed_and_unknown_tokens_are_400_never_5xx,
    concurrent_uses_of_one_reset_link_let_exactly_one_through,
);

async fn forgot_password_answers_the_same_whether_or_not_the_account_exists(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("gil@example.com").await;
    let mut api = Vec::new();
    for email in ["nobody@example.com", "not an email", "GIL@example.com"] {
        api.push(
            status_and_body(
                app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": email})).await,
            )
            .await,
        );
    }
    assert_eq!(api[0].0, StatusCode::ACCEPTED);
    assert_eq!(api[0], api[1]);
    assert_eq!(api[0], api[2]);
    let c = client();
    let mut pages = Vec::new();
    for email in ["nobody@example.com", "gil@example.com"] {
        pages.push(
            status_and_body(
                app.post_form(&c, "/forgot-password", "/forgot-password", &[("email", email)]).await,
            )
            .await,
        );
    }
    assert_eq!(pages[0].0, StatusCode::OK);
    assert_eq!(pages[0], pages[1], "the same page whether or not the account exists");
    sink.next_mail("gil@example.com", "Reset your password").await;
    sink.next_mail("gil@example.com", "Reset your password").await;
    assert!(sink.messages().iter().all(|m| !m.is_to("nobody@example.com")));
}

async fn a_reset_link_sets_the_password_once_ends_every_session_and_mails_a_notice(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let laptop = app.signed_in("hal@example.com").await;
    let phone = app.login("hal@example.com").await;
    let browser = client();
    let res = app
        .post_form(&browser, "/forgot-password", "/forgot-password", &[("email", "hal@example.com")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let link = sink.link("hal@example.com", "Reset your password", "/reset-password").await;
    let token = token_of(&link);
    let form = open(&browser, &link).await;
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(
        html.contains(&format!("name=\"token\" value=\"{token}\"")),
        "the token travels in a hidden field"
    );
    assert!(html.contains("autocomplete=\"new-password\""));
    let post = |fields: Vec<(&'static str, String)>| {
        let (c, url) = (browser.clone(), app.url("/reset-password"));
        let csrf = crate::helpers::csrf_from(&html).unwrap();
        async move {
            let mut all = fields;
            all.push(("csrf_token", csrf));
            c.post(url).form(&all).send().await.unwrap()
        }
    };
    let t = || ("token", token.clone());
    let mismatch =
        post(vec![t(), ("password", NEW_PASSWORD.into()), ("password_confirm", "other-thing-99".into())])
            .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let weak =
        post(vec![t(), ("password", "password".into()), ("password_confirm", "password".into())]).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&laptop, "/api/v1/me").await.status(),
        StatusCode::OK,
        "failed attempts change nothing"
    );
    let ok =
        post(vec![t(), ("password", NEW_PASSWORD.into()), ("password_confirm", NEW_PASSWORD.into())]).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), "/login");
    for c in [&laptop, &phone] {
        assert_eq!(app.get(c, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "every session ends");
    }
    assert_eq!(login_status(&app, "hal@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_status(&app, "hal@example.com", NEW_PASSWORD).await, StatusCode::OK);
    sink.next_mail("hal@example.com", "Your password was reset").await;
    // Single use: the form, the post and the API all refuse it now.
    assert_eq!(open(&browser, &link).await.status(), StatusCode::BAD_REQUEST);
    let reuse = post(vec![
        t(),
        ("password", "other-walrus-77".into()),
        ("password_confirm", "other-walrus-77".into()),
    ])
    .await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    let api = app
        .post_json(
            &client(),
            "/api/v1/password/reset",
            &json!({"token": token, "password": "other-walrus-77"}),
        )
        .await;
    assert_eq!(api.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_code(api).await, "invalid_token");
    let c = app.login_with("hal@example.com", NEW_PASSWORD).await;
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "password_reset"));
}

async fn a_reset_link_expires_after_the_reset_ttl(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("ida@example.com").await;
    let forgot = json!({"email": "ida@example.com"});
    app.post_json(&client(), "/api/v1/password/forgot", &forgot).await;
    let old = sink.link("ida@example.com", "Reset your password", "/reset-password").await;
    app.clock.advance(time::Duration::minutes(30));
    app.post_json(&client(), "/api/v1/password/forgot", &forgot).await;
    let fresh = sink.link("ida@example.com", "Reset your password", "/reset-password").await;
    app.clock.advance(time::Duration::minutes(31));
    assert_eq!(open(&client(), &old).await.status(), StatusCode::BAD_REQUEST, "61 minutes old: expired");
    let res = app
        .post_json(
            &client(),
            "/api/v1/password/reset",
            &json!({"token": token_of(&old), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(problem_code(res).await, "invalid_token");
    let res = app
        .post_json(
            &client(),
            "/api/v1/password/reset",
            &json!({"token": token_of(&fresh), "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "31 minutes old: still valid");
}

async fn any_password_change_kills_outstanding_links_and_mails_a_notice(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("jay@example.com").await;
    let verify = sink.link("jay@example.com", "Confirm your email address", "/verify-email").await;
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "jay@example.com"})).await;
    let reset = sink.link("jay@example.com", "Reset your password", "/reset-password").await;
    let res = app.post_json(&c, "/api/v1/me/email", &json!({"new_email": "jay2@example.com"})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let change = sink.link("jay2@example.com", "Confirm your new email address", "/verify-email").await;
    app.clock.advance(time::Duration::seconds(2));
    let res = app
        .post_json(
            &c,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    sink.next_mail("jay@example.com", "Your password was changed").await;
    for link in [&verify, &change] {
        let res = app.post_json(&client(), "/api/v1/email/verify", &json!({"token": token_of(link)})).await;
        assert_eq!(problem_code(res).await, "invalid_token", "{link}");
    }
    let res = app
        .post_json(
            &client(),
            "/api/v1/password/reset",
            &json!({"token": token_of(&reset), "password": "other-walrus-77"}),
        )
        .await;
    assert_eq!(problem_code(res).await, "invalid_token");
    assert_eq!(login_status(&app, "jay@example.com", NEW_PASSWORD).await, StatusCode::OK);
}

async fn malformed_and_unknown_tokens_are_400_never_5xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = portcullis_core::SecretToken::generate();
    for token in ["", "abc", "%00%0d%0a", "A".repeat(500).as_str(), unknown.expose()] {
        for path in ["/reset-password", "/verify-email", "/undo-email-change"] {
            let res = client().get(app.url(path)).query(&[("token", token)]).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path} {token:?}");
            assert!(res.text().await.unwrap().contains("invalid, was already used, or has expired"));
        }
        for (path, body) in [
            ("/api/v1/password/reset", json!({"token": token, "password": NEW_PASSWORD})),
            ("/api/v1/email/verify", json!({"token": token})),
            ("/api/v1/email/undo", json!({"token": token})),
        ] {
            let res = app.post_json(&client(), path, &body).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path} {token:?}");
            assert_eq!(problem_code(res).await, "invalid_token");
        }
    }
}

async fn concurrent_uses_of_one_reset_link_let_exactly_one_through(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("zed@example.com").await;
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "zed@example.com"})).await;
    let token = token_of(&sink.link("zed@example.com", "Reset your password", "/reset-password").await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (url, token) = (app.url("/api/v1/password/reset"), token.clone());
        set.spawn(async move {
            let body = json!({"token": token, "password": format!("{NEW_PASSWORD}-{i}")});
            let res = client().post(url).json(&body).send().await.unwrap();
            (res.status(), i)
        });
    }
    let results = set.join_all().await;
    let winners: Vec<usize> =
        results.iter().filter(|(s, _)| *s == StatusCode::NO_CONTENT).map(|(_, i)| *i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == StatusCode::NO_CONTENT || *s == StatusCode::BAD_REQUEST));
    let password = format!("{NEW_PASSWORD}-{}", winners[0]);
    assert_eq!(
        login_status(&app, "zed@example.com", &password).await,
        StatusCode::OK,
        "the winner's password holds"
    );
    sink.next_mail("zed@example.com", "Your password was reset").await;
}

/// "A locked-out user is told when to retry and can still reset the
/// password" — and the reset lifts the lockout.
#[tokio::test]
async fn a_user_locked_out_by_throttling_can_reset_the_password_and_sign_in() {
    let (app, sink) = with_sink(Backend::Sqlite, |_| {}).await;
    app.register("locked@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            login_status(&app, "locked@example.com", "wrong-password-1").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(login_status(&app, "locked@example.com", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    let res = app
        .post_json(&client(), "/api/v1/password/forgot", &serde_json::json!({"email": "locked@example.com"}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let link = sink.link("locked@example.com", "Reset your password", "/reset-password").await;
    let body = serde_json::json!({"token": token_of(&link), "password": NEW_PASSWORD});
    assert_eq!(
        app.post_json(&client(), "/api/v1/password/reset", &body).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(login_status(&app, "locked@example.com", NEW_PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn forgot_password_is_limited_per_client_address() {
    let (app, _sink) =
        with_sink(Backend::Sqlite, |c| c.rate_limit.forgot_password_per_ip = "2/1h".parse().unwrap()).await;
    let ask = async |email: &str| {
        app.post_json(&client(), "/api/v1/password/forgot", &serde_json::json!({"email": email}))
            .await
            .status()
    };
    assert_eq!(ask("a@example.com").await, StatusCode::ACCEPTED);
    assert_eq!(ask("b@example.com").await, StatusCode::ACCEPTED);
    assert_eq!(ask("c@example.com").await, StatusCode::TOO_MANY_REQUESTS);
}
