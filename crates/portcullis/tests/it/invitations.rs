//! Invitations (SPEC §8, §1 `portcullis user invite`): the command makes an
//! unverified account with no password in its groups and mails a link; the link's
//! page sets the first password (policy of §5), verifies the address and signs in,
//! once, for 7 days. Until then no password signs in, and "forgot password" sends
//! the invitation again, killing the older link. Mail goes to a real SMTP sink and
//! every link is read out of the mail that carried it. On SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::email::with_sink;
use crate::helpers::{
    Backend, PASSWORD, TestApp, backend_tests, client, cookie_value, csrf_from, location, portcullis_command,
    run_portcullis,
};
use crate::smtp_sink::SmtpSink;

backend_tests!(
    user_invite_makes_an_unverified_invited_account_in_its_groups_and_mails_the_link,
    user_invite_with_an_unknown_group_is_a_usage_error_and_makes_nothing,
    user_invite_of_a_taken_address_fails_with_exit_1,
    the_accept_page_asks_for_the_password_and_refuses_a_weak_or_mismatched_one_with_422,
    accepting_sets_the_password_verifies_the_address_and_signs_in,
    an_invitation_link_works_once,
    an_invitation_link_expires_after_seven_days,
    an_invited_user_cannot_sign_in_with_any_password,
    forgot_password_for_an_invited_address_mails_a_new_invitation_and_the_old_link_dies,
    accepting_without_a_csrf_token_is_refused_with_403,
);

const SUBJECT: &str = "You are invited: choose your password";

