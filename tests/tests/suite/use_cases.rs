//! The use cases over the in-memory store and sink: the same code the functions run over S3
//! and EventBridge (proved against the emulator in the other modules), here in milliseconds.

use serde_json::{json, Value};
use session_audit::access_summary::AccessSummary;
use session_audit::analysis::Analyzer;
use session_audit::keys;
use session_audit::ports::sink::MemSink;
use session_audit::ports::store::{block_on, get_json, MemStore};
use session_audit::publish::Metrics;
use session_audit::redact::Redactor;
use session_audit::rules::RulePack;
use session_audit::session::findings::Facts;
use session_audit::session::{Event, SessionRecord};
use session_audit::session_report::SessionReport;
use session_audit::session_start::{Lookups, Outcome, SessionStart};
use session_audit::settings::Variables;
use session_audit::summary::Coverage;
use session_audit_tests::fixture;
use session_audit_tests::home_setting;
use session_audit_tests::synthetic_week::{self, AS_OF, BUSINESS_HOURS, WEEK};

/// Lookups that find the target untagged (so the start raises SA-SES-TARGET-UNTAGGED).
pub struct Untagged;

impl Lookups for Untagged {
    async fn facts(&self, _: &Event) -> (Facts, Vec<String>) {
        let facts = Facts { target_tags: Some(Default::default()), ..Facts::default() };
        (facts, Vec::new())
    }
}

