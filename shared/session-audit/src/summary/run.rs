//! The access summary as a use case: one period's session records, denied attempts and
//! reports read from an audit store one `dt=` day at a time, with a bounded number of reads in
//! flight; the summary written as JSON, Markdown and HTML under `audit/summaries/`. The
//! access-summary function runs it over S3; `session-audit summarize` runs [`fold_day`] over
//! the files it is given.
//!
//! Records and reports of a session share a `dt=` day (session-report files a report under
//! its record's start date), so each day is joined on its own by session ID. State kept across
//! days is the aggregator's (per person, instance and pair); within a day only the keys are.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::{
    html, markdown, Aggregator, Coverage, Kind, MissingTranscript, Pair, Period, ReportDigest,
    Summary, SummaryConfig,
};
use crate::keys::Filed;
use crate::outputs::{FindingContext, Metrics};
use crate::report::Finding;
use crate::rules::RulePack;
use crate::session::{DeniedRecord, SessionRecord};
use crate::sink::{FindingsSink, SinkError};
use crate::store::{Attributes, AuditStore, Condition, Payload, StoreError};
use crate::{Failure, FailureKind};

/// Settings read at cold start (environment variables, README).
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// `SUMMARY_CONCURRENCY` (`32`): reads in flight.
    pub concurrency: usize,
    /// `BUSINESS_HOURS` and `TRANSCRIPT_GRACE_MINUTES`, checked at cold start.
    env: Vec<(String, String)>,
}

const SUMMARY_ENV: [&str; 2] = ["BUSINESS_HOURS", "TRANSCRIPT_GRACE_MINUTES"];

impl SummaryOptions {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let options = SummaryOptions {
            concurrency: crate::config::number(&get, "SUMMARY_CONCURRENCY", 32)?.clamp(1, 512)
                as usize,
            env: SUMMARY_ENV.iter().filter_map(|k| get(k).map(|v| (k.to_string(), v))).collect(),
        };
        options.config(Timestamp::now())?;
        Ok(options)
    }

    fn config(&self, as_of: Timestamp) -> Result<SummaryConfig, String> {
        let get = |k: &str| self.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        SummaryConfig::from_lookup(get, as_of)
    }
}

/// What one invocation is asked to summarise: the schedule's `Input`
/// (`{"kind": "daily"}` or `{"kind": "weekly"}`), optionally with `period` (`2026-11-27`,
/// `2026-W48`) to redo a past one and `as_of` (RFC 3339) to judge completeness at a given time.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub period: Period,
    pub as_of: Timestamp,
}

impl Request {
    pub fn parse(event: &Value, now: Timestamp) -> Result<Request, String> {
        let text = |k: &str| event.get(k).and_then(Value::as_str);
        let kind: Kind = text("kind")
            .ok_or(
                r#"no "kind": set the schedule's Input to {"kind":"daily"} or {"kind":"weekly"}"#,
            )?
            .parse()?;
        if kind == Kind::Custom {
            return Err("kind custom is for the CLI".into());
        }
        let as_of = match text("as_of") {
            Some(t) => t.parse().map_err(|_| format!("as_of '{t}' is not an RFC 3339 time"))?,
            None => now,
        };
        let period = match text("period") {
            Some(label) => Period::parse(kind, label)?,
            None => Period::last_complete(kind, as_of),
        };
        Ok(Request { period, as_of })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("missing-transcript findings of {sessions} session(s) from {first}: {error}")]
    Sink { sessions: usize, first: String, error: SinkError },
}

impl Failure for SummaryError {
    fn kind(&self) -> FailureKind {
        match self {
            SummaryError::Malformed(_) => FailureKind::MalformedEvent,
            SummaryError::Store(_) => FailureKind::Store,
            SummaryError::Sink { .. } => FailureKind::Sink,
        }
    }
}

/// What a run wrote (the function's answer: the period, its headline and the three keys).
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub period: String,
    pub sessions: u64,
    pub percent_full_transcript: Option<f64>,
    #[serde(rename = "json")]
    pub json_key: String,
    #[serde(rename = "md")]
    pub md_key: String,
    #[serde(rename = "html")]
    pub html_key: String,
    #[serde(skip)]
    pub summary: Summary,
}

/// The access summary, built once per process and borrowed by every invocation.
pub struct AccessSummary<S, F> {
    pub store: S,
    pub sink: F,
    pub pack: RulePack,
    pub options: SummaryOptions,
}

