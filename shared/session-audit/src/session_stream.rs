//! The session-stream use case: a subscription batch in, live findings out, the session's
//! [`LiveState`] kept in the audit store.
//!
//! Order: read the state (with its ETag), read the batch into it, publish the findings it
//! raised, write the state if unchanged. A redelivered batch finds its events in the state and
//! publishes nothing. Two invocations racing on one session: the loser reads again and goes on
//! from the winner's state, publishing only what it has not published yet. If the write fails
//! after publishing, the platform's retry publishes the same findings again under the same
//! `finding_id`: consumers drop repeats by it (at least once, never lost).

use serde::Serialize;

use crate::analysis::Analyzer;
use crate::keys;
use crate::live::{advance, Attribution, Batch, LiveFinding, LiveState, Progress};
use crate::ports::sink::{FindingsSink, SinkError};
use crate::ports::store::{
    find_session_record, get_json, put_json, AuditStore, Condition, StoreError,
};
use crate::publish::{FindingContext, Metrics};
use crate::{Failure, FailureKind};

/// Tries at the conditional write before the invocation fails (and is retried).
const WRITE_ATTEMPTS: usize = 5;

/// Why an invocation failed; the platform retries it.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The event is not a subscription batch this function can read.
    #[error("malformed subscription batch: {0}")]
    Malformed(String),
    /// The audit store failed at `step`.
    #[error("{step} for session {session}: {error}")]
    Store {
        /// What the function was doing.
        step: &'static str,
        /// The session.
        session: String,
        /// What the store answered.
        error: Box<StoreError>,
    },
    /// The findings sink failed.
    #[error("session {session}: {error}")]
    Sink {
        /// The session.
        session: String,
        /// What the sink answered.
        error: SinkError,
    },
    /// Other invocations kept changing the session's state.
    #[error("session {session}: its state changed under {WRITE_ATTEMPTS} writes in a row")]
    Contended {
        /// The session.
        session: String,
    },
}

impl Failure for StreamError {
    fn kind(&self) -> FailureKind {
        match self {
            StreamError::Malformed(_) => FailureKind::MalformedEvent,
            StreamError::Sink { .. } => FailureKind::Sink,
            StreamError::Store { .. } | StreamError::Contended { .. } => FailureKind::Store,
        }
    }
}

/// What one batch did: the function's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Streamed {
    /// The session ID (the log stream's name).
    pub session_id: String,
    /// `streamed`, or `duplicate` when every event had been read before.
    pub outcome: &'static str,
    /// Events read.
    pub events_read: u64,
    /// Events read before (a redelivery).
    pub redelivered: u64,
    /// Events read late.
    pub late: u64,
    /// Older than the remembered window and not provably new: not read, counted.
    pub skipped: u64,
    /// Timestamped more than a minute after they arrived: not read, counted.
    pub future: u64,
    /// Findings past their rule's cap for the session: counted, not published.
    pub suppressed: u64,
    /// Messages that were not the agent's streaming JSON for this session.
    pub unreadable: u64,
    /// Commands read.
    pub commands: u64,
    /// The `finding_id` of each finding published.
    pub findings: Vec<String>,
}

/// The use case, built once per process.
pub struct SessionStream<S, F> {
    /// Where the live state is kept.
    pub store: S,
    /// Where findings are published.
    pub sink: F,
    /// The engine, with its rules and redaction.
    pub analyzer: Analyzer,
    /// The hub's own account and region: a stream is placed in the account that owns its log
    /// group, in this region (a log group streams only within its region).
    pub home: crate::keys::Home,
}

