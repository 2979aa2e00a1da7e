//! The session-start audit as a use case: a CloudTrail Session Manager event in, the session
//! or denied record in the audit store, and its findings out through the findings sink. The
//! session-start function runs it over S3 and EventBridge with AWS lookups; `session-audit
//! events` over a directory, offline.
//!
//! Order matters for "nothing lost": the record is written first (with warnings for whatever
//! could not be looked up), then findings are published, then the record notes that they were.
//! A retry after a failed publish finds the record, sees `findings_sent == false` and publishes
//! again; a duplicate delivery after success changes nothing.

use std::future::Future;

use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::finding::Finding;
use crate::keys::{self, BadId};
use crate::ports::sink::{FindingsSink, SinkError};
use crate::ports::store::{get_json, put_json, AuditStore, Condition, StoreError, Stored};
use crate::publish::{FindingContext, Metrics};
use crate::redact::Redactor;
use crate::rules::RulePack;
use crate::session::findings::{evaluate, AccessFacts, Facts, StartConfig};
use crate::session::preferences::{is_preferences_change, PreferencesChange};
use crate::session::{
    records, Action, DeniedRecord, Event, SessionRecord, Skip, SESSION_SPAN_DAYS,
};
use crate::Failure;

mod preferences;

/// How often a conditional write is retried after losing a race with another delivery.
const WRITE_ATTEMPTS: usize = 5;

/// What the audit looks up about a StartSession beyond the event: the target's tags, the
/// document's session type, the account's preferences. Each fact it cannot establish stays
/// unknown, with a warning (a finding is never guessed).
pub trait Lookups: Sync {
    /// What EC2 and SSM say about the event's target, document and preferences, with warnings
    /// for what could not be read.
    fn facts(&self, event: &Event) -> impl Future<Output = (Facts, Vec<String>)> + Send;
}

/// No lookups: the CLI's back-fill of CloudTrail files, where AWS is not asked.
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineLookups;

/// The warning every back-filled record carries.
pub const OFFLINE: &str = "back-filled offline: target tags, document session type and logging preferences were not checked";

impl Lookups for OfflineLookups {
    async fn facts(&self, _: &Event) -> (Facts, Vec<String>) {
        (Facts::default(), vec![OFFLINE.to_string()])
    }
}

/// Why an event was not audited. Returned to the platform, whose retries and dead-letter
/// destination keep the event.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The event cannot be audited as it is.
    #[error("malformed event {event_id}: {reason}")]
    Malformed {
        /// CloudTrail's `eventID`, or what stood for it.
        event_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The audit store failed at `step`.
    #[error("{step} for event {event_id}: {error}")]
    Store {
        /// What the audit was doing.
        step: &'static str,
        /// CloudTrail's `eventID`.
        event_id: String,
        /// What the store answered.
        error: StoreError,
    },
    /// The findings sink failed.
    #[error("event {event_id}: {error}")]
    Sink {
        /// CloudTrail's `eventID`.
        event_id: String,
        /// What the sink answered.
        error: SinkError,
    },
}

impl Failure for StartError {
    fn kind(&self) -> crate::FailureKind {
        match self {
            StartError::Malformed { .. } => crate::FailureKind::MalformedEvent,
            StartError::Store { .. } => crate::FailureKind::Store,
            StartError::Sink { .. } => crate::FailureKind::Sink,
        }
    }
}

/// What happened to one CloudTrail record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A record was written (or updated) at `key`.
    Recorded {
        /// The record's key.
        key: String,
    },
    /// The record at `key` already had this event: a redelivery.
    Duplicate {
        /// The record's key.
        key: String,
    },
    /// Not a session call this audit records (another API, a read-only call).
    NotAudited {
        /// Why not.
        reason: String,
    },
}

/// One audited record: what the function answers and logs.
#[derive(Debug, Clone, Serialize)]
pub struct Audited {
    /// CloudTrail's `eventID`.
    pub event_id: String,
    /// The call, when it was one of the session calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The IDs of the findings published.
    pub findings: Vec<String>,
    /// What could not be found out.
    pub warnings: Vec<String>,
}

/// The start audit, built once per process and borrowed by every invocation.
pub struct SessionStart<S, L, F> {
    /// Where records are written.
    pub store: S,
    /// EC2 and SSM, for the target's tags and the preferences.
    pub lookups: L,
    /// Where findings are published.
    pub sink: F,
    /// The findings configuration.
    pub config: StartConfig,
    /// The rule pack.
    pub pack: RulePack,
    /// The redaction applied to every stored field.
    pub redactor: Redactor,
    /// The hub's own account and region: its sessions' records may be where records were filed
    /// before places.
    pub home: crate::keys::Home,
}

