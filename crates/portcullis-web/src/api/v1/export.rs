//! `GET /api/v1/me/export`: everything Portcullis holds about the signed-in user, as
//! one JSON document (never a password hash, token or mail body).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;

use super::Routes;
use super::me::{EventResponse, IdentityResponse, SessionResponse};
use super::passkeys::PasskeyResponse;
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::paths;
use crate::state::AppState;

pub(super) fn routes() -> Routes {
    Routes::new().get(paths::API_ME_EXPORT, export)
}

#[derive(Serialize)]
#[expect(clippy::struct_excessive_bools, reason = "mirrors the account flags")]
struct Profile {
    id: String,
    email: String,
    email_verified: bool,
    mfa_enabled: bool,
    is_admin: bool,
    disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    groups: Vec<String>,
    /// The id the user had in the application they were imported from (SPEC §9).
    external_id: Option<String>,
}

/// An emailed link, without its secret.
#[derive(Serialize)]
struct EmailLink {
    purpose: &'static str,
    address: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    used_at: Option<OffsetDateTime>,
}

/// A mail, without its body.
#[derive(Serialize)]
struct Mail {
    subject: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    sent_at: Option<OffsetDateTime>,
}

#[derive(Serialize)]
struct Export {
    #[serde(with = "time::serde::rfc3339")]
    exported_at: OffsetDateTime,
    profile: Profile,
    sessions: Vec<SessionResponse>,
    security_events: Vec<EventResponse>,
    email_links: Vec<EmailLink>,
    mails: Vec<Mail>,
    mfa: MfaExport,
    /// Names, counters and dates; never the key material.
    passkeys: Vec<PasskeyResponse>,
    token_grants: Vec<TokenGrant>,
    /// Upstream sign-in providers linked to the account.
    identities: Vec<IdentityResponse>,
    /// Devices the account signed in from (never their ids).
    devices: Vec<Device>,
}

/// A device the account signed in from, without its id.
#[derive(Serialize)]
struct Device {
    client: String,
    ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen_at: OffsetDateTime,
}

/// A refresh-token family: which client holds tokens, since when (never a token).
#[derive(Serialize)]
struct TokenGrant {
    id: String,
    /// The OAuth client; `null` for `/api/v1/tokens`.
    client_id: Option<String>,
    scope: String,
    #[serde(with = "time::serde::rfc3339")]
    signed_in_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// MFA methods, without their secrets.
#[derive(Serialize)]
struct MfaExport {
    totp: bool,
    recovery_codes_left: i64,
}

async fn export(State(state): State<AppState>, CurrentUser(me): CurrentUser) -> Result<Response, ApiError> {
    let data = state.auth().export_account(&me.user).await?;
    let u = data.user;
    let is_admin = u.is_admin();
    let body = Export {
        exported_at: data.exported_at,
        profile: Profile {
            id: u.id.to_string(),
            email: u.email,
            email_verified: u.email_verified,
            mfa_enabled: u.mfa_enabled,
            is_admin,
            disabled: u.disabled,
            created_at: u.created_at,
            groups: u.groups,
            external_id: data.external_id,
        },
        sessions: data.sessions.into_iter().map(|s| SessionResponse::new(s, me.session.id)).collect(),
        security_events: data.events.into_iter().map(EventResponse::from).collect(),
        email_links: data
            .tokens
            .into_iter()
            .map(|t| EmailLink {
                purpose: t.kind.as_str(),
                address: t.new_email,
                created_at: t.created_at,
                expires_at: t.expires_at,
                used_at: t.used_at,
            })
            .chain(data.email_signin.map(|r| EmailLink {
                purpose: "email_signin",
                address: None,
                created_at: r.created_at,
                expires_at: r.expires_at,
                used_at: None,
            }))
            .collect(),
        mails: data
            .mails
            .into_iter()
            .map(|m| Mail { subject: m.subject, created_at: m.created_at, sent_at: m.sent_at })
            .collect(),
        mfa: MfaExport { totp: u.mfa_enabled, recovery_codes_left: data.recovery_codes_left },
        passkeys: data.passkeys.iter().map(PasskeyResponse::from).collect(),
        identities: data.identities.into_iter().map(|i| IdentityResponse::new(&state, i)).collect(),
        devices: data
            .devices
            .into_iter()
            .map(|d| Device {
                client: d.client,
                ip: d.ip,
                first_seen_at: d.first_seen_at,
                last_seen_at: d.last_seen_at,
            })
            .collect(),
        token_grants: data
            .token_families
            .into_iter()
            .map(|f| TokenGrant {
                id: f.id.to_string(),
                client_id: f.client_id,
                scope: f.scope,
                signed_in_at: f.auth_time,
                created_at: f.created_at,
            })
            .collect(),
    };
    let disposition = (header::CONTENT_DISPOSITION, "attachment; filename=\"portcullis-account.json\"");
    Ok(([disposition], Json(body)).into_response())
}
