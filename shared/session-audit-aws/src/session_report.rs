//! The session report: an uploaded transcript in, its compliance report out.
//!
//! The object is streamed into the engine (never held whole), at the version the event names.
//! The JSON report streams to a file in the function's temporary directory and is uploaded
//! from there, so memory stays bounded whatever the transcript's size. Order, for "nothing
//! lost" and "one report per transcript": the JSON report, then the finding events, then the
//! Markdown — written last, it marks the report complete (its metadata names the transcript
//! version), and a redelivery that finds it changes nothing.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use jiff::civil::Date;
use serde_json::Value;

use crate::findings::publish;
use crate::s3_store::S3Store;
use crate::settings;
use crate::{AwsError, Clients};
use session_audit::analysis::{Analyzer, Input};
use session_audit::join::{join, JoinFacts};
use session_audit::keys;
use session_audit::outputs::{FindingContext, Metrics};
use session_audit::report::{CappedCommands, JsonReportWriter, Report, Source, Status};
use session_audit::session::SessionRecord;
use session_audit::store::{get_json, AuditStore, Stored};
use session_audit::upload::{normalise_prefix, session_id, triggers, Trigger, Upload};
use session_audit::{Failure, FailureKind};

/// Metadata keys on the stored report naming the transcript it came from.
const META_VERSION: &str = "source-version";
const META_ETAG: &str = "source-etag";
/// A transcript arrives at session end, up to a day after the start (and later if the agent
/// retried): the session record is looked for this many days back from the upload.
const RECORD_LOOKBACK_DAYS: i64 = 2;

/// Settings (environment variables, README).
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// `AUDIT_BUCKET` (required): transcripts are read and reports written here.
    pub audit_bucket: String,
    /// `TRANSCRIPT_PREFIX` (`session-logs/`).
    pub transcript_prefix: String,
    /// `MAX_SESSION_MINUTES` (`480`; 0 turns the rule off).
    pub max_session_minutes: u64,
    /// `FINDINGS_EVENT_BUS` (`default`).
    pub event_bus: String,
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
            max_session_minutes: settings::number(&get, "MAX_SESSION_MINUTES", 480)?,
            event_bus: settings::event_bus(&get),
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
    #[error("{step} failed for s3://{bucket}/{key}: {error}")]
    Aws { step: &'static str, bucket: String, key: String, error: AwsError },
    #[error("s3://{bucket}/{key}: {message}")]
    Local { bucket: String, key: String, message: String },
}

