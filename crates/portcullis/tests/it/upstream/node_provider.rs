//! panva's `oidc-provider` (npm, `tests/upstream-provider`) as a child process: the
//! independent OpenID provider the upstream sign-in tests use (issue #19). It is started
//! with one JSON file of clients and accounts, prints its issuer, and is killed on drop.
//! Its login and consent pages are plain forms, walked here with the test's own
//! cookie-keeping `reqwest::Client` (`approve`, `deny`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// A client registered at the provider (confidential, code flow, PKCE S256 required).
/// It authenticates at the token endpoint with `client_secret_basic` or
/// `client_secret_post`: oidc-provider takes either for a client with a secret.
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl OidcClient {
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
        }
    }
}

/// A test account at the provider. `sub` (or `email`) is what `approve` types as the
/// login; any password is accepted.
#[derive(Debug, Clone)]
pub struct OidcAccount {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// `amr` of the sign-in: in the ID token (and userinfo) when set.
    pub amr: Option<Vec<String>>,
}

impl OidcAccount {
    pub fn new(sub: &str, email: &str, email_verified: bool) -> Self {
        Self {
            sub: sub.to_owned(),
            email: Some(email.to_owned()),
            email_verified: Some(email_verified),
            name: None,
            amr: None,
        }
    }

    /// An account whose claims carry no email at all.
    pub fn without_email(sub: &str) -> Self {
        Self { sub: sub.to_owned(), email: None, email_verified: None, name: None, amr: None }
    }

    #[must_use]
    pub fn amr(mut self, amr: &[&str]) -> Self {
        self.amr = Some(amr.iter().map(|&m| m.to_owned()).collect());
        self
    }

    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

/// Everything the provider is started with.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub clients: Vec<OidcClient>,
    pub accounts: Vec<OidcAccount>,
    /// `true` (the default of `NodeProvider::start`): the code flow's ID token carries
    /// `email`/`email_verified`, as Google, Entra ID, GitLab and Keycloak do. `false`:
    /// only userinfo has them (oidc-provider's strict default, `conformIdTokenClaims`).
    pub email_in_id_token: bool,
}

/// Errors the provider can be told to make, for the relying party's error tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The token endpoint's ID token is signed with another key under the same `kid`.
    BadSignature,
    /// ... carries a `nonce` other than the one sent (re-signed with the right key).
    WrongNonce,
    /// ... has another `iss` (re-signed with the right key).
    WrongIssuer,
    /// ... has another `aud` (re-signed with the right key).
    WrongAudience,
    /// ... expired an hour ago (re-signed with the right key).
    Expired,
    /// The token endpoint answers 500.
    Token500,
    /// The userinfo endpoint answers 500.
    Userinfo500,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Self::BadSignature => "bad_signature",
            Self::WrongNonce => "wrong_nonce",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "expired",
            Self::Token500 => "token_500",
            Self::Userinfo500 => "userinfo_500",
        }
    }
}

/// The provider's Node project (`provider.js`, `package.json`, `node_modules`).
fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/upstream-provider")
}

/// Whether `scripts/test` installed oidc-provider (`npm ci`). Without it, tests using
/// the provider skip with a printed reason, except under `CI=true`, where they fail.
pub fn installed() -> bool {
    let module = project().join("node_modules/oidc-provider/package.json");
    if module.is_file() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing: scripts/test runs `npm ci` in {}",
        module.display(),
        project().display()
    );
    eprintln!("SKIPPED: oidc-provider is not installed in {}; run scripts/test", project().display());
    false
}

