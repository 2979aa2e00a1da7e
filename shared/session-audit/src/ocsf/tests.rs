use super::*;
use crate::analysis::{Analyzer, Input};
use crate::report::CommandWriter;
use crate::rules::RulePack;

fn report() -> Report {
    let transcript =
        b"\x1b[?2004hsh-5.2$ sudo cat /etc/shadow\r\r\n\x1b[?2004l\rroot:*:1::\r\n\x1b[?2004hsh-5.2$ mysql -u root -pHunter2Secret\r\r\n\x1b[?2004l\r";
    let input = Input { session_id: Some("ana-0a1b2c3d4e5f60718".into()), ..Input::default() };
    let mut r = Analyzer::default().analyze_bytes(transcript, input);
    r.identity = Some(json!({"principal": "Admin/ana", "person": "ana",
        "arn": "arn:aws:sts::123456789012:assumed-role/Admin/ana", "account": "123456789012", "mfa": true}));
    r.target = Some(
        json!({"instance_id": "i-0123456789abcdef0", "region": "us-east-1", "account": "123456789012"}),
    );
    r.started_at = Some("2026-12-05T09:00:00Z".into());
    r.ended_at = Some("2026-12-05T09:30:00Z".into());
    r
}

fn ctx() -> FindingContext {
    FindingContext {
        origin_id: "v1".into(),
        session_id: Some("ana-0a1b2c3d4e5f60718".into()),
        time: "2026-12-05T09:31:00Z".into(),
        region: "us-east-1".into(),
        account: Some("123456789012".into()),
        target: Some("i-0123456789abcdef0".into()),
        stage: "report",
        ..FindingContext::default()
    }
}

const NOW: i64 = 1_796_000_000_000;

#[test]
fn a_report_becomes_logon_commands_logoff_and_findings() {
    let r = report();
    let events = report_events(&r, &ctx(), NOW);
    let classes: Vec<(u64, u64)> = events
        .iter()
        .map(|e| (e["class_uid"].as_u64().unwrap(), e["activity_id"].as_u64().unwrap()))
        .collect();
    let findings = r.findings.len();
    assert!(findings >= 1);
    let mut expected = vec![(3002, 1), (1007, 1), (1007, 1), (3002, 2)];
    expected.extend(std::iter::repeat_n((2004, 1), findings));
    assert_eq!(classes, expected);
    for e in &events {
        let class = e["class_uid"].as_u64().unwrap();
        assert_eq!(
            e["type_uid"].as_u64().unwrap(),
            class * 100 + e["activity_id"].as_u64().unwrap()
        );
        assert_eq!(e["category_uid"].as_u64().unwrap(), class / 1000);
        assert_eq!(e["metadata"]["version"], OCSF_VERSION);
        assert!(e["time"].as_i64().unwrap() > 0);
        assert_eq!(Class::of(e).map(Class::uid), Some(class as u32));
    }
    let logon = &events[0];
    assert_eq!(logon["user"]["name"], "ana");
    assert_eq!(logon["user"]["uid"], "arn:aws:sts::123456789012:assumed-role/Admin/ana");
    assert_eq!(logon["session"]["uid"], "ana-0a1b2c3d4e5f60718");
    assert_eq!(logon["is_mfa"], true);
    assert_eq!(logon["time"], 1_796_461_200_000_i64, "2026-12-05T09:00:00Z");
    let cmd = &events[1];
    assert_eq!(cmd["process"]["cmd_line"], "sudo cat /etc/shadow");
    assert_eq!(cmd["actor"]["user"]["name"], "ana");
    assert_eq!(cmd["actor"]["session"]["is_remote"], true);
    assert_eq!(cmd["device"]["instance_uid"], "i-0123456789abcdef0");
    assert_eq!(cmd["unmapped"]["time_source"], "session start", "no stream: the session's start");
    let secret = events[2]["process"]["cmd_line"].as_str().unwrap();
    assert!(!secret.contains("Hunter2Secret"), "redacted as in the report: {secret}");
    let shadow =
        events.iter().find(|e| e["finding_info"]["analytic"]["uid"] == "SA-CMD-010").unwrap();
    assert_eq!(shadow["finding_info"]["uid"], "v1:SA-CMD-010");
    assert_eq!(shadow["severity_id"], 4);
    assert_eq!(shadow["finding_info"]["attacks"][0]["technique"]["uid"], "T1003.008");
    assert_eq!(shadow["resources"][0]["uid"], "i-0123456789abcdef0");
}

#[test]
fn without_a_record_there_is_no_logon_and_the_device_is_unknown() {
    let mut r = report();
    r.identity = None;
    r.target = None;
    r.started_at = None;
    r.ended_at = None;
    let events = report_events(&r, &ctx(), NOW);
    assert!(events.iter().all(|e| e["class_uid"] != 3002), "no caller, no Authentication");
    let cmd = events.iter().find(|e| e["class_uid"] == 1007).unwrap();
    assert_eq!(cmd["device"]["type_id"], 0);
    assert_eq!(cmd["time"], NOW);
    assert_eq!(cmd["unmapped"]["time_source"], "analysis");
    assert!(cmd["actor"].get("user").is_none());
}

#[test]
fn a_withdrawn_finding_closes_and_a_future_time_is_not_taken() {
    let f = RulePack::builtin().session_finding("transcript_missing", "late".into()).unwrap();
    let mut c = ctx();
    c.time = "2099-01-01T00:00:00Z".into();
    let e = finding_event(&f, &c, NOW, true);
    assert_eq!((e["activity_id"].as_u64(), e["status_id"].as_u64()), (Some(3), Some(4)));
    assert_eq!(e["time"], NOW);
}

#[test]
fn ocsf_lines_stream_commands_then_the_rest() {
    let r = report();
    let facts = SessionFacts { session_id: r.session_id.clone(), ..SessionFacts::default() };
    let mut lines = OcsfLines::new(Vec::new(), facts, NOW);
    for c in &r.commands {
        lines.command(c).unwrap();
    }
    let out = lines.finish(&r, &ctx()).unwrap();
    let events: Vec<Value> =
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2 + 2 + r.findings.len());
    assert_eq!(events[0]["class_uid"], 1007);
}
