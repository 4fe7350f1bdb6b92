//! Context of `/account/mfa`: turning two-factor authentication on and off, and
//! recovery codes.

use serde::Serialize;

use super::{Audience, Page};

/// `mfa.html`: two-factor authentication, off, being set up, or on.
#[derive(Debug, Clone, Default, Serialize)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the template (and overrides of it) reads these flags by name"
)]
pub(crate) struct MfaPage {
    /// Two-factor authentication is on.
    pub enabled: bool,
    /// Recovery codes not used yet.
    pub codes_left: i64,
    /// Why a code or a password was refused.
    pub error: Option<String>,
    /// Fresh recovery codes, shown once (empty otherwise).
    pub codes: Vec<String>,
    /// The codes come with turning it on.
    pub enabled_now: bool,
    /// Setting up: show the key and ask for a first code.
    pub enrolling: bool,
    pub secret: Option<String>,
    pub qr_data_uri: Option<String>,
    /// Not shown by the built-in page (the QR code carries it); there for overrides.
    pub otpauth_uri: Option<String>,
    /// Setting it up needs the password (the sign-in is not recent).
    pub ask_password: bool,
    /// A first code was refused. Not read by the built-in page; there for overrides.
    pub retry_enrolment: bool,
}

impl Page for MfaPage {
    const TEMPLATE: &'static str = "mfa.html";
    const AUDIENCE: Audience = Audience::SignedIn;

    fn samples() -> Vec<Self> {
        let error = Some("That code is <script>not right".to_owned());
        let codes = vec!["aaaa-bbbb".to_owned(), "<script>".to_owned()];
        vec![
            Self::default(),
            Self { ask_password: true, error: error.clone(), ..Self::default() },
            Self { retry_enrolment: true, error: error.clone(), ..Self::default() },
            Self {
                enrolling: true,
                secret: Some("JBSWY3DPEHPK3PXP".to_owned()),
                qr_data_uri: Some("data:image/svg+xml;base64,PHN2Zz4=".to_owned()),
                otpauth_uri: Some("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP".to_owned()),
                ..Self::default()
            },
            Self { enabled: true, codes_left: 7, error, ..Self::default() },
            Self { enabled: true, enabled_now: true, codes: codes.clone(), ..Self::default() },
            Self { enabled: true, codes, ..Self::default() },
        ]
    }
}
