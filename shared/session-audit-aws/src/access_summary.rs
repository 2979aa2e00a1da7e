//! The access summary as the function runs it: the engine's use case over the log bucket and
//! EventBridge.

use session_audit::access_summary::AccessSummary;
use session_audit::rules::RulePack;
use session_audit::settings::SummarySettings;

use crate::eventbridge::EventBridgeSink;
use crate::s3_store::S3Store;
use crate::Clients;

/// The access summary as the function runs it: over S3 and EventBridge.
pub type AwsAccessSummary = AccessSummary<S3Store, EventBridgeSink>;

/// The summary over the settings' bucket, publishing to their event bus.
pub fn access_summary(
    clients: &Clients,
    settings: SummarySettings,
    pack: RulePack,
) -> AwsAccessSummary {
    let common = settings.common;
    AccessSummary {
        store: S3Store::new(clients.s3.clone(), common.audit_bucket),
        sink: EventBridgeSink { events: clients.events.clone(), bus: common.findings_event_bus },
        pack,
        options: settings.options,
    }
}
