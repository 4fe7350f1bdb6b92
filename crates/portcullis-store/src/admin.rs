//! The admin listings (SPEC §8): users newest first, optionally by email prefix,
//! and the audit trail by user and kind, each a keyset page: one range of an
//! index in key order, `LIMIT`ed, never an offset. Indexes (migration 0010):
//! users `(created_at, id)` and `(email_canonical, created_at, id)` (byte order
//! on both backends), events `(user_id, id)` and `(kind, id)`. A user's counts
//! are subqueries on `sessions_user_id` and `passkeys_user_id`, run for the rows
//! of one page. `admin/explain.rs` asks both databases for the plans.

use async_trait::async_trait;
use portcullis_core::UserId;
use portcullis_core::accounts::user::INVITED_PASSWORD_HASH;
use portcullis_core::admin::{AdminUser, EmailRange, EventCursor, Overview, UserCursor};
use portcullis_core::audit::{Event, EventKind};
use portcullis_core::store::AdminStore;
use sqlx::Row as _;
use time::OffsetDateTime;

use portcullis_store_macros::generic_sql;

use crate::SqlStore;
use crate::error::{R, Result};
use crate::events::Events;
use crate::rows::ts;
use crate::users::Users;

#[cfg(test)]
mod explain;

/// The SQL of the admin listings, on `pool`.
struct Admin<DB>(std::marker::PhantomData<DB>);

#[generic_sql]
impl<DB> Admin<DB> {
    /// Reads the user columns (see `Users::from_row`) and `last_sign_in_at`,
    /// `external_id`, `invited`, `sessions`, `passkeys`.
    fn from_row(row: &DB::Row) -> Result<AdminUser> {
        let count =
            |name: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
        Ok(AdminUser {
            user: Users::from_row(row)?,
            last_sign_in_at: row.try_get::<Option<i64>, _>("last_sign_in_at")?.map(ts).transpose()?,
            sessions: count("sessions")?,
            passkeys: count("passkeys")?,
            invited: row.try_get("invited")?,
            external_id: row.try_get("external_id")?,
        })
    }
}

