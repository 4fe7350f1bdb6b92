//! What follows every full sign-in in a browser or API client (pages and API,
//! password, second factor, passkey, email): a pending upstream link completed,
//! and the device cookie read or given, reported for the new-device notice.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use portcullis_core::devices::DEVICE_COOKIE_LIFETIME;
use portcullis_core::service::ClientMeta;
use portcullis_core::{SecretToken, User};

use crate::cookies;
use crate::state::AppState;

/// The hooks of a full sign-in, in order.
pub(crate) async fn after_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    client: &ClientMeta,
    res: &mut Response,
) {
    super::upstream::link_pending(state, headers, user, client, res).await;
    note_device(state, headers, user, client, res).await;
}

/// Reports the sign-in's device (a new random id when the browser has none, or a
/// malformed one) and (re)sets the long-lived, HttpOnly device cookie.
pub(crate) async fn note_device(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    client: &ClientMeta,
    res: &mut Response,
) {
    if !state.auth().new_device_notice_enabled() {
        return;
    }
    let device = cookies::get(headers, &state.cookies().device)
        .and_then(SecretToken::parse)
        .unwrap_or_else(SecretToken::generate);
    if let Err(e) = state.auth().signed_in_from_device(user, &device, client).await {
        // The sign-in stands; only the notice is lost.
        tracing::warn!(error = %e, user_id = %user.id, "could not record the sign-in's device");
    }
    let cookie = state.cookies().set(&state.cookies().device, device.expose(), Some(DEVICE_COOKIE_LIFETIME));
    res.headers_mut().append(header::SET_COOKIE, cookie);
}
