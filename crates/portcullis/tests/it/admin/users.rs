//! `/api/v1/admin/users`: paging, search, one user, and each change an
//! administrator makes, with its answers and its trace in the user's own log.

use std::time::Duration;

use portcullis::config::{Dur, MailTransport};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{admin, id_of, ok_json, problem, send};
use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};
use crate::smtp_sink::Received;

backend_tests!(
    users_are_listed_newest_first_in_pages_with_no_gap_and_no_repeat,
    limits_and_cursors_that_are_not_ours_are_refused,
    the_search_is_a_case_insensitive_literal_email_prefix,
    a_user_is_shown_changed_and_deleted_by_id_and_each_change_is_in_their_log,
    signing_a_user_out_ends_their_sessions_and_tokens_at_once,
    resetting_mfa_removes_totp_and_recovery_codes_but_keeps_passkeys,
    a_password_reset_mails_a_link,
    group_membership_is_changed_by_id,
    the_last_enabled_administrator_cannot_be_disabled_deleted_or_removed,
);

/// The `email`s of a listing.
fn emails(list: &Value) -> Vec<String> {
    list["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
}

/// Every page of `query` (`limit` per page), following `next`.
async fn every_page(app: &TestApp, c: &reqwest::Client, query: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut url = format!("/api/v1/admin/users?{query}");
    loop {
        let page = ok_json(app.get(c, &url).await).await;
        pages.push(emails(&page));
        match page["next"].as_str() {
            Some(next) => url = format!("/api/v1/admin/users?{query}&after={next}"),
            None => break,
        }
        assert!(pages.len() < 20, "paging ends");
    }
    pages
}

async fn users_are_listed_newest_first_in_pages_with_no_gap_and_no_repeat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    for i in 1..=6 {
        app.clock.advance(time::Duration::seconds(1));
        app.register(&format!("u{i}@example.com")).await;
    }
    let pages = every_page(&app, &root, "limit=3").await;
    let expected = ["u6", "u5", "u4", "u3", "u2", "u1", "root"].map(|u| format!("{u}@example.com"));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages.concat(), expected, "seven users, newest first, each once");
    let first = ok_json(app.get(&root, "/api/v1/admin/users").await).await;
    assert_eq!(emails(&first), expected, "the default limit (50) holds them all");
    assert_eq!(first["next"], Value::Null, "one page: no next");
    let exact = ok_json(app.get(&root, "/api/v1/admin/users?limit=7").await).await;
    assert_eq!(exact["next"], Value::Null, "a last page that is full has no next either");

    let u = &first["users"][0];
    for field in ["id", "email", "email_verified", "mfa_enabled", "created_at", "groups", "disabled"] {
        assert!(u.get(field).is_some(), "{field} in {u}");
    }
    for field in ["last_sign_in_at", "sessions", "passkeys", "invited", "external_id"] {
        assert!(u.get(field).is_some(), "{field} in {u}");
    }
    assert_eq!(u.as_object().unwrap().len(), 12, "nothing else (no hash, no secret): {u}");
    let me = first["users"][6].clone();
    assert_eq!((me["sessions"].as_u64(), me["groups"].clone()), (Some(1), json!(["admin"])));
    assert!(me["last_sign_in_at"].is_string(), "signing in is recorded: {me}");
}

