//! Findings out as EventBridge events (`source: session-audit`): the engine's findings sink.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::AwsError;
use session_audit::finding::Finding;
use session_audit::ports::sink::{FindingsSink, SinkError};
use session_audit::publish::{finding_detail, FindingContext, FINDING_DETAIL_TYPE, FINDING_SOURCE};

/// Finding events to one bus (`FINDINGS_EVENT_BUS`).
#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    /// The EventBridge client.
    pub events: aws_sdk_eventbridge::Client,
    /// The bus's name (`FINDINGS_EVENT_BUS`).
    pub bus: String,
}

impl FindingsSink for EventBridgeSink {
    async fn publish(&self, findings: &[Finding], ctx: &FindingContext) -> Result<(), SinkError> {
        let items: Vec<_> = findings.iter().map(|f| (f, ctx)).collect();
        put_events(&self.events, &self.bus, &items)
            .await
            .map_err(|e| SinkError { code: e.code, message: e.message })
    }

    /// Findings of different origins in the same batches of ten (one PutEvents per ten).
    async fn publish_each(&self, items: &[(Finding, FindingContext)]) -> Result<(), SinkError> {
        let items: Vec<_> = items.iter().map(|(f, c)| (f, c)).collect();
        put_events(&self.events, &self.bus, &items)
            .await
            .map_err(|e| SinkError { code: e.code, message: e.message })
    }
}

/// How often entries EventBridge did not accept are sent again.
const PUBLISH_ATTEMPTS: u32 = 3;

/// PutEvents in batches of ten, resending entries EventBridge did not accept; an error when
/// some still are not after [`PUBLISH_ATTEMPTS`].
async fn put_events(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    items: &[(&Finding, &FindingContext)],
) -> Result<(), AwsError> {
    let entries: Vec<PutEventsRequestEntry> = items
        .iter()
        .map(|(f, ctx)| {
            PutEventsRequestEntry::builder()
                .source(FINDING_SOURCE)
                .detail_type(FINDING_DETAIL_TYPE)
                .detail(finding_detail(f, ctx).to_string())
                .event_bus_name(bus)
                .build()
        })
        .collect();
    for batch in entries.chunks(10) {
        let mut pending = batch.to_vec();
        for attempt in 1..=PUBLISH_ATTEMPTS {
            let out = events.put_events().set_entries(Some(pending.clone())).send().await?;
            if out.failed_entry_count() == 0 {
                break;
            }
            let results = out.entries();
            let failed: Vec<_> =
                pending.iter().zip(results).filter(|(_, r)| r.error_code().is_some()).collect();
            let reason = failed
                .first()
                .map(|(_, r)| {
                    format!(
                        "{}: {}",
                        r.error_code().unwrap_or("?"),
                        r.error_message().unwrap_or("")
                    )
                })
                .unwrap_or_default();
            if attempt == PUBLISH_ATTEMPTS {
                return Err(AwsError {
                    code: Some("FailedEntries".into()),
                    message: format!("{} finding events not accepted: {reason}", failed.len()),
                });
            }
            pending = failed.into_iter().map(|(e, _)| e.clone()).collect();
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
    }
    Ok(())
}
