//! The account page's five lists in one store operation (see
//! `portcullis_core::accounts::page`): each area's own list statement, on one
//! pooled connection; on SQLite all five in one batch, so one round trip to the
//! connection's thread instead of five (BENCHMARKS.md, "Performance, round two").

use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use portcullis_core::UserId;
use portcullis_core::accounts::page::{AccountLists, AccountPageStore};
use sqlx::{Either, Executor as _};
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::error::R;
use crate::events::Events;
use crate::identities::Identities;
use crate::oauth::families::Families;
use crate::passkeys::Passkeys;
use crate::sessions::Sessions;

/// The five statements as one batch, for a backend that
/// [batches statements](crate::backend::Backend::BATCHES_STATEMENTS): `$1` the
/// user, `$2` now (sessions). The events statement's limit is written into the
/// batch rather than bound: SQLite plans a `LIMIT` for its bound value, so binding
/// one (even the same value again) makes it prepare the statement anew on every
/// execution (`sqlite3ExprIsInteger`; 9–12 % of the page's CPU in the profile).
/// An integer, so nothing but digits goes into the text; the page always asks for
/// the same number, so the connection's statement cache keeps one batch.
fn batch_sql(events: i64) -> String {
    [
        crate::sessions::LIST_SQL,
        crate::oauth::families::LIST_SQL,
        &crate::events::LIST_OF_USER_SQL.replace("$2", &events.to_string()),
        crate::passkeys::LIST_SQL,
        crate::identities::LIST_SQL,
    ]
    .join(";\n")
}

#[async_trait]
#[generic_sql]
impl<DB> AccountPageStore for SqlStore<DB> {
    async fn account_lists(&self, user: UserId, now: OffsetDateTime, events: i64) -> R<AccountLists> {
        self.run(async {
            let id = user.to_string();
            let mut conn = self.pool.acquire().await?;
            let mut rows: [Vec<DB::Row>; 5] = Default::default();
            if DB::BATCHES_STATEMENTS {
                // Safe: the five constant statements and the digits of an integer.
                let sql = sqlx::AssertSqlSafe(batch_sql(events));
                let batch = sqlx::query(sql).bind(&id).bind(now.unix_timestamp());
                let mut results = (&mut *conn).fetch_many(batch);
                // Each statement's rows, then its result.
                let mut list = 0;
                while let Some(step) = results.try_next().await? {
                    match step {
                        Either::Left(_) => list += 1,
                        Either::Right(row) => rows
                            .get_mut(list)
                            .ok_or_else(|| {
                                sqlx::Error::Protocol("rows after the batch's five statements".into())
                            })?
                            .push(row),
                    }
                }
            } else {
                rows[0] = sqlx::query(crate::sessions::LIST_SQL)
                    .bind(&id)
                    .bind(now.unix_timestamp())
                    .fetch_all(&mut *conn)
                    .await?;
                rows[1] =
                    sqlx::query(crate::oauth::families::LIST_SQL).bind(&id).fetch_all(&mut *conn).await?;
                rows[2] = sqlx::query(crate::events::LIST_OF_USER_SQL)
                    .bind(&id)
                    .bind(events)
                    .fetch_all(&mut *conn)
                    .await?;
                rows[3] = sqlx::query(crate::passkeys::LIST_SQL).bind(&id).fetch_all(&mut *conn).await?;
                rows[4] = sqlx::query(crate::identities::LIST_SQL).bind(&id).fetch_all(&mut *conn).await?;
            }
            let [sessions, families, event_rows, passkeys, identities] = rows;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// In the batch, the events statement's limit is the number asked for, and no
    /// statement uses a parameter beyond the two bound (`$1` user, `$2` now).
    #[test]
    fn the_batch_binds_the_user_and_now_and_writes_the_limit() {
        let sql = batch_sql(20);
        let statements: Vec<&str> = sql.split(";\n").collect();
        assert_eq!(statements.len(), 5);
        assert_eq!(crate::events::LIST_OF_USER_SQL.matches("$2").count(), 1);
        assert!(statements[2].ends_with("LIMIT 20"), "{}", statements[2]);
        assert!(statements[0].contains("$2"));
        for s in &statements {
            assert!(s.contains("$1") && !s.contains("$3"), "{s}");
        }
        for s in &statements[1..] {
            assert!(!s.contains("$2"), "{s}");
        }
    }
}
