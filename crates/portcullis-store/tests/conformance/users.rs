//! Accounts: create, find, conflicts on the canonical address, disable, delete.

use portcullis_core::StoreError;
use portcullis_core::store::Guarded;

use crate::conformance;
use crate::fixtures::{TestStore, mail, new_user, t0};

async fn a_created_user_is_found_by_canonical_address_and_by_id(s: &TestStore) {
    let user = s.user("Ada@Example.com").await;
    let by_email = s.find_credentials_by_email("ada@example.com").await.unwrap().expect("found by address");
    assert_eq!(by_email.user, user);
    assert_eq!(by_email.password_hash, "$argon2id$fake");
    let by_id = s.find_credentials_by_id(user.id).await.unwrap().expect("found by id");
    assert_eq!(by_id.user.email, "Ada@Example.com");
    assert_eq!(by_id.user.created_at, t0());
    assert!(s.find_credentials_by_email("nobody@example.com").await.unwrap().is_none());
}

async fn a_second_user_with_the_same_canonical_address_is_a_conflict(s: &TestStore) {
    s.user("Ada@Example.com").await;
    let again = s.create_user(new_user("ADA@example.com", "ada@example.com"), None, None).await;
    assert!(matches!(again, Err(StoreError::Conflict("email"))), "{again:?}");
    assert_eq!(s.list_users().await.unwrap().len(), 1);
}

async fn users_are_listed_disabled_and_deleted(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    let listed: Vec<_> = s.list_users().await.unwrap().into_iter().map(|u| u.email).collect();
    assert_eq!(listed, ["ada@example.com", "bob@example.com"]);

    assert_eq!(s.set_user_disabled(ada.id, true, t0(), None).await.unwrap(), Guarded::Changed);
    assert!(s.find_credentials_by_id(ada.id).await.unwrap().expect("still there").user.disabled);

    s.enqueue_mail(&mail(Some(bob.id), "About bob", t0())).await.unwrap();
    // The notice names no user: it must outlive the account it reports deleted.
    let notice = mail(None, "Account deleted", t0());
    assert_eq!(s.delete_user(bob.id, Some(&notice), false, None).await.unwrap(), Guarded::Changed);
    assert!(s.find_credentials_by_id(bob.id).await.unwrap().is_none());
    assert_eq!(s.outbox_stats(t0()).await.unwrap().pending, 1, "bob's mails went, the notice is queued");
    assert_eq!(
        s.delete_user(bob.id, None, true, None).await.unwrap(),
        Guarded::Unchanged,
        "deleting twice finds nothing"
    );
}

async fn a_password_change_is_stored(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.update_password_hash(ada.id, "rehashed").await.unwrap();
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "rehashed");
    s.change_password(ada.id, "changed", t0(), None, None, None).await.unwrap();
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "changed");
}

async fn migrations_leave_nothing_pending_and_run_once(s: &TestStore) {
    assert_eq!(s.database.pending_migrations().await.unwrap(), 0);
    assert_eq!(s.database.migrate().await.unwrap(), 0, "a second run applies nothing");
    s.ping().await.unwrap();
}

async fn secrets_keep_the_first_value_stored(s: &TestStore) {
    let first = s.get_or_create_secret("sealing", b"first", t0()).await.unwrap();
    assert_eq!(first, b"first");
    let second = s.get_or_create_secret("sealing", b"second", t0()).await.unwrap();
    assert_eq!(second, b"first", "a later candidate never replaces the stored secret");
    assert_eq!(s.get_or_create_secret("other", b"x", t0()).await.unwrap(), b"x");
}

conformance!(
    a_created_user_is_found_by_canonical_address_and_by_id,
    a_second_user_with_the_same_canonical_address_is_a_conflict,
    users_are_listed_disabled_and_deleted,
    a_password_change_is_stored,
    migrations_leave_nothing_pending_and_run_once,
    secrets_keep_the_first_value_stored,
);
