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
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::finding::Finding;
use crate::keys::{Beside, Filed, Place};
use crate::ports::sink::{FindingsSink, SinkError};
use crate::ports::store::spool::Read;
use crate::ports::store::{Attributes, AuditStore, Condition, Payload, StoreError};
use crate::publish::{FindingContext, Metrics};
use crate::rules::RulePack;
use crate::session::findings::BusinessHours;
use crate::session::{DeniedRecord, SessionRecord};
use crate::summary::Tallies;
use crate::summary::{
    html, markdown, Aggregator, Coverage, Kind, MissingTranscript, Pair, Period, ReportDigest,
    Summary, SummaryConfig, UnreadableReport,
};

/// Reports up to this size are read into memory; larger ones are spooled to disk.
const REPORT_IN_MEMORY: usize = 1 << 20;
use crate::{Failure, FailureKind};

/// Settings (read by [`crate::settings`]).
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// `SUMMARY_CONCURRENCY` (`32`): reads in flight.
    pub concurrency: usize,
    /// `BUSINESS_HOURS`, parsed and as written.
    pub business_hours: BusinessHours,
    /// `BUSINESS_HOURS` as written, for the summary's heading.
    pub business_hours_text: String,
    /// `TRANSCRIPT_GRACE_MINUTES`.
    pub grace_minutes: u64,
}

impl SummaryOptions {
    /// The aggregation's configuration for a summary made at `as_of`.
    pub fn config(&self, as_of: Timestamp) -> SummaryConfig {
        SummaryConfig {
            business_hours: self.business_hours.clone(),
            business_hours_text: self.business_hours_text.clone(),
            grace_minutes: self.grace_minutes,
            as_of,
        }
    }
}

/// What one invocation is asked to summarise: the schedule's `Input`
/// (`{"kind": "daily"}` or `{"kind": "weekly"}`), optionally with `period` (`2026-11-27`,
/// `2026-W48`) to redo a past one and `as_of` (RFC 3339) to judge completeness at a given time.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The period to summarise.
    pub period: Period,
    /// The time completeness is judged at.
    pub as_of: Timestamp,
}

message_error!(
    /// A scheduled event that does not say which summary to make, and why.
    BadRequest
);

impl Request {
    /// The summary an invocation's event asks for (`now` when it names no `as_of`).
    pub fn parse(event: &Value, now: Timestamp) -> Result<Request, BadRequest> {
        let text = |k: &str| event.get(k).and_then(Value::as_str);
        let kind: Kind = text("kind")
            .ok_or(
                r#"no "kind": set the schedule's Input to {"kind":"daily"} or {"kind":"weekly"}"#,
            )?
            .parse::<Kind>()
            .map_err(|e| BadRequest(e.0))?;
        if kind == Kind::Custom {
            return Err("kind custom is for the CLI".into());
        }
        let as_of = match text("as_of") {
            Some(t) => t.parse().map_err(|_| format!("as_of '{t}' is not an RFC 3339 time"))?,
            None => now,
        };
        let period = match text("period") {
            Some(label) => Period::parse(kind, label).map_err(|e| BadRequest(e.0))?,
            None => Period::last_complete(kind, as_of),
        };
        Ok(Request { period, as_of })
    }
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The event does not say which summary to make.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The audit store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing-transcript findings could not be published.
    #[error("missing-transcript findings of {sessions} session(s) from {first}: {error}")]
    Sink {
        /// How many sessions had a finding to publish.
        sessions: usize,
        /// The first of them.
        first: String,
        /// What the sink answered.
        error: SinkError,
    },
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
    /// The period's label.
    pub period: String,
    /// Sessions in it.
    pub sessions: u64,
    /// The headline: privileged sessions with a full transcript.
    pub percent_full_transcript: Option<f64>,
    /// The JSON summary's key.
    #[serde(rename = "json")]
    pub json_key: String,
    /// The Markdown summary's key.
    #[serde(rename = "md")]
    pub md_key: String,
    /// The HTML summary's key.
    #[serde(rename = "html")]
    pub html_key: String,
    /// The summary itself.
    #[serde(skip)]
    pub summary: Summary,
}

