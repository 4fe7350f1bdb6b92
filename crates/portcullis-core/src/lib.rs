//! Portcullis domain: users, passwords, sessions and the use cases that tie them
//! together. Nothing here knows about HTTP or SQL; storage is reached through the
//! traits in [`store`], time through [`clock::Clock`].

pub mod clock;
pub mod common_passwords;
pub mod email;
pub mod error;
pub mod event;
pub mod jwt;
pub mod mail;
pub mod mfa;
pub mod oauth;
pub mod passkey;
pub mod password;
pub mod service;
pub mod session;
pub mod store;
pub mod throttle;
pub mod token;
pub mod user;

pub use clock::{Clock, MockClock, SystemClock};
pub use email::Email;
pub use error::{AuthError, FieldError, OAuthError};
pub use event::{Event, EventKind, Outcome};
pub use mail::{MailComposer, MailError, MailMessage, Mailer, OutgoingMail};
pub use passkey::PasskeyStore;
pub use password::{Password, PasswordHasher, PasswordPolicy};
pub use service::{Auth, AuthConfig};
pub use session::{Session, SessionPolicy};
pub use store::{OAuthStore, OutboxStore, Store, StoreError, TokenStore};
pub use token::{SecretToken, TokenHash, TokenKind};
pub use user::{User, UserId};
