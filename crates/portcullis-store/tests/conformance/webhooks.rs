//! Webhooks: endpoints, the fan-out of an event to the endpoints that take its
//! type, claims that keep each endpoint's events for one user in order and hand
//! each delivery to one worker, retries, give-ups, stats and purges.

use portcullis_core::email_signin::NewEmailSignIn;
use portcullis_core::groups::GroupName;
use portcullis_core::store::{Guarded, NewAddress};
use portcullis_core::webhooks::{Endpoint, EventFilter, EventType, NewEndpoint, WebhookEvent};
use portcullis_core::{TokenKind, UserId};
use time::{Duration, OffsetDateTime};

use crate::conformance;
use crate::fixtures::{TestStore, mail, new_user, secret, t0, token};

async fn endpoint(s: &TestStore, id: &str, events: EventFilter) {
    let endpoint =
        Endpoint { id: id.into(), url: format!("https://{id}.example.com/hook"), events, created_at: t0() };
    s.create_endpoint(&NewEndpoint { endpoint, sealed_secret: vec![1, 2, 3] }).await.unwrap();
}

fn event(id: &str, kind: EventType, user: Option<UserId>, at: OffsetDateTime) -> WebhookEvent {
    WebhookEvent { id: id.into(), kind, user_id: user, payload: format!("{{\"id\":\"{id}\"}}"), at }
}

fn lease() -> OffsetDateTime {
    t0() + Duration::minutes(10)
}

async fn an_event_is_written_once_for_each_endpoint_that_takes_its_type(s: &TestStore) {
    endpoint(s, "all", EventFilter::All).await;
    endpoint(s, "created", EventFilter::Only(vec![EventType::UserCreated])).await;
    endpoint(s, "deleted", EventFilter::Only(vec![EventType::UserDeleted, EventType::UserDisabled])).await;
    let ada = s.user("ada@example.com").await.id;
    assert_eq!(
        s.enqueue_webhook_event(&event("msg_1", EventType::UserCreated, Some(ada), t0())).await.unwrap(),
        2
    );
    assert_eq!(
        s.enqueue_webhook_event(&event("msg_2", EventType::UserDeleted, Some(ada), t0())).await.unwrap(),
        2
    );
    assert_eq!(
        s.enqueue_webhook_event(&event("msg_3", EventType::UserEnabled, Some(ada), t0())).await.unwrap(),
        1
    );
    let mut got: Vec<(String, String)> = Vec::new();
    loop {
        let batch = s.claim_deliveries(t0(), lease(), 10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for d in batch {
            assert_eq!(d.sealed_secret, [1, 2, 3]);
            assert_eq!(d.url, format!("https://{}.example.com/hook", d.endpoint_id));
            assert_eq!(d.payload, format!("{{\"id\":\"{}\"}}", d.event_id));
            s.mark_delivered(d.id, t0()).await.unwrap();
            got.push((d.endpoint_id, d.event_id));
        }
    }
    got.sort();
    let want =
        [("all", "msg_1"), ("all", "msg_2"), ("all", "msg_3"), ("created", "msg_1"), ("deleted", "msg_2")];
    assert_eq!(got, want.map(|(e, m)| (e.to_owned(), m.to_owned())));
    let listed: Vec<_> = s.list_endpoints().await.unwrap().into_iter().map(|e| (e.id, e.events)).collect();
    assert_eq!(listed[2].1, EventFilter::Only(vec![EventType::UserDeleted, EventType::UserDisabled]));
}

async fn a_users_next_event_waits_until_the_earlier_one_is_delivered_or_given_up(s: &TestStore) {
    endpoint(s, "hook", EventFilter::All).await;
    let (ada, bob) = (s.user("ada@example.com").await.id, s.user("bob@example.com").await.id);
    for (id, user) in [("a1", ada), ("b1", bob), ("a2", ada), ("a3", ada)] {
        s.enqueue_webhook_event(&event(id, EventType::UserDisabled, Some(user), t0())).await.unwrap();
    }
    let first = s.claim_deliveries(t0(), lease(), 10).await.unwrap();
    let ids: Vec<_> = first.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, ["a1", "b1"], "one delivery per endpoint and user at a time");
    s.mark_delivered(first[1].id, t0()).await.unwrap();
    // Past the lease of a1, a retry pending for it still holds a2 back.
    let later = lease() + Duration::minutes(1);
    s.mark_delivery_failed(first[0].id, "503", Some(later), t0()).await.unwrap();
    assert!(s.claim_deliveries(t0(), lease(), 10).await.unwrap().is_empty());
    let retry = s.claim_deliveries(later, later + Duration::minutes(10), 10).await.unwrap();
    assert_eq!(retry.iter().map(|d| (d.event_id.as_str(), d.attempts)).collect::<Vec<_>>(), [("a1", 1)]);
    s.mark_delivery_failed(retry[0].id, "gone", None, later).await.unwrap();
    let next = s.claim_deliveries(later, later + Duration::minutes(10), 10).await.unwrap();
    assert_eq!(
        next.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(),
        ["a2"],
        "after a give-up, the next"
    );
    s.mark_delivered(next[0].id, later).await.unwrap();
    let last = s.claim_deliveries(later, later + Duration::minutes(10), 10).await.unwrap();
    assert_eq!(last.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(), ["a3"]);
}

