//! Email addresses (`Email::parse`, every registration, sign-in and change form):
//! one `@`, no characters that could end a header or quote, both as typed and in
//! the canonical form the store keys on, which is stable.

use portcullis_core::Email;
use proptest::prelude::*;

use crate::support::{config, text};

const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    ".",
    "-",
    "+",
    "@",
    "\u{ff20}",
    "\u{ff3a}",
    "\u{212a}",
    "example.com",
    " ",
    "\t",
    "\r\n",
    "<",
    ">",
    "\"",
    ",",
    ";",
    ":",
    "\\",
    "..",
    "\u{0130}",
    "\u{fb01}",
    "\u{2024}",
    "\u{fe52}",
    "\u{0}",
    "xn--",
];

fn forbidden(c: char) -> bool {
    c.is_control() || c.is_whitespace() || "<>()[]\\,;:\"".contains(c)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn accepted_addresses_are_one_mailbox_without_header_syntax(raw in text(PIECES)) {
        let Ok(email) = Email::parse(&raw) else { return Ok(()) };
        prop_assert_eq!(email.as_str(), raw.trim());
        for form in [email.as_str(), email.canonical()] {
            prop_assert!(form.len() <= 254, "{form:?}");
            prop_assert_eq!(form.matches('@').count(), 1, "{:?}", form);
            prop_assert!(!form.chars().any(forbidden), "{form:?}");
            let (local, domain) = form.split_once('@').unwrap();
            prop_assert!(!local.is_empty() && local.len() <= 64 && !domain.is_empty());
            prop_assert!(!domain.starts_with('.') && !domain.ends_with('.') && !domain.contains(".."));
        }
    }

    #[test]
    fn the_canonical_form_is_stable(raw in text(PIECES)) {
        let Ok(email) = Email::parse(&raw) else { return Ok(()) };
        let again = Email::parse(email.canonical()).expect("the canonical form is itself valid");
        prop_assert_eq!(again.canonical(), email.canonical());
        let upper = Email::parse(&email.as_str().to_ascii_uppercase());
        if let Ok(upper) = upper {
            prop_assert_eq!(upper.canonical(), email.canonical(), "ASCII case never makes a second account");
        }
    }

    #[test]
    fn surrounding_space_does_not_matter(raw in text(PIECES), pad in "[ \t\n]{0,3}") {
        let padded = format!("{pad}{raw}{pad}");
        prop_assert_eq!(
            Email::parse(&raw).map(|e| e.canonical().to_owned()),
            Email::parse(&padded).map(|e| e.canonical().to_owned())
        );
    }
}
