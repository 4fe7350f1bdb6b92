//! Contexts of the admin console's user list and user page (SPEC §8).

use serde::Serialize;

use super::{Audience, Page};

/// A user in the list, and the facts at the top of the user's page.
#[derive(Debug, Clone, Serialize)]
#[expect(clippy::struct_excessive_bools, reason = "the template reads these flags by name")]
pub(crate) struct AdminUserRow {
    /// The user's page.
    pub url: String,
    pub email: String,
    pub email_verified: bool,
    pub disabled: bool,
    /// Invited, the invitation not accepted yet.
    pub invited: bool,
    pub mfa_enabled: bool,
    pub groups: Vec<String>,
    pub last_sign_in_at: Option<String>,
    /// Active sessions.
    pub sessions: u64,
}

/// `admin_users.html`: search and one page of users, newest first.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminUsersPage {
    /// The email prefix searched for ("" for all).
    pub q: String,
    pub users: Vec<AdminUserRow>,
    /// The next page, if there is one.
    pub next_url: Option<String>,
    /// No `after`: a link back to the first page is not needed.
    pub first_page: bool,
    pub ask_password: bool,
    /// Why an invitation was refused.
    pub error: Option<String>,
}

fn sample_row() -> AdminUserRow {
    AdminUserRow {
        url: "/admin/users/0".to_owned(),
        email: "<script>@example.com".to_owned(),
        email_verified: false,
        disabled: true,
        invited: true,
        mfa_enabled: true,
        groups: vec!["admin".to_owned(), "ops".to_owned()],
        last_sign_in_at: Some("2026-01-01T00:00:00Z".to_owned()),
        sessions: 2,
    }
}

impl Page for AdminUsersPage {
    const TEMPLATE: &'static str = "admin_users.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        vec![
            Self {
                q: "<b>".to_owned(),
                users: vec![sample_row()],
                next_url: Some("/admin/users?after=x".to_owned()),
                first_page: false,
                ask_password: true,
                error: Some("<b>taken</b>".to_owned()),
            },
            Self {
                q: String::new(),
                users: vec![],
                next_url: None,
                first_page: true,
                ask_password: false,
                error: None,
            },
        ]
    }
}

/// An event on a user's page or in the security log.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminEventRow {
    /// The page of the user it is about, if any (the log links to it).
    pub user_url: Option<String>,
    /// `cli`, or the id of the administrator who made the change.
    pub actor: Option<String>,
    pub kind: String,
    pub outcome: String,
    pub at: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// `admin_user.html`: one user and every action on it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminUserPage {
    pub id: String,
    /// This page (the action forms post below it).
    pub url: String,
    pub user: AdminUserRow,
    pub created_at: String,
    pub external_id: Option<String>,
    /// Passkey names.
    pub passkeys: Vec<String>,
    /// Last use of each active session.
    pub session_times: Vec<String>,
    /// Groups the user could be added to.
    pub other_groups: Vec<String>,
    /// The 20 most recent events.
    pub events: Vec<AdminEventRow>,
    pub ask_password: bool,
    pub error: Option<String>,
}

impl Page for AdminUserPage {
    const TEMPLATE: &'static str = "admin_user.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let event = AdminEventRow {
            user_url: Some("/admin/users/0".to_owned()),
            actor: Some("cli".to_owned()),
            kind: "login_failed".to_owned(),
            outcome: "failure".to_owned(),
            at: "2026-01-01T00:00:00Z".to_owned(),
            ip: Some("192.0.2.1".to_owned()),
            detail: Some("<script>".to_owned()),
        };
        let full = Self {
            id: "0".to_owned(),
            url: "/admin/users/0".to_owned(),
            user: sample_row(),
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            external_id: Some("legacy-42".to_owned()),
            passkeys: vec!["<i>phone</i>".to_owned()],
            session_times: vec!["2026-01-01T00:00:00Z".to_owned()],
            other_groups: vec!["dev".to_owned()],
            events: vec![event],
            ask_password: true,
            error: Some("refused: <b>last</b> administrator".to_owned()),
        };
        let user = AdminUserRow {
            disabled: false,
            invited: false,
            mfa_enabled: false,
            email_verified: true,
            groups: vec![],
            last_sign_in_at: None,
            ..sample_row()
        };
        let bare = Self {
            user,
            external_id: None,
            passkeys: vec![],
            session_times: vec![],
            other_groups: vec![],
            events: vec![],
            ask_password: false,
            error: None,
            ..full.clone()
        };
        vec![full, bare]
    }
}

/// `admin_events.html`: the security log with its filters.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminEventsPage {
    /// The user id filtered on ("" for everyone).
    pub user: String,
    /// The kind filtered on ("" for every kind).
    pub kind: String,
    /// Every kind, for the filter's choices.
    pub kinds: Vec<String>,
    pub events: Vec<AdminEventRow>,
    pub next_url: Option<String>,
}

impl Page for AdminEventsPage {
    const TEMPLATE: &'static str = "admin_events.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let event = AdminEventRow {
            user_url: None,
            actor: None,
            kind: "login_failed".to_owned(),
            outcome: "failure".to_owned(),
            at: "2026-01-01T00:00:00Z".to_owned(),
            ip: None,
            detail: Some("<b>unknown_email</b>".to_owned()),
        };
        vec![
            Self {
                user: "<x>".to_owned(),
                kind: "login_failed".to_owned(),
                kinds: vec!["login_failed".to_owned(), "register".to_owned()],
                events: vec![event],
                next_url: Some("/admin/events?after=x".to_owned()),
            },
            Self { user: String::new(), kind: String::new(), kinds: vec![], events: vec![], next_url: None },
        ]
    }
}
