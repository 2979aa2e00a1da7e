//! The session-report Lambda: an S3 `Object Created` event (classic notification or
//! EventBridge) for a transcript in, its compliance report (JSON and Markdown), finding events
//! and EMF metrics out. A thin main: configuration read and clients built once.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use session_audit::analysis::Analyzer;
use session_audit::outputs::Metrics;
use session_audit::session_report::{ReportOptions, Reported};
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
    let env = |k: &str| std::env::var(k).ok();
    // A configuration error stops the cold start with a message naming the variable.
    let options = ReportOptions::from_lookup(env)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let rules = settings::rule_pack(&clients, env("RULES_URI").as_deref()).await?;
    let redactor = settings::redactor(&clients, env("REDACTION_KEY_PARAMETER").as_deref()).await?;
    let reporter = session_report(&clients, options, env, Analyzer::new(rules, redactor));
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
