//! The session-stream Lambda: a CloudWatch Logs subscription batch of the agent's streaming
//! events in, live findings (`"stage": "live"`) and EMF metrics out, the session's small state
//! kept at `audit/live/<sessionId>.json`. A thin main: configuration read and clients built once.

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use session_audit::analysis::Analyzer;
use session_audit::publish::Metrics;
use session_audit::session_stream::{StreamError, Streamed};
use session_audit::settings::StreamSettings;
use session_audit_aws::session_stream::{batch_of, session_stream, AwsSessionStream};
use session_audit_aws::{diagnostic, settings, Clients};

/// The invocation's answer: what the batch did, or that it was CloudWatch's probe.
#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Streamed(Streamed),
    Control { outcome: &'static str },
}

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
    // Decoded here (not by the runtime) so a bad event is named as one: MalformedEvent.
    // (Deserialized from a borrowed value: the gzip field's decoder wants borrowed keys.)
    let logs = LogsEvent::deserialize(&event.payload).map_err(|e| {
        diagnostic(StreamError::Malformed(format!("not a CloudWatch Logs subscription event: {e}")))
    })?;
    let Some(batch) = batch_of(logs) else {
        return Ok(Answer::Control { outcome: "control_message" });
    };
    let mut metrics = Metrics::default();
    let result = stream.handle(&batch, &mut metrics).await;
    // Metrics go out even when the invocation fails: the work done before the failure counts.
    metrics.print_emf("session-stream");
    let streamed = result.map_err(diagnostic)?;
    tracing::info!(session = %streamed.session_id, outcome = streamed.outcome,
        events = streamed.events_read, findings = streamed.findings.len(), "done");
    Ok(Answer::Streamed(streamed))
}
