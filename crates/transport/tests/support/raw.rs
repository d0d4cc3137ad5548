//! A hostile server on 127.0.0.1 over a bare TCP socket: no HTTP library
//! between the script and the bytes, so a test can send whatever a broken
//! proxy or a malicious endpoint would. Each request (HTTP/1.1, read up to
//! its `Content-Length`) is recorded and answered with the script's bytes;
//! the connection is closed after every answer.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as read off the socket.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The request line and headers, as sent.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The request target (path and query) of the request line.
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or_default()
    }

    /// The value of query parameter `key`, percent-decoded.
    pub fn query(&self, key: &str) -> Option<String> {
        let query = self.target().split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if let (b'%', Some(v)) = (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the script does with one request.
pub enum RawReply {
    /// Write these bytes, then close.
    Bytes(Vec<u8>),
    /// Never answer; hold the connection until the server is dropped.
    Silent,
}

/// A response of `status` with `headers` and `body`, `Content-Length` set.
pub fn response(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> RawReply {
    let body = body.as_ref();
    let mut out = format!("HTTP/1.1 {status} Scripted\r\nconnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    RawReply::Bytes(bytes)
}

/// A JSON 200.
pub fn json_ok(body: impl AsRef<[u8]>) -> RawReply {
    response(200, &[("content-type", "application/json")], body)
}

type Script = Arc<dyn Fn(usize, &RawRequest) -> RawReply + Send + Sync>;

/// A running raw server; stops when dropped.
pub struct RawServer {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<RawRequest>>>,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    /// Serves on a free port, answering request `n` (0, 1, ...) with `script`.
    pub async fn start(
        script: impl Fn(usize, &RawRequest) -> RawReply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                // Dropped with this task: silent connections end with the server.
                let mut held = tokio::task::JoinSet::new();
                while let Ok((socket, _)) = listener.accept().await {
                    let (seen, script) = (seen.clone(), script.clone());
                    held.spawn(serve(socket, seen, script));
                }
            })
        };
        Self { addr, seen, task }
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests were read.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn serve(mut socket: TcpStream, seen: Arc<Mutex<Vec<RawRequest>>>, script: Script) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(request.clone());
        seen.len() - 1
    };
    match script(n, &request) {
        RawReply::Bytes(bytes) => {
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        RawReply::Silent => std::future::pending::<()>().await,
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(RawRequest { head, body })
}
