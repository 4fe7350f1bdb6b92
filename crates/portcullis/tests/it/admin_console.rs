//! The admin console pages (SPEC §8) over real HTTP, on both backends: who may see
//! them (anonymous → sign in, others → 403), the groups, applications and signing
//! keys pages and their forms, CSRF, and the password asked again once the
//! administrator's sign-in is older than ten minutes.

use reqwest::StatusCode;

use portcullis_core::groups::Actor;

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, location};

backend_tests!(
    the_console_is_for_administrators_only,
    groups_and_members_are_managed_from_the_console,
    applications_are_registered_with_the_secret_shown_once_and_deleted,
    webhooks_are_added_with_the_secret_shown_once_tested_and_deleted,
    signing_keys_are_listed_and_rotated,
    changes_need_a_recent_sign_in_or_the_password,
    users_are_searched_paged_and_managed_from_the_console,
    the_console_invites_and_refuses_to_leave_no_administrator,
    the_security_log_is_filtered_and_paged,
    the_overview_counts_users_sign_ins_failures_and_lockouts,
);

/// A signed-in member of `admin`.
async fn admin(app: &TestApp, email: &str) -> reqwest::Client {
    app.register(email).await;
    app.state.auth().add_to_group("admin", email, Actor::Cli).await.expect("admin");
    app.login(email).await
}

/// The events of `kind` in the security log, newest first.
async fn events_of(app: &TestApp, kind: &str) -> Vec<portcullis_core::audit::Event> {
    let query = portcullis_core::admin::EventQuery::parse(None, Some(kind), None, None).unwrap();
    app.state.auth().admin_events(&query).await.unwrap().items
}

/// The number shown in the overview's `<dd id="overview-NAME">`.
fn shown(html: &str, name: &str) -> u64 {
    let cell =
        html.split(&format!("id=\"overview-{name}\">")).nth(1).unwrap_or_else(|| panic!("{name}: {html}"));
    let text: String = cell.split("</dd>").next().unwrap().chars().filter(char::is_ascii_digit).collect();
    text.parse().unwrap_or_else(|_| panic!("{name}: {cell}"))
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let res = app.get(c, path).await;
    let status = res.status();
    (status, res.text().await.expect("body"))
}

async fn the_console_is_for_administrators_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in
        ["/admin", "/admin/groups", "/admin/clients", "/admin/webhooks", "/admin/keys", "/admin/groups/admin"]
    {
        let res = app.get(&client(), path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}: anonymous browsers sign in first");
        assert!(location(&res).starts_with("/login?next="), "{path}: {}", location(&res));
    }
    let user = app.signed_in("user@example.com").await;
    let (status, html) = page(&app, &user, "/admin/groups").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a signed-in non-administrator gets 403");
    assert!(html.contains("may not see this page"), "a page that says so:\n{html}");
    let res = app.post_form(&user, "/account", "/admin/groups", &[("name", "ops")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "and cannot post to it");
    assert!(app.state.auth().find_group("ops").await.is_err(), "nothing was created");

    let root = admin(&app, "root@example.com").await;
    let (status, html) = page(&app, &root, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"admin-overview\""), "{html}");
    let res = app.get(&root, "/admin").await;
    assert_eq!(res.headers()["cache-control"], "no-store", "authenticated pages are not cached");
    assert!(!res.headers()["content-security-policy"].to_str().unwrap().contains("unsafe-inline"));
    app.stop().await;
}

