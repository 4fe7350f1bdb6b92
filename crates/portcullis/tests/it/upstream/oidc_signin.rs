//! Signing in through an upstream OpenID provider (SPEC §10), against panva's
//! oidc-provider on loopback, over real HTTP, on both backends: sign-up, sign-in
//! of a linked identity, the refusal to link by address until the account's owner
//! signs in (with the second factor), the upstream's `amr`, unlinking, and every
//! error case answering a page with nothing created.

use reqwest::StatusCode;
use serde_json::{Value, json};

use portcullis::config::providers::{IdentityProviderConfig, ProviderKind};

use super::node_provider::{Fault, NodeProvider, OidcAccount, OidcClient, ProviderConfig};
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, location};

backend_tests!(
    a_new_verified_address_gets_an_account_and_the_identity_signs_it_in_again,
    without_signup_an_unknown_identity_gets_403_and_no_account,
    an_address_that_belongs_to_an_account_is_linked_only_after_its_owner_signs_in,
    the_link_waits_for_the_second_factor_and_never_goes_to_another_account,
    the_second_factor_is_owed_unless_the_upstream_used_one_and_is_trusted,
    an_identity_without_a_verified_address_creates_and_links_nothing,
    the_address_is_read_from_userinfo_when_the_id_token_has_none,
    upstream_errors_are_pages_and_create_nothing,
    a_callback_is_finished_once_in_the_browser_that_started_it_within_ten_minutes,
    identities_are_listed_linked_from_the_account_page_and_unlinked_unless_last,
);

pub(crate) const CLIENT_ID: &str = "portcullis";
pub(crate) const CLIENT_SECRET: &str = "a-secret-of-the-tests-provider";

/// A Portcullis app on a port chosen first, and oidc-provider knowing its
/// callback; `None` (printed SKIPPED) without oidc-provider outside CI.
pub(crate) struct Setup {
    pub app: TestApp,
    pub op: NodeProvider,
}