async fn limits_and_cursors_that_are_not_ours_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    for bad in ["limit=0", "limit=201", "limit=x", "limit=-1", "after=nope", "after=", "limit=1&limit=2"] {
        let res = app.get(&root, &format!("/api/v1/admin/users?{bad}")).await;
        problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let res = app.get(&root, &format!("/api/v1/admin/events?{bad}")).await;
        problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    for ok in ["limit=1", "limit=200"] {
        ok_json(app.get(&root, &format!("/api/v1/admin/users?{ok}")).await).await;
    }
    // A cursor of the other listing is not one of this one's.
    app.register("ada@example.com").await;
    let events = ok_json(app.get(&root, "/api/v1/admin/events?limit=1").await).await;
    let next = events["next"].as_str().expect("more events than one");
    let res = app.get(&root, &format!("/api/v1/admin/users?after={next}")).await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

async fn the_search_is_a_case_insensitive_literal_email_prefix(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    for e in ["Ada@example.com", "ab@example.com", "a_b@example.com", "bob@example.com"] {
        app.clock.advance(time::Duration::seconds(1));
        app.register(e).await;
    }
    let found =
        async |q: &str| -> Vec<String> { every_page(&app, &root, &format!("limit=2&q={q}")).await.concat() };
    assert_eq!(found("A").await, ["a_b@example.com", "ab@example.com", "Ada@example.com"]);
    assert_eq!(found("a_").await, ["a_b@example.com"], "`_` is a plain character");
    assert_eq!(found("a%25").await, Vec::<String>::new(), "and so is `%`");
    assert_eq!(found("ADA%40EXAMPLE").await, ["Ada@example.com"]);
    assert_eq!(found("zed").await, Vec::<String>::new());
    assert_eq!(found("").await.len(), 5, "an empty search is everyone");
}

async fn a_user_is_shown_changed_and_deleted_by_id_and_each_change_is_in_their_log(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let root_id = id_of(&app, "root@example.com").await;
    let ada = app.signed_in("ada@example.com").await;
    let id = id_of(&app, "ada@example.com").await;
    let at = format!("/api/v1/admin/users/{id}");

    let shown = ok_json(app.get(&root, &at).await).await;
    assert_eq!((shown["email"].clone(), shown["disabled"].clone()), (json!("ada@example.com"), json!(false)));
    assert_eq!((shown["sessions"].clone(), shown["invited"].clone()), (json!(1), json!(false)));
    for missing in
        [format!("/api/v1/admin/users/{}", uuid::Uuid::new_v4()), "/api/v1/admin/users/nope".into()]
    {
        problem(app.get(&root, &missing).await, StatusCode::NOT_FOUND, "not_found").await;
        let res = send(&app, &root, Method::PATCH, &missing, Some(json!({"disabled": true}))).await;
        problem(res, StatusCode::NOT_FOUND, "not_found").await;
        problem(send(&app, &root, Method::DELETE, &missing, None).await, StatusCode::NOT_FOUND, "not_found")
            .await;
    }
    let res = send(&app, &root, Method::PATCH, &at, Some(json!({"disabled": "yes"}))).await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    let verified =
        ok_json(send(&app, &root, Method::PATCH, &at, Some(json!({"email_verified": true}))).await).await;
    assert_eq!(verified["email_verified"], true);
    let own: Vec<Value> = ok_json(app.get(&ada, "/api/v1/me/events").await).await.as_array().unwrap().clone();
    assert!(
        own.iter().any(|e| e["type"] == "email_verified" && e["detail"] == "by_admin"),
        "the change is in the user's own log: {own:?}"
    );

    let disabled =
        ok_json(send(&app, &root, Method::PATCH, &at, Some(json!({"disabled": true}))).await).await;
    assert_eq!((disabled["disabled"].clone(), disabled["sessions"].clone()), (json!(true), json!(0)));
    assert_eq!(app.get(&ada, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "her session ended");
    let login = json!({"email": "ada@example.com", "password": PASSWORD});
    assert_eq!(app.post_json(&client(), "/api/v1/login", &login).await.status(), StatusCode::FORBIDDEN);
    let enabled =
        ok_json(send(&app, &root, Method::PATCH, &at, Some(json!({"disabled": false}))).await).await;
    assert_eq!(enabled["disabled"], false);
    let unchanged = ok_json(send(&app, &root, Method::PATCH, &at, Some(json!({}))).await).await;
    assert_eq!(unchanged, enabled, "an empty change changes nothing");

    let log = ok_json(app.get(&root, &format!("/api/v1/admin/events?user={id}")).await).await;
    let by_root: Vec<&Value> =
        log["events"].as_array().unwrap().iter().filter(|e| e["actor_id"] == root_id.as_str()).collect();
    let kinds: Vec<&str> = by_root.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["user_enabled", "user_disabled", "email_verified"],
        "newest first, by the administrator"
    );
    assert!(by_root.iter().all(|e| e["user_id"] == id.as_str() && e["detail"] == "by_admin"));

    assert_eq!(send(&app, &root, Method::DELETE, &at, None).await.status(), StatusCode::NO_CONTENT);
    problem(app.get(&root, &at).await, StatusCode::NOT_FOUND, "not_found").await;
    problem(send(&app, &root, Method::DELETE, &at, None).await, StatusCode::NOT_FOUND, "not_found").await;
    let deleted = ok_json(app.get(&root, "/api/v1/admin/events?kind=account_deleted").await).await;
    let e = &deleted["events"][0];
    assert_eq!((e["actor_id"].as_str(), e["detail"].as_str()), (Some(root_id.as_str()), Some("by_admin")));
    assert_eq!(e["user_id"], Value::Null, "the trail keeps no trace of who was deleted");
}

async fn signing_a_user_out_ends_their_sessions_and_tokens_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let ada = app.signed_in("ada@example.com").await;
    let login = json!({"email": "ada@example.com", "password": PASSWORD});
    let pair = ok_json(app.post_json(&client(), "/api/v1/tokens", &login).await).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let me_by_token = async || client().get(app.url("/api/v1/me")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(me_by_token().await.status(), StatusCode::OK);
    let id = id_of(&app, "ada@example.com").await;

    let res = send(&app, &root, Method::POST, &format!("/api/v1/admin/users/{id}/sign-out"), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&ada, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "the session ended");
    assert_eq!(me_by_token().await.status(), StatusCode::UNAUTHORIZED, "the unexpired access token died too");
    let refresh = json!({"refresh_token": pair["refresh_token"]});
    let res = app.post_json(&client(), "/api/v1/tokens/refresh", &refresh).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "and its refresh token");
    assert_eq!(ok_json(app.get(&root, &format!("/api/v1/admin/users/{id}")).await).await["sessions"], 0);
    let nobody = format!("/api/v1/admin/users/{}/sign-out", uuid::Uuid::new_v4());
    problem(send(&app, &root, Method::POST, &nobody, None).await, StatusCode::NOT_FOUND, "not_found").await;
    let events =
        ok_json(app.get(&root, &format!("/api/v1/admin/events?user={id}&kind=signed_out_everywhere")).await)
            .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
}

