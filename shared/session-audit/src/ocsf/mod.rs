//! Sessions and findings as OCSF 1.1.0 events (the version Amazon Security Lake takes from
//! custom sources): Authentication (3002) for a session's start and end, Process Activity
//! (1007, Launch) for each reconstructed command, Detection Finding (2004) for each finding.
//! Pure JSON here; the Parquet files in Security Lake's layout are written at the edge
//! (`session-audit-lake`). What the schema requires is checked by the tests against a compiled
//! subset of the OCSF schema (`tests/fixtures/ocsf/`).

use jiff::Timestamp;
use serde_json::{json, Map, Value};

use crate::finding::{Finding, Severity};
use crate::publish::{finding_id, FindingContext};
use crate::report::{Report, ReportCommand};

mod lines;

pub use lines::OcsfLines;

/// The OCSF version every event says it follows.
pub const OCSF_VERSION: &str = "1.1.0";

/// The event classes written, one Security Lake custom source each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Process Activity (1007): a command run in a session.
    ProcessActivity,
    /// Detection Finding (2004): a finding.
    DetectionFinding,
    /// Authentication (3002): a session's start (Logon) and end (Logoff).
    Authentication,
}

impl Class {
    /// Every class, in `class_uid` order.
    pub const ALL: [Class; 3] =
        [Class::ProcessActivity, Class::DetectionFinding, Class::Authentication];

    /// `class_uid`.
    pub fn uid(self) -> u32 {
        match self {
            Class::ProcessActivity => 1007,
            Class::DetectionFinding => 2004,
            Class::Authentication => 3002,
        }
    }

    /// The class an event is of (its `class_uid`).
    pub fn of(event: &Value) -> Option<Class> {
        let uid = event["class_uid"].as_u64()?;
        Class::ALL.into_iter().find(|c| u64::from(c.uid()) == uid)
    }

    /// The Security Lake custom source that holds this class (one class per source).
    pub fn source(self) -> &'static str {
        match self {
            Class::ProcessActivity => "session-audit-process",
            Class::DetectionFinding => "session-audit-finding",
            Class::Authentication => "session-audit-auth",
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Class::ProcessActivity => ("Process Activity", "System Activity"),
            Class::DetectionFinding => ("Detection Finding", "Findings"),
            Class::Authentication => ("Authentication", "Identity & Access Management"),
        }
    }
}

/// Who ran a session where, as its report (joined with its record) says; what the CLI knows
/// offline is only the session ID.
#[derive(Debug, Clone, Default)]
pub struct SessionFacts {
    /// The session ID.
    pub session_id: String,
    /// The person, when the start audit named them.
    pub person: Option<String>,
    /// The caller's ARN (else principal).
    pub principal: Option<String>,
    /// The session's account.
    pub account: Option<String>,
    /// The session's region.
    pub region: Option<String>,
    /// The instance.
    pub instance: Option<String>,
    /// Whether the caller used MFA.
    pub mfa: Option<bool>,
    /// When it started.
    pub started_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// The product version (`generator` of the report).
    pub product_version: String,
}

impl SessionFacts {
    /// The facts a report carries.
    pub fn of(report: &Report) -> SessionFacts {
        let identity = report.identity.as_ref();
        let target = report.target.as_ref();
        let text = |v: Option<&Value>, k: &str| v.and_then(|v| v[k].as_str()).map(str::to_string);
        SessionFacts {
            session_id: report.session_id.clone(),
            person: text(identity, "person"),
            principal: text(identity, "arn").or_else(|| text(identity, "principal")),
            account: text(target, "account").or_else(|| text(identity, "account")),
            region: text(target, "region"),
            instance: text(target, "instance_id"),
            mfa: identity.and_then(|i| i["mfa"].as_bool()),
            started_at: report.started_at.clone(),
            ended_at: report.ended_at.clone(),
            product_version: report.generator.clone(),
        }
    }
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn millis(t: Option<&str>) -> Option<i64> {
    t?.parse::<Timestamp>().ok().map(|t| t.as_millisecond())
}

/// What every event has: classification, time, metadata, cloud.
fn base(
    class: Class,
    activity: (u32, &str),
    severity: Severity,
    time: i64,
    facts: &Facts,
) -> Value {
    let (class_name, category_name) = class.names();
    let mut event = json!({
        "class_uid": class.uid(),
        "class_name": class_name,
        "category_uid": class.uid() / 1000,
        "category_name": category_name,
        "activity_id": activity.0,
        "activity_name": activity.1,
        "type_uid": u64::from(class.uid()) * 100 + u64::from(activity.0),
        "severity_id": severity_id(severity),
        "severity": severity_name(severity),
        "time": time,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "Session Audit",
                "vendor_name": "Session Audit",
                "version": if facts.product_version.is_empty() {
                    concat!("session-audit ", env!("CARGO_PKG_VERSION"))
                } else {
                    facts.product_version
                },
            },
            "uid": facts.uid,
            "profiles": ["cloud"],
        },
        "cloud": {"provider": "AWS"},
    });
    if let Some(region) = facts.region {
        event["cloud"]["region"] = json!(region);
    }
    if let Some(account) = facts.account {
        event["cloud"]["account"] = json!({"uid": account});
    }
    event
}

