//! `email.transport = "smtp"`: lettre over tokio with rustls. `email.smtp_url`:
//! `smtp://host[:port]` (plain: for a relay on loopback), `smtp://host:587?tls=starttls`
//! (STARTTLS required), `smtps://host[:465]` (implicit TLS), with optional
//! `user:password@` for AUTH (percent-encoded). Credentials are refused over a plain
//! connection to anything but loopback.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use portcullis_core::{MailError, Mailer, OutgoingMail};

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No TLS (`smtp://`, or `?tls=none`).
    Plain,
    /// STARTTLS, required (`?tls=starttls` or `?tls=required`).
    StartTls,
    /// STARTTLS when offered (`?tls=opportunistic`): not safe against an active attacker.
    Opportunistic,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A parsed `email.smtp_url`. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish_non_exhaustive()
    }
}

/// Decodes `%XX` escapes (user names and passwords in the URL).
fn percent_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3).ok_or("a % escape is cut short")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "a % escape is not hexadecimal")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "credentials are not UTF-8 once decoded".to_owned())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SmtpSettings {
    /// Parses `email.smtp_url`. Errors name the key and never repeat the URL (it may
    /// hold a password).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let err = |msg: &str| format!("email.smtp_url: {msg}");
        let url = url::Url::parse(raw).map_err(|e| err(&format!("not a URL ({e})")))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(err("must start with smtp:// or smtps://")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| err("names no host"))?.to_owned();
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let security = match (implicit, tls.as_deref()) {
            (true, None | Some("implicit" | "wrapper")) => Security::Implicit,
            (true, Some(_)) => return Err(err("smtps:// is implicit TLS; drop ?tls= or use smtp://")),
            (false, None | Some("none")) => Security::Plain,
            (false, Some("starttls" | "required")) => Security::StartTls,
            (false, Some("opportunistic")) => Security::Opportunistic,
            (false, Some(other)) => {
                return Err(err(&format!("tls={other:?} is not one of none, starttls, opportunistic")));
            }
        };
        let default_port = match security {
            Security::Implicit => 465,
            Security::StartTls => 587,
            Security::Plain | Security::Opportunistic => 25,
        };
        let credentials = if url.username().is_empty() {
            None
        } else {
            let user = percent_decode(url.username()).map_err(|e| err(&e))?;
            let password = percent_decode(url.password().unwrap_or_default()).map_err(|e| err(&e))?;
            Some((user, password))
        };
        if credentials.is_some() && security == Security::Plain && !is_loopback(&host) {
            return Err(err(
                "credentials would cross the network unencrypted; use smtps:// or ?tls=starttls",
            ));
        }
        Ok(Self { port: url.port().unwrap_or(default_port), host, security, credentials })
    }
}

/// Sends through one SMTP server (a new connection per mail).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings, from: Mailbox) -> Result<Self, String> {
        let params = || {
            TlsParameters::new(settings.host.clone())
                .map_err(|e| format!("email.smtp_url: TLS setup failed: {e}"))
        };
        let tls = match settings.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(params()?),
            Security::Opportunistic => Tls::Opportunistic(params()?),
            Security::Implicit => Tls::Wrapper(params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { transport: builder.build(), from })
    }
}

/// 4xx, connection and TLS trouble are temporary. 5xx is permanent, except the
/// AUTH codes (530, 534, 535, 538): a credentials mistake is fixed by the operator,
/// and the mail should still go out then.
fn classify(e: &lettre::transport::smtp::Error) -> MailError {
    let text = e.to_string();
    let auth_problem =
        e.status().is_some_and(|c| matches!(c.to_string().as_str(), "530" | "534" | "535" | "538"));
    if e.is_permanent() && !auth_problem { MailError::Permanent(text) } else { MailError::Temporary(text) }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = super::build_message(&self.from, mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| classify(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_tls_and_ports_as_documented() {
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security, s.credentials),
            ("127.0.0.1", 2525, Security::Plain, None)
        );
        let s = SmtpSettings::parse("smtps://user%40x:p%3Ass@mail.example.com").unwrap();
        assert_eq!((s.port, s.security), (465, Security::Implicit));
        assert_eq!(s.credentials, Some(("user@x".into(), "p:ss".into())));
        assert!(!format!("{s:?}").contains("p:ss"), "Debug hides the password");
        let s = SmtpSettings::parse("smtp://u:p@mail.example.com?tls=starttls").unwrap();
        assert_eq!((s.port, s.security), (587, Security::StartTls));
        assert_eq!(
            SmtpSettings::parse("smtp://h?tls=opportunistic").unwrap().security,
            Security::Opportunistic
        );
        assert!(SmtpSettings::parse("smtp://u:p@localhost:25").is_ok(), "plain AUTH to loopback is allowed");
    }

    #[test]
    fn bad_smtp_urls_are_refused_without_echoing_secrets() {
        for bad in [
            "http://mail.example.com",
            "smtp://",
            "smtp://h?tls=maybe",
            "smtps://h?tls=starttls",
            "smtp://user:hunter2@mail.example.com",
            "not a url",
        ] {
            let e = SmtpSettings::parse(bad).unwrap_err();
            assert!(e.starts_with("email.smtp_url: ") && !e.contains("hunter2"), "{bad}: {e}");
        }
    }
}
