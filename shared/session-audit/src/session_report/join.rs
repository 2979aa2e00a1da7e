//! A transcript's report completed with its session record (docs/DESIGN.md §3): who started the
//! session, on what, when; the start findings carried over; and the session rules that need
//! both sources (too long, run as root, transcript without a recorded start).

use jiff::Timestamp;
use serde_json::json;

use crate::finding::Severity;
use crate::report::{Report, Status};
use crate::rules::RulePack;
use crate::session::SessionRecord;

/// What the join knows besides the two documents.
#[derive(Debug, Clone, Default)]
pub struct JoinFacts<'a> {
    /// When the transcript object was written (the agent uploads at session end).
    pub uploaded_at: Option<String>,
    /// The prompt of the session's first command (a root prompt means the shell ran as root).
    pub first_prompt: Option<&'a str>,
    /// `MAX_SESSION_MINUTES`.
    pub max_session_minutes: u64,
}

/// Whether a shell prompt is root's (`[root@host ~]#`, `sh-5.2#`, `root@host:~#`).
pub fn root_prompt(prompt: &str) -> bool {
    prompt.trim_end().ends_with('#')
}

fn minutes_between(start: &str, end: &str) -> Option<i64> {
    let (a, b): (Timestamp, Timestamp) = (start.parse().ok()?, end.parse().ok()?);
    Some(b.duration_since(a).as_secs() / 60)
}

/// Complete `report` with `record` (None: no StartSession was recorded for the session).
pub fn join(
    report: &mut Report,
    record: Option<&SessionRecord>,
    facts: &JoinFacts,
    pack: &RulePack,
) {
    let mut raised = Vec::new();
    match record {
        Some(r) => {
            report.identity = Some(serde_json::to_value(&r.identity).expect("identity serialises"));
            report.target = Some(json!({
                "instance_id": r.target,
                "document": r.document,
                "session_type": r.session_type,
                "region": r.region,
                "account": r.account,
                "reason": r.reason,
                "start_event_id": r.event_id,
            }));
            report.started_at = Some(r.started_at.clone());
            // Carried over as raised at start (their events went out then).
            raised.extend(r.findings.iter().cloned());
        }
        None => raised.extend(pack.session_finding(
            "transcript_without_start",
            format!("no session record for {}: the StartSession was not audited (trail or rule missing, or the audit failed)", report.session_id),
        )),
    }
    let ended = record
        .and_then(|r| r.terminated_at.clone())
        .or_else(|| report.ended_at.clone())
        .or_else(|| facts.uploaded_at.clone());
    report.ended_at = ended.clone();
    if let (Some(start), Some(end)) = (report.started_at.as_deref(), ended.as_deref()) {
        if let Some(minutes) = minutes_between(start, end) {
            if facts.max_session_minutes > 0 && minutes > facts.max_session_minutes as i64 {
                raised.extend(pack.session_finding(
                    "session_too_long",
                    format!(
                        "{minutes} minutes from {start} to {end} (maximum {})",
                        facts.max_session_minutes
                    ),
                ));
            }
        }
    }
    if let Some(prompt) = facts.first_prompt.filter(|p| root_prompt(p)) {
        raised.extend(pack.session_finding(
            "run_as_root",
            format!("the session's shell started as root (first prompt {:?})", prompt.trim()),
        ));
    }
    for f in &raised {
        *report.stats.findings_by_severity.entry(f.severity).or_insert(0) += 1;
    }
    // Session findings first, then the command findings in command order.
    raised.append(&mut report.findings);
    report.findings = raised;
    if matches!(report.status, Status::Compliant | Status::NonCompliant) {
        report.status = if report.findings.iter().any(|f| f.severity >= Severity::Low) {
            Status::NonCompliant
        } else {
            Status::Compliant
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Analyzer, Input};
    use crate::session::{records, Event};

    fn record(edit: impl FnOnce(&mut serde_json::Value)) -> SessionRecord {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json"
        );
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        edit(&mut v);
        let (account, r) = records(&v).into_iter().next().unwrap();
        SessionRecord::start(&Event::parse(r, account).unwrap()).unwrap()
    }

    fn clean_report() -> Report {
        let t = b"Script started on 2021-01-31 02:20:00+00:00\r\n\x1b[?2004hsh-5.2$ ls\r\r\n\x1b[?2004l\ra\r\n\x1b[?2004hsh-5.2$ exit\r\r\n\x1b[?2004l\r\r\nScript done on 2021-01-31 02:30:00+00:00\r\n";
        let report = Analyzer::default().analyze_bytes(t, Input::default());
        assert_eq!(report.status, Status::Compliant);
        report
    }

    fn ids(r: &Report) -> Vec<&str> {
        r.findings.iter().map(|f| f.rule_id.as_str()).collect()
    }

    #[test]
    fn the_record_supplies_who_what_and_when() {
        let mut report = clean_report();
        let rec = record(|_| {});
        let facts = JoinFacts { max_session_minutes: 480, ..Default::default() };
        join(&mut report, Some(&rec), &facts, &RulePack::builtin());
        assert_eq!(
            report.identity.as_ref().unwrap()["arn"],
            "arn:aws:sts::123456789012:assumed-role/Admin/jojithom"
        );
        assert_eq!(report.target.as_ref().unwrap()["instance_id"], "i-023ad911b5d49dece");
        assert_eq!(report.started_at.as_deref(), Some("2021-01-31T02:31:47Z"));
        assert!(report.findings.is_empty(), "{:?}", ids(&report));
        assert_eq!(report.status, Status::Compliant);
    }

    #[test]
    fn missing_record_long_session_root_shell_and_carried_findings() {
        let pack = RulePack::builtin();
        let mut orphan = clean_report();
        join(&mut orphan, None, &JoinFacts::default(), &pack);
        assert_eq!(ids(&orphan), vec!["SA-SES-NO-START-RECORD"]);
        assert_eq!(orphan.status, Status::NonCompliant);

        let mut rec = record(|_| {});
        rec.terminated_at = Some("2021-01-31T12:00:00Z".into());
        rec.findings = pack.session_finding("no_mfa", "no MFA".into()).into_iter().collect();
        let mut long = clean_report();
        let facts = JoinFacts {
            max_session_minutes: 480,
            first_prompt: Some("[root@ip-10-0-0-1 ~]# "),
            ..Default::default()
        };
        join(&mut long, Some(&rec), &facts, &pack);
        assert_eq!(ids(&long), vec!["SA-SES-NO-MFA", "SA-SES-TOO-LONG", "SA-SES-RUN-AS-ROOT"]);
        assert!(
            long.findings[1].evidence.starts_with("568 minutes"),
            "{}",
            long.findings[1].evidence
        );
        assert_eq!(long.stats.findings_by_severity.values().sum::<u64>(), 3);
        assert!(!root_prompt("sh-5.2$ "));
    }

    #[test]
    fn unparseable_and_truncated_keep_their_status() {
        let mut r = Analyzer::default().analyze_bytes(b"", Input::default());
        assert_eq!(r.status, Status::Unparseable);
        join(&mut r, Some(&record(|_| {})), &JoinFacts::default(), &RulePack::builtin());
        assert_eq!(r.status, Status::Unparseable);
    }
}
