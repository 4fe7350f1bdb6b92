//! `/register`: create an account, then sign in (or, when verification is required,
//! check the mailbox: the same page whether or not the address was taken).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::service::{Registered, Registration};
use portcullis_core::{AuthError, FieldError, Password};
use serde::Deserialize;

use super::context::{RegisterErrors, RegisterPage};
use super::{Chrome, Flash, redirect_with_flash};
use crate::error::PageError;
use crate::extract::{ClientInfo, CsrfForm};
use crate::paths;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(paths::REGISTER, get(get_register).post(post_register))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RegisterForm {
    email: String,
    password: String,
    password_confirm: String,
}

async fn get_register(State(state): State<AppState>, chrome: Chrome) -> Response {
    chrome.render(&state, StatusCode::OK, &RegisterPage::default())
}

async fn post_register(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Response {
    let errors = if form.password == form.password_confirm {
        let password = Password::new(&form.password);
        let reg = Registration { email: &form.email, password: &password, verified: false, admin: false };
        match state.auth().register(reg, &client).await {
            Ok(_) if state.auth().config().email.require_verification => {
                return axum::response::Redirect::to(paths::CHECK_EMAIL).into_response();
            }
            Ok(Registered::Created(_) | Registered::AddressInUse) => {
                return redirect_with_flash(&state, paths::LOGIN, Flash::Registered);
            }
            Err(AuthError::Validation(errors)) => errors,
            Err(AuthError::EmailTaken) => {
                vec![FieldError::new("email", "email_taken", "an account with this email already exists")]
            }
            Err(e) => return PageError::from(e).into_response(),
        }
    } else {
        vec![FieldError::new("password_confirm", "password_mismatch", "the two passwords do not match")]
    };
    let page = RegisterPage { email: form.email, errors: RegisterErrors::from_fields(&errors) };
    chrome.render(&state, StatusCode::UNPROCESSABLE_ENTITY, &page)
}
