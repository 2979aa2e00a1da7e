//! Sessions, commands and findings into Security Lake, one digested hour at a time. The digest
//! chain ([`crate::audit_digest`]) already lists every version the bucket received in each
//! hour; this use case reads each new hour's digest, takes the report versions it lists, and
//! files their OCSF events ([`crate::ocsf`]) through the [`LakeWriter`]. A cursor
//! (`audit/exports/lake.json`) says which hour is next; it moves only after the hour's
//! objects are written, and an hour's objects have a fixed name, so a retried hour overwrites
//! its own objects and never adds a second copy. The lake-export function runs it hourly,
//! after audit-digest.
//!
//! A report of the session's own slot gives its Logon, commands, Logoff and findings; a report
//! filed beside it (a replaced or untrusted upload) gives only its findings (its commands are
//! not the session's). A version listed but gone, too large or unreadable is skipped, logged
//! and named in the answer, never silently.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit_digest::{Head, HOUR};
use crate::digest::{Digest, Entry};
use crate::keys::{self, Filed};
use crate::ocsf::{finding_event, report_events};
use crate::ports::lake::{LakeWriteError, LakeWriter};
use crate::ports::store::{get_json, put_json, AuditStore, Condition, StoreError};
use crate::publish::{stream_origin, transcript_origin, FindingContext};
use crate::report::Report;
use crate::{Failure, FailureKind};

#[cfg(test)]
mod tests;

/// The cursor's schema.
pub const CURSOR_SCHEMA: &str = "session-audit/lake-cursor/1";

/// Where the export goes on from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// [`CURSOR_SCHEMA`].
    pub schema: String,
    /// The next hour to export starts here (RFC 3339).
    pub next: String,
}

/// Settings (read by [`crate::settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeOptions {
    /// `LAKE_MAX_HOURS` (`24`): digested hours one run exports at most; the next goes on.
    pub max_hours: u64,
    /// `LAKE_BACKFILL_HOURS` (`24`): the first run starts this many hours before the chain's
    /// newest digest.
    pub backfill_hours: u64,
    /// `LAKE_MAX_REPORT_MIB` (`256`): a report larger than this is skipped and named (its
    /// events would have to be held in memory to encode).
    pub max_report_mib: u64,
    /// `LAKE_PART_EVENTS` (`20000`): events per write; a busy hour is written in parts, so
    /// memory stays bounded by this many events plus one report's, whatever the hour holds.
    pub part_events: usize,
}

impl Default for LakeOptions {
    fn default() -> Self {
        LakeOptions { max_hours: 24, backfill_hours: 24, max_report_mib: 256, part_events: 20_000 }
    }
}

/// What a run did (the function's answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exported {
    /// The hours exported, oldest first (their start).
    pub hours: Vec<String>,
    /// Report versions read.
    pub reports: usize,
    /// OCSF events filed.
    pub events: usize,
    /// Objects written.
    pub objects: Vec<String>,
    /// What was not exported, and why (`key@version: reason`, or an hour without a digest).
    pub skipped: Vec<String>,
    /// The next hour still to export when this run stopped at its bound.
    pub pending_from: Option<String>,
    /// No digest chain yet: nothing to export from.
    pub no_chain: bool,
}

/// Why a run failed (the platform retries it; the cursor has not moved past what failed).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The audit store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lake refused the objects.
    #[error(transparent)]
    Lake(#[from] LakeWriteError),
    /// The head or cursor cannot be read as what the pipeline writes.
    #[error("{0}")]
    Unreadable(String),
}

impl Failure for ExportError {
    fn kind(&self) -> FailureKind {
        match self {
            ExportError::Store(_) => FailureKind::Store,
            ExportError::Lake(_) => FailureKind::Lake,
            ExportError::Unreadable(_) => FailureKind::Evidence,
        }
    }
}

/// The export, built once per process and borrowed by every invocation.
pub struct LakeExport<S, W> {
    /// The audit bucket: digests, reports, the cursor.
    pub store: S,
    /// Where the events go.
    pub lake: W,
    /// The settings.
    pub options: LakeOptions,
}

fn parse_time(t: &str, what: &str) -> Result<Timestamp, ExportError> {
    t.parse().map_err(|_| ExportError::Unreadable(format!("{what}: '{t}' is not a time")))
}

impl<S: AuditStore, W: LakeWriter> LakeExport<S, W> {
    /// Export every digested hour from the cursor on, up to [`LakeOptions::max_hours`].
    pub async fn run(&self) -> Result<Exported, ExportError> {
        let mut out = Exported::default();
        let Some(head) = get_json::<Head>(&self.store, &keys::digest_head()).await? else {
            out.no_chain = true;
            return Ok(out);
        };
        let head = head.value.map_err(|e| ExportError::Unreadable(format!("digest head: {e}")))?;
        let end = parse_time(&head.end, "digest head")?;
        let cursor_key = keys::lake_cursor();
        let stored = get_json::<Cursor>(&self.store, &cursor_key).await?;
        let (mut hour, etag) = match stored {
            Some(s) => {
                let c =
                    s.value.map_err(|e| ExportError::Unreadable(format!("lake cursor: {e}")))?;
                (parse_time(&c.next, "lake cursor")?, Some(s.etag))
            }
            None => (end - HOUR * self.options.backfill_hours as i32, None),
        };
        let mut condition = match etag {
            Some(e) => Condition::Unchanged(e),
            None => Condition::Absent,
        };
        let mut done = 0;
        while hour < end {
            if done == self.options.max_hours {
                out.pending_from = Some(hour.to_string());
                break;
            }
            self.export_hour(hour, &mut out).await?;
            hour += HOUR;
            done += 1;
            let cursor = Cursor { schema: CURSOR_SCHEMA.into(), next: hour.to_string() };
            let written = put_json(&self.store, &cursor_key, &cursor, &condition).await?;
            if !written {
                // Another run moved the cursor: it exports from there (same names, same objects).
                out.pending_from = Some(hour.to_string());
                break;
            }
            let now = self.store.head(&cursor_key).await?;
            condition = match now.and_then(|i| i.etag) {
                Some(e) => Condition::Unchanged(e),
                None => Condition::Always,
            };
        }
        Ok(out)
    }

