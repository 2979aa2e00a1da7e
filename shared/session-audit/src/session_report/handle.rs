//! An S3 event in, a report for each transcript it names out: the path of a new upload (and
//! the dispatch to removals and to the hourly sweep of streamed sessions).

use std::collections::VecDeque;
use std::io::BufWriter;

use jiff::civil::Date;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::channels::Joined;
use super::replaced::{version_tag, Replaced};
use super::slot::Claim;
use super::use_case::{
    failed, marked, origin, reports, Done, Holder, Outcome, ReportError, Reported, SessionReport,
    Written, STREAM_REPORTS,
};
use crate::analysis::Input;
use crate::keys::{self, Beside};
use crate::ports::session_log::SessionLog;
use crate::ports::sink::FindingsSink;
use crate::ports::store::spool::Spool;
use crate::ports::store::{AuditStore, Body};
use crate::ports::store::{Condition, StoreError};
use crate::provenance::{self, Provenance};
use crate::publish::Metrics;
use crate::report::Report;
use crate::report::{CappedCommands, JsonReportWriter, Source};
use crate::session_report::join::{join, JoinFacts};
use crate::upload::{transcript_of, triggers, NotATranscript, Trigger, Upload};

impl<S: AuditStore, F: FindingsSink, L: SessionLog> SessionReport<S, F, L> {
    /// Report every transcript an S3 event names. All items are processed; the first failure
    /// is returned after the rest.
    pub async fn handle(
        &self,
        input: &Value,
        metrics: &mut Metrics,
    ) -> Result<Vec<Reported>, ReportError> {
        for name in ["SessionsReported", "Commands", "Unparseable", "Truncated", "UntrustedUploads"]
        {
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
        let mut work: VecDeque<Trigger> =
            triggers(input).map_err(|e| ReportError::Malformed(e.0))?.into();
        while let Some(trigger) = work.pop_front() {
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
                match transcript_of(&upload.key, &self.options.transcript_prefix) {
                    Err(NotATranscript(reason)) => Ok(Outcome::Ignored { reason }),
                    // The ID names the report: one that could escape its folder is refused.
                    Ok((place, id)) => match self.placed(place, &id) {
                        Err(e) => Err(ReportError::Malformed(format!("{}: {e}", upload.key))),
                        Ok(id) if removed => self.removal(&upload, &id, metrics).await,
                        Ok(id) => match self.report(&upload, &id, metrics).await {
                            Ok((outcome, displaced)) => {
                                // A later version lost the slot to this one: reported again,
                                // beside it.
                                work.extend(displaced.map(|u| Trigger::Upload(*u)));
                                Ok(outcome)
                            }
                            Err(e) => Err(e),
                        },
                    },
                }
            };
            done.add(upload.key, outcome);
        }
        done.finish()
    }

    /// Report one transcript version; with the later version it displaced from the session's
    /// slot, if any. The slot is claimed again when another invocation changed it meanwhile.
    async fn report(
        &self,
        upload: &Upload,
        session: &keys::SessionAt,
        metrics: &mut Metrics,
    ) -> Result<(Outcome, Option<Box<Upload>>), ReportError> {
        for _ in 0..CLAIM_ATTEMPTS {
            if let Some(done) = self.report_once(upload, session, metrics).await? {
                return Ok(done);
            }
        }
        Err(ReportError::Store {
            step: "claiming the report",
            transcript: self.store.uri(&upload.key),
            error: Box::new(StoreError {
                op: "PutObject",
                uri: self.store.uri(&upload.key),
                code: None,
                message: format!("the session's report changed under {CLAIM_ATTEMPTS} claims"),
            }),
        })
    }

