//! Deleting one's own account: sessions, tokens, events and mails about it go; a
//! last notice is mailed.

use crate::accounts::password::Password;
use crate::accounts::store::Guarded;
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::mail::{MailMessage, NewMail};

use crate::service::{Auth, Authenticated, ClientMeta};

impl Auth {
    /// Needs the password or a recent sign-in.
    pub async fn delete_account(
        &self,
        me: &Authenticated,
        password: Option<&Password>,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        self.confirm_identity(me, password, EventKind::AccountDeleted, client).await?;
        // Queued after the user's mails are deleted, so it must not name the user.
        let notice = NewMail { user_id: None, ..self.mail_to(&me.user, &MailMessage::AccountDeleted)? };
        // One's own account may go even if it is the last administrator's: the
        // rule guards what others do to an account, not leaving.
        let data = serde_json::json!({"by": "user"});
        let event =
            self.webhook_event(crate::webhooks::EventType::UserDeleted, me.user.id, &me.user.email, data);
        if self.store.delete_user(me.user.id, Some(&notice), false, Some(&event)).await? != Guarded::Changed {
            return Err(AuthError::NotFound);
        }
        self.mail_queued();
        // The user's own events went with the account; the service's trail keeps one
        // that names nobody.
        self.security_state_changed();
        self.audit(EventKind::AccountDeleted, Outcome::Success, None, client, Some("by_user")).await;
        self.webhook_queued();
        Ok(())
    }
}
