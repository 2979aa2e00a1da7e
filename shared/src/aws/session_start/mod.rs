//! The session-start audit: a CloudTrail Session Manager event in, the session or denied
//! record in the log bucket and the findings out as EventBridge events.
//!
//! Order matters for "nothing lost": the record is written first (with warnings for whatever
//! could not be looked up), then findings are published, then the record notes that they were.
//! A retry after a failed publish finds the record, sees `findings_sent == false` and publishes
//! again; a duplicate delivery after success changes nothing.

mod lookups;

use std::time::Duration;

use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::findings::publish;
use super::settings;
use super::store::{Condition, JsonStore, Stored};
use super::{AwsError, Clients};
use crate::outputs::{FindingContext, Metrics};
use crate::redact::Redactor;
use crate::report::Finding;
use crate::rules::RulePack;
use crate::session::findings::{evaluate, Facts, StartConfig};
use crate::session::{records, Action, DeniedRecord, Event, SessionRecord, Skip};

/// How often a conditional write is retried after losing a race with another delivery.
const WRITE_ATTEMPTS: usize = 5;

/// Settings beyond the findings configuration (environment variables, README).
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// `FINDINGS_EVENT_BUS` (`default`).
    pub event_bus: String,
    /// `LOOKUP_CACHE_SECONDS` (`300`): how long preferences and document types are reused.
    pub cache_ttl: Duration,
    /// The function's own region (`AWS_REGION`); lookups for other regions' events are skipped.
    pub region: Option<String>,
}

impl StartOptions {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Ok(StartOptions {
            event_bus: settings::event_bus(&get),
            cache_ttl: Duration::from_secs(settings::number(&get, "LOOKUP_CACHE_SECONDS", 300)?),
            region: get("AWS_REGION").filter(|r| !r.is_empty()),
        })
    }
}

/// Why an invocation failed. Both kinds are returned to the platform, whose retries and
/// dead-letter destination keep the event.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("malformed event {event_id}: {reason}")]
    Malformed { event_id: String, reason: String },
    #[error("{step} failed for event {event_id}: {error}")]
    Aws { step: &'static str, event_id: String, error: AwsError },
}

/// What happened to one CloudTrail record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written (or updated) at `key`.
    Recorded { key: String },
    /// Already recorded: a duplicate delivery.
    Duplicate { key: String },
    /// Not a Session Manager call we audit.
    NotAudited(String),
}

/// One audited record, for the log line the function writes.
#[derive(Debug, Clone)]
pub struct Audited {
    pub event_id: String,
    pub action: Option<Action>,
    pub outcome: Outcome,
    pub findings: Vec<String>,
    pub warnings: Vec<String>,
}

/// The start audit, built once per process and borrowed by every invocation.
#[derive(Debug)]
pub struct SessionStart {
    clients: Clients,
    store: JsonStore,
    config: StartConfig,
    options: StartOptions,
    pack: RulePack,
    redactor: Redactor,
    cache: lookups::Cache,
}