async fn a_claimed_delivery_is_leased_and_an_expired_lease_frees_it(s: &TestStore) {
    endpoint(s, "hook", EventFilter::All).await;
    s.enqueue_webhook_event(&event("m", EventType::UserCreated, None, t0())).await.unwrap();
    let first = s.claim_deliveries(t0(), lease(), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(s.claim_deliveries(t0(), lease(), 10).await.unwrap().is_empty(), "leased");
    let again = s.claim_deliveries(lease(), lease() + Duration::minutes(10), 10).await.unwrap();
    assert_eq!(again[0].id, first[0].id);
}

async fn stats_count_pending_due_and_given_up_with_the_oldest_pending(s: &TestStore) {
    endpoint(s, "hook", EventFilter::All).await;
    let stats = s.webhook_stats(t0()).await.unwrap();
    assert_eq!((stats.pending, stats.due, stats.failed, stats.oldest_pending), (0, 0, 0, None));
    let later = t0() + Duration::minutes(3);
    s.enqueue_webhook_event(&event("old", EventType::UserCreated, None, t0())).await.unwrap();
    s.enqueue_webhook_event(&event("new", EventType::UserCreated, None, later)).await.unwrap();
    s.enqueue_webhook_event(&event("bad", EventType::UserCreated, None, later)).await.unwrap();
    let claimed = s.claim_deliveries(later, later + Duration::minutes(10), 10).await.unwrap();
    let bad = claimed.iter().find(|d| d.event_id == "bad").unwrap();
    s.mark_delivery_failed(bad.id, "refused", None, later).await.unwrap();
    let stats = s.webhook_stats(later).await.unwrap();
    assert_eq!((stats.pending, stats.due, stats.failed, stats.oldest_pending), (2, 2, 1, Some(t0())));
    for d in claimed.iter().filter(|d| d.event_id != "bad") {
        s.mark_delivered(d.id, later).await.unwrap();
    }
    assert_eq!(s.purge_deliveries(later).await.unwrap(), 0);
    assert_eq!(s.purge_deliveries(later + Duration::days(1)).await.unwrap(), 3);
}

async fn deleting_an_endpoint_takes_its_deliveries_and_finds_it_no_more(s: &TestStore) {
    endpoint(s, "gone", EventFilter::All).await;
    endpoint(s, "kept", EventFilter::All).await;
    s.enqueue_webhook_event(&event("m", EventType::UserCreated, None, t0())).await.unwrap();
    assert!(s.find_endpoint("gone").await.unwrap().is_some());
    assert!(s.delete_endpoint("gone").await.unwrap());
    assert!(!s.delete_endpoint("gone").await.unwrap());
    assert!(s.find_endpoint("gone").await.unwrap().is_none());
    let left = s.claim_deliveries(t0(), lease(), 10).await.unwrap();
    assert_eq!(left.iter().map(|d| d.endpoint_id.as_str()).collect::<Vec<_>>(), ["kept"]);
    assert_eq!(s.webhook_stats(t0()).await.unwrap().pending, 1);
}

async fn with_no_endpoint_an_event_writes_nothing(s: &TestStore) {
    assert_eq!(s.enqueue_webhook_event(&event("m", EventType::UserCreated, None, t0())).await.unwrap(), 0);
    assert_eq!(s.webhook_stats(t0()).await.unwrap().pending, 0);
}

async fn a_users_creation_and_deletion_write_their_event_in_their_own_transaction(s: &TestStore) {
    endpoint(s, "hook", EventFilter::All).await;
    let ada = UserId::new();
    let created = event("created", EventType::UserCreated, Some(ada), t0());
    let mut new = new_user("ada@example.com", "ada@example.com");
    new.id = ada;
    s.create_user(new, None, Some(&created)).await.unwrap();
    // A taken address rolls the whole transaction back, its event with it.
    let clash = event("clash", EventType::UserCreated, Some(UserId::new()), t0());
    let again = s.create_user(new_user("ADA@example.com", "ada@example.com"), None, Some(&clash)).await;
    assert!(again.is_err());
    let deleted = event("deleted", EventType::UserDeleted, Some(ada), t0());
    assert_eq!(s.delete_user(ada, None, false, Some(&deleted)).await.unwrap(), Guarded::Changed);
    // Nobody to delete: no event.
    let nobody = event("nobody", EventType::UserDeleted, Some(ada), t0());
    assert_eq!(s.delete_user(ada, None, false, Some(&nobody)).await.unwrap(), Guarded::Unchanged);
    let mut ids = Vec::new();
    loop {
        let batch = s.claim_deliveries(t0(), lease(), 10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for d in batch {
            s.mark_delivered(d.id, t0()).await.unwrap();
            ids.push(d.event_id);
        }
    }
    assert_eq!(ids, ["created", "deleted"]);
}

/// The event ids delivered to the one endpoint, in order, marking each delivered.
async fn delivered(s: &TestStore) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let batch = s.claim_deliveries(t0(), lease(), 10).await.unwrap();
        if batch.is_empty() {
            return ids;
        }
        for d in batch {
            s.mark_delivered(d.id, t0()).await.unwrap();
            ids.push(d.event_id);
        }
    }
}

