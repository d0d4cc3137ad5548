//! The Rust side of `cargo xtask conformance` (see docs/conformance.md):
//! drives the client against Prism, a mock of Meta's spec
//! (`testdata/spec/join-requests.openapi.yaml`), and exits non-zero on any
//! failure.
//!
//! ```text
//! cargo run -p wa-groups --example conformance -- static  http://127.0.0.1:4010
//! cargo run -p wa-groups --example conformance -- dynamic http://127.0.0.1:4011 [CALLS]
//! ```
//!
//! - `static` (Prism validating its requests, answering with the spec's
//!   examples): every request the client can build, with `Client`'s
//!   methods and, for the form and multipart encodings, `Client::execute`
//!   with `DecideJoinRequests::with_encoding`. Every call must succeed:
//!   Prism answers a request that breaks the spec with a 4xx, which the
//!   client reports as an error.
//! - `dynamic` (Prism `-d`, random schema-valid responses): CALLS (default
//!   3000) list, approve, reject and group info calls, each request built
//!   by the client's `Endpoint` and each response parsed by
//!   `Endpoint::parse_response`, the code `Client::execute` runs. Every
//!   response must parse, except those holding a join request ID that the
//!   client's validation refuses by design (whitespace or control
//!   characters, empty, over 1024 bytes): those are counted, and must
//!   parse once such IDs are replaced by valid ones. Prism always fills
//!   every optional property, while the spec marks none required; so each
//!   response is also parsed "thinned": with about half of its properties
//!   dropped at random, except the two the client requires by design
//!   (`join_request_id`, and `creation_timestamp` in a list item).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use wa_groups::protocol::{
    BodyEncoding, Boundary, DecideJoinRequests, Endpoint, GetGroupInfo, JoinRequestIds,
    ListJoinRequests, Operation,
};
use wa_groups::{Action, Client, GroupId, JoinRequestId, ListOptions};

const TOKEN: &str = "EAAConformance0123456789abcdefZZ";

/// Group IDs: the spec's example, and one with every extra character allowed.
const GROUPS: [&str; 2] = [
    "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD",
    "a-b.c_d~e+f=g0",
];

/// Cursors as Graph sends them (base64 with padding) and one needing escapes.
const CURSORS: [&str; 2] = [
    "QVFIUmxtY2N6RTZAxZA2dYNFhOZAFZA5dGZADdHlkb0tqRmxo",
    "a/b+c=d&e?f#g%h",
];

/// Join request IDs: the spec's example, base64 with `/ + =`, non-ASCII, the longest.
fn ids() -> Vec<String> {
    vec![
        "MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw".to_owned(),
        "ab/cd+ef==".to_owned(),
        "ïd-ünïcødé".to_owned(),
        "x".repeat(1024),
    ]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["static", base] => run_static(base).await,
        ["dynamic", base] => run_dynamic(base, 3000).await,
        ["dynamic", base, n] => match n.parse() {
            Ok(n) => run_dynamic(base, n).await,
            Err(e) => Err(format!("CALLS: {e}")),
        },
        _ => Err("usage: conformance static BASE_URL | dynamic BASE_URL [CALLS]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance (rust): {e}");
            ExitCode::FAILURE
        }
    }
}

fn client(
    base: &str,
    configure: impl FnOnce(wa_groups::ClientBuilder) -> wa_groups::ClientBuilder,
) -> Result<Client, String> {
    configure(
        Client::builder()
            .access_token(TOKEN)
            .base_url(base)
            .max_retries(0)
            .timeout(Duration::from_secs(10)),
    )
    .build()
    .map_err(|e| format!("building a client: {e}"))
}

/// Counts calls and collects the failures of the static run.
#[derive(Default)]
struct Tally {
    calls: u64,
    failures: Vec<String>,
}

impl Tally {
    fn check<T>(&mut self, what: &str, result: wa_groups::Result<T>) {
        self.calls += 1;
        if let Err(e) = result {
            self.failures.push(format!("{what}: {e}"));
        }
    }

