//! Mail transports (`email.transport`): `log` prints each mail (with its links) to
//! the log, `file` writes `.eml` files, `smtp` sends with lettre. The outbox worker
//! ([`worker`]) hands them queued mails; nothing else sends.

mod file;
mod log;
pub mod smtp;
pub mod worker;

use std::sync::Arc;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use portcullis_core::{MailError, Mailer, OutgoingMail};

use crate::config::{EmailConfig, MailTransport};

/// The sender: `email.from`, parsed.
pub fn parse_from(raw: &str) -> Result<Mailbox, String> {
    raw.parse::<Mailbox>()
        .map_err(|e| format!("email.from: {raw:?} is not a mailbox like \"Name <a@b.c>\" ({e})"))
}

/// The configured transport.
pub fn build_mailer(config: &EmailConfig) -> Result<Arc<dyn Mailer>, String> {
    let from = parse_from(&config.from)?;
    Ok(match config.transport {
        MailTransport::Log => Arc::new(log::LogMailer),
        MailTransport::File => {
            let dir = config.dir.clone().ok_or("email.dir: required when email.transport = \"file\"")?;
            Arc::new(file::FileMailer::new(dir, from))
        }
        MailTransport::Smtp => {
            let url = config
                .smtp_url
                .as_deref()
                .ok_or("email.smtp_url: required when email.transport = \"smtp\"")?;
            let settings = smtp::SmtpSettings::parse(url)?;
            Arc::new(smtp::SmtpMailer::new(&settings, from)?)
        }
    })
}

/// A MIME message (text and HTML alternatives) with headers built by lettre: the
/// recipient was parsed as an `Email` and the subject is a fixed string, so no
/// user-controlled text reaches a header unencoded.
pub(crate) fn build_message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, MailError> {
    let to = mail
        .to
        .as_str()
        .parse::<lettre::Address>()
        .map_err(|e| MailError::Permanent(format!("the recipient address cannot be used: {e}")))?;
    let domain = from.email.domain().to_owned();
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", uuid::Uuid::new_v4().simple())))
        .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
        .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}
