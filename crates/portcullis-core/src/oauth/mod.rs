//! OAuth 2.0 / OpenID Connect domain: clients, scopes, PKCE, authorization codes
//! and refresh-token families. Pure rules here; the flows beside them: `provider`, `authorize`,
//! `token`, `logout`, `bearer` and `introspect`.

mod authorize;
pub(crate) mod bearer;
pub(crate) mod introspect;
mod logout;
pub(crate) mod provider;
pub mod store;
mod token;
pub(crate) mod verified;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::user::UserId;
use crate::token::TokenHash;

/// Lifetimes of what the token endpoints hand out.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// `iss` of every token: the public URL's origin.
    pub issuer: String,
    /// Access tokens (JWT) and ID tokens.
    pub access_ttl: Duration,
    /// Refresh tokens, counted from their issue; every refresh makes a new one.
    pub refresh_ttl: Duration,
    /// Authorization codes.
    pub code_ttl: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            access_ttl: Duration::minutes(10),
            refresh_ttl: Duration::days(30),
            code_ttl: Duration::seconds(60),
        }
    }
}

impl TokenPolicy {
    /// The audience of access tokens: Portcullis' own API and userinfo.
    pub fn api_audience(&self) -> &str {
        &self.issuer
    }
}

/// How long a retired signing key stays published: longer than any token it signed
/// can live (access tokens are capped at one day).
pub const KEY_PUBLISHED_AFTER_RETIREMENT: Duration = Duration::days(2);
/// The longest `tokens.access_ttl` accepted.
pub const MAX_ACCESS_TTL: Duration = Duration::days(1);

/// A registered client.
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// SHA-256 of the secret; none for a public client.
    pub secret_hash: Option<TokenHash>,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    /// Trusted: no consent page.
    pub first_party: bool,
    /// May introspect every token, not only its own (an API that accepts tokens
    /// issued to other clients).
    pub resource_server: bool,
    pub created_at: OffsetDateTime,
}

/// How a client is registered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientFlags {
    /// No secret; PKCE required.
    pub public: bool,
    /// Trusted: no consent page.
    pub first_party: bool,
    /// May introspect every token.
    pub resource_server: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("public", &self.public)
            .field("first_party", &self.first_party)
            .field("resource_server", &self.resource_server)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Exact, character-for-character match against a registered URI.
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether introspection may describe to this client a token issued to `owner`
    /// (a client id; none for a refresh token of `/api/v1/tokens`). RFC 7662 §4: a
    /// client learns about its own tokens; only a resource server about all of them.
    pub fn may_introspect(&self, owner: Option<&str>) -> bool {
        self.resource_server || owner == Some(self.id.as_str())
    }
}

/// Checks a redirect URI at registration: absolute http(s), no fragment, no
/// credentials.
pub fn check_redirect_uri(raw: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(raw).map_err(|_| "is not an absolute URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be http or https");
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host");
    }
    Ok(())
}

/// How the authorization endpoint's answer reaches the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// A redirect with the parameters in the redirect URI's query (the default of
    /// `response_type=code`).
    #[default]
    Query,
    /// OAuth 2.0 Form Post Response Mode: a page whose form posts the parameters to
    /// the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// `None` for a value Portcullis does not support. An empty value counts as
    /// absent (RFC 6749 §3.1).
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        match raw {
            None | Some("" | "query") => Some(Self::Query),
            Some("form_post") => Some(Self::FormPost),
            Some(_) => None,
        }
    }
}

/// The authorization endpoint's answer to a client whose redirect URI was checked:
/// a code or an error, then `state` and `iss` (RFC 9207), for `redirect_uri`.
#[derive(Debug, Clone)]
pub struct AuthorizeReply {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
}

