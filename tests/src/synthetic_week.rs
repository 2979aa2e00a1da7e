//! A week of Session Manager use (ISO week 2026-W46, Monday 9 to Sunday 15 November) as the
//! functions store it: session records, denied attempts and reports (made by the real engine
//! and join from small bash transcripts), plus one corrupt record. The expected numbers in the
//! tests are worked out by hand from the table below, not by the code under test.
//!
//! | session | person | instance | start (UTC) | Berlin | end | transcript |
//! |---|---|---|---|---|---|---|
//! | s-alice-1 | alice@example.com | i-aaa | Mon 09:00 | Mon 10:00 in | +30 min (Terminate) | ok: ls, df -h |
//! | s-alice-2 | alice@example.com | i-aaa | Tue 13:00 | Tue 14:00 in | +60 min (Terminate) | ok: sudo cat /etc/shadow, ls |
//! | s-alice-3 | alice@example.com | i-bbb | Wed 20:00 | Wed 21:00 off | transcript end +10 min | ok: ls |
//! | s-bob-1 | bob | i-bbb | Thu 07:30 | Thu 08:30 in | +30 min (Terminate) | truncated: uptime |
//! | s-bob-2 | bob | i-ccc | Sat 10:00 | Sat 11:00 off | +5 min (Terminate) | none: missing |
//! | s-bob-3 | bob | i-ccc | Fri 12:00 | Fri 13:00 in | unknown | port forwarding |
//! | s-carol-1 | ops/carol | i-aaa | Sun 23:30 | Mon 00:30 off | unknown | SSH |
//! | s-carol-2 | ops/carol | i-ccc | Sun 23:50 | Mon 00:50 off | unknown | none yet: pending at as_of |
//! | s-ghost-1 | (no start record) | (unknown) | — | — | upload Thu 15:00 | ok: whoami |
//!
//! Denied: dave AccessDenied Mon and Tue, alice TargetNotConnected Wed. Corrupt: one record
//! under Wednesday that is not JSON. Outside the week: one record on Monday 16 November.

use serde_json::{json, Value};
use session_audit::analysis::{Analyzer, Input};
use session_audit::keys;
use session_audit::report::Source;
use session_audit::rules::RulePack;
use session_audit::session::SessionRecord;
use session_audit::session_report::join::{join, JoinFacts};

pub const WEEK: &str = "2026-W46";
pub const AS_OF: &str = "2026-11-16T01:00:00Z";
pub const BUSINESS_HOURS: &str = "Mon-Fri 08:00-18:00 Europe/Berlin";

fn identity(who: &str) -> Value {
    match who {
        "alice" => json!({
            "kind": "identity_center", "principal": "AWSReservedSSO_Admin_0a1b/alice@example.com",
            "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com",
            "account": "111122223333", "person": "alice@example.com", "permission_set": "Admin",
            "mfa": true, "source_ip": "198.51.100.7", "user_agent": "aws-cli/2", "console": false
        }),
        "bob" => json!({
            "kind": "iam_user", "principal": "bob", "arn": "arn:aws:iam::111122223333:user/bob",
            "account": "111122223333", "mfa": null, "source_ip": "203.0.113.9",
            "user_agent": "aws-cli/2", "console": false
        }),
        "carol" => json!({
            "kind": "assumed_role", "principal": "ops/carol",
            "arn": "arn:aws:sts::111122223333:assumed-role/ops/carol", "account": "111122223333",
            "role_name": "ops", "session_name": "carol", "mfa": true, "source_ip": "192.0.2.44",
            "user_agent": "aws-cli/2", "console": false
        }),
        _ => json!({
            "kind": "iam_user", "principal": who, "arn": format!("arn:aws:iam::111122223333:user/{who}"),
            "account": "111122223333", "mfa": false, "source_ip": "203.0.113.66",
            "user_agent": "aws-cli/2", "console": false
        }),
    }
}

