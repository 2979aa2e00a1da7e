//! What the functions emit besides stored objects: findings as EventBridge events and counts as
//! CloudWatch embedded-metric-format (EMF) log lines. Pure: the adapters send what is built here.

use serde_json::{json, Map, Value};

use crate::finding::Finding;
use crate::finding::Severity;

/// `source` of every finding event, for EventBridge rules to match on.
pub const FINDING_SOURCE: &str = "session-audit";
/// `detail-type` of every finding event.
pub const FINDING_DETAIL_TYPE: &str = "Session Audit Finding";
/// CloudWatch namespace of the EMF metrics.
pub const METRICS_NAMESPACE: &str = "SessionAudit";

/// Where a finding was raised, carried in every event so a consumer needs no lookup.
#[derive(Debug, Clone, Default)]
pub struct FindingContext {
    /// The CloudTrail event (or transcript object) the finding came from; with the rule ID it
    /// makes `finding_id`, stable across retries so consumers can drop repeats.
    pub origin_id: String,
    /// The session it is about, when there is one.
    pub session_id: Option<String>,
    /// When it happened (the call's, command's or report's time).
    pub time: String,
    /// The account.
    pub account: Option<String>,
    /// The region.
    pub region: String,
    /// The caller's ARN.
    pub principal: Option<String>,
    /// The person, as the start audit names them.
    pub person: Option<String>,
    /// The instance.
    pub target: Option<String>,
    /// `s3://bucket/key` of the record or report that holds the finding.
    pub record: String,
    /// Which part of the pipeline raised it: `start`, `live`, `report` or `summary`.
    pub stage: &'static str,
}

/// The origin of a transcript version's findings: `s3://bucket/key#<version or ETag>`.
/// session-report publishes under it and lake-export files the same IDs, so one function makes it.
pub fn transcript_origin(bucket: &str, key: &str, at: &str) -> String {
    format!("s3://{bucket}/{key}#{at}")
}

/// The origin of the findings of a report made from a session's stream alone.
pub fn stream_origin(log_group: &str, session_id: &str) -> String {
    format!("stream:{log_group}/{session_id}")
}

/// The origin of a finding about a whole session (its transcript missing, or late):
/// `<account>/<region>/<sessionId>`, as a session ID is unique only within one account (the ID
/// alone for a record that names no account). The summary and the report both publish under it,
/// so a late transcript's finding updates the missing one.
pub fn session_origin(account: Option<&str>, region: &str, session_id: &str) -> String {
    match account {
        Some(account) if !region.is_empty() => format!("{account}/{region}/{session_id}"),
        _ => session_id.to_string(),
    }
}

/// A finding event's `finding_id`: its origin and rule, the same on every retry.
pub fn finding_id(origin_id: &str, rule_id: &str) -> String {
    format!("{origin_id}:{rule_id}")
}

/// The `detail` of one finding event.
pub fn finding_detail(finding: &Finding, ctx: &FindingContext) -> Value {
    json!({
        "finding_id": finding_id(&ctx.origin_id, &finding.rule_id),
        "rule_id": finding.rule_id,
        "severity": finding.severity,
        "title": finding.title,
        "evidence": finding.evidence,
        "command_seq": finding.command_seq,
        "frameworks": finding.frameworks,
        "session_id": ctx.session_id,
        "time": ctx.time,
        "account": ctx.account,
        "region": ctx.region,
        "principal": ctx.principal,
        "person": ctx.person,
        "target": ctx.target,
        "record": ctx.record,
        "stage": ctx.stage,
    })
}

/// Values for one EMF line: unit `Percent` for names ending in `Percent`, `Count` otherwise.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    values: Vec<(String, f64)>,
}

impl Metrics {
    /// Add `value` to the metric `name` (created at 0).
    pub fn add(&mut self, name: &str, value: f64) -> &mut Self {
        match self.values.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v += value,
            None => self.values.push((name.to_string(), value)),
        }
        self
    }

    /// One `Findings<Severity>` count per finding (`FindingsHigh`, …); every severity appears,
    /// so a dashboard shows zero rather than a gap.
    pub fn add_findings<'a>(
        &mut self,
        findings: impl IntoIterator<Item = &'a Finding>,
    ) -> &mut Self {
        for s in Severity::ALL {
            self.add(&severity_metric(s), 0.0);
        }
        for f in findings {
            self.add(&severity_metric(f.severity), 1.0);
        }
        self
    }

    /// The value of the metric `name`, if it was added.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Print the EMF line to stdout, stamped now: Lambda sends stdout to CloudWatch Logs, which
    /// extracts the metrics.
    pub fn print_emf(&self, function: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        println!("{}", self.emf_line(function, now as u64));
    }

    /// The EMF JSON line (one object, no newline) for `function`, stamped `timestamp_ms`.
    pub fn emf_line(&self, function: &str, timestamp_ms: u64) -> String {
        let mut doc = Map::new();
        let definitions: Vec<Value> =
            self.values.iter().map(|(n, _)| json!({"Name": n, "Unit": unit(n)})).collect();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": definitions,
                }],
            }),
        );
        doc.insert("Function".into(), function.into());
        for (name, value) in &self.values {
            doc.insert(name.clone(), json!(value));
        }
        Value::Object(doc).to_string()
    }
}

fn unit(name: &str) -> &'static str {
    if name.ends_with("Percent") {
        "Percent"
    } else {
        "Count"
    }
}

fn severity_metric(s: Severity) -> String {
    let name = s.as_str();
    format!("Findings{}{}", name[..1].to_ascii_uppercase(), &name[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity) -> Finding {
        Finding {
            rule_id: "SA-SES-ROOT".into(),
            severity,
            title: "root".into(),
            evidence: "e".into(),
            command_seq: None,
            frameworks: Vec::new(),
            occurrences: 1,
        }
    }

    #[test]
    fn emf_line_declares_every_value_it_carries() {
        let mut m = Metrics::default();
        m.add("SessionsStarted", 1.0)
            .add_findings(&[finding(Severity::High), finding(Severity::High)]);
        let line: Value = serde_json::from_str(&m.emf_line("session-start", 42)).unwrap();
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap();
        assert_eq!(declared.len(), 6, "SessionsStarted + five severities");
        for d in declared {
            let name = d["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "{name} has a value");
        }
        assert_eq!(line["FindingsHigh"], 2.0);
        assert_eq!(line["FindingsCritical"], 0.0);
        assert_eq!(line["Function"], "session-start");
        assert_eq!(line["_aws"]["Timestamp"], 42);
    }

    #[test]
    fn one_session_id_in_two_places_is_two_origins() {
        let here = session_origin(Some("111122223333"), "eu-west-1", "s-1");
        let there = session_origin(Some("444455556666"), "eu-west-1", "s-1");
        assert_ne!(
            finding_id(&here, "SA-SES-TRANSCRIPT-MISSING"),
            finding_id(&there, "SA-SES-TRANSCRIPT-MISSING")
        );
        assert_eq!(here, "111122223333/eu-west-1/s-1");
        assert_eq!(session_origin(None, "eu-west-1", "s-1"), "s-1");
    }

    #[test]
    fn finding_ids_are_stable_per_origin_and_rule() {
        let ctx = FindingContext { origin_id: "ev-1".into(), ..Default::default() };
        let d = finding_detail(&finding(Severity::Critical), &ctx);
        assert_eq!(d["finding_id"], "ev-1:SA-SES-ROOT");
        assert_eq!(d["severity"], "critical");
    }
}
