//! The guardduty-correlation Lambda: a GuardDuty finding about an EC2 instance in (from
//! EventBridge); the sessions on that instance around the activity named, the correlation filed
//! under `audit/guardduty/`, and an SA-SES-GUARDDUTY finding out (docs/functions.md). A thin
//! main over the engine's use case.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use session_audit::guardduty_correlation::Correlated;
use session_audit::publish::Metrics;
use session_audit::settings::GuardDutySettings;
use session_audit_aws::guardduty::{guardduty_correlation, AwsGuardDutyCorrelation};
use session_audit_aws::{diagnostic, settings, Clients};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = GuardDutySettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let pack = settings::rule_pack(&clients, settings.common.rules_uri.as_deref()).await?;
    let correlation = guardduty_correlation(&clients, settings, pack);
    let correlation = &correlation;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(correlation, event)))
        .await
}

async fn handle(
    correlation: &AwsGuardDutyCorrelation,
    event: LambdaEvent<Value>,
) -> Result<Correlated, Diagnostic> {
    let result = correlation.handle(&event.payload, jiff::Timestamp::now()).await;
    let mut metrics = Metrics::default();
    if let Ok(out) = &result {
        metrics
            .add("GuardDutyFindings", 1.0)
            .add("GuardDutySessions", out.sessions.len() as f64)
            .add("GuardDutyWithoutSession", if out.sessions.is_empty() { 1.0 } else { 0.0 });
    }
    metrics.print_emf("guardduty-correlation");
    let out = result.map_err(diagnostic)?;
    tracing::info!(finding = %out.finding_id, instance = %out.instance_id, key = %out.key,
        sessions = ?out.sessions, unreadable = out.unreadable, "correlated");
    Ok(out)
}
