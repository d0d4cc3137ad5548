//! The Graph API routes: faults first, then the token, then the call,
//! served by the core.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use wa_groups_protocol::server::{ServerRequest, bad_request, bearer_token, parse_request};
use wa_groups_protocol::{Action, ApiError};

use crate::body::EmuBody;
use crate::codec::random_token;
use crate::core::Core;
use crate::errors;
use crate::fault::Fault;
use crate::respond::{Reset, api_error, json, read_body};
use crate::stats::bump;
use wa_groups_protocol::usage::business_use_case_usage;

fn fault_response(fault: Fault) -> Result<Response<EmuBody>, Reset> {
    Ok(match fault {
        // Latency is applied before the call; webhook faults are never queued for calls.
        Fault::Latency(_) | Fault::Webhook(_) => unreachable_latency(),
        Fault::ServerError {
            status,
            code,
            is_transient,
        } => api_error(errors::server_error(
            status,
            code.unwrap_or(if is_transient { 2 } else { 1 }),
            is_transient,
        )),
        Fault::RateLimited { code, retry_after } => api_error(errors::rate_limited(
            code,
            retry_after.map(Duration::from_secs),
        )),
        Fault::ConnectionReset => return Err(Reset),
        Fault::TruncatedBody => {
            let mut resp = json(StatusCode::OK, Bytes::new());
            *resp.body_mut() =
                EmuBody::truncated(Bytes::from_static(b"{\"data\":[{\"join_request_id\":\""));
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_static("4096"));
            resp
        }
        Fault::MalformedJson => json(
            StatusCode::OK,
            Bytes::from_static(b"{\"data\": [{\"join_request_id\": \"MTox\",, }"),
        ),
        Fault::OversizeBody { bytes } => {
            let mut resp = json(StatusCode::OK, Bytes::new());
            *resp.body_mut() = EmuBody::oversize(bytes);
            resp
        }
        Fault::Response {
            status,
            headers,
            body,
        } => {
            // Validated when queued.
            let mut resp = json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
            for (name, value) in headers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    resp.headers_mut().insert(n, v);
                }
            }
            resp
        }
    })
}

/// Latency is applied before the call is served, never turned into a response.
fn unreachable_latency() -> Response<EmuBody> {
    api_error(errors::server_error(500, 1, false))
}

fn token_ok(core: &Core, parts: &http::request::Parts) -> Result<(), ApiError> {
    let query_token = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_owned)
    });
    let token = bearer_token(&parts.headers)
        .map(str::to_owned)
        .or(query_token);
    match token {
        None => Err(errors::invalid_token(true)),
        Some(t) if t == core.config.access_token => Ok(()),
        Some(_) => Err(errors::invalid_token(false)),
    }
}

pub(crate) async fn graph_api(
    core: &Arc<Core>,
    req: Request<Incoming>,
) -> Result<Response<EmuBody>, Reset> {
    let counters = &core.counters;
    bump(&counters.requests);
    let (parts, body) = req.into_parts();
    if let Some(fault) = core.take_fault(&parts.method, parts.uri.path()) {
        match fault {
            Fault::Latency(d) => tokio::time::sleep(d).await,
            other => return fault_response(other),
        }
    }
    let body = match read_body(core, body).await? {
        Ok(b) => b,
        Err(resp) => return Ok(resp),
    };
    if let Err(e) = token_ok(core, &parts) {
        bump(&counters.auth_failures);
        return Ok(api_error(e));
    }
    let request = match parse_request(&parts.method, &parts.uri, &parts.headers, &body) {
        Ok(r) => r,
        Err(e) => {
            bump(&counters.invalid);
            return Ok(api_error(e));
        }
    };
    // Each call's usage is read after it took its share of the limit.
    let (result, usage) = match request {
        ServerRequest::List { version, op } => {
            bump(&counters.list);
            let group = op.group_id().as_str();
            let result = core
                .list(group, op.options(), version.as_str())
                .map(|p| json(StatusCode::OK, serde_json::to_vec(&p).unwrap_or_default()));
            (result, core.usage(group))
        }
        ServerRequest::Decide { op, .. } => {
            bump(match op.action() {
                Action::Approve => &counters.approve,
                Action::Reject => &counters.reject,
            });
            let request_id = random_token(24);
            let group = op.group_id().as_str();
            let result = core
                .decide(group, op.action(), op.ids(), &request_id)
                .map(|outcome| json(StatusCode::OK, outcome.to_json()));
            (result, core.usage(group))
        }
        ServerRequest::GroupInfo { op, .. } => {
            bump(&counters.group_info);
            let group = op.group_id().as_str();
            let result = core
                .group_info(group, op.fields())
                .map(|i| json(StatusCode::OK, serde_json::to_vec(&i).unwrap_or_default()));
            (result, core.usage(group))
        }
        _ => {
            bump(&counters.invalid);
            (Err(bad_request("(#100) Unsupported request")), None)
        }
    };
    let mut response = result.unwrap_or_else(|e| {
        if e.code == wa_groups_protocol::codes::GROUP_NOT_FOUND {
            bump(&counters.unknown_group);
        }
        api_error(e)
    });
    // As Meta's responses do: how much of the limit is used, so a client
    // can slow down before 100.
    if let Some(usage) = usage {
        let value =
            business_use_case_usage(&core.config.waba_id, usage.percent, usage.regain_minutes);
        if let Ok(value) = http::HeaderValue::try_from(value) {
            response
                .headers_mut()
                .insert(wa_groups_protocol::usage::BUSINESS_USE_CASE_USAGE, value);
        }
    }
    Ok(response)
}
