//! Contexts of the OAuth 2.0 / OpenID Connect pages: consent, RP-initiated
//! sign-out, and the `form_post` response.

use serde::Serialize;

use super::{Audience, Page};

/// `consent.html`: may this client sign the user in?
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConsentPage {
    pub client_name: String,
    pub scopes: Vec<ScopeItem>,
    /// The authorization request's query, carried through the form.
    pub request: String,
}

/// A scope the client asks for, and what it lets the client see.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScopeItem {
    pub name: String,
    pub description: &'static str,
}

impl Page for ConsentPage {
    const TEMPLATE: &'static str = "consent.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        vec![Self {
            client_name: "<script>App".to_owned(),
            scopes: vec![
                ScopeItem { name: "openid".to_owned(), description: "Know who you are" },
                ScopeItem { name: "\"<script>".to_owned(), description: "Other access" },
            ],
            request: "client_id=a&redirect_uri=\"<script>".to_owned(),
        }]
    }
}

/// `oauth_logout.html`: an application asks to sign the user out.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OAuthLogoutPage {
    /// The sign-out request's query, carried through the form.
    pub request: String,
}

impl Page for OAuthLogoutPage {
    const TEMPLATE: &'static str = "oauth_logout.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        vec![Self { request: "client_id=a&state=\"<script>".to_owned() }]
    }
}

/// `form_post.html`: the answer to the client, posted to its redirect URI.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FormPostPage {
    /// The client's redirect URI.
    pub action: String,
    pub fields: Vec<FormField>,
}

/// One parameter of the answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FormField {
    pub name: String,
    pub value: String,
}

impl Page for FormPostPage {
    const TEMPLATE: &'static str = "form_post.html";
    const AUDIENCE: Audience = Audience::Standalone;

    fn samples() -> Vec<Self> {
        let field = |name: &str, value: &str| FormField { name: name.to_owned(), value: value.to_owned() };
        vec![
            Self {
                action: "https://app.example/cb?a=1&b=\"2".to_owned(),
                fields: vec![
                    field("code", "abc"),
                    field("state", "\"><script>alert(1)</script>"),
                    field("iss", "https://id.example"),
                ],
            },
            Self {
                action: "https://app.example/cb".to_owned(),
                fields: vec![field("error", "access_denied")],
            },
        ]
    }
}
