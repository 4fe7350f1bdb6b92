//! The command's contract (SPEC §1, §9): `imported: N, skipped: M`, every error as
//! `line N: FIELD: reason` and exit 1 with nothing written, `--dry-run`,
//! `--skip-existing`, standard input, the format from the extension, the audit
//! event, and `external_id` shown to administrators and in the export.

use std::fmt::Write as _;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Ran, import};
use crate::helpers::{Backend, TestApp, backend_tests, client, run_portcullis};

const HEADER: &str = "email,password_hash,email_verified,created_at,groups,external_id\n";
/// A Werkzeug pbkdf2 hash of "correct horse ✓" (made with Python's hashlib).
const HASH: &str =
    "pbkdf2:sha256:1000$AbCdEfGh12345678$fc9348f9599cbd88b45fd1011e353b0d166c5ebacdc107ec3a3efdd9585dc3af";

async fn emails(app: &TestApp) -> Vec<String> {
    let mut all: Vec<String> = app.store.list_users().await.unwrap().into_iter().map(|u| u.email).collect();
    all.sort();
    all
}

async fn group_names(app: &TestApp) -> Vec<String> {
    app.store.list_groups().await.unwrap().into_iter().map(|g| g.name.as_str().to_owned()).collect()
}

fn error_lines(ran: &Ran) -> Vec<&str> {
    ran.stderr.lines().filter(|l| l.starts_with("line ")).collect()
}

async fn a_file_with_one_bad_line_leaves_the_database_unchanged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("existing@example.com").await;
    // Three batches of good lines (written inside the transaction), then one
    // bad line: everything goes.
    let mut file = String::from(HEADER);
    for i in 0..1200 {
        writeln!(file, "user{i}@example.com,{HASH},1,2024-01-02 03:04:05,newgroup,{i}").unwrap();
    }
    file.push_str("broken@,,,,,\n");
    let ran = import(&app.db.url, "users.csv", &file, &[]).await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(error_lines(&ran), ["line 1202: email: enter a valid email address, like name@example.com"]);
    let last = ran.stderr.lines().last().unwrap();
    assert!(last.starts_with("error: 1 error in ") && last.ends_with("; nothing was imported"), "{last}");
    assert_eq!(ran.stdout, "");
    assert_eq!(emails(&app).await, ["existing@example.com"]);
    assert_eq!(group_names(&app).await, ["admin"], "no group created");

    // A duplicate found only when the database checks it (two batches apart).
    let mut file = String::from(HEADER);
    for i in 0..700 {
        writeln!(file, "user{i}@example.com,,,,,").unwrap();
    }
    file.push_str("USER3@example.com,,,,,\n");
    let ran = import(&app.db.url, "users.csv", &file, &[]).await;
    assert_eq!(ran.code, 1);
    assert_eq!(error_lines(&ran), ["line 702: email: the same address as line 5"]);
    assert_eq!(emails(&app).await, ["existing@example.com"]);
    app.stop().await;
}

async fn every_error_is_listed_by_line_and_field_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("taken@example.com").await;
    let file = format!(
        "{HEADER}\
         ok@example.com,{HASH},1,,,\n\
         not-an-email,md5$abc$def,maybe,yesterday,Bad Group,\n\
         TAKEN@example.com,,,,,\n\
         ok@example.com,,,,,\n\
         big@example.com,scrypt:1048576:8:1$salt${},,,,\n\
         slow@example.com,pbkdf2:sha256:2000000000$salt${},,,,\n\
         bcrypt@example.com,$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW,,,,\n",
        "00".repeat(64),
        "00".repeat(32)
    );
    let ran = import(&app.db.url, "users.csv", &file, &[]).await;
    assert_eq!(ran.code, 1);
    let errors = error_lines(&ran);
    let fields: Vec<String> =
        errors.iter().map(|e| e.splitn(3, ": ").take(2).collect::<Vec<_>>().join(": ")).collect();
    assert_eq!(
        fields,
        [
            "line 3: email",
            "line 3: password_hash",
            "line 3: email_verified",
            "line 3: created_at",
            "line 3: groups",
            "line 4: email",
            "line 5: email",
            "line 6: password_hash",
            "line 7: password_hash",
            "line 8: password_hash",
        ],
        "{}",
        ran.stderr
    );
    assert!(errors[5].ends_with("already exists (--skip-existing skips it)"), "{}", errors[5]);
    assert_eq!(errors[6], "line 5: email: the same address as line 2");
    assert!(errors[7].contains("1024 MiB"), "{}", errors[7]);
    assert_eq!(ran.stderr.lines().filter(|l| l.starts_with("error: ")).count(), 1, "one error: line");
    assert!(!ran.stderr.contains("fc9348f9"), "no hash is printed");
    assert_eq!(emails(&app).await, ["taken@example.com"]);
    app.stop().await;
}

