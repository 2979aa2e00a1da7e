//! The live session stream as the function runs it: the engine's use case
//! ([`session_audit::session_stream`]) over the log bucket and the findings sinks, fed by a CloudWatch Logs
//! subscription.

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use session_audit::analysis::Analyzer;
use session_audit::live::{Batch, LogEvent};
use session_audit::session_stream::SessionStream;
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
    let data = event.aws_logs.data;
    if data.message_type == "CONTROL_MESSAGE" {
        return None;
    }
    Some(Batch {
        owner: Some(data.owner).filter(|o| !o.is_empty()),
        log_group: data.log_group,
        log_stream: data.log_stream,
        events: data
            .log_events
            .into_iter()
            .map(|e| LogEvent { id: e.id, timestamp: e.timestamp, message: e.message })
            .collect(),
    })
}
