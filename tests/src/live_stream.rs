//! A session streamed the way the agent streams it, into the emulator's transcript log group
//! and, batch by batch, to the session-stream function as a CloudWatch Logs subscription
//! delivers it (`{"awslogs": {"data": base64(gzip(DATA_MESSAGE))}}`): moto keeps subscription
//! filters but cannot invoke a Lambda, so the batch is built here from the same events.

use std::io::Write;

use base64::Engine as _;
use jiff::Timestamp;
use serde_json::{json, Value};
use session_audit::transcript::agent_stream::{message, ticks_of_recording, StreamedSession};
use session_audit_aws::Clients;

use crate::runtime_api::LambdaProcess;

/// What the function answered while the session was streamed.
#[derive(Debug)]
pub struct Streamed {
    pub batches: usize,
    /// (batch number from 1, finding ID) in the order published.
    pub findings: Vec<(usize, String)>,
    /// The answer to the first batch delivered a second time.
    pub redelivery: Value,
}

/// A subscription event for `events` (id, timestamp, message) of one log stream.
pub fn subscription_event(group: &str, stream: &str, events: &[(String, i64, String)]) -> Value {
    let data = json!({"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
        "logStream": stream, "subscriptionFilters": ["session-stream"],
        "logEvents": events.iter().map(|(id, timestamp, message)|
            json!({"id": id, "timestamp": timestamp, "message": message})).collect::<Vec<_>>()});
    encoded(&data)
}

/// A subscription payload for the message `data` as CloudWatch Logs sends it: base64 of gzip.
pub fn encoded(data: &Value) -> Value {
    json!({"awslogs": {"data": gzip_base64(data)}})
}

/// Base64 of the gzip of `data`'s JSON: a subscription's `awslogs.data`, and what a Kinesis
/// record put by a CloudWatch Logs destination holds as Lambda delivers it.
fn gzip_base64(data: &Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).expect("gzip");
    let bytes = gz.finish().expect("gzip");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A Kinesis event as Lambda's event source mapping delivers the hub's stream: one record per
/// subscription message (`DATA_MESSAGE`/`CONTROL_MESSAGE` payloads), sequence numbers 1, 2, ….
pub fn kinesis_event(stream_arn: &str, messages: &[Value]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(n, m)| {
            json!({"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": format!("p{n}"),
                "sequenceNumber": format!("4959{:020}", n + 1), "data": gzip_base64(m),
                "approximateArrivalTimestamp": 1_795_000_000.0},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:4959{:020}", n + 1),
                "eventName": "aws:kinesis:record", "awsRegion": "us-east-1",
                "eventSourceARN": stream_arn})
        })
        .collect();
    json!({"Records": records})
}

/// Put `transcript` (a recorded `script` file) into `group` as the agent streams session
/// `session` from `start`: one upload tick (a few lines, a second apart) per log event, in the
/// stream named after the session. The events as (id, timestamp, message).
pub async fn put_stream(
    clients: &Clients,
    group: &str,
    session: &str,
    transcript: &[u8],
    start: Timestamp,
) -> Vec<(String, i64, String)> {
    let who = StreamedSession {
        session_id: session,
        target: "i-0123456789abcdef0",
        user_arn: "arn:aws:sts::123456789012:assumed-role/Admin/alice",
        run_as: "ssm-user",
        region: "us-east-1",
    };
    let logs = &clients.logs;
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(session)
        .send()
        .await
        .expect("log stream");
    let ticks = ticks_of_recording(transcript, |i| 1 + (i * 7 + 3) % 5);
    let mut events = Vec::new();
    for (i, lines) in ticks.iter().enumerate() {
        let at = start + jiff::SignedDuration::from_secs(i as i64);
        let text = message(&who, &at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(), lines);
        let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
            .timestamp(at.as_millisecond())
            .message(&text)
            .build()
            .expect("log event");
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(session)
            .log_events(event)
            .send()
            .await
            .expect("put log events");
        events.push((format!("{:056}", i + 1), at.as_millisecond(), text));
    }
    events
}

/// Stream `transcript` as session `session` (see [`put_stream`]) and deliver each event to
/// `function` as its own subscription batch, then the first batch again.
pub async fn stream_session(
    clients: &Clients,
    function: &mut LambdaProcess,
    group: &str,
    session: &str,
    transcript: &[u8],
    start: Timestamp,
) -> Streamed {
    let events = put_stream(clients, group, session, transcript, start).await;
    let mut findings = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let batch = subscription_event(group, session, std::slice::from_ref(event));
        let answer = function
            .invoke(&batch)
            .unwrap_or_else(|e| panic!("session-stream rejected batch {i}: {e}"));
        for id in answer["findings"].as_array().into_iter().flatten() {
            findings.push((i + 1, id.as_str().unwrap_or_default().to_string()));
        }
    }
    let first = subscription_event(group, session, &events[..1]);
    let redelivery = function.invoke(&first).expect("redelivery answered");
    Streamed { batches: events.len(), findings, redelivery }
}
