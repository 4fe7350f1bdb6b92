//! A software passkey: a P-256 key (ring) that answers WebAuthn sign-in options the
//! way a platform authenticator does (user present and verified, not backed up),
//! and its public part in the form webauthn-rs serialises a `Passkey`, as the
//! `passkeys` table has kept it since migration 7.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Authenticator data flags: user present, user verified.
const UP_UV: u8 = 0x01 | 0x04;

pub struct Authenticator {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    pub credential_id: Vec<u8>,
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Authenticator {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("a P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .expect("the key just made");
        let credential_id = uuid::Uuid::new_v4().as_bytes().to_vec();
        Self { key, rng, credential_id }
    }

    /// webauthn-rs' serialised `Passkey`: the public key as COSE EC2 coordinates, no
    /// counter yet, registered with user verification required.
    pub fn stored_passkey(&self) -> String {
        // An uncompressed point: 0x04, then x and y.
        let point = self.key.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        json!({"cred": {
            "cred_id": b64url(&self.credential_id),
            "cred": {"type_": "ES256", "key": {"EC_EC2": {"curve": "SECP256R1", "x": x, "y": y}}},
            "counter": 0,
            "user_verified": true,
            "backup_eligible": false,
            "backup_state": false,
            "registration_policy": "required",
            "extensions": {"cred_protect": "NotRequested", "hmac_create_secret": "NotRequested"},
            "attestation": {"data": "None", "metadata": "None"},
            "attestation_format": "None",
            "transports": null,
        }})
        .to_string()
    }

    /// The credential a browser posts after `navigator.credentials.get` with these
    /// options, for a discoverable sign-in as `user_handle` from `origin`.
    pub fn assertion(&self, options: &Value, origin: &str, user_handle: &[u8], counter: u32) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
        let rp_id = options["publicKey"]["rpId"].as_str().expect("a relying-party id");
        let client_data =
            json!({"type": "webauthn.get", "challenge": challenge, "origin": origin, "crossOrigin": false})
                .to_string();
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(UP_UV);
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature = self.key.sign(&self.rng, &signed).expect("signing");
        json!({
            "id": b64url(&self.credential_id),
            "rawId": b64url(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64url(&auth_data),
                "clientDataJSON": b64url(client_data.as_bytes()),
                "signature": b64url(signature.as_ref()),
                "userHandle": b64url(user_handle),
            },
            "extensions": {},
        })
    }
}
