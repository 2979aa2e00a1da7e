//! An S3 event in, a report for each transcript it names out: the path of a new upload (and
//! the dispatch to removals and to the hourly sweep of streamed sessions).

use std::io::BufWriter;

use serde_json::Value;

use super::channels::Joined;
use super::replaced::Replaced;
use super::stream;
use super::use_case::{
    failed, marked, origin, Done, Outcome, ReportError, Reported, SessionReport, Written,
    META_ETAG, META_VERSION, STREAM_REPORTS,
};
use crate::analysis::Input;
use crate::keys;
use crate::ports::session_log::SessionLog;
use crate::ports::sink::FindingsSink;
use crate::ports::store::spool::Spool;
use crate::ports::store::{AuditStore, Body, ObjectInfo};
use crate::publish::Metrics;
use crate::report::{CappedCommands, JsonReportWriter, Source};
use crate::session_report::join::{join, JoinFacts};
use crate::upload::{session_id, triggers, NotATranscript, Trigger, Upload};

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
        for trigger in triggers(input).map_err(|e| ReportError::Malformed(e.0))? {
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
                    Err(NotATranscript(reason)) => Ok(Outcome::Ignored { reason }),
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
        let mut cut = None;
        if let Some((info, mut body)) = opened {
            source.version_id = info.version.or(source.version_id);
            source.etag = info.etag.map(|e| e.trim_matches('"').to_string()).or(source.etag);
            uploaded_at = info.last_modified.or(uploaded_at);
            let (mut read, cap) = (0u64, self.options.max_transcript_bytes());
            // A broken download is an error (retried), never a "truncated" report.
            while let Some(chunk) =
                body.next_chunk().await.map_err(failed(&transcript, "reading the transcript"))?
            {
                // Past the cap the rest is not read (the spool and the time are bounded); the
                // report says where it stopped, and the summary counts it as truncated.
                let room = usize::try_from(cap - read).unwrap_or(usize::MAX).min(chunk.len());
                analysis.feed(&chunk[..room]).map_err(|e| local(e.to_string()))?;
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
        }
        let input = Input { source, session_id: Some(session.to_string()), cut };
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
