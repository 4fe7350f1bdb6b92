//! The account page's five lists on one pooled connection (see
//! `portcullis_core::accounts::page`): each area's own list statement, one pool
//! acquisition instead of five.

use async_trait::async_trait;
use portcullis_core::UserId;
use portcullis_core::accounts::page::{AccountLists, AccountPageStore};
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::error::R;
use crate::events::Events;
use crate::identities::Identities;
use crate::oauth::families::Families;
use crate::passkeys::Passkeys;
use crate::sessions::Sessions;

#[async_trait]
#[generic_sql]
impl<DB> AccountPageStore for SqlStore<DB> {
    async fn account_lists(&self, user: UserId, now: OffsetDateTime, events: i64) -> R<AccountLists> {
        self.run(async {
            let id = user.to_string();
            let mut conn = self.pool.acquire().await?;
            let sessions = sqlx::query(crate::sessions::LIST_SQL)
                .bind(&id)
                .bind(now.unix_timestamp())
                .fetch_all(&mut *conn)
                .await?;
            let families =
                sqlx::query(crate::oauth::families::LIST_SQL).bind(&id).fetch_all(&mut *conn).await?;
            let event_rows = sqlx::query(crate::events::LIST_OF_USER_SQL)
                .bind(&id)
                .bind(events)
                .fetch_all(&mut *conn)
                .await?;
            let passkeys = sqlx::query(crate::passkeys::LIST_SQL).bind(&id).fetch_all(&mut *conn).await?;
            let identities = sqlx::query(crate::identities::LIST_SQL).bind(&id).fetch_all(&mut *conn).await?;
            Ok(AccountLists {
                sessions: sessions.iter().map(Sessions::<DB>::from_row).collect::<Result<_, _>>()?,
                families: families.iter().map(Families::<DB>::from_row).collect::<Result<_, _>>()?,
                events: event_rows.iter().map(Events::<DB>::from_row).collect::<Result<_, _>>()?,
                passkeys: passkeys.iter().map(Passkeys::<DB>::from_row).collect::<Result<_, _>>()?,
                identities: identities.iter().map(Identities::<DB>::from_row).collect::<Result<_, _>>()?,
            })
        })
        .await
    }
}