async fn resetting_mfa_removes_totp_and_recovery_codes_but_keeps_passkeys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, recovery) = crate::mfa::enrolled(&app, "ada@example.com").await;
    crate::passkeys::stored_passkey(&app, "ada@example.com", "Laptop", 0).await;
    let root = admin(&app, "root@example.com").await;
    let id = id_of(&app, "ada@example.com").await;
    let at = format!("/api/v1/admin/users/{id}");
    let before = ok_json(app.get(&root, &at).await).await;
    assert_eq!((before["mfa_enabled"].clone(), before["passkeys"].clone()), (json!(true), json!(1)));

    let res = send(&app, &root, Method::DELETE, &format!("{at}/mfa"), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let after = ok_json(app.get(&root, &at).await).await;
    assert_eq!((after["mfa_enabled"].clone(), after["passkeys"].clone()), (json!(false), json!(1)));
    // A password alone signs in now; the old recovery codes are gone with the TOTP.
    let login = json!({"email": "ada@example.com", "password": PASSWORD});
    let res = ok_json(app.post_json(&client(), "/api/v1/login", &login).await).await;
    assert_eq!(res["user"]["mfa_enabled"], false, "no second step: {res}");
    let user = app.state.auth().find_user("ada@example.com").await.unwrap();
    assert_eq!(recovery.len(), 10);
    assert_eq!(app.store.recovery_codes_left(user.id).await.unwrap(), 0, "the recovery codes are gone");
    let nobody = format!("/api/v1/admin/users/{}/mfa", uuid::Uuid::new_v4());
    problem(send(&app, &root, Method::DELETE, &nobody, None).await, StatusCode::NOT_FOUND, "not_found").await;
}

async fn a_password_reset_mails_a_link(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let app = TestApp::spawn_with(backend, |c| {
        c.email.transport = MailTransport::File;
        c.email.dir = Some(mail_dir.clone());
        c.email.poll_interval = Dur(Duration::from_millis(100));
    })
    .await;
    let root = admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;
    let id = id_of(&app, "ada@example.com").await;
    let at = format!("/api/v1/admin/users/{id}/password-reset");
    let res = send(&app, &root, Method::POST, &at, None).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.json::<Value>().await.unwrap()["detail"].is_string());

    let resets = || -> Vec<Received> {
        let files = std::fs::read_dir(&mail_dir).map_or(Vec::new(), |d| d.filter_map(Result::ok).collect());
        files
            .into_iter()
            .filter_map(|f| std::fs::read_to_string(f.path()).ok())
            .map(|data| Received { from: String::new(), to: vec![], data })
            .filter(|m| {
                m.subject() == "Reset your password" && m.header("to").as_deref() == Some("ada@example.com")
            })
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while resets().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = resets().pop().expect("a reset mail was written");
    let link = mail.link("/reset-password");
    assert!(
        link.starts_with(&format!("{}/reset-password?token=", app.base)),
        "the mail holds the link: {link}"
    );

    ok_json(
        send(
            &app,
            &root,
            Method::PATCH,
            &format!("/api/v1/admin/users/{id}"),
            Some(json!({"disabled": true})),
        )
        .await,
    )
    .await;
    problem(send(&app, &root, Method::POST, &at, None).await, StatusCode::CONFLICT, "user_disabled").await;
    let nobody = format!("/api/v1/admin/users/{}/password-reset", uuid::Uuid::new_v4());
    problem(send(&app, &root, Method::POST, &nobody, None).await, StatusCode::NOT_FOUND, "not_found").await;
}

