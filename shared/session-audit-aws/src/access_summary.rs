//! The access summary as the function runs it: the engine's use case over the log bucket and
//! the findings sinks.

use session_audit::access_summary::AccessSummary;
use session_audit::rules::RulePack;
use session_audit::settings::SummarySettings;

use crate::findings::FindingsOut;
use crate::s3_store::S3Store;
use crate::Clients;

/// The access summary as the function runs it: over S3 and the findings sinks.
pub type AwsAccessSummary = AccessSummary<S3Store, FindingsOut>;

/// The summary over the settings' bucket, publishing to their event bus.
pub fn access_summary(
    clients: &Clients,
    settings: SummarySettings,
    pack: RulePack,
) -> AwsAccessSummary {
    let common = settings.common;
    AccessSummary {
        store: S3Store::new(clients.s3.clone(), common.audit_bucket.clone()),
        sink: FindingsOut::new(clients, &common, "access-summary"),
        pack,
        options: settings.options,
    }
}
