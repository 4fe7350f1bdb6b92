//! Security events: what happened to an account, when, from where, with what
//! outcome. Stored as the audit trail and logged as structured events; never with a
//! password, hash or token.

pub(crate) mod service;
pub mod store;

use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::service::ClientMeta;

/// The kinds of security event, each stored and logged (never with a password or token). `as_str` is the stable stored name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Register,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Logout,
    PasswordChanged,
    PasswordReset,
    EmailVerified,
    EmailChanged,
    MfaEnabled,
    MfaDisabled,
    SessionRevoked,
    AccountDeleted,
    UserDisabled,
    UserEnabled,
    RecoveryCodeUsed,
    MfaFailed,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    RefreshTokenReused,
    ConsentGranted,
    TokensRevoked,
    GroupCreated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    InvitationSent,
    InvitationAccepted,
}

impl EventKind {
    pub const ALL: [Self; 29] = [
        Self::Register,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::Logout,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::EmailVerified,
        Self::EmailChanged,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::SessionRevoked,
        Self::AccountDeleted,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::RecoveryCodeUsed,
        Self::MfaFailed,
        Self::PasskeyAdded,
        Self::PasskeyRenamed,
        Self::PasskeyRemoved,
        Self::RefreshTokenReused,
        Self::ConsentGranted,
        Self::TokensRevoked,
        Self::GroupCreated,
        Self::GroupDeleted,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::InvitationSent,
        Self::InvitationAccepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::Logout => "logout",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
            Self::EmailChanged => "email_changed",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::SessionRevoked => "session_revoked",
            Self::AccountDeleted => "account_deleted",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::MfaFailed => "mfa_failed",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRenamed => "passkey_renamed",
            Self::PasskeyRemoved => "passkey_removed",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::ConsentGranted => "consent_granted",
            Self::TokensRevoked => "tokens_revoked",
            Self::GroupCreated => "group_created",
            Self::GroupDeleted => "group_deleted",
            Self::GroupMemberAdded => "group_member_added",
            Self::GroupMemberRemoved => "group_member_removed",
            Self::InvitationSent => "invitation_sent",
            Self::InvitationAccepted => "invitation_accepted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// Whether the attempt behind an event succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub outcome: Outcome,
    pub user_id: Option<UserId>,
    pub client: ClientMeta,
    /// A short machine-readable reason (`wrong_password`, `unknown_email`, ...).
    pub detail: Option<String>,
    pub at: OffsetDateTime,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub outcome: String,
    pub user_id: Option<UserId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub created_at: OffsetDateTime,
}
