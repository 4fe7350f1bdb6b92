//! Self-tests of the upstream harness, without Portcullis: a relying party written
//! here (the `openidconnect` crate, and plain reqwest) signs in through panva's
//! oidc-provider, and through the GitHub stand-in, so a failure in the identity-provider
//! tests points at Portcullis, not at the harness.

use std::collections::HashMap;

use base64::Engine as _;
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest as _;

use super::github::{CLIENT_ID, CLIENT_SECRET, GithubStandIn, GithubUser};
use super::node_provider::{Fault, NodeProvider, OidcAccount, OidcClient, ProviderConfig};
use crate::helpers::client;
use crate::interop::http;

/// The relying party's callback: nothing listens there, the redirect is never followed.
const CALLBACK: &str = "http://127.0.0.1:9/login/corp/callback";
const SECRET: &str = "rp-secret-0123456789";

fn query(location: &str) -> HashMap<String, String> {
    url::Url::parse(location).expect("an absolute URL").query_pairs().into_owned().collect()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The JSON of a JWT's header (`0`) or payload (`1`), not verified.
fn jwt_part(jwt: &str, part: usize) -> Value {
    let raw = jwt.split('.').nth(part).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).expect("base64url"))
        .expect("JSON")
}

fn accounts() -> Vec<OidcAccount> {
    vec![
        OidcAccount::new("alice-sub", "alice@example.com", true).amr(&["pwd", "mfa"]).name("Alice"),
        OidcAccount::new("bob-sub", "bob@example.com", false),
        OidcAccount::without_email("carol-sub"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_completes_the_code_flow_for_the_openidconnect_crate() {
    let Some(op) = NodeProvider::start(OidcClient::new("rp", SECRET, CALLBACK), accounts()).await else {
        return;
    };
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(op.issuer().to_owned()).unwrap(), &http)
            .await
            .expect("discovery document accepted");
    let rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp".into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = client();
    let back = op.approve(&browser, url.as_str(), "alice-sub").await;
    assert!(back.starts_with(&format!("{CALLBACK}?")), "{back}");
    let q = query(&back);
    assert_eq!(&q["state"], state.secret());
    assert_eq!(q["iss"], op.issuer());

    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    // RS256 is openidconnect's default: signature, iss, aud, exp and nonce checked.
    let claims = id_token.claims(&rp.id_token_verifier(), &nonce).expect("ID token valid");
    assert_eq!(claims.subject().as_str(), "alice-sub");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|m| m.as_str().to_owned()).collect();
    assert_eq!(amr, ["pwd", "mfa"]);
    assert!(id_token.claims(&rp.id_token_verifier(), &Nonce::new("other".into())).is_err());

    // The same claims, read raw from the token's payload.
    let raw = id_token.to_string();
    assert_eq!(jwt_part(&raw, 0)["alg"], "RS256");
    let payload = jwt_part(&raw, 1);
    assert_eq!(payload["sub"], "alice-sub");
    assert_eq!(payload["email"], "alice@example.com");
    assert_eq!(payload["email_verified"], true);
    assert_eq!(payload["nonce"], nonce.secret().as_str());
    assert_eq!(payload["amr"], serde_json::json!(["pwd", "mfa"]));
    assert_eq!(payload["iss"], op.issuer());
    assert_eq!(payload["aud"], "rp");

    // The code is single-use.
    let again = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .expect("token endpoint known")
        .request_async(&http)
        .await;
    assert!(again.is_err(), "a code is accepted once");
}

/// A relying party in plain reqwest: discovery, authorize URL with PKCE + state +
/// nonce, code exchange.
struct Rp {
    meta: Value,
    client_id: String,
    verifier: String,
    state: String,
    nonce: String,
}

impl Rp {
    async fn discover(op: &NodeProvider, client_id: &str) -> Self {
        let res = client()
            .get(format!("{}/.well-known/openid-configuration", op.issuer()))
            .send()
            .await
            .expect("the provider answers");
        assert_eq!(res.status(), StatusCode::OK);
        let meta: Value = res.json().await.unwrap();
        assert_eq!(meta["issuer"], op.issuer());
        let unique = || {
            use ring::rand::SecureRandom as _;
            let mut bytes = [0u8; 24];
            ring::rand::SystemRandom::new().fill(&mut bytes).unwrap();
            b64url(&bytes)
        };
        Self {
            meta,
            client_id: client_id.to_owned(),
            verifier: format!("{}{}", unique(), unique()),
            state: unique(),
            nonce: unique(),
        }
    }

    fn authorize_url(&self, pkce: bool) -> String {
        let mut url = url::Url::parse(self.meta["authorization_endpoint"].as_str().unwrap()).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("scope", "openid email profile")
            .append_pair("state", &self.state)
            .append_pair("nonce", &self.nonce);
        if pkce {
            url.query_pairs_mut()
                .append_pair("code_challenge", &b64url(&sha2::Sha256::digest(self.verifier.as_bytes())))
                .append_pair("code_challenge_method", "S256");
        }
        url.to_string()
    }

    /// The token endpoint's answer; `post`: `client_secret_post`, else `_basic`.
    async fn exchange(&self, code: &str, post: bool) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &self.verifier),
        ];
        let mut req = client().post(self.meta["token_endpoint"].as_str().unwrap());
        if post {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", SECRET));
        } else {
            req = req.basic_auth(&self.client_id, Some(SECRET));
        }
        req.form(&form).send().await.expect("the token endpoint answers")
    }

    /// Verifies `jwt`'s RS256 signature against the provider's JWKS.
    async fn signature_ok(&self, jwt: &str) -> bool {
        let jwks: Value =
            client().get(self.meta["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
        let kid = jwt_part(jwt, 0)["kid"].clone();
        let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("kid published");
        assert!(key.get("d").is_none(), "no private part published");
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.clone()).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.validate_exp = false;
        v.validate_aud = false;
        jsonwebtoken::decode::<Value>(jwt, &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(), &v).is_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_denies_requires_pkce_injects_faults_and_goes_down() {
    let rp_client = OidcClient::new("rp", SECRET, CALLBACK);
    let Some(mut op) = NodeProvider::start(rp_client, accounts()).await else { return };

    // Refused consent: back to the callback with access_denied and the state.
    let rp = Rp::discover(&op, "rp").await;
    let back = op.deny(&client(), &rp.authorize_url(true), "alice-sub").await;
    let q = query(&back);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], rp.state);
    assert!(!q.contains_key("code"));

    // PKCE is required.
    let res = client().get(rp.authorize_url(false)).send().await.unwrap();
    let q = query(&crate::helpers::location(&res));
    assert_eq!(q["error"], "invalid_request", "{q:?}");
    assert_eq!(q["state"], rp.state);

    // Signing in by email works as by sub; a second authorization in the same browser
    // rides on the provider's session (approve walks whatever pages come).
    let browser = client();
    let rp = Rp::discover(&op, "rp").await;
    let back = op.approve(&browser, &rp.authorize_url(true), "alice@example.com").await;
    let res = rp.exchange(&query(&back)["code"], false).await;
    assert_eq!(res.status(), StatusCode::OK);
    let tokens: Value = res.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(rp.signature_ok(id_token).await);
    assert_eq!(jwt_part(id_token, 1)["nonce"], rp.nonce.as_str());
    let reference_iat = jwt_part(id_token, 1)["iat"].as_i64();
    assert!(reference_iat.is_some());
    let rp2 = Rp::discover(&op, "rp").await;
    let back = op.approve(&browser, &rp2.authorize_url(true), "alice-sub").await;
    assert_eq!(query(&back)["state"], rp2.state);

    // Each fault, on a fresh browser.
    for fault in
        [Fault::BadSignature, Fault::WrongNonce, Fault::WrongIssuer, Fault::WrongAudience, Fault::Expired]
    {
        op.set_fault(Some(fault)).await;
        let rp = Rp::discover(&op, "rp").await;
        let back = op.approve(&client(), &rp.authorize_url(true), "alice-sub").await;
        let res = rp.exchange(&query(&back)["code"], false).await;
        assert_eq!(res.status(), StatusCode::OK, "{fault:?}: {}", op.log());
        let tokens: Value = res.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        let payload = jwt_part(id_token, 1);
        assert_eq!(rp.signature_ok(id_token).await, fault != Fault::BadSignature, "{fault:?}");
        assert_eq!(payload["nonce"] == rp.nonce.as_str(), fault != Fault::WrongNonce, "{fault:?}");
        assert_eq!(payload["iss"] == op.issuer(), fault != Fault::WrongIssuer, "{fault:?}");
        assert_eq!(payload["aud"] == "rp", fault != Fault::WrongAudience, "{fault:?}");
        // Expired: before the moment the earlier, good token was issued.
        assert_eq!(payload["exp"].as_i64() < reference_iat, fault == Fault::Expired, "{fault:?}");
    }
    op.set_fault(Some(Fault::Token500)).await;
    let rp = Rp::discover(&op, "rp").await;
    let back = op.approve(&client(), &rp.authorize_url(true), "alice-sub").await;
    assert_eq!(rp.exchange(&query(&back)["code"], false).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    op.set_fault(Some(Fault::Userinfo500)).await;
    let res = client().get(format!("{}/me", op.issuer())).bearer_auth("whatever").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    op.set_fault(None).await;

    // Down: the port refuses connections.
    op.stop().await;
    let err = client().get(format!("{}/.well-known/openid-configuration", op.issuer())).send().await;
    assert!(err.as_ref().is_err_and(reqwest::Error::is_connect), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_can_keep_email_to_userinfo_and_takes_basic_or_post_client_auth() {
    let Some(op) = NodeProvider::start_with(ProviderConfig {
        clients: vec![OidcClient::new("rp2", SECRET, CALLBACK)],
        accounts: accounts(),
        email_in_id_token: false,
    })
    .await
    else {
        return;
    };
    let cases = [
        ("alice-sub", Some("alice@example.com"), Some(true), false),
        ("bob-sub", Some("bob@example.com"), Some(false), true),
        ("carol-sub", None, None, false),
    ];
    for (account, email, verified, post) in cases {
        let rp = Rp::discover(&op, "rp2").await;
        let back = op.approve(&client(), &rp.authorize_url(true), account).await;
        let res = rp.exchange(&query(&back)["code"], post).await;
        assert_eq!(res.status(), StatusCode::OK, "{account}");
        let tokens: Value = res.json().await.unwrap();
        let payload = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
        assert_eq!(payload["sub"], account);
        assert!(payload.get("email").is_none(), "email only from userinfo: {payload}");
        let info: Value = client()
            .get(rp.meta["userinfo_endpoint"].as_str().unwrap())
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], account);
        assert_eq!(info["email"].as_str(), email, "{info}");
        assert_eq!(info["email_verified"].as_bool(), verified, "{info}");
    }
    // A wrong secret is refused.
    let rp = Rp::discover(&op, "rp2").await;
    let back = op.approve(&client(), &rp.authorize_url(true), "alice-sub").await;
    let res = client()
        .post(rp.meta["token_endpoint"].as_str().unwrap())
        .basic_auth("rp2", Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query(&back)["code"].as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &rp.verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

fn github_users() -> Vec<GithubUser> {
    vec![
        GithubUser::new(1001, "octo-alice").name("Alice").email("alice@example.com", true, true).email(
            "alice-old@example.com",
            false,
            false,
        ),
        GithubUser::new(1002, "octo-bob").email("bob@example.com", true, true).denying(),
        GithubUser::new(1003, "octo-carol")
            .email("carol@example.com", true, false)
            .public_email("carol@example.com"),
    ]
}

fn github_authorize(gh: &GithubStandIn, state: &str, scope: &str, challenge: Option<&str>) -> String {
    let mut url = url::Url::parse(&format!("{}/login/oauth/authorize", gh.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("state", state)
        .append_pair("scope", scope);
    if let Some(challenge) = challenge {
        url.query_pairs_mut()
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
    }
    url.to_string()
}

async fn github_token(gh: &GithubStandIn, form: &[(&str, &str)]) -> Value {
    let res = client()
        .post(format!("{}/login/oauth/access_token", gh.base_url()))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GitHub answers token errors with 200 too");
    res.json().await.unwrap()
}

async fn github_api(gh: &GithubStandIn, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut req =
        client().get(format!("{}/api/v3{path}", gh.base_url())).header("user-agent", "portcullis-harness");
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_stand_in_answers_the_web_flow_and_the_user_api_like_github() {
    let gh = GithubStandIn::start(github_users()).await;
    let verifier = "a-pkce-verifier-of-enough-length-0123456789abcdef";
    let challenge = b64url(&sha2::Sha256::digest(verifier.as_bytes()));

    let back = gh
        .approve(
            &client(),
            &github_authorize(&gh, "st-1", "read:user user:email", Some(&challenge)),
            "octo-alice",
        )
        .await;
    assert!(back.starts_with(&format!("{CALLBACK}?")), "{back}");
    let q = query(&back);
    assert_eq!(q["state"], "st-1");
    let code = q["code"].clone();

    // Wrong secret, wrong verifier, wrong redirect_uri: 200 with GitHub's errors.
    let base = [("client_id", CLIENT_ID), ("code", code.as_str()), ("redirect_uri", CALLBACK)];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    let t = github_token(&gh, &with(&[("client_secret", "wrong"), ("code_verifier", verifier)])).await;
    assert_eq!(t["error"], "incorrect_client_credentials");
    let t = github_token(&gh, &with(&[("client_secret", CLIENT_SECRET), ("code_verifier", "not-it")])).await;
    assert_eq!(t["error"], "bad_verification_code");
    let mut other_redirect = with(&[("client_secret", CLIENT_SECRET), ("code_verifier", verifier)]);
    other_redirect[2] = ("redirect_uri", "http://127.0.0.1:9/elsewhere");
    assert_eq!(github_token(&gh, &other_redirect).await["error"], "redirect_uri_mismatch");

    let t = github_token(&gh, &with(&[("client_secret", CLIENT_SECRET), ("code_verifier", verifier)])).await;
    assert_eq!(t["token_type"], "bearer", "{t}");
    assert_eq!(t["scope"], "read:user,user:email");
    let token = t["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("gho_"));
    // Single-use.
    let t = github_token(&gh, &with(&[("client_secret", CLIENT_SECRET), ("code_verifier", verifier)])).await;
    assert_eq!(t["error"], "bad_verification_code");

    let res = github_api(&gh, "/user", Some(&format!("Bearer {token}"))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["id"], 1001);
    assert!(user["id"].is_u64());
    assert_eq!(user["login"], "octo-alice");
    assert_eq!(user["name"], "Alice");
    assert_eq!(user["email"], Value::Null);
    let res = github_api(&gh, "/user/emails", Some(&format!("token {token}"))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let emails: Value = res.json().await.unwrap();
    assert_eq!(
        emails,
        serde_json::json!([
            {"email": "alice@example.com", "primary": true, "verified": true, "visibility": "private"},
            {"email": "alice-old@example.com", "primary": false, "verified": false, "visibility": null},
        ])
    );
    assert_eq!(github_api(&gh, "/user", Some("Bearer gho_unknown")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(github_api(&gh, "/user", None).await.status(), StatusCode::UNAUTHORIZED);
    let no_agent =
        client().get(format!("{}/api/v3/user", gh.base_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(no_agent.status(), StatusCode::FORBIDDEN, "GitHub's API wants a User-Agent");

    // Without `user:email` the emails are not readable; without PKCE and without
    // `Accept: application/json`, the answer is form-encoded.
    let back = gh.approve(&client(), &github_authorize(&gh, "st-2", "read:user", None), "octo-carol").await;
    let res = client()
        .post(format!("{}/login/oauth/access_token", gh.base_url()))
        .form(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET), ("code", &query(&back)["code"])])
        .send()
        .await
        .unwrap();
    let body: HashMap<String, String> =
        url::form_urlencoded::parse(res.text().await.unwrap().as_bytes()).into_owned().collect();
    assert_eq!(body["scope"], "read:user");
    let carol = format!("Bearer {}", body["access_token"]);
    assert_eq!(
        github_api(&gh, "/user", Some(&carol)).await.json::<Value>().await.unwrap()["email"],
        "carol@example.com"
    );
    assert_eq!(github_api(&gh, "/user/emails", Some(&carol)).await.status(), StatusCode::NOT_FOUND);
    // A user changed between calls: the API answers the new state.
    gh.put_user(GithubUser::new(1003, "octo-carol").name("Carol"));
    let now: Value = github_api(&gh, "/user", Some(&carol)).await.json().await.unwrap();
    assert_eq!(
        (now["id"].as_u64(), now["name"].as_str(), &now["email"]),
        (Some(1003), Some("Carol"), &Value::Null)
    );

    // A user who refuses.
    let back = gh.approve(&client(), &github_authorize(&gh, "st-3", "user:email", None), "octo-bob").await;
    let q = query(&back);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-3");
    assert!(!q.contains_key("code"));

    // Without `login`, the signed-in user (the first by default).
    gh.sign_in_as("octo-carol");
    let res = client().get(github_authorize(&gh, "st-4", "user:email", None)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(query(&crate::helpers::location(&res))["state"], "st-4");

    // 5xx, then down.
    gh.set_failing(Some(502));
    assert_eq!(
        github_api(&gh, "/user", Some(&format!("Bearer {token}"))).await.status(),
        StatusCode::BAD_GATEWAY
    );
    gh.set_failing(None);
    assert_eq!(github_api(&gh, "/user", Some(&format!("Bearer {token}"))).await.status(), StatusCode::OK);
    assert!(gh.served().iter().any(|r| r == "GET /api/v3/user/emails"));
    gh.stop().await;
    let err = client().get(format!("{}/api/v3/user", gh.base_url())).send().await;
    assert!(err.as_ref().is_err_and(reqwest::Error::is_connect), "{err:?}");
}
