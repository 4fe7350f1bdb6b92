//! Changing the address (confirmed by the new one, undoable from the old one) and the
//! re-authentication rule for sensitive changes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{NEW_PASSWORD, login_status, open, problem_code, status_and_body, token_of, with_sink};
use crate::helpers::{Backend, PASSWORD, backend_tests, client};

backend_tests!(
    an_email_change_takes_effect_through_the_link_to_the_new_address_and_tells_the_old_one,
    the_old_address_can_undo_a_change_even_after_a_password_change_and_everyone_is_signed_out,
    an_email_change_to_a_taken_address_answers_the_same_and_tells_its_owner,
    sensitive_changes_need_the_password_or_a_sign_in_within_ten_minutes,
);

async fn an_email_change_takes_effect_through_the_link_to_the_new_address_and_tells_the_old_one(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("max@example.com").await;
    let res = app
        .post_json(&c, "/api/v1/me/email", &json!({"new_email": "Max@New.example", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let me: Value = app.get(&c, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email"], "max@example.com", "nothing changes before the link is used");
    let link = sink.link("Max@New.example", "Confirm your new email address", "/verify-email").await;
    let page = open(&client(), &link).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Max@New.example"));
    let me: Value = app.get(&c, "/api/v1/me").await.json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["email_verified"].as_bool()), (Some("Max@New.example"), Some(true)));
    let notice = sink.next_mail("max@example.com", "Your email address was changed").await;
    assert!(notice.parts().0.contains("Max@New.example"));
    notice.link("/undo-email-change");
    assert_eq!(open(&client(), &link).await.status(), StatusCode::BAD_REQUEST, "single use");
    assert_eq!(login_status(&app, "max@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_status(&app, "max@new.example", PASSWORD).await, StatusCode::OK);
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "email_changed" && e["outcome"] == "success"));
    // Asking to change to the current address is a validation error.
    let same = app.post_json(&c, "/api/v1/me/email", &json!({"new_email": "MAX@new.example"})).await;
    assert_eq!(same.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn the_old_address_can_undo_a_change_even_after_a_password_change_and_everyone_is_signed_out(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let owner = app.signed_in("ned@example.com").await;
    let intruder = app.login("ned@example.com").await;
    app.post_json(&intruder, "/api/v1/me/email", &json!({"new_email": "evil@example.net"})).await;
    let link = sink.link("evil@example.net", "Confirm your new email address", "/verify-email").await;
    assert_eq!(open(&client(), &link).await.status(), StatusCode::OK);
    app.clock.advance(time::Duration::seconds(2));
    let res = app
        .post_json(
            &intruder,
            "/api/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let undo = sink.link("ned@example.com", "Your email address was changed", "/undo-email-change").await;
    let browser = client();
    let form = open(&browser, &undo).await;
    assert_eq!(form.status(), StatusCode::OK, "a mail scanner following the link changes nothing");
    let html = form.text().await.unwrap();
    assert!(html.contains("ned@example.com") && html.contains("name=\"token\""));
    let csrf = crate::helpers::csrf_from(&html).unwrap();
    let done = browser
        .post(app.url("/undo-email-change"))
        .form(&[("csrf_token", csrf.as_str()), ("token", token_of(&undo).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("choose a new password now"));
    for c in [&owner, &intruder] {
        assert_eq!(
            app.get(c, "/api/v1/me").await.status(),
            StatusCode::UNAUTHORIZED,
            "everyone is signed out"
        );
    }
    assert_eq!(login_status(&app, "evil@example.net", NEW_PASSWORD).await, StatusCode::UNAUTHORIZED);
    let c = app.login_with("ned@example.com", NEW_PASSWORD).await;
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "email_changed" && e["detail"] == "undone"));
    let again = app.post_json(&client(), "/api/v1/email/undo", &json!({"token": token_of(&undo)})).await;
    assert_eq!(problem_code(again).await, "invalid_token", "single use");
}

async fn an_email_change_to_a_taken_address_answers_the_same_and_tells_its_owner(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("taken@example.com").await;
    let c = app.signed_in("olive@example.com").await;
    let taken = app.post_json(&c, "/api/v1/me/email", &json!({"new_email": "TAKEN@example.com"})).await;
    let free = app.post_json(&c, "/api/v1/me/email", &json!({"new_email": "free@example.com"})).await;
    assert_eq!(status_and_body(taken).await, status_and_body(free).await);
    sink.next_mail("taken@example.com", "Someone tried to use your email address").await;
    sink.next_mail("free@example.com", "Confirm your new email address").await;
    assert_eq!(sink.count("taken@example.com", "Confirm your new email address"), 0);
}

async fn sensitive_changes_need_the_password_or_a_sign_in_within_ten_minutes(backend: Backend) {
    let (app, _sink) = with_sink(backend, |_| {}).await;
    let c = app.signed_in("pam@example.com").await;
    let change = async |body: Value| app.post_json(&c, "/api/v1/me/email", &body).await;
    assert_eq!(
        change(json!({"new_email": "pam2@example.com"})).await.status(),
        StatusCode::ACCEPTED,
        "fresh sign-in"
    );
    app.clock.advance(time::Duration::minutes(11));
    let stale = change(json!({"new_email": "pam3@example.com"})).await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem_code(stale).await, "reauthentication_required");
    let wrong = change(json!({"new_email": "pam3@example.com", "password": "wrong-guess-123"})).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(wrong).await, "invalid_credentials");
    let ok = change(json!({"new_email": "pam3@example.com", "password": PASSWORD})).await;
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    let delete = |body: Value| c.delete(app.url("/api/v1/me")).json(&body).send();
    let stale = delete(json!({})).await.unwrap();
    assert_eq!(problem_code(stale).await, "reauthentication_required");
    assert_eq!(
        delete(json!({"password": "wrong-guess-123"})).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK, "still there");
    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "account_deleted" && e["outcome"] == "failure"));
}