fn start_event() -> Value {
    let path = fixture("public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The start audit over memory, with every target untagged.
pub fn audit() -> SessionStart<MemStore, Untagged, MemSink> {
    let get = |k: &str| match k {
        "AUDIT_BUCKET" => Some("bucket".to_string()),
        _ => None,
    };
    SessionStart {
        store: MemStore::default(),
        lookups: Untagged,
        sink: MemSink::default(),
        config: Variables(get).start_config().unwrap(),
        pack: RulePack::builtin(),
        redactor: Redactor::new(Some(b"k")),
        home: None,
    }
}

#[test]
fn session_start_records_once_publishes_once_and_merges_the_terminate() {
    let audit = audit();
    let event = start_event();
    let mut metrics = Metrics::default();
    let first = block_on(audit.handle(&event, &mut metrics)).unwrap();
    let Outcome::Recorded { key } = &first[0].outcome else { panic!("{first:?}") };
    assert_eq!(
        key,
        "audit/sessions/dt=2021-01-31/acct=123456789012/region=us-east-1/\
         jojithom-I-08ea7d78b1fd0d119.json"
    );
    assert!(first[0].findings.contains(&"SA-SES-TARGET-UNTAGGED".to_string()), "{first:?}");
    let published = audit.sink.details();
    assert_eq!(published.len(), first[0].findings.len());
    assert!(published.iter().all(|d| d["record"] == format!("memory:{key}")));

    // A redelivery changes nothing and publishes nothing.
    let again = block_on(audit.handle(&event, &mut metrics)).unwrap();
    assert_eq!(again[0].outcome, Outcome::Duplicate { key: key.clone() });
    assert_eq!(audit.sink.details().len(), published.len());

    // The Terminate lands on the same record.
    let mut terminate = event.clone();
    terminate["detail"]["eventName"] = "TerminateSession".into();
    terminate["detail"]["eventID"] = "00000000-0000-4000-8000-0000000000a1".into();
    terminate["detail"]["requestParameters"] = json!({"sessionId": "jojithom-I-08ea7d78b1fd0d119"});
    block_on(audit.handle(&terminate, &mut metrics)).unwrap();
    let record = block_on(get_json::<SessionRecord>(&audit.store, key)).unwrap().unwrap();
    let record = record.value.unwrap();
    assert!(record.terminated_at.is_some() && record.findings_sent);
    assert_eq!(audit.store.snapshot().len(), 1, "one record, nothing else");
}

/// A session ID is unique only within an account: the same ID started in two accounts is two
/// records, and a transcript below one account's folder is that account's session's, never the
/// other's (nor the hub's, whose transcripts have no folder).
#[test]
fn one_session_id_in_two_accounts_is_two_sessions() {
    use session_audit::ports::store::{Attributes, AuditStore, Condition, Payload};
    use session_audit::report::Report;
    use session_audit::session_report::Outcome as Reported;

    let audit = audit();
    let hub = start_event();
    let mut spoke = hub.clone();
    spoke["account"] = "444455556666".into();
    spoke["detail"]["recipientAccountId"] = "444455556666".into();
    spoke["detail"]["eventID"] = "00000000-0000-4000-8000-0000000000b2".into();
    spoke["detail"]["userIdentity"]["arn"] =
        "arn:aws:sts::444455556666:assumed-role/Admin/mallory".into();
    let mut metrics = Metrics::default();
    let mut keys = Vec::new();
    for event in [&hub, &spoke] {
        let out = block_on(audit.handle(event, &mut metrics)).unwrap();
        let Outcome::Recorded { key } = &out[0].outcome else { panic!("{out:?}") };
        keys.push(key.clone());
    }
    assert!(keys[1].contains("/acct=444455556666/region=us-east-1/"), "{keys:?}");
    assert_ne!(keys[0], keys[1], "two accounts' sessions never share a record");
    let records: Vec<SessionRecord> = keys
        .iter()
        .map(|k| {
            block_on(get_json::<SessionRecord>(&audit.store, k)).unwrap().unwrap().value.unwrap()
        })
        .collect();
    assert_eq!(records[0].identity.arn.as_deref(), hub["detail"]["userIdentity"]["arn"].as_str());
    assert!(records[1].identity.principal.contains("mallory"), "{:?}", records[1].identity);

    // The hub reports over the same store: each transcript joins its own account's record.
    let reporter = SessionReport { store: audit.store, ..reporter() };
    let id = records[0].session_id.clone();
    let transcript = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    let text = Attributes::of("text/plain");
    let mut reported = Vec::new();
    for key in
        [format!("session-logs/444455556666/us-east-1/{id}.log"), format!("session-logs/{id}.log")]
    {
        let body = Payload::Bytes(transcript.clone());
        block_on(reporter.store.put(&key, body, &text, &Condition::Always)).unwrap();
        let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "eventTime": "2021-01-31T12:00:00Z", "s3": {"bucket": {"name": "bucket"},
            "object": {"key": key, "size": 1, "eTag": "e", "versionId": "v1"}}}]});
        let out = block_on(reporter.handle(&event, &mut Metrics::default())).unwrap();
        let Reported::Reported { json_key, .. } = &out[0].outcome else { panic!("{out:?}") };
        let stored = block_on(reporter.store.get(json_key, None)).unwrap().unwrap();
        let report: Report = serde_json::from_slice(&stored.bytes).unwrap();
        reported.push((json_key.clone(), report.identity.unwrap_or_default()));
    }
    assert!(reported[0].0.contains("/acct=444455556666/"), "{reported:?}");
    assert!(reported[0].1.to_string().contains("mallory"), "the spoke's own record: {reported:?}");
    assert!(reported[1].0.contains("/acct=123456789012/"), "{reported:?}");
    assert!(!reported[1].1.to_string().contains("mallory"), "the hub's own record: {reported:?}");

    // A folder that names no account or region is not a transcript at all.
    let stray = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2021-01-31T12:00:00Z", "s3": {"bucket": {"name": "bucket"},
        "object": {"key": format!("session-logs/444455556666/nowhere/{id}.log"), "size": 1}}}]});
    let out = block_on(reporter.handle(&stray, &mut Metrics::default())).unwrap();
    assert!(
        matches!(&out[0].outcome, Reported::Ignored { reason } if reason.contains("region")),
        "{out:?}"
    );
}