pub(crate) fn provider_config(
    issuer: &str,
    allow_signup: bool,
    trust_upstream_mfa: bool,
) -> IdentityProviderConfig {
    IdentityProviderConfig {
        id: "corp".into(),
        name: "Corp SSO".into(),
        kind: ProviderKind::Oidc,
        issuer: Some(issuer.to_owned()),
        base_url: None,
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        client_secret_file: None,
        scopes: None,
        allow_signup,
        trust_upstream_mfa,
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port()
}

impl Setup {
    pub(crate) async fn start(backend: Backend, accounts: Vec<OidcAccount>) -> Option<Self> {
        Self::start_with(backend, accounts, true, true).await
    }

    pub(crate) async fn start_with(
        backend: Backend,
        accounts: Vec<OidcAccount>,
        allow_signup: bool,
        trust_upstream_mfa: bool,
    ) -> Option<Self> {
        Self::start_config(backend, accounts, true, allow_signup, trust_upstream_mfa).await
    }

    /// With `email_in_id_token = false`, the address is only in userinfo.
    pub(crate) async fn start_config(
        backend: Backend,
        accounts: Vec<OidcAccount>,
        email_in_id_token: bool,
        allow_signup: bool,
        trust_upstream_mfa: bool,
    ) -> Option<Self> {
        let port = free_port();
        let callback = format!("http://127.0.0.1:{port}/login/corp/callback");
        let clients = vec![OidcClient::new(CLIENT_ID, CLIENT_SECRET, &callback)];
        let op = NodeProvider::start_with(ProviderConfig { clients, accounts, email_in_id_token }).await?;
        let issuer = op.issuer().to_owned();
        let app = TestApp::spawn_with(backend, |c| {
            c.server.bind = format!("127.0.0.1:{port}");
            c.server.public_url = Some(format!("http://127.0.0.1:{port}"));
            c.identity_providers = vec![provider_config(&issuer, allow_signup, trust_upstream_mfa)];
        })
        .await;
        Some(Self { app, op })
    }

    /// `GET /login/corp`: the provider's authorization URL.
    pub(crate) async fn start_flow(&self, browser: &reqwest::Client) -> String {
        let res = self.app.get(browser, "/login/corp?next=%2Fwiki").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{:?}", res.text().await);
        let to = location(&res);
        assert!(to.starts_with(self.op.issuer()), "to the provider: {to}");
        to
    }

    /// The whole flow as `account`: the callback's answer.
    pub(crate) async fn sign_in(&self, browser: &reqwest::Client, account: &str) -> reqwest::Response {
        let authorize = self.start_flow(browser).await;
        let callback = self.op.approve(browser, &authorize, account).await;
        browser.get(&callback).send().await.expect("callback answered")
    }

    pub(crate) async fn users(&self) -> Vec<String> {
        let mut emails: Vec<String> =
            self.app.state.auth().list_users().await.unwrap().into_iter().map(|u| u.email).collect();
        emails.sort();
        emails
    }

    pub(crate) async fn stop(self) {
        self.app.stop().await;
    }
}

/// Turns TOTP on for the account `browser` is signed in to.
async fn enrol(app: &TestApp, browser: &reqwest::Client) {
    let res = browser.post(app.url("/api/v1/mfa/totp")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
    let code = crate::mfa::code(app, &secret, 0);
    let res = app.post_json(browser, "/api/v1/mfa/totp/confirm", &json!({"code": code})).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.clock.advance(time::Duration::seconds(30));
}

async fn me(app: &TestApp, browser: &reqwest::Client) -> Value {
    let res = app.get(browser, "/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn kinds(app: &TestApp, email: &str) -> Vec<String> {
    let user = app.state.auth().find_user(email).await.unwrap();
    app.state.auth().events_of(user.id, 50).await.unwrap().into_iter().map(|e| e.kind).collect()
}

async fn identities(app: &TestApp, browser: &reqwest::Client) -> Vec<Value> {
    let res = app.get(browser, "/api/v1/me/identities").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn a_new_verified_address_gets_an_account_and_the_identity_signs_it_in_again(backend: Backend) {
    let Some(s) = Setup::start(backend, vec![OidcAccount::new("u-ada", "ada@example.com", true)]).await
    else {
        return;
    };
    let browser = client();
    let html = s.app.get(&browser, "/login?next=%2Fwiki").await.text().await.unwrap();
    assert!(
        html.contains(r#"id="provider-corp""#)
            && html.contains("corp?next=%2Fwiki")
            && html.contains("Corp SSO"),
        "a button on the sign-in page, carrying next: {html}"
    );
    let res = s.sign_in(&browser, "u-ada").await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/wiki".to_owned()), "to next");
    let user = me(&s.app, &browser).await;
    assert_eq!(
        (user["email"].as_str(), user["email_verified"].as_bool()),
        (Some("ada@example.com"), Some(true))
    );
    let linked = identities(&s.app, &browser).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(
        (linked[0]["provider"].as_str(), linked[0]["name"].as_str()),
        (Some("corp"), Some("Corp SSO"))
    );
    let events = kinds(&s.app, "ada@example.com").await;
    for kind in ["register", "identity_linked", "login_succeeded"] {
        assert!(events.iter().any(|k| k == kind), "{kind} audited: {events:?}");
    }
    // No password signs in to it (there is none).
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let res = s.app.post_json(&client(), "/api/v1/login", &body).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Again, in another browser: the same account, no second one.
    let other = client();
    let res = s.sign_in(&other, "u-ada").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&s.app, &other).await["id"], user["id"]);
    assert_eq!(s.users().await, ["ada@example.com"]);
    let linked = identities(&s.app, &other).await;
    assert!(linked[0]["last_used_at"].is_string(), "the sign-in is recorded: {linked:?}");
    s.stop().await;
}

async fn without_signup_an_unknown_identity_gets_403_and_no_account(backend: Backend) {
    let accounts = vec![OidcAccount::new("u-eve", "eve@example.com", true)];
    let Some(s) = Setup::start_with(backend, accounts, false, true).await else { return };
    let browser = client();
    let res = s.sign_in(&browser, "u-eve").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(html.contains("new accounts cannot be made"), "{html}");
    assert!(s.users().await.is_empty(), "no account");
    assert_eq!(s.app.get(&browser, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "not signed in");
    s.stop().await;
}

async fn an_address_that_belongs_to_an_account_is_linked_only_after_its_owner_signs_in(backend: Backend) {
    let accounts = vec![OidcAccount::new("u-ada", "ADA@example.com", true)];
    let Some(s) = Setup::start(backend, accounts).await else { return };
    s.app.register("ada@example.com").await;
    let browser = client();
    let res = s.sign_in(&browser, "u-ada").await;
    assert_eq!(res.status(), StatusCode::OK, "the sign-in form, not a session");
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"login-notice\"") && html.contains("ada@example.com"), "{html}");
    assert_eq!(s.app.get(&browser, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "not signed in");
    let ada = s.app.state.auth().find_user("ada@example.com").await.unwrap();
    assert!(s.app.state.auth().list_identities(ada.id).await.unwrap().is_empty(), "not linked yet");

    // The owner signs in with the password, in this browser: now it is linked.
    let res = s
        .app
        .post_form(
            &browser,
            "/login",
            "/login",
            &[("email", "ada@example.com"), ("password", PASSWORD), ("next", "/wiki")],
        )
        .await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/wiki".to_owned()));
    assert_eq!(s.app.state.auth().list_identities(ada.id).await.unwrap().len(), 1, "linked");
    assert!(kinds(&s.app, "ada@example.com").await.contains(&"identity_linked".to_owned()));
    // From now on the identity signs in directly.
    let other = client();
    let res = s.sign_in(&other, "u-ada").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&s.app, &other).await["email"], "ada@example.com");
    assert_eq!(s.users().await, ["ada@example.com"], "no second account");
    s.stop().await;
}

async fn the_link_waits_for_the_second_factor_and_never_goes_to_another_account(backend: Backend) {
    let accounts = vec![OidcAccount::new("u-ada", "ada@example.com", true)];
    let Some(s) = Setup::start(backend, accounts).await else { return };
    let (_, secret, _) = crate::mfa::enrolled(&s.app, "ada@example.com").await;
    s.app.register("bob@example.com").await;
    let ada = s.app.state.auth().find_user("ada@example.com").await.unwrap();

    // Signing in to another account in that browser links nothing.
    let browser = client();
    assert_eq!(s.sign_in(&browser, "u-ada").await.status(), StatusCode::OK);
    let body = json!({"email": "bob@example.com", "password": PASSWORD});
    assert_eq!(s.app.post_json(&browser, "/api/v1/login", &body).await.status(), StatusCode::OK);
    let bob = s.app.state.auth().find_user("bob@example.com").await.unwrap();
    assert!(s.app.state.auth().list_identities(bob.id).await.unwrap().is_empty(), "not Bob's");
    assert!(s.app.state.auth().list_identities(ada.id).await.unwrap().is_empty(), "and the link is used up");

    // Ada's password alone does not link it; her second factor does.
    let browser = client();
    assert_eq!(s.sign_in(&browser, "u-ada").await.status(), StatusCode::OK);
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let res = s.app.post_json(&browser, "/api/v1/login", &body).await;
    assert_eq!(res.json::<Value>().await.unwrap()["mfa_required"], true);
    assert!(s.app.state.auth().list_identities(ada.id).await.unwrap().is_empty(), "not before the code");
    let code = crate::mfa::code(&s.app, &secret, 0);
    let res = s.app.post_json(&browser, "/api/v1/login/mfa", &json!({"code": code})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(s.app.state.auth().list_identities(ada.id).await.unwrap().len(), 1, "linked after the code");
    s.stop().await;
}

async fn the_second_factor_is_owed_unless_the_upstream_used_one_and_is_trusted(backend: Backend) {
    let accounts = vec![
        OidcAccount::new("u-ada", "ada@example.com", true),
        OidcAccount::new("u-ada-mfa", "ada.mfa@example.com", true).amr(&["pwd", "mfa"]),
    ];
    for trust in [true, false] {
        let Some(s) = Setup::start_with(backend, accounts.clone(), true, trust).await else { return };
        for (email, sub) in [("ada@example.com", "u-ada"), ("ada.mfa@example.com", "u-ada-mfa")] {
            // Link the identity first (made here, then TOTP turned on).
            let browser = client();
            assert_eq!(s.sign_in(&browser, sub).await.status(), StatusCode::SEE_OTHER);
            enrol(&s.app, &browser).await;
            assert!(s.app.state.auth().find_user(email).await.unwrap().mfa_enabled);
        }
        for (sub, upstream_mfa) in [("u-ada", false), ("u-ada-mfa", true)] {
            let browser = client();
            let res = s.sign_in(&browser, sub).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let owed = location(&res).starts_with("/login/mfa");
            assert_eq!(
                owed,
                !(trust && upstream_mfa),
                "{sub}, trust_upstream_mfa = {trust}: {}",
                location(&res)
            );
            let status = s.app.get(&browser, "/api/v1/me").await.status();
            assert_eq!(status == StatusCode::OK, !owed, "a session owing its code reaches nothing");
        }
        s.stop().await;
    }
}

async fn an_identity_without_a_verified_address_creates_and_links_nothing(backend: Backend) {
    let accounts = vec![
        OidcAccount::new("u-unverified", "ada@example.com", false),
        OidcAccount::without_email("u-nomail"),
    ];
    let Some(s) = Setup::start(backend, accounts).await else { return };
    s.app.register("ada@example.com").await;
    for sub in ["u-unverified", "u-nomail"] {
        let res = s.sign_in(&client(), sub).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{sub}");
        assert!(res.text().await.unwrap().contains("verified email address"));
    }
    assert_eq!(s.users().await, ["ada@example.com"]);
    let ada = s.app.state.auth().find_user("ada@example.com").await.unwrap();
    assert!(
        s.app.state.auth().list_identities(ada.id).await.unwrap().is_empty(),
        "an unverified address never links"
    );
    s.stop().await;
}

async fn upstream_errors_are_pages_and_create_nothing(backend: Backend) {
    let accounts = vec![OidcAccount::new("u-ada", "ada@example.com", true)];
    let Some(mut s) = Setup::start(backend, accounts).await else { return };
    // Consent denied.
    let browser = client();
    let authorize = s.start_flow(&browser).await;
    let callback = s.op.deny(&browser, &authorize, "u-ada").await;
    let res = browser.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("access_denied"));
    // A bad signature, a wrong nonce, issuer, audience, an expired ID token: 400;
    // the token endpoint failing: 502.
    for (fault, status) in [
        (Fault::BadSignature, StatusCode::BAD_REQUEST),
        (Fault::WrongNonce, StatusCode::BAD_REQUEST),
        (Fault::WrongIssuer, StatusCode::BAD_REQUEST),
        (Fault::WrongAudience, StatusCode::BAD_REQUEST),
        (Fault::Expired, StatusCode::BAD_REQUEST),
        (Fault::Token500, StatusCode::BAD_GATEWAY),
    ] {
        s.op.set_fault(Some(fault)).await;
        let res = s.sign_in(&client(), "u-ada").await;
        assert_eq!(res.status(), status, "{fault:?}");
        let html = res.text().await.unwrap();
        assert!(html.contains("Corp SSO"), "{fault:?}: a page naming the provider: {html}");
    }
    s.op.set_fault(None).await;
    assert!(s.users().await.is_empty(), "nothing was created");
    // The provider down: starting (discovery is cached, so a callback) answers 502.
    let browser = client();
    let authorize = s.start_flow(&browser).await;
    let callback = s.op.approve(&browser, &authorize, "u-ada").await;
    s.op.stop().await;
    let res = browser.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.text().await.unwrap().contains("cannot be reached"));
    assert!(s.users().await.is_empty());
    let query =
        portcullis_core::admin::EventQuery::parse(None, Some("login_failed"), Some("200"), None).unwrap();
    let failed = s.app.state.auth().admin_events(&query).await.unwrap().items.len();
    assert!(failed >= 8, "each failure is audited ({failed})");
    s.stop().await;
}

