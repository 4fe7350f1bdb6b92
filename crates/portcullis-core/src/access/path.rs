//! From `X-Forwarded-Uri` to the paths a rule's `path` is compared with.
//!
//! SPEC §7 matches the path "after percent-decoding and removing dot segments,
//! without the query". That is the first reading [`readings`] returns. The proxy
//! usually forwards the raw URI to the application, though, and servers disagree on
//! what a raw path means: some route before removing dot segments, some keep an
//! encoded slash inside its segment, Tomcat drops `;parameters` (so `/..;/` is `/../`).
//! A rule that matches under one reading and not another is how a `deny` rule is
//! walked around (`/public/..;/admin`, `/admin%2f..`), so the other readings are
//! returned too and the caller refuses a request whose readings disagree.

/// The path cannot be read: a broken percent escape, bytes that are not UTF-8, a
/// control character or a backslash (a separator on some servers), or no leading `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unreadable;

/// The readings of `uri`'s path, the spec's first, without repeats. Each has its
/// runs of `/` merged into one (nginx's `merge_slashes`, on by default).
pub(super) fn readings(uri: &str) -> Result<Vec<String>, Unreadable> {
    let raw = uri.split(['?', '#']).next().unwrap_or_default();
    let rest = raw.strip_prefix('/').ok_or(Unreadable)?;
    let decoded = decode(rest)?;
    let segments: Vec<&str> = decoded.split('/').collect();
    let raw_segments = rest.split('/').map(decode).collect::<Result<Vec<_>, _>>()?;
    let unparameterised: Vec<&str> =
        segments.iter().map(|s| s.split(';').next().unwrap_or_default()).collect();
    let mut all = vec![
        // The spec's: slashes merged, then dot segments removed (as nginx does).
        resolve(&segments, true),
        // RFC 3986 §5.2.4 to the letter: `..` removes an empty segment too.
        resolve(&segments, false),
        // Dot segments left where they are, for servers that route on the raw path.
        merge_slashes(&format!("/{decoded}")),
        // An encoded slash as data inside its segment: `a%2f..` is no dot segment.
        resolve(&raw_segments, true),
        // `;parameters` dropped from every segment (Tomcat, Jetty).
        resolve(&unparameterised, true),
    ];
    // Decoded twice, for servers that decode again; a literal `%` is not an error here.
    if let Ok(twice) = decode(&decoded) {
        all.push(resolve(&twice.split('/').collect::<Vec<_>>(), true));
    }
    let mut out: Vec<String> = Vec::with_capacity(all.len());
    for path in all {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    Ok(out)
}

/// Whether `path` (a rule's) is already in the form request paths are compared in:
/// no `.` or `..` segment and no `//`.
pub(super) fn is_normal(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| resolve(&rest.split('/').collect::<Vec<_>>(), true) == path)
}

/// Percent-decodes `raw`; refuses what [`Unreadable`] lists.
pub(super) fn decode(raw: &str) -> Result<String, Unreadable> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(Unreadable)?;
            out.push(hex_value(hex[0])? << 4 | hex_value(hex[1])?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(out).map_err(|_| Unreadable)?;
    if text.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Unreadable);
    }
    Ok(text)
}

fn hex_value(b: u8) -> Result<u8, Unreadable> {
    match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => Err(Unreadable),
    }
}

/// `/` + the segments (those after the leading slash) with dot segments removed as
/// RFC 3986 §5.2.4 does; `merge_first` drops empty segments (but a trailing one)
/// before, as nginx does. Runs of `/` are merged in the result either way.
fn resolve<S: AsRef<str>>(segments: &[S], merge_first: bool) -> String {
    let last = segments.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        match segment.as_ref() {
            "" if merge_first && i != last => {}
            dots @ ("." | "..") => {
                if dots == ".." {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    merge_slashes(&format!("/{}", out.join("/")))
}

fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(uri: &str) -> String {
        readings(uri).expect("readable").remove(0)
    }

    #[test]
    fn the_spec_reading_decodes_removes_dot_segments_and_drops_the_query() {
        for (uri, path) in [
            ("/", "/"),
            ("/admin", "/admin"),
            ("/admin/", "/admin/"),
            ("/%61dmin", "/admin"),
            ("/a/../admin", "/admin"),
            ("/./admin", "/admin"),
            ("/admin/.", "/admin/"),
            ("/admin/x/..", "/admin/"),
            ("/../../admin", "/admin"),
            ("/%2e%2e/admin", "/admin"),
            ("/x/%2E%2E/admin", "/admin"),
            ("/x/.%2e/admin", "/admin"),
            ("//admin", "/admin"),
            ("/admin//x///y", "/admin/x/y"),
            ("/public//../admin", "/admin"),
            ("/admin?x=../../public", "/admin"),
            ("/admin#frag", "/admin"),
            ("/admin/%3Fq", "/admin/?q"),
            ("/caf%C3%A9", "/café"),
            ("/a%2Fb", "/a/b"),
            ("/admin%2f..", "/"),
        ] {
            assert_eq!(spec(uri), path, "{uri}");
        }
    }

    #[test]
    fn a_plain_path_has_one_reading() {
        for uri in ["/", "/admin", "/admin/x/y?z=1", "/caf%C3%A9", "/a%2Fb", "/100%25"] {
            assert_eq!(readings(uri).expect("readable").len(), 1, "{uri}");
        }
    }

    #[test]
    fn dot_segments_encoded_slashes_and_parameters_give_every_reading() {
        let all = |uri| readings(uri).expect("readable");
        assert_eq!(all("/admin%2f.."), ["/", "/admin/.."]);
        assert_eq!(all("/public/..;/admin"), ["/public/..;/admin", "/admin"]);
        assert_eq!(all("/a;b=c/d"), ["/a;b=c/d", "/a/d"]);
        assert_eq!(all("/public//../admin"), ["/admin", "/public/admin", "/public/../admin"]);
        assert_eq!(all("/x/%252e%252e/admin"), ["/x/%2e%2e/admin", "/admin"]);
    }

    #[test]
    fn unreadable_paths_are_refused() {
        for uri in [
            "",
            "admin",
            "*",
            "http://h/admin",
            "/%",
            "/%4",
            "/%zz",
            "/%C3",
            "/%FF",
            "/a%00",
            "/a%0d%0a",
            "/a%7F",
            "/a\\b",
            "/a%5Cb",
            "/a%5c..%5cadmin",
        ] {
            assert_eq!(readings(uri), Err(Unreadable), "{uri:?}");
        }
    }

    #[test]
    fn rule_paths_must_be_normal() {
        for ok in ["/", "/admin", "/admin/", "/a.b/.c/..d"] {
            assert!(is_normal(ok), "{ok}");
        }
        for bad in ["", "admin", "//admin", "/a//b", "/./a", "/a/..", "/a/."] {
            assert!(!is_normal(bad), "{bad}");
        }
    }
}
