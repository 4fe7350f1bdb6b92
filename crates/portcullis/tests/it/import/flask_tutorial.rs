//! The migration of docs/migrating-from-flask.md, end to end: the Flask tutorial's
//! app as it was before Portcullis (`examples/flask-tutorial-legacy`, Werkzeug's
//! default hashes) registers users through its own pages; its `user` table is
//! exported with the documented `sqlite3` command, imported, and each user signs
//! in to Portcullis' sign-in page with the password they chose in the old app.

use std::time::Duration;

use portcullis_core::Clock as _;
use reqwest::StatusCode;

use super::{import, legacy_python};
use crate::helpers::{Backend, TestApp, backend_tests, client, location};

/// The export command of docs/migrating-from-flask.md, run as written there.
pub(crate) const EXPORT: &str = r#"sqlite3 -header -csv instance/flaskr.sqlite "SELECT id AS external_id, email, password_hash, created_at FROM user" > users.csv"#;

/// Users of the old app: address and the password they registered with.
const PEOPLE: [(&str, &str); 3] = [
    ("ada@example.com", "analytical engine 1843"),
    ("Bob.Smith@Example.com", "hunter2"),
    ("chloé@example.com", "ﬁve Cafe\u{301}s, no normalising"),
];

/// The legacy app as a child process, killed on drop.
struct Legacy {
    base: String,
    child: tokio::process::Child,
}

impl Drop for Legacy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_legacy(python: &std::path::Path, folder: &std::path::Path) -> Legacy {
    let app = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/flask-tutorial-legacy/app.py");
    let port = free_port();
    std::fs::create_dir_all(folder.join("instance")).unwrap();
    let child = tokio::process::Command::new(python)
        .arg(app)
        .current_dir(folder)
        .env("LEGACY_DATABASE", folder.join("instance/flaskr.sqlite"))
        .env("LEGACY_PORT", port.to_string())
        .env("FLASK_SECRET_KEY", "test-only")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the legacy Flask app starts");
    let legacy = Legacy { base: format!("http://127.0.0.1:{port}"), child };
    for _ in 0..100 {
        if client().get(&legacy.base).send().await.is_ok() {
            return legacy;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the legacy Flask app did not answer within 10 s");
}

/// Whether the sqlite3 command line is there (scripts/test installs it).
fn sqlite3_available() -> bool {
    let found =
        std::process::Command::new("sqlite3").arg("-version").output().is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the sqlite3 command is missing"
    );
    if !found {
        eprintln!("SKIPPED: no sqlite3 command; run scripts/test");
    }
    found
}

/// Registers everyone through the old app's pages and checks they can sign in
/// there; returns the CSV the documented command exports.
async fn legacy_users_exported(python: &std::path::Path, folder: &std::path::Path) -> String {
    let legacy = start_legacy(python, folder).await;
    for (email, password) in PEOPLE {
        let c = client();
        let res = c
            .post(format!("{}/register", legacy.base))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{email} registers in the old app");
        let res = c
            .post(format!("{}/login", legacy.base))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            (res.status(), location(&res)),
            (StatusCode::FOUND, "/".to_owned()),
            "{email} signs in there"
        );
    }
    drop(legacy);
    let out =
        tokio::process::Command::new("sh").arg("-c").arg(EXPORT).current_dir(folder).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(folder.join("users.csv")).unwrap()
}

async fn the_flask_tutorials_users_sign_in_to_portcullis_with_their_passwords(backend: Backend) {
    let Some(python) = legacy_python() else { return };
    if !sqlite3_available() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let csv = legacy_users_exported(&python, folder.path()).await;
    assert!(csv.starts_with("external_id,email,password_hash,created_at\n"), "{csv}");
    assert!(csv.contains(",scrypt:32768:8:1$"), "Werkzeug's default hash: {csv:.120}");

    let app = TestApp::spawn(backend).await;
    let ran = import(&app.db.url, "users.csv", &csv, &[]).await;
    assert_eq!((ran.code, ran.stdout.as_str()), (0, "imported: 3, skipped: 0\n"), "{}", ran.stderr);

    for (i, (email, password)) in PEOPLE.iter().enumerate() {
        let c = client();
        let wrong = app.post_form(&c, "/login", "/login", &[("email", email), ("password", "not it")]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{email}");
        let res = app.post_form(&c, "/login", "/login", &[("email", email), ("password", password)]).await;
        assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/account".to_owned()), "{email}");
        let account = app.get(&c, "/account").await;
        assert_eq!(account.status(), StatusCode::OK);
        let creds = app.store.find_credentials_by_email(&email.to_lowercase()).await.unwrap().unwrap();
        assert!(creds.password_hash.starts_with("$argon2id$"), "{email}: the Werkzeug hash is gone");
        let shown = app.store.admin_user(creds.user.id, app.clock.now()).await.unwrap().unwrap();
        assert_eq!(shown.external_id, Some((i + 1).to_string()), "{email}: the old id is kept");
    }
    app.stop().await;
}

#[test]
fn the_documented_export_command_is_the_one_tested() {
    let doc = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/migrating-from-flask.md"),
    )
    .unwrap();
    assert!(doc.contains(EXPORT), "docs/migrating-from-flask.md shows: {EXPORT}");
}

backend_tests!(the_flask_tutorials_users_sign_in_to_portcullis_with_their_passwords);
