//! The access-summary function against the emulator: a synthetic week (tests/src/
//! synthetic_week.rs) written into the bucket, summarised, and every number checked against
//! values worked out by hand from the week's table.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use session_audit::access_summary::SummaryError;
use session_audit::publish::Metrics;
use session_audit::rules::RulePack;
use session_audit::settings::SummarySettings;
use session_audit::summary::{Coverage, Summary};
use session_audit_aws::access_summary::{access_summary, AwsAccessSummary};
use session_audit_aws::Clients;
use session_audit_tests::findings_capture::{
    captured_findings, route_findings_to_log, security_hub_findings, SECURITY_HUB_PRODUCT,
};
use session_audit_tests::local_aws::LocalAws;
use session_audit_tests::runtime_api::{
    deployed_env, emulator_env, function_binary, LambdaProcess,
};
use session_audit_tests::synthetic_week::{self, AS_OF, BUSINESS_HOURS, WEEK};
use session_audit_tests::{check_doc_block, demote_headings, doc_path, updating_doc_examples};

const BUCKET: &str = "audit-bucket";

struct Env {
    aws: LocalAws,
    config: aws_config::SdkConfig,
    clients: Clients,
}

impl Env {
    async fn start() -> Env {
        let aws = LocalAws::start();
        let config = aws.sdk_config().await;
        let clients = Clients::with_path_style(&config, true);
        clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        Env { aws, config, clients }
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        let put = self.clients.s3.put_object().bucket(BUCKET).key(key);
        put.body(ByteStream::from(body)).send().await.unwrap();
    }

    async fn week(&self) {
        for (key, body) in synthetic_week::objects() {
            self.put(&key, body).await;
        }
    }

    async fn get(&self, key: &str) -> Option<(Vec<u8>, String)> {
        let out = self.clients.s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
        let content_type = out.content_type().unwrap_or_default().to_string();
        Some((out.body.collect().await.unwrap().into_bytes().to_vec(), content_type))
    }

    fn summarizer(&self, extra: &[(&str, &str)]) -> AwsAccessSummary {
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        vars.insert("AUDIT_BUCKET", BUCKET.into());
        vars.insert("BUSINESS_HOURS", BUSINESS_HOURS.into());
        for (k, v) in extra {
            vars.insert(k, v.to_string());
        }
        let get = |k: &str| vars.get(k).cloned();
        let settings = SummarySettings::read(get).unwrap();
        let environment: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.clone())).collect();
        let clients = self.aws.clients_as(&self.config, "AccessSummaryFunction", &environment, &[]);
        access_summary(&clients, settings, RulePack::builtin())
    }
}

fn count(list: &[session_audit::summary::Count], name: &str) -> u64 {
    list.iter().find(|c| c.name == name).map_or(0, |c| c.count)
}

/// A minimal well-formedness check: every tag closes in order (void elements aside), and
/// nothing is loaded from elsewhere.
fn assert_well_formed_html(html: &str) {
    const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link"];
    assert!(html.starts_with("<!DOCTYPE html>"));
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("tag closes");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name: String =
            tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if tag.starts_with('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.as_str()),
                "</{name}> closes the wrong tag"
            );
        } else if !self_closing && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    for external in ["src=", "href=", "<script", "@import", "url("] {
        assert!(!html.contains(external), "self-contained: found {external}");
    }
}