async fn group_membership_is_changed_by_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let ada = app.signed_in("ada@example.com").await;
    let id = id_of(&app, "ada@example.com").await;
    let member = format!("/api/v1/admin/users/{id}/groups/ops");
    problem(send(&app, &root, Method::PUT, &member, None).await, StatusCode::NOT_FOUND, "not_found").await;
    ok_json(send(&app, &root, Method::POST, "/api/v1/admin/groups", Some(json!({"name": "ops"}))).await)
        .await;
    for _ in 0..2 {
        assert_eq!(send(&app, &root, Method::PUT, &member, None).await.status(), StatusCode::NO_CONTENT);
    }
    let me = ok_json(app.get(&ada, "/api/v1/me").await).await;
    assert_eq!(me["groups"], json!(["ops"]), "the member sees it at once");
    let bad = format!("/api/v1/admin/users/{id}/groups/Ops");
    problem(
        send(&app, &root, Method::PUT, &bad, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let nobody = format!("/api/v1/admin/users/{}/groups/ops", uuid::Uuid::new_v4());
    problem(send(&app, &root, Method::PUT, &nobody, None).await, StatusCode::NOT_FOUND, "not_found").await;
    for _ in 0..2 {
        assert_eq!(send(&app, &root, Method::DELETE, &member, None).await.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(ok_json(app.get(&ada, "/api/v1/me").await).await["groups"], json!([]));
    let own: Value = ok_json(app.get(&ada, "/api/v1/me/events").await).await;
    let root_id = id_of(&app, "root@example.com").await;
    let detail = format!("group=ops actor={root_id}");
    let changes: Vec<&Value> =
        own.as_array().unwrap().iter().filter(|e| e["detail"] == detail.as_str()).collect();
    assert_eq!(changes.len(), 2, "added once and removed once, by the administrator: {own}");
}

async fn the_last_enabled_administrator_cannot_be_disabled_deleted_or_removed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let id = id_of(&app, "root@example.com").await;
    let at = format!("/api/v1/admin/users/{id}");
    let out_of_admin = format!("{at}/groups/admin");
    let refused = [
        (Method::PATCH, at.clone(), Some(json!({"email_verified": true, "disabled": true}))),
        (Method::DELETE, at.clone(), None),
        (Method::DELETE, out_of_admin.clone(), None),
    ];
    for (method, path, body) in refused.clone() {
        problem(send(&app, &root, method, &path, body).await, StatusCode::CONFLICT, "last_admin").await;
    }
    let me = ok_json(app.get(&root, &at).await).await;
    let state = (me["disabled"].clone(), me["email_verified"].clone(), me["groups"].clone());
    assert_eq!(state, (json!(false), json!(false), json!(["admin"])), "a refused change changes nothing");

    // With a second enabled administrator, the first may go; then the second is the last.
    let bob = admin(&app, "bob@example.com").await;
    let bob_id = id_of(&app, "bob@example.com").await;
    assert_eq!(send(&app, &root, Method::DELETE, &out_of_admin, None).await.status(), StatusCode::NO_CONTENT);
    let bob_at = format!("/api/v1/admin/users/{bob_id}");
    let res = send(&app, &bob, Method::PATCH, &bob_at, Some(json!({"disabled": true}))).await;
    problem(res, StatusCode::CONFLICT, "last_admin").await;
    problem(send(&app, &bob, Method::DELETE, &bob_at, None).await, StatusCode::CONFLICT, "last_admin").await;
}
