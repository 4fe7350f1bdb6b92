//! `email.transport = "file"`: each mail becomes an `.eml` file in `email.dir`
//! (written to a temporary name, then renamed, so readers never see half a mail).

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::Mailbox;
use portcullis_core::{MailError, Mailer, OutgoingMail};

#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = super::build_message(&self.from, mail)?;
        let io = |e: std::io::Error| MailError::Temporary(format!("email.dir {}: {e}", self.dir.display()));
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let name = uuid::Uuid::new_v4().simple().to_string();
        let partial = self.dir.join(format!(".{name}.partial"));
        tokio::fs::write(&partial, message.formatted()).await.map_err(io)?;
        tokio::fs::rename(&partial, self.dir.join(format!("{name}.eml"))).await.map_err(io)
    }
}
