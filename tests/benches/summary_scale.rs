//! How far one access-summary run goes.
//!
//!     make bench-summary    (= cargo bench --profile release -p session-audit-tests --bench summary_scale)
//!
//! 1. Aggregation alone: 100 000 and 1 000 000 sessions (a record and a 12-command report each,
//!    one in ten without a report) plus one denied attempt per 20 sessions, generated as the
//!    JSON the functions store, parsed and folded exactly as the function does. Peak heap is
//!    the counting allocator's, above what was live before; it should not grow with sessions.
//! 2. The function end to end against the local emulator (moto, direct, no test proxy): one
//!    day of 2 000 sessions read with SUMMARY_CONCURRENCY=32. moto is a single Python process
//!    on the same two cores, so this is a floor for S3, not an estimate of it.

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::json;
use session_audit::keys;
use session_audit::publish::Metrics;
use session_audit::rules::RulePack;
use session_audit::session::{DeniedRecord, SessionRecord};
use session_audit::settings::{SummarySettings, Variables};
use session_audit::summary::{Aggregator, Period, ReportDigest};
use session_audit_aws::access_summary::access_summary;
use session_audit_aws::Clients;
use session_audit_tests::counting_alloc::{peak_since, reset_peak, Counting};
use session_audit_tests::local_aws::LocalAws;

#[global_allocator]
static GLOBAL: Counting = Counting;

const PEOPLE: u64 = 1_000;
const INSTANCES: u64 = 5_000;
const COMMANDS: [&str; 12] = [
    "ls -la",
    "cd /var/log",
    "tail -n 100 messages",
    "df -h",
    "free -m",
    "systemctl status nginx",
    "sudo journalctl -u nginx --since today",
    "ps aux",
    "top -b -n 1",
    "cat /etc/os-release",
    "uptime",
    "exit",
];

fn identity(person: u64) -> String {
    format!(
        r#"{{"kind":"identity_center","principal":"AWSReservedSSO_Ops_1/p{person}@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Ops_1/p{person}@example.com","account":"111122223333","person":"p{person}@example.com","mfa":true,"source_ip":"198.51.100.1","user_agent":"aws-cli/2","console":false}}"#
    )
}

