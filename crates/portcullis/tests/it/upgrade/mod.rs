//! Upgrades keep what old versions wrote. The test builds a database the way the
//! binaries of the past did: it applies the migrations one at a time (each in its
//! transaction, recorded in `portcullis_migrations`, as the store has done since
//! the first version), and right after the migration that created a table it fills
//! that table with the SQL the store of that version ran (users, sessions and a
//! node secret after 0001; an emailed token and a queued mail after 0005; a
//! refresh-token family after 0006; a passkey after 0007). Then today's
//! `portcullis migrate` applies everything newer, and a real `portcullis serve`
//! (with `auto_migrate` off, so `migrate` must have done it all) shows every piece
//! still works: the old session is signed in, the old password signs in, the old
//! refresh token refreshes, the old passkey signs in, the old reset link resets,
//! and the old mail is delivered; an administrator of old (the `is_admin` flag,
//! dropped by 0009) is a member of the group `admin`. On SQLite and PostgreSQL.
//!
//! A migration that creates a table holding what users or operators wrote adds
//! its fill (at its version, with the store's SQL of that day) and its check here.

mod authenticator;
mod old;

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use self::old::{MAIL_SUBJECT, OldData, OldDb, email, migration_files};
use crate::helpers::{Backend, Node, PASSWORD, TestDb, backend_tests, client, run_portcullis};

backend_tests!(what_every_old_schema_stored_still_works_after_todays_migrate);

/// The newest migration whose tables the test fills; later ones are applied by
/// today's `portcullis migrate`.
const LAST_FILLED: i64 = 7;

/// A password that passes the policy and differs from `PASSWORD`.
const NEW_PASSWORD: &str = "quartz-heron-lantern-73";

async fn what_every_old_schema_stored_still_works_after_todays_migrate(backend: Backend) {
    let db = TestDb::create(backend).await;
    let files = migration_files(backend);
    assert!(files.iter().any(|m| m.version == LAST_FILLED), "migration {LAST_FILLED} exists");
    let old = OldData::new();
    let mut conn = OldDb::open(backend, &db.url).await;
    for m in files.iter().take_while(|m| m.version <= LAST_FILLED) {
        conn.apply(m).await;
        old.fill(m.version, &mut conn).await;
    }
    conn.close().await;

    let out = run_portcullis(&db.url, &["migrate"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "today's portcullis migrate succeeds:\n{stderr}");
    let mut conn = OldDb::open(backend, &db.url).await;
    let all: Vec<i64> = files.iter().map(|m| m.version).collect();
    assert_eq!(conn.recorded_versions().await, all, "every later migration was applied");
    conn.close().await;

    let mail = tempfile::tempdir().expect("temp dir");
    let (node, origin) = serve_on_localhost(&db.url, mail.path()).await;
    the_old_session_is_still_signed_in(&node, &old).await;
    the_old_refresh_token_refreshes(&node, &old).await;
    the_old_passkey_signs_in(&node, &old, &origin).await;
    the_old_password_signs_in(&node).await;
    the_old_reset_link_sets_a_new_password(&node, &old).await;
    the_old_mail_is_delivered(mail.path()).await;
}

/// `portcullis serve` with `auto_migrate` off (so `migrate` must have done it all),
/// mail written to `mail_dir`, reachable as `http://localhost:PORT` (WebAuthn needs
/// a host name): returns it and that origin.
async fn serve_on_localhost(db_url: &str, mail_dir: &Path) -> (Node, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port")
        .port();
    let (bind, origin) = (format!("127.0.0.1:{port}"), format!("http://localhost:{port}"));
    let mail_dir = mail_dir.to_str().expect("a UTF-8 path");
    let env = [
        ("PORTCULLIS_SERVER__BIND", bind.as_str()),
        ("PORTCULLIS_SERVER__PUBLIC_URL", origin.as_str()),
        ("PORTCULLIS_DATABASE__AUTO_MIGRATE", "false"),
        ("PORTCULLIS_EMAIL__TRANSPORT", "file"),
        ("PORTCULLIS_EMAIL__DIR", mail_dir),
    ];
    (Node::start(db_url, &env).await, origin)
}

async fn me(req: reqwest::RequestBuilder) -> Value {
    let res = req.send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "GET /api/v1/me");
    res.json().await.expect("json")
}

async fn the_old_session_is_still_signed_in(node: &Node, old: &OldData) {
    let cookie = format!("portcullis_session={}", old.session);
    let me = me(client().get(node.url("/api/v1/me")).header("cookie", cookie)).await;
    assert_eq!(me["email"], email("alice"), "the session of an old version is Alice's");
    assert_eq!(me["groups"], json!(["admin"]), "the is_admin flag of an old version became the group admin");
}

async fn the_old_password_signs_in(node: &Node) {
    let body = json!({"email": email("bob"), "password": PASSWORD});
    let res = client().post(node.url("/api/v1/login")).json(&body).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::OK, "a password hashed by an old version signs in");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["user"]["groups"], json!([]), "a user who was no administrator is in no group");
}

async fn the_old_refresh_token_refreshes(node: &Node, old: &OldData) {
    let body = json!({"refresh_token": old.refresh});
    let res = client().post(node.url("/api/v1/tokens/refresh")).json(&body).send().await.expect("refresh");
    assert_eq!(res.status(), StatusCode::OK, "a refresh token of an old version refreshes");
    let pair: Value = res.json().await.expect("json");
    let access = pair["access_token"].as_str().expect("an access token");
    let me = me(client().get(node.url("/api/v1/me")).bearer_auth(access)).await;
    assert_eq!(me["email"], email("alice"));
}

async fn the_old_passkey_signs_in(node: &Node, old: &OldData, origin: &str) {
    let c = client();
    let res = c.post(node.url("/api/v1/login/passkey/start")).json(&json!({})).send().await.expect("start");
    assert_eq!(res.status(), StatusCode::OK);
    let options: Value = res.json().await.expect("json");
    let credential = old.passkey.assertion(&options, origin, old.alice.as_bytes(), 1);
    let body = json!({"credential": credential});
    let res = c.post(node.url("/api/v1/login/passkey/finish")).json(&body).send().await.expect("finish");
    assert_eq!(res.status(), StatusCode::OK, "a passkey stored by an old version signs in");
    assert_eq!(me(c.get(node.url("/api/v1/me"))).await["email"], email("alice"));
}

async fn the_old_reset_link_sets_a_new_password(node: &Node, old: &OldData) {
    let body = json!({"token": old.reset, "password": NEW_PASSWORD});
    let res = client().post(node.url("/api/v1/password/reset")).json(&body).send().await.expect("reset");
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "a reset link mailed by an old version works");
    let body = json!({"email": email("bob"), "password": NEW_PASSWORD});
    let res = client().post(node.url("/api/v1/login")).json(&body).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::OK, "Bob signs in with the new password");
}

/// The worker delivers due mail as it starts; allow it ten seconds.
async fn the_old_mail_is_delivered(mail_dir: &Path) {
    for _ in 0..100 {
        let delivered = std::fs::read_dir(mail_dir).into_iter().flatten().flatten().any(|entry| {
            let path = entry.path();
            path.extension().is_some_and(|e| e == "eml")
                && std::fs::read_to_string(&path).is_ok_and(|text| text.contains(MAIL_SUBJECT))
        });
        if delivered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the mail queued by an old version was not delivered within 10 s");
}
