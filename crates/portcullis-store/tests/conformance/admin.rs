//! Administration: the user listing (keyset pages, email prefix), a user's
//! counts and flags, the last-administrator rule (also under concurrency), the
//! sign-in time, and the events listing with its actor.

use portcullis_core::admin::{AdminUser, EventQuery, UserCursor, UserQuery};
use portcullis_core::audit::{Actor, NewEvent};
use portcullis_core::groups::GroupName;
use portcullis_core::mail::NewMail;
use portcullis_core::oauth::TokenFamily;
use portcullis_core::service::ClientMeta;
use portcullis_core::store::{Guarded, NewSession, NewUser};
use portcullis_core::{EventKind, Outcome, User, UserId};
use time::{Duration, OffsetDateTime};

use crate::conformance;
use crate::fixtures::{TestStore, mail, secret, t0};

/// A user created `seconds` after t0, with `hash` as its password hash.
async fn user_at(s: &TestStore, email: &str, seconds: i64, groups: &[GroupName], hash: &str) -> User {
    let canonical = email.to_lowercase();
    let new = NewUser {
        id: UserId::new(),
        email,
        email_canonical: &canonical,
        password_hash: hash,
        email_verified: false,
        groups,
        created_at: t0() + Duration::seconds(seconds),
    };
    s.create_user(new, None, None).await.expect("create user")
}

async fn admin(s: &TestStore, email: &str) -> User {
    user_at(s, email, 0, &[GroupName::admin()], "$argon2id$fake").await
}

/// Every page of `limit` from the start, by the cursor of each last row.
async fn all_pages(s: &TestStore, q: Option<&str>, limit: u32) -> Vec<Vec<AdminUser>> {
    let range = UserQuery::parse(q, None, None).unwrap().email_prefix;
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = s.admin_users(range.as_ref(), after, limit, t0()).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(UserCursor { created_at: last.user.created_at.unix_timestamp(), id: last.user.id });
        pages.push(page);
    }
    pages
}

fn emails(users: &[AdminUser]) -> Vec<&str> {
    users.iter().map(|u| u.user.email.as_str()).collect()
}

async fn users_are_paged_newest_first_by_key_without_gaps_or_repeats(s: &TestStore) {
    // Five created a second apart, three more in one second (ordered by id).
    for i in 0..5 {
        user_at(s, &format!("u{i}@example.com"), i, &[], "x").await;
    }
    for i in 5..8 {
        user_at(s, &format!("u{i}@example.com"), 10, &[], "x").await;
    }
    let pages = all_pages(s, None, 3).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 2]);
    let walked: Vec<AdminUser> = pages.into_iter().flatten().collect();
    let whole = s.admin_users(None, None, 100, t0()).await.unwrap();
    assert_eq!(walked, whole, "the pages, joined, are the whole listing");
    let keys: Vec<(OffsetDateTime, String)> =
        whole.iter().map(|u| (u.user.created_at, u.user.id.to_string())).collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(keys.len(), 8);
    assert_eq!(keys, sorted, "newest first, ties by id, each once");
    assert_eq!(emails(&whole[5..]), ["u2@example.com", "u1@example.com", "u0@example.com"]);
}

async fn an_email_prefix_is_case_insensitive_and_literal(s: &TestStore) {
    for (i, e) in
        ["Ada@example.com", "a_b@example.com", "ab@example.com", "bob@example.com", "a%c@example.com"]
            .into_iter()
            .enumerate()
    {
        user_at(s, e, i64::try_from(i).unwrap(), &[], "x").await;
    }
    let found = async |q: &str| -> Vec<String> {
        all_pages(s, Some(q), 2).await.into_iter().flatten().map(|u| u.user.email).collect()
    };
    assert_eq!(found("A").await, ["a%c@example.com", "ab@example.com", "a_b@example.com", "Ada@example.com"]);
    assert_eq!(found("a_").await, ["a_b@example.com"], "`_` is not a wildcard");
    assert_eq!(found("a%").await, ["a%c@example.com"], "`%` is not a wildcard");
    assert_eq!(found("ADA@EXAMPLE.COM").await, ["Ada@example.com"]);
    assert!(found("c").await.is_empty());
}

