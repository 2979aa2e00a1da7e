//! The session-start Lambda: Session Manager CloudTrail events from EventBridge in, session and
//! denied-attempt records, finding events and EMF metrics out. A thin main: configuration read
//! and clients built once, borrowed by every invocation.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use session_audit::aws::session_start::{Outcome, SessionStart, StartOptions};
use session_audit::aws::{settings, Clients};
use session_audit::outputs::Metrics;
use session_audit::session::findings::StartConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = |k: &str| std::env::var(k).ok();
    // A configuration error stops the cold start with a message naming the variable.
    let config = StartConfig::from_lookup(env)?;
    let options = StartOptions::from_lookup(env)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let pack = settings::rule_pack(&clients, env("RULES_URI").as_deref()).await?;
    let redactor = settings::redactor(&clients, env("REDACTION_KEY_PARAMETER").as_deref()).await?;
    let audit = SessionStart::new(clients, config, options, pack, redactor);
    let audit = &audit;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(audit, event))).await
}

async fn handle(audit: &SessionStart, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let mut metrics = Metrics::default();
    let result = audit.handle(&event.payload, &mut metrics).await;
    // Metrics go out even when the invocation fails: the work done before the failure counts.
    metrics.print_emf("session-start");
    let audited = result.map_err(|e| {
        tracing::error!(error = %e, request_id = %event.context.request_id, "event rejected");
        e
    })?;
    let mut out = Vec::new();
    for a in &audited {
        match &a.outcome {
            Outcome::NotAudited(why) => tracing::info!(event_id = %a.event_id, %why, "ignored"),
            Outcome::Recorded { key } | Outcome::Duplicate { key } => tracing::info!(
                event_id = %a.event_id,
                action = ?a.action,
                key,
                duplicate = matches!(a.outcome, Outcome::Duplicate { .. }),
                findings = ?a.findings,
                warnings = a.warnings.len(),
                "audited"
            ),
        }
        out.push(json!({"event_id": a.event_id, "outcome": format!("{:?}", a.outcome), "findings": a.findings}));
    }
    Ok(json!({ "audited": out }))
}
