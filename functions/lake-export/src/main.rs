//! The lake-export Lambda: every hour, after audit-digest, the reports each new digest lists
//! become OCSF events (Authentication, Process Activity, Detection Finding) filed as Parquet in
//! Security Lake's custom-source layout (docs/findings.md). A thin main over the engine's use
//! case, run over the log bucket and the lake (each class's provider role, assumed here).

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use session_audit::lake_export::Exported;
use session_audit::publish::Metrics;
use session_audit::settings::LakeSettings;
use session_audit_aws::lake::{lake_export, AwsLakeExport};
use session_audit_aws::{diagnostic, Clients};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = LakeSettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let export = lake_export(&sdk, &Clients::new(&sdk), settings).await;
    let export = &export;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| handle(export))).await
}

async fn handle(export: &AwsLakeExport) -> Result<Exported, Diagnostic> {
    // Boxed, as audit-digest's: the run's future nests deep inside the runtime's.
    let result = Box::pin(export.run()).await;
    let mut metrics = Metrics::default();
    if let Ok(out) = &result {
        metrics
            .add("LakeHours", out.hours.len() as f64)
            .add("LakeEvents", out.events as f64)
            .add("LakeObjects", out.objects.len() as f64)
            .add("LakeSkipped", out.skipped.len() as f64);
    }
    metrics.add("LakeExportFailed", if result.is_ok() { 0.0 } else { 1.0 });
    metrics.print_emf("lake-export");
    let out = result.map_err(diagnostic)?;
    tracing::info!(hours = out.hours.len(), events = out.events, objects = out.objects.len(),
        skipped = ?out.skipped, pending_from = ?out.pending_from, "exported to the lake");
    Ok(out)
}
