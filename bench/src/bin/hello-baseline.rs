//! The request-rate baseline: a bare axum "hello world" answering `GET /`
//! with a small JSON body, on the same runtime defaults as `portcullis serve`.
//!
//! Usage: `hello-baseline [ADDR]` (or `HELLO_BIND=ADDR`; default `127.0.0.1:0`).
//! Prints `listening on http://ADDR` on stderr once it accepts connections.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

async fn hello() -> Json<Value> {
    Json(json!({ "message": "hello, world" }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HELLO_BIND").ok())
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/", get(hello)).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await?;
    Ok(())
}
