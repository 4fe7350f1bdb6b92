//! One plain HTTP/1.1 request over loopback, to check a scenario answers as expected
//! before it is measured (a benchmark of 401s measures nothing).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::wrk::{Load, Variant};

/// A response: status code and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends `variant` of `load` once and reads the whole response.
pub async fn send(addr: SocketAddr, load: &Load, variant: &Variant) -> anyhow::Result<Response> {
    let mut request =
        format!("{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n", load.method, load.path);
    for (name, value) in &variant.headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    let body = variant.body.as_deref().unwrap_or("");
    if variant.body.is_some() {
        let _ = write!(request, "Content-Length: {}\r\n", body.len());
    }
    request.push_str("\r\n");
    request.push_str(body);
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        anyhow::Ok(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .context("no response within 30 s")??;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP response: {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok(Response { status, body })
}

/// Checks that every request of `load` would get `expected` by sending the first one.
pub async fn expect(addr: SocketAddr, load: &Load, expected: u16) -> anyhow::Result<()> {
    let variant = load.variants.first().context("a load without requests")?;
    let response = send(addr, load, variant).await?;
    if response.status != expected {
        bail!(
            "{} {} answered {} (expected {expected}): {}",
            load.method,
            load.path,
            response.status,
            response.body.chars().take(300).collect::<String>()
        );
    }
    Ok(())
}
