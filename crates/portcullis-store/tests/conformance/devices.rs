//! Devices accounts signed in from (issue #21): the first is silent, each new one
//! queues its notice once, known ones are only seen again.

use portcullis_core::devices::{DeviceSeen, device_hash};
use portcullis_core::store::DeviceSighting;
use portcullis_core::{SecretToken, UserId};
use time::Duration;

use crate::conformance;
use crate::fixtures::{TestStore, mail, t0};

async fn see(s: &TestStore, user: UserId, device: &SecretToken, minutes: i64) -> DeviceSeen {
    let at = t0() + Duration::minutes(minutes);
    let sighting = DeviceSighting {
        user_id: user,
        device_hash: device_hash(user, device),
        at,
        client: "Firefox on Linux",
        ip: Some("192.0.2.1"),
    };
    let event = portcullis_core::webhooks::WebhookEvent {
        id: portcullis_core::SecretToken::generate().expose().to_owned(),
        kind: portcullis_core::webhooks::EventType::SessionNewDevice,
        user_id: Some(user),
        payload: "{}".into(),
        at,
    };
    s.record_device(&sighting, &mail(Some(user), "New sign-in", at), &event).await.unwrap()
}

async fn the_first_device_is_silent_a_new_one_queues_its_notice_once(s: &TestStore) {
    let ada = s.user("ada@example.com").await;
    let (laptop, phone) = (SecretToken::generate(), SecretToken::generate());
    assert_eq!(see(s, ada.id, &laptop, 0).await, DeviceSeen::First);
    assert_eq!(see(s, ada.id, &laptop, 1).await, DeviceSeen::Known);
    assert!(s.list_mails(ada.id).await.unwrap().is_empty(), "no notice for the first device");
    assert_eq!(see(s, ada.id, &phone, 2).await, DeviceSeen::New);
    assert_eq!(see(s, ada.id, &phone, 3).await, DeviceSeen::Known);
    let mails = s.list_mails(ada.id).await.unwrap();
    assert_eq!(mails.iter().filter(|m| m.subject == "New sign-in").count(), 1, "one notice per device");
    let devices = s.list_devices(ada.id).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].last_seen_at, t0() + Duration::minutes(3), "most recently seen first");
    assert_eq!(
        (devices[0].client.as_str(), devices[0].ip.as_deref()),
        ("Firefox on Linux", Some("192.0.2.1"))
    );
}

async fn one_browser_is_a_separate_device_for_each_account(s: &TestStore) {
    let (ada, bob) = (s.user("ada@example.com").await, s.user("bob@example.com").await);
    let shared = SecretToken::generate();
    assert_eq!(see(s, ada.id, &shared, 0).await, DeviceSeen::First);
    assert_eq!(see(s, bob.id, &shared, 1).await, DeviceSeen::First);
    assert_eq!(s.list_devices(ada.id).await.unwrap().len(), 1);
}

conformance!(
    the_first_device_is_silent_a_new_one_queues_its_notice_once,
    one_browser_is_a_separate_device_for_each_account,
);