/// A session record as session-start writes it (`end`: its TerminateSession time).
pub fn record(
    id: &str,
    who: &str,
    target: &str,
    start: &str,
    end: Option<&str>,
    document: &str,
) -> SessionRecord {
    let session_type = (document == "SSM-SessionManagerRunShell").then_some("Standard_Stream");
    let mut events =
        vec![json!({"action": "StartSession", "event_id": format!("ev-{id}"), "time": start})];
    if let Some(end) = end {
        events.push(
            json!({"action": "TerminateSession", "event_id": format!("ev-{id}-t"), "time": end}),
        );
    }
    serde_json::from_value(json!({
        "schema": "session-audit/session/v1", "session_id": id, "event_id": format!("ev-{id}"),
        "started_at": start, "region": "eu-central-1", "account": "111122223333",
        "identity": identity(who), "target": target, "document": document,
        "session_type": session_type, "terminated_at": end, "events": events,
        "findings": [], "findings_sent": true
    }))
    .expect("a session record")
}

fn denied(id: &str, who: &str, time: &str, code: &str) -> (String, Vec<u8>) {
    let v = json!({
        "schema": "session-audit/denied/v1", "event_id": id, "time": time,
        "action": "StartSession", "region": "eu-central-1", "account": "111122223333",
        "identity": identity(who), "target": "i-aaa", "document": "SSM-SessionManagerRunShell",
        "error_code": code, "error_message": "not authorized", "findings": [], "findings_sent": true
    });
    (keys::denied_attempt(&time[..10], id).unwrap(), line(&v))
}

/// A bash 5.2 transcript as the agent uploads it at `at` (RFC 3339 UTC, written into the
/// `script` header and footer); `done` false cuts the footer off.
pub fn transcript(commands: &[&str], done: bool, at: &str) -> Vec<u8> {
    let at = at.replace('T', " ").replace('Z', "+00:00");
    let mut t = format!(
        "Script started on {at} [COMMAND=\"cat ipcTempFile.log\" <not executed on terminal>]\n"
    )
    .into_bytes();
    for c in commands {
        t.extend_from_slice(
            format!("\x1b[?2004hsh-5.2$ {c}\r\r\n\x1b[?2004l\routput\r\r\n").as_bytes(),
        );
    }
    t.extend_from_slice(b"\x1b[?2004hsh-5.2$ exit\r\r\n\x1b[?2004l\rexit\r\r\n");
    if done {
        t.extend_from_slice(
            format!("\nScript done on {at} [COMMAND_EXIT_CODE=\"0\"]\n").as_bytes(),
        );
    }
    t
}

/// The report session-report writes for `transcript`, joined with `record`, filed by date.
fn report(
    id: &str,
    record: Option<&SessionRecord>,
    commands: &[&str],
    done: bool,
    uploaded: &str,
) -> (String, Vec<u8>) {
    let pack = RulePack::builtin();
    let source = Source {
        bucket: Some("audit-bucket".into()),
        key: Some(format!("session-logs/{id}.log")),
        ..Source::default()
    };
    let mut r = Analyzer::default().analyze_bytes(
        &transcript(commands, done, uploaded),
        Input { source, session_id: Some(id.into()), cut: None },
    );
    let first_prompt = r.commands.first().map(|c| c.prompt.clone());
    let facts = JoinFacts {
        uploaded_at: Some(uploaded.into()),
        first_prompt: first_prompt.as_deref(),
        max_session_minutes: 480,
    };
    join(&mut r, record, &facts, &pack);
    let day = record.map_or(&uploaded[..10], |r| &r.started_at[..10]);
    let at = record.and_then(|r| r.at().ok()).unwrap_or_else(|| crate::local_session(id));
    (keys::report(day, &at, "json").unwrap(), line(&r))
}

/// One line of JSON, as the functions store records and reports.
fn line(v: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(v).unwrap();
    bytes.push(b'\n');
    bytes
}

fn stored(r: &SessionRecord) -> (String, Vec<u8>) {
    (r.key().expect("a valid key"), line(r))
}

