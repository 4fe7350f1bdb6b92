//! Groups (SPEC §7) as an operator and a user see them: the `group` commands of
//! the real binary against a running server's database, `User.groups` in the API
//! and the export, membership changes audited with actor and target and reaching
//! the running server within a second. On SQLite and PostgreSQL.

pub(crate) mod access;
mod oidc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, backend_tests, run_portcullis, within_one_second};

backend_tests!(
    group_commands_manage_groups_and_memberships,
    membership_changes_reach_the_running_server_within_a_second_and_are_audited,
    user_create_admin_joins_the_admin_group_which_cannot_be_deleted,
);

/// What a finished command printed, and how it ended.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn portcullis(app: &TestApp, args: &[&str]) -> Out {
    let out = run_portcullis(&app.db.url, args).await;
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command that must succeed; returns its standard output.
async fn ok(app: &TestApp, args: &[&str]) -> String {
    let out = portcullis(app, args).await;
    assert_eq!(out.code, Some(0), "`portcullis {}` succeeds:\n{}", args.join(" "), out.stderr);
    out.stdout
}

/// Runs a command that must fail with `code` and one `error: ...` line containing `says`.
async fn fails(app: &TestApp, args: &[&str], code: i32, says: &str) {
    let out = portcullis(app, args).await;
    assert_eq!(out.code, Some(code), "`portcullis {}` exits {code}:\n{}", args.join(" "), out.stderr);
    let lines: Vec<_> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr:\n{}", out.stderr);
    assert!(lines[0].starts_with("error: ") && lines[0].contains(says), "{says:?} in {:?}", lines[0]);
}

async fn me(app: &TestApp, c: &reqwest::Client) -> Value {
    let res = app.get(c, "/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("json")
}

async fn group_commands_manage_groups_and_memberships(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("ada@example.com").await;
    app.register("bob@example.com").await;

    assert!(ok(&app, &["group", "create", "ops", "--description", "Operations"]).await.contains("ops"));
    ok(&app, &["group", "create", "dev"]).await;
    fails(&app, &["group", "create", "ops"], 1, "already exists").await;
    fails(&app, &["group", "create", "Ops"], 2, "group name").await;
    fails(&app, &["group", "create", "a,b"], 2, "group name").await;

    let listed: Value = serde_json::from_str(&ok(&app, &["group", "list", "--json"]).await).expect("json");
    let names: Vec<_> = listed.as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "dev", "ops"], "every group, by name, admin included");
    assert_eq!(listed[2]["description"], "Operations");
    assert_eq!(listed[2]["members"], 0);
    let table = ok(&app, &["group", "list"]).await;
    assert!(table.contains("ops") && table.contains("Operations"), "the table lists groups:\n{table}");

    assert!(ok(&app, &["group", "add", "ops", "ada@example.com"]).await.contains("added"));
    assert!(ok(&app, &["group", "add", "ops", "ADA@example.com"]).await.contains("already"), "idempotent");
    ok(&app, &["group", "add", "ops", "bob@example.com"]).await;
    ok(&app, &["group", "add", "dev", "ada@example.com"]).await;
    fails(&app, &["group", "add", "ops", "nobody@example.com"], 1, "no user").await;
    fails(&app, &["group", "add", "nope", "ada@example.com"], 1, "no group").await;
    fails(&app, &["group", "members", "nope"], 1, "no group").await;

    let members: Value =
        serde_json::from_str(&ok(&app, &["group", "members", "ops", "--json"]).await).expect("json");
    let emails: Vec<_> = members.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ada@example.com", "bob@example.com"]);
    assert_eq!(members[0]["groups"], json!(["dev", "ops"]), "a member's groups, sorted");
    assert!(ok(&app, &["group", "members", "ops"]).await.contains("bob@example.com"));
    let shown: Value =
        serde_json::from_str(&ok(&app, &["user", "show", "ada@example.com", "--json"]).await).expect("json");
    assert_eq!(shown["groups"], json!(["dev", "ops"]));

    assert!(ok(&app, &["group", "remove", "ops", "bob@example.com"]).await.contains("removed"));
    assert!(ok(&app, &["group", "remove", "ops", "bob@example.com"]).await.contains("not in"));
    ok(&app, &["group", "delete", "dev"]).await;
    fails(&app, &["group", "delete", "dev"], 1, "no group").await;
    let shown: Value =
        serde_json::from_str(&ok(&app, &["user", "show", "ada@example.com", "--json"]).await).expect("json");
    assert_eq!(shown["groups"], json!(["ops"]), "a deleted group is gone from its members");
    app.stop().await;
}

async fn membership_changes_reach_the_running_server_within_a_second_and_are_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = app.signed_in("ada@example.com").await;
    assert_eq!(me(&app, &c).await["groups"], json!([]), "no group yet");
    ok(&app, &["group", "create", "ops"]).await;
    ok(&app, &["group", "add", "ops", "ada@example.com"]).await;
    assert!(
        within_one_second(async || me(&app, &c).await["groups"] == json!(["ops"])).await,
        "the server sees a membership the CLI added within 1 s"
    );
    ok(&app, &["group", "remove", "ops", "ada@example.com"]).await;
    assert!(
        within_one_second(async || me(&app, &c).await["groups"] == json!([])).await,
        "and a removal within 1 s"
    );

    let events: Vec<Value> = app.get(&c, "/api/v1/me/events").await.json().await.expect("json");
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap_or_default()).collect();
    let added =
        events.iter().find(|e| e["type"] == "group_member_added").unwrap_or_else(|| panic!("{kinds:?}"));
    let removed = events.iter().find(|e| e["type"] == "group_member_removed").expect("removal audited");
    for e in [added, removed] {
        assert_eq!(e["detail"], "group=ops actor=cli", "the group and the actor are recorded: {e}");
    }
    let page = app.get(&c, "/account").await.text().await.expect("account page");
    assert!(page.contains("Added to the group ops"), "the security log on the account page names the change");
    assert!(page.contains("Removed from the group ops"));

    ok(&app, &["group", "add", "ops", "ada@example.com"]).await;
    let export = async || -> Value { app.get(&c, "/api/v1/me/export").await.json().await.expect("json") };
    assert!(
        within_one_second(async || export().await["profile"]["groups"] == json!(["ops"])).await,
        "the export holds the groups"
    );
    app.stop().await;
}

async fn user_create_admin_joins_the_admin_group_which_cannot_be_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mut create, _dir) = crate::helpers::portcullis_command(
        &app.db.url,
        &["user", "create", "--email", "root@example.com", "--admin", "--password-stdin"],
    );
    create.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
    let mut child = create.spawn().expect("spawn");
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(format!("{}\n", crate::helpers::PASSWORD).as_bytes()).await.expect("write");
    }
    assert!(child.wait().await.expect("wait").success(), "user create --admin succeeds");
    let members = ok(&app, &["group", "members", "admin", "--json"]).await;
    let members: Value = serde_json::from_str(&members).expect("json");
    assert_eq!(members[0]["email"], "root@example.com");
    assert_eq!(members[0]["is_admin"], true);
    let c = app.login("root@example.com").await;
    assert_eq!(me(&app, &c).await["groups"], json!(["admin"]));
    fails(&app, &["group", "delete", "admin"], 1, "always exists").await;
    app.stop().await;
}
