//! The change feed (PostgreSQL `LISTEN`/`NOTIFY`): while it works, a node's hot
//! cache may keep a session or token family for `FED_TTL` (10 s), because every
//! change committed anywhere — another node, the CLI, SQL by hand — empties it as
//! soon as the notification arrives. These tests make each change straight in SQL
//! (no Portcullis process involved, so only the database's triggers can tell the
//! node) and ask for the refusal within a second: without the trigger the node
//! would serve its cached copy for up to ten. And when the feed breaks, the node
//! must not trust what it cached before. On PostgreSQL the feed is
//! `LISTEN`/`NOTIFY`; on SQLite (one server, but the CLI and SQL by hand write to
//! the same file) a change counter the triggers bump and the node reads.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::helpers::{Backend, Node, PASSWORD, TestDb, client, postgres_available, within_one_second};

/// Waits (up to 10 s) until the node reports its change feed working.
async fn feed_up(node: &Node) -> bool {
    for _ in 0..100 {
        let text = client().get(node.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if text.lines().any(|l| l.trim() == "portcullis_change_feed_up 1") {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

async fn me(c: &reqwest::Client, node: &Node) -> reqwest::Response {
    c.get(node.url("/api/v1/me")).send().await.unwrap()
}

async fn sql(db: &TestDb, statement: &str) {
    if db.url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

async fn signed_in(node: &Node, email: &str) -> reqwest::Client {
    let c = client();
    let res =
        c.post(node.url("/api/v1/login")).json(&json!({"email": email, "password": PASSWORD})).send().await;
    assert_eq!(res.unwrap().status(), StatusCode::OK);
    // Twice: the second answer comes from the node's cache.
    for _ in 0..2 {
        assert_eq!(me(&c, node).await.status(), StatusCode::OK);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_change_made_in_sql_reaches_a_node_that_caches_for_ten_seconds_within_one() {
    if postgres_available().await {
        changes_made_in_sql_reach_the_node(Backend::Postgres).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_change_made_in_sql_reaches_a_node_that_caches_for_ten_seconds_within_one() {
    changes_made_in_sql_reach_the_node(Backend::Sqlite).await;
}

async fn changes_made_in_sql_reach_the_node(backend: Backend) {
    let db = TestDb::create(backend).await;
    let node = Node::start(&db.url, &[]).await;
    assert!(feed_up(&node).await, "the node listens for changes:\n{}", node.log.lock().unwrap());
    for email in ["gone@example.com", "off@example.com", "member@example.com", "api@example.com"] {
        let res = client()
            .post(node.url("/api/v1/register"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    // A session deleted.
    let c = signed_in(&node, "gone@example.com").await;
    sql(&db, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = 'gone@example.com')")
        .await;
    assert!(
        within_one_second(async || me(&c, &node).await.status() == StatusCode::UNAUTHORIZED).await,
        "session"
    );

    // A user disabled.
    let c = signed_in(&node, "off@example.com").await;
    sql(&db, "UPDATE users SET disabled = TRUE WHERE email = 'off@example.com'").await;
    assert!(
        within_one_second(async || me(&c, &node).await.status() == StatusCode::UNAUTHORIZED).await,
        "disabled"
    );

    // A group joined: the cached user's groups are not served any more.
    sql(&db, "INSERT INTO access_groups (name, description, created_at) VALUES ('ops', '', 0)").await;
    let c = signed_in(&node, "member@example.com").await;
    sql(
        &db,
        "INSERT INTO group_members (group_name, user_id, added_at)
         SELECT 'ops', id, 0 FROM users WHERE email = 'member@example.com'",
    )
    .await;
    let in_ops = async || {
        let body: Value = me(&c, &node).await.json().await.unwrap();
        body["groups"] == json!(["ops"])
    };
    assert!(within_one_second(in_ops).await, "group");

    // A token family revoked: its access token is refused.
    let tokens: Value = client()
        .post(node.url("/api/v1/tokens"))
        .json(&json!({"email": "api@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let bearer =
        async || client().get(node.url("/api/v1/me")).bearer_auth(&access).send().await.unwrap().status();
    assert_eq!(bearer().await, StatusCode::OK);
    assert_eq!(bearer().await, StatusCode::OK);
    sql(&db, "DELETE FROM token_families").await;
    assert!(within_one_second(async || bearer().await == StatusCode::UNAUTHORIZED).await, "token family");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_node_whose_feed_broke_trusts_nothing_it_cached_before_and_listens_again() {
    if !postgres_available().await {
        return;
    }
    let db = TestDb::create(Backend::Postgres).await;
    let node = Node::start(&db.url, &[]).await;
    assert!(feed_up(&node).await, "the node listens for changes");
    let res = client()
        .post(node.url("/api/v1/register"))
        .json(&json!({"email": "lost@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let c = signed_in(&node, "lost@example.com").await;
    // The listening connection dies, and a change is made that notifies nobody
    // (triggers off for this connection): exactly a notification lost while the
    // node was not listening.
    sql(
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'portcullis-changes';
         SET session_replication_role = replica;
         DELETE FROM sessions;",
    )
    .await;
    assert!(
        within_one_second(async || me(&c, &node).await.status() == StatusCode::UNAUTHORIZED).await,
        "a session cached before the feed broke is not served on the strength of the new connection"
    );
    assert!(feed_up(&node).await, "the node listens again:\n{}", node.log.lock().unwrap());
    assert!(
        node.log.lock().unwrap().contains("lost the security change feed"),
        "the loss is logged:\n{}",
        node.log.lock().unwrap()
    );
}
