//! Mail: what the use cases say to a user ([`MailMessage`]), how it becomes a mail
//! ([`MailComposer`], templates in the web crate), and how a queued mail leaves
//! ([`Mailer`], transports in the binary). Use cases never send: they put the mail in
//! the outbox in the same transaction as the change that causes it.

pub(crate) mod outbox;
pub mod store;

use std::fmt;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::accounts::email::Email;
use crate::accounts::user::UserId;
use crate::token::SecretToken;

/// A mail ready to send. The recipient is a parsed [`Email`] (no CR or LF can reach a
/// header); the subject is a fixed string chosen by the composer.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for OutgoingMail {
    /// Bodies may hold a secret link: never printed by `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A mail to put in the outbox: who it is about (so deleting or exporting the
/// account finds it) and when it was written.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub user_id: Option<UserId>,
    pub mail: OutgoingMail,
    pub at: OffsetDateTime,
}

/// A mail claimed from the outbox for one delivery attempt.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: OffsetDateTime,
    pub mail: OutgoingMail,
}

/// How full the outbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Not sent yet and still being tried.
    pub pending: u64,
    /// Of those, due now.
    pub due: u64,
    /// Given up on.
    pub failed: u64,
}

/// What the export shows of a mail: never its body (it may hold a link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    pub subject: String,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server is down, busy or answered 4xx: retry later.
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// The mail can never be delivered as it is (e.g. 5xx for the recipient).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

/// A mail transport (log, file, SMTP).
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Everything Portcullis writes to users. Links carry a [`SecretToken`]; the
/// composer builds them from the public URL.
#[derive(Debug, Clone, Copy)]
pub enum MailMessage<'a> {
    /// Confirm the address given at registration (or after a change of address).
    VerifyEmail { token: &'a SecretToken, expires_in: Duration },
    /// Someone tried to register (or move an account) to this address, which
    /// already has an account.
    AddressInUse,
    /// A link to set a new password.
    ResetPassword { token: &'a SecretToken, expires_in: Duration },
    /// The password was reset through a link; every session was ended.
    PasswordWasReset,
    /// The password was changed while signed in (or by an operator).
    PasswordChanged,
    /// Sent to the new address: follow the link to move the account here.
    ConfirmEmailChange { token: &'a SecretToken, expires_in: Duration },
    /// Sent to the old address once the change is done, with a link to undo it.
    EmailChanged { new_email: &'a Email, undo: &'a SecretToken, expires_in: Duration },
    /// The account and its data were deleted.
    AccountDeleted,
    /// Two-factor authentication was turned off (by the user or an operator).
    MfaDisabled,
    /// A passkey was added to the account.
    PasskeyAdded { name: &'a str },
    /// An account was made for this address by an administrator: follow the link
    /// to choose a password and sign in (SPEC §8).
    Invitation { token: &'a SecretToken, expires_in: Duration },
    /// A link and a code that sign the user in (issue #21).
    EmailSignIn { token: &'a SecretToken, code: &'a crate::email_signin::SignInCode, expires_in: Duration },
    /// Someone signed in from a device the account had not used before: when, the
    /// approximate client, the address.
    NewDeviceSignIn { at: OffsetDateTime, client: &'a str, ip: Option<&'a str> },
}

#[derive(Debug, thiserror::Error)]
#[error("cannot compose the mail: {0}")]
pub struct ComposeError(pub String);

/// Turns a [`MailMessage`] into subject, text and HTML for one recipient.
pub trait MailComposer: Send + Sync + 'static {
    fn compose(&self, to: &Email, message: &MailMessage<'_>) -> Result<OutgoingMail, ComposeError>;
}