#[tokio::test]
async fn a_synthetic_week_gives_the_hand_computed_numbers() {
    let env = Env::start().await;
    env.week().await;
    let (key, body) = synthetic_week::baseline();
    env.put(&key, body).await;
    route_findings_to_log(&env.clients).await;
    let summarizer = env.summarizer(&[("SUMMARY_CONCURRENCY", "4")]);
    let mut metrics = Metrics::default();
    let event = json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF});
    env.aws.take_max_in_flight();
    let written = summarizer.handle(&event, &mut metrics).await.unwrap();
    let in_flight = env.aws.take_max_in_flight();
    assert!(
        (2..=4 + 1).contains(&in_flight),
        "reads overlap, at most 4 (+1 list) in flight: {in_flight}"
    );
    let s = &written.summary;

    assert_eq!(written.json_key, "audit/summaries/weekly/2026-W46.json");
    assert_eq!((s.from.as_str(), s.to.as_str()), ("2026-11-09", "2026-11-15"));
    assert_eq!(s.sessions, 9, "the record on 16 November is outside the week");
    assert_eq!((s.people, s.instances), (4, 4));
    assert!(!s.empty);
    // Headline: 8 sessions with command access (all but port forwarding), s-carol-2 pending;
    // of the other 7, four have a full transcript.
    assert_eq!(s.headline.privileged_sessions, 7);
    assert_eq!(s.headline.with_full_transcript, 4);
    assert_eq!(s.headline.pending, 1);
    assert_eq!(s.headline.percent_full_transcript, Some(57.1));

    let c = &s.completeness;
    let expected = [
        (Coverage::TranscriptOk, 4),
        (Coverage::Truncated, 1),
        (Coverage::Unparseable, 0),
        (Coverage::StreamOnly, 0),
        (Coverage::Missing, 1),
        (Coverage::Pending, 1),
        (Coverage::UnloggedByDesign, 2),
    ];
    assert_eq!(c.counts, expected.into_iter().collect());
    assert_eq!(c.missing.items[0].session_id, "s-bob-2");
    assert_eq!(c.truncated.items[0].session_id, "s-bob-1");
    assert_eq!(c.pending.items[0].session_id, "s-carol-2");
    let unlogged: Vec<&str> =
        c.unlogged_by_design.items.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(unlogged, ["s-bob-3", "s-carol-1"]);
    assert_eq!(c.transcripts_without_record.total, 1);
    assert_eq!(c.transcripts_without_record.items[0].session_id, "s-ghost-1");
    assert_eq!(
        c.transcripts_without_record.items[0].detail.as_deref(),
        Some("session-logs/s-ghost-1.log")
    );

    assert_eq!(count(&s.by_person, "alice@example.com"), 3);
    assert_eq!(count(&s.by_person, "bob"), 3);
    assert_eq!(count(&s.by_person, "ops/carol"), 2);
    assert_eq!(count(&s.by_person, "(no start record)"), 1);
    assert_eq!(count(&s.by_instance, "i-aaa"), 3);
    assert_eq!(count(&s.by_instance, "i-bbb"), 2);
    assert_eq!(count(&s.by_instance, "i-ccc"), 3);
    assert_eq!(s.by_pair[0].count, 2, "alice on i-aaa twice: {:?}", s.by_pair);
    assert_eq!(
        (s.by_pair[0].person.as_str(), s.by_pair[0].instance.as_str()),
        ("alice@example.com", "i-aaa")
    );
    assert_eq!(s.by_pair.len(), 7);
    // Baseline W45 knew alice on i-aaa: the other six pairs are new.
    assert_eq!(s.new_pairs.baseline.as_deref(), Some("2026-W45"));
    assert_eq!(s.new_pairs.pairs.len(), 6);
    assert!(!s
        .new_pairs
        .pairs
        .iter()
        .any(|p| p.person == "alice@example.com" && p.instance == "i-aaa"));
    assert_eq!(s.known_pairs.len(), 7);

    // Berlin time: Mon 00:30 and 00:50 (the Sunday-night UTC sessions), Mon 10, Tue 14,
    // Wed 21, Thu 08, Fri 13, Sat 11.
    let heat = &s.heat_map.counts;
    assert_eq!(s.heat_map.time_zone, "Europe/Berlin");
    assert_eq!(heat[0][0], 2);
    for (day, hour) in [(0, 10), (1, 14), (2, 21), (3, 8), (4, 13), (5, 11)] {
        assert_eq!(heat[day][hour], 1, "weekday {day} hour {hour}");
    }
    assert_eq!(heat.iter().flatten().sum::<u64>(), 8, "s-ghost-1 has no known start");
    assert_eq!(s.off_hours.sessions, 4);
    assert_eq!(s.off_hours.share, Some(0.5));
    // Durations 5, 10, 30, 30, 60 minutes.
    assert_eq!(s.durations.measured, 5);
    assert_eq!(s.durations.median_minutes, Some(30));
    assert_eq!(s.durations.p95_minutes, Some(60));
    assert_eq!(s.durations.longest_minutes, Some(60));
    assert_eq!(s.durations.longest.as_ref().unwrap().session_id, "s-alice-2");

    assert_eq!(s.denied.attempts, 3);
    assert_eq!(count(&s.denied.by_person, "dave"), 2);
    assert_eq!(count(&s.denied.by_person, "alice@example.com"), 1);
    assert_eq!(count(&s.denied.by_reason, "AccessDenied"), 2);
    assert_eq!(count(&s.denied.by_reason, "TargetNotConnected"), 1);

    // ls, df -h, sudo cat /etc/shadow, ls, ls, uptime, whoami — plus each transcript's exit.
    assert_eq!(s.commands.top[0].name, "exit");
    assert_eq!(count(&s.commands.top, "ls"), 3);
    assert_eq!(count(&s.commands.top, "sudo cat /etc/shadow"), 1);
    assert_eq!(s.commands.total, 7 + 5);
    assert_eq!(s.commands.privileged, 1);
    assert!(!s.commands.approximate);
    let finding = |id: &str| s.findings.iter().find(|f| f.rule_id == id).map_or(0, |f| f.count);
    assert_eq!(finding("SA-SES-TRANSCRIPT-MISSING"), 1);
    assert_eq!(finding("SA-SES-NO-START-RECORD"), 1);
    assert_eq!(finding("SA-SES-TRUNCATED"), 1);
    assert_eq!(finding("SA-CMD-010"), 1);
    assert!(s.findings.windows(2).all(|w| w[0].severity >= w[1].severity), "worst first");

    assert_eq!(count(&s.documents, "SSM-SessionManagerRunShell (Standard_Stream)"), 6);
    assert_eq!(count(&s.documents, "AWS-StartPortForwardingSession"), 1);
    assert_eq!(count(&s.documents, "AWS-StartSSHSession"), 1);
    assert_eq!(s.corrupt.total, 1);
    assert!(s.corrupt.items[0].source.ends_with("dt=2026-11-11/s-broken.json"));

    // Stored: the JSON is the returned summary; Markdown and HTML beside it.
    let (json_body, json_type) = env.get(&written.json_key).await.unwrap();
    assert_eq!(serde_json::from_slice::<Summary>(&json_body).unwrap(), *s);
    assert_eq!(json_type, "application/json");
    let (md, md_type) = env.get(&written.md_key).await.unwrap();
    assert!(md_type.starts_with("text/markdown"));
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("**57.1% of privileged access has a full transcript (4 of 7 sessions); 1 still within the grace period**"), "{md}");
    let (html, html_type) = env.get(&written.html_key).await.unwrap();
    assert!(html_type.starts_with("text/html"));
    let html = String::from_utf8(html).unwrap();
    assert_well_formed_html(&html);
    for chart in [
        "Transcript coverage",
        "Session starts by weekday and hour",
        "Sessions by person",
        "Sessions by instance",
        "Findings by rule",
    ] {
        assert!(html.contains(&format!("aria-label=\"{chart}\"")), "{chart} chart");
    }
    assert!(html.find("<svg").unwrap() < html.find("<table").unwrap(), "charts before tables");

    assert!(captured_findings(&env.aws).await.is_empty(), "the weekly run publishes nothing");
    assert_eq!(metrics.get("PrivilegedFullTranscriptPercent"), Some(57.1));
    assert_eq!(metrics.get("TranscriptsMissing"), Some(1.0));
    assert_eq!(metrics.get("UnreadableInputs"), Some(1.0));
    assert!(metrics
        .emf_line("access-summary", 0)
        .contains(r#"{"Name":"PrivilegedFullTranscriptPercent","Unit":"Percent"}"#));

    // docs/example-summary.md shows this summary.
    check_doc_block("example-summary.md", "example-summary", &demote_headings(&md));
    if updating_doc_examples() {
        std::fs::write(doc_path("example-summary.html"), &html).unwrap();
    }
}

#[tokio::test]
async fn daily_runs_chain_baselines_and_empty_days_say_so() {
    let env = Env::start().await;
    env.week().await;
    let summarizer = env.summarizer(&[]);
    let mut metrics = Metrics::default();
    let run = |period: &str| json!({"kind": "daily", "period": period, "as_of": AS_OF});
    let monday = summarizer.handle(&run("2026-11-09"), &mut metrics).await.unwrap().summary;
    assert_eq!(monday.sessions, 1);
    assert_eq!(monday.new_pairs.baseline, None, "no summary for Sunday 8th");
    assert_eq!(monday.new_pairs.pairs.len(), 1);
    let tuesday = summarizer.handle(&run("2026-11-10"), &mut metrics).await.unwrap().summary;
    assert_eq!(tuesday.new_pairs.baseline.as_deref(), Some("2026-11-09"));
    assert!(tuesday.new_pairs.pairs.is_empty(), "alice on i-aaa was seen on Monday");
    assert_eq!(tuesday.known_pairs.len(), 1);

    // Saturday: s-bob-2's transcript is missing; the daily run publishes it as a finding event.
    route_findings_to_log(&env.clients).await;
    let saturday = summarizer.handle(&run("2026-11-14"), &mut metrics).await.unwrap().summary;
    assert_eq!(saturday.completeness.missing.total, 1);
    let events = captured_findings(&env.aws).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["finding_id"], "111122223333/eu-central-1/s-bob-2:SA-SES-TRANSCRIPT-MISSING");
    assert_eq!(e["severity"], "high");
    assert_eq!(e["principal"], "bob");
    assert_eq!(e["target"], "i-ccc");
    assert_eq!(e["record"], "s3://audit-bucket/audit/sessions/dt=2026-11-14/acct=111122223333/region=eu-central-1/s-bob-2.json");
    assert!(
        e["evidence"].as_str().unwrap().contains("no transcript 120 min after termination"),
        "{e}"
    );
    assert_eq!(metrics.get("FindingsHigh"), Some(1.0));

    // A report that does not parse is listed as unreadable; its session still counts from the
    // record.
    env.put("audit/reports/dt=2026-11-13/s-bob-3.json", b"{\"schema\": 7".to_vec()).await;
    let friday = summarizer.handle(&run("2026-11-13"), &mut metrics).await.unwrap().summary;
    assert_eq!(friday.sessions, 1);
    assert_eq!(friday.completeness.unlogged_by_design.total, 1);
    assert_eq!(friday.corrupt.total, 1);
    assert!(friday.corrupt.items[0].source.ends_with("audit/reports/dt=2026-11-13/s-bob-3.json"));

    let empty = summarizer.handle(&run("2026-10-01"), &mut metrics).await.unwrap();
    assert!(empty.summary.empty);
    assert_eq!(empty.summary.sessions, 0);
    assert_eq!(empty.summary.headline.percent_full_transcript, None);
    let md = String::from_utf8(env.get(&empty.md_key).await.unwrap().0).unwrap();
    assert!(md.contains("Empty period"), "{md}");
    assert_well_formed_html(&String::from_utf8(env.get(&empty.html_key).await.unwrap().0).unwrap());

    // Without a period: the last complete day before as_of.
    let latest =
        summarizer.handle(&json!({"kind": "daily", "as_of": AS_OF}), &mut metrics).await.unwrap();
    assert_eq!(latest.json_key, "audit/summaries/daily/2026-11-15.json");
    assert_eq!(latest.summary.sessions, 2);

    for bad in [
        json!({}),
        json!({"kind": "hourly"}),
        json!({"kind": "weekly", "period": "2026-11-09"}),
        json!({"kind": "daily", "as_of": "soon"}),
    ] {
        let err = summarizer.handle(&bad, &mut metrics).await.unwrap_err();
        assert!(matches!(err, SummaryError::Malformed(_)), "{bad}: {err}");
    }
    env.aws.fail_on("ListObjectsV2");
    let err = summarizer.handle(&run("2026-11-11"), &mut metrics).await.unwrap_err();
    assert!(err.to_string().contains("InjectedFailure"), "{err}");
    env.aws.heal();
    assert!(
        env.get("audit/summaries/daily/2026-11-11.json").await.is_none(),
        "nothing half-written"
    );
}

