//! The live session stream as the function runs it: the engine's use case
//! ([`session_audit::live::run`]) over the log bucket and EventBridge, fed by a CloudWatch Logs
//! subscription.

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use session_audit::analysis::Analyzer;
use session_audit::live::run::SessionStream;
use session_audit::live::{Batch, LogEvent};

use crate::findings::EventBridgeSink;
use crate::s3_store::S3Store;
use crate::{settings, Clients};

pub type AwsSessionStream = SessionStream<S3Store, EventBridgeSink>;

/// The stream use case over `bucket`, publishing to `FINDINGS_EVENT_BUS` as `get` gives it.
pub fn session_stream(
    clients: &Clients,
    bucket: String,
    get: impl Fn(&str) -> Option<String>,
    analyzer: Analyzer,
) -> AwsSessionStream {
    SessionStream {
        store: S3Store::new(clients.s3.clone(), bucket),
        sink: EventBridgeSink { events: clients.events.clone(), bus: settings::event_bus(&get) },
        analyzer,
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
