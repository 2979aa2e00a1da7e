//! The session report's model, `session-audit/report/v1` (docs/DESIGN.md §3): [`Report`] is
//! the whole document, [`ReportTail`] everything known only once the transcript has been read.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};
use crate::transcript::Format;

/// The `schema` of every report.
pub const SCHEMA: &str = "session-audit/report/v1";

/// What the report concludes about the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Read to its end, no finding of severity low or above.
    Compliant,
    /// At least one finding of severity low or above.
    NonCompliant,
    /// Not readable as a transcript (binary, empty, a foreign format).
    Unparseable,
    /// Cut off before its end (too large, or the upload stopped).
    Truncated,
}

impl Status {
    /// The status as stored (`compliant`, `non_compliant`, `unparseable`, `truncated`).
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
    /// The bucket the transcript was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// The transcript's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The S3 version the report was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The transcript's ETag (quotes removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The file read, for reports made offline.
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
    /// The session's log stream, for a report made from the stream alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream: Option<String>,
    /// Who wrote the transcript version, when CloudTrail's record of the write named them
    /// (the session's instance role session, for a transcript that is evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
    /// Hex SHA-256 of the whole transcript version the report was made from (as the signed
    /// digests list it); absent when the transcript was cut or not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One command, as stored (redacted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportCommand {
    /// The command's position in the session, from 1.
    pub seq: u64,
    /// The command as the shell received it, redacted.
    pub command: String,
    /// The prompt it was typed at.
    pub prompt: String,
    /// How sure the reconstruction is: 1 when the line editor's markers delimited it.
    pub confidence: f32,
    /// Why the confidence is below 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Non-blank output lines until the next prompt.
    pub output_lines: u64,
    /// Whether it ran as root (`sudo`, or at a root prompt).
    #[serde(default)]
    pub privileged: bool,
    /// Whether a full-screen program (an editor, a pager) drew the screen while it ran.
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

/// Counts about the transcript and the reading of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Commands reconstructed.
    pub commands: u64,
    /// What could not be read as expected, in words.
    pub parse_warnings: Vec<String>,
    /// Lines typed and never run (Ctrl-C, an abandoned paste, a history reference with `:p`,
    /// which bash prints instead of running).
    pub abandoned_lines: u64,
    /// Lines submitted with nothing of them on screen (echo off): counted, never guessed.
    #[serde(default)]
    pub hidden_inputs: u64,
    /// Lines typed to a program's own line editor and prompt (sqlite3, psql, bc, a REPL):
    /// that program's input, counted as its command's output, never as commands.
    #[serde(default)]
    pub program_input_lines: u64,
    /// Lines shaped as a shell prompt and a command that a running command printed (its
    /// shell prompted again with its line-editor markers): read as its output; a warning
    /// names the command.
    #[serde(default)]
    pub printed_prompt_lines: u64,
    /// Whether bash's line-editor markers were seen (exact command lines).
    pub line_editor_markers: bool,
    /// The terminal width learned from readline's wraps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_width: Option<usize>,
    /// Findings not listed because one rule matched too often (counted here, never hidden).
    #[serde(default)]
    pub findings_suppressed: u64,
    /// Findings per severity.
    #[serde(default)]
    pub findings_by_severity: std::collections::BTreeMap<Severity, u64>,
    /// The transcript compared with the session's CloudWatch stream, when it streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Channels>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The session ID.
    pub session_id: String,
    /// The verdict.
    pub status: Status,
    /// Why the status is what it is, when it is not plain (truncated, unparseable, stream only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// Where the transcript came from.
    pub source: Source,
    /// Who started the session, from the session record.
    #[serde(default)]
    pub identity: Option<serde_json::Value>,
    /// The instance and document, from the session record.
    #[serde(default)]
    pub target: Option<serde_json::Value>,
    /// When the session started (the record's StartSession time).
    pub started_at: Option<String>,
    /// When it ended (TerminateSession, or the transcript's end).
    pub ended_at: Option<String>,
    /// The commands, in the order run.
    pub commands: Vec<ReportCommand>,
    /// The findings: command, output and session rules.
    pub findings: Vec<Finding>,
    /// Counts about the transcript.
    pub stats: Stats,
    /// The program and version that wrote it.
    pub generator: String,
}

/// Everything but the commands: what is known only when the transcript has been read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportTail<'a> {
    /// The session ID.
    pub session_id: &'a str,
    /// Where the transcript came from.
    pub source: &'a Source,
    /// The verdict.
    pub status: Status,
    /// Why the status is what it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<&'a str>,
    /// Who started the session.
    pub identity: Option<&'a serde_json::Value>,
    /// The instance and document.
    pub target: Option<&'a serde_json::Value>,
    /// When the session started.
    pub started_at: Option<&'a str>,
    /// When it ended.
    pub ended_at: Option<&'a str>,
    /// The findings.
    pub findings: &'a [Finding],
    /// Counts about the transcript.
    pub stats: &'a Stats,
    /// The program and version that wrote it.
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
    /// Events read from the session's stream.
    pub stream_events: u64,
    /// Commands read from the stream.
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
