//! Contexts of upstream sign-in (SPEC §10): the providers' buttons and the
//! account page's linked identities.

use portcullis_core::upstream::LinkedIdentity;
use serde::Serialize;

use super::account::{human, machine};

/// A linked upstream identity.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IdentityRow {
    pub id: String,
    /// The provider's label (its id when it is no longer configured).
    pub provider: String,
    pub email: Option<String>,
    pub linked_at: String,
    pub linked_text: String,
}

/// An upstream provider's button: its label and the address its form posts to
/// (or its link goes to, on the sign-in page).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProviderButton {
    pub id: String,
    pub name: String,
    pub url: String,
}

impl IdentityRow {
    /// The account's identities, each with its provider's label (`providers`: id
    /// and label of those configured).
    pub(crate) fn list(identities: &[LinkedIdentity], providers: &[(String, String)]) -> Vec<Self> {
        identities
            .iter()
            .map(|i| Self {
                id: i.id.to_string(),
                provider: providers
                    .iter()
                    .find(|(id, _)| *id == i.provider)
                    .map_or_else(|| i.provider.clone(), |(_, name)| name.clone()),
                email: i.email.clone(),
                linked_at: machine(i.created_at),
                linked_text: human(i.created_at),
            })
            .collect()
    }
}

impl ProviderButton {
    /// A button per configured provider the account has no identity of yet.
    pub(crate) fn linkable(identities: &[LinkedIdentity], providers: &[(String, String)]) -> Vec<Self> {
        providers
            .iter()
            .filter(|(id, _)| !identities.iter().any(|i| i.provider == *id))
            .map(|(id, name)| Self {
                id: id.clone(),
                name: name.clone(),
                url: crate::paths::ACCOUNT_IDENTITY_LINK.replace("{provider}", id),
            })
            .collect()
    }
}
