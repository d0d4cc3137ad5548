//! Load smoke test: 256 concurrent connections, a few requests each. The
//! million-request run is `cargo run --example load -p wa-groups-emulator`.

use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wa_groups_emulator::{Emulator, Seed};

const CONNECTIONS: usize = 256;
const PER_CONNECTION: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_at_once() {
    let emu = Emulator::start().await.unwrap();
    let seed = Seed::from_json(br#"{"groups": [{"count": 64, "join_requests": 5}]}"#).unwrap();
    let groups: Arc<Vec<String>> = Arc::new(
        emu.controller()
            .apply_seed(&seed)
            .unwrap()
            .into_iter()
            .map(|g| g.group_id)
            .collect(),
    );
    let addr = emu.local_addr();
    let auth = format!("Bearer {}", emu.access_token());
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let groups = Arc::clone(&groups);
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut send, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut ok = 0;
            for j in 0..PER_CONNECTION {
                let g = &groups[(i + j) % groups.len()];
                let req = if j % 2 == 0 {
                    Request::get(format!("/v23.0/{g}/join_requests?limit=2"))
                        .header("host", "127.0.0.1")
                        .header("authorization", &auth)
                        .body(Full::new(Bytes::new()))
                } else {
                    Request::delete(format!("/v23.0/{g}/join_requests"))
                        .header("host", "127.0.0.1")
                        .header("authorization", &auth)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(
                            br#"{"messaging_product":"whatsapp","join_requests":["bm9uZQ=="]}"#,
                        )))
                }
                .unwrap();
                send.ready().await.unwrap();
                let resp = send.send_request(req).await.unwrap();
                let status = resp.status();
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(status, 200, "{body:?}");
                ok += 1;
            }
            ok
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, CONNECTIONS * PER_CONNECTION);
    let stats = emu.controller().stats();
    assert_eq!(stats.requests as usize, CONNECTIONS * PER_CONNECTION);
    assert_eq!(stats.connections as usize, CONNECTIONS);
    assert_eq!(
        stats.endpoints.list as usize,
        CONNECTIONS * PER_CONNECTION / 2
    );
    assert_eq!(
        stats.failed_items as usize,
        CONNECTIONS * PER_CONNECTION / 2
    );
    emu.shutdown().await;
}
