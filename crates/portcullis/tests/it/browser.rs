//! End-to-end in real headless Chromium: the browser pages driven through
//! `chromedriver` over the W3C WebDriver HTTP protocol (plain `reqwest`, no browser
//! downloads). Skips with a printed reason when Chromium is absent, fails under `CI=true`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long any wait for the browser may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_registers_signs_in_reaches_the_account_page_and_signs_out_in_chromium() {
    let Some(browser) = Browser::launch().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let email = format!("e2e-{}@example.com", uuid::Uuid::new_v4().simple());

    register(&browser, &app, &email).await;
    sign_in(&browser, &app, &email).await;
    check_account_page(&browser, &app, &email).await;
    check_mfa_enrolment_shows_a_qr_code(&browser, &app).await;
    sign_out(&browser, &app).await;
}

/// The enrolment page's QR code (an inline SVG image) decodes and renders, so a
/// person can scan it with an authenticator app; the CSP allows it.
async fn check_mfa_enrolment_shows_a_qr_code(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/account/mfa")).await;
    browser.click("#mfa-enable").await;
    browser.wait_for_url(&app.url("/account/mfa/enable")).await;
    browser.find("#totp-qr").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let width = browser
            .execute("const i = document.getElementById('totp-qr'); return i.complete ? i.naturalWidth : 0")
            .await;
        if width.as_u64().unwrap_or(0) > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the QR image never rendered");
        tokio::time::sleep(POLL).await;
    }
    let secret = browser.text("#totp-secret").await.unwrap_or_default();
    assert_eq!(secret.trim().len(), 32, "the base32 secret is shown as text too: {secret:?}");
    let png = browser.screenshot().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-mfa.png");
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    browser.goto(&app.url("/account")).await;
}

