//! The mails Portcullis writes: a plain-text and an HTML part from the templates
//! under `templates/mail/` (overridable like the pages), links built from
//! `server.public_url`, subjects fixed here. Implements core's [`MailComposer`].

use minijinja::Value;
use portcullis_core::mail::{ComposeError, MailComposer, MailMessage, OutgoingMail};
use portcullis_core::{Email, SecretToken};
use serde::Serialize;

use crate::paths;
use crate::state::PublicUrl;
use crate::templates::Templates;

/// Renders mails from templates.
pub struct MailTemplates {
    templates: Templates,
    public_url: PublicUrl,
}

impl std::fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTemplates").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

/// "1 hour", "24 hours", "7 days", "30 minutes".
pub(crate) fn human(d: time::Duration) -> String {
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    let (days, hours, minutes) = (d.whole_days(), d.whole_hours(), d.whole_minutes());
    if days >= 2 && hours % 24 == 0 {
        plural(days, "day")
    } else if hours >= 1 && minutes % 60 == 0 {
        plural(hours, "hour")
    } else {
        plural(minutes.max(1), "minute")
    }
}

/// A URL we built (validated origin, fixed path, base64url token): nothing in it
/// needs escaping, and HTML-escaping it (minijinja escapes `/`) would only make the
/// raw mail harder to read.
fn url(raw: String) -> Value {
    debug_assert!(!raw.contains(['<', '>', '"', '\'', '&', ' ']), "{raw}");
    Value::from_safe_string(raw)
}

impl MailTemplates {
    /// `templates_dir` is `ui.templates_dir`: its `mail/` files override the built-in ones.
    pub fn new(public_url: PublicUrl, templates_dir: Option<std::path::PathBuf>) -> Self {
        Self { templates: Templates::new(templates_dir), public_url }
    }

    /// `public_url` + `path` + `?token=`.
    fn link(&self, path: &str, token: &SecretToken) -> Value {
        url(format!("{}{path}?token={}", self.public_url.origin(), token.expose()))
    }

    /// Template name, subject and what the message adds to the context.
    fn parts(&self, message: &MailMessage<'_>) -> (&'static str, &'static str, MailDetails) {
        let none = MailDetails::default();
        let link = |link, expires_in| MailDetails {
            link: Some(link),
            expires_in: Some(human(expires_in)),
            ..MailDetails::default()
        };
        match *message {
            MailMessage::VerifyEmail { token, expires_in } => (
                "verify_email",
                "Confirm your email address",
                link(self.link(paths::VERIFY_EMAIL, token), expires_in),
            ),
            MailMessage::AddressInUse => ("address_in_use", "Someone tried to use your email address", none),
            MailMessage::ResetPassword { token, expires_in } => (
                "reset_password",
                "Reset your password",
                link(self.link(paths::RESET_PASSWORD, token), expires_in),
            ),
            MailMessage::PasswordWasReset => ("password_was_reset", "Your password was reset", none),
            MailMessage::PasswordChanged => ("password_changed", "Your password was changed", none),
            MailMessage::MfaDisabled => ("mfa_disabled", "Two-factor authentication was turned off", none),
            MailMessage::ConfirmEmailChange { token, expires_in } => (
                "confirm_email_change",
                "Confirm your new email address",
                link(self.link(paths::VERIFY_EMAIL, token), expires_in),
            ),
            MailMessage::EmailChanged { new_email, undo, expires_in } => (
                "email_changed",
                "Your email address was changed",
                MailDetails {
                    new_email: Some(new_email.as_str().to_owned()),
                    ..link(self.link(paths::UNDO_EMAIL_CHANGE, undo), expires_in)
                },
            ),
            MailMessage::AccountDeleted => ("account_deleted", "Your account was deleted", none),
            MailMessage::Invitation { token, expires_in } => (
                "invitation",
                "You are invited: choose your password",
                link(self.link(paths::ACCEPT_INVITATION, token), expires_in),
            ),
            MailMessage::EmailSignIn { token, code, expires_in } => (
                "email_signin",
                "Your sign-in link",
                MailDetails {
                    code: Some(code.expose().to_owned()),
                    ..link(self.link(paths::LOGIN_EMAIL, token), expires_in)
                },
            ),
            MailMessage::NewDeviceSignIn { at, client, ip } => (
                "new_device",
                "New sign-in to your account",
                MailDetails {
                    at: Some(
                        at.format(time::macros::format_description!(
                            "[year]-[month]-[day] [hour]:[minute] UTC"
                        ))
                        .unwrap_or_default(),
                    ),
                    client: Some(client.to_owned()),
                    ip: Some(ip.unwrap_or("unknown").to_owned()),
                    ..none
                },
            ),
            MailMessage::PasskeyAdded { name } => (
                "passkey_added",
                "A passkey was added to your account",
                MailDetails { name: Some(name.to_owned()), ..none },
            ),
        }
    }
}

/// The context of every mail template: what they all read, and the details of
/// one message (`None` for the rest; a template reads only its message's).
#[derive(Debug, Serialize)]
struct MailContext<'a> {
    /// The recipient.
    email: &'a str,
    site: Value,
    sign_in_link: Value,
    forgot_link: Value,
    account_link: Value,
    subject: &'static str,
    #[serde(flatten)]
    details: MailDetails,
}

