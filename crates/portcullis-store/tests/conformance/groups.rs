//! Groups: the built-in `admin`, creation, membership read with the user wherever
//! a user is read (credentials, sessions, token families), deletion.

use portcullis_core::StoreError;
use portcullis_core::groups::GroupName;
use portcullis_core::oauth::TokenFamily;
use portcullis_core::sessions::Session;
use portcullis_core::store::{Guarded, NewSession};

use crate::conformance;
use crate::fixtures::{TestStore, new_user, secret, t0};

fn name(raw: &str) -> GroupName {
    GroupName::parse(raw).expect("valid group name")
}

async fn the_admin_group_exists_from_the_first_migration_on(s: &TestStore) {
    let groups = s.list_groups().await.unwrap();
    let names: Vec<_> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["admin"]);
    let admin = [GroupName::admin()];
    let mut new = new_user("root@example.com", "root@example.com");
    new.groups = &admin;
    let root = s.create_user(new, None, None).await.unwrap();
    assert_eq!(root.groups, ["admin"]);
    assert!(root.is_admin());
    let stored = s.find_credentials_by_id(root.id).await.unwrap().unwrap().user;
    assert_eq!(stored.groups, ["admin"], "the membership was stored with the user");
    assert_eq!(s.find_group(&GroupName::admin()).await.unwrap().unwrap().members, 1);
}

async fn a_taken_group_name_is_a_conflict(s: &TestStore) {
    s.create_group(&name("ops"), "Operations", t0()).await.unwrap();
    let again = s.create_group(&name("ops"), "", t0()).await;
    assert!(matches!(again, Err(StoreError::Conflict("group"))), "{again:?}");
    let found = s.find_group(&name("ops")).await.unwrap().expect("found");
    assert_eq!((found.description.as_str(), found.members, found.created_at), ("Operations", 0, t0()));
}

async fn memberships_are_read_with_the_user_everywhere_sorted(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    for g in ["zeta", "ops", "a.b-c_d"] {
        s.create_group(&name(g), "", t0()).await.unwrap();
        assert!(s.add_member(&name(g), ada.id, t0(), None).await.unwrap());
    }
    assert!(!s.add_member(&name("ops"), ada.id, t0(), None).await.unwrap(), "already a member");
    assert!(!s.add_member(&name("nope"), ada.id, t0(), None).await.unwrap(), "no such group");
    let sorted = ["a.b-c_d", "ops", "zeta"];
    assert_eq!(s.find_credentials_by_email("ada@example.com").await.unwrap().unwrap().user.groups, sorted);
    assert_eq!(s.list_users().await.unwrap()[0].groups, sorted);

    let (_, hash) = secret();
    let session = Session { two_factor: false, ..crate::sessions::session(ada.id) };
    s.create_session(NewSession { token_hash: hash, session: &session, rehash: None }).await.unwrap();
    assert_eq!(s.find_session(hash).await.unwrap().unwrap().user.groups, sorted);

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
    assert_eq!(s.find_family(family.id).await.unwrap().unwrap().user.groups, sorted);

    assert_eq!(s.remove_member(&name("ops"), ada.id, None).await.unwrap(), Guarded::Changed);
    assert_eq!(
        s.remove_member(&name("ops"), ada.id, None).await.unwrap(),
        Guarded::Unchanged,
        "no longer a member"
    );
    assert_eq!(s.find_session(hash).await.unwrap().unwrap().user.groups, ["a.b-c_d", "zeta"]);
    let members: Vec<_> =
        s.group_members(&name("zeta")).await.unwrap().into_iter().map(|u| u.email).collect();
    assert_eq!(members, ["ada@example.com"]);
}

async fn deleting_a_group_or_a_user_drops_the_memberships(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    s.create_group(&name("ops"), "", t0()).await.unwrap();
    s.add_member(&name("ops"), ada.id, t0(), None).await.unwrap();
    s.add_member(&name("ops"), bob.id, t0(), None).await.unwrap();
    assert_eq!(s.delete_user(bob.id, None, true, None).await.unwrap(), Guarded::Changed);
    assert_eq!(s.find_group(&name("ops")).await.unwrap().unwrap().members, 1);
    assert!(s.delete_group(&name("ops")).await.unwrap());
    assert!(!s.delete_group(&name("ops")).await.unwrap());
    assert!(s.find_group(&name("ops")).await.unwrap().is_none());
    assert!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().user.groups.is_empty());
    // A group of the same name later starts empty.
    s.create_group(&name("ops"), "", t0()).await.unwrap();
    assert!(s.group_members(&name("ops")).await.unwrap().is_empty());
}

conformance!(
    the_admin_group_exists_from_the_first_migration_on,
    a_taken_group_name_is_a_conflict,
    memberships_are_read_with_the_user_everywhere_sorted,
    deleting_a_group_or_a_user_drops_the_memberships,
);
