//! The session's CloudWatch stream in the report: read to time and check a transcript's
//! commands ([`SessionReport::read_stream`]), and, for a session that streamed but whose
//! transcript never came (the instance died, the upload failed, root deleted the file), the
//! report itself ([`SessionReport::stream_reports`], run on a schedule): source = the stream,
//! so the summary counts it as "stream only" rather than missing. A transcript that arrives
//! later replaces it.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use std::io::BufWriter;

use jiff::civil::Date;

use super::channels::{StreamCommands, StreamReader};
use super::use_case::{
    failed, Done, Holder, Outcome, ReportError, Reported, SessionReport, Written, META_SOURCE_KIND,
    SOURCE_STREAM,
};
use crate::analysis::Input;
use crate::keys;
use crate::live::{LiveState, LogEvent};
use crate::ports::session_log::SessionLog;
use crate::ports::sink::FindingsSink;
use crate::ports::store::spool::Spool;
use crate::ports::store::{
    get_json, put_json, Attributes, AuditStore, Condition, StoreError, Stored,
};
use crate::provenance::CLOCK_SLACK;
use crate::publish::Metrics;
use crate::report::{CappedCommands, JsonReportWriter, Source};
use crate::session::{SessionRecord, LONGEST_SESSION_MINUTES};
use crate::session_report::join::{join, JoinFacts};

/// The name of the stream sweep's cursor ([`keys::sweep_cursor`]).
const STREAM_SWEEP: &str = "stream-reports";

/// Where the stream sweep goes on: after `after` (a live-state key), or from the start.
#[derive(Debug, Serialize, Deserialize)]
struct SweepCursor {
    after: Option<String>,
    /// The run that wrote it.
    as_of: String,
}

/// A sweep looks at sessions whose stream went quiet up to this long before the grace period
/// ended; older ones were settled by earlier sweeps (it runs hourly).
const SWEEP_WINDOW: SignedDuration = SignedDuration::from_hours(48);

/// How long after a TerminateSession the agent may still stream the session's last output.
const AFTER_TERMINATE: SignedDuration = SignedDuration::from_mins(5);

/// When the session ran, by its record: from its start (less the clock slack) to its
/// TerminateSession (plus a few minutes), else to the longest session the audit follows.
pub(super) fn window(record: &SessionRecord) -> Option<(Timestamp, Timestamp)> {
    let start = record.started_at.parse::<Timestamp>().ok()?;
    let longest = SignedDuration::from_mins(i64::from(LONGEST_SESSION_MINUTES));
    let end = match record.terminated_at.as_deref().and_then(|t| t.parse::<Timestamp>().ok()) {
        Some(end) => end + AFTER_TERMINATE,
        None => start + longest,
    };
    Some((start - CLOCK_SLACK, end + CLOCK_SLACK))
}

