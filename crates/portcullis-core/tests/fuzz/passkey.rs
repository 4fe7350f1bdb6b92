//! WebAuthn JSON: the challenge read from a browser's `clientDataJSON` to find its
//! ceremony, and the credential bodies of the two `finish` endpoints.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use portcullis_core::passkeys::{PublicKeyCredential, RegisterPublicKeyCredential, challenge_of};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::config;

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9_-]{0,60}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A credential as a browser's `passkeys.js` posts it, with any piece replaced by
/// any JSON.
fn credential() -> impl Strategy<Value = Value> {
    (
        any::<Vec<u8>>(),
        any::<Vec<u8>>(),
        any::<Vec<u8>>(),
        proptest::option::of(json_value()),
        prop::sample::select(&["id", "rawId", "type", "response", "clientDataJSON", "authenticatorData", "signature", "attestationObject", "extensions"][..]),
    )
        .prop_map(|(id, data, sig, replace, key)| {
            let client_data = json!({"type": "webauthn.get", "challenge": URL_SAFE_NO_PAD.encode(&data), "origin": "http://localhost"});
            let mut v = json!({
                "id": URL_SAFE_NO_PAD.encode(&id),
                "rawId": URL_SAFE_NO_PAD.encode(&id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.to_string()),
                    "authenticatorData": URL_SAFE_NO_PAD.encode(&data),
                    "signature": URL_SAFE_NO_PAD.encode(&sig),
                    "attestationObject": URL_SAFE_NO_PAD.encode(&sig),
                    "userHandle": null
                },
                "extensions": {}
            });
            if let Some(r) = replace {
                if v.get(key).is_some() {
                    v[key] = r;
                } else {
                    v["response"][key] = r;
                }
            }
            v
        })
}

/// What was read, written again, reads back to the same.
fn reads_back<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> bool {
    let written = serde_json::to_value(value).unwrap();
    serde_json::from_value::<T>(written.clone())
        .is_ok_and(|again| serde_json::to_value(again).unwrap() == written)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_challenge_round_trips_in_any_base64url_spelling(
        challenge in any::<Vec<u8>>(),
        padded in any::<bool>(),
        other in prop::collection::btree_map("[a-z]{1,8}", json_value(), 0..4),
    ) {
        let encoded = if padded { URL_SAFE.encode(&challenge) } else { URL_SAFE_NO_PAD.encode(&challenge) };
        let mut data = serde_json::Map::from_iter(other);
        data.insert("challenge".into(), Value::String(encoded));
        let bytes = serde_json::to_vec(&Value::Object(data)).unwrap();
        prop_assert_eq!(challenge_of(&bytes), Some(challenge));
    }

    #[test]
    fn a_challenge_is_found_only_in_json_with_a_base64url_string(bytes in prop_oneof![
        any::<Vec<u8>>(),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        json_value().prop_map(|v| serde_json::to_vec(&json!({"challenge": v})).unwrap()),
        "[ -~]{0,40}".prop_map(|s| serde_json::to_vec(&json!({"challenge": s})).unwrap()),
    ]) {
        if let Some(found) = challenge_of(&bytes) {
            let v: Value = serde_json::from_slice(&bytes).expect("found means JSON");
            // serde reads a struct from an object or, positionally, from an array
            // (`["..."]`); webauthn-rs checks the whole `clientDataJSON` afterwards.
            let challenge = if v.is_array() { &v[0] } else { &v["challenge"] };
            let text = challenge.as_str().expect("a string challenge");
            prop_assert_eq!(URL_SAFE_NO_PAD.encode(&found), text.trim_end_matches('='));
        }
    }

    /// Credential JSON of any shape is read into webauthn-rs' types or refused,
    /// never a panic, and what is read writes and reads back as itself (a
    /// standard-base64 `rawId` among them).
    #[test]
    fn credential_json_of_any_shape_is_read_or_refused(v in credential(), std_b64 in any::<bool>()) {
        let mut v = v;
        if std_b64 && let Some(id) = v["id"].as_str().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok()) {
            v["rawId"] = Value::String(STANDARD.encode(id));
        }
        let text = v.to_string();
        if let Ok(cred) = serde_json::from_str::<PublicKeyCredential>(&text) {
            let client_data: &[u8] = cred.response.client_data_json.as_ref();
            let _ = challenge_of(client_data);
            prop_assert!(reads_back(&cred), "an assertion does not read back as itself: {text}");
        }
        if let Ok(cred) = serde_json::from_str::<RegisterPublicKeyCredential>(&text) {
            prop_assert!(reads_back(&cred), "an attestation does not read back as itself: {text}");
        }
    }
}
