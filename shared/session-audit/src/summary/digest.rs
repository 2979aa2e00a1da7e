//! What a summary needs from one report, read without keeping its commands: a report can hold
//! hundreds of thousands of them, so they are handed to a callback one at a time while the
//! JSON is parsed.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::report::{Finding, Source, Status, SCHEMA};

/// A report without its commands.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDigest {
    pub session_id: String,
    pub status: Status,
    pub status_reason: Option<String>,
    pub source: Source,
    pub identity: Option<serde_json::Value>,
    pub target: Option<serde_json::Value>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub findings: Vec<Finding>,
    pub commands: u64,
}

/// One command as the summary sees it.
#[derive(Deserialize)]
struct CommandText {
    command: String,
    #[serde(default)]
    privileged: bool,
}

impl ReportDigest {
    /// Parse a stored report, calling `command(text, privileged)` for each command in order.
    pub fn parse(json: &[u8], command: impl FnMut(&str, bool)) -> Result<ReportDigest, String> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let digest = ReportSeed { command }.deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        digest
    }
}

struct ReportSeed<F> {
    command: F,
}

impl<'de, F: FnMut(&str, bool)> DeserializeSeed<'de> for ReportSeed<F> {
    type Value = Result<ReportDigest, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(&str, bool)> Visitor<'de> for ReportSeed<F> {
    type Value = Result<ReportDigest, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a session-audit report object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut schema = None::<String>;
        let mut session_id = None;
        let mut status = None;
        let mut status_reason = None;
        let mut source = None;
        let (mut identity, mut target, mut started_at, mut ended_at) = (None, None, None, None);
        let mut findings = None;
        let mut commands = 0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema" => schema = Some(map.next_value()?),
                "session_id" => session_id = Some(map.next_value::<String>()?),
                "status" => status = Some(map.next_value::<Status>()?),
                "status_reason" => status_reason = map.next_value()?,
                "source" => source = Some(map.next_value::<Source>()?),
                "identity" => identity = map.next_value()?,
                "target" => target = map.next_value()?,
                "started_at" => started_at = map.next_value()?,
                "ended_at" => ended_at = map.next_value()?,
                "findings" => findings = Some(map.next_value::<Vec<Finding>>()?),
                "commands" => {
                    commands = map.next_value_seed(Commands { on: &mut self.command })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let digest = || -> Result<ReportDigest, String> {
            match schema.as_deref() {
                Some(SCHEMA) => {}
                Some(other) => return Err(format!("schema {other} is not {SCHEMA}")),
                None => return Err("no schema: not a session-audit report".into()),
            }
            Ok(ReportDigest {
                session_id: session_id.ok_or("report without session_id")?,
                status: status.ok_or("report without status")?,
                status_reason,
                source: source.unwrap_or_default(),
                identity,
                target,
                started_at,
                ended_at,
                findings: findings.ok_or("report without findings")?,
                commands,
            })
        };
        Ok(digest())
    }
}

/// The `commands` array, visited element by element.
struct Commands<'a, F> {
    on: &'a mut F,
}

impl<'de, F: FnMut(&str, bool)> DeserializeSeed<'de> for Commands<'_, F> {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(&str, bool)> Visitor<'de> for Commands<'_, F> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of commands")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 0;
        while let Some(c) = seq.next_element::<CommandText>()? {
            (self.on)(&c.command, c.privileged);
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, Input};

    #[test]
    fn a_report_is_read_back_with_its_commands_streamed() {
        let transcript = b"\x1b[?2004hsh-5.2$ sudo cat /etc/shadow\r\r\n\x1b[?2004l\rroot:*:1::\r\n\x1b[?2004hsh-5.2$ ls\r\r\n\x1b[?2004l\r";
        let report = Analyzer::default().analyze_bytes(transcript, Input::default());
        let json = serde_json::to_vec(&report).unwrap();
        let mut seen = Vec::new();
        let d = ReportDigest::parse(&json, |c, p| seen.push((c.to_string(), p))).unwrap();
        assert_eq!(seen, vec![("sudo cat /etc/shadow".to_string(), true), ("ls".into(), false)]);
        assert_eq!(d.commands, 2);
        assert_eq!(d.status, report.status);
        assert_eq!(d.findings, report.findings);
        assert_eq!(d.session_id, report.session_id);
    }

    #[test]
    fn other_documents_and_garbage_are_errors_that_say_why() {
        let err = |b: &[u8]| ReportDigest::parse(b, |_, _| {}).unwrap_err();
        assert!(err(b"{\"schema\":\"session-audit/session/v1\"}").contains("is not"));
        assert!(err(b"{\"commands\":[]}").contains("no schema"));
        assert!(!err(b"\x00\x01garbage").is_empty());
        assert!(!err(b"{\"schema\":\"session-audit/report/v1\",\"commands\":[1]}").is_empty());
        assert!(!err(b"{} trailing").is_empty());
    }
}
