//! Idle and slow connections are closed, and the connection cap holds:
//! raw sockets on 127.0.0.1 against short, configured timeouts. Each test
//! asserts only that the server closed the connection (the outer timeout is
//! a guard against hanging, far above the configured ones).

mod common;

use std::time::Duration;

use common::{client, control, send};
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wa_groups_emulator::{Emulator, EmulatorBuilder, EmulatorHandle, Fault, FaultMatch};

/// Far above every timeout configured here: only a hang reaches it.
const GUARD: Duration = Duration::from_secs(30);

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(GUARD, read)
        .await
        .expect("the server never closed the connection");
    got
}

fn quiet() -> EmulatorBuilder {
    // Everything long but what a test looks at.
    Emulator::builder()
        .header_read_timeout(Duration::from_secs(600))
        .body_read_timeout(Duration::from_secs(600))
        .idle_timeout(Duration::from_secs(600))
}

async fn connect(emu: &EmulatorHandle) -> TcpStream {
    TcpStream::connect(emu.local_addr()).await.unwrap()
}

const HEALTH: &[u8] = b"GET /_emulator/health HTTP/1.1\r\nhost: x\r\n\r\n";

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let emu = quiet()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut s = connect(&emu).await;
    assert!(until_closed(&mut s).await.is_empty());
    assert_eq!(emu.controller().stats().connections_timed_out, 1);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    let emu = quiet()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut s = connect(&emu).await;
    s.write_all(HEALTH).await.unwrap();
    let got = until_closed(&mut s).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"ok\""), "{text}");
}

#[tokio::test]
async fn a_request_in_flight_is_not_idle() {
    // A latency fault holds the request longer than the idle timeout: the
    // answer still arrives.
    let emu = quiet()
        .idle_timeout(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    emu.controller()
        .inject_fault(
            Fault::Latency(Duration::from_millis(400)),
            FaultMatch::any(),
        )
        .unwrap();
    let mut s = connect(&emu).await;
    s.write_all(b"GET /v23.0/nope HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let got = until_closed(&mut s).await;
    assert!(
        got.starts_with(b"HTTP/1.1 "),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[tokio::test]
async fn slow_headers_close_the_connection() {
    let emu = quiet()
        .header_read_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut s = connect(&emu).await;
    s.write_all(b"GET /_emulator/health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // The headers never end.
    let got = until_closed(&mut s).await;
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[tokio::test]
async fn a_slow_body_closes_the_connection() {
    let emu = quiet()
        .body_read_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    for path in [
        "/_emulator/groups",
        "/v23.0/Y2FwaV9ncm91cDpub25l/join_requests",
    ] {
        let mut s = connect(&emu).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"sub"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        // The other 95 bytes never come.
        assert!(until_closed(&mut s).await.is_empty(), "{path}");
    }
    assert_eq!(emu.controller().stats().connections_timed_out, 2);
    assert!(emu.controller().groups().is_empty());
}

#[tokio::test]
async fn connections_past_the_cap_are_closed() {
    let emu = quiet().max_connections(2).start().await.unwrap();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&emu).await;
        s.write_all(HEALTH).await.unwrap();
        let mut buf = [0_u8; 1024];
        let n = tokio::time::timeout(GUARD, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    let mut third = connect(&emu).await;
    let _ = third.write_all(HEALTH).await;
    assert!(until_closed(&mut third).await.is_empty());
    assert_eq!(emu.controller().stats().connections_refused, 1);
    // Closing one frees its slot (once the server has seen it close).
    drop(held.pop());
    let served = tokio::time::timeout(GUARD, async {
        loop {
            let mut s = connect(&emu).await;
            if s.write_all(HEALTH).await.is_ok() {
                let mut buf = [0_u8; 1024];
                if let Ok(n) = s.read(&mut buf).await
                    && buf[..n].starts_with(b"HTTP/1.1 200")
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(served.is_ok());
}

#[tokio::test]
async fn injected_429s_are_counted_as_rate_limited() {
    let emu = Emulator::builder().start().await.unwrap();
    let c = client();
    let a = send(
        &c,
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "rate_limited", "times": 2})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    emu.controller()
        .inject_fault(
            Fault::Response {
                status: 429,
                headers: Vec::new(),
                body: bytes::Bytes::from_static(b"{}"),
            },
            FaultMatch::any(),
        )
        .unwrap();
    for _ in 0..3 {
        let a = send(
            &c,
            common::graph(&emu, Method::GET, "/v23.0/Y2FwaV9ncm91cDpub25l", None),
        )
        .await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let stats = emu.controller().stats();
    assert_eq!(stats.rate_limited, 3);
    assert_eq!(stats.faults_applied, 3);
}
