//! The golden wire vectors in `testdata/`, shared with the Python and Node
//! suites: requests built, responses and errors parsed, inputs validated.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde_json::{Value, json};
use wa_groups_protocol::{
    AccessToken, Action, ApiVersion, BaseUrl, BodyEncoding, Boundary, Cursor, DecideJoinRequests,
    Endpoint, Error, Field, GroupId, JoinRequestIds, ListJoinRequests, ListQuery, UserAgent,
    is_retryable, parse_error_response,
};

fn load(name: &str) -> Value {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cases(doc: &Value) -> &Vec<Value> {
    doc["cases"].as_array().expect("cases array")
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn endpoint(settings: &Value) -> Endpoint {
    Endpoint::new(
        BaseUrl::new(s(&settings["base_url"])).unwrap(),
        ApiVersion::new(s(&settings["api_version"])).unwrap(),
        AccessToken::new(s(&settings["access_token"])).unwrap(),
        UserAgent::library(),
    )
}

fn list_options(v: &Value) -> ListQuery {
    ListQuery {
        limit: v["limit"].as_u64().map(|n| u32::try_from(n).unwrap()),
        after: v["after"].as_str().map(|c| Cursor::new(c).unwrap()),
        before: v["before"].as_str().map(|c| Cursor::new(c).unwrap()),
    }
}

fn decide(case: &Value, action: Action) -> DecideJoinRequests {
    let ids: Vec<&str> = case["ids"].as_array().unwrap().iter().map(s).collect();
    let encoding = match s(&case["encoding"]) {
        "json" => BodyEncoding::Json,
        "form" => BodyEncoding::FormUrlEncoded,
        "multipart" => BodyEncoding::Multipart(Boundary::from_random(
            u64::from_str_radix(s(&case["boundary_seed"]), 16).unwrap(),
        )),
        other => panic!("unknown encoding {other}"),
    };
    DecideJoinRequests::new(
        action,
        GroupId::new(s(&case["group_id"])).unwrap(),
        JoinRequestIds::new(ids).unwrap(),
    )
    .with_encoding(encoding)
}

fn action(name: &str) -> Action {
    match name {
        "approve" => Action::Approve,
        "reject" => Action::Reject,
        other => panic!("not an action: {other}"),
    }
}

#[test]
fn requests_match_the_golden_vectors() {
    let doc = load("requests.json");
    let ep = endpoint(&doc["settings"]);
    assert_eq!(
        ep.user_agent().as_str(),
        s(&doc["settings"]["user_agent"]),
        "testdata/requests.json pins the user agent of this crate version"
    );
    for case in cases(&doc) {
        let name = s(&case["name"]);
        let group = || GroupId::new(s(&case["group_id"])).unwrap();
        let req = match s(&case["operation"]) {
            "list" => {
                ep.request(&ListJoinRequests::new(group(), list_options(&case["options"])).unwrap())
            }
            op => ep.request(&decide(case, action(op))),
        };
        let want = &case["expected"];
        assert_eq!(req.method().as_str(), s(&want["method"]), "{name}: method");
        assert_eq!(req.uri().to_string(), s(&want["url"]), "{name}: url");
        let want_headers = want["headers"].as_object().unwrap();
        assert_eq!(
            req.headers().len(),
            want_headers.len(),
            "{name}: header count {:?}",
            req.headers().keys().collect::<Vec<_>>()
        );
        for (k, v) in want_headers {
            let got = req
                .headers()
                .get(k.as_str())
                .unwrap_or_else(|| panic!("{name}: no {k}"));
            assert_eq!(got.to_str().unwrap(), s(v), "{name}: header {k}");
        }
        assert!(
            req.headers()["authorization"].is_sensitive(),
            "{name}: token header is sensitive"
        );
        assert_eq!(
            std::str::from_utf8(req.body()).unwrap(),
            s(&want["body"]),
            "{name}: body"
        );
    }
}

fn jr_json(jr: &wa_groups_protocol::JoinRequest) -> Value {
    json!({
        "join_request_id": jr.join_request_id.as_str(),
        "wa_id": jr.wa_id, "creation_timestamp": jr.creation_timestamp,
        "user_id": jr.user_id, "parent_user_id": jr.parent_user_id, "username": jr.username,
    })
}

fn detail_json(d: &wa_groups_protocol::ErrorDetail) -> Value {
    json!({"code": d.code, "title": d.title, "message": d.message, "details": d.details})
}

fn failed_json(f: &[wa_groups_protocol::FailedJoinRequest]) -> Value {
    f.iter()
        .map(|f| json!({"join_request_id": f.join_request_id.as_str(), "errors": f.errors.iter().map(detail_json).collect::<Vec<_>>()}))
        .collect()
}

fn ids_json(ids: &[wa_groups_protocol::JoinRequestId]) -> Value {
    ids.iter().map(|i| Value::from(i.as_str())).collect()
}

#[test]
fn responses_parse_to_the_golden_values() {
    let doc = load("responses.json");
    let ep = endpoint(
        &json!({"base_url": "https://graph.facebook.com", "api_version": "v23.0", "access_token": "T0KEN"}),
    );
    let group = GroupId::new("g1").unwrap();
    let ids = JoinRequestIds::new(["x"]).unwrap();
    for case in cases(&doc) {
        let name = s(&case["name"]);
        let status =
            StatusCode::from_u16(u16::try_from(case["status"].as_u64().unwrap()).unwrap()).unwrap();
        let body = s(&case["body"]).as_bytes();
        let headers = HeaderMap::new();
        let got = match s(&case["operation"]) {
            "list" => {
                let op = ListJoinRequests::new(group.clone(), ListQuery::default()).unwrap();
                let page = ep
                    .parse_response(&op, status, &headers, body)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                json!({
                    "data": page.data.iter().map(jr_json).collect::<Vec<_>>(),
                    "after": page.after.as_ref().map(Cursor::as_str),
                    "before": page.before.as_ref().map(Cursor::as_str),
                })
            }
            op => {
                let a = action(op);
                let call = DecideJoinRequests::new(a, group.clone(), ids.clone());
                let o = ep
                    .parse_response(&call, status, &headers, body)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let key = if a == Action::Approve {
                    "approved"
                } else {
                    "rejected"
                };
                json!({
                    key: ids_json(&o.succeeded),
                    "failed": failed_json(&o.failed),
                    "errors": o.errors.iter().map(detail_json).collect::<Vec<_>>(),
                    "request_id": o.request_id,
                })
            }
        };
        assert_eq!(got, case["expected"], "{name}");
    }
}

#[test]
fn errors_parse_to_the_golden_values() {
    let doc = load("errors.json");
    for case in cases(&doc) {
        let name = s(&case["name"]);
        let status =
            StatusCode::from_u16(u16::try_from(case["status"].as_u64().unwrap()).unwrap()).unwrap();
        let mut headers = HeaderMap::new();
        for (k, v) in case["headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(s(v)).unwrap(),
            );
        }
        let err = parse_error_response(status, &headers, s(&case["body"]).as_bytes());
        let want = &case["expected"];
        assert_eq!(err.kind().as_str(), s(&want["kind"]), "{name}: kind");
        assert_eq!(
            Some(u64::from(status.as_u16())),
            want["status"].as_u64(),
            "{name}: status"
        );
        assert_eq!(err.status(), Some(status.as_u16()), "{name}: status kept");
        assert_eq!(
            is_retryable(&err),
            want["retried"].as_bool().unwrap(),
            "{name}: retried"
        );
        if let Some(api) = err.api_error() {
            let got = json!({
                "kind": err.kind().as_str(), "status": api.status, "code": api.code, "subcode": api.subcode,
                "type": api.error_type, "title": api.title, "message": api.message, "details": api.details,
                "fbtrace_id": api.fbtrace_id, "is_transient": api.is_transient,
                "retry_after_seconds": api.retry_after.map(|d| d.as_secs()), "retried": is_retryable(&err),
            });
            assert_eq!(&got, want, "{name}");
        } else {
            assert!(matches!(err, Error::Decode(_)), "{name}: {err:?}");
        }
    }
}

/// Runs the validator of `field` on `value`.
fn validate(field: &str, value: &Value) -> Result<(), wa_groups_protocol::InvalidInput> {
    let text = || value.as_str().unwrap();
    match field {
        "group_id" => GroupId::new(text()).map(drop),
        "join_request_id" => JoinRequestIds::new([text()]).map(drop),
        "api_version" => ApiVersion::new(text()).map(drop),
        "access_token" => AccessToken::new(text()).map(drop),
        "user_agent" => UserAgent::build(None, Some(text())).map(drop),
        "base_url" => BaseUrl::new(text()).map(drop),
        "after" => Cursor::for_field(text(), Field::After).map(drop),
        "limit" => ListQuery {
            limit: Some(u32::try_from(value.as_u64().unwrap()).unwrap()),
            ..ListQuery::default()
        }
        .validate(),
        other => panic!("no validator for {other}"),
    }
}

#[test]
fn validation_rules_match_the_golden_vectors() {
    let doc = load("validation.json");
    let mut fields = std::collections::BTreeSet::new();
    for case in cases(&doc) {
        let field = s(&case["field"]);
        fields.insert(field.to_owned());
        let why = s(&case["why"]);
        let result = validate(field, &case["value"]);
        if case["valid"].as_bool().unwrap() {
            assert!(result.is_ok(), "{field} ({why}) should pass: {result:?}");
        } else {
            let e = result.expect_err(&format!("{field} ({why}) should fail"));
            assert_eq!(
                e.field().as_str(),
                field,
                "{field} ({why}): the error names the field"
            );
            assert!(
                e.to_string().contains(field),
                "{field} ({why}): message {e}"
            );
        }
    }
    // Every rule of docs/design.md has vectors.
    for f in [
        "group_id",
        "join_request_id",
        "api_version",
        "access_token",
        "user_agent",
        "base_url",
        "limit",
        "after",
    ] {
        assert!(fields.contains(f), "no vectors for {f}");
    }
}
