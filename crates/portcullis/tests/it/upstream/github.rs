//! A stand-in for GitHub (issue #19): GitHub's API cannot be reached from the test
//! machines, so this loopback server answers like GitHub's documented OAuth web flow
//! and REST API, in GitHub Enterprise Server's layout (base URL `B`, API under
//! `B/api/v3`), which is what `kind = "github"` with `base_url = B` speaks to:
//!
//! - `GET B/login/oauth/authorize?client_id&redirect_uri&state&scope[&login][&code_challenge&code_challenge_method=S256]`
//!   → 302 to `redirect_uri?code=..&state=..` for the user named by `login` (GitHub's
//!   "suggest this account"; without it, the user signed in with `sign_in_as`, by default
//!   the first one), or `?error=access_denied&error_description=..&error_uri=..&state=..`
//!   for a user who refuses. An unknown client is a 404 page, as on GitHub.
//! - `POST B/login/oauth/access_token` (form `client_id`, `client_secret`, `code`,
//!   `redirect_uri`, `code_verifier`): with `Accept: application/json`
//!   `{"access_token":"gho_..","token_type":"bearer","scope":"read:user,user:email"}`,
//!   otherwise the same form-encoded; errors are 200 with `{"error":
//!   "bad_verification_code" | "incorrect_client_credentials" | "redirect_uri_mismatch",
//!   "error_description", "error_uri"}` as GitHub does. Codes are single-use, 10 minutes.
//! - `GET B/api/v3/user` and `GET B/api/v3/user/emails` with `Authorization: Bearer T`
//!   (or `token T`): the user and `[{email, primary, verified, visibility}]`; 401
//!   `Bad credentials` for an unknown token, 404 for `/user/emails` without the scope
//!   `user:email` (or `user`), 403 without a `User-Agent` header (GitHub's API refuses
//!   those).
//!
//! Every answer says `Connection: close`, so that `stop()` leaves no kept-alive
//! connection behind: after it, the port refuses connections like a server that is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;

/// The OAuth app registered at the stand-in.
pub const CLIENT_ID: &str = "Iv1.standin0123456789";
pub const CLIENT_SECRET: &str = "standin-client-secret-0123456789abcdef";

/// A GitHub user.
#[derive(Debug, Clone)]
pub struct GithubUser {
    /// GitHub's numeric id: what Portcullis links.
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// The profile's public email (`email` of `/user`), often null on GitHub.
    pub public_email: Option<String>,
    pub emails: Vec<GithubEmail>,
    /// Refuses the authorization (`error=access_denied`).
    pub denies: bool,
}

#[derive(Debug, Clone)]
pub struct GithubEmail {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

impl GithubUser {
    pub fn new(id: u64, login: &str) -> Self {
        Self {
            id,
            login: login.to_owned(),
            name: None,
            public_email: None,
            emails: Vec::new(),
            denies: false,
        }
    }

    /// Adds an address to `/user/emails`.
    #[must_use]
    pub fn email(mut self, email: &str, primary: bool, verified: bool) -> Self {
        self.emails.push(GithubEmail { email: email.to_owned(), primary, verified });
        self
    }

    /// Sets the profile's public email (`/user`'s `email`).
    #[must_use]
    pub fn public_email(mut self, email: &str) -> Self {
        self.public_email = Some(email.to_owned());
        self
    }

    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// This user refuses on GitHub's authorization page.
    #[must_use]
    pub fn denying(mut self) -> Self {
        self.denies = true;
        self
    }
}

struct Code {
    login: String,
    redirect_uri: String,
    scopes: Vec<String>,
    challenge: Option<String>,
    issued: Instant,
}

struct Token {
    login: String,
    scopes: Vec<String>,
}

#[derive(Default)]
struct Inner {
    users: Vec<GithubUser>,
    signed_in: Option<String>,
    codes: HashMap<String, Code>,
    tokens: HashMap<String, Token>,
    failing: Option<u16>,
    served: Vec<String>,
}

type Shared = Arc<Mutex<Inner>>;

pub struct GithubStandIn {
    base: String,
    shared: Shared,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for GithubStandIn {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }
}

impl GithubStandIn {
    /// Starts the stand-in on a loopback port with `users`; the OAuth app is
    /// `CLIENT_ID` / `CLIENT_SECRET`.
    pub async fn start(users: Vec<GithubUser>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the GitHub stand-in");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        let shared: Shared = Arc::new(Mutex::new(Inner { users, ..Inner::default() }));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/v3/user", get(user))
            .route("/api/v3/user/emails", get(emails))
            .layer(axum::middleware::map_response(|mut res: Response| async move {
                res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                res
            }))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, shared, server: Mutex::new(Some(server)) }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the provider's `base_url`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The user `/login/oauth/authorize` acts for when the request names none.
    pub fn sign_in_as(&self, login: &str) {
        self.shared.lock().unwrap().signed_in = Some(login.to_owned());
    }