#[test]
fn access_summary_over_memory_gives_the_hand_computed_week() {
    let store = MemStore::default();
    block_on(async {
        use session_audit::ports::store::{Attributes, AuditStore, Condition, Payload};
        let json = Attributes::of("application/json");
        for (key, body) in synthetic_week::objects() {
            store.put(&key, Payload::Bytes(body), &json, &Condition::Always).await.unwrap();
        }
    });
    let get = |k: &str| (k == "BUSINESS_HOURS").then(|| BUSINESS_HOURS.to_string());
    let summary = AccessSummary {
        store,
        sink: MemSink::default(),
        pack: RulePack::builtin(),
        options: Variables(get).summary_options().unwrap(),
    };
    let mut metrics = Metrics::default();
    let weekly = json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF});
    let written = block_on(summary.handle(&weekly, &mut metrics)).unwrap();
    let s = &written.summary;
    assert_eq!(s.sessions, 9);
    assert_eq!(s.headline.percent_full_transcript, Some(57.1));
    assert_eq!(s.completeness.counts.get(&Coverage::Missing), Some(&1));
    assert_eq!(s.corrupt.total, 1, "the record that is not JSON is listed");
    assert!(summary.sink.details().is_empty(), "a weekly run publishes no finding");
    let keys: Vec<String> = summary.store.snapshot().into_iter().map(|(k, _)| k).collect();
    for ext in ["json", "md", "html"] {
        assert!(keys.contains(&keys::summary("weekly", WEEK, ext)), "{keys:?}");
    }

    // The daily run of the Saturday publishes bob's missing transcript, once.
    let daily = json!({"kind": "daily", "period": "2026-11-14", "as_of": AS_OF});
    block_on(summary.handle(&daily, &mut metrics)).unwrap();
    let published = summary.sink.details();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        published[0]["finding_id"],
        "111122223333/eu-central-1/s-bob-2:SA-SES-TRANSCRIPT-MISSING"
    );
}

fn summariser_over(objects: &[(String, Vec<u8>)]) -> AccessSummary<MemStore, MemSink> {
    let store = MemStore::default();
    block_on(async {
        use session_audit::ports::store::{Attributes, AuditStore, Condition, Payload};
        let json = Attributes::of("application/json");
        for (key, body) in objects {
            store.put(key, Payload::Bytes(body.clone()), &json, &Condition::Always).await.unwrap();
        }
    });
    let get = |k: &str| (k == "BUSINESS_HOURS").then(|| BUSINESS_HOURS.to_string());
    AccessSummary {
        store,
        sink: MemSink::default(),
        pack: RulePack::builtin(),
        options: Variables(get).summary_options().unwrap(),
    }
}

/// The weekly summary merges the daily runs' parts instead of reading every object again, and
/// is exactly the summary of reading them again; a day whose objects changed since its daily
/// run, or that was not final then (a transcript pending), is read again.
#[test]
fn the_week_merged_from_daily_parts_equals_the_week_read_again() {
    let objects = synthetic_week::objects();
    let (merged, fresh) = (summariser_over(&objects), summariser_over(&objects));
    let weekly = json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF});
    let run = |s: &AccessSummary<MemStore, MemSink>, event: &Value| {
        let mut metrics = Metrics::default();
        let written = block_on(s.handle(event, &mut metrics)).unwrap();
        (serde_json::to_value(&written.summary).unwrap(), metrics.get("SummaryDaysMerged"))
    };
    for day in 9..=15 {
        run(
            &merged,
            &json!({"kind": "daily", "period": format!("2026-11-{day:02}"), "as_of": AS_OF}),
        );
    }
    let (from_parts, days_merged) = run(&merged, &weekly);
    let (read_again, none_merged) = run(&fresh, &weekly);
    assert_eq!(none_merged, Some(0.0), "no daily parts: every day read");
    let days_merged = days_merged.unwrap();
    assert!(days_merged >= 5.0, "most days merged: {days_merged}");
    assert!(days_merged < 7.0, "the day with a pending transcript is read again");
    assert_eq!(from_parts, read_again);

    // A report that arrives after the daily runs changes its day's listing: that day is read
    // again, and the week still equals reading everything.
    let late = synthetic_week::late_report();
    for s in [&merged, &fresh] {
        block_on(async {
            use session_audit::ports::store::{Attributes, AuditStore, Condition, Payload};
            let json = Attributes::of("application/json");
            let put =
                s.store.put(&late.0, Payload::Bytes(late.1.clone()), &json, &Condition::Always);
            put.await.unwrap();
        });
    }
    let (from_parts, fewer) = run(&merged, &weekly);
    let (read_again, _) = run(&fresh, &weekly);
    assert_eq!(fewer, Some(days_merged - 1.0), "the changed day is read again");
    assert_eq!(from_parts, read_again);
}

