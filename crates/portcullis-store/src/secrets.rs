//! Named server secrets (e.g. the key that seals TOTP secrets): the first node to
//! start stores its candidate, every node then uses the stored one.

use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Type};
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::error::Result;

/// The SQL of server secrets, on `pool`.
pub(crate) struct Secrets<'a, DB: sqlx::Database>(pub &'a Pool<DB>);

impl<DB> Secrets<'_, DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<Vec<u8>>: Encode<'q, DB>,
{
    pub(crate) async fn get_or_insert(
        &self,
        name: &str,
        candidate: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>> {
        sqlx::query(
            "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now.unix_timestamp())
        .execute(self.0)
        .await?;
        let value = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.0)
            .await?;
        Ok(value)
    }
}
