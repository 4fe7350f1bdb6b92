//! `Store` for `SqlStore`: each method hands over to the area that owns its SQL
//! (`users`, `sessions`, `mfa`, `events`, `throttle`, `secrets`), and `?` turns the
//! store's `Error` into a core `StoreError` on the way out.

use async_trait::async_trait;
use portcullis_core::accounts::user::Credentials;
use portcullis_core::audit::{Event, NewEvent};
use portcullis_core::mail::NewMail;
use portcullis_core::store::{NewSession, NewToken, NewUser, SessionWithUser, TotpRecord};
use portcullis_core::throttle::{Limit, Throttle};
use portcullis_core::{Session, Store, StoreError, TokenHash, User, UserId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqlStore;
use crate::backend::Backend;
use crate::events::Events;
use crate::mfa::Mfa;
use crate::secrets::Secrets;
use crate::sessions::Sessions;
use crate::throttle::Throttles;
use crate::users::Users;

type R<T> = Result<T, StoreError>;

#[async_trait]
impl<DB> Store for SqlStore<DB>
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
    async fn ping(&self) -> R<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(crate::Error::from)?;
        Ok(())
    }

    async fn create_user(&self, u: NewUser<'_>, verification: Option<(&NewToken, &NewMail)>) -> R<User> {
        Ok(Users(&self.pool).create(u, verification).await?)
    }
    async fn find_credentials_by_email(&self, email_canonical: &str) -> R<Option<Credentials>> {
        Ok(Users(&self.pool).credentials_by_email(email_canonical).await?)
    }
    async fn find_credentials_by_id(&self, id: UserId) -> R<Option<Credentials>> {
        Ok(Users(&self.pool).credentials_by_id(id).await?)
    }
    async fn list_users(&self) -> R<Vec<User>> {
        Ok(Users(&self.pool).list().await?)
    }
    async fn set_user_disabled(&self, id: UserId, disabled: bool, now: OffsetDateTime) -> R<bool> {
        Ok(Users(&self.pool).set_disabled(id, disabled, now).await?)
    }
    async fn delete_user(&self, id: UserId, notice: Option<&NewMail>) -> R<bool> {
        Ok(Users(&self.pool).delete(id, notice).await?)
    }
    async fn update_password_hash(&self, id: UserId, password_hash: &str) -> R<()> {
        Ok(Users(&self.pool).update_password_hash(id, password_hash).await?)
    }
    async fn change_password(
        &self,
        id: UserId,
        password_hash: &str,
        now: OffsetDateTime,
        keep: Option<TokenHash>,
        notice: Option<&NewMail>,
    ) -> R<()> {
        Ok(Users(&self.pool).change_password(id, password_hash, now, keep, notice).await?)
    }

    async fn create_session(&self, new: NewSession<'_>) -> R<()> {
        Ok(Sessions(&self.pool).create(new).await?)
    }
    async fn find_session(&self, token_hash: TokenHash) -> R<Option<SessionWithUser>> {
        Ok(Sessions(&self.pool).find(token_hash).await?)
    }
    async fn touch_session(&self, token_hash: TokenHash, now: OffsetDateTime) -> R<()> {
        Ok(Sessions(&self.pool).touch(token_hash, now).await?)
    }
    async fn delete_session(&self, token_hash: TokenHash) -> R<()> {
        Ok(Sessions(&self.pool).delete(token_hash).await?)
    }
    async fn delete_user_sessions(&self, user: UserId) -> R<u64> {
        Ok(Sessions(&self.pool).delete_all_of(user).await?)
    }
    async fn delete_session_by_id(&self, user: UserId, id: Uuid) -> R<bool> {
        Ok(Sessions(&self.pool).delete_by_id(user, id).await?)
    }
    async fn list_sessions(&self, user: UserId, now: OffsetDateTime) -> R<Vec<Session>> {
        Ok(Sessions(&self.pool).list(user, now).await?)
    }
    async fn count_active_sessions(&self, now: OffsetDateTime) -> R<i64> {
        Ok(Sessions(&self.pool).count_active(now).await?)
    }
    async fn purge_expired_sessions(&self, now: OffsetDateTime) -> R<u64> {
        Ok(Sessions(&self.pool).purge_expired(now).await?)
    }

    async fn totp(&self, user: UserId) -> R<Option<TotpRecord>> {
        Ok(Mfa(&self.pool).totp(user).await?)
    }
    async fn totp_begin(&self, user: UserId, sealed_secret: &[u8], now: OffsetDateTime) -> R<()> {
        Ok(Mfa(&self.pool).totp_begin(user, sealed_secret, now).await?)
    }
    async fn totp_confirm(&self, user: UserId, step: i64, recovery_hashes: &[[u8; 32]]) -> R<()> {
        Ok(Mfa(&self.pool).totp_confirm(user, step, recovery_hashes).await?)
    }
    async fn totp_use_step(&self, user: UserId, step: i64) -> R<bool> {
        Ok(Mfa(&self.pool).totp_use_step(user, step).await?)
    }
    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32], now: OffsetDateTime) -> R<bool> {
        Ok(Mfa(&self.pool).use_recovery_code(user, hash, now).await?)
    }
    async fn replace_recovery_codes(&self, user: UserId, hashes: &[[u8; 32]]) -> R<()> {
        Ok(Mfa(&self.pool).replace_recovery_codes(user, hashes).await?)
    }
    async fn recovery_codes_left(&self, user: UserId) -> R<i64> {
        Ok(Mfa(&self.pool).recovery_codes_left(user).await?)
    }
    async fn mfa_disable(&self, user: UserId) -> R<()> {
        Ok(Mfa(&self.pool).disable(user).await?)
    }

    async fn insert_event(&self, event: &NewEvent) -> R<()> {
        Ok(Events(&self.pool).insert(event).await?)
    }
    async fn list_events(&self, user: Option<UserId>, limit: i64) -> R<Vec<Event>> {
        Ok(Events(&self.pool).list(user, limit).await?)
    }
    async fn purge_events(&self, before: OffsetDateTime) -> R<u64> {
        Ok(Events(&self.pool).purge(before).await?)
    }

    async fn throttle(&self, bucket: &str, limit: Limit, escalate: bool, now: OffsetDateTime) -> R<Throttle> {
        Ok(Throttles(&self.pool).hit(bucket, limit, escalate, now).await?)
    }
    async fn unthrottle(&self, hit: i64) -> R<()> {
        Ok(Throttles(&self.pool).unthrottle(hit).await?)
    }
    async fn reset_throttle(&self, bucket: &str) -> R<()> {
        Ok(Throttles(&self.pool).reset(bucket).await?)
    }
    async fn purge_throttle(&self, before: OffsetDateTime) -> R<u64> {
        Ok(Throttles(&self.pool).purge(before).await?)
    }

    async fn get_or_create_secret(&self, name: &str, candidate: &[u8], now: OffsetDateTime) -> R<Vec<u8>> {
        Ok(Secrets(&self.pool).get_or_insert(name, candidate, now).await?)
    }
}
