//! The live session stream as the function runs it: the engine's use case
//! ([`session_audit::session_stream`]) over the log bucket and the findings sinks, fed by a
//! CloudWatch Logs subscription in the hub's region, and by the Kinesis stream behind the hub's
//! CloudWatch Logs destinations, which carries the organization's other accounts' and regions'
//! sessions (each record one gzip'd subscription payload, as a subscription delivers it).

use std::io::Read;

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogsEvent};
use base64::Engine;
use serde::{Deserialize, Serialize};
use session_audit::analysis::Analyzer;
use session_audit::keys::{is_account, region_of_subscription};
use session_audit::live::{Batch, LogEvent};
use session_audit::publish::Metrics;
use session_audit::session_stream::SessionStream;
use session_audit::session_stream::{StreamError, Streamed};
use session_audit::settings::StreamSettings;

use crate::findings::FindingsOut;
use crate::s3_store::S3Store;
use crate::Clients;

/// The session stream as the function runs it: over S3 and the findings sinks.
pub type AwsSessionStream = SessionStream<S3Store, FindingsOut>;

/// The stream use case over the settings' bucket, publishing to their event bus.
pub fn session_stream(
    clients: &Clients,
    settings: StreamSettings,
    analyzer: Analyzer,
) -> AwsSessionStream {
    let common = settings.common;
    SessionStream {
        store: S3Store::new(clients.s3.clone(), common.audit_bucket.clone()),
        sink: FindingsOut::new(clients, &common, "session-stream"),
        analyzer,
        home: common.home.clone(),
    }
}

/// The batch a subscription event carries; `None` for CloudWatch's `CONTROL_MESSAGE` (a
/// reachability probe with no session data, acknowledged and ignored).
pub fn batch_of(event: LogsEvent) -> Option<Batch> {
    batch_of_data(event.aws_logs.data, None)
}

fn batch_of_data(data: LogData, region: Option<String>) -> Option<Batch> {
    if data.message_type == "CONTROL_MESSAGE" {
        return None;
    }
    Some(Batch {
        owner: Some(data.owner).filter(|o| !o.is_empty()),
        region,
        log_group: data.log_group,
        log_stream: data.log_stream,
        events: data
            .log_events
            .into_iter()
            .map(|e| LogEvent { id: e.id, timestamp: e.timestamp, message: e.message })
            .collect(),
    })
}

/// The invocation's answer: what the batch did, that it was CloudWatch's probe, or each
/// Kinesis record's answer with the record to retry from.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// A subscription batch, read.
    Streamed(Streamed),
    /// CloudWatch's reachability probe, acknowledged.
    Control {
        /// `control_message`.
        outcome: &'static str,
    },
    /// A Kinesis batch, record by record.
    Kinesis(KinesisAnswer),
}

/// One invocation: a Kinesis batch (the hub's destinations) or a subscription event.
pub async fn handle(
    stream: &AwsSessionStream,
    payload: &serde_json::Value,
    metrics: &mut Metrics,
) -> Result<Answer, StreamError> {
    if payload.get("Records").is_some() {
        let records = KinesisEvent::deserialize(payload)
            .map_err(|e| StreamError::Malformed(format!("not a Kinesis event: {e}")))?;
        let answer = stream_records(stream, &records, metrics).await;
        tracing::info!(
            records = records.records.len(),
            read = answer.streamed.len(),
            failed = answer.batch_item_failures.len(),
            "done"
        );
        return Ok(Answer::Kinesis(answer));
    }
    // Decoded here (not by the runtime) so a bad event is named as one: MalformedEvent.
    // (Deserialized from a borrowed value: the gzip field's decoder wants borrowed keys.)
    let logs = LogsEvent::deserialize(payload).map_err(|e| {
        StreamError::Malformed(format!("not a CloudWatch Logs subscription event: {e}"))
    })?;
    let Some(batch) = batch_of(logs) else {
        return Ok(Answer::Control { outcome: "control_message" });
    };
    let streamed = stream.handle(&batch, metrics).await?;
    tracing::info!(session = %streamed.session_id, outcome = streamed.outcome,
        events = streamed.events_read, findings = streamed.findings.len(), "done");
    Ok(Answer::Streamed(streamed))
}

/// A Kinesis event as Lambda's event source mapping delivers it (only what is read).
#[derive(Debug, Deserialize)]
pub struct KinesisEvent {
    /// The records, in the shard's order.
    #[serde(rename = "Records")]
    pub records: Vec<KinesisEventRecord>,
}

/// One record of a [`KinesisEvent`].
#[derive(Debug, Deserialize)]
pub struct KinesisEventRecord {
    /// The record itself.
    pub kinesis: KinesisRecord,
}

/// The Kinesis record: its data (base64) and its place in the shard.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisRecord {
    /// Base64 of what CloudWatch Logs put: a gzip'd subscription payload.
    pub data: String,
    /// The record's sequence number (what a partial failure names).
    pub sequence_number: String,
}

/// A subscription payload decompressed beyond this is refused: CloudWatch Logs puts at most
/// 1 MiB of log events in one record, and a record is not allowed to grow memory without bound.
const MAX_PAYLOAD: u64 = 16 << 20;

