//! What the account page lists, read in one store operation: the page showed five
//! lists read by five operations, each a pool acquisition and, on SQLite, a round
//! trip to another thread (BENCHMARKS.md, "Performance, round two").

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::accounts::user::{User, UserId};
use crate::audit::Event;
use crate::error::AuthError;
use crate::oauth::TokenFamily;
use crate::passkeys::PasskeyRecord;
use crate::service::Auth;
use crate::sessions::Session;
use crate::store::StoreError;
use crate::upstream::LinkedIdentity;

/// The user's live sessions, token families, latest events, passkeys and linked
/// identities, as the separate list operations return them.
#[derive(Debug, Clone, Default)]
pub struct AccountLists {
    pub sessions: Vec<Session>,
    pub families: Vec<TokenFamily>,
    pub events: Vec<Event>,
    pub passkeys: Vec<PasskeyRecord>,
    pub identities: Vec<LinkedIdentity>,
}

/// Reading [`AccountLists`] on one connection.
#[async_trait]
pub trait AccountPageStore: Send + Sync + 'static {
    async fn account_lists(
        &self,
        user: UserId,
        now: OffsetDateTime,
        events: i64,
    ) -> Result<AccountLists, StoreError>;
}

impl Auth {
    /// Everything the account page lists for `user` (the last `events` events).
    pub async fn account_lists(&self, user: &User, events: i64) -> Result<AccountLists, AuthError> {
        Ok(self.store.account_lists(user.id, self.clock.now(), events).await?)
    }
}
