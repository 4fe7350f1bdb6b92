//! A TCP proxy in front of PostgreSQL that a test can cut (connections closed,
//! new ones refused: the database stopped) or turn into a black hole (connections
//! accepted and held, nothing forwarded, nothing answered: a network partition).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const PASS: u8 = 0;
const CUT: u8 = 1;
const BLACK_HOLE: u8 = 2;

pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(PASS));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (m, l) = (mode.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let link = match m.load(Ordering::SeqCst) {
                    CUT => continue, // dropped: the client sees the connection closed
                    BLACK_HOLE => tokio::spawn(hold(inbound)),
                    _ => tokio::spawn(forward(inbound, upstream.clone(), m.clone())),
                };
                l.lock().unwrap().push(link);
            }
        });
        Self { addr, mode, links, accept }
    }

    /// A proxy for the database of `url`; returns it with `url` pointing through it.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let host_port = url.split_once('@').unwrap().1.split_once('/').unwrap().0;
        let proxy = Self::start(host_port.to_owned()).await;
        let through = url.replace(host_port, &proxy.addr.to_string());
        (proxy, through)
    }

    /// The database stopped: every open connection dies, new ones are closed at once.
    pub fn cut(&self) {
        self.mode.store(CUT, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// A partition: open connections stay open but nothing goes through either
    /// way; new connections are accepted and never answered.
    pub fn black_hole(&self) {
        self.mode.store(BLACK_HOLE, Ordering::SeqCst);
    }

    /// Back to normal. Connections frozen by a black hole are closed (their
    /// protocol state is lost), as a database restart would.
    pub fn restore(&self) {
        if self.mode.swap(PASS, Ordering::SeqCst) == BLACK_HOLE {
            for link in self.links.lock().unwrap().drain(..) {
                link.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// Accepts and keeps the connection open, reading and dropping whatever comes.
async fn hold(mut inbound: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = inbound.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

async fn forward(inbound: TcpStream, upstream: String, mode: Arc<AtomicU8>) {
    let Ok(outbound) = TcpStream::connect(upstream).await else { return };
    let (ri, wi) = inbound.into_split();
    let (ro, wo) = outbound.into_split();
    // Both directions in this task, so aborting it closes both sockets.
    tokio::select! {
        () = pump(ri, wo, mode.clone()) => {}
        () = pump(ro, wi, mode) => {}
    }
}

/// Copies while the mode is PASS; swallows bytes in a black hole.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: Arc<AtomicU8>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        match mode.load(Ordering::SeqCst) {
            PASS => {
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            BLACK_HOLE => {}
            _ => return,
        }
    }
}