/// The session report over memory, for the bucket named `bucket`, run by the hub in
/// 123456789012/us-east-1 (the public fixtures' account and region).
pub fn reporter() -> SessionReport<MemStore, MemSink> {
    let get = |k: &str| match k {
        "AUDIT_BUCKET" => Some("bucket".to_string()),
        "ACCOUNT_ID" => Some("123456789012".to_string()),
        "AWS_REGION" => Some("us-east-1".to_string()),
        _ => None,
    };
    SessionReport {
        store: MemStore::default(),
        sink: MemSink::default(),
        log: session_audit::ports::session_log::NoLog,
        analyzer: Analyzer::default(),
        options: Variables(get).report_options().unwrap(),
    }
}

#[test]
fn session_report_over_memory_reports_once_per_transcript_version() {
    use session_audit::ports::store::{Attributes, AuditStore, Condition, Payload};
    use session_audit::report::{Report, Status};
    use session_audit::session_report::Outcome as Reported;

    let reporter = reporter();
    let key = "session-logs/alice-0123456789abcdef0.log";
    let transcript = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    let sha256 = session_audit::digest::sha256_hex(&transcript);
    let text = Attributes::of("text/plain");
    block_on(reporter.store.put(key, Payload::Bytes(transcript), &text, &Condition::Always))
        .unwrap();
    let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-24T10:00:00Z", "s3": {"bucket": {"name": "bucket"},
        "object": {"key": key, "size": 1, "eTag": "e", "versionId": "v1"}}}]});
    let out = block_on(reporter.handle(&event, &mut Metrics::default())).unwrap();
    let Reported::Reported { json_key, md_key, status, .. } = &out[0].outcome else {
        panic!("{out:?}")
    };
    assert_eq!(*status, Status::NonCompliant);
    let stored = block_on(reporter.store.get(json_key, None)).unwrap().unwrap();
    let report: Report = serde_json::from_slice(&stored.bytes).unwrap();
    assert_eq!(report.source.version_id.as_deref(), Some("v1"));
    assert_eq!(report.source.sha256, Some(sha256), "the hash the digests list for it");
    assert!(report.commands.iter().any(|c| c.command == "history -c"));
    let marker = block_on(reporter.store.head(md_key)).unwrap().unwrap();
    assert_eq!(marker.metadata.get("source-version").map(String::as_str), Some("v1"));
    let published = reporter.sink.details().len();
    assert_eq!(published, report.findings.len(), "every finding published (no record to carry)");

    // The same version again: nothing stored or published a second time.
    let again = block_on(reporter.handle(&event, &mut Metrics::default())).unwrap();
    assert!(matches!(again[0].outcome, Reported::Duplicate { .. }), "{again:?}");
    assert_eq!(reporter.sink.details().len(), published);

    // A second version later: reported beside the first, which the summary keeps counting;
    // the replacement is listed and its finding counted.
    let clean = std::fs::read(fixture("recorded/al2023_sh_narrow_wrap.log")).unwrap();
    block_on(reporter.store.put(key, Payload::Bytes(clean), &text, &Condition::Always)).unwrap();
    let v2 = event.to_string().replace("\"v1\"", "\"v2\"");
    let v2: Value = serde_json::from_str(&v2).unwrap();
    let out = block_on(reporter.handle(&v2, &mut Metrics::default())).unwrap();
    let Reported::Reported { json_key: beside, findings, .. } = &out[0].outcome else {
        panic!("{out:?}")
    };
    assert_ne!(beside, json_key);
    assert!(findings.contains(&"SA-TRN-REPLACED".to_string()));
    let still = block_on(reporter.store.get(json_key, None)).unwrap().unwrap();
    assert_eq!(still.bytes, stored.bytes, "the first report is kept");

    // A third version that CloudTrail says another instance wrote (and no StartSession was
    // seen): kept apart; the summary lists it, counts its finding, and still counts one session.
    let planted = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    block_on(reporter.store.put(key, Payload::Bytes(planted), &text, &Condition::Always)).unwrap();
    let mut v3: Value = serde_json::from_slice(
        &std::fs::read(fixture("public/eventbridge_cloudtrail_s3_PutObject_instance_role.json"))
            .unwrap(),
    )
    .unwrap();
    v3["detail"]["requestParameters"]["bucketName"] = "bucket".into();
    v3["detail"]["requestParameters"]["key"] = key.into();
    v3["detail"]["responseElements"]["x-amz-version-id"] = "v3".into();
    v3["detail"]["eventTime"] = "2026-11-24T10:30:00Z".into();
    let out = block_on(reporter.handle(&v3, &mut Metrics::default())).unwrap();
    let Reported::Reported { json_key: apart, findings, .. } = &out[0].outcome else {
        panic!("{out:?}")
    };
    assert!(apart.contains("/untrusted/"), "{apart}");
    assert!(findings.contains(&"SA-TRN-UNTRUSTED-UPLOAD".to_string()));

    use session_audit::access_summary::fold_day;
    use session_audit::summary::{Aggregator, Period};
    let day: jiff::civil::Date = "2026-11-24".parse().unwrap();
    let config = Variables(|_: &str| None)
        .summary_options()
        .unwrap()
        .config("2026-11-30T00:00:00Z".parse().unwrap());
    let mut agg = Aggregator::new(Period::daily(day), config, &RulePack::builtin());
    block_on(fold_day(&reporter.store, day, &mut agg, 4)).unwrap();
    // The recorded transcript ended on another day, so its session falls outside this one.
    let outside = agg.outside_period();
    let summary = agg.finish(None);
    assert_eq!(summary.sessions + outside, 1, "one session, from its first report");
    assert_eq!(summary.completeness.replaced.total, 1);
    assert_eq!(summary.completeness.untrusted.total, 1);
    assert_eq!(summary.corrupt.total, 0, "the reports beside are not unknown keys");
    let counted = |rule: &str| summary.findings.iter().find(|f| f.rule_id == rule).map(|f| f.count);
    assert_eq!(counted("SA-TRN-REPLACED"), Some(1));
    assert_eq!(counted("SA-TRN-UNTRUSTED-UPLOAD"), Some(1));
}