/// A record the audit writes: the findings it carries and whether they went out.
trait Record: Serialize + DeserializeOwned + Clone + Send {
    fn findings(&self) -> &[Finding];
    fn findings_sent(&mut self) -> &mut bool;
}

impl Record for SessionRecord {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_sent(&mut self) -> &mut bool {
        &mut self.findings_sent
    }
}

impl Record for PreferencesChange {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_sent(&mut self) -> &mut bool {
        &mut self.findings_sent
    }
}

impl Record for DeniedRecord {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_sent(&mut self) -> &mut bool {
        &mut self.findings_sent
    }
}

/// A store failure at `step` while auditing the event `event_id`.
fn store<'a>(event_id: &'a str, step: &'static str) -> impl FnOnce(StoreError) -> StartError + 'a {
    move |error| StartError::Store { step, event_id: event_id.to_string(), error }
}

fn malformed(event: &Event) -> impl Fn(BadId) -> StartError + '_ {
    move |e| StartError::Malformed { event_id: event.event_id.clone(), reason: e.to_string() }
}

impl<S: AuditStore, L: Lookups, F: FindingsSink> SessionStart<S, L, F> {
    /// Audit what EventBridge delivered: one CloudTrail event of Session Manager, in its
    /// envelope (`source` `aws.ssm`, `detail-type` "AWS API Call via CloudTrail"). The
    /// function's input: a bare record or a log file handed to it is refused, not audited
    /// (the CLI reads those through [`SessionStart::handle`]).
    pub async fn handle_delivered(
        &self,
        input: &Value,
        metrics: &mut Metrics,
    ) -> Result<Vec<Audited>, StartError> {
        let field = |k: &str| input.get(k).and_then(Value::as_str);
        let delivered = field("source") == Some("aws.ssm")
            && field("detail-type") == Some("AWS API Call via CloudTrail")
            && input.get("detail").is_some_and(Value::is_object);
        if !delivered {
            let id = input.pointer("/detail/eventID").or(input.get("eventID"));
            tracing::error!(event_id = ?id, "event rejected: not an EventBridge delivery");
            return Err(StartError::Malformed {
                event_id: id.and_then(Value::as_str).unwrap_or("?").to_string(),
                reason: "not an EventBridge delivery of a Session Manager CloudTrail event \
                         (source aws.ssm, detail-type \"AWS API Call via CloudTrail\")"
                    .into(),
            });
        }
        self.handle(input, metrics).await
    }