impl AuthorizeReply {
    pub fn new(
        redirect_uri: &str,
        mode: ResponseMode,
        result: &[(&'static str, &str)],
        state: Option<&str>,
        issuer: &str,
    ) -> Self {
        let mut params: Vec<(&'static str, String)> =
            result.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        if let Some(state) = state {
            params.push(("state", state.to_owned()));
        }
        params.push(("iss", issuer.to_owned()));
        Self { redirect_uri: redirect_uri.to_owned(), mode, params }
    }

    /// The redirect URI with the parameters added to its query.
    pub fn url(&self) -> String {
        let Ok(mut url) = url::Url::parse(&self.redirect_uri) else {
            return self.redirect_uri.clone();
        };
        url.query_pairs_mut().extend_pairs(&self.params);
        url.into()
    }
}

/// The scopes Portcullis knows.
pub const SCOPES: [&str; 5] = ["openid", "email", "profile", "offline_access", "groups"];

/// A requested or granted scope: known values, deduplicated, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(Vec<&'static str>);

impl Scope {
    /// `None` when a value is unknown.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut out: Vec<&'static str> = Vec::new();
        for part in raw.split(' ').filter(|p| !p.is_empty()) {
            let known = SCOPES.iter().find(|s| **s == part)?;
            if !out.contains(known) {
                out.push(known);
            }
        }
        Some(Self(out))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(&scope)
    }

    /// Whether every value of `self` is in `other`.
    pub fn within(&self, other: &Self) -> bool {
        self.0.iter().all(|s| other.0.contains(s))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn values(&self) -> &[&'static str] {
        &self.0
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// RFC 7636: a `code_challenge` for S256 is base64url of 32 bytes.
pub fn valid_code_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|b| b.len() == 32)
}

/// RFC 7636 §4.1 verifier syntax and the S256 check, in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let syntax_ok = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    syntax_ok && computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// An authorization code as stored (its hash is the key).
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: OffsetDateTime,
    /// The sign-in behind it used a second factor.
    pub two_factor: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What presenting a code found.
#[derive(Debug)]
pub enum CodeUse {
    /// Spent now, by this request.
    Fresh(AuthCode),
    /// Already spent: the family it was exchanged for (to revoke).
    Replayed {
        family: Option<Uuid>,
    },
    Unknown,
}

/// A line of refresh tokens from one sign-in; revoking it ends them all.
#[derive(Debug, Clone)]
pub struct TokenFamily {
    pub id: Uuid,
    pub user_id: UserId,
    /// The OAuth client; none for `/api/v1/tokens`.
    pub client_id: Option<String>,
    pub scope: String,
    pub auth_time: OffsetDateTime,
    /// The sign-in behind it used a second factor.
    pub two_factor: bool,
    pub created_at: OffsetDateTime,
}

/// A refresh token to store (its hash only).
#[derive(Debug, Clone, Copy)]
pub struct NewRefresh {
    pub hash: TokenHash,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Rotation {
    /// Spent; the new token was stored in the same family.
    Rotated(TokenFamily, crate::accounts::user::User),
    /// Spent before: the family was revoked.
    Reused { user_id: UserId, client_id: Option<String> },
    /// Unknown, expired, revoked, of another client, or of a disabled user.
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_code_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", challenge));
        assert!(!pkce_matches("short", challenge));
        assert!(!valid_code_challenge("plain-challenge"));
    }

    #[test]
    fn scopes_are_known_values_only() {
        let s = Scope::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert!(Scope::parse("openid admin").is_none());
        assert!(Scope::parse("openid").unwrap().within(&s));
        assert!(!s.within(&Scope::parse("openid").unwrap()));
    }

    #[test]
    fn redirect_uris_are_matched_exactly() {
        let c = Client {
            id: "c".into(),
            name: "n".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            public: true,
            first_party: false,
            resource_server: false,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(c.allows_redirect("https://app.example/cb"));
        for near in ["https://app.example/cb/", "https://app.example/cb?x=1", "HTTPS://app.example/cb"] {
            assert!(!c.allows_redirect(near), "{near}");
        }
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("https://app.example/cb#x").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn response_modes_are_query_and_form_post_only() {
        assert_eq!(ResponseMode::parse(None), Some(ResponseMode::Query));
        assert_eq!(ResponseMode::parse(Some("")), Some(ResponseMode::Query));
        assert_eq!(ResponseMode::parse(Some("query")), Some(ResponseMode::Query));
        assert_eq!(ResponseMode::parse(Some("form_post")), Some(ResponseMode::FormPost));
        for other in ["fragment", "form_post.jwt", "QUERY", "query "] {
            assert_eq!(ResponseMode::parse(Some(other)), None, "{other}");
        }
    }

    #[test]
    fn a_reply_adds_its_parameters_state_and_issuer_to_the_redirect_uri() {
        let r = AuthorizeReply::new(
            "https://app.example/cb?tenant=a",
            ResponseMode::Query,
            &[("code", "c&1")],
            Some("s t"),
            "https://id.example",
        );
        assert_eq!(
            r.url(),
            "https://app.example/cb?tenant=a&code=c%261&state=s+t&iss=https%3A%2F%2Fid.example"
        );
        let keys: Vec<_> = r.params.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["code", "state", "iss"]);
    }

    #[test]
    fn a_client_may_introspect_its_own_tokens_and_a_resource_server_all() {
        let mut c = Client {
            id: "c".into(),
            name: "n".into(),
            secret_hash: None,
            redirect_uris: Vec::new(),
            public: false,
            first_party: true,
            resource_server: false,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(c.may_introspect(Some("c")));
        for other in [Some("d"), Some("portcullis"), Some(""), None] {
            assert!(!c.may_introspect(other), "{other:?}");
        }
        c.resource_server = true;
        for any in [Some("c"), Some("d"), Some("portcullis"), None] {
            assert!(c.may_introspect(any), "{any:?}");
        }
    }
}
