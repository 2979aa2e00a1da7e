//! Session Manager CloudTrail events: lenient parsing, identity normalisation and the session
//! and denied-attempt records (docs/DESIGN.md §3). Pure: the session-start function adds AWS.

pub mod findings;
pub mod identity;
pub mod preferences;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use identity::{Identity, IdentityKind};

use crate::access::approval::Approval;
use crate::access::Parameters;

/// The longest parameter value a record keeps (a longer one is cut and marked).
pub const MAX_PARAMETER_CHARS: usize = 1024;

/// CloudTrail's `requestParameters.parameters`: each name's values (a lone value is a list of
/// one), every value cut at [`MAX_PARAMETER_CHARS`] with a visible mark.
pub fn parameters(request: &Value) -> Parameters {
    let cut = |v: &Value| {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        match text.char_indices().nth(MAX_PARAMETER_CHARS) {
            Some((i, _)) => format!("{}…[cut at {MAX_PARAMETER_CHARS} characters]", &text[..i]),
            None => text,
        }
    };
    let Some(map) = request.get("parameters").and_then(Value::as_object) else {
        return Parameters::new();
    };
    map.iter()
        .map(|(k, v)| {
            let values = match v {
                Value::Array(a) => a.iter().map(cut).collect(),
                other => vec![cut(other)],
            };
            (k.clone(), values)
        })
        .collect()
}

/// The document a StartSession without `documentName` uses.
pub const DEFAULT_DOCUMENT: &str = "SSM-SessionManagerRunShell";
/// The `schema` of a session record.
pub const SESSION_SCHEMA: &str = "session-audit/session/v1";
/// The `schema` of a denied-attempt record.
pub const DENIED_SCHEMA: &str = "session-audit/denied/v1";

/// The Session Manager calls audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// A session started (or a StartSession denied).
    StartSession,
    /// A session resumed after a dropped connection.
    ResumeSession,
    /// A session ended by the user or an administrator.
    TerminateSession,
}

/// One CloudTrail management event, with only what the audit needs, read leniently: CloudTrail
/// fields are optional and shift between event versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// CloudTrail's `eventID`: unique per call, the record's key for denied attempts.
    pub event_id: String,
    /// When the call was made (RFC 3339).
    pub event_time: String,
    /// Which call.
    pub action: Action,
    /// The region the call was made in.
    pub region: String,
    /// The account the call was made in.
    pub account: Option<String>,
    /// Who made the call.
    pub identity: Identity,
    /// The instance (or managed node) the session reaches.
    pub target: Option<String>,
    /// The Session document it used.
    pub document: Option<String>,
    /// The reason the caller gave (`--reason`).
    pub reason: Option<String>,
    /// The document parameters the caller passed (`--parameters`), each value cut at
    /// [`MAX_PARAMETER_CHARS`].
    pub parameters: Parameters,
    /// The session ID, when the call succeeded.
    pub session_id: Option<String>,
    /// Whether the response carried a stream URL (the session really opened).
    pub stream_url_present: bool,
    /// The error code of a failed call (`AccessDenied`, …).
    pub error_code: Option<String>,
    /// The error message of a failed call.
    pub error_message: Option<String>,
}

/// Why an input was not an audited event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Valid CloudTrail, but not a Session Manager call we audit (logged, not an error).
    NotAudited(String),
    /// Not a CloudTrail record at all (rejected so retries and dead letters keep it).
    Malformed(String),
}

/// A non-empty string at a JSON pointer (CloudTrail and S3 events leave fields out or empty).
pub fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty())
}

/// The CloudTrail records in any of the shapes users have: one record, an EventBridge
/// envelope (`detail`), or a CloudTrail log file (`{"Records": [...]}`).
pub fn records(input: &Value) -> Vec<(Option<String>, &Value)> {
    if let Some(list) = input.get("Records").and_then(Value::as_array) {
        return list.iter().map(|r| (None, r)).collect();
    }
    if let Some(detail) = input.get("detail") {
        return vec![(text(input, "/account"), detail)];
    }
    vec![(None, input)]
}

pub use crate::keys::is_region;

