//! The access-summary Lambda: a schedule's `{"kind": "daily"}` or `{"kind": "weekly"}` in;
//! the period's access patterns and transcript completeness out, as JSON, Markdown and HTML
//! under `audit/summaries/`, with the headline numbers as EMF metrics. A thin main.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use session_audit::aws::access_summary::{AccessSummary, SummaryOptions};
use session_audit::aws::{settings, Clients};
use session_audit::outputs::Metrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = |k: &str| std::env::var(k).ok();
    // A configuration error stops the cold start with a message naming the variable.
    let options = SummaryOptions::from_lookup(env)?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let pack = settings::rule_pack(&clients, env("RULES_URI").as_deref()).await?;
    let summary = AccessSummary::new(&clients, pack, options);
    let summary = &summary;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| handle(summary, event))).await
}

async fn handle(summary: &AccessSummary, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let mut metrics = Metrics::default();
    let result = summary.handle(&event.payload, &mut metrics).await;
    metrics.print_emf("access-summary");
    let written = result.map_err(|e| {
        tracing::error!(error = %e, request_id = %event.context.request_id, "summary failed");
        e
    })?;
    let s = &written.summary;
    tracing::info!(
        period = %s.period,
        sessions = s.sessions,
        percent_full_transcript = ?s.headline.percent_full_transcript,
        json = %written.json_key,
        "summary written"
    );
    Ok(json!({
        "period": s.period,
        "sessions": s.sessions,
        "percent_full_transcript": s.headline.percent_full_transcript,
        "json": written.json_key,
        "md": written.md_key,
        "html": written.html_key,
    }))
}
