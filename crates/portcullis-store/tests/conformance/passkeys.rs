//! Passkeys and ceremonies: a ceremony is taken once; passkeys are added, found,
//! used, renamed and deleted by their owner only.

use portcullis_core::passkeys::{Ceremony, CeremonyKind, PasskeyRecord};
use portcullis_core::{StoreError, UserId};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, mail, secret, t0};

fn ceremony(challenge: u8, user: Option<UserId>, expires_in: Duration) -> Ceremony {
    Ceremony {
        challenge_hash: [challenge; 32],
        kind: CeremonyKind::Register,
        user_id: user,
        session: Some(secret().1),
        state: "{\"state\":1}".into(),
        expires_at: t0() + expires_in,
    }
}

pub(crate) fn passkey(user: UserId, credential_id: &[u8]) -> PasskeyRecord {
    PasskeyRecord {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        credential_id: credential_id.to_vec(),
        name: "Laptop".into(),
        sign_count: 0,
        credential: "{}".into(),
        created_at: t0(),
        last_used_at: None,
    }
}

async fn a_ceremony_is_taken_once(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let started = ceremony(1, Some(ada.id), Duration::minutes(5));
    s.begin_ceremony(&started, t0()).await.unwrap();
    let again = s.begin_ceremony(&started, t0()).await;
    assert!(matches!(again, Err(StoreError::Conflict("ceremony"))), "{again:?}");
    let taken = s.take_ceremony(&[1; 32]).await.unwrap().expect("taken");
    assert_eq!(
        (taken.kind, taken.user_id, taken.session),
        (CeremonyKind::Register, Some(ada.id), started.session)
    );
    assert_eq!(taken.state, started.state);
    assert!(s.take_ceremony(&[1; 32]).await.unwrap().is_none(), "taken once");
}

async fn expired_ceremonies_are_dropped_when_another_begins(s: &TestStore) {
    s.begin_ceremony(&ceremony(1, None, Duration::minutes(1)), t0()).await.unwrap();
    s.begin_ceremony(&ceremony(2, None, Duration::minutes(10)), t0() + Duration::minutes(5)).await.unwrap();
    assert!(s.take_ceremony(&[1; 32]).await.unwrap().is_none());
    assert!(s.take_ceremony(&[2; 32]).await.unwrap().is_some());
}

async fn a_passkey_is_found_used_renamed_and_deleted_by_its_owner(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    let key = passkey(ada.id, b"cred-1");
    s.add_passkey(&key, &mail(Some(ada.id), "Passkey added", t0())).await.unwrap();
    let dup = s.add_passkey(&passkey(bob.id, b"cred-1"), &mail(None, "x", t0())).await;
    assert!(matches!(dup, Err(StoreError::Conflict("passkey"))), "{dup:?}");
    assert_eq!(s.list_passkeys(ada.id).await.unwrap(), vec![key.clone()]);
    assert_eq!(s.list_mails(ada.id).await.unwrap().len(), 1, "the notice is queued with it");

    s.passkey_used(key.id, "{\"n\":2}", 7, t0() + Duration::minutes(1)).await.unwrap();
    let found = s.find_passkey_by_credential_id(b"cred-1").await.unwrap().expect("found");
    assert_eq!((found.sign_count, found.credential.as_str()), (7, "{\"n\":2}"));
    assert_eq!(found.last_used_at, Some(t0() + Duration::minutes(1)));

    assert!(!s.rename_passkey(bob.id, key.id, "Stolen").await.unwrap());
    assert!(s.rename_passkey(ada.id, key.id, "Phone").await.unwrap());
    assert!(!s.delete_passkey(bob.id, key.id).await.unwrap());
    assert!(s.delete_passkey(ada.id, key.id).await.unwrap());
    assert!(s.find_passkey_by_credential_id(b"cred-1").await.unwrap().is_none());
}

conformance!(
    a_ceremony_is_taken_once,
    expired_ceremonies_are_dropped_when_another_begins,
    a_passkey_is_found_used_renamed_and_deleted_by_its_owner,
);
