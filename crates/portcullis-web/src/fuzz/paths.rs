//! `next` and redirect targets (`paths::is_local_path`, `is_allowed_next`,
//! `origin_of`, `with_next`). The oracle is the WHATWG URL parser (the `url`
//! crate), which is what browsers run on a `Location` header: whatever a check
//! accepts must land, resolved the browser's way, on our origin or an allowed one.

use proptest::prelude::*;

use super::{config, text};
use crate::paths::{LOGIN, is_allowed_next, is_local_path, origin_of, with_next};

/// Where the browser is when it follows the redirect.
const HERE: &str = "https://auth.example.com:8443/login?next=x";

/// `server.allowed_redirect_origins` as `Config::validate` accepts them.
const ALLOWED: &[&str] =
    &["https://app.example.com", "http://localhost:3000/", "https://b\u{fc}cher.example"];

const PIECES: &[&str] = &[
    "/",
    "//",
    "\\",
    "/\\",
    "https://",
    "http://",
    "HTTPS://",
    "https:",
    "javascript:",
    "data:",
    "app.example.com",
    "APP.example.com",
    "localhost:3000",
    "localhost",
    "b\u{fc}cher.example",
    "xn--bcher-kva.example",
    "evil.example",
    "@",
    ":",
    ":443",
    ":3000",
    "%2F",
    "%2f",
    "%5C",
    "%09",
    "%40",
    "%2e",
    "\t",
    "\n",
    "\r",
    " ",
    "\u{a0}",
    "?",
    "#",
    ".",
    "..",
    "\u{3002}",
    "\u{ff0f}",
    "\u{ff0e}",
    "\u{2215}",
    "\u{0}",
    "\u{1b}",
    "a",
    "next",
];

fn allowed() -> Vec<String> {
    ALLOWED.iter().map(|s| (*s).to_owned()).collect()
}

fn web_origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn a_local_path_stays_on_our_origin(next in text(PIECES)) {
        if is_local_path(&next) {
            let here = url::Url::parse(HERE).unwrap();
            let to = here.join(&next).expect("a local path resolves");
            prop_assert_eq!(web_origin(&to), web_origin(&here), "{:?} left the site", next);
            prop_assert!(next.len() <= 2048);
        }
    }

    #[test]
    fn an_allowed_next_lands_on_our_origin_or_an_allowed_one(next in text(PIECES)) {
        if is_allowed_next(&next, &allowed()) {
            let here = url::Url::parse(HERE).unwrap();
            let to = here.join(&next).expect("an allowed next resolves");
            let mut origins = vec![web_origin(&here)];
            origins.extend(ALLOWED.iter().map(|a| web_origin(&url::Url::parse(a).unwrap())));
            prop_assert!(origins.contains(&web_origin(&to)), "{:?} went to {}", next, to);
        }
    }

    /// Where the hand-made origin and the browser's both exist, they name the same
    /// place.
    #[test]
    fn origin_of_agrees_with_the_browser(raw in text(PIECES)) {
        if let Some(origin) = origin_of(&raw) {
            prop_assert!(!origin.contains(['@', '\\', '?', '#']), "{origin:?}");
            prop_assert_eq!(origin.matches('/').count(), 2, "{:?}", origin);
            if let Ok(url) = url::Url::parse(&raw) {
                let ours = url::Url::parse(&origin).expect("an origin that the whole URL's parse accepts parses too");
                prop_assert_eq!(web_origin(&ours), web_origin(&url));
            }
        }
    }

    /// `next` comes back out of the login link exactly, and the link is a valid
    /// header value.
    #[test]
    fn next_round_trips_through_the_login_link(next in text(PIECES)) {
        let link = with_next(LOGIN, &next);
        prop_assert!(link.bytes().all(|b| b.is_ascii_graphic()));
        let query = link.strip_prefix("/login?").expect("the login path");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        prop_assert_eq!(pairs, vec![("next".to_owned(), next)]);
    }
}
