//! The session report as a use case: an uploaded transcript in, its compliance report out,
//! over the audit store and the findings sink (the session-report function runs it over S3 and
//! EventBridge).
//!
//! The object is streamed into the engine (never held whole), at the version the event names.
//! The JSON report streams to a file in the work directory and is stored from there, so memory
//! stays bounded whatever the transcript's size. Order, for "nothing lost" and "one report per
//! transcript": the JSON report, then the finding events, then the Markdown — written last, it
//! marks the report complete (its metadata names the transcript version), and a redelivery
//! that finds it changes nothing.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;

use crate::analysis::{Analyzer, Input};
use crate::join::{join, JoinFacts};
use crate::keys;
use crate::live::channels::{Joined, NoLog, SessionLog, StreamCommands, StreamReader};
use crate::outputs::{FindingContext, Metrics};
use crate::report::{CappedCommands, JsonReportWriter, Report, Source, Status};
use crate::session::{SessionRecord, SESSION_SPAN_DAYS};
use crate::sink::{FindingsSink, SinkError};
use crate::store::spool::Spool;
use crate::store::{
    get_json, Attributes, AuditStore, Body, Condition, ObjectInfo, Payload, StoreError, Stored,
};
use crate::upload::{normalise_prefix, session_id, triggers, Trigger, Upload};
use crate::{Failure, FailureKind};

mod replaced;
mod stream;

use replaced::Replaced;

/// The scheduled event's `kind` that reports streamed sessions without a transcript.
pub const STREAM_REPORTS: &str = "stream-reports";

/// Metadata keys on the stored report naming the transcript it came from.
const META_VERSION: &str = "source-version";
const META_ETAG: &str = "source-etag";
/// A transcript arrives at session end, at most [`SESSION_SPAN_DAYS`] after the start, and up
/// to a day later if the agent retried: the record is looked for this many days back.
const RECORD_LOOKBACK_DAYS: i64 = SESSION_SPAN_DAYS + 1;

/// Settings (environment variables, README).
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// `AUDIT_BUCKET` (required): transcripts are read and reports written here.
    pub audit_bucket: String,
    /// `TRANSCRIPT_PREFIX` (`session-logs/`).
    pub transcript_prefix: String,
    /// `MAX_SESSION_MINUTES` (`480`; 0 turns the rule off).
    pub max_session_minutes: u64,
    /// `TRANSCRIPT_GRACE_MINUTES` (`120`): a session whose stream has been quiet this long and
    /// has no report is reported from its stream.
    pub grace_minutes: u64,
    /// Where the JSON report is spooled (`TMPDIR`, `/tmp` in Lambda).
    pub work_dir: PathBuf,
}

impl ReportOptions {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Ok(ReportOptions {
            audit_bucket: get("AUDIT_BUCKET")
                .filter(|b| !b.is_empty())
                .ok_or("AUDIT_BUCKET is required: the log bucket")?,
            transcript_prefix: normalise_prefix(
                &get("TRANSCRIPT_PREFIX").unwrap_or_else(|| "session-logs/".into()),
            ),
            max_session_minutes: crate::config::number(&get, "MAX_SESSION_MINUTES", 480)?,
            grace_minutes: crate::config::number(&get, "TRANSCRIPT_GRACE_MINUTES", 120)?,
            work_dir: std::env::temp_dir(),
        })
    }
}

/// Why an invocation failed; the platform retries it and keeps it in the dead-letter
/// destination.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error("{step} for {transcript}: {error}")]
    Store { step: &'static str, transcript: String, error: Box<StoreError> },
    #[error("{transcript}: {error}")]
    Sink { transcript: String, error: SinkError },
    #[error("{transcript}: {message}")]
    Local { transcript: String, message: String },
}

