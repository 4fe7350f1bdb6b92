//! OAuth and OpenID Connect storage: clients with their codes and consents, and
//! refresh-token families.

pub(crate) mod clients;
pub(crate) mod families;
