//! The `/_emulator/` control API: JSON in, JSON out, mapped onto
//! [`Controller`] (see the crate docs for the table).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use wa_groups_protocol::ApiError;
use wa_groups_protocol::server::{bad_request, bearer_token};

use crate::body::EmuBody;
use crate::controller::Controller;
use crate::core::Core;
use crate::fault::Fault;
use crate::respond::{api_error, json};
use crate::seed::Seed;
use crate::types::{GroupOptions, RateLimit};
use crate::{Error, errors as graph, input};

/// A count from JSON as a `usize`; the callee checks its bound.
fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

type Resp = Response<EmuBody>;

fn ok(v: &serde_json::Value) -> Resp {
    json(StatusCode::OK, serde_json::to_vec(v).unwrap_or_default())
}

fn created(v: &serde_json::Value) -> Resp {
    json(
        StatusCode::CREATED,
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

/// The Graph-style error for a control call that failed.
fn error(e: &Error) -> Resp {
    let api = match e {
        Error::UnknownGroup(id) => {
            let mut a = graph::unknown_group(id);
            a.status = 404;
            a
        }
        Error::UnknownJoinRequest(id) => {
            let mut a = ApiError::new(
                404,
                wa_groups_protocol::codes::JOIN_REQUEST_NOT_FOUND,
                format!("(#131213) Join request {id} is not pending in this group"),
            );
            a.error_type = Some("OAuthException".to_owned());
            a
        }
        other => bad_request(format!("(#100) {other}")),
    };
    api_error(api)
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| Error::invalid(format!("bad JSON body: {e}")))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| char::from(c).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddJoinRequests {
    #[serde(deserialize_with = "input::whole::<input::Count, _>")]
    count: u64,
    #[serde(default)]
    business_scoped: bool,
    /// Requesters from the requester pool (implied by `seed`).
    #[serde(default)]
    pool: bool,
    #[serde(default, deserialize_with = "input::whole_opt::<input::Seed, _>")]
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    #[serde(deserialize_with = "input::whole::<input::Count, _>")]
    count: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    url: String,
    app_secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    #[serde(deserialize_with = "input::number::<input::AdvanceSeconds, _>")]
    advance_seconds: f64,
}

/// Answers one control request.
pub(crate) fn handle(shared: &Arc<Core>, parts: &Parts, body: &Bytes) -> Resp {
    if let Some(admin) = &shared.config.admin_token
        && bearer_token(&parts.headers) != Some(admin.as_str())
    {
        return api_error(graph::invalid_token(bearer_token(&parts.headers).is_none()));
    }
    let c = Controller {
        core: Arc::clone(shared),
    };
    let path = parts.uri.path().trim_end_matches('/');
    let segments: Vec<String> = path
        .strip_prefix("/_emulator")
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match dispatch(&c, &parts.method, &segs, body) {
        Ok(resp) => resp,
        Err(e) => error(&e),
    }
}

fn dispatch(c: &Controller, method: &Method, segs: &[&str], body: &[u8]) -> Result<Resp, Error> {
    let m = method.as_str();
    Ok(match (m, segs) {
        ("GET", []) => ok(&json!({
            "emulator": "wa-groups-emulator",
            "version": env!("CARGO_PKG_VERSION"),
            "base_url": c.base_url(),
            "now": c.now(),
            "docs": crate::DOCS,
        })),
        ("GET", ["health"]) => ok(&json!({"status": "ok"})),
        ("GET", ["groups"]) => {
            let data = c
                .groups()
                .iter()
                .filter_map(|g| c.group_summary(g).ok())
                .collect::<Vec<_>>();
            ok(&json!({ "data": data }))
        }
        ("POST", ["groups"]) => {
            let opts: GroupOptions = parse(body)?;
            created(&json!({ "group_id": c.create_group(opts)? }))
        }
        ("GET", ["groups", g]) => ok(&c.group_summary(g)?),
        ("POST", ["groups", g, "join_requests"]) => {
            let req: AddJoinRequests = parse(body)?;
            let ids = if req.pool || req.seed.is_some() {
                if req.business_scoped {
                    return Err(Error::invalid(
                        "business_scoped and pool (or seed) do not go together: the pool mixes both",
                    ));
                }
                c.add_pool_join_requests(g, usize_of(req.count), req.seed)?
            } else if req.business_scoped {
                c.add_business_scoped_join_requests(g, usize_of(req.count))?
            } else {
                c.add_join_requests(g, usize_of(req.count))?
            };
            created(&json!({ "join_request_ids": ids }))
        }
        ("GET", ["groups", g, "join_requests"]) => {
            ok(&json!({ "data": c.pending_join_requests(g)? }))
        }
        ("POST", ["groups", g, "join_requests", jr, "revoke"]) => {
            c.revoke_join_request(g, jr)?;
            ok(&json!({ "revoked": jr }))
        }
        ("GET", ["groups", g, "participants"]) => ok(&json!({ "data": c.participants(g)? })),
        ("POST", ["groups", g, "participants"]) => {
            let req: Count = parse(body)?;
            created(&json!({ "participants": c.add_participants(g, usize_of(req.count))? }))
        }
        ("GET", ["faults"]) => ok(&json!({ "data": c.faults() })),
        ("POST", ["faults"]) => {
            let (fault, matcher) = Fault::from_json(body)?;
            c.inject_fault(fault, matcher)?;
            created(&json!({ "queued": c.faults().len() }))
        }
        ("DELETE", ["faults"]) => ok(&json!({ "cleared": c.clear_faults() })),
        ("GET", ["rate_limit"]) => ok(&json!({ "rate_limit": c.rate_limit() })),
        ("PUT", ["rate_limit"]) => {
            let limit: RateLimit = parse(body)?;
            c.set_rate_limit(Some(limit))?;
            ok(&json!({ "rate_limit": limit }))
        }
        ("DELETE", ["rate_limit"]) => {
            c.set_rate_limit(None)?;
            ok(&json!({ "rate_limit": null }))
        }
        ("PUT", ["webhook"]) => {
            let w: WebhookBody = parse(body)?;
            c.set_webhook(&w.url, w.app_secret.as_bytes())?;
            ok(&json!({ "url": w.url }))
        }
        ("DELETE", ["webhook"]) => {
            c.clear_webhook();
            ok(&json!({ "url": null }))
        }
        ("GET", ["stats"]) => ok(&serde_json::to_value(c.stats()).unwrap_or_default()),
        ("DELETE", ["stats"]) => {
            c.reset_stats();
            ok(&serde_json::to_value(c.stats()).unwrap_or_default())
        }
        ("POST", ["seed"]) => {
            let seed = Seed::from_json(body)?;
            created(&json!({ "groups": c.apply_seed(&seed)? }))
        }
        ("GET", ["clock"]) => ok(&json!({ "now": c.now() })),
        ("POST", ["clock"]) => {
            let req: ClockBody = parse(body)?;
            #[allow(
                clippy::cast_precision_loss,
                reason = "100 years in seconds is exact in an f64"
            )]
            let max = input::MAX_ADVANCE_SECONDS as f64;
            let secs = input::in_range(req.advance_seconds, 0.0, max, "advance_seconds")?;
            c.advance_clock(Duration::from_secs_f64(secs))?;
            ok(&json!({ "now": c.now() }))
        }
        _ => {
            let mut e = bad_request(format!(
                "(#100) Unknown control endpoint {m} /_emulator/{}",
                segs.join("/")
            ));
            e.status = 404;
            return Ok(api_error(e));
        }
    })
}
