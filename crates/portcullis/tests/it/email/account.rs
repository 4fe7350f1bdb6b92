//! Deleting the account, exporting its data, and every flow from the HTML pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{NEW_PASSWORD, login_status, open, token_of, with_sink};
use crate::helpers::{Backend, PASSWORD, backend_tests, client, location, set_cookie};

backend_tests!(
    deleting_the_account_removes_it_with_sessions_tokens_and_data_and_mails_a_notice,
    the_export_holds_everything_about_the_user_and_no_secret,
    every_flow_works_from_the_pages,
    pages_that_carry_a_token_load_nothing_from_other_origins,
);

async fn deleting_the_account_removes_it_with_sessions_tokens_and_data_and_mails_a_notice(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("quin@example.com").await;
    let other = app.login("quin@example.com").await;
    let verify = sink.link("quin@example.com", "Confirm your email address", "/verify-email").await;
    let id =
        app.get(&c, "/api/v1/me").await.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let res = c.delete(app.url("/api/v1/me")).json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(set_cookie(res.headers(), "portcullis_session").unwrap().contains("Max-Age=0"));
    for s in [&c, &other] {
        assert_eq!(app.get(s, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_status(&app, "quin@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(open(&client(), &verify).await.status(), StatusCode::BAD_REQUEST);
    sink.next_mail("quin@example.com", "Your account was deleted").await;
    let store = &app.store;
    let user = portcullis_core::UserId::parse(&id).unwrap();
    assert!(store.find_credentials_by_email("quin@example.com").await.unwrap().is_none());
    assert!(store.list_events(Some(user), 100).await.unwrap().is_empty(), "the security log is gone");
    assert!(store.list_tokens(user).await.unwrap().is_empty(), "the tokens are gone");
    assert!(store.list_mails(user).await.unwrap().is_empty(), "mails about the user are gone");
    let hash = portcullis_core::SecretToken::parse(&token_of(&verify)).unwrap().hash();
    assert!(store.find_token(hash).await.unwrap().is_none());
    // The address is free again.
    app.register("quin@example.com").await;
}

async fn the_export_holds_everything_about_the_user_and_no_secret(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("rex@example.com").await;
    let verify = sink.link("rex@example.com", "Confirm your email address", "/verify-email").await;
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "rex@example.com"})).await;
    let reset = sink.link("rex@example.com", "Reset your password", "/reset-password").await;
    let res = app.get(&c, "/api/v1/me/export").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let text = res.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["profile"]["email"], "rex@example.com");
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(export["sessions"][0]["current"], true);
    let kinds: Vec<&str> =
        export["security_events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["login_succeeded", "register"]);
    let links: Vec<&str> =
        export["email_links"].as_array().unwrap().iter().map(|l| l["purpose"].as_str().unwrap()).collect();
    assert!(links.contains(&"verify_email") && links.contains(&"reset_password"), "{links:?}");
    let subjects: Vec<&str> =
        export["mails"].as_array().unwrap().iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert!(subjects.contains(&"Reset your password") && subjects.contains(&"Confirm your email address"));
    for secret in [token_of(&verify), token_of(&reset), PASSWORD.to_owned(), "argon2".to_owned()] {
        assert!(!text.contains(&secret), "the export holds no secret");
    }
    assert_eq!(app.get(&client(), "/api/v1/me/export").await.status(), StatusCode::UNAUTHORIZED);
}

async fn every_flow_works_from_the_pages(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = client();
    let fields = [("email", "sue@example.com"), ("password", PASSWORD), ("password_confirm", PASSWORD)];
    assert_eq!(app.post_form(&c, "/register", "/register", &fields).await.status(), StatusCode::SEE_OTHER);
    let res =
        app.post_form(&c, "/login", "/login", &[("email", "sue@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let account = app.get(&c, "/account").await.text().await.unwrap();
    assert!(account.contains("Not yet") && account.contains("id=\"resend-verification\""));
    for part in ["action=\"/account/email\"", "action=\"/account/delete\"", "href=\"/api/v1/me/export\""] {
        assert!(account.contains(part), "the account page has {part}");
    }
    sink.next_mail("sue@example.com", "Confirm your email address").await;
    let res = app.post_form(&c, "/account", "/verify-email/resend", &[]).await;
    assert_eq!((res.status(), location(&res).as_str()), (StatusCode::SEE_OTHER, "/account"));
    let link = sink.link("sue@example.com", "Confirm your email address", "/verify-email").await;
    assert_eq!(open(&c, &link).await.status(), StatusCode::OK);
    assert!(app.get(&c, "/account").await.text().await.unwrap().contains("<dd id=\"email-verified\">Yes"));
    // Change of address: validation first, then the link.
    let bad = app
        .post_form(&c, "/account", "/account/email", &[("new_email", "nope"), ("password", PASSWORD)])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = app
        .post_form(
            &c,
            "/account",
            "/account/email",
            &[("new_email", "sue@new.example"), ("password", "x-wrong-1")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let ok = app
        .post_form(&c, "/account", "/account/email", &[("new_email", "sue@new.example"), ("password", "")])
        .await;
    assert_eq!((ok.status(), location(&ok).as_str()), (StatusCode::SEE_OTHER, "/account"));
    assert!(app.get(&c, "/account").await.text().await.unwrap().contains("We sent a confirmation link"));
    let link = sink.link("sue@new.example", "Confirm your new email address", "/verify-email").await;
    assert!(open(&c, &link).await.text().await.unwrap().contains("Email address changed"));
    // Forgot and reset from the pages, over the session of another browser.
    let other = client();
    app.post_form(&other, "/forgot-password", "/forgot-password", &[("email", "sue@new.example")]).await;
    let link = sink.link("sue@new.example", "Reset your password", "/reset-password").await;
    let html = open(&other, &link).await.text().await.unwrap();
    let csrf = crate::helpers::csrf_from(&html).unwrap();
    let res = other
        .post(app.url("/reset-password"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("token", &token_of(&link)),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login");
    assert!(app.get(&other, "/login").await.text().await.unwrap().contains("Your password was reset"));
    assert_eq!(
        app.get(&c, "/account").await.status(),
        StatusCode::SEE_OTHER,
        "the first browser was signed out"
    );
    // Deletion needs the box ticked, then goes.
    let res = app
        .post_form(&c, "/login", "/login", &[("email", "sue@new.example"), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let unticked = app.post_form(&c, "/account", "/account/delete", &[("password", NEW_PASSWORD)]).await;
    assert_eq!(unticked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let gone = app
        .post_form(&c, "/account", "/account/delete", &[("password", NEW_PASSWORD), ("confirm", "on")])
        .await;
    assert_eq!((gone.status(), location(&gone).as_str()), (StatusCode::SEE_OTHER, "/"));
    assert!(app.get(&c, "/").await.text().await.unwrap().contains("Your account was deleted"));
    sink.next_mail("sue@new.example", "Your account was deleted").await;
    // Every new form is CSRF-protected.
    let signed_in = app.signed_in("csrf@example.com").await;
    for path in [
        "/forgot-password",
        "/reset-password",
        "/verify-email/resend",
        "/undo-email-change",
        "/account/email",
        "/account/delete",
    ] {
        let res = signed_in.post(app.url(path)).form(&[("csrf_token", "nope")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

async fn pages_that_carry_a_token_load_nothing_from_other_origins(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("tom@example.com").await;
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "tom@example.com"})).await;
    let reset = sink.link("tom@example.com", "Reset your password", "/reset-password").await;
    app.post_json(&c, "/api/v1/me/email", &json!({"new_email": "tom@new.example"})).await;
    let change = sink.link("tom@new.example", "Confirm your new email address", "/verify-email").await;
    assert_eq!(open(&client(), &change).await.status(), StatusCode::OK);
    let undo = sink.link("tom@example.com", "Your email address was changed", "/undo-email-change").await;
    let verify = sink.link("tom@example.com", "Confirm your email address", "/verify-email").await;
    for link in [&reset, &undo, &verify] {
        let res = open(&client(), link).await;
        let h = res.headers().clone();
        assert_eq!(h["referrer-policy"], "no-referrer", "{link}");
        assert_eq!(h["cache-control"], "no-store", "{link}");
        let html = res.text().await.unwrap();
        for attr in ["src=\"", "href=\"", "action=\""] {
            for value in html.split(attr).skip(1) {
                assert!(value.starts_with('/') && !value.starts_with("//"), "{link}: {attr}{value:.40}");
            }
        }
    }
}
