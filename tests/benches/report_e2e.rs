//! The session-report handler end to end against the local emulator, next to the engine alone.
//!
//!     make bench-report     (= cargo bench -p session-audit-tests --bench report_e2e)
//!
//! For a 100 KiB and a 200 MiB generated transcript: upload to moto (direct, no test proxy),
//! then time `SessionReport::handle` (GetObject stream, engine, JSON spooled and uploaded,
//! Markdown, events) and, for scale, the engine alone over the same bytes from a local file
//! into a discarding writer. Peak heap is measured by a counting allocator around each run.
//! moto is a Python server on the same two cores, so absolute times include its share.

use std::io::BufReader;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use session_audit::analysis::{Analyzer, Input};
use session_audit::publish::Metrics;
use session_audit::report::JsonReportWriter;
use session_audit::settings::ReportSettings;
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

fn mib(bytes: f64) -> f64 {
    bytes / (1 << 20) as f64
}

#[tokio::main]
async fn main() {
    let aws = LocalAws::start();
    let clients = Clients::with_path_style(&aws.direct_sdk_config().await, true);
    clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let get =
        |k: &str| (k == "AUDIT_BUCKET").then(|| BUCKET.to_string()).or_else(|| home_setting(k));
    let settings = ReportSettings::read(get).unwrap();
    let reporter = session_report(&clients, settings, Analyzer::default());
    let dir = std::env::temp_dir().join(format!("report-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "| transcript | handler end to end | engine alone | handler overhead | handler peak heap |"
    );
    println!("|---|---|---|---|---|");
    for (label, size) in [("100 KiB", 100u64 << 10), ("200 MiB", 200u64 << 20)] {
        let path = dir.join(format!("t-{size}.log"));
        synthetic::build(&path, size).unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        let key = format!("session-logs/bench-{size}.log");
        let body = ByteStream::from_path(&path).await.unwrap();
        clients.s3.put_object().bucket(BUCKET).key(&key).body(body).send().await.unwrap();
        let event = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "eventTime": "2026-11-27T23:59:59.000Z",
            "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": bytes}}}]});
        // Warm-up (connection pool, first-call costs), then the measured run.
        let rounds = if size < 1 << 20 { 20 } else { 1 };
        reporter.handle(&event, &mut Metrics::default()).await.unwrap();
        let base = reset_peak();
        let started = Instant::now();
        for _ in 0..rounds {
            reporter.handle(&event, &mut Metrics::default()).await.unwrap();
        }
        let handler = started.elapsed().as_secs_f64() / rounds as f64;
        let handler_peak = peak_since(base);

        let analyzer = Analyzer::default();
        let started = Instant::now();
        for _ in 0..rounds {
            let file = BufReader::new(std::fs::File::open(&path).unwrap());
            let writer = JsonReportWriter::start(std::io::sink()).unwrap();
            let (report, writer) = analyzer.analyze(file, Input::default(), writer).unwrap();
            writer.finish(&report.tail()).unwrap();
        }
        let engine = started.elapsed().as_secs_f64() / rounds as f64;
        println!(
            "| {label} ({:.1} MiB) | {:.3} s ({:.0} MiB/s) | {:.3} s ({:.0} MiB/s) | {:.3} s | {:.1} MiB |",
            mib(bytes as f64),
            handler,
            mib(bytes as f64) / handler,
            engine,
            mib(bytes as f64) / engine,
            handler - engine,
            mib(handler_peak as f64)
        );
        std::fs::remove_file(&path).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
