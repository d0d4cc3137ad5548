//! Encode and decode cost of the wire core beside bare `serde_json` on
//! equivalent plain structs (the floor). `cargo xtask bench` reads the
//! medians criterion writes and reports the ratios.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use wa_groups_protocol::{
    AccessToken, Action, ApiVersion, BaseUrl, DecideJoinRequests, DecisionOutcome, Endpoint,
    ErrorDetail, FailedJoinRequest, GroupId, JoinRequestId, JoinRequestIds, UserAgent,
};

const GROUP: &str = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD";

fn ids() -> Vec<String> {
    (0..100)
        .map(|i| format!("MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0Mj{i:06}"))
        .collect()
}

#[derive(Serialize)]
struct BareRequest<'a> {
    messaging_product: &'a str,
    join_requests: &'a [String],
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "fields are decoded to be measured, not read")]
struct BareErrorData {
    details: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "fields are decoded to be measured, not read")]
struct BareError {
    code: i64,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<BareErrorData>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "fields are decoded to be measured, not read")]
struct BareFailed {
    join_request_id: String,
    errors: Vec<BareError>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "fields are decoded to be measured, not read")]
struct BareOutcome {
    messaging_product: Option<String>,
    approved_join_requests: Vec<String>,
    failed_join_requests: Vec<BareFailed>,
    errors: Vec<BareError>,
}

fn outcome_body() -> Vec<u8> {
    let mut o = DecisionOutcome::new(Action::Approve);
    for (i, id) in ids().into_iter().enumerate() {
        let id = JoinRequestId::new(id).unwrap();
        if i % 10 == 3 {
            let mut e = ErrorDetail::new(
                131213,
                Some("Join request not found"),
                "The join request does not exist or was already handled",
            );
            e.details = Some(format!("join request {id} was not found"));
            o.failed.push(FailedJoinRequest::new(id, vec![e]));
        } else {
            o.succeeded.push(id);
        }
    }
    o.to_json()
}

fn bench(c: &mut Criterion) {
    let raw = ids();
    let endpoint = Endpoint::new(
        BaseUrl::default(),
        ApiVersion::default(),
        AccessToken::new("EAAGm0PX4ZCpsBAbenchmarktoken").unwrap(),
        UserAgent::library(),
    );
    let op = DecideJoinRequests::new(
        Action::Approve,
        GroupId::new(GROUP).unwrap(),
        JoinRequestIds::new(&raw).unwrap(),
    );

    let mut g = c.benchmark_group("build_approve_100");
    g.bench_function("bare_serde_json", |b| {
        b.iter(|| {
            serde_json::to_vec(&BareRequest {
                messaging_product: "whatsapp",
                join_requests: black_box(&raw),
            })
            .unwrap()
        })
    });
    g.bench_function("wa_groups", |b| b.iter(|| endpoint.request(black_box(&op))));
    g.bench_function("wa_groups_from_strings", |b| {
        b.iter(|| {
            let op = DecideJoinRequests::new(
                Action::Approve,
                GroupId::new(GROUP).unwrap(),
                JoinRequestIds::new(black_box(&raw)).unwrap(),
            );
            endpoint.request(&op)
        })
    });
    g.finish();

    let body = outcome_body();
    let headers = HeaderMap::new();
    let mut g = c.benchmark_group("parse_outcome_100_10_failed");
    g.bench_function("bare_serde_json", |b| {
        b.iter(|| serde_json::from_slice::<BareOutcome>(black_box(&body)).unwrap())
    });
    g.bench_function("wa_groups", |b| {
        b.iter(|| {
            endpoint
                .parse_response(&op, StatusCode::OK, &headers, black_box(&body))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
