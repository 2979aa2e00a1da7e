//! The session-start Lambda: Session Manager CloudTrail events from EventBridge in, session and
//! denied-attempt records, finding events and EMF metrics out. A thin main: configuration read
//! and clients built once, borrowed by every invocation; the audit is the engine's use case.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use session_audit::publish::Metrics;
use session_audit::session_start::Audited;
use session_audit::settings::StartSettings;
use session_audit_aws::session_start::{session_start, AwsSessionStart};
use session_audit_aws::{diagnostic, settings, Clients};

/// The invocation's answer: one entry per CloudTrail record.
#[derive(Serialize)]
struct Answer {
    audited: Vec<Audited>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = StartSettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let common = &settings.common;
    let pack = settings::rule_pack(&clients, common.rules_uri.as_deref()).await?;
    let redactor = settings::redactor(&clients, &common.redaction_key).await?;
    let audit = session_start(&clients, settings, pack, redactor);
    let audit = &audit;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(audit, event))).await
}

async fn handle(audit: &AwsSessionStart, event: LambdaEvent<Value>) -> Result<Answer, Diagnostic> {
    let mut metrics = Metrics::default();
    let result = audit.handle_delivered(&event.payload, &mut metrics).await;
    // Metrics go out even when the invocation fails: the work done before the failure counts.
    metrics.print_emf("session-start");
    let audited = result.map_err(diagnostic)?;
    for a in &audited {
        tracing::info!(
            event_id = %a.event_id,
            action = ?a.action,
            outcome = ?a.outcome,
            findings = ?a.findings,
            warnings = a.warnings.len(),
            "audited"
        );
    }
    Ok(Answer { audited })
}
