//! Forward-auth (`GET /auth/verify`) and `next` URLs on allowed origins.

use reqwest::StatusCode;

use crate::helpers::{Backend, PASSWORD, TestApp, client, location, within_one_second};

async fn app() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.allowed_redirect_origins = vec!["https://app.example.com".into()];
    })
    .await
}

#[tokio::test]
async fn a_valid_session_is_answered_with_the_user_in_headers() {
    let app = app().await;
    let user = app.register("fwd@example.com").await;
    let c = app.login("fwd@example.com").await;
    let res = app.get(&c, "/auth/verify").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-auth-user-email"], "fwd@example.com");
    assert_eq!(res.headers()["x-auth-user-id"], user["user"]["id"].as_str().unwrap());
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn anonymous_requests_get_401_or_a_redirect_to_sign_in_on_an_allowed_origin() {
    let app = app().await;
    let res = app.get(&client(), "/auth/verify").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let browser = |proto: &str, host: &str| {
        client()
            .get(app.url("/auth/verify"))
            .header("accept", "text/html")
            .header("x-forwarded-proto", proto)
            .header("x-forwarded-host", host)
            .header("x-forwarded-uri", "/dash?tab=1")
    };
    let res = browser("https", "app.example.com").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        location(&res),
        format!("{}/login?next=https%3A%2F%2Fapp.example.com%2Fdash%3Ftab%3D1", app.base)
    );
    let res = browser("https", "evil.example").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "never a redirect to an origin not allowed");
    let res = client()
        .get(app.url("/auth/verify"))
        .header("accept", "text/html")
        .header("x-original-url", "https://app.example.com/x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "nginx's X-Original-URL");
    let res = client()
        .get(app.url("/auth/verify"))
        .header("x-original-url", "https://app.example.com/x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "API clients get 401");
}

#[tokio::test]
async fn signing_in_returns_to_an_absolute_next_only_on_an_allowed_origin() {
    let app = app().await;
    app.register("back@example.com").await;
    for (next, expected) in [
        ("https://app.example.com/dash?tab=1", "https://app.example.com/dash?tab=1"),
        ("https://evil.example/dash", "/account"),
        ("https://app.example.com.evil.example/", "/account"),
    ] {
        let c = client();
        let res = app
            .post_form(
                &c,
                "/login",
                "/login",
                &[("email", "back@example.com"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(location(&res), expected, "{next}");
    }
}

/// A real nginx, configured with `docs/nginx-forward-auth.conf`, in front of a tiny
/// application: signed-in requests reach it with the user in headers, anonymous
/// browsers are sent to sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_with_the_documented_config_protects_an_application() {
    let Some(nginx) = which("nginx") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but nginx is not installed");
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx-light)");
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.allowed_redirect_origins = vec![];
        group_rules(c);
    })
    .await;
    app.register("behind-nginx@example.com").await;

    let upstream_addr = echo_upstream().await;

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let site =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/nginx-forward-auth.conf"))
            .unwrap()
            .replace("PORTCULLIS_ADDR", app.base.trim_start_matches("http://"))
            .replace("PORTCULLIS_URL", &app.base)
            .replace("APP_ADDR", &upstream_addr.to_string())
            .replace("LISTEN", &format!("127.0.0.1:{port}"));
    let d = dir.path().display();
    std::fs::write(dir.path().join("site.conf"), site).unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            // One process (no master): killing it leaves no orphaned worker behind.
            "daemon off; master_process off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
             events {{}}\n\
             http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
             include {d}/site.conf; }}\n"
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(nginx)
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let front = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while client().get(&front).send().await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let res = client().get(format!("{front}/private?x=1")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("{}/login?next={front}/private?x=1", app.base));

    // The session cookie is host-wide, so the browser sends it to nginx too.
    let signed_in = app.login("behind-nginx@example.com").await;
    let res = signed_in.get(format!("{front}/private")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "hello behind-nginx@example.com");
    groups_decide_through_the_proxy(&app, &front, "behind-nginx@example.com", &signed_in).await;
    let _ = child.start_kill();
}

/// The access rules the proxy tests run with: `/ops/*` for the group `ops`,
/// `/public/*` for anyone, the rest for anyone signed in.
fn group_rules(c: &mut portcullis::Config) {
    use crate::groups::access::rule;
    c.access.rules = vec![
        rule(None, Some("/ops/*"), &[], "groups", &["ops"]),
        rule(None, Some("/public/*"), &[], "public", &[]),
    ];
}

