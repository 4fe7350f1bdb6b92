//! Passkeys end to end in headless Chromium with a virtual authenticator (WebDriver's
//! Web Authentication extension, as chromedriver implements it): add a passkey on the
//! account page, sign out, sign in with it and no password, use it instead of a TOTP
//! code at the second step, and see a replayed sign-in refused.

use portcullis_core::Clock as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use crate::browser::{Browser, register, sign_in, sign_out};
use crate::helpers::{Backend, TestApp, backend_tests, client};

backend_tests!(a_passkey_sign_in_started_in_one_browser_cannot_be_finished_in_another);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_added_then_signs_in_alone_and_as_second_factor_in_chromium() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn_on_localhost(Backend::Sqlite).await;
    let email = signed_out_with_a_passkey(&browser, &app).await;
    browser.goto(&app.url("/login")).await;
    browser.click("#passkey-login").await;
    browser.wait_for_url(&app.url("/account")).await;
    browser.wait_for_text("#account-email", &email).await;
    browser.wait_for_text("#security-log", "Signed in with a passkey").await;

    turn_on_totp(&app, &email).await;
    sign_out(&browser, &app).await;
    passkey_as_second_factor(&browser, &app, &email).await;
    a_replayed_sign_in_is_refused(&browser, &app).await;
}

/// The authenticator answers challenges that another client (the test's) asked
/// for: the answer signs in when that client sends it back, and is refused from any
/// other, although it verifies just as well.
async fn a_passkey_sign_in_started_in_one_browser_cannot_be_finished_in_another(backend: Backend) {
    let Some(browser) = Browser::launch().await else { return };
    // Forward-auth's `two_factor` policy everywhere: a passkey sign-in satisfies it.
    let app =
        TestApp::spawn_on_localhost_with(backend, |c| c.access.default_policy = "two_factor".into()).await;
    signed_out_with_a_passkey(&browser, &app).await;
    browser.goto(&app.url("/login")).await;
    browser.find("#passkey-login").await;
    let script = r"
        const [options, done] = [arguments[0], arguments[arguments.length - 1]];
        const P = window.portcullisPasskeys;
        navigator.credentials.get(P.toGetOptions(options))
          .then((cred) => done({ credential: P.assertionJSON(cred) }))
          .catch((e) => done({ error: String(e) }));
    ";
    for (finished_by_starter, expected) in [(true, StatusCode::OK), (false, StatusCode::BAD_REQUEST)] {
        let starter = client();
        let res = app.post_json(&starter, "/api/v1/login/passkey/start", &json!({})).await;
        let options: Value = res.json().await.unwrap();
        let args = json!({"script": script, "args": [options]});
        let signed = browser.cmd(reqwest::Method::POST, "/execute/async", Some(args)).await;
        assert!(signed["credential"].is_object(), "the authenticator signed: {signed}");
        let finisher = if finished_by_starter { starter } else { client() };
        let body = json!({"credential": signed["credential"]});
        let res = app.post_json(&finisher, "/api/v1/login/passkey/finish", &body).await;
        assert_eq!(res.status(), expected, "finished by the starter: {finished_by_starter}");
        let me = app.get(&finisher, "/api/v1/me").await.status();
        assert_eq!(me == StatusCode::OK, finished_by_starter, "signed in only where it was started");
        if finished_by_starter {
            let verify = app.get(&finisher, "/auth/verify").await.status();
            assert_eq!(verify, StatusCode::OK, "a passkey sign-in counts as two-factor for forward-auth");
        }
    }
}

/// A new account with a passkey on a fresh virtual authenticator, added on the
/// account page; the browser is signed out again. Returns the email.
async fn signed_out_with_a_passkey(browser: &Browser, app: &TestApp) -> String {
    let authenticator = add_virtual_authenticator(browser).await;
    let email = format!("passkey-{}@example.com", uuid::Uuid::new_v4().simple());
    register(browser, app, &email).await;
    sign_in(browser, app, &email).await;
    add_passkey(browser, app, &email, &authenticator).await;
    sign_out(browser, app).await;
    email
}

