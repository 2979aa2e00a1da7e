//! The session-report Lambda: an S3 `Object Created` event (classic notification or
//! EventBridge) for a transcript in, its compliance report (JSON and Markdown), finding events
//! and EMF metrics out. A thin main: configuration read and clients built once.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use session_audit::analysis::Analyzer;
use session_audit::publish::Metrics;
use session_audit::session_report::Reported;
use session_audit::settings::ReportSettings;
use session_audit_aws::session_report::{session_report, AwsSessionReport};
use session_audit_aws::{diagnostic, settings, Clients};

/// The invocation's answer: one entry per object the event names.
#[derive(Serialize)]
struct Answer {
    reported: Vec<Reported>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = ReportSettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let common = &settings.common;
    let rules = settings::rule_pack(&clients, common.rules_uri.as_deref()).await?;
    let redactor = settings::redactor(&clients, &common.redaction_key).await?;
    let reporter = session_report(&clients, settings, Analyzer::new(rules, redactor));
    let reporter = &reporter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(reporter, event))).await
}

async fn handle(
    reporter: &AwsSessionReport,
    event: LambdaEvent<Value>,
) -> Result<Answer, Diagnostic> {
    let mut metrics = Metrics::default();
    let result = reporter.handle(&event.payload, &mut metrics).await;
    // Metrics go out even when the invocation fails: the work done before the failure counts.
    metrics.print_emf("session-report");
    let reported = result.map_err(diagnostic)?;
    for r in &reported {
        tracing::info!(key = %r.key, outcome = ?r.outcome, "done");
    }
    Ok(Answer { reported })
}
