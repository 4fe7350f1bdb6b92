//! Turning stored scalars back into domain values (timestamps, ids, hashes); a value
//! the domain rejects is a decode error, never a panic.

use portcullis_core::{TokenHash, UserId};
use time::OffsetDateTime;

use crate::error::decode;

/// Timestamps are stored as Unix seconds.
pub(crate) fn ts(v: i64) -> Result<OffsetDateTime, sqlx::Error> {
    OffsetDateTime::from_unix_timestamp(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn user_id(raw: &str) -> Result<UserId, sqlx::Error> {
    UserId::parse(raw).ok_or_else(|| decode(format!("invalid user id {raw:?}")))
}

pub(crate) fn uuid(raw: &str) -> Result<uuid::Uuid, sqlx::Error> {
    uuid::Uuid::parse_str(raw).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn hash32(raw: &[u8]) -> Result<TokenHash, sqlx::Error> {
    let bytes: [u8; 32] = raw.try_into().map_err(|_| decode("a stored hash is not 32 bytes"))?;
    Ok(TokenHash::from_bytes(bytes))
}