    /// A listing over Prism's static example: its first page's item, then
    /// the paging-cycle error that the repeated cursor must cause.
    fn check_listing<T>(&mut self, what: &str, items: Vec<wa_groups::Result<T>>) {
        self.calls += 2;
        match items.as_slice() {
            [Ok(_), Err(wa_groups::Error::Decode(e))] if e.to_string().contains("paging cycle") => {
            }
            other => {
                let shown: Vec<String> = other
                    .iter()
                    .map(|r| match r {
                        Ok(_) => "an item".to_owned(),
                        Err(e) => e.to_string(),
                    })
                    .collect();
                self.failures.push(format!(
                    "{what}: expected an item then a paging cycle, got [{}]",
                    shown.join("; ")
                ));
            }
        }
    }
}

async fn run_static(base: &str) -> Result<(), String> {
    let started = Instant::now();
    // Every shape of user agent the client and the bindings send.
    let clients = [
        ("default user agent", client(base, |b| b)?),
        (
            "user's product",
            client(base, |b| b.user_agent("myapp/1.2.3"))?,
        ),
        (
            "binding runtime and user's product",
            client(base, |b| {
                b.runtime("python", "3.11.7")
                    .user_agent("conformance/0.0.1")
                    .api_version("v22.0")
            })?,
        ),
    ];
    let mut tally = Tally::default();
    for (label, c) in &clients {
        for group in GROUPS {
            drive(&mut tally, &format!("[{label}] group {group}"), c, group).await;
        }
    }
    // Chunking: 250 IDs at 100 per request are three requests each.
    let many: Vec<String> = (0..250).map(|i| format!("MTox{i:06}")).collect();
    let c = &clients[0].1;
    tally.check(
        "chunked approve",
        c.approve_join_requests(GROUPS[0], &many).await,
    );
    tally.check(
        "chunked reject",
        c.reject_join_requests(GROUPS[0], &many).await,
    );
    println!(
        "conformance (rust, static): {} calls in {:.1}s, {} failed",
        tally.calls,
        started.elapsed().as_secs_f64(),
        tally.failures.len()
    );
    if tally.failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} calls failed against the spec:\n  {}",
            tally.failures.len(),
            tally.failures.join("\n  ")
        ))
    }
}

/// Every call of the client against one group.
async fn drive(t: &mut Tally, label: &str, c: &Client, group: &str) {
    let lists = [
        ("list", ListOptions::new()),
        ("list limit=1", ListOptions::new().with_limit(1)),
        ("list limit=1000", ListOptions::new().with_limit(1000)),
        ("list after", ListOptions::starting_after(CURSORS[0])),
        (
            "list after (escaped)",
            ListOptions::starting_after(CURSORS[1]).with_limit(50),
        ),
        (
            "list before",
            ListOptions {
                before: Some(CURSORS[0].to_owned()),
                ..ListOptions::new()
            },
        ),
    ];
    for (what, options) in lists {
        t.check(
            &format!("{label}: {what}"),
            c.list_join_requests(group, options).await,
        );
    }
    // The paging stream: Prism's example page (one item) always has a next
    // page, with the same cursor each time. So the stream sends two
    // requests, the second with `after` (Prism validates both), and the
    // second page's repeated cursor ends the listing as a paging cycle.
    let items: Vec<_> = c.join_requests(group).take(3).collect().await;
    t.check_listing(&format!("{label}: join_requests stream"), items);
    let items: Vec<_> = c
        .join_requests_with(group, ListOptions::new().with_limit(25))
        .take(3)
        .collect()
        .await;
    t.check_listing(&format!("{label}: join_requests_with stream"), items);

    let ids = ids();
    for (what, some) in [("one ID", &ids[..1]), ("four IDs", &ids[..])] {
        t.check(
            &format!("{label}: approve {what} (JSON)"),
            c.approve_join_requests(group, some).await,
        );
        t.check(
            &format!("{label}: reject {what} (JSON)"),
            c.reject_join_requests(group, some).await,
        );
    }
    let (Ok(group_id), Ok(id_list)) = (GroupId::new(group), JoinRequestIds::new(&ids)) else {
        t.failures.push(format!("{label}: invalid test input"));
        return;
    };
    for action in [Action::Approve, Action::Reject] {
        for (what, encoding) in [
            ("form", BodyEncoding::FormUrlEncoded),
            (
                "multipart",
                BodyEncoding::Multipart(Boundary::from_random(0x5eed_cafe_f00d_beef)),
            ),
            ("JSON", BodyEncoding::Json),
        ] {
            let op = DecideJoinRequests::new(action, group_id.clone(), id_list.clone())
                .with_encoding(encoding);
            t.check(
                &format!("{label}: {} ({what}, execute)", action.as_str()),
                c.execute(&op).await,
            );
        }
    }

    let no_fields: [&str; 0] = [];
    t.check(
        &format!("{label}: group info"),
        c.group_info(group, no_fields).await,
    );
    t.check(
        &format!("{label}: group info, every field"),
        c.group_info(group, wa_groups::protocol::GROUP_INFO_FIELDS)
            .await,
    );
    t.check(
        &format!("{label}: group info, subject and participants"),
        c.group_info(group, ["subject", "participants"]).await,
    );
}

