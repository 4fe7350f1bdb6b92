//! Every documented operation called on its successful path, in an order that gives
//! each what it needs (links read out of the mail, a TOTP secret, a stored passkey).

use reqwest::{Client, Method};
use serde_json::{Value, json};

use super::Calls;
use crate::email::with_sink;
use crate::helpers::{Backend, PASSWORD, TestApp, client};
use crate::mfa::code;
use crate::passkeys::stored_passkey;

const NEW_PASSWORD: &str = "teal-walrus-compass-42";

/// The ceremonies' `finish` needs a real authenticator's answer, which only the
/// Chromium-driven tests of `passkeys/browser.rs` have.
const NEEDS_AN_AUTHENTICATOR: [(&str, &str); 2] =
    [("post", "/api/v1/passkeys/register/finish"), ("post", "/api/v1/login/passkey/finish")];

struct Walk<'a> {
    app: &'a TestApp,
    calls: Calls,
}

impl Walk<'_> {
    /// Calls `method template` (at `concrete`, when the template has a parameter).
    async fn call(
        &mut self,
        c: &Client,
        method: &str,
        template: &str,
        concrete: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = c.request(m, self.app.url(concrete.unwrap_or(template)));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        self.calls.check(method, template, res).await
    }
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("a token in the link").to_owned()
}

