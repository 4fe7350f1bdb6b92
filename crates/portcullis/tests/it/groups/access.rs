//! Forward-auth access rules (SPEC §7) over real HTTP, on both backends: each
//! policy for anonymous and signed-in requests, each matcher, first-match order,
//! the default policy, 401 versus 403, `X-Auth-User-Groups`, and the second-factor
//! marker of sessions (TOTP, recovery code) and tokens.

use reqwest::StatusCode;
use serde_json::json;

use portcullis::Config;
use portcullis_core::access::RawRule;
use portcullis_core::groups::Actor;

use crate::helpers::{Backend, PASSWORD, TestApp, backend_tests, client, within_one_second};
use crate::mfa::{code, enrolled};

backend_tests!(
    each_policy_answers_anonymous_and_signed_in_requests_as_the_spec_says,
    hosts_paths_and_methods_match_as_the_spec_says_and_the_first_match_wins,
    the_default_policy_applies_when_no_rule_matches,
    two_factor_needs_a_sign_in_with_a_second_factor,
);

pub(crate) fn rule(
    host: Option<&str>,
    path: Option<&str>,
    methods: &[&str],
    policy: &str,
    groups: &[&str],
) -> RawRule {
    RawRule {
        host: host.map(str::to_owned),
        path: path.map(str::to_owned),
        methods: (!methods.is_empty()).then(|| methods.iter().map(|m| (*m).to_owned()).collect()),
        policy: policy.to_owned(),
        groups: (!groups.is_empty()).then(|| groups.iter().map(|g| (*g).to_owned()).collect()),
    }
}

fn rules(c: &mut Config) {
    c.access.rules = vec![
        rule(Some("public.example.com"), None, &[], "public", &[]),
        rule(None, Some("/deny*"), &[], "deny", &[]),
        rule(None, Some("/2fa/*"), &[], "two_factor", &[]),
        rule(None, Some("/ops/*"), &["POST", "delete"], "groups", &["ops"]),
        rule(None, Some("/ops/*"), &[], "signed_in", &[]),
        rule(None, Some("/admin/*"), &[], "groups", &["admin", "ops"]),
        rule(Some("*.corp.example.com"), None, &[], "groups", &["corp"]),
    ];
}

/// What `/auth/verify` answered for a request to `host` + `uri` with `method`.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub email: Option<String>,
    pub groups: Option<String>,
    pub code: Option<String>,
}

pub(crate) async fn ask(
    base: &str,
    c: &reqwest::Client,
    host: &str,
    uri: &str,
    method: Option<&str>,
) -> Answer {
    let mut req = c
        .get(format!("{base}/auth/verify"))
        .header("x-forwarded-host", host)
        .header("x-forwarded-uri", uri)
        .header("x-forwarded-proto", "https");
    if let Some(m) = method {
        req = req.header("x-forwarded-method", m);
    }
    let res = req.send().await.expect("verify");
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, email, groups) = (res.status(), header("x-auth-user-email"), header("x-auth-user-groups"));
    let code = if status.is_success() {
        None
    } else {
        res.json::<serde_json::Value>().await.ok().and_then(|v| v["code"].as_str().map(str::to_owned))
    };
    Answer { status, email, groups, code }
}

async fn status(
    app: &TestApp,
    c: &reqwest::Client,
    host: &str,
    uri: &str,
    method: Option<&str>,
) -> StatusCode {
    ask(&app.base, c, host, uri, method).await.status
}

const APP: &str = "app.example.com";