/// Through the real proxy at `front`: a signed-in non-member gets 403, a member
/// reaches the application with `X-Auth-User-Groups`, a removal refuses again within
/// a second, and an anonymous client on a public path reaches it with no identity,
/// whatever identity headers it forged.
async fn groups_decide_through_the_proxy(
    app: &TestApp,
    front: &str,
    email: &str,
    signed_in: &reqwest::Client,
) {
    use portcullis_core::groups::Actor;
    let ops = format!("{front}/ops/deploy");
    let res = signed_in.get(&ops).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "signed in, not in ops: the proxy answers 403");
    let auth = app.state.auth();
    auth.create_group("ops", "", Actor::Cli).await.unwrap();
    auth.add_to_group("ops", email, Actor::Cli).await.unwrap();
    let passes = async || signed_in.get(&ops).send().await.unwrap().status() == StatusCode::OK;
    assert!(within_one_second(passes).await, "a member of ops passes within a second");
    let body = signed_in.get(&ops).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, format!("hello {email} groups=ops"), "the application sees the groups");
    auth.remove_from_group("ops", email, Actor::Cli).await.unwrap();
    let refused = async || signed_in.get(&ops).send().await.unwrap().status() == StatusCode::FORBIDDEN;
    assert!(within_one_second(refused).await, "a removed member is refused within a second");

    let res = client()
        .get(format!("{front}/public/status"))
        .header("x-auth-user-email", "forged@example.com")
        .header("x-auth-user-groups", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "public: anonymous requests pass");
    assert_eq!(res.text().await.unwrap(), "hello nobody", "with no identity, forged headers dropped");
}

/// The protected application: echoes who Portcullis said the user is.
async fn echo_upstream() -> std::net::SocketAddr {
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = upstream.local_addr().unwrap();
    let echo = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty());
        let who = header("x-auth-user-email").unwrap_or("nobody");
        match header("x-auth-user-groups") {
            Some(groups) => format!("hello {who} groups={groups}"),
            None => format!("hello {who}"),
        }
    });
    tokio::spawn(async move { axum::serve(upstream, echo).await.unwrap() });
    addr
}

/// A real Caddy (Debian's package), configured with `docs/caddy-forward-auth.Caddyfile`,
/// in front of a tiny application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_forward_auth_with_the_documented_config_protects_an_application() {
    let Some(caddy) = which("caddy") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but caddy is not installed");
        eprintln!("SKIPPED: caddy is not installed (apt-get install caddy)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let front = format!("http://127.0.0.1:{port}");
    let origin = front.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.server.allowed_redirect_origins = vec![origin];
        group_rules(c);
    })
    .await;
    app.register("behind-caddy@example.com").await;
    let upstream_addr = echo_upstream().await;

    let dir = tempfile::tempdir().unwrap();
    let site = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/caddy-forward-auth.Caddyfile"
    ))
    .unwrap()
    .replace("PORTCULLIS_ADDR", app.base.trim_start_matches("http://"))
    .replace("APP_ADDR", &upstream_addr.to_string())
    .replace("SITE", &front);
    let config = dir.path().join("Caddyfile");
    std::fs::write(&config, format!("{{\n\tadmin off\n\tauto_https off\n}}\n{site}")).unwrap();
    let mut child = tokio::process::Command::new(caddy)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&config)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while client().get(&front).send().await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "caddy did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // An API client is refused; a browser is sent to sign in and back.
    let res = client().get(format!("{front}/private?x=1")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res =
        client().get(format!("{front}/private?x=1")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        location(&res),
        format!(
            "{}/login?next={}",
            app.base,
            url::form_urlencoded::byte_serialize(format!("{front}/private?x=1").as_bytes())
                .collect::<String>()
        )
    );
    let signed_in = app.login("behind-caddy@example.com").await;
    let res = signed_in.get(format!("{front}/private")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "hello behind-caddy@example.com");
    // A bearer access token works through the proxy as well.
    let body = serde_json::json!({"email": "behind-caddy@example.com", "password": PASSWORD});
    let t: serde_json::Value = app.post_json(&client(), "/api/v1/tokens", &body).await.json().await.unwrap();
    let res = client()
        .get(format!("{front}/private"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), "hello behind-caddy@example.com");
    groups_decide_through_the_proxy(&app, &front, "behind-caddy@example.com", &signed_in).await;
    let _ = child.start_kill();
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.exists())
}
