//! One-shot messages shown after a redirect. The cookie carries only a [`Flash`]'s
//! code, never text: a code this version does not know is ignored.

/// A message for the next page, set by a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flash {
    Registered,
    PasswordReset,
    VerificationSent,
    VerificationSentIf,
    EmailChangeSent,
    AccountDeleted,
    LoggedOut,
    PasswordChanged,
    SessionRevoked,
    ApplicationRevoked,
    MfaDisabled,
    PasskeyRenamed,
    PasskeyRemoved,
    InvitationAccepted,
    IdentityLinked,
    IdentityUnlinked,
}

impl Flash {
    /// Every message, for tests.
    #[cfg(test)]
    pub(crate) const ALL: [Self; 16] = [
        Self::Registered,
        Self::PasswordReset,
        Self::VerificationSent,
        Self::VerificationSentIf,
        Self::EmailChangeSent,
        Self::AccountDeleted,
        Self::LoggedOut,
        Self::PasswordChanged,
        Self::SessionRevoked,
        Self::ApplicationRevoked,
        Self::MfaDisabled,
        Self::PasskeyRenamed,
        Self::PasskeyRemoved,
        Self::InvitationAccepted,
        Self::IdentityLinked,
        Self::IdentityUnlinked,
    ];

    /// The code the cookie carries.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::PasswordReset => "password_reset",
            Self::VerificationSent => "verification_sent",
            Self::VerificationSentIf => "verification_sent_if",
            Self::EmailChangeSent => "email_change_sent",
            Self::AccountDeleted => "account_deleted",
            Self::LoggedOut => "logged_out",
            Self::PasswordChanged => "password_changed",
            Self::SessionRevoked => "session_revoked",
            Self::ApplicationRevoked => "application_revoked",
            Self::MfaDisabled => "mfa_disabled",
            Self::PasskeyRenamed => "passkey_renamed",
            Self::PasskeyRemoved => "passkey_removed",
            Self::InvitationAccepted => "invitation_accepted",
            Self::IdentityLinked => "identity_linked",
            Self::IdentityUnlinked => "identity_unlinked",
        }
    }

    /// The message of a cookie's code; `None` for a code we never set (an old
    /// version's, or a forged one: it is not shown).
    pub(crate) fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "registered" => Self::Registered,
            "password_reset" => Self::PasswordReset,
            "verification_sent" => Self::VerificationSent,
            "verification_sent_if" => Self::VerificationSentIf,
            "email_change_sent" => Self::EmailChangeSent,
            "account_deleted" => Self::AccountDeleted,
            "logged_out" => Self::LoggedOut,
            "password_changed" => Self::PasswordChanged,
            "session_revoked" => Self::SessionRevoked,
            "application_revoked" => Self::ApplicationRevoked,
            "mfa_disabled" => Self::MfaDisabled,
            "passkey_renamed" => Self::PasskeyRenamed,
            "passkey_removed" => Self::PasskeyRemoved,
            "invitation_accepted" => Self::InvitationAccepted,
            "identity_linked" => Self::IdentityLinked,
            "identity_unlinked" => Self::IdentityUnlinked,
            _ => return None,
        })
    }

    /// What the page says.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Registered => {
                "Your account was created. We sent you a link to confirm your address. Sign in to continue."
            }
            Self::PasswordReset => {
                "Your password was reset and every session was signed out. Sign in with the new password."
            }
            Self::VerificationSent => "We sent a new confirmation link to your address.",
            Self::VerificationSentIf => "If that account still needs confirming, we sent it a new link.",
            Self::EmailChangeSent => {
                "We sent a confirmation link to the new address. Your address changes when you follow it."
            }
            Self::AccountDeleted => "Your account was deleted.",
            Self::LoggedOut => "You have been signed out.",
            Self::PasswordChanged => "Your password was changed. Your other sessions were signed out.",
            Self::SessionRevoked => "The session was signed out.",
            Self::ApplicationRevoked => "The application was signed out.",
            Self::MfaDisabled => "Two-factor authentication is off.",
            Self::PasskeyRenamed => "The passkey was renamed.",
            Self::PasskeyRemoved => "The passkey was removed.",
            Self::InvitationAccepted => "Welcome! Your password is set and your address is confirmed.",
            Self::IdentityLinked => {
                "The sign-in provider is linked to your account: you can sign in with it."
            }
            Self::IdentityUnlinked => "The sign-in provider was unlinked from your account.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Flash;

    #[test]
    fn every_flash_round_trips_through_its_code_and_has_text() {
        for flash in Flash::ALL {
            assert_eq!(Flash::from_code(flash.code()), Some(flash));
            assert!(flash.text().ends_with('.'), "{flash:?}");
        }
    }

    #[test]
    fn unknown_codes_are_ignored() {
        assert_eq!(Flash::from_code("Your account was hacked"), None);
        assert_eq!(Flash::from_code(""), None);
        assert_eq!(Flash::from_code("Registered"), None);
    }
}
