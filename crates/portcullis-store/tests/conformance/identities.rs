//! Upstream identities (SPEC §10): a flow and a pending link are taken once; an
//! identity belongs to one account; an account made with its identity is made
//! whole or not at all; unlinking keeps a way to sign in.

use portcullis_core::accounts::user::NO_PASSWORD_HASH;
use portcullis_core::store::NewUser;
use portcullis_core::upstream::{FlowState, LinkedIdentity, PendingLink, Unlinked, UpstreamIdentity};
use portcullis_core::{StoreError, UserId};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, mail, new_user, secret, t0};

pub(crate) fn identity(user: UserId, subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        provider: "corp".into(),
        issuer: "https://sso.example.com".into(),
        subject: subject.into(),
        email: Some("ada@example.com".into()),
        created_at: t0(),
        last_used_at: None,
    }
}

fn flow(link_to: Option<UserId>, minutes: i64) -> FlowState {
    FlowState {
        state_hash: secret().1,
        provider: "corp".into(),
        browser: secret().1,
        nonce: "n".into(),
        code_verifier: "v".into(),
        next: Some("/wiki".into()),
        link_to,
        expires_at: t0() + Duration::minutes(minutes),
    }
}

async fn a_flow_and_a_pending_link_are_taken_once_and_expired_ones_are_purged(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let started = flow(Some(ada.id), 10);
    s.save_flow(&started, t0()).await.unwrap();
    assert_eq!(s.take_flow(&started.state_hash).await.unwrap(), Some(started.clone()));
    assert_eq!(s.take_flow(&started.state_hash).await.unwrap(), None, "a replayed state finds nothing");

    let old = flow(None, 10);
    s.save_flow(&old, t0()).await.unwrap();
    let later = flow(None, 30);
    s.save_flow(&later, t0() + Duration::minutes(20)).await.unwrap();
    assert_eq!(s.take_flow(&old.state_hash).await.unwrap(), None, "purged once expired");

    let pending = PendingLink {
        token_hash: secret().1,
        provider: "corp".into(),
        user_id: ada.id,
        identity: UpstreamIdentity {
            issuer: "https://sso.example.com".into(),
            subject: "u-1".into(),
            email: Some("ada@example.com".into()),
            email_verified: true,
            second_factor: true,
        },
        expires_at: t0() + Duration::minutes(10),
    };
    s.save_pending_link(&pending, t0()).await.unwrap();
    assert_eq!(s.take_pending_link(&pending.token_hash).await.unwrap(), Some(pending.clone()));
    assert_eq!(s.take_pending_link(&pending.token_hash).await.unwrap(), None);
}

async fn an_identity_belongs_to_one_account_and_is_found_with_it(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    let link = identity(ada.id, "u-1");
    s.link_identity(&link).await.unwrap();
    let (found, user) = s.find_identity(&link.issuer, "u-1").await.unwrap().expect("linked");
    assert_eq!((found.clone(), user.id), (link.clone(), ada.id));
    assert!(s.find_identity(&link.issuer, "u-2").await.unwrap().is_none());
    assert!(s.find_identity("https://other.example.com", "u-1").await.unwrap().is_none(), "per issuer");
    let again = s.link_identity(&identity(bob.id, "u-1")).await;
    assert!(matches!(again, Err(StoreError::Conflict("identity"))), "{again:?}");

    s.identity_used(link.id, t0() + Duration::hours(1)).await.unwrap();
    let listed = s.list_identities(ada.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(t0() + Duration::hours(1)));
    assert!(s.list_identities(bob.id).await.unwrap().is_empty());
}

