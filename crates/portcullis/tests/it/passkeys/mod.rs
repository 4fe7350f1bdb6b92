//! Passkeys (issue 9) over the JSON API: ceremonies refused for a wrong origin and
//! when replayed, the routes' authentication and re-authentication rules, listing,
//! renaming, removing, the export, and passkeys off on an IP-address URL. The
//! successful ceremonies need an authenticator: see `browser.rs`.

mod browser;

use base64::Engine as _;
use portcullis_core::Clock as _;
use portcullis_core::passkeys::PasskeyRecord;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client};

backend_tests!(
    a_registration_from_a_wrong_origin_is_refused_and_cannot_be_replayed,
    a_sign_in_from_a_wrong_origin_is_refused_and_its_ceremony_is_spent,
    passkey_routes_need_a_sign_in_and_sensitive_ones_a_recent_one,
    passkeys_are_listed_renamed_and_removed_with_audit_events,
    deleting_the_account_deletes_its_passkeys,
    the_account_page_renames_and_removes_passkeys_and_the_second_step_offers_them,
);

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> String {
    b64url(json!({"type": kind, "challenge": challenge, "origin": origin}).to_string().as_bytes())
}

fn fake_registration(challenge: &str, origin: &str) -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "attestationObject": b64url(b"not an attestation"),
            "clientDataJSON": client_data("webauthn.create", challenge, origin),
        },
        "extensions": {},
    })
}

fn fake_assertion(challenge: &str, origin: &str) -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {
            "authenticatorData": b64url(&[0; 37]),
            "clientDataJSON": client_data("webauthn.get", challenge, origin),
            "signature": b64url(b"sig"),
            "userHandle": null,
        },
        "extensions": {},
    })
}

async fn problem(res: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(res.status(), status);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/problem+json");
    assert_eq!(res.json::<Value>().await.unwrap()["code"], code);
}