impl<S: AuditStore, F: FindingsSink> AccessSummary<S, F> {
    /// Summarise the period the event asks for and store the three renderings.
    pub async fn handle(
        &self,
        event: &Value,
        metrics: &mut Metrics,
    ) -> Result<Written, SummaryError> {
        let request = Request::parse(event, Timestamp::now()).map_err(SummaryError::Malformed)?;
        let config = self.options.config(request.as_of).map_err(SummaryError::Malformed)?;
        let period = request.period;
        let mut agg = Aggregator::new(period.clone(), config, &self.pack);
        for day in period.days() {
            let seen = fold_day(&self.store, day, &mut agg, self.options.concurrency).await?;
            tracing::info!(%day, sessions = seen.sessions, denied = seen.denied, "day summarised");
            // Each missing transcript becomes a finding event once: from the daily run (the
            // weekly one sees the same sessions). Its ID (session:rule) is stable, so a rerun
            // repeats it and consumers drop the repeat. Drained per day, so a bad day's list
            // never piles up over a week.
            let missing = agg.take_missing_findings();
            if period.kind == Kind::Daily {
                self.publish_missing(&missing).await?;
                metrics.add_findings(missing.iter().map(|m| &m.finding));
            }
        }
        let baseline = self.baseline(&period, &mut agg).await?;
        let summary = agg.finish(baseline);
        let written = self.write(&period, summary).await?;
        headline_metrics(&written.summary, metrics);
        Ok(written)
    }

    /// One finding event per missing transcript, the day's in as few requests as the sink
    /// allows (EventBridge: ten per PutEvents).
    async fn publish_missing(&self, missing: &[MissingTranscript]) -> Result<(), SummaryError> {
        let items: Vec<(Finding, FindingContext)> = missing
            .iter()
            .map(|m| {
                let ctx = FindingContext {
                    origin_id: m.session.session_id.clone(),
                    session_id: Some(m.session.session_id.clone()),
                    time: m.session.started_at.clone().unwrap_or_default(),
                    account: m.account.clone(),
                    region: m.region.clone(),
                    principal: Some(m.principal.clone()),
                    person: m.person.clone(),
                    target: Some(m.session.instance.clone()),
                    record: self.store.uri(&m.record_key),
                };
                (m.finding.clone(), ctx)
            })
            .collect();
        if items.is_empty() {
            return Ok(());
        }
        self.sink.publish_each(&items).await.map_err(|error| SummaryError::Sink {
            sessions: items.len(),
            first: missing[0].session.session_id.clone(),
            error,
        })
    }

    /// The previous period's known pairs, if its summary exists and reads.
    async fn baseline(
        &self,
        period: &Period,
        agg: &mut Aggregator,
    ) -> Result<Option<(String, Vec<Pair>)>, SummaryError> {
        let Some(previous) = period.previous() else { return Ok(None) };
        let key = previous.key("json");
        let Some(object) = self.store.get(&key, None).await? else {
            tracing::info!(%key, "no previous summary: every person-instance pair counts as new");
            return Ok(None);
        };
        match Summary::baseline_pairs(&object.bytes) {
            Ok(b) => Ok(Some(b)),
            Err(e) => {
                let why = format!("previous summary unreadable, no baseline: {e}");
                agg.corrupt(self.store.uri(&key), why);
                Ok(None)
            }
        }
    }

    async fn write(&self, period: &Period, summary: Summary) -> Result<Written, SummaryError> {
        let json = serde_json::to_vec_pretty(&summary).expect("summaries serialise");
        let parts = [
            (period.key("json"), json, "application/json"),
            (
                period.key("md"),
                markdown::render(&summary).into_bytes(),
                "text/markdown; charset=utf-8",
            ),
            (period.key("html"), html::render(&summary).into_bytes(), "text/html; charset=utf-8"),
        ];
        for (key, body, content_type) in &parts {
            let (body, attributes) = (Payload::Bytes(body.clone()), Attributes::of(content_type));
            self.store.put(key, body, &attributes, &Condition::Always).await?;
        }
        let [(json_key, ..), (md_key, ..), (html_key, ..)] = parts;
        Ok(Written {
            period: summary.period.to_string(),
            sessions: summary.sessions,
            percent_full_transcript: summary.headline.percent_full_transcript,
            json_key,
            md_key,
            html_key,
            summary,
        })
    }
}

/// How many sessions and denied attempts a day added.
#[derive(Debug, Default, Clone, Copy)]
pub struct DaySeen {
    pub sessions: u64,
    pub denied: u64,
}

