//! A real SMTP server for the tests, on a loopback port of its own: greeting,
//! EHLO/HELO, MAIL FROM, RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT. It
//! records what it accepts, and can be taken down (connections refused) or told to
//! answer 4xx, to play a mail server that is unavailable for a while.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How the sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `451` to `MAIL FROM`: "try again later".
    TempFail,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and MIME body), CRLF line ends, dots unstuffed.
    pub data: String,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    taken: Mutex<Vec<usize>>,
    temp_fail: Mutex<bool>,
    connections: Mutex<usize>,
    arrived: Notify,
}

pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long a test waits for a mail before failing.
const WAIT: Duration = Duration::from_secs(20);

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, shared.clone()));
        Self { addr, shared, server: Mutex::new(Some(server)) }
    }

    /// `email.smtp_url` for this sink.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Closes the listening socket: connections are refused until [`Self::come_back`].
    pub fn go_down(&self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn come_back(&self) {
        self.go_down();
        let listener = TcpListener::bind(self.addr).await.expect("rebind the SMTP sink");
        *self.server.lock().unwrap() = Some(tokio::spawn(serve(listener, self.shared.clone())));
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.temp_fail.lock().unwrap() = mode == Mode::TempFail;
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Connections accepted so far (delivery attempts).
    pub fn connections(&self) -> usize {
        *self.shared.connections.lock().unwrap()
    }

    /// How many accepted messages went to `to` with `subject`.
    pub fn count(&self, to: &str, subject: &str) -> usize {
        self.messages().iter().filter(|m| m.is_to(to) && m.subject() == subject).count()
    }

    /// Waits for a message to `to` with `subject` that no earlier call returned.
    pub async fn next_mail(&self, to: &str, subject: &str) -> Received {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let arrived = self.shared.arrived.notified();
                {
                    let messages = self.shared.messages.lock().unwrap();
                    let mut taken = self.shared.taken.lock().unwrap();
                    let hit = messages
                        .iter()
                        .enumerate()
                        .find(|(i, m)| !taken.contains(i) && m.is_to(to) && m.subject() == subject);
                    if let Some((i, m)) = hit {
                        taken.push(i);
                        return m.clone();
                    }
                }
                arrived.await;
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            let seen: Vec<(Vec<String>, String)> =
                self.messages().iter().map(|m| (m.to.clone(), m.subject())).collect();
            panic!("no mail to {to} with subject {subject:?} within {WAIT:?}; received: {seen:?}")
        })
    }

    /// Waits for a mail to `to` with `subject` and returns the link in it to `path`.
    pub async fn link(&self, to: &str, subject: &str, path: &str) -> String {
        self.next_mail(to, subject).await.link(path)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.go_down();
    }
}

impl Received {
    pub fn is_to(&self, address: &str) -> bool {
        self.to.iter().any(|t| t.eq_ignore_ascii_case(address))
    }

    /// A header of the message (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.split("\r\n").find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    /// The decoded `text/plain` and `text/html` parts.
    pub fn parts(&self) -> (String, String) {
        let content_type = self.header("content-type").unwrap_or_default();
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .map(|b| b.trim_matches('"').split(['"', ';']).next().unwrap_or_default().to_owned())
            .expect("a multipart message");
        let (mut text, mut html) = (String::new(), String::new());
        for part in self.data.split(&format!("--{boundary}")).skip(1) {
            let Some((head, body)) = part.split_once("\r\n\r\n") else { continue };
            let head = head.to_ascii_lowercase();
            let decoded = decode(body.trim_end_matches("\r\n").trim_end_matches("--"), &head);
            if head.contains("text/plain") {
                text = decoded;
            } else if head.contains("text/html") {
                html = decoded;
            }
        }
        (text, html)
    }

    /// The first link to `path` (`http://host:port/path?token=...`) in the text part.
    pub fn link(&self, path: &str) -> String {
        let (text, _) = self.parts();
        let start =
            text.find(&format!("{path}?token=")).unwrap_or_else(|| panic!("no {path} link in:\n{text}"));
        let begin = text[..start].rfind("http").expect("an absolute link");
        text[begin..].split_whitespace().next().unwrap_or_default().to_owned()
    }
}

