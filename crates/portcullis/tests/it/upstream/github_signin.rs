//! Signing in with GitHub (SPEC §10), against a loopback stand-in that answers like
//! GitHub's documented OAuth web flow and REST API (GitHub itself cannot be reached
//! from here), on both backends: only a verified primary address counts, the
//! numeric id is the identity, and GitHub failing is a 502 page.

use reqwest::StatusCode;
use serde_json::Value;

use portcullis::config::providers::{IdentityProviderConfig, ProviderKind};

use super::github::{CLIENT_ID, CLIENT_SECRET, GithubStandIn, GithubUser};
use crate::helpers::{Backend, TestApp, backend_tests, client, location};

backend_tests!(
    a_verified_primary_address_signs_up_and_the_numeric_id_signs_in_again,
    an_unverified_primary_address_creates_nothing,
    github_failing_or_refusing_is_a_page_and_creates_nothing,
);

async fn setup(backend: Backend, users: Vec<GithubUser>) -> (TestApp, GithubStandIn) {
    let github = GithubStandIn::start(users).await;
    let base_url = github.base_url().to_owned();
    let app = TestApp::spawn_with(backend, |c| {
        c.identity_providers = vec![IdentityProviderConfig {
            id: "github".into(),
            name: "GitHub".into(),
            kind: ProviderKind::Github,
            issuer: None,
            base_url: Some(base_url),
            client_id: CLIENT_ID.into(),
            client_secret: Some(CLIENT_SECRET.into()),
            client_secret_file: None,
            scopes: None,
            allow_signup: true,
            trust_upstream_mfa: true,
        }];
    })
    .await;
    (app, github)
}

async fn sign_in(
    app: &TestApp,
    github: &GithubStandIn,
    browser: &reqwest::Client,
    login: &str,
) -> reqwest::Response {
    let res = app.get(browser, "/login/github").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let authorize = location(&res);
    assert!(authorize.starts_with(&format!("{}/login/oauth/authorize?", github.base_url())), "{authorize}");
    assert!(authorize.contains("code_challenge="), "PKCE: {authorize}");
    let callback = github.approve(browser, &authorize, login).await;
    browser.get(&callback).send().await.expect("callback answered")
}

async fn a_verified_primary_address_signs_up_and_the_numeric_id_signs_in_again(backend: Backend) {
    let octo = GithubUser::new(583_231, "octocat").email("octo.old@example.com", false, true).email(
        "octo@example.com",
        true,
        true,
    );
    let (app, github) = setup(backend, vec![octo]).await;
    let browser = client();
    let res = sign_in(&app, &github, &browser, "octocat").await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account".to_owned()));
    let me: Value = app.get(&browser, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("octo@example.com"), Some(true))
    );

    // The address changes on GitHub: the id still finds the same account.
    github.put_user(GithubUser::new(583_231, "octocat").email("octo.new@example.com", true, true));
    let again = client();
    assert_eq!(sign_in(&app, &github, &again, "octocat").await.status(), StatusCode::SEE_OTHER);
    let me_again: Value = app.get(&again, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me_again["id"], me["id"]);
    let linked =
        app.state.auth().list_identities(app.state.auth().find_user("octo@example.com").await.unwrap().id);
    let linked = linked.await.unwrap();
    assert_eq!((linked.len(), linked[0].subject.as_str()), (1, "583231"));
    assert_eq!(linked[0].issuer, github.base_url().trim_end_matches('/'));
    app.stop().await;
}

async fn an_unverified_primary_address_creates_nothing(backend: Backend) {
    // Verified but not primary, and primary but not verified: neither counts.
    let user = GithubUser::new(7, "mallory").email("victim@example.com", false, true).email(
        "mallory@example.com",
        true,
        false,
    );
    let (app, github) = setup(backend, vec![user]).await;
    let res = sign_in(&app, &github, &client(), "mallory").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("verified email address"));
    assert!(app.state.auth().list_users().await.unwrap().is_empty());
    app.stop().await;
}

async fn github_failing_or_refusing_is_a_page_and_creates_nothing(backend: Backend) {
    let users = vec![
        GithubUser::new(1, "ada").email("ada@example.com", true, true),
        GithubUser::new(2, "no").email("no@example.com", true, true).denying(),
    ];
    let (app, github) = setup(backend, users).await;
    let res = sign_in(&app, &github, &client(), "no").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "consent refused");
    github.set_failing(Some(503));
    let res = sign_in(&app, &github, &client(), "ada").await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "GitHub answering 5xx");
    assert!(res.text().await.unwrap().contains("GitHub cannot be reached"));
    github.set_failing(None);
    let browser = client();
    let res = app.get(&browser, "/login/github").await;
    let callback = github.approve(&browser, &location(&res), "ada").await;
    github.stop().await;
    let res = browser.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY, "GitHub down");
    assert!(app.state.auth().list_users().await.unwrap().is_empty());
    app.stop().await;
}
