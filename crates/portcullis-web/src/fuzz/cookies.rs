//! The `Cookie` header (`cookies::get`, the session, CSRF, flash and passkey
//! cookies): a cookie is found only under its exact name, first occurrence
//! first, across several headers; what `CookieNames::set` writes reads back.

use axum::http::{HeaderMap, HeaderValue, header};
use proptest::prelude::*;
use time::Duration;

use super::{config, text};
use crate::cookies::{self, CookieNames};

const SESSION: &str = "portcullis_session";

/// Names a browser may send next to ours, some of them near misses.
const NAMES: &[&str] = &[
    "portcullis_session",
    "__Host-portcullis_session",
    "xportcullis_session",
    "portcullis_session_",
    "PORTCULLIS_SESSION",
    "portcullis_csrf",
    "portcullis",
    "_ga",
];

/// Cookie values as browsers store them (RFC 6265 cookie-octets).
fn value() -> impl Strategy<Value = String> {
    "[!#-+\\--:<-\\[\\]-~]{0,50}"
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_cookie_is_found_by_its_exact_name_first_occurrence_first(
        jar in prop::collection::vec((prop::sample::select(NAMES), value()), 0..8),
        split in prop::collection::vec(any::<bool>(), 8),
        spaces in prop::collection::vec("[ ]{0,2}", 8),
    ) {
        let mut headers = HeaderMap::new();
        let mut line = String::new();
        for (i, (name, value)) in jar.iter().enumerate() {
            if !line.is_empty() {
                if split[i] {
                    headers.append(header::COOKIE, HeaderValue::from_str(&line).unwrap());
                    line.clear();
                } else {
                    line.push(';');
                    line.push_str(&spaces[i]);
                }
            }
            line.push_str(name);
            line.push('=');
            line.push_str(value);
        }
        if !line.is_empty() {
            headers.append(header::COOKIE, HeaderValue::from_str(&line).unwrap());
        }
        let expected = jar.iter().find(|(n, _)| *n == SESSION).map(|(_, v)| v.trim_matches('"'));
        prop_assert_eq!(cookies::get(&headers, SESSION), expected);
    }

    #[test]
    fn any_cookie_header_yields_a_piece_of_itself_or_nothing(
        raw in prop::collection::vec(text(&["portcullis_session", "=", ";", " ", "\"", ",", "\t", "%3B", "\u{80}"]), 1..3),
    ) {
        let mut headers = HeaderMap::new();
        let mut lines = Vec::new();
        for r in &raw {
            if let Ok(v) = HeaderValue::from_str(r) {
                headers.append(header::COOKIE, v);
                lines.push(r.as_str());
            }
        }
        if let Some(found) = cookies::get(&headers, SESSION) {
            prop_assert!(!found.contains(';'));
            let named = format!("{SESSION}=");
            prop_assert!(lines.iter().any(|l| l.contains(&named) && l.contains(found)), "{found:?} from {lines:?}");
        }
    }

    #[test]
    fn what_set_writes_a_browser_sends_back(
        secure in any::<bool>(),
        value in "[A-Za-z0-9_-]{0,64}",
        age in proptest::option::of(any::<i64>()),
    ) {
        let names = CookieNames::new(secure);
        for name in [&names.session, &names.csrf, &names.flash, &names.passkey] {
            let set = names.set(name, &value, age.map(Duration::seconds));
            let set = set.to_str().unwrap();
            prop_assert_eq!(set.contains("; Secure"), secure);
            prop_assert!(set.contains("; HttpOnly") && set.contains("; SameSite=Lax") && set.contains("; Path=/"));
            let pair = set.split(';').next().unwrap();
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {pair}")).unwrap());
            prop_assert_eq!(cookies::get(&headers, name), Some(value.as_str()));
            if let Some(age) = age {
                let max_age = set.rsplit("Max-Age=").next().unwrap().parse::<i64>().unwrap();
                prop_assert_eq!(max_age, age.max(0));
            }
        }
    }
}
