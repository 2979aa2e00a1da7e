//! The session-report Lambda: an S3 `Object Created` event (classic notification or
//! EventBridge) for a transcript in, its compliance report (JSON and Markdown), finding events
//! and EMF metrics out. A thin main: configuration read and clients built once.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use session_audit::analysis::Analyzer;
use session_audit::aws::session_report::{Outcome, ReportOptions, SessionReport};
use session_audit::aws::{settings, Clients};
use session_audit::outputs::Metrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = |k: &str| std::env::var(k).ok();
    // A configuration error stops the cold start with a message naming the variable.
    let options = ReportOptions::from_lookup(env)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let rules = settings::rule_pack(&clients, env("RULES_URI").as_deref()).await?;
    let redactor = settings::redactor(&clients, env("REDACTION_KEY_PARAMETER").as_deref()).await?;
    let reporter = SessionReport::new(clients, Analyzer::new(rules, redactor), options);
    let reporter = &reporter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(reporter, event))).await
}

async fn handle(reporter: &SessionReport, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let mut metrics = Metrics::default();
    let result = reporter.handle(&event.payload, &mut metrics).await;
    // Metrics go out even when the invocation fails: the work done before the failure counts.
    metrics.print_emf("session-report");
    let reported = result.map_err(|e| {
        tracing::error!(error = %e, request_id = %event.context.request_id, "event rejected");
        e
    })?;
    let mut out = Vec::new();
    for r in &reported {
        match &r.outcome {
            Outcome::Ignored(why) => tracing::info!(key = %r.key, %why, "ignored"),
            Outcome::Duplicate { md_key } => tracing::info!(key = %r.key, md_key, "duplicate"),
            Outcome::Reported { json_key, status, commands, findings, .. } => tracing::info!(
                key = %r.key,
                report = %json_key,
                status = status.as_str(),
                commands,
                findings = ?findings,
                "reported"
            ),
        }
        out.push(json!({"key": r.key, "outcome": format!("{:?}", r.outcome)}));
    }
    Ok(json!({ "reported": out }))
}
