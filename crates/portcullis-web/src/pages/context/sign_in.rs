//! Contexts of the pages around signing in: home, registration, sign-in and its
//! second step, sign-out, password reset, and the pages of links sent by mail
//! (accepting an invitation among them).

use portcullis_core::FieldError;
use serde::Serialize;

use super::{Page, first_error};

/// `home.html`: reads only the chrome.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct HomePage {}

impl Page for HomePage {
    const TEMPLATE: &'static str = "home.html";

    fn samples() -> Vec<Self> {
        vec![Self {}]
    }
}

/// `register.html`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RegisterPage {
    /// The address typed, kept after an error (never the passwords).
    pub email: String,
    /// `None` on a fresh form.
    pub errors: Option<RegisterErrors>,
}

/// The fields of the registration form that can show an error.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RegisterErrors {
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_confirm: Option<String>,
}

impl RegisterErrors {
    /// `None` when there is no error.
    pub(crate) fn from_fields(errors: &[FieldError]) -> Option<Self> {
        (!errors.is_empty()).then(|| Self {
            email: first_error(errors, "email"),
            password: first_error(errors, "password"),
            password_confirm: first_error(errors, "password_confirm"),
        })
    }
}

impl Page for RegisterPage {
    const TEMPLATE: &'static str = "register.html";

    fn samples() -> Vec<Self> {
        let bad = || Some("<script>bad</script>".to_owned());
        vec![
            Self::default(),
            Self {
                email: "<script>@example.com".to_owned(),
                errors: Some(RegisterErrors { email: bad(), password: bad(), password_confirm: bad() }),
            },
        ]
    }
}

/// `login.html`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LoginPage {
    /// The address typed, kept after an error.
    pub email: String,
    /// Where to go after signing in: a local path or an allowed URL, else empty.
    pub next: String,
    pub error: Option<String>,
    /// The address is not confirmed yet: offer to send the link again.
    pub unverified: bool,
    /// Offer passkey sign-in (the service is reached by a host name).
    pub passkeys_enabled: bool,
    /// Why the page is shown (an upstream identity waits for this account's sign-in).
    pub notice: Option<String>,
    /// A button per upstream identity provider (SPEC §10).
    pub providers: Vec<super::upstream::ProviderButton>,
    /// Offer "Email me a sign-in link" (`auth.email_signin`).
    pub email_signin: bool,
}

impl Page for LoginPage {
    const TEMPLATE: &'static str = "login.html";

    fn samples() -> Vec<Self> {
        vec![
            Self::default(),
            Self {
                email: "<script>@example.com".to_owned(),
                next: "/account?x=\"<script>".to_owned(),
                error: Some("<script>Invalid email or password.".to_owned()),
                unverified: true,
                passkeys_enabled: true,
                notice: Some("<script>notice".to_owned()),
                providers: vec![super::upstream::ProviderButton {
                    id: "corp".to_owned(),
                    name: "<script>Corp".to_owned(),
                    url: "/login/corp?next=%2F".to_owned(),
                }],
                email_signin: true,
            },
        ]
    }
}

/// `login_email.html`: the page a sign-in link opens. It signs in only when its
/// button is pressed (mail scanners follow links); the token rides a hidden field.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LoginEmailPage {
    pub token: String,
}

impl Page for LoginEmailPage {
    const TEMPLATE: &'static str = "login_email.html";

    fn samples() -> Vec<Self> {
        vec![Self { token: "\"<script>".to_owned() }]
    }
}

/// `login_email_code.html`: after asking for a sign-in mail, where its code is entered.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LoginEmailCodePage {
    /// The address the mail was asked for.
    pub email: String,
    /// Where to go after signing in: a local path or an allowed URL, else empty.
    pub next: String,
    pub error: Option<String>,
}

impl Page for LoginEmailCodePage {
    const TEMPLATE: &'static str = "login_email_code.html";

    fn samples() -> Vec<Self> {
        vec![
            Self { email: "ann@example.com".to_owned(), ..Self::default() },
            Self {
                email: "<script>@example.com".to_owned(),
                next: "/\"<script>".to_owned(),
                error: Some("<script>Invalid code.".to_owned()),
            },
        ]
    }
}

/// `login_mfa.html`: the second step of a password sign-in.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LoginMfaPage {
    /// Where to go afterwards (always set: the account page by default).
    pub next: String,
    pub error: Option<String>,
    /// The user has a passkey, which may replace the code.
    pub has_passkeys: bool,
}

impl Page for LoginMfaPage {
    const TEMPLATE: &'static str = "login_mfa.html";