/// The running provider, killed on drop.
pub struct NodeProvider {
    issuer: String,
    child: tokio::process::Child,
    /// The config file and the provider's stderr (`provider.log`).
    dir: tempfile::TempDir,
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl NodeProvider {
    /// Starts the provider with `client` and `accounts` (email in the ID token), or
    /// `None` (printed `SKIPPED`) when it is not installed.
    pub async fn start(client: OidcClient, accounts: Vec<OidcAccount>) -> Option<Self> {
        Self::start_with(ProviderConfig { clients: vec![client], accounts, email_in_id_token: true }).await
    }

    pub async fn start_with(config: ProviderConfig) -> Option<Self> {
        if !installed() {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("provider.json");
        let clients: Vec<_> = config
            .clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "redirect_uris": c.redirect_uris,
                })
            })
            .collect();
        let accounts: Vec<_> = config
            .accounts
            .iter()
            .map(|a| {
                let mut account = json!({ "sub": a.sub });
                let fields = [
                    ("email", a.email.as_ref().map(|e| json!(e))),
                    ("email_verified", a.email_verified.map(|v| json!(v))),
                    ("name", a.name.as_ref().map(|n| json!(n))),
                    ("amr", a.amr.as_ref().map(|m| json!(m))),
                ];
                for (key, value) in fields {
                    if let Some(value) = value {
                        account[key] = value;
                    }
                }
                account
            })
            .collect();
        let body = json!({
            "port": 0,
            "clients": clients,
            "accounts": accounts,
            "email_in_id_token": config.email_in_id_token,
        });
        std::fs::write(&file, body.to_string()).expect("write the provider's config");
        let log = std::fs::File::create(dir.path().join("provider.log")).expect("the provider's log");

        let node = std::env::var_os("PCTEST_NODE").unwrap_or_else(|| "node".into());
        let mut child = tokio::process::Command::new(node)
            .arg("provider.js")
            .arg(&file)
            .current_dir(project())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js is installed by scripts/test)");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), stdout.next_line()).await;
        // Whatever else comes on stdout is read and dropped, never left to fill the pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        let read_log = || std::fs::read_to_string(dir.path().join("provider.log")).unwrap_or_default();
        let line = match first {
            Ok(Ok(Some(line))) => line,
            other => {
                panic!("oidc-provider did not print its issuer ({other:?}); its stderr:\n{}", read_log())
            }
        };
        let issuer = line
            .strip_prefix("issuer: ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; stderr:\n{}", read_log()))
            .trim()
            .to_owned();
        Some(Self { issuer, child, dir })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the `issuer` to configure.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What the provider wrote to stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("provider.log")).unwrap_or_default()
    }

    /// Kills the provider and waits until it is gone: its port refuses connections,
    /// as a provider that is down does.
    pub async fn stop(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Makes the provider err as `fault` says from now on (`None`: behave again).
    pub async fn set_fault(&self, fault: Option<Fault>) {
        let res = {
            portcullis_upstream::install_crypto_provider();
            reqwest::Client::new()
        }
        .post(format!("{}/__test/fault", self.issuer))
        .body(json!({ "fault": fault.map(Fault::name) }).to_string())
        .send()
        .await
        .expect("the provider answers");
        assert_eq!(res.status(), reqwest::StatusCode::NO_CONTENT);
    }

    /// Follows `authorize_url` (the provider's authorization endpoint, as the relying
    /// party redirected the browser to it) with `http`, the browser: signs in as
    /// `account` (its sub or email) when the provider asks, allows on the consent page
    /// when it asks, and returns the provider's final redirect (to the relying party's
    /// redirect URI, `code` + `state` + `iss`) without following it.
    ///
    /// `http` must keep cookies and must not follow redirects (`helpers::client()`).
    pub async fn approve(&self, http: &reqwest::Client, authorize_url: &str, account: &str) -> String {
        self.walk(http, authorize_url, account, true).await
    }

    /// As `approve`, but refuses on the consent page: the redirect carries
    /// `error=access_denied` and the `state`.
    pub async fn deny(&self, http: &reqwest::Client, authorize_url: &str, account: &str) -> String {
        self.walk(http, authorize_url, account, false).await
    }

    async fn walk(&self, http: &reqwest::Client, authorize_url: &str, account: &str, allow: bool) -> String {
        let mut url = authorize_url.to_owned();
        let mut form: Option<Vec<(&str, &str)>> = None;
        let mut signed_in = false;
        let mut asked_consent = false;
        for _ in 0..20 {
            let req = match form.take() {
                Some(fields) => http.post(&url).form(&fields),
                None => http.get(&url),
            };
            let res = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("the provider answers {url}: {e:?}\n{}", self.log()));
            assert_eq!(
                res.url().as_str(),
                url::Url::parse(&url).unwrap().as_str(),
                "the client followed a redirect: use one that does not (helpers::client())"
            );
            let status = res.status();
            if status.is_redirection() {
                let to = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
                let to = url::Url::parse(&url).unwrap().join(to).expect("a valid Location").to_string();
                if !to.starts_with(&format!("{}/", self.issuer)) {
                    assert!(allow || asked_consent, "the provider asked no consent to refuse: {to}");
                    return to;
                }
                url = to;
                continue;
            }
            let page = res.text().await.unwrap_or_default();
            assert_eq!(status, reqwest::StatusCode::OK, "the provider answered {url}: {page}");
            let login = action(&page, "/login");
            if let Some(action) = login {
                assert!(!signed_in, "the provider refused the login {account:?}: {page}");
                signed_in = true;
                url = format!("{}{action}", self.issuer);
                form = Some(vec![("login", account), ("password", "any password")]);
            } else if let Some(confirm) = action(&page, "/confirm") {
                asked_consent = true;
                let target = if allow { confirm } else { action(&page, "/abort").expect("a deny button") };
                url = format!("{}{target}", self.issuer);
                form = Some(Vec::new());
            } else {
                panic!("neither a login nor a consent page at {url}: {page}");
            }
        }
        panic!("the provider kept redirecting from {authorize_url}");
    }
}

/// The `action` of the page's form that ends in `suffix` (`/interaction/UID/login`).
fn action(page: &str, suffix: &str) -> Option<String> {
    page.split("action=\"").skip(1).filter_map(|rest| rest.split('"').next()).find_map(|a| {
        let a = a.replace("&amp;", "&");
        a.ends_with(suffix).then_some(a)
    })
}
