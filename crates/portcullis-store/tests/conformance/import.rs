//! Importing users (SPEC §9) and replacing a password hash at sign-in (§4, §9).

use portcullis_core::UserId;
use portcullis_core::groups::GroupName;
use portcullis_core::oauth::TokenFamily;
use portcullis_core::store::{AddressCheck, ImportedUser, NewSession, Rehash};

use crate::conformance;
use crate::fixtures::{TestStore, secret, t0};

fn row(line: u64, email: &str, groups: &[&str]) -> ImportedUser {
    ImportedUser {
        line,
        id: UserId::new(),
        email: email.to_owned(),
        email_canonical: email.to_lowercase(),
        password_hash: "scrypt:16384:8:1$salt$00".to_owned(),
        email_verified: true,
        created_at: t0() - time::Duration::days(400),
        groups: groups.iter().map(|g| GroupName::parse(g).unwrap()).collect(),
        external_id: Some(format!("legacy-{line}")),
    }
}

fn group(name: &str) -> GroupName {
    GroupName::parse(name).unwrap()
}

async fn a_committed_import_writes_users_with_hash_groups_dates_and_external_id(s: &TestStore) {
    let mut import = s.begin_import().await.unwrap();
    assert_eq!(
        import.ensure_groups(&[group("staff"), group("admin")], t0()).await.unwrap(),
        1,
        "admin exists"
    );
    let rows = [row(2, "Ada@Example.com", &["staff"]), row(3, "bob@example.com", &[])];
    let checks = import.add(&rows, true, t0()).await.unwrap();
    assert_eq!(checks, [AddressCheck::New, AddressCheck::New]);
    import.commit().await.unwrap();

    let ada = s.find_credentials_by_email("ada@example.com").await.unwrap().expect("imported");
    assert_eq!(ada.password_hash, "scrypt:16384:8:1$salt$00");
    assert_eq!((ada.user.email.as_str(), ada.user.email_verified), ("Ada@Example.com", true));
    assert_eq!(ada.user.created_at, t0() - time::Duration::days(400));
    assert_eq!(ada.user.groups, ["staff"]);
    let shown = s.admin_user(ada.user.id, t0()).await.unwrap().unwrap();
    assert_eq!(shown.external_id.as_deref(), Some("legacy-2"));
    assert_eq!(s.list_users().await.unwrap().len(), 2);
}

async fn an_import_dropped_before_commit_leaves_the_database_unchanged(s: &TestStore) {
    s.user("carol@example.com").await;
    {
        let mut import = s.begin_import().await.unwrap();
        import.ensure_groups(&[group("newgroup")], t0()).await.unwrap();
        let rows: Vec<_> =
            (0..600).map(|i| row(i + 2, &format!("u{i}@example.com"), &["newgroup"])).collect();
        import.add(&rows[..300], true, t0()).await.unwrap();
        import.add(&rows[300..], true, t0()).await.unwrap();
    }
    let emails: Vec<_> = s.list_users().await.unwrap().into_iter().map(|u| u.email).collect();
    assert_eq!(emails, ["carol@example.com"]);
    assert!(s.find_group(&group("newgroup")).await.unwrap().is_none());
    // The next import starts clean: its temporary table went with the rollback.
    let mut again = s.begin_import().await.unwrap();
    assert_eq!(again.add(&[row(2, "u0@example.com", &[])], true, t0()).await.unwrap(), [AddressCheck::New]);
    again.commit().await.unwrap();
    let mut third = s.begin_import().await.unwrap();
    assert_eq!(third.add(&[row(2, "dave@example.com", &[])], true, t0()).await.unwrap(), [AddressCheck::New]);
    third.commit().await.unwrap();
    assert_eq!(s.list_users().await.unwrap().len(), 3);
}

async fn duplicates_in_the_file_name_their_first_line_and_existing_accounts_are_told_apart(s: &TestStore) {
    s.user("old@example.com").await;
    let mut import = s.begin_import().await.unwrap();
    let first = [row(2, "a@example.com", &[]), row(3, "A@EXAMPLE.COM", &[]), row(4, "OLD@example.com", &[])];
    assert_eq!(
        import.add(&first, true, t0()).await.unwrap(),
        [AddressCheck::New, AddressCheck::Duplicate { first_line: 2 }, AddressCheck::Exists]
    );
    // In a later batch, against the rows inserted and the rows only checked alike.
    let later =
        [row(900, "a@example.com", &[]), row(901, "old@example.com", &[]), row(902, "b@example.com", &[])];
    assert_eq!(
        import.add(&later, false, t0()).await.unwrap(),
        [
            AddressCheck::Duplicate { first_line: 2 },
            AddressCheck::Duplicate { first_line: 4 },
            AddressCheck::New
        ]
    );
    let last = [row(950, "b@example.com", &[])];
    assert_eq!(import.add(&last, false, t0()).await.unwrap(), [AddressCheck::Duplicate { first_line: 902 }]);
}

async fn a_sign_in_replaces_the_hash_it_checked_in_its_own_transaction(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.update_password_hash(ada.id, "pbkdf2:sha256:1000$salt$00").await.unwrap();
    let rehash =
        Rehash { user: ada.id, old: "pbkdf2:sha256:1000$salt$00".into(), new: "$argon2id$new".into() };
    let session = crate::sessions::session(ada.id);
    s.create_session(NewSession { token_hash: secret().1, session: &session, rehash: Some(&rehash) })
        .await
        .unwrap();
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "$argon2id$new");

    // A hash changed meanwhile (a reset) is not overwritten by a stale sign-in.
    s.change_password(ada.id, "$argon2id$reset", t0(), None, None, None).await.unwrap();
    let stale = Rehash { user: ada.id, old: "$argon2id$new".into(), new: "$argon2id$stale".into() };
    let family = TokenFamily {
        id: uuid::Uuid::new_v4(),
        user_id: ada.id,
        client_id: None,
        scope: String::new(),
        auth_time: t0(),
        two_factor: false,
        created_at: t0(),
    };
    s.create_family(&family, None, Some(&stale)).await.unwrap();
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "$argon2id$reset");
    let fresh = Rehash { user: ada.id, old: "$argon2id$reset".into(), new: "$argon2id$tokens".into() };
    let family = TokenFamily { id: uuid::Uuid::new_v4(), ..family };
    s.create_family(&family, None, Some(&fresh)).await.unwrap();
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "$argon2id$tokens");

    // A sign-in that fails to be recorded replaces nothing.
    let taken = secret().1;
    s.create_session(NewSession { token_hash: taken, session: &session, rehash: None }).await.unwrap();
    let again = Rehash { user: ada.id, old: "$argon2id$tokens".into(), new: "$argon2id$lost".into() };
    let failed =
        s.create_session(NewSession { token_hash: taken, session: &session, rehash: Some(&again) }).await;
    assert!(failed.is_err());
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "$argon2id$tokens");
}

conformance!(
    a_committed_import_writes_users_with_hash_groups_dates_and_external_id,
    an_import_dropped_before_commit_leaves_the_database_unchanged,
    duplicates_in_the_file_name_their_first_line_and_existing_accounts_are_told_apart,
    a_sign_in_replaces_the_hash_it_checked_in_its_own_transaction,
);
