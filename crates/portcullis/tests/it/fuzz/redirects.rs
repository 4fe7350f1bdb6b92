//! Redirect targets against the running application: forward-auth's sign-in
//! redirect (built from `X-Original-URL` or `X-Forwarded-*`), the `next` of the
//! sign-in form and page, and the CSP `form-action` a `next` may widen. Resolved
//! the way a browser resolves a `Location` (the WHATWG URL parser), every target
//! is on our origin or one of `server.allowed_redirect_origins`.

use proptest::prelude::*;
use reqwest::StatusCode;

use super::support::{check, header_text, origin, text};
use crate::helpers::{Backend, PASSWORD, TestApp, client, csrf_from, location};

const ALLOWED: &[&str] = &["https://app.example.com", "http://localhost:3000"];

const URL_PIECES: &[&str] = &[
    "/",
    "//",
    "\\",
    "/\\",
    "https://",
    "http://",
    "HTTPS://",
    "https:",
    "javascript:",
    "app.example.com",
    "APP.EXAMPLE.COM",
    "localhost:3000",
    "evil.example",
    "@",
    ":",
    ":443",
    "%2F",
    "%5C",
    "%09",
    "%40",
    "\t",
    " ",
    "?",
    "#",
    "&",
    "=",
    ".",
    "..",
    "next=",
    "/oauth2/authorize?",
    "client_id=",
    "redirect_uri=",
    "\u{3002}",
    "\u{ff0f}",
    "\u{0}",
];

async fn app() -> TestApp {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.rate_limit.enabled = false;
        c.server.allowed_redirect_origins = ALLOWED.iter().map(|s| (*s).to_owned()).collect();
    })
    .await;
    app.register("next@example.com").await;
    app
}

/// Whether `target`, resolved from `page` as a browser would, is on our origin
/// or an allowed one.
fn lands_well(app: &TestApp, page: &str, target: &str) -> bool {
    let here = url::Url::parse(&app.url(page)).unwrap();
    let Ok(to) = here.join(target) else { return false };
    let mut origins = vec![origin(&here)];
    origins.extend(ALLOWED.iter().map(|a| origin(&url::Url::parse(a).unwrap())));
    origins.contains(&origin(&to))
}

/// The `next` of a `/login?next=...` link.
fn next_of(app: &TestApp, login_link: &str) -> Option<String> {
    let url = url::Url::parse(login_link).ok()?;
    if origin(&url) != origin(&url::Url::parse(&app.base).unwrap()) || url.path() != "/login" {
        return None;
    }
    url.query_pairs().find(|(k, _)| k == "next").map(|(_, v)| v.into_owned())
}

#[test]
fn forward_auth_sends_browsers_to_sign_in_only_for_allowed_urls() {
    let headers = prop_oneof![
        header_text(URL_PIECES).prop_map(|u| vec![("x-original-url", u)]),
        (
            header_text(&["https", "http", "HTTPS", "javascript", ":", "/"]),
            header_text(URL_PIECES),
            header_text(URL_PIECES)
        )
            .prop_map(|(p, h, u)| vec![
                ("x-forwarded-proto", p),
                ("x-forwarded-host", h),
                ("x-forwarded-uri", u)
            ]),
    ];
    check(
        file!(),
        64,
        app(),
        |_| headers,
        |app, headers| async move {
            let mut req = client().get(app.url("/auth/verify")).header("accept", "text/html");
            for (name, value) in &headers {
                req = req.header(*name, value);
            }
            let res = req.send().await.unwrap();
            match res.status() {
                StatusCode::UNAUTHORIZED => {}
                StatusCode::FOUND => {
                    let next = next_of(&app, &location(&res));
                    prop_assert!(next.is_some(), "a redirect elsewhere than our sign-in: {}", location(&res));
                    let next = next.unwrap();
                    prop_assert!(
                        lands_well(&app, "/login", &next),
                        "{:?} would be followed after sign-in",
                        next
                    );
                }
                other => prop_assert!(false, "{other} for {headers:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn signing_in_never_redirects_off_the_allowed_origins() {
    check(
        file!(),
        32,
        app(),
        |_| text(URL_PIECES),
        |app, next| async move {
            let c = client();
            let html = app.get(&c, "/login").await.text().await.unwrap();
            let token = csrf_from(&html).unwrap();
            let form = [
                ("email", "next@example.com"),
                ("password", PASSWORD),
                ("next", &next),
                ("csrf_token", &token),
            ];
            let res = c.post(app.url("/login")).form(&form).send().await.unwrap();
            prop_assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let to = location(&res);
            prop_assert!(lands_well(&app, "/login", &to), "{:?} sent the browser to {:?}", next, to);
            Ok(())
        },
    );
}

#[test]
fn the_sign_in_page_lets_forms_go_only_to_allowed_origins() {
    check(
        file!(),
        64,
        app(),
        |_| text(URL_PIECES),
        |app, next| async move {
            let link = url::Url::parse_with_params(&app.url("/login"), [("next", &next)]).unwrap();
            let res = client().get(link).send().await.unwrap();
            prop_assert_eq!(res.status(), StatusCode::OK);
            let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
            let actions: Vec<&str> =
                csp.split(';').map(str::trim).filter(|d| d.starts_with("form-action")).collect();
            prop_assert_eq!(actions.len(), 1, "{}", csp);
            let sources: Vec<&str> = actions[0].split(' ').skip(1).collect();
            prop_assert_eq!(sources.first(), Some(&"'self'"), "{}", csp);
            for source in &sources[1..] {
                prop_assert!(ALLOWED.contains(source), "form-action {} for {:?}", source, next);
            }
            Ok(())
        },
    );
}
