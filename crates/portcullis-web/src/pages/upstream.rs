//! Signing in through an upstream identity provider (SPEC §10): `/login/{id}`
//! starts the flow (a cookie binds it to this browser), `/login/{id}/callback`
//! finishes it. From the account page a signed-in user links another provider
//! or unlinks one. When the upstream's address belongs to an account, the
//! callback answers with the sign-in form and a cookie holding the pending link,
//! which the next full sign-in of that account in this browser completes
//! ([`link_pending`]). Every failure is a page (400, 403, 409 or 502), never a 500,
//! and creates nothing.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use portcullis_core::service::ClientMeta;
use portcullis_core::upstream::{Callback, FLOW_TTL, Finished, UpstreamError, UpstreamFailure};
use portcullis_core::{AuthError, FieldError, User};
use serde::Deserialize;

use super::context::{Flash, LoginPage, ProviderButton};
use super::{Chrome, redirect_with_flash};
use crate::cookies;
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm, CurrentUser};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN_UPSTREAM, get(start))
        .route(paths::LOGIN_UPSTREAM_CALLBACK, get(callback))
        .route(paths::ACCOUNT_IDENTITY_LINK, post(link))
        .route(paths::ACCOUNT_IDENTITY_UNLINK, post(unlink))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StartQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EmptyForm {}

/// The buttons of the sign-in page: one per provider, carrying `next`.
pub(crate) fn sign_in_buttons(state: &AppState, next: &str) -> Vec<ProviderButton> {
    state
        .auth()
        .identity_providers()
        .map(|p| {
            let path = paths::LOGIN_UPSTREAM.replace("{provider}", &p.id);
            ProviderButton { id: p.id.clone(), name: p.name.clone(), url: paths::with_next(&path, next) }
        })
        .collect()
}

/// Where the provider sends the browser back: `PUBLIC_ORIGIN/login/{id}/callback`.
fn redirect_uri(state: &AppState, provider: &str) -> String {
    format!(
        "{}{}",
        state.config().public_url.origin(),
        paths::LOGIN_UPSTREAM_CALLBACK.replace("{provider}", provider)
    )
}

/// The provider's label, or its id.
fn label(state: &AppState, provider: &str) -> String {
    state
        .auth()
        .identity_providers()
        .find(|p| p.id == provider)
        .map_or_else(|| provider.to_owned(), |p| p.name.clone())
}

/// Sends the browser to the provider, with the cookie that binds the flow to it.
fn to_provider(state: &AppState, authorize_url: &str, browser: &str) -> Response {
    let cookie = state.cookies().set(&state.cookies().upstream, browser, Some(FLOW_TTL));
    ([(header::SET_COOKIE, cookie)], Redirect::to(authorize_url)).into_response()
}

/// `GET /login/{id}`: a sign-in through the provider.
async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
) -> Response {
    let next = state.config().safe_next(&q.next).filter(|n| !n.is_empty());
    let uri = redirect_uri(&state, &provider);
    match state.auth().start_upstream(&provider, &uri, next, None).await {
        Ok(started) => to_provider(&state, &started.authorize_url, started.browser.expose()),
        Err(e) => failure_page(&state, &provider, e).into_response(),
    }
}

/// `POST /account/identities/link/{id}`: links the provider's identity to the
/// signed-in account.
async fn link(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(provider): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let uri = redirect_uri(&state, &provider);
    match state.auth().start_upstream(&provider, &uri, Some(paths::ACCOUNT), Some(me.0.user.id)).await {
        Ok(started) => to_provider(&state, &started.authorize_url, started.browser.expose()),
        Err(e) => failure_page(&state, &provider, e).into_response(),
    }
}