    /// Replaces (same id) or adds a user, e.g. to change its emails between sign-ins.
    pub fn put_user(&self, user: GithubUser) {
        let mut inner = self.shared.lock().unwrap();
        inner.users.retain(|u| u.id != user.id);
        inner.users.push(user);
    }

    /// `Some(status)`: the token endpoint and the API answer `status` (e.g. 502, 503)
    /// from now on; `None`: they behave again.
    pub fn set_failing(&self, status: Option<u16>) {
        self.shared.lock().unwrap().failing = status;
    }

    /// `METHOD /path` of every request served so far, in order.
    pub fn served(&self) -> Vec<String> {
        self.shared.lock().unwrap().served.clone()
    }

    /// Takes the server down and waits until its listener is closed: its port refuses
    /// connections from now on.
    pub async fn stop(&self) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }

    /// Plays the browser on GitHub: follows `authorize_url` (as the relying party
    /// redirected to it) with `login=USER` added and returns GitHub's redirect to the
    /// relying party's callback (`code` + `state`, or `error=access_denied` for a
    /// denying user), not followed. `http` must not follow redirects.
    pub async fn approve(&self, http: &reqwest::Client, authorize_url: &str, login: &str) -> String {
        let mut url = url::Url::parse(authorize_url).expect("an absolute authorize URL");
        url.query_pairs_mut().append_pair("login", login);
        let res = http.get(url.as_str()).send().await.expect("the stand-in answers");
        assert_eq!(res.status(), StatusCode::FOUND, "GitHub's authorize answered {}", res.status());
        res.headers().get("location").and_then(|v| v.to_str().ok()).expect("a Location").to_owned()
    }
}

fn random_hex(bytes: usize) -> String {
    use ring::rand::SecureRandom as _;
    use std::fmt::Write as _;
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new().fill(&mut buf).expect("randomness");
    buf.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

fn page(status: StatusCode, text: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], format!("<!DOCTYPE html><p>{text}</p>"))
        .into_response()
}

fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(redirect_uri).expect("checked before");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

async fn authorize(State(shared): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = shared.lock().unwrap();
    inner.served.push("GET /login/oauth/authorize".to_owned());
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return page(StatusCode::NOT_FOUND, "Not Found (no OAuth app with this client_id)");
    }
    let Some(redirect_uri) = q.get("redirect_uri").filter(|u| url::Url::parse(u).is_ok()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    };
    let state = q.get("state").cloned().unwrap_or_default();
    let Some(login) = q
        .get("login")
        .cloned()
        .or_else(|| inner.signed_in.clone())
        .or_else(|| inner.users.first().map(|u| u.login.clone()))
    else {
        return page(StatusCode::OK, "Sign in to GitHub (no such user here)");
    };
    let Some(user) = inner.users.iter().find(|u| u.login == login).cloned() else {
        return page(StatusCode::OK, "Sign in to GitHub (no such user here)");
    };
    if user.denies {
        return Redirect::to(&with_query(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user has denied your application access."),
                (
                    "error_uri",
                    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
                ),
                ("state", &state),
            ],
        ))
        .into_response()
        .with_status(StatusCode::FOUND);
    }
    let challenge = match (q.get("code_challenge"), q.get("code_challenge_method").map(String::as_str)) {
        (None, _) => None,
        (Some(c), Some("S256")) => Some(c.clone()),
        (Some(_), _) => return page(StatusCode::BAD_REQUEST, "code_challenge_method must be S256"),
    };
    let scopes: Vec<String> = q
        .get("scope")
        .map(|s| s.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let code = random_hex(10);
    inner.codes.insert(
        code.clone(),
        Code {
            login: user.login,
            redirect_uri: redirect_uri.clone(),
            scopes,
            challenge,
            issued: Instant::now(),
        },
    );
    Redirect::to(&with_query(redirect_uri, &[("code", &code), ("state", &state)]))
        .into_response()
        .with_status(StatusCode::FOUND)
}

trait WithStatus {
    fn with_status(self, status: StatusCode) -> Response;
}

impl WithStatus for Response {
    fn with_status(mut self, status: StatusCode) -> Response {
        *self.status_mut() = status;
        self
    }
}

fn token_answer(headers: &HeaderMap, fields: &[(&str, &str)]) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        let map: serde_json::Map<String, serde_json::Value> =
            fields.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        (StatusCode::OK, axum::Json(serde_json::Value::Object(map))).into_response()
    } else {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")], body)
            .into_response()
    }
}

