//! The command line under the same rules: it cannot leave no enabled
//! administrator (`error: ... last administrator ...`, exit 1), and its changes
//! are recorded with the actor `cli`.

use reqwest::Method;
use serde_json::Value;

use super::{admin, id_of, ok_json, send};
use crate::helpers::{Backend, TestApp, backend_tests, run_portcullis};

backend_tests!(the_cli_cannot_leave_no_enabled_administrator_and_is_recorded_as_cli);

/// Runs a command that must fail with exit 1 and one `error:` line naming the rule.
async fn refused(app: &TestApp, args: &[&str]) {
    let out = run_portcullis(&app.db.url, args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "`portcullis {}` exits 1:\n{stderr}", args.join(" "));
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line:\n{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("last administrator"), "{}", lines[0]);
}

async fn ok(app: &TestApp, args: &[&str]) {
    let out = run_portcullis(&app.db.url, args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "`portcullis {}` succeeds:\n{stderr}", args.join(" "));
}

async fn the_cli_cannot_leave_no_enabled_administrator_and_is_recorded_as_cli(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let root = admin(&app, "root@example.com").await;
    app.register("ada@example.com").await;
    refused(&app, &["user", "disable", "root@example.com"]).await;
    refused(&app, &["user", "delete", "root@example.com"]).await;
    refused(&app, &["group", "remove", "admin", "root@example.com"]).await;
    let shown = ok_json(app.get(&root, "/api/v1/admin/users?q=root").await).await;
    assert_eq!(shown["users"][0]["disabled"], false, "still there and enabled");

    // Another administrator, disabled, does not count.
    ok(&app, &["group", "add", "admin", "ada@example.com"]).await;
    ok(&app, &["user", "disable", "ada@example.com"]).await;
    refused(&app, &["user", "disable", "root@example.com"]).await;
    ok(&app, &["user", "enable", "ada@example.com"]).await;
    ok(&app, &["group", "remove", "admin", "root@example.com"]).await;

    let ada = id_of(&app, "ada@example.com").await;
    let log = ok_json(
        app.get(&app.login("ada@example.com").await, &format!("/api/v1/admin/events?user={ada}")).await,
    )
    .await;
    let by_cli: Vec<&Value> =
        log["events"].as_array().unwrap().iter().filter(|e| e["actor_id"] == "cli").collect();
    let kinds: Vec<&str> = by_cli.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["user_enabled", "user_disabled", "group_member_added"], "newest first");
    assert_eq!(by_cli[0]["detail"], "by_operator");
    assert_eq!(by_cli[2]["detail"], "group=admin actor=cli");
    // And the one the command line took out of admin can no longer use the API:
    // the server learns of the other process's change within a second (its
    // per-node cache of sessions lives half a second).
    let refused = async || {
        send(&app, &root, Method::GET, "/api/v1/admin/users", None).await.status()
            == reqwest::StatusCode::FORBIDDEN
    };
    assert!(crate::helpers::within_one_second(refused).await, "refused within a second of leaving admin");
    let res = send(&app, &root, Method::GET, "/api/v1/admin/users", None).await;
    super::problem(res, reqwest::StatusCode::FORBIDDEN, "forbidden").await;
}
