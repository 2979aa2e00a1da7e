//! The access-summary Lambda: a schedule's `{"kind": "daily"}` or `{"kind": "weekly"}` in;
//! the period's access patterns and transcript completeness out, as JSON, Markdown and HTML
//! under `audit/summaries/`, with the headline numbers as EMF metrics. A thin main over the
//! engine's use case, run over the log bucket and EventBridge.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use session_audit::access_summary::Written;
use session_audit::publish::Metrics;
use session_audit::settings::SummarySettings;
use session_audit_aws::access_summary::{access_summary, AwsAccessSummary};
use session_audit_aws::{diagnostic, settings, Clients};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = SummarySettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let pack = settings::rule_pack(&clients, settings.common.rules_uri.as_deref()).await?;
    let summary = access_summary(&clients, settings, pack);
    let summary = &summary;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| handle(summary, event))).await
}

async fn handle(
    summary: &AwsAccessSummary,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Written, Diagnostic> {
    let mut metrics = Metrics::default();
    let result = summary.handle(&event.payload, &mut metrics).await;
    metrics.print_emf("access-summary");
    let written = result.map_err(diagnostic)?;
    let s = &written.summary;
    tracing::info!(
        period = %s.period,
        sessions = s.sessions,
        percent_full_transcript = ?s.headline.percent_full_transcript,
        json = %written.json_key,
        "summary written"
    );
    Ok(written)
}
