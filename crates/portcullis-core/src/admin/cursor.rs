//! The opaque cursors of the admin listings: base64url of the last row's key.
//! Opaque so clients pass them back unchanged rather than build them; a cursor
//! that does not decode is refused (422), never read as "from the start".

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::accounts::user::UserId;

/// Where a page of users starts: after the user created at `created_at` (Unix
/// seconds) with id `id`, in the order (created_at DESC, id DESC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCursor {
    pub created_at: i64,
    pub id: UserId,
}

impl UserCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created_at, self.id))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let text = decoded(raw)?;
        let (created_at, id) = text.split_once(':')?;
        Some(Self { created_at: created_at.parse().ok()?, id: UserId::parse(id)? })
    }
}

/// Where a page of events starts: after the event `id` (newest, highest id, first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    pub id: i64,
}

impl EventCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("event:{}", self.id))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let id = decoded(raw)?.strip_prefix("event:")?.parse().ok()?;
        Some(Self { id })
    }
}

fn decoded(raw: &str) -> Option<String> {
    // A key is short; anything long is not one of ours.
    if raw.len() > 128 {
        return None;
    }
    String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()
}
