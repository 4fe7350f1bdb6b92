//! The console's first page: how many accounts, and what sign-ins did in the
//! last 24 hours.

use time::Duration;

use crate::admin::Overview;
use crate::error::AuthError;
use crate::service::Auth;

/// How far back the overview counts sign-ins.
pub const OVERVIEW_WINDOW: Duration = Duration::hours(24);

impl Auth {
    /// Accounts, active sessions, sign-ins and failures of the last 24 hours, and
    /// accounts locked out now.
    pub async fn admin_overview(&self) -> Result<Overview, AuthError> {
        let now = self.clock.now();
        Ok(self.store.admin_overview(now - OVERVIEW_WINDOW, now).await?)
    }
}
