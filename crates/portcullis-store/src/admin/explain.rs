//! The plans of the admin listings on a table of 20,000 users (and 40,000
//! events), asked of each database with the production SQL and its parameters
//! bound: every listing reads an index range, none scans a table or skips rows by
//! offset. (PostgreSQL after `ANALYZE`, as autovacuum would have done; SQLite
//! without statistics, as it runs. Below some 15,000 users PostgreSQL rightly
//! fetches a page's 51 rows by hashing the whole small table instead of 51
//! primary-key look-ups; from there on, and at a million, it looks them up.)
//! Printed with `--nocapture` for the record.

use sqlx::{AssertSqlSafe, Row as _};

use super::{
    EVENTS_BY_KIND, EVENTS_BY_USER, EVENTS_BY_USER_AND_KIND, EVENTS_PAGE, USERS_PAGE, USERS_PAGE_BY_EMAIL,
};
use crate::{ConnectOptions, Database};

const USERS: i64 = 20_000;

/// `(label, SQL, parameters)`: the parameters as text, cast by the query's use
/// (every one is a string or an integer).
fn listings() -> Vec<(&'static str, &'static str, Vec<Param>)> {
    use Param::{Int, Text};
    let now = Int(1_800_000_000);
    let marker = Text("!invited".into());
    let cursor = [Int(1_700_002_500), Text("00000000-0000-4000-8000-000000000000".into())];
    let range = |from: &str, to: &str| [Text(from.into()), Text(to.into())];
    let mut all = vec![
        (
            "users, first page",
            USERS_PAGE,
            vec![marker.clone(), now.clone(), Int(i64::MAX), Text(String::new()), Int(51)],
        ),
        (
            "users, a later page",
            USERS_PAGE,
            [vec![marker.clone(), now.clone()], cursor.to_vec(), vec![Int(51)]].concat(),
        ),
    ];
    for (label, from, to) in [
        ("users by a common prefix (\"user\": every one)", "user", "uses"),
        ("users by a rare prefix (\"user42\": 11 of them)", "user42", "user43"),
        ("users by a prefix nobody has (\"zz\")", "zz", "z{"),
    ] {
        let params =
            [vec![marker.clone(), now.clone()], range(from, to).to_vec(), cursor.to_vec(), vec![Int(51)]];
        all.push((label, USERS_PAGE_BY_EMAIL, params.concat()));
    }
    all.push(("events, a later page", EVENTS_PAGE, vec![Int(4000), Int(51)]));
    let user = Text("00000000-0000-4000-8000-000000000042".into());
    all.push(("events of a user", EVENTS_BY_USER, vec![user.clone(), Int(i64::MAX), Int(51)]));
    let failed = Text("login_failed".into());
    all.push((
        "events of a user and kind",
        EVENTS_BY_USER_AND_KIND,
        vec![user, failed, Int(i64::MAX), Int(51)],
    ));
    all.push(("events of a kind", EVENTS_BY_KIND, vec![Text("login_failed".into()), Int(i64::MAX), Int(51)]));
    all
}

#[derive(Clone)]
enum Param {
    Int(i64),
    Text(String),
}

macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Param::Int(i) => q.bind(*i),
                Param::Text(t) => q.bind(t.clone()),
            };
        }
        q
    }};
}

#[tokio::test]
async fn sqlite_listings_read_index_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&format!("sqlite://{}", dir.path().join("explain.db").display())).await;
    let Database::Sqlite(store) = &db else { unreachable!() };
    let pool = store.pool();
    let numbers = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS}) SELECT i FROM n"
    );
    let id = "'00000000-0000-4000-8000-' || substr('000000000000' || i, -12, 12)";
    fill(&db, &numbers, id, "randomblob(32)").await;
    for (label, sql, params) in listings() {
        let q = sqlx::query(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        let rows = bind_all!(q, &params).fetch_all(pool).await.unwrap();
        let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
        println!("SQLite, {label}:\n  {}", plan.join("\n  "));
        let outer: Vec<&String> = plan.iter().filter(|l| !l.contains("CORRELATED")).collect();
        // `SCAN page` reads the page of keys the subquery chose.
        let reads_table = plan.iter().any(|l| {
            l.starts_with("SCAN ")
                && l != "SCAN page"
                && !l.contains("USING INDEX")
                && !l.contains("COVERING")
        });
        assert!(!reads_table, "{label}: a scan without an index: {plan:?}");
        let ranged = plan.iter().any(|l| {
            l.contains("users_created_at_id (")
                || l.contains("users_email_created (email_canonical>? AND email_canonical<?")
                || l.contains("events_")
                || l.contains("INTEGER PRIMARY KEY (rowid<?)")
        });
        assert!(ranged, "{label}: no index range in {outer:?}");
    }
    db.close().await;
}