    /// Audit every CloudTrail record in `input` (an EventBridge event, a bare record or a log
    /// file). All records are processed; the first failure is returned after the rest.
    pub async fn handle(
        &self,
        input: &Value,
        metrics: &mut Metrics,
    ) -> Result<Vec<Audited>, StartError> {
        metrics.add("SessionsStarted", 0.0).add("DeniedAttempts", 0.0).add_findings(&[]);
        let mut done = Vec::new();
        let mut first_error = None;
        for (account, record) in records(input) {
            let id = record.get("eventID").and_then(Value::as_str).unwrap_or("?").to_string();
            let result = match Event::parse(record, account.clone()) {
                Err(Skip::NotAudited(_)) if is_preferences_change(record) => {
                    self.preferences_changed(record, account, metrics).await
                }
                Ok(event) => self.audit(&event, metrics).await,
                Err(Skip::NotAudited(reason)) => Ok(Audited {
                    event_id: id.clone(),
                    action: None,
                    outcome: Outcome::NotAudited { reason },
                    findings: Vec::new(),
                    warnings: Vec::new(),
                }),
                Err(Skip::Malformed(reason)) => Err(StartError::Malformed { event_id: id, reason }),
            };
            match result {
                Ok(a) => done.push(a),
                Err(e) => {
                    tracing::error!(error = %e, "event rejected");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// The event with secrets hidden in the free text users and AWS put in it.
    fn redacted(&self, mut event: Event) -> Event {
        for text in [&mut event.reason, &mut event.error_message].into_iter().flatten() {
            *text = self.redactor.redact(text).into_owned();
        }
        for text in event.parameters.values_mut().flatten() {
            *text = self.redactor.redact(text).into_owned();
        }
        event
    }

    /// Audit one parsed event: its record written, its findings published once.
    pub async fn audit(&self, event: &Event, metrics: &mut Metrics) -> Result<Audited, StartError> {
        let event = &self.redacted(event.clone());
        let mut audited = Audited {
            event_id: event.event_id.clone(),
            action: Some(event.action),
            outcome: Outcome::NotAudited { reason: String::new() },
            findings: Vec::new(),
            warnings: Vec::new(),
        };
        let (record_key, fresh, findings) = if event.error_code.is_some() {
            let findings = evaluate(&self.pack, &self.config, event, &Facts::default());
            let mut denied = DeniedRecord::from_event(event).expect("an error code");
            denied.findings = findings.clone();
            let key = denied.key().map_err(malformed(event))?;
            let fresh = self
                .write_once(&key, &denied)
                .await
                .map_err(store(&event.event_id, "writing the record"))?;
            if fresh {
                metrics.add("DeniedAttempts", 1.0);
            }
            (key, fresh, findings)
        } else {
            let Some(session_id) = event.session_id.clone() else {
                return Err(StartError::Malformed {
                    event_id: event.event_id.clone(),
                    reason: format!("{:?} without a session ID", event.action),
                });
            };
            // A session ID is unique only within its account: it is filed under its place.
            let place = event.place().map_err(malformed(event))?;
            let session = keys::SessionAt::new(place, &session_id).map_err(malformed(event))?;
            let (findings, warnings, session_type, access) = if event.action == Action::StartSession
            {
                let (facts, warnings) = match self.elsewhere(event) {
                    // The hub's lookups see its own account and region only: another's facts
                    // are unknown (and unknown facts raise nothing), said on the record.
                    Some(why) => (Facts::default(), vec![why]),
                    None => self.lookups.facts(event).await,
                };
                let findings = evaluate(&self.pack, &self.config, event, &facts);
                let access = AccessFacts::of(&self.config, event, &facts);
                (findings, warnings, facts.session_type, access)
            } else {
                (Vec::new(), Vec::new(), None, AccessFacts::default())
            };
            for w in &warnings {
                tracing::warn!(event_id = %event.event_id, warning = %w, "lookup failed");
            }
            metrics.add("LookupWarnings", warnings.len() as f64);
            audited.warnings = warnings.clone();
            let update = Update {
                session: &session,
                event,
                findings: &findings,
                warnings: &warnings,
                session_type,
                access,
            };
            let (key, fresh) = self.write_session(update).await?;
            if fresh && event.action == Action::StartSession {
                metrics.add("SessionsStarted", 1.0);
            }
            (key, fresh, findings)
        };
        audited.outcome = if fresh {
            Outcome::Recorded { key: record_key.clone() }
        } else {
            tracing::info!(event_id = %event.event_id, key = %record_key, "duplicate delivery");
            Outcome::Duplicate { key: record_key.clone() }
        };
        if fresh {
            metrics.add_findings(&findings);
        }
        audited.findings = findings.iter().map(|f| f.rule_id.clone()).collect();
        let ctx = self.context(&record_key, event);
        if keys::Filed::Denied.parse(&record_key).is_some() {
            self.publish_once::<DeniedRecord>(&record_key, &ctx).await?;
        } else {
            self.publish_once::<SessionRecord>(&record_key, &ctx).await?;
        }
        Ok(audited)
    }

    /// Why the event's facts cannot be looked up from here: it was made in another account or
    /// region than the hub's own (`None` where the home is unknown: the CLI's offline replay).
    fn elsewhere(&self, event: &Event) -> Option<String> {
        let home = self.home.as_ref()?;
        let place = event.place().ok()?;
        (place != *home).then(|| {
            format!(
                "not looked up: the session ran in {place}, the audit's lookups see {home} only \
                 (tags, document type and preferences unknown)"
            )
        })
    }

    /// Write a record filed by event ID (a denied attempt, a preferences change) unless it
    /// exists. Returns whether it was new.
    async fn write_once(&self, key: &str, record: &impl Serialize) -> Result<bool, StoreError> {
        if self.store.get(key, None).await?.is_some() {
            return Ok(false);
        }
        // Lost race: a concurrent delivery of the same event wrote it.
        put_json(&self.store, key, record, &Condition::Absent).await
    }

    /// Read the session's record (wherever it is), merge the event and write it back if it
    /// changed. Returns the record's key and whether anything was written.
    async fn write_session(&self, u: Update<'_>) -> Result<(String, bool), StartError> {
        let event = u.event;
        for _ in 0..WRITE_ATTEMPTS {
            let found = self.find_session(u.session, u.event).await?;
            let (existing, read_at) = match found {
                Some((key, Stored { value: Ok(r), etag })) => (Some(r), Some((key, etag))),
                Some((key, Stored { value: Err(why), etag })) => {
                    // Unreadable: replaced, but the bucket's versioning keeps the old object.
                    tracing::error!(key, %why, "replacing an unreadable session record");
                    (None, Some((key, etag)))
                }
                None => (None, None),
            };
            let Some(mut merged) = SessionRecord::merge(existing, u.event, u.findings.to_vec())
            else {
                return Ok((read_at.map(|(k, _)| k).unwrap_or_default(), false));
            };
            merged.warnings.extend(u.warnings.iter().cloned());
            if merged.session_type.is_none() {
                merged.session_type = u.session_type.clone();
            }
            if event.action == Action::StartSession {
                let AccessFacts { access, change_window, approval } = u.access.clone();
                merged.access = merged.access.take().or(access);
                merged.change_window = merged.change_window.take().or(change_window);
                merged.approval = merged.approval.take().or(approval);
            }
            let key = merged.key().map_err(malformed(u.event))?;
            let condition = match &read_at {
                Some((k, etag)) if *k == key => Condition::Unchanged(etag.clone()),
                _ => Condition::Absent,
            };
            if !put_json(&self.store, &key, &merged, &condition)
                .await
                .map_err(store(&event.event_id, "writing the record"))?
            {
                continue;
            }
            if let Some((old, etag)) = read_at.filter(|(k, _)| *k != key) {
                // An orphan record from a call that arrived before its StartSession, on another
                // day: its content is in the merged record now.
                self.store
                    .delete_if_unchanged(&old, &etag)
                    .await
                    .map_err(store(&event.event_id, "removing the moved record"))?;
            }
            return Ok((key, true));
        }
        Err(store(&event.event_id, "writing the record")(StoreError {
            op: "conditional write",
            uri: u.session.to_string(),
            code: Some("ConditionalRequestConflict".into()),
            message: format!("the record kept changing under {WRITE_ATTEMPTS} attempts"),
        }))
    }

    /// The stored record of a session: on the event's date, or the days a record may have been
    /// filed under instead (a StartSession finds an orphan filed up to [`SESSION_SPAN_DAYS`]
    /// later; a later call finds its start up to that many days before: the preferences end
    /// every session within [`crate::session::LONGEST_SESSION_MINUTES`]).
    async fn find_session(
        &self,
        session: &keys::SessionAt,
        event: &Event,
    ) -> Result<Option<(String, Stored<SessionRecord>)>, StartError> {
        let date: Date = event.date().parse().map_err(|_| StartError::Malformed {
            event_id: event.event_id.clone(),
            reason: format!("event date {:?} is not a date", event.date()),
        })?;
        let step = if event.action == Action::StartSession { 1 } else { -1 };
        let days = (0..=SESSION_SPAN_DAYS)
            .filter_map(|n| date.checked_add(jiff::Span::new().days(n * step)).ok());
        for date in days {
            for key in keys::session_record_keys(date, session, &self.home) {
                let stored = get_json(&self.store, &key)
                    .await
                    .map_err(store(&event.event_id, "reading the record"))?;
                if let Some(stored) = stored {
                    return Ok(Some((key, stored)));
                }
            }
        }
        Ok(None)
    }

    /// Publish the findings of the record at `key` unless that was done, then note it.
    async fn publish_once<R: Record>(
        &self,
        key: &str,
        ctx: &FindingContext,
    ) -> Result<(), StartError> {
        let event_id = ctx.origin_id.as_str();
        if !self.sink.delivers() {
            return Ok(());
        }
        for _ in 0..WRITE_ATTEMPTS {
            let Some(Stored { value: Ok(mut record), etag }) = get_json::<R>(&self.store, key)
                .await
                .map_err(store(event_id, "reading the record"))?
            else {
                return Ok(());
            };
            if record.findings().is_empty() || *record.findings_sent() {
                return Ok(());
            }
            self.sink
                .publish(record.findings(), ctx)
                .await
                .map_err(|error| StartError::Sink { event_id: event_id.to_string(), error })?;
            *record.findings_sent() = true;
            let written = put_json(&self.store, key, &record, &Condition::Unchanged(etag))
                .await
                .map_err(store(event_id, "noting the findings sent"))?;
            if written {
                return Ok(());
            }
        }
        Ok(())
    }

    fn context(&self, key: &str, event: &Event) -> FindingContext {
        FindingContext {
            origin_id: event.event_id.clone(),
            session_id: event.session_id.clone(),
            time: event.event_time.clone(),
            account: event.account.clone(),
            region: event.region.clone(),
            principal: event.identity.arn.clone().or(Some(event.identity.principal.clone())),
            person: event.identity.person.clone(),
            target: event.target.clone(),
            record: self.store.uri(key),
            stage: "start",
        }
    }
}

/// One event's change to a session record.
struct Update<'a> {
    session: &'a keys::SessionAt,
    event: &'a Event,
    findings: &'a [Finding],
    warnings: &'a [String],
    session_type: Option<String>,
    access: AccessFacts,
}
