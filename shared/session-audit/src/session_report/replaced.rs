//! A transcript reported before and then replaced or removed: the first report is evidence
//! and stays; the later version (or the removal) is reported beside it as SA-TRN-REPLACED.

use super::use_case::{
    failed, marked, origin, Outcome, ReportError, SessionReport, META_ETAG, META_VERSION,
};
use crate::keys;
use crate::ports::session_log::SessionLog;
use crate::ports::sink::FindingsSink;
use crate::ports::store::{AuditStore, Condition, ObjectInfo, Payload};
use crate::publish::Metrics;
use crate::report::{Report, Source, Status};
use crate::upload::Upload;

/// A transcript reported before at another version.
pub(super) struct Replaced {
    /// The first report's Markdown key and what it says it read.
    pub(super) first_md: String,
    pub(super) first_version: String,
    pub(super) first_reported: Option<String>,
    /// This version, as a key component.
    pub(super) tag: String,
}

impl Replaced {
    pub(super) fn new(marker: ObjectInfo, first_md: String, u: &Upload) -> Replaced {
        let meta = |k: &str| marker.metadata.get(k).cloned();
        let first_version = meta(META_VERSION).or(meta(META_ETAG)).unwrap_or_else(|| "?".into());
        let tag = version_tag(u);
        Replaced { first_md, first_version, first_reported: marker.last_modified, tag }
    }

    pub(super) fn evidence(&self, transcript: &str, report: &Report) -> String {
        let this = report.source.version_id.as_deref().or(report.source.etag.as_deref());
        format!(
            "{transcript}: version {} replaces version {}, reported {} ({} kept)",
            this.unwrap_or("?"),
            self.first_version,
            self.first_reported.as_deref().unwrap_or("earlier"),
            self.first_md
        )
    }
}

/// The version (else the ETag) of an upload as a key component of a report filed beside.
pub(super) fn version_tag(u: &Upload) -> String {
    let this = u.version_id.clone().or(u.etag.clone()).unwrap_or_else(|| "latest".into());
    let tag: String = this
        .trim_matches('"')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .take(128)
        .collect();
    if tag.starts_with('.') || tag.is_empty() {
        format!("v{tag}")
    } else {
        tag
    }
}

impl<S: AuditStore, F: FindingsSink, L: SessionLog> SessionReport<S, F, L> {
    /// What the store still holds of what a removal event says is gone, or `None` when the
    /// store agrees it is gone. The event is not taken on its word: whoever can invoke the
    /// function could make one up, with any version ID. The reported version deleted for good
    /// is confirmed when the store no longer has that version; anything else (a delete marker,
    /// another version deleted) when the key has no current object. A new upload after a
    /// delete marker is reported on its own (a later version), so nothing is lost either way.
    async fn still_there(
        &self,
        removed: &Upload,
        reported_version: &str,
        transcript: &str,
    ) -> Result<Option<String>, ReportError> {
        let checking = || failed(transcript, "confirming the removal");
        if let Some(version) = removed.version_id.as_deref().filter(|v| *v == reported_version) {
            let open = self.store.open(&removed.key, Some(version)).await.map_err(checking())?;
            return Ok(open.map(|_| format!("version {version} is still stored")));
        }
        let head = self.store.head(&removed.key).await.map_err(checking())?;
        Ok(head.map(|current| {
            let at = current.version.as_deref().unwrap_or("its current version");
            format!("the key still has a current object ({at})")
        }))
    }

    /// A transcript removed (a delete marker, or a version deleted): when it was reported, the
    /// report stays and the removal is SA-TRN-REPLACED, stored beside it and published.
    pub(super) async fn removal(
        &self,
        removed: &Upload,
        session: &crate::keys::SessionAt,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ReportError> {
        let transcript = self.store.uri(&removed.key);
        let (date, record, _) = self
            .filing(session, removed)
            .await
            .map_err(failed(&transcript, "reading the record"))?;
        let malformed = |e: keys::BadId| ReportError::Malformed(e.to_string());
        let first_md = keys::report(date, session, "md").map_err(malformed)?;
        let Some(marker) =
            self.store.head(&first_md).await.map_err(failed(&transcript, "checking the report"))?
        else {
            let reason = format!("{} removed before it was reported", removed.key);
            return Ok(Outcome::Ignored { reason });
        };
        let what = removed.version_id.clone().or(removed.time.clone()).unwrap_or_default();
        let mut replaced = Replaced::new(marker, first_md, removed);
        if let Some(still) = self.still_there(removed, &replaced.first_version, &transcript).await?
        {
            metrics.add("RemovalsUnconfirmed", 1.0);
            tracing::warn!(key = %removed.key, %still, "removal not confirmed by the store");
            let reason = format!(
                "{}: the removal is not confirmed ({still}); nothing reported",
                removed.key
            );
            return Ok(Outcome::Ignored { reason });
        }
        replaced.tag = format!("removed-{}", replaced.tag);
        let json_key =
            keys::replaced_report(date, session, &replaced.tag, "json").map_err(malformed)?;
        let md_key =
            keys::replaced_report(date, session, &replaced.tag, "md").map_err(malformed)?;
        if self
            .store
            .head(&md_key)
            .await
            .map_err(failed(&transcript, "checking the report"))?
            .is_some()
        {
            return Ok(Outcome::Duplicate { md_key });
        }
        let evidence = format!(
            "{transcript}: {} ({what}) after version {} was reported {} ({} kept)",
            removed.reason,
            replaced.first_version,
            replaced.first_reported.as_deref().unwrap_or("earlier"),
            replaced.first_md
        );
        let findings: Vec<_> = self
            .analyzer
            .rules
            .session_finding("transcript_replaced", evidence)
            .into_iter()
            .collect();
        let source = Source {
            bucket: Some(removed.bucket.clone()),
            key: Some(removed.key.clone()),
            version_id: removed.version_id.clone(),
            ..Source::default()
        };
        let report = Report {
            schema: crate::report::SCHEMA.to_string(),
            session_id: session.id().to_string(),
            status: Status::NonCompliant,
            status_reason: Some(format!("the transcript was removed ({})", removed.reason)),
            source,
            identity: None,
            target: None,
            started_at: record.as_ref().map(|r| r.started_at.clone()),
            ended_at: removed.time.clone(),
            commands: Vec::new(),
            findings,
            stats: crate::report::Stats::default(),
            generator: concat!("session-audit ", env!("CARGO_PKG_VERSION")).to_string(),
        };
        let attributes = |content_type| marked(content_type, removed, &report);
        let json = serde_json::to_vec_pretty(&report).expect("reports serialise");
        let md = report.to_markdown(0);
        for (key, body, content_type) in [
            (&json_key, json, "application/json"),
            (&md_key, md.into_bytes(), "text/markdown; charset=utf-8"),
        ] {
            let (body, attributes) = (Payload::Bytes(body), attributes(content_type));
            let put = self.store.put(key, body, &attributes, &Condition::Always);
            put.await.map_err(failed(&transcript, "writing the report"))?;
        }
        let origin = origin(removed, report.source.etag.as_deref());
        let ctx = self.context(&report, record.as_ref(), &origin, &json_key);
        self.sink
            .publish(&report.findings, &ctx)
            .await
            .map_err(|error| ReportError::Sink { transcript: transcript.clone(), error })?;
        metrics.add_findings(&report.findings);
        Ok(Outcome::Reported {
            json_key,
            md_key,
            status: report.status,
            commands: 0,
            findings: report.findings.iter().map(|f| f.rule_id.clone()).collect(),
        })
    }
}
