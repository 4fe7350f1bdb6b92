//! Verification links: sent at registration, required to sign in when configured,
//! resent within a limit; no enumeration at registration.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{NEW_PASSWORD, login_status, open, problem_code, status_and_body, token_of, with_sink};
use crate::helpers::{Backend, PASSWORD, backend_tests, client, location, set_cookie};

backend_tests!(
    registration_mails_a_verification_link_that_verifies_the_address_once,
    with_verification_required_an_unverified_user_cannot_sign_in_until_the_link_is_used,
    with_verification_required_a_taken_address_registers_exactly_like_a_new_one_and_its_owner_is_told,
    resending_the_verification_link_has_its_own_limit,
);

async fn registration_mails_a_verification_link_that_verifies_the_address_once(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("Ann@Example.com").await;
    let mail = sink.next_mail("Ann@Example.com", "Confirm your email address").await;
    assert_eq!(mail.header("from").as_deref(), Some("Portcullis <no-reply@localhost>"));
    assert_eq!(mail.header("to").as_deref(), Some("Ann@Example.com"));
    assert!(mail.header("content-type").unwrap().starts_with("multipart/alternative"));
    let (text, html) = mail.parts();
    let link = mail.link("/verify-email");
    assert!(
        link.starts_with(&format!("{}/verify-email?token=", app.base)),
        "built from the public URL: {link}"
    );
    assert_eq!(token_of(&link).len(), 43, "256 random bits");
    assert!(text.contains(&link) && html.contains(&format!("href=\"{link}\"")), "both parts carry the link");
    assert_eq!(app.get(&c, "/api/v1/me").await.json::<Value>().await.unwrap()["email_verified"], false);
    let page = open(&client(), &link).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("your email address is confirmed"));
    assert_eq!(app.get(&c, "/api/v1/me").await.json::<Value>().await.unwrap()["email_verified"], true);
    // Single use, on the page and over the API.
    assert_eq!(open(&client(), &link).await.status(), StatusCode::BAD_REQUEST);
    let again = app.post_json(&client(), "/api/v1/email/verify", &json!({"token": token_of(&link)})).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_code(again).await, "invalid_token");
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert_eq!(events[0]["type"], "email_verified");
    // The database holds only the hash of the token.
    let hash = portcullis_core::SecretToken::parse(&token_of(&link)).unwrap().hash();
    assert!(app.store.find_token(hash).await.unwrap().unwrap().used_at.is_some());
}

async fn with_verification_required_an_unverified_user_cannot_sign_in_until_the_link_is_used(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |c| c.email.require_verification = true).await;
    let res = app
        .post_json(&client(), "/api/v1/register", &json!({"email": "bo@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let refused = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "bo@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(refused.headers(), "portcullis_session").is_none());
    assert_eq!(problem_code(refused).await, "email_unverified");
    // A wrong password still gets the generic answer: nothing is revealed to a guesser.
    assert_eq!(login_status(&app, "bo@example.com", "wrong-guess-123").await, StatusCode::UNAUTHORIZED);
    let c = client();
    let page =
        app.post_form(&c, "/login", "/login", &[("email", "bo@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Confirm your email address first") && html.contains("action=\"/verify-email/resend\"")
    );
    let link = sink.link("bo@example.com", "Confirm your email address", "/verify-email").await;
    let ok = app.post_json(&client(), "/api/v1/email/verify", &json!({"token": token_of(&link)})).await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(login_status(&app, "bo@example.com", PASSWORD).await, StatusCode::OK);
}

async fn with_verification_required_a_taken_address_registers_exactly_like_a_new_one_and_its_owner_is_told(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |c| c.email.require_verification = true).await;
    let register = |email: &'static str, password: &'static str| {
        let (c, url) = (client(), app.url("/api/v1/register"));
        async move {
            status_and_body(
                c.post(url).json(&json!({"email": email, "password": password})).send().await.unwrap(),
            )
            .await
        }
    };
    let first = register("cy@example.com", PASSWORD).await;
    let taken = register("CY@example.com", NEW_PASSWORD).await;
    let fresh = register("dee@example.com", PASSWORD).await;
    assert_eq!(first.0, StatusCode::ACCEPTED);
    assert_eq!(taken, first, "a taken address answers exactly like a new one");
    assert_eq!(fresh, first);
    let verify = sink.link("cy@example.com", "Confirm your email address", "/verify-email").await;
    let notice = sink.next_mail("cy@example.com", "Someone tried to use your email address").await;
    assert!(notice.parts().0.contains("/forgot-password"), "the notice points to the reset page");
    assert_eq!(sink.count("cy@example.com", "Confirm your email address"), 1, "no link for the second try");
    // The owner's account and password are untouched.
    assert_eq!(open(&client(), &verify).await.status(), StatusCode::OK);
    assert_eq!(login_status(&app, "cy@example.com", NEW_PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_status(&app, "cy@example.com", PASSWORD).await, StatusCode::OK);
    // The pages answer the same way too.
    let mut answers = Vec::new();
    for email in ["cy@example.com", "eve@example.com"] {
        let fields = [("email", email), ("password", PASSWORD), ("password_confirm", PASSWORD)];
        let res = app.post_form(&client(), "/register", "/register", &fields).await;
        answers.push((res.status(), location(&res)));
    }
    assert_eq!(answers[0], (StatusCode::SEE_OTHER, "/check-email".to_owned()));
    assert_eq!(answers[0], answers[1]);
    assert!(app.get(&client(), "/check-email").await.text().await.unwrap().contains("Check your email"));
}

async fn resending_the_verification_link_has_its_own_limit(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("flo@example.com").await;
    let subject = "Confirm your email address";
    sink.next_mail("flo@example.com", subject).await;
    for _ in 0..2 {
        let res = app.post_json(&c, "/api/v1/email/resend", &json!({})).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        sink.next_mail("flo@example.com", subject).await;
    }
    let limited = app.post_json(&c, "/api/v1/email/resend", &json!({})).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(problem_code(limited).await, "rate_limited");
    app.clock.advance(time::Duration::minutes(61));
    let c = app.login("flo@example.com").await;
    assert_eq!(app.post_json(&c, "/api/v1/email/resend", &json!({})).await.status(), StatusCode::ACCEPTED);
    let newest = sink.link("flo@example.com", subject, "/verify-email").await;
    assert_eq!(open(&client(), &newest).await.status(), StatusCode::OK);
    // Anonymous resend (from the sign-in page) answers the same for any address.
    let known = app.post_json(&client(), "/api/v1/email/resend", &json!({"email": "flo@example.com"})).await;
    let unknown =
        app.post_json(&client(), "/api/v1/email/resend", &json!({"email": "nobody@example.com"})).await;
    assert_eq!(status_and_body(known).await, status_and_body(unknown).await);
}