    /// The Markdown key of this version's complete report, wherever it was filed (the
    /// session's slot, or beside it as replaced or untrusted).
    async fn already_reported(
        &self,
        upload: &Upload,
        (date, session): (Date, &keys::SessionAt),
    ) -> Result<Option<String>, ReportError> {
        let tag = version_tag(upload);
        let places = [
            keys::report(date, session, "md"),
            keys::beside_report(Beside::Replaced, date, session, &tag, "md"),
            keys::beside_report(Beside::Untrusted, date, session, &tag, "md"),
        ];
        for key in places {
            let key = key.map_err(|e| ReportError::Malformed(e.to_string()))?;
            let head = self.store.head(&key).await;
            let head = head.map_err(failed(&self.store.uri(&upload.key), "checking the report"))?;
            if head.is_some_and(|m| reports(&m, upload)) {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// Where this version's report goes: the session's slot, or beside it.
    async fn file(
        &self,
        upload: &Upload,
        (date, session): (Date, &keys::SessionAt),
        provenance: &Provenance,
    ) -> Result<Filing, ReportError> {
        let transcript = self.store.uri(&upload.key);
        let key = |beside: Option<Beside>, ext| {
            match beside {
                None => keys::report(date, session, ext),
                Some(b) => keys::beside_report(b, date, session, &version_tag(upload), ext),
            }
            .map_err(|e| ReportError::Malformed(e.to_string()))
        };
        let transcript = &transcript;
        let beside = |b: Beside, replaced: Option<Replaced>| async move {
            let (json_key, md_key) = (key(Some(b), "json")?, key(Some(b), "md")?);
            let done = self
                .store
                .head(&md_key)
                .await
                .map_err(failed(transcript, "checking the report"))?
                .is_some_and(|m| reports(&m, upload));
            Ok::<_, ReportError>(match done {
                true => Filing::Duplicate(md_key),
                false => Filing::Beside { json_key, md_key, replaced },
            })
        };
        if let Provenance::Untrusted { .. } = provenance {
            return beside(Beside::Untrusted, None).await;
        }
        let (json_key, md_key) = (key(None, "json")?, key(None, "md")?);
        let claim = self
            .claim(&json_key, &md_key, upload)
            .await
            .map_err(failed(transcript, "checking the report"))?;
        Ok(match claim {
            Claim::Duplicate => Filing::Duplicate(md_key),
            Claim::Replaced(r) => beside(Beside::Replaced, Some(r)).await?,
            Claim::Write(condition) => {
                Filing::Slot { json_key, md_key, condition, displaced: None }
            }
            Claim::TakeOver { condition, displaced } => {
                Filing::Slot { json_key, md_key, condition, displaced: Some(displaced) }
            }
        })
    }

    async fn report_once(
        &self,
        upload: &Upload,
        session: &keys::SessionAt,
        metrics: &mut Metrics,
    ) -> Result<Option<(Outcome, Option<Box<Upload>>)>, ReportError> {
        let transcript = self.store.uri(&upload.key);
        let local =
            |message: String| ReportError::Local { transcript: transcript.clone(), message };
        let (date, record, record_warning) = self
            .filing(session, upload)
            .await
            .map_err(failed(&transcript, "reading the record"))?;
        // A redelivery ends here, before the stream is read.
        if let Some(md_key) = self.already_reported(upload, (date, session)).await? {
            tracing::info!(key = %upload.key, md_key, "duplicate delivery");
            return Ok(Some((Outcome::Duplicate { md_key }, None)));
        }
        let stream = self.read_stream(session, record.as_ref()).await?;
        let stream_last = stream.as_ref().and_then(|s| s.last_time());
        let provenance = match (&upload.uploader, &upload.version_id) {
            // The writer is named, but not the version written: what is read could be anyone's.
            (Some(_), None) => Provenance::NotEstablished {
                why: "uploader not established: the write event names no version, so the \
                      object read may not be the one its writer wrote"
                    .into(),
            },
            _ => provenance::judge(upload.uploader.as_ref(), record.as_ref(), stream_last),
        };
        let (json_key, md_key, holder, replaced, displaced) =
            match self.file(upload, (date, session), &provenance).await? {
                Filing::Duplicate(md_key) => {
                    tracing::info!(key = %upload.key, md_key, "duplicate delivery");
                    return Ok(Some((Outcome::Duplicate { md_key }, None)));
                }
                Filing::Beside { json_key, md_key, replaced } => {
                    (json_key, md_key, Holder::Beside, replaced, None)
                }
                Filing::Slot { json_key, md_key, condition, displaced } => {
                    (json_key, md_key, Holder::Transcript(upload, condition), None, displaced)
                }
            };

        let spool = Spool::new(&self.options.work_dir, "session-report");
        let file = std::fs::File::create(&spool.0)
            .map_err(|e| local(format!("cannot spool the report to {}: {e}", spool.0.display())))?;
        let json = JsonReportWriter::start_with(BufWriter::new(file), true)
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        let outside = stream.as_ref().map_or(0, |s| s.outside);
        let joined = Joined::new((json, CappedCommands::default()), stream);
        let mut analysis = self.analyzer.start(joined);
        let mut source = Source {
            bucket: Some(upload.bucket.clone()),
            key: Some(upload.key.clone()),
            version_id: upload.version_id.clone(),
            etag: upload.etag.clone(),
            uploaded_by: upload.uploader.as_ref().map(|u| u.arn.clone()),
            ..Source::default()
        };
        let mut uploaded_at = upload.time.clone();
        let opened =
            self.open(upload).await.map_err(failed(&transcript, "reading the transcript"))?;
        let gone = opened.is_none();
        let mut cut = None;
        if let Some((info, mut body)) = opened {
            source.version_id = info.version.or(source.version_id);
            source.etag = info.etag.map(|e| e.trim_matches('"').to_string()).or(source.etag);
            uploaded_at = info.last_modified.or(uploaded_at);
            let (mut read, cap) = (0u64, self.options.max_transcript_bytes());
            let mut hash = Sha256::new();
            // A broken download is an error (retried), never a "truncated" report.
            while let Some(chunk) =
                body.next_chunk().await.map_err(failed(&transcript, "reading the transcript"))?
            {
                // Past the cap the rest is not read (the spool and the time are bounded); the
                // report says where it stopped, and the summary counts it as truncated.
                let room = usize::try_from(cap - read).unwrap_or(usize::MAX).min(chunk.len());
                analysis.feed(&chunk[..room]).map_err(|e| local(e.to_string()))?;
                hash.update(&chunk[..room]);
                read += room as u64;
                if room < chunk.len() || (read == cap && info.length.is_some_and(|n| n > cap)) {
                    cut = Some(format!(
                        "the transcript is larger than MAX_TRANSCRIPT_MIB ({} MiB): read up to \
                         byte {read}{}",
                        cap >> 20,
                        info.length.map(|n| format!(" of {n}")).unwrap_or_default()
                    ));
                    metrics.add("TranscriptsCut", 1.0);
                    break;
                }
            }
            if let Some(expected) = info.length.filter(|n| *n != read && cut.is_none()) {
                return Err(local(format!("read {read} of {expected} bytes")));
            }
            if cut.is_none() {
                source.sha256 = Some(crate::digest::hex(&hash.finalize()));
            }
        }
        let input = Input { source, session_id: Some(session.id().to_string()), cut };
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
        if record.is_none() {
            report.stats.parse_warnings.push(NO_WITNESS.to_string());
        }
        if outside > 0 {
            report.stats.parse_warnings.push(format!(
                "{outside} events of the session's stream are outside the session's window (its \
                 start to its end by the record): not read"
            ));
        }
        let carried = record.as_ref().map_or(0, |r| r.findings.len());
        let uploaded_at_kept = uploaded_at.clone();
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
            if let Some(evidence) = c.stream_stopped() {
                self.add_session_finding(&mut report, "stream_stopped", evidence);
            }
            report.stats.channels = Some(c.channels);
        }
        if let Some(r) = &replaced {
            let evidence = r.evidence(&transcript, &report);
            self.add_session_finding(&mut report, "transcript_replaced", evidence);
        }
        match &provenance {
            Provenance::Established { .. } => {}
            Provenance::NotEstablished { why } => add_reason(&mut report, why),
            Provenance::Untrusted { by, why } => {
                let first_md = keys::report(date, session, "md").unwrap_or_default();
                let evidence = format!(
                    "{transcript} (version {}) written by {by}: {why}. Kept apart ({md_key}); \
                     the session's own report is {first_md}",
                    upload.version_id.as_deref().unwrap_or("latest")
                );
                self.add_session_finding(&mut report, "untrusted_upload", evidence);
                add_reason(&mut report, &format!("not evidence of the session: {why}"));
                metrics.add("UntrustedUploads", 1.0);
            }
        }
        let attributes = |content_type: &str| marked(content_type, upload, &report);
        let attributes =
            (attributes("application/json"), attributes("text/markdown; charset=utf-8"));
        let origin = origin(upload, report.source.etag.as_deref());
        let ctx = self.context(&report, record.as_ref(), &origin, &json_key);
        let in_slot = matches!(holder, Holder::Transcript(..)) && replaced.is_none();
        let withdrawn = record.as_ref().filter(|_| in_slot).and_then(|r| {
            let uri = self.store.uri(&json_key);
            self.missing_withdrawn(r, uploaded_at_kept.as_deref(), &provenance, uri)
        });
        let to = Written {
            transcript: &transcript,
            json_key,
            md_key,
            spool: &spool,
            attributes,
            holder,
        };
        let stored = self.store_report(report, (json, capped), to, ctx, carried, metrics).await?;
        if let (Some(_), Some(item)) = (&stored, withdrawn) {
            self.sink
                .withdraw(std::slice::from_ref(&item))
                .await
                .map_err(|error| ReportError::Sink { transcript: transcript.clone(), error })?;
            metrics.add("FindingsWithdrawn", 1.0);
        }
        Ok(stored.map(|outcome| (outcome, displaced)))
    }
}

/// Tries at a session's slot that other invocations keep changing, before the invocation fails
/// (and is retried).
const CLAIM_ATTEMPTS: usize = 4;

/// Why a report without a session record has no stream in it.
const NO_WITNESS: &str = "the session's stream was not read: without a session record nothing \
     says when the session ran, and anyone with the instance role can write to its stream";

/// Where a version's report goes.
enum Filing {
    /// Its report is complete already: a redelivery.
    Duplicate(String),
    /// Beside the session's slot: a later version (`replaced`), or not the session's evidence.
    Beside { json_key: String, md_key: String, replaced: Option<Replaced> },
    /// The session's slot, written on `condition`; `displaced` is the later version that held
    /// it, to report again.
    Slot { json_key: String, md_key: String, condition: Condition, displaced: Option<Box<Upload>> },
}

/// Add `why` to the report's status reason (after the one it has).
fn add_reason(report: &mut Report, why: &str) {
    report.status_reason = Some(match report.status_reason.take() {
        Some(reason) => format!("{reason}; {why}"),
        None => why.to_string(),
    });
}