/// Whether `id` has the shape of CloudTrail's `eventID`: a UUID (8-4-4-4-12 hex digits).
pub fn is_cloudtrail_event_id(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// CloudTrail's `eventTime` as RFC 3339 UTC (`2025-02-19T20:13:49Z`). Exports and SIEMs
/// rewrite it (`2025-02-19 20:13:49`, fractional seconds, offsets); all mean UTC when unzoned.
pub fn normalise_time(text: &str) -> Option<String> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    let civil: jiff::civil::DateTime = text.trim().replacen(' ', "T", 1).parse().ok()?;
    let t = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

impl Event {
    /// Read one CloudTrail record. `envelope_account` is the EventBridge envelope's `account`,
    /// used when the record lacks `recipientAccountId`.
    pub fn parse(record: &Value, envelope_account: Option<String>) -> Result<Event, Skip> {
        if !record.is_object() {
            return Err(Skip::Malformed("not a JSON object".into()));
        }
        let event_id =
            text(record, "/eventID").ok_or_else(|| Skip::Malformed("no eventID".into()))?;
        // IDs name audit objects: one that could climb out of its folder is refused here.
        crate::keys::check_id("eventID", &event_id).map_err(|e| Skip::Malformed(e.to_string()))?;
        let source = text(record, "/eventSource").unwrap_or_default();
        let name = text(record, "/eventName").unwrap_or_default();
        if source != "ssm.amazonaws.com" {
            return Err(Skip::NotAudited(format!(
                "{event_id}: eventSource {source:?} is not ssm.amazonaws.com"
            )));
        }
        let action = match name.as_str() {
            "StartSession" => Action::StartSession,
            "ResumeSession" => Action::ResumeSession,
            "TerminateSession" => Action::TerminateSession,
            other => {
                return Err(Skip::NotAudited(format!("{event_id}: {other} is not a session call")))
            }
        };
        // CloudTrail's event IDs are UUIDs: anything else was made up, not delivered by it.
        if !is_cloudtrail_event_id(&event_id) {
            return Err(Skip::Malformed(format!(
                "eventID {event_id:?} is not a CloudTrail event ID (a UUID)"
            )));
        }
        let event_time = text(record, "/eventTime")
            .ok_or_else(|| Skip::Malformed(format!("{event_id}: no eventTime")))?;
        let event_time = normalise_time(&event_time).ok_or_else(|| {
            Skip::Malformed(format!("{event_id}: eventTime {event_time:?} is not a time"))
        })?;
        let identity = Identity::from_cloudtrail(record);
        let request = record.get("requestParameters").cloned().unwrap_or(Value::Null);
        let response = record.get("responseElements").cloned().unwrap_or(Value::Null);
        let session_id = text(&response, "/sessionId").or_else(|| text(&request, "/sessionId"));
        if let Some(id) = &session_id {
            crate::keys::check_id("sessionId", id)
                .map_err(|e| Skip::Malformed(format!("{event_id}: {e}")))?;
        }
        Ok(Event {
            event_id,
            event_time,
            action,
            region: text(record, "/awsRegion").unwrap_or_default(),
            account: text(record, "/recipientAccountId")
                .or(envelope_account)
                .or(identity.account.clone()),
            target: text(&request, "/target"),
            document: text(&request, "/documentName"),
            reason: text(&request, "/reason"),
            parameters: parameters(&request),
            session_id,
            stream_url_present: response.get("streamUrl").is_some(),
            error_code: text(record, "/errorCode"),
            error_message: text(record, "/errorMessage"),
            identity,
        })
    }

    /// The document the session runs (absent means the default shell document).
    pub fn document_or_default(&self) -> &str {
        self.document.as_deref().unwrap_or(DEFAULT_DOCUMENT)
    }

    /// `YYYY-MM-DD` of the event time (UTC), for the `dt=` partition.
    pub fn date(&self) -> &str {
        self.event_time.get(..10).unwrap_or("unknown")
    }

    /// The account and region the call was made in: where its session is filed.
    pub fn place(&self) -> Result<crate::keys::Place, crate::keys::BadId> {
        crate::keys::Place::new(self.account.as_deref().unwrap_or_default(), &self.region)
    }
}

/// One call recorded on a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// Which call.
    pub action: Action,
    /// CloudTrail's `eventID` of the call.
    pub event_id: String,
    /// When it was made.
    pub time: String,
    /// Who made it, when not the session's owner (an administrator's TerminateSession).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `audit/sessions/dt=YYYY-MM-DD/<sessionId>.json`: who started which session, on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Always [`SESSION_SCHEMA`].
    pub schema: String,
    /// The session ID.
    pub session_id: String,
    /// The StartSession event's ID.
    pub event_id: String,
    /// When the session started.
    pub started_at: String,
    /// The region it was started in.
    pub region: String,
    /// The account it was started in.
    pub account: Option<String>,
    /// Who started it.
    pub identity: Identity,
    /// The instance it reaches.
    pub target: Option<String>,
    /// The Session document it used.
    pub document: String,
    /// The document's session type (`Standard_Stream`, `Port`, …), when it could be read.
    #[serde(default)]
    pub session_type: Option<String>,
    /// The reason the caller gave.
    #[serde(default)]
    pub reason: Option<String>,
    /// The document parameters it was started with (redacted).
    #[serde(default, skip_serializing_if = "Parameters::is_empty")]
    pub parameters: Parameters,
    /// What the session did with the stack's documents: where a port forward went
    /// (`db.internal:5432`, `localhost:443`) or the command a task ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// The Change Calendar's state when a protected session started (`OPEN`, `CLOSED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_window: Option<String>,
    /// The approval a protected session ran under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// When it was terminated, if a TerminateSession was seen.
    #[serde(default)]
    pub terminated_at: Option<String>,
    /// Every call on the session (start, resumes, end), in order.
    pub events: Vec<SessionEvent>,
    /// What could not be found out (a failed lookup), in words.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Findings raised when the session started (carried into the session's report).
    #[serde(default)]
    pub findings: Vec<crate::finding::Finding>,
    /// Whether `findings` were published as events (a retry publishes them if not).
    #[serde(default)]
    pub findings_sent: bool,
}

