//! The access summary: one period's session records, denied attempts and reports read from the
//! log bucket, one `dt=` day at a time, with a bounded number of S3 requests in flight; the
//! summary written as JSON, Markdown and HTML under `audit/summaries/`.
//!
//! Records and reports of a session share a `dt=` day (session-report files a report under
//! its record's start date), so each day is joined on its own by session ID. State kept across
//! days is the aggregator's (per person, instance and pair); within a day only the object
//! keys are listed.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use futures_util::stream::{self, StreamExt};
use jiff::civil::Date;
use jiff::Timestamp;
use serde_json::Value;

use super::findings::publish;
use super::{AwsError, Clients};
use crate::outputs::{FindingContext, Metrics};
use crate::rules::RulePack;
use crate::session::{DeniedRecord, SessionRecord};
use crate::summary::{
    html, markdown, Aggregator, Coverage, Kind, MissingTranscript, Period, ReportDigest, Summary,
    SummaryConfig,
};

/// Settings (environment variables, README).
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// `AUDIT_BUCKET` (required): read and written.
    pub audit_bucket: String,
    /// `SUMMARY_CONCURRENCY` (`32`): S3 reads in flight.
    pub concurrency: usize,
    /// `FINDINGS_EVENT_BUS` (`default`): where the daily run's missing-transcript findings go.
    pub event_bus: String,
    /// `BUSINESS_HOURS` and `TRANSCRIPT_GRACE_MINUTES`, checked at cold start.
    env: Vec<(String, String)>,
}

const SUMMARY_ENV: [&str; 2] = ["BUSINESS_HOURS", "TRANSCRIPT_GRACE_MINUTES"];

impl SummaryOptions {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let options = SummaryOptions {
            audit_bucket: get("AUDIT_BUCKET")
                .filter(|b| !b.is_empty())
                .ok_or("AUDIT_BUCKET is required: the log bucket")?,
            concurrency: crate::config::number(&get, "SUMMARY_CONCURRENCY", 32)?.clamp(1, 512)
                as usize,
            event_bus: super::settings::event_bus(&get),
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
    #[error("{step} failed for s3://{bucket}/{key}: {error}")]
    Aws { step: &'static str, bucket: String, key: String, error: AwsError },
}

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub json_key: String,
    pub md_key: String,
    pub html_key: String,
    pub summary: Summary,
}

pub struct AccessSummary {
    s3: aws_sdk_s3::Client,
    events: aws_sdk_eventbridge::Client,
    pack: RulePack,
    options: SummaryOptions,
}

/// An object's bytes; `Ok(None)` when it vanished between listing and reading.
type Fetched = Result<Option<Vec<u8>>, SummaryError>;

impl AccessSummary {
    pub fn new(clients: &Clients, pack: RulePack, options: SummaryOptions) -> Self {
        AccessSummary { s3: clients.s3.clone(), events: clients.events.clone(), pack, options }
    }

    fn aws(&self, step: &'static str, key: &str, error: impl Into<AwsError>) -> SummaryError {
        SummaryError::Aws {
            step,
            bucket: self.options.audit_bucket.clone(),
            key: key.to_string(),
            error: error.into(),
        }
    }

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
            self.day(day, &mut agg).await?;
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
        let written = self.store(&period, summary).await?;
        headline_metrics(&written.summary, metrics);
        Ok(written)
    }

    async fn publish_missing(&self, missing: &[MissingTranscript]) -> Result<(), SummaryError> {
        for m in missing {
            let ctx = FindingContext {
                origin_id: m.session.session_id.clone(),
                session_id: Some(m.session.session_id.clone()),
                time: m.session.started_at.clone().unwrap_or_default(),
                account: m.account.clone(),
                region: m.region.clone(),
                principal: Some(m.principal.clone()),
                person: m.person.clone(),
                target: Some(m.session.instance.clone()),
                record: self.uri(&m.record_key),
            };
            publish(&self.events, &self.options.event_bus, std::slice::from_ref(&m.finding), &ctx)
                .await
                .map_err(|e| self.aws("PutEvents", &m.record_key, e))?;
        }
        Ok(())
    }

