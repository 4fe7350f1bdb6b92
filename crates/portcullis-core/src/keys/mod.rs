//! Keys: the Ed25519 signing keys of tokens (sealed in the database, rotated,
//! published as a JWKS) and the node-shared secrets loaded at start-up.

pub mod jwt;
mod service;
pub mod store;

pub use service::Keys;
