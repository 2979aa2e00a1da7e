//! Session-level findings raised when a session starts, before any transcript exists.
//!
//! Each finding is a session rule of the rule pack (its ID, severity, title and framework
//! mapping come from there, so a user pack can retune or disable it); what triggers it is
//! decided here from the event, the configuration and the facts the adapters looked up.

use std::collections::HashMap;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::{Event, IdentityKind};
use crate::access::approval::{Approval, Verdict};
use crate::access::{Catalog, Use};
use crate::finding::Finding;
use crate::rules::RulePack;

message_error!(
    /// Business hours that cannot be read, and why.
    BadBusinessHours
);
message_error!(
    /// How the account's Session Manager preferences drifted from what the audit needs.
    PreferencesDrift
);

/// `BUSINESS_HOURS`, e.g. `Mon-Fri 08:00-18:00 Europe/Berlin`.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    days: Vec<Weekday>,
    start: Time,
    end: Time,
    zone: TimeZone,
    zone_name: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn day(s: &str) -> Result<Weekday, BadBusinessHours> {
    let key = s.to_ascii_lowercase();
    DAYS.iter()
        .find(|(n, _)| key.starts_with(n))
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("'{s}' is not a weekday (Mon..Sun)").into())
}

impl BusinessHours {
    /// Parse `Mon-Fri 08:00-18:00 Europe/Berlin` (days may also be a list: `Mon,Wed,Fri`).
    pub fn parse(text: &str) -> Result<Self, BadBusinessHours> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, hours, zone] = parts.as_slice() else {
            return Err(format!("'{text}': expected '<days> <HH:MM-HH:MM> <IANA zone>', e.g. 'Mon-Fri 08:00-18:00 Europe/Berlin'").into());
        };
        let mut list = Vec::new();
        for item in days.split(',') {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?.to_monday_zero_offset(), day(b)?.to_monday_zero_offset());
                    let mut d = a;
                    loop {
                        list.push(DAYS[d as usize].1);
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => list.push(day(item)?),
            }
        }
        let (start, end) = hours
            .split_once('-')
            .ok_or_else(|| format!("BUSINESS_HOURS: '{hours}' is not HH:MM-HH:MM"))?;
        let time = |t: &str| {
            Time::strptime("%H:%M", t).map_err(|_| format!("BUSINESS_HOURS: '{t}' is not HH:MM"))
        };
        let (start, end) = (time(start)?, time(end)?);
        if start >= end {
            return Err(format!("the day must start before it ends ({hours})").into());
        }
        let tz = TimeZone::get(zone)
            .map_err(|_| format!("BUSINESS_HOURS: '{zone}' is not an IANA time zone"))?;
        Ok(BusinessHours { days: list, start, end, zone: tz, zone_name: zone.to_string() })
    }

    /// Whether an RFC 3339 time falls inside business hours. `None` if it cannot be read.
    pub fn contains(&self, rfc3339: &str) -> Option<bool> {
        let at: Timestamp = rfc3339.parse().ok()?;
        let local = at.to_zoned(self.zone.clone());
        let t = local.time();
        Some(self.days.contains(&local.weekday()) && t >= self.start && t < self.end)
    }

    /// The days the hours apply on.
    pub fn days(&self) -> &[Weekday] {
        &self.days
    }

    /// When the hours begin and end each of those days (local time).
    pub fn hours(&self) -> (Time, Time) {
        (self.start, self.end)
    }

    /// The time zone the hours are in.
    pub fn zone(&self) -> TimeZone {
        self.zone.clone()
    }

    /// The time zone's name, as written.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }
}

/// The function's configuration for session findings (read by [`crate::settings`]).
#[derive(Debug, Clone)]
pub struct StartConfig {
    /// `BUSINESS_HOURS`, parsed.
    pub business_hours: BusinessHours,
    /// `REQUIRED_TAG`, `Key=Value`.
    pub required_tag: (String, String),
    /// `ALLOWED_PRINCIPALS`: comma-separated ARNs, principals or `*`-suffixed prefixes; empty
    /// means no list is enforced.
    pub allowed_principals: Vec<String>,
    /// The bucket our preferences must send transcripts to.
    pub audit_bucket: String,
    /// `TRANSCRIPT_PREFIX` (`session-logs/`): where in it (the report function reads only there).
    pub transcript_prefix: String,
    /// The stack's Session documents (`DOCUMENT_PREFIX` and the allow-lists): a session with
    /// any other document, or with parameters they refuse, is a finding. `None`: not checked.
    pub documents: Option<Catalog>,
    /// `PROTECTED_TAG`, `Key=Value`: instances that need an open change window and an approval.
    pub protected_tag: Option<(String, String)>,
    /// `CHANGE_CALENDAR`: the Change Calendar (name or ARN) protected sessions must start in.
    pub change_calendar: Option<String>,
    /// `APPROVAL_RUNBOOK`: the Automation runbook whose executions approve protected sessions.
    pub approval_runbook: Option<String>,
    /// `ALLOWED_REGIONS`: the regions sessions may be started in; empty means any.
    pub allowed_regions: Vec<String>,
}

