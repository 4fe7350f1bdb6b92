//! The audit log: insert, list (newest first, per user or all), purge.

use portcullis_core::audit::NewEvent;
use portcullis_core::service::ClientMeta;
use portcullis_core::{EventKind, Outcome, UserId};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, t0};

fn event(kind: EventKind, user: Option<UserId>, minutes: i64) -> NewEvent {
    NewEvent {
        kind,
        outcome: if kind == EventKind::LoginFailed { Outcome::Failure } else { Outcome::Success },
        user_id: user,
        actor: None,
        client: ClientMeta { ip: Some("192.0.2.7".into()), user_agent: Some("test".into()) },
        detail: (kind == EventKind::LoginFailed).then(|| "wrong_password".to_owned()),
        at: t0() + Duration::minutes(minutes),
    }
}

async fn events_are_listed_newest_first_per_user_or_all(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.insert_event(&event(EventKind::Register, Some(ada.id), 0)).await.unwrap();
    s.insert_event(&event(EventKind::LoginFailed, None, 1)).await.unwrap();
    s.insert_event(&event(EventKind::LoginSucceeded, Some(ada.id), 2)).await.unwrap();

    let all = s.list_events(None, 10).await.unwrap();
    let kinds: Vec<_> = all.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [EventKind::LoginSucceeded.as_str(), EventKind::LoginFailed.as_str(), EventKind::Register.as_str()]
    );
    assert_eq!(all[1].detail.as_deref(), Some("wrong_password"));
    assert_eq!(all[1].outcome, Outcome::Failure.as_str());
    assert_eq!(all[0].ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(all[0].created_at, t0() + Duration::minutes(2));

    let ada_only = s.list_events(Some(ada.id), 10).await.unwrap();
    assert_eq!(ada_only.len(), 2);
    assert!(ada_only.iter().all(|e| e.user_id == Some(ada.id)));
    assert_eq!(s.list_events(None, 1).await.unwrap().len(), 1, "the limit holds");
}

async fn old_events_are_purged(s: &TestStore) {
    s.insert_event(&event(EventKind::LoginFailed, None, 0)).await.unwrap();
    s.insert_event(&event(EventKind::LoginFailed, None, 10)).await.unwrap();
    assert_eq!(s.purge_events(t0() + Duration::minutes(5)).await.unwrap(), 1);
    assert_eq!(s.list_events(None, 10).await.unwrap().len(), 1);
}

conformance!(
    events_are_listed_newest_first_per_user_or_all,
    old_events_are_purged,
    the_account_page_lists_are_the_separate_lists_read_on_one_connection,
);

/// `account_lists` (the account page's one read) returns exactly what the five
/// list operations return, for the user asked about and no one else.
async fn the_account_page_lists_are_the_separate_lists_read_on_one_connection(s: &TestStore) {
    use portcullis_core::store::NewSession;
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    for (user, pending) in [(ada.id, false), (ada.id, false), (ada.id, true), (bob.id, false)] {
        let mut session = crate::sessions::session(user);
        session.mfa_pending = pending;
        let (_, hash) = crate::fixtures::secret();
        s.create_session(NewSession { token_hash: hash, session: &session, rehash: None }).await.unwrap();
    }
    for (kind, user, minutes) in [
        (EventKind::Register, ada.id, 0),
        (EventKind::LoginSucceeded, ada.id, 1),
        (EventKind::LoginSucceeded, bob.id, 2),
        (EventKind::Logout, ada.id, 3),
    ] {
        s.insert_event(&event(kind, Some(user), minutes)).await.unwrap();
    }
    // A row in every list, for ada and for bob: the page's lists are read in one
    // batch on SQLite, so a row in the wrong list or of the wrong user would show.
    for (user, n) in [(ada.id, 2), (bob.id, 1)] {
        for i in 0..n {
            let who = user.to_string();
            s.create_family(&crate::oauth::family(user, None), None, None).await.unwrap();
            let key = crate::passkeys::passkey(user, format!("{who}-{i}").as_bytes());
            s.add_passkey(&key, &crate::fixtures::mail(Some(user), "Passkey added", t0())).await.unwrap();
            s.link_identity(&crate::identities::identity(user, &format!("{who}-{i}"))).await.unwrap();
        }
    }
    let lists = s.account_lists(ada.id, t0(), 2).await.unwrap();
    assert_eq!(lists.sessions, s.list_sessions(ada.id, t0()).await.unwrap());
    assert_eq!(lists.sessions.len(), 2, "ada's two full sessions, not the pending one nor bob's");
    assert_eq!(lists.events, s.list_events(Some(ada.id), 2).await.unwrap());
    assert_eq!(
        lists.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        [EventKind::Logout.as_str(), EventKind::LoginSucceeded.as_str()],
        "ada's newest two"
    );
    let ids = |f: &[portcullis_core::oauth::TokenFamily]| f.iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(ids(&lists.families), ids(&s.list_families(ada.id).await.unwrap()));
    assert_eq!(lists.families.len(), 2, "ada's two token families");
    assert!(lists.families.iter().all(|f| f.user_id == ada.id));
    let keys = |k: &[portcullis_core::passkeys::PasskeyRecord]| k.iter().map(|k| k.id).collect::<Vec<_>>();
    assert_eq!(keys(&lists.passkeys), keys(&s.list_passkeys(ada.id).await.unwrap()));
    assert_eq!(lists.passkeys.len(), 2, "ada's two passkeys");
    let links = |l: &[portcullis_core::upstream::LinkedIdentity]| l.iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(links(&lists.identities), links(&s.list_identities(ada.id).await.unwrap()));
    assert_eq!(lists.identities.len(), 2, "ada's two linked identities");
}
