use super::*;
use crate::guardduty::CORRELATION_SCHEMA;
use crate::ports::sink::MemSink;
use crate::ports::store::{block_on, put_json, MemStore};

const EC2: &str = include_str!("../../../../tests/fixtures/guardduty/ec2-finding.json");
const INSTANCE: &str = "i-0123456789abcdef0";

fn correlation(store: MemStore) -> GuardDutyCorrelation<MemStore, MemSink> {
    GuardDutyCorrelation {
        store,
        sink: MemSink::default(),
        pack: RulePack::builtin(),
        options: CorrelationOptions {
            margin: SignedDuration::from_mins(60),
            longest_session: SignedDuration::from_hours(12),
            account: Some("123456789012".into()),
        },
    }
}

fn file(store: &MemStore, id: &str, target: &str, start: &str, end: Option<&str>) {
    let session = format!("{id}-0a1b2c3d4e5f60718");
    let person = format!("{id}@example.com");
    let record = crate::guardduty::tests::record(&session, target, start, end, &person);
    block_on(put_json(store, &record.key().unwrap(), &record, &Condition::Always)).unwrap();
}

fn event() -> Value {
    serde_json::from_str(EC2).unwrap()
}

const NOW: Timestamp = Timestamp::UNIX_EPOCH;

#[test]
fn the_session_on_the_instance_is_named_filed_and_published() {
    let store = MemStore::default();
    file(&store, "alice", INSTANCE, "2026-11-24T10:05:00Z", Some("2026-11-24T10:40:00Z"));
    file(&store, "bob", "i-0fedcba9876543210", "2026-11-24T10:05:00Z", None);
    // Started the evening before, never seen to end: open through the activity.
    file(&store, "carol", INSTANCE, "2026-11-23T23:30:00Z", None);
    let c = correlation(store);
    let out = block_on(c.handle(&event(), NOW)).unwrap();
    assert_eq!(out.sessions, ["carol-0a1b2c3d4e5f60718", "alice-0a1b2c3d4e5f60718"]);
    assert_eq!(out.key, "audit/guardduty/dt=2026-11-24/16afba5c5c43e07c9e3e5e2e544e95df.json");
    let filed: Correlation =
        serde_json::from_slice(&block_on(c.store.get(&out.key, None)).unwrap().unwrap().bytes)
            .unwrap();
    assert_eq!(filed.schema, CORRELATION_SCHEMA);
    assert_eq!(
        filed.sessions[1].report,
        "audit/reports/dt=2026-11-24/acct=123456789012/region=us-east-1/alice-0a1b2c3d4e5f60718.json"
    );
    let events = c.sink.details();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["rule_id"], "SA-SES-GUARDDUTY");
    assert_eq!(e["severity"], "high", "GuardDuty's 8 is high");
    assert_eq!(e["target"], INSTANCE);
    assert_eq!(e["stage"], "guardduty");
    assert_eq!(e["record"], format!("memory:{}", out.key));
    let evidence = e["evidence"].as_str().unwrap();
    assert!(evidence.contains("alice-0a1b2c3d4e5f60718 by alice@example.com"), "{evidence}");
    assert!(evidence.contains("Backdoor:EC2/C&CActivity.B!DNS"), "{evidence}");
    // Two sessions: the event names neither as *the* session; the evidence names both.
    assert!(e["session_id"].is_null());
}

#[test]
fn one_session_is_the_finding_s_session_and_person() {
    let store = MemStore::default();
    file(&store, "alice", INSTANCE, "2026-11-24T10:05:00Z", Some("2026-11-24T10:40:00Z"));
    let c = correlation(store);
    block_on(c.handle(&event(), NOW)).unwrap();
    let e = &c.sink.details()[0];
    assert_eq!(e["session_id"], "alice-0a1b2c3d4e5f60718");
    assert_eq!(e["person"], "alice@example.com");
}

#[test]
fn no_session_is_said_and_still_filed() {
    let c = correlation(MemStore::default());
    let out = block_on(c.handle(&event(), NOW)).unwrap();
    assert!(out.sessions.is_empty() && out.published);
    let evidence = c.sink.details()[0]["evidence"].as_str().unwrap().to_string();
    assert!(evidence.contains("did not come through Session Manager"), "{evidence}");
    assert!(block_on(c.store.get(&out.key, None)).unwrap().is_some());
}

#[test]
fn an_unreadable_record_is_named_not_skipped() {
    let store = MemStore::default();
    let key = crate::keys::session_record(
        "2026-11-24",
        &crate::keys::example("mallory-0a1b2c3d4e5f60718"),
    )
    .unwrap();
    block_on(store.put(
        &key,
        crate::ports::store::Payload::Bytes(b"{not a record".to_vec()),
        &crate::ports::store::Attributes::of("application/json"),
        &Condition::Always,
    ))
    .unwrap();
    let c = correlation(store);
    let out = block_on(c.handle(&event(), NOW)).unwrap();
    assert_eq!(out.unreadable, 1);
    let evidence = c.sink.details()[0]["evidence"].as_str().unwrap().to_string();
    assert!(evidence.contains("1 session records unreadable"), "{evidence}");
}

#[test]
fn another_account_s_finding_is_refused() {
    let mut e = event();
    e["detail"]["accountId"] = "210987654321".into();
    let c = correlation(MemStore::default());
    let err = block_on(c.handle(&e, NOW)).unwrap_err();
    assert_eq!(err.kind(), FailureKind::MalformedEvent);
    assert!(err.to_string().contains("not this stack's 123456789012"), "{err}");
    assert!(c.sink.details().is_empty());
}
