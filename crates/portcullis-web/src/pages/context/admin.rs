//! Contexts of the admin console (`/admin`, SPEC §8). `ask_password` is set when the
//! administrator's sign-in is older than ten minutes: every form then asks for the
//! password, and `error` says why a change was refused.

use portcullis_core::admin::Overview;
use serde::Serialize;

use super::{Audience, Page};

/// `admin_overview.html`: counts and where to go.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminOverviewPage {
    pub users: u64,
    pub active_sessions: u64,
    pub sign_ins: u64,
    pub failed_sign_ins: u64,
    pub throttled: u64,
    pub locked_accounts: u64,
    pub groups: usize,
    pub clients: usize,
}

impl AdminOverviewPage {
    pub(crate) fn new(o: &Overview, groups: usize, clients: usize) -> Self {
        Self {
            users: o.users,
            active_sessions: o.active_sessions,
            sign_ins: o.sign_ins,
            failed_sign_ins: o.failed_sign_ins,
            throttled: o.throttled,
            locked_accounts: o.locked_accounts,
            groups,
            clients,
        }
    }
}

impl Page for AdminOverviewPage {
    const TEMPLATE: &'static str = "admin_overview.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let busy = Overview {
            users: 1_000_000,
            active_sessions: 3,
            sign_ins: 120,
            failed_sign_ins: 7,
            throttled: 2,
            locked_accounts: 1,
        };
        vec![Self::new(&Overview::default(), 1, 0), Self::new(&busy, 2, 3)]
    }
}

/// One row of the groups list.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminGroupRow {
    pub name: String,
    pub description: String,
    pub members: u64,
    /// The group's page.
    pub url: String,
    /// Everything but `admin`.
    pub deletable: bool,
}

/// `admin_groups.html`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminGroupsPage {
    pub groups: Vec<AdminGroupRow>,
    pub ask_password: bool,
    pub error: Option<String>,
}

impl Page for AdminGroupsPage {
    const TEMPLATE: &'static str = "admin_groups.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let row = |name: &str, deletable| AdminGroupRow {
            name: name.to_owned(),
            description: "<script>x</script>".to_owned(),
            members: 2,
            url: format!("/admin/groups/{name}"),
            deletable,
        };
        vec![
            Self { groups: vec![row("admin", false), row("ops", true)], ask_password: false, error: None },
            Self { groups: vec![], ask_password: true, error: Some("A <b>group</b> exists".to_owned()) },
        ]
    }
}

/// A member on a group's page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminMemberRow {
    pub id: String,
    pub email: String,
    pub disabled: bool,
}

/// `admin_group.html`: one group and its members.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminGroupPage {
    pub name: String,
    pub description: String,
    /// This page (the forms post below it).
    pub url: String,
    pub members: Vec<AdminMemberRow>,
    pub ask_password: bool,
    pub error: Option<String>,
}

impl Page for AdminGroupPage {
    const TEMPLATE: &'static str = "admin_group.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let member =
            AdminMemberRow { id: "0".to_owned(), email: "<i>a</i>@example.com".to_owned(), disabled: true };
        vec![
            Self {
                name: "ops".to_owned(),
                description: "Operations".to_owned(),
                url: "/admin/groups/ops".to_owned(),
                members: vec![member],
                ask_password: true,
                error: Some("No <b>such</b> account".to_owned()),
            },
            Self {
                name: "empty".to_owned(),
                description: String::new(),
                url: "/admin/groups/empty".to_owned(),
                members: vec![],
                ask_password: false,
                error: None,
            },
        ]
    }
}

/// A registered OAuth client (never its secret).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminClientRow {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub first_party: bool,
    pub resource_server: bool,
    pub created_at: String,
    pub delete_url: String,
}

/// `admin_clients.html`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminClientsPage {
    pub clients: Vec<AdminClientRow>,
    pub ask_password: bool,
    pub error: Option<String>,
}