#[tokio::test]
async fn the_real_binary_summarises_through_the_lambda_runtime_api() {
    let env = Env::start().await;
    env.week().await;
    let mut vars = emulator_env(&env.aws);
    vars.push(("AUDIT_BUCKET", BUCKET.to_string()));
    vars.push(("BUSINESS_HOURS", BUSINESS_HOURS.to_string()));
    let mut function = LambdaProcess::start(
        &function_binary("access-summary"),
        &deployed_env(&env.aws, "AccessSummaryFunction", vars.clone(), &[]),
    );
    let answer = function
        .invoke(&json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF}))
        .expect("handled");
    assert_eq!(answer["sessions"], 9, "{answer}");
    assert_eq!(answer["percent_full_transcript"], 57.1);
    assert!(env.get("audit/summaries/weekly/2026-W46.html").await.is_some());
    let err = function.invoke(&json!({"detail-type": "Scheduled Event"})).unwrap_err();
    assert!(err.to_string().contains("set the schedule's Input"), "{err}");
    let emf: Vec<Value> = function
        .output()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 2);
    assert_eq!(emf[0]["SummarySessions"], 9.0);

    let mut bad = vars.clone();
    bad.push(("TRANSCRIPT_GRACE_MINUTES", "two hours".into()));
    let mut broken = LambdaProcess::start(&function_binary("access-summary"), &bad);
    assert!(broken.exit_status(std::time::Duration::from_secs(20)).is_some_and(|s| !s.success()));
    assert!(broken.output().join("\n").contains("TRANSCRIPT_GRACE_MINUTES"));
}