async fn a_user_shows_active_sessions_passkeys_sign_in_time_and_invitation(s: &TestStore) {
    let ada = user_at(s, "ada@example.com", 0, &[], "$argon2id$fake").await;
    let invited =
        user_at(s, "new@example.com", 1, &[], portcullis_core::accounts::user::INVITED_PASSWORD_HASH).await;
    let shown = s.admin_user(ada.id, t0()).await.unwrap().expect("found");
    assert_eq!((shown.sessions, shown.passkeys, shown.invited, shown.last_sign_in_at), (0, 0, false, None));
    assert_eq!(shown.external_id, None);
    assert!(s.admin_user(invited.id, t0()).await.unwrap().unwrap().invited);
    assert!(s.admin_user(UserId::new(), t0()).await.unwrap().is_none());

    // A half session (second factor owed) is no sign-in and not active.
    let pending = portcullis_core::Session { mfa_pending: true, ..crate::sessions::session(ada.id) };
    s.create_session(NewSession { token_hash: secret().1, session: &pending, rehash: None }).await.unwrap();
    assert_eq!(s.admin_user(ada.id, t0()).await.unwrap().unwrap().last_sign_in_at, None);
    let old = portcullis_core::Session {
        expires_at: t0() - Duration::seconds(1),
        ..crate::sessions::session(ada.id)
    };
    s.create_session(NewSession { token_hash: secret().1, session: &old, rehash: None }).await.unwrap();
    let later = t0() + Duration::minutes(5);
    let full = portcullis_core::Session { authenticated_at: later, ..crate::sessions::session(ada.id) };
    s.create_session(NewSession { token_hash: secret().1, session: &full, rehash: None }).await.unwrap();
    let shown = s.admin_user(ada.id, t0()).await.unwrap().unwrap();
    assert_eq!(shown.sessions, 1, "only the live, full session counts");
    assert_eq!(shown.last_sign_in_at, Some(later));

    // A first-party token family is a sign-in; a client's family is not.
    let family = |client: Option<&str>, at: OffsetDateTime| TokenFamily {
        id: uuid::Uuid::new_v4(),
        user_id: ada.id,
        client_id: client.map(str::to_owned),
        scope: String::new(),
        auth_time: at,
        two_factor: false,
        created_at: at,
    };
    let tokens_at = t0() + Duration::minutes(9);
    s.create_family(&family(None, tokens_at), None, None).await.unwrap();
    let shown = s.admin_user(ada.id, t0()).await.unwrap().unwrap();
    assert_eq!(shown.last_sign_in_at, Some(tokens_at));

    let key = crate::passkeys::passkey(ada.id, b"credential-1");
    s.add_passkey(&key, &mail(Some(ada.id), "Passkey added", t0())).await.unwrap();
    assert_eq!(s.admin_user(ada.id, t0()).await.unwrap().unwrap().passkeys, 1);
    let listed = s.admin_users(None, None, 10, t0()).await.unwrap();
    assert_eq!(emails(&listed), ["new@example.com", "ada@example.com"]);
    assert_eq!((listed[1].sessions, listed[1].passkeys), (1, 1), "the listing counts the same");
}

async fn the_last_enabled_administrator_cannot_be_disabled_deleted_or_removed(s: &TestStore) {
    let admins = GroupName::admin();
    let root = admin(s, "root@example.com").await;
    assert_eq!(s.set_user_disabled(root.id, true, t0(), None).await.unwrap(), Guarded::LastAdmin);
    assert_eq!(s.delete_user(root.id, None, true, None).await.unwrap(), Guarded::LastAdmin);
    assert_eq!(s.remove_member(&admins, root.id, None).await.unwrap(), Guarded::LastAdmin);
    assert!(!s.admin_user(root.id, t0()).await.unwrap().unwrap().user.disabled, "nothing changed");
    assert_eq!(
        s.set_user_disabled(root.id, false, t0(), None).await.unwrap(),
        Guarded::Changed,
        "enabling is fine"
    );

    // A disabled administrator does not count.
    let bob = admin(s, "bob@example.com").await;
    assert_eq!(s.set_user_disabled(bob.id, true, t0(), None).await.unwrap(), Guarded::Changed);
    assert_eq!(s.set_user_disabled(root.id, true, t0(), None).await.unwrap(), Guarded::LastAdmin);
    assert_eq!(s.set_user_disabled(bob.id, false, t0(), None).await.unwrap(), Guarded::Changed);
    // With another enabled one, each change passes, and then the rule holds again.
    assert_eq!(s.remove_member(&admins, bob.id, None).await.unwrap(), Guarded::Changed);
    assert_eq!(s.remove_member(&admins, root.id, None).await.unwrap(), Guarded::LastAdmin);
    assert!(s.add_member(&admins, bob.id, t0(), None).await.unwrap());
    assert_eq!(s.delete_user(root.id, None, true, None).await.unwrap(), Guarded::Changed);
    assert_eq!(s.delete_user(bob.id, None, true, None).await.unwrap(), Guarded::LastAdmin);
    // Leaving on one's own is not guarded, nor is any change to a non-administrator.
    let ops = user_at(s, "ops@example.com", 1, &[], "x").await;
    assert_eq!(s.set_user_disabled(ops.id, true, t0(), None).await.unwrap(), Guarded::Changed);
    assert_eq!(
        s.remove_member(&GroupName::parse("ops").unwrap(), ops.id, None).await.unwrap(),
        Guarded::Unchanged
    );
    let notice: NewMail = mail(None, "Account deleted", t0());
    assert_eq!(s.delete_user(bob.id, Some(&notice), false, None).await.unwrap(), Guarded::Changed);
}