/// The access summary, built once per process and borrowed by every invocation.
pub struct AccessSummary<S, F> {
    /// Where records and reports are read and summaries written.
    pub store: S,
    /// Where missing-transcript findings are published.
    pub sink: F,
    /// The rule pack (titles and severities of the findings counted).
    pub pack: RulePack,
    /// The settings.
    pub options: SummaryOptions,
}

impl<S: AuditStore, F: FindingsSink> AccessSummary<S, F> {
    /// Summarise the period the event asks for and store the three renderings.
    pub async fn handle(
        &self,
        event: &Value,
        metrics: &mut Metrics,
    ) -> Result<Written, SummaryError> {
        let request =
            Request::parse(event, Timestamp::now()).map_err(|e| SummaryError::Malformed(e.0))?;
        let config = self.options.config(request.as_of);
        let period = request.period.clone();
        let mut agg = Aggregator::new(period.clone(), config, &self.pack);
        let mut merged = 0;
        for day in period.days() {
            let listing = DayListing::of(&self.store, day).await?;
            if period.kind == Kind::Weekly && self.merge_part(&listing, &request, &mut agg).await? {
                merged += 1;
                continue;
            }
            let seen =
                fold_listed(&self.store, &listing, &mut agg, self.options.concurrency).await?;
            tracing::info!(%day, sessions = seen.sessions, denied = seen.denied, "day summarised");
            if period.kind == Kind::Daily {
                self.write_part(&listing, &request, agg.tallies()).await?;
            }
            // Each missing transcript becomes a finding event once: from the daily run (the
            // weekly one sees the same sessions). Its ID (account/region/session:rule) is stable, so a rerun
            // repeats it and consumers drop the repeat. Drained per day, so a bad day's list
            // never piles up over a week.
            let missing = agg.take_missing_findings();
            if period.kind == Kind::Daily {
                self.publish_missing(&missing).await?;
                metrics.add_findings(missing.iter().map(|m| &m.finding));
            }
        }
        if period.kind == Kind::Weekly {
            tracing::info!(
                merged,
                of = period.days().count(),
                "days merged from their daily parts"
            );
            metrics.add("SummaryDaysMerged", merged as f64);
        }
        let baseline = self.baseline(&period, &mut agg).await?;
        let summary = agg.finish(baseline);
        let written = self.write(&period, summary).await?;
        headline_metrics(&written.summary, metrics);
        Ok(written)
    }

    /// A day's daily tallies, written beside its summary, so the week can merge them.
    async fn write_part(
        &self,
        listing: &DayListing,
        request: &Request,
        tallies: &Tallies,
    ) -> Result<(), SummaryError> {
        let part = DayPart {
            schema: PART_SCHEMA.into(),
            day: listing.day.to_string(),
            as_of: request.as_of.to_string(),
            fingerprint: listing.fingerprint.clone(),
            tallies: tallies.clone(),
        };
        let body = serde_json::to_vec(&part).expect("parts serialise");
        let key = Period::daily(listing.day).key("part.json");
        let attributes = Attributes::of("application/json");
        self.store.put(&key, Payload::Bytes(body), &attributes, &Condition::Always).await?;
        Ok(())
    }

    /// Merge the day's part into a weekly `agg` when it still counts exactly what folding the
    /// day now would: written for this day, from the same objects (the listing's fingerprint:
    /// keys and ETags), judged no earlier than this run, nothing pending then and nothing of
    /// another day in it (every object of the day is then in the week, and every session's
    /// coverage is final). Anything else (no part, a part that does not read): fold the day.
    async fn merge_part(
        &self,
        listing: &DayListing,
        request: &Request,
        agg: &mut Aggregator,
    ) -> Result<bool, SummaryError> {
        let key = Period::daily(listing.day).key("part.json");
        let Some(object) = self.store.get(&key, None).await? else { return Ok(false) };
        let part = match serde_json::from_slice::<DayPart>(&object.bytes) {
            Ok(p) if p.schema == PART_SCHEMA => p,
            Ok(p) => {
                tracing::info!(%key, schema = p.schema, "daily part of another schema: day folded");
                return Ok(false);
            }
            Err(e) => {
                tracing::info!(%key, error = %e, "daily part unreadable: day folded");
                return Ok(false);
            }
        };
        let judged_before = part.as_of.parse::<Timestamp>().is_ok_and(|t| t <= request.as_of);
        let usable = part.day == listing.day.to_string()
            && part.fingerprint == listing.fingerprint
            && judged_before
            && part.tallies.is_final();
        if usable {
            agg.merge(part.tallies);
        } else {
            tracing::info!(%key, "daily part out of date: day folded");
        }
        Ok(usable)
    }

