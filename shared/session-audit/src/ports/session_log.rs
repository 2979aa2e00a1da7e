//! The seam to the transcript log group (CloudWatch Logs in AWS): a session's stream read page
//! by page, and its doubles ([`NoLog`] when no group is configured, [`MemLog`] in memory).

use std::future::Future;

use super::store::StoreError;
use crate::live::LogEvent;

/// One page of a session's stream.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    /// The page's events, oldest first.
    pub events: Vec<LogEvent>,
    /// The token of the next page; `None` at the end.
    pub next: Option<String>,
}

/// The seam to the transcript log group (CloudWatch Logs in AWS).
pub trait SessionLog: Sync {
    /// The log group's name, for the reports made from it.
    fn group(&self) -> Option<&str> {
        None
    }

    /// A page of the stream named `session_id`, from `token` (the start when `None`), oldest
    /// first; `None` when the session has no stream.
    fn page(
        &self,
        session_id: &str,
        token: Option<String>,
    ) -> impl Future<Output = Result<Option<LogPage>, StoreError>> + Send;
}

/// No log group configured (the CLI, offline back-fills): no session has a stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLog;

impl SessionLog for NoLog {
    async fn page(&self, _: &str, _: Option<String>) -> Result<Option<LogPage>, StoreError> {
        Ok(None)
    }
}

/// Streams in memory, served a few events per page (tests: pagination is exercised).
#[derive(Debug, Default)]
pub struct MemLog {
    /// The streams, by session ID.
    pub streams: std::sync::Mutex<std::collections::BTreeMap<String, Vec<LogEvent>>>,
    /// Events per page (at least 1).
    pub page_size: usize,
}

impl SessionLog for MemLog {
    fn group(&self) -> Option<&str> {
        Some("memory")
    }

    async fn page(
        &self,
        session_id: &str,
        token: Option<String>,
    ) -> Result<Option<LogPage>, StoreError> {
        let streams = self.streams.lock().expect("log lock");
        let Some(events) = streams.get(session_id) else { return Ok(None) };
        let from: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let to = (from + self.page_size.max(1)).min(events.len());
        let next = (to < events.len()).then(|| to.to_string());
        Ok(Some(LogPage { events: events[from..to].to_vec(), next }))
    }
}
