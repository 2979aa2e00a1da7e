//! The session report's use case type, its settings and errors, and the steps its paths share
//! (finding the session record, storing a finished report, the findings' context).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use jiff::civil::Date;
use serde::Serialize;

use crate::analysis::Analyzer;
use crate::ports::session_log::{NoLog, SessionLog};
use crate::ports::sink::{FindingsSink, SinkError};
use crate::ports::store::find_session_record;
use crate::ports::store::spool::Spool;
use crate::ports::store::{Attributes, AuditStore, Condition, ObjectInfo, Payload, StoreError};
use crate::publish::{FindingContext, Metrics};
use crate::report::{CappedCommands, JsonReportWriter, Report, Status};
use crate::session::SessionRecord;
use crate::upload::Upload;
use crate::{Failure, FailureKind};

/// The scheduled event's `kind` that reports streamed sessions without a transcript.
pub const STREAM_REPORTS: &str = "stream-reports";

/// Metadata keys on the stored report naming the transcript it came from.
pub(super) const META_VERSION: &str = "source-version";
pub(super) const META_ETAG: &str = "source-etag";

/// Metadata on a report made from the stream.
pub(super) const META_SOURCE_KIND: &str = "source-kind";
pub(super) const SOURCE_STREAM: &str = "stream";
/// Whether a stored report (its Markdown marker) was made from the stream.
pub(super) fn from_stream(marker: &ObjectInfo) -> bool {
    marker.metadata.get(META_SOURCE_KIND).map(String::as_str) == Some(SOURCE_STREAM)
}

/// Whether a stored report (its JSON or Markdown) was made from the transcript version `u`.
pub(super) fn reports(marker: &ObjectInfo, u: &Upload) -> bool {
    let get = |k: &str| marker.metadata.get(k).map(String::as_str);
    match (&u.version_id, &u.etag) {
        (Some(v), _) => get(META_VERSION) == Some(v.as_str()),
        (None, Some(e)) => get(META_ETAG) == Some(e.trim_matches('"')),
        (None, None) => false,
    }
}

/// Settings (read by [`crate::settings`]).
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
    /// `MAX_TRANSCRIPT_MIB` (`2048`): a transcript is read up to here, the report truncated
    /// past it (the spool in `/tmp` and the invocation's time stay bounded).
    pub max_transcript_mib: u64,
    /// The hub's own account and region (`ACCOUNT_ID`, `AWS_REGION`): where keys without a
    /// place belong.
    pub home: crate::keys::Home,
    /// `SWEEP_BATCH` (`500`): quiet sessions the hourly sweep looks at per invocation; the
    /// next one goes on after the last (anyone with the instance role can make streams, so
    /// one run must not have to read them all).
    pub sweep_batch: usize,
}

impl ReportOptions {
    /// The cap in bytes.
    pub fn max_transcript_bytes(&self) -> u64 {
        self.max_transcript_mib.saturating_mul(1 << 20)
    }
}

/// Why an invocation failed; the platform retries it and keeps it in the dead-letter
/// destination.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The event names no transcript that can be reported.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The audit store failed at `step`.
    #[error("{step} for {transcript}: {error}")]
    Store {
        /// What the report was doing.
        step: &'static str,
        /// The transcript it was for.
        transcript: String,
        /// What the store answered.
        error: Box<StoreError>,
    },
    /// The findings sink failed.
    #[error("{transcript}: {error}")]
    Sink {
        /// The transcript whose findings were published.
        transcript: String,
        /// What the sink answered.
        error: SinkError,
    },
    /// The work directory failed (spooling the report).
    #[error("{transcript}: {message}")]
    Local {
        /// The transcript it was for.
        transcript: String,
        /// What went wrong.
        message: String,
    },
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
    /// The report was written.
    Reported {
        /// The JSON report's key.
        json_key: String,
        /// The Markdown report's key.
        md_key: String,
        /// The report's verdict.
        status: Status,
        /// Commands in it.
        commands: u64,
        /// The IDs of the findings published.
        findings: Vec<String>,
    },
    /// The report for this version exists: a redelivery.
    /// The report for this version exists: a redelivery.
    Duplicate {
        /// The existing report's Markdown key.
        md_key: String,
    },
    /// Not a transcript (a test event, another prefix, the agent's stderr, our own writes).
    /// Not a transcript (a test event, another prefix, the agent's stderr, our own writes).
    Ignored {
        /// Why it is not a transcript to report.
        reason: String,
    },
}

