//! Contexts of the account area: `/account` (profile, passkeys, sessions,
//! applications, security log, and the forms of sensitive changes).

use portcullis_core::oauth::TokenFamily;
use portcullis_core::passkeys::PasskeyRecord;
use portcullis_core::upstream::LinkedIdentity;
use portcullis_core::{Event, FieldError, Session, User};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::upstream::{IdentityRow, ProviderButton};
use super::{Audience, Page, first_error};

/// For `<time datetime>`.
pub(crate) fn machine(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// What the reader sees.
pub(super) fn human(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_default()
}

/// `account.html`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountPage {
    pub user: AccountUser,
    pub passkeys: Vec<PasskeyRow>,
    /// Passkeys can be added (the service is reached by a host name).
    pub passkeys_enabled: bool,
    pub sessions: Vec<SessionRow>,
    /// Applications (and token sign-ins) holding tokens for the user.
    pub grants: Vec<GrantRow>,
    /// The security log, newest first.
    pub events: Vec<EventRow>,
    /// `None` unless a form of the page was refused.
    pub errors: Option<AccountErrors>,
    /// The new address typed into the change-of-address form, kept after an error.
    pub new_email: Option<String>,
    /// Upstream identities linked to the account (SPEC §10).
    pub identities: Vec<IdentityRow>,
    /// Providers the account has no identity of yet: each a button that links one.
    pub linkable: Vec<ProviderButton>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountUser {
    pub email: String,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub created_at: String,
    pub created_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub sign_count: i64,
    pub created_at: String,
    pub created_text: String,
    pub last_used_at: Option<String>,
    pub last_used_text: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SessionRow {
    pub id: String,
    pub created_at: String,
    pub created_text: String,
    pub last_seen_at: String,
    pub last_seen_text: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session of this request.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct GrantRow {
    pub id: String,
    pub name: String,
    /// Empty for the account API's own tokens.
    pub scope: String,
    pub signed_in_at: String,
    pub signed_in_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EventRow {
    pub what: std::borrow::Cow<'static, str>,
    pub failed: bool,
    pub at: String,
    pub at_text: String,
    pub ip: Option<String>,
    /// Not shown by the built-in page; there for overrides.
    pub user_agent: Option<String>,
}

/// The fields of the account page's forms that can show an error.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct AccountErrors {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
    pub new_password_confirm: Option<String>,
    pub new_email: Option<String>,
    pub email_password: Option<String>,
    pub delete_password: Option<String>,
    pub confirm: Option<String>,
    /// Renaming or removing a passkey.
    pub passkey: Option<String>,
    /// Unlinking an upstream identity.
    pub identity: Option<String>,
}

impl AccountErrors {
    /// `None` when there is no error.
    pub(crate) fn from_fields(errors: &[FieldError]) -> Option<Self> {
        let first = |field| first_error(errors, field);
        (!errors.is_empty()).then(|| Self {
            current_password: first("current_password"),
            new_password: first("new_password"),
            new_password_confirm: first("new_password_confirm"),
            new_email: first("new_email"),
            email_password: first("email_password"),
            delete_password: first("delete_password"),
            confirm: first("confirm"),
            passkey: first("passkey"),
            identity: first("identity"),
        })
    }
}

/// What the account page shows, as core returns it.
pub(crate) struct AccountData<'a> {
    pub user: &'a User,
    /// The session of this request.
    pub session_id: uuid::Uuid,
    pub sessions: &'a [Session],
    pub grants: &'a [(TokenFamily, Option<String>)],
    pub events: &'a [Event],
    pub passkeys: &'a [PasskeyRecord],
    pub passkeys_enabled: bool,
    pub identities: &'a [LinkedIdentity],
    /// The configured providers: id and label.
    pub providers: &'a [(String, String)],
}

impl AccountPage {
    /// The page without errors.
    pub(crate) fn new(data: &AccountData<'_>) -> Self {
        let user = data.user;
        Self {
            user: AccountUser {
                email: user.email.clone(),
                email_verified: user.email_verified,
                mfa_enabled: user.mfa_enabled,
                created_at: machine(user.created_at),
                created_text: human(user.created_at),
            },
            passkeys: data.passkeys.iter().map(PasskeyRow::new).collect(),
            passkeys_enabled: data.passkeys_enabled,
            sessions: data.sessions.iter().map(|s| SessionRow::new(s, data.session_id)).collect(),
            grants: data.grants.iter().map(|(f, name)| GrantRow::new(f, name.as_deref())).collect(),
            events: data.events.iter().map(EventRow::new).collect(),
            errors: None,
            new_email: None,
            identities: IdentityRow::list(data.identities, data.providers),
            linkable: ProviderButton::linkable(data.identities, data.providers),
        }
    }
}

impl PasskeyRow {
    fn new(p: &PasskeyRecord) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            sign_count: p.sign_count,
            created_at: machine(p.created_at),
            created_text: human(p.created_at),
            last_used_at: p.last_used_at.map(machine),
            last_used_text: p.last_used_at.map(human),
        }
    }
}

