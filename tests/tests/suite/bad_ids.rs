//! IDs chosen by the person being audited never become keys or paths: an event ID, session ID
//! or transcript name with `/`, `..` or a control character is refused as a malformed event by
//! each function, and nothing is written.

use serde_json::{json, Value};
use session_audit::access_summary::{AccessSummary, SummaryError};
use session_audit::ports::sink::MemSink;
use session_audit::ports::store::{block_on, Attributes, AuditStore, Condition, MemStore, Payload};
use session_audit::publish::Metrics;
use session_audit::rules::RulePack;
use session_audit::session_report::ReportError;
use session_audit::session_start::StartError;
use session_audit::settings::Variables;
use session_audit::{Failure, FailureKind};
use session_audit_tests::fixture;

const BAD: [&str; 5] = ["../../escape", "a/b", "..", "a\nb", "x\u{1b}]0;t\u{7}"];

fn start_event() -> Value {
    let path = fixture("public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn session_start_refuses_bad_event_and_session_ids() {
    let audit = super::use_cases::audit();
    for bad in BAD {
        for field in ["/detail/eventID", "/detail/responseElements/sessionId"] {
            let mut event = start_event();
            *event.pointer_mut(field).unwrap() = bad.into();
            let err = block_on(audit.handle(&event, &mut Metrics::default())).unwrap_err();
            assert!(matches!(err, StartError::Malformed { .. }), "{field} {bad:?}: {err}");
            assert_eq!(err.kind(), FailureKind::MalformedEvent);
            assert!(err.to_string().contains("cannot be used in an audit key"), "{err}");
        }
    }
    assert!(audit.store.snapshot().is_empty(), "nothing written");
}

#[test]
fn session_report_refuses_a_transcript_named_to_escape() {
    let reporter = super::use_cases::reporter();
    for name in ["..", "a%0Ab", "x%1B%5B2J", "%2E%2E"] {
        let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "eventTime": "2026-11-24T10:00:00Z", "s3": {"bucket": {"name": "bucket"},
            "object": {"key": format!("session-logs/{name}.log"), "size": 1, "eTag": "e"}}}]});
        let err = block_on(reporter.handle(&event, &mut Metrics::default())).unwrap_err();
        assert!(matches!(err, ReportError::Malformed(_)), "{name}: {err}");
        assert_eq!(err.kind(), FailureKind::MalformedEvent);
        assert!(err.to_string().contains("cannot be used in an audit key"), "{err}");
    }
    assert!(reporter.store.snapshot().is_empty(), "nothing written");
    assert!(reporter.sink.details().is_empty(), "nothing published");
}

#[test]
fn access_summary_lists_bad_keys_and_refuses_bad_periods() {
    let store = MemStore::default();
    let record = std::fs::read(fixture(
        "public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json",
    ))
    .unwrap();
    block_on(store.put(
        "audit/sessions/dt=2026-11-24/a\u{1}b.json",
        Payload::Bytes(record),
        &Attributes::default(),
        &Condition::Always,
    ))
    .unwrap();
    let summary = AccessSummary {
        store,
        sink: MemSink::default(),
        pack: RulePack::builtin(),
        options: Variables(|_: &str| None).summary_options().unwrap(),
    };
    let day = json!({"kind": "daily", "period": "2026-11-24", "as_of": "2026-11-26T00:00:00Z"});
    let written = block_on(summary.handle(&day, &mut Metrics::default())).unwrap();
    assert_eq!(written.summary.sessions, 0);
    assert_eq!(written.summary.corrupt.total, 1, "the odd key is listed, not joined");
    for period in ["../../x", "2026-11-24/../..", "2026-11-24\n"] {
        let bad = json!({"kind": "daily", "period": period});
        let err = block_on(summary.handle(&bad, &mut Metrics::default())).unwrap_err();
        assert!(matches!(err, SummaryError::Malformed(_)), "{period:?}: {err}");
    }
}