async fn two_concurrent_changes_cannot_take_away_the_last_two_administrators(s: &TestStore) {
    let admins = GroupName::admin();
    for round in 0..12 {
        let a = admin(s, &format!("a{round}@example.com")).await;
        let b = admin(s, &format!("b{round}@example.com")).await;
        // The admins of earlier rounds are out of the way: only a and b count.
        let (first, second) = if round % 2 == 0 {
            tokio::join!(
                s.set_user_disabled(a.id, true, t0(), None),
                s.set_user_disabled(b.id, true, t0(), None)
            )
        } else {
            tokio::join!(s.set_user_disabled(a.id, true, t0(), None), s.remove_member(&admins, b.id, None))
        };
        let mut outcomes = [first.unwrap(), second.unwrap()];
        outcomes.sort_by_key(|o| *o == Guarded::LastAdmin);
        assert_eq!(outcomes, [Guarded::Changed, Guarded::LastAdmin], "round {round}: exactly one passes");
        // Leave no enabled administrator behind for the next round.
        for id in [a.id, b.id] {
            s.delete_user(id, None, false, None).await.unwrap();
        }
    }
}

fn event(kind: EventKind, user: Option<UserId>, actor: Option<Actor>, minutes: i64) -> NewEvent {
    NewEvent {
        kind,
        outcome: Outcome::Success,
        user_id: user,
        actor,
        client: ClientMeta::default(),
        detail: actor.map(|_| "by_admin".to_owned()),
        at: t0() + Duration::minutes(minutes),
    }
}

async fn events_are_paged_by_id_and_filtered_by_user_and_kind_with_their_actor(s: &TestStore) {
    let ada = UserId::new();
    let root = UserId::new();
    s.insert_event(&event(EventKind::Register, Some(ada), None, 0)).await.unwrap();
    s.insert_event(&event(EventKind::LoginFailed, None, None, 1)).await.unwrap();
    s.insert_event(&event(EventKind::UserDisabled, Some(ada), Some(Actor::User(root)), 2)).await.unwrap();
    s.insert_event(&event(EventKind::UserEnabled, Some(ada), Some(Actor::Cli), 3)).await.unwrap();
    s.insert_event(&event(EventKind::LoginFailed, Some(ada), None, 4)).await.unwrap();

    let all = s.admin_events(None, None, None, 10).await.unwrap();
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest (highest id) first: {ids:?}");
    assert_eq!(all.len(), 5);
    let actors: Vec<Option<&str>> = all.iter().map(|e| e.actor_id.as_deref()).collect();
    assert_eq!(actors, [None, Some("cli"), Some(root.to_string().as_str()), None, None]);

    let q = EventQuery::parse(None, None, Some("2"), None).unwrap();
    let mut after = q.after;
    let mut walked = Vec::new();
    loop {
        let page = s.admin_events(None, None, after, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(portcullis_core::admin::EventCursor { id: last.id });
        walked.extend(page.into_iter().map(|e| e.id));
    }
    assert_eq!(walked, ids, "pages of two, no gap, no repeat");

    let of_ada = s.admin_events(Some(ada), None, None, 10).await.unwrap();
    assert_eq!(of_ada.len(), 4);
    let failed = s.admin_events(None, Some(EventKind::LoginFailed), None, 10).await.unwrap();
    assert_eq!(failed.len(), 2);
    let both = s.admin_events(Some(ada), Some(EventKind::LoginFailed), None, 10).await.unwrap();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].user_id, Some(ada));
    let after_first = portcullis_core::admin::EventCursor { id: of_ada[0].id };
    let rest = s.admin_events(Some(ada), None, Some(after_first), 10).await.unwrap();
    assert_eq!(rest.len(), 3);
    assert!(s.admin_events(Some(UserId::new()), None, None, 10).await.unwrap().is_empty());
}

