//! The session report as the function runs it: the engine's use case
//! ([`session_audit::session_report`]) over the log bucket and EventBridge.

use session_audit::analysis::Analyzer;
use session_audit::session_report::{ReportOptions, SessionReport};

use crate::findings::EventBridgeSink;
use crate::s3_store::S3Store;
use crate::session_log::CloudWatchLog;
use crate::{settings, Clients};

pub type AwsSessionReport = SessionReport<S3Store, EventBridgeSink, CloudWatchLog>;

/// The report over the options' bucket, publishing to `FINDINGS_EVENT_BUS` and reading each
/// session's stream from `TRANSCRIPT_LOG_GROUP` as `get` gives them.
pub fn session_report(
    clients: &Clients,
    options: ReportOptions,
    get: impl Fn(&str) -> Option<String>,
    analyzer: Analyzer,
) -> AwsSessionReport {
    SessionReport {
        store: S3Store::new(clients.s3.clone(), options.audit_bucket.clone()),
        sink: EventBridgeSink { events: clients.events.clone(), bus: settings::event_bus(&get) },
        log: CloudWatchLog {
            logs: clients.logs.clone(),
            group: get("TRANSCRIPT_LOG_GROUP").filter(|g| !g.is_empty()),
        },
        analyzer,
        options,
    }
}
