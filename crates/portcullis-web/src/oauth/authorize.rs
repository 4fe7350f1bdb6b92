//! `/oauth2/authorize`: validates the request (an unknown client or redirect URI is
//! an error page, never a redirect), sends the user to sign in when needed, asks for
//! consent for clients not marked first-party, then returns a code to the client: by
//! a redirect, or (`response_mode=form_post`) by a page that posts it.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use portcullis_core::oauth::{AuthorizeReply, ResponseMode};
use portcullis_core::service::{AuthorizeError, AuthorizeParams, AuthorizeRequest, AuthorizeStep};
use serde::Deserialize;

use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::headers::FormTarget;
use crate::pages::Chrome;
use crate::pages::context::{ConsentPage, FormField, FormPostPage, Page as _, ScopeItem};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::OAUTH_AUTHORIZE, get(get_authorize).post(post_consent))
}

/// What a scope lets the client see, for the consent page.
fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Know who you are (a stable identifier)",
        "email" => "See your email address and whether it is verified",
        "profile" => "See your basic profile",
        "offline_access" => "Stay connected when you are not using it",
        "groups" => "See which groups you belong to",
        _ => "Other access",
    }
}

fn parse(query: &str) -> Result<AuthorizeParams, PageError> {
    serde_urlencoded::from_str(query)
        .map_err(|_| PageError::new(StatusCode::BAD_REQUEST, "The sign-in request is malformed."))
}

/// Validates the request; a refusal is a page or an answer to the client.
async fn validate(state: &AppState, params: &AuthorizeParams) -> Result<AuthorizeRequest, Response> {
    state.auth().authorize_request(params).await.map_err(|e| match e {
        AuthorizeError::Page(message) => PageError::new(StatusCode::BAD_REQUEST, message).into_response(),
        AuthorizeError::ToClient(reply) => answer(state, &reply),
        AuthorizeError::Failed(e) => PageError::from(e).into_response(),
    })
}

/// The answer to the client in its response mode: a redirect, or a page whose form
/// posts the parameters to the redirect URI (and whose CSP lets it post there).
fn answer(state: &AppState, reply: &AuthorizeReply) -> Response {
    match reply.mode {
        ResponseMode::Query => Redirect::to(&reply.url()).into_response(),
        ResponseMode::FormPost => {
            // Registered redirect URIs are absolute http(s) URLs.
            let Some(target) = FormTarget::only(&reply.redirect_uri) else {
                tracing::error!("a registered redirect URI has no http(s) origin");
                return PageError::internal().into_response();
            };
            let fields = reply
                .params
                .iter()
                .map(|(name, value)| FormField { name: (*name).to_owned(), value: value.clone() })
                .collect();
            let page = FormPostPage { action: reply.redirect_uri.clone(), fields };
            match state.templates().render(FormPostPage::TEMPLATE, &page) {
                Ok(body) => {
                    let mut res = Html(body).into_response();
                    res.extensions_mut().insert(target);
                    res
                }
                Err(e) => {
                    tracing::error!(error = %e, "form_post template failed to render");
                    PageError::internal().into_response()
                }
            }
        }
    }
}

async fn get_authorize(State(state): State<AppState>, chrome: Chrome, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let params = match parse(&query) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let req = match validate(&state, &params).await {
        Ok(req) => req,
        Err(res) => return res,
    };
    match state.auth().authorize_step(&req, chrome.user.as_ref()).await {
        Ok(AuthorizeStep::Reply(reply)) => answer(&state, &reply),
        Ok(AuthorizeStep::Login { auth_after }) => {
            // Back here after signing in; `prompt=login` and `max_age` are replaced
            // by "signed in at or after now", so the return trip cannot loop.
            let prompt = params.prompt.as_deref().map(|p| {
                p.split(' ').filter(|v| !v.is_empty() && *v != "login").collect::<Vec<_>>().join(" ")
            });
            let again = AuthorizeParams {
                prompt: prompt.filter(|p| !p.is_empty()),
                max_age: None,
                auth_after: Some(auth_after),
                ..params
            };
            let next = format!(
                "{}?{}",
                paths::OAUTH_AUTHORIZE,
                serde_urlencoded::to_string(&again).unwrap_or_default()
            );
            Redirect::to(&paths::login_with_next(&next)).into_response()
        }
        Ok(AuthorizeStep::Consent) => {
            let scopes: Vec<_> = req
                .scope
                .values()
                .iter()
                .map(|s| ScopeItem { name: (*s).to_owned(), description: describe(s) })
                .collect();
            let page = ConsentPage { client_name: req.client.name.clone(), scopes, request: query };
            // The answer (either button) is a redirect to the client.
            let target = FormTarget::also(&req.redirect_uri);
            crate::pages::with_form_target(chrome.render(&state, StatusCode::OK, &page), target)
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConsentForm {
    /// The authorization request's query, carried through the form.
    request: String,
    decision: String,
}

async fn post_consent(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Response {
    let params = match parse(&form.request) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let req = match validate(&state, &params).await {
        Ok(req) => req,
        Err(res) => return res,
    };
    let Some(me) = chrome.user.as_ref() else {
        let next = format!("{}?{}", paths::OAUTH_AUTHORIZE, form.request);
        return Redirect::to(&paths::login_with_next(&next)).into_response();
    };
    let allow = form.decision == "allow";
    match state.auth().authorize_consent(&req, me, allow, &client).await {
        Ok(reply) => answer(&state, &reply),
        Err(e) => PageError::from(e).into_response(),
    }
}
