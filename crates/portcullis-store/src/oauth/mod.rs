//! OAuth and OpenID Connect storage: signing keys, clients with their codes and
//! consents, and refresh-token families.

pub(crate) mod clients;
pub(crate) mod families;
pub(crate) mod keys;
