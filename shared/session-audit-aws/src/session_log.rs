//! The transcript log group as the engine's [`SessionLog`]: each session's CloudWatch stream
//! (log stream = session ID) read page by page with GetLogEvents, oldest first.

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use session_audit::live::LogEvent;
use session_audit::ports::session_log::{LogPage, SessionLog};
use session_audit::ports::store::StoreError;

/// `TRANSCRIPT_LOG_GROUP`'s streams; with no group configured, no session has a stream.
#[derive(Debug, Clone)]
pub struct CloudWatchLog {
    /// The CloudWatch Logs client.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The transcript log group; `None` when not configured (no session has a stream).
    pub group: Option<String>,
}

impl SessionLog for CloudWatchLog {
    fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    async fn page(
        &self,
        session_id: &str,
        token: Option<String>,
    ) -> Result<Option<LogPage>, StoreError> {
        let Some(group) = &self.group else { return Ok(None) };
        let answer = self
            .logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(session_id)
            // The group masks credentials (its data-protection policy); the comparison with
            // the S3 transcript needs what the agent sent, and every stored field is redacted
            // by our own redactor afterwards.
            .unmask(true)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => {
                return Err(StoreError {
                    op: "GetLogEvents",
                    uri: format!("{group}/{session_id}"),
                    code: e.code().map(str::to_string),
                    message: e.message().unwrap_or("the call failed").to_string(),
                })
            }
        };
        let events: Vec<LogEvent> = answer
            .events()
            .iter()
            .enumerate()
            .map(|(i, e)| LogEvent {
                // GetLogEvents gives no event ID; the position names it for the reader.
                id: format!("{}:{i}", token.as_deref().unwrap_or("head")),
                timestamp: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect();
        // The last page repeats its own forward token and holds no events.
        let next = answer.next_forward_token().map(str::to_string);
        let next = next.filter(|n| !events.is_empty() && token.as_deref() != Some(n.as_str()));
        Ok(Some(LogPage { events, next }))
    }
}
