//! `TokenStore`, `OutboxStore`, `OAuthStore` and `PasskeyStore` for `SqlStore`:
//! each method hands over to the area file that owns its SQL.

use async_trait::async_trait;
use portcullis_core::keys::jwt::StoredKey;
use portcullis_core::mail::{MailSummary, NewMail, OutboxStats, QueuedMail};
use portcullis_core::oauth::{AuthCode, Client, CodeUse, NewRefresh, Rotation, TokenFamily};
use portcullis_core::passkeys::{Ceremony, PasskeyRecord, PasskeyStore};
use portcullis_core::store::{FamilyWithUser, NewAddress, NewToken, RefreshTokenState, StoredToken};
use portcullis_core::{OAuthStore, OutboxStore, StoreError, TokenHash, TokenStore, UserId};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqlStore;
use crate::backend::Backend;
use crate::oauth::clients::Clients;
use crate::oauth::families::Families;
use crate::oauth::keys::Keys;
use crate::outbox::Outbox;
use crate::passkeys::Passkeys;
use crate::tokens::Tokens;

type R<T> = Result<T, StoreError>;

#[async_trait]
impl<DB> TokenStore for SqlStore<DB>
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
    async fn issue_token(&self, token: &NewToken, mail: &NewMail) -> R<()> {
        Ok(Tokens(&self.pool).issue(token, mail).await?)
    }
    async fn find_token(&self, hash: TokenHash) -> R<Option<StoredToken>> {
        Ok(Tokens(&self.pool).find(hash).await?)
    }
    async fn list_tokens(&self, user: UserId) -> R<Vec<StoredToken>> {
        Ok(Tokens(&self.pool).list(user).await?)
    }
    async fn reset_password(
        &self,
        hash: TokenHash,
        password_hash: &str,
        now: OffsetDateTime,
        notice: &NewMail,
    ) -> R<Option<UserId>> {
        Ok(Tokens(&self.pool).reset_password(hash, password_hash, now, notice).await?)
    }
    async fn verify_email(&self, hash: TokenHash, now: OffsetDateTime) -> R<Option<UserId>> {
        Ok(Tokens(&self.pool).verify_email(hash, now).await?)
    }
    async fn change_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
        undo: &NewToken,
        notice: &NewMail,
    ) -> R<Option<UserId>> {
        Ok(Tokens(&self.pool).change_email(hash, to, now, undo, notice).await?)
    }
    async fn revert_email(
        &self,
        hash: TokenHash,
        to: NewAddress<'_>,
        now: OffsetDateTime,
    ) -> R<Option<UserId>> {
        Ok(Tokens(&self.pool).revert_email(hash, to, now).await?)
    }
    async fn purge_tokens(&self, before: OffsetDateTime) -> R<u64> {
        Ok(Tokens(&self.pool).purge(before).await?)
    }
}

#[async_trait]
impl<DB> OutboxStore for SqlStore<DB>
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
    async fn enqueue_mail(&self, mail: &NewMail) -> R<()> {
        Ok(Outbox(&self.pool).enqueue(mail).await?)
    }
    async fn claim_mails(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> R<Vec<QueuedMail>> {
        Ok(Outbox(&self.pool).claim(now, lease_until, limit).await?)
    }
    async fn mark_mail_sent(&self, id: i64, now: OffsetDateTime) -> R<()> {
        Ok(Outbox(&self.pool).mark_sent(id, now).await?)
    }
    async fn mark_mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> R<()> {
        Ok(Outbox(&self.pool).mark_failed(id, error, retry_at, now).await?)
    }
    async fn outbox_stats(&self, now: OffsetDateTime) -> R<OutboxStats> {
        Ok(Outbox(&self.pool).stats(now).await?)
    }
    async fn list_mails(&self, user: UserId) -> R<Vec<MailSummary>> {
        Ok(Outbox(&self.pool).list(user).await?)
    }
    async fn purge_outbox(&self, before: OffsetDateTime) -> R<u64> {
        Ok(Outbox(&self.pool).purge(before).await?)
    }
}