impl StartConfig {
    /// The defaults with `bucket` and `prefix`: what tests below the settings build on.
    #[cfg(test)]
    pub(crate) fn example(bucket: &str, prefix: &str) -> StartConfig {
        StartConfig {
            business_hours: BusinessHours::parse("Mon-Fri 08:00-18:00 UTC").unwrap(),
            required_tag: ("Purpose".into(), "SessionManagerTesting".into()),
            allowed_principals: Vec::new(),
            audit_bucket: bucket.into(),
            transcript_prefix: prefix.into(),
            documents: None,
            protected_tag: None,
            change_calendar: None,
            approval_runbook: None,
            allowed_regions: Vec::new(),
        }
    }

    /// Whether tags mark their instance as protected.
    pub fn is_protected(&self, tags: &HashMap<String, String>) -> bool {
        self.protected_tag.as_ref().is_some_and(|(k, v)| tags.get(k) == Some(v))
    }
}

/// What the adapters found out about the session (each `None` when it could not be read; the
/// record then carries a warning instead of a guess).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The target's tags (EC2, or SSM for managed nodes).
    pub target_tags: Option<HashMap<String, String>>,
    /// The document's `sessionType` (`Standard_Stream`, `Port`, `InteractiveCommands`, …).
    pub session_type: Option<String>,
    /// Whether the account's preferences still send transcripts to our bucket, encrypted
    /// (`Err` says how they drifted); see [`check_preferences`].
    pub preferences: Option<Result<(), PreferencesDrift>>,
    /// For a protected target: the Change Calendar's state when the session started (`OPEN`,
    /// `CLOSED`).
    pub change_window: Option<String>,
    /// For a protected target: the approval that covered the session, or why none did.
    pub approval: Option<Verdict>,
}

/// What the record says about the session's access beyond the event: the destination or
/// command of a sanctioned document, the change window, the approval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessFacts {
    /// Where a port forward went, or the command a task ran.
    pub access: Option<String>,
    /// The Change Calendar's state at the start.
    pub change_window: Option<String>,
    /// The approval that covered it.
    pub approval: Option<Approval>,
}

impl AccessFacts {
    /// From the configuration, the event and what the adapters found.
    pub fn of(config: &StartConfig, event: &Event, facts: &Facts) -> Self {
        let access = config.documents.as_ref().and_then(|c| {
            match c.judge(event.document_or_default(), &event.parameters) {
                Use::Sanctioned { detail, .. } => detail,
                _ => None,
            }
        });
        let approval = match &facts.approval {
            Some(Verdict::Covered(a)) => Some(a.clone()),
            _ => None,
        };
        AccessFacts { access, change_window: facts.change_window.clone(), approval }
    }
}