impl SessionRow {
    fn new(s: &Session, current: uuid::Uuid) -> Self {
        Self {
            id: s.id.to_string(),
            created_at: machine(s.created_at),
            created_text: human(s.created_at),
            last_seen_at: machine(s.last_seen_at),
            last_seen_text: human(s.last_seen_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            current: s.id == current,
        }
    }
}

impl GrantRow {
    fn new(f: &TokenFamily, client_name: Option<&str>) -> Self {
        Self {
            id: f.id.to_string(),
            name: client_name.unwrap_or("API client (token sign-in)").to_owned(),
            scope: f.scope.clone(),
            signed_in_at: machine(f.auth_time),
            signed_in_text: human(f.auth_time),
        }
    }
}

impl EventRow {
    fn new(e: &Event) -> Self {
        Self {
            what: event_text(&e.kind, e.detail.as_deref()),
            failed: e.outcome == "failure",
            at: machine(e.created_at),
            at_text: human(e.created_at),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
        }
    }
}

/// How the security log names an event.
fn event_text(kind: &str, detail: Option<&str>) -> std::borrow::Cow<'static, str> {
    // "group=NAME actor=WHO": names are [a-z0-9_.-], safe in any text (and escaped anyway).
    let group = detail.and_then(|d| d.strip_prefix("group=")).and_then(|d| d.split(' ').next());
    match (kind, group) {
        ("group_member_added", Some(g)) => return format!("Added to the group {g}").into(),
        ("group_member_removed", Some(g)) => return format!("Removed from the group {g}").into(),
        _ => {}
    }
    event_kind_text(kind, detail).into()
}

fn event_kind_text(kind: &str, detail: Option<&str>) -> &'static str {
    match (kind, detail) {
        ("register", Some("email_taken")) => return "Someone tried to register with your address",
        ("email_changed", Some("undone")) => return "Email change undone from the old address",
        ("login_succeeded", Some("passkey" | "passkey_mfa")) => return "Signed in with a passkey",
        ("login_succeeded", Some("invitation")) => return "Signed in after accepting the invitation",
        ("login_failed", Some("passkey")) => return "Failed passkey sign-in",
        ("mfa_disabled", Some("by_admin" | "by_operator")) => {
            return "Two-factor authentication turned off by an administrator";
        }
        ("email_verified", Some("by_admin" | "by_operator")) => {
            return "Email marked verified by an administrator";
        }
        ("password_reset", Some("by_operator")) => return "Password set by an administrator",
        _ => {}
    }
    match kind {
        "register" => "Account created",
        "login_succeeded" => "Signed in",
        "login_failed" => "Failed sign-in attempt",
        "login_throttled" => "Sign-in blocked after too many attempts",
        "logout" => "Signed out",
        "password_changed" => "Password changed",
        "password_reset" => "Password reset",
        "email_verified" => "Email verified",
        "email_changed" => "Email changed",
        "mfa_enabled" => "Two-factor authentication turned on",
        "mfa_disabled" => "Two-factor authentication turned off",
        "session_revoked" => "A session was signed out",
        "user_disabled" => "Account disabled by an administrator",
        "user_enabled" => "Account enabled by an administrator",
        "passkey_added" => "Passkey added",
        "passkey_renamed" => "Passkey renamed",
        "passkey_removed" => "Passkey removed",
        "refresh_token_reused" => "A used sign-in token came back: that sign-in was ended",
        "consent_granted" => "An application was allowed to sign you in",
        "tokens_revoked" => "An application was signed out",
        "invitation_sent" => "Invitation sent",
        "invitation_accepted" => "Invitation accepted",
        "signed_out_everywhere" => "Signed out everywhere by an administrator",
        "password_reset_sent" => "An administrator sent you a password-reset link",
        "email_unverified" => "Email marked unverified by an administrator",
        "identity_linked" => "Sign-in provider linked",
        "identity_unlinked" => "Sign-in provider unlinked",
        "email_signin_requested" => "A sign-in link was emailed to you",
        "email_signin_failed" => "A wrong emailed sign-in code was entered",
        "new_device_signin" => "Signed in from a new device",
        _ => "Security event",
    }
}

