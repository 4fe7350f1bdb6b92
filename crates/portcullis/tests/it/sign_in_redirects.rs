//! In a real browser, a sign-in form that ends on another origin: back to an
//! application behind forward-auth (`next` on an allowed origin), and through
//! `/oauth2/authorize` to an OAuth client's redirect URI. A Content-Security-Policy
//! `form-action` that browsers apply to a form's redirects must let both through.

use portcullis_core::oauth::ClientFlags;

use crate::browser::{Browser, register, sign_out};
use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::oidc::{Rp, authorize_path, pkce};

/// A tiny application on its own origin that shows which path it was sent to.
async fn application() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        axum::response::Html(format!("<p id=landed>{}</p>", uri.path()))
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn sign_in_on_the_page(browser: &Browser, email: &str) {
    browser.find("#email").await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click(r#"form[action="/login"] button[type="submit"]"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sign_in_returns_to_an_allowed_origin_and_to_an_oauth_client() {
    let Some(browser) = Browser::launch().await else { return };
    let origin = application().await;
    let allowed = origin.clone();
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.server.allowed_redirect_origins = vec![allowed]).await;
    let email = format!("redirects-{}@example.com", uuid::Uuid::new_v4().simple());
    register(&browser, &app, &email).await;

    // Forward-auth: sign in, then back to the application's page.
    let next = format!("{origin}/dashboard");
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    browser.goto(&app.url(&format!("/login?next={encoded}"))).await;
    sign_in_on_the_page(&browser, &email).await;
    browser.wait_for_url(&next).await;
    browser.goto(&app.url("/account")).await;
    sign_out(&browser, &app).await;

    // OpenID Connect: signing in on the way, then to the client's redirect URI.
    let redirect = format!("{origin}/callback");
    let created = app
        .state
        .auth()
        .create_client(
            "Browser app",
            std::slice::from_ref(&redirect),
            ClientFlags { public: false, first_party: true, resource_server: false },
            &portcullis_core::audit::ActedBy::cli(),
        )
        .await
        .unwrap();
    let rp = Rp { id: created.client.id, secret: created.secret.map(|s| s.expose().to_owned()) };
    let (_, challenge) = pkce();
    let path = authorize_path(&rp, Some(&challenge), &[]).replace(
        &url::form_urlencoded::byte_serialize(crate::oidc::REDIRECT.as_bytes()).collect::<String>(),
        &url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>(),
    );
    browser.goto(&app.url(&path)).await;
    sign_in_on_the_page(&browser, &email).await;
    browser.wait_for_text("#landed", "/callback").await;
    assert!(browser.current_url().await.contains("code="), "{}", browser.current_url().await);
}