/// Every name the caller goes by, for matching an approval's `Requester`.
pub fn caller_names(event: &Event) -> Vec<String> {
    let id = &event.identity;
    let mut names: Vec<String> =
        [Some(&id.principal), id.arn.as_ref(), id.session_name.as_ref(), id.person.as_ref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
    if let Some(user) = id.arn.as_deref().and_then(|a| a.split_once(":user/")).map(|(_, u)| u) {
        names.push(user.rsplit('/').next().unwrap_or(user).to_string());
    }
    names
}

/// Whether the content of the `SSM-SessionManagerRunShell` document still sends every session's
/// transcript, encrypted, where the audit reads it: our bucket under our prefix, no shell profile
/// run before every session (`stty -echo` there blinds every transcript), no run-as user. `Err`
/// names every drift found.
pub fn check_preferences(
    content: &serde_json::Value,
    config: &StartConfig,
) -> Result<(), PreferencesDrift> {
    let inputs = &content["inputs"];
    let on = |name: &str| match &inputs[name] {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let text = |name: &str| inputs[name].as_str().unwrap_or_default().trim();
    let mut drift = Vec::new();
    let target = text("s3BucketName");
    if target != config.audit_bucket {
        drift.push(if target.is_empty() {
            "transcripts are not sent to S3 (s3BucketName is empty)".to_string()
        } else {
            format!("transcripts go to bucket '{target}'")
        });
    }
    if !on("s3EncryptionEnabled") {
        drift.push("s3EncryptionEnabled is off".to_string());
    }
    let prefix = text("s3KeyPrefix").trim_matches('/');
    let ours = config.transcript_prefix.trim_matches('/');
    if prefix != ours {
        drift.push(format!(
            "transcripts go under '{prefix}/', not '{ours}/' (the report function does not see them)"
        ));
    }
    let log_group = text("cloudWatchLogGroupName");
    if !log_group.is_empty() && !on("cloudWatchEncryptionEnabled") {
        drift.push(format!("log group '{log_group}' receives transcripts unencrypted"));
    }
    if !log_group.is_empty() && !on("cloudWatchStreamingEnabled") {
        drift.push(format!(
            "log group '{log_group}' gets transcripts only at session end (cloudWatchStreamingEnabled is off): a session edited on the instance, or never uploaded, leaves no second record"
        ));
    }
    for os in ["linux", "windows"] {
        let profile = inputs["shellProfile"][os].as_str().unwrap_or_default().trim();
        if !profile.is_empty() {
            // The profile's text is not quoted: an administrator may have put secrets in it.
            let blinds = ["stty", "echo", "exec", "history", "PROMPT_COMMAND", "PS1", "TERM="]
                .iter()
                .filter(|w| profile.contains(*w))
                .copied()
                .collect::<Vec<_>>();
            drift.push(format!(
                "shellProfile.{os} runs {} characters before every session{}",
                profile.chars().count(),
                if blinds.is_empty() {
                    String::new()
                } else {
                    format!(" (it uses {}: it can blind the transcript)", blinds.join(", "))
                }
            ));
        }
    }
    if on("runAsEnabled") {
        drift.push(format!("sessions run as '{}' (runAsEnabled)", text("runAsDefaultUser")));
    }
    if drift.is_empty() {
        Ok(())
    } else {
        Err(PreferencesDrift(drift.join("; ")))
    }
}

/// Documents whose sessions never produce a transcript.
pub fn unlogged_by_design(document: &str, session_type: Option<&str>) -> bool {
    matches!(session_type, Some("Port" | "InteractiveCommands" | "NonInteractiveCommands"))
        || document.starts_with("AWS-StartPortForwarding")
        || document == "AWS-StartSSHSession"
        || document == "AWS-StartInteractiveCommand"
        || document == "AWS-StartNonInteractiveCommand"
}

fn allowed(list: &[String], event: &Event) -> bool {
    let id = &event.identity;
    let names = [
        id.arn.as_deref(),
        Some(id.principal.as_str()),
        id.role_name.as_deref(),
        id.person.as_deref(),
    ];
    list.iter().any(|rule| {
        names.iter().flatten().any(|n| match rule.strip_suffix('*') {
            Some(prefix) => n.starts_with(prefix),
            None => *n == rule,
        })
    })
}

/// The session findings for one event (StartSession, or a denied call).
pub fn evaluate(
    pack: &RulePack,
    config: &StartConfig,
    event: &Event,
    facts: &Facts,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut raise = |condition: &str, evidence: String| {
        out.extend(pack.session_finding(condition, evidence));
    };
    let who = event.identity.arn.clone().unwrap_or_else(|| event.identity.principal.clone());
    let target = event.target.clone().unwrap_or_else(|| "?".to_string());
    if let Some(code) = &event.error_code {
        raise(
            "denied_attempt",
            format!("{who} was refused {:?} on {target}: {code}", event.action),
        );
        return out;
    }
    if event.identity.kind == IdentityKind::Root {
        raise("root_identity", format!("the account root user started a session on {target}"));
    }
    if event.identity.mfa == Some(false) && event.identity.kind != IdentityKind::AwsService {
        raise("no_mfa", format!("{who} authenticated without MFA"));
    }
    if config.business_hours.contains(&event.event_time) == Some(false) {
        raise(
            "off_hours",
            format!(
                "{} is outside business hours ({})",
                event.event_time,
                config.business_hours.zone_name()
            ),
        );
    }
    if let Some(tags) = &facts.target_tags {
        let (k, v) = &config.required_tag;
        if tags.get(k) != Some(v) {
            raise(
                "target_missing_required_tag",
                format!("{target} lacks the tag {k}={v} the access policy requires"),
            );
        }
    }
    let document = event.document_or_default();
    let sanctioned = match config
        .documents
        .as_ref()
        .map(|c| (c, c.judge(document, &event.parameters)))
    {
        None => false,
        Some((_, Use::Sanctioned { .. })) => true,
        Some((c, Use::NotAllowed)) => {
            raise(
                "document_not_allowed",
                format!(
                    "{document} is not one of the stack's Session documents ({})",
                    c.allowed().join(", ")
                ),
            );
            false
        }
        Some((_, Use::Refused { problems, .. })) => {
            raise("document_parameters_refused", format!("{document}: {}", problems.join("; ")));
            false
        }
    };
    if facts.target_tags.as_ref().is_some_and(|t| config.is_protected(t)) {
        if facts.change_window.as_deref().is_some_and(|s| s != "OPEN") {
            raise(
                "outside_change_window",
                format!(
                    "{target} is protected and the change calendar {} was {} at {}",
                    config.change_calendar.as_deref().unwrap_or("?"),
                    facts.change_window.as_deref().unwrap_or_default(),
                    event.event_time
                ),
            );
        }
        if let Some(Verdict::Uncovered(why)) = &facts.approval {
            raise("protected_without_approval", format!("{who} on protected {target}: {why}"));
        }
    }
    // A sanctioned port forward or task is audited by its record (destination, command), not
    // by a transcript it was never going to have.
    if !sanctioned && unlogged_by_design(document, facts.session_type.as_deref()) {
        raise(
            "unlogged_document",
            format!("{} sessions produce no transcript", event.document_or_default()),
        );
    }
    if let Some(Err(drift)) = &facts.preferences {
        raise(
            "logging_preferences_drift",
            format!(
                "the default session preferences no longer send encrypted transcripts to {}: {drift}",
                config.audit_bucket
            ),
        );
    }
    if let Some(source) = &event.identity.instance_id {
        if Some(source) != event.target.as_ref() {
            raise(
                "instance_to_instance",
                format!("the role of instance {source} started a session on {target}"),
            );
        }
    }
    if !config.allowed_principals.is_empty() && !allowed(&config.allowed_principals, event) {
        raise("principal_not_allowed", format!("{who} is not in ALLOWED_PRINCIPALS"));
    }
    if !config.allowed_regions.is_empty() && !config.allowed_regions.contains(&event.region) {
        let region = if event.region.is_empty() { "an unnamed region" } else { &event.region };
        raise(
            "region_not_allowed",
            format!(
                "{who} started a session on {target} in {region}, outside ALLOWED_REGIONS ({})",
                config.allowed_regions.join(", ")
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{records, Event};
    use serde_json::Value;

    fn config(extra: &[(&str, &str)]) -> StartConfig {
        let mut env: HashMap<String, String> = [
            ("AUDIT_BUCKET", "audit-bucket"),
            ("BUSINESS_HOURS", "Mon-Fri 08:00-18:00 Europe/Berlin"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        crate::settings::Variables(|k: &str| env.get(k).cloned()).start_config().unwrap()
    }

    fn event(edit: impl FnOnce(&mut Value)) -> Event {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/public/eventbridge_cloudtrail_StartSession_AssumedRole_console.json");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        // A Tuesday, 10:00 in Berlin, with MFA: nothing to report by default.
        v["detail"]["eventTime"] = "2026-11-24T09:00:00Z".into();
        v["detail"]["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] =
            "true".into();
        edit(&mut v);
        let (account, record) = records(&v).into_iter().next().unwrap();
        Event::parse(record, account).unwrap()
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule_id.as_str()).collect()
    }

    fn tagged() -> Facts {
        Facts {
            target_tags: Some(HashMap::from([(
                "Purpose".to_string(),
                "SessionManagerTesting".to_string(),
            )])),
            session_type: Some("Standard_Stream".into()),
            preferences: Some(Ok(())),
            change_window: None,
            approval: None,
        }
    }

    const DOCUMENTS: [(&str, &str); 5] = [
        ("DOCUMENT_PREFIX", "sa"),
        ("PORT_FORWARD_PORTS", "80,443"),
        ("REMOTE_DESTINATIONS", "db.internal:5432,10.0.1.20:3306"),
        ("TASK_SERVICES", "nginx"),
        ("PROTECTED_TAG", "Protected=true"),
    ];

    fn with_document(document: &str, parameters: Value) -> Event {
        event(|v| {
            v["detail"]["requestParameters"]["documentName"] = document.into();
            v["detail"]["requestParameters"]["parameters"] = parameters;
        })
    }

    #[test]
    fn only_the_stacks_documents_with_allowed_parameters_pass() {
        let c = config(&DOCUMENTS);
        let pack = RulePack::builtin();
        let port = Facts { session_type: Some("Port".into()), ..tagged() };
        let run = |e: &Event, f: &Facts| ids(&evaluate(&pack, &c, e, f)).join(",");
        let db = with_document(
            "sa-RemotePortForward",
            serde_json::json!({"host": ["db.internal"], "portNumber": ["5432"], "localPortNumber": ["15432"]}),
        );
        assert_eq!(run(&db, &port), "", "sanctioned: no unlogged finding either");
        assert_eq!(AccessFacts::of(&c, &db, &port).access.as_deref(), Some("db.internal:5432"));
        let off_list = with_document(
            "sa-RemotePortForward",
            serde_json::json!({"host": ["db.internal"], "portNumber": ["3306"]}),
        );
        assert_eq!(run(&off_list, &port), "SA-SES-DOCUMENT-PARAMETERS,SA-SES-UNLOGGED-DOCUMENT");
        let aws = with_document(
            "AWS-StartPortForwardingSessionToRemoteHost",
            serde_json::json!({"host": ["10.9.9.9"], "portNumber": ["22"]}),
        );
        let raised = evaluate(&pack, &c, &aws, &port);
        assert_eq!(ids(&raised).join(","), "SA-SES-DOCUMENT-NOT-ALLOWED,SA-SES-UNLOGGED-DOCUMENT");
        assert!(raised[0].evidence.contains("sa-PortForward"), "{}", raised[0].evidence);
        let task = with_document("sa-RestartService", serde_json::json!({"service": ["nginx"]}));
        let cmd = Facts { session_type: Some("NonInteractiveCommands".into()), ..tagged() };
        assert_eq!(run(&task, &cmd), "");
        assert_eq!(
            AccessFacts::of(&c, &task, &cmd).access.as_deref(),
            Some("sudo systemctl restart nginx && systemctl --no-pager status nginx")
        );
        assert_eq!(run(&event(|_| {}), &tagged()), "", "the default shell");
        let unchecked = config(&[]);
        assert_eq!(
            ids(&evaluate(&pack, &unchecked, &aws, &port)),
            ["SA-SES-UNLOGGED-DOCUMENT"],
            "no catalog: not checked"
        );
    }

    #[test]
    fn sessions_outside_the_allowed_regions_are_named() {
        let pack = RulePack::builtin();
        let c = config(&[("ALLOWED_REGIONS", "eu-central-1, us-east-1")]);
        let e = event(|v| v["detail"]["awsRegion"] = "ap-southeast-2".into());
        let raised = evaluate(&pack, &c, &e, &tagged());
        assert_eq!(ids(&raised), ["SA-SES-REGION-NOT-ALLOWED"]);
        assert!(raised[0].evidence.contains("ap-southeast-2"), "{}", raised[0].evidence);
        let home = event(|v| v["detail"]["awsRegion"] = "eu-central-1".into());
        assert!(evaluate(&pack, &c, &home, &tagged()).is_empty());
        assert!(evaluate(&pack, &config(&[]), &e, &tagged()).is_empty(), "no list: any region");
        let bad = |list: &str| {
            let env = HashMap::from([
                ("AUDIT_BUCKET".to_string(), "b".to_string()),
                ("ALLOWED_REGIONS".to_string(), list.to_string()),
            ]);
            crate::settings::Variables(|k: &str| env.get(k).cloned()).start_config().unwrap_err()
        };
        for list in ["eu-central", "EU-CENTRAL-1", "us-east-1,*"] {
            assert_eq!(bad(list).variable, "ALLOWED_REGIONS", "{list}");
        }
    }

    #[test]
    fn protected_instances_need_an_open_window_and_an_approval() {
        use crate::access::approval::{Approval, Verdict};
        let c = config(&DOCUMENTS);
        let pack = RulePack::builtin();
        let mut protected = tagged();
        protected.target_tags.as_mut().unwrap().insert("Protected".into(), "true".into());
        let approval = Approval {
            execution_id: "e-1".into(),
            requester: "ana".into(),
            approvers: vec!["arn:aws:iam::123456789012:user/bob".into()],
            approved_at: "2026-11-24T08:50:00Z".into(),
            minutes: 60,
            reason: None,
        };
        let e = event(|_| {});
        let run = |f: &Facts| ids(&evaluate(&pack, &c, &e, f)).join(",");
        let fine = Facts {
            change_window: Some("OPEN".into()),
            approval: Some(Verdict::Covered(approval.clone())),
            ..protected.clone()
        };
        assert_eq!(run(&fine), "");
        assert_eq!(AccessFacts::of(&c, &e, &fine).approval, Some(approval));
        let closed = Facts { change_window: Some("CLOSED".into()), ..fine.clone() };
        assert_eq!(run(&closed), "SA-SES-CHANGE-WINDOW");
        let unapproved =
            Facts { approval: Some(Verdict::Uncovered("no approval".into())), ..fine.clone() };
        assert_eq!(run(&unapproved), "SA-SES-NO-APPROVAL");
        let unprotected = Facts {
            change_window: Some("CLOSED".into()),
            approval: Some(Verdict::Uncovered("x".into())),
            ..tagged()
        };
        assert_eq!(
            run(&unprotected),
            "",
            "only protected instances are held to windows and approvals"
        );
    }

    #[test]
    fn business_hours_in_a_time_zone() {
        let h = BusinessHours::parse("Mon-Fri 08:00-18:00 Europe/Berlin").unwrap();
        assert_eq!(h.contains("2026-11-24T09:00:00Z"), Some(true), "Tue 10:00 CET");
        assert_eq!(h.contains("2026-11-24T17:30:00Z"), Some(false), "Tue 18:30 CET");
        assert_eq!(h.contains("2026-11-28T10:00:00Z"), Some(false), "Saturday");
        assert_eq!(h.contains("2026-07-14T16:30:00Z"), Some(false), "18:30 CEST in summer");
        let wrap = BusinessHours::parse("Fri-Mon 00:00-23:59 UTC").unwrap();
        assert_eq!(wrap.contains("2026-11-29T12:00:00Z"), Some(true), "Sunday is inside Fri-Mon");
        for bad in [
            "Mon-Fri 08:00-18:00",
            "Mon-Fry 08:00-18:00 UTC",
            "Mon-Fri 18:00-08:00 UTC",
            "Mon-Fri 08:00-18:00 Mars/Olympus",
        ] {
            assert!(BusinessHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_clean_session_raises_nothing() {
        let pack = RulePack::builtin();
        assert!(evaluate(&pack, &config(&[]), &event(|_| {}), &tagged()).is_empty());
    }

    #[test]
    fn each_condition_raises_its_rule() {
        let pack = RulePack::builtin();
        let c = config(&[("ALLOWED_PRINCIPALS", "arn:aws:sts::123456789012:assumed-role/Admin/*")]);
        let cases: Vec<(&str, Event, Facts)> = vec![
            (
                "SA-SES-DENIED",
                event(|v| v["detail"]["errorCode"] = "AccessDenied".into()),
                tagged(),
            ),
            (
                "SA-SES-NO-MFA",
                event(|v| {
                    v["detail"]["userIdentity"]["sessionContext"]["attributes"]
                        ["mfaAuthenticated"] = "false".into()
                }),
                tagged(),
            ),
            (
                "SA-SES-OFF-HOURS",
                event(|v| v["detail"]["eventTime"] = "2026-11-28T23:00:00Z".into()),
                tagged(),
            ),
            (
                "SA-SES-TARGET-UNTAGGED",
                event(|_| {}),
                Facts { target_tags: Some(HashMap::new()), ..tagged() },
            ),
            (
                "SA-SES-UNLOGGED-DOCUMENT",
                event(|v| {
                    v["detail"]["requestParameters"]["documentName"] =
                        "AWS-StartPortForwardingSession".into()
                }),
                tagged(),
            ),
            (
                "SA-SES-UNLOGGED-DOCUMENT",
                event(|v| v["detail"]["requestParameters"]["documentName"] = "Acme-Tunnel".into()),
                Facts { session_type: Some("Port".into()), ..tagged() },
            ),
            (
                "SA-SES-PREFERENCES-DRIFT",
                event(|_| {}),
                Facts { preferences: Some(Err("s3EncryptionEnabled is off".into())), ..tagged() },
            ),
            (
                "SA-SES-ROOT",
                event(
                    |v| v["detail"]["userIdentity"] = serde_json::json!({"type": "Root", "arn": "arn:aws:iam::123456789012:root", "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}}),
                ),
                tagged(),
            ),
            (
                "SA-SES-INSTANCE-TO-INSTANCE",
                event(|v| {
                    v["detail"]["userIdentity"]["arn"] =
                        "arn:aws:sts::123456789012:assumed-role/Admin/i-0abc1234def567890".into()
                }),
                tagged(),
            ),
            (
                "SA-SES-PRINCIPAL-NOT-ALLOWED",
                event(|v| {
                    v["detail"]["userIdentity"]["arn"] =
                        "arn:aws:sts::123456789012:assumed-role/Dev/mallory".into()
                }),
                tagged(),
            ),
        ];
        for (want, e, facts) in cases {
            let got = evaluate(&pack, &c, &e, &facts);
            assert!(ids(&got).contains(&want), "{want}: got {:?}", ids(&got));
            let f = got.iter().find(|f| f.rule_id == want).unwrap();
            assert!(!f.frameworks.is_empty(), "{want} has a framework mapping");
        }
        let allowed = event(|_| {});
        assert!(evaluate(&pack, &c, &allowed, &tagged()).is_empty(), "the allowed role passes");
    }

    #[test]
    fn unknown_facts_raise_nothing() {
        let pack = RulePack::builtin();
        let got = evaluate(&pack, &config(&[]), &event(|_| {}), &Facts::default());
        assert!(got.is_empty(), "{:?}", ids(&got));
    }

    #[test]
    fn preferences_drift_is_named() {
        let c = config(&[]);
        let ours = serde_json::json!({"inputs": {"s3BucketName": c.audit_bucket, "s3EncryptionEnabled": true,
            "s3KeyPrefix": "session-logs", "cloudWatchLogGroupName": "g", "cloudWatchEncryptionEnabled": "true",
            "cloudWatchStreamingEnabled": true,
            "runAsEnabled": false, "runAsDefaultUser": "", "shellProfile": {"linux": "", "windows": ""}}});
        assert_eq!(check_preferences(&ours, &c), Ok(()));
        let drifted = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut doc = ours.clone();
            edit(&mut doc["inputs"]);
            check_preferences(&doc, &c).unwrap_err().0
        };
        assert!(drifted(&|i| i["s3BucketName"] = "elsewhere".into()).contains("elsewhere"));
        assert!(
            drifted(&|i| i["s3EncryptionEnabled"] = false.into()).contains("s3EncryptionEnabled")
        );
        assert!(
            drifted(&|i| i["cloudWatchEncryptionEnabled"] = false.into()).contains("unencrypted")
        );
        assert!(drifted(&|i| i["s3KeyPrefix"] = "hidden".into()).contains("'hidden/'"));
        assert!(drifted(&|i| i["cloudWatchStreamingEnabled"] = false.into())
            .contains("cloudWatchStreamingEnabled is off"));
        let profile = drifted(&|i| i["shellProfile"]["linux"] = "stty -echo".into());
        assert!(profile.contains("shellProfile.linux") && profile.contains("stty"), "{profile}");
        assert!(!profile.contains("-echo"), "the profile's text is not quoted: {profile}");
        assert!(drifted(&|i| i["shellProfile"]["windows"] = "Stop-Transcript".into())
            .contains("shellProfile.windows"));
        let run_as = drifted(&|i| {
            i["runAsEnabled"] = true.into();
            i["runAsDefaultUser"] = "nobody".into();
        });
        assert!(run_as.contains("'nobody'"), "{run_as}");
        let both = drifted(&|i| {
            i["s3KeyPrefix"] = "x".into();
            i["shellProfile"]["linux"] = "exec sh".into();
        });
        assert!(both.contains("'x/'") && both.contains("exec"), "every drift is named: {both}");
        assert!(check_preferences(&serde_json::json!({}), &c).is_err());
    }
}
