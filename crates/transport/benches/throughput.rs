//! Approve calls per second through `Client`, beside the same calls made
//! with a raw hyper HTTP/1 connection loop (the floor: same bytes, no
//! parsing, no pool) and with reqwest, against one local server that
//! answers with a fixed approve response. Sequential and 64 in flight;
//! the contenders run several interleaved rounds and the median rate is
//! kept. Rows go to `target/bench-results/transport.tsv` for `cargo xtask
//! bench`.
//!
//! Server and clients each get one core (two current-thread runtimes), so
//! the figures compare client overhead on an equal footing.

#![allow(missing_docs, reason = "a bench binary")]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};

const GROUP: &str = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD";
const ID: &str = "MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw";
const TOKEN: &str = "EAAGbenchtoken";
const RESPONSE: &str = r#"{"messaging_product":"whatsapp","approved_join_requests":["MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw"],"failed_join_requests":[],"errors":[]}"#;

/// Connections the server accepted, to show each contender reuses its pool.
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(async move {
                    let service = service_fn(|req: Request<Incoming>| async move {
                        // Read the whole request body, as a real server would.
                        let _ = req.into_body().collect().await;
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(RESPONSE.as_bytes())))
                                .expect("response"),
                        )
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("server address")
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "decoded to be measured")]
struct Outcome {
    approved_join_requests: Vec<String>,
    failed_join_requests: Vec<serde_json::Value>,
    errors: Vec<serde_json::Value>,
}

fn body() -> Bytes {
    Bytes::from(format!(
        r#"{{"messaging_product":"whatsapp","join_requests":["{ID}"]}}"#
    ))
}

/// Runs the lanes (each a loop of `per_lane` calls) at once; calls per second.
async fn rate<Fut: Future<Output = ()>>(lanes: Vec<Fut>, per_lane: usize) -> f64 {
    let calls = lanes.len() * per_lane;
    let before = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    futures_util::future::join_all(lanes).await;
    let rate = calls as f64 / started.elapsed().as_secs_f64();
    if std::env::var_os("WA_GROUPS_BENCH_VERBOSE").is_some() {
        let opened = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) - before;
        eprintln!("  {calls} calls, {rate:.0}/s, {opened} new connections");
    }
    rate
}

async fn wa_groups_lane(client: wa_groups::Client, n: usize) {
    for _ in 0..n {
        let out = client
            .approve_join_requests(GROUP, [ID])
            .await
            .expect("approve");
        assert_eq!(out.approved.len(), 1);
    }
}

async fn raw_lane(addr: SocketAddr, n: usize) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let uri: http::Uri = format!("/v23.0/{GROUP}/join_requests")
        .parse()
        .expect("uri");
    let body = body();
    for _ in 0..n {
        send.ready().await.expect("ready");
        let req = Request::post(uri.clone())
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(Full::new(body.clone()))
            .expect("request");
        let resp = send.send_request(req).await.expect("send");
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(bytes.len(), RESPONSE.len());
    }
}

async fn reqwest_lane(client: reqwest::Client, url: String, n: usize) {
    let body = body();
    for _ in 0..n {
        let resp = client
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("send");
        let bytes = resp.bytes().await.expect("body");
        let out: Outcome = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(out.approved_join_requests.len(), 1);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn row(mode: &str, peer: &str, ours: f64, theirs: f64, target: f64) -> String {
    let ratio = ours / theirs;
    format!(
        "rust\tapprove calls, {mode}: Client vs {peer}\t{ours:.0} calls/s\t{peer} {theirs:.0} calls/s\t{ratio:.3}\t≥ {target:.2}×\t{}\n",
        if ratio >= target { "yes" } else { "no" }
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `--quick` makes a short run for smoke checks.
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 1 } else { 5 };
    let addr = server();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = wa_groups::Client::builder()
        .access_token(TOKEN)
        .base_url(format!("http://{addr}"))
        .max_connections(64)
        .build()
        .expect("client");
    let peer = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("reqwest");
    let url = format!("http://{addr}/v23.0/{GROUP}/join_requests");

    let mut rows = String::new();
    for (mode, lanes, calls) in [
        ("sequential", 1usize, if quick { 500 } else { 5_000 }),
        ("64 in flight", 64, if quick { 2_048 } else { 32_000 }),
    ] {
        let per = calls / lanes;
        let lanes_of = |f: &dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()>>>| {
            (0..lanes).map(|_| f()).collect::<Vec<_>>()
        };
        let ours_f = || {
            Box::pin(wa_groups_lane(client.clone(), per))
                as std::pin::Pin<Box<dyn Future<Output = ()>>>
        };
        let raw_f = || Box::pin(raw_lane(addr, per)) as std::pin::Pin<Box<dyn Future<Output = ()>>>;
        let peer_f = || {
            Box::pin(reqwest_lane(peer.clone(), url.clone(), per))
                as std::pin::Pin<Box<dyn Future<Output = ()>>>
        };
        // Warm the pools once; the first connects are not what is measured.
        rt.block_on(rate(lanes_of(&ours_f), per));
        rt.block_on(rate(lanes_of(&peer_f), per));
        let (mut ours, mut raw, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            ours.push(rt.block_on(rate(lanes_of(&ours_f), per)));
            raw.push(rt.block_on(rate(lanes_of(&raw_f), per)));
            theirs.push(rt.block_on(rate(lanes_of(&peer_f), per)));
        }
        let (ours, raw, theirs) = (median(ours), median(raw), median(theirs));
        println!(
            "{mode:>13}: Client {ours:>8.0}/s   raw hyper loop {raw:>8.0}/s   reqwest {theirs:>8.0}/s"
        );
        rows.push_str(&row(mode, "raw hyper loop", ours, raw, 0.90));
        rows.push_str(&row(mode, "reqwest", ours, theirs, 1.0));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
    std::fs::create_dir_all(&dir).expect("results dir");
    std::fs::write(dir.join("transport.tsv"), rows).expect("write results");
}
