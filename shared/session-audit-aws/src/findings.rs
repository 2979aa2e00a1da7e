//! Where the functions' findings go: always EventBridge (the contract consumers rely on), and
//! Security Hub too when the stack turns it on (`SECURITY_HUB_PRODUCT`). One sink for the use
//! cases, so each stage publishes the same way.

use jiff::Timestamp;
use session_audit::asff::{to_asff, RecordState};
use session_audit::finding::Finding;
use session_audit::ports::sink::{FindingsSink, SinkError};
use session_audit::publish::FindingContext;
use session_audit::settings::Common;

use crate::eventbridge::EventBridgeSink;
use crate::security_hub::SecurityHubSink;
use crate::Clients;

/// EventBridge, then Security Hub when configured; all or an error (a retry re-sends both:
/// events carry a stable `finding_id`, and a re-import updates the same Security Hub finding).
#[derive(Debug, Clone)]
pub struct FindingsOut {
    /// The findings bus.
    pub events: EventBridgeSink,
    /// Security Hub, when the stack's `SecurityHub` parameter is `Enabled`.
    pub security_hub: Option<SecurityHubSink>,
}

impl FindingsOut {
    /// The sinks `common` names, for `function` (its metrics' dimension).
    pub fn new(clients: &Clients, common: &Common, function: &'static str) -> Self {
        FindingsOut {
            events: EventBridgeSink {
                events: clients.events.clone(),
                bus: common.findings_event_bus.clone(),
            },
            security_hub: common.security_hub.clone().map(|product| SecurityHubSink {
                client: clients.securityhub.clone(),
                product,
                function,
            }),
        }
    }

    async fn import(
        &self,
        items: &[(&Finding, &FindingContext)],
        state: RecordState,
    ) -> Result<(), SinkError> {
        let Some(hub) = &self.security_hub else { return Ok(()) };
        let now = Timestamp::now();
        let findings =
            items.iter().map(|(f, ctx)| to_asff(f, ctx, &hub.product, now, state)).collect();
        hub.import(findings).await.map(|_| ()).map_err(|e| SinkError {
            code: e.code,
            message: format!("Security Hub: {}", e.message),
        })
    }
}

impl FindingsSink for FindingsOut {
    async fn publish(&self, findings: &[Finding], ctx: &FindingContext) -> Result<(), SinkError> {
        self.events.publish(findings, ctx).await?;
        let items: Vec<_> = findings.iter().map(|f| (f, ctx)).collect();
        self.import(&items, RecordState::Active).await
    }

    async fn publish_each(&self, items: &[(Finding, FindingContext)]) -> Result<(), SinkError> {
        self.events.publish_each(items).await?;
        let items: Vec<_> = items.iter().map(|(f, c)| (f, c)).collect();
        self.import(&items, RecordState::Active).await
    }

    /// Security Hub only: the same findings re-imported archived (their workflow resolved).
    async fn withdraw(&self, items: &[(Finding, FindingContext)]) -> Result<(), SinkError> {
        let items: Vec<_> = items.iter().map(|(f, c)| (f, c)).collect();
        self.import(&items, RecordState::Archived).await
    }
}
