//! Signing in by email (issue #21), end to end against a real SMTP server: the link
//! and the code are read out of the mail that carried them.

use portcullis::config::Rate;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{open, problem_code, status_and_body, token_of, with_sink};
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, csrf_from, location, test_config};
use crate::smtp_sink::{Received, SmtpSink};

const SUBJECT: &str = "Your sign-in link";

backend_tests!(
    asking_for_a_sign_in_mail_answers_the_same_whether_or_not_the_account_exists,
    the_link_shows_a_confirm_button_and_signs_in_once_when_it_is_pressed_verifying_the_address,
    the_code_signs_in_once_on_the_page_that_asked_for_it,
    the_api_signs_in_by_code_or_token_with_the_answer_of_login_and_audits_both_steps,
    link_and_code_expire_after_ten_minutes,
    the_fifth_wrong_code_kills_the_code_and_four_do_not,
    a_newer_request_kills_the_older_link_and_code,
    a_password_change_kills_an_outstanding_link_and_code,
    an_account_with_totp_still_gets_the_second_step,
    requests_are_throttled_per_address_known_or_not_and_per_client_address,
    concurrent_requests_for_one_address_send_no_more_than_the_limit,
    a_sign_in_asked_for_on_one_node_finishes_on_another,
    email_sign_in_is_off_unless_configured,
    bad_input_gets_400_401_or_422_never_a_5xx,
    the_export_lists_an_outstanding_sign_in_link_without_its_secret,
);

/// An application with `auth.email_signin` on, mailing a fresh SMTP sink.
async fn app_with_email_signin(backend: Backend) -> (TestApp, SmtpSink) {
    with_sink(backend, |c| c.auth.email_signin = true).await
}

/// The six-digit code of a sign-in mail.
fn code_of(mail: &Received) -> String {
    let (text, html) = mail.parts();
    let after = text.split("enter this code: ").nth(1).expect("a code in the mail");
    let code: String = after.chars().take(6).collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");
    assert!(html.contains(&code), "the code in the HTML part too");
    code
}

/// Asks for a sign-in mail over the API and returns the mail.
async fn ask(app: &TestApp, sink: &SmtpSink, email: &str) -> Received {
    let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": email})).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    sink.next_mail(email, SUBJECT).await
}

async fn verify(app: &TestApp, c: &reqwest::Client, body: Value) -> reqwest::Response {
    app.post_json(c, "/api/v1/login/email/verify", &body).await
}

async fn me(app: &TestApp, c: &reqwest::Client) -> reqwest::Response {
    app.get(c, "/api/v1/me").await
}

