//! The HTML pages: forms, CSRF, redirects, flashes, protected pages.

use reqwest::StatusCode;

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, csrf_from, location, set_cookie};

backend_tests!(
    a_person_can_register_then_sign_in_then_sign_out_with_forms,
    forms_without_a_valid_csrf_token_are_refused,
    a_form_posted_from_another_origin_is_refused,
    a_failed_sign_in_shows_one_generic_message_with_401,
    next_is_followed_only_when_it_is_a_local_path,
    the_account_page_requires_sign_in_and_remembers_where_to_return,
    get_logout_never_signs_out,
    the_account_page_lists_sessions_and_revokes_them,
    the_password_can_be_changed_from_the_account_page,
    registration_problems_rerender_the_form_with_422,
);

async fn a_person_can_register_then_sign_in_then_sign_out_with_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = client();
    let home = app.get(&c, "/").await.text().await.unwrap();
    assert!(home.contains("href=\"/login\"") && home.contains("href=\"/register\""));
    let form = app.get(&c, "/register").await.text().await.unwrap();
    for attr in [
        "autocomplete=\"email\"",
        "autocomplete=\"new-password\"",
        "<label for=\"email\">",
        "<label for=\"password\">",
    ] {
        assert!(form.contains(attr), "register form has {attr}");
    }
    let res = app
        .post_form(
            &c,
            "/register",
            "/register",
            &[("email", "pat@example.com"), ("password", PASSWORD), ("password_confirm", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let login_page = app.get(&c, "/login").await.text().await.unwrap();
    assert!(login_page.contains("Your account was created"), "flash shown after redirect");
    assert!(login_page.contains("autocomplete=\"current-password\""));
    assert!(
        !app.get(&c, "/login").await.text().await.unwrap().contains("Your account was created"),
        "a flash shows once"
    );
    let res =
        app.post_form(&c, "/login", "/login", &[("email", "pat@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    let cookie = set_cookie(res.headers(), "portcullis_session").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let account = app.get(&c, "/account").await;
    assert_eq!(account.status(), StatusCode::OK);
    assert_eq!(account.headers()["cache-control"], "no-store");
    assert!(account.text().await.unwrap().contains("pat@example.com"));
    assert!(
        app.get(&c, "/").await.text().await.unwrap().contains("pat@example.com"),
        "home shows who is signed in"
    );
    let res = app.post_form(&c, "/account", "/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert!(app.get(&c, "/").await.text().await.unwrap().contains("You have been signed out"));
    assert_eq!(app.get(&c, "/account").await.status(), StatusCode::SEE_OTHER);
}

async fn forms_without_a_valid_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = client();
    let token = app.csrf_token(&c, "/login").await;
    app.register("quinn@example.com").await;
    let fields = |t: &str| {
        vec![
            ("email", "quinn@example.com".to_owned()),
            ("password", PASSWORD.to_owned()),
            ("csrf_token", t.to_owned()),
        ]
    };
    for bad in ["", "AAAA", &token[..token.len() - 2]] {
        let res = c.post(app.url("/login")).form(&fields(bad)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "token {bad:?}");
        assert!(set_cookie(res.headers(), "portcullis_session").is_none());
        assert!(res.text().await.unwrap().contains("expired or was not sent from this site"));
    }
    // A valid token only works with the cookie it was made for.
    let stranger = client();
    let res = stranger.post(app.url("/login")).form(&fields(&token)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c.post(app.url("/login")).form(&fields(&token)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Other state-changing forms are guarded the same way.
    for path in ["/register", "/logout", "/account/password"] {
        let res = c.post(app.url(path)).form(&[("csrf_token", "nope")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

async fn a_form_posted_from_another_origin_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("rae@example.com").await;
    let c = client();
    let token = app.csrf_token(&c, "/login").await;
    let res = c
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("email", "rae@example.com"), ("password", PASSWORD), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn a_failed_sign_in_shows_one_generic_message_with_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("sam@example.com").await;
    let mut pages = Vec::new();
    for (email, password) in
        [("sam@example.com", "wrong-password-1"), ("ghost@example.com", "wrong-password-1")]
    {
        let c = client();
        let res = app.post_form(&c, "/login", "/login", &[("email", email), ("password", password)]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let html = res.text().await.unwrap();
        assert!(html.contains("Invalid email or password."));
        assert!(!html.contains(password), "the password is never echoed");
        // Everything but the echoed email and the per-client CSRF token is identical.
        let csrf = csrf_from(&html).unwrap();
        pages.push(html.replace(&csrf, "TOKEN").replace(email, "EMAIL"));
    }
    assert_eq!(pages[0], pages[1]);
}

async fn next_is_followed_only_when_it_is_a_local_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("tess@example.com").await;
    let cases = [
        ("/account?tab=sessions", "/account?tab=sessions"),
        ("//evil.example", "/account"),
        ("/\\evil.example", "/account"),
        ("https://evil.example", "/account"),
        ("http:evil.example", "/account"),
        ("/\t/evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("", "/account"),
    ];
    for (next, expected) in cases {
        let c = client();
        let res = app
            .post_form(
                &c,
                "/login",
                "/login",
                &[("email", "tess@example.com"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&res), expected, "next = {next:?}");
    }
    // The login page does not carry an unsafe next into its form either.
    let html = app.get(&client(), "/login?next=%2F%2Fevil.example").await.text().await.unwrap();
    assert!(!html.contains("evil.example"));
}

async fn the_account_page_requires_sign_in_and_remembers_where_to_return(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = client();
    let res = c.get(app.url("/account")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Faccount");
    let page = app.get(&c, "/login?next=%2Faccount").await.text().await.unwrap();
    assert!(page.contains("name=\"next\" value=\"&#x2f;account\""), "next carried, HTML-escaped");
    app.register("uma@example.com").await;
    let res = app
        .post_form(
            &c,
            "/login?next=%2Faccount",
            "/login",
            &[("email", "uma@example.com"), ("password", PASSWORD), ("next", "/account")],
        )
        .await;
    assert_eq!(location(&res), "/account");
}

async fn get_logout_never_signs_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("vic@example.com").await;
    let res = app.get(&c, "/logout").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(res.headers(), "portcullis_session").is_none());
    assert!(res.text().await.unwrap().contains("id=\"confirm-logout\""));
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::OK);
}

async fn the_account_page_lists_sessions_and_revokes_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("wes@example.com").await;
    let laptop = app.login("wes@example.com").await;
    let phone = app.login("wes@example.com").await;
    let html = app.get(&laptop, "/account").await.text().await.unwrap();
    assert_eq!(html.matches("/revoke\"").count(), 2, "both sessions are listed");
    let sessions: Vec<serde_json::Value> =
        app.get(&laptop, "/api/v1/me/sessions").await.json().await.unwrap();
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    let res = app.post_form(&laptop, "/account", &format!("/account/sessions/{other}/revoke"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    assert_eq!(app.get(&phone, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert!(app.get(&laptop, "/account").await.text().await.unwrap().contains("The session was signed out."));
}

async fn the_password_can_be_changed_from_the_account_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("xia@example.com").await;
    let here = app.login("xia@example.com").await;
    let there = app.login("xia@example.com").await;
    let new = "teal-walrus-compass-42";
    let wrong = app
        .post_form(
            &here,
            "/account",
            "/account/password",
            &[("current_password", "not-it-at-all"), ("new_password", new), ("new_password_confirm", new)],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("the current password is wrong"));
    let res = app
        .post_form(
            &here,
            "/account",
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", new), ("new_password_confirm", new)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&there, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert!(app.get(&here, "/account").await.text().await.unwrap().contains("Your password was changed"));
}

async fn registration_problems_rerender_the_form_with_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("yan@example.com").await;
    let c = client();
    let cases = [
        (("yan2@example.com", PASSWORD, "different-password-9"), "the two passwords do not match"),
        (("yan2@example.com", "password1", "password1"), "too common"),
        (("yan2@example.com", "abcdefgh1234", "abcdefgh1234"), "too easy to guess"),
        (("nonsense", PASSWORD, PASSWORD), "valid email address"),
        (("YAN@example.com", PASSWORD, PASSWORD), "already exists"),
    ];
    for ((email, pw, confirm), message) in cases {
        let res = app
            .post_form(
                &c,
                "/register",
                "/register",
                &[("email", email), ("password", pw), ("password_confirm", confirm)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message}");
        assert!(html.contains(&format!("value=\"{email}\"")), "the email is kept");
        assert!(!html.contains(&format!("value=\"{pw}\"")), "passwords are never echoed back");
    }
}

#[tokio::test]
async fn templates_dir_overrides_built_in_templates_and_static_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("home.html"),
        "{% extends \"base.html\" %}{% block content %}<h1>Acme accounts</h1>{{ \"<b>\" }}{% endblock %}",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("static")).unwrap();
    std::fs::write(dir.path().join("static/style.css"), "body { color: hotpink }").unwrap();
    let path = dir.path().to_owned();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c| c.ui.templates_dir = Some(path)).await;
    let home = app.get(&client(), "/").await.text().await.unwrap();
    assert!(home.contains("<h1>Acme accounts</h1>"), "overridden");
    assert!(home.contains("&lt;b&gt;"), "still autoescaped");
    assert!(home.contains("/static/style.css"), "base.html still built in");
    let css = app.get(&client(), "/static/style.css").await.text().await.unwrap();
    assert_eq!(css, "body { color: hotpink }");
    assert_eq!(app.get(&client(), "/static/..%2Fhome.html").await.status(), StatusCode::NOT_FOUND);
}
