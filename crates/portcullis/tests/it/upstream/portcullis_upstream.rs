//! Another Portcullis as the upstream OpenID provider (SPEC §10): its ID tokens
//! (EdDSA) are checked by the published keys like any provider's. On PostgreSQL a
//! flow started on one node is finished on another (any node can finish it: its
//! state is in the database).

use reqwest::StatusCode;
use serde_json::Value;

use portcullis_core::admin::UserChanges;
use portcullis_core::audit::ActedBy;
use portcullis_core::oauth::ClientFlags;

use super::oidc_signin::{free_port, provider_config};
use crate::helpers::{Backend, TestApp, backend_tests, location, test_config};

backend_tests!(another_portcullis_is_an_upstream_provider_and_any_node_finishes_the_flow);

async fn another_portcullis_is_an_upstream_provider_and_any_node_finishes_the_flow(backend: Backend) {
    // The upstream, reached as http://localhost:PORT (cookies of the two stay apart).
    let upstream = TestApp::spawn_on_localhost(backend).await;
    upstream.register("ada@example.com").await;
    let ada = upstream.state.auth().find_user("ada@example.com").await.unwrap();
    let verified = UserChanges { disabled: None, email_verified: Some(true) };
    upstream.state.auth().update_user(ada.id, verified, &ActedBy::cli()).await.unwrap();
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let flags = ClientFlags { public: false, first_party: true, resource_server: false };
    let callback = format!("{origin}/login/corp/callback");
    let client = upstream
        .state
        .auth()
        .create_client("Wiki", std::slice::from_ref(&callback), flags, &ActedBy::cli())
        .await
        .unwrap();
    let mut corp = provider_config(&upstream.base, true, true);
    corp.client_id.clone_from(&client.client.id);
    corp.client_secret = client.secret.map(|s| s.expose().to_owned());
    let corp_for_app = corp.clone();
    let app = TestApp::spawn_with(backend, |c| {
        c.server.bind = format!("127.0.0.1:{port}");
        c.server.public_url = Some(origin.clone());
        c.identity_providers = vec![corp_for_app];
    })
    .await;

    // Ada, signed in upstream, signs in here through it.
    let browser = upstream.login("ada@example.com").await;
    let sign_in = async |finish_on: &str| {
        let res = app.get(&browser, "/login/corp").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let authorize = location(&res);
        assert!(authorize.starts_with(&upstream.base), "{authorize}");
        let res = browser.get(&authorize).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "first party: no consent page");
        let back = location(&res);
        assert!(back.starts_with(&callback), "{back}");
        browser.get(back.replace(&origin, finish_on)).send().await.unwrap()
    };
    let res = sign_in(&origin).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account".to_owned()));
    let me: Value = app.get(&browser, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email"], "ada@example.com");
    let user = app.state.auth().find_user("ada@example.com").await.unwrap();
    let linked = app.state.auth().list_identities(user.id).await.unwrap();
    assert_eq!(
        (linked[0].issuer.as_str(), linked[0].subject.clone()),
        (upstream.base.as_str(), ada.id.to_string())
    );

    if backend == Backend::Postgres {
        // A second node on the same database, behind the same public URL.
        let mut config = test_config(&app.db.url);
        config.server.public_url = Some(origin.clone());
        config.identity_providers = vec![corp];
        let node = portcullis::Application::build(&config, app.clock.clone()).await.expect("second node");
        let second = format!("http://{}", node.addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            node.run(async {
                let _ = stopped.await;
            })
            .await
            .expect("second node runs");
        });
        let res = sign_in(&second).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "started on one node, finished on the other");
        let me: Value = app.get(&browser, "/api/v1/me").await.json().await.unwrap();
        assert_eq!(me["email"], "ada@example.com");
        let _ = stop.send(());
        server.await.unwrap();
    }
    app.stop().await;
    upstream.stop().await;
}