/// What one dynamic response came to.
enum Verdict {
    /// Parsed, and the parsed values agree with the body.
    Parsed,
    /// Refused for an ID the client's validation refuses; parsed once fixed.
    RefusedId(&'static str),
    /// Anything else: a conformance failure.
    Failed(String),
}

async fn run_dynamic(base: &str, calls: u64) -> Result<(), String> {
    let started = Instant::now();
    let c = client(base, |b| b)?;
    let endpoint = c.endpoint().clone();
    let http: HyperClient<_, Full<Bytes>> = HyperClient::builder(TokioExecutor::new()).build_http();
    let group = GroupId::new(GROUPS[0]).map_err(|e| e.to_string())?;
    let ids = JoinRequestIds::new(ids()).map_err(|e| e.to_string())?;
    let cursor = wa_groups::Cursor::new(CURSORS[0]).map_err(|e| e.to_string())?;
    let mut parsed: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut refused: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut thinned: u64 = 0;
    for i in 0..calls {
        let (kind, verdict) = match i % 4 {
            0 => {
                let options = wa_groups::protocol::ListQuery {
                    limit: Some(25),
                    after: (i % 8 == 0).then(|| cursor.clone()),
                    before: None,
                };
                let op =
                    ListJoinRequests::new(group.clone(), options).map_err(|e| e.to_string())?;
                (
                    "list",
                    call(&http, &endpoint, &op, Check::List, i, &mut thinned).await,
                )
            }
            1 | 2 => {
                let action = if i % 4 == 1 {
                    Action::Approve
                } else {
                    Action::Reject
                };
                let op = DecideJoinRequests::new(action, group.clone(), ids.clone());
                (
                    action.as_str(),
                    call(
                        &http,
                        &endpoint,
                        &op,
                        Check::Decide(action),
                        i,
                        &mut thinned,
                    )
                    .await,
                )
            }
            _ => {
                let no_fields: [&str; 0] = [];
                let op = GetGroupInfo::new(group.clone(), no_fields).map_err(|e| e.to_string())?;
                (
                    "group info",
                    call(&http, &endpoint, &op, Check::GroupInfo, i, &mut thinned).await,
                )
            }
        };
        match verdict {
            Verdict::Parsed => *parsed.entry(kind).or_default() += 1,
            Verdict::RefusedId(why) => *refused.entry((kind, why)).or_default() += 1,
            Verdict::Failed(e) => failures.push(format!("call {i} ({kind}): {e}")),
        }
    }
    let total_parsed: u64 = parsed.values().sum();
    let total_refused: u64 = refused.values().sum();
    println!(
        "conformance (rust, dynamic): {calls} random responses in {:.1}s: {total_parsed} parsed {parsed:?}; \
         {total_refused} refused for an ID our validation rejects by design {refused:?} \
         (and parsed with such IDs replaced); {thinned} parsed again with optional properties dropped; \
         {} failed",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        failures.truncate(20);
        Err(format!(
            "responses the parser should have accepted:\n  {}",
            failures.join("\n  ")
        ))
    }
}

#[derive(Clone, Copy)]
enum Check {
    List,
    Decide(Action),
    GroupInfo,
}

async fn call<O, C>(
    http: &HyperClient<C, Full<Bytes>>,
    endpoint: &Endpoint,
    op: &O,
    check: Check,
    seed: u64,
    thinned: &mut u64,
) -> Verdict
where
    O: Operation,
    O::Output: std::fmt::Debug + 'static,
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let request = endpoint.request(op).map(Full::new);
    let response = match http.request(request).await {
        Ok(r) => r,
        Err(e) => return Verdict::Failed(format!("sending: {e}")),
    };
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Verdict::Failed(format!("reading: {e}")),
    };
    if !parts.status.is_success() {
        return Verdict::Failed(format!(
            "HTTP {} (a request Prism refused?): {}",
            parts.status,
            String::from_utf8_lossy(&body)
        ));
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return Verdict::Failed(format!("not JSON: {}", String::from_utf8_lossy(&body)));
    };
    let verdict = match endpoint.parse_response(op, parts.status, &parts.headers, &body) {
        Ok(out) => match agrees(check, &json, &out) {
            Ok(()) => Verdict::Parsed,
            Err(e) => Verdict::Failed(format!("{e}: {}", String::from_utf8_lossy(&body))),
        },
        Err(e) => {
            let Some(why) = fix_ids(&mut json) else {
                return Verdict::Failed(format!("{e}: {}", String::from_utf8_lossy(&body)));
            };
            let fixed = serde_json::to_vec(&json).unwrap_or_default();
            match endpoint.parse_response(op, parts.status, &parts.headers, &fixed) {
                Ok(out) => match agrees(check, &json, &out) {
                    Ok(()) => Verdict::RefusedId(why),
                    Err(e) => Verdict::Failed(format!(
                        "{e} (IDs fixed): {}",
                        String::from_utf8_lossy(&fixed)
                    )),
                },
                Err(e) => Verdict::Failed(format!(
                    "{e} (still, with IDs fixed): {}",
                    String::from_utf8_lossy(&fixed)
                )),
            }
        }
    };
    if matches!(verdict, Verdict::Failed(_)) {
        return verdict;
    }
    // The same body (IDs fixed) with optional properties dropped.
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    thin(&mut json, &mut rng, false);
    let body = serde_json::to_vec(&json).unwrap_or_default();
    match endpoint.parse_response(op, parts.status, &parts.headers, &body) {
        Ok(out) => match agrees(check, &json, &out) {
            Ok(()) => {
                *thinned += 1;
                verdict
            }
            Err(e) => Verdict::Failed(format!("{e} (thinned): {}", String::from_utf8_lossy(&body))),
        },
        Err(e) => Verdict::Failed(format!("{e} (thinned): {}", String::from_utf8_lossy(&body))),
    }
}