async fn password_mfa_and_disabling_changes_write_their_event_in_their_own_transaction_and_refused_ones_none(
    s: &TestStore,
) {
    endpoint(s, "hook", EventFilter::All).await;
    let admins = [GroupName::admin()];
    let mut root = new_user("root@example.com", "root@example.com");
    root.groups = &admins;
    let root = s.create_user(root, None, None).await.unwrap().id;
    let nobody = UserId::new();
    let ev = |id: &str, kind: EventType, user: UserId| event(id, kind, Some(user), t0());

    let changed = ev("changed", EventType::UserPasswordChanged, root);
    s.change_password(root, "$argon2id$new", t0(), None, None, Some(&changed)).await.unwrap();
    let ghost = ev("ghost-password", EventType::UserPasswordChanged, nobody);
    s.change_password(nobody, "$argon2id$new", t0(), None, None, Some(&ghost)).await.unwrap();

    // A reset link spent once writes its event once; a spent one, none.
    let (_, reset) = secret();
    s.issue_token(&token(root, TokenKind::ResetPassword, reset, None), &mail(None, "Reset", t0()))
        .await
        .unwrap();
    let notice = mail(None, "Password reset", t0());
    let first = ev("reset", EventType::UserPasswordReset, root);
    assert_eq!(s.reset_password(reset, "h1", t0(), &notice, Some(&first)).await.unwrap(), Some(root));
    let again = ev("reset-again", EventType::UserPasswordReset, root);
    assert_eq!(s.reset_password(reset, "h2", t0(), &notice, Some(&again)).await.unwrap(), None);

    s.totp_begin(root, &[7; 20], t0()).await.unwrap();
    let on = ev("mfa-on", EventType::UserMfaEnabled, root);
    s.totp_confirm(root, 1, &[[1; 32]], Some(&on)).await.unwrap();
    let off = ev("mfa-off", EventType::UserMfaDisabled, root);
    s.mfa_disable(root, Some(&off)).await.unwrap();
    let ghost = ev("ghost-mfa", EventType::UserMfaDisabled, nobody);
    s.mfa_disable(nobody, Some(&ghost)).await.unwrap();

    // Disabling the last administrator is refused: no event.
    let refused = ev("disable-refused", EventType::UserDisabled, root);
    assert_eq!(s.set_user_disabled(root, true, t0(), Some(&refused)).await.unwrap(), Guarded::LastAdmin);
    let ghost = ev("ghost-disable", EventType::UserDisabled, nobody);
    assert_eq!(s.set_user_disabled(nobody, true, t0(), Some(&ghost)).await.unwrap(), Guarded::Unchanged);
    let enabled = ev("enabled", EventType::UserEnabled, root);
    assert_eq!(s.set_user_disabled(root, false, t0(), Some(&enabled)).await.unwrap(), Guarded::Changed);

    assert_eq!(delivered(s).await, ["changed", "reset", "mfa-on", "mfa-off", "enabled"]);
}