impl Page for AdminClientsPage {
    const TEMPLATE: &'static str = "admin_clients.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let client = AdminClientRow {
            id: "0123".to_owned(),
            name: "<script>Wiki</script>".to_owned(),
            redirect_uris: vec!["https://wiki.example.com/cb".to_owned()],
            public: true,
            first_party: true,
            resource_server: false,
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            delete_url: "/admin/clients/0123/delete".to_owned(),
        };
        vec![
            Self { clients: vec![client], ask_password: false, error: None },
            Self { clients: vec![], ask_password: true, error: Some("bad <uri>".to_owned()) },
        ]
    }
}

/// `admin_client_created.html`: the new client, its secret shown this once.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminClientCreatedPage {
    pub id: String,
    pub name: String,
    /// None for a public client.
    pub secret: Option<String>,
}

impl Page for AdminClientCreatedPage {
    const TEMPLATE: &'static str = "admin_client_created.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        vec![
            Self { id: "0123".to_owned(), name: "<b>Wiki</b>".to_owned(), secret: Some("s3cr3t".to_owned()) },
            Self { id: "0123".to_owned(), name: "SPA".to_owned(), secret: None },
        ]
    }
}

/// A webhook endpoint in `admin_webhooks.html` (never its secret).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminWebhookRow {
    pub id: String,
    pub url: String,
    /// `*` for every type.
    pub events: Vec<String>,
    pub created_at: String,
    pub delete_url: String,
    pub test_url: String,
}

/// `admin_webhooks.html`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminWebhooksPage {
    pub webhooks: Vec<AdminWebhookRow>,
    /// Every event type an endpoint may ask for.
    pub event_types: Vec<&'static str>,
    pub ask_password: bool,
    pub error: Option<String>,
    /// What a test delivery got.
    pub notice: Option<String>,
}

impl Page for AdminWebhooksPage {
    const TEMPLATE: &'static str = "admin_webhooks.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let row = AdminWebhookRow {
            id: "wh_0123".to_owned(),
            url: "https://hooks.example.com/<in>".to_owned(),
            events: vec!["user.created".to_owned(), "user.deleted".to_owned()],
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            delete_url: "/admin/webhooks/wh_0123/delete".to_owned(),
            test_url: "/admin/webhooks/wh_0123/test".to_owned(),
        };
        vec![
            Self {
                webhooks: vec![row],
                event_types: vec!["user.created", "user.deleted"],
                ask_password: false,
                error: None,
                notice: Some("answered 204".to_owned()),
            },
            Self {
                webhooks: vec![],
                event_types: vec!["user.created"],
                ask_password: true,
                error: Some("bad <url>".to_owned()),
                notice: None,
            },
        ]
    }
}

/// `admin_webhook_created.html`: the secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminWebhookCreatedPage {
    pub id: String,
    pub url: String,
    pub secret: String,
}

impl Page for AdminWebhookCreatedPage {
    const TEMPLATE: &'static str = "admin_webhook_created.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        vec![Self {
            id: "wh_0123".to_owned(),
            url: "https://hooks.example.com/<in>".to_owned(),
            secret: "whsec_c2VjcmV0".to_owned(),
        }]
    }
}

/// A signing key: its id, algorithm and dates (never key material).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminKeyRow {
    pub kid: String,
    pub alg: String,
    pub created_at: String,
    pub retired_at: Option<String>,
}

/// `admin_keys.html`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AdminKeysPage {
    pub keys: Vec<AdminKeyRow>,
    pub ask_password: bool,
    pub error: Option<String>,
}

impl Page for AdminKeysPage {
    const TEMPLATE: &'static str = "admin_keys.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let key = |retired: Option<&str>| AdminKeyRow {
            kid: "k1".to_owned(),
            alg: "EdDSA".to_owned(),
            created_at: "2026-01-01T00:00:00Z".to_owned(),
            retired_at: retired.map(str::to_owned),
        };
        vec![
            Self {
                keys: vec![key(None), key(Some("2026-02-01T00:00:00Z"))],
                ask_password: true,
                error: None,
            },
            Self { keys: vec![], ask_password: false, error: Some("<oops>".to_owned()) },
        ]
    }
}