/// The longest session the audit follows: the provisioner's preferences end every session by
/// then (`maxSessionDuration`, from `MaxSessionMinutes`, which may not exceed it). The
/// look-backs below are derived from it.
pub const LONGEST_SESSION_MINUTES: u32 = 1440;

/// Days between a session's start and any later call on it (Resume, Terminate).
pub const SESSION_SPAN_DAYS: i64 = (LONGEST_SESSION_MINUTES as i64 + 1439) / 1440;

/// The warning an orphan record carries until its StartSession arrives.
pub const START_NOT_SEEN: &str =
    "StartSession not seen: identity, target and document are those of a later call on the session";

impl SessionRecord {
    /// The session, in the account and region it ran in.
    pub fn at(&self) -> Result<crate::keys::SessionAt, crate::keys::BadId> {
        let place =
            crate::keys::Place::new(self.account.as_deref().unwrap_or_default(), &self.region)?;
        crate::keys::SessionAt::new(place, &self.session_id)
    }

    /// Where the record is filed: the day it started, under its account and region.
    pub fn key(&self) -> Result<String, crate::keys::BadId> {
        crate::keys::session_record(self.started_at.get(..10).unwrap_or("unknown"), &self.at()?)
    }

    /// The record a StartSession creates.
    pub fn start(e: &Event) -> Option<SessionRecord> {
        let session_id = e.session_id.clone()?;
        Some(SessionRecord {
            schema: SESSION_SCHEMA.to_string(),
            session_id,
            event_id: e.event_id.clone(),
            started_at: e.event_time.clone(),
            region: e.region.clone(),
            account: e.account.clone(),
            identity: e.identity.clone(),
            target: e.target.clone(),
            document: e.document_or_default().to_string(),
            session_type: None,
            reason: e.reason.clone(),
            parameters: e.parameters.clone(),
            access: None,
            change_window: None,
            approval: None,
            terminated_at: None,
            events: vec![SessionEvent {
                action: e.action,
                event_id: e.event_id.clone(),
                time: e.event_time.clone(),
                by: None,
            }],
            warnings: Vec::new(),
            findings: Vec::new(),
            findings_sent: false,
        })
    }

    /// Whether the session's StartSession is part of the record (false for an orphan record
    /// made from a ResumeSession or TerminateSession that arrived first or alone).
    pub fn has_start(&self) -> bool {
        self.events.iter().any(|e| e.action == Action::StartSession)
    }

