//! The session report as the function runs it: the engine's use case
//! ([`session_audit::session_report`]) over the log bucket and the findings sinks.

use session_audit::analysis::Analyzer;
use session_audit::session_report::SessionReport;
use session_audit::settings::ReportSettings;

use crate::findings::FindingsOut;
use crate::s3_store::S3Store;
use crate::session_log::CloudWatchLog;
use crate::Clients;

/// The session report as the function runs it: over S3, the findings sinks and CloudWatch Logs.
pub type AwsSessionReport = SessionReport<S3Store, FindingsOut, CloudWatchLog>;

/// The report over the settings' bucket, publishing to their event bus and reading each
/// session's stream from their transcript log group.
pub fn session_report(
    clients: &Clients,
    settings: ReportSettings,
    analyzer: Analyzer,
) -> AwsSessionReport {
    SessionReport {
        store: S3Store::new(clients.s3.clone(), settings.options.audit_bucket.clone()),
        sink: FindingsOut::new(clients, &settings.common, "session-report"),
        log: CloudWatchLog { logs: clients.logs.clone(), group: settings.transcript_log_group },
        analyzer,
        options: settings.options,
    }
}