    /// Every record, attempt and report of one `dt=` day, folded into `agg`.
    async fn day(&self, day: Date, agg: &mut Aggregator) -> Result<(), SummaryError> {
        let sessions = self.list(&format!("audit/sessions/dt={day}/")).await?;
        let reports = self.list(&format!("audit/reports/dt={day}/")).await?;
        let denied = self.list(&format!("audit/denied/dt={day}/")).await?;
        // Session ID -> (record key, report key): the day's join.
        let mut joined: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        for key in sessions {
            let id = stem(&key);
            joined.entry(id).or_default().0 = Some(key);
        }
        for key in reports {
            let id = stem(&key);
            joined.entry(id).or_default().1 = Some(key);
        }
        let (mut sessions_seen, mut denied_seen) = (0u64, 0u64);
        let n = self.options.concurrency;
        let mut pairs = stream::iter(joined.into_values())
            .map(|(record, report)| async move {
                // One after the other, so `concurrency` bounds requests, not pairs.
                let a = self.fetch_opt(record.as_deref()).await;
                let b = self.fetch_opt(report.as_deref()).await;
                (record, a, report, b)
            })
            .buffered(n);
        while let Some((record_key, record, report_key, report)) = pairs.next().await {
            let record = match record_key {
                Some(key) => self.readable(&key, record?, agg, |b, _| {
                    serde_json::from_slice::<SessionRecord>(b)
                        .map_err(|e| format!("not a session record: {e}"))
                }),
                None => None,
            };
            let report = match report_key {
                Some(key) => self.readable(&key, report?, agg, |b, agg| {
                    ReportDigest::parse(b, agg.command_sink())
                }),
                None => None,
            };
            if record.is_some() || report.is_some() {
                sessions_seen += u64::from(agg.session(record.as_ref(), report.as_ref()));
            }
        }
        let mut attempts = stream::iter(denied)
            .map(|key| async move {
                let bytes = self.fetch(&key).await;
                (key, bytes)
            })
            .buffered(n);
        while let Some((key, bytes)) = attempts.next().await {
            let attempt = self.readable(&key, bytes?, agg, |b, _| {
                serde_json::from_slice::<DeniedRecord>(b)
                    .map_err(|e| format!("not a denied-attempt record: {e}"))
            });
            if let Some(d) = attempt {
                denied_seen += u64::from(agg.denied(&d));
            }
        }
        tracing::info!(%day, sessions = sessions_seen, denied = denied_seen, "day summarised");
        Ok(())
    }

    /// The object at `key` parsed by `parse`; an object that vanished after the listing or
    /// does not parse is counted and listed as unreadable (never dropped silently).
    fn readable<T>(
        &self,
        key: &str,
        bytes: Option<Vec<u8>>,
        agg: &mut Aggregator,
        parse: impl FnOnce(&[u8], &mut Aggregator) -> Result<T, String>,
    ) -> Option<T> {
        let Some(bytes) = bytes else {
            agg.corrupt(self.uri(key), "deleted while the summary ran");
            return None;
        };
        match parse(&bytes, agg) {
            Ok(v) => Some(v),
            Err(e) => {
                agg.corrupt(self.uri(key), e);
                None
            }
        }
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.options.audit_bucket)
    }

    /// The `.json` keys under a prefix (every page).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, SummaryError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.options.audit_bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.aws("ListObjectsV2", prefix, e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.ends_with(".json"))
                    .map(str::to_string),
            );
        }
        Ok(keys)
    }

    async fn fetch_opt(&self, key: Option<&str>) -> Fetched {
        match key {
            Some(key) => self.fetch(key).await,
            None => Ok(None),
        }
    }

    /// An object's bytes. Throttling and other AWS errors fail the run (the schedule's retry
    /// redoes it) rather than produce a summary that silently lacks objects.
    async fn fetch(&self, key: &str) -> Fetched {
        let out =
            match self.s3.get_object().bucket(&self.options.audit_bucket).key(key).send().await {
                Ok(out) => out,
                Err(e) => {
                    let e = AwsError::from(e);
                    return if e.is(&["NoSuchKey", "NotFound"]) {
                        Ok(None)
                    } else {
                        Err(self.aws("GetObject", key, e))
                    };
                }
            };
        let body = out.body.collect().await.map_err(|e| {
            self.aws(
                "GetObject",
                key,
                AwsError { code: None, message: format!("reading the body: {e}") },
            )
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    /// The previous period's known pairs, if its summary exists and reads.
    async fn baseline(
        &self,
        period: &Period,
        agg: &mut Aggregator,
    ) -> Result<Option<(String, Vec<crate::summary::Pair>)>, SummaryError> {
        let Some(previous) = period.previous() else { return Ok(None) };
        let key = previous.key("json");
        let Some(bytes) = self.fetch(&key).await? else {
            tracing::info!(%key, "no previous summary: every person-instance pair counts as new");
            return Ok(None);
        };
        match Summary::baseline_pairs(&bytes) {
            Ok(b) => Ok(Some(b)),
            Err(e) => {
                agg.corrupt(
                    self.uri(&key),
                    format!("previous summary unreadable, no baseline: {e}"),
                );
                Ok(None)
            }
        }
    }

    async fn store(&self, period: &Period, summary: Summary) -> Result<Written, SummaryError> {
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
            self.s3
                .put_object()
                .bucket(&self.options.audit_bucket)
                .key(key)
                .content_type(*content_type)
                .body(ByteStream::from(body.clone()))
                .send()
                .await
                .map_err(|e| self.aws("PutObject", key, e))?;
        }
        let [(json_key, ..), (md_key, ..), (html_key, ..)] = parts;
        Ok(Written { json_key, md_key, html_key, summary })
    }
}

/// `<sessionId>` of `audit/.../dt=D/<sessionId>.json`.
fn stem(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.strip_suffix(".json").unwrap_or(name).to_string()
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
