//! `portcullis user import` (SPEC §9): hashes made by the real libraries sign in
//! and become Argon2id (`hashes`), the command's answers and its all-or-nothing
//! rule (`cli`), and the Flask tutorial's own users brought over (`flask_tutorial`).

mod cli;
mod flask_tutorial;
mod hashes;

use std::path::PathBuf;

use crate::helpers::portcullis_command;

/// The virtualenv `scripts/test` prepares from
/// `examples/flask-tutorial-legacy/requirements.txt` (Flask, Werkzeug, bcrypt,
/// passlib, argon2-cffi), or `PCTEST_LEGACY_PYTHON`. Without it the tests skip
/// with a printed reason, except under `CI=true`, where they fail.
pub(crate) fn legacy_python() -> Option<PathBuf> {
    let path = std::env::var_os("PCTEST_LEGACY_PYTHON").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/flask-tutorial-legacy/.venv/bin/python")
        },
        PathBuf::from,
    );
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing: scripts/test installs examples/flask-tutorial-legacy/requirements.txt there",
        path.display()
    );
    eprintln!("SKIPPED: no virtualenv at {}; run scripts/test (or set PCTEST_LEGACY_PYTHON)", path.display());
    None
}

/// What a run of the command said.
pub(crate) struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `portcullis user import FILE ARGS` with `contents` in a file named `name`
/// (`-` sends it on standard input instead).
pub(crate) async fn import(db_url: &str, name: &str, contents: &str, args: &[&str]) -> Ran {
    use tokio::io::AsyncWriteExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let file = if name == "-" { "-".to_owned() } else { path.display().to_string() };
    if name != "-" {
        std::fs::write(&path, contents).unwrap();
    }
    let mut all = vec!["user", "import", file.as_str()];
    all.extend_from_slice(args);
    let (mut cmd, _cwd) = portcullis_command(db_url, &all);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("the portcullis binary runs");
    let mut input = child.stdin.take().unwrap();
    if name == "-" {
        input.write_all(contents.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the import finishes within two minutes")
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