async fn address_group_and_session_changes_write_their_event_in_their_own_transaction_and_refused_ones_none(
    s: &TestStore,
) {
    endpoint(s, "hook", EventFilter::All).await;
    let admins = [GroupName::admin()];
    let mut root = new_user("root@example.com", "root@example.com");
    root.groups = &admins;
    let root = s.create_user(root, None, None).await.unwrap().id;
    let ada = s.user("ada@example.com").await.id;
    s.user("taken@example.com").await;
    let nobody = UserId::new();
    let ev = |id: &str, kind: EventType, user: UserId| event(id, kind, Some(user), t0());

    // A verification link: its event once, none for the spent link.
    let (_, verify) = secret();
    s.issue_token(&token(ada, TokenKind::VerifyEmail, verify, None), &mail(None, "V", t0())).await.unwrap();
    let verified = ev("verified", EventType::UserEmailVerified, ada);
    assert_eq!(s.verify_email(verify, t0(), Some(&verified)).await.unwrap(), Some(ada));
    let again = ev("verified-again", EventType::UserEmailVerified, ada);
    assert_eq!(s.verify_email(verify, t0(), Some(&again)).await.unwrap(), None);

    // A change of address, an undo to a taken address (rolled back), the undo.
    let (_, change) = secret();
    let (_, undo) = secret();
    let new = Some("new@example.com");
    s.issue_token(&token(ada, TokenKind::ChangeEmail, change, new), &mail(None, "C", t0())).await.unwrap();
    let to = NewAddress { email: "new@example.com", email_canonical: "new@example.com" };
    let undo_token = token(ada, TokenKind::RevertEmail, undo, Some("ada@example.com"));
    let changed = ev("changed", EventType::UserEmailChanged, ada);
    let notice = mail(None, "Changed", t0());
    s.change_email(change, to, t0(), &undo_token, &notice, Some(&changed)).await.unwrap().unwrap();
    let taken = NewAddress { email: "taken@example.com", email_canonical: "taken@example.com" };
    let clash = ev("undo-clash", EventType::UserEmailChanged, ada);
    assert!(s.revert_email(undo, taken, t0(), Some(&clash)).await.is_err());
    let back = NewAddress { email: "ada@example.com", email_canonical: "ada@example.com" };
    let undone = ev("undone", EventType::UserEmailChanged, ada);
    assert_eq!(s.revert_email(undo, back, t0(), Some(&undone)).await.unwrap(), Some(ada));

    // An administrator verifies: nobody's address writes nothing.
    let ghost = ev("ghost-verified", EventType::UserEmailVerified, nobody);
    assert!(!s.set_email_verified(nobody, true, t0(), Some(&ghost)).await.unwrap());
    let by_admin = ev("admin-verified", EventType::UserEmailVerified, ada);
    assert!(s.set_email_verified(ada, true, t0(), Some(&by_admin)).await.unwrap());

    // Groups: a second add, and removing the last administrator, write nothing.
    let ops = GroupName::parse("ops").unwrap();
    s.create_group(&ops, "", t0()).await.unwrap();
    let added = ev("added", EventType::UserGroupsChanged, ada);
    assert!(s.add_member(&ops, ada, t0(), Some(&added)).await.unwrap());
    let added_again = ev("added-again", EventType::UserGroupsChanged, ada);
    assert!(!s.add_member(&ops, ada, t0(), Some(&added_again)).await.unwrap());
    let refused = ev("last-admin", EventType::UserGroupsChanged, root);
    assert_eq!(s.remove_member(&admins[0], root, Some(&refused)).await.unwrap(), Guarded::LastAdmin);
    let removed = ev("removed", EventType::UserGroupsChanged, ada);
    assert_eq!(s.remove_member(&ops, ada, Some(&removed)).await.unwrap(), Guarded::Changed);

    // Sessions: a session that is not the user's writes nothing.
    let not_theirs = ev("not-theirs", EventType::SessionRevoked, ada);
    assert!(!s.delete_session_by_id(ada, uuid::Uuid::new_v4(), Some(&not_theirs)).await.unwrap());
    let all = ev("all", EventType::SessionRevoked, ada);
    s.delete_user_sessions(ada, Some(&all)).await.unwrap();

    assert_eq!(
        delivered(s).await,
        ["verified", "changed", "undone", "admin-verified", "added", "removed", "all"]
    );
}