async fn groups_and_members_are_managed_from_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;

    let res = app
        .post_form(&root, "/admin/groups", "/admin/groups", &[("name", "ops"), ("description", "Ops")])
        .await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/admin/groups".to_owned()));
    let (_, html) = page(&app, &root, "/admin/groups").await;
    assert!(html.contains(">ops</a>") && html.contains("Ops"), "{html}");
    assert_eq!(html.matches("Delete</button>").count(), 1, "ops has a delete button, admin none");

    let again = app.post_form(&root, "/admin/groups", "/admin/groups", &[("name", "ops")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("exists already"));
    let bad = app.post_form(&root, "/admin/groups", "/admin/groups", &[("name", "Not Valid")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let res = app
        .post_form(&root, "/admin/groups/ops", "/admin/groups/ops/add", &[("email", "ada@example.com")])
        .await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/admin/groups/ops".to_owned()));
    let (_, html) = page(&app, &root, "/admin/groups/ops").await;
    assert!(html.contains("ada@example.com"), "the member is listed:\n{html}");
    let ada = app.state.auth().find_user("ada@example.com").await.unwrap();
    assert_eq!(ada.groups, ["ops"]);
    let unknown = app
        .post_form(&root, "/admin/groups/ops", "/admin/groups/ops/add", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().await.unwrap().contains("no account"));

    let res = app
        .post_form(&root, "/admin/groups/ops", "/admin/groups/ops/remove", &[("email", "ada@example.com")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(app.state.auth().find_user("ada@example.com").await.unwrap().groups.is_empty());

    // Without the CSRF token nothing happens.
    let forged =
        root.post(app.url("/admin/groups/ops/delete")).form(&[("password", "")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(app.state.auth().find_group("ops").await.is_ok(), "still there");
    let res = app.post_form(&root, "/admin/groups", "/admin/groups/ops/delete", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(app.state.auth().find_group("ops").await.is_err(), "deleted");
    assert_eq!(app.get(&root, "/admin/groups/ops").await.status(), StatusCode::NOT_FOUND);

    // The member's own security log names the administrator's change.
    let ada = app.login("ada@example.com").await;
    let events: Vec<serde_json::Value> = app.get(&ada, "/api/v1/me/events").await.json().await.unwrap();
    let root_id = app.state.auth().find_user("root@example.com").await.unwrap().id;
    let added = events.iter().find(|e| e["type"] == "group_member_added").expect("audited");
    assert_eq!(added["detail"], format!("group=ops actor={root_id}"), "the administrator is the actor");
    app.stop().await;
}

async fn applications_are_registered_with_the_secret_shown_once_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let fields =
        [("name", "Wiki"), ("redirect_uris", "https://wiki.example.com/cb\r\n"), ("first_party", "on")];
    let res = app.post_form(&root, "/admin/clients", "/admin/clients", &fields).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let secret = html
        .split("id=\"client-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret is on the page")
        .to_owned();
    assert_eq!(secret.len(), 43, "a 256-bit secret");
    let clients = app.state.auth().list_clients().await.unwrap();
    assert_eq!((clients.len(), clients[0].name.as_str(), clients[0].first_party), (1, "Wiki", true));
    let (_, list) = page(&app, &root, "/admin/clients").await;
    assert!(list.contains("Wiki") && list.contains(&clients[0].id), "listed");
    assert!(!list.contains(&secret), "the secret is never shown again");

    let bad = app
        .post_form(
            &root,
            "/admin/clients",
            "/admin/clients",
            &[("name", "X"), ("redirect_uris", "not a uri")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let delete = format!("/admin/clients/{}/delete", clients[0].id);
    let res = app.post_form(&root, "/admin/clients", &delete, &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(app.state.auth().list_clients().await.unwrap().is_empty());
    let res = app.post_form(&root, "/admin/clients", &delete, &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Both changes are in the security log with the administrator as actor.
    let root_id = app.state.auth().find_user("root@example.com").await.unwrap().id.to_string();
    let detail = format!("client={}", clients[0].id);
    for kind in ["client_created", "client_deleted"] {
        let events = events_of(&app, kind).await;
        assert_eq!(events.len(), 1, "{kind}: one event (the refused delete is none)");
        assert_eq!(
            (events[0].actor_id.as_deref(), events[0].detail.as_deref()),
            (Some(root_id.as_str()), Some(detail.as_str())),
            "{kind}"
        );
    }
    app.stop().await;
}

/// A loopback HTTP server that answers every request `204` and counts the signed
/// ones (a `webhook-signature` header).
async fn counting_receiver() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let signed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = signed.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase().contains("webhook-signature: v1,")
                {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
            });
        }
    });
    (port, signed)
}

async fn webhooks_are_added_with_the_secret_shown_once_tested_and_deleted(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, |c| c.webhooks.allow_http_hosts = vec!["127.0.0.1".to_owned()]).await;
    let root = admin(&app, "root@example.com").await;
    let (port, signed) = counting_receiver().await;
    let url = format!("http://127.0.0.1:{port}/hooks");

    let fields = [("url", url.as_str()), ("events", "user.created, user.deleted")];
    let res = app.post_form(&root, "/admin/webhooks", "/admin/webhooks", &fields).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    let secret = html
        .split("id=\"webhook-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret is on the page")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "a Standard Webhooks secret: {secret}");
    let hooks = app.state.auth().list_webhooks().await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (hooks[0].url.as_str(), hooks[0].events.names()),
        (url.as_str(), vec!["user.created", "user.deleted"])
    );
    let (_, list) = page(&app, &root, "/admin/webhooks").await;
    // (The page escapes `/` in the URL.)
    assert!(list.contains(&hooks[0].id) && list.contains(&format!("127.0.0.1:{port}")), "listed:\n{list}");
    assert!(!list.contains(&secret), "the secret is never shown again");

    // The same rules as the CLI: an unknown type, a private address, plain http
    // to a host not listed.
    for (bad_url, events, why) in [
        (url.as_str(), "user.nope", "unknown event type"),
        ("https://10.0.0.1/hooks", "user.created", "private"),
        ("http://example.com/hooks", "user.created", "https"),
    ] {
        let res = app
            .post_form(&root, "/admin/webhooks", "/admin/webhooks", &[("url", bad_url), ("events", events)])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad_url} {events}");
        let html = res.text().await.unwrap();
        assert!(html.contains(why), "{why}: {html}");
    }
    assert_eq!(app.state.auth().list_webhooks().await.unwrap().len(), 1, "nothing else was added");

    // A signed test event reaches the receiver.
    let test = format!("/admin/webhooks/{}/test", hooks[0].id);
    let res = app.post_form(&root, "/admin/webhooks", &test, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("answered the test event with 204"));
    assert_eq!(signed.load(std::sync::atomic::Ordering::SeqCst), 1, "one signed request arrived");

    let delete = format!("/admin/webhooks/{}/delete", hooks[0].id);
    let res = app.post_form(&root, "/admin/webhooks", &delete, &[]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/admin/webhooks".to_owned()));
    assert!(app.state.auth().list_webhooks().await.unwrap().is_empty());
    let res = app.post_form(&root, "/admin/webhooks", &delete, &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Both changes are in the security log with the administrator as actor.
    let root_id = app.state.auth().find_user("root@example.com").await.unwrap().id.to_string();
    let detail = format!("webhook={}", hooks[0].id);
    for kind in ["webhook_created", "webhook_deleted"] {
        let events = events_of(&app, kind).await;
        assert_eq!(events.len(), 1, "{kind}: one event");
        assert_eq!(
            (events[0].actor_id.as_deref(), events[0].detail.as_deref()),
            (Some(root_id.as_str()), Some(detail.as_str())),
            "{kind}"
        );
    }
    // Non-administrators get 403.
    let user = app.signed_in("user@example.com").await;
    assert_eq!(page(&app, &user, "/admin/webhooks").await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn signing_keys_are_listed_and_rotated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let before = app.state.auth().keys().list().await.unwrap();
    let (_, html) = page(&app, &root, "/admin/keys").await;
    assert!(html.contains(&before[0].kid), "the key is listed");
    let res = app.post_form(&root, "/admin/keys", "/admin/keys/rotate", &[]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/admin/keys".to_owned()));
    let after = app.state.auth().keys().list().await.unwrap();
    assert_eq!(after.len(), before.len() + 1, "a new key");
    let rotated = events_of(&app, "signing_key_rotated").await;
    let root_id = app.state.auth().find_user("root@example.com").await.unwrap().id.to_string();
    let newest = after.iter().find(|k| before.iter().all(|b| b.kid != k.kid)).unwrap();
    assert_eq!(rotated.len(), 1, "audited");
    assert_eq!(rotated[0].actor_id.as_deref(), Some(root_id.as_str()), "with the administrator as actor");
    assert_eq!(rotated[0].detail, Some(format!("kid={}", newest.kid)));
    let (_, html) = page(&app, &root, "/admin/keys").await;
    assert!(after.iter().all(|k| html.contains(&k.kid)), "every key listed");
    assert!(!html.contains("sealed") && !html.contains("private"), "no key material");
    app.stop().await;
}

async fn changes_need_a_recent_sign_in_or_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let (_, html) = page(&app, &root, "/admin/groups").await;
    assert!(!html.contains("name=\"password\""), "a fresh sign-in: no password asked");
    app.clock.advance(time::Duration::minutes(11));
    let (_, html) = page(&app, &root, "/admin/groups").await;
    assert!(html.contains("name=\"password\""), "eleven minutes later every form asks for it");

    let res = app.post_form(&root, "/admin/groups", "/admin/groups", &[("name", "ops")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no password: refused");
    assert!(res.text().await.unwrap().contains("Confirm with your password"));
    let res = app
        .post_form(
            &root,
            "/admin/groups",
            "/admin/groups",
            &[("name", "ops"), ("password", "wrong-horse-battery-9")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a wrong password: refused");
    assert!(app.state.auth().find_group("ops").await.is_err(), "nothing was created");
    let res = app
        .post_form(&root, "/admin/groups", "/admin/groups", &[("name", "ops"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the right password: done");
    assert!(app.state.auth().find_group("ops").await.is_ok());
    app.stop().await;
}

async fn users_are_searched_paged_and_managed_from_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    for i in 0..5 {
        app.register(&format!("ada{i}@example.com")).await;
        app.clock.advance(time::Duration::seconds(1));
    }
    app.register("bob@example.com").await;

    // A case-insensitive prefix search.
    let (status, html) = page(&app, &root, "/admin/users?q=ADA").await;
    assert_eq!(status, StatusCode::OK);
    assert!((0..5).all(|i| html.contains(&format!("ada{i}@example.com"))), "every ada: {html}");
    assert!(!html.contains("bob@example.com"), "only the prefix");
    let (_, literal) = page(&app, &root, "/admin/users?q=ada_").await;
    assert!(literal.contains("id=\"no-users\""), "`_` is literal, not a wildcard");

    // Paging: 7 users, 50 a page by default, so one page; a bad cursor is refused.
    let (_, html) = page(&app, &root, "/admin/users").await;
    assert!(!html.contains("id=\"next-page\""), "one page");
    let (status, _) = page(&app, &root, "/admin/users?after=not-a-cursor").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The user's page and its actions.
    let ada = app.state.auth().find_user("ada0@example.com").await.unwrap();
    let url = format!("/admin/users/{}", ada.id);
    let (status, html) = page(&app, &root, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ada0@example.com") && html.contains("id=\"user-actions\""), "{html}");
    let ada_client = app.login("ada0@example.com").await;
    let res = app.post_form(&root, &url, &format!("{url}/disable"), &[]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, url.clone()));
    assert!(app.state.auth().find_user("ada0@example.com").await.unwrap().disabled, "disabled");
    assert_eq!(
        app.get(&ada_client, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "their session ended"
    );
    app.post_form(&root, &url, &format!("{url}/enable"), &[]).await;
    assert!(!app.state.auth().find_user("ada0@example.com").await.unwrap().disabled, "enabled again");
    app.state.auth().create_group("ops", "", Actor::Cli).await.unwrap();
    let res = app.post_form(&root, &url, &format!("{url}/add-group"), &[("group", "ops")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.state.auth().find_user("ada0@example.com").await.unwrap().groups, ["ops"]);
    let res = app.post_form(&root, &url, &format!("{url}/delete"), &[]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/admin/users".to_owned()));
    assert!(app.state.auth().find_user("ada0@example.com").await.is_err(), "deleted");
    assert_eq!(app.get(&root, &url).await.status(), StatusCode::NOT_FOUND);
    let res = app.post_form(&root, "/admin/users", &format!("{url}/no-such-action"), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn the_console_invites_and_refuses_to_leave_no_administrator(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let me = app.state.auth().find_user("root@example.com").await.unwrap();
    let url = format!("/admin/users/{}", me.id);
    for action in ["disable", "delete"] {
        let res = app.post_form(&root, &url, &format!("{url}/{action}"), &[]).await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{action}: the last administrator");
        assert!(res.text().await.unwrap().contains("no enabled administrator"), "{action}: says why");
    }
    let res = app.post_form(&root, &url, &format!("{url}/remove-group"), &[("group", "admin")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "nor removed from admin");
    assert!(app.state.auth().find_user("root@example.com").await.unwrap().is_admin());

    let res = app
        .post_form(
            &root,
            "/admin/users",
            "/admin/users/invite",
            &[("email", "new@example.com"), ("groups", "admin")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "invited");
    let invited = app.state.auth().find_user("new@example.com").await.unwrap();
    assert!(invited.invited && invited.is_admin(), "invited, in admin: {invited:?}");
    let (_, html) = page(&app, &root, "/admin/users").await;
    assert!(html.contains("invited"), "the list shows the invited user as such");
    let res =
        app.post_form(&root, "/admin/users", "/admin/users/invite", &[("email", "new@example.com")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "a taken address");
    let res = app
        .post_form(
            &root,
            "/admin/users",
            "/admin/users/invite",
            &[("email", "x@example.com"), ("groups", "nope")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unknown group");
    assert!(app.state.auth().find_user("x@example.com").await.is_err(), "nothing made");
    app.stop().await;
}

async fn the_security_log_is_filtered_and_paged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;
    let bad = serde_json::json!({"email": "ada@example.com", "password": "not-the-password-1"});
    for _ in 0..3 {
        app.post_json(&client(), "/api/v1/login", &bad).await;
    }
    let (status, html) = page(&app, &root, "/admin/events?kind=login_failed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<td>login_failed</td>").count(), 3, "only the failed sign-ins:\n{html}");
    assert!(!html.contains("<td>register</td>"), "filtered by kind");
    let ada = app.state.auth().find_user("ada@example.com").await.unwrap();
    let (_, html) = page(&app, &root, &format!("/admin/events?user={}", ada.id)).await;
    assert!(html.contains("<td>register</td>") && html.contains("<td>login_failed</td>"), "ada's events");
    assert!(!html.contains("<td>group_member_added</td>"), "not root's");
    let (status, _) = page(&app, &root, "/admin/events?kind=no_such_kind").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = page(&app, &root, "/admin/events?after=garbage").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

async fn the_overview_counts_users_sign_ins_failures_and_lockouts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    let (status, html) = page(&app, &root, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    let before =
        ["users", "sessions", "sign-ins", "failures", "throttled", "locked"].map(|n| shown(&html, n));
    assert_eq!(before, [1, 1, 1, 0, 0, 0], "one administrator, signed in once: {html}");

    // Bob signs in once, then gets his password wrong until his account locks.
    app.register("bob@example.com").await;
    let _bob = app.login("bob@example.com").await;
    let wrong = serde_json::json!({"email": "bob@example.com", "password": "not the password"});
    let mut failures = 0;
    loop {
        let res = app.post_json(&client(), "/api/v1/login", &wrong).await;
        match res.status() {
            StatusCode::UNAUTHORIZED => failures += 1,
            StatusCode::TOO_MANY_REQUESTS => break,
            other => panic!("unexpected {other}"),
        }
        assert!(failures <= 10, "the account locks within its limit");
    }
    let (_, html) = page(&app, &root, "/admin").await;
    let after = ["users", "sessions", "sign-ins", "failures", "throttled", "locked"].map(|n| shown(&html, n));
    assert_eq!(after, [2, 2, 2, failures, 1, 1], "{html}");
    assert!(html.contains("href=\"/admin/events?kind=login_failed\""), "the failures link to the log");
    app.stop().await;
}
