//! Linking and unlinking upstream identities (SPEC §10): the link a flow makes,
//! the pending link a full sign-in completes, the account's list, and unlinking
//! unless it is the last way to sign in.

use uuid::Uuid;

use crate::accounts::user::{User, UserId};
use crate::audit::{EventKind, Outcome};
use crate::error::AuthError;
use crate::service::{Auth, Authenticated, ClientMeta};
use crate::store::StoreError;
use crate::token::SecretToken;
use crate::upstream::{LinkedIdentity, Unlinked, UpstreamFailure, UpstreamIdentity};

/// The code of the conflict an unlink answers when it would leave the account
/// no way to sign in.
pub const LAST_SIGN_IN_METHOD: &str = "last_sign_in_method";

impl Auth {
    pub(super) fn linked(&self, provider: &str, user: UserId, identity: &UpstreamIdentity) -> LinkedIdentity {
        LinkedIdentity {
            id: Uuid::new_v4(),
            user_id: user,
            provider: provider.to_owned(),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            created_at: self.clock.now(),
            last_used_at: None,
        }
    }

    /// Links the identity to `user`; one linked to another account is refused,
    /// one linked to `user` already is fine.
    pub(super) async fn link(
        &self,
        provider: &str,
        user: UserId,
        identity: &UpstreamIdentity,
        client: &ClientMeta,
    ) -> Result<(), UpstreamFailure> {
        if let Some((link, _)) = self.store.find_identity(&identity.issuer, &identity.subject).await? {
            return if link.user_id == user { Ok(()) } else { Err(UpstreamFailure::LinkedElsewhere) };
        }
        match self.store.link_identity(&self.linked(provider, user, identity)).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(UpstreamFailure::LinkedElsewhere),
            Err(e) => return Err(e.into()),
        }
        let detail = format!("upstream={provider}");
        self.audit(EventKind::IdentityLinked, Outcome::Success, Some(user), client, Some(&detail)).await;
        Ok(())
    }

    /// After a full sign-in (password or passkey, and the second factor) in the
    /// browser that holds a pending link's cookie: links the identity when the
    /// account signed in to is the one whose address the upstream gave. The link
    /// is used up either way. The provider's label when linked.
    pub async fn complete_pending_link(
        &self,
        cookie: &str,
        user: &User,
        client: &ClientMeta,
    ) -> Result<Option<String>, AuthError> {
        let Some(token) = SecretToken::parse(cookie) else { return Ok(None) };
        let Some(pending) = self.store.take_pending_link(&token.hash()).await? else { return Ok(None) };
        if pending.user_id != user.id || pending.expires_at <= self.clock.now() {
            return Ok(None);
        }
        match self.link(&pending.provider, user.id, &pending.identity, client).await {
            Ok(()) => {}
            Err(UpstreamFailure::Auth(e)) => return Err(e),
            Err(_) => return Ok(None),
        }
        let name = self
            .providers
            .iter()
            .find(|p| p.settings().id == pending.provider)
            .map_or(pending.provider, |p| p.settings().name.clone());
        Ok(Some(name))
    }

    /// The user's linked identities, oldest first.
    pub async fn list_identities(&self, user: UserId) -> Result<Vec<LinkedIdentity>, AuthError> {
        Ok(self.store.list_identities(user).await?)
    }

    /// Unlinks one of the signed-in user's identities; refused (409
    /// `last_sign_in_method`) when the account would have no way to sign in left.
    pub async fn unlink_identity(
        &self,
        me: &Authenticated,
        id: Uuid,
        client: &ClientMeta,
    ) -> Result<(), AuthError> {
        let identities = self.store.list_identities(me.user.id).await?;
        let provider = identities.iter().find(|i| i.id == id).map(|i| i.provider.clone());
        match self.store.unlink_identity(me.user.id, id).await? {
            Unlinked::Done => {}
            Unlinked::NotFound => return Err(AuthError::NotFound),
            Unlinked::LastSignInMethod => {
                return Err(AuthError::Conflict {
                    code: LAST_SIGN_IN_METHOD,
                    message: "this is the account's only way to sign in: set a password or add a passkey first",
                });
            }
        }
        let detail = format!("upstream={}", provider.unwrap_or_default());
        self.audit(EventKind::IdentityUnlinked, Outcome::Success, Some(me.user.id), client, Some(&detail))
            .await;
        Ok(())
    }
}
