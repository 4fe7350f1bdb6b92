//! HTML pages. Each area has `router()` and thin `get`/`post` handlers; [`Chrome`]
//! carries what every page shows (the signed-in user, the CSRF token, a flash), and
//! `context` the typed context of each template.

mod account;
mod admin;
pub(crate) mod context;
pub(crate) mod device;
mod email;
mod email_signin;
mod home;
mod invitation;
mod login;
mod logout;
mod mfa;
mod passkeys;
mod password;
mod register;
pub(crate) mod upstream;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use portcullis_core::service::Authenticated;

pub(crate) use self::context::Flash;
use self::context::{ChromeContext, ErrorPage, Page, WithChrome};
use crate::cookies;
use crate::error::{ApiError, PageError};
use crate::extract::{CsrfToken, MaybeUser};
use crate::headers::FormTarget;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(register::router())
        .merge(login::router())
        .merge(logout::router())
        .merge(account::router())
        .merge(mfa::router())
        .merge(passkeys::router())
        .merge(password::router())
        .merge(email::router())
        .merge(email_signin::router())
        .merge(admin::router())
        .merge(invitation::router())
        .merge(upstream::router())
}

/// What every page needs from the request.
pub(crate) struct Chrome {
    pub user: Option<Authenticated>,
    pub csrf: CsrfToken,
    flash: Option<Flash>,
    had_flash_cookie: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Chrome {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, s).await?;
        let csrf = CsrfToken::from_request_parts(parts, s).await?;
        let state = crate::extract::state(parts)?;
        let flash_cookie = cookies::get(&parts.headers, &state.cookies().flash);
        Ok(Self {
            user,
            csrf,
            flash: flash_cookie.and_then(Flash::from_code),
            had_flash_cookie: flash_cookie.is_some(),
        })
    }
}

impl Chrome {
    /// Renders `page` in the layout, with `status`.
    pub fn render<P: Page>(self, state: &AppState, status: StatusCode, page: &P) -> Response {
        let chrome = ChromeContext::new(self.user.as_ref(), &self.csrf.token, self.flash);
        let body = match state.templates().render(P::TEMPLATE, &WithChrome { chrome: &chrome, page }) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, template = P::TEMPLATE, "template failed to render");
                return PageError::internal().into_response();
            }
        };
        let mut res = (status, self.csrf.clone(), Html(body)).into_response();
        if self.had_flash_cookie {
            res.headers_mut().append(header::SET_COOKIE, state.cookies().clear(&state.cookies().flash));
        }
        res
    }
}

/// Where a sign-in form may end after its redirects, when that is another origin:
/// `next` itself when it is an allowed absolute URL, or, when `next` continues an
/// authorization request, that client's registered redirect URI. Browsers apply
/// the CSP's `form-action` to a form's redirects, so the page must name it.
pub(crate) async fn form_target_after(state: &AppState, next: &str) -> Option<FormTarget> {
    let next = state.config().safe_next(next)?;
    let Some(query) = next.strip_prefix(crate::paths::OAUTH_AUTHORIZE).and_then(|q| q.strip_prefix('?'))
    else {
        return FormTarget::also(next);
    };
    let params: portcullis_core::service::AuthorizeParams = serde_urlencoded::from_str(query).ok()?;
    let (client, uri) = (params.client_id?, params.redirect_uri?);
    match state.auth().is_registered_redirect(&client, &uri).await {
        Ok(true) => FormTarget::also(&uri),
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, "could not look up the client of a sign-in's next");
            None
        }
    }
}

/// `res` with `target` named in its CSP's `form-action`, when there is one.
pub(crate) fn with_form_target(mut res: Response, target: Option<FormTarget>) -> Response {
    if let Some(target) = target {
        res.extensions_mut().insert(target);
    }
    res
}

/// A 303 to a fixed path that shows `flash` there.
pub(crate) fn redirect_with_flash(state: &AppState, to: &str, flash: Flash) -> Response {
    let mut res = Redirect::to(to).into_response();
    let cookie = state.cookies().set(&state.cookies().flash, flash.code(), None);
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// Renders the error page for a `PageError` left in a response by a handler or
/// extractor, and gives a 405 from the router a body: problem+json under `/api/`
/// (`is_api`), a page elsewhere (the `Allow` header stays).
pub(crate) fn render_page_errors(state: &AppState, is_api: bool, res: Response) -> Response {
    let err = match res.extensions().get::<PageError>() {
        Some(err) => err.clone(),
        None if res.status() == StatusCode::METHOD_NOT_ALLOWED => {
            let allow = res.headers().get(header::ALLOW).cloned();
            let mut out = if is_api {
                ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed")
                    .detail("this endpoint does not take that method: see the Allow header")
                    .into_response()
            } else {
                error_page(
                    state,
                    &PageError::new(StatusCode::METHOD_NOT_ALLOWED, "This page cannot be used that way."),
                )
            };
            if let Some(allow) = allow {
                out.headers_mut().insert(header::ALLOW, allow);
            }
            return out;
        }
        None => return res,
    };
    let (mut parts, _) = res.into_parts();
    let page = error_page(state, &err);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html; charset=utf-8"));
    Response::from_parts(parts, page.into_body())
}

/// The `error.html` page for `err`, with its status (and `Retry-After`).
pub(crate) fn error_page(state: &AppState, err: &PageError) -> Response {
    let page = ErrorPage { status: err.status.as_u16(), message: err.message.clone() };
    let chrome = ChromeContext::bare();
    let body = state.templates().render(ErrorPage::TEMPLATE, &WithChrome { chrome: &chrome, page: &page });
    let body = body.unwrap_or_else(|e| {
        tracing::error!(error = %e, "error template failed to render");
        "<!doctype html><title>Error</title><p>Something went wrong.</p>".to_owned()
    });
    let mut res = (err.status, Html(body)).into_response();
    if let Some(secs) = err.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    res
}