async fn a_good_file_imports_and_is_audited_with_groups_and_external_ids(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = format!(
        "{HEADER}ada@example.com,{HASH},true,2021-06-01T08:00:00Z,staff;admin,17\nbob@example.com,,0,,,\n"
    );
    let dry = import(&app.db.url, "users.csv", &file, &["--dry-run"]).await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("would import: 2, skipped: 0"), "{}", dry.stdout);
    assert_eq!(emails(&app).await, Vec::<String>::new(), "a dry run writes nothing");
    assert_eq!(group_names(&app).await, ["admin"]);

    let ran = import(&app.db.url, "users.csv", &file, &[]).await;
    assert_eq!((ran.code, ran.stdout.as_str()), (0, "imported: 2, skipped: 0\n"), "{}", ran.stderr);
    assert_eq!(group_names(&app).await, ["admin", "staff"], "the missing group was created");

    let ada = app.store.find_credentials_by_email("ada@example.com").await.unwrap().unwrap();
    assert!(ada.user.email_verified);
    assert_eq!(ada.user.groups, ["admin", "staff"]);
    assert_eq!(ada.user.created_at, time::macros::datetime!(2021-06-01 08:00 UTC));
    let bob = app.store.find_credentials_by_email("bob@example.com").await.unwrap().unwrap();
    assert!(!bob.user.email_verified && !bob.user.invited);
    // Without a hash no password signs in (a reset or an invitation sets one).
    let no = app
        .post_json(&client(), "/api/v1/login", &json!({"email": "bob@example.com", "password": "x"}))
        .await;
    assert_eq!(no.status(), StatusCode::UNAUTHORIZED);

    // Ada is an administrator: the admin API and her export show her old id.
    let c = client();
    let res = app
        .post_json(&c, "/api/v1/login", &json!({"email": "ada@example.com", "password": "correct horse ✓"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Value = app.get(&c, "/api/v1/admin/users?q=ada").await.json().await.unwrap();
    assert_eq!(listed["users"][0]["external_id"], "17");
    let export: Value = app.get(&c, "/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["profile"]["external_id"], "17");

    let events: Value = app.get(&c, "/api/v1/admin/events?kind=users_imported").await.json().await.unwrap();
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "one event per import, none for the dry run");
    assert_eq!(events[0]["actor_id"], "cli");
    assert_eq!(events[0]["detail"], "imported=2,skipped=0,groups_created=1");

    // Again: every address exists; with --skip-existing they are skipped.
    let again = import(&app.db.url, "users.csv", &file, &[]).await;
    assert_eq!(again.code, 1);
    assert_eq!(error_lines(&again).len(), 2);
    let skipped = import(&app.db.url, "users.csv", &file, &["--skip-existing"]).await;
    assert_eq!(
        (skipped.code, skipped.stdout.as_str()),
        (0, "imported: 0, skipped: 2\n"),
        "{}",
        skipped.stderr
    );
    app.stop().await;
}

async fn json_lines_come_from_the_extension_or_the_flag_and_from_standard_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let line = |email: &str| {
        json!({"email": email, "password_hash": HASH, "groups": ["ops"], "external_id": 5}).to_string() + "\n"
    };
    let ran = import(&app.db.url, "users.ndjson", &line("a@example.com"), &[]).await;
    assert_eq!((ran.code, ran.stdout.as_str()), (0, "imported: 1, skipped: 0\n"), "{}", ran.stderr);
    let ran = import(&app.db.url, "-", &line("b@example.com"), &["--format", "jsonl"]).await;
    assert_eq!((ran.code, ran.stdout.as_str()), (0, "imported: 1, skipped: 0\n"), "{}", ran.stderr);
    // Standard input is CSV unless told otherwise.
    let ran = import(&app.db.url, "-", &line("c@example.com"), &[]).await;
    assert_eq!(ran.code, 1);
    assert!(error_lines(&ran)[0].starts_with("line 1: "), "{}", ran.stderr);
    let ran = import(
        &app.db.url,
        "-",
        "{\"email\": \"d@example.com\", \"email_verified\": \"yes\"}\n",
        &["--format", "jsonl"],
    )
    .await;
    assert_eq!(error_lines(&ran), ["line 1: email_verified: must be true or false"]);
    assert_eq!(emails(&app).await, ["a@example.com", "b@example.com"]);
    app.stop().await;
}

async fn usage_mistakes_exit_2_and_a_missing_file_exits_1_with_one_error_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bad_format = run_portcullis(&app.db.url, &["user", "import", "x.csv", "--format", "xml"]).await;
    assert_eq!(bad_format.status.code(), Some(2));
    let missing = run_portcullis(&app.db.url, &["user", "import", "/nonexistent/users.csv"]).await;
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot open \"/nonexistent/users.csv\""), "{stderr}");
    app.stop().await;
}

backend_tests!(
    a_file_with_one_bad_line_leaves_the_database_unchanged,
    every_error_is_listed_by_line_and_field_and_nothing_is_written,
    a_good_file_imports_and_is_audited_with_groups_and_external_ids,
    json_lines_come_from_the_extension_or_the_flag_and_from_standard_input,
    usage_mistakes_exit_2_and_a_missing_file_exits_1_with_one_error_line,
);
