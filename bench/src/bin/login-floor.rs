//! The floor of a password sign-in on this machine: an axum server that answers
//! every `POST /api/v1/login` by running one Argon2id of the posted password at
//! Portcullis' default cost, and does nothing else (no database, no session, no
//! audit event, no cookie). Like `portcullis serve` it hashes on a fixed pool of one
//! thread per CPU, each reusing its working memory. What it reaches against
//! Argon2id alone is what any server doing one hash per sign-in can reach beside
//! wrk on these CPUs; the harness runs it after the logins (scenario `login-floor`).
//!
//! Usage: `login-floor [ADDR]` (default `127.0.0.1:0`). Prints `listening on
//! http://ADDR` on stderr once it accepts connections.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, mpsc};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Portcullis' default cost (`bench/src/argon.rs`).
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;

type Job = (Vec<u8>, oneshot::Sender<bool>);

/// Starts one hashing thread per CPU, fed from one queue.
fn hash_pool(threads: usize) -> anyhow::Result<mpsc::Sender<Job>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, 1, None).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..threads {
        let (queue, params) = (Arc::clone(&queue), params.clone());
        std::thread::Builder::new().name(format!("floor-hash-{i}")).spawn(move || {
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
            let mut memory = vec![Block::default(); argon.params().block_count()];
            let (salt, mut out) = ([7u8; 16], [0u8; 32]);
            loop {
                let job = match queue.lock() {
                    Ok(q) => q.recv(),
                    Err(_) => return,
                };
                let Ok((password, done)) = job else { return };
                let ok =
                    argon.hash_password_into_with_memory(&password, &salt, &mut out, &mut memory).is_ok();
                let _ = done.send(ok);
            }
        })?;
    }
    Ok(jobs)
}

async fn login(
    State(jobs): State<Arc<Mutex<mpsc::Sender<Job>>>>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let password = body["password"].as_str().unwrap_or_default().as_bytes().to_vec();
    let (done, result) = oneshot::channel();
    let sent = jobs.lock().is_ok_and(|j| j.send((password, done)).is_ok());
    match (sent, result.await) {
        (true, Ok(true)) => (StatusCode::OK, Json(json!({ "hashed": true }))),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "hashed": false }))),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let jobs = Arc::new(Mutex::new(hash_pool(threads)?));
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/api/v1/login", post(login))
        .with_state(jobs)
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
