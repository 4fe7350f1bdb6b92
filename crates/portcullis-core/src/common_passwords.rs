//! The bundled list of common passwords (the MIT-licensed password list of
//! `@zxcvbn-ts/language-common` 4.1.3 from the npm registry, 49,233 entries,
//! lower-cased), checked case-insensitively.

use std::collections::HashSet;
use std::sync::LazyLock;

static LIST: &str = include_str!("../data/common-passwords.txt");

static SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| LIST.lines().collect());

/// Number of distinct passwords in the bundled list.
pub fn len() -> usize {
    SET.len()
}

/// Whether `password` (already NFKC-normalised) is on the list, ignoring case.
pub fn contains(password: &str) -> bool {
    if password.len() > 64 {
        return false;
    }
    SET.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn well_known_passwords_are_listed_in_any_case() {
        assert!(super::contains("password"));
        assert!(super::contains("PassWord"));
        assert!(super::contains("12345678"));
        assert!(!super::contains("correct horse battery staple 93!"));
        assert!(super::len() > 40_000);
    }
}
