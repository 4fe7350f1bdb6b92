//! Recording security events: stored as the audit trail and logged as structured
//! events (`target = "portcullis::audit"`). A failure to store one is logged and
//! does not fail the user's request.

use crate::accounts::user::UserId;
use crate::audit::{ActedBy, Event, EventKind, NewEvent, Outcome};
use crate::error::AuthError;

use crate::service::{Auth, ClientMeta};

/// Most events returned by one listing.
pub const MAX_EVENTS: i64 = 500;

impl Auth {
    pub(crate) async fn audit(
        &self,
        kind: EventKind,
        outcome: Outcome,
        user: Option<UserId>,
        client: &ClientMeta,
        detail: Option<&str>,
    ) {
        self.record(kind, outcome, user, None, client, detail).await;
    }

    /// Records a successful change that `by` (the command line or an administrator)
    /// made to `user`'s account (or, with no user, to a group): the actor is
    /// stored in `actor_id`, the address is the actor's.
    pub(crate) async fn audit_by(
        &self,
        by: &ActedBy,
        kind: EventKind,
        user: Option<UserId>,
        detail: Option<&str>,
    ) {
        self.record(kind, Outcome::Success, user, Some(by), &by.client, detail).await;
    }

    async fn record(
        &self,
        kind: EventKind,
        outcome: Outcome,
        user: Option<UserId>,
        by: Option<&ActedBy>,
        client: &ClientMeta,
        detail: Option<&str>,
    ) {
        let actor = by.map(|b| b.actor);
        tracing::info!(
            target: "portcullis::audit",
            event = kind.as_str(),
            outcome = outcome.as_str(),
            user_id = user.map(|u| u.to_string()),
            actor = actor.map(|a| a.to_string()),
            ip = client.ip.as_deref(),
            detail,
            "security event"
        );
        let event = NewEvent {
            kind,
            outcome,
            user_id: user,
            actor,
            client: client.clone(),
            detail: detail.map(str::to_owned),
            at: self.clock.now(),
        };
        match self.store.insert_event(&event).await {
            Ok(()) => {}
            // The outage is logged by the store; the event is in the line above.
            Err(e @ crate::store::StoreError::Unavailable(_)) => {
                tracing::debug!(error = %e, event = kind.as_str(), "could not store a security event");
            }
            Err(e) => tracing::error!(error = %e, event = kind.as_str(), "could not store a security event"),
        }
    }

    /// A use case changed a session, a token family or a user (revoked, signed out,
    /// password, email or MFA changed, disabled, deleted): this node's hot cache is
    /// emptied at once, so the change holds here from the next request (other nodes'
    /// entries expire within `HOT_TTL`). Every such use case calls this right after
    /// its write; recording the event does not.
    pub(crate) fn security_state_changed(&self) {
        self.hot.invalidate();
    }

    /// The user's own security events, newest first.
    pub async fn events_of(&self, user: UserId, limit: i64) -> Result<Vec<Event>, AuthError> {
        Ok(self.store.list_events(Some(user), limit.clamp(1, MAX_EVENTS)).await?)
    }

    /// Everyone's events (operators), newest first.
    pub async fn all_events(&self, limit: i64) -> Result<Vec<Event>, AuthError> {
        Ok(self.store.list_events(None, limit.clamp(1, MAX_EVENTS)).await?)
    }
}