impl<S: AuditStore, F: FindingsSink, L: SessionLog> SessionReport<S, F, L> {
    /// Every event of the session's stream, oldest first, to `each`; `false` when the session
    /// did not stream.
    async fn walk_stream(
        &self,
        session: &crate::keys::SessionAt,
        mut each: impl FnMut(&LogEvent) -> Result<(), String>,
    ) -> Result<bool, ReportError> {
        let failed = |e: StoreError| ReportError::Store {
            step: "reading the stream",
            transcript: format!("stream {session}"),
            error: Box::new(e),
        };
        // The transcript log group read is the hub's own: another account's stream is not
        // readable from here (it was witnessed live, through the subscription, if at all).
        if self.options.home.as_ref() != Some(&session.place) {
            return Ok(false);
        }
        let mut token = None;
        let mut any = false;
        loop {
            let Some(page) = self.log.page(session.id(), token.take()).await.map_err(failed)?
            else {
                break;
            };
            any = true;
            for event in &page.events {
                each(event).map_err(|message| ReportError::Local {
                    transcript: format!("stream {session}"),
                    message,
                })?;
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(any)
    }

    /// The session's CloudWatch stream read into its commands, within the window its record
    /// gives (start to end); `None` when it did not stream, or when there is no record: without
    /// one nothing says when the session ran, so the stream witnesses nothing.
    pub(super) async fn read_stream(
        &self,
        session: &crate::keys::SessionAt,
        record: Option<&SessionRecord>,
    ) -> Result<Option<StreamCommands>, ReportError> {
        let Some((from, to)) = record.and_then(window) else { return Ok(None) };
        let reader = StreamReader::new(&self.analyzer.redactor, session.id());
        let mut reader = reader.within(from.as_millisecond(), to.as_millisecond());
        let streamed = self
            .walk_stream(session, |e| {
                reader.feed(e);
                Ok(())
            })
            .await?;
        Ok(streamed.then(|| reader.finish()))
    }

    /// Report, from its stream, every session whose stream went quiet more than the grace
    /// period before `as_of` and that has no report: at most `SWEEP_BATCH` of them, going on
    /// after where the last invocation stopped (a cursor in the audit store), so a flood of
    /// made-up streams delays the sweep by a run or a few, never stops it. All are tried; the
    /// first failure is returned after the rest (the cursor does not move past a failure).
    pub(super) async fn stream_reports(
        &self,
        as_of: Timestamp,
        metrics: &mut Metrics,
    ) -> Result<Vec<Reported>, ReportError> {
        let prefix = keys::live_prefix();
        let cursor_key = keys::sweep_cursor(STREAM_SWEEP);
        let uri = self.store.uri(&cursor_key);
        let after = match get_json::<SweepCursor>(&self.store, &cursor_key)
            .await
            .map_err(failed(&uri, "reading the sweep's cursor"))?
        {
            Some(Stored { value: Ok(c), .. }) => c.after,
            // Unreadable: start over (every quiet session is looked at again; none is lost).
            Some(Stored { value: Err(_), .. }) | None => None,
        };
        let listed = self
            .store
            .list(&prefix)
            .await
            .map_err(failed(&self.store.uri(&prefix), "listing streamed sessions"))?;
        let quiet_since = as_of - SignedDuration::from_mins(self.options.grace_minutes as i64);
        let mut done = Done::default();
        let (mut looked, mut last, mut stopped) = (0usize, None, false);
        // From the cursor on, then round to the start: every quiet session is looked at once
        // per pass, however the passes fall on invocations.
        let (rest, first): (Vec<_>, Vec<_>) =
            listed.into_iter().partition(|e| after.as_deref().is_none_or(|a| e.key.as_str() > a));
        for entry in rest.into_iter().chain(first) {
            let written = entry.last_modified.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
            // Still streaming, or settled by an earlier sweep: not read again.
            if written.is_some_and(|w| w > quiet_since || w < quiet_since - SWEEP_WINDOW) {
                continue;
            }
            if looked == self.options.sweep_batch {
                stopped = true;
                break;
            }
            looked += 1;
            let outcome = match keys::parse_live(&entry.key) {
                None => Ok(Outcome::Ignored { reason: "not a session's live state".into() }),
                Some((place, id)) => match self.placed(place, id) {
                    Err(e) => Err(ReportError::Malformed(format!("{}: {e}", entry.key))),
                    Ok(session) => {
                        self.stream_report(&session, &entry.key, quiet_since, metrics).await
                    }
                },
            };
            last = Some(entry.key.clone());
            done.add(entry.key, outcome);
        }
        metrics.add("SweepStopped", if stopped { 1.0 } else { 0.0 });
        if !done.failed() {
            let cursor = SweepCursor { after: last.filter(|_| stopped), as_of: as_of.to_string() };
            put_json(&self.store, &cursor_key, &cursor, &Condition::Always)
                .await
                .map_err(failed(&uri, "writing the sweep's cursor"))?;
        }
        done.finish()
    }

    async fn stream_report(
        &self,
        session: &crate::keys::SessionAt,
        state_key: &str,
        quiet_since: Timestamp,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ReportError> {
        let uri = self.store.uri(state_key);
        let local = |message: String| ReportError::Local { transcript: uri.clone(), message };
        let state = match get_json::<LiveState>(&self.store, state_key)
            .await
            .map_err(failed(&uri, "reading the live state"))?
        {
            None => return Ok(Outcome::Ignored { reason: "the live state is gone".into() }),
            Some(Stored { value: Err(why), .. }) => {
                let reason = format!("the live state is unreadable: {why}");
                tracing::warn!(key = state_key, reason, "not reported from the stream");
                return Ok(Outcome::Ignored { reason });
            }
            Some(Stored { value: Ok(state), .. }) => state,
        };
        let last = state.last_event_time.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
        if last.is_none_or(|t| t > quiet_since) {
            let reason = "still streaming, or within the grace period".to_string();
            return Ok(Outcome::Ignored { reason });
        }
        // Filed like the transcript's report would be: the session record's day.
        let first_day = state.first_event_time.as_deref().and_then(|t| t.get(..10)?.parse().ok());
        let (record, warning) = self
            .find_record(session, first_day)
            .await
            .map_err(failed(&uri, "reading the record"))?;
        // The stream is a witness, not an author: without a record nothing says who ran the
        // session or when, and anyone with the instance role can write a stream.
        let Some(record) = record else {
            metrics.add("StreamsWithoutRecord", 1.0);
            let reason = format!(
                "no session record for stream {session}: not reported (a stream names no one){}",
                warning.map(|w| format!("; {w}")).unwrap_or_default()
            );
            tracing::warn!(key = state_key, reason, "not reported from the stream");
            return Ok(Outcome::Ignored { reason });
        };
        let Some((from, to)) = window(&record) else {
            let reason =
                format!("the session record's start {:?} is not a time", record.started_at);
            return Ok(Outcome::Ignored { reason });
        };
        let date = record
            .started_at
            .get(..10)
            .and_then(|d| d.parse::<Date>().ok())
            .or(first_day)
            .unwrap_or_else(|| quiet_since.to_zoned(jiff::tz::TimeZone::UTC).date());
        let key = |ext| {
            keys::report(date, session, ext).map_err(|e| ReportError::Malformed(e.to_string()))
        };
        let (json_key, md_key) = (key("json")?, key("md")?);
        let marker =
            self.store.head(&json_key).await.map_err(failed(&uri, "checking the report"))?;
        if marker.is_some() {
            return Ok(Outcome::Duplicate { md_key }); // the transcript came, or swept before
        }

        let spool = Spool::new(&self.options.work_dir, "session-report");
        let file = std::fs::File::create(&spool.0)
            .map_err(|e| local(format!("cannot spool the report to {}: {e}", spool.0.display())))?;
        let json = JsonReportWriter::start_with(BufWriter::new(file), true)
            .map_err(|e| local(format!("cannot write the report: {e}")))?;
        let mut analysis = self.analyzer.start((json, CappedCommands::default()));
        // The engine reads the events as the CloudWatch JSON they are, one per line.
        let (from, to, mut outside) = (from.as_millisecond(), to.as_millisecond(), 0u64);
        let streamed = self
            .walk_stream(session, |e| {
                if e.timestamp < from || e.timestamp > to {
                    outside += 1;
                    return Ok(());
                }
                analysis.feed(e.message.as_bytes()).map_err(|e| e.to_string())?;
                analysis.feed(b"\n").map_err(|e| e.to_string())
            })
            .await?;
        if !streamed {
            return Ok(Outcome::Ignored { reason: "the session's stream is gone".into() });
        }
        let log_group = self.log.group().map(str::to_string);
        let source = Source {
            log_group: log_group.clone(),
            log_stream: Some(session.id().to_string()),
            ..Source::default()
        };
        let input = Input { source, session_id: Some(session.id().to_string()), cut: None };
        let (mut report, (json, capped)) =
            analysis.finish(input).map_err(|e| local(e.to_string()))?;
        let why = format!(
            "no S3 transcript {} min after the session's stream went quiet: reported from the CloudWatch stream (commands read by their prompts)",
            self.options.grace_minutes
        );
        report.stats.parse_warnings.push(why.clone());
        report.status_reason.get_or_insert(why);
        if outside > 0 {
            report.stats.parse_warnings.push(format!(
                "{outside} events of the stream are outside the session's window (its start to \
                 its end by the record): not read"
            ));
        }
        let record = Some(record);
        let carried = record.as_ref().map_or(0, |r| r.findings.len());
        let facts = JoinFacts {
            uploaded_at: None,
            first_prompt: capped.kept.first().map(|c| c.prompt.as_str()),
            max_session_minutes: self.options.max_session_minutes,
        };
        join(&mut report, record.as_ref(), &facts, &self.analyzer.rules);
        let attributes = |content_type: &str| {
            let mut a = Attributes::of(content_type);
            a.metadata.insert("report-status".into(), report.status.as_str().into());
            a.metadata.insert(META_SOURCE_KIND.into(), SOURCE_STREAM.into());
            a
        };
        let attributes =
            (attributes("application/json"), attributes("text/markdown; charset=utf-8"));
        let origin =
            crate::publish::stream_origin(log_group.as_deref().unwrap_or(""), session.id());
        let ctx = self.context(&report, record.as_ref(), &origin, &json_key);
        let holder = Holder::Stream(Condition::Absent);
        let to = Written { transcript: &uri, json_key, md_key, spool: &spool, attributes, holder };
        let stored = self.store_report(report, (json, capped), to, ctx, carried, metrics).await?;
        // The transcript's report took the slot meanwhile: it stands.
        let Some(outcome) = stored else {
            return Ok(Outcome::Duplicate { md_key: key("md")? });
        };
        metrics.add("StreamReports", 1.0);
        Ok(outcome)
    }
}
