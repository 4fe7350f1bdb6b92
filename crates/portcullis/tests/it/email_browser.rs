//! Signing in by email (issue #21) in real headless Chromium: with the mailed link
//! (its page's confirm button) and, in a second browser, with the mailed code on
//! the page that asked for it; the second browser is a new device, so its sign-in
//! is mailed to the user. No page logs a console error or a CSP violation, and the
//! pages carry no inline script.

use crate::browser::Browser;
use crate::helpers::{Backend, TestApp, client};
use crate::smtp_sink::SmtpSink;

const EMAIL: &str = "ada@example.com";

/// On `/login`, asks for a sign-in mail and waits for the page where its code goes.
async fn ask_for_a_sign_in_mail(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/login")).await;
    browser.type_into("#signin-email", EMAIL).await;
    browser.click("#email-signin").await;
    browser.wait_for_url(&app.url("/login/email/send")).await;
    browser.wait_for_text("#email-signin-sent", EMAIL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_by_email_with_the_link_and_with_the_code_in_chromium() {
    let Some(browser) = Browser::launch().await else { return };
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_on_localhost_with(Backend::Sqlite, |c| {
        crate::email::smtp_to(c, &url);
        c.auth.email_signin = true;
    })
    .await;
    app.register(EMAIL).await;

    // With the link: its page asks before signing in.
    ask_for_a_sign_in_mail(&browser, &app).await;
    let link = sink.link(EMAIL, "Your sign-in link", "/login/email").await;
    browser.goto(&link).await;
    browser.wait_for_text("h1", "Sign in by email").await;
    let me = browser.execute("return document.cookie").await;
    assert!(
        !me.to_string().contains("portcullis_session"),
        "the session cookie is HttpOnly, and not set yet"
    );
    browser.save_screenshot("e2e-email-signin-confirm").await;
    browser.click("#email-signin-button").await;
    browser.wait_for_url(&app.url("/account")).await;
    browser.wait_for_text("#account-email", EMAIL).await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "no console error or CSP violation: {errors:?}");

    // With the code, in another browser: a new device for the account.
    let other = Browser::launch().await.expect("a second browser");
    ask_for_a_sign_in_mail(&other, &app).await;
    other.save_screenshot("e2e-email-signin-code").await;
    let mail = sink.next_mail(EMAIL, "Your sign-in link").await;
    let (text, _) = mail.parts();
    let code: String = text.split("enter this code: ").nth(1).expect("a code").chars().take(6).collect();
    other.type_into("#code", "000000").await;
    if code == "000000" {
        other.type_into("#code", "111111").await;
    }
    other.click("#email-code-form button[type=submit]").await;
    other.wait_for_text("#email-code-error", "Invalid or expired code").await;
    other.type_into("#code", &code).await;
    other.click("#email-code-form button[type=submit]").await;
    other.wait_for_url(&app.url("/account")).await;
    other.wait_for_text("#account-email", EMAIL).await;
    // The wrong code's page answered 401 on purpose (Chromium logs every 4xx).
    let provoked = "/login/email/code - Failed to load resource: the server responded with a status of 401";
    let errors: Vec<String> =
        other.console_errors().await.into_iter().filter(|e| !e.contains(provoked)).collect();
    assert!(errors.is_empty(), "no other console error or CSP violation: {errors:?}");
    let notice = sink.next_mail(EMAIL, "New sign-in to your account").await;
    assert!(notice.parts().0.contains("Chrome"), "the client is named");
    assert_eq!(sink.count(EMAIL, "New sign-in to your account"), 1, "the first browser was the first device");

    // No inline script on the pages of this flow (the CSP forbids it anyway).
    for path in ["/login", "/login/email?token=x"] {
        let html = app.get(&client(), path).await.text().await.unwrap();
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src=\"/static/"), "only external scripts on {path}: <script{tag}>");
        }
    }
}
