//! The session-stream function as its real binary through the Runtime API double, against the
//! emulator: subscription batches as CloudWatch Logs sends them (base64 of gzip), CloudWatch's
//! probe, bad events and bad stream names, the EMF line, and the live state it keeps.

use serde_json::{json, Value};
use session_audit::keys;
use session_audit::session::{records, Event, SessionRecord};
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::{captured_findings, route_findings_to_log};
use session_audit_tests::live_stream::{encoded, subscription_event};
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::runtime_api::{
    deployed_env, emulator_env, function_binary, LambdaProcess,
};

const BUCKET: &str = "audit-bucket";
const GROUP: &str = "/session-audit/session-audit/sessions";

fn event(id: &str, second: u32, lines: &[&str]) -> (String, i64, String) {
    let message = json!({"eventVersion": "1.0", "eventTime": format!("2026-11-30T09:00:{second:02}Z"),
        "awsRegion": "us-east-1", "target": {"id": "i-0123456789abcdef0"},
        "userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/Admin/ana"},
        "runAsUser": "ssm-user", "sessionId": "ana-0123456789abcdef0", "sessionData": lines});
    (id.to_string(), 1_795_000_000_000 + i64::from(second) * 1000, message.to_string())
}

#[tokio::test]
async fn the_real_binary_publishes_live_findings_once_and_refuses_bad_batches() {
    let aws = LocalAws::start();
    let clients = Clients::with_path_style(&aws.sdk_config().await, true);
    clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    route_findings_to_log(&clients).await;
    let mut vars = emulator_env(&aws);
    vars.push(("AUDIT_BUCKET", BUCKET.to_string()));
    let mut function = LambdaProcess::start(
        &function_binary("session-stream"),
        &deployed_env(&aws, "SessionStreamFunction", vars, &[]),
    );
    let session = "ana-0123456789abcdef0";
    // session-start's record of the session: the person live findings name is its, not the
    // `userIdentity` the stream's events claim (anyone with the instance role writes those).
    let text = std::fs::read_to_string(session_audit_tests::fixture(
        "public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json",
    ))
    .unwrap();
    let mut start: Value = serde_json::from_str(&text).unwrap();
    start["detail"]["responseElements"]["sessionId"] = session.into();
    start["detail"]["eventTime"] = "2026-11-30T09:00:00Z".into();
    let (account, r) = records(&start).into_iter().next().unwrap();
    let record = SessionRecord::start(&Event::parse(r, account).unwrap()).unwrap();
    let body = serde_json::to_vec(&record).unwrap();
    let put = clients.s3.put_object().bucket(BUCKET).key(record.key().unwrap()).body(body.into());
    put.send().await.unwrap();
    let first =
        subscription_event(GROUP, session, &[event("1", 1, &["sh-5.2$ sudo cat /etc/shadow"])]);
    let answer = function.invoke(&first).expect("handled");
    assert_eq!(answer["outcome"], "streamed", "{answer}");
    assert_eq!(answer["findings"], json!([format!("live:{session}:1:SA-CMD-010")]));
    // Two more seconds of the session, then the first batch again (at least once delivery).
    let next = subscription_event(
        GROUP,
        session,
        &[event("2", 2, &["root:*:19000:0:99999:7:::"]), event("3", 3, &["sh-5.2$ history -c"])],
    );
    let answer = function.invoke(&next).expect("handled");
    assert_eq!(answer["findings"], json!([format!("live:{session}:2:SA-CMD-030")]), "{answer}");
    let again = function.invoke(&first).expect("handled");
    assert_eq!(
        (again["outcome"].as_str(), again["findings"].clone()),
        (Some("duplicate"), json!([]))
    );
    let published = captured_findings(&aws).await;
    assert_eq!(published.len(), 2, "{published:#?}");
    assert!(published.iter().all(|d| d["stage"] == "live" && d["session_id"] == session));
    assert_eq!(published[0]["time"], "2026-11-30T09:00:01Z");
    assert_eq!(published[0]["principal"], record.identity.arn.clone().unwrap().as_str());
    assert_ne!(published[0]["principal"], "arn:aws:sts::123456789012:assumed-role/Admin/ana");
    assert_eq!(published[0]["target"], record.target.clone().unwrap().as_str());
    let state = clients
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(keys::live_state(&session_audit_tests::local_session(session)))
        .send()
        .await
        .unwrap();
    let state: Value =
        serde_json::from_slice(&state.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(
        (state["events"].as_u64(), state["commands"].as_u64()),
        (Some(3), Some(2)),
        "{state}"
    );

    // CloudWatch's reachability probe is acknowledged; garbage and escaping names are refused.
    let probe = json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
        "logStream": "", "subscriptionFilters": [], "logEvents": []});
    let probe = encoded(&probe);
    assert_eq!(function.invoke(&probe).expect("handled")["outcome"], "control_message");
    let err = function.invoke(&json!({"nonsense": true})).unwrap_err();
    assert_eq!(err["errorType"], "MalformedEvent", "{err}");
    let escaping = subscription_event(GROUP, "../../etc", &[event("9", 9, &["sh-5.2$ ls"])]);
    let err = function.invoke(&escaping).unwrap_err();
    assert_eq!(err["errorType"], "MalformedEvent", "{err}");
    let emf: Vec<Value> = function
        .settled_output()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf[0]["LiveEvents"], 1.0, "{emf:?}");
    assert_eq!(
        emf[0]["FindingsHigh"].as_f64().unwrap() + emf[0]["FindingsCritical"].as_f64().unwrap(),
        1.0
    );
}