/// Drops about half of the properties of every object in `v`, at random,
/// except `join_request_id`, and `creation_timestamp` in a list item.
fn thin(v: &mut Value, rng: &mut u64, in_list_item: bool) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| {
                // xorshift64
                *rng ^= *rng << 13;
                *rng ^= *rng >> 7;
                *rng ^= *rng << 17;
                k == "join_request_id"
                    || (in_list_item && k == "creation_timestamp")
                    || (*rng).is_multiple_of(2)
            });
            for (k, child) in map.iter_mut() {
                match (k.as_str(), child) {
                    ("data", Value::Array(items)) => {
                        items.iter_mut().for_each(|item| thin(item, rng, true));
                    }
                    (_, child) => thin(child, rng, false),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| thin(item, rng, false)),
        _ => {}
    }
}

/// Replaces every join request ID the client's validation refuses with a
/// valid one; returns why the first was refused, `None` if none was.
fn fix_ids(json: &mut Value) -> Option<&'static str> {
    fn fix(v: &mut Value, why: &mut Option<&'static str>) {
        if let Value::String(s) = v
            && JoinRequestId::new(s.as_str()).is_err()
        {
            let reason = if s.is_empty() {
                "empty"
            } else if s.len() > 1024 {
                "over 1024 bytes"
            } else {
                "whitespace or control characters"
            };
            why.get_or_insert(reason);
            let cleaned: String = s
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .take(1024)
                .collect();
            *s = if cleaned.is_empty() {
                "x".to_owned()
            } else {
                cleaned
            };
        }
    }
    let mut why = None;
    let Value::Object(map) = json else {
        return None;
    };
    for key in ["approved_join_requests", "rejected_join_requests"] {
        if let Some(Value::Array(a)) = map.get_mut(key) {
            a.iter_mut().for_each(|v| fix(v, &mut why));
        }
    }
    for key in ["data", "failed_join_requests"] {
        if let Some(Value::Array(a)) = map.get_mut(key) {
            for item in a {
                if let Some(v) = item.get_mut("join_request_id") {
                    fix(v, &mut why);
                }
            }
        }
    }
    why
}