/// `GET /login/{id}/callback`.
async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    chrome: Chrome,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let browser = cookies::get(&headers, &state.cookies().upstream);
    let uri = redirect_uri(&state, &provider);
    let callback = Callback {
        provider: &provider,
        redirect_uri: &uri,
        state: q.state.as_deref(),
        browser,
        code: q.code.as_deref(),
        error: q.error.as_deref(),
    };
    let finished = state.auth().finish_upstream(&callback, chrome.user.as_ref(), &client).await;
    let clear = state.cookies().clear(&state.cookies().upstream);
    let mut res = match finished {
        Ok(Finished::SignedIn { outcome, next, .. }) => {
            if let Some(previous) = &chrome.user {
                // A sign-in over an existing session replaces it.
                let _ = state.auth().logout(previous.user.id, previous.token_hash, &client).await;
            }
            let target = next.unwrap_or_else(|| paths::ACCOUNT.to_owned());
            let cookie = state.cookies().set(&state.cookies().session, outcome.token.expose(), None);
            let to = if outcome.session.mfa_pending {
                paths::with_next(paths::LOGIN_MFA, &target)
            } else {
                target
            };
            let mut res = ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response();
            if !outcome.session.mfa_pending {
                super::device::note_device(&state, &headers, &outcome.user, &client, &mut res).await;
            }
            res
        }
        Ok(Finished::Linked { .. }) => redirect_with_flash(&state, paths::ACCOUNT, Flash::IdentityLinked),
        Ok(Finished::SignInToLink { token, email, provider, next }) => {
            let next = next.unwrap_or_default();
            let notice = format!(
                "An account with the address {email} exists already. Sign in to it here (with its \
                 password or passkey, and its second factor) to link your {provider} sign-in to it."
            );
            let page = LoginPage {
                email,
                next: next.clone(),
                passkeys_enabled: state.auth().passkeys_enabled(),
                notice: Some(notice),
                providers: Vec::new(),
                ..LoginPage::default()
            };
            let mut res = chrome.render(&state, StatusCode::OK, &page);
            let cookie = state.cookies().set(&state.cookies().link, token.expose(), Some(FLOW_TTL));
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        Err(e) => failure_page(&state, &provider, e).into_response(),
    };
    res.headers_mut().append(header::SET_COOKIE, clear);
    res
}

/// `POST /account/identities/{id}/unlink`.
async fn unlink(
    State(state): State<AppState>,
    me: CurrentUser,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
    chrome: Chrome,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else { return PageError::not_found().into_response() };
    match state.auth().unlink_identity(&me.0, id, &client).await {
        Ok(()) => redirect_with_flash(&state, paths::ACCOUNT, Flash::IdentityUnlinked),
        Err(AuthError::Conflict { code, message }) => {
            let errors = [FieldError::new("identity", code, message)];
            super::account::render(&state, &me, chrome, StatusCode::CONFLICT, &errors, None).await
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The page of a failed flow.
fn failure_page(state: &AppState, provider: &str, e: UpstreamFailure) -> PageError {
    let name = label(state, provider);
    let bad = |message: String| PageError::new(StatusCode::BAD_REQUEST, message);
    match e {
        UpstreamFailure::UnknownProvider => PageError::not_found(),
        UpstreamFailure::BadState => bad(
            "This sign-in expired, was used already, or was started in another browser. Start again from \
             the sign-in page."
                .into(),
        ),
        UpstreamFailure::Denied(why) => {
            bad(format!("{name} did not sign you in ({why}). Nothing was changed; you may try again."))
        }
        UpstreamFailure::Upstream(UpstreamError::Unreachable(cause)) => {
            tracing::warn!(provider, error = %cause, "identity provider unreachable");
            PageError::new(
                StatusCode::BAD_GATEWAY,
                format!("{name} cannot be reached right now. Try again later, or sign in another way."),
            )
        }
        UpstreamFailure::Upstream(UpstreamError::Refused(cause)) => {
            tracing::warn!(provider, error = %cause, "identity provider's answer refused");
            bad(format!("{name}'s answer could not be accepted. Nothing was changed; try again."))
        }
        UpstreamFailure::NoVerifiedEmail => bad(format!(
            "{name} did not give a verified email address, so no account can be made or linked. Verify \
             your address there, then try again."
        )),
        UpstreamFailure::SignupClosed => PageError::new(
            StatusCode::FORBIDDEN,
            format!(
                "No account here is linked to this {name} sign-in, and new accounts cannot be made with it."
            ),
        ),
        UpstreamFailure::LinkedElsewhere => {
            PageError::new(StatusCode::CONFLICT, format!("This {name} sign-in is linked to another account."))
        }
        UpstreamFailure::Auth(e) => PageError::from(e),
    }
}

/// After a full sign-in (password or passkey, and the second factor) on a page or
/// through the API: when this browser holds a pending link (SPEC §10) for the
/// account signed in to, links it and says so; the cookie goes either way.
pub(crate) async fn link_pending(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    client: &ClientMeta,
    res: &mut Response,
) {
    let Some(cookie) = cookies::get(headers, &state.cookies().link) else { return };
    match state.auth().complete_pending_link(cookie, user, client).await {
        Ok(Some(_)) => {
            let flash = state.cookies().set(&state.cookies().flash, Flash::IdentityLinked.code(), None);
            res.headers_mut().append(header::SET_COOKIE, flash);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "a pending identity link could not be completed"),
    }
    res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().link));
}