    /// One finding event per missing transcript, the day's in as few requests as the sink
    /// allows (EventBridge: ten per PutEvents).
    async fn publish_missing(&self, missing: &[MissingTranscript]) -> Result<(), SummaryError> {
        let items: Vec<(Finding, FindingContext)> = missing
            .iter()
            .map(|m| {
                let ctx = FindingContext {
                    origin_id: crate::publish::session_origin(
                        m.account.as_deref(),
                        &m.region,
                        &m.session.session_id,
                    ),
                    session_id: Some(m.session.session_id.clone()),
                    time: m.session.started_at.clone().unwrap_or_default(),
                    account: m.account.clone(),
                    region: m.region.clone(),
                    principal: Some(m.principal.clone()),
                    person: m.person.clone(),
                    target: Some(m.session.instance.clone()),
                    record: self.store.uri(&m.record_key),
                    stage: "summary",
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
    /// Session records of the day.
    pub sessions: u64,
    /// Denied attempts of the day.
    pub denied: u64,
}

const PART_SCHEMA: &str = "session-audit/summary-part/v1";

/// A daily run's tallies, stored as `audit/summaries/daily/<day>.part.json`.
#[derive(Debug, Serialize, Deserialize)]
struct DayPart {
    schema: String,
    day: String,
    /// The run's `as_of`: coverage was judged then.
    as_of: String,
    /// The day's listing it counted ([`DayListing::fingerprint`]).
    fingerprint: String,
    tallies: Tallies,
}

/// What is filed under one `dt=` day: session records, reports, denied attempts, GuardDuty
/// correlations, preferences changes.
pub struct DayListing {
    /// The day listed.
    pub day: Date,
    sessions: Vec<String>,
    reports: Vec<String>,
    /// Reports filed beside a session's own: later versions of transcripts already reported,
    /// and uploads that are not the session's evidence.
    beside: Vec<(Beside, String)>,
    denied: Vec<String>,
    /// GuardDuty findings' correlations filed that day.
    guardduty: Vec<String>,
    /// Changes to a place's Session Manager preferences filed that day.
    preferences: Vec<String>,
    /// A digest of every key and ETag listed: equal only if no object was added, removed or
    /// changed in place.
    pub fingerprint: String,
}

impl DayListing {
    /// The day's record, denied-attempt and report keys, listed once.
    pub async fn of(store: &impl AuditStore, day: Date) -> Result<DayListing, StoreError> {
        use sha2::Digest;
        let mut digest = sha2::Sha256::new();
        let mut lists = Vec::new();
        let kinds =
            [Filed::Session, Filed::Report, Filed::Denied, Filed::GuardDuty, Filed::Preferences];
        for kind in kinds {
            let entries = store.list(&kind.day_prefix(day)).await?;
            for e in &entries {
                digest.update(e.key.as_bytes());
                digest.update([0]);
                digest.update(e.etag.as_bytes());
                digest.update([b'\n']);
            }
            let json = entries.into_iter().map(|e| e.key).filter(|k| k.ends_with(".json"));
            lists.push(json.collect::<Vec<_>>());
        }
        let fingerprint = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let [sessions, all_reports, denied, guardduty, preferences] =
            <[Vec<String>; 5]>::try_from(lists).expect("five");
        let (mut beside, mut reports) = (Vec::new(), Vec::new());
        for key in all_reports {
            match crate::keys::parse_beside(&key) {
                Some(b) => beside.push((b.beside, key)),
                None => reports.push(key),
            }
        }
        Ok(DayListing {
            day,
            sessions,
            reports,
            beside,
            denied,
            guardduty,
            preferences,
            fingerprint,
        })
    }
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
    fold_listed(store, &DayListing::of(store, day).await?, agg, concurrency).await
}

/// A session's record key and report key, either of which may be missing.
type Halves = (Option<String>, Option<String>);

/// A session that started before places and was reported after them has its record without a
/// place and its report under one (or the other way round): the two halves of one ID, each
/// alone, are one session.
fn pair_across_layouts(joined: &mut BTreeMap<(String, Option<Place>), Halves>) {
    let unplaced: Vec<String> =
        joined.keys().filter(|(_, p)| p.is_none()).map(|(id, _)| id.clone()).collect();
    for id in unplaced {
        let placed: Vec<Option<Place>> = joined
            .range((id.clone(), None)..)
            .take_while(|((i, _), _)| *i == id)
            .map(|((_, p), _)| p.clone())
            .filter(Option::is_some)
            .collect();
        let [place] = &placed[..] else { continue };
        let (old, new) = (&joined[&(id.clone(), None)], &joined[&(id.clone(), place.clone())]);
        let one_half = |p: &Halves| p.0.is_some() != p.1.is_some();
        if one_half(old) && one_half(new) && old.0.is_some() != new.0.is_some() {
            let old = joined.remove(&(id.clone(), None)).unwrap_or_default();
            let new = joined.entry((id, place.clone())).or_default();
            new.0 = new.0.take().or(old.0);
            new.1 = new.1.take().or(old.1);
        }
    }
}

/// [`fold_day`] over a listing already made.
pub async fn fold_listed(
    store: &impl AuditStore,
    listing: &DayListing,
    agg: &mut Aggregator,
    concurrency: usize,
) -> Result<DaySeen, StoreError> {
    let sessions = listing.sessions.iter().cloned();
    let reports = listing.reports.iter().cloned();
    let denied = listing.denied.clone();
    // (Session ID, place) -> (record key, report key): the day's join.
    let mut joined: BTreeMap<(String, Option<Place>), Halves> = BTreeMap::new();
    for (kind, keys) in
        [(Filed::Session, sessions.collect::<Vec<_>>()), (Filed::Report, reports.collect())]
    {
        for key in keys {
            let Some((place, id, _)) = kind.parse(&key) else {
                agg.corrupt(store.uri(&key), "not a key of the audit layout");
                continue;
            };
            let entry = joined.entry((id.to_string(), place)).or_default();
            match kind {
                Filed::Report => entry.1 = Some(key),
                _ => entry.0 = Some(key),
            }
        }
    }
    pair_across_layouts(&mut joined);
    let mut seen = DaySeen::default();
    let fetch = |key: Option<String>| async move {
        match key {
            Some(key) => store.get(&key, None).await.map(|o| Some((key, o.map(|o| o.bytes)))),
            None => Ok(None),
        }
    };
    // Reports can be of any size (millions of commands): small ones are read into memory as
    // the reads overlap; a larger one is left to the loop below, which spools it to disk and
    // parses it from there, one at a time.
    let open_small = |key: Option<String>| async move {
        let Some(key) = key else { return Ok(None) };
        let Some((info, body)) = store.open(&key, None).await? else {
            return Ok(Some((key, None)));
        };
        if info.length.is_none_or(|n| n > REPORT_IN_MEMORY as u64) {
            return Ok(Some((key, Some(Fetched::TooLarge))));
        }
        let (dir, uri) = (std::env::temp_dir(), store.uri(&key));
        let read = Read::from(body, REPORT_IN_MEMORY, &dir, &uri).await?;
        Ok::<_, StoreError>(Some((key, Some(Fetched::Read(read)))))
    };
    let mut pairs = stream::iter(joined.into_values())
        .map(|(record, report)| async move {
            // One after the other, so `concurrency` bounds requests, not pairs.
            let a = fetch(record).await;
            let b = open_small(report).await;
            (a, b)
        })
        .buffered(concurrency.max(1));
    while let Some((record, report)) = pairs.next().await {
        let record = readable(store, record?, agg, |b, _| {
            serde_json::from_slice::<SessionRecord>(&b)
                .map_err(|e| format!("not a session record: {e}"))
        });
        let report = match report? {
            Some((key, Some(Fetched::TooLarge))) => {
                let read = spool_large(store, &key).await?;
                Some((key, read))
            }
            Some((key, Some(Fetched::Read(read)))) => Some((key, Some(read))),
            Some((key, None)) => Some((key, None)),
            None => None,
        };
        let report = readable(store, report, agg, |read, agg| digest(read, agg.command_sink()));
        if record.is_some() || report.is_some() {
            seen.sessions += u64::from(agg.session(record.as_ref(), report.as_ref()));
        }
    }
    for (kind, key) in &listing.beside {
        let read = spool_large(store, key).await?.map(|r| (key.clone(), Some(r)));
        // Its commands are not the session's: only its finding counts.
        if let Some(d) = readable(store, read, agg, |read, _| digest(read, |_, _| {})) {
            agg.beside(*kind, &d, key);
        }
    }
    let mut attempts =
        stream::iter(denied).map(|key| fetch(Some(key))).buffered(concurrency.max(1));
    while let Some(attempt) = attempts.next().await {
        let attempt = readable(store, attempt?, agg, |b, _| {
            serde_json::from_slice::<DeniedRecord>(&b)
                .map_err(|e| format!("not a denied-attempt record: {e}"))
        });
        if let Some(d) = attempt {
            seen.denied += u64::from(agg.denied(&d));
        }
    }
    fold_each(
        store,
        &listing.guardduty,
        agg,
        concurrency,
        "a GuardDuty correlation",
        |agg, c, uri| agg.guardduty(&c, uri),
    )
    .await?;
    fold_each(
        store,
        &listing.preferences,
        agg,
        concurrency,
        "a preferences change",
        |agg, c, uri| agg.preferences(&c, uri),
    )
    .await?;
    Ok(seen)
}

/// Each JSON object at `keys` read (at most `concurrency` in flight) as a `T` and added to
/// `agg` with its URI; one that vanished or is not `what` is listed as unreadable.
async fn fold_each<T: serde::de::DeserializeOwned>(
    store: &impl AuditStore,
    keys: &[String],
    agg: &mut Aggregator,
    concurrency: usize,
    what: &str,
    mut add: impl FnMut(&mut Aggregator, T, String),
) -> Result<(), StoreError> {
    let fetch = |key: String| async move {
        store.get(&key, None).await.map(|o| Some((key, o.map(|o| o.bytes))))
    };
    let mut reads = stream::iter(keys.to_vec()).map(fetch).buffered(concurrency.max(1));
    while let Some(read) = reads.next().await {
        let read = read?;
        let uri = read.as_ref().map(|(key, _)| store.uri(key)).unwrap_or_default();
        let parsed = readable(store, read, agg, |b, _| {
            serde_json::from_slice::<T>(&b).map_err(|e| format!("not {what}: {e}"))
        });
        if let Some(v) = parsed {
            add(agg, v, uri);
        }
    }
    Ok(())
}

/// The digest of a report read into memory or spooled to disk.
fn digest(read: Read, command: impl FnMut(&str, bool)) -> Result<ReportDigest, UnreadableReport> {
    match read {
        Read::Memory(bytes) => ReportDigest::parse(&bytes, command),
        Read::Spooled(spool) => {
            let file = std::fs::File::open(&spool.0).map_err(|e| e.to_string())?;
            ReportDigest::parse_reader(std::io::BufReader::with_capacity(1 << 16, file), command)
        }
    }
}

/// A report as the overlapping reads leave it: read, or too large to read there.
enum Fetched {
    Read(Read),
    TooLarge,
}

/// A report too large for memory, spooled to disk (`None`: it vanished meanwhile).
async fn spool_large(store: &impl AuditStore, key: &str) -> Result<Option<Read>, StoreError> {
    let Some((_, body)) = store.open(key, None).await? else { return Ok(None) };
    let (dir, uri) = (std::env::temp_dir(), store.uri(key));
    Ok(Some(Read::from(body, REPORT_IN_MEMORY, &dir, &uri).await?))
}

/// The object read for a key, parsed by `parse`; one that vanished or does not parse is
/// counted and listed as unreadable.
fn readable<B, T, E: std::fmt::Display>(
    store: &impl AuditStore,
    read: Option<(String, Option<B>)>,
    agg: &mut Aggregator,
    parse: impl FnOnce(B, &mut Aggregator) -> Result<T, E>,
) -> Option<T> {
    let (key, bytes) = read?;
    let Some(bytes) = bytes else {
        agg.corrupt(store.uri(&key), "deleted while the summary ran");
        return None;
    };
    match parse(bytes, agg) {
        Ok(v) => Some(v),
        Err(e) => {
            agg.corrupt(store.uri(&key), e.to_string());
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