pub(crate) async fn register(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/register")).await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.type_into("#password_confirm", PASSWORD).await;
    browser.click(r#"form[action="/register"] button[type="submit"]"#).await;
    browser.wait_for_url(&app.url("/login")).await;
    browser.wait_for_text(".flash", "Your account was created").await;
}

pub(crate) async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.type_into("#email", email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click(r#"form[action="/login"] button[type="submit"]"#).await;
    browser.wait_for_url(&app.url("/account")).await;
    browser.wait_for_text("#account-email", email).await;
}

async fn check_account_page(browser: &Browser, app: &TestApp, email: &str) {
    assert_eq!(
        browser.text("#nav-account").await.as_deref(),
        Some(email),
        "the header names the signed-in user"
    );
    let cookies = browser.cmd(reqwest::Method::GET, "/cookie", None).await;
    let session = cookies.as_array().into_iter().flatten().find(|c| c["name"] == "portcullis_session");
    let session = session.unwrap_or_else(|| panic!("the browser holds a session cookie; it has {cookies}"));
    assert_eq!(session["httpOnly"], true, "the session cookie is HttpOnly: {session}");
    let visible = browser.execute("return document.cookie").await;
    let visible = visible.as_str().expect("document.cookie is a string");
    assert!(
        !visible.contains("portcullis_session"),
        "page scripts must not see the session cookie: {visible:?}"
    );

    let png = browser.screenshot().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-account.png");
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create target/");
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("screenshot of {} written to {}", app.url("/account"), path.display());
}

pub(crate) async fn sign_out(browser: &Browser, app: &TestApp) {
    browser.click("#nav-logout").await;
    browser.wait_for_url(&app.url("/")).await;
    browser.wait_for_text(".flash", "You have been signed out").await;
    assert_eq!(browser.text("#nav-logout").await, None, "no sign-out button once signed out");

    browser.goto(&app.url("/account")).await;
    browser.wait_for_url(&app.url("/login?next=%2Faccount")).await;
}

/// A headless Chromium session behind a `chromedriver` child process. Dropping it ends
/// the session (which closes Chromium) and kills `chromedriver`, also when a test panics.
pub(crate) struct Browser {
    http: reqwest::Client,
    driver_url: String,
    session: String,
    driver: Child,
    // Removed only after Chromium has gone.
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` and a session, or returns `None` (after saying so) when
    /// the Debian packages are missing outside CI.
    pub(crate) async fn launch() -> Option<Self> {
        let missing: Vec<&str> =
            [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
        if !missing.is_empty() {
            let why =
                format!("{} not installed (apt-get install chromium chromium-driver)", missing.join(" and "));
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but {why}");
            eprintln!("SKIPPED: browser end-to-end test: {why}");
            return None;
        }
        let profile = tempfile::tempdir().expect("temp dir for the Chromium profile");
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = {
            portcullis_upstream::install_crypto_provider();
            reqwest::Client::builder()
        }
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
        let mut browser = Self {
            http,
            driver_url: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            driver,
            profile,
        };
        browser.wait_until_ready().await;
        browser.session = browser.new_session().await;
        browser
            .cmd(reqwest::Method::POST, "/window/rect", Some(json!({"width": 1280, "height": 1100})))
            .await;
        Some(browser)
    }

    pub(crate) async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited early with {status}");
            }
            let res = self.http.get(format!("{}/status", self.driver_url)).send().await;
            if let Ok(body) = res
                && body.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
            {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver not ready after {WAIT:?}");
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) async fn new_session(&self) -> String {
        let user_data_dir = format!("--user-data-dir={}", self.profile.path().display());
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &user_data_dir,
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            // The console (CSP violations among it), read by `console_errors`.
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let value =
            request(&self.http, reqwest::Method::POST, &format!("{}/session", self.driver_url), Some(caps))
                .await;
        value["sessionId"].as_str().unwrap_or_else(|| panic!("no sessionId in {value}")).to_owned()
    }

    /// Sends a WebDriver command for this session; `path` follows `/session/{id}`.
    pub(crate) async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver_url, self.session);
        request(&self.http, method, &url, body).await
    }

    /// What the pages logged at level SEVERE since the last call (errors, CSP
    /// violations: Chromium reports a blocked resource or script there).
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let log = self.cmd(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"}))).await;
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Saves a screenshot of the current page as `target/NAME.png` (kept by CI as an
    /// artifact); returns the path.
    pub(crate) async fn save_screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = self.screenshot().await;
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/{name}.png"));
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create target/");
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("screenshot written to {}", path.display());
        path
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub(crate) async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Finds the element now, without waiting; `None` when there is none.
    pub(crate) async fn try_find(&self, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.driver_url, self.session);
        let res =
            self.http.post(url).json(&json!({"using": "css selector", "value": css})).send().await.ok()?;
        let body: Value = res.json().await.ok()?;
        body["value"][ELEMENT_KEY].as_str().map(str::to_owned)
    }

    /// Waits (bounded) until the element is present.
    pub(crate) async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(id) = self.try_find(css).await {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} after {WAIT:?} on {}",
                self.current_url().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// The rendered text of the element, or `None` when it is absent (now).
    pub(crate) async fn text(&self, css: &str) -> Option<String> {
        let id = self.try_find(css).await?;
        let url = format!("{}/session/{}/element/{id}/text", self.driver_url, self.session);
        let body: Value = self.http.get(url).send().await.ok()?.json().await.ok()?;
        body["value"].as_str().map(str::to_owned)
    }

    pub(crate) async fn wait_for_url(&self, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.current_url().await;
            if now == expected {
                return;
            }
            if Instant::now() >= deadline {
                let page = self.body_text().await;
                panic!("expected to be at {expected} within {WAIT:?}, still at {now}, showing:\n{page}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (bounded) until the element exists and its text contains `expected`.
    pub(crate) async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text(css).await;
            if text.as_deref().is_some_and(|t| t.contains(expected)) {
                return;
            }
            let url = self.current_url().await;
            assert!(
                Instant::now() < deadline,
                "expected {css} to show {expected:?} within {WAIT:?}; at {url} it shows {text:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the page, for failure messages.
    pub(crate) async fn body_text(&self) -> String {
        self.text("body").await.unwrap_or_default()
    }

    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64_decode(b64.as_str().expect("screenshot is a base64 string"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG");
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Drop may run inside the test's runtime, which must not be blocked on:
            // end the session from a thread with a runtime of its own.
            let url = format!("{}/session/{}", self.driver_url, self.session);
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    let http = {
                        portcullis_upstream::install_crypto_provider();
                        reqwest::Client::builder()
                    }
                    .no_proxy()
                    .timeout(Duration::from_secs(10))
                    .build();
                    if let Ok(http) = http {
                        let _ = http.delete(url).send().await;
                    }
                });
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Sends one WebDriver request and returns its `value`, failing on a WebDriver error.
async fn request(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
    let mut req = http.request(method.clone(), url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = res.status();
    let mut body: Value =
        res.json().await.unwrap_or_else(|e| panic!("WebDriver {method} {url}: bad JSON: {e}"));
    assert!(status.is_success(), "WebDriver {method} {url} failed with {status}: {body}");
    body["value"].take()
}

/// A port nobody listens on right now (the OS picks it; chromedriver binds it next).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// Standard base64 (with padding), as WebDriver returns screenshots.
fn base64_decode(input: &str) -> Vec<u8> {
    fn sextet(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", char::from(c)),
        }
    }
    let clean: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0, |n, (i, &c)| n | (sextet(c) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}
