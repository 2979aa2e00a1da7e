//! `session-audit summarize`: the access summary from session records, denied-attempt records
//! and reports on disk (for example an `aws s3 sync` of the bucket's `audit/` prefix), the same
//! numbers the access-summary function stores.
//!
//! Two passes: the first reads each file's kind, session ID and date and files it under the key
//! the functions would have stored it at; the second is the access-summary function's own day
//! join ([`fold_day`]) over those files, so the two cannot count differently. Memory grows with
//! the number of files named, not with the commands in them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use jiff::civil::Date;
use jiff::Timestamp;
use serde_json::Value;
use session_audit::access_summary::fold_day;
use session_audit::keys::Filed;
use session_audit::ports::store::{block_on, FsStore};
use session_audit::session::{DENIED_SCHEMA, SESSION_SCHEMA};
use session_audit::summary::{
    html, markdown, Aggregator, Period, ReportDigest, Summary, SummaryConfig,
};

use crate::inputs::{expand, InputSpec};

#[derive(clap::Args)]
pub struct SummarizeArgs {
    /// Session records, denied-attempt records and reports (JSON files or directories).
    #[arg(required = true)]
    inputs: Vec<String>,
    /// First day (YYYY-MM-DD, UTC) to include; default: the earliest input.
    #[arg(long, value_name = "DATE")]
    from: Option<Date>,
    /// Last day (YYYY-MM-DD, UTC) to include; default: the latest input.
    #[arg(long, value_name = "DATE")]
    to: Option<Date>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Md)]
    format: SummaryFormat,
    /// Also write the self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// An earlier summary (JSON) whose person → instance pairs are not reported as new.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Business hours for the off-hours share and the heat map's zone.
    #[arg(long, value_name = "SPEC", default_value = "Mon-Fri 08:00-18:00 UTC")]
    business_hours: String,
    /// Minutes after a session's end before its transcript counts as missing.
    #[arg(long, value_name = "MINUTES", default_value_t = 120)]
    grace_minutes: u64,
    /// Judge completeness at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME")]
    as_of: Option<Timestamp>,
    /// A user rule pack (TOML), as for `analyze`.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SummaryFormat {
    Md,
    Json,
}

/// What the first pass learnt about one file.
struct Seen {
    path: PathBuf,
    kind: Filed,
    id: String,
    day: Option<Date>,
}

fn day_of(text: Option<&str>) -> Option<Date> {
    text?.parse::<Timestamp>().ok().map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
}

/// `Ok(None)`: a file that is not an input (an earlier summary beside the records).
fn first_pass(path: PathBuf) -> Result<Option<Seen>, String> {
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read: {e}"))?;
    // Reports are parsed without keeping their commands; records are small.
    if let Ok(digest) = ReportDigest::parse(&bytes, |_, _| {}) {
        let day = day_of(digest.started_at.as_deref().or(digest.ended_at.as_deref()));
        return Ok(Some(Seen { path, kind: Filed::Report, id: digest.session_id, day }));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (kind, id, time) = match text("schema").as_deref() {
        Some(SESSION_SCHEMA) => (Filed::Session, text("session_id"), text("started_at")),
        Some(DENIED_SCHEMA) => (Filed::Denied, text("event_id"), text("time")),
        Some(s) if s.starts_with("session-audit/report/") => {
            return Err(ReportDigest::parse(&bytes, |_, _| {}).unwrap_err().0)
        }
        Some(s) if s.starts_with("session-audit/summary/") => {
            return Err("a summary, not an input".into())
        }
        other => return Err(format!("not a session-audit record or report (schema {other:?})")),
    };
    let id = id.ok_or("record without its ID")?;
    Ok(Some(Seen { path, kind, id, day: day_of(time.as_deref()) }))
}

pub fn run(args: SummarizeArgs) -> Result<u8, String> {
    let pack = crate::inputs::load_rules(args.rules.as_deref())?;
    let baseline = match &args.baseline {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read baseline '{}': {e}", path.display()))?;
            Some(
                Summary::baseline_pairs(&bytes)
                    .map_err(|e| format!("baseline '{}': {e}", path.display()))?,
            )
        }
    };
    let (specs, failed) = expand(&args.inputs);
    let mut corrupt = Vec::new();
    let mut seen = Vec::new();
    for spec in specs {
        let InputSpec::File(path) = spec else {
            return Err("summarize reads files, not stdin".into());
        };
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match first_pass(path.clone()) {
            Ok(Some(s)) => seen.push(s),
            Ok(None) => {}
            Err(e) => corrupt.push((path.display().to_string(), e)),
        }
    }
    let days = seen.iter().filter_map(|s| s.day);
    let first = args.from.or_else(|| days.clone().min());
    let last = args.to.or_else(|| days.max());
    let period = match (first, last) {
        (Some(a), Some(b)) => Period::custom(a, b).map_err(|e| e.0)?,
        _ => {
            let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
            Period::custom(today, today).map_err(|e| e.0)?
        }
    };
    let config = SummaryConfig {
        business_hours: session_audit::session::findings::BusinessHours::parse(
            &args.business_hours,
        )
        .map_err(|e| format!("--business-hours {e}"))?,
        business_hours_text: args.business_hours.clone(),
        grace_minutes: args.grace_minutes,
        as_of: args.as_of.unwrap_or_else(Timestamp::now),
    };
    let days: Vec<Date> = period.days().collect();
    let mut agg = Aggregator::new(period, config, &pack);
    for (source, error) in corrupt {
        agg.corrupt(source, error);
    }
    // Each file under the key the functions would have written it at. A report goes to its
    // record's day (session-report files it there). Undated inputs, and those outside the
    // period, go to its first day: the aggregator counts or leaves them out as it would.
    let record_days: BTreeMap<String, Option<Date>> =
        seen.iter().filter(|s| s.kind == Filed::Session).map(|s| (s.id.clone(), s.day)).collect();
    let mut files = BTreeMap::new();
    for s in seen {
        let day = match s.kind {
            Filed::Report => record_days.get(&s.id).copied().unwrap_or(s.day),
            _ => s.day,
        };
        let day = day.filter(|d| days.contains(d)).unwrap_or(days[0]);
        match s.kind.key(day, &s.id, "json") {
            Ok(key) => {
                files.insert(key, s.path);
            }
            Err(e) => agg.corrupt(s.path.display().to_string(), e.to_string()),
        }
    }
    let store = FsStore::of_files(files);
    for day in days {
        block_on(fold_day(&store, day, &mut agg, 1)).map_err(|e| e.to_string())?;
    }
    let outside = agg.outside_period();
    let summary = agg.finish(baseline);
    if outside > 0 {
        eprintln!("session-audit: {outside} input(s) outside {} left out", summary.period);
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html::render(&summary))
            .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
    }
    let text = match args.format {
        SummaryFormat::Md => markdown::render(&summary),
        SummaryFormat::Json => {
            serde_json::to_string_pretty(&summary).expect("summaries serialise") + "\n"
        }
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(format!("cannot write the summary: {e}"));
        }
    }
    Ok(if failed { 2 } else { 0 })
}
