//! Portcullis domain: users, passwords, sessions and the use cases that tie them
//! together. Nothing here knows about HTTP or SQL. One module per area, each with
//! its model, the narrow store trait it needs (`<area>::store`) and its use cases
//! (methods of [`Auth`], defined in the area's files); [`store::Store`] gathers the
//! store traits, time comes through [`clock::Clock`].

pub mod access;
pub mod accounts;
pub mod admin;
pub mod audit;
pub mod clock;
pub mod devices;
pub mod email_signin;
pub mod error;
pub mod groups;
pub mod keys;
pub mod mail;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod service;
pub mod sessions;
pub mod store;
pub mod throttle;
pub mod token;
pub mod upstream;
pub mod webhooks;

pub use accounts::email::Email;
pub use accounts::password::{Password, PasswordHasher, PasswordPolicy};
pub use accounts::user::{User, UserId};
pub use audit::{Event, EventKind, Outcome};
pub use clock::{Clock, MockClock, SystemClock};
pub use error::{AuthError, FieldError, OAuthError};
pub use mail::{MailComposer, MailError, MailMessage, Mailer, OutgoingMail};
pub use service::{Auth, AuthConfig, ChangeFeed, FED_TTL, HEARTBEAT, HOT_TTL};
pub use sessions::{Session, SessionPolicy};
pub use store::{
    AdminStore, AuditStore, ClientStore, DeviceStore, EmailSignInStore, FamilyStore, GroupStore,
    IdentityStore, KeyStore, MfaStore, OutboxStore, PasskeyStore, SessionStore, Store, StoreError,
    ThrottleStore, TokenStore, UserStore,
};
pub use token::{SecretToken, TokenHash, TokenKind};