/// A page of users, newest first, from the key `($3, $4)` on: a backward walk of
/// `users_created_at_id`, stopped by `LIMIT $5`.
pub(crate) const USERS_PAGE: &str =
    "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at,
        u.last_sign_in_at, u.external_id, u.password_hash = $1 AS invited,
        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups,
        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND NOT s.mfa_pending
            AND s.expires_at > $2 AND s.last_seen_at + s.idle_timeout_secs >= $2) AS sessions,
        (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys
     FROM users u
     WHERE (u.created_at, u.id) < ($3, $4)
     ORDER BY u.created_at DESC, u.id DESC LIMIT $5";

/// The same, of the addresses in `[$3, $4)`. The page's keys are chosen first,
/// then only its rows are read: the planner takes the range of
/// `users_email_created` (keys read from the index alone, the newest `LIMIT $7`
/// kept) or the backward walk of `users_created_at_id` keeping the addresses in
/// range, whichever it expects to read less of; SQLite, without statistics,
/// takes the range.
pub(crate) const USERS_PAGE_BY_EMAIL: &str =
    "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at,
        u.last_sign_in_at, u.external_id, u.password_hash = $1 AS invited,
        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups,
        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND NOT s.mfa_pending
            AND s.expires_at > $2 AND s.last_seen_at + s.idle_timeout_secs >= $2) AS sessions,
        (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys
     FROM (SELECT id FROM users
           WHERE email_canonical >= $3 AND email_canonical < $4 AND (created_at, id) < ($5, $6)
           ORDER BY created_at DESC, id DESC LIMIT $7) page
     JOIN users u ON u.id = page.id
     ORDER BY u.created_at DESC, u.id DESC";

/// Everyone's events, newest first, before the id `$1`: the primary key, backwards.
pub(crate) const EVENTS_PAGE: &str =
    "SELECT id, user_id, actor_id, kind, outcome, ip, user_agent, detail, created_at
     FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2";

/// One user's events: `events_user_id (user_id, id)`, backwards.
pub(crate) const EVENTS_BY_USER: &str =
    "SELECT id, user_id, actor_id, kind, outcome, ip, user_agent, detail, created_at
     FROM events WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";

/// One kind of event: `events_kind_id (kind, id)`, backwards.
pub(crate) const EVENTS_BY_KIND: &str =
    "SELECT id, user_id, actor_id, kind, outcome, ip, user_agent, detail, created_at
     FROM events WHERE kind = $1 AND id < $2 ORDER BY id DESC LIMIT $3";

/// One user's events of one kind: the user's range of `events_user_id`, filtered.
pub(crate) const EVENTS_BY_USER_AND_KIND: &str =
    "SELECT id, user_id, actor_id, kind, outcome, ip, user_agent, detail, created_at
     FROM events WHERE user_id = $1 AND kind = $2 AND id < $3 ORDER BY id DESC LIMIT $4";

/// The overview's counts, one statement: users (the smallest index, counted),
/// active sessions (as `Session::is_active` decides, second factor not owed),
/// sign-in events since `$2` (the range of `events_created_at`), and per-account
/// lockouts running at `$1`.
pub(crate) const OVERVIEW: &str = "SELECT
        (SELECT COUNT(*) FROM users) AS users,
        (SELECT COUNT(*) FROM sessions s WHERE NOT s.mfa_pending
            AND s.expires_at > $1 AND s.last_seen_at + s.idle_timeout_secs >= $1) AS sessions,
        (SELECT COUNT(*) FROM events WHERE created_at >= $2 AND kind = $3) AS sign_ins,
        (SELECT COUNT(*) FROM events WHERE created_at >= $2 AND kind IN ($4, $5)) AS failed,
        (SELECT COUNT(*) FROM events WHERE created_at >= $2 AND kind = $6) AS throttled,
        (SELECT COUNT(*) FROM throttle_state
            WHERE bucket LIKE 'login:account:%' AND locked_until > $1) AS locked";

/// Where a page starts when no cursor is given: before every row.
fn start(after: Option<UserCursor>) -> (i64, String) {
    after.map_or((i64::MAX, String::new()), |c| (c.created_at, c.id.to_string()))
}

#[async_trait]
#[generic_sql]
impl<DB> AdminStore for SqlStore<DB> {
    // `$1` is the invited marker and `$2` now in each query: an invited account's
    // hash is compared in SQL and never read; active sessions are counted as
    // `Session::is_active` decides.
    async fn admin_users(
        &self,
        email: Option<&EmailRange>,
        after: Option<UserCursor>,
        limit: u32,
        now: OffsetDateTime,
    ) -> R<Vec<AdminUser>> {
        self.run(async {
            let (created_at, id) = start(after);
            let rows = match email {
                None => {
                    sqlx::query(USERS_PAGE)
                        .bind(INVITED_PASSWORD_HASH)
                        .bind(now.unix_timestamp())
                        .bind(created_at)
                        .bind(id)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?
                }
                Some(range) => {
                    sqlx::query(USERS_PAGE_BY_EMAIL)
                        .bind(INVITED_PASSWORD_HASH)
                        .bind(now.unix_timestamp())
                        .bind(range.from.as_str())
                        .bind(range.to.as_str())
                        .bind(created_at)
                        .bind(id)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?
                }
            };
            rows.iter().map(Admin::<DB>::from_row).collect()
        })
        .await
    }

    async fn admin_user(&self, id: UserId, now: OffsetDateTime) -> R<Option<AdminUser>> {
        self.run(async {
            let row = sqlx::query(
                "SELECT u.id, u.email, u.email_verified, u.disabled, u.mfa_enabled, u.created_at,
                        u.last_sign_in_at, u.external_id, u.password_hash = $1 AS invited,
                        (SELECT string_agg(m.group_name, ',') FROM group_members m WHERE m.user_id = u.id) AS groups,
                        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND NOT s.mfa_pending
                            AND s.expires_at > $2 AND s.last_seen_at + s.idle_timeout_secs >= $2) AS sessions,
                        (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys
                 FROM users u WHERE u.id = $3",
            )
            .bind(INVITED_PASSWORD_HASH)
            .bind(now.unix_timestamp())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(Admin::<DB>::from_row).transpose()
        })
        .await
    }

    async fn admin_events(
        &self,
        user: Option<UserId>,
        kind: Option<EventKind>,
        after: Option<EventCursor>,
        limit: u32,
    ) -> R<Vec<Event>> {
        self.run(async {
            let before = after.map_or(i64::MAX, |c| c.id);
            let limit = i64::from(limit);
            let user = user.map(|u| u.to_string());
            let kind = kind.map(EventKind::as_str);
            let rows = match (user, kind) {
                (None, None) => {
                    sqlx::query(EVENTS_PAGE).bind(before).bind(limit).fetch_all(&self.pool).await?
                }
                (Some(user), None) => {
                    sqlx::query(EVENTS_BY_USER)
                        .bind(user)
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                }
                (None, Some(kind)) => {
                    sqlx::query(EVENTS_BY_KIND)
                        .bind(kind)
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                }
                (Some(user), Some(kind)) => {
                    sqlx::query(EVENTS_BY_USER_AND_KIND)
                        .bind(user)
                        .bind(kind)
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                }
            };
            rows.iter().map(Events::<DB>::from_row).collect()
        })
        .await
    }

    async fn admin_overview(&self, since: OffsetDateTime, now: OffsetDateTime) -> R<Overview> {
        self.run(async {
            let row = sqlx::query(OVERVIEW)
                .bind(now.unix_timestamp())
                .bind(since.unix_timestamp())
                .bind(EventKind::LoginSucceeded.as_str())
                .bind(EventKind::LoginFailed.as_str())
                .bind(EventKind::MfaFailed.as_str())
                .bind(EventKind::LoginThrottled.as_str())
                .fetch_one(&self.pool)
                .await?;
            let count =
                |name: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
            Ok(Overview {
                users: count("users")?,
                active_sessions: count("sessions")?,
                sign_ins: count("sign_ins")?,
                failed_sign_ins: count("failed")?,
                throttled: count("throttled")?,
                locked_accounts: count("locked")?,
            })
        })
        .await
    }
}