/// One object of the event and what became of it: what the function answers.
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    /// The object's key.
    pub key: String,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The report use case, built once per process and borrowed by every invocation.
pub struct SessionReport<S, F, L = NoLog> {
    /// Where transcripts are read and reports written.
    pub store: S,
    /// Where findings are published.
    pub sink: F,
    /// The transcript log group the agent streams to: each session's stream is read to time
    /// its commands and to check the transcript against it.
    pub log: L,
    /// The engine, with its rules and redaction.
    pub analyzer: Analyzer,
    /// The settings.
    pub options: ReportOptions,
}

impl<S: AuditStore, F: FindingsSink, L: SessionLog> SessionReport<S, F, L> {
    /// Store a finished report: the spooled JSON (its tail written now), the finding events
    /// not carried from the record, then the Markdown that marks it complete; count it.
    /// `Ok(None)`: the session's slot changed since it was claimed (nothing counted).
    pub(super) async fn store_report(
        &self,
        report: Report,
        (json, capped): (JsonReportWriter<BufWriter<std::fs::File>>, CappedCommands),
        to: Written<'_>,
        ctx: FindingContext,
        carried: usize,
        metrics: &mut Metrics,
    ) -> Result<Option<Outcome>, ReportError> {
        let transcript = to.transcript.to_string();
        let local =
            |message: String| ReportError::Local { transcript: transcript.clone(), message };
        let mut file = json
            .finish(&report.tail())
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        file.flush().map_err(|e| local(format!("cannot write the report: {e}")))?;
        drop(file);
        let payload = Payload::File(to.spool.0.clone());
        let condition = match &to.holder {
            Holder::Beside => Condition::Always,
            Holder::Transcript(_, c) | Holder::Stream(c) => c.clone(),
        };
        if !self
            .store
            .put(&to.json_key, payload, &to.attributes.0, &condition)
            .await
            .map_err(failed(&transcript, "writing the report"))?
        {
            return Ok(None); // the slot changed since it was claimed: claim it again
        }
        let fresh = &report.findings[carried.min(report.findings.len())..];
        self.sink
            .publish(fresh, &ctx)
            .await
            .map_err(|error| ReportError::Sink { transcript: transcript.clone(), error })?;
        let mut with_commands = report.clone();
        with_commands.commands = capped.kept;
        let md = with_commands.to_markdown(capped.omitted).into_bytes();
        let (json_key, md_key) = (&to.json_key, &to.md_key);
        let marked = match &to.holder {
            Holder::Beside => {
                let put = self.store.put(md_key, Payload::Bytes(md), &to.attributes.1, &condition);
                put.await
            }
            Holder::Transcript(u, _) => {
                let ours = |m: &ObjectInfo| reports(m, u);
                self.mark_complete(json_key, md_key, md, &to.attributes.1, ours).await
            }
            Holder::Stream(_) => {
                self.mark_complete(json_key, md_key, md, &to.attributes.1, from_stream).await
            }
        };
        if !marked.map_err(failed(&transcript, "writing the report"))? {
            return Ok(None); // another report took the slot first: claim it again
        }
        metrics.add("SessionsReported", 1.0).add("Commands", report.stats.commands as f64);
        match report.status {
            Status::Unparseable => metrics.add("Unparseable", 1.0),
            Status::Truncated => metrics.add("Truncated", 1.0),
            _ => metrics,
        };
        metrics.add_findings(fresh);
        Ok(Some(Outcome::Reported {
            json_key: to.json_key,
            md_key: to.md_key,
            status: report.status,
            commands: report.stats.commands,
            findings: report.findings.iter().map(|f| f.rule_id.clone()).collect(),
        }))
    }

    /// The finding of the session rule for `condition` (unless the pack disabled it), counted
    /// in the stats; a compliant report with it is not compliant any more.
    pub(super) fn add_session_finding(
        &self,
        report: &mut Report,
        condition: &str,
        evidence: String,
    ) {
        let Some(f) = self.analyzer.rules.session_finding(condition, evidence) else { return };
        *report.stats.findings_by_severity.entry(f.severity).or_insert(0) += 1;
        if report.status == Status::Compliant && f.severity >= crate::Severity::Low {
            report.status = Status::NonCompliant;
        }
        report.findings.push(f);
    }