/// A session that streamed but whose transcript never came: after the grace period the
/// scheduled sweep reports it from its stream, the summary counts it as "stream only" (not
/// missing), and a transcript arriving later takes the report's place (not SA-TRN-REPLACED).
#[test]
fn a_streamed_session_without_a_transcript_is_reported_from_its_stream() {
    use session_audit::access_summary::fold_day;
    use session_audit::live::{LiveState, LogEvent};
    use session_audit::ports::session_log::MemLog;
    use session_audit::ports::store::{put_json, Attributes, AuditStore, Condition, Payload};
    use session_audit::report::Report;
    use session_audit::session_report::Outcome as Reported;
    use session_audit::summary::{Aggregator, Period};
    use session_audit::transcript::agent_stream::{message, ticks_of_recording, StreamedSession};

    let session = "eve-0123456789abcdef0";
    let get =
        |k: &str| (k == "AUDIT_BUCKET").then(|| "bucket".to_string()).or_else(|| home_setting(k));
    let reporter = SessionReport {
        store: MemStore::default(),
        sink: MemSink::default(),
        log: MemLog { page_size: 3, ..MemLog::default() },
        analyzer: Analyzer::default(),
        options: Variables(get).report_options().unwrap(),
    };
    let transcript = std::fs::read(fixture("recorded/al2023_sh_risky.log")).unwrap();
    let who = StreamedSession {
        session_id: session,
        target: "i-0123456789abcdef0",
        user_arn: "arn:aws:sts::123456789012:assumed-role/Admin/eve",
        run_as: "ssm-user",
        region: "us-east-1",
    };
    let events: Vec<LogEvent> = ticks_of_recording(&transcript, |_| 2)
        .iter()
        .enumerate()
        .map(|(i, lines)| LogEvent {
            id: i.to_string(),
            // CloudWatch's timestamp: the session's own second (the report reads the stream
            // inside the session's window only).
            timestamp: 1_795_510_800_000 + i as i64 * 1000,
            message: message(&who, &format!("2026-11-24T09:00:{i:02}Z"), lines),
        })
        .collect();
    reporter.log.streams.lock().unwrap().insert(session.into(), events.clone());
    let mut record = SessionRecord::start(&{
        let mut v = start_event();
        v["detail"]["responseElements"]["sessionId"] = json!(session);
        v["detail"]["eventTime"] = json!("2026-11-24T09:00:00Z");
        let (account, r) = session_audit::session::records(&v).into_iter().next().unwrap();
        Event::parse(r, account).unwrap()
    })
    .unwrap();
    record.findings.clear();
    let store = &reporter.store;
    block_on(put_json(store, &record.key().unwrap(), &record, &Condition::Always)).unwrap();
    let state = LiveState {
        session_id: session.into(),
        first_event_time: Some("2026-11-24T09:00:00Z".into()),
        last_event_time: Some(format!("2026-11-24T09:00:{:02}Z", events.len() - 1)),
        ..LiveState::default()
    };
    let state_key = keys::live_state(&session_audit_tests::local_session(session));
    block_on(put_json(store, &state_key, &state, &Condition::Always)).unwrap();
    let sweep = |as_of: &str| {
        let event = json!({"kind": "stream-reports", "as_of": as_of});
        block_on(reporter.handle(&event, &mut Metrics::default())).unwrap()
    };

    // Within the grace period (120 min): nothing yet.
    let early = sweep("2026-11-24T10:30:00Z");
    assert!(matches!(&early[0].outcome, Reported::Ignored { .. }), "{early:?}");
    let json_key =
        keys::report("2026-11-24", &session_audit_tests::local_session(session), "json").unwrap();
    assert!(block_on(store.get(&json_key, None)).unwrap().is_none());

    let swept = sweep("2026-11-24T11:30:00Z");
    let Reported::Reported { findings, .. } = &swept[0].outcome else { panic!("{swept:?}") };
    assert!(findings.contains(&"SA-CMD-040".to_string()), "{findings:?}");
    let report: Report =
        serde_json::from_slice(&block_on(store.get(&json_key, None)).unwrap().unwrap().bytes)
            .unwrap();
    assert_eq!(report.source.log_stream.as_deref(), Some(session));
    assert_eq!(report.source.key, None);
    assert!(report
        .status_reason
        .as_deref()
        .unwrap()
        .contains("reported from the CloudWatch stream"));
    assert!(
        report.commands.iter().any(|c| c.command.contains("install.sh")),
        "{:?}",
        report.commands
    );
    let published = reporter.sink.details();
    assert!(!published.is_empty() && published.iter().all(|d| d["stage"] == "report"));
    // Swept again: the report exists.
    let again = sweep("2026-11-24T12:30:00Z");
    assert!(matches!(&again[0].outcome, Reported::Duplicate { .. }), "{again:?}");

    let day: jiff::civil::Date = "2026-11-24".parse().unwrap();
    let summarise = || {
        let config = Variables(|_: &str| None)
            .summary_options()
            .unwrap()
            .config("2026-11-30T00:00:00Z".parse().unwrap());
        let mut agg = Aggregator::new(Period::daily(day), config, &RulePack::builtin());
        block_on(fold_day(store, day, &mut agg, 4)).unwrap();
        agg.finish(None)
    };
    let summary = summarise();
    assert_eq!(summary.completeness.stream_only.total, 1, "{:?}", summary.completeness);
    assert_eq!(summary.completeness.missing.total, 0);
    assert_eq!(summary.completeness.counts.get(&Coverage::StreamOnly), Some(&1));

    // The transcript arrives after all: its report replaces the stream's.
    let key = format!("session-logs/{session}.log");
    let text = Attributes::of("text/plain");
    block_on(store.put(&key, Payload::Bytes(transcript), &text, &Condition::Always)).unwrap();
    let upload = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-11-24T13:00:00Z", "s3": {"bucket": {"name": "bucket"},
        "object": {"key": key, "size": 1, "eTag": "e", "versionId": "v1"}}}]});
    let out = block_on(reporter.handle(&upload, &mut Metrics::default())).unwrap();
    let Reported::Reported { json_key: k, findings, .. } = &out[0].outcome else {
        panic!("{out:?}")
    };
    assert_eq!(k, &json_key);
    assert!(!findings.contains(&"SA-TRN-REPLACED".to_string()), "{findings:?}");
    let report: Report =
        serde_json::from_slice(&block_on(store.get(&json_key, None)).unwrap().unwrap().bytes)
            .unwrap();
    assert_eq!(report.source.key.as_deref(), Some(key.as_str()));
    assert!(report.commands.iter().all(|c| c.time.is_some()), "timed by the stream");
    assert_eq!(summarise().completeness.stream_only.total, 0);
}

