//! The session's report slot (`audit/reports/dt=…/<sessionId>.{json,md}`): which upload of a
//! transcript holds it is decided by S3, never by which invocation ran first.
//!
//! The JSON is the claim: written with If-None-Match when the slot is free, If-Match over what
//! was seen otherwise, so two invocations never both think they hold it. The slot belongs to
//! the earliest version in S3's order of writes; a later version is reported beside it
//! (`SA-TRN-REPLACED`). When the earlier version's event comes second (delivered late, or its
//! first try failed after a later version was reported), it takes the slot over and the later
//! version is reported again, beside it. The Markdown, written last, marks the report complete
//! and is written only while the JSON is still this report's.

use super::replaced::Replaced;
use super::use_case::{from_stream, reports, SessionReport, META_ETAG, META_VERSION};
use crate::ports::session_log::SessionLog;
use crate::ports::sink::FindingsSink;
use crate::ports::store::{Attributes, AuditStore, Condition, ObjectInfo, Payload, StoreError};
use crate::upload::Upload;

/// Writes of the Markdown marker tried before giving up (others kept changing it).
const MARKER_ATTEMPTS: usize = 5;

/// What the slot says about one transcript version.
pub(super) enum Claim {
    /// The slot is this version's to write: free, a stream report's, or this version's own
    /// unfinished report (a retry). The JSON is written if the slot is still as seen.
    Write(Condition),
    /// This version's report is complete: a redelivery.
    Duplicate,
    /// An earlier version holds it: this one is reported beside it.
    Replaced(Replaced),
    /// A later version holds it: this one takes it over (if it is still as seen), and the
    /// later one is reported again, beside it.
    TakeOver {
        /// The JSON as seen.
        condition: Condition,
        /// The later version, to report again.
        displaced: Box<Upload>,
    },
}

impl<S: AuditStore, F: FindingsSink, L: SessionLog> SessionReport<S, F, L> {
    /// What the slot at `json_key`/`md_key` says about `upload`.
    pub(super) async fn claim(
        &self,
        json_key: &str,
        md_key: &str,
        upload: &Upload,
    ) -> Result<Claim, StoreError> {
        let Some(held) = self.store.head(json_key).await? else {
            return Ok(Claim::Write(Condition::Absent));
        };
        let seen = Condition::Unchanged(held.etag.clone().unwrap_or_default());
        if from_stream(&held) {
            return Ok(Claim::Write(seen));
        }
        if reports(&held, upload) {
            let md = self.store.head(md_key).await?;
            return Ok(match md.is_some_and(|m| reports(&m, upload)) {
                true => Claim::Duplicate,
                false => Claim::Write(seen),
            });
        }
        let holder = held.metadata.get(META_VERSION).cloned();
        if let (Some(this), Some(holder)) = (upload.version_id.as_deref(), holder) {
            if self.earlier(&upload.key, this, &holder).await? {
                let displaced = Box::new(Upload {
                    version_id: Some(holder),
                    etag: held.metadata.get(META_ETAG).cloned(),
                    reason: format!("reported again: version {this} was written before it"),
                    uploader: None,
                    ..upload.clone()
                });
                return Ok(Claim::TakeOver { condition: seen, displaced });
            }
        }
        Ok(Claim::Replaced(Replaced::new(held, md_key.to_string(), upload)))
    }

    /// Whether S3 wrote version `a` of `key` before version `b`. False when either is not
    /// listed (deleted for good, or an unversioned bucket): the holder keeps the slot.
    async fn earlier(&self, key: &str, a: &str, b: &str) -> Result<bool, StoreError> {
        let versions = self.store.versions(key).await?;
        let at = |v: &str| versions.iter().position(|x| x == v);
        Ok(matches!((at(a), at(b)), (Some(a), Some(b)) if a < b))
    }

    /// Write the Markdown that marks the slot's report complete, while the JSON is still
    /// `ours`. `Ok(false)`: another report took the slot first.
    pub(super) async fn mark_complete(
        &self,
        json_key: &str,
        md_key: &str,
        md: Vec<u8>,
        attributes: &Attributes,
        ours: impl Fn(&ObjectInfo) -> bool,
    ) -> Result<bool, StoreError> {
        for _ in 0..MARKER_ATTEMPTS {
            // The Markdown is read before the JSON: a report that takes the JSON over after
            // this check changes the Markdown too, and the write below then fails.
            let marker = self.store.head(md_key).await?;
            if !self.store.head(json_key).await?.is_some_and(|m| ours(&m)) {
                return Ok(false);
            }
            let condition = match marker {
                None => Condition::Absent,
                Some(m) => Condition::Unchanged(m.etag.unwrap_or_default()),
            };
            let body = Payload::Bytes(md.clone());
            if self.store.put(md_key, body, attributes, &condition).await? {
                return Ok(true);
            }
        }
        Err(StoreError {
            op: "PutObject",
            uri: self.store.uri(md_key),
            code: None,
            message: format!("the report's marker changed under {MARKER_ATTEMPTS} writes in a row"),
        })
    }
}