/// The per-event part of the metadata and cloud, borrowed.
struct Facts<'a> {
    uid: String,
    region: Option<&'a str>,
    account: Option<&'a str>,
    product_version: &'a str,
}

fn severity_id(s: Severity) -> u32 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "Informational",
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn user(person: Option<&str>, principal: Option<&str>, account: Option<&str>) -> Option<Value> {
    if person.is_none() && principal.is_none() {
        return None;
    }
    let mut u = Map::new();
    if let Some(p) = person.or(principal) {
        u.insert("name".into(), json!(p));
    }
    if let Some(p) = principal {
        u.insert("uid".into(), json!(p));
    }
    if let Some(a) = account {
        u.insert("account".into(), json!({"uid": a, "type_id": 10, "type": "AWS Account"}));
    }
    Some(Value::Object(u))
}

fn session(facts: &SessionFacts) -> Value {
    let mut s = json!({"uid": facts.session_id, "is_remote": true});
    if let Some(t) = millis(facts.started_at.as_deref()) {
        s["created_time"] = json!(t);
    }
    s
}

/// The instance as an OCSF device (a virtual machine; type unknown when no instance is known).
fn device(facts: &SessionFacts) -> Value {
    match &facts.instance {
        Some(i) => {
            let mut d = json!({"type_id": 6, "type": "Virtual", "uid": i, "instance_uid": i});
            if let Some(r) = &facts.region {
                d["region"] = json!(r);
            }
            d
        }
        None => json!({"type_id": 0, "type": "Unknown"}),
    }
}

impl SessionFacts {
    fn facts(&self, uid: String) -> Facts<'_> {
        Facts {
            uid,
            region: self.region.as_deref(),
            account: self.account.as_deref(),
            product_version: &self.product_version,
        }
    }
}

/// Process Activity (Launch) for one command. Its time is the command's (from the stream),
/// else the session's start, else `fallback_ms`; `unmapped.time_source` says which.
pub fn process_event(facts: &SessionFacts, cmd: &ReportCommand, fallback_ms: i64) -> Value {
    let (time, source) = match (millis(cmd.time.as_deref()), millis(facts.started_at.as_deref())) {
        (Some(t), _) => (t, "command"),
        (None, Some(t)) => (t, "session start"),
        (None, None) => (fallback_ms, "analysis"),
    };
    let uid = format!("{}:{}", facts.session_id, cmd.seq);
    let mut e = base(
        Class::ProcessActivity,
        (1, "Launch"),
        Severity::Info,
        time,
        &facts.facts(uid.clone()),
    );
    let mut actor = json!({"session": session(facts)});
    if let Some(u) =
        user(facts.person.as_deref(), facts.principal.as_deref(), facts.account.as_deref())
    {
        actor["user"] = u;
    }
    e["actor"] = actor;
    e["device"] = device(facts);
    e["process"] = json!({"uid": uid, "cmd_line": cmd.command, "created_time": time});
    e["message"] = json!(cmd.command);
    e["status_id"] = json!(0);
    e["status"] = json!("Unknown");
    e["unmapped"] =
        json!({"time_source": source, "prompt": cmd.prompt, "privileged": cmd.privileged});
    e
}