/// A GuardDuty finding correlated during the week (by the guardduty-correlation use case, over
/// the same store) is listed in the week's summary with the session it names, in the JSON and
/// the Markdown, and the week merged from daily parts still equals the week read again.
#[test]
fn a_guardduty_correlation_of_the_week_is_in_its_summary() {
    use session_audit::guardduty_correlation::{CorrelationOptions, GuardDutyCorrelation};
    use session_audit::ports::store::AuditStore;
    let instance = "i-0123456789abcdef0";
    let erin = synthetic_week::record(
        "s-erin-1",
        "erin",
        instance,
        "2026-11-13T10:00:00Z",
        Some("2026-11-13T10:40:00Z"),
        "SSM-SessionManagerRunShell",
    );
    let mut objects = synthetic_week::objects();
    objects.push((erin.key().unwrap(), serde_json::to_vec(&erin).unwrap()));
    let text = std::fs::read_to_string(fixture("guardduty/ec2-finding.json")).unwrap();
    let mut finding: Value = serde_json::from_str(&text).unwrap();
    finding["detail"]["accountId"] = json!("111122223333");
    finding["detail"]["resource"]["instanceDetails"]["instanceId"] = json!(instance);
    finding["detail"]["service"]["eventFirstSeen"] = json!("2026-11-13T10:20:00Z");
    finding["detail"]["service"]["eventLastSeen"] = json!("2026-11-13T10:21:00Z");
    // Correlated over the week's records, then filed with the week's other objects.
    let correlate = GuardDutyCorrelation {
        store: summariser_over(&objects).store,
        sink: MemSink::default(),
        pack: RulePack::builtin(),
        options: CorrelationOptions {
            margin: jiff::SignedDuration::from_mins(60),
            longest_session: jiff::SignedDuration::from_mins(480),
            account: None,
        },
    };
    let out = block_on(correlate.handle(&finding, AS_OF.parse().unwrap())).unwrap();
    assert_eq!(out.sessions, ["s-erin-1"]);
    let filed = block_on(correlate.store.get(&out.key, None)).unwrap().unwrap();
    objects.push((out.key.clone(), filed.bytes));
    let (merged, fresh) = (summariser_over(&objects), summariser_over(&objects));
    let weekly = json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF});
    let run = |s: &AccessSummary<MemStore, MemSink>, event: &Value| {
        block_on(s.handle(event, &mut Metrics::default())).unwrap()
    };
    for day in 9..=15 {
        run(
            &merged,
            &json!({"kind": "daily", "period": format!("2026-11-{day:02}"), "as_of": AS_OF}),
        );
    }
    let (from_parts, read_again) = (run(&merged, &weekly), run(&fresh, &weekly));
    let listed = &read_again.summary.guardduty;
    assert_eq!(listed.total, 1);
    let t = &listed.items[0];
    assert_eq!((t.instance.as_str(), t.severity), (instance, session_audit::Severity::High));
    assert_eq!(t.sessions, ["erin (s-erin-1, open)"]);
    let md = session_audit::summary::markdown::render(&read_again.summary);
    assert!(md.contains("## GuardDuty findings on instances (1)"), "{md}");
    assert!(md.contains(r"erin \(s-erin-1, open\)"), "{md}");
    assert_eq!(
        serde_json::to_value(&from_parts.summary).unwrap(),
        serde_json::to_value(&read_again.summary).unwrap()
    );
}

