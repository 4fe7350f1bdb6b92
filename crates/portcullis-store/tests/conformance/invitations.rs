//! Invitations: an account stored with the invited marker reads as invited wherever
//! a user is read; a new invitation link replaces the older ones; accepting spends
//! the link once, sets the first password and verifies the address, and only while
//! the account is still invited.

use portcullis_core::TokenKind;
use portcullis_core::accounts::user::INVITED_PASSWORD_HASH;
use portcullis_core::groups::GroupName;
use portcullis_core::oauth::TokenFamily;
use portcullis_core::store::NewSession;
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, mail, new_user, secret, t0, token};

/// An invited user in the group `ops`, with the invitation link `hash`.
async fn invite(s: &TestStore, email: &str) -> (portcullis_core::User, portcullis_core::TokenHash) {
    let ops = [GroupName::parse("ops").unwrap()];
    if s.find_group(&ops[0]).await.unwrap().is_none() {
        s.create_group(&ops[0], "", t0()).await.unwrap();
    }
    let mut new = new_user(email, email);
    new.password_hash = INVITED_PASSWORD_HASH;
    new.groups = &ops;
    let (_, hash) = secret();
    let link = portcullis_core::store::NewToken {
        expires_at: t0() + Duration::days(7),
        ..token(new.id, TokenKind::Invite, hash, None)
    };
    let user = s.create_user(new, Some((&link, &mail(None, "Invitation", t0()))), None).await.unwrap();
    (user, hash)
}

async fn an_invited_user_reads_as_invited_everywhere(s: &TestStore) {
    let (ada, _) = invite(s, "ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    assert!(ada.invited && !ada.email_verified && !bob.invited);
    let creds = s.find_credentials_by_id(ada.id).await.unwrap().unwrap();
    assert!(creds.user.invited);
    assert_eq!(creds.password_hash, INVITED_PASSWORD_HASH);
    assert!(s.find_credentials_by_email("ada@example.com").await.unwrap().unwrap().user.invited);
    let listed: Vec<_> = s.list_users().await.unwrap().into_iter().map(|u| (u.email, u.invited)).collect();
    assert_eq!(listed, [("ada@example.com".to_owned(), true), ("bob@example.com".to_owned(), false)]);
    let members = s.group_members(&GroupName::parse("ops").unwrap()).await.unwrap();
    assert_eq!(members, std::slice::from_ref(&ada));

    // Nothing signs an invited user in, but a session or token family read back
    // must still say what the user is.
    let (_, session_hash) = secret();
    let session = crate::sessions::session(ada.id);
    s.create_session(NewSession { token_hash: session_hash, session: &session, rehash: None }).await.unwrap();
    assert!(s.find_session(session_hash).await.unwrap().unwrap().user.invited);
    let family = TokenFamily {
        id: uuid::Uuid::new_v4(),
        user_id: ada.id,
        client_id: None,
        scope: String::new(),
        auth_time: t0(),
        two_factor: false,
        created_at: t0(),
    };
    s.create_family(&family, None, None).await.unwrap();
    assert!(s.find_family(family.id).await.unwrap().unwrap().user.invited);
}

async fn a_new_invitation_link_replaces_the_older_ones(s: &TestStore) {
    let (ada, first) = invite(s, "ada@example.com").await;
    let (_, verify) = secret();
    s.issue_token(&token(ada.id, TokenKind::VerifyEmail, verify, None), &mail(None, "Verify", t0()))
        .await
        .unwrap();
    let (_, second) = secret();
    let again = token(ada.id, TokenKind::Invite, second, None);
    s.replace_token(&again, &mail(Some(ada.id), "Invitation again", t0())).await.unwrap();
    assert!(s.find_token(first).await.unwrap().is_none(), "the older link is gone");
    assert_eq!(s.find_token(second).await.unwrap().unwrap().kind, TokenKind::Invite);
    assert!(s.find_token(verify).await.unwrap().is_some(), "tokens of other kinds stay");
    assert_eq!(s.list_mails(ada.id).await.unwrap()[0].subject, "Invitation again");
}

async fn accepting_spends_the_link_once_sets_the_password_and_verifies(s: &TestStore) {
    let (ada, hash) = invite(s, "ada@example.com").await;
    let now = t0() + Duration::minutes(1);
    assert_eq!(s.accept_invitation(hash, "$argon2id$first", now, None).await.unwrap(), Some(ada.id));
    let creds = s.find_credentials_by_id(ada.id).await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$first");
    assert!(creds.user.email_verified && !creds.user.invited);
    assert_eq!(s.find_token(hash).await.unwrap().unwrap().used_at, Some(now));
    assert_eq!(s.accept_invitation(hash, "$argon2id$again", now, None).await.unwrap(), None, "spent");
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "$argon2id$first");
}

async fn an_invitation_is_not_accepted_expired_or_once_a_password_was_set(s: &TestStore) {
    let (ada, hash) = invite(s, "ada@example.com").await;
    let late = t0() + Duration::days(7);
    assert_eq!(s.accept_invitation(hash, "$argon2id$late", late, None).await.unwrap(), None, "expired");

    // An operator sets a password without the link: the user is no longer invited,
    // and a link that somehow survived is refused and stays unspent.
    let (bob, bob_link) = invite(s, "bob@example.com").await;
    s.update_password_hash(bob.id, "$argon2id$operator").await.unwrap();
    assert_eq!(s.accept_invitation(bob_link, "$argon2id$bob", t0(), None).await.unwrap(), None);
    assert_eq!(s.find_token(bob_link).await.unwrap().unwrap().used_at, None, "rolled back");
    assert_eq!(s.find_credentials_by_id(bob.id).await.unwrap().unwrap().password_hash, "$argon2id$operator");
    assert!(!s.find_credentials_by_id(ada.id).await.unwrap().unwrap().user.email_verified);
}

conformance!(
    an_invited_user_reads_as_invited_everywhere,
    a_new_invitation_link_replaces_the_older_ones,
    accepting_spends_the_link_once_sets_the_password_and_verifies,
    an_invitation_is_not_accepted_expired_or_once_a_password_was_set,
);