    /// The record after `event`, given what is stored for its session (`existing`), or `None`
    /// when the event is already in it (a duplicate delivery: nothing to write). `findings`
    /// are the start findings, kept only from a StartSession. Calls that arrive before their
    /// StartSession (CloudTrail delivers out of order) or without one (a session older than
    /// the audit) make an orphan record that the StartSession completes later.
    pub fn merge(
        existing: Option<SessionRecord>,
        event: &Event,
        findings: Vec<crate::finding::Finding>,
    ) -> Option<SessionRecord> {
        let Some(mut record) = existing else {
            let mut record = SessionRecord::start(event)?;
            if event.action == Action::StartSession {
                record.findings = findings;
            } else {
                record.events.clear();
                record.apply(event);
                record.warnings.push(START_NOT_SEEN.to_string());
            }
            return Some(record);
        };
        if event.action == Action::StartSession && !record.has_start() {
            let mut start = SessionRecord::start(event)?;
            start.findings = findings;
            start.terminated_at = record.terminated_at.take();
            start.warnings = record.warnings.into_iter().filter(|w| w != START_NOT_SEEN).collect();
            for e in record.events {
                start.events.push(e);
            }
            start.events.sort_by(|a, b| a.time.cmp(&b.time).then(a.event_id.cmp(&b.event_id)));
            return Some(start);
        }
        record.apply(event).then_some(record)
    }

    /// Apply a later call. Returns false when it was already applied (a duplicate delivery),
    /// in which case the record is unchanged.
    pub fn apply(&mut self, e: &Event) -> bool {
        if self.events.iter().any(|x| x.event_id == e.event_id) {
            return false;
        }
        if e.action == Action::TerminateSession && e.error_code.is_none() {
            self.terminated_at = Some(
                self.terminated_at
                    .take()
                    .map_or(e.event_time.clone(), |t| t.min(e.event_time.clone())),
            );
        }
        self.events.push(SessionEvent {
            action: e.action,
            event_id: e.event_id.clone(),
            time: e.event_time.clone(),
            by: e.identity.arn.clone(),
        });
        self.events.sort_by(|a, b| a.time.cmp(&b.time).then(a.event_id.cmp(&b.event_id)));
        true
    }
}

/// `audit/denied/dt=YYYY-MM-DD/<eventID>.json`: a session call refused by AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeniedRecord {
    /// Always [`DENIED_SCHEMA`].
    pub schema: String,
    /// CloudTrail's `eventID` of the denied call.
    pub event_id: String,
    /// When it was made.
    pub time: String,
    /// Which call.
    pub action: Action,
    /// The region it was made in.
    pub region: String,
    /// The account it was made in.
    pub account: Option<String>,
    /// Who made it.
    pub identity: Identity,
    /// The instance it asked for.
    pub target: Option<String>,
    /// The Session document it asked for.
    pub document: String,
    /// Why it was denied (`AccessDenied`, …).
    pub error_code: String,
    /// CloudTrail's error message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The findings raised (`SA-SES-DENIED` and any other).
    #[serde(default)]
    pub findings: Vec<crate::finding::Finding>,
    /// Whether the findings were published as events (a retry publishes them if not).
    #[serde(default)]
    pub findings_sent: bool,
}

impl DeniedRecord {
    /// The record of a failed call; `None` when the call succeeded.
    pub fn from_event(e: &Event) -> Option<DeniedRecord> {
        Some(DeniedRecord {
            schema: DENIED_SCHEMA.to_string(),
            event_id: e.event_id.clone(),
            time: e.event_time.clone(),
            action: e.action,
            region: e.region.clone(),
            account: e.account.clone(),
            identity: e.identity.clone(),
            target: e.target.clone(),
            document: e.document_or_default().to_string(),
            error_code: e.error_code.clone()?,
            error_message: e.error_message.clone(),
            findings: Vec::new(),
            findings_sent: false,
        })
    }

