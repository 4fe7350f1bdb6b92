//! Emailed sign-in requests (issue #21): replaced by a newer one, spent once,
//! dead when expired or older than a password change, codes counted atomically.

use portcullis_core::email_signin::NewEmailSignIn;
use portcullis_core::{TokenHash, UserId};
use time::{Duration, OffsetDateTime};

use crate::conformance;
use crate::fixtures::{TestStore, mail, secret, t0};

/// A request of `user` made at `at`: its token hash and code hash.
async fn request(s: &TestStore, user: UserId, at: OffsetDateTime) -> (TokenHash, TokenHash) {
    let ((_, token), (_, code)) = (secret(), secret());
    let r = NewEmailSignIn {
        user_id: user,
        token_hash: token,
        code_hash: code,
        created_at: at,
        expires_at: at + Duration::minutes(10),
    };
    s.replace_email_signin(&r, &mail(Some(user), "Your sign-in link", at)).await.unwrap();
    (token, code)
}

async fn a_request_queues_its_mail_and_is_spent_once_verifying_the_address(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (token, _) = request(s, ada.id, t0()).await;
    assert_eq!(s.list_mails(ada.id).await.unwrap()[0].subject, "Your sign-in link");
    let now = t0() + Duration::minutes(1);
    assert_eq!(s.find_email_signin(token, now).await.unwrap(), Some(ada.id));
    assert_eq!(s.spend_email_signin(token, now, None).await.unwrap(), Some(ada.id));
    assert_eq!(s.spend_email_signin(token, now, None).await.unwrap(), None, "spent");
    assert_eq!(s.find_email_signin(token, now).await.unwrap(), None);
    assert!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().user.email_verified);
}

async fn a_newer_request_replaces_the_older(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (old, _) = request(s, ada.id, t0()).await;
    let (new, _) = request(s, ada.id, t0() + Duration::seconds(5)).await;
    let now = t0() + Duration::minutes(1);
    assert_eq!(s.spend_email_signin(old, now, None).await.unwrap(), None, "the older link died");
    assert_eq!(s.spend_email_signin(new, now, None).await.unwrap(), Some(ada.id));
}

async fn an_expired_request_or_one_older_than_the_password_is_dead(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (token, _) = request(s, ada.id, t0()).await;
    let late = t0() + Duration::minutes(10);
    assert_eq!(s.find_email_signin(token, late).await.unwrap(), None, "expired");
    assert_eq!(s.spend_email_signin(token, late, None).await.unwrap(), None, "expired");
    assert!(s.claim_email_signin_code(ada.id, late, 5).await.unwrap().is_none(), "expired");

    let (token, _) = request(s, ada.id, t0() + Duration::minutes(1)).await;
    let changed = t0() + Duration::minutes(2);
    s.change_password(ada.id, "$argon2id$new", changed, None, None, None).await.unwrap();
    assert_eq!(
        s.spend_email_signin(token, changed, None).await.unwrap(),
        None,
        "killed by the password change"
    );
    assert!(s.claim_email_signin_code(ada.id, changed, 5).await.unwrap().is_none());
}

async fn code_attempts_are_counted_and_stop_at_the_limit(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (token, code) = request(s, ada.id, t0()).await;
    let now = t0() + Duration::minutes(1);
    for _ in 0..5 {
        let attempt = s.claim_email_signin_code(ada.id, now, 5).await.unwrap().expect("an attempt left");
        assert!(attempt.token_hash == token && attempt.code_hash == code);
    }
    assert!(s.claim_email_signin_code(ada.id, now, 5).await.unwrap().is_none(), "five were counted");
    assert_eq!(s.email_signin_of(ada.id).await.unwrap().unwrap().code_attempts, 5);
    let bob = s.user("bob@example.com").await;
    assert!(s.claim_email_signin_code(bob.id, now, 5).await.unwrap().is_none(), "no request");
}

async fn expired_requests_are_purged(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    request(s, ada.id, t0()).await;
    assert_eq!(s.purge_email_signins(t0() + Duration::minutes(5)).await.unwrap(), 0);
    assert_eq!(s.purge_email_signins(t0() + Duration::minutes(11)).await.unwrap(), 1);
    assert!(s.email_signin_of(ada.id).await.unwrap().is_none());
}

conformance!(
    a_request_queues_its_mail_and_is_spent_once_verifying_the_address,
    a_newer_request_replaces_the_older,
    an_expired_request_or_one_older_than_the_password_is_dead,
    code_attempts_are_counted_and_stop_at_the_limit,
    expired_requests_are_purged,
);
