//! GuardDuty findings about an EC2 instance, tied to the Session Manager sessions that ran on it
//! around the time GuardDuty saw the activity. The pure part: the finding as EventBridge
//! delivers it (`GuardDuty Finding`, EC2 and Runtime Monitoring findings alike: both name the
//! instance in `resource.instanceDetails`), the window searched, and which session records fall
//! in it. The guardduty-correlation use case reads the records and files the result.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::finding::Severity;
use crate::session::SessionRecord;

/// Schema of a correlation object (`audit/guardduty/dt=<day>/<finding id>.json`).
pub const CORRELATION_SCHEMA: &str = "session-audit/guardduty-correlation/v1";

/// Sessions the finding's evidence names one by one; the rest are counted (the correlation
/// object lists them all). Whoever may start sessions could start thousands on one instance:
/// unbounded, the evidence would outgrow an event and the finding would never be sent.
pub const MAX_NAMED: usize = 20;

/// The longest stretch of a finding's activity searched: a finding GuardDuty keeps updating
/// (its `count` grows) can span weeks; the sessions of its last week are the ones asked about.
pub const MAX_SPAN_DAYS: i64 = 7;

message_error!(
    /// An event that is not a GuardDuty finding about an EC2 instance.
    BadFinding
);

/// What the correlation needs of a GuardDuty finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardDutyFinding {
    /// GuardDuty's finding ID (32 hex digits; the same across the finding's updates).
    pub id: String,
    /// The finding's ARN.
    pub arn: String,
    /// `Backdoor:EC2/C&CActivity.B`, `Execution:Runtime/NewBinaryExecuted`, …
    #[serde(rename = "type")]
    pub finding_type: String,
    /// GuardDuty's title.
    pub title: String,
    /// GuardDuty's severity, 1.0 to 10.0.
    pub severity: f64,
    /// The account the instance is in.
    pub account: String,
    /// The region.
    pub region: String,
    /// The instance.
    pub instance_id: String,
    /// When GuardDuty first saw the activity.
    pub first_seen: Timestamp,
    /// When it last saw it.
    pub last_seen: Timestamp,
    /// How many times it has seen it.
    pub count: u64,
    /// A sample finding (GuardDuty's "generate sample findings"): its instance is made up.
    pub sample: bool,
    /// Runtime Monitoring: the process GuardDuty saw (executable path), when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, BadFinding> {
    v[field]
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| BadFinding(format!("GuardDuty finding without `{field}`")))
}

fn time(v: &Value, field: &str) -> Result<Timestamp, BadFinding> {
    let t = text(v, field)?;
    t.parse().map_err(|e| BadFinding(format!("GuardDuty `{field}` '{t}' is not a time: {e}")))
}

impl GuardDutyFinding {
    /// The finding an EventBridge `GuardDuty Finding` event carries, or why it is not one this
    /// correlation can use (another kind of event, a resource that is not an instance).
    pub fn parse(event: &Value) -> Result<GuardDutyFinding, BadFinding> {
        if event["source"] != "aws.guardduty" || event["detail-type"] != "GuardDuty Finding" {
            return Err(BadFinding(format!(
                "not a GuardDuty finding event (source {}, detail-type {})",
                event["source"], event["detail-type"]
            )));
        }
        let d = &event["detail"];
        let instance = d["resource"]["instanceDetails"]["instanceId"].as_str().unwrap_or("");
        if !crate::session::identity::is_instance_id(instance) {
            return Err(BadFinding(format!(
                "GuardDuty finding {} names no EC2 instance (resource type {}, instance {:?})",
                d["id"], d["resource"]["resourceType"], instance
            )));
        }
        let service = &d["service"];
        let first_seen = time(service, "eventFirstSeen")?;
        let last_seen = time(service, "eventLastSeen")?.max(first_seen);
        let severity = d["severity"].as_f64().or_else(|| d["severity"].as_str()?.parse().ok());
        let severity = severity
            .filter(|s| s.is_finite())
            .ok_or_else(|| BadFinding("GuardDuty finding without a numeric `severity`".into()))?;
        let process = service["runtimeDetails"]["process"]["executablePath"]
            .as_str()
            .map(|p| p.chars().take(256).collect());
        Ok(GuardDutyFinding {
            id: crate::keys::check_id("GuardDuty finding ID", text(d, "id")?)
                .map_err(|e| BadFinding(e.to_string()))?
                .to_string(),
            arn: text(d, "arn")?.to_string(),
            finding_type: text(d, "type")?.to_string(),
            title: d["title"].as_str().unwrap_or_default().chars().take(256).collect(),
            severity: severity.clamp(0.0, 10.0),
            account: text(d, "accountId")?.to_string(),
            region: text(d, "region")?.to_string(),
            instance_id: instance.to_string(),
            first_seen,
            last_seen,
            count: service["count"].as_u64().unwrap_or(1),
            sample: service["additionalInfo"]["sample"] == true,
            process,
        })
    }