/// A CTAP2 platform authenticator that keeps discoverable credentials and verifies
/// the user (no prompt): returns its id.
async fn add_virtual_authenticator(browser: &Browser) -> String {
    let options = json!({
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserVerified": true,
    });
    let id = browser.cmd(reqwest::Method::POST, "/webauthn/authenticator", Some(options)).await;
    id.as_str().unwrap_or_else(|| panic!("an authenticator id, got {id}")).to_owned()
}

async fn credentials(browser: &Browser, authenticator: &str) -> Vec<Value> {
    let path = format!("/webauthn/authenticator/{authenticator}/credentials");
    let all = browser.cmd(reqwest::Method::GET, &path, None).await;
    all.as_array().cloned().unwrap_or_default()
}

async fn add_passkey(browser: &Browser, app: &TestApp, email: &str, authenticator: &str) {
    browser.goto(&app.url("/account")).await;
    browser.find("#no-passkeys").await;
    browser.type_into("#passkey-new-name", "Laptop").await;
    browser.click("#passkey-add-button").await;
    browser.wait_for_text("#passkeys", "Rename").await;
    let name = browser.execute("return document.querySelector('#passkeys input[name=name]').value").await;
    assert_eq!(name, "Laptop", "the new passkey is listed under its name");
    let png = browser.screenshot().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-passkeys.png");
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create target/");
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    browser.wait_for_text("#security-log", "Passkey added").await;

    let creds = credentials(browser, authenticator).await;
    assert_eq!(creds.len(), 1, "one credential on the authenticator: {creds:?}");
    assert_eq!(creds[0]["isResidentCredential"], true, "a discoverable credential: {creds:?}");
    assert_eq!(creds[0]["rpId"], "localhost");

    let store = &app.store;
    let creds = store.find_credentials_by_email(email).await.unwrap().expect("the user");
    let mails = store.list_mails(creds.user.id).await.unwrap();
    assert!(
        mails.iter().any(|m| m.subject == "A passkey was added to your account"),
        "a notice is mailed: {mails:?}"
    );
}

/// Turns TOTP on over the API (password sign-in with a client of its own).
pub(super) async fn turn_on_totp(app: &TestApp, email: &str) {
    let c = app.login(email).await;
    let res = c.post(app.url("/api/v1/mfa/totp")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(Secret::try_from_base32(&secret).unwrap())
        .build_noncompliant();
    let code = totp.generate(u64::try_from(app.clock.now().unix_timestamp()).unwrap()).to_string();
    let res = app.post_json(&c, "/api/v1/mfa/totp/confirm", &json!({"code": code})).await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn passkey_as_second_factor(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/login")).await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", crate::helpers::PASSWORD).await;
    browser.click(r#"form[action="/login"] button[type="submit"]"#).await;
    browser.wait_for_url(&app.url("/login/mfa?next=%2Faccount")).await;
    browser.click("#passkey-login").await;
    browser.wait_for_url(&app.url("/account")).await;
    browser.wait_for_text("#account-email", email).await;
}

/// The same signed assertion posted twice: the first signs in, the second finds
/// its ceremony gone.
async fn a_replayed_sign_in_is_refused(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/login")).await;
    browser.find("#passkey-login").await;
    let script = r"
        const done = arguments[arguments.length - 1];
        (async () => {
          const P = window.portcullisPasskeys;
          const options = await P.api('/api/v1/login/passkey/start');
          const cred = await navigator.credentials.get(P.toGetOptions(options));
          const body = JSON.stringify({ credential: P.assertionJSON(cred) });
          const post = () => fetch('/api/v1/login/passkey/finish', {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
          }).then(async (r) => ({ status: r.status, body: await r.json() }));
          const first = await post();
          const second = await post();
          done({ first, second });
        })().catch((e) => done({ error: String(e) }));
    ";
    let out = browser
        .cmd(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []})))
        .await;
    assert_eq!(out["first"]["status"], 200, "the first use signs in: {out}");
    assert_eq!(out["second"]["status"], 400, "the replay is refused: {out}");
    assert_eq!(out["second"]["body"]["code"], "invalid_passkey", "{out}");
}