#[tokio::test]
async fn postgres_listings_read_index_ranges() {
    let admin = std::env::var("PCTEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but PostgreSQL is unreachable");
        eprintln!("SKIPPED: PostgreSQL at {admin} is unreachable");
        return;
    };
    let name = format!("pcexplain_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
    let db = open(&format!("{base}/{name}")).await;
    let Database::Postgres(store) = &db else { unreachable!() };
    let pool = store.pool();
    let numbers = format!("SELECT i FROM generate_series(1, {USERS}) AS n(i)");
    let id = "'00000000-0000-4000-8000-' || lpad(i::text, 12, '0')";
    fill(&db, &numbers, id, "sha256(i::text::bytea)").await;
    sqlx::raw_sql("ANALYZE").execute(pool).await.unwrap();
    for (label, sql, params) in listings() {
        let q = sqlx::query(AssertSqlSafe(format!("EXPLAIN {sql}")));
        let rows = bind_all!(q, &params).fetch_all(pool).await.unwrap();
        let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
        println!("PostgreSQL, {label}:\n  {}", plan.join("\n  "));
        assert!(!plan.iter().any(|l| l.contains("Seq Scan")), "{label}: a sequential scan: {plan:?}");
        assert!(plan.iter().any(|l| l.contains("Index")), "{label}: no index in {plan:?}");
    }
    db.close().await;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn open(url: &str) -> Database {
    let options = ConnectOptions {
        url: url.to_owned(),
        max_connections: 2,
        connect_timeout: std::time::Duration::from_secs(10),
        statement_timeout: std::time::Duration::from_secs(30),
    };
    let db = Database::connect(&options).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// `USERS` users (`user1@example.com`, ...; ids `00000000-0000-4000-8000-<i>`, one
/// a second), each with a session and two events, every tenth with a passkey,
/// every hundredth an administrator, all in the group `staff`. `numbers` yields 1..=USERS as `i`; `id` is
/// the id of user `i`, `bytes` 32 bytes unique to `i`.
async fn fill(db: &Database, numbers: &str, id: &str, bytes: &str) {
    let statements = [
        format!(
            "INSERT INTO users (id, email, email_canonical, password_hash, created_at, updated_at, password_changed_at)
             SELECT {id}, 'user' || i || '@example.com', 'user' || i || '@example.com', 'x',
                    1700000000 + i, 1700000000 + i, 1700000000 + i FROM ({numbers}) AS n"
        ),
        format!(
            "INSERT INTO sessions (token_hash, public_id, user_id, created_at, last_seen_at, expires_at,
                 idle_timeout_secs, remember, authenticated_at)
             SELECT {bytes}, {id}, {id}, 1800000000, 1800000000, 1800086400, 7200, FALSE, 1800000000
             FROM ({numbers}) AS n"
        ),
        format!(
            "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at)
             SELECT {id}, {id}, {bytes}, 'key', '{{}}', 1800000000 FROM ({numbers}) AS n WHERE i % 10 = 0"
        ),
        "INSERT INTO group_members (group_name, user_id, added_at)
         SELECT 'admin', id, 0 FROM users WHERE created_at % 100 = 0"
            .to_owned(),
        "INSERT INTO access_groups (name, created_at) VALUES ('staff', 0)".to_owned(),
        "INSERT INTO group_members (group_name, user_id, added_at) SELECT 'staff', id, 0 FROM users".to_owned(),
        format!(
            "INSERT INTO events (user_id, kind, outcome, created_at)
             SELECT {id}, CASE WHEN i % 10 = 0 THEN 'login_failed' ELSE 'login_succeeded' END, 'success',
                    1700000000 + i FROM ({numbers}) AS n"
        ),
        format!(
            "INSERT INTO events (user_id, kind, outcome, created_at)
             SELECT {id}, 'register', 'success', 1700000000 + i FROM ({numbers}) AS n"
        ),
    ];
    for sql in statements {
        match db {
            Database::Sqlite(s) => sqlx::raw_sql(AssertSqlSafe(sql)).execute(s.pool()).await.map(drop),
            Database::Postgres(s) => sqlx::raw_sql(AssertSqlSafe(sql)).execute(s.pool()).await.map(drop),
        }
        .unwrap();
    }
}
