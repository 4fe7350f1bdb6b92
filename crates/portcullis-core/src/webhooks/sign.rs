//! The Standard Webhooks signature (<https://www.standardwebhooks.com>): headers
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
//! `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed by the decoded
//! part of the secret after `whsec_`. Receivers verify it with that project's
//! libraries (Python and Node `standardwebhooks`, among others).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use crate::webhooks::WebhookSecret;

/// The `webhook-signature` value for one message.
pub fn signature(secret: &WebhookSecret, id: &str, timestamp: i64, body: &str) -> String {
    let key = secret.key();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The three headers of a signed request.
pub fn headers(secret: &WebhookSecret, id: &str, timestamp: i64, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature(secret, id, timestamp, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_example_as_its_libraries_do() {
        // The example of the Standard Webhooks specification and test suites.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig =
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, r#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_generated_secret_is_whsec_and_32_bytes_of_base64() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().len(), 32);
        assert!(WebhookSecret::parse(secret.expose()).is_some());
        assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
    }
}