/// What one message adds to [`MailContext`].
#[derive(Debug, Default, Serialize)]
struct MailDetails {
    /// The emailed link (verify, reset, confirm a change, undo a change, accept an
    /// invitation).
    link: Option<Value>,
    /// How long `link` works ("1 hour").
    expires_in: Option<String>,
    /// The address an account changed to.
    new_email: Option<String>,
    /// The name of a passkey added.
    name: Option<String>,
    /// A six-digit sign-in code.
    code: Option<String>,
    /// When a sign-in from a new device happened, from what client and address.
    at: Option<String>,
    client: Option<String>,
    ip: Option<String>,
}

impl MailComposer for MailTemplates {
    fn compose(&self, to: &Email, message: &MailMessage<'_>) -> Result<OutgoingMail, ComposeError> {
        let (name, subject, details) = self.parts(message);
        let origin = self.public_url.origin();
        let ctx = MailContext {
            email: to.as_str(),
            site: url(origin.to_owned()),
            sign_in_link: url(format!("{origin}{}", paths::LOGIN)),
            forgot_link: url(format!("{origin}{}", paths::FORGOT_PASSWORD)),
            account_link: url(format!("{origin}{}", paths::ACCOUNT)),
            subject,
            details,
        };
        let render = |ext: &str| {
            self.templates
                .render(&format!("mail/{name}.{ext}"), &ctx)
                .map_err(|e| ComposeError(format!("mail/{name}.{ext}: {e}")))
        };
        Ok(OutgoingMail {
            to: to.clone(),
            subject: subject.to_owned(),
            text: render("txt")?,
            html: render("html")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn composer() -> MailTemplates {
        MailTemplates::new(PublicUrl::parse("https://auth.example.com").unwrap(), None)
    }

    #[test]
    fn every_mail_renders_both_parts_with_its_link_and_escapes_html() {
        let token = SecretToken::generate();
        let code = portcullis_core::email_signin::SignInCode::parse("042917").unwrap();
        let new = Email::parse("new@example.com").unwrap();
        let to = Email::parse("o'brien&co@example.com").unwrap();
        let hour = time::Duration::hours(1);
        let cases: Vec<(MailMessage<'_>, Option<&str>)> = vec![
            (MailMessage::VerifyEmail { token: &token, expires_in: hour }, Some("/verify-email?token=")),
            (MailMessage::AddressInUse, None),
            (MailMessage::ResetPassword { token: &token, expires_in: hour }, Some("/reset-password?token=")),
            (MailMessage::PasswordWasReset, None),
            (MailMessage::PasswordChanged, None),
            (
                MailMessage::ConfirmEmailChange { token: &token, expires_in: hour },
                Some("/verify-email?token="),
            ),
            (
                MailMessage::EmailChanged {
                    new_email: &new,
                    undo: &token,
                    expires_in: time::Duration::days(7),
                },
                Some("/undo-email-change?token="),
            ),
            (MailMessage::AccountDeleted, None),
            (MailMessage::MfaDisabled, None),
            (MailMessage::PasskeyAdded { name: "Laptop <b>" }, None),
            (
                MailMessage::Invitation { token: &token, expires_in: time::Duration::days(7) },
                Some("/accept-invitation?token="),
            ),
            (
                MailMessage::EmailSignIn {
                    token: &token,
                    code: &code,
                    expires_in: time::Duration::minutes(10),
                },
                Some("/login/email?token="),
            ),
        ];
        for (message, path) in cases {
            let mail = composer().compose(&to, &message).unwrap();
            assert!(!mail.subject.is_empty() && !mail.subject.contains('\n'), "{message:?}");
            assert!(mail.text.contains("o'brien&co@example.com") && !mail.text.contains("<p"), "{message:?}");
            assert!(
                mail.html.contains("<html") && mail.html.contains("o&#x27;brien&amp;co@"),
                "escaped: {message:?}"
            );
            assert!(!mail.html.contains("src=\"http"), "no remote resources in {message:?}");
            if let Some(path) = path {
                let link = format!("https://auth.example.com{path}{}", token.expose());
                assert!(mail.text.contains(&link), "{message:?} text has {link}:\n{}", mail.text);
                assert!(mail.html.contains(&format!("href=\"{link}\"")), "{message:?} html has {link}");
                assert!(mail.text.contains("expires"), "{message:?} says when the link expires");
            }
            if matches!(message, MailMessage::NewDeviceSignIn { .. }) {
                assert!(mail.text.contains("1970-01-01 00:00 UTC") && mail.text.contains("192.0.2.7"));
                assert!(mail.html.contains("Firefox on Linux &lt;b&gt;"), "escaped client");
                assert!(
                    mail.html.contains("href=\"https://auth.example.com/account\""),
                    "a link to review sessions"
                );
            }
            if matches!(message, MailMessage::EmailSignIn { .. }) {
                assert!(
                    mail.text.contains("042917") && mail.html.contains("042917"),
                    "the code in both parts"
                );
            }
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(time::Duration::hours(1)), "1 hour");
        assert_eq!(human(time::Duration::hours(24)), "24 hours");
        assert_eq!(human(time::Duration::days(7)), "7 days");
        assert_eq!(human(time::Duration::minutes(90)), "90 minutes");
    }
}
