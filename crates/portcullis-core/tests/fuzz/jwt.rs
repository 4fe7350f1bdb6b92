//! JWT headers and claims (`Keyring::verify`, every `Authorization: Bearer` and
//! `id_token_hint`): only an EdDSA signature by a published key over a header of
//! the expected `typ` and claims with our `iss` and `aud` is accepted, and then
//! the claims read are exactly the ones signed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_core::keys::jwt::{ACCESS_TOKEN_TYP, ID_TOKEN_TYP, Keyring, StoredKey, generate_key};
use portcullis_core::mfa::SecretBox;
use portcullis_core::service::AccessClaims;
use proptest::prelude::*;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{config, text};

const ISSUER: &str = "https://id.example";

/// A keyring with one key, and that key's private half for forging.
struct Keys {
    ring: Keyring,
    key: StoredKey,
    signing: ed25519_dalek::SigningKey,
}

fn ring() -> Keys {
    let sealer = SecretBox::new(&[7u8; 32]);
    let key = generate_key(&sealer, OffsetDateTime::UNIX_EPOCH);
    let ring = Keyring::from_stored(std::slice::from_ref(&key), &sealer).unwrap();
    let seed: [u8; 32] = sealer.open(&key.sealed_private).unwrap().try_into().unwrap();
    Keys { ring, key, signing: ed25519_dalek::SigningKey::from_bytes(&seed) }
}

fn verify(ring: &Keyring, token: &str) -> Result<AccessClaims, bool> {
    ring.verify::<AccessClaims>(token, ACCESS_TOKEN_TYP, ISSUER, ISSUER)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `header.claims.signature`, signed with our key.
fn signed(signing: &ed25519_dalek::SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = signing.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn claims() -> impl Strategy<Value = AccessClaims> {
    (any::<String>(), any::<i64>(), any::<i64>(), any::<String>(), any::<String>(), any::<String>())
        .prop_flat_map(|(sub, exp, iat, jti, client_id, scope)| {
            (
                proptest::option::of(any::<String>()),
                proptest::option::of(any::<i64>()),
                proptest::option::of(proptest::collection::vec(any::<String>(), 0..4)),
            )
                .prop_map(move |(sid, auth_time, groups)| AccessClaims {
                    iss: ISSUER.into(),
                    sub: sub.clone(),
                    aud: ISSUER.into(),
                    exp,
                    iat,
                    jti: jti.clone(),
                    client_id: client_id.clone(),
                    scope: scope.clone(),
                    sid,
                    auth_time,
                    groups,
                })
        })
}

/// A JSON string, some other JSON, or nothing, for one header or claims field.
fn field(good: &'static [&'static str]) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => prop::sample::select(good).prop_map(|s| Some(Value::String(s.into()))),
        1 => Just(None),
        1 => any::<String>().prop_map(|s| Some(Value::String(s))),
        1 => prop_oneof![Just(json!(null)), Just(json!(1)), Just(json!([ISSUER])), Just(json!({"a": 1}))].prop_map(Some),
    ]
}