/// Session `i`'s record, report (`None` for one in ten) and, every 20th, a denied attempt,
/// spread over `days` days from Monday 2026-11-09.
fn session(i: u64, days: u64) -> (String, Option<String>, Option<String>) {
    let person = (i * 7919) % PEOPLE;
    let instance = (i * 6_151) % INSTANCES;
    let minute = (i * 37) % (days * 24 * 60);
    let (day, hour, min) = (9 + minute / 1440, (minute / 60) % 24, minute % 60);
    let start = format!("2026-11-{day:02}T{hour:02}:{min:02}:00Z");
    let end = format!("2026-11-{day:02}T{hour:02}:{min:02}:30Z");
    let id = format!("p{person}-{i:016x}");
    let record = format!(
        r#"{{"schema":"session-audit/session/v1","session_id":"{id}","event_id":"e{i}","started_at":"{start}","region":"eu-central-1","account":"111122223333","identity":{},"target":"i-{instance:017x}","document":"SSM-SessionManagerRunShell","session_type":"Standard_Stream","reason":null,"terminated_at":"{end}","events":[],"warnings":[],"findings":[],"findings_sent":true}}"#,
        identity(person)
    );
    let report = (!i.is_multiple_of(10)).then(|| {
        let commands: Vec<String> = COMMANDS
            .iter()
            .enumerate()
            .map(|(n, c)| format!(r#"{{"seq":{n},"command":"{c}","prompt":"sh-5.2$ ","confidence":1.0,"output_lines":3,"privileged":{}}}"#, c.starts_with("sudo")))
            .collect();
        format!(
            r#"{{"commands":[{}],"schema":"session-audit/report/v1","session_id":"{id}","status":"{}","source":{{"bucket":"b","key":"session-logs/{id}.log","format":"linux_script"}},"identity":{},"target":{{"instance_id":"i-{instance:017x}","document":"SSM-SessionManagerRunShell"}},"started_at":"{start}","ended_at":"{end}","findings":[],"stats":{{"bytes":1,"lines":1,"commands":12,"parse_warnings":[],"abandoned_lines":0,"line_editor_markers":true}},"generator":"bench"}}"#,
            commands.join(","),
            if i.is_multiple_of(97) { "truncated" } else { "compliant" },
            identity(person)
        )
    });
    let denied = (i.is_multiple_of(20)).then(|| {
        format!(
            r#"{{"schema":"session-audit/denied/v1","event_id":"d{i}","time":"{start}","action":"StartSession","region":"eu-central-1","account":"111122223333","identity":{},"target":"i-1","document":"SSM-SessionManagerRunShell","error_code":"AccessDenied"}}"#,
            identity(person)
        )
    });
    (record, report, denied)
}

fn aggregate(n: u64) {
    let config = Variables(|_: &str| None)
        .summary_options()
        .unwrap()
        .config("2026-11-20T00:00:00Z".parse().unwrap());
    let pack = RulePack::builtin();
    let base = reset_peak();
    let started = Instant::now();
    let mut agg = Aggregator::new(Period::weekly("2026-11-09".parse().unwrap()), config, &pack);
    let mut bytes = 0usize;
    for i in 0..n {
        let (record, report, denied) = session(i, 7);
        bytes += record.len() + report.as_ref().map_or(0, String::len);
        let record: SessionRecord = serde_json::from_str(&record).unwrap();
        let report = report.map(|r| ReportDigest::parse(r.as_bytes(), agg.command_sink()).unwrap());
        agg.session(Some(&record), report.as_ref());
        if let Some(d) = denied {
            agg.denied(&serde_json::from_str::<DeniedRecord>(&d).unwrap());
        }
        // The function drains the missing-transcript findings after each day (and publishes
        // them); the bench's sessions are spread over a week, so it drains as often.
        if i % (n / 7).max(1) == 0 {
            drop(agg.take_missing_findings());
        }
    }
    let s = agg.finish(None);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "| {n} | {:.1} s | {:.0} sessions/s | {:.0} MiB/s | {:.1} MiB | {} / {} / {} | {:.1}% |",
        secs,
        n as f64 / secs,
        bytes as f64 / secs / (1 << 20) as f64,
        peak_since(base) as f64 / (1 << 20) as f64,
        s.people,
        s.instances,
        s.by_pair.len(),
        s.headline.percent_full_transcript.unwrap_or(0.0)
    );
    assert_eq!(s.sessions, n);
}

async fn end_to_end(sessions: u64) {
    let aws = LocalAws::start();
    let clients = Clients::with_path_style(&aws.direct_sdk_config().await, true);
    let bucket = "audit-bucket";
    clients.s3.create_bucket().bucket(bucket).send().await.unwrap();
    let put = |key: String, body: String| {
        let s3 = clients.s3.clone();
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body.into_bytes()))
                .send()
                .await
                .unwrap()
        }
    };
    let mut objects = 0;
    for i in 0..sessions {
        // All on Monday: one `dt=` day, the unit the function lists and joins.
        let (record, report, _) = session(i, 1);
        let id = serde_json::from_str::<serde_json::Value>(&record).unwrap()["session_id"]
            .as_str()
            .unwrap()
            .to_string();
        put(
            keys::session_record("2026-11-09", &session_audit_tests::local_session(&id)).unwrap(),
            record,
        )
        .await;
        objects += 1;
        if let Some(r) = report {
            put(
                keys::report("2026-11-09", &session_audit_tests::local_session(&id), "json")
                    .unwrap(),
                r,
            )
            .await;
            objects += 1;
        }
    }
    let get = |k: &str| match k {
        "AUDIT_BUCKET" => Some(bucket.to_string()),
        "SUMMARY_CONCURRENCY" => Some("32".to_string()),
        _ => None,
    };
    let settings = SummarySettings::read(get).unwrap();
    let summary = access_summary(&clients, settings, RulePack::builtin());
    let started = Instant::now();
    let event = json!({"kind": "daily", "period": "2026-11-09", "as_of": "2026-11-20T00:00:00Z"});
    let written = summary.handle(&event, &mut Metrics::default()).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\nend to end against moto: {} sessions ({objects} objects) in {secs:.1} s = {:.0} objects/s",
        written.summary.sessions,
        objects as f64 / secs
    );
}

#[tokio::main]
async fn main() {
    println!("| sessions | time | rate | JSON parsed | peak heap | people / instances / pairs | full transcript |");
    println!("|---|---|---|---|---|---|---|");
    for n in [100_000, 1_000_000] {
        aggregate(n);
    }
    end_to_end(2_000).await;
}
