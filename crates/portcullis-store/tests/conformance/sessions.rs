//! Sessions: create, find, touch, revoke, list, count, purge.

use portcullis_core::store::NewSession;
use portcullis_core::{Session, StoreError, TokenHash, UserId};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, secret, t0};

pub(crate) fn session(user: UserId) -> Session {
    Session {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::days(1),
        idle_timeout: Duration::hours(2),
        remember: false,
        authenticated_at: t0(),
        ip: Some("192.0.2.1".into()),
        user_agent: None,
        mfa_pending: false,
        two_factor: true,
    }
}

async fn open(s: &TestStore, user: UserId) -> (Session, TokenHash) {
    let (_, hash) = secret();
    let new = session(user);
    s.create_session(NewSession { token_hash: hash, session: &new, rehash: None }).await.unwrap();
    (new, hash)
}

async fn a_session_is_found_by_its_hash_with_its_user(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (new, hash) = open(s, ada.id).await;
    let found = s.find_session(hash).await.unwrap().expect("found");
    assert_eq!(found.session, new);
    assert_eq!(found.user, ada);
    assert!(s.find_session(secret().1).await.unwrap().is_none());
    let again =
        s.create_session(NewSession { token_hash: hash, session: &session(ada.id), rehash: None }).await;
    assert!(matches!(again, Err(StoreError::Conflict("session"))), "{again:?}");
}

async fn touching_moves_last_seen_forward_only(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = open(s, ada.id).await;
    s.touch_session(hash, t0() + Duration::minutes(5)).await.unwrap();
    s.touch_session(hash, t0() + Duration::minutes(1)).await.unwrap();
    let found = s.find_session(hash).await.unwrap().unwrap().session;
    assert_eq!(found.last_seen_at, t0() + Duration::minutes(5));
}

async fn sessions_are_revoked_one_by_id_or_all(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    let (_, one) = open(s, ada.id).await;
    let (two, _) = open(s, ada.id).await;
    let (_, three) = open(s, ada.id).await;
    open(s, bob.id).await;
    assert_eq!(s.list_sessions(ada.id, t0()).await.unwrap().len(), 3);
    assert_eq!(s.count_active_sessions(t0()).await.unwrap(), 4);

    s.delete_session(one).await.unwrap();
    assert!(s.find_session(one).await.unwrap().is_none());
    assert!(!s.delete_session_by_id(bob.id, two.id, None).await.unwrap(), "not bob's session");
    assert!(s.delete_session_by_id(ada.id, two.id, None).await.unwrap());
    assert_eq!(s.delete_user_sessions(ada.id, None).await.unwrap(), 1);
    assert!(s.find_session(three).await.unwrap().is_none());
    assert_eq!(s.list_sessions(bob.id, t0()).await.unwrap().len(), 1);
}

async fn a_disabled_users_sessions_are_not_found(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = open(s, ada.id).await;
    s.set_user_disabled(ada.id, true, t0(), None).await.unwrap();
    assert!(s.find_session(hash).await.unwrap().is_none());
}

async fn idle_and_expired_sessions_are_purged(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = open(s, ada.id).await;
    assert_eq!(s.purge_expired_sessions(t0() + Duration::hours(1)).await.unwrap(), 0);
    let idle = t0() + Duration::hours(3);
    assert!(s.list_sessions(ada.id, idle).await.unwrap().is_empty(), "idle sessions are not listed");
    assert_eq!(s.count_active_sessions(idle).await.unwrap(), 0);
    assert_eq!(s.purge_expired_sessions(idle).await.unwrap(), 1);
    assert!(s.find_session(hash).await.unwrap().is_none());
}

conformance!(
    a_session_is_found_by_its_hash_with_its_user,
    touching_moves_last_seen_forward_only,
    sessions_are_revoked_one_by_id_or_all,
    a_disabled_users_sessions_are_not_found,
    idle_and_expired_sessions_are_purged,
);
