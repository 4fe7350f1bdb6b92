//! What the use cases need from storage: one narrow trait per area, each next to
//! its area ([`UserStore`] in `accounts`, [`SessionStore`] in `sessions`, ...), and
//! [`Store`], which gathers them so that one `Arc<dyn Store>` reaches them all.
//! Methods are shaped like use cases and own their transaction; `portcullis-store`
//! implements them for SQLite and PostgreSQL.

use async_trait::async_trait;

pub use crate::accounts::import::store::{AddressCheck, ImportStore, ImportedUser, UserImport};
pub use crate::accounts::store::{Guarded, NewUser, Rehash, UserStore};
pub use crate::admin::store::AdminStore;
pub use crate::audit::store::AuditStore;
pub use crate::devices::store::{DeviceSighting, DeviceStore};
pub use crate::email_signin::store::EmailSignInStore;
pub use crate::groups::store::GroupStore;
pub use crate::keys::store::KeyStore;
pub use crate::mail::store::OutboxStore;
pub use crate::mfa::store::{MfaStore, TotpRecord};
pub use crate::oauth::store::{ClientStore, FamilyStore, FamilyWithUser, RefreshTokenState};
pub use crate::passkeys::store::PasskeyStore;
pub use crate::sessions::store::{NewSession, SessionStore, SessionWithUser};
pub use crate::throttle::store::ThrottleStore;
pub use crate::token::store::{NewAddress, NewToken, StoredToken, TokenStore};
pub use crate::upstream::store::IdentityStore;
pub use crate::webhooks::store::WebhookStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the payload names it (e.g. `"email"`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database cannot be reached right now.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

/// Every area's storage, and a health check.
#[async_trait]
pub trait Store:
    crate::accounts::page::AccountPageStore
    + UserStore
    + GroupStore
    + SessionStore
    + MfaStore
    + PasskeyStore
    + TokenStore
    + ClientStore
    + FamilyStore
    + KeyStore
    + OutboxStore
    + AuditStore
    + ThrottleStore
    + AdminStore
    + IdentityStore
    + ImportStore
    + EmailSignInStore
    + DeviceStore
    + WebhookStore
{
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}
