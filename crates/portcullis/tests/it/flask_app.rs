//! `examples/flask-app` (issue #8): the Flask tutorial's application signs its users
//! in through Portcullis with Python's Authlib. A real `portcullis serve`, a client
//! made with the real CLI, the real Flask app; a cookie-keeping HTTP client plays the
//! browser through sign-in, consent, the protected page and RP-initiated logout.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Node, PASSWORD, client, csrf_from, location};

/// The virtualenv `scripts/test` prepares (or `PCTEST_FLASK_PYTHON`). Without it the
/// test skips with a printed reason, except under `CI=true`, where it fails.
fn python() -> Option<PathBuf> {
    let path = std::env::var_os("PCTEST_FLASK_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/flask-app/.venv/bin/python"),
        PathBuf::from,
    );
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing: scripts/test installs examples/flask-app/requirements.txt there",
        path.display()
    );
    eprintln!(
        "SKIPPED: no Flask virtualenv at {}; run scripts/test (or set PCTEST_FLASK_PYTHON)",
        path.display()
    );
    None
}

/// The Flask app as a child process, killed on drop.
struct Flask {
    base: String,
    child: tokio::process::Child,
}

impl Drop for Flask {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn run_cli(db_url: &str, args: &[&str], stdin: &str) -> String {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env("PORTCULLIS_DATABASE__URL", db_url)
        .env("PORTCULLIS_PASSWORD__ARGON2_MEMORY_KIB", "1024")
        .env("PORTCULLIS_PASSWORD__ARGON2_ITERATIONS", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the CLI runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Follows redirects with `c` from `url` until a non-redirect answer; returns it
/// and the URL that gave it.
async fn follow(c: &reqwest::Client, mut url: String) -> (reqwest::Response, String) {
    for _ in 0..10 {
        let res = c.get(&url).send().await.unwrap();
        if !res.status().is_redirection() {
            return (res, url);
        }
        let to = location(&res);
        url = if to.starts_with("http") { to } else { format!("{}{to}", origin(&url)) };
    }
    panic!("too many redirects from {url}");
}

fn origin(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}://{}", u.scheme(), u.host_str().unwrap())
        + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
}

/// Posts a form found on `page` (its `csrf_token` included) to `action` on `base`.
async fn post_form(
    c: &reqwest::Client,
    base: &str,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = csrf_from(page).expect("the page has a form with a CSRF token");
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    c.post(format!("{base}{action}")).form(&all).send().await.unwrap()
}

/// Starts `examples/flask-app/app.py` on `port` and waits until it answers.
async fn start_flask(
    python: &std::path::Path,
    portcullis: &str,
    client_id: &str,
    client_secret: &str,
    port: u16,
) -> Flask {
    let flask_base = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/flask-app/app.py"))
        .env("PORTCULLIS_URL", portcullis)
        .env("PORTCULLIS_CLIENT_ID", client_id)
        .env("PORTCULLIS_CLIENT_SECRET", client_secret)
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the Flask app starts");
    let flask = Flask { base: flask_base.clone(), child };
    let probe = client();
    let mut up = false;
    for _ in 0..100 {
        if probe.get(format!("{}/", flask.base)).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the Flask app listens on {}", flask.base);
    flask
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flask_tutorial_app_signs_users_in_through_portcullis_with_authlib() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("p.db").display());
    let portcullis = Node::start(&db_url, &[]).await;
    run_cli(&db_url, &["user", "create", "--email", "flask@example.com", "--password-stdin"], PASSWORD).await;
    let port = free_port();
    let flask_base = format!("http://127.0.0.1:{port}");
    let created = run_cli(
        &db_url,
        &[
            "client",
            "create",
            "--name",
            "Flask tutorial",
            "--redirect-uri",
            &format!("{flask_base}/callback"),
            "--redirect-uri",
            &format!("{flask_base}/"),
        ],
        "",
    )
    .await;
    let line = |key: &str| {
        created
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in {created:?}"))
            .trim()
            .to_owned()
    };
    let (client_id, client_secret) = (line("client_id:"), line("client_secret:"));

    let flask = start_flask(&python, &portcullis.base, &client_id, &client_secret, port).await;

    // The protected page sends an anonymous visitor through Flask's /login to
    // Portcullis' authorization endpoint, and on to Portcullis' sign-in page.
    let browser = client();
    let (res, at) = follow(&browser, format!("{}/profile", flask.base)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(at.starts_with(&format!("{}/login?next=", portcullis.base)), "{at}");
    let next: String =
        url::Url::parse(&at).unwrap().query_pairs().find(|(k, _)| k == "next").unwrap().1.into();
    let page = res.text().await.unwrap();
    let res = post_form(
        &browser,
        &portcullis.base,
        &page,
        "/login",
        &[("email", "flask@example.com"), ("password", PASSWORD), ("next", &next)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Not a first-party client: Portcullis asks the user to allow it.
    let (res, _) = follow(&browser, format!("{}{}", portcullis.base, location(&res))).await;
    let page = res.text().await.unwrap();
    assert!(page.contains("Allow Flask tutorial?"), "{page}");
    let request = page
        .split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let res = post_form(
        &browser,
        &portcullis.base,
        &page,
        "/oauth2/authorize",
        &[("request", &request), ("decision", "allow")],
    )
    .await;
    let callback = location(&res);
    assert!(callback.starts_with(&format!("{}/callback?code=", flask.base)), "{callback}");

    // Authlib exchanges the code with its PKCE verifier and validates the ID token.
    let (res, at) = follow(&browser, callback).await;
    assert_eq!(res.status(), StatusCode::OK, "at {at}");
    assert_eq!(at, format!("{}/profile", flask.base));
    let page = res.text().await.unwrap();
    assert!(page.contains("Signed in as flask@example.com"), "{page}");

    // Log out: the Flask session ends, then Portcullis' (after its confirmation).
    let res = browser.post(format!("{}/logout", flask.base)).send().await.unwrap();
    let (res, at) = follow(&browser, location(&res)).await;
    assert!(at.starts_with(&format!("{}/oauth2/logout?", portcullis.base)), "{at}");
    let page = res.text().await.unwrap();
    let request = page
        .split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let res = post_form(&browser, &portcullis.base, &page, "/oauth2/logout", &[("request", &request)]).await;
    assert_eq!(location(&res), format!("{}/", flask.base));
    let (res, _) = follow(&browser, location(&res)).await;
    assert!(res.text().await.unwrap().contains("You are not signed in."));
    let res = browser.get(portcullis.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "signed out of Portcullis too");
}