impl Failure for ReportError {
    fn kind(&self) -> FailureKind {
        match self {
            ReportError::Malformed(_) => FailureKind::MalformedEvent,
            ReportError::Sink { .. } => FailureKind::Sink,
            ReportError::Store { .. } | ReportError::Local { .. } => FailureKind::Store,
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Reported {
        json_key: String,
        md_key: String,
        status: Status,
        commands: u64,
        findings: Vec<String>,
    },
    /// The report for this version exists: a redelivery.
    Duplicate { md_key: String },
    /// Not a transcript (a test event, another prefix, the agent's stderr, our own writes).
    Ignored { reason: String },
}

/// One object of the event and what became of it: what the function answers.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    pub key: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The report use case, built once per process and borrowed by every invocation.
pub struct SessionReport<S, F, L = NoLog> {
    pub store: S,
    pub sink: F,
    /// The transcript log group the agent streams to: each session's stream is read to time
    /// its commands and to check the transcript against it.
    pub log: L,
    pub analyzer: Analyzer,
    pub options: ReportOptions,
}

impl<S: AuditStore, F: FindingsSink, L: SessionLog> SessionReport<S, F, L> {
    /// Report every transcript an S3 event names. All items are processed; the first failure
    /// is returned after the rest.
    pub async fn handle(
        &self,
        input: &Value,
        metrics: &mut Metrics,
    ) -> Result<Vec<Reported>, ReportError> {
        for name in ["SessionsReported", "Commands", "Unparseable", "Truncated"] {
            metrics.add(name, 0.0);
        }
        metrics.add_findings(&[]);
        // The scheduled sweep: sessions that streamed but whose transcript never came.
        if input.get("kind").and_then(Value::as_str) == Some(STREAM_REPORTS) {
            let as_of = match input.get("as_of").and_then(Value::as_str) {
                Some(t) => {
                    t.parse().map_err(|e| ReportError::Malformed(format!("as_of {t:?}: {e}")))?
                }
                None => jiff::Timestamp::now(),
            };
            return self.stream_reports(as_of, metrics).await;
        }
        let mut done = Done::default();
        for trigger in triggers(input).map_err(ReportError::Malformed)? {
            let (upload, removed) = match trigger {
                Trigger::Ignored(reason) => {
                    done.add(String::new(), Ok(Outcome::Ignored { reason }));
                    continue;
                }
                Trigger::Upload(u) => (u, false),
                Trigger::Removed(u) => (u, true),
            };
            let outcome = if upload.bucket != self.options.audit_bucket {
                let reason = format!("bucket {} is not AUDIT_BUCKET", upload.bucket);
                Ok(Outcome::Ignored { reason })
            } else {
                match session_id(&upload.key, &self.options.transcript_prefix) {
                    Err(reason) => Ok(Outcome::Ignored { reason }),
                    // The ID names the report: one that could escape its folder is refused.
                    Ok(id) => match keys::check_id("session ID", &id) {
                        Err(e) => Err(ReportError::Malformed(format!("{}: {e}", upload.key))),
                        Ok(_) if removed => self.removal(&upload, &id, metrics).await,
                        Ok(_) => self.report(&upload, &id, metrics).await,
                    },
                }
            };
            done.add(upload.key, outcome);
        }
        done.finish()
    }

    async fn report(
        &self,
        upload: &Upload,
        session: &str,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ReportError> {
        let transcript = self.store.uri(&upload.key);
        let local =
            |message: String| ReportError::Local { transcript: transcript.clone(), message };
        let (date, record, record_warning) = self
            .filing(session, upload)
            .await
            .map_err(failed(&transcript, "reading the record"))?;
        let key = |ext| {
            keys::report(date, session, ext).map_err(|e| ReportError::Malformed(e.to_string()))
        };
        let (first_json, first_md) = (key("json")?, key("md")?);
        let marker =
            self.store.head(&first_md).await.map_err(failed(&transcript, "checking the report"))?;
        // A report of another version exists: the transcript was replaced after it was
        // reported. That report is evidence and stays; this version is reported beside it.
        let replaced = match marker {
            // A report made from the stream while the transcript was late: the transcript's
            // report takes its place.
            Some(m) if stream::from_stream(&m) => None,
            Some(m) if reports(&m, upload) => {
                tracing::info!(key = %upload.key, md_key = first_md, "duplicate delivery");
                return Ok(Outcome::Duplicate { md_key: first_md });
            }
            Some(m) => Some(Replaced::new(m, first_md.clone(), upload)),
            None => None,
        };
        let (json_key, md_key) = match &replaced {
            None => (first_json, first_md),
            Some(r) => {
                let key = |ext| {
                    keys::replaced_report(date, session, &r.tag, ext)
                        .map_err(|e| ReportError::Malformed(e.to_string()))
                };
                let (json_key, md_key) = (key("json")?, key("md")?);
                let again = self
                    .store
                    .head(&md_key)
                    .await
                    .map_err(failed(&transcript, "checking the report"))?;
                if again.is_some_and(|m| reports(&m, upload)) {
                    return Ok(Outcome::Duplicate { md_key });
                }
                (json_key, md_key)
            }
        };

        let spool = Spool::new(&self.options.work_dir, "session-report");
        let file = std::fs::File::create(&spool.0)
            .map_err(|e| local(format!("cannot spool the report to {}: {e}", spool.0.display())))?;
        let json = JsonReportWriter::start_with(BufWriter::new(file), true)
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        let stream = self.read_stream(session).await?;
        let joined = Joined::new((json, CappedCommands::default()), stream);
        let mut analysis = self.analyzer.start(joined);
        let mut source = Source {
            bucket: Some(upload.bucket.clone()),
            key: Some(upload.key.clone()),
            version_id: upload.version_id.clone(),
            etag: upload.etag.clone(),
            ..Source::default()
        };
        let mut uploaded_at = upload.time.clone();
        let opened =
            self.open(upload).await.map_err(failed(&transcript, "reading the transcript"))?;
        let gone = opened.is_none();
        if let Some((info, mut body)) = opened {
            source.version_id = info.version.or(source.version_id);
            source.etag = info.etag.map(|e| e.trim_matches('"').to_string()).or(source.etag);
            uploaded_at = info.last_modified.or(uploaded_at);
            let mut read = 0u64;
            // A broken download is an error (retried), never a "truncated" report.
            while let Some(chunk) =
                body.next_chunk().await.map_err(failed(&transcript, "reading the transcript"))?
            {
                read += chunk.len() as u64;
                analysis.feed(&chunk).map_err(|e| local(e.to_string()))?;
            }
            if let Some(expected) = info.length.filter(|n| *n != read) {
                return Err(local(format!("read {read} of {expected} bytes")));
            }
        }
        let input = Input { source, session_id: Some(session.to_string()) };
        let (mut report, joined) = analysis.finish(input).map_err(|e| local(e.to_string()))?;
        let ((json, capped), comparison) = joined.finish();
        if gone {
            report.status_reason = Some(format!(
                "the transcript object is gone: {} (version {})",
                upload.key,
                upload.version_id.as_deref().unwrap_or("latest")
            ));
        }
        if let Some(w) = record_warning {
            report.stats.parse_warnings.push(w);
        }
        let carried = record.as_ref().map_or(0, |r| r.findings.len());
        let facts = JoinFacts {
            uploaded_at,
            first_prompt: capped.kept.first().map(|c| c.prompt.as_str()),
            max_session_minutes: self.options.max_session_minutes,
        };
        join(&mut report, record.as_ref(), &facts, &self.analyzer.rules);
        if let Some(c) = comparison {
            report.stats.parse_warnings.extend(c.not_compared(report.stats.commands));
            if let Some(evidence) = c.disagreement() {
                self.add_session_finding(&mut report, "channels_disagree", evidence);
            }
            report.stats.channels = Some(c.channels);
        }
        if let Some(r) = &replaced {
            let evidence = r.evidence(&transcript, &report);
            self.add_session_finding(&mut report, "transcript_replaced", evidence);
        }
        let attributes = |content_type: &str| marked(content_type, upload, &report);
        let attributes =
            (attributes("application/json"), attributes("text/markdown; charset=utf-8"));
        let origin = origin(upload, report.source.etag.as_deref());
        let ctx = self.context(&report, record.as_ref(), &origin, &json_key);
        let to = Written { transcript: &transcript, json_key, md_key, spool: &spool, attributes };
        self.store_report(report, (json, capped), to, ctx, carried, metrics).await
    }

    /// Store a finished report: the spooled JSON (its tail written now), the finding events
    /// not carried from the record, then the Markdown that marks it complete; count it.
    async fn store_report(
        &self,
        report: Report,
        (json, capped): (JsonReportWriter<BufWriter<std::fs::File>>, CappedCommands),
        to: Written<'_>,
        ctx: FindingContext,
        carried: usize,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ReportError> {
        let transcript = to.transcript.to_string();
        let local =
            |message: String| ReportError::Local { transcript: transcript.clone(), message };
        let mut file = json
            .finish(&report.tail())
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        file.flush().map_err(|e| local(format!("cannot write the report: {e}")))?;
        drop(file);
        let payload = Payload::File(to.spool.0.clone());
        self.store
            .put(&to.json_key, payload, &to.attributes.0, &Condition::Always)
            .await
            .map_err(failed(&transcript, "writing the report"))?;
        let fresh = &report.findings[carried.min(report.findings.len())..];
        self.sink
            .publish(fresh, &ctx)
            .await
            .map_err(|error| ReportError::Sink { transcript: transcript.clone(), error })?;
        let mut with_commands = report.clone();
        with_commands.commands = capped.kept;
        let md = with_commands.to_markdown(capped.omitted);
        self.store
            .put(&to.md_key, Payload::Bytes(md.into_bytes()), &to.attributes.1, &Condition::Always)
            .await
            .map_err(failed(&transcript, "writing the report"))?;
        metrics.add("SessionsReported", 1.0).add("Commands", report.stats.commands as f64);
        match report.status {
            Status::Unparseable => metrics.add("Unparseable", 1.0),
            Status::Truncated => metrics.add("Truncated", 1.0),
            _ => metrics,
        };
        metrics.add_findings(fresh);
        Ok(Outcome::Reported {
            json_key: to.json_key,
            md_key: to.md_key,
            status: report.status,
            commands: report.stats.commands,
            findings: report.findings.iter().map(|f| f.rule_id.clone()).collect(),
        })
    }

    /// The finding of the session rule for `condition` (unless the pack disabled it), counted
    /// in the stats; a compliant report with it is not compliant any more.
    fn add_session_finding(&self, report: &mut Report, condition: &str, evidence: String) {
        let Some(f) = self.analyzer.rules.session_finding(condition, evidence) else { return };
        *report.stats.findings_by_severity.entry(f.severity).or_insert(0) += 1;
        if report.status == Status::Compliant && f.severity >= crate::Severity::Low {
            report.status = Status::NonCompliant;
        }
        report.findings.push(f);
    }

    /// The day a session's reports are filed under (its record's start, else the event's day),
    /// with the record and a warning when the record does not read.
    async fn filing(
        &self,
        session: &str,
        upload: &Upload,
    ) -> Result<(Date, Option<SessionRecord>, Option<String>), StoreError> {
        let day = |t: &str| t.get(..10).and_then(|d| d.parse::<Date>().ok());
        let upload_day = upload.time.as_deref().and_then(day);
        let (record, warning) = self.find_record(session, upload_day).await?;
        let date = record
            .as_ref()
            .and_then(|r| day(&r.started_at))
            .or(upload_day)
            .unwrap_or_else(|| jiff::Zoned::now().date());
        Ok((date, record, warning))
    }

    /// The transcript at the version the event names; a classic notification's key as it was
    /// sent is tried when the decoded one does not exist.
    async fn open(&self, u: &Upload) -> Result<Option<(ObjectInfo, S::Body)>, StoreError> {
        let version = u.version_id.as_deref();
        match self.store.open(&u.key, version).await? {
            None if u.raw_key != u.key => self.store.open(&u.raw_key, version).await,
            found => Ok(found),
        }
    }

    /// The session record, looked for on the upload's date and the days before; a record
    /// that cannot be read is reported as a warning, not trusted.
    async fn find_record(
        &self,
        session: &str,
        upload_day: Option<Date>,
    ) -> Result<(Option<SessionRecord>, Option<String>), StoreError> {
        let day = upload_day.unwrap_or_else(|| jiff::Zoned::now().date());
        for back in 0..=RECORD_LOOKBACK_DAYS {
            let Ok(date) = day.checked_sub(jiff::Span::new().days(back)) else { continue };
            let Ok(key) = keys::session_record(date, session) else { continue };
            match get_json::<SessionRecord>(&self.store, &key).await? {
                Some(Stored { value: Ok(r), .. }) => return Ok((Some(r), None)),
                Some(Stored { value: Err(why), .. }) => {
                    return Ok((None, Some(format!("session record {key} is unreadable: {why}"))))
                }
                None => {}
            }
        }
        Ok((None, None))
    }

    fn context(
        &self,
        report: &Report,
        record: Option<&SessionRecord>,
        origin_id: &str,
        json_key: &str,
    ) -> FindingContext {
        FindingContext {
            origin_id: origin_id.to_string(),
            session_id: Some(report.session_id.clone()),
            time: report.ended_at.clone().unwrap_or_default(),
            account: record.and_then(|r| r.account.clone()),
            region: record.map(|r| r.region.clone()).unwrap_or_default(),
            principal: record
                .map(|r| r.identity.arn.clone().unwrap_or(r.identity.principal.clone())),
            person: record.and_then(|r| r.identity.person.clone()),
            target: record.and_then(|r| r.target.clone()),
            record: self.store.uri(json_key),
            stage: "report",
        }
    }
}

/// A store failure at `step` while handling `transcript`.
fn failed<'a>(
    transcript: &'a str,
    step: &'static str,
) -> impl FnOnce(StoreError) -> ReportError + 'a {
    move |error| ReportError::Store {
        step,
        transcript: transcript.to_string(),
        error: Box::new(error),
    }
}

/// Whether the stored report `marker` was made from the transcript version `u` names.
fn reports(marker: &ObjectInfo, u: &Upload) -> bool {
    let get = |k: &str| marker.metadata.get(k).map(String::as_str);
    match (&u.version_id, &u.etag) {
        (Some(v), _) => get(META_VERSION) == Some(v.as_str()),
        (None, Some(e)) => get(META_ETAG) == Some(e.trim_matches('"')),
        (None, None) => false,
    }
}

/// What became of each item of an invocation, and its first failure: every item is tried,
/// and the first failure is returned after the rest (the platform retries the invocation;
/// the items done already find their reports and change nothing).
#[derive(Default)]
struct Done {
    done: Vec<Reported>,
    first_error: Option<ReportError>,
}

impl Done {
    fn add(&mut self, key: String, outcome: Result<Outcome, ReportError>) {
        match outcome {
            Ok(outcome) => self.done.push(Reported { key, outcome }),
            Err(e) => {
                tracing::error!(key, error = %e, "not reported");
                self.first_error.get_or_insert(e);
            }
        }
    }

    fn finish(self) -> Result<Vec<Reported>, ReportError> {
        match self.first_error {
            Some(e) => Err(e),
            None => Ok(self.done),
        }
    }
}

/// Where a finished report goes: its keys, the spooled JSON, and the input named in errors.
struct Written<'a> {
    transcript: &'a str,
    json_key: String,
    md_key: String,
    spool: &'a Spool,
    /// The JSON's and the Markdown's attributes.
    attributes: (Attributes, Attributes),
}

/// The origin of a transcript's findings: the object at its version, else its ETag (with the
/// rule ID it makes `finding_id`, stable across redeliveries).
fn origin(u: &Upload, etag: Option<&str>) -> String {
    let at = u.version_id.as_deref().or(etag).unwrap_or("");
    format!("s3://{}/{}#{at}", u.bucket, u.key)
}

/// A stored report's attributes: its content type and the transcript it came from.
fn marked(content_type: &str, u: &Upload, report: &Report) -> Attributes {
    let mut attributes = Attributes::of(content_type);
    let meta = &mut attributes.metadata;
    meta.insert("report-status".into(), report.status.as_str().into());
    if let Some(v) = u.version_id.as_deref() {
        meta.insert(META_VERSION.into(), v.into());
    }
    if let Some(e) = report.source.etag.as_deref().or(u.etag.as_deref()) {
        meta.insert(META_ETAG.into(), e.trim_matches('"').into());
    }
    attributes
}
