//! The admin console in real headless Chromium (SPEC §8): an administrator finds a
//! user by email prefix, disables them, turns their two-factor authentication off,
//! and invites a new user, who accepts in a second browser session. Screenshots of
//! the user list and the user page are written to `target/` (kept by CI), and no
//! page logs a console error or a CSP violation.

use serde_json::json;

use portcullis_core::groups::Actor;

use crate::browser::Browser;
use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::smtp_sink::SmtpSink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_manages_users_and_invites_someone_in_chromium() {
    let Some(browser) = Browser::launch().await else { return };
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_on_localhost_with(Backend::Sqlite, |c| crate::email::smtp_to(c, &url)).await;
    app.register("root@example.com").await;
    app.state.auth().add_to_group("admin", "root@example.com", Actor::Cli).await.expect("admin");
    for email in ["ada@example.com", "adam@example.com", "bob@example.com"] {
        app.register(email).await;
    }
    // Ada has two-factor authentication on.
    crate::mfa::enrolled(&app, "ada.mfa@example.com").await;

    browser.goto(&app.url("/login?next=%2Fadmin%2Fusers")).await;
    sign_in_to(&browser, &app, "/admin/users").await;
    browser.type_into("#q", "ADA").await;
    browser.click("#user-search button[type=submit]").await;
    browser.wait_for_text("#users", "ada.mfa@example.com").await;
    let listed = browser.text("#users").await.unwrap_or_default();
    assert!(
        listed.contains("ada@example.com") && !listed.contains("bob@example.com"),
        "a prefix search: {listed}"
    );
    browser.save_screenshot("e2e-admin-users").await;

    // The user with MFA: disable, then turn MFA off.
    let ada = app.state.auth().find_user("ada.mfa@example.com").await.expect("ada");
    browser.goto(&app.url(&format!("/admin/users/{}", ada.id))).await;
    browser.wait_for_text("#admin-user-email", "ada.mfa@example.com").await;
    browser.wait_for_text("#user-mfa", "on").await;
    browser.save_screenshot("e2e-admin-user").await;
    browser.click("#action-disable button").await;
    browser.wait_for_text("#user-state", "disabled").await;
    browser.click("#action-mfa-reset button").await;
    browser.wait_for_text("#user-mfa", "off").await;
    let ada = app.state.auth().find_user("ada.mfa@example.com").await.expect("ada");
    assert!(ada.disabled && !ada.mfa_enabled, "the changes were made: {ada:?}");

    // An invitation, accepted in another browser session.
    browser.goto(&app.url("/admin/users")).await;
    browser.type_into("#invite-email", "newcomer@example.com").await;
    browser.click("#invite button[type=submit]").await;
    browser.wait_for_text("#user-state", "invited").await;
    let link = sink
        .link("newcomer@example.com", "You are invited: choose your password", "/accept-invitation")
        .await;
    // The overview counts the accounts: root, the three users, Ada with MFA, the newcomer.
    browser.goto(&app.url("/admin")).await;
    browser.wait_for_text("#overview-users", "6").await;
    browser.save_screenshot("e2e-admin-overview").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "no console error or CSP violation on the admin pages: {errors:?}");

    let newcomer = Browser::launch().await.expect("a second browser");
    newcomer.goto(&link).await;
    newcomer.type_into("#password", "velvet-otter-harbor-58").await;
    newcomer.type_into("#password_confirm", "velvet-otter-harbor-58").await;
    newcomer.click("form button[type=submit]").await;
    newcomer.wait_for_url(&app.url("/account")).await;
    newcomer.wait_for_text("#account-email", "newcomer@example.com").await;
    let errors = newcomer.console_errors().await;
    assert!(errors.is_empty(), "no console error on the invitation pages: {errors:?}");
    let body = json!({"email": "newcomer@example.com", "password": "velvet-otter-harbor-58"});
    let res = app.post_json(&crate::helpers::client(), "/api/v1/login", &body).await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::OK,
        "the invited user signs in with the password they chose"
    );
}

/// Fills the sign-in form the browser is on and waits to land on `path`.
async fn sign_in_to(browser: &Browser, app: &TestApp, path: &str) {
    browser.type_into("#email", "root@example.com").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click(r#"form[action="/login"] button[type="submit"]"#).await;
    browser.wait_for_url(&app.url(path)).await;
}
