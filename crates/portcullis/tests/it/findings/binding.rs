//! A form's CSRF token is bound to the session: an attacker who can plant cookies
//! gets nowhere by pairing their own anonymous cookie and token with a victim's
//! session. (Passkey sign-ins bound to their browser: `passkeys::browser`.)

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, cookie_value, csrf_from};

backend_tests!(a_csrf_token_minted_for_another_cookie_pair_does_not_pass_with_a_victims_session);

/// A client that sends exactly the cookies it is given.
fn bare() -> reqwest::Client {
    {
        portcullis_upstream::install_crypto_provider();
        reqwest::Client::builder()
    }
    .redirect(reqwest::redirect::Policy::none())
    .build()
    .expect("client")
}

async fn a_csrf_token_minted_for_another_cookie_pair_does_not_pass_with_a_victims_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("victim@example.com").await;
    let res = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "victim@example.com", "password": PASSWORD}))
        .await;
    let session = cookie_value(res.headers(), "portcullis_session").expect("a session cookie");

    // The attacker's own anonymous pair, from any page.
    let res = bare().get(app.url("/login")).send().await.unwrap();
    let attacker_cookie = cookie_value(res.headers(), "portcullis_csrf").expect("a CSRF cookie");
    let attacker_token = csrf_from(&res.text().await.unwrap()).expect("a form token");

    // Planted next to the victim's session, it does not sign the victim out.
    let planted = format!("portcullis_session={session}; portcullis_csrf={attacker_cookie}");
    let logout = async |token: &str| {
        let req = bare().post(app.url("/logout")).header("cookie", &planted).form(&[("csrf_token", token)]);
        req.send().await.unwrap().status()
    };
    assert_eq!(logout(&attacker_token).await, StatusCode::FORBIDDEN);
    let me = bare().get(app.url("/api/v1/me")).header("cookie", format!("portcullis_session={session}"));
    assert_eq!(me.send().await.unwrap().status(), StatusCode::OK, "still signed in");

    // The token a page gives the victim's own browser works.
    let res = bare().get(app.url("/account")).header("cookie", &planted).send().await.unwrap();
    let own_token = csrf_from(&res.text().await.unwrap()).expect("a form token");
    assert_eq!(logout(&own_token).await, StatusCode::SEE_OTHER);
    let me = bare().get(app.url("/api/v1/me")).header("cookie", format!("portcullis_session={session}"));
    assert_eq!(me.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "signed out");
}
