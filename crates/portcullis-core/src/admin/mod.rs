//! Administration (SPEC §8): what administrators see of users and of the audit
//! trail, and the changes they make to other accounts. Every change is audited
//! with its actor (`ActedBy`) and refused with `last_admin` when it would leave no
//! enabled administrator. The listings page by key (newest first), never by
//! offset: a cursor names the last row seen.

mod cursor;
mod events;
mod overview;
pub mod store;
mod users;

use time::OffsetDateTime;

use crate::accounts::user::{User, UserId};
use crate::audit::EventKind;
use crate::error::{AuthError, FieldError};

pub use cursor::{EventCursor, UserCursor};
pub use overview::OVERVIEW_WINDOW;

/// Rows a listing returns when the request names no `limit`.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` a listing accepts.
pub const MAX_LIMIT: u32 = 200;

/// The code of the conflict a change that would leave no enabled administrator
/// answers.
pub const LAST_ADMIN: &str = "last_admin";

/// A user as administrators see it: never a hash, secret or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    pub user: User,
    /// The last successful sign-in (password, second step, passkey, tokens).
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// Browser sessions still active (not expired, second factor not owed).
    pub sessions: u64,
    pub passkeys: u64,
    /// Invited, and the invitation not accepted yet (no password set).
    pub invited: bool,
    /// The user's id in the application it was imported from (SPEC §9).
    pub external_id: Option<String>,
}

/// What the console's first page shows: accounts, and sign-ins of the last day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overview {
    /// Every account, invited and disabled ones included.
    pub users: u64,
    /// Browser sessions active now.
    pub active_sessions: u64,
    /// Successful sign-ins (`login_succeeded`) since `since`.
    pub sign_ins: u64,
    /// Refused sign-ins since `since`: a wrong password or unknown address
    /// (`login_failed`) or a wrong second factor (`mfa_failed`).
    pub failed_sign_ins: u64,
    /// Attempts refused by the sign-in throttle since `since` (`login_throttled`).
    pub throttled: u64,
    /// Accounts whose sign-in is locked out now (the escalating per-account lockout).
    pub locked_accounts: u64,
}

/// One page of a listing and the cursor of the next (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// `rows` as fetched with one more than `limit`: whether that one came back
    /// tells if there is a next page, which starts after the last row kept.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(cursor) } else { None };
        Self { items: rows, next }
    }
}

/// The canonical addresses starting with a prefix, as the byte range
/// `from <= email_canonical < to` (UTF-8 byte order is code point order, and both
/// backends compare the column byte by byte), so an index serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRange {
    pub from: String,
    pub to: String,
}

impl EmailRange {
    /// The range of addresses starting with `prefix` in canonical form (NFKC,
    /// lower case): case-insensitive, and literal (no character is a wildcard).
    fn prefix(prefix: &str) -> Self {
        let from = crate::accounts::email::canonical(prefix);
        let mut to = from.clone();
        // The smallest string after every one that starts with `from`: its last
        // character that has a successor, incremented, with what followed dropped.
        loop {
            let Some(c) = to.pop() else {
                // Only U+10FFFF: no stored address (254 bytes at most) reaches this.
                to = char::MAX.to_string().repeat(255);
                break;
            };
            if let Some(next) = successor(c) {
                to.push(next);
                break;
            }
        }
        Self { from, to }
    }
}

/// The next Unicode scalar value after `c`, if any.
fn successor(c: char) -> Option<char> {
    match c {
        '\u{D7FF}' => Some('\u{E000}'),
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// `GET /api/v1/admin/users`: which users, how many, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    pub email_prefix: Option<EmailRange>,
    pub limit: u32,
    pub after: Option<UserCursor>,
}

impl UserQuery {
    /// Reads the raw `q`, `limit` and `after` of a request; every invalid one is a
    /// field error (422).
    pub fn parse(q: Option<&str>, limit: Option<&str>, after: Option<&str>) -> Result<Self, AuthError> {
        let mut errors = Vec::new();
        let q = q.map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.len() > 254) {
            errors.push(FieldError::new("q", "too_long", "search with at most 254 bytes"));
        }
        let limit = parse_limit(limit, &mut errors);
        let after =
            after.and_then(|a| UserCursor::decode(a).ok_or_else(|| errors.push(invalid_cursor())).ok());
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        Ok(Self { email_prefix: q.map(EmailRange::prefix), limit, after })
    }
}

/// `GET /api/v1/admin/events`: whose events, of which kind, how many, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub user: Option<UserId>,
    pub kind: Option<EventKind>,
    pub limit: u32,
    pub after: Option<EventCursor>,
}

impl EventQuery {
    /// Reads the raw `user`, `kind`, `limit` and `after` of a request; every invalid
    /// one is a field error (422). A well-formed id of no user simply has no events.
    pub fn parse(
        user: Option<&str>,
        kind: Option<&str>,
        limit: Option<&str>,
        after: Option<&str>,
    ) -> Result<Self, AuthError> {
        let mut errors = Vec::new();
        let user = user.filter(|u| !u.is_empty()).and_then(|u| {
            UserId::parse(u)
                .ok_or_else(|| errors.push(FieldError::new("user", "invalid", "a user id (UUID)")))
                .ok()
        });
        let kind = kind.filter(|k| !k.is_empty()).and_then(|k| {
            EventKind::parse(k)
                .ok_or_else(|| {
                    errors.push(FieldError::new("kind", "invalid", "an event kind, e.g. login_failed"));
                })
                .ok()
        });
        let limit = parse_limit(limit, &mut errors);
        let after =
            after.and_then(|a| EventCursor::decode(a).ok_or_else(|| errors.push(invalid_cursor())).ok());
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        Ok(Self { user, kind, limit, after })
    }
}

/// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
fn parse_limit(raw: Option<&str>, errors: &mut Vec<FieldError>) -> u32 {
    let Some(raw) = raw else { return DEFAULT_LIMIT };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
        _ => {
            errors.push(FieldError::new(
                "limit",
                "out_of_range",
                format!("a whole number from 1 to {MAX_LIMIT}"),
            ));
            DEFAULT_LIMIT
        }
    }
}

fn invalid_cursor() -> FieldError {
    FieldError::new("after", "invalid", "pass the `next` of the previous page, unchanged")
}

/// `PATCH /api/v1/admin/users/{id}`: what to change (absent: unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub disabled: Option<bool>,
    pub email_verified: Option<bool>,
}

/// The refusal of a change that would leave no enabled administrator.
pub(crate) fn last_admin() -> AuthError {
    AuthError::Conflict {
        code: LAST_ADMIN,
        message: "refused: this would leave no enabled administrator (the last administrator \
                  cannot be disabled, deleted or removed from admin)",
    }
}

#[cfg(test)]
mod tests;