async fn each_policy_answers_anonymous_and_signed_in_requests_as_the_spec_says(backend: Backend) {
    let app = TestApp::spawn_with(backend, rules).await;
    let anon = client();

    // public: 200 either way; identity headers only when signed in.
    let a = ask(&app.base, &anon, "public.example.com", "/", None).await;
    assert_eq!((a.status, a.email, a.groups), (StatusCode::OK, None, None), "public, anonymous: no identity");
    // deny: 403 even for anonymous requests (signing in would not help).
    let a = ask(&app.base, &anon, APP, "/deny", None).await;
    assert_eq!((a.status, a.code.as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")));
    // Sign-in needed: 401 for anonymous requests.
    for (uri, method) in
        [("/2fa/x", None), ("/ops/x", Some("POST")), ("/ops/x", None), ("/admin", None), ("/", None)]
    {
        let a = ask(&app.base, &anon, APP, uri, method).await;
        assert_eq!(
            (a.status, a.code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
            "{uri}"
        );
    }

    let ada = app.signed_in("ada@example.com").await;
    let a = ask(&app.base, &ada, "public.example.com", "/", None).await;
    assert_eq!(
        (a.status, a.email.as_deref()),
        (StatusCode::OK, Some("ada@example.com")),
        "public, signed in"
    );
    assert_eq!(a.groups.as_deref(), Some(""), "X-Auth-User-Groups is sent empty for a user in no group");
    assert_eq!(status(&app, &ada, APP, "/deny", None).await, StatusCode::FORBIDDEN, "deny is for everyone");
    assert_eq!(status(&app, &ada, APP, "/ops/x", None).await, StatusCode::OK, "signed_in");
    assert_eq!(status(&app, &ada, APP, "/", None).await, StatusCode::OK, "the default, signed_in");
    // Signed in but not allowed: 403, never 401 (signing in again would not help).
    for (uri, method) in [("/2fa/x", None), ("/ops/x", Some("POST")), ("/admin/x", None)] {
        let a = ask(&app.base, &ada, APP, uri, method).await;
        assert_eq!((a.status, a.code.as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")), "{uri}");
    }

    // groups: a member of any of the listed groups passes, within a second of joining.
    let auth = app.state.auth();
    auth.create_group("ops", "", Actor::Cli).await.expect("group");
    auth.create_group("zz", "", Actor::Cli).await.expect("group");
    auth.add_to_group("zz", "ada@example.com", Actor::Cli).await.expect("added");
    auth.add_to_group("ops", "ada@example.com", Actor::Cli).await.expect("added");
    assert!(
        within_one_second(async || status(&app, &ada, APP, "/ops/x", Some("POST")).await == StatusCode::OK)
            .await,
        "a new member passes"
    );
    let a = ask(&app.base, &ada, APP, "/admin/x", None).await;
    assert_eq!((a.status, a.groups.as_deref()), (StatusCode::OK, Some("ops,zz")), "any listed group; sorted");
    auth.remove_from_group("ops", "ada@example.com", Actor::Cli).await.expect("removed");
    assert!(
        within_one_second(async || status(&app, &ada, APP, "/admin/x", None).await == StatusCode::FORBIDDEN)
            .await,
        "a removed member is refused within a second"
    );

    // A first-party bearer token is judged like the session it stands for.
    let t: serde_json::Value = app
        .post_json(&client(), "/api/v1/tokens", &json!({"email": "ada@example.com", "password": PASSWORD}))
        .await
        .json()
        .await
        .expect("json");
    let bearer = |uri: &'static str| {
        client()
            .get(app.url("/auth/verify"))
            .header("x-forwarded-host", APP)
            .header("x-forwarded-uri", uri)
            .bearer_auth(t["access_token"].as_str().unwrap().to_owned())
            .send()
    };
    assert_eq!(bearer("/ops/x").await.expect("verify").status(), StatusCode::OK);
    assert_eq!(bearer("/admin/x").await.expect("verify").status(), StatusCode::FORBIDDEN);
    auth.add_to_group("ops", "ada@example.com", Actor::Cli).await.expect("added");
    let res = bearer("/admin/x").await.expect("verify");
    assert_eq!(res.status(), StatusCode::OK, "membership is read per request for tokens too");
    assert_eq!(res.headers()["x-auth-user-groups"], "ops,zz");
    app.stop().await;
}

async fn hosts_paths_and_methods_match_as_the_spec_says_and_the_first_match_wins(backend: Backend) {
    let app = TestApp::spawn_with(backend, rules).await;
    let anon = client();
    let s = async |host: &str, uri: &str, method: Option<&str>| status(&app, &anon, host, uri, method).await;
    let (ok, unauth, forbidden) = (StatusCode::OK, StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN);

    // Host: case-insensitive, port ignored; a wildcard matches any depth, not the bare domain.
    assert_eq!(s("PUBLIC.Example.COM:8443", "/", None).await, ok);
    assert_eq!(s("public.example.com.evil.net", "/", None).await, unauth, "exact, not a prefix");
    let ada = app.signed_in("ada@example.com").await;
    let corp = async |host: &str| status(&app, &ada, host, "/x", None).await;
    assert_eq!(corp("wiki.corp.example.com").await, forbidden, "one level down");
    assert_eq!(corp("a.b.corp.example.com:443").await, forbidden, "any depth");
    assert_eq!(corp("corp.example.com").await, ok, "not the bare domain (falls to the default)");
    assert_eq!(corp("evilcorp.example.com").await, ok, "a label boundary, not a suffix");

    // Path: `/x/*` covers `/x` and below, not `/xy`; exact and prefix; no query.
    assert_eq!(s(APP, "/deny", None).await, forbidden);
    assert_eq!(s(APP, "/denyall/x", None).await, forbidden, "`/deny*` is a plain prefix");
    assert_eq!(s(APP, "/deny?next=/public", None).await, forbidden, "the query is not part of the path");
    assert_eq!(status(&app, &ada, APP, "/2fa", None).await, forbidden, "`/2fa/*` matches `/2fa` itself");
    assert_eq!(status(&app, &ada, APP, "/2fax", None).await, ok, "but not `/2fax`");
    // Percent-decoding and dot segments before matching.
    assert_eq!(s(APP, "/%64eny", None).await, forbidden, "percent-decoded");
    assert_eq!(s(APP, "/public/../deny", None).await, forbidden, "dot segments removed");
    assert_eq!(s(APP, "/./deny", None).await, forbidden);
    assert_eq!(s(APP, "/x/%2e%2e/deny", None).await, forbidden, "encoded dot segments too");
    assert_eq!(s(APP, "//deny", None).await, forbidden, "merged slashes");
    assert_eq!(s(APP, "/deny%zz", None).await, forbidden, "an unreadable path is refused");

    // Methods: case-insensitive; a rule with methods does not match without the header.
    assert_eq!(status(&app, &ada, APP, "/ops/x", Some("post")).await, forbidden, "POST: the groups rule");
    assert_eq!(status(&app, &ada, APP, "/ops/x", Some("DELETE")).await, forbidden);
    assert_eq!(status(&app, &ada, APP, "/ops/x", Some("GET")).await, ok, "GET: the next rule, signed_in");
    assert_eq!(status(&app, &ada, APP, "/ops/x", None).await, ok, "no method: the methods rule is skipped");
    // First match wins: `public.example.com/deny` is public, the host rule comes first.
    assert_eq!(s("public.example.com", "/deny", None).await, ok, "the first matching rule decides");
    app.stop().await;
}

async fn the_default_policy_applies_when_no_rule_matches(backend: Backend) {
    for (default, anonymous, signed_in) in [
        ("public", StatusCode::OK, StatusCode::OK),
        ("signed_in", StatusCode::UNAUTHORIZED, StatusCode::OK),
        ("two_factor", StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN),
        ("deny", StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
    ] {
        let app = TestApp::spawn_with(backend, |c| {
            c.access.default_policy = default.into();
            c.access.rules = vec![rule(None, Some("/open"), &[], "public", &[])];
        })
        .await;
        let ada = app.signed_in("ada@example.com").await;
        assert_eq!(status(&app, &client(), APP, "/x", None).await, anonymous, "{default}, anonymous");
        assert_eq!(status(&app, &ada, APP, "/x", None).await, signed_in, "{default}, signed in");
        assert_eq!(
            status(&app, &client(), APP, "/open", None).await,
            StatusCode::OK,
            "{default}: rules first"
        );
        // Without the forwarded headers (no rule can match) the default decides too.
        let bare = app.get(&client(), "/auth/verify").await.status();
        assert_eq!(bare, anonymous, "{default}, no X-Forwarded-* headers");
        app.stop().await;
    }
}

async fn two_factor_needs_a_sign_in_with_a_second_factor(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.access.rules = vec![rule(None, Some("/2fa/*"), &[], "two_factor", &[])];
    })
    .await;
    let plain = app.signed_in("plain@example.com").await;
    assert_eq!(status(&app, &plain, APP, "/2fa/x", None).await, StatusCode::FORBIDDEN, "password only");

    // The session that enrolled was opened with the password alone.
    let (enrolling, secret, recovery) = enrolled(&app, "totp@example.com").await;
    assert_eq!(status(&app, &enrolling, APP, "/2fa/x", None).await, StatusCode::FORBIDDEN, "enrolled since");
    let second_step = async |answer: String| {
        let c = client();
        let body = json!({"email": "totp@example.com", "password": PASSWORD});
        assert_eq!(app.post_json(&c, "/api/v1/login", &body).await.status(), StatusCode::OK);
        let res = app.post_json(&c, "/api/v1/login/mfa", &json!({"code": answer})).await;
        assert_eq!(res.status(), StatusCode::OK, "second step");
        c
    };
    let with_totp = second_step(code(&app, &secret, 0)).await;
    assert_eq!(status(&app, &with_totp, APP, "/2fa/x", None).await, StatusCode::OK, "a TOTP sign-in");
    let with_recovery = second_step(recovery[0].clone()).await;
    assert_eq!(status(&app, &with_recovery, APP, "/2fa/x", None).await, StatusCode::OK, "a recovery code");

    // Tokens: a pair asked for with a code carries the marker; refreshing keeps it.
    app.clock.advance(time::Duration::seconds(30));
    let body = json!({"email": "totp@example.com", "password": PASSWORD, "code": code(&app, &secret, 0)});
    let t: serde_json::Value =
        app.post_json(&client(), "/api/v1/tokens", &body).await.json().await.expect("json");
    let refreshed: serde_json::Value = app
        .post_json(&client(), "/api/v1/tokens/refresh", &json!({"refresh_token": t["refresh_token"]}))
        .await
        .json()
        .await
        .expect("json");
    for token in [&t["access_token"], &refreshed["access_token"]] {
        let res = client()
            .get(app.url("/auth/verify"))
            .header("x-forwarded-uri", "/2fa/x")
            .bearer_auth(token.as_str().unwrap())
            .send()
            .await
            .expect("verify");
        assert_eq!(res.status(), StatusCode::OK, "a token whose sign-in used a code");
    }
    let body = json!({"email": "plain@example.com", "password": PASSWORD});
    let t: serde_json::Value =
        app.post_json(&client(), "/api/v1/tokens", &body).await.json().await.expect("json");
    let res = client()
        .get(app.url("/auth/verify"))
        .header("x-forwarded-uri", "/2fa/x")
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .expect("verify");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a password-only token");
    app.stop().await;
}

/// Two real `portcullis serve` processes on one PostgreSQL database: a membership
/// added or removed with the CLI changes what forward-auth answers on both nodes
/// within a second, like a revocation (SPEC §4, §7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_change_reaches_every_node_of_a_cluster_within_a_second() {
    if !crate::helpers::postgres_available().await {
        return;
    }
    let db = crate::helpers::TestDb::create(Backend::Postgres).await;
    let toml = "[[access.rules]]\npath = \"/ops/*\"\npolicy = \"groups\"\ngroups = [\"ops\"]\n";
    let a = crate::helpers::Node::start_with_config(&db.url, toml, &[]).await;
    let b = crate::helpers::Node::start_with_config(&db.url, toml, &[]).await;
    let body = json!({"email": "ada@example.com", "password": PASSWORD});
    let res = client().post(a.url("/api/v1/register")).json(&body).send().await.expect("register");
    assert_eq!(res.status(), StatusCode::CREATED);
    let browser = {
        portcullis_upstream::install_crypto_provider();
        reqwest::Client::builder()
    }
    .cookie_store(true)
    .build()
    .expect("client");
    let res = browser.post(a.url("/api/v1/login")).json(&body).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = crate::helpers::set_cookie(res.headers(), "portcullis_session").expect("session cookie");
    let cookie = cookie.split(';').next().expect("name=value").to_owned();
    let on = async |node: &crate::helpers::Node| {
        client()
            .get(node.url("/auth/verify"))
            .header("cookie", &cookie)
            .header("x-forwarded-uri", "/ops/deploy")
            .send()
            .await
            .expect("verify")
            .status()
    };
    for node in [&a, &b] {
        assert_eq!(on(node).await, StatusCode::FORBIDDEN, "not a member yet");
    }
    let cli = async |args: &[&str]| {
        let out = crate::helpers::run_portcullis(&db.url, args).await;
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    cli(&["group", "create", "ops"]).await;
    cli(&["group", "add", "ops", "ada@example.com"]).await;
    let both = async |want: StatusCode| on(&a).await == want && on(&b).await == want;
    assert!(within_one_second(async || both(StatusCode::OK).await).await, "both nodes let the new member in");
    cli(&["group", "remove", "ops", "ada@example.com"]).await;
    assert!(
        within_one_second(async || both(StatusCode::FORBIDDEN).await).await,
        "both nodes refuse within 1 s"
    );
    a.kill().await;
    b.kill().await;
}