    async fn export_hour(&self, start: Timestamp, out: &mut Exported) -> Result<(), ExportError> {
        let label = start.strftime("%Y%m%dT%H").to_string();
        out.hours.push(start.to_string());
        let Some(digest) = get_json::<Digest>(&self.store, &keys::digest(start)).await? else {
            out.skipped.push(format!("{label}: no digest (before the chain began)"));
            return Ok(());
        };
        let digest =
            digest.value.map_err(|e| ExportError::Unreadable(format!("digest {label}: {e}")))?;
        let mut events: Vec<Value> = Vec::new();
        let mut part = 0;
        // The digest's order is canonical, so a retried hour cuts the same parts.
        for entry in digest.objects.iter().chain(&digest.backfill) {
            if let Some(mut e) = self.report_events(entry, out).await? {
                events.append(&mut e);
            }
            if events.len() >= self.options.part_events {
                self.write_part(&label, part, std::mem::take(&mut events), out).await?;
                part += 1;
            }
        }
        if !events.is_empty() {
            self.write_part(&label, part, events, out).await?;
        }
        Ok(())
    }

    /// One part of an hour: `session-audit-<hour>` for the first, `-<n>` after it.
    async fn write_part(
        &self,
        label: &str,
        part: usize,
        events: Vec<Value>,
        out: &mut Exported,
    ) -> Result<(), ExportError> {
        let name = match part {
            0 => format!("session-audit-{label}"),
            n => format!("session-audit-{label}-{n}"),
        };
        out.events += events.len();
        out.objects.extend(self.lake.write(&events, &name).await?);
        Ok(())
    }

    /// The events of one digested version, if it is a report.
    async fn report_events(
        &self,
        entry: &Entry,
        out: &mut Exported,
    ) -> Result<Option<Vec<Value>>, ExportError> {
        let own = Filed::Report.parse(&entry.key).is_some_and(|(_, _, ext)| ext == "json");
        let beside = keys::parse_beside(&entry.key).is_some_and(|b| b.ext == "json");
        if entry.delete_marker || !(own || beside) {
            return Ok(None);
        }
        let at = format!("{}@{}", entry.key, entry.version_id.as_deref().unwrap_or("latest"));
        if entry.size > self.options.max_report_mib << 20 {
            tracing::error!(%at, size = entry.size, "report too large to export");
            out.skipped.push(format!("{at}: {} bytes, over LAKE_MAX_REPORT_MIB", entry.size));
            return Ok(None);
        }
        let Some(object) = self.store.get(&entry.key, entry.version_id.as_deref()).await? else {
            tracing::error!(%at, "digested report version gone");
            out.skipped.push(format!("{at}: gone"));
            return Ok(None);
        };
        let report: Report = match serde_json::from_slice(&object.bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%at, error = %e, "report unreadable");
                out.skipped.push(format!("{at}: not a report ({e})"));
                return Ok(None);
            }
        };
        out.reports += 1;
        // The version's own time stands in for times the report lacks: the same export every
        // time it runs.
        let written = entry.last_modified.parse::<Timestamp>().map_or(0, |t| t.as_millisecond());
        let ctx = context(&report, &self.store.uri(&entry.key));
        Ok(Some(if own {
            report_events(&report, &ctx, written)
        } else {
            report.findings.iter().map(|f| finding_event(f, &ctx, written, false)).collect()
        }))
    }
}

/// Where a report's findings were raised, as session-report published them (the same
/// `finding_id`s as its EventBridge events and Security Hub findings).
fn context(report: &Report, uri: &str) -> FindingContext {
    let s = &report.source;
    let origin = match (&s.bucket, &s.key) {
        (Some(b), Some(k)) => {
            transcript_origin(b, k, s.version_id.as_deref().or(s.etag.as_deref()).unwrap_or(""))
        }
        _ => stream_origin(s.log_group.as_deref().unwrap_or(""), &report.session_id),
    };
    let text =
        |v: &Option<Value>, k: &str| v.as_ref().and_then(|v| v[k].as_str()).map(str::to_string);
    FindingContext {
        origin_id: origin,
        session_id: Some(report.session_id.clone()),
        time: report.ended_at.clone().unwrap_or_default(),
        account: text(&report.target, "account"),
        region: text(&report.target, "region").unwrap_or_default(),
        principal: text(&report.identity, "arn").or_else(|| text(&report.identity, "principal")),
        person: text(&report.identity, "person"),
        target: text(&report.target, "instance_id"),
        record: uri.to_string(),
        stage: "report",
    }
}
