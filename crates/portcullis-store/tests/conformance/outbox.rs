//! The mail outbox: enqueue, claim with a lease, mark sent, retry, give up, purge.

use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, mail, t0};

async fn a_queued_mail_is_claimed_once_per_lease_and_marked_sent(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.enqueue_mail(&mail(Some(ada.id), "First", t0())).await.unwrap();
    s.enqueue_mail(&mail(None, "Second", t0())).await.unwrap();
    let lease = t0() + Duration::minutes(5);
    let claimed = s.claim_mails(t0(), lease, 10).await.unwrap();
    let subjects: Vec<_> = claimed.iter().map(|m| m.mail.subject.as_str()).collect();
    assert_eq!(subjects, ["First", "Second"]);
    assert_eq!(claimed[0].attempts, 0);
    assert!(s.claim_mails(t0(), lease, 10).await.unwrap().is_empty(), "leased");

    s.mark_mail_sent(claimed[0].id, t0()).await.unwrap();
    let summaries = s.list_mails(ada.id).await.unwrap();
    assert_eq!(summaries[0].sent_at, Some(t0()));
    assert_eq!(s.outbox_stats(t0()).await.unwrap().pending, 1);
}

async fn a_failed_mail_is_retried_later_or_given_up(s: &TestStore) {
    s.enqueue_mail(&mail(None, "Flaky", t0())).await.unwrap();
    s.enqueue_mail(&mail(None, "Hopeless", t0())).await.unwrap();
    let claimed = s.claim_mails(t0(), t0() + Duration::minutes(5), 1).await.unwrap();
    assert_eq!(claimed.len(), 1, "the limit holds");
    let retry_at = t0() + Duration::minutes(1);
    s.mark_mail_failed(claimed[0].id, "421 try later", Some(retry_at), t0()).await.unwrap();
    let hopeless = s.claim_mails(t0(), t0() + Duration::minutes(5), 10).await.unwrap();
    assert_eq!(hopeless.len(), 1);
    s.mark_mail_failed(hopeless[0].id, "550 no such user", None, t0()).await.unwrap();

    let stats = s.outbox_stats(t0()).await.unwrap();
    assert_eq!((stats.pending, stats.due, stats.failed), (1, 0, 1));
    let again = s.claim_mails(retry_at, retry_at + Duration::minutes(5), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].mail.subject.as_str(), again[0].attempts), ("Flaky", 1));
}

async fn an_expired_lease_frees_the_mail_and_old_mails_are_purged(s: &TestStore) {
    s.enqueue_mail(&mail(None, "Lost worker", t0())).await.unwrap();
    let lease = t0() + Duration::minutes(5);
    let first = s.claim_mails(t0(), lease, 10).await.unwrap();
    let reclaimed = s.claim_mails(lease, lease + Duration::minutes(5), 10).await.unwrap();
    assert_eq!(reclaimed[0].id, first[0].id);
    s.mark_mail_sent(first[0].id, lease).await.unwrap();
    assert_eq!(s.purge_outbox(lease).await.unwrap(), 0);
    assert_eq!(s.purge_outbox(lease + Duration::days(1)).await.unwrap(), 1);
}

conformance!(
    a_queued_mail_is_claimed_once_per_lease_and_marked_sent,
    a_failed_mail_is_retried_later_or_given_up,
    an_expired_lease_frees_the_mail_and_old_mails_are_purged,
);
