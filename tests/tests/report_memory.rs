//! A 200 MiB transcript through the session-report handler against the emulator, then its
//! report (tens of MiB of JSON) through the daily access summary, with each handler's peak heap
//! measured by a counting allocator. The SDK talks to moto directly (not
//! through the test proxy, which buffers whole bodies), and the upload streams from a file, so
//! the only large allocations that could show up are the handler's. Its own test binary, one
//! test, so nothing else allocates concurrently.

use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use session_audit::analysis::Analyzer;
use session_audit::publish::Metrics;
use session_audit::report::{Report, Status};
use session_audit::rules::RulePack;
use session_audit::session_report::Outcome;
use session_audit::settings::{ReportSettings, SummarySettings};
use session_audit_aws::access_summary::access_summary;
use session_audit_aws::session_report::session_report;
use session_audit_aws::Clients;
use session_audit_tests::counting_alloc::{peak_since, reset_peak, Counting};
use session_audit_tests::home_setting;
use session_audit_tests::local_aws::LocalAws;

#[path = "../../shared/session-audit/benches/synthetic.rs"]
mod synthetic;

#[global_allocator]
static GLOBAL: Counting = Counting;

const BUCKET: &str = "audit-bucket";
const SIZE: u64 = 200 << 20;
/// Generous for an engine that needs a few MiB, and far below the object's size: the report
/// streams to a spool file, the Markdown keeps at most 10k commands.
const LIMIT: usize = 64 << 20;
/// The summary reads a report of any size from a spool file, its commands and findings counted
/// as they are parsed: far below the report's size.
const SUMMARY_LIMIT: usize = 4 << 20;

#[tokio::test]
async fn a_200_mib_transcript_is_reported_in_bounded_memory() {
    let aws = LocalAws::start();
    let clients = Clients::with_path_style(&aws.direct_sdk_config().await, true);
    clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let dir = std::env::temp_dir().join(format!("report-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.log");
    synthetic::build(&path, SIZE).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let key = "session-logs/big-0123456789abcdef0.log";
    let body = ByteStream::from_path(&path).await.unwrap();
    let put = clients.s3.put_object().bucket(BUCKET).key(key).body(body).send().await.unwrap();
    let etag = put.e_tag().unwrap().trim_matches('"').to_string();
    std::fs::remove_file(&path).unwrap();

    let get =
        |k: &str| (k == "AUDIT_BUCKET").then(|| BUCKET.to_string()).or_else(|| home_setting(k));
    let settings = ReportSettings::read(get).unwrap();
    let reporter = session_report(&clients, settings, Analyzer::default());
    let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:CompleteMultipartUpload",
        "eventTime": "2026-11-27T23:59:59.000Z",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": size, "eTag": etag}}}]});

    let before = reset_peak();
    let mut metrics = Metrics::default();
    let out = reporter.handle(&event, &mut metrics).await.expect("reported");
    let peak = peak_since(before);
    let Outcome::Reported { json_key, commands, .. } = &out[0].outcome else { panic!("{out:?}") };
    eprintln!(
        "200 MiB transcript: {commands} commands, handler peak heap {:.1} MiB",
        peak as f64 / (1 << 20) as f64
    );
    assert!(*commands > 100_000, "{commands}");
    assert!(peak < LIMIT, "peak heap {peak} bytes for a {size}-byte object");

    let stored = clients.s3.get_object().bucket(BUCKET).key(json_key).send().await.unwrap();
    let bytes = stored.body.collect().await.unwrap().into_bytes();
    let report: Report = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(report.commands.len() as u64, *commands, "the JSON report has every command");
    assert_eq!(report.stats.bytes, size);
    assert_eq!(report.status, Status::NonCompliant);
    let report_size = bytes.len();
    let findings = report.findings.len() as u64;
    drop((report, bytes));

    // The daily summary of that day reads the report back in bounded memory.
    let day = json_key.split("dt=").nth(1).and_then(|r| r.split('/').next()).unwrap().to_string();
    let summary_get = |k: &str| (k == "AUDIT_BUCKET").then(|| BUCKET.to_string());
    let settings = SummarySettings::read(summary_get).unwrap();
    let summarizer = access_summary(&clients, settings, RulePack::builtin());
    let request = json!({"kind": "daily", "period": day, "as_of": "2026-12-30T00:00:00Z"});
    let before = reset_peak();
    let written = summarizer.handle(&request, &mut Metrics::default()).await.expect("summary");
    let peak = peak_since(before);
    eprintln!(
        "{:.1} MiB report: summary peak heap {:.1} MiB",
        report_size as f64 / (1 << 20) as f64,
        peak as f64 / (1 << 20) as f64
    );
    assert!(report_size > 4 * SUMMARY_LIMIT, "the report is large: {report_size}");
    assert!(peak < SUMMARY_LIMIT, "summary peak heap {peak} bytes for a {report_size}-byte report");
    let stored =
        clients.s3.get_object().bucket(BUCKET).key(&written.json_key).send().await.unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&stored.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(summary["sessions"], 1);
    let counted: u64 =
        summary["findings"].as_array().unwrap().iter().map(|f| f["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, findings, "every finding of the report counted");
    let _ = std::fs::remove_dir_all(&dir);
}