impl Page for AccountPage {
    const TEMPLATE: &'static str = "account.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let at = "2026-01-01T00:00:00Z".to_owned();
        let text = "2026-01-01 00:00 UTC".to_owned();
        let hostile = || Some("<script>".to_owned());
        let empty = Self {
            user: AccountUser {
                email: "a@example.com".to_owned(),
                email_verified: true,
                mfa_enabled: false,
                created_at: at.clone(),
                created_text: text.clone(),
            },
            passkeys: Vec::new(),
            passkeys_enabled: false,
            sessions: Vec::new(),
            grants: Vec::new(),
            events: Vec::new(),
            errors: None,
            new_email: None,
            identities: Vec::new(),
            linkable: Vec::new(),
        };
        let passkey = |last_used: Option<String>| PasskeyRow {
            id: "p1".to_owned(),
            name: "<script>".to_owned(),
            sign_count: 3,
            created_at: at.clone(),
            created_text: text.clone(),
            last_used_at: last_used.clone(),
            last_used_text: last_used,
        };
        let session = |current: bool, ip: Option<String>| SessionRow {
            id: "s1".to_owned(),
            created_at: at.clone(),
            created_text: text.clone(),
            last_seen_at: at.clone(),
            last_seen_text: text.clone(),
            user_agent: ip.clone(),
            ip,
            current,
        };
        let grant = |scope: &str| GrantRow {
            id: "g1".to_owned(),
            name: "<script>App".to_owned(),
            scope: scope.to_owned(),
            signed_in_at: at.clone(),
            signed_in_text: text.clone(),
        };
        let event = |failed: bool, ip: Option<String>| EventRow {
            what: "Signed in".into(),
            failed,
            at: at.clone(),
            at_text: text.clone(),
            user_agent: ip.clone(),
            ip,
        };
        let full = Self {
            user: AccountUser { email_verified: false, mfa_enabled: true, ..empty.user.clone() },
            passkeys: vec![passkey(Some(at.clone())), passkey(None)],
            passkeys_enabled: true,
            sessions: vec![session(true, hostile()), session(false, None)],
            grants: vec![grant("openid email"), grant("")],
            events: vec![event(false, hostile()), event(true, None)],
            errors: Some(AccountErrors {
                current_password: hostile(),
                new_password: hostile(),
                new_password_confirm: hostile(),
                new_email: hostile(),
                email_password: hostile(),
                delete_password: hostile(),
                confirm: hostile(),
                passkey: hostile(),
                identity: hostile(),
            }),
            new_email: hostile(),
            identities: vec![IdentityRow {
                id: "i1".to_owned(),
                provider: "<script>".to_owned(),
                email: hostile(),
                linked_at: at.clone(),
                linked_text: text.clone(),
            }],
            linkable: vec![ProviderButton {
                id: "corp".to_owned(),
                name: "<script>".to_owned(),
                url: "/account/identities/link/corp".to_owned(),
            }],
        };
        vec![empty, full]
    }
}
