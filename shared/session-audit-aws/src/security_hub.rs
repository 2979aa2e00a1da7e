//! Findings into Security Hub: the engine's ASFF findings ([`session_audit::asff`]) sent with
//! BatchImportFindings, in requests of at most 100 findings and 6 MB. Findings Security Hub did
//! not take are sent again with backoff (throttling itself is retried by the SDK); a finding
//! that would be refused as built is never sent, and is counted and logged instead.

use std::time::Duration;

use aws_sdk_securityhub::types::{
    AssociatedStandard, AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Partition, RecordState, Resource, ResourceDetails, Severity,
    SeverityLabel,
};
use session_audit::asff::{self, AsffFinding, Product};
use session_audit::publish::Metrics;

use crate::AwsError;

/// Imports findings as the account's default custom-integration product.
#[derive(Debug, Clone)]
pub struct SecurityHubSink {
    /// The Security Hub client.
    pub client: aws_sdk_securityhub::Client,
    /// The product findings are imported as (`SECURITY_HUB_PRODUCT`).
    pub product: Product,
    /// The function importing (the `Function` dimension of its metrics).
    pub function: &'static str,
}

/// How often findings Security Hub did not take are sent again.
const IMPORT_ATTEMPTS: u32 = 3;

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Findings Security Hub took (created or updated).
    pub imported: usize,
    /// Findings not sent because Security Hub would refuse them as built (logged each).
    pub invalid: usize,
}

impl SecurityHubSink {
    /// Import `findings`; an error when some are still not taken after [`IMPORT_ATTEMPTS`]
    /// (the invocation then fails and is retried: a re-import updates, never duplicates).
    /// Prints one EMF line: `SecurityHubImported`, `SecurityHubInvalid`, `SecurityHubFailed`.
    pub async fn import(&self, findings: Vec<AsffFinding>) -> Result<Imported, AwsError> {
        let mut done = Imported::default();
        let mut valid = Vec::with_capacity(findings.len());
        for f in findings {
            let problems = asff::problems(&f);
            if problems.is_empty() {
                valid.push(f);
            } else {
                done.invalid += 1;
                tracing::error!(id = %f.id, ?problems, "finding not imported into Security Hub");
            }
        }
        let mut result = Ok(());
        for batch in asff::batches(&valid) {
            match self.import_batch(batch).await {
                Ok(n) => done.imported += n,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let failed = valid.len() - done.imported;
        let mut metrics = Metrics::default();
        metrics
            .add("SecurityHubImported", done.imported as f64)
            .add("SecurityHubInvalid", done.invalid as f64)
            .add("SecurityHubFailed", failed as f64);
        metrics.print_emf(self.function);
        result.map(|()| done)
    }

    /// One request's findings, those not taken sent again; how many were taken.
    async fn import_batch(&self, batch: &[AsffFinding]) -> Result<usize, AwsError> {
        let mut pending: Vec<AwsSecurityFinding> = batch.iter().map(to_sdk).collect();
        for attempt in 1..=IMPORT_ATTEMPTS {
            let out = self
                .client
                .batch_import_findings()
                .set_findings(Some(pending.clone()))
                .send()
                .await?;
            let failed = out.failed_findings();
            if failed.is_empty() {
                return Ok(batch.len());
            }
            let first = &failed[0];
            let reason = format!(
                "{}: {}",
                first.error_code().unwrap_or("?"),
                first.error_message().unwrap_or("")
            );
            if attempt == IMPORT_ATTEMPTS {
                return Err(AwsError {
                    code: Some("FailedFindings".into()),
                    message: format!(
                        "Security Hub did not take {} of {} findings (first: {} {reason})",
                        failed.len(),
                        batch.len(),
                        first.id().unwrap_or("?")
                    ),
                });
            }
            let again: Vec<&str> = failed.iter().filter_map(|e| e.id()).collect();
            pending.retain(|f| f.id().is_some_and(|id| again.contains(&id)));
            tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
        }
        Ok(batch.len())
    }
}

/// The SDK's form of an ASFF finding.
pub fn to_sdk(f: &AsffFinding) -> AwsSecurityFinding {
    let mut b = AwsSecurityFinding::builder()
        .schema_version(&f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .product_name(&f.product_name)
        .company_name(&f.company_name)
        .region(&f.region)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .set_types(Some(f.types.clone()))
        .first_observed_at(&f.first_observed_at)
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(f.severity.label.as_str()))
                .original(&f.severity.original)
                .build(),
        )
        // A provider's own view of severity and types (what a later re-import may update; the
        // top-level ones are the customer's once they change them).
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(SeverityLabel::from(f.severity.label.as_str()))
                        .original(&f.severity.original)
                        .build(),
                )
                .set_types(Some(f.types.clone()))
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .set_source_url(f.source_url.clone())
        .set_product_fields(Some(f.product_fields.clone().into_iter().collect()))
        .record_state(match f.record_state {
            asff::RecordState::Active => RecordState::Active,
            asff::RecordState::Archived => RecordState::Archived,
        });
    for r in &f.resources {
        let mut resource = Resource::builder()
            .r#type(&r.r#type)
            .id(&r.id)
            .partition(Partition::from(r.partition.as_str()))
            .region(&r.region);
        if let Some(details) = &r.details {
            let other = details.other.clone().into_iter().collect();
            resource = resource.details(ResourceDetails::builder().set_other(Some(other)).build());
        }
        b = b.resources(resource.build());
    }
    if let Some(c) = &f.compliance {
        let mut compliance = Compliance::builder()
            .status(ComplianceStatus::from(c.status.as_str()))
            .set_related_requirements(Some(c.related_requirements.clone()));
        for s in &c.associated_standards {
            let standard = AssociatedStandard::builder().standards_id(&s.standards_id).build();
            compliance = compliance.associated_standards(standard);
        }
        b = b.compliance(compliance.build());
    }
    b.build()
}