/// An upstream identity (SPEC §10) of `email`, linked in the store as a callback would.
async fn linked_identity(app: &crate::helpers::TestApp, email: &str) -> uuid::Uuid {
    let me = app.state.auth().find_user(email).await.unwrap();
    let identity = portcullis_core::upstream::LinkedIdentity {
        id: uuid::Uuid::new_v4(),
        user_id: me.id,
        provider: "corp".into(),
        issuer: "https://sso.example.com".into(),
        subject: "walk".into(),
        email: Some(email.into()),
        created_at: portcullis_core::Clock::now(app.clock.as_ref()),
        last_used_at: None,
    };
    app.store.link_identity(&identity).await.unwrap();
    identity.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_documented() {
    // WebAuthn needs a host name as relying-party id, not an IP address.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).unwrap().port();
    let (mut app, sink) = with_sink(Backend::Sqlite, |c| {
        c.server.bind = format!("127.0.0.1:{port}");
        c.server.public_url = Some(format!("http://localhost:{port}"));
        c.auth.email_signin = true;
    })
    .await;
    app.base = format!("http://localhost:{port}");
    let doc = super::served_document(&app).await;
    let mut w = Walk { app: &app, calls: Calls::new(doc) };
    let (a, b) = ("walk@example.com", "walk@new.example");
    let anon = client;

    // Account and sessions.
    let c = client();
    w.call(&c, "post", "/api/v1/register", None, Some(json!({"email": a, "password": PASSWORD}))).await;
    let login = json!({"email": a, "password": PASSWORD, "remember_me": true});
    w.call(&c, "post", "/api/v1/login", None, Some(login)).await;
    w.call(&c, "get", "/api/v1/me", None, None).await;
    let _other = app.login(a).await;
    let sessions = w.call(&c, "get", "/api/v1/me/sessions", None, None).await;
    let other = sessions.as_array().unwrap().iter().find(|s| s["current"] == false).expect("another session");
    let at = format!("/api/v1/me/sessions/{}", other["id"].as_str().unwrap());
    w.call(&c, "delete", "/api/v1/me/sessions/{id}", Some(&at), None).await;
    w.call(&c, "get", "/api/v1/me/events", None, None).await;
    w.call(&c, "get", "/api/v1/me/export", None, None).await;
    let identity = linked_identity(&app, a).await;
    w.call(&c, "get", "/api/v1/me/identities", None, None).await;
    let at = format!("/api/v1/me/identities/{identity}");
    w.call(&c, "delete", "/api/v1/me/identities/{id}", Some(&at), None).await;

    // Links from mails.
    let verify = sink.link(a, "Confirm your email address", "/verify-email").await;
    w.call(&anon(), "post", "/api/v1/email/verify", None, Some(json!({"token": token_of(&verify)}))).await;
    w.call(&anon(), "post", "/api/v1/email/resend", None, Some(json!({"email": a}))).await;
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    w.call(&c, "post", "/api/v1/me/password", None, Some(change)).await;
    let change = json!({"new_email": b, "password": NEW_PASSWORD});
    w.call(&c, "post", "/api/v1/me/email", None, Some(change)).await;
    let confirm = sink.link(b, "Confirm your new email address", "/verify-email").await;
    w.call(&anon(), "post", "/api/v1/email/verify", None, Some(json!({"token": token_of(&confirm)}))).await;
    let undo = sink.link(a, "Your email address was changed", "/undo-email-change").await;
    w.call(&anon(), "post", "/api/v1/email/undo", None, Some(json!({"token": token_of(&undo)}))).await;
    w.call(&anon(), "post", "/api/v1/password/forgot", None, Some(json!({"email": a}))).await;
    let reset = sink.link(a, "Reset your password", "/reset-password").await;
    let reset = json!({"token": token_of(&reset), "password": PASSWORD});
    w.call(&anon(), "post", "/api/v1/password/reset", None, Some(reset)).await;
    w.call(&anon(), "post", "/api/v1/login/email", None, Some(json!({"email": a}))).await;
    let signin = sink.link(a, "Your sign-in link", "/login/email").await;
    let signin = json!({"token": token_of(&signin)});
    w.call(&client(), "post", "/api/v1/login/email/verify", None, Some(signin)).await;

    // Two factors.
    let c = client();
    w.call(&c, "post", "/api/v1/login", None, Some(json!({"email": a, "password": PASSWORD}))).await;
    let enrolment = w.call(&c, "post", "/api/v1/mfa/totp", None, None).await;
    let secret = enrolment["secret"].as_str().expect("a secret").to_owned();
    w.call(&c, "post", "/api/v1/mfa/totp/confirm", None, Some(json!({"code": code(&app, &secret, 0)}))).await;
    w.call(&c, "post", "/api/v1/mfa/recovery-codes", None, Some(json!({"password": PASSWORD}))).await;
    w.call(&c, "post", "/api/v1/logout", None, None).await;
    let c = client();
    w.call(&c, "post", "/api/v1/login", None, Some(json!({"email": a, "password": PASSWORD}))).await;
    // Each code's step is spent once used.
    app.clock.advance(time::Duration::seconds(30));
    w.call(&c, "post", "/api/v1/login/mfa", None, Some(json!({"code": code(&app, &secret, 0)}))).await;
    app.clock.advance(time::Duration::seconds(30));
    w.call(&c, "delete", "/api/v1/mfa/totp", None, Some(json!({"code": code(&app, &secret, 0)}))).await;

    // Tokens.
    let issue = json!({"email": a, "password": PASSWORD});
    let pair = w.call(&anon(), "post", "/api/v1/tokens", None, Some(issue)).await;
    let refresh = json!({"refresh_token": pair["refresh_token"]});
    w.call(&anon(), "post", "/api/v1/tokens/refresh", None, Some(refresh)).await;

    // Passkeys.
    w.call(&c, "post", "/api/v1/passkeys/register/start", None, None).await;
    w.call(&anon(), "post", "/api/v1/login/passkey/start", None, None).await;
    let passkey = stored_passkey(&app, a, "Laptop", 0).await;
    w.call(&c, "get", "/api/v1/passkeys", None, None).await;
    let at = format!("/api/v1/passkeys/{}", passkey.id);
    w.call(&c, "patch", "/api/v1/passkeys/{id}", Some(&at), Some(json!({"name": "Work laptop"}))).await;
    w.call(&c, "delete", "/api/v1/passkeys/{id}", Some(&at), None).await;

    w.call(&c, "delete", "/api/v1/me", None, Some(json!({"password": PASSWORD}))).await;

    // Administration, on a user of its own.
    let root = crate::admin::admin(&app, "root@walk.example").await;
    let target = "target@walk.example";
    app.register(target).await;
    let id = crate::admin::id_of(&app, target).await;
    let user = format!("/api/v1/admin/users/{id}");
    w.call(&root, "get", "/api/v1/admin/users", Some("/api/v1/admin/users?q=TARGET&limit=1"), None).await;
    w.call(&root, "get", "/api/v1/admin/users/{id}", Some(&user), None).await;
    let patch = json!({"email_verified": true, "disabled": false});
    w.call(&root, "patch", "/api/v1/admin/users/{id}", Some(&user), Some(patch)).await;
    w.call(&root, "post", "/api/v1/admin/users/{id}/sign-out", Some(&format!("{user}/sign-out")), None).await;
    w.call(&root, "delete", "/api/v1/admin/users/{id}/mfa", Some(&format!("{user}/mfa")), None).await;
    let reset = format!("{user}/password-reset");
    w.call(&root, "post", "/api/v1/admin/users/{id}/password-reset", Some(&reset), None).await;
    w.call(&root, "get", "/api/v1/admin/groups", None, None).await;
    let group = json!({"name": "ops", "description": "Operations"});
    w.call(&root, "post", "/api/v1/admin/groups", None, Some(group)).await;
    let member = format!("{user}/groups/ops");
    w.call(&root, "put", "/api/v1/admin/users/{id}/groups/{name}", Some(&member), None).await;
    w.call(&root, "delete", "/api/v1/admin/users/{id}/groups/{name}", Some(&member), None).await;
    w.call(&root, "delete", "/api/v1/admin/groups/{name}", Some("/api/v1/admin/groups/ops"), None).await;
    let events = format!("/api/v1/admin/events?user={id}&kind=signed_out_everywhere&limit=5");
    w.call(&root, "get", "/api/v1/admin/events", Some(&events), None).await;
    w.call(&root, "delete", "/api/v1/admin/users/{id}", Some(&user), None).await;

    // Where an address must be confirmed first, registering answers 202.
    let (strict, _sink) = with_sink(Backend::Sqlite, |c| c.email.require_verification = true).await;
    let mut w = Walk { app: &strict, calls: w.calls };
    w.call(&anon(), "post", "/api/v1/register", None, Some(json!({"email": a, "password": PASSWORD}))).await;
    w.calls.finish(&NEEDS_AN_AUTHENTICATOR);
}