/// Every record, attempt and report filed under one `dt=` day, joined by session ID and folded
/// into `agg`, at most `concurrency` reads in flight. An object that vanished after the listing
/// or does not parse is listed as unreadable (never dropped silently); a store error fails the
/// run (the schedule's retry redoes it) rather than give a summary that silently lacks objects.
pub async fn fold_day(
    store: &impl AuditStore,
    day: Date,
    agg: &mut Aggregator,
    concurrency: usize,
) -> Result<DaySeen, StoreError> {
    let json_keys = |keys: Vec<String>| keys.into_iter().filter(|k| k.ends_with(".json"));
    let sessions = json_keys(store.list(&Filed::Session.day_prefix(day)).await?);
    let reports = json_keys(store.list(&Filed::Report.day_prefix(day)).await?);
    let denied: Vec<String> =
        json_keys(store.list(&Filed::Denied.day_prefix(day)).await?).collect();
    // Session ID -> (record key, report key): the day's join.
    let mut joined: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for (kind, keys) in
        [(Filed::Session, sessions.collect::<Vec<_>>()), (Filed::Report, reports.collect())]
    {
        for key in keys {
            let Some((id, _)) = kind.parse(&key) else {
                agg.corrupt(store.uri(&key), "not a key of the audit layout");
                continue;
            };
            let entry = joined.entry(id.to_string()).or_default();
            match kind {
                Filed::Report => entry.1 = Some(key),
                _ => entry.0 = Some(key),
            }
        }
    }
    let mut seen = DaySeen::default();
    let fetch = |key: Option<String>| async move {
        match key {
            Some(key) => store.get(&key, None).await.map(|o| Some((key, o.map(|o| o.bytes)))),
            None => Ok(None),
        }
    };
    let mut pairs = stream::iter(joined.into_values())
        .map(|(record, report)| async move {
            // One after the other, so `concurrency` bounds requests, not pairs.
            let a = fetch(record).await;
            let b = fetch(report).await;
            (a, b)
        })
        .buffered(concurrency.max(1));
    while let Some((record, report)) = pairs.next().await {
        let record = readable(store, record?, agg, |b, _| {
            serde_json::from_slice::<SessionRecord>(b)
                .map_err(|e| format!("not a session record: {e}"))
        });
        let report =
            readable(store, report?, agg, |b, agg| ReportDigest::parse(b, agg.command_sink()));
        if record.is_some() || report.is_some() {
            seen.sessions += u64::from(agg.session(record.as_ref(), report.as_ref()));
        }
    }
    let mut attempts =
        stream::iter(denied).map(|key| fetch(Some(key))).buffered(concurrency.max(1));
    while let Some(attempt) = attempts.next().await {
        let attempt = readable(store, attempt?, agg, |b, _| {
            serde_json::from_slice::<DeniedRecord>(b)
                .map_err(|e| format!("not a denied-attempt record: {e}"))
        });
        if let Some(d) = attempt {
            seen.denied += u64::from(agg.denied(&d));
        }
    }
    Ok(seen)
}

/// The object read for a key, parsed by `parse`; one that vanished or does not parse is
/// counted and listed as unreadable.
fn readable<T>(
    store: &impl AuditStore,
    read: Option<(String, Option<Vec<u8>>)>,
    agg: &mut Aggregator,
    parse: impl FnOnce(&[u8], &mut Aggregator) -> Result<T, String>,
) -> Option<T> {
    let (key, bytes) = read?;
    let Some(bytes) = bytes else {
        agg.corrupt(store.uri(&key), "deleted while the summary ran");
        return None;
    };
    match parse(&bytes, agg) {
        Ok(v) => Some(v),
        Err(e) => {
            agg.corrupt(store.uri(&key), e);
            None
        }
    }
}

/// The headline numbers as EMF metrics.
pub fn headline_metrics(s: &Summary, metrics: &mut Metrics) {
    let coverage = |c: Coverage| *s.completeness.counts.get(&c).unwrap_or(&0) as f64;
    metrics
        .add("SummarySessions", s.sessions as f64)
        .add("SummaryDeniedAttempts", s.denied.attempts as f64)
        .add("TranscriptsMissing", coverage(Coverage::Missing))
        .add(
            "TranscriptsTruncated",
            coverage(Coverage::Truncated) + coverage(Coverage::Unparseable),
        )
        .add("TranscriptsWithoutRecord", s.completeness.transcripts_without_record.total as f64)
        .add("NewAccessPairs", s.new_pairs.pairs.len() as f64)
        .add("UnreadableInputs", s.corrupt.total as f64);
    if let Some(p) = s.headline.percent_full_transcript {
        metrics.add("PrivilegedFullTranscriptPercent", p);
    }
}
