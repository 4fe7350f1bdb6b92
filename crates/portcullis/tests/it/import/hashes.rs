//! Every hash format of SPEC §9, made by the library that makes it in the wild
//! (Werkzeug, bcrypt, passlib, argon2-cffi; Django's format with hashlib the way
//! Django calls it), run here through Python: imported, the right password signs
//! in over HTTP, a wrong one is refused, and the stored hash is Argon2id after.

use reqwest::StatusCode;
use serde_json::json;

use super::{import, legacy_python};
use crate::helpers::{Backend, TestApp, backend_tests, client};

/// Prints one JSON line per format: `{"email", "password_hash", "password"}`.
const MAKE_HASHES: &str = r#"
import base64, hashlib, json, secrets, sys
import argon2, bcrypt
from passlib.hash import pbkdf2_sha256
from werkzeug.security import generate_password_hash

def django(password, iterations=260000):
    # django.contrib.auth.hashers.PBKDF2PasswordHasher.encode
    salt = secrets.token_urlsafe(16)[:22]
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(digest).decode("ascii").strip())

def bcrypt_hash(password, rounds, prefix):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds, prefix=prefix)).decode()

makers = {
    "werkzeug-scrypt": lambda pw: generate_password_hash(pw),
    "werkzeug-pbkdf2-sha256": lambda pw: generate_password_hash(pw, "pbkdf2:sha256:260000"),
    "werkzeug-pbkdf2-sha512": lambda pw: generate_password_hash(pw, "pbkdf2:sha512:100000"),
    "bcrypt-2b": lambda pw: bcrypt_hash(pw, 10, b"2b"),
    "bcrypt-2a": lambda pw: bcrypt_hash(pw, 4, b"2a"),
    # PHP's password_hash writes $2y$: the same algorithm and bytes as $2b$.
    "bcrypt-2y": lambda pw: "$2y$" + bcrypt_hash(pw, 4, b"2b")[4:],
    "django": django,
    "passlib": lambda pw: pbkdf2_sha256.hash(pw),
    "argon2id": lambda pw: argon2.PasswordHasher().hash(pw),
    "argon2i": lambda pw: argon2.PasswordHasher(type=argon2.Type.I).hash(pw),
}
for name, make in makers.items():
    # Passwords as the old applications took them: not normalised, so a
    # ligature or a decomposed accent is a character of its own.
    password = "ﬁsh-Cafe\u0301-" + name + "-" + secrets.token_hex(4)
    print(json.dumps({"email": name + "@example.com", "password_hash": make(password), "password": password}))
"#;

struct Legacy {
    email: String,
    hash: String,
    password: String,
}

/// The hashes, made by the Python libraries; `None` without the virtualenv.
async fn made_by_the_libraries() -> Option<Vec<Legacy>> {
    let python = legacy_python()?;
    let out = tokio::process::Command::new(python).arg("-c").arg(MAKE_HASHES).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = String::from_utf8(out.stdout).unwrap();
    Some(
        lines
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let s = |k: &str| v[k].as_str().unwrap().to_owned();
                Legacy { email: s("email"), hash: s("password_hash"), password: s("password") }
            })
            .collect(),
    )
}

async fn login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    let res = app.post_json(&client(), "/api/v1/login", &json!({"email": email, "password": password})).await;
    res.status()
}

async fn stored_hash(app: &TestApp, email: &str) -> String {
    app.store.find_credentials_by_email(email).await.unwrap().expect("imported").password_hash
}

async fn each_format_signs_in_with_the_right_password_only_and_becomes_argon2id(backend: Backend) {
    let Some(users) = made_by_the_libraries().await else { return };
    assert_eq!(users.len(), 10, "every format of SPEC §9");
    let app = TestApp::spawn(backend).await;
    let file: String = users
        .iter()
        .map(|u| {
            json!({"email": u.email, "password_hash": u.hash, "email_verified": true}).to_string() + "\n"
        })
        .collect();
    let ran = import(&app.db.url, "users.jsonl", &file, &[]).await;
    assert_eq!((ran.code, ran.stdout.as_str()), (0, "imported: 10, skipped: 0\n"), "{}", ran.stderr);

    for u in &users {
        assert_eq!(stored_hash(&app, &u.email).await, u.hash, "{}: imported as it was", u.email);
        assert_eq!(
            login(&app, &u.email, &format!("{}x", u.password)).await,
            StatusCode::UNAUTHORIZED,
            "{}",
            u.email
        );
        // The NFKC form is another password to the old application.
        let normalised = portcullis_core::Password::new(&u.password);
        assert_ne!(normalised.expose(), u.password);
        assert_eq!(login(&app, &u.email, normalised.expose()).await, StatusCode::UNAUTHORIZED, "{}", u.email);
        assert_eq!(
            stored_hash(&app, &u.email).await,
            u.hash,
            "{}: a failed sign-in changes nothing",
            u.email
        );

        assert_eq!(
            login(&app, &u.email, &u.password).await,
            StatusCode::OK,
            "{}: the right password",
            u.email
        );
        let now = stored_hash(&app, &u.email).await;
        assert!(
            now.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{}: replaced by Argon2id, got {now:.20}",
            u.email
        );
        // The same password, typed the same way, signs in against the new hash.
        assert_eq!(login(&app, &u.email, &u.password).await, StatusCode::OK, "{}: again", u.email);
        assert_eq!(stored_hash(&app, &u.email).await, now, "{}: no second replacement", u.email);
    }
    app.stop().await;
}

async fn a_token_sign_in_replaces_an_imported_hash_too(backend: Backend) {
    let Some(users) = made_by_the_libraries().await else { return };
    let scrypt = users.iter().find(|u| u.email.starts_with("werkzeug-scrypt")).unwrap();
    let app = TestApp::spawn(backend).await;
    let file = format!("email,password_hash\n{},{}\n", scrypt.email, scrypt.hash);
    assert_eq!(import(&app.db.url, "users.csv", &file, &[]).await.code, 0);
    let res = app
        .post_json(&client(), "/api/v1/tokens", &json!({"email": scrypt.email, "password": scrypt.password}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(stored_hash(&app, &scrypt.email).await.starts_with("$argon2id$"));
    app.stop().await;
}

backend_tests!(
    each_format_signs_in_with_the_right_password_only_and_becomes_argon2id,
    a_token_sign_in_replaces_an_imported_hash_too,
);