async fn a_callback_is_finished_once_in_the_browser_that_started_it_within_ten_minutes(backend: Backend) {
    let accounts = vec![OidcAccount::new("u-ada", "ada@example.com", true)];
    let Some(s) = Setup::start(backend, accounts).await else { return };
    // Replayed: the second use of the same callback URL is refused.
    let browser = client();
    let authorize = s.start_flow(&browser).await;
    let callback = s.op.approve(&browser, &authorize, "u-ada").await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let again = client();
    assert_eq!(again.get(&callback).send().await.unwrap().status(), StatusCode::BAD_REQUEST, "replayed");

    // Planted in another browser (no flow cookie): refused, nothing signed in.
    let browser = client();
    let authorize = s.start_flow(&browser).await;
    let callback = s.op.approve(&browser, &authorize, "u-ada").await;
    let victim = client();
    let res = victim.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.app.get(&victim, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    // ... and the flow is used up: the right browser cannot finish it either.
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), StatusCode::BAD_REQUEST);

    // Eleven minutes later: expired.
    let browser = client();
    let authorize = s.start_flow(&browser).await;
    let callback = s.op.approve(&browser, &authorize, "u-ada").await;
    s.app.clock.advance(time::Duration::minutes(11));
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), StatusCode::BAD_REQUEST, "expired");
    // No state at all, or an unknown provider.
    assert_eq!(s.app.get(&client(), "/login/corp/callback?code=x").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.app.get(&client(), "/login/nope").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.users().await, ["ada@example.com"], "only the first flow made an account");
    s.stop().await;
}

