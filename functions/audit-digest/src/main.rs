//! The audit-digest Lambda: every hour, the log bucket's new object versions listed, hashed and
//! signed into the digest chain under `audit/digests/` (docs/DESIGN.md §2), which
//! `session-audit verify` checks offline. A thin main over the engine's use case, run over the
//! log bucket and the stack's KMS signing key.

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use session_audit::audit_digest::Produced;
use session_audit::publish::Metrics;
use session_audit::settings::DigestSettings;
use session_audit_aws::audit_digest::{audit_digest, AwsAuditDigest};
use session_audit_aws::{diagnostic, Clients};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // A configuration error stops the cold start with a message naming the variable.
    let settings = DigestSettings::read(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let chain = audit_digest(&Clients::new(&sdk), settings);
    let chain = &chain;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| handle(chain, event))).await
}

async fn handle(
    chain: &AwsAuditDigest,
    event: LambdaEvent<serde_json::Value>,
) -> Result<Produced, Diagnostic> {
    let mut metrics = Metrics::default();
    // Boxed: the run's future nests deep enough to exceed the compiler's layout depth inside
    // the runtime's future, and one allocation per hourly run costs nothing.
    let result = Box::pin(chain.handle(&event.payload, &mut metrics)).await;
    metrics.print_emf("audit-digest");
    let produced = result.map_err(diagnostic)?;
    tracing::info!(
        digests = produced.digests.len(),
        objects = produced.objects,
        backfill = produced.backfill,
        vanished = produced.vanished.len(),
        pending_from = ?produced.pending_from,
        "digest chain extended"
    );
    Ok(produced)
}