async fn event_types(app: &TestApp, c: &reqwest::Client) -> Vec<(String, String)> {
    let events: Vec<Value> = app.get(c, "/api/v1/me/events").await.json().await.unwrap();
    events
        .iter()
        .map(|e| {
            (e["type"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn asking_for_a_sign_in_mail_answers_the_same_whether_or_not_the_account_exists(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("ann@example.com").await;
    let mut api = Vec::new();
    for email in ["nobody@example.com", "not an email", "ANN@example.com"] {
        let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": email})).await;
        api.push(status_and_body(res).await);
    }
    assert_eq!(api[0].0, StatusCode::ACCEPTED);
    assert_eq!(api[0], api[1]);
    assert_eq!(api[0], api[2]);
    let mut pages = Vec::new();
    for email in ["nobody@example.com", "ann@example.com"] {
        let c = client();
        let res = app.post_form(&c, "/login", "/login/email/send", &[("email", email)]).await;
        let (status, body) = status_and_body(res).await;
        let csrf = csrf_from(&body).unwrap();
        pages.push((status, body.replace(email, "ADDRESS").replace(&csrf, "CSRF")));
    }
    assert_eq!(pages[0].0, StatusCode::OK);
    assert_eq!(pages[0], pages[1], "the same page whether or not the account exists");
    sink.next_mail("ann@example.com", SUBJECT).await;
    sink.next_mail("ann@example.com", SUBJECT).await;
    assert!(
        sink.messages().iter().all(|m| !m.is_to("nobody@example.com")),
        "an unknown address gets no mail"
    );
}

async fn the_link_shows_a_confirm_button_and_signs_in_once_when_it_is_pressed_verifying_the_address(
    backend: Backend,
) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("bea@example.com").await;
    let link = ask(&app, &sink, "bea@example.com").await.link("/login/email");
    let browser = client();
    for _ in 0..2 {
        // A mail scanner following the link signs nobody in and spends nothing.
        let res = open(&browser, &link).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("set-cookie").is_none_or(|c| !c.to_str().unwrap().contains("session")));
        let body = res.text().await.unwrap();
        assert!(body.contains("id=\"email-signin-button\""), "{body}");
        assert_eq!(me(&app, &browser).await.status(), StatusCode::UNAUTHORIZED, "GET never signs in");
    }
    let page = open(&browser, &link).await.text().await.unwrap();
    let csrf = csrf_from(&page).unwrap();
    let token = token_of(&link);
    let form = [("csrf_token", csrf.as_str()), ("token", token.as_str())];
    let res = browser.post(app.url("/login/email")).form(&form).send().await.unwrap();
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account".to_owned()));
    let user: Value = me(&app, &browser).await.json().await.unwrap();
    assert_eq!(
        (user["email"].as_str(), user["email_verified"].as_bool()),
        (Some("bea@example.com"), Some(true))
    );
    let csrf = app.csrf_token(&browser, "/login").await;
    let form = [("csrf_token", csrf.as_str()), ("token", token.as_str())];
    let again = browser.post(app.url("/login/email")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "single use");
    assert_eq!(
        open(&client(), &link).await.status(),
        StatusCode::BAD_REQUEST,
        "the spent link's page says so"
    );
}

async fn the_code_signs_in_once_on_the_page_that_asked_for_it(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("cat@example.com").await;
    let browser = client();
    let res = app.post_form(&browser, "/login", "/login/email/send", &[("email", "cat@example.com")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("action=\"/login/email/code\"") && page.contains("autocomplete=\"one-time-code\""));
    let code = code_of(&sink.next_mail("cat@example.com", SUBJECT).await);
    let csrf = csrf_from(&page).unwrap();
    let form = [("csrf_token", csrf.as_str()), ("email", "cat@example.com"), ("code", &code), ("next", "/")];
    let res = browser.post(app.url("/login/email/code")).form(&form).send().await.unwrap();
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/".to_owned()));
    assert_eq!(me(&app, &browser).await.status(), StatusCode::OK);
    let other = client();
    let csrf = app.csrf_token(&other, "/login").await;
    let form = [("csrf_token", csrf.as_str()), ("email", "cat@example.com"), ("code", &code)];
    let res = other.post(app.url("/login/email/code")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "single use");
    assert!(res.text().await.unwrap().contains("id=\"email-code-error\""));
}

async fn the_api_signs_in_by_code_or_token_with_the_answer_of_login_and_audits_both_steps(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("dan@example.com").await;
    let code = code_of(&ask(&app, &sink, "dan@example.com").await);
    let c = client();
    let res = verify(&app, &c, json!({"email": "Dan@Example.com", "code": code, "remember_me": true})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age"), "remembered");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], "dan@example.com");
    assert_eq!(body["user"]["email_verified"], true);
    let link = ask(&app, &sink, "dan@example.com").await.link("/login/email");
    let c2 = client();
    let res = verify(&app, &c2, json!({"token": token_of(&link)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(&app, &c2).await.status(), StatusCode::OK);
    let events = event_types(&app, &c2).await;
    let requested = events.iter().filter(|(t, _)| t == "email_signin_requested").count();
    let signed_in = events.iter().filter(|(t, d)| t == "login_succeeded" && d == "email").count();
    assert_eq!((requested, signed_in), (2, 2), "{events:?}");
}

async fn link_and_code_expire_after_ten_minutes(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("eve@example.com").await;
    let mail = ask(&app, &sink, "eve@example.com").await;
    let (link, code) = (mail.link("/login/email"), code_of(&mail));
    app.clock.advance(time::Duration::minutes(10));
    assert_eq!(open(&client(), &link).await.status(), StatusCode::BAD_REQUEST);
    let res = verify(&app, &client(), json!({"token": token_of(&link)})).await;
    assert_eq!(problem_code(res).await, "invalid_token");
    let res = verify(&app, &client(), json!({"email": "eve@example.com", "code": code})).await;
    assert_eq!(problem_code(res).await, "invalid_code");
    // Just before, both worked.
    let mail = ask(&app, &sink, "eve@example.com").await;
    app.clock.advance(time::Duration::seconds(599));
    let res = verify(&app, &client(), json!({"email": "eve@example.com", "code": code_of(&mail)})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn the_fifth_wrong_code_kills_the_code_and_four_do_not(backend: Backend) {
    // The per-address limit on codes (`mfa_per_session` style) out of the way.
    let (app, sink) = with_sink(backend, |c| {
        c.auth.email_signin = true;
        c.rate_limit.mfa_per_session = Rate::new(100, 300);
    })
    .await;
    app.register("fay@example.com").await;
    for wrong_codes in [4, 5] {
        let code = code_of(&ask(&app, &sink, "fay@example.com").await);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..wrong_codes {
            let res = verify(&app, &client(), json!({"email": "fay@example.com", "code": wrong})).await;
            assert_eq!(problem_code(res).await, "invalid_code");
        }
        let res = verify(&app, &client(), json!({"email": "fay@example.com", "code": code})).await;
        let expected = if wrong_codes == 4 { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
        assert_eq!(res.status(), expected, "after {wrong_codes} wrong codes");
    }
    let c = app.login("fay@example.com").await;
    let failed = event_types(&app, &c).await.into_iter().filter(|(t, _)| t == "email_signin_failed").count();
    assert_eq!(failed, 9, "each wrong code is audited");
}

async fn a_newer_request_kills_the_older_link_and_code(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("gus@example.com").await;
    let old = ask(&app, &sink, "gus@example.com").await;
    let new = ask(&app, &sink, "gus@example.com").await;
    let res = verify(&app, &client(), json!({"token": token_of(&old.link("/login/email"))})).await;
    assert_eq!(problem_code(res).await, "invalid_token");
    let (old_code, new_code) = (code_of(&old), code_of(&new));
    if old_code != new_code {
        let res = verify(&app, &client(), json!({"email": "gus@example.com", "code": old_code})).await;
        assert_eq!(problem_code(res).await, "invalid_code");
    }
    let res = verify(&app, &client(), json!({"token": token_of(&new.link("/login/email"))})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn a_password_change_kills_an_outstanding_link_and_code(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    let c = app.signed_in("hal@example.com").await;
    let mail = ask(&app, &sink, "hal@example.com").await;
    app.clock.advance(time::Duration::seconds(1));
    let change = json!({"current_password": PASSWORD, "new_password": super::NEW_PASSWORD});
    assert_eq!(app.post_json(&c, "/api/v1/me/password", &change).await.status(), StatusCode::NO_CONTENT);
    let res = verify(&app, &client(), json!({"email": "hal@example.com", "code": code_of(&mail)})).await;
    assert_eq!(problem_code(res).await, "invalid_code");
    let res = verify(&app, &client(), json!({"token": token_of(&mail.link("/login/email"))})).await;
    assert_eq!(problem_code(res).await, "invalid_token");
}

async fn an_account_with_totp_still_gets_the_second_step(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    let (_, secret, _) = crate::mfa::enrolled(&app, "ida@example.com").await;
    let link = ask(&app, &sink, "ida@example.com").await.link("/login/email");
    let c = client();
    let res = verify(&app, &c, json!({"token": token_of(&link)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"mfa_required": true}));
    assert_eq!(me(&app, &c).await.status(), StatusCode::UNAUTHORIZED, "half-authenticated");
    let code = crate::mfa::code(&app, &secret, 0);
    assert_eq!(app.post_json(&c, "/api/v1/login/mfa", &json!({"code": code})).await.status(), StatusCode::OK);
    assert_eq!(me(&app, &c).await.status(), StatusCode::OK);

    // The pages send the browser to the second step.
    app.clock.advance(time::Duration::seconds(30));
    let link = ask(&app, &sink, "ida@example.com").await.link("/login/email");
    let browser = client();
    let csrf = csrf_from(&open(&browser, &link).await.text().await.unwrap()).unwrap();
    let token = token_of(&link);
    let form = [("csrf_token", csrf.as_str()), ("token", token.as_str())];
    let res = browser.post(app.url("/login/email")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login/mfa"), "{}", location(&res));
    assert_eq!(me(&app, &browser).await.status(), StatusCode::UNAUTHORIZED);
}

async fn requests_are_throttled_per_address_known_or_not_and_per_client_address(backend: Backend) {
    let (app, _sink) = with_sink(backend, |c| {
        c.auth.email_signin = true;
        c.rate_limit.email_signin_per_ip = Rate::new(8, 3600);
    })
    .await;
    app.register("jon@example.com").await;
    for email in ["jon@example.com", "nobody@example.com"] {
        for _ in 0..3 {
            let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": email})).await;
            assert_eq!(res.status(), StatusCode::ACCEPTED);
        }
        let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": email})).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "the fourth for {email}");
        let wait: i64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(wait > 0 && wait <= 15 * 60, "{wait}");
        assert_eq!(problem_code(res).await, "rate_limited");
    }
    // Eight counted from this address so far; the ninth is refused whatever the address.
    let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": "fresh@example.com"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "per client address");
}

async fn concurrent_requests_for_one_address_send_no_more_than_the_limit(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("kim@example.com").await;
    let body = json!({"email": "kim@example.com"});
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, body) = (app.url("/api/v1/login/email"), body.clone());
        requests.spawn(async move { client().post(url).json(&body).send().await.unwrap().status() });
    }
    let answers = requests.join_all().await;
    let accepted = answers.iter().filter(|s| **s == StatusCode::ACCEPTED).count();
    let refused = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((accepted, refused), (3, 5), "{answers:?}");
    let mails: Vec<Received> = vec![
        sink.next_mail("kim@example.com", SUBJECT).await,
        sink.next_mail("kim@example.com", SUBJECT).await,
        sink.next_mail("kim@example.com", SUBJECT).await,
    ];
    // However they raced, one request is outstanding: exactly one of the links works.
    let mut worked = 0;
    for mail in &mails {
        let res = verify(&app, &client(), json!({"token": token_of(&mail.link("/login/email"))})).await;
        worked += usize::from(res.status() == StatusCode::OK);
    }
    assert_eq!(worked, 1);
    assert_eq!(sink.count("kim@example.com", SUBJECT), 3, "no more than the limit");
}

async fn a_sign_in_asked_for_on_one_node_finishes_on_another(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    app.register("liv@example.com").await;
    let mut config = test_config(&app.db.url);
    config.auth.email_signin = true;
    super::smtp_to(&mut config, &sink.url());
    let node = portcullis::Application::build(&config, app.clock.clone()).await.expect("second node");
    let second = format!("http://{}", node.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        node.run(async {
            let _ = stopped.await;
        })
        .await
        .expect("second node runs");
    });
    let on_second = |path: &str| format!("{second}{path}");
    let mail = ask(&app, &sink, "liv@example.com").await;
    let c = client();
    let body = json!({"email": "liv@example.com", "code": code_of(&mail)});
    let res = c.post(on_second("/api/v1/login/email/verify")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "asked on one node, the code used on the other");
    // And the link, asked for on the second node, used on the first.
    let res =
        client().post(on_second("/api/v1/login/email")).json(&json!({"email": "liv@example.com"})).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::ACCEPTED);
    let link = sink.next_mail("liv@example.com", SUBJECT).await.link("/login/email");
    assert_eq!(verify(&app, &client(), json!({"token": token_of(&link)})).await.status(), StatusCode::OK);
    let _ = stop.send(());
    server.await.unwrap();
}

async fn email_sign_in_is_off_unless_configured(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    app.register("max@example.com").await;
    let login = app.get(&client(), "/login").await.text().await.unwrap();
    assert!(!login.contains("/login/email/send"), "no button");
    let res = app.post_json(&client(), "/api/v1/login/email", &json!({"email": "max@example.com"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.post_form(&client(), "/login", "/login/email/send", &[("email", "max@example.com")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(sink.count("max@example.com", SUBJECT), 0);
    let (on, _sink) = app_with_email_signin(backend).await;
    let login = on.get(&client(), "/login").await.text().await.unwrap();
    assert!(login.contains("action=\"/login/email/send\"") && login.contains("Email me a sign-in link"));
}

async fn bad_input_gets_400_401_or_422_never_a_5xx(backend: Backend) {
    let (app, _sink) = app_with_email_signin(backend).await;
    app.register("ned@example.com").await;
    let cases = [
        (json!({"token": "short"}), StatusCode::BAD_REQUEST),
        (json!({"token": "A".repeat(43)}), StatusCode::BAD_REQUEST),
        (json!({"email": "ned@example.com", "code": "12345x"}), StatusCode::UNAUTHORIZED),
        (json!({"email": "ned@example.com", "code": "123456"}), StatusCode::UNAUTHORIZED),
        (json!({"email": "not an address", "code": "123456"}), StatusCode::UNAUTHORIZED),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"email": "ned@example.com"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"token": "x", "email": "ned@example.com", "code": "123456"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"token": 5}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, status) in cases {
        let res = verify(&app, &client(), body.clone()).await;
        assert_eq!(res.status(), status, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{body}");
    }
    for link in ["/login/email", "/login/email?token=", "/login/email?token=%00%ff"] {
        let res = app.get(&client(), link).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{link}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{link}");
    }
}

async fn the_export_lists_an_outstanding_sign_in_link_without_its_secret(backend: Backend) {
    let (app, sink) = app_with_email_signin(backend).await;
    let c = app.signed_in("oli@example.com").await;
    let mail = ask(&app, &sink, "oli@example.com").await;
    let export = app.get(&c, "/api/v1/me/export").await.text().await.unwrap();
    let doc: Value = serde_json::from_str(&export).unwrap();
    let links = doc["email_links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["purpose"] == "email_signin" && l["used_at"].is_null()), "{links:?}");
    assert!(!export.contains(&token_of(&mail.link("/login/email"))), "never the token");
}
