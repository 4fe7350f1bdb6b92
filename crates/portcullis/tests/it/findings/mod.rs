//! Findings of an outside security test (issue #13), one test or more each, on both
//! backends. Each of them failed before its fix.

mod binding;
mod identity;
mod mail_limits;
mod transport;

use portcullis_core::Password;
use portcullis_core::service::{ClientMeta, Registration};

use crate::helpers::{PASSWORD, TestApp};

/// Creates a verified user (an administrator with `admin`), as `portcullis user
/// create [--admin]` does.
pub(crate) async fn create_user(app: &TestApp, email: &str, admin: bool) {
    let reg = Registration { email, password: &Password::new(PASSWORD), verified: true, admin };
    app.state.auth().register(reg, &ClientMeta::operator()).await.expect("user created");
}