fn len_of(json: &Value, key: &str) -> usize {
    json.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

/// Checks that what was parsed says what the body says.
fn agrees(check: Check, json: &Value, out: &dyn std::any::Any) -> Result<(), String> {
    match check {
        Check::List => {
            let page = out
                .downcast_ref::<wa_groups::JoinRequestPage>()
                .ok_or("not a page")?;
            let want = len_of(json, "data");
            if page.data.len() != want {
                return Err(format!(
                    "{} join requests parsed, {want} sent",
                    page.data.len()
                ));
            }
            for (item, sent) in page
                .data
                .iter()
                .zip(json["data"].as_array().into_iter().flatten())
            {
                if item.join_request_id.as_str()
                    != sent["join_request_id"].as_str().unwrap_or_default()
                {
                    return Err("a join_request_id changed in parsing".to_owned());
                }
                if Some(item.creation_timestamp)
                    != sent.get("creation_timestamp").and_then(Value::as_i64)
                {
                    return Err("a creation_timestamp changed in parsing".to_owned());
                }
            }
        }
        Check::Decide(action) => {
            let o = out
                .downcast_ref::<wa_groups::protocol::DecisionOutcome>()
                .ok_or("not an outcome")?;
            let want = len_of(json, action.succeeded_key());
            if o.succeeded.len() != want {
                return Err(format!(
                    "{} succeeded IDs parsed, {want} sent",
                    o.succeeded.len()
                ));
            }
            if o.failed.len() != len_of(json, "failed_join_requests")
                || o.errors.len() != len_of(json, "errors")
            {
                return Err("failed_join_requests or errors lost in parsing".to_owned());
            }
            for (f, sent) in o.failed.iter().zip(
                json["failed_join_requests"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            ) {
                for (e, sent) in f
                    .errors
                    .iter()
                    .zip(sent["errors"].as_array().into_iter().flatten())
                {
                    // An absent code reads as 0.
                    if e.code != sent.get("code").and_then(Value::as_i64).unwrap_or(0) {
                        return Err("an error code changed in parsing".to_owned());
                    }
                }
            }
        }
        Check::GroupInfo => {
            let g = out
                .downcast_ref::<wa_groups::GroupInfo>()
                .ok_or("not a group info")?;
            if g.subject.as_deref() != json.get("subject").and_then(Value::as_str)
                || g.creation_timestamp != json.get("creation_timestamp").and_then(Value::as_i64)
                || g.participants.as_ref().map(Vec::len)
                    != json
                        .get("participants")
                        .and_then(Value::as_array)
                        .map(Vec::len)
            {
                return Err("group info changed in parsing".to_owned());
            }
        }
    }
    Ok(())
}