impl<S: AuditStore, F: FindingsSink> SessionStream<S, F> {
    /// Read one subscription batch: its events into the session's state, its findings published
    /// once; the state written back with a conditional write (a loser reads again).
    pub async fn handle(
        &self,
        batch: &Batch,
        metrics: &mut Metrics,
    ) -> Result<Streamed, StreamError> {
        for name in ["LiveEvents", "LiveCommands", "LiveEventsLate", "LiveEventsSkipped"] {
            metrics.add(name, 0.0);
        }
        metrics.add_findings(&[]);
        let session = batch.log_stream.clone();
        let at = self.place(batch)?;
        let at = keys::SessionAt::new(at, &session)
            .map_err(|e| StreamError::Malformed(e.to_string()))?;
        let key = keys::live_state(&at);
        let store_error = |step, error| StreamError::Store {
            step,
            session: session.clone(),
            error: Box::new(error),
        };
        let mut published: Vec<String> = Vec::new();
        let mut answer = Streamed { session_id: session.clone(), ..Streamed::default() };
        for _ in 0..WRITE_ATTEMPTS {
            let stored = get_json::<LiveState>(&self.store, &key)
                .await
                .map_err(|e| store_error("read state", e))?;
            let (mut state, condition) = match stored {
                None => (LiveState::default(), Condition::Absent),
                Some(s) => {
                    let state = s.value.unwrap_or_else(|e| {
                        // Not ours any more (edited, or an older layout): start over, loudly.
                        tracing::warn!(key = %key, error = %e, "live state unreadable; starting over");
                        LiveState::default()
                    });
                    (state, Condition::Unchanged(s.etag))
                }
            };
            state.session_id = session.clone();
            state.place = (self.home.as_ref() != Some(&at.place)).then(|| at.place.to_string());
            let received = jiff::Timestamp::now().as_millisecond();
            let (progress, findings) = advance(&self.analyzer, &mut state, &batch.events, received);
            if state.attributed.is_none() && progress.read > 0 {
                state.attributed = self
                    .attribution(&state, &at)
                    .await
                    .map_err(|e| store_error("read the session record", e))?;
            }
            let fresh: Vec<(crate::finding::Finding, FindingContext)> = findings
                .iter()
                .filter(|f| !published.iter().any(|p| *p == finding_id(f)))
                .map(|f| (f.finding.clone(), self.context(f, &state, &at, &key)))
                .collect();
            self.sink
                .publish_each(&fresh)
                .await
                .map_err(|error| StreamError::Sink { session: session.clone(), error })?;
            for id in findings.iter().map(finding_id) {
                if !published.contains(&id) {
                    published.push(id);
                }
            }
            metrics.add_findings(fresh.iter().map(|(f, _)| f));
            if progress.read > 0
                && !put_json(&self.store, &key, &state, &condition)
                    .await
                    .map_err(|e| store_error("write state", e))?
            {
                continue; // another invocation wrote first: read its state and go on from it
            }
            answer.record(&progress, published.clone());
            metrics
                .add("LiveEvents", progress.read as f64)
                .add("LiveCommands", progress.commands as f64)
                .add("LiveEventsLate", progress.late as f64)
                .add("LiveEventsSkipped", progress.skipped as f64)
                .add("LiveEventsFuture", progress.future as f64)
                .add("LiveFindingsSuppressed", progress.suppressed as f64);
            return Ok(answer);
        }
        Err(StreamError::Contended { session })
    }

    fn context(
        &self,
        f: &LiveFinding,
        state: &LiveState,
        at: &keys::SessionAt,
        key: &str,
    ) -> FindingContext {
        let who = state.attributed.as_ref();
        FindingContext {
            origin_id: f.origin_id.clone(),
            session_id: Some(state.session_id.clone()),
            time: f.time.clone(),
            // Where the stream came from (the log group's owner and region), never what its
            // events claim: the instance writes those.
            account: Some(at.place.account().to_string()),
            region: at.place.region().to_string(),
            // The session record's, never the stream's: anyone with the instance role can write
            // events naming anyone. Until the record is found, no one is named.
            principal: who.map(|a| a.principal.clone()),
            person: who.and_then(|a| a.person.clone()),
            target: who.and_then(|a| a.target.clone()),
            record: self.store.uri(key),
            stage: "live",
        }
    }
}

impl<S: AuditStore, F: FindingsSink> SessionStream<S, F> {
    /// Where the batch's session ran: the account that owns the log group (the hub's own when
    /// the batch does not say), in the region the delivery names (else the function's).
    fn place(&self, batch: &Batch) -> Result<keys::Place, StreamError> {
        let Some(home) = &self.home else {
            return Err(StreamError::Malformed(
                "ACCOUNT_ID and AWS_REGION are not set: a stream cannot be placed".into(),
            ));
        };
        let account = batch.owner.as_deref().unwrap_or(home.account());
        let region = batch.region.as_deref().unwrap_or(home.region());
        keys::Place::new(account, region).map_err(|e| StreamError::Malformed(e.to_string()))
    }

    /// Who the session's record names, looked for from the day its stream began; `None` until
    /// session-start has written it (CloudTrail may deliver the StartSession after the first
    /// stream events), and for a stream no session was started for.
    async fn attribution(
        &self,
        state: &LiveState,
        session: &keys::SessionAt,
    ) -> Result<Option<Attribution>, StoreError> {
        let first = state.first_event_time.as_deref().and_then(|t| t.get(..10)?.parse().ok());
        let (record, _) = find_session_record(&self.store, session, first, &self.home).await?;
        Ok(record.map(|r| Attribution {
            principal: r.identity.arn.clone().unwrap_or(r.identity.principal.clone()),
            person: r.identity.person.clone(),
            target: r.target.clone(),
            account: r.account.clone(),
        }))
    }
}

impl Streamed {
    fn record(&mut self, p: &Progress, findings: Vec<String>) {
        self.outcome = if p.read == 0 && p.redelivered > 0 { "duplicate" } else { "streamed" };
        self.events_read = p.read;
        self.redelivered = p.redelivered;
        self.late = p.late;
        self.skipped = p.skipped;
        self.unreadable = p.unreadable;
        self.future = p.future;
        self.suppressed = p.suppressed;
        self.commands = p.commands;
        self.findings = findings;
    }
}

/// The `finding_id` its event will carry.
fn finding_id(f: &LiveFinding) -> String {
    crate::publish::finding_id(&f.origin_id, &f.finding.rule_id)
}
