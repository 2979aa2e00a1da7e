//! The session-stream function as its real binary through the Runtime API double, against the
//! emulator: subscription batches as CloudWatch Logs sends them (base64 of gzip), CloudWatch's
//! probe, bad events and bad stream names, the EMF line, and the live state it keeps; and the
//! Kinesis records of the hub's CloudWatch Logs destinations (other accounts and regions).

use serde_json::{json, Value};
use session_audit::keys;
use session_audit::session::{records, Event, SessionRecord};
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::{captured_findings, route_findings_to_log};
use session_audit_tests::live_stream::{encoded, kinesis_event, subscription_event};
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

/// The emulator with the audit bucket and the findings route, and the real binary deployed.
async fn deployed() -> (LocalAws, Clients, LambdaProcess) {
    let aws = LocalAws::start();
    let clients = Clients::with_path_style(&aws.sdk_config().await, true);
    clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    route_findings_to_log(&clients).await;
    let mut vars = emulator_env(&aws);
    vars.push(("AUDIT_BUCKET", BUCKET.to_string()));
    let function = LambdaProcess::start(
        &function_binary("session-stream"),
        &deployed_env(&aws, "SessionStreamFunction", vars, &[]),
    );
    (aws, clients, function)
}

#[tokio::test]
async fn the_real_binary_publishes_live_findings_once_and_refuses_bad_batches() {
    let (aws, clients, mut function) = deployed().await;
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

/// The organization's streams (issue 31): the Kinesis stream behind the hub's Logs destinations
/// carries other accounts' and regions' subscription payloads. moto's Logs cannot deliver
/// through a destination, so the records are built as CloudWatch Logs puts them. Each is placed
/// by its owner (set by CloudWatch Logs) and its filter's region; a probe is acknowledged; a
/// payload that names no region stops the batch there and is named for Lambda to retry.
#[tokio::test]
async fn kinesis_records_from_the_destinations_are_read_under_their_account_and_region() {
    let (aws, clients, mut function) = deployed().await;
    let session = "ana-0123456789abcdef0";
    let spoke = "210987654321";
    let data = |filter: &str, id: &str, line: &str| {
        let (id, timestamp, message) = event(id, 1, &[line]);
        json!({"messageType": "DATA_MESSAGE", "owner": spoke, "logGroup": "/session-audit/sessions",
            "logStream": session, "subscriptionFilters": [filter],
            "logEvents": [{"id": id, "timestamp": timestamp, "message": message}]})
    };
    let probe = json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
        "logStream": "", "subscriptionFilters": [], "logEvents": []});
    let filter = keys::subscription_filter("session-audit", "eu-west-1");
    let batch = kinesis_event(
        "arn:aws:kinesis:us-east-1:123456789012:stream/session-audit-spoke-sessions",
        &[
            data(&filter, "1", "sh-5.2$ sudo cat /etc/shadow"),
            probe,
            data("session-stream", "2", "sh-5.2$ history -c"),
            data(&filter, "3", "sh-5.2$ history -c"),
        ],
    );
    let answer = function.invoke(&batch).expect("handled");
    let origin = format!("live:{spoke}/eu-west-1/{session}");
    assert_eq!(answer["streamed"][0]["findings"], json!([format!("{origin}:1:SA-CMD-010")]));
    assert_eq!(answer["streamed"].as_array().map(Vec::len), Some(1), "{answer}");
    assert_eq!(answer["control_messages"], 1);
    let third = &batch["Records"][2]["kinesis"]["sequenceNumber"];
    assert_eq!(answer["batchItemFailures"], json!([{"itemIdentifier": third}]), "{answer}");
    let place = keys::Place::new(spoke, "eu-west-1").unwrap();
    let key = keys::live_state(&keys::SessionAt::new(place, session).unwrap());
    let state = clients.s3.get_object().bucket(BUCKET).key(&key).send().await.expect(&key);
    let state: Value =
        serde_json::from_slice(&state.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(state["events"], 1, "the fourth record waits for the retry: {state}");
    assert_eq!(state["place"], format!("{spoke}/eu-west-1"));
    let home = keys::live_state(&session_audit_tests::local_session(session));
    assert!(clients.s3.head_object().bucket(BUCKET).key(&home).send().await.is_err());
    let published = captured_findings(&aws).await;
    assert_eq!(published.len(), 1, "{published:#?}");
    assert_eq!(published[0]["finding_id"], format!("{origin}:1:SA-CMD-010"));
    assert_eq!(published[0]["account"], spoke, "{:#?}", published[0]);
    // The events claim us-east-1 (the instance writes them); the finding says where the stream
    // came from.
    assert_eq!(published[0]["region"], "eu-west-1", "{:#?}", published[0]);
}