#[async_trait]
impl<DB> OAuthStore for SqlStore<DB>
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
    async fn insert_signing_key(&self, key: &StoredKey, retire_others: bool) -> R<()> {
        Ok(Keys(&self.pool).insert(key, retire_others).await?)
    }
    async fn list_signing_keys(&self, retired_after: OffsetDateTime) -> R<Vec<StoredKey>> {
        Ok(Keys(&self.pool).list(retired_after).await?)
    }
    async fn purge_signing_keys(&self, before: OffsetDateTime) -> R<u64> {
        Ok(Keys(&self.pool).purge(before).await?)
    }
    async fn create_client(&self, client: &Client) -> R<()> {
        Ok(Clients(&self.pool).create(client).await?)
    }
    async fn find_client(&self, id: &str) -> R<Option<Client>> {
        Ok(Clients(&self.pool).find(id).await?)
    }
    async fn list_clients(&self) -> R<Vec<Client>> {
        Ok(Clients(&self.pool).list().await?)
    }
    async fn delete_client(&self, id: &str) -> R<bool> {
        Ok(Clients(&self.pool).delete(id).await?)
    }
    async fn insert_code(&self, hash: TokenHash, code: &AuthCode) -> R<()> {
        Ok(Clients(&self.pool).insert_code(hash, code).await?)
    }
    async fn consume_code(&self, hash: TokenHash, family: Uuid, now: OffsetDateTime) -> R<CodeUse> {
        Ok(Clients(&self.pool).consume_code(hash, family, now).await?)
    }
    async fn find_consent(&self, user: UserId, client: &str) -> R<Option<String>> {
        Ok(Clients(&self.pool).find_consent(user, client).await?)
    }
    async fn grant_consent(&self, user: UserId, client: &str, scope: &str, now: OffsetDateTime) -> R<()> {
        Ok(Clients(&self.pool).grant_consent(user, client, scope, now).await?)
    }
    async fn create_family(&self, family: &TokenFamily, first: Option<&NewRefresh>) -> R<()> {
        Ok(Families(&self.pool).create(family, first).await?)
    }
    async fn rotate_refresh(
        &self,
        hash: TokenHash,
        client: Option<&str>,
        next: &NewRefresh,
        now: OffsetDateTime,
    ) -> R<Rotation> {
        Ok(Families(&self.pool).rotate(hash, client, next, now).await?)
    }
    async fn find_refresh_family(&self, hash: TokenHash) -> R<Option<RefreshTokenState>> {
        Ok(Families(&self.pool).find_by_refresh(hash).await?)
    }
    async fn find_family(&self, id: Uuid) -> R<Option<FamilyWithUser>> {
        Ok(Families(&self.pool).find(id).await?)
    }
    async fn revoke_family(&self, id: Uuid) -> R<bool> {
        Ok(Families(&self.pool).revoke(id).await?)
    }
    async fn list_families(&self, user: UserId) -> R<Vec<TokenFamily>> {
        Ok(Families(&self.pool).list(user).await?)
    }
    async fn purge_oauth(&self, before: OffsetDateTime) -> R<u64> {
        Ok(Families(&self.pool).purge(before).await?)
    }
}

#[async_trait]
impl<DB> PasskeyStore for SqlStore<DB>
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
    async fn begin_ceremony(&self, ceremony: &Ceremony, now: OffsetDateTime) -> R<()> {
        Ok(Passkeys(&self.pool).begin_ceremony(ceremony, now).await?)
    }
    async fn take_ceremony(&self, challenge_hash: &[u8; 32]) -> R<Option<Ceremony>> {
        Ok(Passkeys(&self.pool).take_ceremony(challenge_hash).await?)
    }
    async fn add_passkey(&self, passkey: &PasskeyRecord, notice: &NewMail) -> R<()> {
        Ok(Passkeys(&self.pool).add(passkey, notice).await?)
    }
    async fn list_passkeys(&self, user: UserId) -> R<Vec<PasskeyRecord>> {
        Ok(Passkeys(&self.pool).list(user).await?)
    }
    async fn find_passkey_by_credential_id(&self, credential_id: &[u8]) -> R<Option<PasskeyRecord>> {
        Ok(Passkeys(&self.pool).find_by_credential_id(credential_id).await?)
    }
    async fn passkey_used(&self, id: Uuid, credential: &str, sign_count: i64, now: OffsetDateTime) -> R<()> {
        Ok(Passkeys(&self.pool).used(id, credential, sign_count, now).await?)
    }
    async fn rename_passkey(&self, user: UserId, id: Uuid, name: &str) -> R<bool> {
        Ok(Passkeys(&self.pool).rename(user, id, name).await?)
    }
    async fn delete_passkey(&self, user: UserId, id: Uuid) -> R<bool> {
        Ok(Passkeys(&self.pool).delete(user, id).await?)
    }
}