/// `session-audit summarize` over the same objects on disk gives the function's numbers.
#[tokio::test]
async fn the_cli_summarises_the_same_week_offline() {
    let env = Env::start().await;
    env.week().await;
    let (baseline_key, baseline) = synthetic_week::baseline();
    env.put(&baseline_key, baseline.clone()).await;
    let event = json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF});
    let stored = env.summarizer(&[]).handle(&event, &mut Metrics::default()).await.unwrap().summary;

    let dir = std::env::temp_dir().join(format!("summarize-week-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (key, body) in synthetic_week::objects() {
        let path = dir.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    std::fs::write(dir.join("baseline.json"), baseline).unwrap();
    let html = dir.join("week.html");
    let out = std::process::Command::new(function_binary("session-audit"))
        .args(["summarize", "--format", "json", "--from", "2026-11-09", "--to", "2026-11-15"])
        .args(["--as-of", AS_OF, "--business-hours", BUSINESS_HOURS])
        .arg("--baseline")
        .arg(dir.join("baseline.json"))
        .arg("--html")
        .arg(&html)
        .arg(dir.join("audit"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 input(s) outside 2026-11-09..2026-11-15 left out"), "{stderr}");
    let offline: Summary = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(offline.period, "2026-11-09..2026-11-15");
    let same = |s: &Summary| {
        let mut v = serde_json::to_value(s).unwrap();
        let o = v.as_object_mut().unwrap();
        for varies in ["kind", "period", "corrupt"] {
            o.remove(varies);
        }
        v
    };
    assert_eq!(same(&offline), same(&stored));
    assert_eq!(offline.corrupt.total, 1);
    assert!(offline.corrupt.items[0].source.ends_with("s-broken.json"));
    assert_well_formed_html(&std::fs::read_to_string(&html).unwrap());

    let bad = std::process::Command::new(function_binary("session-audit"))
        .args(["summarize", "--from", "2026-11-15", "--to", "2026-11-09"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("before --from"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn missing_transcript_findings_go_out_ten_per_put_events() {
    let env = Env::start().await;
    route_findings_to_log(&env.clients).await;
    for n in 0..12 {
        let id = format!("s-gone-{n:02}");
        let r = synthetic_week::record(
            &id,
            "bob",
            "i-ccc",
            "2026-11-10T09:00:00Z",
            Some("2026-11-10T09:30:00Z"),
            "SSM-SessionManagerRunShell",
        );
        env.put(&r.key().unwrap(), serde_json::to_vec(&r).unwrap()).await;
    }
    // With SecurityHub=Enabled: the same findings imported, one request for the twelve.
    let summarizer = env.summarizer(&[("SECURITY_HUB_PRODUCT", SECURITY_HUB_PRODUCT)]);
    let before = env.aws.operations().iter().filter(|o| *o == "PutEvents").count();
    let event = json!({"kind": "daily", "period": "2026-11-10", "as_of": AS_OF});
    let written = summarizer.handle(&event, &mut Metrics::default()).await.unwrap();
    assert_eq!(written.summary.completeness.counts.get(&Coverage::Missing), Some(&12));
    let calls = env.aws.operations().iter().filter(|o| *o == "PutEvents").count() - before;
    assert_eq!(calls, 2, "12 findings in two PutEvents calls");
    let published = captured_findings(&env.aws).await;
    assert_eq!(published.len(), 12, "every one published");
    let imports = env.aws.operations().iter().filter(|o| *o == "BatchImportFindings").count();
    assert_eq!(imports, 1, "12 findings in one BatchImportFindings call");
    let hub = security_hub_findings(&env.aws).await;
    let mut ids: Vec<&str> = hub.iter().map(|f| f["Id"].as_str().unwrap()).collect();
    let mut sent: Vec<&str> = published.iter().map(|f| f["finding_id"].as_str().unwrap()).collect();
    ids.sort();
    sent.sort();
    assert_eq!(ids, sent, "each event's finding in Security Hub, once");
    assert!(hub.iter().all(|f| f["GeneratorId"] == "SA-SES-TRANSCRIPT-MISSING"));
    assert!(hub.iter().all(|f| f["ProductFields"]["session-audit/stage"] == "summary"));
}

/// At scale a week is about 1.4 million GETs if every object is read again; the weekly run
/// reads each day's part instead (listing the day to see that nothing changed) and folds only
/// the days that are not final. Counted against the emulator.
#[tokio::test]
async fn the_weekly_run_reads_the_daily_parts_not_every_object() {
    let gets = |aws: &LocalAws| aws.operations().iter().filter(|o| *o == "GetObject").count();
    let weekly = json!({"kind": "weekly", "period": WEEK, "as_of": AS_OF});

    let env = Env::start().await;
    env.week().await;
    let before = gets(&env.aws);
    let folded = env.summarizer(&[]).handle(&weekly, &mut Metrics::default()).await.unwrap();
    let reading_everything = gets(&env.aws) - before;

    let env = Env::start().await;
    env.week().await;
    let summarizer = env.summarizer(&[]);
    for day in 9..=15 {
        let daily = json!({"kind": "daily", "period": format!("2026-11-{day:02}"), "as_of": AS_OF});
        summarizer.handle(&daily, &mut Metrics::default()).await.unwrap();
    }
    let before = gets(&env.aws);
    let mut metrics = Metrics::default();
    let merged = summarizer.handle(&weekly, &mut metrics).await.unwrap();
    let from_parts = gets(&env.aws) - before;
    assert_eq!(metrics.get("SummaryDaysMerged"), Some(6.0), "the pending Sunday is read again");
    assert!(
        from_parts * 2 < reading_everything,
        "{from_parts} GETs from parts, {reading_everything} reading everything"
    );
    let as_json = |s: &Summary| serde_json::to_value(s).unwrap();
    assert_eq!(as_json(&merged.summary), as_json(&folded.summary));
}
