//! Devices an account has signed in from (issue #21): a long-lived browser cookie
//! holds a random id, the server keeps its SHA-256 per user (no fingerprinting). A
//! sign-in from a device the account has not used before is mailed to the user,
//! except the very first one of the account.

pub(crate) mod service;
pub mod store;

use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::accounts::user::UserId;
use crate::token::{SecretToken, TokenHash};

/// How long the device cookie lives (browsers cap cookies at 400 days).
pub const DEVICE_COOKIE_LIFETIME: time::Duration = time::Duration::days(400);

/// The stored form of a device id: SHA-256 over the account and the id, so the
/// same browser is a different row for each account.
pub fn device_hash(user: UserId, device: &SecretToken) -> TokenHash {
    let mut h = Sha256::new();
    h.update(b"portcullis device\0");
    h.update(user.to_string().as_bytes());
    h.update(b"\0");
    h.update(device.expose().as_bytes());
    TokenHash::from_bytes(h.finalize().into())
}

/// A device as stored and exported (never its id or hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub first_seen_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// The approximate client ("Firefox on Linux") at the first sign-in.
    pub client: String,
    pub ip: Option<String>,
}

/// What recording a sign-in's device found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSeen {
    /// The account's first device: nothing to tell.
    First,
    /// A device the account has not used before (the notice was queued).
    New,
    /// A device the account used before.
    Known,
}

/// "Firefox on Linux", "Safari on iPhone", ... from a `User-Agent`: approximate on
/// purpose (a sign-in notice, not an identification).
pub fn describe_client(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "an unknown client".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("reqwest", "a program"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    let os = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("a browser on {o}"),
        (None, None) => "an unknown client".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_user_agents_read_as_browser_and_system() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl"),
            ("", "an unknown client"),
            ("<script>", "an unknown client"),
        ];
        for (ua, expected) in cases {
            assert_eq!(describe_client(Some(ua)), expected, "{ua}");
        }
        assert_eq!(describe_client(None), "an unknown client");
    }

    #[test]
    fn one_device_hashes_differently_for_two_accounts() {
        let device = SecretToken::generate();
        let (a, b) = (UserId::new(), UserId::new());
        assert_eq!(device_hash(a, &device), device_hash(a, &device));
        assert_ne!(device_hash(a, &device), device_hash(b, &device));
    }
}