async fn the_overview_counts_users_live_sessions_last_day_sign_ins_and_running_lockouts(s: &TestStore) {
    use portcullis_core::throttle::Limit;
    let now = t0() + Duration::hours(30);
    let since = now - portcullis_core::admin::OVERVIEW_WINDOW;
    assert_eq!(s.admin_overview(since, now).await.unwrap(), portcullis_core::admin::Overview::default());

    let ada = user_at(s, "ada@example.com", 0, &[], "$argon2id$fake").await;
    user_at(s, "bob@example.com", 1, &[], portcullis_core::accounts::user::INVITED_PASSWORD_HASH).await;
    // Live, second factor owed, expired: one counts.
    let live = |session: portcullis_core::Session| portcullis_core::Session {
        expires_at: now + Duration::hours(1),
        last_seen_at: now,
        ..session
    };
    let full = live(crate::sessions::session(ada.id));
    let pending = portcullis_core::Session { mfa_pending: true, ..live(crate::sessions::session(ada.id)) };
    let expired = crate::sessions::session(ada.id);
    for session in [&full, &pending, &expired] {
        s.create_session(NewSession { token_hash: secret().1, session, rehash: None }).await.unwrap();
    }
    // Events inside the last 24 hours count; the one a minute before does not.
    let at = |kind: EventKind, minutes_before_now: i64| NewEvent {
        at: now - Duration::minutes(minutes_before_now),
        ..event(kind, Some(ada.id), None, 0)
    };
    for e in [
        at(EventKind::LoginSucceeded, 1),
        at(EventKind::LoginSucceeded, 60 * 24),
        at(EventKind::LoginSucceeded, 60 * 24 + 1),
        at(EventKind::LoginFailed, 5),
        at(EventKind::MfaFailed, 5),
        at(EventKind::LoginFailed, 60 * 25),
        at(EventKind::LoginThrottled, 2),
        at(EventKind::Register, 3),
    ] {
        s.insert_event(&e).await.unwrap();
    }
    // An account bucket locked out now, one whose lockout ended, and an address
    // bucket (never locked: no escalation) over its limit.
    let once = Limit::new(1, Duration::minutes(15));
    for bucket in ["login:account:ada@example.com", "login:account:old@example.com"] {
        let then = if bucket.contains("old") { now - Duration::hours(2) } else { now };
        s.throttle(bucket, once, true, then).await.unwrap();
        s.throttle(bucket, once, true, then).await.unwrap();
    }
    s.throttle("login:ip:192.0.2.1", once, false, now).await.unwrap();
    s.throttle("login:ip:192.0.2.1", once, false, now).await.unwrap();

    let o = s.admin_overview(since, now).await.unwrap();
    assert_eq!(
        o,
        portcullis_core::admin::Overview {
            users: 2,
            active_sessions: 1,
            sign_ins: 2,
            failed_sign_ins: 2,
            throttled: 1,
            locked_accounts: 1,
        }
    );
}

conformance!(
    the_overview_counts_users_live_sessions_last_day_sign_ins_and_running_lockouts,
    users_are_paged_newest_first_by_key_without_gaps_or_repeats,
    an_email_prefix_is_case_insensitive_and_literal,
    a_user_shows_active_sessions_passkeys_sign_in_time_and_invitation,
    the_last_enabled_administrator_cannot_be_disabled_deleted_or_removed,
    two_concurrent_changes_cannot_take_away_the_last_two_administrators,
    events_are_paged_by_id_and_filtered_by_user_and_kind_with_their_actor,
);
