//! The findings seam: where finding events go. EventBridge implements it in the AWS crate;
//! [`MemSink`] collects them for tests; [`Offline`] is the CLI's, which publishes nothing.

use std::future::Future;
use std::sync::Mutex;

use serde_json::Value;

use crate::finding::Finding;
use crate::publish::{finding_detail, FindingContext};

/// Findings not accepted by the sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publishing findings failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct SinkError {
    /// The service's error code, when it gave one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// Where findings go as events (EventBridge in AWS).
pub trait FindingsSink: Sync {
    /// Whether findings handed over are delivered somewhere. A record notes its findings as
    /// sent only when they were.
    fn delivers(&self) -> bool {
        true
    }

    /// Publish `findings` (each as one event with `ctx`); all or an error.
    fn publish(
        &self,
        findings: &[Finding],
        ctx: &FindingContext,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Publish findings of different origins, each with its own context; all or an error. A
    /// sink that sends batches overrides this to put many in one request.
    fn publish_each(
        &self,
        items: &[(Finding, FindingContext)],
    ) -> impl Future<Output = Result<(), SinkError>> + Send {
        async move {
            for (finding, ctx) in items {
                self.publish(std::slice::from_ref(finding), ctx).await?;
            }
            Ok(())
        }
    }

    /// Withdraw findings published before that no longer stand (the session was later found
    /// fine): a sink that keeps findings (Security Hub) marks them archived; an event stream
    /// has nothing to take back, so by default this does nothing.
    fn withdraw(
        &self,
        items: &[(Finding, FindingContext)],
    ) -> impl Future<Output = Result<(), SinkError>> + Send {
        let _ = items;
        async { Ok(()) }
    }
}

/// Keeps every finding event's detail, in order.
#[derive(Debug, Default)]
pub struct MemSink {
    /// Every finding event published, as its `detail`.
    pub events: Mutex<Vec<Value>>,
    /// The `finding_id` of every finding withdrawn.
    pub withdrawn: Mutex<Vec<String>>,
}

impl MemSink {
    /// The events published so far.
    pub fn details(&self) -> Vec<Value> {
        self.events.lock().expect("sink lock").clone()
    }
}

impl FindingsSink for MemSink {
    async fn publish(&self, findings: &[Finding], ctx: &FindingContext) -> Result<(), SinkError> {
        let mut events = self.events.lock().expect("sink lock");
        events.extend(findings.iter().map(|f| finding_detail(f, ctx)));
        Ok(())
    }

    async fn withdraw(&self, items: &[(Finding, FindingContext)]) -> Result<(), SinkError> {
        let mut withdrawn = self.withdrawn.lock().expect("sink lock");
        withdrawn.extend(
            items.iter().map(|(f, c)| crate::publish::finding_id(&c.origin_id, &f.rule_id)),
        );
        Ok(())
    }
}

/// Publishes nothing: offline back-fills and summaries on disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct Offline;

impl FindingsSink for Offline {
    fn delivers(&self) -> bool {
        false
    }

    async fn publish(&self, _: &[Finding], _: &FindingContext) -> Result<(), SinkError> {
        Ok(())
    }
}