    /// Where the attempt is filed: its day, its CloudTrail event ID.
    pub fn key(&self) -> Result<String, crate::keys::BadId> {
        crate::keys::denied_attempt(self.time.get(..10).unwrap_or("unknown"), &self.event_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/public/");
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
    }

    fn parse(v: &Value) -> Result<Event, Skip> {
        let (account, record) = records(v).into_iter().next().unwrap();
        Event::parse(record, account)
    }

    #[test]
    fn hostile_document_parameters_are_kept_cut_and_marked_never_dropped() {
        let mut v = fixture("cloudtrail_StartSession_IAMUser_cli_customdoc.json");
        let long = "x".repeat(MAX_PARAMETER_CHARS * 4);
        v["requestParameters"]["parameters"] = serde_json::json!({
            "host": ["db.internal"], "command": [long], "portNumber": 5432,
            "nested": {"a": ["b"]}, "multi": ["ä".repeat(MAX_PARAMETER_CHARS + 1), "y"]
        });
        let e = parse(&v).unwrap();
        let p = &e.parameters;
        assert_eq!(p["host"], ["db.internal"]);
        assert_eq!(p["portNumber"], ["5432"], "a lone value is a list of one");
        assert_eq!(p["nested"], [r#"{"a":["b"]}"#], "not a string: kept as JSON text, not dropped");
        let cut = &p["command"][0];
        assert!(
            cut.starts_with(&"x".repeat(MAX_PARAMETER_CHARS)) && cut.ends_with("characters]"),
            "{}",
            &cut[cut.len() - 40..]
        );
        assert!(cut.chars().count() < MAX_PARAMETER_CHARS + 40);
        assert!(p["multi"][0].contains("[cut at"), "cut on a character boundary");
        assert_eq!(p["multi"][1], "y");
        v["requestParameters"]["parameters"] = "not an object".into();
        assert!(parse(&v).unwrap().parameters.is_empty());
    }

    #[test]
    fn region_names_have_aws_shape() {
        for r in ["eu-central-1", "us-east-1", "us-gov-west-1", "ap-southeast-2"] {
            assert!(is_region(r), "{r}");
        }
        for r in ["eu-central", "EU-CENTRAL-1", "../x-1", "us-east-1a", "e-x-1", "*", ""] {
            assert!(!is_region(r), "{r}");
        }
    }

    #[test]
    fn only_cloudtrail_shaped_event_ids_are_read() {
        assert!(is_cloudtrail_event_id("8217f18e-a892-42b6-91c8-1d42b571d440"));
        assert!(is_cloudtrail_event_id("00000000-0000-0000-0000-000000000000"));
        for made_up in [
            "t-1",
            "x",
            "8217f18e-a892-42b6-91c8-1d42b571d44",
            "8217f18e_a892-42b6-91c8-1d42b571d440",
            "g217f18e-a892-42b6-91c8-1d42b571d440",
        ] {
            assert!(!is_cloudtrail_event_id(made_up), "{made_up}");
        }
        let mut v = fixture("eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
        v["detail"]["eventID"] = "t-1".into();
        assert!(matches!(parse(&v), Err(Skip::Malformed(why)) if why.contains("UUID")));
    }

    #[test]
    fn eventbridge_envelope_with_default_document() {
        let e = parse(&fixture("eventbridge_cloudtrail_StartSession_AssumedRole_console.json"))
            .unwrap();
        assert_eq!(e.action, Action::StartSession);
        assert_eq!(e.session_id.as_deref(), Some("jojithom-I-08ea7d78b1fd0d119"));
        assert_eq!(e.document_or_default(), DEFAULT_DOCUMENT);
        assert_eq!(
            e.account.as_deref(),
            Some("123456789012"),
            "from the envelope: no recipientAccountId"
        );
        let r = SessionRecord::start(&e).unwrap();
        assert_eq!(
            r.key().unwrap(),
            "audit/sessions/dt=2021-01-31/acct=123456789012/region=us-east-1/jojithom-I-08ea7d78b1fd0d119.json"
        );
        assert_eq!(r.target.as_deref(), Some("i-023ad911b5d49dece"));
    }

    #[test]
    fn raw_record_with_custom_document() {
        let e = parse(&fixture("cloudtrail_StartSession_IAMUser_cli_customdoc.json")).unwrap();
        assert_eq!(e.document.as_deref(), Some("SSM-sudo"));
        assert_eq!(e.account.as_deref(), Some("354114410416"));
        assert!(e.stream_url_present);
    }

    #[test]
    fn other_services_and_calls_are_not_audited_and_garbage_is_malformed() {
        let not_ssm = fixture("cloudtrail_record_SSO_AssumedRole_lambda-events_fixture.json");
        assert!(matches!(parse(&not_ssm), Err(Skip::NotAudited(_))));
        let mut describe = fixture("cloudtrail_StartSession_IAMUser_cli_customdoc.json");
        describe["eventName"] = "DescribeSessions".into();
        assert!(matches!(parse(&describe), Err(Skip::NotAudited(_))));
        assert!(matches!(Event::parse(&Value::from(3), None), Err(Skip::Malformed(_))));
        assert!(matches!(
            Event::parse(&serde_json::json!({"eventSource": "ssm.amazonaws.com"}), None),
            Err(Skip::Malformed(_))
        ));
    }

    #[test]
    fn denied_attempts_get_their_own_record() {
        let mut v = fixture("cloudtrail_StartSession_IAMUser_cli_customdoc.json");
        v["errorCode"] = "AccessDenied".into();
        v["errorMessage"] = "User is not authorized to perform: ssm:StartSession".into();
        v.as_object_mut().unwrap().remove("responseElements");
        let e = parse(&v).unwrap();
        let d = DeniedRecord::from_event(&e).unwrap();
        assert_eq!(
            d.key().unwrap(),
            "audit/denied/dt=2020-05-18/4b7a66fc-bffb-4179-be64-69bba2bf714c.json"
        );
        assert_eq!(d.error_code, "AccessDenied");
        assert!(SessionRecord::start(&e).is_none(), "no session was created");
    }

    #[test]
    fn resume_and_terminate_update_without_losing_the_start_and_duplicates_change_nothing() {
        let start = parse(&fixture("eventbridge_cloudtrail_StartSession_AssumedRole_console.json"))
            .unwrap();
        let mut record = SessionRecord::start(&start).unwrap();
        let original = record.clone();
        assert!(!record.apply(&start), "the same StartSession again");
        assert_eq!(record, original);
        let mut terminate = start.clone();
        terminate.action = Action::TerminateSession;
        terminate.event_id = "00000000-0000-4000-8000-000000000001".into();
        terminate.event_time = "2021-01-31T03:00:00Z".into();
        assert!(record.apply(&terminate));
        assert!(!record.apply(&terminate));
        assert_eq!(record.terminated_at.as_deref(), Some("2021-01-31T03:00:00Z"));
        assert_eq!(record.started_at, original.started_at);
        assert_eq!(record.identity, original.identity);
        assert_eq!(record.events.len(), 2);
    }

    #[test]
    fn a_terminate_before_its_start_makes_an_orphan_that_the_start_completes() {
        let start = parse(&fixture("eventbridge_cloudtrail_StartSession_AssumedRole_console.json"))
            .unwrap();
        let mut terminate = start.clone();
        terminate.action = Action::TerminateSession;
        terminate.event_id = "00000000-0000-4000-8000-000000000001".into();
        terminate.event_time = "2021-01-31T03:00:00Z".into();
        terminate.target = None;
        let orphan = SessionRecord::merge(None, &terminate, Vec::new()).unwrap();
        assert!(!orphan.has_start());
        assert!(orphan.warnings.iter().any(|w| w == START_NOT_SEEN));
        assert_eq!(orphan.terminated_at.as_deref(), Some("2021-01-31T03:00:00Z"));
        assert!(SessionRecord::merge(Some(orphan.clone()), &terminate, Vec::new()).is_none());

        let finding = crate::finding::Finding {
            rule_id: "SA-SES-NO-MFA".into(),
            severity: crate::Severity::Medium,
            title: "t".into(),
            evidence: "e".into(),
            command_seq: None,
            frameworks: Vec::new(),
            occurrences: 1,
        };
        let full = SessionRecord::merge(Some(orphan), &start, vec![finding]).unwrap();
        assert!(full.has_start());
        assert!(full.warnings.is_empty());
        assert_eq!(full.started_at, start.event_time);
        assert_eq!(full.target.as_deref(), Some("i-023ad911b5d49dece"));
        assert_eq!(full.terminated_at.as_deref(), Some("2021-01-31T03:00:00Z"));
        assert_eq!(full.findings.len(), 1);
        assert_eq!(full.events.len(), 2);
        assert!(SessionRecord::merge(Some(full), &start, Vec::new()).is_none(), "duplicate");
    }

    #[test]
    fn event_times_from_exports_are_normalised_to_utc() {
        let e =
            parse(&fixture("cloudtrail_StartSession_SSO_AssumedRole_panther_normalized_2025.json"))
                .unwrap();
        assert_eq!(e.event_time, "2025-02-19T20:13:49Z");
        assert_eq!(normalise_time("2025-02-19T21:13:49.5+01:00").unwrap(), "2025-02-19T20:13:49Z");
        assert!(normalise_time("yesterday").is_none());
    }

    #[test]
    fn cloudtrail_log_files_hold_many_records() {
        let one = fixture("cloudtrail_StartSession_IAMUser_cli_customdoc.json");
        let file = serde_json::json!({"Records": [one.clone(), one]});
        assert_eq!(records(&file).len(), 2);
    }
}