/// A live sign-in-by-email request of `user`: its link token's hash.
async fn email_signin_request(s: &TestStore, user: UserId) -> portcullis_core::TokenHash {
    let ((_, token), (_, code)) = (secret(), secret());
    let request = NewEmailSignIn {
        user_id: user,
        token_hash: token,
        code_hash: code,
        created_at: t0(),
        expires_at: t0() + Duration::minutes(10),
    };
    s.replace_email_signin(&request, &mail(Some(user), "Sign in", t0())).await.unwrap();
    token
}

async fn a_sign_in_by_email_writes_email_verified_only_when_it_verifies_the_address(s: &TestStore) {
    endpoint(s, "hook", EventFilter::All).await;
    let ada = s.user("ada@example.com").await.id;
    let ev = |id: &str| event(id, EventType::UserEmailVerified, Some(ada), t0());
    let first = email_signin_request(s, ada).await;
    assert_eq!(s.spend_email_signin(first, t0(), Some(&ev("verified"))).await.unwrap(), Some(ada));
    // Spent: nothing; a later sign-in to the verified address: nothing.
    assert_eq!(s.spend_email_signin(first, t0(), Some(&ev("spent"))).await.unwrap(), None);
    let second = email_signin_request(s, ada).await;
    assert_eq!(s.spend_email_signin(second, t0(), Some(&ev("already"))).await.unwrap(), Some(ada));
    assert!(s.find_credentials_by_id(ada).await.unwrap().unwrap().user.email_verified);
    assert_eq!(delivered(s).await, ["verified"]);
}

conformance!(
    a_sign_in_by_email_writes_email_verified_only_when_it_verifies_the_address,
    address_group_and_session_changes_write_their_event_in_their_own_transaction_and_refused_ones_none,
    password_mfa_and_disabling_changes_write_their_event_in_their_own_transaction_and_refused_ones_none,
    a_users_creation_and_deletion_write_their_event_in_their_own_transaction,
    an_event_is_written_once_for_each_endpoint_that_takes_its_type,
    a_users_next_event_waits_until_the_earlier_one_is_delivered_or_given_up,
    a_claimed_delivery_is_leased_and_an_expired_lease_frees_it,
    stats_count_pending_due_and_given_up_with_the_oldest_pending,
    deleting_an_endpoint_takes_its_deliveries_and_finds_it_no_more,
    with_no_endpoint_an_event_writes_nothing,
);