/// What a finished command printed, and how it ended.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `portcullis ARGS` on the app's database, with links built on the app's address.
async fn portcullis(app: &TestApp, args: &[&str]) -> Out {
    let (mut cmd, _dir) = portcullis_command(&app.db.url, args);
    cmd.env("PORTCULLIS_SERVER__PUBLIC_URL", &app.base);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the command finishes within a minute")
        .expect("the portcullis binary runs");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `user show EMAIL --json`.
async fn show(app: &TestApp, email: &str) -> Value {
    let out = run_portcullis(&app.db.url, &["user", "show", email, "--json"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Invites `email` (the core use case, as the CLI and the admin API call it) and
/// returns the link of the mail.
async fn invite(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    let actor = portcullis_core::groups::Actor::Cli;
    app.state.auth().invite_user(email, &[], actor).await.expect("invited");
    sink.link(email, SUBJECT, "/accept-invitation").await
}

/// The path and query of an absolute link.
fn path_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest[rest.find('/').expect("a path")..].to_owned()
}

/// POSTs the accept form of `link` with `fields`, the CSRF token taken from the page.
async fn accept(
    app: &TestApp,
    c: &reqwest::Client,
    link: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.post_form(c, &path_of(link), &path_of(link), fields).await
}

/// POSTs the accept form of a link whose page is no form any more (used, expired,
/// replaced): the CSRF token comes from the sign-in page of the same browser.
async fn accept_dead(app: &TestApp, c: &reqwest::Client, link: &str) -> reqwest::Response {
    let csrf = app.csrf_token(c, "/login").await;
    let fields = [("password", PASSWORD), ("password_confirm", PASSWORD), ("csrf_token", csrf.as_str())];
    c.post(link).form(&fields).send().await.expect("request")
}

async fn login_problem(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let res = app.post_json(&client(), "/api/v1/login", &json!({"email": email, "password": password})).await;
    (res.status(), res.json().await.unwrap())
}

async fn user_invite_makes_an_unverified_invited_account_in_its_groups_and_mails_the_link(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    for g in ["ops", "dev"] {
        assert_eq!(portcullis(&app, &["group", "create", g]).await.code, Some(0));
    }
    let out = portcullis(
        &app,
        &["user", "invite", "--email", "Ada@Example.com", "--group", "ops", "--group", "dev"],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let shown = show(&app, "ada@example.com").await;
    let expected = format!("invited Ada@Example.com ({}); ", shown["id"].as_str().unwrap());
    assert!(out.stdout.starts_with(&expected) && out.stdout.lines().count() == 1, "{}", out.stdout);
    assert_eq!(shown["invited"], true);
    assert_eq!(shown["email_verified"], false);
    assert_eq!(shown["groups"], json!(["dev", "ops"]));

    let table = run_portcullis(&app.db.url, &["user", "list"]).await;
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.lines().next().unwrap().contains("INVITED"), "{table}");
    let row = table.lines().find(|l| l.starts_with("Ada@Example.com")).expect("listed");
    assert_eq!(row.split_whitespace().nth(5), Some("yes"), "the INVITED column: {table}");
    let listed = run_portcullis(&app.db.url, &["user", "list", "--json"]).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["invited"], true);

    // The command stamped the mail with the real time, which the server's mock
    // clock may not have reached yet: let it.
    app.clock.advance(time::Duration::minutes(1));
    let mail = sink.next_mail("Ada@Example.com", SUBJECT).await;
    let (text, html) = mail.parts();
    let link = mail.link("/accept-invitation");
    assert!(link.starts_with(&format!("{}/accept-invitation?token=", app.base)), "{link}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    for part in [&text, &html] {
        assert!(part.contains("Ada@Example.com") && part.contains("7 days"), "{part}");
    }
    assert_eq!(app.get(&client(), &path_of(&link)).await.status(), StatusCode::OK);

    let events = portcullis(&app, &["events", "--json"]).await.stdout;
    assert!(events.contains("invitation_sent") && events.contains("actor=cli groups=dev,ops"), "{events}");
    assert!(events.contains("group=ops actor=cli"), "each membership is audited: {events}");
}

async fn user_invite_with_an_unknown_group_is_a_usage_error_and_makes_nothing(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    assert_eq!(portcullis(&app, &["group", "create", "ops"]).await.code, Some(0));
    let out = portcullis(
        &app,
        &["user", "invite", "--email", "bo@example.com", "--group", "ops", "--group", "nope"],
    )
    .await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: ") && out.stderr.contains("\"nope\""), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let missing = run_portcullis(&app.db.url, &["user", "show", "bo@example.com"]).await;
    assert_eq!(missing.status.code(), Some(1), "no account was made");
    let stats = app.store.outbox_stats(portcullis_core::Clock::now(&*app.clock)).await.unwrap();
    assert_eq!((stats.pending, stats.failed), (0, 0), "no mail was queued");
    assert_eq!(sink.count("bo@example.com", SUBJECT), 0);
    let bad = portcullis(&app, &["user", "invite", "--email", "not-an-address"]).await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
}

async fn user_invite_of_a_taken_address_fails_with_exit_1(backend: Backend) {
    let (app, _sink) = with_sink(backend, |_| {}).await;
    app.register("cy@example.com").await;
    let out = portcullis(&app, &["user", "invite", "--email", "CY@example.com"]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end(), "error: a user with email \"CY@example.com\" already exists");
    assert_eq!(show(&app, "cy@example.com").await["invited"], false, "the account is untouched");
    let direct =
        app.state.auth().invite_user("cy@example.com", &[], portcullis_core::groups::Actor::Cli).await;
    assert!(matches!(direct, Err(portcullis_core::AuthError::EmailTaken)), "{direct:?}");
}

async fn the_accept_page_asks_for_the_password_and_refuses_a_weak_or_mismatched_one_with_422(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let link = invite(&app, &sink, "di@example.com").await;
    let c = client();
    let res = app.get(&c, &path_of(&link)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains("di@example.com"), "the page says which account this is");
    let form = &html[html.find("<form").expect("a form")..];
    let names: Vec<&str> =
        form.split("<input").skip(1).filter_map(|i| i.split("name=\"").nth(1)?.split('"').next()).collect();
    assert_eq!(names, ["csrf_token", "password", "password_confirm"], "exactly the fields of SPEC §8");
    assert!(form.contains("action=\"/accept-invitation?token="), "the token stays in the query");
    assert_eq!(html.matches("autocomplete=\"new-password\"").count(), 2);

    let weak = accept(&app, &c, &link, &[("password", "password1"), ("password_confirm", "password1")]).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cookie_value(weak.headers(), "portcullis_session").is_none());
    assert!(weak.text().await.unwrap().contains("id=\"password-error\""));
    let mismatch =
        accept(&app, &c, &link, &[("password", PASSWORD), ("password_confirm", "another-thing-42")]).await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = mismatch.text().await.unwrap();
    assert!(body.contains("id=\"password_confirm-error\"") && body.contains("di@example.com"));
    assert_eq!(show(&app, "di@example.com").await["invited"], true, "still invited after refusals");
}

