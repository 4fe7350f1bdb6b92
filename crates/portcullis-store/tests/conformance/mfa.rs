//! Second factors: TOTP enrolment and steps used once, recovery codes used once.

use crate::conformance;
use crate::fixtures::{TestStore, t0};

async fn a_confirmed_totp_step_is_used_once_and_only_forward(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    assert!(s.totp(ada.id).await.unwrap().is_none());
    s.totp_begin(ada.id, b"sealed-1", t0()).await.unwrap();
    s.totp_begin(ada.id, b"sealed-2", t0()).await.unwrap();
    let pending = s.totp(ada.id).await.unwrap().expect("enrolling");
    assert_eq!((pending.sealed_secret.as_slice(), pending.confirmed), (&b"sealed-2"[..], false));
    assert!(!s.totp_use_step(ada.id, 10).await.unwrap(), "not confirmed yet");

    s.totp_confirm(ada.id, 10, &[[1; 32], [2; 32]], None).await.unwrap();
    assert!(s.find_credentials_by_id(ada.id).await.unwrap().unwrap().user.mfa_enabled);
    s.totp_begin(ada.id, b"sealed-3", t0()).await.unwrap();
    assert_eq!(s.totp(ada.id).await.unwrap().unwrap().sealed_secret, b"sealed-2", "a confirmed secret stays");

    assert!(!s.totp_use_step(ada.id, 10).await.unwrap(), "the confirming step is spent");
    assert!(s.totp_use_step(ada.id, 11).await.unwrap());
    assert!(!s.totp_use_step(ada.id, 11).await.unwrap());
    assert!(!s.totp_use_step(ada.id, 9).await.unwrap());
}

async fn a_recovery_code_is_used_once_and_codes_can_be_replaced(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    s.totp_begin(ada.id, b"sealed", t0()).await.unwrap();
    s.totp_confirm(ada.id, 1, &[[1; 32], [2; 32]], None).await.unwrap();
    assert_eq!(s.recovery_codes_left(ada.id).await.unwrap(), 2);
    assert!(s.use_recovery_code(ada.id, &[1; 32], t0()).await.unwrap());
    assert!(!s.use_recovery_code(ada.id, &[1; 32], t0()).await.unwrap(), "spent");
    assert!(!s.use_recovery_code(ada.id, &[9; 32], t0()).await.unwrap(), "unknown");
    assert_eq!(s.recovery_codes_left(ada.id).await.unwrap(), 1);

    s.replace_recovery_codes(ada.id, &[[3; 32], [4; 32], [5; 32]]).await.unwrap();
    assert_eq!(s.recovery_codes_left(ada.id).await.unwrap(), 3);
    assert!(!s.use_recovery_code(ada.id, &[2; 32], t0()).await.unwrap(), "old codes are gone");

    s.mfa_disable(ada.id, None).await.unwrap();
    assert!(s.totp(ada.id).await.unwrap().is_none());
    assert_eq!(s.recovery_codes_left(ada.id).await.unwrap(), 0);
    assert!(!s.find_credentials_by_id(ada.id).await.unwrap().unwrap().user.mfa_enabled);
}

conformance!(
    a_confirmed_totp_step_is_used_once_and_only_forward,
    a_recovery_code_is_used_once_and_codes_can_be_replaced,
);
