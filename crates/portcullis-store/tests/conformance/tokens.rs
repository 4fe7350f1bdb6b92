//! Emailed tokens: issue, find, list, spend once, and the changes they authorise.

use portcullis_core::store::NewAddress;
use portcullis_core::{StoreError, TokenKind};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, mail, secret, t0, token};

async fn an_issued_token_is_found_and_queues_its_mail(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = secret();
    s.issue_token(&token(ada.id, TokenKind::VerifyEmail, hash, None), &mail(Some(ada.id), "Verify", t0()))
        .await
        .unwrap();
    let found = s.find_token(hash).await.unwrap().expect("found");
    assert_eq!((found.kind, found.user_id, found.used_at), (TokenKind::VerifyEmail, ada.id, None));
    assert_eq!(s.list_tokens(ada.id).await.unwrap(), vec![found]);
    assert_eq!(s.list_mails(ada.id).await.unwrap()[0].subject, "Verify");
    let again =
        s.issue_token(&token(ada.id, TokenKind::VerifyEmail, hash, None), &mail(None, "x", t0())).await;
    assert!(matches!(again, Err(StoreError::Conflict("token"))), "{again:?}");
}

async fn a_token_is_spent_once(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = secret();
    s.issue_token(&token(ada.id, TokenKind::VerifyEmail, hash, None), &mail(None, "Verify", t0()))
        .await
        .unwrap();
    let now = t0() + Duration::minutes(1);
    assert_eq!(s.verify_email(hash, now, None).await.unwrap(), Some(ada.id));
    assert_eq!(s.verify_email(hash, now, None).await.unwrap(), None, "spent");
    assert!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().user.email_verified);
    assert_eq!(s.find_token(hash).await.unwrap().unwrap().used_at, Some(now));
    let (_, unknown) = secret();
    assert_eq!(s.verify_email(unknown, now, None).await.unwrap(), None);
}

async fn a_token_of_another_kind_or_expired_is_not_spent(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = secret();
    s.issue_token(&token(ada.id, TokenKind::VerifyEmail, hash, None), &mail(None, "Verify", t0()))
        .await
        .unwrap();
    let notice = mail(Some(ada.id), "Password reset", t0());
    assert_eq!(s.reset_password(hash, "new", t0(), &notice, None).await.unwrap(), None, "wrong kind");
    assert_eq!(s.verify_email(hash, t0() + Duration::hours(2), None).await.unwrap(), None, "expired");
}

async fn a_reset_spends_the_token_and_ends_what_the_old_password_opened(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, reset) = secret();
    let (_, verify) = secret();
    s.issue_token(&token(ada.id, TokenKind::ResetPassword, reset, None), &mail(None, "Reset", t0()))
        .await
        .unwrap();
    s.issue_token(&token(ada.id, TokenKind::VerifyEmail, verify, None), &mail(None, "Verify", t0()))
        .await
        .unwrap();
    let notice = mail(Some(ada.id), "Password changed", t0());
    let now = t0() + Duration::minutes(1);
    assert_eq!(s.reset_password(reset, "new-hash", now, &notice, None).await.unwrap(), Some(ada.id));
    assert_eq!(s.reset_password(reset, "again", now, &notice, None).await.unwrap(), None, "spent");
    assert_eq!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().password_hash, "new-hash");
    assert!(s.find_token(verify).await.unwrap().is_none(), "other pending tokens die with the password");
}

async fn an_address_change_moves_and_its_undo_moves_back(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.user("taken@example.com").await;
    let (_, change) = secret();
    let (_, undo) = secret();
    s.issue_token(
        &token(ada.id, TokenKind::ChangeEmail, change, Some("new@example.com")),
        &mail(None, "C", t0()),
    )
    .await
    .unwrap();
    let to = NewAddress { email: "New@example.com", email_canonical: "new@example.com" };
    let undo_token = token(ada.id, TokenKind::RevertEmail, undo, Some("ada@example.com"));
    let notice = mail(Some(ada.id), "Address changed", t0());
    assert_eq!(s.change_email(change, to, t0(), &undo_token, &notice, None).await.unwrap(), Some(ada.id));
    assert_eq!(s.find_credentials_by_email("new@example.com").await.unwrap().unwrap().user.id, ada.id);

    let taken = NewAddress { email: "taken@example.com", email_canonical: "taken@example.com" };
    let clash = s.revert_email(undo, taken, t0(), None).await;
    assert!(matches!(clash, Err(StoreError::Conflict("email"))), "{clash:?}");
    let back = NewAddress { email: "ada@example.com", email_canonical: "ada@example.com" };
    assert_eq!(s.revert_email(undo, back, t0(), None).await.unwrap(), Some(ada.id), "the clash rolled back");
    assert_eq!(s.find_credentials_by_email("ada@example.com").await.unwrap().unwrap().user.id, ada.id);
}

async fn expired_tokens_are_purged(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (_, hash) = secret();
    s.issue_token(&token(ada.id, TokenKind::VerifyEmail, hash, None), &mail(None, "Verify", t0()))
        .await
        .unwrap();
    assert_eq!(s.purge_tokens(t0()).await.unwrap(), 0);
    assert_eq!(s.purge_tokens(t0() + Duration::days(1)).await.unwrap(), 1);
    assert!(s.find_token(hash).await.unwrap().is_none());
}

conformance!(
    an_issued_token_is_found_and_queues_its_mail,
    a_token_is_spent_once,
    a_token_of_another_kind_or_expired_is_not_spent,
    a_reset_spends_the_token_and_ends_what_the_old_password_opened,
    an_address_change_moves_and_its_undo_moves_back,
    expired_tokens_are_purged,
);