async fn a_registration_from_a_wrong_origin_is_refused_and_cannot_be_replayed(backend: Backend) {
    let app = TestApp::spawn_on_localhost(backend).await;
    let c = app.signed_in("pk1@example.com").await;
    let res = app.post_json(&c, "/api/v1/passkeys/register/start", &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let options: Value = res.json().await.unwrap();
    let pk = &options["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost", "{options}");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required", "discoverable: {options}");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let challenge = pk["challenge"].as_str().unwrap();

    // Bound to the session that started it: another session of the same user
    // cannot finish it.
    let other_session = app.login("pk1@example.com").await;
    let res = app.post_json(&c, "/api/v1/passkeys/register/start", &json!({})).await;
    let theirs: Value = res.json().await.unwrap();
    let cred = fake_registration(theirs["publicKey"]["challenge"].as_str().unwrap(), &app.base);
    let res = app
        .post_json(
            &other_session,
            "/api/v1/passkeys/register/finish",
            &json!({"name": "x", "credential": cred}),
        )
        .await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;

    let evil = fake_registration(challenge, "https://evil.example");
    let res = app
        .post_json(&c, "/api/v1/passkeys/register/finish", &json!({"name": "x", "credential": evil}))
        .await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    // The ceremony was used up by that attempt: the same challenge never works again.
    let again = fake_registration(challenge, &app.base);
    let res = app
        .post_json(&c, "/api/v1/passkeys/register/finish", &json!({"name": "x", "credential": again}))
        .await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;

    // Garbage where clientDataJSON goes, and a body of the wrong shape.
    let mut junk = fake_registration(challenge, &app.base);
    junk["response"]["clientDataJSON"] = json!(b64url(b"{not json"));
    let res = app.post_json(&c, "/api/v1/passkeys/register/finish", &json!({"credential": junk})).await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    let res = app.post_json(&c, "/api/v1/passkeys/register/finish", &json!({"credential": 5})).await;
    problem(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    assert!(events.iter().any(|e| e["type"] == "passkey_added" && e["outcome"] == "failure"), "{events:?}");
    assert_eq!(app.get(&c, "/api/v1/passkeys").await.json::<Value>().await.unwrap(), json!([]));
}

async fn a_sign_in_from_a_wrong_origin_is_refused_and_its_ceremony_is_spent(backend: Backend) {
    let app = TestApp::spawn_on_localhost(backend).await;
    let c = client();
    let res = app.post_json(&c, "/api/v1/login/passkey/start", &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let options: Value = res.json().await.unwrap();
    assert_eq!(options["publicKey"]["rpId"], "localhost", "{options}");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(options["publicKey"]["allowCredentials"].as_array().is_none_or(Vec::is_empty), "{options}");
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();

    let evil = fake_assertion(challenge, "https://evil.example");
    let res = app.post_json(&c, "/api/v1/login/passkey/finish", &json!({"credential": evil})).await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    let again = fake_assertion(challenge, &app.base);
    let res = app.post_json(&c, "/api/v1/login/passkey/finish", &json!({"credential": again})).await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    // An answer to a challenge never issued, and one past its five minutes.
    let unknown = fake_assertion(&b64url(&[7; 32]), &app.base);
    let res = app.post_json(&c, "/api/v1/login/passkey/finish", &json!({"credential": unknown})).await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    let res = app.post_json(&c, "/api/v1/login/passkey/start", &json!({})).await;
    let options: Value = res.json().await.unwrap();
    app.clock.advance(time::Duration::minutes(6));
    let late = fake_assertion(options["publicKey"]["challenge"].as_str().unwrap(), &app.base);
    let res = app.post_json(&c, "/api/v1/login/passkey/finish", &json!({"credential": late})).await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    assert_eq!(app.get(&c, "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "still anonymous");
}

async fn passkey_routes_need_a_sign_in_and_sensitive_ones_a_recent_one(backend: Backend) {
    let app = TestApp::spawn_on_localhost(backend).await;
    let anon = client();
    let id = uuid::Uuid::new_v4();
    assert_eq!(app.get(&anon, "/api/v1/passkeys").await.status(), StatusCode::UNAUTHORIZED);
    let res = app.post_json(&anon, "/api/v1/passkeys/register/start", &json!({})).await;
    problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = anon.delete(app.url(&format!("/api/v1/passkeys/{id}"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = anon.patch(app.url(&format!("/api/v1/passkeys/{id}"))).json(&json!({"name": "x"})).send();
    assert_eq!(res.await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let c = app.signed_in("pk3@example.com").await;
    app.clock.advance(time::Duration::minutes(11));
    let res = app.post_json(&c, "/api/v1/passkeys/register/start", &json!({})).await;
    problem(res, StatusCode::FORBIDDEN, "reauthentication_required").await;
    let res =
        app.post_json(&c, "/api/v1/passkeys/register/start", &json!({"password": "wrong-password-1"})).await;
    problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let res = app.post_json(&c, "/api/v1/passkeys/register/start", &json!({"password": PASSWORD})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res =
        c.delete(app.url(&format!("/api/v1/passkeys/{id}"))).json(&json!({"password": PASSWORD})).send();
    problem(res.await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    let res = c.delete(app.url("/api/v1/passkeys/not-a-uuid")).send().await.unwrap();
    problem(res, StatusCode::NOT_FOUND, "not_found").await;
    // Cookie requests from another origin are refused like every unsafe API call.
    let res = c
        .post(app.url("/api/v1/passkeys/register/start"))
        .header("origin", "https://evil.example")
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN, "csrf").await;
}

/// A webauthn-rs `Passkey` as stored (a public key from webauthn-rs' own tests,
/// credential id `AQIDBA`): enough to start a ceremony naming it.
const SAMPLE_PASSKEY: &str = r#"{"cred":{"cred_id":"AQIDBA","cred":{"type_":"ES256","key":{"EC_EC2":{"curve":"SECP256R1","x":[194,126,127,109,252,23,131,21,252,6,223,99,44,254,140,27,230,17,94,5,133,28,104,41,144,69,171,149,161,26,200,243],"y":[143,123,183,156,24,178,21,248,117,159,162,69,171,52,188,252,26,59,6,47,103,92,19,58,117,103,249,0,219,8,95,196]}}},"counter":2,"user_verified":true,"backup_eligible":false,"backup_state":false,"registration_policy":"required","extensions":{"cred_protect":"NotRequested","hmac_create_secret":"NotRequested"},"attestation":{"data":"None","metadata":"None"},"attestation_format":"None","transports":null}}"#;

/// Stores a passkey for `email` as the registration would.
pub(crate) async fn stored_passkey(app: &TestApp, email: &str, name: &str, sign_count: i64) -> PasskeyRecord {
    let store = &app.store;
    let user = store.find_credentials_by_email(email).await.unwrap().expect("user").user;
    let record = PasskeyRecord {
        id: uuid::Uuid::new_v4(),
        user_id: user.id,
        credential_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
        name: name.to_owned(),
        sign_count,
        credential: SAMPLE_PASSKEY.to_owned(),
        created_at: app.clock.now(),
        last_used_at: None,
    };
    let mail = portcullis_core::mail::NewMail {
        user_id: Some(user.id),
        mail: portcullis_core::OutgoingMail {
            to: portcullis_core::Email::parse(email).unwrap(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        },
        at: app.clock.now(),
    };
    store.add_passkey(&record, &mail).await.unwrap();
    let again = PasskeyRecord { id: uuid::Uuid::new_v4(), ..record.clone() };
    assert!(store.add_passkey(&again, &mail).await.is_err(), "a credential id is stored once");
    record
}

async fn passkeys_are_listed_renamed_and_removed_with_audit_events(backend: Backend) {
    let app = TestApp::spawn_on_localhost(backend).await;
    let c = app.signed_in("pk4@example.com").await;
    let other = app.signed_in("pk4-other@example.com").await;
    let key = stored_passkey(&app, "pk4@example.com", "Laptop", 7).await;
    stored_passkey(&app, "pk4-other@example.com", "Theirs", 0).await;

    let list: Vec<Value> = app.get(&c, "/api/v1/passkeys").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], key.id.to_string());
    assert_eq!(list[0]["name"], "Laptop");
    assert_eq!(list[0]["sign_count"], 7);
    assert!(list[0]["created_at"].is_string() && list[0]["last_used_at"].is_null());
    assert!(list[0].get("credential").is_none(), "no key material: {list:?}");

    let path = format!("/api/v1/passkeys/{}", key.id);
    let res = c.patch(app.url(&path)).json(&json!({"name": "  Work laptop "})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = c.patch(app.url(&path)).json(&json!({"name": "x".repeat(65)})).send().await.unwrap();
    problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let res = other.patch(app.url(&path)).json(&json!({"name": "mine"})).send().await.unwrap();
    problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = other.delete(app.url(&path)).send().await.unwrap();
    problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let list: Vec<Value> = app.get(&c, "/api/v1/passkeys").await.json().await.unwrap();
    assert_eq!(list[0]["name"], "Work laptop");

    let export: Value = app.get(&c, "/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["passkeys"][0]["name"], "Work laptop", "{export}");
    assert!(!export.to_string().contains("\"credential\""), "no key material in the export");

    app.clock.advance(time::Duration::minutes(11));
    let res = c.delete(app.url(&path)).send().await.unwrap();
    problem(res, StatusCode::FORBIDDEN, "reauthentication_required").await;
    let res = c.delete(app.url(&path)).json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&c, "/api/v1/passkeys").await.json::<Value>().await.unwrap(), json!([]));

    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.unwrap();
    for kind in ["passkey_renamed", "passkey_removed"] {
        assert!(events.iter().any(|e| e["type"] == kind && e["outcome"] == "success"), "{kind}: {events:?}");
    }
    // The account page lists them, with rename and remove forms.
    let c2 = app.signed_in("pk4-page@example.com").await;
    stored_passkey(&app, "pk4-page@example.com", "Phone <b>", 3).await;
    let html = app.get(&c2, "/account").await.text().await.unwrap();
    assert!(html.contains("Phone &lt;b&gt;") && html.contains("/rename") && html.contains("/delete"));
    assert!(html.contains("src=\"/static/passkeys.js\""));
    // Without the script nothing passkey-only shows: the add form starts hidden.
    assert!(html.contains("<form id=\"passkey-add\" class=\"passkey-only\" hidden>"), "{html}");
}

async fn deleting_the_account_deletes_its_passkeys(backend: Backend) {
    let app = TestApp::spawn_on_localhost(backend).await;
    let c = app.signed_in("pk5@example.com").await;
    let key = stored_passkey(&app, "pk5@example.com", "Key", 0).await;
    let res = c.delete(app.url("/api/v1/me")).json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let store = &app.store;
    assert!(store.list_passkeys(key.user_id).await.unwrap().is_empty());
    assert!(store.find_passkey_by_credential_id(&key.credential_id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_are_off_when_the_public_url_is_an_ip_address() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.signed_in("pk6@example.com").await;
    let res = app.post_json(&c, "/api/v1/passkeys/register/start", &json!({})).await;
    problem(res, StatusCode::CONFLICT, "passkeys_unavailable").await;
    let res = app.post_json(&client(), "/api/v1/login/passkey/start", &json!({})).await;
    problem(res, StatusCode::CONFLICT, "passkeys_unavailable").await;
    let login = app.get(&client(), "/login").await.text().await.unwrap();
    assert!(!login.contains("passkey-login"), "no passkey button");
}

async fn the_account_page_renames_and_removes_passkeys_and_the_second_step_offers_them(backend: Backend) {
    let app = TestApp::spawn_on_localhost(backend).await;
    let email = "pk7@example.com";
    let c = app.signed_in(email).await;
    let key = stored_passkey(&app, email, "Old", 0).await;
    let rename = format!("/account/passkeys/{}/rename", key.id);
    let res = c.post(app.url(&rename)).form(&[("name", "New")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token, no change");
    let res = app.post_form(&c, "/account", &rename, &[("name", "New")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.post_form(&c, "/account", &rename, &[("name", &"x".repeat(65))]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get(&c, "/api/v1/passkeys").await.json::<Value>().await.unwrap()[0]["name"], "New");

    // The second step of a password sign-in offers the passkey next to the code.
    browser::turn_on_totp(&app, email).await;
    let pending = client();
    let res = app.post_json(&pending, "/api/v1/login", &json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"mfa_required": true}));
    let page = app.get(&pending, "/login/mfa").await.text().await.unwrap();
    assert!(page.contains("id=\"passkey-login\"") && page.contains("id=\"code\""), "{page}");
    // Its options name this user's passkey only.
    let res = app.post_json(&pending, "/api/v1/login/passkey/start", &json!({})).await;
    let options: Value = res.json().await.unwrap();
    let allowed = options["publicKey"]["allowCredentials"].as_array().cloned().unwrap_or_default();
    assert_eq!(allowed.len(), 1, "{options}");
    assert_eq!(allowed[0]["id"], "AQIDBA");
    // That ceremony is bound to the half-authenticated session: answered from
    // anywhere else it is refused (and spent).
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();
    let stolen = fake_assertion(challenge, &app.base);
    let res = app.post_json(&client(), "/api/v1/login/passkey/finish", &json!({"credential": stolen})).await;
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;

    app.clock.advance(time::Duration::minutes(11));
    let delete = format!("/account/passkeys/{}/delete", key.id);
    let res = app.post_form(&c, "/account", &delete, &[("password", "")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a recent sign-in or the password");
    let res = app.post_form(&c, "/account", &delete, &[("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&c, "/api/v1/passkeys").await.json::<Value>().await.unwrap(), json!([]));
}

/// Ceremony state lives in the database: a registration started on one node is
/// found (and used up) by another; process memory holds none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_started_on_one_node_is_taken_by_another_once() {
    use sqlx::Connection as _;
    if !crate::helpers::postgres_available().await {
        return;
    }
    let db = crate::helpers::TestDb::create(Backend::Postgres).await;
    // One public URL for the service, as behind a load balancer.
    let env = [("PORTCULLIS_SERVER__PUBLIC_URL", "http://localhost:9")];
    let a = crate::helpers::Node::start(&db.url, &env).await;
    let b = crate::helpers::Node::start(&db.url, &env).await;
    let c = client();
    let body = json!({"email": "pk-cluster@example.com", "password": PASSWORD});
    assert_eq!(
        c.post(a.url("/api/v1/register")).json(&body).send().await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(c.post(a.url("/api/v1/login")).json(&body).send().await.unwrap().status(), StatusCode::OK);
    let res = c.post(a.url("/api/v1/passkeys/register/start")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let options: Value = res.json().await.unwrap();
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();

    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let count = "SELECT COUNT(*) FROM passkey_ceremonies";
    let pending: i64 = sqlx::query_scalar(count).fetch_one(&mut conn).await.unwrap();
    assert_eq!(pending, 1, "the ceremony is a row, not node memory");
    let cred = fake_registration(challenge, "http://localhost:9");
    let finish = json!({"name": "x", "credential": cred});
    let res = c.post(b.url("/api/v1/passkeys/register/finish")).json(&finish).send().await.unwrap();
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    let pending: i64 = sqlx::query_scalar(count).fetch_one(&mut conn).await.unwrap();
    assert_eq!(pending, 0, "node b took node a's ceremony");
    let res = c.post(a.url("/api/v1/passkeys/register/finish")).json(&finish).send().await.unwrap();
    problem(res, StatusCode::BAD_REQUEST, "invalid_passkey").await;
    let _ = conn.close().await;
}