/// Decodes a MIME part body by its `Content-Transfer-Encoding`.
fn decode(body: &str, head: &str) -> String {
    if head.contains("content-transfer-encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(joined).expect("base64 part");
        String::from_utf8(bytes).expect("UTF-8 part")
    } else if head.contains("content-transfer-encoding: quoted-printable") {
        let soft = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = soft.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("quoted-printable escape"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("UTF-8 part")
    } else {
        body.to_owned()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        *shared.connections.lock().unwrap() += 1;
        tokio::spawn(session(stream, shared.clone()));
    }
}

/// One SMTP conversation.
async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if !reply(&mut write, "220 sink.test ESMTP ready").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end_matches(['\r', '\n']).to_owned();
        let verb = command.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
            "HELO" => "250 sink.test".to_owned(),
            "MAIL" if *shared.temp_fail.lock().unwrap() => "451 4.3.0 try again later".to_owned(),
            "MAIL" => {
                from = angle(&command);
                to.clear();
                "250 2.1.0 ok".to_owned()
            }
            "RCPT" if from.is_empty() => "503 5.5.1 MAIL first".to_owned(),
            "RCPT" => {
                to.push(angle(&command));
                "250 2.1.5 ok".to_owned()
            }
            "DATA" if to.is_empty() => "503 5.5.1 RCPT first".to_owned(),
            "DATA" => {
                if !reply(&mut write, "354 end with <CRLF>.<CRLF>").await {
                    return;
                }
                let Some(data) = read_data(&mut lines).await else { return };
                let message = Received { from: std::mem::take(&mut from), to: std::mem::take(&mut to), data };
                shared.messages.lock().unwrap().push(message);
                shared.arrived.notify_waiters();
                "250 2.0.0 queued".to_owned()
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 2.0.0 ok".to_owned()
            }
            "NOOP" => "250 2.0.0 ok".to_owned(),
            "QUIT" => {
                let _ = reply(&mut write, "221 2.0.0 bye").await;
                return;
            }
            _ => "502 5.5.2 command not implemented".to_owned(),
        };
        if !reply(&mut write, &answer).await {
            return;
        }
    }
}

/// Sends one reply line (or several, already joined by CRLF); false if the client left.
async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    w.write_all(format!("{text}\r\n").as_bytes()).await.is_ok()
}

/// The address between `<` and `>` of a MAIL or RCPT command.
fn angle(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..].find('>').map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

/// Reads DATA up to the lone dot, undoing dot-stuffing.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == ".\r\n" || line == ".\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

#[tokio::test]
async fn the_sink_unstuffs_dots_and_answers_4xx_when_told() {
    let sink = SmtpSink::start().await;
    let stream = TcpStream::connect(sink.addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut answer = async |send: &str| {
        if !send.is_empty() {
            write.write_all(send.as_bytes()).await.unwrap();
        }
        let mut line = String::new();
        loop {
            line.clear();
            lines.read_line(&mut line).await.unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line[..3].to_owned();
            }
        }
    };
    assert_eq!(answer("").await, "220");
    assert_eq!(answer("EHLO me\r\n").await, "250");
    assert_eq!(answer("NOOP\r\n").await, "250");
    assert_eq!(answer("MAIL FROM:<a@x.test>\r\n").await, "250");
    assert_eq!(answer("RCPT TO:<b@x.test>\r\n").await, "250");
    assert_eq!(answer("DATA\r\n").await, "354");
    assert_eq!(answer("Subject: hi\r\n\r\n..leading dot\r\nend\r\n.\r\n").await, "250");
    assert_eq!(answer("RSET\r\n").await, "250");
    sink.set_mode(Mode::TempFail);
    assert_eq!(answer("MAIL FROM:<a@x.test>\r\n").await, "451");
    assert_eq!(answer("QUIT\r\n").await, "221");
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].from.as_str(), got[0].to.as_slice()), ("a@x.test", &["b@x.test".to_owned()][..]));
    assert_eq!(got[0].subject(), "hi");
    assert!(got[0].data.ends_with("\r\n.leading dot\r\nend\r\n"), "{:?}", got[0].data);
    sink.go_down();
    assert!(TcpStream::connect(sink.addr).await.is_err(), "a sink that is down refuses connections");
    sink.come_back().await;
    assert!(TcpStream::connect(sink.addr).await.is_ok());
}