/// A spoke's preferences change as its rule forwards it (the real StartSession record, with the
/// call CloudTrail writes for a preferences change): in eu-west-1 of 444455556666, on 2021-01-31.
fn preferences_change(id: &str, bucket: &str, by_stack: bool) -> Value {
    let mut event = start_event();
    event["account"] = "444455556666".into();
    let d = &mut event["detail"];
    d["eventName"] = "UpdateDocument".into();
    d["eventID"] = id.into();
    d["awsRegion"] = "eu-west-1".into();
    d["recipientAccountId"] = "444455556666".into();
    if by_stack {
        d["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com".into();
    }
    let content = json!({"inputs": {"s3BucketName": bucket, "s3EncryptionEnabled": true,
        "s3KeyPrefix": "session-logs/444455556666/eu-west-1", "cloudWatchLogGroupName": "g",
        "cloudWatchEncryptionEnabled": true, "cloudWatchStreamingEnabled": true}});
    d["requestParameters"] =
        json!({"name": "SSM-SessionManagerRunShell", "content": content.to_string()});
    d["responseElements"] = Value::Null;
    event
}

/// A spoke's preferences moved to another bucket: filed once under its place, published once
/// under it, and named in the day's summary beside the change its StackSet made.
#[test]
fn a_spokes_preferences_drift_is_filed_and_published_once_and_named_in_the_summary() {
    let audit = audit();
    let mut metrics = Metrics::default();
    let drift = preferences_change("00000000-0000-4000-8000-0000000000c1", "elsewhere", false);
    let first = block_on(audit.handle_delivered(&drift, &mut metrics)).unwrap();
    let Outcome::Recorded { key } = &first[0].outcome else { panic!("{first:?}") };
    assert_eq!(
        key,
        "audit/preferences/dt=2021-01-31/acct=444455556666/region=eu-west-1/\
         00000000-0000-4000-8000-0000000000c1.json"
    );
    assert_eq!(first[0].findings, ["SA-SES-PREFERENCES-DRIFT"]);
    let published = audit.sink.details();
    assert_eq!(published.len(), 1);
    let finding = &published[0];
    assert_eq!(
        finding["finding_id"],
        "00000000-0000-4000-8000-0000000000c1:SA-SES-PREFERENCES-DRIFT"
    );
    assert_eq!(
        (&finding["account"], &finding["region"]),
        (&json!("444455556666"), &json!("eu-west-1"))
    );
    assert!(finding["evidence"].as_str().unwrap().contains("'elsewhere'"), "{finding}");
    let again = block_on(audit.handle_delivered(&drift, &mut metrics)).unwrap();
    assert_eq!(again[0].outcome, Outcome::Duplicate { key: key.clone() });
    assert_eq!(audit.sink.details().len(), 1, "published once");

    let stack = preferences_change("00000000-0000-4000-8000-0000000000c2", "bucket", true);
    let ok = block_on(audit.handle_delivered(&stack, &mut metrics)).unwrap();
    assert!(ok[0].findings.is_empty(), "{ok:?}");
    let mut forged = stack.clone();
    forged["detail"]["eventID"] = "not-cloudtrails".into();
    assert!(block_on(audit.handle_delivered(&forged, &mut metrics)).is_err());

    let summary = summariser_over(&audit.store.snapshot());
    let day = json!({"kind": "daily", "period": "2021-01-31", "as_of": "2021-02-02T00:00:00Z"});
    let out = block_on(summary.handle(&day, &mut Metrics::default())).unwrap();
    let listed = &out.summary.preferences;
    assert_eq!(listed.total, 2);
    let verdicts: Vec<(&str, &str)> =
        listed.items.iter().map(|p| (p.place.as_str(), p.verdict.as_str())).collect();
    assert!(verdicts.contains(&("444455556666/eu-west-1", "drifted")), "{verdicts:?}");
    assert!(verdicts.contains(&("444455556666/eu-west-1", "conforms")), "{verdicts:?}");
    let md = session_audit::summary::markdown::render(&out.summary);
    assert!(md.contains("## Session Manager preferences changed (2, 1 drifted)"), "{md}");
    let html = session_audit::summary::html::render(&out.summary);
    assert!(html.contains("Session Manager preferences changed (2)"), "{html}");
}
