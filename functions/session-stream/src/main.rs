//! The session-stream Lambda: a CloudWatch Logs subscription batch of the agent's streaming
//! events in (directly, or as the records of the Kinesis stream behind the hub's Logs
//! destinations), live findings (`"stage": "live"`) and EMF metrics out, each session's small
//! state kept under `audit/live/`. A thin main: configuration read and clients built once.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::Value;
use session_audit::analysis::Analyzer;
use session_audit::publish::Metrics;
use session_audit::settings::StreamSettings;
use session_audit_aws::session_stream::AwsSessionStream;
use session_audit_aws::session_stream::{self as adapter, session_stream, Answer};
use session_audit_aws::{diagnostic, settings, Clients};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = StreamSettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let common = &settings.common;
    let rules = settings::rule_pack(&clients, common.rules_uri.as_deref()).await?;
    let redactor = settings::redactor(&clients, &common.redaction_key).await?;
    let stream = session_stream(&clients, settings, Analyzer::new(rules, redactor));
    let stream = &stream;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(stream, event))).await
}

async fn handle(
    stream: &AwsSessionStream,
    event: LambdaEvent<Value>,
) -> Result<Answer, Diagnostic> {
    let mut metrics = Metrics::default();
    let result = adapter::handle(stream, &event.payload, &mut metrics).await;
    // Metrics go out even when the invocation fails: the work done before the failure counts.
    metrics.print_emf("session-stream");
    result.map_err(diagnostic)
}