/// A record the audit writes: where it lives and the findings it carries.
trait Record: Serialize + DeserializeOwned + Clone {
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

impl Record for DeniedRecord {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_sent(&mut self) -> &mut bool {
        &mut self.findings_sent
    }
}

impl SessionStart {
    pub fn new(
        clients: Clients,
        config: StartConfig,
        options: StartOptions,
        pack: RulePack,
        redactor: Redactor,
    ) -> Self {
        SessionStart {
            redactor,
            store: JsonStore::new(clients.s3.clone(), config.audit_bucket.clone()),
            cache: lookups::Cache::new(options.cache_ttl),
            clients,
            config,
            options,
            pack,
        }
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
            let result = match Event::parse(record, account) {
                Ok(event) => self.audit(&self.redacted(event), metrics).await,
                Err(Skip::NotAudited(why)) => Ok(Audited {
                    event_id: id.clone(),
                    action: None,
                    outcome: Outcome::NotAudited(why),
                    findings: Vec::new(),
                    warnings: Vec::new(),
                }),
                Err(Skip::Malformed(reason)) => Err(StartError::Malformed { event_id: id, reason }),
            };
            match result {
                Ok(a) => done.push(a),
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

    /// The event with secrets hidden in the free text users and AWS put in it.
    fn redacted(&self, mut event: Event) -> Event {
        for text in [&mut event.reason, &mut event.error_message].into_iter().flatten() {
            *text = self.redactor.redact(text).into_owned();
        }
        event
    }

    async fn audit(&self, event: &Event, metrics: &mut Metrics) -> Result<Audited, StartError> {
        let aws = |step: &'static str| {
            let event_id = event.event_id.clone();
            move |error: AwsError| StartError::Aws { step, event_id, error }
        };
        let mut audited = Audited {
            event_id: event.event_id.clone(),
            action: Some(event.action),
            outcome: Outcome::NotAudited(String::new()),
            findings: Vec::new(),
            warnings: Vec::new(),
        };
        let (record_key, fresh, findings) = if event.error_code.is_some() {
            let findings = evaluate(&self.pack, &self.config, event, &Facts::default());
            let mut denied = DeniedRecord::from_event(event).expect("an error code");
            denied.findings = findings.clone();
            let key = denied.key();
            let fresh =
                self.write_denied(&key, denied, event).await.map_err(aws("s3:PutObject"))?;
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
            let (findings, warnings, session_type) = if event.action == Action::StartSession {
                let (facts, warnings) = lookups::facts(
                    &self.clients,
                    &self.cache,
                    &self.config.audit_bucket,
                    self.options.region.as_deref(),
                    event,
                )
                .await;
                let findings = evaluate(&self.pack, &self.config, event, &facts);
                (findings, warnings, facts.session_type)
            } else {
                (Vec::new(), Vec::new(), None)
            };
            for w in &warnings {
                tracing::warn!(event_id = %event.event_id, warning = %w, "lookup failed");
            }
            metrics.add("LookupWarnings", warnings.len() as f64);
            audited.warnings = warnings.clone();
            let (key, fresh) = self
                .write_session(&session_id, event, findings.clone(), warnings, session_type)
                .await
                .map_err(aws("s3:PutObject"))?;
            if fresh && event.action == Action::StartSession {
                metrics.add("SessionsStarted", 1.0);
            }
            (key, fresh, findings)
        };
        audited.outcome = if fresh {
            Outcome::Recorded { key: record_key.clone() }
        } else {
            Outcome::Duplicate { key: record_key.clone() }
        };
        if fresh {
            metrics.add_findings(&findings);
        }
        audited.findings = findings.iter().map(|f| f.rule_id.clone()).collect();
        self.publish_once(&record_key, event).await?;
        Ok(audited)
    }

    /// Write a denied record unless it exists. Returns whether it was new.
    async fn write_denied(
        &self,
        key: &str,
        denied: DeniedRecord,
        event: &Event,
    ) -> Result<bool, AwsError> {
        if self.store.get::<DeniedRecord>(key).await?.is_some() {
            tracing::info!(event_id = %event.event_id, key, "duplicate delivery");
            return Ok(false);
        }
        // Lost race: a concurrent delivery of the same event wrote it.
        self.store.put(key, &denied, &Condition::Absent).await
    }

    /// Read the session's record (wherever it is), merge the event and write it back if it
    /// changed. Returns the record's key and whether anything was written.
    async fn write_session(
        &self,
        session_id: &str,
        event: &Event,
        findings: Vec<Finding>,
        warnings: Vec<String>,
        session_type: Option<String>,
    ) -> Result<(String, bool), AwsError> {
        for _ in 0..WRITE_ATTEMPTS {
            let found = self.find_session(session_id, event).await?;
            let (existing, read_at) = match found {
                Some((key, Stored { value: Ok(r), etag })) => (Some(r), Some((key, etag))),
                Some((key, Stored { value: Err(why), etag })) => {
                    // Unreadable: replaced, but the bucket's versioning keeps the old object.
                    tracing::error!(key, %why, "replacing an unreadable session record");
                    (None, Some((key, etag)))
                }
                None => (None, None),
            };
            let Some(mut merged) = SessionRecord::merge(existing.clone(), event, findings.clone())
            else {
                let key = read_at.map(|(k, _)| k).unwrap_or_default();
                tracing::info!(event_id = %event.event_id, key, "duplicate delivery");
                return Ok((key, false));
            };
            merged.warnings.extend(warnings.iter().cloned());
            if merged.session_type.is_none() {
                merged.session_type = session_type.clone();
            }
            let key = merged.key();
            let condition = match &read_at {
                Some((k, etag)) if *k == key => Condition::Unchanged(etag.clone()),
                _ => Condition::Absent,
            };
            if !self.store.put(&key, &merged, &condition).await? {
                continue;
            }
            if let Some((old, etag)) = read_at.filter(|(k, _)| *k != key) {
                // An orphan record from a call that arrived before its StartSession, on another
                // day: its content is in the merged record now.
                self.store.delete_if_unchanged(&old, &etag).await?;
            }
            return Ok((key, true));
        }
        Err(AwsError {
            code: Some("ConditionalRequestConflict".into()),
            message: format!(
                "session {session_id}: record kept changing under {WRITE_ATTEMPTS} attempts"
            ),
        })
    }

    /// The stored record of a session: on the event's date, or the day a record may have been
    /// filed under instead (a StartSession finds an orphan filed the next day; a later call
    /// finds a start from the day before — sessions last at most a day).
    async fn find_session(
        &self,
        session_id: &str,
        event: &Event,
    ) -> Result<Option<(String, Stored<SessionRecord>)>, AwsError> {
        let date: Option<Date> = event.date().parse().ok();
        let other = date.and_then(|d| match event.action {
            Action::StartSession => d.tomorrow().ok(),
            _ => d.yesterday().ok(),
        });
        let dates = [Some(event.date().to_string()), other.map(|d| d.to_string())];
        for date in dates.into_iter().flatten() {
            let key = format!("audit/sessions/dt={date}/{session_id}.json");
            if let Some(stored) = self.store.get(&key).await? {
                return Ok(Some((key, stored)));
            }
        }
        Ok(None)
    }

    /// Publish the findings of the record at `key` unless that was done, then note it.
    async fn publish_once(&self, key: &str, event: &Event) -> Result<(), StartError> {
        let aws = |step: &'static str| {
            let event_id = event.event_id.clone();
            move |error: AwsError| StartError::Aws { step, event_id, error }
        };
        if key.starts_with("audit/denied/") {
            self.publish_record::<DeniedRecord>(key, event).await
        } else {
            self.publish_record::<SessionRecord>(key, event).await
        }
        .map_err(|(step, e)| aws(step)(e))
    }

    async fn publish_record<R: Record>(
        &self,
        key: &str,
        event: &Event,
    ) -> Result<(), (&'static str, AwsError)> {
        for _ in 0..WRITE_ATTEMPTS {
            let Some(Stored { value: Ok(mut record), etag }) =
                self.store.get::<R>(key).await.map_err(|e| ("s3:GetObject", e))?
            else {
                return Ok(());
            };
            if record.findings().is_empty() || *record.findings_sent() {
                return Ok(());
            }
            let ctx = self.context(key, event);
            publish(&self.clients.events, &self.options.event_bus, record.findings(), &ctx)
                .await
                .map_err(|e| ("events:PutEvents", e))?;
            *record.findings_sent() = true;
            let written = self
                .store
                .put(key, &record, &Condition::Unchanged(etag))
                .await
                .map_err(|e| ("s3:PutObject", e))?;
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
        }
    }
}