/// Bob's Saturday session, whose transcript is missing from the week.
fn bob_2() -> SessionRecord {
    let shell = "SSM-SessionManagerRunShell";
    record("s-bob-2", "bob", "i-ccc", "2026-11-14T10:00:00Z", Some("2026-11-14T10:05:00Z"), shell)
}

/// The report of bob's Saturday session, arriving after the week was summarised.
pub fn late_report() -> (String, Vec<u8>) {
    report("s-bob-2", Some(&bob_2()), &["id"], true, "2026-11-16T09:00:00Z")
}

/// Every object of the week, keyed as in the log bucket.
pub fn objects() -> Vec<(String, Vec<u8>)> {
    let shell = "SSM-SessionManagerRunShell";
    let a1 = record(
        "s-alice-1",
        "alice",
        "i-aaa",
        "2026-11-09T09:00:00Z",
        Some("2026-11-09T09:30:00Z"),
        shell,
    );
    let a2 = record(
        "s-alice-2",
        "alice",
        "i-aaa",
        "2026-11-10T13:00:00Z",
        Some("2026-11-10T14:00:00Z"),
        shell,
    );
    let a3 = record("s-alice-3", "alice", "i-bbb", "2026-11-11T20:00:00Z", None, shell);
    let b1 = record(
        "s-bob-1",
        "bob",
        "i-bbb",
        "2026-11-12T07:30:00Z",
        Some("2026-11-12T08:00:00Z"),
        shell,
    );
    let b2 = bob_2();
    let b3 = record(
        "s-bob-3",
        "bob",
        "i-ccc",
        "2026-11-13T12:00:00Z",
        None,
        "AWS-StartPortForwardingSession",
    );
    let c1 =
        record("s-carol-1", "carol", "i-aaa", "2026-11-15T23:30:00Z", None, "AWS-StartSSHSession");
    let c2 = record("s-carol-2", "carol", "i-ccc", "2026-11-15T23:50:00Z", None, shell);
    let later = record("s-alice-9", "alice", "i-aaa", "2026-11-16T08:00:00Z", None, shell);
    let mut out: Vec<(String, Vec<u8>)> =
        [&a1, &a2, &a3, &b1, &b2, &b3, &c1, &c2, &later].into_iter().map(stored).collect();
    out.push(report("s-alice-1", Some(&a1), &["ls", "df -h"], true, "2026-11-09T09:30:05Z"));
    out.push(report(
        "s-alice-2",
        Some(&a2),
        &["sudo cat /etc/shadow", "ls"],
        true,
        "2026-11-10T14:00:04Z",
    ));
    out.push(report("s-alice-3", Some(&a3), &["ls"], true, "2026-11-11T20:10:00Z"));
    out.push(report("s-bob-1", Some(&b1), &["uptime"], false, "2026-11-12T08:00:03Z"));
    out.push(report("s-ghost-1", None, &["whoami"], true, "2026-11-12T15:00:00Z"));
    out.push(denied("d-1", "dave", "2026-11-09T11:00:00Z", "AccessDenied"));
    out.push(denied("d-2", "dave", "2026-11-10T11:00:00Z", "AccessDenied"));
    out.push(denied("d-3", "alice", "2026-11-11T11:00:00Z", "TargetNotConnected"));
    out.push((
        "audit/sessions/dt=2026-11-11/s-broken.json".into(),
        b"{\"schema\": \"session-audit/sess".to_vec(),
    ));
    out
}

/// The summary of the week before (W45), which knew alice on i-aaa.
pub fn baseline() -> (String, Vec<u8>) {
    let v = json!({
        "schema": "session-audit/summary/v1", "period": "2026-W45",
        "known_pairs": [{"person": "alice@example.com", "instance": "i-aaa"}]
    });
    ("audit/summaries/weekly/2026-W45.json".into(), serde_json::to_vec(&v).unwrap())
}
