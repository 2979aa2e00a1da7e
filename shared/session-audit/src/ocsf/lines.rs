//! OCSF as JSON lines while a transcript is analysed (`session-audit analyze --format ocsf`):
//! each command's Process Activity written as it finishes, so memory stays bounded whatever
//! the transcript's size; the findings' Detection Findings once the report is done.

use std::io::{self, Write};

use super::{finding_event, process_event, session_event, SessionFacts};
use crate::publish::FindingContext;
use crate::report::{CommandWriter, Report, ReportCommand};

/// Writes OCSF events, one JSON object per line.
pub struct OcsfLines<W: Write> {
    out: W,
    facts: SessionFacts,
    now_ms: i64,
}

impl<W: Write> OcsfLines<W> {
    /// Events of the session `facts` describe into `out`; `now_ms` stands in for times
    /// nothing gives (a transcript read offline has no stream to time its commands).
    pub fn new(out: W, facts: SessionFacts, now_ms: i64) -> Self {
        OcsfLines { out, facts, now_ms }
    }

    fn line(&mut self, event: &serde_json::Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")
    }

    /// The report's Logon/Logoff (when its caller and times are known) and its findings
    /// (raised where `ctx` says); the writer back.
    pub fn finish(mut self, report: &Report, ctx: &FindingContext) -> io::Result<W> {
        let facts = SessionFacts::of(report);
        for logon in [true, false] {
            if let Some(e) = session_event(&facts, logon) {
                self.line(&e)?;
            }
        }
        for f in &report.findings {
            let e = finding_event(f, ctx, self.now_ms, false);
            self.line(&e)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> CommandWriter for OcsfLines<W> {
    fn command(&mut self, command: &ReportCommand) -> io::Result<()> {
        let e = process_event(&self.facts, command, self.now_ms);
        self.line(&e)
    }
}
