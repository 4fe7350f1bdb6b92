//! The typed contexts of the HTML templates: one `*Page` per template, holding the
//! variables it reads, and the [`ChromeContext`] of the layout (`base.html`) that
//! every page shows. Each type has samples; a test renders every template with
//! them under strict undefined behaviour, so a renamed or missing variable fails a
//! test instead of rendering an empty string. Pages of the account area are in
//! `account` and `mfa`, signing in and mail links in `sign_in`, the OAuth pages in
//! `oauth`.

mod account;
mod admin;
mod admin_users;
mod flash;
mod mfa;
mod oauth;
mod sign_in;
#[cfg(test)]
mod tests;
mod upstream;

use portcullis_core::FieldError;
use portcullis_core::service::Authenticated;
use serde::Serialize;

pub(crate) use account::{AccountData, AccountErrors, AccountPage, machine as machine_time};
pub(crate) use admin::{
    AdminClientCreatedPage, AdminClientRow, AdminClientsPage, AdminGroupPage, AdminGroupRow, AdminGroupsPage,
    AdminKeyRow, AdminKeysPage, AdminMemberRow, AdminOverviewPage, AdminWebhookCreatedPage, AdminWebhookRow,
    AdminWebhooksPage,
};
pub(crate) use admin_users::{AdminEventRow, AdminEventsPage, AdminUserPage, AdminUserRow, AdminUsersPage};
pub(crate) use flash::Flash;
pub(crate) use mfa::MfaPage;
pub(crate) use oauth::{ConsentPage, FormField, FormPostPage, OAuthLogoutPage, ScopeItem};
pub(crate) use sign_in::{
    AcceptInvitationPage, CheckEmailPage, EmailLinkPage, ForgotPasswordPage, HomePage, LoginEmailCodePage,
    LoginEmailPage, LoginMfaPage, LoginPage, LogoutPage, PasswordErrors, RegisterErrors, RegisterPage,
    ResetPasswordPage, UndoEmailChangePage,
};
pub(crate) use upstream::ProviderButton;

/// The context of one template.
pub(crate) trait Page: Serialize + Sized {
    /// The template that renders it.
    const TEMPLATE: &'static str;
    /// Who sees the page (the samples are rendered with the chrome of each).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the test that renders the samples"))]
    const AUDIENCE: Audience = Audience::Anyone;
    /// Values that, between them, fill every optional part of the template.
    #[cfg_attr(not(test), expect(dead_code, reason = "rendered by the template tests"))]
    fn samples() -> Vec<Self>;
}

/// Who a page is shown to, which decides the chrome it is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Visitors and signed-in users.
    Anyone,
    /// Only a signed-in user (the template may read `current_user.email`).
    SignedIn,
    /// Nobody's chrome: a page of its own, without the layout.
    Standalone,
}

/// What the layout shows on every page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChromeContext {
    /// The signed-in user, if any.
    pub current_user: Option<CurrentUser>,
    /// For the forms of the page (the sign-out button of the layout among them).
    pub csrf_token: String,
    /// The text of a one-shot message.
    pub flash: Option<&'static str>,
}

/// The signed-in user, as the layout shows them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CurrentUser {
    pub email: String,
    pub email_verified: bool,
}

impl ChromeContext {
    pub(crate) fn new(user: Option<&Authenticated>, csrf_token: &str, flash: Option<Flash>) -> Self {
        Self {
            current_user: user
                .map(|a| CurrentUser { email: a.user.email.clone(), email_verified: a.user.email_verified }),
            csrf_token: csrf_token.to_owned(),
            flash: flash.map(Flash::text),
        }
    }

    /// The chrome of a page rendered outside a handler (the error page): nobody
    /// signed in, no form, no message.
    pub(crate) fn bare() -> Self {
        Self { current_user: None, csrf_token: String::new(), flash: None }
    }
}

/// A page's context with the chrome, as the template sees it: one flat namespace.
#[derive(Debug, Serialize)]
pub(crate) struct WithChrome<'a, P> {
    #[serde(flatten)]
    pub chrome: &'a ChromeContext,
    #[serde(flatten)]
    pub page: &'a P,
}

/// `error.html`: the page of a [`crate::error::PageError`].
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorPage {
    /// The HTTP status, which picks the heading.
    pub status: u16,
    pub message: String,
}

impl Page for ErrorPage {
    const TEMPLATE: &'static str = "error.html";

    fn samples() -> Vec<Self> {
        [404, 403, 429, 503]
            .into_iter()
            .map(|status| Self { status, message: "<script>alert(1)</script> went wrong".to_owned() })
            .collect()
    }
}

/// The first message for `field` (a form shows one per field).
fn first_error(errors: &[FieldError], field: &str) -> Option<String> {
    errors.iter().find(|e| e.field == field).map(|e| e.message.clone())
}