impl Failure for ReportError {
    fn kind(&self) -> FailureKind {
        match self {
            ReportError::Malformed(_) => FailureKind::MalformedEvent,
            ReportError::Aws { step, .. } if step.starts_with("events:") => FailureKind::Sink,
            ReportError::Aws { .. } | ReportError::Local { .. } => FailureKind::Store,
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reported {
    pub key: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The report function's state, built once per process.
#[derive(Debug)]
pub struct SessionReport {
    clients: Clients,
    store: S3Store,
    analyzer: Analyzer,
    options: ReportOptions,
}

/// Removes the spooled report when the work is done, whatever happened.
struct Spool(PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl SessionReport {
    pub fn new(clients: Clients, analyzer: Analyzer, options: ReportOptions) -> Self {
        SessionReport {
            store: S3Store::new(clients.s3.clone(), options.audit_bucket.clone()),
            clients,
            analyzer,
            options,
        }
    }

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
        let mut done = Vec::new();
        let mut first_error = None;
        for trigger in triggers(input).map_err(ReportError::Malformed)? {
            let upload = match trigger {
                Trigger::Ignored(why) => {
                    done.push(Reported {
                        key: String::new(),
                        outcome: Outcome::Ignored { reason: why },
                    });
                    continue;
                }
                Trigger::Upload(u) => u,
            };
            let outcome = if upload.bucket != self.options.audit_bucket {
                Ok(Outcome::Ignored {
                    reason: format!("bucket {} is not AUDIT_BUCKET", upload.bucket),
                })
            } else {
                match session_id(&upload.key, &self.options.transcript_prefix) {
                    Err(why) => Ok(Outcome::Ignored { reason: why }),
                    // The ID names the report: one that could escape its folder is refused.
                    Ok(id) => match keys::check_id("session ID", &id) {
                        Err(e) => Err(ReportError::Malformed(format!("{}: {e}", upload.key))),
                        Ok(_) => self.report(&upload, &id, metrics).await,
                    },
                }
            };
            match outcome {
                Ok(outcome) => done.push(Reported { key: upload.key, outcome }),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    async fn report(
        &self,
        upload: &Upload,
        session: &str,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ReportError> {
        let bucket = &self.options.audit_bucket;
        let aws = |step: &'static str| {
            let key = upload.key.clone();
            move |error: AwsError| ReportError::Aws { step, bucket: bucket.clone(), key, error }
        };
        let local = |message: String| ReportError::Local {
            bucket: bucket.clone(),
            key: upload.key.clone(),
            message,
        };
        let day = |t: &str| t.get(..10).and_then(|d| d.parse::<Date>().ok());
        let upload_day = upload.time.as_deref().and_then(day);
        let (record, record_warning) = self.find_record(session, upload_day).await?;
        let date = record
            .as_ref()
            .and_then(|r| day(&r.started_at))
            .or(upload_day)
            .unwrap_or_else(|| jiff::Zoned::now().date());
        let key = |ext| {
            keys::report(date, session, ext).map_err(|e| ReportError::Malformed(e.to_string()))
        };
        let (json_key, md_key) = (key("json")?, key("md")?);
        if self.already_reported(&md_key, upload).await.map_err(aws("s3:HeadObject"))? {
            tracing::info!(key = %upload.key, md_key, "duplicate delivery: report exists");
            return Ok(Outcome::Duplicate { md_key });
        }

        let spool = Spool(self.options.work_dir.join(format!(
            "session-report-{}-{}.json",
            std::process::id(),
            SPOOL_COUNTER.fetch_add(1, Ordering::Relaxed)
        )));
        let file = std::fs::File::create(&spool.0)
            .map_err(|e| local(format!("cannot spool the report to {}: {e}", spool.0.display())))?;
        let json = JsonReportWriter::start_with(BufWriter::new(file), true)
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        let mut analysis = self.analyzer.start((json, CappedCommands::default()));
        let mut source = Source {
            bucket: Some(bucket.clone()),
            key: Some(upload.key.clone()),
            version_id: upload.version_id.clone(),
            etag: upload.etag.clone(),
            ..Source::default()
        };
        let mut uploaded_at = upload.time.clone();
        let mut gone = None;
        match self.open(upload).await {
            Ok(out) => {
                source.version_id = out.version_id().map(str::to_string).or(source.version_id);
                source.etag = out.e_tag().map(|e| e.trim_matches('"').to_string()).or(source.etag);
                if let Some(t) = out.last_modified() {
                    uploaded_at = Some(t.to_string());
                }
                let expected = out.content_length().unwrap_or(-1);
                let mut body = out.body;
                let mut read: i64 = 0;
                // A broken download is an error (retried), never a "truncated" report.
                while let Some(chunk) = body.try_next().await.map_err(|e| {
                    aws("s3:GetObject")(AwsError {
                        code: None,
                        message: format!("reading the body: {e}"),
                    })
                })? {
                    read += chunk.len() as i64;
                    analysis.feed(&chunk).map_err(|e| local(e.to_string()))?;
                }
                if expected >= 0 && read != expected {
                    return Err(local(format!("read {read} of {expected} bytes")));
                }
            }
            Err(e) if e.is(&["NoSuchKey", "NoSuchVersion", "NotFound"]) => gone = Some(e),
            Err(e) => return Err(aws("s3:GetObject")(e)),
        }
        let input = Input { source, session_id: Some(session.to_string()) };
        let (mut report, (json, capped)) =
            analysis.finish(input).map_err(|e| local(e.to_string()))?;
        if let Some(e) = gone {
            report.status_reason = Some(format!("the transcript object is gone: {e}"));
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
        let mut file = json
            .finish(&report.tail())
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        file.flush().map_err(|e| local(format!("cannot write the report: {e}")))?;
        drop(file);

        let body = ByteStream::from_path(&spool.0)
            .await
            .map_err(|e| local(format!("cannot read the spooled report: {e}")))?;
        self.put(&json_key, body, "application/json", upload, &report)
            .await
            .map_err(aws("s3:PutObject"))?;
        let fresh = &report.findings[carried..];
        let ctx = self.context(&report, record.as_ref(), upload, &json_key);
        publish(&self.clients.events, &self.options.event_bus, fresh, &ctx)
            .await
            .map_err(aws("events:PutEvents"))?;
        let mut with_commands = report.clone();
        with_commands.commands = capped.kept;
        let md = with_commands.to_markdown(capped.omitted);
        self.put(
            &md_key,
            ByteStream::from(md.into_bytes()),
            "text/markdown; charset=utf-8",
            upload,
            &report,
        )
        .await
        .map_err(aws("s3:PutObject"))?;

        metrics.add("SessionsReported", 1.0).add("Commands", report.stats.commands as f64);
        match report.status {
            Status::Unparseable => metrics.add("Unparseable", 1.0),
            Status::Truncated => metrics.add("Truncated", 1.0),
            _ => metrics,
        };
        metrics.add_findings(fresh);
        Ok(Outcome::Reported {
            json_key,
            md_key,
            status: report.status,
            commands: report.stats.commands,
            findings: report.findings.iter().map(|f| f.rule_id.clone()).collect(),
        })
    }

    /// GetObject at the event's version; if the key as decoded is not there, the key as the
    /// event spelled it (producers differ on encoding).
    async fn open(
        &self,
        u: &Upload,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, AwsError> {
        let get = |key: &str| {
            self.clients
                .s3
                .get_object()
                .bucket(&u.bucket)
                .key(key)
                .set_version_id(u.version_id.clone())
                .send()
        };
        match get(&u.key).await.map_err(AwsError::from) {
            Err(e) if e.is(&["NoSuchKey"]) && u.raw_key != u.key => {
                get(&u.raw_key).await.map_err(AwsError::from)
            }
            other => other,
        }
    }

    /// The session record, looked for on the upload's date and the days before; a record
    /// that cannot be read is reported as a warning, not trusted.
    async fn find_record(
        &self,
        session: &str,
        upload_day: Option<Date>,
    ) -> Result<(Option<SessionRecord>, Option<String>), ReportError> {
        let day = upload_day.unwrap_or_else(|| jiff::Zoned::now().date());
        for back in 0..=RECORD_LOOKBACK_DAYS {
            let Ok(date) = day.checked_sub(jiff::Span::new().days(back)) else { continue };
            let key = keys::session_record(date, session)
                .map_err(|e| ReportError::Malformed(e.to_string()))?;
            let stored = get_json::<SessionRecord>(&self.store, &key).await.map_err(|e| {
                ReportError::Aws {
                    step: "s3:GetObject",
                    bucket: self.options.audit_bucket.clone(),
                    key: key.clone(),
                    error: AwsError { code: e.code, message: e.message },
                }
            })?;
            match stored {
                Some(Stored { value: Ok(r), .. }) => return Ok((Some(r), None)),
                Some(Stored { value: Err(why), .. }) => {
                    return Ok((None, Some(format!("session record {key} is unreadable: {why}"))))
                }
                None => {}
            }
        }
        Ok((None, None))
    }

    async fn already_reported(&self, md_key: &str, u: &Upload) -> Result<bool, AwsError> {
        let head = self
            .clients
            .s3
            .head_object()
            .bucket(&self.options.audit_bucket)
            .key(md_key)
            .send()
            .await;
        let head = match head.map_err(AwsError::from) {
            Ok(h) => h,
            Err(e) if e.is(&["NotFound", "NoSuchKey"]) => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = head.metadata();
        let get = |k: &str| meta.and_then(|m| m.get(k)).map(String::as_str);
        Ok(match (&u.version_id, &u.etag) {
            (Some(v), _) => get(META_VERSION) == Some(v.as_str()),
            (None, Some(e)) => get(META_ETAG) == Some(e.trim_matches('"')),
            (None, None) => false,
        })
    }

    async fn put(
        &self,
        key: &str,
        body: ByteStream,
        content_type: &str,
        u: &Upload,
        report: &Report,
    ) -> Result<(), AwsError> {
        let mut put = self
            .clients
            .s3
            .put_object()
            .bucket(&self.options.audit_bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .metadata("report-status", report.status.as_str());
        if let Some(v) = u.version_id.as_deref() {
            put = put.metadata(META_VERSION, v);
        }
        if let Some(e) = report.source.etag.as_deref().or(u.etag.as_deref()) {
            put = put.metadata(META_ETAG, e.trim_matches('"'));
        }
        put.send().await?;
        Ok(())
    }

    fn context(
        &self,
        report: &Report,
        record: Option<&SessionRecord>,
        u: &Upload,
        json_key: &str,
    ) -> FindingContext {
        FindingContext {
            origin_id: format!(
                "s3://{}/{}#{}",
                u.bucket,
                u.key,
                u.version_id.as_deref().or(report.source.etag.as_deref()).unwrap_or("")
            ),
            session_id: Some(report.session_id.clone()),
            time: report.ended_at.clone().unwrap_or_default(),
            account: record.and_then(|r| r.account.clone()),
            region: record.map(|r| r.region.clone()).unwrap_or_default(),
            principal: record
                .map(|r| r.identity.arn.clone().unwrap_or(r.identity.principal.clone())),
            person: record.and_then(|r| r.identity.person.clone()),
            target: record.and_then(|r| r.target.clone()),
            record: self.store.uri(json_key),
        }
    }
}

static SPOOL_COUNTER: AtomicU64 = AtomicU64::new(0);
