//! The session report's model, `session-audit/report/v1` (docs/DESIGN.md §3): [`Report`] is
//! the whole document, [`ReportTail`] everything known only once the transcript has been read.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};
use crate::transcript::Format;

pub const SCHEMA: &str = "session-audit/report/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Compliant,
    NonCompliant,
    Unparseable,
    Truncated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "compliant",
            Status::NonCompliant => "non_compliant",
            Status::Unparseable => "unparseable",
            Status::Truncated => "truncated",
        }
    }
}

/// Where the transcript came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Detected transcript format; `None` only before analysis.
    pub format: Option<Format>,
    /// RFC 3339 time the transcript was written (the `script` header), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_at: Option<String>,
    /// A report made from the session's CloudWatch stream (no S3 transcript arrived): the
    /// log group and stream it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream: Option<String>,
}

/// One command, as stored (redacted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportCommand {
    pub seq: u64,
    pub command: String,
    pub prompt: String,
    pub confidence: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub output_lines: u64,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub fullscreen: bool,
    /// Where it was seen when not on the main screen (`alternate_screen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_in: Option<String>,
    /// When it was typed: the CloudWatch stream's event that carried it (±1 s), when the
    /// session streamed and the command is in both channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub bytes: u64,
    pub lines: u64,
    pub commands: u64,
    pub parse_warnings: Vec<String>,
    pub abandoned_lines: u64,
    /// Lines submitted with nothing of them on screen (echo off): counted, never guessed.
    #[serde(default)]
    pub hidden_inputs: u64,
    pub line_editor_markers: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_width: Option<usize>,
    /// Findings not listed because one rule matched too often (counted here, never hidden).
    #[serde(default)]
    pub findings_suppressed: u64,
    #[serde(default)]
    pub findings_by_severity: std::collections::BTreeMap<Severity, u64>,
    /// The transcript compared with the session's CloudWatch stream, when it streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Channels>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub session_id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub source: Source,
    #[serde(default)]
    pub identity: Option<serde_json::Value>,
    #[serde(default)]
    pub target: Option<serde_json::Value>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub commands: Vec<ReportCommand>,
    pub findings: Vec<Finding>,
    pub stats: Stats,
    pub generator: String,
}

/// Everything but the commands: what is known only when the transcript has been read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportTail<'a> {
    pub session_id: &'a str,
    pub source: &'a Source,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<&'a str>,
    pub identity: Option<&'a serde_json::Value>,
    pub target: Option<&'a serde_json::Value>,
    pub started_at: Option<&'a str>,
    pub ended_at: Option<&'a str>,
    pub findings: &'a [Finding],
    pub stats: &'a Stats,
    pub generator: &'a str,
}

impl Report {
    /// The tail view of an in-memory report (to stream it, or to compare).
    pub fn tail(&self) -> ReportTail<'_> {
        ReportTail {
            session_id: &self.session_id,
            source: &self.source,
            status: self.status,
            status_reason: self.status_reason.as_deref(),
            identity: self.identity.as_ref(),
            target: self.target.as_ref(),
            started_at: self.started_at.as_deref(),
            ended_at: self.ended_at.as_deref(),
            findings: &self.findings,
            stats: &self.stats,
            generator: &self.generator,
        }
    }
}

/// The comparison's counts, in the report's stats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channels {
    pub stream_events: u64,
    pub stream_commands: u64,
    /// Transcript commands found in the stream and given its time.
    pub timed: u64,
    /// Commands the stream saw that the transcript lacks.
    pub stream_only: u64,
    /// Stream "commands" the transcript accounts for otherwise: an earlier drawing of a line
    /// (before a completion, the first line of a paste, an edit whose erasures the stream
    /// lost), or a prompt a program printed (`cat` of an old log, a forged prompt), which the
    /// transcript shows as output.
    #[serde(default)]
    pub stream_explained: u64,
    /// Transcript commands not found in the stream's lines.
    pub transcript_only: u64,
    /// The stream had more than `MAX_STREAM_LINES` (1,000,000) lines: compared up to there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
}
