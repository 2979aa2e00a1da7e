//! The guardduty-correlation use case: a GuardDuty finding about an EC2 instance arrives (from
//! EventBridge); the session records of the days around it are read, the sessions on that
//! instance in the window are named ([`crate::guardduty`]), the correlation is filed under
//! `audit/guardduty/`, and an `SA-SES-GUARDDUTY` finding names the sessions, the people, their
//! reports and the GuardDuty finding, or says no session was there.
//!
//! GuardDuty sends the same finding again as it sees the activity again (its `count` grows):
//! each arrival is correlated afresh over the longer span and filed as a new version of the
//! same object; the finding keeps one ID.

use futures_util::{stream, StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::guardduty::{BadFinding, Correlation, GuardDutyFinding, Window};
use crate::keys::{guardduty_correlation, BadId, Filed};
use crate::ports::sink::{FindingsSink, SinkError};
use crate::ports::store::{get_json, put_json, AuditStore, Condition, StoreError, Stored};
use crate::publish::FindingContext;
use crate::rules::RulePack;
use crate::session::SessionRecord;
use crate::{Failure, FailureKind};

/// Record reads in flight at once.
const CONCURRENCY: usize = 16;

/// How the sessions are searched.
#[derive(Debug, Clone)]
pub struct CorrelationOptions {
    /// Searched either side of the activity GuardDuty saw (`GUARDDUTY_WINDOW_MINUTES`).
    pub margin: SignedDuration,
    /// How long a session whose end was not seen is taken to have lasted: the longest session
    /// the preferences allow (`MAX_SESSION_MINUTES`).
    pub longest_session: SignedDuration,
    /// The account whose sessions this stack records; findings of other accounts (a GuardDuty
    /// administrator sees its members') are answered as not ours.
    pub account: Option<String>,
}

/// The use case over its seams.
pub struct GuardDutyCorrelation<S, K> {
    /// The audit store: session records read, correlations filed.
    pub store: S,
    /// Where the finding goes.
    pub sink: K,
    /// The rules (`SA-SES-GUARDDUTY`'s frameworks; a pack may turn it off).
    pub pack: RulePack,
    /// How sessions are searched.
    pub options: CorrelationOptions,
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
pub struct Correlated {
    /// The GuardDuty finding's ID.
    pub finding_id: String,
    /// The instance.
    pub instance_id: String,
    /// Where the correlation was filed.
    pub key: String,
    /// The sessions named.
    pub sessions: Vec<String>,
    /// Records that could not be read (named in the correlation).
    pub unreadable: usize,
    /// Whether an `SA-SES-GUARDDUTY` finding was published.
    pub published: bool,
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum CorrelationError {
    /// Not a GuardDuty finding about an instance.
    #[error("{0}")]
    Malformed(#[from] BadFinding),
    /// A finding ID or day that cannot name an audit object.
    #[error("{0}")]
    BadId(#[from] BadId),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The findings sink failed.
    #[error("{0}")]
    Sink(#[from] SinkError),
}

impl Failure for CorrelationError {
    fn kind(&self) -> FailureKind {
        match self {
            CorrelationError::Malformed(_) | CorrelationError::BadId(_) => {
                FailureKind::MalformedEvent
            }
            CorrelationError::Store(_) => FailureKind::Store,
            CorrelationError::Sink(_) => FailureKind::Sink,
        }
    }
}

impl<S: AuditStore, K: FindingsSink> GuardDutyCorrelation<S, K> {
    /// Correlate the finding `event` carries, file it, publish its finding.
    pub async fn handle(
        &self,
        event: &Value,
        now: Timestamp,
    ) -> Result<Correlated, CorrelationError> {
        let finding = GuardDutyFinding::parse(event)?;
        if let Some(own) = self.options.account.as_ref().filter(|own| **own != finding.account) {
            return Err(BadFinding(format!(
                "GuardDuty finding {} is about account {}, not this stack's {own}: its sessions \
                 are recorded there",
                finding.id, finding.account
            ))
            .into());
        }
        let window = Window::around(&finding, self.options.margin);
        let (records, unreadable) = self.records(&window).await?;
        let mut correlation =
            Correlation::of(finding, window, &records, self.options.longest_session, now);
        correlation.unreadable = unreadable;
        let f = &correlation.finding;
        let day = f.last_seen.to_zoned(jiff::tz::TimeZone::UTC).date();
        let key = guardduty_correlation(day, &f.id)?;
        let published = self.publish(&correlation, &key).await?;
        put_json(&self.store, &key, &correlation, &Condition::Always).await?;
        Ok(Correlated {
            finding_id: correlation.finding.id.clone(),
            instance_id: correlation.finding.instance_id.clone(),
            key,
            sessions: correlation.sessions.iter().map(|s| s.session_id.clone()).collect(),
            unreadable: correlation.unreadable.len(),
            published,
        })
    }

    /// Every session record of the window's days: `(key, record)`, and the keys that did not
    /// read as records.
    async fn records(
        &self,
        window: &Window,
    ) -> Result<(Vec<(String, SessionRecord)>, Vec<String>), CorrelationError> {
        let mut keys = Vec::new();
        for day in window.record_days(self.options.longest_session) {
            let listed = self.store.list(&Filed::Session.day_prefix(day)).await?;
            keys.extend(listed.into_iter().map(|e| e.key).filter(|k| k.ends_with(".json")));
        }
        let read: Vec<(String, Option<Stored<SessionRecord>>)> = stream::iter(keys)
            .map(|key| async move {
                let got = get_json::<SessionRecord>(&self.store, &key).await?;
                Ok::<_, StoreError>((key, got))
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let (mut records, mut unreadable) = (Vec::new(), Vec::new());
        for (key, got) in read {
            match got.map(|s| s.value) {
                Some(Ok(r)) => records.push((key, r)),
                Some(Err(why)) => unreadable.push(format!("{key}: {why}")),
                // Listed, then gone (a record moved to its start day): its new place is read
                // too when that day is in the window.
                None => {}
            }
        }
        Ok((records, unreadable))
    }

    async fn publish(&self, c: &Correlation, key: &str) -> Result<bool, CorrelationError> {
        let Some(mut finding) = self.pack.session_finding("guardduty_finding", c.evidence()) else {
            return Ok(false);
        };
        finding.severity = c.finding.severity_band();
        let only = (c.sessions.len() == 1).then(|| &c.sessions[0]);
        let ctx = FindingContext {
            // One finding per GuardDuty finding, updated as GuardDuty updates it.
            origin_id: format!("guardduty:{}", c.finding.arn),
            session_id: only.map(|s| s.session_id.clone()),
            time: c.finding.last_seen.to_string(),
            account: Some(c.finding.account.clone()),
            region: c.finding.region.clone(),
            principal: only.map(|s| s.principal.clone()),
            person: only.and_then(|s| s.person.clone()),
            target: Some(c.finding.instance_id.clone()),
            record: self.store.uri(key),
            stage: "guardduty",
        };
        self.sink.publish(&[finding], &ctx).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
