//! The audit trail as administrators read it: everyone's events, filtered by user
//! and kind, newest first, paged by id.

use crate::admin::{EventCursor, EventQuery, Page};
use crate::audit::Event;
use crate::error::AuthError;
use crate::service::Auth;

impl Auth {
    pub async fn admin_events(&self, query: &EventQuery) -> Result<Page<Event>, AuthError> {
        let rows = self.store.admin_events(query.user, query.kind, query.after, query.limit + 1).await?;
        Ok(Page::from_rows(rows, query.limit, |e| EventCursor { id: e.id }.encode()))
    }
}
