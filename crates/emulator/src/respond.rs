//! What the HTTP routes share: reading bodies under the caps, JSON
//! answers and Graph error envelopes.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use wa_groups_protocol::ApiError;
use wa_groups_protocol::server::bad_request;

use crate::body::EmuBody;
use crate::codec::random_token;
use crate::core::Core;
use crate::stats::bump;

/// The error a service returns to make hyper drop the connection.
#[derive(Debug)]
pub(crate) struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("emulator fault: connection reset")
    }
}

impl std::error::Error for Reset {}

/// Reads a request body under the size cap and the body read timeout; a
/// body that does not arrive in time closes the connection (`Err`).
pub(crate) async fn read_body(
    core: &Core,
    body: Incoming,
) -> Result<Result<Bytes, Response<EmuBody>>, Reset> {
    let max = core.config.max_request_body;
    let read = Limited::new(body, max).collect();
    let Ok(read) = tokio::time::timeout(core.config.body_read_timeout, read).await else {
        bump(&core.counters.connections_timed_out);
        tracing::debug!("emulator closed a connection whose request body was too slow");
        return Err(Reset);
    };
    Ok(match read {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let mut err = bad_request(format!("(#100) Request body larger than {max} bytes"));
            err.status = 413;
            Err(api_error(err))
        }
        Err(_) => Err(api_error(bad_request(
            "(#100) Could not read the request body",
        ))),
    })
}

pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<EmuBody> {
    let mut resp = Response::new(EmuBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

/// The Graph error envelope for `e`, with a trace ID, and `Retry-After` or
/// `WWW-Authenticate` where they belong.
pub(crate) fn api_error(mut e: ApiError) -> Response<EmuBody> {
    if e.fbtrace_id.is_none() {
        e.fbtrace_id = Some(random_token(11));
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json(status, e.to_envelope());
    if let Some(after) = e.retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(after.as_secs()));
    }
    if e.status == 401 {
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token\"",
            ),
        );
    }
    resp
}
