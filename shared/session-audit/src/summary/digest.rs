//! What a summary needs from one report, read without keeping its commands or findings: a
//! report can hold millions of them (one finding per matching command), so commands are handed
//! to a callback one at a time and findings counted by rule while the JSON is parsed, from
//! memory or from a reader (a report spooled to disk).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::finding::Finding;
use crate::finding::Severity;
use crate::report::{Source, Status, SCHEMA};

/// A report without its commands.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDigest {
    /// The session ID.
    pub session_id: String,
    /// The report's verdict.
    pub status: Status,
    /// Why the status is what it is.
    pub status_reason: Option<String>,
    /// Where the transcript came from.
    pub source: Source,
    /// Who started the session.
    pub identity: Option<serde_json::Value>,
    /// The instance and document.
    pub target: Option<serde_json::Value>,
    /// When the session started.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// The report's findings counted by rule, in severity then rule order.
    pub findings: Vec<RuleCount>,
    /// Commands in the report.
    pub commands: u64,
}

/// How many findings of one rule a report holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCount {
    /// The rule's ID.
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Its title.
    pub title: String,
    /// Findings it raised in the report.
    pub count: u64,
}

/// More distinct (severity, rule) pairs than any rule pack has: a report claiming more is
/// not one session-report wrote.
const MOST_RULES: usize = 10_000;

impl RuleCount {
    /// `findings` counted by rule.
    pub fn tally<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<RuleCount> {
        let mut t = Tally::default();
        for f in findings {
            t.add(f);
        }
        t.0.into_values().collect()
    }
}

#[derive(Default)]
struct Tally(BTreeMap<(Severity, String), RuleCount>);

impl Tally {
    fn add(&mut self, f: &Finding) -> bool {
        let key = (f.severity, f.rule_id.clone());
        if self.0.len() >= MOST_RULES && !self.0.contains_key(&key) {
            return false;
        }
        let entry = self.0.entry(key).or_insert_with(|| RuleCount {
            rule_id: f.rule_id.clone(),
            severity: f.severity,
            title: f.title.clone(),
            count: 0,
        });
        entry.count += 1;
        true
    }
}

/// One command as the summary sees it.
#[derive(Deserialize)]
struct CommandText {
    command: String,
    #[serde(default)]
    privileged: bool,
}

message_error!(
    /// A stored object that is not a readable report, and why.
    UnreadableReport
);

impl ReportDigest {
    /// Parse a stored report, calling `command(text, privileged)` for each command in order.
    pub fn parse(
        json: &[u8],
        command: impl FnMut(&str, bool),
    ) -> Result<ReportDigest, UnreadableReport> {
        Self::parse_from(serde_json::de::SliceRead::new(json), command)
    }

    /// [`ReportDigest::parse`] from a reader (buffer it: serde_json reads a byte at a time).
    pub fn parse_reader(
        reader: impl std::io::Read,
        command: impl FnMut(&str, bool),
    ) -> Result<ReportDigest, UnreadableReport> {
        Self::parse_from(serde_json::de::IoRead::new(reader), command)
    }

    fn parse_from<'de, R: serde_json::de::Read<'de>>(
        read: R,
        command: impl FnMut(&str, bool),
    ) -> Result<ReportDigest, UnreadableReport> {
        let mut de = serde_json::Deserializer::new(read);
        let digest = ReportSeed { command }.deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(digest?)
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
                "findings" => findings = Some(map.next_value_seed(Findings)?),
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

/// The `findings` array, counted by rule element by element.
struct Findings;

impl<'de> DeserializeSeed<'de> for Findings {
    type Value = Vec<RuleCount>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<RuleCount>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Findings {
    type Value = Vec<RuleCount>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of findings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<RuleCount>, A::Error> {
        let mut tally = Tally::default();
        while let Some(f) = seq.next_element::<Finding>()? {
            if !tally.add(&f) {
                return Err(serde::de::Error::custom(format!(
                    "more than {MOST_RULES} distinct rules: not a report session-report wrote"
                )));
            }
        }
        Ok(tally.0.into_values().collect())
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
        assert_eq!(d.findings, RuleCount::tally(&report.findings));
        assert!(!d.findings.is_empty());
        let from_reader =
            ReportDigest::parse_reader(std::io::BufReader::new(&json[..]), |_, _| {}).unwrap();
        assert_eq!(from_reader, d);
        assert_eq!(d.session_id, report.session_id);
    }

    #[test]
    fn other_documents_and_garbage_are_errors_that_say_why() {
        let err = |b: &[u8]| ReportDigest::parse(b, |_, _| {}).unwrap_err().0;
        assert!(err(b"{\"schema\":\"session-audit/session/v1\"}").contains("is not"));
        assert!(err(b"{\"commands\":[]}").contains("no schema"));
        assert!(!err(b"\x00\x01garbage").is_empty());
        assert!(!err(b"{\"schema\":\"session-audit/report/v1\",\"commands\":[1]}").is_empty());
        assert!(!err(b"{} trailing").is_empty());
        let reader_err = ReportDigest::parse_reader(
            &b"{\"schema\": \"session-audit/report/v1\", \"comm"[..],
            |_, _| {},
        );
        assert!(reader_err.unwrap_err().0.contains("EOF"));
    }
}
