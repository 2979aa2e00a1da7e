//! The access summary as the function runs it: the engine's use case over the log bucket and
//! EventBridge.

use session_audit::rules::RulePack;
use session_audit::summary::run::{AccessSummary, SummaryOptions};

use crate::findings::EventBridgeSink;
use crate::s3_store::S3Store;
use crate::{settings, Clients};

pub type AwsAccessSummary = AccessSummary<S3Store, EventBridgeSink>;

/// The summary over `AUDIT_BUCKET`, publishing to `FINDINGS_EVENT_BUS`, as `get` gives them.
pub fn access_summary(
    clients: &Clients,
    get: impl Fn(&str) -> Option<String>,
    pack: RulePack,
    options: SummaryOptions,
) -> Result<AwsAccessSummary, String> {
    Ok(AccessSummary {
        store: S3Store::new(clients.s3.clone(), settings::audit_bucket(&get)?),
        sink: EventBridgeSink { events: clients.events.clone(), bus: settings::event_bus(&get) },
        pack,
        options,
    })
}