fn token_error(headers: &HeaderMap, error: &str, description: &str, anchor: &str) -> Response {
    let uri = format!(
        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{anchor}"
    );
    token_answer(headers, &[("error", error), ("error_description", description), ("error_uri", &uri)])
}

fn failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        "<!DOCTYPE html><p>Unicorn! This page is taking too long to load.</p>",
    )
        .into_response()
}

async fn access_token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = shared.lock().unwrap();
    inner.served.push("POST /login/oauth/access_token".to_owned());
    if let Some(status) = inner.failing {
        return failure(status);
    }
    let param = |k: &str| form.get(k).or_else(|| query.get(k)).cloned().unwrap_or_default();
    if param("client_id") != CLIENT_ID || param("client_secret") != CLIENT_SECRET {
        return token_error(
            &headers,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
            "incorrect-client-credentials",
        );
    }
    let code_param = param("code");
    let usable = inner.codes.get(&code_param).is_some_and(|c| c.issued.elapsed() < Duration::from_secs(600));
    if !usable {
        return token_error(
            &headers,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
            "bad-verification-code",
        );
    }
    let code = &inner.codes[&code_param];
    let redirect_uri = param("redirect_uri");
    if !redirect_uri.is_empty() && redirect_uri != code.redirect_uri {
        return token_error(
            &headers,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
            "redirect-uri-mismatch",
        );
    }
    if let Some(challenge) = &code.challenge {
        let verifier = param("code_verifier");
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        if verifier.is_empty() || &computed != challenge {
            return token_error(
                &headers,
                "bad_verification_code",
                "The code passed is incorrect or expired.",
                "bad-verification-code",
            );
        }
    }
    let code = inner.codes.remove(&code_param).expect("checked above");
    let token = format!("gho_{}", random_hex(18));
    let scope = code.scopes.join(",");
    inner.tokens.insert(token.clone(), Token { login: code.login, scopes: code.scopes });
    token_answer(&headers, &[("access_token", &token), ("token_type", "bearer"), ("scope", &scope)])
}

/// The user a request's token belongs to, or the error GitHub's API answers.
fn authenticated(inner: &Inner, headers: &HeaderMap) -> Result<(GithubUser, Vec<String>), Box<Response>> {
    if let Some(status) = inner.failing {
        return Err(Box::new(failure(status)));
    }
    if headers.get(header::USER_AGENT).is_none() {
        return Err(Box::new((
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n",
        )
            .into_response()));
    }
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .or_else(|| auth.strip_prefix("token "))
        .unwrap_or_default();
    let known = inner
        .tokens
        .get(token)
        .and_then(|t| inner.users.iter().find(|u| u.login == t.login).map(|u| (u.clone(), t.scopes.clone())));
    known.ok_or_else(|| {
        Box::new(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401"
                })),
            )
                .into_response(),
        )
    })
}

fn api_json(value: &serde_json::Value, scopes: &[String]) -> Response {
    let mut res = (StatusCode::OK, axum::Json(value)).into_response();
    let h = res.headers_mut();
    h.insert("x-oauth-scopes", HeaderValue::from_str(&scopes.join(", ")).expect("ascii scopes"));
    h.insert("x-github-api-version-selected", HeaderValue::from_static("2022-11-28"));
    res
}

async fn user(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let mut inner = shared.lock().unwrap();
    inner.served.push("GET /api/v3/user".to_owned());
    let (user, scopes) = match authenticated(&inner, &headers) {
        Ok(found) => found,
        Err(res) => return *res,
    };
    let body = json!({
        "login": user.login,
        "id": user.id,
        "node_id": format!("U_standin{}", user.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        "html_url": format!("https://github.com/{}", user.login),
        "type": "User",
        "site_admin": false,
        "name": user.name,
        "company": null,
        "email": user.public_email,
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    });
    api_json(&body, &scopes)
}

async fn emails(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let mut inner = shared.lock().unwrap();
    inner.served.push("GET /api/v3/user/emails".to_owned());
    let (user, scopes) = match authenticated(&inner, &headers) {
        Ok(found) => found,
        Err(res) => return *res,
    };
    if !scopes.iter().any(|s| s == "user:email" || s == "user") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
                "status": "404"
            })),
        )
            .into_response();
    }
    let list: Vec<_> = user
        .emails
        .iter()
        .map(|e| {
            let public = user.public_email.as_deref() == Some(e.email.as_str());
            json!({
                "email": e.email,
                "primary": e.primary,
                "verified": e.verified,
                "visibility": if public { json!("public") } else if e.primary { json!("private") } else { json!(null) },
            })
        })
        .collect();
    api_json(&json!(list), &scopes)
}
