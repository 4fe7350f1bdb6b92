//! The admin console (`/admin`, SPEC §8): server-rendered pages for members of the
//! group `admin` only. Anonymous browsers are sent to sign in; other users get a
//! 403 page (the `InGroup` extractor). Every change needs a sign-in within the
//! last ten minutes: when the session is older, each form asks for the password,
//! and a change without it is refused with 403. CSRF on every form (`CsrfForm`),
//! no script, `Cache-Control: no-store` (authenticated pages).

mod clients;
mod events;
mod groups;
mod keys;
mod users;
mod webhooks;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use portcullis_core::service::{Authenticated, ClientMeta, Confirmation};
use portcullis_core::{AuthError, Password};

use super::Chrome;
use super::context::AdminOverviewPage;
use crate::extract::{InGroup, RequiredGroup};
use crate::paths;
use crate::state::AppState;

/// The group whose members may use the console.
pub(crate) struct AdminGroup;
impl RequiredGroup for AdminGroup {
    const NAME: &'static str = portcullis_core::groups::ADMIN;
}

/// A signed-in administrator.
pub(crate) type Admin = InGroup<AdminGroup>;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ADMIN, get(overview))
        .merge(groups::router())
        .merge(clients::router())
        .merge(webhooks::router())
        .merge(keys::router())
        .merge(users::router())
        .merge(events::router())
}

/// Whether the forms must ask for the password (the sign-in is older than ten minutes).
fn asks_password(state: &AppState, me: &Authenticated) -> bool {
    !state.auth().recently_authenticated(&me.session)
}

/// An administrator's change goes ahead only after a recent sign-in or the right
/// password; else the refusal to show on the re-rendered page.
async fn confirm(
    state: &AppState,
    me: &Authenticated,
    password: &str,
    client: &ClientMeta,
) -> Result<(), Refused> {
    if !asks_password(state, me) {
        return Ok(());
    }
    if password.is_empty() {
        return Err(Refused::Show(
            StatusCode::FORBIDDEN,
            "Confirm with your password to make this change.".into(),
        ));
    }
    let password = Password::new(password);
    match state
        .auth()
        .reauthenticate(me, &Confirmation { password: Some(&password), code: None }, client)
        .await
    {
        Ok(()) => Ok(()),
        Err(AuthError::InvalidCredentials) => {
            Err(Refused::Show(StatusCode::UNAUTHORIZED, "The password is wrong.".into()))
        }
        Err(AuthError::RateLimited { retry_after }) => Err(Refused::Show(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {}.", crate::error::wait_text(retry_after)),
        )),
        Err(e) => Err(Refused::Fail(e)),
    }
}

/// Why a change did not happen: nothing there (a 404 page), a refusal shown on the
/// form's page again (its status and message), or a failure (an error page).
enum Refused {
    NotFound,
    Show(StatusCode, String),
    Fail(AuthError),
}

impl From<AuthError> for Refused {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotFound => Self::NotFound,
            AuthError::Conflict { message, .. } => Self::Show(StatusCode::CONFLICT, message.to_owned()),
            e @ AuthError::Validation(_) => {
                Self::Show(StatusCode::UNPROCESSABLE_ENTITY, validation_text(&e).unwrap_or_default())
            }
            e => Self::Fail(e),
        }
    }
}

/// The answer to a form: a redirect to `Ok`'s address, or the refusal (`again`
/// renders the form's page with the message and status).
async fn answer(
    done: Result<String, Refused>,
    again: impl AsyncFnOnce(StatusCode, String) -> Response,
) -> Response {
    match done {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(Refused::NotFound) => crate::error::PageError::not_found().into_response(),
        Err(Refused::Show(status, message)) => again(status, message).await,
        Err(Refused::Fail(e)) => crate::error::PageError::from(e).into_response(),
    }
}

/// The form of a change that needs nothing but the confirmation.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct PasswordForm {
    password: String,
}

/// A field's problem as one line for the page.
fn validation_text(e: &AuthError) -> Option<String> {
    match e {
        AuthError::Validation(errors) => {
            Some(errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" "))
        }
        _ => None,
    }
}

/// `/admin`: accounts, sign-ins of the last 24 hours, lockouts, and where to
/// manage the rest.
async fn overview(State(state): State<AppState>, _admin: Admin, chrome: Chrome) -> Response {
    let auth = state.auth();
    let (overview, groups, clients) =
        tokio::join!(auth.admin_overview(), auth.list_groups(), auth.list_clients());
    match (overview, groups, clients) {
        (Ok(overview), Ok(groups), Ok(clients)) => {
            let page = AdminOverviewPage::new(&overview, groups.len(), clients.len());
            chrome.render(&state, StatusCode::OK, &page)
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => crate::error::PageError::from(e).into_response(),
    }
}
