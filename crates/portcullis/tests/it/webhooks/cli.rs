//! `portcullis webhook create / list / test / delete`, with the ids they print.

use serde_json::Value;

use super::receiver::{Receiver, python};
use crate::helpers::{Backend, TestDb, backend_tests, portcullis_command};

async fn webhook(db: &TestDb, args: &[&str]) -> std::process::Output {
    let mut all = vec!["webhook"];
    all.extend_from_slice(args);
    let (mut cmd, _dir) = portcullis_command(&db.url, &all);
    cmd.env("PORTCULLIS_WEBHOOKS__ALLOW_HTTP_HOSTS", "127.0.0.1").output().await.unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

async fn the_cli_creates_lists_tests_and_deletes_an_endpoint_by_the_id_it_prints(backend: Backend) {
    let Some(python) = python() else { return };
    let db = TestDb::create(backend).await;
    let mut rx = Receiver::start(&python, 0).await;
    let url = rx.url("/cli");
    let created =
        stdout(&webhook(&db, &["create", "--url", &url, "--events", "user.created,user.deleted"]).await);
    let field = |name: &str| {
        created
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {created}"))
            .to_owned()
    };
    let (id, secret) = (field("id: "), field("secret: "));
    assert!(id.starts_with("wh_") && secret.starts_with("whsec_"), "{created}");
    rx.set_secret("/cli", &secret).await;

    let listed: Value = serde_json::from_str(&stdout(&webhook(&db, &["list", "--json"]).await)).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["events"], serde_json::json!(["user.created", "user.deleted"]));
    assert!(listed[0].get("secret").is_none(), "the secret is shown once");

    let tested: Value = serde_json::from_str(&stdout(&webhook(&db, &["test", &id, "--json"]).await)).unwrap();
    assert_eq!((tested["ok"].clone(), tested["status"].clone()), (Value::Bool(true), Value::from(204)));
    let got = rx.verified_at("/cli");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload["type"], "webhook.test");

    assert_eq!(stdout(&webhook(&db, &["delete", &id]).await).trim(), format!("deleted webhook {id}"));
    assert_eq!(stdout(&webhook(&db, &["list", "--json"]).await).trim(), "[]");
    let again = webhook(&db, &["delete", &id]).await;
    assert_eq!(again.status.code(), Some(1));
    rx.stop().await;
}

async fn the_cli_refuses_a_private_address_an_unknown_type_and_no_event_choice(backend: Backend) {
    let db = TestDb::create(backend).await;
    let private = webhook(&db, &["create", "--url", "https://10.0.0.7/hook", "--all"]).await;
    assert_eq!(private.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&private.stderr).contains("private"), "{private:?}");
    let unknown = webhook(&db, &["create", "--url", "https://example.com/", "--events", "user.nope"]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("user.nope"));
    let neither = webhook(&db, &["create", "--url", "https://example.com/"]).await;
    assert_eq!(neither.status.code(), Some(2));
}

async fn creating_and_deleting_an_endpoint_are_in_the_security_log_with_the_cli_as_actor(backend: Backend) {
    let db = TestDb::create(backend).await;
    let created =
        stdout(&webhook(&db, &["create", "--url", "http://127.0.0.1:9/hook", "--all", "--json"]).await);
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"].as_str().unwrap().to_owned();
    stdout(&webhook(&db, &["delete", &id]).await);
    // Deleting it again is refused: not a second event.
    assert_eq!(webhook(&db, &["delete", &id]).await.status.code(), Some(1));

    let (mut cmd, _dir) = portcullis_command(&db.url, &["events", "--json"]);
    let events: Value = serde_json::from_str(&stdout(&cmd.output().await.unwrap())).unwrap();
    let seen: Vec<(&str, &str, &str, bool)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("webhook_"))
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default();
            (field("type"), field("actor_id"), field("detail"), e["user_id"].is_null())
        })
        .collect();
    let detail = format!("webhook={id}");
    assert_eq!(
        seen,
        [
            ("webhook_deleted", "cli", detail.as_str(), true),
            ("webhook_created", "cli", detail.as_str(), true)
        ],
        "newest first, each once: {events}"
    );
}

backend_tests!(
    creating_and_deleting_an_endpoint_are_in_the_security_log_with_the_cli_as_actor,
    the_cli_creates_lists_tests_and_deletes_an_endpoint_by_the_id_it_prints,
    the_cli_refuses_a_private_address_an_unknown_type_and_no_event_choice,
);
