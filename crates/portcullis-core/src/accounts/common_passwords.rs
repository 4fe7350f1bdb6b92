//! The bundled list of common passwords: the MIT-licensed password list of
//! `@zxcvbn-ts/language-common` 4.1.3 from the npm registry, 49,233 distinct
//! entries, lower-cased. `build.rs` compiles it into a sorted array; a look-up is a
//! binary search (no set is built at start-up).

include!(concat!(env!("OUT_DIR"), "/common_passwords.rs"));

/// Number of distinct passwords in the bundled list.
pub fn len() -> usize {
    LIST.len()
}

/// Whether `password` (already NFKC-normalised) is on the list, ignoring case.
pub fn contains(password: &str) -> bool {
    if password.len() > 64 {
        return false;
    }
    LIST.binary_search(&password.to_lowercase().as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn well_known_passwords_are_listed_in_any_case() {
        assert!(super::contains("password"));
        assert!(super::contains("PassWord"));
        assert!(super::contains("12345678"));
        assert!(!super::contains("correct horse battery staple 93!"));
        assert_eq!(super::len(), 49_233);
        assert!(super::LIST.windows(2).all(|w| w[0] < w[1]), "sorted for binary search");
    }
}