async fn accepting_sets_the_password_verifies_the_address_and_signs_in(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let link = invite(&app, &sink, "eve@example.com").await;
    let c = client();
    let res = accept(&app, &c, &link, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    assert!(cookie_value(res.headers(), "portcullis_session").is_some(), "signed in");
    let me = app.get(&c, "/api/v1/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!((me["email"].as_str(), &me["email_verified"]), (Some("eve@example.com"), &json!(true)));
    assert!(me.get("invited").is_none(), "User JSON is unchanged (SPEC §3.2)");
    let account = app.get(&c, "/account").await;
    assert_eq!(account.status(), StatusCode::OK);
    assert!(account.text().await.unwrap().contains("Welcome! Your password is set"));
    assert_eq!(show(&app, "eve@example.com").await["invited"], false);

    let events: Value = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    let kinds: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in ["invitation_sent", "invitation_accepted", "login_succeeded"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // The password now signs in like any other.
    assert_eq!(login_problem(&app, "eve@example.com", PASSWORD).await.0, StatusCode::OK);
}

async fn an_invitation_link_works_once(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let link = invite(&app, &sink, "fay@example.com").await;
    let c = client();
    let first = accept(&app, &c, &link, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let again = app.get(&client(), &path_of(&link)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a used link shows the 400 page");
    let replay = accept_dead(&app, &client(), &link).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(cookie_value(replay.headers(), "portcullis_session").is_none());
    assert_eq!(login_problem(&app, "fay@example.com", PASSWORD).await.0, StatusCode::OK);
}

async fn an_invitation_link_expires_after_seven_days(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let link = invite(&app, &sink, "gus@example.com").await;
    app.clock.advance(time::Duration::days(7) - time::Duration::minutes(1));
    assert_eq!(app.get(&client(), &path_of(&link)).await.status(), StatusCode::OK, "still good on day 7");
    app.clock.advance(time::Duration::minutes(1));
    assert_eq!(app.get(&client(), &path_of(&link)).await.status(), StatusCode::BAD_REQUEST);
    let post = accept_dead(&app, &client(), &link).await;
    assert_eq!(post.status(), StatusCode::BAD_REQUEST);
    assert!(cookie_value(post.headers(), "portcullis_session").is_none());
    assert_eq!(show(&app, "gus@example.com").await["invited"], true);
}

async fn an_invited_user_cannot_sign_in_with_any_password(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    invite(&app, &sink, "hal@example.com").await;
    app.register("ivy@example.com").await;
    let (status, wrong) = login_problem(&app, "ivy@example.com", "not-the-password-1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong["code"], "invalid_credentials");
    // Five failures per account are allowed before throttling (SPEC §5): these are five.
    for password in [PASSWORD, "!invited", ""] {
        let (status, body) = login_problem(&app, "hal@example.com", password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{password:?}");
        assert_eq!(body, wrong, "exactly the answer to a wrong password ({password:?})");
    }
    let tokens = app
        .post_json(&client(), "/api/v1/tokens", &json!({"email": "hal@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(tokens.status(), StatusCode::UNAUTHORIZED);
    let c = client();
    let page =
        app.post_form(&c, "/login", "/login", &[("email", "hal@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.text().await.unwrap().contains("Invalid email or password."));
    let failed = app.state.auth().all_events(50).await.unwrap();
    assert!(
        failed.iter().any(|e| e.kind == "login_failed" && e.detail.as_deref() == Some("invited")),
        "the trail says why"
    );
}

async fn forgot_password_for_an_invited_address_mails_a_new_invitation_and_the_old_link_dies(
    backend: Backend,
) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let old = invite(&app, &sink, "jo@example.com").await;
    let api = app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "jo@example.com"})).await;
    assert_eq!(api.status(), StatusCode::ACCEPTED);
    let second = sink.link("jo@example.com", SUBJECT, "/accept-invitation").await;
    assert_ne!(second, old);
    assert_eq!(
        app.get(&client(), &path_of(&old)).await.status(),
        StatusCode::BAD_REQUEST,
        "the older link died"
    );
    assert_eq!(app.get(&client(), &path_of(&second)).await.status(), StatusCode::OK);

    // The page answers as for any address, and sends the invitation again too.
    let mut pages = Vec::new();
    for email in ["jo@example.com", "nobody@example.com"] {
        let c = client();
        let res = app.post_form(&c, "/forgot-password", "/forgot-password", &[("email", email)]).await;
        let status = res.status();
        let html = res.text().await.unwrap();
        pages.push((status, html.replace(&csrf_from(&html).unwrap(), "TOKEN")));
    }
    assert_eq!(pages[0].0, StatusCode::OK);
    assert_eq!(pages[0], pages[1], "the same page whether the address is invited or unknown");
    let third = sink.link("jo@example.com", SUBJECT, "/accept-invitation").await;
    assert_eq!(app.get(&client(), &path_of(&second)).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sink.count("jo@example.com", "Reset your password"), 0, "never a reset link");

    // The per-account limit of forgot-password (3 an hour) counts these mails.
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "jo@example.com"})).await;
    let fourth = sink.link("jo@example.com", SUBJECT, "/accept-invitation").await;
    assert_eq!(accept_dead(&app, &client(), &third).await.status(), StatusCode::BAD_REQUEST, "replaced");
    let over = app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "jo@example.com"})).await;
    assert_eq!(over.status(), StatusCode::ACCEPTED, "the same answer over the limit");
    // A later request's mail arrives after whatever the refused one would have sent.
    app.register("zed@example.com").await;
    app.post_json(&client(), "/api/v1/password/forgot", &json!({"email": "zed@example.com"})).await;
    sink.next_mail("zed@example.com", "Reset your password").await;
    assert_eq!(sink.count("jo@example.com", SUBJECT), 4, "the fifth invitation was over the limit");
    assert_eq!(
        app.get(&client(), &path_of(&fourth)).await.status(),
        StatusCode::OK,
        "the last one sent works"
    );
}

async fn accepting_without_a_csrf_token_is_refused_with_403(backend: Backend) {
    let (app, sink) = with_sink(backend, |_| {}).await;
    let link = invite(&app, &sink, "kit@example.com").await;
    let c = client();
    assert_eq!(app.get(&c, &path_of(&link)).await.status(), StatusCode::OK);
    for fields in [
        vec![("password", PASSWORD), ("password_confirm", PASSWORD)],
        vec![("password", PASSWORD), ("password_confirm", PASSWORD), ("csrf_token", "forged")],
    ] {
        let res = c.post(link.clone()).form(&fields).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(cookie_value(res.headers(), "portcullis_session").is_none());
    }
    assert_eq!(show(&app, "kit@example.com").await["invited"], true);
    let res = accept(&app, &c, &link, &[("password", PASSWORD), ("password_confirm", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the link still works");
}
