//! Reading and writing the few cookies Portcullis sets. Under an https public URL
//! every cookie is `Secure` and carries the `__Host-` prefix (no Domain, Path=/).

use axum::http::{HeaderMap, HeaderValue, header};
use time::Duration;

/// The cookie names for one deployment.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session: String,
    pub csrf: String,
    pub flash: String,
    /// Binds an anonymous passkey sign-in to the browser that started it.
    pub passkey: String,
    /// Binds an upstream sign-in flow to the browser that started it (SPEC §10).
    pub upstream: String,
    /// An upstream identity waiting for this browser to sign in to its account.
    pub link: String,
    /// The random id of this browser, for the new-device notice (issue #21).
    pub device: String,
    secure: bool,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        let prefix = if secure { "__Host-" } else { "" };
        Self {
            session: format!("{prefix}portcullis_session"),
            csrf: format!("{prefix}portcullis_csrf"),
            flash: format!("{prefix}portcullis_flash"),
            passkey: format!("{prefix}portcullis_passkey"),
            upstream: format!("{prefix}portcullis_upstream"),
            link: format!("{prefix}portcullis_link"),
            device: format!("{prefix}portcullis_device"),
            secure,
        }
    }

    /// `name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=N]`.
    /// `max_age: None` makes a browser-session cookie.
    pub fn set(&self, name: &str, value: &str, max_age: Option<Duration>) -> HeaderValue {
        let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            s.push_str("; Secure");
        }
        if let Some(age) = max_age {
            s.push_str("; Max-Age=");
            s.push_str(&age.whole_seconds().max(0).to_string());
        }
        HeaderValue::from_str(&s).expect("cookie values are base64url or fixed codes")
    }

    /// A header that deletes cookie `name`.
    pub fn clear(&self, name: &str) -> HeaderValue {
        self.set(name, "", Some(Duration::ZERO))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one
/// found). A header that is not all visible ASCII is read as UTF-8, and then the
/// value found must be visible ASCII: another application's cookie on the same host
/// with UTF-8 in its value does not hide ours (with `HeaderValue::to_str` alone,
/// which refuses any byte above 0x7e, it did).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    for header in headers.get_all(header::COOKIE) {
        let (text, all_visible) = match header.to_str() {
            Ok(text) => (text, true),
            Err(_) => match std::str::from_utf8(header.as_bytes()) {
                Ok(text) => (text, false),
                Err(_) => continue,
            },
        };
        let found = text.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(k, _)| *k == name);
        if let Some((_, value)) = found {
            let visible = all_visible || value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
            return visible.then(|| value.trim_matches('"'));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_are_secure_and_host_prefixed() {
        let names = CookieNames::new(true);
        assert_eq!(names.session, "__Host-portcullis_session");
        let v = names.set(&names.session, "abc", None);
        assert_eq!(
            v.to_str().unwrap(),
            "__Host-portcullis_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = CookieNames::new(false);
        assert_eq!(
            plain.set(&plain.session, "abc", Some(Duration::days(30))).to_str().unwrap(),
            "portcullis_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000"
        );
    }

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; portcullis_session=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(get(&h, "portcullis_session"), Some("xyz"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "c"), None);
    }

    #[test]
    fn another_cookie_with_other_bytes_does_not_hide_ours() {
        let mut h = HeaderMap::new();
        let mixed =
            HeaderValue::from_bytes("app=caf\u{e9}; portcullis_session=\"xyz\" ; x".as_bytes()).unwrap();
        h.append(header::COOKIE, mixed);
        assert_eq!(get(&h, "portcullis_session"), Some("xyz"));
        assert_eq!(get(&h, "app"), None, "a value that is not visible ASCII is not returned");
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_bytes(b"a=\xff\xfe; portcullis_session=abc").unwrap());
        h.append(header::COOKIE, HeaderValue::from_static("portcullis_session=def"));
        assert_eq!(get(&h, "portcullis_session"), Some("def"), "a header that is not UTF-8 is skipped");
        assert_eq!(get(&h, "x"), None, "a pair without `=` names no cookie");
    }
}
