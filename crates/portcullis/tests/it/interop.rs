//! Interoperability with OpenID Connect clients nobody here wrote (issue #8): the
//! Rust `openidconnect` crate runs discovery, the code flow with PKCE, ID-token
//! validation against the published keys, and userinfo. (Python's Authlib runs the
//! same flow in `flask_app.rs`, through `examples/flask-app`.)

use openidconnect::core::{
    CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, location};
use crate::oidc::{REDIRECT, query, register_client};

#[derive(Debug)]
pub(crate) struct HttpError(String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// openidconnect's HTTP client trait, carried by our reqwest (no redirects followed).
pub(crate) async fn http(req: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, HttpError> {
    let err = |e: &dyn std::fmt::Display| HttpError(e.to_string());
    let c = {
        portcullis_upstream::install_crypto_provider();
        reqwest::Client::builder()
    }
    .redirect(reqwest::redirect::Policy::none())
    .build()
    .map_err(|e| err(&e))?;
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|e| err(&e))?;
    let mut out = c.request(method, req.uri().to_string());
    for (name, value) in req.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    let res = out.body(req.body().clone()).send().await.map_err(|e| err(&e))?;
    let mut builder = http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let body = res.bytes().await.map_err(|e| err(&e))?.to_vec();
    builder.body(body).map_err(|e| err(&e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_openidconnect_crate_completes_the_code_flow_with_pkce() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let rp = register_client(&app, false, true).await;
    let browser = app.signed_in("interop@example.com").await;

    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
        .await
        .expect("discovery document accepted");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The user's browser, signed in, follows the authorization URL.
    let res = browser.get(url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", location(&res));
    let q = query(&res);
    assert_eq!(&q["state"], state.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa]);
    let claims =
        id_token.claims(&id_verifier, &nonce).expect("ID token valid: signature, iss, aud, exp, nonce");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("interop@example.com"));
    assert_eq!(claims.email_verified(), Some(false));
    // A nonce other than the one sent fails validation (the check is real).
    assert!(id_token.claims(&id_verifier, &Nonce::new("other".into())).is_err());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint known")
        .request_async(&http)
        .await
        .expect("userinfo answered");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some("interop@example.com"));
    assert!(tokens.refresh_token().is_some());
}