    /// The day a session's reports are filed under (its record's start, else the event's day),
    /// with the record and a warning when the record does not read.
    pub(super) async fn filing(
        &self,
        session: &crate::keys::SessionAt,
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
    pub(super) async fn open(
        &self,
        u: &Upload,
    ) -> Result<Option<(ObjectInfo, S::Body)>, StoreError> {
        let version = u.version_id.as_deref();
        match self.store.open(&u.key, version).await? {
            None if u.raw_key != u.key => self.store.open(&u.raw_key, version).await,
            found => Ok(found),
        }
    }

    /// The session record, looked for on the upload's date and the days before.
    pub(super) async fn find_record(
        &self,
        session: &crate::keys::SessionAt,
        upload_day: Option<Date>,
    ) -> Result<(Option<SessionRecord>, Option<String>), StoreError> {
        find_session_record(&self.store, session, upload_day, &self.options.home).await
    }

    /// Session `id` in `place`; a key of the layout before places (no place) names the hub's
    /// own account and region.
    pub(super) fn placed(
        &self,
        place: Option<crate::keys::Place>,
        id: &str,
    ) -> Result<crate::keys::SessionAt, String> {
        let place = place.or_else(|| self.options.home.clone()).ok_or(
            "a key without <account>/<region>/ names the hub's own sessions, and ACCOUNT_ID and \
             AWS_REGION are not set",
        )?;
        crate::keys::SessionAt::new(place, id).map_err(|e| e.to_string())
    }

    pub(super) fn context(
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
pub(super) fn failed<'a>(
    transcript: &'a str,
    step: &'static str,
) -> impl FnOnce(StoreError) -> ReportError + 'a {
    move |error| ReportError::Store {
        step,
        transcript: transcript.to_string(),
        error: Box::new(error),
    }
}

/// What became of each item of an invocation, and its first failure: every item is tried,
/// and the first failure is returned after the rest (the platform retries the invocation;
/// the items done already find their reports and change nothing).
#[derive(Default)]
pub(super) struct Done {
    done: Vec<Reported>,
    first_error: Option<ReportError>,
}

impl Done {
    pub(super) fn add(&mut self, key: String, outcome: Result<Outcome, ReportError>) {
        match outcome {
            Ok(outcome) => self.done.push(Reported { key, outcome }),
            Err(e) => {
                tracing::error!(key, error = %e, "not reported");
                self.first_error.get_or_insert(e);
            }
        }
    }

    /// Whether an item failed.
    pub(super) fn failed(&self) -> bool {
        self.first_error.is_some()
    }

    pub(super) fn finish(self) -> Result<Vec<Reported>, ReportError> {
        match self.first_error {
            Some(e) => Err(e),
            None => Ok(self.done),
        }
    }
}

/// Where a finished report goes: its keys, the spooled JSON, and the input named in errors.
pub(super) struct Written<'a> {
    pub(super) transcript: &'a str,
    pub(super) json_key: String,
    pub(super) md_key: String,
    pub(super) spool: &'a Spool,
    /// The JSON's and the Markdown's attributes.
    pub(super) attributes: (Attributes, Attributes),
    /// Whose report it is, in the session's slot or beside it.
    pub(super) holder: Holder<'a>,
}

/// Whose report is written, and on what condition.
pub(super) enum Holder<'a> {
    /// A report filed beside the slot, under its version: written whatever is there.
    Beside,
    /// A transcript version's report in the session's slot: its JSON written if the slot is
    /// as claimed, its Markdown while the JSON is still this version's.
    Transcript(&'a Upload, Condition),
    /// A report from the stream in the session's slot.
    Stream(Condition),
}

/// The origin of a transcript's findings: the object at its version, else its ETag (with the
/// rule ID it makes `finding_id`, stable across redeliveries).
pub(super) fn origin(u: &Upload, etag: Option<&str>) -> String {
    let at = u.version_id.as_deref().or(etag).unwrap_or("");
    crate::publish::transcript_origin(&u.bucket, &u.key, at)
}

/// A stored report's attributes: its content type and the transcript it came from.
pub(super) fn marked(content_type: &str, u: &Upload, report: &Report) -> Attributes {
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
