//! The settings and the start/stop lifecycle the language bindings share.

use serde_json::json;
use wa_groups_emulator::{
    EmulatorConfig, Error, GroupOptions, JoinApprovalMode, ManagedEmulator, RateLimit, whole_number,
};

fn invalid(r: Result<impl std::fmt::Debug, Error>, field: &str) {
    match r {
        Err(Error::InvalidInput(m)) => assert!(m.contains(field), "{m:?} does not name {field}"),
        other => panic!("expected invalid input naming {field}, got {other:?}"),
    }
}

#[test]
fn settings_are_read_once_with_their_checks() {
    let c = EmulatorConfig::from_value(
        json!({"accessToken": "t", "pageSize": 2.0, "cursor_ttl": 1.5, "fixedClock": 1000}),
    )
    .unwrap();
    assert_eq!(c.access_token.as_deref(), Some("t"));
    assert_eq!(c.page_size, Some(2));
    assert_eq!(
        EmulatorConfig::from_value(json!(null)).unwrap(),
        EmulatorConfig::default()
    );
    invalid(
        EmulatorConfig::from_value(json!({"port": 70000})).and_then(|c| c.builder().map(|_| ())),
        "port",
    );
    invalid(EmulatorConfig::from_value(json!({"port": -1})), "port");
    invalid(EmulatorConfig::from_value(json!({"port": 1.5})), "port");
    invalid(
        EmulatorConfig::from_value(json!({"pageSize": 0})).and_then(|c| c.builder().map(|_| ())),
        "page_size",
    );
    invalid(
        EmulatorConfig::from_value(json!({"cursorTtl": "1h"})),
        "cursor_ttl",
    );
    invalid(
        EmulatorConfig::from_value(json!({"fixedClock": 1e300})),
        "fixed_clock",
    );
    assert!(EmulatorConfig::from_value(json!({"colour": "blue"})).is_err());
    invalid(whole_number(1e300, "count").map(|_| ()), "count");
    invalid(whole_number(-1.0, "count").map(|_| ()), "count");
    assert_eq!(whole_number(3.0, "count").unwrap(), 3);

    let o = GroupOptions::from_value(
        json!({"participantCap": 3, "joinApprovalMode": "auto_approve", "groupId": "abc"}),
    )
    .unwrap();
    assert_eq!(o.participant_cap, Some(3));
    assert_eq!(o.join_approval_mode, Some(JoinApprovalMode::AutoApprove));
    assert!(GroupOptions::from_value(json!({"participantCap": -3})).is_err());

    assert_eq!(RateLimit::from_value(json!(null)).unwrap(), None);
    assert_eq!(
        RateLimit::from_value(json!({"perSecond": 5, "scope": "phone"})).unwrap(),
        Some(RateLimit::per_phone(5.0))
    );
    invalid(
        RateLimit::from_value(json!({"perSecond": 1e-300})),
        "per_second",
    );
}

#[test]
fn start_stop_and_start_again() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emu =
        ManagedEmulator::new(EmulatorConfig::from_value(json!({"accessToken": "tok"})).unwrap())
            .unwrap();
    invalid(emu.controller(), "not running");
    let c = emu.start_on(rt.handle()).unwrap();
    assert_eq!(c.access_token(), "tok");
    invalid(emu.start_on(rt.handle()), "already running");
    assert!(emu.is_running());
    let handle = emu.stop().unwrap();
    rt.block_on(handle.shutdown());
    assert!(emu.stop().is_none());
    invalid(emu.controller(), "not running");
    let again = emu.start_on(rt.handle()).unwrap();
    assert!(again.groups().is_empty());
    invalid(
        ManagedEmulator::new(EmulatorConfig::from_value(json!({"port": 65536})).unwrap()),
        "port",
    );
}