async fn an_account_made_with_an_identity_is_made_whole_or_not_at_all(s: &TestStore) {
    let taken = s.user("taken@example.com").await;
    s.link_identity(&identity(taken.id, "u-linked")).await.unwrap();
    let make = |email: &'static str| NewUser {
        password_hash: NO_PASSWORD_HASH,
        email_verified: true,
        ..new_user(email, email)
    };
    // The identity is linked already: no account either.
    let new = make("new@example.com");
    let refused = s.create_user_with_identity(new, &identity(UserId::new(), "u-linked"), None).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert!(s.find_credentials_by_email("new@example.com").await.unwrap().is_none(), "rolled back");
    // The address is taken: no link either.
    let dup = make("taken@example.com");
    let refused = s.create_user_with_identity(dup, &identity(UserId::new(), "u-new"), None).await;
    assert!(matches!(refused, Err(StoreError::Conflict("email"))), "{refused:?}");
    assert!(s.find_identity("https://sso.example.com", "u-new").await.unwrap().is_none());

    let new = make("new@example.com");
    let id = new.id;
    let user = s.create_user_with_identity(new, &identity(id, "u-new"), None).await.unwrap();
    assert!(user.email_verified && !user.invited);
    let (_, found) = s.find_identity("https://sso.example.com", "u-new").await.unwrap().unwrap();
    assert_eq!(found.id, user.id);
    let creds = s.find_credentials_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(creds.password_hash, NO_PASSWORD_HASH);
}

async fn unlinking_keeps_a_way_to_sign_in(s: &TestStore) {
    let new = NewUser { password_hash: NO_PASSWORD_HASH, ..new_user("ada@example.com", "ada@example.com") };
    let first = identity(new.id, "u-1");
    let ada = s.create_user_with_identity(new, &first, None).await.unwrap();
    assert_eq!(s.unlink_identity(ada.id, first.id).await.unwrap(), Unlinked::LastSignInMethod);
    assert_eq!(s.unlink_identity(ada.id, uuid::Uuid::new_v4()).await.unwrap(), Unlinked::NotFound);

    // Another identity: one of the two may go.
    let second = identity(ada.id, "u-2");
    s.link_identity(&second).await.unwrap();
    assert_eq!(s.unlink_identity(ada.id, first.id).await.unwrap(), Unlinked::Done);
    assert_eq!(s.unlink_identity(ada.id, second.id).await.unwrap(), Unlinked::LastSignInMethod);

    // A passkey is a way to sign in.
    let key = crate::passkeys::passkey(ada.id, b"credential-1");
    s.add_passkey(&key, &mail(Some(ada.id), "Passkey added", t0())).await.unwrap();
    assert_eq!(s.unlink_identity(ada.id, second.id).await.unwrap(), Unlinked::Done);

    // A password is one; someone else's identity is not found.
    let bob = s.user("bob@example.com").await;
    let theirs = identity(bob.id, "u-3");
    s.link_identity(&theirs).await.unwrap();
    assert_eq!(s.unlink_identity(ada.id, theirs.id).await.unwrap(), Unlinked::NotFound);
    assert_eq!(s.unlink_identity(bob.id, theirs.id).await.unwrap(), Unlinked::Done);
    assert!(s.list_identities(bob.id).await.unwrap().is_empty());
}

async fn deleting_an_account_deletes_its_identities(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let link = identity(ada.id, "u-1");
    s.link_identity(&link).await.unwrap();
    s.save_flow(&flow(Some(ada.id), 10), t0()).await.unwrap();
    s.delete_user(ada.id, None, false, None).await.unwrap();
    assert!(s.find_identity(&link.issuer, "u-1").await.unwrap().is_none());
    // The identity may be linked again to someone else.
    let bob = s.user("bob@example.com").await;
    s.link_identity(&identity(bob.id, "u-1")).await.unwrap();
}

conformance!(
    a_flow_and_a_pending_link_are_taken_once_and_expired_ones_are_purged,
    an_identity_belongs_to_one_account_and_is_found_with_it,
    an_account_made_with_an_identity_is_made_whole_or_not_at_all,
    unlinking_keeps_a_way_to_sign_in,
    deleting_an_account_deletes_its_identities,
);
