//! The session report, `session-audit/report/v1` (DESIGN.md §3), and its renderings.
//!
//! [`Report`] is the whole document. Writing goes through [`JsonReportWriter`], which streams
//! the `commands` array as commands finish, so a transcript with millions of commands never
//! has them all in memory; the result parses back into [`Report`].

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::command_json::CommandJson;
use crate::rules::{FrameworkRef, Severity};
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    /// What matched, redacted and shortened.
    pub evidence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_seq: Option<u64>,
    pub frameworks: Vec<FrameworkRef>,
    /// How many times this rule matched this command's output (output rules).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub occurrences: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
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
    pub channels: Option<crate::live::channels::Channels>,
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

/// Receives commands as they finish.
pub trait CommandWriter {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()>;
    /// A non-blank output line of command `seq`, as the screen showed it (not stored: a
    /// writer that compares channels looks at it).
    fn output(&mut self, _seq: u64, _line: &str) {}
}

/// Collects commands in memory (tests, Markdown, small reports).
impl CommandWriter for Vec<ReportCommand> {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        self.push(command.clone());
        Ok(())
    }
}

/// The Markdown report lists at most this many commands; the JSON has them all.
pub const MARKDOWN_MAX_COMMANDS: usize = 10_000;

/// Keeps the first [`MARKDOWN_MAX_COMMANDS`] commands (for Markdown) and counts the rest.
#[derive(Debug, Default)]
pub struct CappedCommands {
    pub kept: Vec<ReportCommand>,
    pub omitted: u64,
}

impl CommandWriter for CappedCommands {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        if self.kept.len() < MARKDOWN_MAX_COMMANDS {
            self.kept.push(command.clone());
        } else {
            self.omitted += 1;
        }
        Ok(())
    }
}

/// Both writers get every command (the JSON stream and the Markdown's capped list).
impl<A: CommandWriter, B: CommandWriter> CommandWriter for (A, B) {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        self.0.command(command)?;
        self.1.command(command)
    }
    fn output(&mut self, seq: u64, line: &str) {
        self.0.output(seq, line);
        self.1.output(seq, line);
    }
}

/// Streams a report as JSON: the schema, then each command on its own line, then the rest
/// (known only at the end). One line per command keeps huge reports greppable and diffable.
pub struct JsonReportWriter<W: Write> {
    out: W,
    first: bool,
    /// One line for the whole report (JSON Lines) instead of a line per command.
    single_line: bool,
    json: CommandJson,
}

impl<W: Write> JsonReportWriter<W> {
    pub fn start(out: W) -> io::Result<Self> {
        Self::start_with(out, false)
    }

    pub fn start_with(mut out: W, single_line: bool) -> io::Result<Self> {
        write!(out, "{{\"schema\":\"{SCHEMA}\",\"commands\":[")?;
        Ok(JsonReportWriter { out, first: true, single_line, json: CommandJson::default() })
    }

    pub fn finish(mut self, tail: &ReportTail<'_>) -> io::Result<W> {
        let close: &[u8] = if self.first || self.single_line { b"]," } else { b"\n]," };
        self.out.write_all(close)?;
        let rest = serde_json::to_vec(tail)?;
        self.out.write_all(&rest[1..])?; // the tail's fields, without its opening brace
        self.out.write_all(b"\n")?;
        Ok(self.out)
    }
}

impl<W: Write> CommandWriter for JsonReportWriter<W> {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        let sep: &[u8] = match (self.first, self.single_line) {
            (true, true) => b"",
            (false, true) => b",",
            (true, false) => b"\n",
            (false, false) => b",\n",
        };
        self.first = false;
        self.out.write_all(self.json.encode(sep, command)?)
    }
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

    /// Write the whole report as JSON (the same bytes the streaming path produces).
    pub fn write_json<W: Write>(&self, out: W) -> io::Result<W> {
        let mut w = JsonReportWriter::start(out)?;
        for c in &self.commands {
            w.command(c)?;
        }
        w.finish(&self.tail())
    }

    /// Markdown for a reviewer. `omitted` commands were not kept in memory (see the JSON).
    pub fn to_markdown(&self, omitted: u64) -> String {
        crate::markdown::report(self, omitted)
    }
}
