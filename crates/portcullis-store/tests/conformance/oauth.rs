//! OAuth: signing keys, clients, codes spent once, consents, and refresh-token
//! families rotated with reuse detection.

use portcullis_core::keys::jwt::StoredKey;
use portcullis_core::oauth::{AuthCode, Client, CodeUse, NewRefresh, Rotation, TokenFamily};
use portcullis_core::{StoreError, TokenHash, UserId};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, secret, t0};

fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        name: "App".into(),
        secret_hash: Some(secret().1),
        redirect_uris: vec!["https://app.example/cb".into(), "https://app.example/cb2".into()],
        public: false,
        first_party: false,
        resource_server: true,
        created_at: t0(),
    }
}

fn code(client: &str, user: UserId) -> AuthCode {
    AuthCode {
        client_id: client.into(),
        user_id: user,
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid email".into(),
        nonce: Some("n-0S6".into()),
        code_challenge: None,
        auth_time: t0(),
        two_factor: true,
        created_at: t0(),
        expires_at: t0() + Duration::minutes(1),
    }
}

pub(crate) fn family(user: UserId, client: Option<&str>) -> TokenFamily {
    TokenFamily {
        id: uuid::Uuid::new_v4(),
        user_id: user,
        client_id: client.map(str::to_owned),
        scope: "openid".into(),
        auth_time: t0(),
        two_factor: true,
        created_at: t0(),
    }
}

fn refresh(hash: TokenHash, minutes: i64) -> NewRefresh {
    NewRefresh { hash, created_at: t0() + Duration::minutes(minutes), expires_at: t0() + Duration::days(30) }
}

async fn signing_keys_rotate_and_retired_ones_are_purged(s: &TestStore) {
    let key = |kid: &str, minutes| StoredKey {
        kid: kid.into(),
        alg: "ES256".into(),
        public_key: vec![1, 2, 3],
        sealed_private: vec![4, 5, 6],
        created_at: t0() + Duration::minutes(minutes),
        retired_at: None,
    };
    s.insert_signing_key(&key("k1", 0), false).await.unwrap();
    let dup = s.insert_signing_key(&key("k1", 0), false).await;
    assert!(matches!(dup, Err(StoreError::Conflict("kid"))), "{dup:?}");
    s.insert_signing_key(&key("k2", 10), true).await.unwrap();
    let keys = s.list_signing_keys(t0()).await.unwrap();
    let kids: Vec<_> = keys.iter().map(|k| (k.kid.as_str(), k.retired_at)).collect();
    assert_eq!(kids, [("k2", None), ("k1", Some(t0() + Duration::minutes(10)))]);
    assert_eq!(keys[1].sealed_private, [4, 5, 6]);
    assert_eq!(s.list_signing_keys(t0() + Duration::minutes(10)).await.unwrap().len(), 1);
    assert_eq!(s.purge_signing_keys(t0() + Duration::hours(1)).await.unwrap(), 1);
}

async fn clients_are_created_found_listed_and_deleted(s: &TestStore) {
    let app = client("app");
    s.create_client(&app).await.unwrap();
    let dup = s.create_client(&app).await;
    assert!(matches!(dup, Err(StoreError::Conflict("client_id"))), "{dup:?}");
    let found = s.find_client("app").await.unwrap().expect("found");
    assert_eq!((found.redirect_uris, found.secret_hash), (app.redirect_uris.clone(), app.secret_hash));
    assert!(found.resource_server && !found.public);
    assert_eq!(s.list_clients().await.unwrap().len(), 1);
    assert!(s.delete_client("app").await.unwrap());
    assert!(!s.delete_client("app").await.unwrap());
    assert!(s.find_client("app").await.unwrap().is_none());
}