    fn samples() -> Vec<Self> {
        vec![
            Self { next: "/account".to_owned(), ..Self::default() },
            Self {
                next: "/<script>".to_owned(),
                error: Some("That code is <script>not right".to_owned()),
                has_passkeys: true,
            },
        ]
    }
}

/// `logout.html`: reads only the chrome.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LogoutPage {}

impl Page for LogoutPage {
    const TEMPLATE: &'static str = "logout.html";

    fn samples() -> Vec<Self> {
        vec![Self {}]
    }
}

/// `forgot_password.html`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ForgotPasswordPage {
    /// The form was sent: say a link went out (whether or not the account exists).
    pub sent: bool,
    /// How long the link works ("1 hour"), when sent.
    pub expires_in: Option<String>,
}

impl Page for ForgotPasswordPage {
    const TEMPLATE: &'static str = "forgot_password.html";

    fn samples() -> Vec<Self> {
        vec![Self::default(), Self { sent: true, expires_in: Some("1 hour".to_owned()) }]
    }
}

/// `reset_password.html`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ResetPasswordPage {
    /// The emailed token, carried on in a hidden field.
    pub token: String,
    /// `None` on a fresh form.
    pub errors: Option<PasswordErrors>,
}

/// The fields of a new-password form that can show an error.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PasswordErrors {
    pub password: Option<String>,
    pub password_confirm: Option<String>,
}

impl PasswordErrors {
    /// `None` when there is no error.
    pub(crate) fn from_fields(errors: &[FieldError]) -> Option<Self> {
        (!errors.is_empty()).then(|| Self {
            password: first_error(errors, "password"),
            password_confirm: first_error(errors, "password_confirm"),
        })
    }
}

impl Page for ResetPasswordPage {
    const TEMPLATE: &'static str = "reset_password.html";

    fn samples() -> Vec<Self> {
        let bad = || Some("<script>bad</script>".to_owned());
        vec![
            Self { token: "abc".to_owned(), errors: None },
            Self {
                token: "\"<script>".to_owned(),
                errors: Some(PasswordErrors { password: bad(), password_confirm: bad() }),
            },
        ]
    }
}

/// `accept_invitation.html`: choose the first password of an invited account.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct AcceptInvitationPage {
    /// The emailed token: the form posts back to `/accept-invitation?token=` (its
    /// fields are only the passwords and the CSRF token, SPEC §8).
    pub token: String,
    /// The invited address, shown so the user knows which account this is.
    pub email: String,
    /// `None` on a fresh form.
    pub errors: Option<PasswordErrors>,
}

impl Page for AcceptInvitationPage {
    const TEMPLATE: &'static str = "accept_invitation.html";

    fn samples() -> Vec<Self> {
        let bad = || Some("<script>bad</script>".to_owned());
        vec![
            Self { token: "abc".to_owned(), email: "ada@example.com".to_owned(), errors: None },
            Self {
                token: "\"<script>".to_owned(),
                email: "<script>@example.com".to_owned(),
                errors: Some(PasswordErrors { password: bad(), password_confirm: bad() }),
            },
        ]
    }
}

/// `check_email.html`: reads only the chrome.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CheckEmailPage {}

impl Page for CheckEmailPage {
    const TEMPLATE: &'static str = "check_email.html";

    fn samples() -> Vec<Self> {
        vec![Self {}]
    }
}

/// `email_link.html`: an emailed link was followed.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct EmailLinkPage {
    /// The new address when the link confirmed a change; `None` when it confirmed
    /// the address itself.
    pub changed_to: Option<String>,
}

impl Page for EmailLinkPage {
    const TEMPLATE: &'static str = "email_link.html";

    fn samples() -> Vec<Self> {
        vec![Self::default(), Self { changed_to: Some("<script>@example.com".to_owned()) }]
    }
}

/// `undo_email_change.html`: the question, then the answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UndoEmailChangePage {
    /// The address put back, once done.
    pub restored: Option<String>,
    /// The address that would be put back (empty once done).
    pub address: String,
    /// The emailed token, carried on in a hidden field (empty once done).
    pub token: String,
}

impl UndoEmailChangePage {
    /// Asks whether to put `address` back.
    pub(crate) fn ask(address: String, token: String) -> Self {
        Self { restored: None, address, token }
    }

    /// Says `address` is back.
    pub(crate) fn done(address: String) -> Self {
        Self { restored: Some(address), address: String::new(), token: String::new() }
    }
}

impl Page for UndoEmailChangePage {
    const TEMPLATE: &'static str = "undo_email_change.html";

    fn samples() -> Vec<Self> {
        vec![
            Self::ask("<script>@example.com".to_owned(), "\"<script>".to_owned()),
            Self::done("<script>@example.com".to_owned()),
        ]
    }
}
