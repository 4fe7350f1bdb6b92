//! `email.transport = "log"`: the development default. Each mail is printed to the
//! log at info level, links included (that is its purpose; use `smtp` in production).

use async_trait::async_trait;
use portcullis_core::{MailError, Mailer, OutgoingMail};

#[derive(Debug)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        tracing::info!(
            target: "portcullis::mail",
            to = %mail.to,
            subject = %mail.subject,
            "mail (email.transport = \"log\", not sent):\n{}",
            mail.text
        );
        Ok(())
    }
}