/// Authentication Logon (the session's start) or Logoff (its end), when the session's time and
/// caller are known (the report was joined with its record).
pub fn session_event(facts: &SessionFacts, logon: bool) -> Option<Value> {
    let at = if logon { &facts.started_at } else { &facts.ended_at };
    let time = millis(at.as_deref())?;
    let user = user(facts.person.as_deref(), facts.principal.as_deref(), facts.account.as_deref())?;
    let activity = if logon { (1, "Logon") } else { (2, "Logoff") };
    let uid = format!("{}:{}", facts.session_id, activity.1.to_ascii_lowercase());
    let mut e = base(Class::Authentication, activity, Severity::Info, time, &facts.facts(uid));
    e["user"] = user;
    e["session"] = session(facts);
    e["is_remote"] = json!(true);
    e["logon_type_id"] = json!(10);
    e["logon_type"] = json!("Remote Interactive");
    e["service"] = json!({"name": "AWS Systems Manager Session Manager"});
    e["status_id"] = json!(1);
    e["status"] = json!("Success");
    if let Some(mfa) = facts.mfa {
        e["is_mfa"] = json!(mfa);
    }
    if let Some(i) = &facts.instance {
        e["dst_endpoint"] = json!({"instance_uid": i, "uid": i});
    }
    e["message"] = json!(format!(
        "Session Manager session {} {}",
        facts.session_id,
        if logon { "started" } else { "ended" }
    ));
    Some(e)
}

/// Detection Finding for one published finding: `Create`, or `Close` when it was withdrawn.
/// Its `finding_info.uid` is the event's `finding_id` (Security Hub's `Id` too).
pub fn finding_event(f: &Finding, ctx: &FindingContext, now_ms: i64, closed: bool) -> Value {
    let time = millis(Some(&ctx.time)).map_or(now_ms, |t| t.min(now_ms));
    let id = finding_id(&ctx.origin_id, &f.rule_id);
    let facts = Facts {
        uid: id.clone(),
        region: Some(ctx.region.as_str()).filter(|r| !r.is_empty()),
        account: ctx.account.as_deref(),
        product_version: "",
    };
    let activity = if closed { (3, "Close") } else { (1, "Create") };
    let mut e = base(Class::DetectionFinding, activity, f.severity, time, &facts);
    let attacks: Vec<Value> = f
        .frameworks
        .iter()
        .filter(|r| r.framework == "MITRE ATT&CK")
        .map(|r| json!({"technique": {"uid": r.control}}))
        .collect();
    let mut info = json!({
        "uid": id,
        "title": f.title,
        "desc": f.evidence,
        "analytic": {"uid": f.rule_id, "name": f.title, "type_id": 1, "type": "Rule"},
        "first_seen_time": time,
        "types": crate::asff::finding_types(f),
    });
    if !attacks.is_empty() {
        info["attacks"] = json!(attacks);
    }
    e["finding_info"] = info;
    e["message"] = json!(f.title);
    e["status_id"] = json!(if closed { 4 } else { 1 });
    e["status"] = json!(if closed { "Resolved" } else { "New" });
    if let Some(t) = &ctx.target {
        e["resources"] = json!([{"uid": t, "type": "AWS::EC2::Instance"}]);
    }
    let mut unmapped = json!({"stage": ctx.stage, "record": ctx.record});
    if let Some(s) = &ctx.session_id {
        unmapped["session_id"] = json!(s);
    }
    if let Some(p) = ctx.person.as_deref().or(ctx.principal.as_deref()) {
        unmapped["principal"] = json!(p);
    }
    if let Some(seq) = f.command_seq {
        unmapped["command_seq"] = json!(seq);
    }
    let controls: Vec<String> = f
        .frameworks
        .iter()
        .filter(|r| r.framework != "MITRE ATT&CK")
        .map(|r| format!("{} {}", r.framework, r.control))
        .collect();
    if !controls.is_empty() {
        unmapped["controls"] = json!(controls);
    }
    e["unmapped"] = unmapped;
    e
}

/// Every event of a finished report, in time order per class: the Logon, a Process Activity
/// per command, the Logoff, and a Detection Finding per finding (with `ctx` for where it was
/// raised). `now_ms` stands in for times nothing gives.
pub fn report_events(report: &Report, ctx: &FindingContext, now_ms: i64) -> Vec<Value> {
    let facts = SessionFacts::of(report);
    let mut out: Vec<Value> = session_event(&facts, true).into_iter().collect();
    out.extend(report.commands.iter().map(|c| process_event(&facts, c, now_ms)));
    out.extend(session_event(&facts, false));
    out.extend(report.findings.iter().map(|f| finding_event(f, ctx, now_ms, false)));
    out
}

#[cfg(test)]
mod tests;