async fn a_code_is_consumed_once_and_a_replay_names_its_family(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.create_client(&client("app")).await.unwrap();
    let (_, hash) = secret();
    s.insert_code(hash, &code("app", ada.id)).await.unwrap();
    let dup = s.insert_code(hash, &code("app", ada.id)).await;
    assert!(matches!(dup, Err(StoreError::Conflict("code"))), "{dup:?}");
    let fam = uuid::Uuid::new_v4();
    let CodeUse::Fresh(fresh) = s.consume_code(hash, fam, t0()).await.unwrap() else { panic!("fresh") };
    assert_eq!(
        (fresh.user_id, fresh.nonce.as_deref(), fresh.scope.as_str()),
        (ada.id, Some("n-0S6"), "openid email")
    );
    let replay = s.consume_code(hash, uuid::Uuid::new_v4(), t0()).await.unwrap();
    assert!(matches!(replay, CodeUse::Replayed { family: Some(f) } if f == fam), "{replay:?}");
    assert!(matches!(s.consume_code(secret().1, fam, t0()).await.unwrap(), CodeUse::Unknown));
}

async fn consent_is_granted_and_widened(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.create_client(&client("app")).await.unwrap();
    assert_eq!(s.find_consent(ada.id, "app").await.unwrap(), None);
    s.grant_consent(ada.id, "app", "openid", t0()).await.unwrap();
    s.grant_consent(ada.id, "app", "openid email", t0()).await.unwrap();
    assert_eq!(s.find_consent(ada.id, "app").await.unwrap().as_deref(), Some("openid email"));
}

async fn a_family_rotates_and_a_reused_token_revokes_it(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.create_client(&client("app")).await.unwrap();
    let fam = family(ada.id, Some("app"));
    let (_, first) = secret();
    let (_, second) = secret();
    s.create_family(&fam, Some(&refresh(first, 0)), None).await.unwrap();
    assert_eq!(s.list_families(ada.id).await.unwrap().len(), 1);
    let found = s.find_family(fam.id).await.unwrap().expect("found");
    assert_eq!((found.family.id, found.user.id), (fam.id, ada.id));

    let wrong_client = s.rotate_refresh(first, Some("other"), &refresh(second, 1), t0()).await.unwrap();
    assert!(matches!(wrong_client, Rotation::Invalid), "{wrong_client:?}");
    let rotated = s.rotate_refresh(first, Some("app"), &refresh(second, 1), t0()).await.unwrap();
    assert!(matches!(&rotated, Rotation::Rotated(f, u) if f.id == fam.id && u.id == ada.id), "{rotated:?}");
    let state = s.find_refresh_family(first).await.unwrap().expect("first is known");
    assert!(state.spent && state.family.id == fam.id);
    assert_eq!(state.expires_at, t0() + Duration::days(30));

    let (_, third) = secret();
    let reused = s.rotate_refresh(first, Some("app"), &refresh(third, 2), t0()).await.unwrap();
    assert!(matches!(&reused, Rotation::Reused { user_id, .. } if *user_id == ada.id), "{reused:?}");
    assert!(s.find_family(fam.id).await.unwrap().is_none(), "the whole family is revoked");
    let after = s.rotate_refresh(second, Some("app"), &refresh(third, 2), t0()).await.unwrap();
    assert!(matches!(after, Rotation::Invalid), "{after:?}");
}

async fn families_are_revoked_and_purged(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let api = family(ada.id, None);
    s.create_family(&api, None, None).await.unwrap();
    assert!(s.revoke_family(api.id).await.unwrap());
    assert!(!s.revoke_family(api.id).await.unwrap());

    let kept = family(ada.id, None);
    s.create_family(&kept, Some(&refresh(secret().1, 0)), None).await.unwrap();
    s.delete_user_sessions(ada.id, None).await.unwrap();
    assert!(s.list_families(ada.id).await.unwrap().is_empty(), "signing out everywhere ends families");

    let old = family(ada.id, None);
    s.create_family(&old, Some(&refresh(secret().1, 0)), None).await.unwrap();
    assert_eq!(s.purge_oauth(t0() + Duration::days(31)).await.unwrap(), 1);
    assert!(s.list_families(ada.id).await.unwrap().is_empty());
}

conformance!(
    signing_keys_rotate_and_retired_ones_are_purged,
    clients_are_created_found_listed_and_deleted,
    a_code_is_consumed_once_and_a_replay_names_its_family,
    consent_is_granted_and_widened,
    a_family_rotates_and_a_reused_token_revokes_it,
    families_are_revoked_and_purged,
);