async fn identities_are_listed_linked_from_the_account_page_and_unlinked_unless_last(backend: Backend) {
    let accounts = vec![
        OidcAccount::new("u-new", "new@example.com", true),
        OidcAccount::new("u-bob", "bob.elsewhere@example.com", true),
    ];
    let Some(s) = Setup::start(backend, accounts).await else { return };
    // An account made through the provider: its identity is its only way in.
    let newcomer = client();
    assert_eq!(s.sign_in(&newcomer, "u-new").await.status(), StatusCode::SEE_OTHER);
    let linked = identities(&s.app, &newcomer).await;
    let path = format!("/api/v1/me/identities/{}", linked[0]["id"].as_str().unwrap());
    let res = newcomer.delete(s.app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "last_sign_in_method");
    let res = s
        .app
        .post_form(
            &newcomer,
            "/account",
            &format!("/account/identities/{}/unlink", linked[0]["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "the page says so too");
    assert!(res.text().await.unwrap().contains("id=\"identity-field-error\""));

    // Bob, with a password, links an identity from the account page (whatever its
    // address), then unlinks it.
    let bob = s.app.signed_in("bob@example.com").await;
    let (_, html) = (StatusCode::OK, s.app.get(&bob, "/account").await.text().await.unwrap());
    assert!(html.contains("id=\"link-corp\""), "a button to link: {html}");
    let res = s.app.post_form(&bob, "/account", "/account/identities/link/corp", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let callback = s.op.approve(&bob, &location(&res), "u-bob").await;
    let res = bob.get(&callback).send().await.unwrap();
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account".to_owned()));
    let linked = identities(&s.app, &bob).await;
    assert_eq!(linked[0]["email"], "bob.elsewhere@example.com");
    let html = s.app.get(&bob, "/account").await.text().await.unwrap();
    assert!(html.contains("id=\"identities\"") && html.contains("Corp SSO"), "listed: {html}");
    // Linking the newcomer's identity to Bob is refused (a browser of Bob's that has
    // no session at the provider yet, so the newcomer signs in there).
    let bob_elsewhere = s.app.login("bob@example.com").await;
    let res = s.app.post_form(&bob_elsewhere, "/account", "/account/identities/link/corp", &[]).await;
    let callback = s.op.approve(&bob_elsewhere, &location(&res), "u-new").await;
    let res = bob_elsewhere.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("linked to another account"));

    let path = format!("/api/v1/me/identities/{}", linked[0]["id"].as_str().unwrap());
    assert_eq!(bob.delete(s.app.url(&path)).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(identities(&s.app, &bob).await.is_empty());
    assert_eq!(bob.delete(s.app.url(&path)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert!(kinds(&s.app, "bob@example.com").await.contains(&"identity_unlinked".to_owned()));
    let export: Value = s.app.get(&newcomer, "/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["identities"].as_array().map(Vec::len), Some(1), "in the export");
    s.stop().await;
}

async fn the_address_is_read_from_userinfo_when_the_id_token_has_none(backend: Backend) {
    let accounts = vec![
        OidcAccount::new("u-ada", "ada@example.com", true),
        OidcAccount::new("u-eve", "eve@example.com", false),
    ];
    let Some(s) = Setup::start_config(backend, accounts, false, true, true).await else { return };
    let browser = client();
    assert_eq!(s.sign_in(&browser, "u-ada").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&s.app, &browser).await["email"], "ada@example.com");
    // userinfo's email_verified counts the same way.
    assert_eq!(s.sign_in(&client(), "u-eve").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.users().await, ["ada@example.com"]);
    s.stop().await;
}