/// The batch one Kinesis record carries, placed in the region its subscription filter names
/// ([`session_audit::keys::subscription_filter`]); `Ok(None)` for a `CONTROL_MESSAGE`; an
/// error says why the record is not a placeable subscription payload.
pub fn batch_of_record(record: &KinesisRecord) -> Result<Option<Batch>, String> {
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(&record.data)
        .map_err(|e| format!("not base64: {e}"))?;
    let mut json = Vec::new();
    flate2::read::MultiGzDecoder::new(&gzipped[..])
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("not gzip: {e}"))?;
    if json.len() as u64 > MAX_PAYLOAD {
        return Err(format!("a subscription payload over {MAX_PAYLOAD} bytes decompressed"));
    }
    let data: LogData = serde_json::from_slice(&json)
        .map_err(|e| format!("not a CloudWatch Logs subscription payload: {e}"))?;
    if data.message_type == "CONTROL_MESSAGE" {
        return Ok(None);
    }
    // CloudWatch Logs names the sending account; a payload without one is not placed under the
    // hub's own account by default (a direct subscription's may be, a destination's never).
    if !is_account(&data.owner) {
        return Err(format!("owner {:?} is not an account ID", data.owner));
    }
    let region = region_of_subscription(data.subscription_filters.iter().map(String::as_str))
        .ok_or_else(|| {
            format!(
                "the subscription filters {:?} name no region (a spoke names its filter \
                 <NamePrefix>@<region>)",
                data.subscription_filters
            )
        })?
        .to_string();
    Ok(batch_of_data(data, Some(region)))
}

/// What a Kinesis batch did: each record's answer, and the first record that failed, from
/// which Lambda retries (`ReportBatchItemFailures`; after the mapping's retries it goes to the
/// failure destination, and the stream keeps the data for its retention).
#[derive(Debug, Default, Serialize)]
pub struct KinesisAnswer {
    /// Each record read, in order.
    pub streamed: Vec<Streamed>,
    /// Control messages acknowledged.
    pub control_messages: u64,
    /// `[{"itemIdentifier": <sequence number>}]`: the first failed record, if any.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// A record Lambda must deliver again.
#[derive(Debug, Serialize)]
pub struct ItemFailure {
    /// Its sequence number.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Read a Kinesis batch record by record; stop at the first failure (a malformed record or a
/// failed read), which is named for Lambda to retry from. Everything after it is redelivered
/// too, and a record read twice is a redelivery to the use case (nothing published twice).
pub async fn stream_records(
    stream: &AwsSessionStream,
    event: &KinesisEvent,
    metrics: &mut Metrics,
) -> KinesisAnswer {
    let mut answer = KinesisAnswer::default();
    for record in &event.records {
        let seq = &record.kinesis.sequence_number;
        let result = match batch_of_record(&record.kinesis) {
            Err(why) => Err(StreamError::Malformed(why)),
            Ok(None) => {
                answer.control_messages += 1;
                continue;
            }
            Ok(Some(batch)) => stream.handle(&batch, metrics).await,
        };
        match result {
            Ok(streamed) => answer.streamed.push(streamed),
            Err(e) => {
                tracing::error!(sequence_number = %seq, error = %e, "record not read; Lambda retries from it");
                answer.batch_item_failures.push(ItemFailure { item_identifier: seq.clone() });
                break;
            }
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn record(payload: &serde_json::Value) -> KinesisRecord {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(payload.to_string().as_bytes()).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        KinesisRecord { data, sequence_number: "1".into() }
    }

    fn payload(owner: &str, filters: &[&str]) -> serde_json::Value {
        serde_json::json!({"messageType": "DATA_MESSAGE", "owner": owner, "logGroup": "/sa/sessions",
            "logStream": "ana-0123456789abcdef0", "subscriptionFilters": filters,
            "logEvents": [{"id": "1", "timestamp": 1, "message": "{}"}]})
    }

    #[test]
    fn a_record_is_placed_by_its_owner_and_filter_region_or_refused() {
        let batch = batch_of_record(&record(&payload("210987654321", &["sa@eu-west-1"])));
        let batch = batch.unwrap().unwrap();
        assert_eq!(
            (batch.owner.as_deref(), batch.region.as_deref()),
            (Some("210987654321"), Some("eu-west-1"))
        );
        // No owner must not fall back to the hub's own account: a destination's payload always
        // names one, so a payload without one is refused, not placed at home.
        for owner in ["", "hub", "1234"] {
            let err = batch_of_record(&record(&payload(owner, &["sa@eu-west-1"]))).unwrap_err();
            assert!(err.contains("not an account ID"), "{owner}: {err}");
        }
        let err = batch_of_record(&record(&payload("210987654321", &["sa"]))).unwrap_err();
        assert!(err.contains("name no region"), "{err}");
        let garbage = KinesisRecord { data: "not base64!".into(), sequence_number: "2".into() };
        assert!(batch_of_record(&garbage).unwrap_err().contains("base64"));
    }

    #[test]
    fn a_record_that_inflates_past_the_bound_is_refused_without_reading_it_all() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..(MAX_PAYLOAD >> 20) + 1 {
            gz.write_all(&zeros).unwrap();
        }
        let data = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        assert!(data.len() < 1 << 20, "a small record: {}", data.len());
        let bomb = KinesisRecord { data, sequence_number: "3".into() };
        assert!(batch_of_record(&bomb).unwrap_err().contains("decompressed"));
    }
}
