//! Security events: what happened to an account, when, from where, with what
//! outcome. Stored as the audit trail and logged as structured events; never with a
//! password, hash or token.

pub(crate) mod service;
pub mod store;

use std::fmt;

use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::service::ClientMeta;

/// Who made a change to someone else's account or to a group, as recorded in the
/// audit trail (`events.actor_id`): the command line is `cli`, an administrator
/// their user id. An event without an actor was caused by its user (or by nobody
/// known, for a failed sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Cli,
    User(UserId),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cli => f.write_str("cli"),
            Self::User(id) => id.fmt(f),
        }
    }
}

/// An actor and where the change came from (the administrator's address and
/// browser; `portcullis-cli` for the command line).
#[derive(Debug, Clone)]
pub struct ActedBy {
    pub actor: Actor,
    pub client: ClientMeta,
}

impl ActedBy {
    /// The command line.
    pub fn cli() -> Self {
        Self { actor: Actor::Cli, client: ClientMeta::operator() }
    }

    /// An administrator, through the API or the admin pages.
    pub fn admin(id: UserId, client: ClientMeta) -> Self {
        Self { actor: Actor::User(id), client }
    }

    /// The short `detail` of an event about a user's account: `by_operator` for
    /// the command line, `by_admin` for an administrator (who is in `actor_id`).
    pub fn detail(&self) -> &'static str {
        match self.actor {
            Actor::Cli => "by_operator",
            Actor::User(_) => "by_admin",
        }
    }
}

impl From<Actor> for ActedBy {
    /// An actor with no address known (the command line's is `portcullis-cli`).
    fn from(actor: Actor) -> Self {
        match actor {
            Actor::Cli => Self::cli(),
            Actor::User(_) => Self { actor, client: ClientMeta::default() },
        }
    }
}

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
    /// An administrator ended every session and token family of the user.
    SignedOutEverywhere,
    /// An administrator had a password-reset link mailed to the user.
    PasswordResetSent,
    /// An administrator marked the address as not verified.
    EmailUnverified,
    /// An OAuth client was registered (`detail`: `client=ID`).
    ClientCreated,
    /// An OAuth client was deleted with everything issued to it.
    ClientDeleted,
    /// A new token signing key replaced the current one (`detail`: `kid=KID`).
    SigningKeyRotated,
    /// An upstream identity was linked to the account (`detail`: `provider=ID`).
    IdentityLinked,
    /// An upstream identity was unlinked from the account.
    IdentityUnlinked,
    /// The command line imported users (SPEC §9); the detail holds the counts.
    UsersImported,
    /// A sign-in link and code were mailed to the account (issue #21).
    EmailSignInRequested,
    /// A wrong sign-in code was entered for the account.
    EmailSignInFailed,
    /// A sign-in from a device the account had not used before (`detail`: the
    /// approximate client); the user was mailed.
    NewDeviceSignIn,
    /// A webhook endpoint was registered (`detail`: `webhook=ID`).
    WebhookCreated,
    /// A webhook endpoint was deleted with its waiting deliveries (`detail`:
    /// `webhook=ID`).
    WebhookDeleted,
}

impl EventKind {
    pub const ALL: [Self; 43] = [
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
        Self::SignedOutEverywhere,
        Self::PasswordResetSent,
        Self::EmailUnverified,
        Self::ClientCreated,
        Self::ClientDeleted,
        Self::SigningKeyRotated,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
        Self::UsersImported,
        Self::EmailSignInRequested,
        Self::EmailSignInFailed,
        Self::NewDeviceSignIn,
        Self::WebhookCreated,
        Self::WebhookDeleted,
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
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::PasswordResetSent => "password_reset_sent",
            Self::EmailUnverified => "email_unverified",
            Self::ClientCreated => "client_created",
            Self::ClientDeleted => "client_deleted",
            Self::SigningKeyRotated => "signing_key_rotated",
            Self::IdentityLinked => "identity_linked",
            Self::IdentityUnlinked => "identity_unlinked",
            Self::UsersImported => "users_imported",
            Self::EmailSignInRequested => "email_signin_requested",
            Self::EmailSignInFailed => "email_signin_failed",
            Self::NewDeviceSignIn => "new_device_signin",
            Self::WebhookCreated => "webhook_created",
            Self::WebhookDeleted => "webhook_deleted",
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
    /// Who made the change, when not the user themself.
    pub actor: Option<Actor>,
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
    /// `cli`, or the id of the administrator who made the change; `None` when the
    /// user did (or for a failed sign-in, nobody known).
    pub actor_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    pub created_at: OffsetDateTime,
}
