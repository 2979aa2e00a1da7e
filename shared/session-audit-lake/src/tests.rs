use super::*;
use serde_json::json;
use session_audit::analysis::{Analyzer, Input};
use session_audit::ocsf::report_events;
use session_audit::publish::FindingContext;

fn events() -> Vec<Value> {
    let transcript = b"\x1b[?2004hsh-5.2$ sudo cat /etc/shadow\r\r\n\x1b[?2004l\rroot:*:1::\r\n\x1b[?2004hsh-5.2$ history -c\r\r\n\x1b[?2004l\r";
    let input = Input { session_id: Some("ana-0a1b2c3d4e5f60718".into()), ..Input::default() };
    let mut r = Analyzer::default().analyze_bytes(transcript, input);
    r.identity = Some(json!({"principal": "Admin/ana", "person": "ana", "account": "123456789012",
        "arn": "arn:aws:sts::123456789012:assumed-role/Admin/ana", "mfa": false}));
    r.target = Some(
        json!({"instance_id": "i-0123456789abcdef0", "region": "us-east-1", "account": "123456789012"}),
    );
    r.started_at = Some("2026-12-05T23:59:00Z".into());
    r.ended_at = Some("2026-12-06T00:10:00Z".into());
    let ctx = FindingContext {
        origin_id: "v1".into(),
        time: "2026-12-06T00:11:00Z".into(),
        region: "us-east-1".into(),
        account: Some("123456789012".into()),
        stage: "report",
        ..FindingContext::default()
    };
    report_events(&r, &ctx, 1_800_000_000_000)
}

#[test]
fn events_round_trip_through_parquet_unchanged() {
    let all = events();
    for class in Class::ALL {
        let of: Vec<Value> = all.iter().filter(|e| Class::of(e) == Some(class)).cloned().collect();
        assert!(!of.is_empty(), "{class:?}");
        let bytes = encode(&of).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(decode(bytes).unwrap(), of, "{class:?}");
    }
}

#[test]
fn objects_are_filed_one_class_per_source_by_region_account_and_day() {
    let objects = objects(&events(), "", "2026120600-report-v1").unwrap();
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ext/session-audit-process/region=us-east-1/accountId=123456789012/eventDay=20261205/2026120600-report-v1.parquet",
            "ext/session-audit-finding/region=us-east-1/accountId=123456789012/eventDay=20261206/2026120600-report-v1.parquet",
            "ext/session-audit-auth/region=us-east-1/accountId=123456789012/eventDay=20261205/2026120600-report-v1.parquet",
            "ext/session-audit-auth/region=us-east-1/accountId=123456789012/eventDay=20261206/2026120600-report-v1.parquet",
        ],
        "the logon on the 5th, the logoff after midnight on the 6th"
    );
    let total: usize = objects.iter().map(|o| o.events).sum();
    assert_eq!(total, events().len(), "every event in one object");
    for o in &objects {
        assert!(decode(o.bytes.clone()).unwrap().iter().all(|e| Class::of(e) == Some(o.class)));
    }
}

#[test]
fn hostile_partition_values_never_make_a_path_of_their_own() {
    let mut e = events().remove(1);
    e["cloud"]["region"] = json!("../../x");
    e["cloud"]["account"]["uid"] = json!("12/../3");
    let o = objects(&[e], "lake/", "n").unwrap();
    assert_eq!(
        o[0].key,
        "lake/ext/session-audit-process/region=unknown/accountId=unknown/eventDay=20261205/n.parquet"
    );
}

#[test]
fn events_of_no_known_class_or_of_several_are_refused() {
    assert!(matches!(
        objects(&[json!({"class_uid": 4001})], "", "n"),
        Err(LakeError::UnknownClass(0))
    ));
    let all = events();
    assert!(matches!(encode(&all), Err(LakeError::MixedClasses)));
    assert!(matches!(encode(&[]), Err(LakeError::MixedClasses)));
}
