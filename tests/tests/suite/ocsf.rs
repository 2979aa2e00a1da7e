//! OCSF events checked against the schema (a compiled OCSF 1.1.0 subset, see
//! tests/src/ocsf_schema.rs): every event the engine makes from every recorded session, as the
//! functions make them (joined with a record) and as `session-audit analyze --format ocsf`
//! prints them offline, and the same events after a round trip through Parquet.

use std::process::Command;

use serde_json::{json, Value};
use session_audit::analysis::{Analyzer, Input};
use session_audit::ocsf::{finding_event, report_events, Class};
use session_audit::publish::FindingContext;
use session_audit::rules::RulePack;
use session_audit_tests::ocsf_schema::problems;
use session_audit_tests::runtime_api::function_binary;

fn recordings() -> Vec<std::path::PathBuf> {
    let dir = session_audit_tests::fixture("recorded");
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 20, "the recorded sessions: {}", logs.len());
    logs
}

fn ctx(session: &str) -> FindingContext {
    FindingContext {
        origin_id: format!("{session}-v1"),
        session_id: Some(session.into()),
        time: "2026-12-05T10:00:00Z".into(),
        account: Some("123456789012".into()),
        region: "eu-west-1".into(),
        principal: Some("arn:aws:sts::123456789012:assumed-role/Admin/ana".into()),
        person: Some("ana".into()),
        target: Some("i-0123456789abcdef0".into()),
        record: "s3://audit-bucket/audit/reports/x.json".into(),
        stage: "report",
    }
}

fn assert_valid(events: &[Value], what: &str) {
    for e in events {
        let p = problems(e);
        assert!(p.is_empty(), "{what}: {p:?}\n{e:#}");
    }
}

#[test]
fn every_recorded_session_makes_valid_events_of_each_class_and_they_survive_parquet() {
    let analyzer = Analyzer::default();
    let mut seen = std::collections::BTreeSet::new();
    for log in recordings() {
        let session = log.file_stem().unwrap().to_str().unwrap().to_string();
        let input = Input { session_id: Some(session.clone()), ..Input::default() };
        let mut report = analyzer.analyze_bytes(&std::fs::read(&log).unwrap(), input);
        report.identity = Some(json!({"principal": "Admin/ana", "person": "ana", "mfa": true,
            "arn": "arn:aws:sts::123456789012:assumed-role/Admin/ana", "account": "123456789012"}));
        report.target = Some(json!({"instance_id": "i-0123456789abcdef0", "region": "eu-west-1",
            "account": "123456789012"}));
        report.started_at = Some("2026-12-05T09:00:00Z".into());
        report.ended_at = Some("2026-12-05T09:45:00Z".into());
        let events = report_events(&report, &ctx(&session), 1_796_500_000_000);
        assert_valid(&events, &session);
        seen.extend(events.iter().filter_map(Class::of));
        let objects = session_audit_lake::objects(&events, "", &session).unwrap();
        for o in objects {
            let back = session_audit_lake::decode(o.bytes).unwrap();
            assert_valid(&back, &o.key);
            assert_eq!(back.len(), o.events);
        }
    }
    assert_eq!(seen.len(), 3, "all three classes made: {seen:?}");
}

#[test]
fn every_built_in_rule_makes_a_valid_detection_finding_open_and_closed() {
    let pack = RulePack::builtin();
    for rule in pack.rules() {
        let f = pack.get(&rule.id).unwrap().finding("evidence".into(), Some(2));
        for closed in [false, true] {
            let e = finding_event(&f, &ctx("s"), 1_796_500_000_000, closed);
            assert_valid(&[e], &rule.id);
        }
    }
}

#[test]
fn the_checker_refuses_what_the_schema_refuses() {
    let f = RulePack::builtin().get("SA-CMD-010").unwrap().finding("e".into(), None);
    let good = finding_event(&f, &ctx("s"), 1_796_500_000_000, false);
    assert!(problems(&good).is_empty());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        edit(&mut e);
        problems(&e)
    };
    assert!(!broken(&|e| e["finding_info"].as_object_mut().unwrap().clear()).is_empty());
    assert!(!broken(&|e| e["severity_id"] = json!(9)).is_empty(), "enum");
    assert!(!broken(&|e| e["time"] = json!("yesterday")).is_empty(), "type");
    assert!(!broken(&|e| e["type_uid"] = json!(200402)).is_empty(), "type_uid");
    assert!(!broken(&|e| e["made_up"] = json!(1)).is_empty(), "unknown attribute");
    assert!(!broken(&|e| e["metadata"]["version"] = json!("1.0.0")).is_empty(), "version");
}

#[test]
fn analyze_format_ocsf_prints_valid_events_one_per_line() {
    let logs = recordings();
    let out = Command::new(function_binary("session-audit"))
        .args(["analyze", "--format", "ocsf"])
        .args(&logs)
        .output()
        .expect("session-audit analyze runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_valid(&events, "analyze --format ocsf");
    let commands = events.iter().filter(|e| e["class_uid"] == 1007).count();
    let findings = events.iter().filter(|e| e["class_uid"] == 2004).count();
    assert!(commands > 100 && findings > 10, "{commands} commands, {findings} findings");
    let secret = events.iter().any(|e| e.to_string().contains("Hunter2"));
    assert!(!secret, "commands are redacted as in reports");
}
