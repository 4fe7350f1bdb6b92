//! Email addresses, parsed once at the edge. Uniqueness ignores case and Unicode
//! compatibility forms: the canonical form (NFKC, then lower-cased) is what the
//! store keys on, so a fullwidth `ＺOE@example.com` is `zoe@example.com`.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

/// A syntactically valid email address.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    address: String,
    canonical: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("enter an email address")]
    Empty,
    #[error("enter a valid email address, like name@example.com")]
    Invalid,
    #[error("email addresses are at most 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.len() > 254 {
            return Err(EmailError::TooLong);
        }
        // The rules apply to the compatibility form too: a fullwidth `＠` or `＜`
        // must not become a second `@` or a `<` in the canonical address.
        let canonical = canonical(address);
        if canonical.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if !valid_syntax(address) || !valid_syntax(&canonical) {
            return Err(EmailError::Invalid);
        }
        Ok(Self { address: address.to_owned(), canonical })
    }

    /// The address as the user typed it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The NFKC-normalised, lower-cased form used for uniqueness and look-ups.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

/// `local@domain` with the characters a mailbox may hold on either side.
fn valid_syntax(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local.chars().all(|c| !c.is_control() && !c.is_whitespace() && !"<>()[]\\,;:\"".contains(c));
    let domain_ok = !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    local_ok && domain_ok
}

/// NFKC, lower case, NFKC again (lower-casing can leave a string that is not in
/// NFKC, e.g. after a compatibility character folds to an uppercase letter).
pub(crate) fn canonical(address: &str) -> String {
    let folded = address.nfkc().collect::<String>().to_lowercase();
    folded.nfkc().collect()
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.address).finish()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_ignores_case_and_surrounding_space() {
        let e = Email::parse("  Alice@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Alice@Example.COM");
        assert_eq!(e.canonical(), "alice@example.com");
    }

    #[test]
    fn canonical_form_folds_compatibility_characters() {
        let e = Email::parse("\u{ff3a}OE@example.com").unwrap();
        assert_eq!(e.as_str(), "\u{ff3a}OE@example.com", "kept as typed");
        assert_eq!(e.canonical(), "zoe@example.com");
        assert_eq!(Email::parse("\u{212a}im@example.com").unwrap().canonical(), "kim@example.com");
        // A fullwidth `@` or `<` would become syntax after normalisation.
        for bad in ["a\u{ff20}b@example.com", "a\u{ff1c}b@example.com", "ab@exa\u{ff0f}mple.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "alice@exa mple.com",
            "alice@.example.com",
            "alice@example..com",
            "al<i>ce@example.com",
            "alice@example.com\r\nBcc: x@y",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Email::parse(&format!("{}@example.com", "a".repeat(250))), Err(EmailError::TooLong));
    }
}
