use super::*;
use crate::session::identity::Identity;
use crate::session::SESSION_SCHEMA;

const EC2: &str = include_str!("../../../../tests/fixtures/guardduty/ec2-finding.json");
const RUNTIME: &str = include_str!("../../../../tests/fixtures/guardduty/runtime-finding.json");

fn event(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A session record of `person` on `target` (the correlation's tests file these too).
pub(crate) fn record(
    id: &str,
    target: &str,
    start: &str,
    end: Option<&str>,
    person: &str,
) -> SessionRecord {
    let mut identity =
        Identity::from_arn(&format!("arn:aws:sts::123456789012:assumed-role/Admin/{person}"));
    identity.person = Some(person.to_string());
    SessionRecord {
        schema: SESSION_SCHEMA.into(),
        session_id: id.into(),
        event_id: format!("e-{id}"),
        started_at: start.into(),
        region: "us-east-1".into(),
        account: Some("123456789012".into()),
        identity,
        target: Some(target.into()),
        document: "SSM-SessionManagerRunShell".into(),
        session_type: None,
        reason: None,
        parameters: Default::default(),
        access: None,
        change_window: None,
        approval: None,
        terminated_at: end.map(str::to_string),
        events: Vec::new(),
        warnings: Vec::new(),
        findings: Vec::new(),
        findings_sent: false,
    }
}

fn keyed(records: Vec<SessionRecord>) -> Vec<(String, SessionRecord)> {
    records.into_iter().map(|r| (r.key().unwrap(), r)).collect()
}

const HOUR: SignedDuration = SignedDuration::from_hours(1);
const DAY: SignedDuration = SignedDuration::from_hours(24);

#[test]
fn an_ec2_finding_as_eventbridge_delivers_it() {
    let f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    assert_eq!(f.id, "16afba5c5c43e07c9e3e5e2e544e95df");
    assert_eq!(f.instance_id, "i-0123456789abcdef0");
    assert_eq!(f.finding_type, "Backdoor:EC2/C&CActivity.B!DNS");
    assert_eq!(f.first_seen.to_string(), "2026-11-24T10:12:07Z");
    assert_eq!(f.last_seen.to_string(), "2026-11-24T10:14:51Z");
    assert_eq!((f.count, f.sample, f.severity_band()), (3, false, Severity::High));
    assert_eq!(f.process, None);
}

#[test]
fn a_runtime_finding_names_its_process() {
    let f = GuardDutyFinding::parse(&event(RUNTIME)).unwrap();
    assert_eq!(f.process.as_deref(), Some("/tmp/.cache/xmrig"));
    assert_eq!(f.severity_band(), Severity::Medium);
}

#[test]
fn what_is_not_an_instance_finding_is_refused_in_words() {
    let mut e = event(EC2);
    e["detail"]["resource"] = serde_json::json!({"resourceType": "AccessKey"});
    let why = GuardDutyFinding::parse(&e).unwrap_err().0;
    assert!(why.contains("names no EC2 instance"), "{why}");
    let mut e = event(EC2);
    e["source"] = "session-audit".into();
    assert!(GuardDutyFinding::parse(&e).unwrap_err().0.contains("not a GuardDuty finding"));
    // An ID that cannot name an audit object is refused, not filed under a made-up key.
    let mut e = event(EC2);
    e["detail"]["id"] = "../../reports/x".into();
    assert!(GuardDutyFinding::parse(&e).is_err());
    let mut e = event(EC2);
    e["detail"]["service"]["eventLastSeen"] = "yesterday".into();
    assert!(GuardDutyFinding::parse(&e).unwrap_err().0.contains("is not a time"));
}

#[test]
fn bands_follow_guardduty() {
    let mut f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    for (s, band) in [
        (1.0, Severity::Low),
        (3.9, Severity::Low),
        (4.0, Severity::Medium),
        (6.9, Severity::Medium),
        (7.0, Severity::High),
        (9.0, Severity::Critical),
    ] {
        f.severity = s;
        assert_eq!(f.severity_band(), band, "{s}");
    }
}

#[test]
fn the_session_open_during_the_activity_is_named_and_others_are_not() {
    let f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    let window = Window::around(&f, HOUR);
    let records = keyed(vec![
        // Open while GuardDuty saw the activity (10:12–10:14).
        record(
            "alice-0a1",
            "i-0123456789abcdef0",
            "2026-11-24T10:05:00Z",
            Some("2026-11-24T10:40:00Z"),
            "alice",
        ),
        // Ended before the activity, within the hour's margin.
        record(
            "bob-0b2",
            "i-0123456789abcdef0",
            "2026-11-24T09:20:00Z",
            Some("2026-11-24T09:30:00Z"),
            "bob",
        ),
        // Another instance at the same time.
        record("carol-0c3", "i-0fedcba9876543210", "2026-11-24T10:05:00Z", None, "carol"),
        // The same instance, the day before.
        record(
            "dave-0d4",
            "i-0123456789abcdef0",
            "2026-11-23T10:05:00Z",
            Some("2026-11-23T10:15:00Z"),
            "dave",
        ),
    ]);
    let c = Correlation::of(f, window, &records, DAY, Timestamp::UNIX_EPOCH);
    let named: Vec<(&str, bool)> =
        c.sessions.iter().map(|s| (s.session_id.as_str(), s.during)).collect();
    assert_eq!(named, [("bob-0b2", false), ("alice-0a1", true)]);
    assert_eq!(
        c.sessions[1].report,
        "audit/reports/dt=2026-11-24/acct=123456789012/region=us-east-1/alice-0a1.json"
    );
    assert_eq!(c.sessions[1].person.as_deref(), Some("alice"));
    let evidence = c.evidence();
    assert!(evidence.contains("alice-0a1 by alice"), "{evidence}");
    assert!(evidence.contains("open during the activity"), "{evidence}");
}

#[test]
fn a_session_without_a_seen_end_counts_as_open_for_the_longest_session() {
    let f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    let window = Window::around(&f, HOUR);
    let early = record("eve-0e5", "i-0123456789abcdef0", "2026-11-24T04:00:00Z", None, "eve");
    assert!(
        session_in_window(&early, &f.instance_id, &window, SignedDuration::from_hours(8)).is_some()
    );
    assert!(
        session_in_window(&early, &f.instance_id, &window, SignedDuration::from_hours(2)).is_none()
    );
}

#[test]
fn no_session_says_so() {
    let f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    let window = Window::around(&f, HOUR);
    let c = Correlation::of(f, window, &[], DAY, Timestamp::UNIX_EPOCH);
    assert!(c.sessions.is_empty());
    let evidence = c.evidence();
    assert!(evidence.contains("no Session Manager session on i-0123456789abcdef0"), "{evidence}");
    assert!(evidence.contains("did not come through Session Manager"), "{evidence}");
}

#[test]
fn a_long_running_finding_searches_its_last_week_and_the_days_it_needs() {
    let mut f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    f.first_seen = "2026-10-01T00:00:00Z".parse().unwrap();
    let window = Window::around(&f, HOUR);
    assert!(window.clipped);
    assert_eq!(window.from.to_string(), "2026-11-17T09:14:51Z");
    let days = window.record_days(DAY);
    assert_eq!(days.first().unwrap().to_string(), "2026-11-16");
    assert_eq!(days.last().unwrap().to_string(), "2026-11-24");
    let short = Window::around(&GuardDutyFinding::parse(&event(EC2)).unwrap(), HOUR);
    let days: Vec<String> = short.record_days(DAY).iter().map(|d| d.to_string()).collect();
    assert_eq!(days, ["2026-11-23", "2026-11-24"]);
    assert!(Correlation::of(f, window, &[], DAY, Timestamp::UNIX_EPOCH)
        .evidence()
        .contains("only its last 7 days searched"));
}

#[test]
fn a_flood_of_sessions_is_counted_not_spelled_out() {
    // Someone starts hundreds of sessions on the instance to make the finding too large to send.
    let f = GuardDutyFinding::parse(&event(EC2)).unwrap();
    let window = Window::around(&f, HOUR);
    let records: Vec<SessionRecord> = (0..500)
        .map(|n| {
            let id = format!("flood-{n:017}");
            record(&id, &f.instance_id, "2026-11-24T10:05:00Z", None, "mallory")
        })
        .collect();
    let c = Correlation::of(f, window, &keyed(records), DAY, Timestamp::UNIX_EPOCH);
    assert_eq!(c.sessions.len(), 500, "the correlation object keeps every one");
    let evidence = c.evidence();
    assert!(evidence.contains("and 480 more (all in the correlation object)"), "{evidence}");
    assert!(evidence.len() < 8 * 1024, "{} bytes", evidence.len());
}
