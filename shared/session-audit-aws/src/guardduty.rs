//! The GuardDuty correlation's AWS side: the engine's use case over the log bucket (session
//! records read, correlations filed) and the findings sinks. GuardDuty itself is never called:
//! its findings arrive as EventBridge events.

use session_audit::guardduty_correlation::GuardDutyCorrelation;
use session_audit::rules::RulePack;
use session_audit::settings::GuardDutySettings;

use crate::findings::FindingsOut;
use crate::s3_store::S3Store;
use crate::Clients;

/// The correlation as the function runs it.
pub type AwsGuardDutyCorrelation = GuardDutyCorrelation<S3Store, FindingsOut>;

/// The correlation over the log bucket and the findings sinks.
pub fn guardduty_correlation(
    clients: &Clients,
    settings: GuardDutySettings,
    pack: RulePack,
) -> AwsGuardDutyCorrelation {
    GuardDutyCorrelation {
        store: S3Store::new(clients.s3.clone(), settings.common.audit_bucket.clone()),
        sink: FindingsOut::new(clients, &settings.common, "guardduty-correlation"),
        pack,
        options: settings.options,
    }
}
