//! Every page template renders with its samples in the real environment, whose
//! undefined behaviour is strict: a variable a template reads and its context lacks
//! is an error here, not an empty string in production.

use serde::Serialize;

use super::*;
use crate::templates::{TEMPLATE_NAMES, Templates};

fn visitor(flash: Option<Flash>) -> ChromeContext {
    ChromeContext { current_user: None, csrf_token: "token".to_owned(), flash: flash.map(Flash::text) }
}

fn signed_in(flash: Option<Flash>) -> ChromeContext {
    ChromeContext {
        current_user: Some(CurrentUser { email: "<script>@example.com".to_owned(), email_verified: false }),
        csrf_token: "\"<script>".to_owned(),
        flash: flash.map(Flash::text),
    }
}

/// The chromes a page of `audience` is rendered with (`None`: without the layout).
fn chromes(audience: Audience) -> Vec<Option<ChromeContext>> {
    let flash = Some(Flash::ApplicationRevoked);
    match audience {
        Audience::Anyone => vec![
            Some(ChromeContext::bare()),
            Some(visitor(flash)),
            Some(signed_in(None)),
            Some(signed_in(flash)),
        ],
        Audience::SignedIn => vec![Some(signed_in(None)), Some(signed_in(flash))],
        Audience::Standalone => vec![None],
    }
}

/// Renders every sample of `P` with every chrome of its audience; its template.
fn render_samples<P: Page>(t: &Templates) -> &'static str {
    let name = P::TEMPLATE;
    let samples = P::samples();
    assert!(!samples.is_empty(), "{name} has samples");
    for chrome in chromes(P::AUDIENCE) {
        for page in &samples {
            let html = match &chrome {
                Some(chrome) => t.render(name, &WithChrome { chrome, page }),
                None => t.render(name, page),
            }
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(html.contains("</html>"), "{name} is a whole page");
            assert!(!html.contains("<script>"), "{name} escapes what it shows");
            if let Some(flash) = chrome.as_ref().and_then(|c| c.flash) {
                assert!(html.contains(flash), "{name} shows the flash");
            }
        }
    }
    name
}

#[test]
fn every_page_template_renders_its_samples_with_strict_undefined() {
    let t = Templates::new(None);
    let mut rendered = vec![
        render_samples::<HomePage>(&t),
        render_samples::<RegisterPage>(&t),
        render_samples::<LoginPage>(&t),
        render_samples::<LoginMfaPage>(&t),
        render_samples::<LoginEmailPage>(&t),
        render_samples::<LoginEmailCodePage>(&t),
        render_samples::<LogoutPage>(&t),
        render_samples::<ForgotPasswordPage>(&t),
        render_samples::<ResetPasswordPage>(&t),
        render_samples::<AcceptInvitationPage>(&t),
        render_samples::<CheckEmailPage>(&t),
        render_samples::<EmailLinkPage>(&t),
        render_samples::<UndoEmailChangePage>(&t),
        render_samples::<AccountPage>(&t),
        render_samples::<MfaPage>(&t),
        render_samples::<ConsentPage>(&t),
        render_samples::<OAuthLogoutPage>(&t),
        render_samples::<FormPostPage>(&t),
        render_samples::<ErrorPage>(&t),
        render_samples::<AdminOverviewPage>(&t),
        render_samples::<AdminGroupsPage>(&t),
        render_samples::<AdminGroupPage>(&t),
        render_samples::<AdminClientsPage>(&t),
        render_samples::<AdminClientCreatedPage>(&t),
        render_samples::<AdminWebhooksPage>(&t),
        render_samples::<AdminWebhookCreatedPage>(&t),
        render_samples::<AdminKeysPage>(&t),
        render_samples::<AdminUsersPage>(&t),
        render_samples::<AdminUserPage>(&t),
        render_samples::<AdminEventsPage>(&t),
    ];
    rendered.sort_unstable();
    let mut pages: Vec<_> = TEMPLATE_NAMES
        .iter()
        .copied()
        .filter(|n| !n.starts_with("mail/") && !n.starts_with('_') && *n != "base.html")
        .collect();
    pages.sort_unstable();
    assert_eq!(rendered, pages, "every page template has a context type");
}

#[test]
fn a_variable_missing_from_the_context_fails_the_render() {
    /// `LoginPage` without `next`.
    #[derive(Serialize)]
    struct Renamed {
        email: &'static str,
        next_path: &'static str,
        error: Option<String>,
        unverified: bool,
        passkeys_enabled: bool,
    }
    let page = Renamed { email: "", next_path: "/", error: None, unverified: false, passkeys_enabled: false };
    let chrome = visitor(None);
    let err =
        Templates::new(None).render("login.html", &WithChrome { chrome: &chrome, page: &page }).unwrap_err();
    assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError, "{err:#}");
}

#[test]
fn the_layout_reads_the_flash_even_when_there_is_none() {
    /// A chrome without `flash`, as a context built by hand might be.
    #[derive(Serialize)]
    struct NoFlash {
        current_user: Option<CurrentUser>,
        csrf_token: &'static str,
    }
    #[derive(Serialize)]
    struct Both<'a> {
        #[serde(flatten)]
        chrome: &'a NoFlash,
        #[serde(flatten)]
        page: &'a HomePage,
    }
    let chrome = NoFlash { current_user: None, csrf_token: "t" };
    let page = HomePage {};
    let err = Templates::new(None).render("home.html", &Both { chrome: &chrome, page: &page }).unwrap_err();
    assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError, "{err:#}");
}

#[test]
fn the_form_post_page_carries_the_response_to_the_redirect_uri() {
    let field = |name: &str, value: &str| FormField { name: name.to_owned(), value: value.to_owned() };
    let page = FormPostPage {
        action: "https://app.example/cb?a=1&b=\"2".to_owned(),
        fields: vec![
            field("code", "abc"),
            field("state", "\"><script>alert(1)</script>"),
            field("iss", "https://id.example"),
        ],
    };
    let html = Templates::new(None).render("form_post.html", &page).unwrap();
    assert!(
        html.contains(
            "<form method=\"post\" action=\"https:&#x2f;&#x2f;app.example&#x2f;cb?a=1&amp;b=&quot;2\""
        ),
        "{html}"
    );
    assert!(html.contains("<input type=\"hidden\" name=\"code\" value=\"abc\">"), "{html}");
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;\""), "{html}");
    assert_eq!(html.matches("<input ").count(), 3);
    assert!(html.contains("<script src=\"/static/form_post.js\" defer></script>"));
    assert!(html.contains("type=\"submit\"") && html.contains("Continue"), "works without script");
    assert!(!html.contains("<script>"));
}
