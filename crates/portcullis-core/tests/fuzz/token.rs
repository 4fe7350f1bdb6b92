//! Session ids and emailed tokens (`SecretToken::parse`): exactly the canonical
//! base64url of 32 bytes, so one token has one spelling and one hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::passkeys::CeremonyKind;
use portcullis_core::{SecretToken, TokenKind};
use proptest::prelude::*;

use crate::support::{config, text};

const PIECES: &[&str] = &[
    "A",
    "z",
    "0",
    "9",
    "-",
    "_",
    "+",
    "/",
    "=",
    " ",
    "%3D",
    "\"",
    ";",
    "\0",
    "é",
    "AAAAAAAAAAAAAAAAAAAAAA",
];

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_32_bytes_round_trip(bytes in any::<[u8; 32]>()) {
        let raw = URL_SAFE_NO_PAD.encode(bytes);
        let token = SecretToken::parse(&raw).expect("the canonical spelling is accepted");
        prop_assert_eq!(token.expose(), raw.as_str());
        prop_assert_eq!(token.hash(), SecretToken::parse(&raw).unwrap().hash());
    }

    #[test]
    fn only_the_canonical_spelling_of_32_bytes_is_accepted(raw in text(PIECES)) {
        if let Some(token) = SecretToken::parse(&raw) {
            prop_assert_eq!(token.expose(), raw.as_str());
            let bytes = URL_SAFE_NO_PAD.decode(&raw).expect("accepted means base64url");
            prop_assert_eq!(bytes.len(), 32);
            prop_assert_eq!(URL_SAFE_NO_PAD.encode(&bytes), raw, "one spelling per token");
        }
    }

    #[test]
    fn a_changed_character_is_another_token_or_refused(bytes in any::<[u8; 32]>(), at in 0..43usize, c in any::<char>()) {
        let raw = URL_SAFE_NO_PAD.encode(bytes);
        let mut chars: Vec<char> = raw.chars().collect();
        prop_assume!(chars[at] != c);
        chars[at] = c;
        let changed: String = chars.into_iter().collect();
        if let Some(other) = SecretToken::parse(&changed) {
            prop_assert_ne!(other.hash(), SecretToken::parse(&raw).unwrap().hash());
        }
    }

    #[test]
    fn stored_kind_names_parse_only_exactly(raw in text(&["verify_email", "reset_password", "change_email", "revert_email", "register", "login", "second_factor", " ", "_", "E"])) {
        if let Some(kind) = TokenKind::parse(&raw) {
            prop_assert_eq!(kind.as_str(), raw.as_str());
        }
        if let Some(kind) = CeremonyKind::parse(&raw) {
            prop_assert_eq!(kind.as_str(), raw.as_str());
        }
    }
}