    /// GuardDuty's bands (Low below 4, Medium below 7, High below 9, Critical) as ours.
    pub fn severity_band(&self) -> Severity {
        match self.severity {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// The stretch of time searched for sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// From (the finding's first sight, or the start of its last week, less the margin).
    pub from: Timestamp,
    /// To (its last sight plus the margin).
    pub to: Timestamp,
    /// Whether the activity was longer than [`MAX_SPAN_DAYS`] and only its end was searched.
    pub clipped: bool,
}

impl Window {
    /// `margin` either side of the finding's activity, at most [`MAX_SPAN_DAYS`] of it.
    pub fn around(f: &GuardDutyFinding, margin: SignedDuration) -> Window {
        let earliest = f.last_seen - SignedDuration::from_hours(24 * MAX_SPAN_DAYS);
        let clipped = f.first_seen < earliest;
        Window { from: f.first_seen.max(earliest) - margin, to: f.last_seen + margin, clipped }
    }

    /// The UTC days whose session records may hold a session active in the window: records
    /// are filed on the day a session started, which is at most `longest` before its end.
    pub fn record_days(&self, longest: SignedDuration) -> Vec<jiff::civil::Date> {
        let utc = |t: Timestamp| t.to_zoned(jiff::tz::TimeZone::UTC).date();
        let (mut day, last) = (utc(self.from - longest), utc(self.to));
        let mut days = Vec::new();
        while day <= last {
            days.push(day);
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        days
    }
}

/// One session on the instance in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelatedSession {
    /// The session ID.
    pub session_id: String,
    /// Who started it (ARN or principal).
    pub principal: String,
    /// The person, as the start audit names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// When it started.
    pub started_at: String,
    /// When it ended, when a TerminateSession was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Whether it was open while GuardDuty saw the activity (not only within the margin).
    pub during: bool,
    /// Its record's key.
    pub record: String,
    /// Its report's key (where session-report files it; absent until the transcript arrives).
    pub report: String,
}

/// What a correlation finds, as filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Always [`CORRELATION_SCHEMA`].
    pub schema: String,
    /// The GuardDuty finding.
    pub finding: GuardDutyFinding,
    /// The stretch searched.
    pub window: Window,
    /// The sessions on the instance in it, earliest first.
    pub sessions: Vec<CorrelatedSession>,
    /// Session records that could not be read (named, never skipped silently).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// When the correlation was made.
    pub correlated_at: Timestamp,
}

fn parse_time(t: &str) -> Option<Timestamp> {
    t.parse().ok()
}

/// Whether `r` was a session on `instance` open at some time in `window`. A session whose end
/// is unknown is taken as open for `longest` after it started (the preferences end it then).
pub fn session_in_window(
    r: &SessionRecord,
    instance: &str,
    window: &Window,
    longest: SignedDuration,
) -> Option<(Timestamp, Timestamp)> {
    if r.target.as_deref() != Some(instance) {
        return None;
    }
    let start = parse_time(&r.started_at)?;
    let end = r.terminated_at.as_deref().and_then(parse_time).unwrap_or(start + longest);
    (start <= window.to && end >= window.from).then_some((start, end))
}

impl Correlation {
    /// The correlation of `finding` over the records read (`(key, record)`), earliest first.
    pub fn of(
        finding: GuardDutyFinding,
        window: Window,
        records: &[(String, SessionRecord)],
        longest: SignedDuration,
        now: Timestamp,
    ) -> Correlation {
        let mut sessions: Vec<CorrelatedSession> = records
            .iter()
            .filter_map(|(key, r)| {
                let (start, end) = session_in_window(r, &finding.instance_id, &window, longest)?;
                Some(CorrelatedSession {
                    session_id: r.session_id.clone(),
                    principal: r.identity.principal.clone(),
                    person: r.identity.person.clone(),
                    started_at: r.started_at.clone(),
                    ended_at: r.terminated_at.clone(),
                    during: start <= finding.last_seen && end >= finding.first_seen,
                    record: key.clone(),
                    report: r
                        .at()
                        .and_then(|at| {
                            crate::keys::report(
                                r.started_at.get(..10).unwrap_or("unknown"),
                                &at,
                                "json",
                            )
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
        sessions
            .sort_by(|a, b| (&a.started_at, &a.session_id).cmp(&(&b.started_at, &b.session_id)));
        Correlation {
            schema: CORRELATION_SCHEMA.to_string(),
            finding,
            window,
            sessions,
            unreadable: Vec::new(),
            correlated_at: now,
        }
    }

    /// The finding's evidence, in words: the GuardDuty finding, then each session (person,
    /// when, open during the activity or only near it, its report), or that there was none.
    pub fn evidence(&self) -> String {
        let f = &self.finding;
        let mut text = format!(
            "GuardDuty {} (severity {:.1}{}) on {}, seen {} to {}{}",
            f.finding_type,
            f.severity,
            if f.sample { ", a sample finding" } else { "" },
            f.instance_id,
            f.first_seen,
            f.last_seen,
            f.process.as_deref().map(|p| format!(", process {p}")).unwrap_or_default(),
        );
        if self.sessions.is_empty() {
            text.push_str(&format!(
                ": no Session Manager session on {} between {} and {}; whoever acted did not \
                 come through Session Manager (or its StartSession was never recorded)",
                f.instance_id, self.window.from, self.window.to
            ));
        } else {
            let named: Vec<String> = self
                .sessions
                .iter()
                .take(MAX_NAMED)
                .map(|s| {
                    format!(
                        "{} by {} from {}{} ({}; report {})",
                        s.session_id,
                        s.person.as_deref().unwrap_or(&s.principal),
                        s.started_at,
                        s.ended_at.as_deref().map(|e| format!(" to {e}")).unwrap_or_default(),
                        if s.during { "open during the activity" } else { "near it" },
                        s.report,
                    )
                })
                .collect();
            text.push_str(&format!(": sessions {}", named.join("; ")));
            if let Some(more) = self.sessions.len().checked_sub(MAX_NAMED).filter(|n| *n > 0) {
                text.push_str(&format!("; and {more} more (all in the correlation object)"));
            }
        }
        if self.window.clipped {
            text.push_str(&format!(" (only its last {MAX_SPAN_DAYS} days searched)"));
        }
        if !self.unreadable.is_empty() {
            text.push_str(&format!(" ({} session records unreadable)", self.unreadable.len()));
        }
        text
    }
}

#[cfg(test)]
pub(crate) mod tests;