fn put(obj: &mut Value, key: &str, v: Option<Value>) {
    match v {
        Some(v) => obj[key] = v,
        None => {
            obj.as_object_mut().unwrap().remove(key);
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn signed_claims_come_back_exactly(c in claims()) {
        let r = ring();
        let token = r.ring.sign(ACCESS_TOKEN_TYP, &c).unwrap();
        let back = verify(&r.ring, &token).expect("our own token verifies");
        prop_assert_eq!(serde_json::to_value(back).unwrap(), serde_json::to_value(&c).unwrap());
        prop_assert!(r.ring.verify::<AccessClaims>(&token, ID_TOKEN_TYP, ISSUER, ISSUER).is_err(), "typ is checked");
    }

    #[test]
    fn strings_that_are_not_our_tokens_are_refused(raw in text(&["eyJ", ".", "..", "e30", "-", "_", "=", "AAAA", " "])) {
        let r = ring();
        prop_assert!(verify(&r.ring, &raw).is_err());
    }

    /// Any change to one of our tokens is refused, or reads the very same claims
    /// (never other claims: the signature covers them).
    #[test]
    fn an_edited_token_is_refused_or_unchanged(c in claims(), at in any::<usize>(), edit in 0..4u8, ch in prop::char::range('(', '~')) {
        let r = ring();
        let token = r.ring.sign(ACCESS_TOKEN_TYP, &c).unwrap();
        let mut chars: Vec<char> = token.chars().collect();
        let at = at % chars.len();
        match edit {
            0 => chars[at] = ch,
            1 => chars.insert(at, ch),
            2 => { chars.remove(at); }
            _ => chars.truncate(at),
        }
        let edited: String = chars.into_iter().collect();
        prop_assume!(edited != token);
        if let Ok(back) = verify(&r.ring, &edited) {
            prop_assert_eq!(serde_json::to_value(back).unwrap(), serde_json::to_value(&c).unwrap());
        }
    }

    /// Headers and claims of any content, validly signed with our own key: accepted
    /// only when `alg`, `typ`, `kid`, `iss` and `aud` are right.
    #[test]
    fn forged_headers_and_claims_pass_only_when_everything_is_right(
        c in claims(),
        alg in field(&["EdDSA", "none", "HS256", "RS256", "ES256", "eddsa", "EDDSA"]),
        typ in field(&["at+jwt", "AT+JWT", "JWT", "at+JWT ", "application/at+jwt"]),
        kid in proptest::option::of(any::<String>()),
        use_our_kid in any::<bool>(),
        iss in field(&[ISSUER, "https://id.example/", "https://evil.example"]),
        aud in field(&[ISSUER, "https://evil.example", "portcullis"]),
        extra in proptest::option::of(("[a-z]{1,6}", any::<String>())),
    ) {
        let r = ring();
        let mut header = json!({});
        put(&mut header, "alg", alg.clone());
        put(&mut header, "typ", typ.clone());
        let kid = if use_our_kid { Some(r.key.kid.clone()) } else { kid };
        put(&mut header, "kid", kid.clone().map(Value::String));
        let mut body = serde_json::to_value(&c).unwrap();
        put(&mut body, "iss", iss.clone());
        put(&mut body, "aud", aud.clone());
        if let Some((k, v)) = extra {
            if !["alg", "typ", "kid"].contains(&k.as_str()) {
                header[&k] = Value::String(v.clone());
            }
            if !["iss", "aud", "sub", "exp", "iat", "jti", "client_id", "scope", "sid", "auth_time", "nbf"].contains(&k.as_str()) {
                body[&k] = Value::String(v);
            }
        }
        let token = signed(&r.signing, &header, &body);
        if let Ok(back) = verify(&r.ring, &token) {
            prop_assert_eq!(alg, Some(json!("EdDSA")));
            prop_assert!(typ.as_ref().and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)));
            prop_assert_eq!(kid.as_deref(), Some(r.key.kid.as_str()));
            prop_assert_eq!(back.iss.as_str(), ISSUER);
            let aud_ok = aud == Some(json!(ISSUER)) || aud == Some(json!([ISSUER]));
            prop_assert!(aud_ok, "aud {aud:?}");
            prop_assert_eq!(back.sub, c.sub);
        } else {
            let all_right = alg == Some(json!("EdDSA"))
                && typ.as_ref().and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP))
                && kid.as_deref() == Some(r.key.kid.as_str())
                && iss == Some(json!(ISSUER))
                && aud == Some(json!(ISSUER));
            prop_assert!(!all_right, "a well-formed token was refused: {header} {body}");
        }
    }

    /// Algorithm confusion: an HMAC over the token keyed with our public key, or no
    /// signature at all, never passes.
    #[test]
    fn other_algorithms_never_pass(c in claims(), hs in any::<bool>(), typ in prop::sample::select(&["at+jwt", "JWT"][..])) {
        let r = ring();
        let mut header = Header::new(if hs { Algorithm::HS256 } else { Algorithm::HS512 });
        header.typ = Some(typ.to_owned());
        header.kid = Some(r.key.kid.clone());
        for secret in [r.key.public_key.clone(), URL_SAFE_NO_PAD.encode(&r.key.public_key).into_bytes()] {
            let token = jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(&secret)).unwrap();
            prop_assert!(verify(&r.ring, &token).is_err());
        }
        let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": typ, "kid": r.key.kid})), b64(&serde_json::to_value(&c).unwrap()));
        prop_assert!(verify(&r.ring, &none).is_err());
        let other = ring();
        let foreign = signed(&other.signing, &json!({"alg": "EdDSA", "typ": typ, "kid": r.key.kid}), &serde_json::to_value(&c).unwrap());
        prop_assert!(verify(&r.ring, &foreign).is_err(), "another key's signature under our kid");
    }
}
