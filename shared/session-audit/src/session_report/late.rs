//! A transcript that arrives after the grace period: by then the access summary may have
//! published SA-SES-TRANSCRIPT-MISSING for its session. Its report proves the transcript is
//! not missing, so that finding is withdrawn (in Security Hub: archived, which resolves its
//! workflow). Only an upload CloudTrail shows the session's own instance made after the
//! session ended does this: a planted or unattributed upload must not clear a finding.

use jiff::{SignedDuration, Timestamp};

use super::use_case::SessionReport;
use crate::finding::Finding;
use crate::provenance::Provenance;
use crate::publish::FindingContext;
use crate::session::SessionRecord;

impl<S, F, L> SessionReport<S, F, L> {
    /// The summary's missing-transcript finding for `record`'s session, to withdraw, when the
    /// transcript was uploaded (`uploaded_at`, S3's time) after the session's end plus the
    /// grace period and `provenance` establishes it.
    pub(super) fn missing_withdrawn(
        &self,
        record: &SessionRecord,
        uploaded_at: Option<&str>,
        provenance: &Provenance,
        report_uri: String,
    ) -> Option<(Finding, FindingContext)> {
        if !matches!(provenance, Provenance::Established { .. }) {
            return None;
        }
        let uploaded: Timestamp = uploaded_at?.parse().ok()?;
        let end: Timestamp =
            record.terminated_at.as_deref().unwrap_or(&record.started_at).parse().ok()?;
        let grace = SignedDuration::from_mins(self.options.grace_minutes as i64);
        if uploaded <= end.checked_add(grace).ok()? {
            return None; // on time: the summary saw it (or will), nothing was raised
        }
        let evidence = format!(
            "transcript uploaded {uploaded}, after the {} min grace period: not missing",
            self.options.grace_minutes
        );
        let finding = self.analyzer.rules.session_finding("transcript_missing", evidence)?;
        // As the summary published it: the same origin and rule make the same finding ID.
        let ctx = FindingContext {
            origin_id: crate::publish::session_origin(
                record.account.as_deref(),
                &record.region,
                &record.session_id,
            ),
            session_id: Some(record.session_id.clone()),
            time: record.started_at.clone(),
            account: record.account.clone(),
            region: record.region.clone(),
            principal: Some(
                record.identity.arn.clone().unwrap_or_else(|| record.identity.principal.clone()),
            ),
            person: record.identity.person.clone(),
            target: record.target.clone(),
            record: report_uri,
            stage: "summary",
        };
        Some((finding, ctx))
    }
}
